;; C = A * B for n x n matrices of f64 in linear memory (A at 0, B after A, C after B),
;; i-k-j loop order.  Returns the bits of the sum of C: exact, since both engines must
;; round every operation as IEEE 754 says.
(module
  (memory 1)
  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $k i32)
    (local $row i32) (local $a_ik f64) (local $sum f64)
    (local $b i32) (local $c i32) (local $bytes i32) (local $pages i32)
    (local.set $bytes (i32.mul (i32.mul (local.get $n) (local.get $n)) (i32.const 8)))
    (local.set $b (local.get $bytes))
    (local.set $c (i32.mul (local.get $bytes) (i32.const 2)))
    (local.set $pages (i32.add (i32.shr_u (i32.mul (local.get $bytes) (i32.const 3))
                                          (i32.const 16)) (i32.const 1)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))))
    ;; A[i][j] = (i*n + j) mod 17 - 8, B[i][j] = (i + 2j) mod 13 * 0.25, C = 0.
    (local.set $i (i32.const 0))
    (loop $init
      (f64.store (i32.shl (local.get $i) (i32.const 3))
        (f64.convert_i32_s (i32.sub (i32.rem_u (local.get $i) (i32.const 17)) (i32.const 8))))
      (f64.store (i32.add (local.get $b) (i32.shl (local.get $i) (i32.const 3)))
        (f64.mul (f64.convert_i32_u
                   (i32.rem_u (i32.add (i32.div_u (local.get $i) (local.get $n))
                                       (i32.mul (i32.rem_u (local.get $i) (local.get $n)) (i32.const 2)))
                              (i32.const 13)))
                 (f64.const 0.25)))
      (f64.store (i32.add (local.get $c) (i32.shl (local.get $i) (i32.const 3))) (f64.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $init (i32.lt_u (local.get $i) (i32.mul (local.get $n) (local.get $n)))))
    (local.set $i (i32.const 0))
    (loop $rows
      (local.set $row (i32.mul (i32.mul (local.get $i) (local.get $n)) (i32.const 8)))
      (local.set $k (i32.const 0))
      (loop $inner
        (local.set $a_ik (f64.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $j (i32.const 0))
        (loop $cols
          (f64.store (i32.add (i32.add (local.get $c) (local.get $row)) (i32.shl (local.get $j) (i32.const 3)))
            (f64.add
              (f64.load (i32.add (i32.add (local.get $c) (local.get $row)) (i32.shl (local.get $j) (i32.const 3))))
              (f64.mul (local.get $a_ik)
                (f64.load (i32.add (local.get $b)
                  (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $j)) (i32.const 3)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $cols (i32.lt_u (local.get $j) (local.get $n))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $k) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $i) (local.get $n))))
    (local.set $i (i32.const 0))
    (loop $total
      (local.set $sum (f64.add (local.get $sum)
        (f64.load (i32.add (local.get $c) (i32.shl (local.get $i) (i32.const 3))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $total (i32.lt_u (local.get $i) (i32.mul (local.get $n) (local.get $n)))))
    (i64.reinterpret_f64 (local.get $sum))))
