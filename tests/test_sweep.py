"""The calling-convention sweep (``generators/sweep.py``) agrees with wasmtime at every
opt_level: each grid signature reached by call, call_indirect, return_call,
return_call_indirect and from the host, into callees that return, throw (caught or
escaping to the host) and trap.  Each level runs in a child process, since a calling
convention bug may well crash it; the child prints how long the level took."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from generators.sweep import KINDS, ci_grid

ROOT = Path(__file__).resolve().parent.parent


def test_the_ci_grid_covers_every_count_on_both_sides() -> None:
    sigs = ci_grid()
    for kind, types in KINDS.items():
        of_kind = [s for s in sigs if set(s.params + s.results) <= set(types)]
        assert {len(s.params) for s in of_kind} >= {0, 1, 4, 5, 6, 8, 9, 24}
        assert {len(s.results) for s in of_kind} >= {0, 1, 2, 3, 4, 5, 8, 9, 24}


@pytest.mark.parametrize("opt_level", [0, 1, 2])
def test_sweep_agrees_with_wasmtime(opt_level: int) -> None:
    assert_sweep_agrees("-O", str(opt_level))


def assert_sweep_agrees(*args: str) -> None:
    """Run ``python -m generators.sweep ARGS`` in a child process; every module agrees."""
    proc = subprocess.run([sys.executable, "-m", "generators.sweep", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    print(proc.stdout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    summary = re.search(r"(\d+) modules, (\d+) calls: \{'agree': (\d+)\}", proc.stdout)
    assert summary is not None, proc.stdout
    modules, calls, agreed = map(int, summary.groups())
    assert agreed == modules and calls > 2000
