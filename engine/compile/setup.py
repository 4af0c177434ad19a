"""The part of instantiation every module shares, emitted once as IR into the store
runtime (see ``helpers.py``): ``rt_instantiate``, ``rt_initialize`` (``initialize.py``,
which calls ``rt_instantiate`` first, then runs the module's initialization program)
and ``rt_release``.

Python calls ``rt_initialize`` once the instance context holds the module's
:class:`~engine.compile.layout.ModuleShape`, a constant of the module's code, and
``rt_release`` when the instance's store closes.  Generated modules are small and
many, so the loops that fill in records, and all of ``release``, were a fifth of every
module's code.

The rules they keep:

* The module's *owned block* -- one allocation for the records of its defined
  functions, tables, memory and tags and, last, its defined globals' cells, each kind
  an array at the shape's offset -- starts as a copy of the shape's template (what is
  known when compiling: code pointers, type indices, limits) and zeroed cells.
  ``rt_instantiate`` fills in what depends on the instance -- each function record's
  instance context, the canonical type ids of functions and tags, table elements,
  the memory's reservation -- and points the index spaces' defined entries (after the
  imported ones) at the records and cells.
* The shape is in :attr:`~engine.compile.layout.VMContext.SHAPE` before anything
  else; ``rt_release`` frees what that instance context leads to --
  the owned block, the memory, table elements, element segments' items and the
  segment arrays -- whatever of it there is, so it also cleans up after an
  instantiation that ran out of memory or trapped half-way.
"""
from __future__ import annotations

from collections.abc import Callable

import llvmlite.ir as ir

from . import collector, helpers
from .helpers import MEMORY_FREE, MEMORY_NEW, for_range, libc, load_field, store_field
from .initialize import INITIALIZE, emit_initialize
from .layout import SLOT, FuncRecord, ModuleShape, Segment, StoreState, TableRecord, TagRecord, VMContext
from .target import Target
from .types import I1, I8, I32T, I64T, PTR, declare

INSTANTIATE = "rt_instantiate"
RELEASE = "rt_release"
TYPES = {INSTANTIATE: ir.FunctionType(I32T, [PTR, PTR]), RELEASE: ir.FunctionType(ir.VoidType(), [PTR])}
"""``i32 rt_instantiate(VMContext*, ModuleShape*)``: 0, or 1 when memory ran out (the
caller traps); ``void rt_release(VMContext*)``."""


_SPACES = {
    VMContext.FUNCS: (ModuleShape.FUNCS, None, ModuleShape.IMPORTED_FUNCS, len(FuncRecord)),
    VMContext.TABLES: (ModuleShape.TABLES, ModuleShape.TABLES_AT, ModuleShape.IMPORTED_TABLES, len(TableRecord)),
    VMContext.TAGS: (ModuleShape.TAGS, ModuleShape.TAGS_AT, ModuleShape.IMPORTED_TAGS, len(TagRecord)),
    VMContext.GLOBALS: (ModuleShape.GLOBALS, ModuleShape.GLOBALS_AT, ModuleShape.IMPORTED_GLOBALS, 1),
}
"""Per index space: the shape's fields for the count of defined entities, their
records' offset in the owned block (the functions' come first) and the count of
imported ones; and the slots in a record."""


def _each_record(b: ir.IRBuilder, vmctx: ir.Value, shape: ir.Value, block: ir.Value, space: VMContext,
                 init: Callable[[ir.Value], None] | None = None) -> None:
    """For each defined entity of the index space ``space``: ``init`` its record in
    ``block``, then point its entry (after the imported ones) at the record."""
    count, at, imported, slots = _SPACES[space]
    start = block if at is None else b.gep(block, [load_field(b, shape, at.offset)], source_etype=I8)
    entries = b.gep(load_field(b, vmctx, space.offset, PTR), [load_field(b, shape, imported.offset)], source_etype=I64T)

    def each(k: ir.Value) -> None:
        record = b.gep(start, [b.mul(k, I64T(slots))], source_etype=I64T)
        if init is not None:
            init(record)
        b.store(record, b.gep(entries, [k], source_etype=I64T))

    for_range(b, load_field(b, shape, count.offset), each, space.name.lower())


def emit_instantiate(module: ir.Module) -> ir.Function:
    fn = ir.Function(module, TYPES[INSTANTIATE], INSTANTIATE)
    fn.linkage = "internal"
    vmctx, shape = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    size = load_field(b, shape, ModuleShape.OWNED_BYTES.offset)
    with b.if_then(b.icmp_unsigned("==", size, I64T(0))):
        b.ret(I32T(0))
    block = b.call(libc(module, "calloc"), [I64T(1), size])
    with b.if_then(b.icmp_unsigned("==", block, PTR(None))):
        b.ret(I32T(1))
    memcpy = declare(module, "llvm.memcpy.p0.p0.i64", ir.FunctionType(ir.VoidType(), [PTR, PTR, I64T, I1]))
    b.call(memcpy, [block, load_field(b, shape, ModuleShape.TEMPLATE.offset, PTR),
                    load_field(b, shape, ModuleShape.TEMPLATE_BYTES.offset), I1(0)])
    store_field(b, block, vmctx, VMContext.OWNED.offset)
    type_ids = load_field(b, vmctx, VMContext.TYPE_IDS.offset, PTR)

    def resolve_type_id(record: ir.Value, offset: int) -> None:
        # The template holds the module's type index; code compares canonical ids.
        index = load_field(b, record, offset)
        store_field(b, b.load(b.gep(type_ids, [index], source_etype=I64T), typ=I64T), record, offset)

    def function(record: ir.Value) -> None:
        store_field(b, vmctx, record, FuncRecord.VMCTX.offset)
        resolve_type_id(record, FuncRecord.TYPE_ID.offset)

    def table(record: ir.Value) -> None:
        # One spare slot: realloc(p, 0) may free (see table_grow).
        elems = b.call(libc(module, "calloc"), [b.add(load_field(b, record, TableRecord.SIZE.offset), I64T(1)),
                                                I64T(SLOT)])
        with b.if_then(b.icmp_unsigned("==", elems, PTR(None))):
            b.ret(I32T(1))
        store_field(b, elems, record, TableRecord.ELEMS.offset)

    _each_record(b, vmctx, shape, block, VMContext.FUNCS, function)
    _each_record(b, vmctx, shape, block, VMContext.TABLES, table)
    _each_record(b, vmctx, shape, block, VMContext.TAGS,
                 lambda record: resolve_type_id(record, TagRecord.TYPE_ID.offset))
    _each_record(b, vmctx, shape, block, VMContext.GLOBALS)
    with b.if_then(b.icmp_unsigned("!=", load_field(b, shape, ModuleShape.MEMORIES.offset), I64T(0))):
        memory = b.gep(block, [load_field(b, shape, ModuleShape.MEMORY_AT.offset)], source_etype=I8)
        memory_new = declare(module, MEMORY_NEW, ir.FunctionType(I32T, [PTR]))
        with b.if_then(b.icmp_unsigned("!=", b.call(memory_new, [memory]), I32T(0))):
            b.ret(I32T(1))
        store_field(b, memory, vmctx, VMContext.MEMORY.offset)
    b.ret(I32T(0))
    return fn


def emit_release(module: ir.Module) -> ir.Function:
    fn = ir.Function(module, TYPES[RELEASE], RELEASE)
    vmctx, = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    free = libc(module, "free")
    shape = load_field(b, vmctx, VMContext.SHAPE.offset, PTR)
    with b.if_then(b.icmp_unsigned("==", shape, PTR(None))):
        b.ret_void()
    block = load_field(b, vmctx, VMContext.OWNED.offset, PTR)
    with b.if_then(b.icmp_unsigned("!=", block, PTR(None))):
        with b.if_then(b.icmp_unsigned("!=", load_field(b, shape, ModuleShape.MEMORIES.offset), I64T(0))):
            memory_free = declare(module, MEMORY_FREE, ir.FunctionType(ir.VoidType(), [PTR]))
            b.call(memory_free, [b.gep(block, [load_field(b, shape, ModuleShape.MEMORY_AT.offset)],
                                       source_etype=I8)])
        tables = b.gep(block, [load_field(b, shape, ModuleShape.TABLES_AT.offset)], source_etype=I8)

        def free_elements(k: ir.Value) -> None:
            record = b.gep(tables, [b.mul(k, I64T(len(TableRecord)))], source_etype=I64T)
            b.call(free, [load_field(b, record, TableRecord.ELEMS.offset, PTR)])

        for_range(b, load_field(b, shape, ModuleShape.TABLES.offset), free_elements, "tables")
        b.call(free, [block])
    segments = load_field(b, vmctx, VMContext.ELEM_SEGMENTS.offset, PTR)
    with b.if_then(b.icmp_unsigned("!=", segments, PTR(None))):
        def free_items(i: ir.Value) -> None:
            segment = b.gep(segments, [b.mul(i, I64T(len(Segment)))], source_etype=I64T)
            b.call(free, [load_field(b, segment, Segment.DATA.offset, PTR)])

        for_range(b, load_field(b, shape, ModuleShape.ELEM_SEGMENTS.offset), free_items, "segments")
        b.call(free, [segments])
    b.call(free, [load_field(b, vmctx, VMContext.DATA_SEGMENTS.offset, PTR)])
    b.ret_void()
    return fn


def store_runtime_module(target: Target) -> tuple[ir.Module, list[str], dict[StoreState, str]]:
    """The store runtime for ``target`` as one IR module -- the exception collector,
    the memory and table helpers, the instance set-up -- its exported symbols, and the
    symbol whose address each store-state field holds for compiled code to call."""
    module = collector.collector_module(target)
    exported = [*collector.EXPORTS, *helpers.export_helpers(module)]
    emit_initialize(module, emit_instantiate(module))
    emit_release(module)
    return module, [*exported, INITIALIZE, RELEASE], collector.STATE_POINTERS | helpers.STATE_POINTERS


__all__ = ["INITIALIZE", "RELEASE", "store_runtime_module"]
