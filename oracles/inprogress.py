"""The case a fuzzing process is running, kept on disk so a native crash leaves it too.

A crash of the engine kills the process at once: libFuzzer's signal handler writes the
input as ``crash-<sha1>`` and exits, and no Python runs after it.  So before running a
case the main target writes it, with the SHA-1 of its input, to
``.in-progress-<pid>.json`` in its artifact folder (:func:`write`: one file per
process, so ``-fork``/``-jobs`` children do not clobber each other's).  The file stays
open and is overwritten in place -- 0.02 ms a run, where a new file renamed over the
old costs 1.6 ms here: an engine crash cannot interrupt a write that ended before the
run began, and a file left half-written (by a kill in mid-write) does not parse and
is dropped.  :func:`adopt`, run when a target starts and
by triage, turns the file of a process that is gone into ``<artifact>.case.json``
beside the artifact libFuzzer wrote for that input (``crash-``, ``timeout-``, ``oom-``
...), and deletes it: a process that ended without a finding leaves nothing behind.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .case import Case, CaseError, save

PREFIX = ".in-progress-"


_open: dict[tuple[Path, int], int] = {}
"""The in-progress file of each folder this process (by pid: a fork is another) writes."""


def write(folder: Path, digest: str, case: Case) -> None:
    """Record that this process runs ``case``, made from the input of SHA-1 ``digest``."""
    key = (folder, os.getpid())
    if key not in _open:
        _open[key] = os.open(folder / f"{PREFIX}{os.getpid()}.json", os.O_RDWR | os.O_CREAT, 0o644)
    data = json.dumps({"input": digest, "case": case.to_json()}).encode()
    os.pwrite(_open[key], data, 0)
    os.ftruncate(_open[key], len(data))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def adopt(folder: Path) -> list[Path]:
    """Keep the in-progress cases of ended processes beside their artifacts (see the
    module's doc); the case files written."""
    written = []
    for path in sorted(folder.glob(f"{PREFIX}*.json")):
        pid = path.name[len(PREFIX):-len(".json")]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        try:
            data = json.loads(path.read_text())
            case = Case.from_json(data["case"])
            digest = str(data["input"])
        except (OSError, ValueError, KeyError, TypeError, CaseError):
            path.unlink(missing_ok=True)
            continue
        for artifact in sorted(folder.glob(f"*-{digest}")):
            target = artifact.with_name(artifact.name + ".case.json")
            if not target.exists():
                written.append(save(case, target))
        path.unlink(missing_ok=True)
    return written
