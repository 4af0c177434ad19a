"""Deliberate engine faults, to check that the fuzzer finds bugs of the kinds it hunts.

Each fault is a small, realistic miscompilation of exception handling or of calls,
switched on only inside :func:`planted` (tests do this), or for a whole fuzzing run
by naming it in the environment variable ``EXNFUZZ_FAULTS`` (comma-separated; see
:func:`plant_from_environment`); ``NAME@O2`` plants it in code compiled at opt_level 2
only (:func:`on`).  Faults act when a module is compiled, so a module
compiled inside the ``with`` block keeps its fault.  Some faults crash the process
(a stale pointer taken for an exnref, say), as real engine bugs do, so tests run
them in a child process.

- ``reversed_clauses``: a ``try_table`` tries its catch clauses last to first;
- ``catch_all_traps``: a ``catch_all`` clause also catches traps;
- ``reversed_payload``: ``throw`` stores the first two payload values swapped when they
  have the same type;
- ``tail_call_spill_offset``: ``return_call`` and ``return_call_indirect`` write the
  arguments beyond the registers one slot further along than the callee reads them --
  an offset computed for a frame layout with one more slot, as in the s390x crash of
  the seed thread -- so the callee reads its first such argument from whatever an
  earlier call left, and each later one from its predecessor's slot;
- ``reversed_spilled_results``: a function writes the results beyond the registers to
  the spill area last to first, while its callers read them first to last;
- ``shared_tag_records``: a module's tags are allocated once, by its first instance,
  and every later instance of the module uses those (tag identity per module, not per
  instance), so one instance's handlers catch another's exceptions;
- ``exnref_tables_unrooted``: tables of ``exnref`` are not registered as roots with
  the collector, so an exception object held only in one is freed by a collection;
- ``catch_label_off_by_one``: a catch clause's label is counted from the try_table's
  own label rather than from outside it (where both labels take the same values).

Three more are specific to a target: code for x86-64 (and mostly aarch64) is right with
them, and only code run on another target shows them -- under emulation (see
``engine/emulated`` and ``tests/test_emulated.py``, which show each is caught):

- ``no_byte_swap``: linear-memory loads and stores skip the byte swap on big-endian
  targets, so s390x reads and writes wasm's little-endian memory in its own order;
- ``payload_low_half``: ``throw`` stores an ``i32`` or ``f32`` payload value with a
  4-byte store at the start of its 8-byte slot, which is the slot's low half only on a
  little-endian machine (on s390x the value lands in the high half, and whoever reads
  the slot -- a ``catch``, the host -- finds 0 in the low half);
- ``frame_record_offset``: the outermost entry trampoline sets the top of the
  collector's stack scan to its stack pointer at the call less 16 bytes, taking those
  bytes for the first wasm frame's frame record (the return address and saved frame
  pointer a callee pushes first on x86-64; the frame pointer and link register at the
  top of an aarch64 frame), which holds no reference.  That holds where the callee's
  frame starts with its frame record; on s390x the callee saves registers in its
  caller's register save area -- the outgoing area at the bottom of every caller's
  frame -- and its own frame starts with its locals, so an exnref kept at the top of
  the first wasm frame is not scanned and its object is freed while still in use.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

FAULTS = frozenset({"reversed_clauses", "catch_all_traps", "reversed_payload", "tail_call_spill_offset",
                    "reversed_spilled_results", "shared_tag_records", "exnref_tables_unrooted",
                    "catch_label_off_by_one", "no_byte_swap", "payload_low_half", "frame_record_offset"})
TARGET_FAULTS = frozenset({"no_byte_swap", "payload_low_half", "frame_record_offset"})
"""The faults only code for another target than x86-64 shows."""
active: set[str] = set()


ENVIRONMENT = "EXNFUZZ_FAULTS"


def _check(names: set[str]) -> None:
    unknown = {name for name in names if re.sub(r"@O[0-3]$", "", name) not in FAULTS}
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(FAULTS)} (NAME@O2: at opt_level 2 only)")


def on(name: str, opt_level: int | None = None) -> bool:
    """Whether fault ``name`` is planted in code compiled at ``opt_level``: planted as
    ``NAME`` (at every level) or ``NAME@O<level>`` (at that level only -- a fault an
    optimisation level's own path could have)."""
    return name in active or (opt_level is not None and f"{name}@O{opt_level}" in active)


def plant_from_environment() -> set[str]:
    """Switch on, for the rest of the process, the faults ``EXNFUZZ_FAULTS`` names;
    return them."""
    names = {name.strip() for name in os.environ.get(ENVIRONMENT, "").split(",") if name.strip()}
    _check(names)
    active.update(names)
    return names


@contextmanager
def planted(*names: str) -> Iterator[None]:
    """Compile with the faults ``names`` switched on."""
    _check(set(names))
    active.update(names)
    try:
        yield
    finally:
        active.difference_update(names)
