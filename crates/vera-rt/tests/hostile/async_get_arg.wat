;; async(Http.get(URL)) then await (LEN bytes): the test writes a local server's address
;; in and runs the copy.
(module
  (import "vera" "async_http_get" (func $get (param i32 i32) (result i32)))
  (import "vera" "async_await" (func $await (param i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 0x1000) "URL")
  (global $heap (export "heap_ptr") (mut i32) (i32.const 0x8000))
  (func (export "alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (i32.add (global.get $heap) (i32.const 4)))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))))))
    (local.get $p))
  (func (export "main") (result i32)
    (call $await (call $get (i32.const 0x1000) (i32.const LEN)))))
