(module
  (type (;0;) (func (param i32)))
  (import "host" "log" (func (;0;) (type 0) (param i32)))
  (func (;1;) (type 0) (param i32) ;; down
    local.get 0
    call 0
    try_table (catch_all 0)  ;; label = @1
      local.get 0
      i32.const 1
      i32.add
      call 1
    end
  )
  (export "down" (func 1))
  (@custom "name" (after code) "\01\0c\02\00\03log\01\04down")
)
