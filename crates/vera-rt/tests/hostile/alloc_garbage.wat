;; alloc returns -1.
(module
  (import "vera" "map_new" (func $new (result i32)))
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const -1))
  (func (export "main") (result i32) (call $new)))
