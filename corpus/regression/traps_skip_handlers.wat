(module
  (type (;0;) (func))
  (type (;1;) (func (param i32)))
  (import "host" "fail" (func (;0;) (type 0)))
  (func (;1;) (type 1) (param i32) ;; trap
    local.get 0
    i32.const 0
    i32.eq
    if  ;; label = @1
      unreachable
    end
    local.get 0
    i32.const 1
    i32.eq
    if  ;; label = @1
      i32.const 1
      i32.const 0
      i32.div_s
      drop
    end
    local.get 0
    i32.const 2
    i32.eq
    if  ;; label = @1
      i32.const 65536
      i32.load
      drop
    end
    local.get 0
    i32.const 3
    i32.eq
    if  ;; label = @1
      call 0
    end
    local.get 0
    i32.const 4
    i32.eq
    if  ;; label = @1
      f32.const nan:0x400000
      i32.trunc_f32_s
      drop
    end
  )
  (func (;2;) (type 1) (param i32)
    block  ;; label = @1
      block (result exnref)  ;; label = @2
        try_table (catch_all 1) (catch_all_ref 0)  ;; label = @3
          local.get 0
          call 1
        end
        return
      end
      drop
    end
    i32.const 1
    global.set 0
  )
  (memory (;0;) 1)
  (global (;0;) (mut i32) i32.const 0)
  (export "mem" (memory 0))
  (export "seen" (global 0))
  (export "run" (func 2))
  (@custom "name" (after code) "\01\0d\02\00\04fail\01\04trap\03\0b\01\02\02\00\02h1\01\02h2\07\07\01\00\04seen")
)
