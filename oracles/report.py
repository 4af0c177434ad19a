"""Readable reports of differential tests: what a person needs to see a divergence."""
from __future__ import annotations

import json
from itertools import zip_longest

from .case import modules_text
from .differential import Differential

COLUMN = 60


def side_by_side(left: list[str], right: list[str], titles: tuple[str, str] = ("exnfuzz", "wasmtime")) -> str:
    """Two columns of lines; a ``|`` marks rows that differ."""
    rows = [f"{titles[0]:<{COLUMN}}   {titles[1]}", f"{'-' * COLUMN}   {'-' * COLUMN}"]
    for x, y in zip_longest(left, right, fillvalue=""):
        mark = " " if x == y else "|"
        x = x if len(x) <= COLUMN else x[:COLUMN - 3] + "..."
        rows.append(f"{x:<{COLUMN}} {mark} {y}")
    return "\n".join(rows)


def outcomes(result: Differential) -> str:
    """Both outcomes side by side (with more executors: an odd one beside the majority's
    first), then the groups of executors that agree and the verdict."""
    shown = side_by_side(result.ours.lines(), result.theirs.lines(), result.names)
    judgement = result.judgement
    if judgement is not None:
        groups = "; ".join(", ".join(group) for group in judgement.groups)
        left_out = f" (left out, at a limit: {', '.join(judgement.inconclusive)})" if judgement.inconclusive else ""
        shown += f"\n\nagreeing groups: {groups}{left_out}"
        if judgement.suspect:
            shown += f"\nsuspected: {judgement.suspect}"
    return shown + f"\n\nverdict: {result.verdict}\n"


def full(result: Differential) -> str:
    """Everything about one test: the module's text, the host plan, the invocations,
    both outcomes side by side and the verdict."""
    case = result.case
    invocations = "\n".join(f"  {i.export}({', '.join(i.args)})" for i in case.invocations)
    instances = "".join(f";; then instance {i.name}\n" for i in case.instances)
    return (f";; module\n{modules_text(case)}\n{instances}"
            f";; host plan\n{json.dumps(case.plan.to_json(), indent=1)}\n\n"
            f";; invocations\n{invocations}\n\n{outcomes(result)}")
