(module
  (type (;0;) (func (param i32)))
  (type (;1;) (func))
  (import "host" "t" (tag (;0;) (type 0) (param i32)))
  (import "host" "throw" (func (;0;) (type 1)))
  (func (;1;) (type 1) ;; start
    call 0
  )
  (start 1)
  (@custom "name" (after code) "\01\0f\02\00\05throw\01\05start\0b\04\01\00\01t")
)
