"""Planted bugs: with each deliberate engine fault switched on, the main target finds
it within a bounded number of runs -- as a divergence, or as a crash of the process
(a stale pointer taken for an exnref crashes, as real engine bugs do), which is why
each fault runs in a child process.  Without faults the same inputs agree (checked in
test_exceptions_target.py).  The faults only code for another target shows are
caught under emulation (test_emulated.py)."""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.compile.faults import ENVIRONMENT, FAULTS, TARGET_FAULTS

RUNS = 300
ROOT = Path(__file__).resolve().parent.parent


def child(fault: str, artifacts: str) -> None:
    """Feed the target the fault's inputs; print each run's number, and the verdict of
    the first divergence."""
    sys.argv = ["exceptions.py", f"-artifact_prefix={artifacts}/"]
    from engine.compile import faults
    from fuzz_targets import exceptions as target
    faults.plant_from_environment()
    rng = random.Random(fault)
    for run in range(1, RUNS + 1):
        print(f"run {run}", flush=True)
        try:
            target.test_one_input(bytes(rng.randrange(256) for _ in range(2048)))
        except (target.Divergence, target.RunFailure) as finding:
            print(f"found in run {run}: {str(finding).splitlines()[0]}", flush=True)
            return


@pytest.mark.parametrize("fault", sorted(FAULTS - TARGET_FAULTS))
def test_the_target_finds_a_planted_fault(fault: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, __file__, fault, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=1200, env={**os.environ, ENVIRONMENT: fault})
    runs = re.findall(r"^run (\d+)$", proc.stdout, re.M)
    found = re.search(r"^found in run (\d+): (.*)$", proc.stdout, re.M)
    if proc.returncode < 0:      # the process crashed on the last run it started
        print(f"{fault}: crashed ({signal.Signals(-proc.returncode).name}) in run {runs[-1]}")
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert found is not None, f"the target missed the planted fault {fault} in {RUNS} runs"
    assert "diverge" in found.group(2) or "running the case raised" in found.group(2)
    print(f"{fault}: found in run {found.group(1)}: {found.group(2)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    child(sys.argv[1], sys.argv[2])
