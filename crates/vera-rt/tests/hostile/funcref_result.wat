;; main returns a funcref: its contents are a host address.
(module
  (memory (export "memory") 1)
  (func $f)
  (elem declare func $f)
  (func (export "main") (result funcref)
    (ref.func $f)))
