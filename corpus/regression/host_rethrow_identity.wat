(module
  (type (;0;) (func (param i32)))
  (type (;1;) (func (param exnref)))
  (type (;2;) (func (param i32) (result i32)))
  (type (;3;) (func))
  (import "host" "t" (tag (;0;) (type 0) (param i32)))
  (import "host" "throw" (func (;0;) (type 0) (param i32)))
  (import "host" "rethrow" (func (;1;) (type 1) (param exnref)))
  (func (;2;) (type 2) (param i32) (result i32)
    (local exnref)
    block (result exnref)  ;; label = @1
      try_table (catch_all_ref 0)  ;; label = @2
        local.get 0
        call 0
      end
      unreachable
    end
    local.set 1
    local.get 1
    global.set 0
    block (result i32)  ;; label = @1
      try_table (catch 0 0)  ;; label = @2
        local.get 1
        call 1
      end
      unreachable
    end
  )
  (func (;3;) (type 3)
    ref.null exn
    call 1
  )
  (global (;0;) (mut exnref) ref.null exn)
  (export "kept" (global 0))
  (export "run" (func 2))
  (export "null" (func 3))
  (@custom "name" (after code) "\01\11\02\00\05throw\01\07rethrow\02\06\01\02\01\01\01x\03\0a\01\02\02\00\01h\02\02h2\07\07\01\00\04kept\0b\04\01\00\01t")
)
