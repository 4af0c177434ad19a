(module
  (type (;0;) (func (param i32 i32)))
  (type (;1;) (func (param i32) (result exnref)))
  (type (;2;) (func (param exnref) (result exnref)))
  (type (;3;) (func (param i32) (result i32 i32)))
  (type (;4;) (func (result i32 i32)))
  (type (;5;) (func))
  (func (;0;) (type 1) (param i32) (result exnref) ;; catch
    block (result exnref)  ;; label = @1
      try_table (catch_all_ref 0)  ;; label = @2
        local.get 0
        i32.const 2
        throw 0
      end
      unreachable
    end
  )
  (func (;1;) (type 2) (param exnref) (result exnref) ;; pass
    local.get 0
  )
  (func (;2;) (type 3) (param i32) (result i32 i32)
    i32.const 1
    local.get 0
    call 0
    table.set 0
    block (type 4)  ;; label = @1
      try_table (catch 0 0)  ;; label = @2
        i32.const 1
        table.get 0
        call 1
        throw_ref
      end
      unreachable
    end
  )
  (func (;3;) (type 5)
    ref.null exn
    throw_ref
  )
  (table (;0;) 2 exnref)
  (tag (;0;) (type 0) (param i32 i32))
  (export "e" (tag 0))
  (export "keep" (table 0))
  (export "run" (func 2))
  (export "null" (func 3))
  (@custom "name" (after code) "\01\0e\02\00\05catch\01\04pass\03\0b\02\00\01\00\01h\02\01\00\01h\05\07\01\00\04keep\0b\04\01\00\01e")
)
