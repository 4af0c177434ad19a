"""Triage: a folder of findings grouped by signature, so each bug is counted once.

``python -m oracles triage DIR...`` runs every finding under the folders -- case files
(``*.json``) and raw inputs of a fuzz target (libFuzzer's ``crash-*``, ``timeout-*``,
``oom-*``, corpus files) -- each in a forked child (:mod:`oracles.worker`), and groups
them by :class:`~oracles.signature.Signature`.  A raw input with a case file beside it
(``crash-X`` and ``crash-X.case.json``, as the main target writes them) is one finding:
its case file is run.  It prints a table, one row per signature, most findings first:
the count, when the first of them was written (the file's time), and the smallest
reproducer (fewest instructions, then bytes, see :mod:`oracles.reduce`); then how
many files were not findings (they pass now, or cannot run).
"""
from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .case import Case, CaseError, load
from .reduce import Size, Subject
from .replay import Entry, entries
from .signature import Signature
from .worker import Worker, case_request, input_request


@dataclass(frozen=True)
class Finding:
    path: Path
    signature: Signature
    written: float
    size: Size | None
    """The case's size; None for a raw input whose case cannot be made (another target)."""


@dataclass
class Group:
    signature: Signature
    findings: list[Finding]

    @property
    def first(self) -> Finding:
        return min(self.findings, key=lambda f: (f.written, str(f.path)))

    @property
    def smallest(self) -> Finding:
        return min(self.findings, key=lambda f: ((f.size.instructions, f.size.bytes) if f.size else (1 << 62, 0),
                                                 str(f.path)))


def _findings_entries(dirs: Iterable[str | Path], target: str) -> list[Entry]:
    found = list(entries(dirs, target))
    cases = {e.path.name.removesuffix(".case.json") for e in found if e.target is None}
    return [e for e in found if e.target is None or e.path.name not in cases]


def _case(entry: Entry) -> Case | None:
    if entry.target is None:
        return load(entry.path)
    if entry.target != "exceptions":
        return None
    from generators import Choices, generate_case
    return generate_case(Choices.from_data(entry.path.read_bytes()))


def triage(dirs: Iterable[str | Path], target: str = "exceptions",
           executors: str | None = None) -> tuple[list[Group], list[Path]]:
    """The findings under ``dirs`` grouped by signature (most findings first), and the
    files that are not findings (on ``executors``, see :class:`Worker`)."""
    groups: dict[Signature, Group] = {}
    others: list[Path] = []
    with Worker(executors=executors) as worker:
        for entry in _findings_entries(dirs, target):
            try:
                case = _case(entry)
            except CaseError:
                others.append(entry.path)
                continue
            report = worker.run(case_request(case) if case is not None else
                                input_request(entry.target or target, entry.path.read_bytes()))
            if report.signature is None:
                others.append(entry.path)
                continue
            size = None if case is None else Size.of(Subject.of(case))
            finding = Finding(entry.path, report.signature, entry.path.stat().st_mtime, size)
            groups.setdefault(report.signature, Group(report.signature, [])).findings.append(finding)
    ordered = sorted(groups.values(), key=lambda g: (-len(g.findings), g.first.written, g.signature))
    return ordered, others


def table(groups: list[Group]) -> str:
    """The triage table: count, first seen, signature, smallest reproducer."""
    rows = [("count", "first seen", "signature", "smallest reproducer")]
    for group in groups:
        first, small = group.first, group.smallest
        when = datetime.datetime.fromtimestamp(first.written).strftime("%Y-%m-%d %H:%M:%S")
        size = f" ({small.size})" if small.size else ""
        rows.append((str(len(group.findings)), when, str(group.signature), f"{small.path}{size}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{r[0]:>{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows)


def main(dirs: list[str], target: str, executors: str | None = None) -> int:
    groups, others = triage(dirs, target, executors)
    print(table(groups))
    count = sum(len(g.findings) for g in groups)
    print(f"{count} findings, {len(groups)} signatures; {len(others)} files are not findings here")
    return 0
