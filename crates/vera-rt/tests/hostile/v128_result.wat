;; main returns a v128, which no Vera type compiles to.
(module
  (memory (export "memory") 1)
  (func (export "main") (result v128)
    (v128.const i32x4 1 2 3 4)))
