"""What running one script command comes to: passed, failed or skipped, and why."""
from __future__ import annotations

import enum
from typing import NamedTuple


class Status(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class Verdict(NamedTuple):
    status: Status
    detail: str = ""
    """Why it failed or was skipped."""
    note: str | None = None
    """An informational fact counted in the report (e.g. whether an error message matched)."""


def skipped(reason: str, note: str | None = None) -> Verdict:
    return Verdict(Status.SKIPPED, reason, note)


def failed(detail: str) -> Verdict:
    return Verdict(Status.FAILED, detail)


def passed(note: str | None = None, detail: str = "") -> Verdict:
    return Verdict(Status.PASSED, detail, note)
