;; Sieve of Eratosthenes over one byte per number up to n (n bytes of linear memory):
;; strided byte stores, memory-bound.  Returns the prime count times 2^32 plus the sum
;; of the primes' low bits, so a wrong sieve cannot match by accident.
(module
  (memory 1)
  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $count i64) (local $sum i64)
    (local $pages i32)
    ;; Grow to n + 1 bytes.
    (local.set $pages (i32.add (i32.shr_u (local.get $n) (i32.const 16)) (i32.const 1)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))))
    (memory.fill (i32.const 0) (i32.const 0) (i32.add (local.get $n) (i32.const 1)))
    (local.set $i (i32.const 2))
    (block $sieved
      (loop $outer
        (br_if $sieved (i32.gt_u (i32.mul (local.get $i) (local.get $i)) (local.get $n)))
        (if (i32.eqz (i32.load8_u (local.get $i)))
          (then
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (block $crossed
              (loop $cross
                (br_if $crossed (i32.gt_u (local.get $j) (local.get $n)))
                (i32.store8 (local.get $j) (i32.const 1))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br $cross)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.set $i (i32.const 2))
    (block $counted
      (loop $count
        (br_if $counted (i32.gt_u (local.get $i) (local.get $n)))
        (if (i32.eqz (i32.load8_u (local.get $i)))
          (then
            (local.set $count (i64.add (local.get $count) (i64.const 1)))
            (local.set $sum (i64.add (local.get $sum)
                                     (i64.extend_i32_u (i32.and (local.get $i) (i32.const 0xffff)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $count)))
    (i64.add (i64.shl (local.get $count) (i64.const 32)) (local.get $sum))))
