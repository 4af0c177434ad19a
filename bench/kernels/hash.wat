;; A MurmurHash3/xxHash-style 64-bit hash over a 64 KiB buffer, once per round with the
;; round number as seed: multiplies, rotates and 8-byte loads.  The buffer is filled
;; with xorshift64 output first.
(module
  (memory 1)
  (func $mix (param $h i64) (param $k i64) (result i64)
    (local.set $k (i64.mul (local.get $k) (i64.const 0x87c37b91114253d5)))
    (local.set $k (i64.rotl (local.get $k) (i64.const 31)))
    (local.set $k (i64.mul (local.get $k) (i64.const 0x4cf5ad432745937f)))
    (local.set $h (i64.xor (local.get $h) (local.get $k)))
    (local.set $h (i64.rotl (local.get $h) (i64.const 27)))
    (i64.add (i64.mul (local.get $h) (i64.const 5)) (i64.const 0x52dce729)))
  (func $fmix (param $h i64) (result i64)
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0xff51afd7ed558ccd)))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0xc4ceb9fe1a85ec53)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))))
  (func (export "run") (param $rounds i32) (result i64)
    (local $p i32) (local $x i64) (local $h i64) (local $r i32) (local $acc i64)
    (local.set $x (i64.const 0x9e3779b97f4a7c15))
    (loop $fill
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
      (i64.store (local.get $p) (local.get $x))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (br_if $fill (i32.lt_u (local.get $p) (i32.const 65536))))
    (block $done
      (loop $round
        (br_if $done (i32.ge_u (local.get $r) (local.get $rounds)))
        (local.set $h (i64.extend_i32_u (local.get $r)))
        (local.set $p (i32.const 0))
        (loop $lane
          (local.set $h (call $mix (local.get $h) (i64.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br_if $lane (i32.lt_u (local.get $p) (i32.const 65536))))
        (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 5))
                                 (call $fmix (i64.xor (local.get $h) (i64.const 65536)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $round)))
    (local.get $acc)))
