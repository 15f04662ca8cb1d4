;; alloc never returns.
(module
  (import "vera" "map_new" (func $new (result i32)))
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (loop $forever (br $forever)) (i32.const 0))
  (func (export "main") (result i32) (call $new)))
