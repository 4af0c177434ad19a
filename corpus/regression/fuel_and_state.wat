(module
  (type (;0;) (func (param i32)))
  (type (;1;) (func))
  (type (;2;) (func (param i32) (result i32)))
  (import "host" "log" (func (;0;) (type 0) (param i32)))
  (func (;1;) (type 1) ;; burn
    global.get 0
    i32.eqz
    if  ;; label = @1
      unreachable
    end
    global.get 0
    i32.const 1
    i32.sub
    global.set 0
  )
  (func (;2;) (type 2) (param i32) (result i32)
    (local i32)
    block (result i32)  ;; label = @1
      try_table (catch 0 0)  ;; label = @2
        loop  ;; label = @3
          call 1
          local.get 1
          local.get 1
          i32.store8
          global.get 1
          local.get 1
          i64.extend_i32_u
          i64.add
          global.set 1
          local.get 1
          local.get 0
          i32.eq
          if  ;; label = @4
            local.get 1
            throw 0
          end
          local.get 1
          i32.const 1
          i32.add
          local.set 1
          br 0
        end
      end
      unreachable
    end
    local.get 0
    call 0
  )
  (memory (;0;) 1)
  (tag (;0;) (type 0) (param i32))
  (global (;0;) (mut i32) i32.const 40)
  (global (;1;) (mut i64) i64.const 0)
  (export "sum" (global 1))
  (export "mem" (memory 0))
  (export "stop" (tag 0))
  (export "run" (func 2))
  (@custom "name" (after code) "\01\0c\02\00\03log\01\04burn\02\06\01\02\01\01\01i\03\09\01\02\02\00\01h\02\01l\07\0c\02\00\04fuel\01\03sum\0b\07\01\00\04stop")
)
