(module
  (type (;0;) (func (param i32)))
  (type (;1;) (func (param i32) (result exnref)))
  (type (;2;) (func (param i32) (result i32)))
  (func (;0;) (type 1) (param i32) (result exnref) ;; make
    block (result exnref)  ;; label = @1
      try_table (catch_all_ref 0)  ;; label = @2
        local.get 0
        throw 0
      end
      unreachable
    end
  )
  (func (;1;) (type 2) (param i32) (result i32)
    (local exnref exnref i32)
    loop  ;; label = @1
      local.get 0
      local.get 3
      i32.add
      call 0
      local.set 2
      local.get 3
      i32.eqz
      if  ;; label = @2
        local.get 2
        local.set 1
      end
      local.get 3
      i32.const 1
      i32.add
      local.tee 3
      i32.const 3000
      i32.lt_u
      br_if 0
    end
    block (result i32)  ;; label = @1
      try_table (catch 0 0)  ;; label = @2
        local.get 1
        throw_ref
      end
      unreachable
    end
  )
  (tag (;0;) (type 0) (param i32))
  (export "t" (tag 0))
  (export "run" (func 1))
  (@custom "name" (after code) "\01\07\01\00\04make\02\11\01\01\03\01\04keep\02\03tmp\03\01i\03\0e\02\00\01\00\01h\01\02\00\01l\02\01h\0b\04\01\00\01t")
)
