(module
  (type (;0;) (func (param i32)))
  (type (;1;) (func (param i64 f32)))
  (type (;2;) (func (param i64)))
  (import "host" "log" (func (;0;) (type 0) (param i32)))
  (func (;1;) (type 2) (param i64)
    i32.const 1
    call 0
    local.get 0
    f32.const 0x1p-1
    throw 0
  )
  (tag (;0;) (type 1) (param i64 f32))
  (export "e" (tag 0))
  (export "run" (func 1))
  (@custom "name" (after code) "\01\06\01\00\03log\0b\04\01\00\01e")
)
