;; Decimal values created and never released.
(module
  (import "vera" "decimal_from_int" (func $dec (param i64) (result i32)))
  (func (export "main")
    (local $i i64)
    (loop $more
      (drop (call $dec (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $more))))
