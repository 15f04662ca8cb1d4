;; 40 levels of arrays, each holding the level below twice: 2^40 nulls.
(module
  (import "vera" "json_stringify" (func $str (param i32) (result i32 i32)))
  (memory (export "memory") 1)
  (global (export "heap_ptr") (mut i32) (i32.const 0x8000))
  (func (export "alloc") (param i32) (result i32) (i32.const 0x8004))
  (func (export "main") (result i32 i32)
    (local $level i32) (local $at i32)
    ;; level 0: JNull at 0x1000
    (i32.store (i32.const 0x1000) (i32.const 0))
    (local.set $level (i32.const 1))
    (loop $build
      (local.set $at (i32.add (i32.const 0x1000) (i32.mul (local.get $level) (i32.const 32))))
      (i32.store (local.get $at) (i32.const 4))
      (i32.store offset=4 (local.get $at) (i32.add (local.get $at) (i32.const 12)))
      (i32.store offset=8 (local.get $at) (i32.const 2))
      (i32.store offset=12 (local.get $at) (i32.sub (local.get $at) (i32.const 32)))
      (i32.store offset=16 (local.get $at) (i32.sub (local.get $at) (i32.const 32)))
      (local.set $level (i32.add (local.get $level) (i32.const 1)))
      (br_if $build (i32.le_u (local.get $level) (i32.const 40))))
    (call $str (local.get $at))))
