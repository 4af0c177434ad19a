(module
  (type (;0;) (func (param i32) (result i32)))
  (type (;1;) (func (param i32)))
  (type (;2;) (func (result i32 exnref)))
  (import "host" "reenter" (func (;0;) (type 0) (param i32) (result i32)))
  (import "host" "reenter_catch" (func (;1;) (type 0) (param i32) (result i32)))
  (func (;2;) (type 0) (param i32) (result i32)
    local.get 0
    i32.eqz
    if  ;; label = @1
      i32.const 99
      throw 0
    end
    local.get 0
    i32.const 2
    i32.mul
  )
  (func (;3;) (type 0) (param i32) (result i32)
    block (type 2)  ;; label = @1
      try_table (catch_ref 0 0)  ;; label = @2
        local.get 0
        call 0
        i32.const 1
        i32.add
        return
      end
      unreachable
    end
    throw_ref
  )
  (func (;4;) (type 0) (param i32) (result i32)
    local.get 0
    call 1
  )
  (tag (;0;) (type 1) (param i32))
  (export "e" (tag 0))
  (export "inner" (func 2))
  (export "outer" (func 3))
  (export "outer_caught" (func 4))
  (@custom "name" (after code) "\01\19\02\00\07reenter\01\0dreenter_catch\03\06\01\03\01\00\01h\0b\04\01\00\01e")
)
