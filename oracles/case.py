"""Case files: one differential test, complete and independent of any generator.

A case is the module's bytes, the :class:`~oracles.plan.HostPlan`, the invocations
to make in order, and the engine configuration.  On disk it is JSON
(``format: "exnfuzz-case/1"``, the module in base64), and :func:`save` writes the
module's text beside it (``NAME.wat``) for people; the JSON alone is the case, so
regression cases keep working whatever the generator becomes.

>>> case = Case(module=b"\\0asm\\1\\0\\0\\0", invocations=())
>>> Case.from_json(case.to_json()) == case
True
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .outcome import ValueFormatError, parse_value
from .plan import HostPlan, PlanError

FORMAT = "exnfuzz-case/1"


class CaseError(ValueError):
    """A case file that cannot be read: bad JSON, an unknown format, a bad field."""


@dataclass(frozen=True)
class Invoke:
    """Call export ``export`` with ``args`` (value literals)."""
    export: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunConfig:
    """How both engines are set up for a case.

    ``max_wasm_stack`` is given to both (wasmtime's knob of that name; ours bounds
    native stack bytes the same way); they still use different amounts of stack per
    frame, which is why running out of it is inconclusive.  ``timeout`` is a safety net
    in seconds, enforced by epoch interruption on both: cases bound their work with
    in-module fuel, so hitting it means the case is broken (also inconclusive)."""
    opt_level: int = 2
    max_wasm_stack: int = 512 * 1024
    timeout: float = 10.0


@dataclass(frozen=True)
class Case:
    module: bytes
    plan: HostPlan = field(default_factory=HostPlan)
    invocations: tuple[Invoke, ...] = ()
    config: RunConfig = field(default_factory=RunConfig)
    note: str = ""
    expect: str = "agree"
    """The verdict the case should get: ``agree`` for regression cases, ``inconclusive``
    for cases that show a limit (see :mod:`oracles.compare`)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "note": self.note,
            "expect": self.expect,
            "config": vars(self.config),
            "host": self.plan.to_json(),
            "invoke": [{"export": i.export, "args": list(i.args)} for i in self.invocations],
            "module": base64.b64encode(self.module).decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Case":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise CaseError(f"not a case file: format is {got!r}, expected {FORMAT!r}")
        try:
            invocations = tuple(Invoke(i["export"], tuple(i.get("args", ()))) for i in data.get("invoke", ()))
            for invoke in invocations:
                for arg in invoke.args:
                    parse_value(arg)
            return cls(module=base64.b64decode(data["module"], validate=True),
                       plan=HostPlan.from_json(data.get("host", {})),
                       invocations=invocations,
                       config=RunConfig(**data.get("config", {})),
                       note=data.get("note", ""),
                       expect=data.get("expect", "agree"))
        except (KeyError, TypeError, ValueError, PlanError, ValueFormatError) as e:
            raise CaseError(f"bad case file: {e}") from None


def load(path: str | Path) -> Case:
    """The case in the JSON file ``path``."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CaseError(f"cannot read case {path}: {e}") from None
    return Case.from_json(data)


def save(case: Case, path: str | Path) -> Path:
    """Write ``case`` to ``path`` (JSON) and its module's text beside it (``.wat``)."""
    path = Path(path)
    path.write_text(json.dumps(case.to_json(), indent=1) + "\n")
    path.with_suffix(".wat").write_text(module_text(case.module))
    return path


def module_text(module: bytes) -> str:
    """The module as text, or a comment saying why it has none (it does not decode)."""
    from engine.binary.decode import decode_module
    from engine.errors import WasmError
    from engine.text.print import print_module
    try:
        return print_module(decode_module(module))
    except WasmError as e:
        return f";; the module does not decode: {e}\n"
