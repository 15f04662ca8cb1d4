;; IO.sleep(8000): run with --timeout 1, it must end at about 1 s.
(module
  (import "vera" "sleep" (func $sleep (param i64)))
  (memory (export "memory") 1)
  (func (export "main")
    (call $sleep (i64.const 8000))))
