"""Layout of the records compiled code shares with the Python runtime: the one place
where their fields and offsets are defined.

Every field is one 8-byte slot in native byte order (pointers are 8 bytes on every
supported target), so a field's offset is ``8 * index`` on every target and the
Python runtime reads and writes them with ``ctypes`` at the same offsets the IR uses.

* :class:`VMContext` -- one per instance: pointers to everything the instance's code
  reaches.  Imported memories, tables, globals and functions are shared records, so
  an importer and its exporter point at the very same record.
* :class:`StoreState` -- one per store, shared by every instance in it: the unwinding
  state (why a call is unwinding, the trap code, the in-flight exception), fuel, the
  epoch deadline, the native stack limit, the store's limits on growth, and the spill
  area through which calls pass the parameters and results that do not fit in
  registers.
* :class:`HostContext` -- the context of a function defined in Python.
* :class:`MemoryRecord`, :class:`TableRecord`, :class:`FuncRecord` -- what a memory,
  a table and a function reference point at.  A ``funcref`` value is a
  ``FuncRecord*``; ``null`` is the null pointer.
"""
from __future__ import annotations

import enum

from ..binary.decode import MAX_PARAMS, MAX_RESULTS

SLOT = 8


class _Layout(enum.IntEnum):
    """Base for records: member value = slot index; ``offset`` is in bytes."""

    @property
    def offset(self) -> int:
        return self.value * SLOT

    @classmethod
    def size(cls) -> int:
        return len(cls) * SLOT


class VMContext(_Layout):
    STORE = 0            # StoreState*
    MEMORY = 1           # MemoryRecord* (null when the module has no memory)
    TABLES = 2           # TableRecord*[]
    FUNCS = 3            # FuncRecord*[] over the whole function index space
    GLOBALS = 4          # 8-byte cell*[] over the whole global index space
    TYPE_IDS = 5         # i64[] canonical signature id per module type index
    ELEM_SEGMENTS = 6    # Segment[] (items, length); length 0 once dropped
    DATA_SEGMENTS = 7    # Segment[] (bytes, length); length 0 once dropped
    TAGS = 8             # tag identity*[] over the tag index space
    OWNED = 9            # what instantiation allocated, freed on release
    SHAPE = 10           # the module's ModuleShape, set before instantiation begins


class StoreState(_Layout):
    UNWIND = 0           # UnwindKind: why the current call is unwinding
    TRAP_CODE = 1        # TrapCode, when UNWIND is TRAP
    EXCEPTION = 2        # the in-flight exception object, when UNWIND is EXCEPTION
    FUEL = 3             # remaining fuel (only read when fuel is enabled)
    EPOCH = 4            # i64* the engine's epoch counter
    EPOCH_DEADLINE = 5   # trap with INTERRUPT once *EPOCH reaches this
    STACK_LIMIT = 6      # lowest native stack address wasm frames may use; 0 outside wasm
    HOST_ERROR = 7       # id of the Python error a host function raised
    MAX_STACK = 8        # native stack bytes wasm may use below its outermost entry
    ENTRY_FRAME = 9      # frame address of the outermost entry into wasm; 0 outside wasm
    EXN_ALLOC = 10       # ExnObject* (*)(StoreState*, TagRecord*, i64 nfields): the allocator
    EXN_OBJECTS = 11     # ExnObject*[]: every exception object the store has not freed
    EXN_COUNT = 12       # live entries of EXN_OBJECTS
    EXN_CAPACITY = 13    # allocated entries of EXN_OBJECTS
    EXN_THRESHOLD = 14   # the allocator collects when EXN_COUNT reaches this
    ROOTS = 15           # Root[]: places outside wasm frames that may hold an exnref
    ROOT_COUNT = 16
    ROOT_CAPACITY = 17
    ROOT_ADD = 18        # void (*)(StoreState*, i64 kind, void* address): append a Root
    COLLECT_EVERY = 19   # 0: collect as EXN_THRESHOLD adapts; N: after every N allocations
    COLLECTIONS = 20     # collections so far
    EVENTS = 21          # i64[]: run-time event counters (see events.py), when code counts them
    STACK_FLOOR = 22     # lowest address the outermost entry may set STACK_LIMIT to: the
                         # calling thread's real stack bottom plus room for host code
    MEMORY_LIMIT = 23    # bytes a linear memory may grow to (Store.set_limits)
    TABLE_LIMIT = 24     # elements a table may grow to
    GROW_TRAPS = 25      # non-zero: a failed memory.grow or table.grow traps
    MEMORY_NEW = 26      # the memory and table helpers (engine/compile/helpers.py): their
    MEMORY_GROW = 27     # code is the store runtime's, compiled once, and compiled code
    MEMORY_FREE = 28     # calls it through these
    TABLE_GROW = 29
    TABLE_FILL = 30
    SPILL = 31           # first of SPILL_SLOTS slots: a call's values beyond the registers

    @classmethod
    def size(cls) -> int:
        return (cls.SPILL + SPILL_SLOTS) * SLOT


SPILL_SLOTS = max(MAX_PARAMS, MAX_RESULTS)
"""Slots in the store's spill area (see :mod:`~engine.compile.callconv`): as many as a
function type may have parameters or results (the decoder's limits, wasmtime's)."""


class MemoryRecord(_Layout):
    """A linear memory: an address range reserved for its maximum size, of which the
    first ``SIZE`` bytes are accessible; pages are committed when first touched, and
    the range never moves (see ``engine/compile/helpers.py``)."""

    BASE = 0             # u8* linear memory (little-endian on every target)
    SIZE = 1             # current size in bytes
    MAX_PAGES = 2        # maximum size in 64 KiB pages


class TableRecord(_Layout):
    ELEMS = 0            # ref[] (FuncRecord* or externref handle)
    SIZE = 1             # current length
    MAX = 2              # maximum length


class FuncRecord(_Layout):
    CODE = 0             # entry point with the wasm calling convention
    VMCTX = 1            # the callee's VMContext* (a host context for host functions)
    TYPE_ID = 2          # canonical signature id, checked by call_indirect


class HostContext(_Layout):
    """What a host function's :attr:`FuncRecord.VMCTX` points at.  ``STORE`` sits where
    :attr:`VMContext.STORE` does, so an entry trampoline finds the store the same way
    whichever kind of function it calls."""

    STORE = 0            # StoreState*
    CALLBACK = 1         # i32 (*)(hostctx, buf): the Python callback


class TagRecord(_Layout):
    """A tag.  Its address is its identity: instances allocate one per defined tag,
    importers point at the exporter's, Python allocates host tags."""

    TYPE_ID = 0          # canonical id of the tag's function type (params = payload)


class ExnObject(_Layout):
    """An exception object (an ``exnref`` points at one): libc memory the store owns,
    freed by the collector once nothing can reach it."""

    TAG = 0              # TagRecord*
    NFIELDS = 1          # payload length
    MARK = 2             # collector's mark
    FIELDS = 3           # first payload slot; values as in entry buffers (zero-extended)


class Root(_Layout):
    """Where an exnref may be stored outside wasm frames (see RootKind)."""

    KIND = 0
    ADDRESS = 1


class RootKind(enum.IntEnum):
    CELL = 0             # ADDRESS is one 8-byte slot (an exnref global)
    TABLE = 1            # ADDRESS is a TableRecord (an exnref table; the host's handles)


class ModuleShape(_Layout):
    """What the store runtime's ``rt_initialize``, ``rt_instantiate`` and ``rt_release``
    (``engine/compile/initialize.py``, ``setup.py``) need to know of a module: a constant
    in the module's code, its one exported symbol.  Offsets are into the module's owned
    block, where the functions' records come first."""

    TEMPLATE = 0         # the owned block's compile-time contents
    TEMPLATE_BYTES = 1
    OWNED_BYTES = 2      # 0: the module defines nothing to own
    FUNCS = 3            # defined functions
    TABLES = 4
    TABLES_AT = 5
    MEMORIES = 6
    MEMORY_AT = 7
    TAGS = 8
    TAGS_AT = 9
    GLOBALS = 10
    GLOBALS_AT = 11
    IMPORTED_FUNCS = 12  # imported entries come first in each index space
    IMPORTED_TABLES = 13
    IMPORTED_TAGS = 14
    IMPORTED_GLOBALS = 15
    ELEM_SEGMENTS = 16   # element segments, whose items release frees
    INIT = 17            # the module's initialization program (engine/compile/initialize.py)


class Segment(_Layout):
    DATA = 0
    LENGTH = 1


class UnwindKind(enum.IntEnum):
    NONE = 0
    TRAP = 1
    EXCEPTION = 2


PAGE_SIZE = 65_536
MAX_PAGES = 65_536
