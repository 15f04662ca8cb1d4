;; json_parse of 1001 nested arrays.
(module
  (import "vera" "json_parse" (func $parse (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global (export "heap_ptr") (mut i32) (i32.const 0x8000))
  (func (export "alloc") (param i32) (result i32) (i32.const 0x8004))
  (func (export "main") (result i32)
    (memory.fill (i32.const 0x1000) (i32.const 0x5b) (i32.const 1001))
    (call $parse (i32.const 0x1000) (i32.const 1001))))
