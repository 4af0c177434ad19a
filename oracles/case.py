"""Case files: one differential test, complete and independent of any generator.

A case is the module's bytes, the :class:`~oracles.plan.HostPlan`, the invocations
to make in order, and the engine configuration -- and possibly further instances:
the same module again, or other modules, instantiated in order after the first
(which is named :data:`MAIN`).  A module imports from ``"host"`` (the plan) or from an
earlier instance by its name, so instances link through tags, functions, tables and
globals; names of exports of a later instance are qualified, ``NAME@INSTANCE``
(invocations, plans and outcomes use them alike).

On disk a case is JSON (``format: "exnfuzz-case/2"``, modules in base64; the older
``exnfuzz-case/1``, with one instance, still reads), and :func:`save` writes the
modules' text beside it (``NAME.wat``) for people; the JSON alone is the case, so
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

FORMAT = "exnfuzz-case/2"
FORMATS = ("exnfuzz-case/1", FORMAT)
MAIN = "main"
"""The name of a case's first instance, whose exports' names are not qualified."""


def qualify(name: str, instance: str) -> str:
    """The case-wide name of export ``name`` of ``instance``."""
    return name if instance == MAIN else f"{name}@{instance}"


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
    collect_every: int = 0
    """Collector stress: 0, or collect exception objects after every ``N`` allocations
    on exnfuzz (``Config.collect_every``) and at every host call on wasmtime
    (``Store.gc``).  Stress changes no outcome; it frees at once what a forgotten
    root leaves unprotected."""
    canonical_nans: bool = False
    """Every float operation whose NaN result the spec leaves open gives the canonical
    NaN, on every engine (``Config.canonicalize_nans``, wasmtime's
    ``cranelift_nan_canonicalization``): the judgement's second look at a divergence
    (:mod:`oracles.differential`)."""


@dataclass(frozen=True)
class InstanceDef:
    """An instance after the first: ``module`` (None: the case's module again),
    instantiated under ``name``."""
    name: str
    module: bytes | None = None

    def __post_init__(self) -> None:
        if self.module is not None:
            object.__setattr__(self, "module", bytes(self.module))


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
    instances: tuple[InstanceDef, ...] = ()
    """The instances after the first (which is :data:`MAIN`, of :attr:`module`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "module", bytes(self.module))   # wat2wasm gives a bytearray
        names = [MAIN] + [i.name for i in self.instances]
        if len(set(names)) != len(names) or any(not n or "@" in n for n in names):
            raise CaseError(f"instance names must be unique, non-empty and without '@': {names}")

    def instance_modules(self) -> list[tuple[str, bytes]]:
        """Every instance, in order, with its module's bytes."""
        return [(MAIN, self.module)] + [(i.name, self.module if i.module is None else i.module)
                                        for i in self.instances]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "note": self.note,
            "expect": self.expect,
            "config": vars(self.config),
            "host": self.plan.to_json(),
            "invoke": [{"export": i.export, "args": list(i.args)} for i in self.invocations],
            "module": base64.b64encode(self.module).decode(),
        }
        if self.instances:
            out["instances"] = [{"name": i.name} | ({} if i.module is None else
                                                    {"module": base64.b64encode(i.module).decode()})
                                for i in self.instances]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Case":
        if not isinstance(data, dict) or data.get("format") not in FORMATS:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise CaseError(f"not a case file: format is {got!r}, expected one of {FORMATS}")
        try:
            invocations = tuple(Invoke(i["export"], tuple(i.get("args", ()))) for i in data.get("invoke", ()))
            for invoke in invocations:
                for arg in invoke.args:
                    parse_value(arg)
            instances = tuple(InstanceDef(i["name"], None if "module" not in i
                                          else base64.b64decode(i["module"], validate=True))
                              for i in data.get("instances", ()))
            return cls(module=base64.b64decode(data["module"], validate=True),
                       plan=HostPlan.from_json(data.get("host", {})),
                       invocations=invocations,
                       config=RunConfig(**data.get("config", {})),
                       note=data.get("note", ""),
                       expect=data.get("expect", "agree"),
                       instances=instances)
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
    """Write ``case`` to ``path`` (JSON) and its modules' text beside it (``.wat``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(case.to_json(), indent=1) + "\n")
    path.with_suffix(".wat").write_text(modules_text(case))
    return path


def modules_text(case: Case) -> str:
    """The text of every distinct module of ``case``, each headed by the instances of it."""
    if not case.instances:
        return module_text(case.module)
    names: dict[bytes, list[str]] = {}
    for name, module in case.instance_modules():
        names.setdefault(module, []).append(name)
    return "\n".join(f";; instances {', '.join(n)}\n{module_text(m)}" for m, n in names.items())


def module_text(module: bytes) -> str:
    """The module as text, or a comment saying why it has none (it does not decode)."""
    from engine.binary.decode import decode_module
    from engine.errors import WasmError
    from engine.text.print import print_module
    try:
        return print_module(decode_module(module))
    except WasmError as e:
        return f";; the module does not decode: {e}\n"
