"""``Store``: the unit of isolation and ownership.

A store owns everything created in it -- instances (their contexts and whatever their
instantiation allocated), memories, tables, globals and host functions created from
Python -- and frees it all when it is closed or garbage-collected, as wasmtime's
stores do.  It also holds the :class:`~engine.compile.layout.StoreState` that compiled
code unwinds through, the externref handle table, and the exception objects (see
:class:`HostRoots` and ``engine/compile/collector.py``).

The rules that keep every use of a store safe:

* Closing is final and idempotent.  Every object of the store checks, at each public
  entry point, that its store is open (:meth:`Store.check_usable`, through
  ``Handle._owner``), so nothing reads freed memory; a store cannot be closed from a
  host function while a call into it runs.
* One thread at a time: a call into wasm makes the calling thread the store's user
  until the outermost call returns; any other thread's use raises
  :class:`~engine.errors.StoreBusy` (the store's unwinding state, stack limit and
  spill area are one per store).
* Limits (:meth:`Store.set_limits`, wasmtime's ``StoreLimits``): counts of instances,
  tables and memories are checked when they are created; sizes when memories and
  tables are created and each time they grow (by the grow helpers, in native code).
"""
from __future__ import annotations

import array
import ctypes
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from ..compile.collector import MIN_THRESHOLD
from ..compile.events import EVENTS
from ..compile.layout import SLOT, RootKind, StoreState, TableRecord, UnwindKind
from ..errors import ResourceLimitExceeded, StoreBusy, StoreClosed, Trap, TrapCode
from ..syntax.types import HeapType
from . import native
from .engine import Engine
from .exception import WasmException
from .stack import stack_floor, wasm_entered, wasm_left

_NO_DEADLINE = 0xFFFF_FFFF_FFFF_FFFF
_UNLIMITED = 0xFFFF_FFFF_FFFF_FFFF
_MAX_FUEL_IN_NATIVE = 2**63 - 1
"""The native fuel counter is signed (it traps below zero); more fuel waits in Python."""
DEFAULT_COUNT_LIMIT = 10_000
"""wasmtime's default limit on the instances, tables and memories of a store."""


@dataclass(frozen=True)
class StoreLimits:
    """A store's limits (see :meth:`Store.set_limits`); ``None`` is no limit."""

    memory_size: int | None = None
    table_elements: int | None = None
    instances: int = DEFAULT_COUNT_LIMIT
    tables: int = DEFAULT_COUNT_LIMIT
    memories: int = DEFAULT_COUNT_LIMIT
    trap_on_grow_failure: bool = False


class _Resources:
    """What a store must free, kept apart from the store so that a
    :func:`weakref.finalize` can free it: the finalizer keeps this object (and so the
    compiled code of the store's modules) reachable until it has run, even when the
    store dies in a reference cycle, where the garbage collector would otherwise be
    free to unload the code before the instances in it are released."""

    def __init__(self) -> None:
        self.keepalive: list[Any] = []
        self.finalizers: list[Callable[[], None]] = []

    def close(self) -> None:
        while self.finalizers:
            self.finalizers.pop()()
        self.keepalive.clear()


class HostRoots:
    """The exnrefs Python holds, as a table the collector scans (a
    :class:`~engine.compile.layout.TableRecord` registered as a root): one slot per
    live :class:`~engine.runtime.exception.ExnRef`, reused once it dies."""

    def __init__(self) -> None:
        self.record = native.calloc(1, TableRecord.size())
        self.capacity = 16
        native.write(self.record, native.calloc(self.capacity, 8), TableRecord.ELEMS)
        self._free: list[int] = []
        self.closed = False

    def add(self, pointer: int) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            slot = native.read(self.record, TableRecord.SIZE)
            if slot == self.capacity:
                self.capacity *= 2
                elems = native.realloc(native.read(self.record, TableRecord.ELEMS), 8 * self.capacity)
                if elems is None:
                    raise MemoryError("cannot grow the host exnref roots")
                native.write(self.record, elems, TableRecord.ELEMS)
            native.write(self.record, slot + 1, TableRecord.SIZE)
        native.write(native.read(self.record, TableRecord.ELEMS), pointer, slot)
        return slot

    def remove(self, slot: int) -> None:
        if not self.closed:
            native.write(native.read(self.record, TableRecord.ELEMS), 0, slot)
            self._free.append(slot)

    def close(self) -> None:
        self.closed = True
        native.free(native.read(self.record, TableRecord.ELEMS))
        native.free(self.record)


def _free_exceptions(state: Any, host_roots: HostRoots) -> None:
    """Free every exception object and the collector's arrays (the store is closing)."""
    objects = state[StoreState.EXN_OBJECTS]
    for i in range(state[StoreState.EXN_COUNT]):
        native.free(native.read(objects, i))
    native.free(objects)
    native.free(state[StoreState.ROOTS])
    state[StoreState.EXN_OBJECTS] = state[StoreState.EXN_COUNT] = state[StoreState.ROOTS] = 0
    host_roots.close()


class Store:
    """Holds instances and their state; see the module docstring."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or Engine()
        self.closed = False
        self._state = native.slots(StoreState.size() // SLOT)
        self.state_address = native.address(self._state)
        self._state[StoreState.EPOCH] = self.engine.epoch_address
        self._state[StoreState.EPOCH_DEADLINE] = (
            0 if self.engine.config.epoch_interruption else _NO_DEADLINE)
        self._state[StoreState.MAX_STACK] = self.engine.config.max_wasm_stack
        self._held: list[Any] = []
        self._externs: list[Any] = []
        self._extern_handles: dict[int, int] = {}
        self._resources = _Resources()
        self._resources.keepalive.append(self._state)
        self._close = weakref.finalize(self, self._resources.close)
        runtime = self.engine.store_runtime()
        self.runtime = runtime
        for field, address in runtime.state_pointers.items():
            self._state[field] = address
        every = self.engine.config.collect_every
        self._state[StoreState.COLLECT_EVERY] = every
        self._state[StoreState.EXN_THRESHOLD] = every or MIN_THRESHOLD
        if self.engine.config.count_events:
            counters = self.keep(native.slots(len(EVENTS)))
            self._state[StoreState.EVENTS] = native.address(counters)
        self._exn_alloc = runtime.exn_alloc
        self.host_roots = host_roots = HostRoots()
        runtime.root_add(self.state_address, RootKind.TABLE, host_roots.record)
        state = self._state
        # Registered first, so it runs last: after every instance is released.
        self.on_close(lambda: _free_exceptions(state, host_roots))
        self._pending: BaseException | None = None
        self._lock = threading.Lock()
        self._caller: int | None = None
        self._depth = 0
        self._fuel_reserve = 0
        self.limits = StoreLimits()
        self._counts = {"instances": 0, "tables": 0, "memories": 0}
        self.set_limits()
        self.linker_funcs: dict[tuple[int, tuple[str, str]], Any] = {}
        """Host functions a :class:`~engine.runtime.linker.Linker` created in this store."""
        self.extern_types: dict[int, Any] = {}
        """Declared type of each memory, table and global record in the store, by address."""
        self.func_records: set[int] = set()
        """Every function record of the store (host functions and instances' functions)."""

    def __repr__(self) -> str:
        return f"<Store {'closed' if self.closed else 'open'} at {id(self):#x}>"

    # -- use -----------------------------------------------------------------------------

    def check_usable(self) -> None:
        """Raise unless this thread may use the store now: it must be open, and not in a
        call on another thread."""
        if self.closed:
            raise StoreClosed("the store was closed: none of its objects can be used any more "
                              "(create a new Store)")
        caller = self._caller
        if caller is not None and caller != threading.get_ident():
            raise StoreBusy("the store is running a call on another thread; a store is used "
                            "by one thread at a time (give each thread its own store)")

    def enter(self) -> None:
        """Start a call into wasm on this thread (paired with :meth:`leave`)."""
        me = threading.get_ident()
        with self._lock:
            self.check_usable()
            if self._caller is None:
                self._caller = me
                self._state[StoreState.STACK_FLOOR] = stack_floor()
            self._depth += 1
        wasm_entered()

    def leave(self) -> None:
        wasm_left()
        with self._lock:
            self._depth -= 1
            if not self._depth:
                self._caller = None

    # -- fuel and epochs ------------------------------------------------------------------

    def set_fuel(self, fuel: int) -> None:
        """Set the fuel left, 0 to 2**64 - 1 (needs ``Config.consume_fuel``)."""
        self._require("consume_fuel")
        if not isinstance(fuel, int) or isinstance(fuel, bool) or not 0 <= fuel < 2**64:
            raise ValueError(f"fuel must be an int from 0 to 2**64 - 1, not {fuel!r}")
        in_native = min(fuel, _MAX_FUEL_IN_NATIVE)
        self._state[StoreState.FUEL] = in_native
        self._fuel_reserve = fuel - in_native

    def get_fuel(self) -> int:
        self._require("consume_fuel")
        return max(ctypes.c_int64(self._state[StoreState.FUEL]).value, 0) + self._fuel_reserve

    def set_epoch_deadline(self, ticks_beyond_current: int) -> None:
        """Trap with ``INTERRUPT`` once the engine's epoch has advanced by this much."""
        self._require("epoch_interruption")
        if not isinstance(ticks_beyond_current, int) or ticks_beyond_current < 0:
            raise ValueError(f"ticks_beyond_current must be a non-negative int, not "
                             f"{ticks_beyond_current!r}")
        self._state[StoreState.EPOCH_DEADLINE] = min(self.engine.epoch + ticks_beyond_current,
                                                     _NO_DEADLINE)

    def _require(self, knob: str) -> None:
        self.check_usable()
        if not getattr(self.engine.config, knob):
            raise ValueError(f"Config.{knob} is not enabled on this store's engine")

    # -- what ran -------------------------------------------------------------------------

    @property
    def collections(self) -> int:
        """How often the exception-object collector has run in this store."""
        return self._state[StoreState.COLLECTIONS]

    def events(self) -> dict[str, int]:
        """The run-time events counted so far (``Config.count_events``; see
        :mod:`engine.compile.events`), by name, those that happened only; with the
        collections as ``"collection"``."""
        counters = self._state[StoreState.EVENTS]
        counts = {name: native.read(counters, i) for i, name in enumerate(EVENTS)} if counters else {}
        counts["collection"] = self.collections
        return {name: n for name, n in counts.items() if n}

    # -- limits -----------------------------------------------------------------------------

    def set_limits(self, memory_size: int = -1, table_elements: int = -1, instances: int = -1,
                   tables: int = -1, memories: int = -1, *, trap_on_grow_failure: bool = False) -> None:
        """Replace the store's limits, as ``wasmtime.Store.set_limits`` does (a negative
        value means the default):

        * ``memory_size`` -- bytes each linear memory may grow to (default: 4 GiB, wasm32's
          own limit).  A module whose memory starts larger fails to instantiate;
          ``memory.grow`` beyond it returns -1.
        * ``table_elements`` -- elements each table may grow to (default: no limit but the
          table's own).  Likewise for tables and ``table.grow``.
        * ``instances``, ``tables``, ``memories`` -- how many the store may create
          (default 10,000 each, as wasmtime); memories and tables created from Python
          count too.
        * ``trap_on_grow_failure`` -- a failed ``memory.grow`` or ``table.grow`` traps with
          ``ALLOCATION_TOO_LARGE`` instead of returning -1 (wasmtime's ``StoreLimits``
          option of that name).
        """
        self.check_usable()
        values = {"memory_size": memory_size, "table_elements": table_elements,
                  "instances": instances, "tables": tables, "memories": memories}
        for name, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"set_limits: {name} must be an int (negative for the default), "
                                f"not {value!r}")
        self.limits = StoreLimits(
            memory_size=None if memory_size < 0 else memory_size,
            table_elements=None if table_elements < 0 else table_elements,
            instances=DEFAULT_COUNT_LIMIT if instances < 0 else instances,
            tables=DEFAULT_COUNT_LIMIT if tables < 0 else tables,
            memories=DEFAULT_COUNT_LIMIT if memories < 0 else memories,
            trap_on_grow_failure=bool(trap_on_grow_failure))
        limits = self.limits
        self._state[StoreState.MEMORY_LIMIT] = _UNLIMITED if limits.memory_size is None else min(
            limits.memory_size, _UNLIMITED)
        self._state[StoreState.TABLE_LIMIT] = _UNLIMITED if limits.table_elements is None else min(
            limits.table_elements, _UNLIMITED)
        self._state[StoreState.GROW_TRAPS] = int(limits.trap_on_grow_failure)

    def reserve(self, instances: int = 0, tables: int = 0, memories: int = 0) -> None:
        """Count new instances, tables and memories, or raise
        :class:`~engine.errors.ResourceLimitExceeded` (counting none) if that would pass
        the store's limits."""
        wanted = {"instances": instances, "tables": tables, "memories": memories}
        for kind, n in wanted.items():
            limit = getattr(self.limits, kind)
            if n and self._counts[kind] + n > limit:
                raise ResourceLimitExceeded(
                    f"resource limit exceeded: the store has {self._counts[kind]} {kind} and may "
                    f"have {limit}, so it cannot create {n} more (Store.set_limits({kind}=...))")
        for kind, n in wanted.items():
            self._counts[kind] += n

    def check_initial_size(self, kind: str, size: int) -> None:
        """Raise :class:`~engine.errors.ResourceLimitExceeded` if a new memory of ``size``
        bytes or table of ``size`` elements (``kind``) passes the store's limit."""
        limit = self.limits.memory_size if kind == "memory" else self.limits.table_elements
        if limit is not None and size > limit:
            unit, knob = ("bytes", "memory_size") if kind == "memory" else ("elements", "table_elements")
            raise ResourceLimitExceeded(
                f"{kind} minimum size of {size} {unit} exceeds the store's limit of {limit} "
                f"(Store.set_limits({knob}=...))")

    # -- externref handles ----------------------------------------------------------------

    def externref_handle(self, value: Any) -> int:
        """The handle wasm code sees for ``value`` (stable for the store's lifetime)."""
        handle = self._extern_handles.get(id(value))
        if handle is None:
            self._externs.append(value)
            handle = self._extern_handles[id(value)] = len(self._externs)
        return handle

    def externref_object(self, handle: int) -> Any:
        return self._externs[handle - 1]

    def holds_reference(self, heap: HeapType, slot: int) -> bool:
        """Whether the non-null ``slot`` is a reference of ``heap`` this store gave out."""
        if heap is HeapType.FUNC:
            return slot in self.func_records
        if heap is HeapType.EXTERN:
            return 1 <= slot <= len(self._externs)
        if heap is HeapType.EXN:
            count = self._state[StoreState.EXN_COUNT]
            if not count:
                return False
            objects = array.array("Q", native.read_bytes(self._state[StoreState.EXN_OBJECTS], 8 * count))
            return slot in objects
        return False        # the bottom types hold null only

    # -- ownership ----------------------------------------------------------------------------

    def keep(self, thing: Any) -> Any:
        """Keep ``thing`` alive as long as the store.  It must not refer to the store
        (hold a :func:`weakref.ref` instead), or the store could never be freed."""
        self._resources.keepalive.append(thing)
        return thing

    def hold(self, thing: Any) -> int:
        """Keep ``thing`` (which may refer to the store) as long as the store; its
        index for :meth:`held`."""
        self._held.append(thing)
        return len(self._held) - 1

    def held(self, index: int) -> Any:
        return self._held[index]

    def on_close(self, finalizer: Callable[[], None]) -> None:
        """Run ``finalizer`` when the store is closed or collected (in reverse order of
        registration).  Like :meth:`keep`, it must not refer to the store."""
        self._resources.finalizers.append(finalizer)

    def close(self) -> None:
        """Free everything the store owns now rather than when it is collected; using
        its objects afterwards raises :class:`~engine.errors.StoreClosed`.  Closing a
        closed store does nothing; closing one from a host function it called raises
        :class:`~engine.errors.StoreBusy`."""
        with self._lock:
            if self.closed:
                return
            if self._caller is not None:
                raise StoreBusy("cannot close a store while a call into it runs (close it "
                                "after the outermost call returns)")
            self.closed = True
        self._close()
        self._held.clear()
        self._externs.clear()
        self._extern_handles.clear()
        self.extern_types.clear()
        self.func_records.clear()

    # -- unwinding ------------------------------------------------------------------------

    def exn_alloc(self, tag_record: int, nfields: int) -> int:
        """A new exception object of the tag at ``tag_record`` (payload unset)."""
        pointer = self._exn_alloc(self.state_address, tag_record, nfields)
        if not pointer:
            raise MemoryError("cannot allocate an exception object")
        return pointer

    def set_pending(self, error: BaseException) -> None:
        """Make native code unwind for ``error``, raised by a host function: a
        :class:`~engine.runtime.exception.WasmException` is thrown into wasm (handlers
        may catch it); anything else unwinds as a trap, and the outermost Python caller
        raises it (see :meth:`take_unwind`)."""
        if isinstance(error, WasmException):
            try:
                pointer = error._object(self)
            except BaseException as failure:  # noqa: B036 -- nothing may unwind through native code
                self.set_pending(failure)
                return
            self._state[StoreState.UNWIND] = UnwindKind.EXCEPTION
            self._state[StoreState.EXCEPTION] = pointer
            return
        self._pending = error
        self._state[StoreState.UNWIND] = UnwindKind.TRAP
        code = error.code if isinstance(error, Trap) and error.code is not None else None
        self._state[StoreState.TRAP_CODE] = 0 if code is None else int(code)
        self._state[StoreState.HOST_ERROR] = 1

    def take_unwind(self) -> BaseException:
        """The error for a call that returned a non-zero status; resets the state.

        An exception that escaped wasm is a
        :class:`~engine.runtime.exception.WasmException`; a trap is a :class:`Trap`.  A host function's error becomes a trap too, as in
        wasmtime: ``Trap(None, "host function raised ...")`` with the original error as
        its ``__cause__``; a ``Trap`` raised by a host function (say, from a nested
        call) stays itself, and so do ``KeyboardInterrupt`` and ``SystemExit``."""
        pending, self._pending = self._pending, None
        code = self._state[StoreState.TRAP_CODE]
        kind = self._state[StoreState.UNWIND]
        self._state[StoreState.UNWIND] = UnwindKind.NONE
        self._state[StoreState.HOST_ERROR] = 0
        if kind == UnwindKind.EXCEPTION:
            pointer = self._state[StoreState.EXCEPTION]
            self._state[StoreState.EXCEPTION] = 0
            return WasmException._from_object(self, pointer)
        if pending is None:
            return Trap(TrapCode(code))
        if isinstance(pending, Trap) or not isinstance(pending, Exception):
            return pending
        trap = Trap(None, f"host function raised {type(pending).__name__}: {pending}")
        trap.__cause__ = pending
        return trap
