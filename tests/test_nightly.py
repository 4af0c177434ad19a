"""The nightly runner (ci/nightly.py) end to end, with a planted fault so there is
something to find: findings triaged, reduced and reported with plots; a run killed at
any point and started again loses no finding and leaves the corpus valid."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAULT = {"EXNFUZZ_FAULTS": "reversed_payload"}


def nightly(out: Path, minutes: float, *flags: str, fault: dict[str, str] = FAULT,
            **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "ci.nightly", "--minutes", str(minutes), "--out", str(out),
                             "--targets", "exceptions", "--reduce-seconds", "20", *flags], cwd=ROOT,
                            env={**os.environ, **fault}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, **kwargs)  # type: ignore[call-overload]


def findings(out: Path) -> set[str]:
    folder = out / "findings" / "exceptions"
    # An in-progress case file (.in-progress-<pid>.json) is not a finding: the next
    # start turns it into a case file beside its crash, or drops it.
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")} if folder.is_dir() else set()


def test_a_night_reports_findings_with_plots(tmp_path: Path) -> None:
    proc = nightly(tmp_path, 0.4)
    log, _ = proc.communicate(timeout=900)
    assert proc.returncode == 1, log[-3000:]        # new signatures
    [night] = (tmp_path / "nights").iterdir()
    report = json.loads((night / "report.json").read_text())
    assert report["signatures"] >= 1 and report["new_signatures"] == report["signatures"]
    assert all("payload" in row["signature"] or "values" in row["signature"] for row in report["findings"])
    page = (night / "report.html").read_text()
    assert page.count("<polyline") == 4 and "reduced WAT" in page
    assert report["targets"]["exceptions"]["inputs"] > 0


def test_with_the_full_set_a_fault_at_one_level_is_named_in_the_report(tmp_path: Path) -> None:
    # Every case on six executors: fewer execs a second than the pair, so a longer night.
    proc = nightly(tmp_path, 1.0, "--full-set", "1", fault={"EXNFUZZ_FAULTS": "reversed_payload@O1"})
    log, _ = proc.communicate(timeout=900)
    assert proc.returncode == 1, log[-3000:]
    [night] = (tmp_path / "nights").iterdir()
    report = json.loads((night / "report.json").read_text())
    assert report["findings"] and all(row["signature"].startswith("exnfuzz-O1:") for row in report["findings"])
    assert all(row["reduced"] for row in report["findings"])


def test_killed_and_started_again_it_loses_nothing(tmp_path: Path) -> None:
    proc = nightly(tmp_path, 0.6)
    deadline = time.monotonic() + 600
    while not findings(tmp_path) and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(random.Random(7).uniform(0, 10))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    before = findings(tmp_path)
    assert before, "no finding before the kill"
    again = nightly(tmp_path, 0.6)
    log, _ = again.communicate(timeout=900)
    assert again.returncode in (0, 1), log[-3000:]
    assert "resuming" in log
    assert before <= findings(tmp_path)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["phase"] == "done" and state["findings"]
    corpus = list((tmp_path / "corpus" / "exceptions").iterdir())
    assert corpus and all(p.is_file() for p in corpus)
