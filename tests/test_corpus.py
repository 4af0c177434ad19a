"""The corpus and what keeps findings: replay, reduction, triage, the in-progress case.

The regression corpus replays as a user replays it (``python -m oracles replay``);
findings of planted faults (``tests/data/findings/FAULT/crash-*``: case files the main
target wrote with that fault planted, which outlive changes of the generator; the one
native crash is a raw input, which the target must run) reduce to a handful of instructions with
their signature, a reduction killed midway leaves a valid case that still fails the
same way, triage groups the findings of two faults in two rows, and a native crash
inside the target leaves a case file.  Everything that may crash runs in a child.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.compile.faults import ENVIRONMENT
from engine.syntax import Instr
from engine.valid import validate_module
from oracles import edits, inprogress
from oracles.case import load
from oracles.reduce import Size, Subject
from oracles.worker import Worker, case_request

ROOT = Path(__file__).resolve().parent.parent
FINDINGS = ROOT / "tests" / "data" / "findings"


def oracles(*args: str, faults: str = "", timeout: float = 600, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ENVIRONMENT: faults, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "oracles", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_whole_corpus_replays() -> None:
    start = time.monotonic()
    out = oracles("replay")
    last = out.stdout.strip().splitlines()[-1]
    assert out.returncode == 0 and re.fullmatch(r"\d+ passed, 0 failed", last), out.stdout + out.stderr
    regression = len(list((ROOT / "corpus" / "regression").glob("*.json")))
    assert int(last.split()[0]) > regression   # the seed inputs of both targets replay too
    print(f"corpus replay: {last} in {time.monotonic() - start:.1f} s")


def test_a_native_crash_fails_its_entry_and_the_replay_goes_on(tmp_path: Path) -> None:
    shutil.copy(next((FINDINGS / "exnref_tables_unrooted").iterdir()), tmp_path / "crash-input")
    shutil.copy(ROOT / "corpus" / "regression" / "throw_ref_flows.json", tmp_path)
    out = oracles("replay", str(tmp_path), faults="exnref_tables_unrooted")
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 1 and lines[-1] == "1 passed, 1 failed", out.stdout + out.stderr
    assert "crash-input: crash" in lines[0] and "crash SIGSEGV" in lines[0], lines[0]


def test_triage_groups_the_findings_of_two_faults_in_two_rows(tmp_path: Path) -> None:
    for fault in ("reversed_payload", "catch_all_traps"):
        for path in (FINDINGS / fault).iterdir():
            shutil.copy(path, tmp_path / path.name)
    out = oracles("triage", str(tmp_path), faults="reversed_payload,catch_all_traps")
    assert out.returncode == 0, out.stderr
    rows = out.stdout.strip().splitlines()
    print(out.stdout)
    assert rows[-1] == "9 findings, 2 signatures; 0 files are not findings here", out.stdout
    assert [row.split()[0] for row in rows[1:-1]] == ["5", "4"]
    assert "wrong payload at invoke, throw" in out.stdout and "host call missing at invoke, host error" in out.stdout


def _signature(case_path: Path, faults: str):
    with Worker(env={**os.environ, ENVIRONMENT: faults}) as worker:
        return worker.run(case_request(load(case_path))).signature


def test_a_finding_reduces_to_a_handful_of_instructions_with_its_signature(tmp_path: Path) -> None:
    finding = FINDINGS / "reversed_payload" / "crash-0df365340e.case.json"
    out = oracles("reduce", str(finding), "--out", str(tmp_path / "min.json"), "--time-limit", "120",
                  faults="reversed_payload")
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0]
    assert first == "reduce: signature exnfuzz: wrong payload at invoke, throw", out.stdout
    assert re.search(r"^reduce:\s+[\d.]+ s,\s+\d+ runs: ", out.stdout, re.M), "no progress lines"
    reduced = load(tmp_path / "min.json")
    size = Size.of(Subject.of(reduced))
    print(out.stdout.splitlines()[-1])
    assert size.instructions <= 10, (tmp_path / "min.wat").read_text()
    assert (tmp_path / "min.wat").exists()
    assert str(_signature(tmp_path / "min.json", "reversed_payload")) == first.split("signature ")[1]


def test_a_reduction_killed_midway_leaves_a_valid_failing_case(tmp_path: Path) -> None:
    finding = FINDINGS / "reversed_payload" / "crash-3afa500168.case.json"
    out_path = tmp_path / "min.json"
    env = {**os.environ, ENVIRONMENT: "reversed_payload", "PYTHONPATH": str(ROOT)}
    # A session of its own: the kill takes the reducer, its worker and their children.
    proc = subprocess.Popen([sys.executable, "-m", "oracles", "reduce", str(finding), "--out", str(out_path)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    improvements, deadline = 0, time.monotonic() + 300
    signature = ""
    for line in proc.stdout:
        signature = signature or line.partition("reduce: signature ")[2].strip()
        improvements += " runs: " in line
        if improvements >= 3 or time.monotonic() > deadline:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert improvements >= 3
    for module in Subject.of(load(out_path)).modules:
        validate_module(module)
    assert str(_signature(out_path, "reversed_payload")) == signature


def test_a_native_crash_in_the_target_leaves_a_case_file(tmp_path: Path) -> None:
    crash = next((FINDINGS / "exnref_tables_unrooted").iterdir())
    (tmp_path / "seeds").mkdir()
    shutil.copy(crash, tmp_path / "seeds" / "input")
    script = str(ROOT / "fuzz_targets" / "exceptions.py")
    env = {**os.environ, ENVIRONMENT: "exnref_tables_unrooted"}
    # As a corpus entry, not a file to replay: libFuzzer saves crashes of those only.
    run = subprocess.run([sys.executable, script, f"-artifact_prefix={tmp_path}/", "-runs=0",
                          str(tmp_path / "seeds")], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode != 0
    artifacts = [p for p in tmp_path.glob("crash-*") if not p.name.endswith((".json", ".wat"))]
    assert len(artifacts) == 1 and artifacts[0].read_bytes() == crash.read_bytes(), run.stderr[-2000:]
    # The next start keeps the case it was running beside the crash.
    (tmp_path / "corpus").mkdir()
    again = subprocess.run([sys.executable, script, f"-artifact_prefix={tmp_path}/", "-runs=0",
                            str(tmp_path / "corpus")], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
    case_file = artifacts[0].with_name(artifacts[0].name + ".case.json")
    assert case_file.exists(), again.stdout + again.stderr[-2000:]
    assert "the case of an earlier crash" in again.stdout
    assert load(case_file).module


def test_in_progress_files_of_live_processes_are_left_alone(tmp_path: Path) -> None:
    case = load(ROOT / "corpus" / "regression" / "throw_ref_flows.json")
    inprogress.write(tmp_path, "ab" * 20, case)
    (tmp_path / f"crash-{'ab' * 20}").write_bytes(b"x")
    assert inprogress.adopt(tmp_path) == []   # this process is alive
    (tmp_path / f"{inprogress.PREFIX}999999999.json").write_text("{not json")
    inprogress.adopt(tmp_path)
    assert not (tmp_path / f"{inprogress.PREFIX}999999999.json").exists()


def test_splicing_a_block_renumbers_the_branches_out_of_it() -> None:
    body = [Instr("block", (None,)), Instr("block", (None,)), Instr("br", (2,)), Instr("br", (0,)), Instr("end"),
            Instr("end")]
    (outer,) = edits.tree(body)
    assert edits.flatten(edits.tree(body)) == body
    spliced = edits.flatten(edits.unwrap(outer))
    assert spliced == [Instr("block", (None,)), Instr("br", (1,)), Instr("br", (0,)), Instr("end")]
    (inner,) = edits.tree(spliced)
    assert edits.unwrap(inner) is None   # `br 0` targets the block itself
