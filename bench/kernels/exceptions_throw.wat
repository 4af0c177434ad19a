;; Throw -> catch latency.  Every export runs $n iterations of a try_table whose body
;; throws $e(i) and returns the sum of what its handler got, n(n-1)/2, as a checksum:
;; "local" throws in the try_table itself, "catch" (and its catch_ref, catch_all and
;; catch_all_ref variants) from a call $depth frames down, "rethrow_frames" from below
;; $depth frames that each catch_ref the exception and throw_ref it on.  "no_throw"
;; makes the calls of "catch" without throwing; its checksum sums their results.
(module
  (tag $e (param i32))

  ;; Throws $e($x) $d frames below its caller (1 = itself).  $x is never -1: the test
  ;; only keeps a compiler from proving that $down never returns.  The work after the
  ;; call keeps it from being a tail call, which an optimiser would turn into a loop.
  (func $down (param $d i32) (param $x i32) (result i32)
    (if (i32.le_u (local.get $d) (i32.const 1))
      (then (if (i32.ne (local.get $x) (i32.const -1)) (then (throw $e (local.get $x))))
            (return (local.get $x))))
    (i32.add (i32.mul (call $down (i32.sub (local.get $d) (i32.const 1)) (local.get $x))
                      (i32.const 3))
             (local.get $d)))

  ;; $down's frames without the throw: returns $x from $d frames down.
  (func $walk (param $d i32) (param $x i32) (result i32)
    (if (i32.le_u (local.get $d) (i32.const 1)) (then (return (local.get $x))))
    (i32.sub (i32.mul (call $walk (i32.sub (local.get $d) (i32.const 1)) (local.get $x))
                      (i32.const 3))
             (local.get $d)))

  ;; Throws $e($x) from a frame below $k frames that each catch it with catch_ref and
  ;; rethrow the same exception with throw_ref.
  (func $relay (param $k i32) (param $x i32) (result i32)
    (if (i32.eqz (local.get $k))
      (then (if (i32.ne (local.get $x) (i32.const -1)) (then (throw $e (local.get $x))))
            (return (local.get $x))))
    (block $rethrow (result i32 exnref)
      (try_table (result i32) (catch_ref $e $rethrow)
        (i32.add (call $relay (i32.sub (local.get $k) (i32.const 1)) (local.get $x))
                 (local.get $k)))
      (return))
    (throw_ref))

  (func (export "local") (param $n i32) (param $depth i32) (result i64)
    (local $i i32) (local $acc i64)
    (loop $next
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u
        (block $caught (result i32)
          (try_table (catch $e $caught) (throw $e (local.get $i)))
          (unreachable)))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (local.get $n))))
    (local.get $acc))

  (func (export "catch") (param $n i32) (param $depth i32) (result i64)
    (local $i i32) (local $acc i64)
    (loop $next
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u
        (block $caught (result i32)
          (try_table (catch $e $caught) (drop (call $down (local.get $depth) (local.get $i))))
          (unreachable)))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (local.get $n))))
    (local.get $acc))

  (func (export "catch_ref") (param $n i32) (param $depth i32) (result i64)
    (local $i i32) (local $acc i64) (local $x i32)
    (loop $next
      (block $caught (result i32 exnref)
        (try_table (catch_ref $e $caught) (drop (call $down (local.get $depth) (local.get $i))))
        (unreachable))
      (drop)
      (local.set $x)
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $x))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (local.get $n))))
    (local.get $acc))

  (func (export "catch_all") (param $n i32) (param $depth i32) (result i64)
    (local $i i32) (local $acc i64)
    (loop $next
      (block $caught
        (try_table (catch_all $caught) (drop (call $down (local.get $depth) (local.get $i))))
        (unreachable))
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (local.get $n))))
    (local.get $acc))

  ;; The exnref is tested, so that it is used; it is never null.
  (func (export "catch_all_ref") (param $n i32) (param $depth i32) (result i64)
    (local $i i32) (local $acc i64) (local $x i32)
    (loop $next
      (block $caught (result exnref)
        (try_table (catch_all_ref $caught) (drop (call $down (local.get $depth) (local.get $i))))
        (unreachable))
      (local.set $x (ref.is_null))
      (local.set $acc (i64.add (local.get $acc)
        (i64.extend_i32_u (i32.add (local.get $i) (local.get $x)))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (local.get $n))))
    (local.get $acc))

  (func (export "rethrow_frames") (param $n i32) (param $depth i32) (result i64)
    (local $i i32) (local $acc i64)
    (loop $next
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u
        (block $caught (result i32)
          (try_table (catch $e $caught) (drop (call $relay (local.get $depth) (local.get $i))))
          (unreachable)))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (local.get $n))))
    (local.get $acc))

  (func (export "no_throw") (param $n i32) (param $depth i32) (result i64)
    (local $i i32) (local $acc i64)
    (loop $next
      (block $caught (result i32)
        (try_table (catch $e $caught)
          (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u
            (call $walk (local.get $depth) (local.get $i))))))
        (i32.const 0))
      (drop)
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (local.get $n))))
    (local.get $acc)))
