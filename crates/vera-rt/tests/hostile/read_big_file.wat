;; IO.read_file(PATH): the test writes this module with PATH and LEN
;; replaced by the path of a large sparse file.
(module
  (import "vera" "read_file" (func $read_file (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "PATH")
  (global (export "heap_ptr") (mut i32) (i32.const 4096))
  (func (export "alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get 0))
    (global.set 0 (i32.add (local.get $p) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "main") (result i32)
    (call $read_file (i32.const 16) (i32.const LEN))))
