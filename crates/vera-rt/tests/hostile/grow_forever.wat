;; alloc grows memory by 1 MiB per call until refused, then traps.
(module
  (import "vera" "map_new" (func $new (result i32)))
  (memory (export "memory") 1)
  (func (export "alloc") (param $n i32) (result i32)
    (loop $more
      (br_if $more (i32.ge_s (memory.grow (i32.const 16)) (i32.const 0))))
    unreachable)
  (func (export "main") (result i32) (call $new)))
