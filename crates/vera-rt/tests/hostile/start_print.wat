;; The start function prints (before the host has captured the exports).
(module
  (import "vera" "print" (func $print (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "from start\n")
  (func $s (call $print (i32.const 16) (i32.const 11)))
  (start $s)
  (func (export "main")))
