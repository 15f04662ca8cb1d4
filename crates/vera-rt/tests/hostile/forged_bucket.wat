;; A Map wrapper whose bucket claims capacity 12 (not a power of two).
(module
  (import "vera" "map_size" (func $size (param i32) (result i64)))
  (memory (export "memory") 1)
  ;; wrapper at 0x100: tag, state ROOT, bucket 0x200
  (data (i32.const 0x100) "\01\c0\ed\fe\00\00\00\00\00\02\00\00")
  ;; bucket header (block size 1000) and capacity 12
  (data (i32.const 0x1fc) "\d0\07\00\00\0c\00\00\00")
  (func (export "main") (result i64) (call $size (i32.const 0x100))))
