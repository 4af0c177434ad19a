"""Judging the outcomes of several executors of one case: who agrees, who is odd.

The rules, on top of :mod:`oracles.compare` (which judges two outcomes):

1. **Limits drop out.**  An executor whose run hit a limit (a step ended in
   ``stack_overflow`` or ``interrupt``, which makes any comparison with it
   ``inconclusive``) is left out of the judgement; with fewer than two executors
   left, the verdict is ``inconclusive``.
2. **Groups.**  The others are grouped by agreement: an executor joins the first
   group (the reference's first) whose first member agrees with it.
3. **The odd ones out** are every executor outside the largest group; a tie goes to
   the group holding the reference (``wasmtime``), then to the earlier group.  With
   one group the verdict is ``agree``.
4. **The verdict names them**: ``diverge: exnfuzz-O2 alone: <how it differs from the
   majority's first member>`` (``alone`` for one, ``odd out`` for several).  With the
   default pair there is no majority; our engine is taken to be odd, and the reason is
   :func:`oracles.compare.compare`'s as it always was.
5. **Whose bug.**  When every odd executor is one of wasmtime's and the majority holds
   ours and one of wasmtime's, the divergence is a suspected wasmtime bug
   (``suspect = "wasmtime"``); when every odd one is ours, ``exnfuzz``; else ``both``.
"""
from __future__ import annotations

from dataclasses import dataclass

from .compare import AGREE, INCONCLUSIVE_TRAPS, Verdict, compare
from .executors import REFERENCE, Executor
from .outcome import Outcome, Trapped


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    groups: tuple[tuple[str, ...], ...] = ()
    """The executors that agree with each other, the majority first."""
    odd: tuple[str, ...] = ()
    inconclusive: tuple[str, ...] = ()
    suspect: str = ""
    """Whose code is suspected of the divergence: ``exnfuzz``, ``wasmtime`` or ``both``."""
    pair: tuple[str, str] = ("", "")
    """The two executors whose outcomes show the divergence: an odd one and the
    majority's first member (or the first two, when the run agrees)."""


def judge(outcomes: dict[str, Outcome], executors: dict[str, Executor]) -> Judgement:
    """The judgement on ``outcomes`` by executor name (see the module's doc)."""
    names = list(outcomes)
    limited = {n for n in names if _hit_limit(outcomes[n])}
    groups: list[list[str]] = []
    for name in sorted((n for n in names if n not in limited), key=lambda n: n != REFERENCE):
        for group in groups:
            if compare(outcomes[group[0]], outcomes[name]).kind == "agree":
                group.append(name)
                break
        else:
            groups.append([name])
    inconclusive = tuple(n for n in names if n in limited)
    if sum(len(g) for g in groups) < 2:
        reason = compare(outcomes[names[0]], outcomes[names[1]], (names[0], names[1])).reason
        return Judgement(Verdict("inconclusive", reason), tuple(map(tuple, groups)), (), inconclusive,
                         pair=(names[0], names[1]))
    if len(groups) == 1:
        return Judgement(AGREE, (tuple(groups[0]),), (), inconclusive, pair=(groups[0][0], groups[0][1]))
    majority = max(groups, key=lambda g: (len(g), REFERENCE in g, -groups.index(g)))
    odd = tuple(n for g in groups if g is not majority for n in g)
    ordered = (tuple(majority),) + tuple(tuple(g) for g in groups if g is not majority)
    first_odd = odd[0]
    pair_verdict = compare(outcomes[first_odd], outcomes[majority[0]], (first_odd, majority[0]))
    if len(names) == 2:
        verdict = pair_verdict
    else:
        who = f"{first_odd} alone" if len(odd) == 1 else f"{', '.join(odd)} odd out"
        verdict = Verdict("diverge", f"{who}: {pair_verdict.reason}", pair_verdict.parting)
    engines = {executors[n].engine for n in odd}
    majority_engines = {executors[n].engine for n in majority}
    if engines == {"wasmtime"} and majority_engines == {"exnfuzz", "wasmtime"}:
        suspect = "wasmtime"
    elif engines == {"exnfuzz"}:
        suspect = "exnfuzz"
    else:
        suspect = "both"
    return Judgement(verdict, ordered, odd, inconclusive, suspect, (first_odd, majority[0]))


def _hit_limit(outcome: Outcome) -> bool:
    """Whether a step of ``outcome`` ended at a limit (see
    :data:`oracles.compare.INCONCLUSIVE_TRAPS`)."""
    return any(isinstance(call.result, Trapped) and call.result.code in INCONCLUSIVE_TRAPS
               for call in (outcome.instantiate, *outcome.invocations))


__all__ = ["Judgement", "judge"]
