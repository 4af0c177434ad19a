"""Executing scripts on the JIT: the state one script builds up as it runs.

As in the reference interpreter's ``run.ml``, a script has a current module, named
modules and instances, and a registry of module names other modules import from
(``spectest`` to begin with); imports are resolved by name against the registry.  As
in wasmtime's runner, a named instance is also registered under its name without the
``$``: scripts written for wasmtime import from ``(module $M ...)`` as ``"M"``.
Each script runs in a :class:`Session` with its own :class:`~engine.runtime.Store`,
so instances of one script share memories, tables and host references, and nothing
leaks into the next script.

Values cross as raw slots (:meth:`~engine.runtime.Func.call_slots`), so NaN payloads
and the sign of zero survive exactly.  ``(ref.extern n)`` is the :class:`HostRef`
numbered ``n``, one object per number and session.

The runtime is ``engine.runtime`` unless a session is given another with the same API,
such as an emulated target's (:func:`engine.emulated.runtime`).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from .. import runtime as in_process
from ..binary.decode import decode_module
from ..errors import LinkError
from ..runtime import Config, Engine, Instance, Module
from ..runtime.instance import Extern
from ..syntax import module as syntax
from ..syntax.types import HeapType, RefType, ValType
from ..valid import validate_module
from .spectest import spectest
from .values import Num, RefExtern, RefNull, Value
from .wast import Action, Get, Invoke



class Unavailable(Exception):
    """A command needs a module or instance whose own command did not produce one:
    it was skipped (``failed`` false; the same reason carries over) or it failed."""

    def __init__(self, reason: str, failed: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failed = failed


class ScriptError(Exception):
    """A command that does not fit the module it acts on (no such export, wrong
    argument types): a failure of the script or of the engine, never a skip."""


@dataclass(frozen=True, slots=True)
class Missing:
    """What a module command that produced nothing leaves under its name."""

    reason: str
    failed: bool

    def error(self) -> Unavailable:
        return Unavailable(self.reason, self.failed)


@dataclass(frozen=True, slots=True)
class HostRef:
    """The host reference ``(ref.extern index)``."""

    index: int


Entry = Module | Instance | Missing


class JitEngine:
    """The runner's executing engine: decodes and validates like the static one, and
    opens a :class:`Session` per script to compile, instantiate and invoke."""

    executes = True

    def __init__(self, config: Config | None = None, api: ModuleType = in_process) -> None:
        self.api = api
        """The runtime the scripts run on (``engine.runtime`` or one with its API)."""
        self.runtime = api.Engine(config)

    def load(self, data: bytes) -> syntax.Module:
        module = decode_module(data)
        validate_module(module)
        return module

    def session(self) -> Session:
        return Session(self.runtime, self.api)


class Session:
    """One script's store, registry, modules and instances."""

    def __init__(self, engine: Engine, api: ModuleType = in_process) -> None:
        self.api = api
        self.store = api.Store(engine)
        self.registry: dict[str, dict[str, Extern] | Missing] = {
            "spectest": spectest(self.store, api)}
        """What each module name other modules import from offers (``register``)."""
        # Key None is the current (last) module definition or instance.
        self.modules: dict[str | None, Module | Missing] = {}
        self.instances: dict[str | None, Instance | Missing] = {}
        self._host_refs: dict[int, HostRef] = {}

    def close(self) -> None:
        self.store.close()

    # -- modules --------------------------------------------------------------------------

    def compile(self, data: bytes) -> Module:
        return self.api.Module(self.store.engine, data)

    def link(self, module: Module) -> Instance:
        """Instantiate ``module`` with imports from the registry; raises
        :class:`~engine.errors.LinkError` or :class:`~engine.errors.Trap`."""
        imports = []
        for imp in module.syntax.imports:
            exports = self.registry.get(imp.module, {})
            if isinstance(exports, Missing):
                raise exports.error()
            item = exports.get(imp.name)
            if item is None:
                raise LinkError(f"unknown import: `{imp.module}::{imp.name}` has not been defined")
            imports.append(item)
        return self.api.Instance(self.store, module, imports)

    def define(self, name: str | None, data: bytes) -> None:
        """``(module definition $name ...)``."""
        self._set(self.modules, name, self.compile(data))

    def instantiate(self, name: str | None, data: bytes) -> None:
        """``(module $name ...)``: compile, instantiate and make it current."""
        self._set_instance(name, self.link(self.compile(data)))

    def instance(self, name: str | None, module: str | None) -> None:
        """``(module instance $name $module)``."""
        definition = self._lookup(self.modules, module, "module")
        assert isinstance(definition, self.api.Module)
        self._set_instance(name, self.link(definition))

    def missing(self, name: str | None, definition: bool, reason: str, failed: bool) -> None:
        """Record that a module command produced nothing, so commands using it say why
        (modules importing from a named instance included)."""
        if definition:
            self._set(self.modules, name, Missing(reason, failed))
        else:
            self._set_instance(name, Missing(reason, failed))

    def register(self, as_name: str, name: str | None) -> None:
        """``(register "as_name" $name)``: the instance's exports replace whatever
        ``as_name`` offered before."""
        try:
            instance = self._lookup(self.instances, name, "instance")
        except Unavailable as why:
            self._offer(as_name, Missing(why.reason, why.failed))
            raise
        assert isinstance(instance, self.api.Instance)
        self._offer(as_name, instance)

    def _offer(self, as_name: str, entry: Instance | Missing) -> None:
        """Make ``entry``'s exports importable from the module name ``as_name``."""
        self.registry[as_name] = entry if isinstance(entry, Missing) \
            else dict(entry.exports(self.store).items())

    def _set_instance(self, name: str | None, entry: Instance | Missing) -> None:
        """Make ``entry`` the current instance and, if named, register it as wasmtime's
        runner does: under its name without the ``$``."""
        self._set(self.instances, name, entry)
        if name is not None:
            self._offer(name[1:], entry)

    @staticmethod
    def _set(table: dict, name: str | None, entry: Entry) -> None:
        table[None] = entry
        if name is not None:
            table[name] = entry

    @staticmethod
    def _lookup(table: dict, name: str | None, what: str) -> Entry:
        entry = table.get(name)
        if entry is None:
            raise ScriptError(f"no {what} {name}" if name else f"no current {what}")
        if isinstance(entry, Missing):
            raise entry.error()
        return entry

    # -- actions --------------------------------------------------------------------------

    def export(self, module: str | None, field: str) -> Extern:
        instance = self._lookup(self.instances, module, "instance")
        assert isinstance(instance, self.api.Instance)
        item = instance.exports(self.store).get(field)
        if item is None:
            raise ScriptError(f"no export {field!r}")
        return item

    def run(self, action: Action) -> tuple[tuple[ValType, ...], list[int]]:
        """Perform ``action``: its result types and result slots.  Raises
        :class:`~engine.errors.Trap` (or what a host function raised) if it traps."""
        item = self.export(action.module, action.field)
        if isinstance(action, Get):
            if not isinstance(item, self.api.Global):
                raise ScriptError(f"export {action.field!r} is not a global")
            return (item.type().type,), [item.slot()]
        assert isinstance(action, Invoke)
        if not isinstance(item, self.api.Func):
            raise ScriptError(f"export {action.field!r} is not a function")
        ft = item.type()
        if len(action.args) != len(ft.params):
            raise ScriptError(f"{action.field!r} has type {ft}, "
                              f"called with {len(action.args)} arguments")
        args = [self.slot(t, v) for t, v in zip(ft.params, action.args)]
        return ft.results, item.call_slots(self.store, args)

    def slot(self, t: ValType, value: Value) -> int:
        """The slot of an argument constant, which must have type ``t``."""
        if isinstance(value, Num) and value.type == t:
            return value.bits
        if isinstance(value, RefNull) and isinstance(t, RefType):
            return 0
        if isinstance(value, RefExtern) and isinstance(t, RefType) \
                and t.heap.top is HeapType.EXTERN:
            return self.store.externref_handle(self.host_ref(value.index))
        raise ScriptError(f"argument {value} is not a value of type {t}")

    def host_ref(self, index: int) -> HostRef:
        ref = self._host_refs.get(index)
        if ref is None:
            ref = self._host_refs[index] = HostRef(index)
        return ref

    def host_index(self, slot: int) -> int | None:
        """The ``n`` of the ``(ref.extern n)`` an externref slot holds, if it holds one."""
        try:
            value = self.store.externref_object(slot)
        except IndexError:
            return None
        return value.index if isinstance(value, HostRef) else None
