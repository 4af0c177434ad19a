"""The main target's per-input check, without atheris's fuzzing loop: generated cases
run on both engines and agree; divergences become reports and case files."""
from __future__ import annotations

import random
import subprocess
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


def test_an_instrumentation_choice_names_packages_and_modules_left_out() -> None:
    packages, left_out = target.instrumentation("engine,-engine.binary,generators,-engine.compile.jit")
    assert packages == ["engine", "generators"]
    assert {"engine.binary", "engine.binary.decode", "engine.binary.reader", "engine.compile.jit"} <= set(left_out)
    assert not any(name.startswith(("engine.valid", "engine.runtime", "generators")) for name in left_out)
    assert target.instrumentation("") == ([], [])


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


def test_an_input_whose_case_was_checked_is_a_repeat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "argv", ["exceptions.py", f"-artifact_prefix={tmp_path}/"])
    monkeypatch.setattr(target, "CHECKED", set())
    monkeypatch.setattr(target, "STATS", target.Stats())
    data = bytes(random.Random(11).randrange(256) for _ in range(600))
    target.test_one_input(data)
    target.test_one_input(data)
    assert (target.STATS.execs, target.STATS.repeats) == (1, 1)
    # An exhausted input reads as all-lowest decisions, so a lone zero byte changes nothing.
    target.test_one_input(b"")
    target.test_one_input(b"\0")
    assert (target.STATS.execs, target.STATS.repeats) == (2, 2)
    assert "2 repeats skipped" in target.STATS.summary()


def test_campaign_findings_now_agree() -> None:
    """Inputs that once diverged (``corpus/exceptions/regression-*``): the campaign's
    stored NaN, now canonicalized by the generator."""
    found = sorted((Path(target.ROOT) / "corpus" / "exceptions").glob("regression-*"))
    assert found
    for path in found:
        result = target.check_input(path.read_bytes())
        assert result.verdict.kind == "agree", (path.name, result.verdict)


def _run_target(*flags: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(target.ROOT) / "fuzz_targets" / "exceptions.py"
    return subprocess.run([sys.executable, str(script), *flags, str(cwd / "corpus")], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_the_script_fuzzes_under_libfuzzer_and_prints_its_summary(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    out = _run_target("-runs=40", "-seed=1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = [line for line in out.stdout.splitlines() if line.startswith("exceptions:")]
    assert summary and "0 diverge" in summary[-1], out.stdout[-2000:]
    assert any((tmp_path / "corpus").iterdir())


def test_fork_mode_restarts_the_script_in_children(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    out = _run_target("-fork=1", "-max_total_time=15", "-seed=1", cwd=tmp_path)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert "not found" not in log and "job: 1" in log, log[-3000:]
