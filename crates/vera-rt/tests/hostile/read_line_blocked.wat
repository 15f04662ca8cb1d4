;; IO.read_line twice: run with --timeout 1 and a stdin nobody writes to,
;; it must end at about 1 s.
(module
  (import "vera" "read_line" (func $read_line (result i32 i32)))
  (memory (export "memory") 1)
  (global (export "heap_ptr") (mut i32) (i32.const 4096))
  (func (export "alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get 0))
    (global.set 0 (i32.add (local.get $p) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "main") (result i32)
    (call $read_line) (drop) (drop)
    (call $read_line) (drop)))
