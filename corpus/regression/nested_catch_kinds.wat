(module
  (type (;0;) (func (param i32)))
  (type (;1;) (func (param i64)))
  (type (;2;) (func))
  (type (;3;) (func (param f32)))
  (type (;4;) (func (param i32) (result i32)))
  (type (;5;) (func (result i64 exnref)))
  (import "host" "log" (func (;0;) (type 0) (param i32)))
  (func (;1;) (type 0) (param i32) ;; raise
    local.get 0
    i32.const 0
    i32.eq
    if  ;; label = @1
      i32.const 10
      throw 0
    end
    local.get 0
    i32.const 1
    i32.eq
    if  ;; label = @1
      i64.const 20
      throw 1
    end
    local.get 0
    i32.const 2
    i32.eq
    if  ;; label = @1
      throw 2
    end
    local.get 0
    i32.const 3
    i32.eq
    if  ;; label = @1
      f32.const 0x1.8p+0
      throw 3
    end
    i32.const 50
    throw 4
  )
  (func (;2;) (type 4) (param i32) (result i32)
    (local exnref)
    block (result exnref)  ;; label = @1
      block  ;; label = @2
        block (type 5)  ;; label = @3
          block (result i32)  ;; label = @4
            try_table (catch 4 0) (catch_all_ref 3)  ;; label = @5
              local.get 0
              i32.const 5
              i32.eq
              if  ;; label = @6
                f32.const 0x1.4p+1
                throw 3
              end
              try_table (catch_all 3)  ;; label = @6
                try_table (catch 4 2) (catch_ref 1 3)  ;; label = @7
                  try_table (catch 0 3) (catch 4 3)  ;; label = @8
                    local.get 0
                    i32.const 2
                    i32.ne
                    if  ;; label = @9
                      local.get 0
                      call 1
                    end
                    local.get 0
                    call 1
                  end
                end
              end
            end
            i32.const -1
            return
          end
          call 0
          i32.const 1
          return
        end
        local.set 1
        i32.wrap_i64
        call 0
        local.get 1
        throw_ref
      end
      i32.const 300
      call 0
      i32.const 3
      return
    end
    drop
    i32.const 4
  )
  (tag (;0;) (type 0) (param i32))
  (tag (;1;) (type 1) (param i64))
  (tag (;2;) (type 2))
  (tag (;3;) (type 3) (param f32))
  (tag (;4;) (type 0) (param i32))
  (export "a" (tag 0))
  (export "b" (tag 1))
  (export "c" (tag 2))
  (export "d" (tag 3))
  (export "decoy" (tag 4))
  (export "run" (func 2))
  (@custom "name" (after code) "\01\0d\02\00\03log\01\05raise\02\06\01\02\01\01\01r\03\13\01\02\04\00\02l4\01\02l3\02\02l2\03\02l1\0b\14\05\00\01a\01\01b\02\01c\03\01d\04\05decoy")
)
