"""Coverage feedback from what ran, not only from what was compiled.

libFuzzer sees the coverage of the Python code that generates and compiles a case, so
once a construct has been compiled, nothing rewards an input that makes it *happen*:
a catch clause aimed at a loop label is written in a few percent of cases and catches
in far fewer.  This module turns what happened in a run (:func:`oracles.observed.observed`:
catches by clause kind, label kind and depth; tail calls taken; traps by code; host
events; collections; exception objects seen again) into hits on a pool of counters of
libFuzzer's own, reserved from atheris before fuzzing starts.  A name picks its
counter by a stable hash, so every process of a ``-fork`` or ``-jobs`` campaign agrees;
a count hits its counter that many times (up to :data:`CAP`), which libFuzzer buckets
(1, 2, 3, 4-7, 8-15...) as it buckets edge counts -- so "more catches into a loop label"
is new coverage too.
"""
from __future__ import annotations

import zlib
from collections.abc import Mapping

import atheris

POOL = 4096
"""Counters reserved for run-time features."""
CAP = 64
_base: int | None = None


def reserve() -> None:
    """Reserve the counters (once, before fuzzing starts, so libFuzzer registers them)."""
    global _base
    if _base is None:
        _base = atheris._reserve_counter()
        for _ in range(POOL - 1):
            atheris._reserve_counter()


def counter(name: str) -> int:
    assert _base is not None, "reserve() the counters first"
    return _base + zlib.crc32(name.encode()) % POOL


def record(features: Mapping[str, int]) -> None:
    """Hit each feature's counter as often as it happened (no-op before :func:`reserve`)."""
    if _base is None:
        return
    for name, n in features.items():
        index = counter(name)
        for _ in range(min(n, CAP)):
            atheris._trace_branch(index)


__all__ = ["CAP", "POOL", "counter", "record", "reserve"]
