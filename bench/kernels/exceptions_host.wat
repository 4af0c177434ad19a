;; Host -> wasm throw.  "host_throw" runs $n iterations of a try_table around a call to
;; the imported $throw, a host function that throws the imported tag $e with its
;; argument; "host_call" calls the host function $pass, which returns its argument,
;; for the cost of the host call alone.  Both return n(n-1)/2.
(module
  (import "host" "e" (tag $e (param i32)))
  (import "host" "throw" (func $throw (param i32)))
  (import "host" "pass" (func $pass (param i32) (result i32)))

  (func (export "host_throw") (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    (loop $next
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u
        (block $caught (result i32)
          (try_table (catch $e $caught) (call $throw (local.get $i)))
          (unreachable)))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (local.get $n))))
    (local.get $acc))

  (func (export "host_call") (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    (loop $next
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (call $pass (local.get $i)))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (local.get $n))))
    (local.get $acc)))
