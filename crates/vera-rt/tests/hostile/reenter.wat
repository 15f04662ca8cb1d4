;; alloc calls back into the host.
(module
  (import "vera" "map_new" (func $new (result i32)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 0x1004))
  (func (export "alloc") (param $n i32) (result i32)
    (drop (call $new))
    (global.set $bump (i32.add (global.get $bump) (i32.const 64)))
    (global.get $bump))
  (func (export "main") (result i32) (call $new)))
