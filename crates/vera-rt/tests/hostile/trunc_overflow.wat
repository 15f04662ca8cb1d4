;; i64.trunc_f64_s of 1e28 (what float_to_string does with its integer
;; part), or INT_MIN / -1 with --fn div: wasmtime calls both "integer
;; overflow", Vera names the first float_conversion.
(module
  (memory (export "memory") 1)
  (func (export "main") (param $x f64) (result i64)
    (i64.trunc_f64_s (local.get $x)))
  (func (export "div") (result i64)
    (i64.div_s (i64.const 0x8000000000000000) (i64.const -1))))
