;; A raw `throw` that no handler catches: an uncaught exception.
(module
  (tag $e (param i32))
  (memory (export "memory") 1)
  (func (export "main") (result i64)
    (throw $e (i32.const 7))))
