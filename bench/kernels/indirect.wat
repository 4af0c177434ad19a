;; call_indirect through a table of eight functions of one type, the index chosen by
;; the running state so the target is not predictable from the loop counter alone.
(module
  (type $op (func (param i64 i64) (result i64)))
  (table 8 funcref)
  (elem (i32.const 0) $add $sub $mul $xor $rotl $rotr $mix $or)
  (func $add (type $op) (i64.add (local.get 0) (local.get 1)))
  (func $sub (type $op) (i64.sub (local.get 0) (local.get 1)))
  (func $mul (type $op) (i64.mul (local.get 0) (i64.or (local.get 1) (i64.const 1))))
  (func $xor (type $op) (i64.xor (local.get 0) (i64.mul (local.get 1) (i64.const 0x9e3779b97f4a7c15))))
  (func $rotl (type $op) (i64.rotl (local.get 0) (local.get 1)))
  (func $rotr (type $op) (i64.add (i64.rotr (local.get 0) (i64.const 17)) (local.get 1)))
  (func $mix (type $op) (i64.xor (local.get 0) (i64.shr_u (local.get 0) (i64.const 29))))
  (func $or (type $op) (i64.add (i64.or (local.get 0) (local.get 1)) (i64.const 7)))
  (func (export "run") (param $n i32) (result i64)
    (local $i i64) (local $acc i64)
    (local.set $acc (i64.const 0x1234567))
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (i64.extend_i32_u (local.get $n))))
        (local.set $acc
          (call_indirect (type $op) (local.get $acc) (local.get $i)
            (i32.wrap_i64 (i64.and (i64.xor (local.get $i) (i64.shr_u (local.get $acc) (i64.const 40)))
                                   (i64.const 7)))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (local.get $acc)))
