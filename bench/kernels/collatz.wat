;; Total Collatz stopping time of 1..n: tight integer loops with data-dependent branches.
(module
  (func (export "run") (param $n i32) (result i64)
    (local $i i64) (local $x i64) (local $steps i64)
    (local.set $i (i64.const 1))
    (block $done
      (loop $outer
        (br_if $done (i64.gt_u (local.get $i) (i64.extend_i32_u (local.get $n))))
        (local.set $x (local.get $i))
        (block $reached_one
          (loop $inner
            (br_if $reached_one (i64.eq (local.get $x) (i64.const 1)))
            (local.set $x
              (if (result i64) (i32.wrap_i64 (i64.and (local.get $x) (i64.const 1)))
                (then (i64.add (i64.mul (local.get $x) (i64.const 3)) (i64.const 1)))
                (else (i64.shr_u (local.get $x) (i64.const 1)))))
            (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
            (br $inner)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $outer)))
    (local.get $steps)))
