"""Replaying a corpus: every case file and every raw fuzz input, each in a child process.

``python -m oracles replay [PATHS]`` (default: ``corpus/``) walks files and folders:

- a case file (``*.json``, see :mod:`oracles.case`) passes when it gets the verdict it
  expects (``expect``: ``agree`` for regression cases and findings);
- any other file is a raw input of a fuzz target -- a seed, a corpus entry, a
  libFuzzer ``crash-*`` -- run through that target's generator: the target is the
  nearest folder on its path named after one (``corpus/decode/...``,
  ``runs/exceptions/crash-...``), else ``--target``.  It passes when the engines agree
  (or the run is inconclusive);
- text beside them (``*.wat``, ``*.md``, ``*.txt``, dot files) is skipped.

Every entry runs in a forked child (:mod:`oracles.worker`), so a native crash is that
entry's failure, not the end of the replay.  One line is printed per failure, with its
signature, and a last line ``N passed, M failed``.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .case import CaseError, load
from .worker import TARGETS, Report, Worker, case_request, input_request

SKIPPED_SUFFIXES = frozenset({".wat", ".md", ".txt", ".py", ".log", ".tmp"})


@dataclass(frozen=True)
class Entry:
    """One thing to replay: a case file (``target`` None) or a raw input of ``target``."""
    path: Path
    target: str | None


def entries(paths: Iterable[str | Path], default_target: str = "exceptions") -> Iterator[Entry]:
    """The entries under ``paths`` (files, or folders walked in sorted order)."""
    for root in map(Path, paths):
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if path.name.startswith(".") or path.suffix in SKIPPED_SUFFIXES or "__pycache__" in path.parts:
                continue
            if path.suffix == ".json":
                yield Entry(path, None)
            else:
                named = [part for part in reversed(path.parent.resolve().parts) if part in TARGETS]
                yield Entry(path, named[0] if named else default_target)


def replay_one(worker: Worker, entry: Entry) -> tuple[bool, Report]:
    """Run one entry; (passed, its report)."""
    if entry.target is None:
        try:
            case = load(entry.path)
        except CaseError as e:
            return False, Report("invalid", str(e))
        report = worker.run(case_request(case))
        return report.verdict == case.expect, report
    report = worker.run(input_request(entry.target, entry.path.read_bytes()))
    return report.verdict in ("agree", "inconclusive"), report


def failure_line(entry: Entry, report: Report, expected: str = "") -> str:
    """The line printed for a failed entry."""
    reason = report.reason.strip().splitlines()[0] if report.reason.strip() else ""
    sig = f" [{report.signature}]" if report.signature is not None else ""
    want = f" (expected {expected})" if expected else ""
    return f"FAIL {entry.path}: {report.verdict}{want}{sig}: {reason}"


def replay(paths: Iterable[str | Path], default_target: str = "exceptions", verbose: bool = False,
           out=print, executors: str | None = None) -> tuple[int, int]:
    """Replay every entry under ``paths`` (on ``executors``, see :class:`Worker`),
    printing failures and the ``N passed, M failed`` line; returns (passed, failed)."""
    passed = failed = 0
    start = time.monotonic()
    with Worker(executors=executors) as worker:
        for entry in entries(paths, default_target):
            ok, report = replay_one(worker, entry)
            if ok:
                passed += 1
                if verbose:
                    out(f"ok   {entry.path}: {report.verdict} ({report.seconds:.2f} s)")
            else:
                failed += 1
                expected = load(entry.path).expect if entry.target is None and report.verdict != "invalid" else ""
                out(failure_line(entry, report, expected))
    if verbose:
        out(f"replayed in {time.monotonic() - start:.1f} s")
    out(f"{passed} passed, {failed} failed")
    return passed, failed
