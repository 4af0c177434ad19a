"""``EngineRunner``: a case on exnfuzz's own engine (``engine.runtime``).

Native values here are raw bits for numbers (exact, NaN payloads included) and the
runtime's objects for references (``Func``, the externref object, ``ExnRef`` -- which
roots its exception object for as long as Python holds it).  Host functions take and
return raw slots (``Func(..., slots=True)``) and wrap references at once, before
anything can run a collection.  An exception object's identity is its address.

Compiled code counts run-time events (``Config.count_events``): the session's
:attr:`~oracles.runner.Session.events` after the run.  ``collect_every`` is the
engine's collector stress setting.  Modules compiled for recent cases are reused
(:class:`CompiledModules`).

The runner uses the runtime in :attr:`EngineRunner.api`: ``engine.runtime`` (code for
the host, in process) here, an emulated target's in
:class:`~oracles.emulated_runner.EmulatedRunner`.
"""
from __future__ import annotations

import functools
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from types import ModuleType
from typing import Any

from engine import runtime
from engine.compile import faults
from engine.errors import LinkError, Trap, WasmError
from engine.syntax.types import (EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, ExternKind, FuncType, HeapType,
                                 RefType, TagType, ValType)

from .case import Case
from .host import HostFailure
from .outcome import MAX_EXN_DEPTH, MAX_TABLE_ELEMENTS, Exn, MemoryState, Num, Ref, State, TableState, Value
from .plan import HOST_MODULE
from .runner import ModuleRejected, RunnerError, Session

TYPES: dict[str, ValType] = {"i32": I32, "i64": I64, "f32": F32, "f64": F64,
                             "funcref": FUNCREF, "externref": EXTERNREF, "exnref": EXNREF}


def type_name(t: ValType) -> str:
    """The outcome model's name of ``t``; a non-null reference type is named as its
    nullable form, since values of both normalize alike."""
    if isinstance(t, RefType):
        return {HeapType.FUNC: "funcref", HeapType.EXTERN: "externref", HeapType.EXN: "exnref"}.get(
            t.heap, str(t))
    return str(t)


@functools.cache
def _engine(api: ModuleType, opt_level: int, max_wasm_stack: int, collect_every: int,
            canonical_nans: bool = False) -> runtime.Engine:
    """One engine per runtime and configuration: an engine compiles its collector once,
    and cases only differ in their stores (a module's trampolines go with the module, so
    the endless signatures of generated cases leave nothing behind in the engine)."""
    return api.Engine(api.Config(opt_level=opt_level, epoch_interruption=True, max_wasm_stack=max_wasm_stack,
                                 collect_every=collect_every, count_events=True,
                                 canonicalize_nans=canonical_nans))


class CompiledModules:
    """The modules this process compiled last, reused by later cases.

    libFuzzer's mutations often leave a case's modules as they were and change what the
    generator draws after them -- the host plan, the invocations, the opt level -- and
    a module compiled once serves any number of stores of its engine.  The rules: a
    module is kept under the engine that compiled it (one per configuration), the
    place its code lives (an emulated target's server; None in process), the engine
    faults planted (they change the code) and its bytes; at most :attr:`capacity` are
    kept, the least recently used going first (its code goes once no instance holds
    it)."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._modules: OrderedDict[tuple, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.seconds = 0.0
        """Time spent compiling (decoding, validating, translating, generating code)."""

    def get(self, engine: Any, home: object, data: bytes, compile: Callable[[], Any]) -> Any:
        """The module of ``data`` compiled by ``engine`` into ``home``, by ``compile()``
        unless it is kept."""
        key = (engine, home, frozenset(faults.active), data)
        module = self._modules.get(key)
        if module is not None:
            self.hits += 1
            self._modules.move_to_end(key)
            return module
        start = time.perf_counter()
        module = compile()
        self.seconds += time.perf_counter() - start
        self.misses += 1
        self._modules[key] = module
        if len(self._modules) > self.capacity:
            self._modules.popitem(last=False)
        return module

    def clear(self) -> None:
        """Forget every kept module (their code goes once no instance holds it)."""
        self._modules.clear()


COMPILED = CompiledModules()


class EngineRunner(Session):
    """The case on our engine: a fresh store per case, engines shared by configuration."""

    name = "exnfuzz"
    trap_type = Trap
    api: ModuleType = runtime
    """The runtime the case runs on (``engine.runtime`` or one with its API)."""

    def __init__(self, case: Case) -> None:
        super().__init__(case)
        config = case.config
        self.engine = _engine(self.api, config.opt_level, config.max_wasm_stack, config.collect_every,
                              config.canonical_nans)
        self.store = self.api.Store(self.engine)
        self.store.set_epoch_deadline(1)
        self.host_tags: dict[int, str] = {}

    home: object = None
    """Where the runner's code lives (see :class:`CompiledModules`): this process."""

    def instantiate_module(self, data: bytes) -> dict[str, Any]:
        try:
            module = COMPILED.get(self.engine, self.home, data, lambda: self.api.Module(self.engine, data))
        except WasmError as e:
            raise ModuleRejected(str(e)) from None
        plan = self.case.plan
        imports: list[Any] = []
        for imp in module.syntax.imports:
            where = f"import {imp.module}::{imp.name}"
            if imp.module != HOST_MODULE:
                imports.append(self.instance_export(imp.module, imp.name))
            elif imp.kind is ExternKind.TAG:
                assert isinstance(imp.desc, TagType)
                imports.append(self._host_tag(plan.tag(imp.name).params, module.syntax.types[imp.desc.type_idx],
                                              imp.name, where))
            elif imp.kind is ExternKind.FUNC:
                imports.append(self._host_func(imp.name, module.syntax.types[imp.desc], where))  # type: ignore[index]
            else:
                raise RunnerError(f"{where}: plans provide only functions and tags")
        try:
            return dict(self.api.Instance(self.store, module, imports).exports(self.store).items())
        except LinkError as e:
            raise ModuleRejected(str(e)) from None

    def _host_tag(self, params: tuple[str, ...], ty: FuncType, name: str, where: str) -> runtime.Tag:
        if tuple(type_name(t) for t in ty.params) != params:
            raise RunnerError(f"{where}: the module wants {ty}, the plan's tag has {params}")
        for record, tag_name in self.host_tags.items():     # one tag per plan name, however imported
            if tag_name == f"host:{name}":
                return self.api.Tag._from_record(self.store, record)
        tag = self.api.Tag(self.store, ty)
        self.host_tags[tag.record] = f"host:{name}"
        return tag

    def _host_func(self, name: str, ty: FuncType, where: str) -> runtime.Func:
        func = self.case.plan.func(name)
        if (tuple(type_name(t) for t in ty.params), tuple(type_name(t) for t in ty.results)) != \
                (func.params, func.results):
            raise RunnerError(f"{where}: the module wants {ty}, the plan's function has "
                              f"{func.params} -> {func.results}")
        host = self.host_function(name)
        store = self.store

        def call(*slots: int) -> Any:
            args = [self._from_slot(TYPES[t], s) for t, s in zip(func.params, slots)]
            results = [self._to_slot(TYPES[t], v) for t, v in zip(func.results, host(*args))]
            return results[0] if len(results) == 1 else results or None

        return self.api.Func(store, ty, call, slots=True)

    def _to_slot(self, t: ValType, value: Any) -> int:
        return value if t in (I32, I64, F32, F64) else self.api.values.to_slot(self.store, t, value)

    def _from_slot(self, t: ValType, slot: int) -> Any:
        return slot if t in (I32, I64, F32, F64) else self.api.values.from_slot(self.store, t, slot)

    def interrupt(self) -> None:
        self.engine.increment_epoch()

    def renew_deadline(self) -> None:
        self.store.set_epoch_deadline(1)

    # HostEnv

    def native(self, t: str, value: Value) -> Any:
        if isinstance(value, Num):
            return value.bits
        assert isinstance(value, Ref)
        if value.null:
            return None
        if value.kind == "externref":
            return object()
        raise RunnerError(f"no literal makes a non-null {value.kind}")

    def normalize(self, t: str, value: Any, depth: int = 0) -> Value:
        if t in ("i32", "i64", "f32", "f64"):
            return Num(t, value)
        if t != "exnref" or value is None:
            return Ref(t, value is None)
        return self._exn(value, depth)

    def _exn(self, exnref: runtime.ExnRef, depth: int) -> Exn:
        tag = exnref.tag
        number = self.identity(exnref.pointer, exnref)
        if depth >= MAX_EXN_DEPTH:
            return Exn(self._tag_name(tag), None, number)
        params = tag.type().params
        payload = tuple(self.normalize(type_name(t), self._from_slot(t, s), depth + 1)
                        for t, s in zip(params, exnref.payload_slots()))
        return Exn(self._tag_name(tag), payload, number)

    def _tag_name(self, tag: runtime.Tag) -> str:
        if tag.record in self.host_tags:
            return self.host_tags[tag.record]
        for name, extern in self.exports.items():
            if isinstance(extern, self.api.Tag) and extern.record == tag.record:
                return f"export:{name}"
        return "unexported"

    def _tag(self, name: str) -> runtime.Tag:
        kind, _, rest = name.partition(":")
        if kind == "host":
            for record, tag_name in self.host_tags.items():
                if tag_name == name:
                    return self.api.Tag._from_record(self.store, record)
        else:
            extern = self.exports.get(rest)
            if isinstance(extern, self.api.Tag):
                return extern
        raise HostFailure(f"no tag {name} to throw (yet)")

    def tag_params(self, tag: str) -> tuple[str, ...]:
        return tuple(type_name(t) for t in self._tag(tag).type().params)

    def throw(self, tag: str, payload: list[Any]) -> BaseException:
        found = self._tag(tag)
        slots = [self._to_slot(t, v) for t, v in zip(found.type().params, payload)]
        return self.api.WasmException.from_slots(self.store, found, slots)

    def rethrow(self, exnref: Any) -> BaseException:
        return self.api.WasmException(exnref.tag, exnref.payload, exnref=exnref)

    def _export(self, name: str) -> runtime.Func:
        extern = self.exports.get(name)
        if not isinstance(extern, self.api.Func):
            raise HostFailure(f"no exported function {name!r} (yet)")
        return extern

    def export_type(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        ft = self._export(name).type()
        return tuple(type_name(t) for t in ft.params), tuple(type_name(t) for t in ft.results)

    def call_export(self, name: str, args: list[Any]) -> list[Any]:
        func = self._export(name)
        ft = func.type()
        slots = func.call_slots(self.store, [self._to_slot(t, v) for t, v in zip(ft.params, args)])
        return [self._from_slot(t, s) for t, s in zip(ft.results, slots)]

    def exception(self, error: BaseException) -> Exn | None:
        if isinstance(error, self.api.WasmException) and error.exnref is not None:
            return self._exn(error.exnref, 0)
        return None

    def state(self) -> State:
        globals_, memories, tables = [], [], []
        for name, extern in self.exports.items():
            if isinstance(extern, self.api.Global):
                t = extern.type().type
                globals_.append((name, self.normalize(type_name(t), self._from_slot(t, extern.slot()))))
            elif isinstance(extern, self.api.Memory):
                data = extern.read(self.store, 0, extern.data_len())
                memories.append(MemoryState(name, extern.size(), hashlib.sha256(data).hexdigest()[:16]))
            elif isinstance(extern, self.api.Table):
                size, elem = extern.size(), extern.type().elem
                elements = None if size > MAX_TABLE_ELEMENTS else tuple(
                    self.normalize(type_name(elem), extern.get(self.store, i)) for i in range(size))
                tables.append(TableState(name, size, elements))
        return State(tuple(globals_), tuple(memories), tuple(tables))

    def close(self) -> None:
        self.events = self.store.events()
        self.store.close()
