"""``WasmtimeRunner``: a case on wasmtime, the reference.

Everything that involves exceptions goes through :mod:`oracles.wasmtime_capi`, since
wasmtime-py's API knows no ``exnref``.  Native values are :class:`~oracles.wasmtime_capi.Val`
(numbers as exact bits; an ``exnref`` rooted for as long as Python holds it, so a
rethrow throws the very object received).  Each session has its own engine -- epochs
are engine-wide, so the timeout of one case must not interrupt another -- with the
reference feature set, epoch interruption (deadline: one tick) and the case's
``max_wasm_stack``.  An exception object's identity is its raw GC reference
(``wasmtime_exnref_to_raw``), unique while the session holds a root of it.  Under
collector stress (``collect_every``) wasmtime collects its GC heap at every host call.
"""
from __future__ import annotations

import hashlib
from typing import Any

import wasmtime

from . import wasmtime_capi as capi
from .case import Case
from .host import HostFailure
from .outcome import MAX_EXN_DEPTH, MAX_TABLE_ELEMENTS, NUM_TYPES, Exn, MemoryState, Num, Ref, State, TableState, Value
from .plan import HOST_MODULE
from .runner import ModuleRejected, RunnerError, Session
from .wasmtime_config import DISABLED, ENABLED

_KINDS = {"i32": capi.I32, "i64": capi.I64, "f32": capi.F32, "f64": capi.F64,
          "funcref": capi.FUNCREF, "externref": capi.EXTERNREF, "exnref": capi.EXNREF}


def type_name(name: str) -> str:
    """The outcome model's name of a value type (as :func:`~oracles.wasmtime_capi.valtype_name`
    spells it): a non-null reference type is named as its nullable form, since values
    of both normalize alike -- as ``EngineRunner`` names them."""
    return {"(ref func)": "funcref", "(ref extern)": "externref", "(ref exn)": "exnref"}.get(name, name)


def _names(ty: wasmtime.FuncType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    params, results = capi.type_names(ty)
    return tuple(map(type_name, params)), tuple(map(type_name, results))


STRATEGIES = ("speed", "none", "pulley")
"""How wasmtime executes: Cranelift at ``speed`` (the reference) or ``none``, or Pulley,
its portable interpreter (``Config.target = "pulley64"``): independent code paths,
exceptions included."""


def make_engine(max_wasm_stack: int, strategy: str = "speed", canonical_nans: bool = False) -> wasmtime.Engine:
    """A new wasmtime engine: the reference feature set, epoch interruption,
    ``max_wasm_stack`` bytes of wasm stack, the executor ``strategy`` (see
    :data:`STRATEGIES`), and compilation on the calling thread (as our engine's), so a
    case uses one core and ``-fork``/``-jobs`` scale by process.  ``canonical_nans``:
    every float operation's NaN result is the canonical NaN (Cranelift's NaN
    canonicalization, as wasmtime's own differential fuzzing runs), which takes away the
    only freedom the spec leaves executors in float results."""
    config = wasmtime.Config()
    for name in ENABLED:
        setattr(config, name, True)
    for name in DISABLED:
        setattr(config, name, False)
    config.epoch_interruption = True
    config.max_wasm_stack = max_wasm_stack
    config.parallel_compilation = False
    config.cranelift_nan_canonicalization = canonical_nans
    if strategy == "pulley":
        config.target = "pulley64"
    else:
        config.cranelift_opt_level = strategy
    return wasmtime.Engine(config)


class WasmtimeRunner(Session):
    """The case on wasmtime: a fresh engine and store per case, executing by
    ``strategy`` (see :data:`STRATEGIES`), with NaN canonicalization if the case's
    ``canonical_nans`` (see :func:`make_engine`)."""

    name = "wasmtime"
    trap_type = capi.WasmTrap

    def __init__(self, case: Case, strategy: str = "speed") -> None:
        super().__init__(case)
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown wasmtime strategy {strategy!r}; known: {STRATEGIES}")
        self.engine = make_engine(case.config.max_wasm_stack, strategy, case.config.canonical_nans)
        self.store = wasmtime.Store(self.engine)
        self.store.set_epoch_deadline(1)
        self.host_tags: dict[str, wasmtime.Tag] = {}
        """The plan's tags the module imports, by plan name: one tag per name, however
        often it is imported."""

    @property
    def context(self) -> Any:
        return self.store._context()

    def instantiate_module(self, data: bytes) -> dict[str, Any]:
        try:
            module = wasmtime.Module(self.engine, data)
        except wasmtime.WasmtimeError as e:
            raise ModuleRejected(str(e)) from None
        imports = [self._import(imp) for imp in module.imports]
        try:
            instance = capi.instantiate(self.store, module, imports)
        except wasmtime.WasmtimeError as e:
            raise ModuleRejected(str(e)) from None
        return dict(instance.exports(self.store))

    def _import(self, imp: wasmtime.ImportType) -> Any:
        where = f"import {imp.module}::{imp.name}"
        if imp.module != HOST_MODULE:
            return self.instance_export(imp.module or "", imp.name or "")
        ty = imp.type
        if isinstance(ty, wasmtime.TagType):
            return self._host_tag(imp.name or "", ty, where)
        if isinstance(ty, wasmtime.FuncType):
            return self._host_func(imp.name or "", ty, where)
        raise RunnerError(f"{where}: plans provide only functions and tags")

    def _host_tag(self, name: str, ty: wasmtime.TagType, where: str) -> wasmtime.Tag:
        params, wanted = self.case.plan.tag(name).params, _names(ty.functype)[0]
        if wanted != params:
            raise RunnerError(f"{where}: the module wants a tag of {wanted}, the plan's tag has {params}")
        if name not in self.host_tags:
            self.host_tags[name] = wasmtime.Tag(self.store, ty)
        return self.host_tags[name]

    def _host_func(self, name: str, ty: wasmtime.FuncType, where: str) -> wasmtime.Func:
        func = self.case.plan.func(name)
        if _names(ty) != (func.params, func.results):
            raise RunnerError(f"{where}: the module wants {_names(ty)}, the plan's function has "
                              f"{func.params} -> {func.results}")
        host = self.host_function(name)
        if self.case.config.collect_every:
            def stressed(args: list[Any]) -> list[Any]:
                self.store.gc()
                return host(*args)
            return capi.host_func(self.store, ty, stressed)
        return capi.host_func(self.store, ty, lambda args: host(*args))

    def interrupt(self) -> None:
        self.engine.increment_epoch()

    def renew_deadline(self) -> None:
        self.store.set_epoch_deadline(1)

    # HostEnv

    def native(self, t: str, value: Value) -> capi.Val:
        if isinstance(value, Num):
            return capi.Val.number(_KINDS[value.type], value.bits)
        assert isinstance(value, Ref)
        if value.null:
            return capi.Val.null(_KINDS[value.kind])
        if value.kind == "externref":
            return capi.Val.externref(self.context)
        raise RunnerError(f"no literal makes a non-null {value.kind}")

    def normalize(self, t: str, value: capi.Val, depth: int = 0) -> Value:
        if t in NUM_TYPES:
            return Num(t, value.bits)
        if t != "exnref" or value.is_null:
            return Ref(t, value.is_null)
        return self._exn(value, depth)

    def _exn(self, exnref: capi.Val, depth: int) -> Exn:
        tag = capi.exn_tag(self.context, exnref)
        name = self._tag_name(tag)
        number = self.identity(capi.exn_identity(self.context, exnref), exnref.clone())
        if depth >= MAX_EXN_DEPTH:
            return Exn(name, None, number)
        params, _ = _names(tag.type(self.store).functype)
        fields = capi.exn_fields(self.context, exnref)
        return Exn(name, tuple(self.normalize(t, v, depth + 1) for t, v in zip(params, fields)), number)

    def _tag_name(self, tag: wasmtime.Tag) -> str:
        for name, host_tag in self.host_tags.items():
            if host_tag.eq(self.store, tag):
                return f"host:{name}"
        for name, extern in self.exports.items():
            if isinstance(extern, wasmtime.Tag) and extern.eq(self.store, tag):
                return f"export:{name}"
        return "unexported"

    def _tag(self, name: str) -> wasmtime.Tag:
        kind, _, rest = name.partition(":")
        found = self.host_tags.get(rest) if kind == "host" else self.exports.get(rest)
        if not isinstance(found, wasmtime.Tag):
            raise HostFailure(f"no tag {name} to throw (yet)")
        return found

    def tag_params(self, tag: str) -> tuple[str, ...]:
        return _names(self._tag(tag).type(self.store).functype)[0]

    def throw(self, tag: str, payload: list[Any]) -> BaseException:
        found = self._tag(tag)
        return capi.WasmException(capi.exn_new(self.context, found, payload))

    def rethrow(self, exnref: Any) -> BaseException:
        return capi.WasmException(exnref)

    def _export(self, name: str) -> wasmtime.Func:
        extern = self.exports.get(name)
        if not isinstance(extern, wasmtime.Func):
            raise HostFailure(f"no exported function {name!r} (yet)")
        return extern

    def export_type(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return _names(self._export(name).type(self.store))

    def call_export(self, name: str, args: list[Any]) -> list[Any]:
        func = self._export(name)
        _, results = self.export_type(name)
        return capi.call(self.context, func, args, len(results))

    def exception(self, error: BaseException) -> Exn | None:
        if isinstance(error, capi.WasmException):
            return self._exn(error.exn, 0)
        return None

    def state(self) -> State:
        globals_, memories, tables = [], [], []
        for name, extern in self.exports.items():
            if isinstance(extern, wasmtime.Global):
                t = type_name(capi.valtype_name(extern.type(self.store).content))
                globals_.append((name, self.normalize(t, capi.global_get(self.context, extern))))
            elif isinstance(extern, wasmtime.Memory):
                data = bytes(extern.read(self.store, 0, extern.data_len(self.store)))
                memories.append(MemoryState(name, extern.size(self.store), hashlib.sha256(data).hexdigest()[:16]))
            elif isinstance(extern, wasmtime.Table):
                size = extern.size(self.store)
                elem = type_name(capi.valtype_name(extern.type(self.store).element))
                elements = None if size > MAX_TABLE_ELEMENTS else tuple(
                    self.normalize(elem, capi.table_get(self.context, extern, i)) for i in range(size))
                tables.append(TableState(name, size, elements))
        return State(tuple(globals_), tuple(memories), tuple(tables))

    def close(self) -> None:
        self.store.close()
