;; An MdBlock (BlockQuote) holding itself twice: the reader stops at its
;; depth bound (2000) on the CLI's main-thread stack, without overflowing.
(module
  (import "vera" "md_render" (func $render (param i32) (result i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x100) "\03\00\00\00\0c\01\00\00\02\00\00\00\00\01\00\00\00\01\00\00")
  (func (export "main") (result i32 i32) (call $render (i32.const 0x100))))
