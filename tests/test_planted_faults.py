"""Planted bugs: with each deliberate engine fault switched on, the main target finds
a divergence within a bounded number of runs (and none without it, on the same
inputs -- checked in test_exceptions_target.py)."""
from __future__ import annotations

import random
import sys

import pytest

from engine.compile.faults import FAULTS, planted
from fuzz_targets import exceptions as target

RUNS = 300


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_target_finds_a_planted_fault(fault: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["exceptions.py", f"-artifact_prefix={tmp_path}/"])
    rng = random.Random(fault)
    with planted(fault):
        for run in range(RUNS):
            try:
                target.test_one_input(bytes(rng.randrange(256) for _ in range(2048)))
            except target.Divergence as divergence:
                assert "diverge" in str(divergence)
                print(f"{fault}: found in run {run + 1}")
                return
    pytest.fail(f"the target missed the planted fault {fault} in {RUNS} runs")
