"""Shared pieces of the fuzz targets: seed modules and a structure-aware byte mutator.

The mutator follows libFuzzer's byte mutations (flip, insert, delete, overwrite) but
knows the module's outer structure: it can mutate inside one section or one function
body and then re-encode the enclosing size fields, so a mutation deep in a body is
not rejected at once by a section size that no longer matches.  Every choice is
drawn from a ``Pick`` function, so the same mutator runs under libFuzzer
(``FuzzedDataProvider.ConsumeIntInRange``), ``random.Random.randint`` and Hypothesis.
"""
from __future__ import annotations

import ctypes
import functools
import os
import shlex
import sys
from dataclasses import dataclass
from typing import Callable

import atheris
import wasmtime

from engine.binary.codes import MAGIC, VERSION, SectionId

Pick = Callable[[int, int], int]
"""``pick(lo, hi)`` returns an int in ``[lo, hi]``, both ends included."""

HEADER = MAGIC + VERSION

# Small valid modules, each covering one area of the binary format, so a few byte
# mutations land near something interesting.  wat2wasm picks the segment encodings
# (elem flags 0-7, data flags 0-2) from the text form used.
SEED_WAT: dict[str, str] = {
    "imports_exports": """(module
      (type $v (func))
      (type $ii (func (param i32) (result i32)))
      (import "env" "f" (func $f (type $ii)))
      (import "env" "t" (table $t 1 10 funcref))
      (import "env" "m" (memory $m 1 2))
      (import "env" "g" (global $g (mut i64)))
      (import "env" "e" (tag $e (param i32 f64)))
      (tag $e2 (type $v))
      (func $h (export "h") (type $v))
      (export "f" (func $f)) (export "t" (table $t)) (export "m" (memory $m))
      (export "g" (global $g)) (export "e" (tag $e)) (export "e2" (tag $e2))
      (start $h))""",
    "tables_globals": """(module
      (import "env" "g" (global $g i32))
      (table $f 2 funcref) (table $x 0 externref) (table $n 1 5 exnref)
      (memory 1 3)
      (global $a i32 (i32.const 7))
      (global $b (mut i64) (i64.add (i64.const 1) (i64.mul (i64.const 2) (i64.const 3))))
      (global $c i32 (i32.sub (global.get $g) (i32.const 1)))
      (global $d (mut f32) (f32.const -0x1.8p3))
      (global $e f64 (f64.const nan:0x4))
      (global $r funcref (ref.func $fn))
      (global $s (mut externref) (ref.null extern))
      (global $t (mut exnref) (ref.null exn))
      (func $fn))""",
    "segments": """(module
      (table $t0 4 funcref) (table $t1 4 funcref) (table $t2 2 externref)
      (memory 1)
      (func $a) (func $b)
      (elem (i32.const 0) $a $b)
      (elem func $a)
      (elem (table $t1) (i32.const 1) func $b)
      (elem declare func $a)
      (elem (i32.const 2) funcref (ref.func $a) (ref.null func))
      (elem funcref (ref.null func) (ref.func $b))
      (elem (table $t1) (i32.const 0) funcref (ref.func $b))
      (elem declare funcref (ref.func $b))
      (elem (table $t2) (i32.const 0) externref (ref.null extern))
      (data (i32.const 0) "hello")
      (data "passive\\00\\ff")
      (data (memory 0) (i32.add (i32.const 8) (i32.const 8)) "x"))""",
    "exceptions": """(module
      (type $t (func (param i32)))
      (tag $e0)
      (tag $e1 (type $t))
      (tag $e2 (param i64 f32))
      (func $throws (param i32)
        (if (local.get 0) (then (throw $e1 (local.get 0))) (else (throw $e0))))
      (func (export "catch") (param i32) (result i32) (local $x exnref) (local (ref null exn))
        (block $all_ref (result exnref)
          (block $all
            (block $one_ref (result i32 exnref)
              (block $one (result i32)
                (try_table (catch $e1 $one) (catch_ref $e1 $one_ref)
                           (catch_all $all) (catch_all_ref $all_ref)
                  (call $throws (local.get 0)))
                (return (i32.const 0)))
              (return))
            (local.set $x) (drop)
            (throw_ref (local.get $x)))
          (return (i32.const -1)))
        (local.tee 1)
        (ref.is_null) (if (then (unreachable)))
        (throw_ref (local.get 1)))
      (func (result i64 f32)
        (block $h (result i64 f32)
          (try_table (result i64 f32) (catch $e2 $h)
            (throw $e2 (i64.const 1) (f32.const 2))))))""",
    "tail_calls": """(module
      (type $f (func (param i64) (result i64)))
      (table 1 funcref)
      (elem (i32.const 0) $fac)
      (func $fac (type $f)
        (if (result i64) (i64.eqz (local.get 0))
          (then (i64.const 1))
          (else (return_call_indirect (type $f)
                  (i64.sub (local.get 0) (i64.const 1)) (i32.const 0)))))
      (func (export "go") (param i64) (result i64)
        (return_call $fac (local.get 0))))""",
    "control": """(module
      (type $pair (func (param i32 i32) (result i32 i32)))
      (func (export "switch") (param i32) (result i32)
        (block $d (block $c (block $b (block $a
          (br_table $a $b $c $d (local.get 0)))
          (return (i32.const 10)))
          (return (i32.const 11)))
          (return (i32.const 12)))
        (i32.const 13))
      (func (param i32 i32) (result i32)
        (local.get 0) (local.get 1)
        (block (type $pair) (param i32 i32) (result i32 i32)
          (loop (param i32 i32) (result i32 i32)
            (br_if 1 (i32.eqz (local.get 0)))
            (drop) (drop) (local.get 1) (local.get 0) (br 0)))
        (i32.add)
        (select (i32.const 1) (i32.const 2) (local.get 0))
        (select (result i32) (i32.const 3) (local.get 1))
        (i32.add)))""",
    "memory_ops": """(module
      (memory 1 2)
      (table $t 3 funcref)
      (func $f)
      (elem $e func $f $f)
      (data $d "abcdef")
      (func (export "ops") (param i32) (result i32)
        (memory.init $d (local.get 0) (i32.const 0) (i32.const 4))
        (memory.copy (i32.const 8) (local.get 0) (i32.const 4))
        (memory.fill (i32.const 16) (i32.const 255) (i32.const 8))
        (data.drop $d)
        (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 2))
        (table.copy $t $t (i32.const 1) (i32.const 0) (i32.const 1))
        (elem.drop $e)
        (drop (table.grow $t (ref.null func) (i32.const 1)))
        (table.fill $t (i32.const 0) (ref.func $f) (table.size $t))
        (table.set $t (i32.const 0) (table.get $t (i32.const 1)))
        (drop (memory.grow (i32.const 1)))
        (i64.store offset=4 align=4 (i32.const 0) (i64.load8_s (i32.const 3)))
        (f32.store (i32.const 8) (f32.load offset=16 (i32.const 0)))
        (i32.store16 (i32.const 2) (memory.size))
        (i32.load offset=65536 align=1 (local.get 0))))""",
    "numeric": """(module
      (func (export "num") (param i32 i64 f32 f64) (result f64)
        (local i32 i64)
        (local.set 4 (i32.rotl (i32.popcnt (local.get 0)) (i32.const 3)))
        (local.set 5 (i64.extend32_s (i64.shr_u (local.get 1) (i64.const 63))))
        (drop (i32.trunc_sat_f32_s (local.get 2)))
        (drop (i64.trunc_sat_f64_u (local.get 3)))
        (drop (i32.wrap_i64 (i64.clz (local.get 5))))
        (drop (i32.extend8_s (i32.div_u (local.get 4) (i32.const 7))))
        (drop (f32.demote_f64 (f64.copysign (local.get 3) (f64.const -0))))
        (drop (i64.reinterpret_f64 (f64.const inf)))
        (drop (f32.convert_i64_u (i64.const -9223372036854775808)))
        (f64.add (f64.promote_f32 (f32.sqrt (local.get 2)))
                 (f64.convert_i32_s (i32.trunc_f64_s (local.get 3))))))""",
    # Data segment flag 2 (explicit memory index 0), which wat2wasm never emits.
    "data_flag2": r"""(module binary "\00asm\01\00\00\00"
      "\05\03\01\00\01"
      "\0b\08\01\02\00\41\00\0b\01x")""",
}


@functools.cache
def seed_modules() -> tuple[bytes, ...]:
    """The seeds as binary modules, in ``SEED_WAT`` order."""
    return tuple(wasmtime.wat2wasm(text) for text in SEED_WAT.values())


def uleb(n: int) -> bytes:
    """Shortest unsigned LEB128 encoding of ``n``."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned LEB128 at ``pos``; returns (value, position after it)."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated LEB128")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


@dataclass(slots=True)
class Section:
    id: int
    payload: bytes


def split_sections(wasm: bytes) -> list[Section]:
    """The sections of a well-formed module; raises ValueError when sizes do not add up."""
    if not wasm.startswith(HEADER):
        raise ValueError("no wasm header")
    sections, pos = [], len(HEADER)
    while pos < len(wasm):
        size, start = read_uleb(wasm, pos + 1)
        if start + size > len(wasm):
            raise ValueError("section runs past the end")
        sections.append(Section(wasm[pos], wasm[start:start + size]))
        pos = start + size
    return sections


def join_sections(sections: list[Section]) -> bytes:
    """A module from its sections, each with a freshly computed size."""
    return HEADER + b"".join(bytes([s.id]) + uleb(len(s.payload)) + s.payload for s in sections)


def split_code(payload: bytes) -> tuple[bytes, list[bytes]]:
    """A code section payload as (its count field, the function bodies without sizes)."""
    count, pos = read_uleb(payload, 0)
    prefix, bodies = payload[:pos], []
    for _ in range(count):
        size, start = read_uleb(payload, pos)
        bodies.append(payload[start:start + size])
        pos = start + size
    return prefix, bodies


def join_code(prefix: bytes, bodies: list[bytes]) -> bytes:
    """The inverse of :func:`split_code`, with freshly computed body sizes."""
    return prefix + b"".join(uleb(len(b)) + b for b in bodies)


# Bytes that often change meaning in a module: LEB edges, empty block type, `end`,
# the exception-handling opcodes (throw, throw_ref, try_table) and type codes
# (exnref, nullexnref, ref null / ref prefixes, funcref, externref), the 0xFC prefix.
INTERESTING_BYTES = (0x00, 0x01, 0x40, 0x7F, 0x80, 0xFF, 0x0B, 0x08, 0x0A, 0x1F,
                     0x69, 0x74, 0x63, 0x64, 0x70, 0x6F, 0xD0, 0x12, 0x13, 0x0E, 0xFC)


def _byte(pick: Pick) -> int:
    """A byte value, half the time one of ``INTERESTING_BYTES``."""
    if pick(0, 1):
        return INTERESTING_BYTES[pick(0, len(INTERESTING_BYTES) - 1)]
    return pick(0, 255)


def mutate_bytes(data: bytes, pick: Pick) -> bytes:
    """One libFuzzer-style byte mutation: flip a bit, insert, delete or overwrite."""
    buf = bytearray(data)
    kind = pick(0, 3)
    if kind == 1 or not buf:
        buf.insert(pick(0, len(buf)), _byte(pick))
    elif kind == 0:
        buf[pick(0, len(buf) - 1)] ^= 1 << pick(0, 7)
    elif kind == 2:
        pos = pick(0, len(buf) - 1)
        del buf[pos:pos + pick(1, 4)]
    else:
        buf[pick(0, len(buf) - 1)] = _byte(pick)
    return bytes(buf)


def _mutate_structured(sections: list[Section], pick: Pick) -> None:
    """Mutate one section (or one function body), or drop or repeat a whole section."""
    i = pick(0, len(sections) - 1)
    section = sections[i]
    kind = pick(0, 7)
    if kind == 0:
        del sections[i]
    elif kind == 1:
        sections.insert(pick(0, len(sections)), Section(section.id, section.payload))
    elif section.id == SectionId.CODE and kind > 2:
        section.payload = _mutate_body(section.payload, pick)
    else:
        section.payload = mutate_bytes(section.payload, pick)


def _mutate_body(payload: bytes, pick: Pick) -> bytes:
    """Mutate one function body of a code section payload, re-encoding its size."""
    try:
        prefix, bodies = split_code(payload)
    except ValueError:
        # An earlier raw mutation broke the bodies' sizes: stay raw.
        return mutate_bytes(payload, pick)
    if not bodies:
        return mutate_bytes(payload, pick)
    j = pick(0, len(bodies) - 1)
    bodies[j] = mutate_bytes(bodies[j], pick)
    return join_code(prefix, bodies)


def mutate_module(seed: bytes, pick: Pick) -> bytes:
    """A few mutations of a valid module.

    Mostly structure-aware (sizes re-encoded after each change, so a mutation stays
    inside its section or function body); sometimes raw, which also breaks sizes.
    """
    rounds = pick(1, 4)
    if pick(0, 3) == 0:
        wasm = seed
        for _ in range(rounds):
            wasm = mutate_bytes(wasm, pick)
        return wasm
    sections = split_sections(seed)
    for _ in range(rounds):
        if not sections:
            break
        _mutate_structured(sections, pick)
    return join_sections(sections)


_EXIT_HOOKS: list[object] = []


def _self_command() -> str:
    """How libFuzzer restarts this target in ``-fork``/``-jobs`` mode: it runs its
    ``argv[0]`` through the shell, and a script path alone is not a command."""
    if getattr(sys, "frozen", False):      # a PyInstaller package is its own command
        return shlex.quote(sys.executable)
    return " ".join(shlex.quote(part) for part in (sys.executable, os.path.abspath(sys.argv[0])))


def _forks(argv: list[str]) -> bool:
    for arg in argv[1:]:
        flag, _, value = arg.partition("=")
        if flag in ("-fork", "-jobs") and value not in ("", "0"):
            return True
    return False


@dataclass(frozen=True)
class Defaults:
    """What a target's command line gets when it does not say otherwise.

    * ``flags`` -- libFuzzer flags added unless the command line gives the same flag;
    * ``bare_flags`` -- added only when the command line is empty (a time bound, say);
    * ``corpus`` -- the writable corpus directory when the command line names none;
    * ``seeds`` -- read-only seed directories always added after the corpus, except
      when the command line replays files or is a ``-fork`` child (its inputs come in
      ``-seed_inputs``).
    """
    flags: tuple[str, ...] = ()
    bare_flags: tuple[str, ...] = ()
    corpus: str | None = None
    seeds: tuple[str, ...] = ()

    def apply(self, args: list[str]) -> list[str]:
        """``args`` completed with the defaults; directories they name are created.  A
        packaged target (OSS-Fuzz's PyInstaller build) takes its command line as it
        is: the fuzzing service sets flags, corpora and artifact paths itself."""
        if getattr(sys, "frozen", False):
            return args
        flags = [a for a in args if a.startswith("-")]
        paths = [a for a in args if not a.startswith("-")]
        given = {f.partition("=")[0] for f in flags}
        out = [f for f in self.flags if f.partition("=")[0] not in given] + flags
        if not args:
            out = list(self.bare_flags) + out
        child = "-seed_inputs" in given
        replaying = any(os.path.isfile(p) for p in paths)
        if not paths and self.corpus is not None and not child:
            paths = [self.corpus]
        if not child and not replaying:
            paths += [seed for seed in self.seeds if seed not in paths]
        for path in paths:
            if not os.path.exists(path) and not os.path.splitext(path)[1]:
                os.makedirs(path, exist_ok=True)
        for flag in out:
            if flag.startswith("-artifact_prefix="):
                os.makedirs(os.path.dirname(flag.partition("=")[2]) or ".", exist_ok=True)
        return out + paths


def run_fuzzer(test_one_input: Callable[[bytes], None], summary: Callable[[], str], defaults: Defaults) -> None:
    """Hand ``test_one_input`` to libFuzzer with ``sys.argv`` completed by ``defaults``.

    Prints ``summary()`` when the campaign ends normally.  libFuzzer ends it with C
    ``exit()``, which skips Python's ``atexit``, so the hook is registered in C.
    """
    argv = [_self_command(), *defaults.apply(sys.argv[1:])]
    if not _forks(argv):   # a parent that forks runs no input: its children report
        hook = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _arg: print(summary(), flush=True))
        _EXIT_HOOKS.append(hook)  # ctypes callbacks must outlive the call that registers them
        ctypes.CDLL(None).__cxa_atexit(hook, None, None)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
