(module
  (type (;0;) (func (param i32 f64)))
  (type (;1;) (func (param i32)))
  (type (;2;) (func (param i32) (result i32 f64)))
  (type (;3;) (func (result i32 f64)))
  (import "host" "t" (tag (;0;) (type 0) (param i32 f64)))
  (import "host" "throw" (func (;0;) (type 1) (param i32)))
  (func (;1;) (type 2) (param i32) (result i32 f64)
    block (type 3)  ;; label = @1
      try_table (catch 0 0)  ;; label = @2
        local.get 0
        call 0
      end
      i32.const -1
      f64.const 0x0p+0
    end
  )
  (export "run" (func 1))
  (@custom "name" (after code) "\01\08\01\00\05throw\03\06\01\01\01\00\01h\0b\04\01\00\01t")
)
