(module
  (type (;0;) (func (result f64)))
  (func (;0;) (type 0) (result f64)
    i32.const 0
    f64.const 0x0p+0
    f64.const 0x0p+0
    f64.div
    f64.store
    f64.const 0x0p+0
    f64.const 0x0p+0
    f64.div
  )
  (memory (;0;) 1)
  (export "mem" (memory 0))
  (export "run" (func 0))
)
