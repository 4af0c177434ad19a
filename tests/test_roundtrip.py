"""Encoder and printer against the conformance suites.

For every module of the suites that our decoder and validator accept:

* ``encode(decode(b)) == b`` when ``b`` came from ``wat2wasm`` (canonical encoding);
  ``(module binary ...)`` modules may be non-canonical (padded LEB128, split local
  runs, empty sections), so for them ``decode(encode(m)) == m``.
* ``wat2wasm(print(m))`` gives back the same bytes for text modules, and the same
  module for binary ones -- except for a data count section, whose presence the text
  format cannot state.
"""
from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

import pytest
import wasmtime

from engine.binary.decode import decode_module
from engine.binary.encode import encode_module
from engine.errors import DecodeError, ValidationError
from engine.script import suites
from engine.script.wast import iter_modules, wast_files
from engine.text import print_module
from engine.valid import validate_module

TESTSUITE = suites.location()
SUITES = ["spec-wg2.0/core", "spec/exceptions"]


def _suite_files() -> list:
    if not all((TESTSUITE / suite).is_dir() for suite in SUITES):
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no test suites at {TESTSUITE}"))]
    files = wast_files([TESTSUITE / suite for suite in SUITES])
    return [pytest.param(f, id=f"{f.parent.name}/{f.name}") for f in files]


@pytest.mark.parametrize("path", _suite_files())
def test_encode_and_print_round_trip(path: Path) -> None:
    counts: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    for case in iter_modules(path):
        where = f"{path.name}:{case.line}"
        try:
            module = decode_module(case.data)
            validate_module(module)
        except DecodeError as e:
            counts[f"not decoded ({type(e).__name__})"] += 1
            continue
        except ValidationError:
            counts["invalid"] += 1
            continue
        counts["checked"] += 1

        encoded = encode_module(module)
        if case.text is not None and encoded != case.data:
            failures.append(f"{where}: encode(decode(b)) != b")
        elif case.text is None and decode_module(encoded) != module:
            failures.append(f"{where}: decode(encode(m)) != m")

        try:
            printed = wasmtime.wat2wasm(print_module(module))
        except wasmtime.WasmtimeError as e:
            failures.append(f"{where}: wat2wasm rejects the printed text: {e}")
            continue
        if case.text is not None:
            if printed != case.data:
                failures.append(f"{where}: wat2wasm(print(m)) != b")
        else:
            reread = decode_module(printed)
            if dataclasses.replace(reread, data_count=module.data_count) != module:
                failures.append(f"{where}: decode(wat2wasm(print(m))) != m")
    assert not failures, "\n".join(failures)
    if not counts["checked"]:
        pytest.skip(f"no module of {path.name} accepted: {dict(counts)}")
