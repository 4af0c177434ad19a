"""Signatures of findings: what the findings of one bug share, so it is counted once.

A :class:`Signature` has four fields, each stable across re-runs and across the many
inputs that find one bug:

- ``odd``: the executor whose outcome is the odd one out.  With two executors there is
  no majority: the one under test (``exnfuzz``) is taken to be odd against the
  reference (``wasmtime``); with more (:mod:`oracles.judgement`), the odd ones out by
  majority, comma-separated (``exnfuzz-O2``, ``wasmtime-pulley``); for a crash or an
  unexpected error, the runner whose code was innermost on the stack.
- ``kind``: the kind of difference (:class:`oracles.compare.Parting`: ``wrong
  payload``, ``wrong tag``, ``exception instead of trap``, ``wrong exception
  identity``, ``host call missing``...), ``crash SIGSEGV`` (the signal), or
  ``error KeyError`` (an unexpected error while running, the exception's type).
- ``step``: the kind of step where they part -- ``instantiate``, ``invoke`` or
  ``final state`` -- not the export's name, which generated cases number as they like.
- ``at``: the instruction or host action where they part.  At a host event, the plan's
  action of its host function (``host keep``, ``host call_export``...), or ``host
  error`` where that event is the function failing (whatever it meant to do).  At a result, what
  ended the step on the reference side, or on the odd side when the reference
  returned: a trap names the kind of instruction that trapped by its code
  (``unreachable``, ``null_reference``, ``host``...), an exception its origin (``throw``
  in wasm, ``host throw``, ``host rethrow``), a return is ``return``.  In the final
  state, what differs (``global``, ``memory``, ``table``).  For a crash or an error,
  the innermost frame, ``path:function`` without the line (which any edit moves).

Never in a signature: values, exception numbers, export names, line numbers.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from .case import Case
from .compare import FINAL_STATE, Parting
from .differential import Differential
from .outcome import Call, HostDone, Result, Returned, Thrown, Trapped
from .plan import PlanError, Rethrow, Throw, ThrowKept
from .runner import INSTANTIATE

EXECUTORS = ("exnfuzz", "wasmtime")
"""The executors, the reference last."""


@dataclass(frozen=True, order=True)
class Signature:
    odd: str
    kind: str
    step: str
    at: str

    def __str__(self) -> str:
        return f"{self.odd}: {self.kind} at {self.step}, {self.at}"

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Signature":
        return cls(**{k: str(data[k]) for k in ("odd", "kind", "step", "at")})


def of_divergence(result: Differential) -> Signature | None:
    """The signature of a differential test's divergence (None unless it diverges)."""
    parting = result.verdict.parting
    if result.verdict.kind != "diverge" or parting is None:
        return None
    step = "instantiate" if parting.step == INSTANTIATE else "final state" if parting.step == FINAL_STATE \
        else "invoke"
    odd = ",".join(result.judgement.odd) if result.judgement is not None else EXECUTORS[0]
    return Signature(odd, parting.kind, step, _at(parting, result))


def _at(parting: Parting, result: Differential) -> str:
    if parting.place == "host event":
        if isinstance(parting.event, HostDone) and isinstance(parting.event.result, Trapped):
            return "host error"   # whatever the function meant to do, it failed there
        return f"host {_action(result.case, parting.host_func)}"
    if parting.place != "result":
        return parting.place
    ours, theirs = parting.results
    chosen = ours if isinstance(theirs, Returned) else theirs
    call = _step(result, parting.step, theirs is chosen)
    return _ending(chosen, call, result.case)


def _step(result: Differential, name: str, reference: bool) -> Call | None:
    outcome = result.theirs if reference else result.ours
    for call in (outcome.instantiate, *outcome.invocations):
        if call.name == name:
            return call
    return None


def _ending(result: Result | None, call: Call | None, case: Case) -> str:
    if isinstance(result, Trapped):
        return result.code
    if isinstance(result, Thrown):
        # An exception a host function made or threw again shows as that function
        # ending with it; one that no host function threw came from wasm's `throw`.
        for event in call.trace if call is not None else ():
            if isinstance(event, HostDone) and isinstance(event.result, Thrown) \
                    and event.result.exn.id == result.exn.id:
                action = _action(case, event.func)
                if action in ("throw", "rethrow", "throw_kept"):
                    return "host throw" if action == "throw" else "host rethrow"
        return "throw"
    return "return" if isinstance(result, Returned) else "rejection"


def _action(case: Case, func: str) -> str:
    try:
        action = case.plan.func(func).action
    except PlanError:
        return "unknown"
    return {Throw: "throw", Rethrow: "rethrow", ThrowKept: "throw_kept"}.get(type(action), action.kind)


_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+ in (\S+)', re.M)


def frames(text: str) -> list[tuple[str, str]]:
    """The Python frames of the crashing thread in faulthandler's report ``text``,
    innermost first, as (path from the repository's packages, function)."""
    current = text.split("Current thread", 1)[-1].split("\n\nThread ", 1)[0]
    return [(short_path(path), func) for path, func in _FRAME.findall(current)]


def short_path(path: str) -> str:
    """``path`` from the package folder it is in (``engine/runtime/func.py``)."""
    parts = path.replace("\\", "/").split("/")
    for i, part in enumerate(parts):
        if part in ("engine", "oracles", "generators", "fuzz_targets", "wasmtime", "llvmlite"):
            return "/".join(parts[i:])
    return parts[-1]


def of_crash(signal_name: str, stack: list[tuple[str, str]]) -> Signature:
    """The signature of a process killed by ``signal_name`` with Python ``stack``
    (innermost first, see :func:`frames`)."""
    return _of_stack(f"crash {signal_name}", stack)


def of_error(error_type: str, stack: list[tuple[str, str]]) -> Signature:
    """The signature of an unexpected error of type ``error_type`` raised with ``stack``."""
    return _of_stack(f"error {error_type}", stack)


def _of_stack(kind: str, stack: list[tuple[str, str]]) -> Signature:
    odd = EXECUTORS[0]
    for path, _ in stack:
        if "wasmtime" in path:
            odd = EXECUTORS[1]
            break
        if path.startswith("engine/") or path.endswith("engine_runner.py"):
            break
    names = {func for _, func in stack}
    step = "instantiate" if names & {"instantiate", "instantiate_module"} else \
        "invoke" if "call_export" in names else "final state" if "state" in names else "unknown"
    at = f"{stack[0][0]}:{stack[0][1]}" if stack else "unknown"
    return Signature(odd, kind, step, at)
