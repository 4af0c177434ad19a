"""Reducing a finding: the smallest case that still fails the same way.

``python -m oracles reduce CASE_OR_INPUT --out MIN.json [--time-limit S]`` takes a case
file or a raw input of the main target (whose case is generated first), runs it to
get its :class:`~oracles.signature.Signature`, then shrinks it.  The rules:

- **Same signature, not just some failure.**  A candidate is kept only if it is no
  larger (in instructions, then bytes), every
  module of it validates (exnfuzz's validator, in process: most candidates stop here,
  at no cost) and running it (in a forked child, :mod:`oracles.worker`, so crashes
  are results) shows the very signature of the original.
- **Structure first, then constants**, each pass from large to small: later
  instances; invocations; collector stress; custom sections; exports; whole function
  bodies (to ``unreachable``); unreferenced functions, globals, tags, tables,
  segments, types and imports; host-plan entries and their actions (to ``log``,
  no catching, default returns); then in each body, every sibling list
  (instructions, whole structured instructions with their bodies) in chunks halving
  down to one, structured instructions spliced into their parent (an ``if`` by
  either branch), ``try_table`` clauses, the rest of a list replaced by
  ``unreachable``; finally constants, invocation arguments and host-plan operands set
  to zero.  The passes repeat until a round changes nothing.
- **Deterministic**: passes and candidates come in a fixed order, and both engines
  are deterministic, so the same finding reduces to the same case.
- **Every improvement is written at once and atomically** (the ``.wat`` beside it,
  then the case file, each to a temporary file renamed over the old), so a run that
  is stopped or killed leaves its best case -- valid and failing the same way -- on
  disk; the original is written first.  ``--time-limit`` stops the search; a line of
  progress is printed at every improvement.  A candidate that runs four times as long
  as the original (at least 5 s) is killed and not kept.

Sizes are counted over the case's distinct modules: instructions in function bodies
(``else`` and ``end`` included), and bytes of the encoded modules.

Libraries considered: picire (ddmin over a flat list, last release 2021) and
picireny (hierarchical delta debugging over an ANTLR grammar of text); lithium and
shrinkray (reduce files through an external test command: a process start of a
second per candidate, and no notion of Wasm validity or of the host plan); Binaryen's
and wasm-tools' ``shrink`` (one module's bytes, through a predicate command; they
cannot shrink the host plan, the invocations or the instances, which is where many
findings live); Hypothesis' shrinker (already a dependency, but it shrinks the
generator's choices, so each step regenerates a different case rather than
shrinking this one).  The edits need the module's structure and the validator
(:mod:`oracles.edits`), and the search itself is the chunked deletion of ddmin in a
few lines, so it is written here.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from engine.binary.decode import decode_module
from engine.binary.encode import encode_module
from engine.errors import WasmError
from engine.syntax import Module
from engine.valid import validate_module

from . import edits
from .case import Case, CaseError, InstanceDef, Invoke, RunConfig, load, modules_text
from .outcome import NUM_TYPES
from .plan import CallExport, HostFunc, HostPlan, Log, Throw
from .signature import Signature
from .worker import Report, Worker, case_request


@dataclass(frozen=True)
class Subject:
    """A case being reduced, its modules decoded: ``modules[0]`` is the main
    instance's; ``instances`` are the later ones, each with its module's index."""
    modules: tuple[Module, ...]
    instances: tuple[tuple[str, int], ...]
    plan: HostPlan
    invocations: tuple[Invoke, ...]
    config: RunConfig
    note: str
    expect: str

    @classmethod
    def of(cls, case: Case) -> "Subject":
        distinct: list[bytes] = [case.module]
        instances = []
        for name, module in case.instance_modules()[1:]:
            if module not in distinct:
                distinct.append(module)
            instances.append((name, distinct.index(module)))
        return cls(tuple(decode_module(m) for m in distinct), tuple(instances), case.plan, case.invocations,
                   case.config, case.note, case.expect)

    def binaries(self) -> list[bytes]:
        return [encode_module(m) for m in self.modules]

    def case(self, binaries: list[bytes] | None = None) -> Case:
        binaries = binaries or self.binaries()
        return Case(binaries[0], self.plan, self.invocations, self.config, self.note, self.expect,
                    tuple(InstanceDef(name, None if i == 0 else binaries[i]) for name, i in self.instances))

    def with_module(self, index: int, module: Module) -> "Subject":
        return replace(self, modules=self.modules[:index] + (module,) + self.modules[index + 1:])


@dataclass(frozen=True)
class Size:
    instructions: int
    bytes: int

    @classmethod
    def of(cls, subject: Subject) -> "Size":
        return cls(sum(edits.instruction_count(m) for m in subject.modules), sum(map(len, subject.binaries())))

    def __str__(self) -> str:
        return f"{self.instructions} instructions, {self.bytes} bytes"


class OutOfTime(Exception):
    pass


class Reducer:
    """The search (see the module's doc).  ``best`` is the smallest case so far."""

    def __init__(self, subject: Subject, signature: Signature, worker: Worker, out: Path, deadline: float,
                 progress: Callable[[str], None] | None = None) -> None:
        self.best = subject
        self.signature = signature
        self.worker = worker
        self.out = out
        self.deadline = deadline
        self.progress = progress
        self.tests = 0
        self.started = time.monotonic()
        self.original = Size.of(subject)
        self.size = self.original
        self.pass_name = "start"
        case = subject.case()
        self._seen = {_key(case)}
        """Cases tried (and the best): none is run twice, and an edit that changes
        nothing is never taken for progress."""
        save_atomic(case, out)

    def attempt(self, candidate: Subject | None) -> bool:
        """Keep ``candidate`` if it is valid, smaller and shows the signature."""
        if candidate is None:
            return False
        try:
            for module in candidate.modules:
                validate_module(module)
            binaries = candidate.binaries()
            case = candidate.case(binaries)
        except (WasmError, CaseError, IndexError, KeyError, TypeError, ValueError, AssertionError):
            return False   # the validator rejects it, or an edit left a bad index
        key = _key(case)
        size = Size.of(candidate)
        if key in self._seen or (size.instructions, size.bytes) > (self.size.instructions, self.size.bytes):
            return False
        self._seen.add(key)
        if time.monotonic() > self.deadline:
            raise OutOfTime
        self.tests += 1
        if self.worker.run(case_request(case)).signature != self.signature:
            return False
        self.best = candidate
        self.size = size
        save_atomic(case, self.out)
        if self.progress:
            self.progress(f"reduce: {time.monotonic() - self.started:6.1f} s, {self.tests:4d} runs: "
                          f"{self.size} ({self.pass_name})")
        return True

    def run(self) -> Subject:
        """Reduce until a round of passes changes nothing, or time is up."""
        try:
            while True:
                before = self.best
                for reduction in PASSES:
                    self.pass_name = reduction.__name__.strip("_").replace("_", " ")
                    reduction(self)
                if self.best is before:
                    break
        except OutOfTime:
            if self.progress:
                self.progress("reduce: time limit reached")
        return self.best


def _key(case: Case) -> bytes:
    return hashlib.sha1(json.dumps(case.to_json(), sort_keys=True).encode()).digest()


def save_atomic(case: Case, path: Path) -> None:
    """Write ``case`` to ``path`` and its text beside it, each by renaming a complete
    temporary file over the old one: the case file is the last to change."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, text in ((path.with_suffix(".wat"), modules_text(case)),
                         (path, json.dumps(case.to_json(), indent=1) + "\n")):
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_text(text)
        os.replace(temporary, target)


SLIDING = 4
"""Chunks of up to this many items are tried at every position."""


def chunks(r: Reducer, length: Callable[[Subject], int],
           without: Callable[[Subject, int, int], Subject | None]) -> None:
    """ddmin's deletion: remove ``[i, i + k)`` for chunk sizes ``k`` from the whole
    list halving down to one, keeping each removal that still fails."""
    k = length(r.best)
    while k >= 1:
        i = 0
        while i < length(r.best):
            if not r.attempt(without(r.best, i, i + k)):
                # Small chunks are tried at every position, not only at multiples of
                # their size: a value made and used in a few instructions is deleted
                # whole wherever it starts (invalid candidates cost no run).
                i += k if k > SLIDING else 1
        k //= 2


# Case-level passes --------------------------------------------------------------------------

def _instances(r: Reducer) -> None:
    def without(s: Subject, i: int, j: int) -> Subject:
        gone = {name for name, _ in s.instances[i:j]}
        return replace(s, instances=s.instances[:i] + s.instances[j:], invocations=tuple(
            v for v in s.invocations if v.export.partition("@")[2] not in gone))
    chunks(r, lambda s: len(s.instances), without)


def _invocations(r: Reducer) -> None:
    chunks(r, lambda s: len(s.invocations),
           lambda s, i, j: replace(s, invocations=s.invocations[:i] + s.invocations[j:]))


def _config(r: Reducer) -> None:
    if r.best.config.collect_every:
        r.attempt(replace(r.best, config=replace(r.best.config, collect_every=0)))


def _customs(r: Reducer) -> None:
    if any(m.customs or m.names for m in r.best.modules):
        r.attempt(replace(r.best, modules=tuple(replace(m, customs=[], names=None) for m in r.best.modules)))


def _exports(r: Reducer) -> None:
    for index in range(len(r.best.modules)):
        def without(s: Subject, i: int, j: int, index: int = index) -> Subject:
            m = s.modules[index]
            return s.with_module(index, replace(m, exports=m.exports[:i] + m.exports[j:]))
        chunks(r, lambda s, index=index: len(s.modules[index].exports), without)


def _bodies(r: Reducer) -> None:
    for index in range(len(r.best.modules)):
        for f in range(len(r.best.modules[index].funcs)):
            if len(r.best.modules[index].funcs[f].body) > 1:
                r.attempt(r.best.with_module(index, edits.with_body(r.best.modules[index], f,
                                                                    [edits.UNREACHABLE], [])))


def _items(r: Reducer) -> None:
    """Unreferenced items of every index space: all of a space at once, else one by one."""
    for index in range(len(r.best.modules)):
        for space in ("func", "global", "tag", "table", "elem", "data", "memory", "type"):
            module = r.best.modules[index]
            removed, gone = module, 0
            for i in reversed(range(edits.items(module, space))):
                smaller = edits.remove_item(removed, space, i)
                if smaller is not None:
                    removed, gone = smaller, gone + 1
            if gone == 0 or r.attempt(r.best.with_module(index, removed)) or gone == 1:
                continue
            for i in reversed(range(edits.items(r.best.modules[index], space))):
                r.attempt(_with(r.best, index, edits.remove_item(r.best.modules[index], space, i)))


def _with(s: Subject, index: int, module: Module | None) -> Subject | None:
    return None if module is None else s.with_module(index, module)


def _plan(r: Reducer) -> None:
    imported = {i.name for m in r.best.modules for i in m.imports if i.module == "host"}
    plan = r.best.plan
    thrown = {f.action.tag[5:] for f in plan.funcs if f.name in imported and isinstance(f.action, Throw)}
    r.attempt(_with_plan(r.best, lambda: HostPlan(tuple(t for t in plan.tags if t.name in imported | thrown),
                                                  tuple(f for f in plan.funcs if f.name in imported))))
    for i in range(len(r.best.plan.funcs)):
        func = r.best.plan.funcs[i]
        for simpler in _simpler_funcs(func):
            funcs = r.best.plan.funcs
            if r.attempt(_with_plan(r.best, lambda: HostPlan(r.best.plan.tags, funcs[:i] + (simpler,)
                                                             + funcs[i + 1:]))):
                break


def _simpler_funcs(func: HostFunc) -> Iterator[HostFunc]:
    if not isinstance(func.action, Log):
        yield replace(func, action=Log())
    if isinstance(func.action, CallExport) and func.action.catch:
        yield replace(func, action=replace(func.action, catch=False))
    if func.returns is not None:
        yield replace(func, returns=None)


def _with_plan(s: Subject, plan_: Callable[[], HostPlan] | HostPlan) -> Subject | None:
    try:
        return replace(s, plan=plan_() if callable(plan_) else plan_)
    except ValueError:
        return None


# Instruction-level passes -------------------------------------------------------------------

def _functions(r: Reducer) -> Iterator[tuple[int, int]]:
    """(module, function) of every defined function, in order, while they last."""
    index = 0
    while index < len(r.best.modules):
        f = 0
        while f < len(r.best.modules[index].funcs):
            yield index, f
            f += 1
        index += 1


def _body_edit(s: Subject, index: int, f: int, edit: Callable[[tuple[edits.Node, ...]], tuple | None]
               ) -> Subject | None:
    module = s.modules[index]
    new = edit(edits.tree(module.funcs[f].body))
    return None if new is None else s.with_module(index, edits.with_body(module, f, edits.flatten(new)))


def _instructions(r: Reducer) -> None:
    for index, f in _functions(r):
        k = 0
        while k < len(paths := list(edits.sequences(edits.tree(r.best.modules[index].funcs[f].body)))):
            path = paths[k]

            def length(s: Subject, path: edits.Path = path) -> int:
                try:
                    return len(edits.get(edits.tree(s.modules[index].funcs[f].body), path))
                except (IndexError, AttributeError, TypeError):
                    return 0   # an earlier deletion took this list away

            def without(s: Subject, i: int, j: int, path: edits.Path = path) -> Subject | None:
                return _body_edit(s, index, f, lambda t: edits.put(t, path, edits.get(t, path)[:i]
                                                                   + edits.get(t, path)[j:]))
            chunks(r, length, without)
            _structured(r, index, f, path, length)
            i = 0
            while i < length(r.best):   # the rest of the list replaced by `unreachable`
                r.attempt(_body_edit(r.best, index, f, lambda t: edits.put(
                    t, path, edits.get(t, path)[:i] + (edits.Node(edits.UNREACHABLE),))))
                i += 1
            k += 1


def _structured(r: Reducer, index: int, f: int, path: edits.Path, length: Callable[[Subject], int]) -> None:
    """Splice each structured instruction of the list into it; drop try_table clauses."""
    i = 0
    while i < length(r.best):
        def splice(t: tuple, branch: str, i: int = i) -> tuple | None:
            seq = edits.get(t, path)
            node = seq[i]
            if node.instr.op not in edits.STRUCTURED or branch == "orelse" and node.instr.op != "if":
                return None
            inner = edits.unwrap(node, branch)
            if inner is None:
                return None
            if node.instr.op == "if":   # the condition is dropped
                inner = (edits.Node(edits.Instr("drop")),) + inner
            return edits.put(t, path, seq[:i] + inner + seq[i + 1:])

        if not any(r.attempt(_body_edit(r.best, index, f, lambda t, b=b: splice(t, b))) for b in ("body", "orelse")):
            _clauses(r, index, f, path, i)
            i += 1


def _clauses(r: Reducer, index: int, f: int, path: edits.Path, i: int) -> None:
    def catches(s: Subject) -> tuple:
        node = edits.get(edits.tree(s.modules[index].funcs[f].body), path)[i]
        return node.instr.imm[1] if node.instr.op == "try_table" else ()

    def without(s: Subject, a: int, b: int) -> Subject | None:
        def edit(t: tuple) -> tuple:
            seq = edits.get(t, path)
            node = seq[i]
            blocktype, clauses = node.instr.imm
            new = replace(node, instr=edits.Instr("try_table", (blocktype, clauses[:a] + clauses[b:])))
            return edits.put(t, path, seq[:i] + (new,) + seq[i + 1:])
        return _body_edit(s, index, f, edit)
    chunks(r, lambda s: len(catches(s)), without)


def _locals(r: Reducer) -> None:
    """Locals no instruction uses, last first."""
    for index, f in _functions(r):
        for local in reversed(range(len(r.best.modules[index].funcs[f].locals))):
            r.attempt(_with(r.best, index, edits.without_local(r.best.modules[index], f, local)))


# Constants ----------------------------------------------------------------------------------

ZERO = {"i32": "i32:0", "i64": "i64:0", "f32": "f32:0.0", "f64": "f64:0.0", "funcref": "funcref:null",
        "externref": "externref:null", "exnref": "exnref:null"}


def _constants(r: Reducer) -> None:
    for i in range(len(r.best.invocations)):
        invoke = r.best.invocations[i]
        zeros = tuple(ZERO[a.partition(":")[0]] for a in invoke.args)
        if zeros != invoke.args:
            r.attempt(replace(r.best, invocations=r.best.invocations[:i] + (Invoke(invoke.export, zeros),)
                              + r.best.invocations[i + 1:]))
    for i in range(len(r.best.plan.funcs)):
        func = r.best.plan.funcs[i]
        if isinstance(func.action, (Throw, CallExport)):
            field = "payload" if isinstance(func.action, Throw) else "args"
            operands = getattr(func.action, field)
            zeros = tuple(ZERO.get(o.partition(":")[0], o) for o in operands)
            if zeros != operands:
                simpler = replace(func, action=replace(func.action, **{field: zeros}))
                funcs = r.best.plan.funcs
                r.attempt(_with_plan(r.best, lambda: HostPlan(r.best.plan.tags, funcs[:i] + (simpler,)
                                                                 + funcs[i + 1:])))
    for index, f in _functions(r):
        body = r.best.modules[index].funcs[f].body
        consts = [n for n, ins in enumerate(body) if ins.op.endswith(".const") and ins.op[:3] in NUM_TYPES
                  and ins.imm[0] != 0]
        zeroed = list(body)
        for n in consts:
            zeroed[n] = edits.Instr(body[n].op, (0,))
        if not consts or r.attempt(r.best.with_module(index, edits.with_body(r.best.modules[index], f, zeroed))):
            continue
        for n in consts:
            body = r.best.modules[index].funcs[f].body
            r.attempt(r.best.with_module(index, edits.with_body(
                r.best.modules[index], f, body[:n] + [edits.Instr(body[n].op, (0,))] + body[n + 1:])))


PASSES: tuple[Callable[[Reducer], None], ...] = (
    _instances, _invocations, _config, _customs, _exports, _bodies, _items, _plan, _instructions, _items,
    _plan, _locals, _constants)


# Command line ---------------------------------------------------------------------------

def original(worker: Worker, path: Path, target: str) -> tuple[Case, Report]:
    """The case a finding file holds (a case file, or a raw input of the main target,
    whose case is generated here: generating runs no engine) and the report of
    running it."""
    if path.suffix == ".json":
        case = load(path)
    elif target == "exceptions":
        from generators import Choices, generate_case
        case = generate_case(Choices.from_data(path.read_bytes()))
    else:
        raise CaseError(f"{path}: only cases and raw inputs of the exceptions target reduce, not {target!r}")
    return case, worker.run(case_request(case))


def main(finding: str, out: str, time_limit: float, target: str, verbose: bool,
         executors: str | None = None) -> int:
    def say(line: str) -> None:
        print(line, flush=True)
    with Worker(executors=executors) as worker:
        try:
            case, report = original(worker, Path(finding), target)
        except CaseError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if report.signature is None:
            print(f"error: {finding} is not a finding here: {report.verdict} (are the same faults planted? "
                  "EXNFUZZ_FAULTS)", file=sys.stderr)
            return 1
        say(f"reduce: signature {report.signature}")
        # A candidate may loop until the case's timeout: one that takes far longer than
        # the original is killed (its signature is then "timeout", so it is not kept).
        worker.timeout = max(5.0, 4 * report.seconds)
        subject = Subject.of(replace(case, note=f"Reduced from {Path(finding).name}: {report.signature}. "
                                                + case.note))
        reducer = Reducer(subject, report.signature, worker, Path(out), time.monotonic() + time_limit,
                          say if verbose else None)
        say(f"reduce: original {reducer.original}")
        reducer.run()
        say(f"reduce: {reducer.original} -> {reducer.size} in {reducer.tests} runs, "
            f"{time.monotonic() - reducer.started:.1f} s; written to {out}")
    return 0
