"""The main target's per-input check, without atheris's fuzzing loop: generated cases
run on both engines and agree; divergences become reports and case files."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from fuzz_targets import exceptions as target
from oracles.case import load


def test_generated_inputs_agree_between_engines() -> None:
    rng = random.Random(2026)
    for _ in range(60):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 1500)))
        result = target.check_input(data)
        assert result.verdict.kind in ("agree", "inconclusive"), result.verdict
    assert target.STATS.execs >= 60 and target.STATS.verdicts["agree"] > 0


def test_a_divergence_is_reported_with_its_case_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.compile.faults import planted
    monkeypatch.setattr(sys, "argv", ["exceptions.py", f"-artifact_prefix={tmp_path}/"])
    rng = random.Random(7)
    with planted("reversed_payload", "catch_all_traps", "reversed_clauses"):
        for _ in range(400):
            data = bytes(rng.randrange(256) for _ in range(1024))
            try:
                target.test_one_input(data)
            except target.Divergence as divergence:
                report = str(divergence)
                break
        else:
            pytest.fail("no divergence in 400 inputs with three faults planted")
    assert "diverge" in report and ";; host plan" in report and "(module" in report
    saved = list(tmp_path.glob("crash-*.case.json"))
    assert len(saved) == 1 and saved[0].with_suffix(".wat").exists()
    assert load(saved[0]).module


def test_campaign_findings_now_agree() -> None:
    """Inputs that once diverged (``corpus/exceptions/regression-*``): the campaign's
    stored NaN, now canonicalized by the generator."""
    found = sorted((Path(target.ROOT) / "corpus" / "exceptions").glob("regression-*"))
    assert found
    for path in found:
        result = target.check_input(path.read_bytes())
        assert result.verdict.kind == "agree", (path.name, result.verdict)
