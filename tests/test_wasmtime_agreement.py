"""Our decoder+validator accept exactly the suite modules wasmtime accepts.

Every module of the Wasm 2.0 and exception-handling suites that has a binary form
(valid ones, and those of assert_invalid / assert_malformed / assert_unlinkable /
assert_uninstantiable) goes through both our ``decode_module`` + ``validate_module``
and ``wasmtime.Module.validate`` on the reference engine.  Where the two disagree,
our verdict must be the one the spec script expects: that is a known wasmtime
deviation the fuzzer has to know about, and is printed; anything else fails.
"""
from __future__ import annotations

from collections import Counter

import pytest
import wasmtime

from engine.binary.decode import decode_module
from engine.errors import WasmError
from engine.script import suites
from engine.script.wast import iter_modules
from engine.valid import validate_module
from oracles.wasmtime_config import reference_engine

TESTSUITE = suites.location()
SUITES = ["spec-wg2.0/core", "spec/exceptions"]


def _ours(data: bytes) -> str | None:
    """None if we accept the module, else our error."""
    try:
        validate_module(decode_module(data, wide_limits=True))
    except WasmError as e:
        return str(e)
    return None


def _wasmtime(data: bytes) -> str | None:
    try:
        wasmtime.Module.validate(reference_engine(), data)
    except wasmtime.WasmtimeError as e:
        return str(e).splitlines()[0]
    return None


def _verdict(error: str | None) -> str:
    return "accept" if error is None else f"reject ({error})"


def test_accept_reject_agrees_with_wasmtime():
    if not TESTSUITE.is_dir():
        pytest.skip("testsuite folder absent")
    counts: Counter[str] = Counter()
    failures: list[str] = []
    for case in iter_modules(*(TESTSUITE / s for s in SUITES)):
        ours, theirs = _ours(case.data), _wasmtime(case.data)
        agree = (ours is None) == (theirs is None)
        counts[f"{case.expected}: {'agree' if agree else 'disagree'}"] += 1
        if agree:
            continue
        failures.append(f"{case.file.relative_to(TESTSUITE)}:{case.line} expected {case.expected}: "
                        f"ours {_verdict(ours)}, wasmtime {_verdict(theirs)}")
    print("\n".join(f"{n:6d}  {k}" for k, n in sorted(counts.items())))
    assert sum(counts.values()) > 3000
    assert not failures, "\n".join(failures)
