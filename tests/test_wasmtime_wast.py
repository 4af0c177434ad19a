"""wasmtime's own ``.wast`` tests (``tests/data/wasmtime``, see its ``SOURCES.md``) pass
on our runner and engine, unchanged, at opt levels 0 to 2.

Each file runs in a child process (``python -m engine wast -O N FILE``) so that an
engine crash (a segfault, an LLVM abort) fails that one case with its exit status
instead of ending the test session.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "wasmtime"
FILES = sorted(DATA.rglob("*.wast"))
TOTALS = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")


def test_the_wasmtime_tests_are_present():
    assert len(FILES) == 7
    assert {f.parent.name for f in FILES} == {"wasmtime", "tail-call"}


@pytest.mark.parametrize("opt_level", [0, 1, 2])
@pytest.mark.parametrize("file", FILES, ids=lambda f: str(f.relative_to(DATA)))
def test_wasmtime_wast(file: Path, opt_level: int):
    proc = subprocess.run([sys.executable, "-m", "engine", "wast", "-O", str(opt_level), str(file)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode >= 0, f"the engine crashed (signal {-proc.returncode}):\n{output}"
    totals = TOTALS.match(proc.stdout.splitlines()[-1]) if proc.stdout else None
    assert totals, output
    passed, failed, skipped = map(int, totals.groups())
    # Every file is within our feature set: everything in it runs and passes.
    assert (failed, skipped) == (0, 0), output
    assert passed > 0 and proc.returncode == 0, output
