"""The store's exception-object heap: allocation and a mark-and-sweep collector.

An ``exnref`` points at an :class:`~engine.compile.layout.ExnObject` in libc memory
that the store owns; :attr:`StoreState.EXN_OBJECTS` lists every object not yet freed.
This module is emitted as IR (calling only libc), so it serves any target, and
exports three functions with the C calling convention:

* ``ExnObject* exn_alloc(StoreState*, TagRecord* tag, i64 nfields)`` -- a zeroed
  object with ``nfields`` payload slots, or null when memory is exhausted (the caller
  traps).  Once :attr:`StoreState.EXN_COUNT` reaches :attr:`StoreState.EXN_THRESHOLD`
  it collects first.  Compiled code calls it through :attr:`StoreState.EXN_ALLOC`.
  The threshold adapts to the survivors of each collection, unless
  :attr:`StoreState.COLLECT_EVERY` is ``N`` (stress): then a collection comes every
  ``N`` allocations, which changes nothing a program can observe but exposes every
  root the engine forgets.
* ``void exn_collect(StoreState*)`` -- free every object nothing can reach.
* ``void root_add(StoreState*, i64 kind, void* address)`` -- register a place outside
  wasm frames that may hold an exnref (a :class:`~engine.compile.layout.Root`).

Roots are the in-flight exception, the registered roots, and -- conservatively --
every aligned word of the native stack between the collector and the outermost wasm
entry frame (:attr:`StoreState.ENTRY_FRAME`), since compiled code keeps exnrefs in
its frames and registers with no stack maps.  A word is a reference only if it equals
the address of a listed object, so any integer or float that happens to be one merely
keeps that object alive.  Payloads are traced the same way.
"""
from __future__ import annotations

from collections.abc import Callable

import llvmlite.ir as ir

from .helpers import for_range, libc
from .layout import SLOT, ExnObject, Root, RootKind, StoreState, TableRecord
from .target import Target
from .types import I32T, I64T, PTR, declare, field_ptr

EXN_ALLOC = "exn_alloc"
EXN_COLLECT = "exn_collect"
ROOT_ADD = "root_add"
EXPORTS = (EXN_ALLOC, EXN_COLLECT, ROOT_ADD)
STATE_POINTERS = {StoreState.EXN_ALLOC: EXN_ALLOC, StoreState.ROOT_ADD: ROOT_ADD}
"""The store-state field holding each function's address, for compiled code to call."""

MIN_THRESHOLD = 1024
"""The allocator collects once this many objects exist (or twice the survivors of the
last collection, if more); a threshold of 0 in a fresh store means this."""
OBJECTS_INITIAL = 64
ROOTS_INITIAL = 16

_VOID = ir.VoidType()


def collector_module(target: Target) -> ir.Module:
    """The IR module exporting :data:`EXPORTS` for ``target``."""
    module = ir.Module(name="collector")
    module.triple, module.data_layout = target.triple, target.data_layout
    collect = _emit_collect(module, _emit_collect_inner(module, _emit_mark_words(module)))
    reserve = _emit_reserve(module)
    _emit_alloc(module, collect, reserve)
    _emit_root_add(module, reserve)
    return module


def _store_field(b: ir.IRBuilder, store: ir.Value, field: StoreState) -> ir.Value:
    return field_ptr(b, store, field.offset)


def _slot(b: ir.IRBuilder, array: ir.Value, index: ir.Value) -> ir.Value:
    return b.gep(array, [index], source_etype=I64T)


def _internal(module: ir.Module, fnty: ir.FunctionType, name: str) -> tuple[ir.Function, ir.IRBuilder]:
    fn = ir.Function(module, fnty, name)
    fn.linkage = "internal"
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


def _emit_compare(module: ir.Module) -> ir.Function:
    """``qsort`` comparator: two object addresses, compared unsigned."""
    fn, b = _internal(module, ir.FunctionType(I32T, [PTR, PTR]), "rt_exn_compare")
    x, y = (b.load(p, typ=I64T) for p in fn.args)
    above = b.zext(b.icmp_unsigned(">", x, y), I32T)
    below = b.zext(b.icmp_unsigned("<", x, y), I32T)
    b.ret(b.sub(above, below))
    return fn


def _emit_find(module: ir.Module) -> ir.Function:
    """``ExnObject* find(objects, count, word)``: the object at address ``word`` in the
    sorted, non-empty ``objects``, or null."""
    fn, b = _internal(module, ir.FunctionType(PTR, [PTR, I64T, I64T]), "rt_exn_find")
    objects, count, word = fn.args
    entry = b.block
    head, probe, found, missing = (fn.append_basic_block(n) for n in ("head", "probe", "found", "missing"))
    # Most stack words are small integers or point far from the heap: reject them
    # against the bounds before searching.
    lowest = b.load(objects, typ=I64T)
    highest = b.load(_slot(b, objects, b.sub(count, I64T(1))), typ=I64T)
    outside = b.or_(b.icmp_unsigned("<", word, lowest), b.icmp_unsigned(">", word, highest))
    b.cbranch(outside, missing, head)
    b.position_at_end(head)
    lo, hi = b.phi(I64T), b.phi(I64T)
    lo.add_incoming(I64T(0), entry)
    hi.add_incoming(count, entry)
    b.cbranch(b.icmp_unsigned("<", lo, hi), probe, missing)
    b.position_at_end(probe)
    mid = b.lshr(b.add(lo, hi), I64T(1))
    value = b.load(_slot(b, objects, mid), typ=I64T)
    go_up = b.icmp_unsigned("<", value, word)
    go_down = b.icmp_unsigned(">", value, word)
    lo.add_incoming(b.select(go_up, b.add(mid, I64T(1)), lo), probe)
    hi.add_incoming(b.select(go_down, mid, hi), probe)
    b.cbranch(b.or_(go_up, go_down), head, found)
    b.position_at_end(found)
    b.ret(b.inttoptr(word, PTR))
    b.position_at_end(missing)
    b.ret(PTR(None))
    return fn


def _emit_mark_words(module: ir.Module) -> ir.Function:
    """``mark_words(objects, count, worklist, top*, words, n)``: mark each unmarked
    object whose address is among the ``n`` words at ``words`` and push it on the
    worklist, whose capacity is ``count`` since an object is pushed once at most."""
    find = _emit_find(module)
    fn, b = _internal(module, ir.FunctionType(_VOID, [PTR, I64T, PTR, PTR, PTR, I64T]),
                      "rt_exn_mark_words")
    objects, count, worklist, top, words, n = fn.args

    def mark(i: ir.Value) -> None:
        obj = b.call(find, [objects, count, b.load(_slot(b, words, i), typ=I64T)])
        # The mark is read only once there is an object: a load from null + MARK is
        # undefined, and code generated without optimisation does fault on it.
        with b.if_then(b.icmp_unsigned("!=", obj, PTR(None))):
            mark_ptr = field_ptr(b, obj, ExnObject.MARK.offset)
            with b.if_then(b.icmp_unsigned("==", b.load(mark_ptr, typ=I64T), I64T(0))):
                b.store(I64T(1), mark_ptr)
                depth = b.load(top, typ=I64T)
                b.store(obj, _slot(b, worklist, depth))
                b.store(b.add(depth, I64T(1)), top)

    for_range(b, n, mark, "word")
    b.ret_void()
    return fn


def _emit_collect_inner(module: ir.Module, mark_words: ir.Function) -> ir.Function:
    """The collection proper, ``noinline`` so that its frame lies below the one of
    ``exn_collect``, whose prologue saved the callee-saved registers."""
    fn, b = _internal(module, ir.FunctionType(_VOID, [PTR]), "rt_exn_collect")
    fn.attributes.add("noinline")
    store, = fn.args
    top = b.alloca(I64T, name="top")
    kept = b.alloca(I64T, name="kept")
    count = b.load(_store_field(b, store, StoreState.EXN_COUNT), typ=I64T)
    objects = b.load(_store_field(b, store, StoreState.EXN_OBJECTS), typ=PTR)
    # Without memory for the worklist nothing can be marked, so nothing is freed.
    worklist = b.call(libc(module, "malloc"), [b.mul(b.add(count, I64T(1)), I64T(SLOT))])
    runnable = b.and_(b.icmp_unsigned("!=", count, I64T(0)),
                      b.icmp_unsigned("!=", worklist, PTR(None)))
    with b.if_then(runnable):
        qsort = declare(module, "qsort", ir.FunctionType(_VOID, [PTR, I64T, I64T, PTR]))
        b.call(qsort, [objects, count, I64T(SLOT), _emit_compare(module)])
        b.store(I64T(0), top)

        def mark(words: ir.Value, n: ir.Value) -> None:
            b.call(mark_words, [objects, count, worklist, top, words, n])

        mark(_store_field(b, store, StoreState.EXCEPTION), I64T(1))
        _mark_roots(b, store, mark)
        _mark_stack(b, store, mark)
        _trace(b, worklist, top, mark)
        b.store(I64T(0), kept)
        _sweep(b, objects, count, kept)
        b.store(b.load(kept, typ=I64T), _store_field(b, store, StoreState.EXN_COUNT))
    b.call(libc(module, "free"), [worklist])
    collections = _store_field(b, store, StoreState.COLLECTIONS)
    b.store(b.add(b.load(collections, typ=I64T), I64T(1)), collections)
    survivors = b.load(_store_field(b, store, StoreState.EXN_COUNT), typ=I64T)
    doubled = b.mul(survivors, I64T(2))
    adaptive = b.select(b.icmp_unsigned("<", doubled, I64T(MIN_THRESHOLD)), I64T(MIN_THRESHOLD), doubled)
    # Under stress (COLLECT_EVERY = N) the next collection comes N allocations on.
    every = b.load(_store_field(b, store, StoreState.COLLECT_EVERY), typ=I64T)
    threshold = b.select(b.icmp_unsigned("==", every, I64T(0)), adaptive, b.add(survivors, every))
    b.store(threshold, _store_field(b, store, StoreState.EXN_THRESHOLD))
    b.ret_void()
    return fn


def _mark_roots(b: ir.IRBuilder, store: ir.Value, mark: Callable[[ir.Value, ir.Value], None]) -> None:
    roots = b.load(_store_field(b, store, StoreState.ROOTS), typ=PTR)
    n = b.load(_store_field(b, store, StoreState.ROOT_COUNT), typ=I64T)

    def root(i: ir.Value) -> None:
        entry = b.gep(roots, [b.mul(i, I64T(len(Root)))], source_etype=I64T)
        kind = b.load(field_ptr(b, entry, Root.KIND.offset), typ=I64T)
        address = b.load(field_ptr(b, entry, Root.ADDRESS.offset), typ=PTR)
        with b.if_else(b.icmp_unsigned("==", kind, I64T(RootKind.CELL))) as (cell, table):
            with cell:
                mark(address, I64T(1))
            with table:
                mark(b.load(field_ptr(b, address, TableRecord.ELEMS.offset), typ=PTR),
                     b.load(field_ptr(b, address, TableRecord.SIZE.offset), typ=I64T))

    for_range(b, n, root, "root")


def _mark_stack(b: ir.IRBuilder, store: ir.Value, mark: Callable[[ir.Value, ir.Value], None]) -> None:
    """Mark from every aligned word between this frame and the outermost wasm entry."""
    entry = b.load(_store_field(b, store, StoreState.ENTRY_FRAME), typ=I64T)
    frameaddress = declare(b.module, "llvm.frameaddress.p0", ir.FunctionType(PTR, [I32T]))
    here = b.ptrtoint(b.call(frameaddress, [I32T(0)]), I64T)
    low = b.and_(b.add(here, I64T(SLOT - 1)), I64T(-SLOT))
    # ENTRY_FRAME is 0 outside wasm; the stack grows down on every supported target.
    with b.if_then(b.icmp_unsigned("<", low, entry)):
        mark(b.inttoptr(low, PTR), b.udiv(b.sub(entry, low), I64T(SLOT)))


def _trace(b: ir.IRBuilder, worklist: ir.Value, top: ir.Value,
           mark: Callable[[ir.Value, ir.Value], None]) -> None:
    """Pop marked objects until the worklist is empty, marking from their payloads."""
    fn = b.function
    head, body, done = (fn.append_basic_block(f"trace.{n}") for n in ("head", "body", "done"))
    b.branch(head)
    b.position_at_end(head)
    depth = b.load(top, typ=I64T)
    b.cbranch(b.icmp_unsigned("==", depth, I64T(0)), done, body)
    b.position_at_end(body)
    depth = b.sub(depth, I64T(1))
    b.store(depth, top)
    obj = b.load(_slot(b, worklist, depth), typ=PTR)
    mark(field_ptr(b, obj, ExnObject.FIELDS.offset),
         b.load(field_ptr(b, obj, ExnObject.NFIELDS.offset), typ=I64T))
    b.branch(head)
    b.position_at_end(done)


def _sweep(b: ir.IRBuilder, objects: ir.Value, count: ir.Value, kept: ir.Value) -> None:
    """Free unmarked objects; move the marked ones, unmarked again, to the front."""
    free = libc(b.module, "free")

    def sweep(i: ir.Value) -> None:
        obj = b.load(_slot(b, objects, i), typ=PTR)
        mark_ptr = field_ptr(b, obj, ExnObject.MARK.offset)
        with b.if_else(b.icmp_unsigned("!=", b.load(mark_ptr, typ=I64T), I64T(0))) as (live, dead):
            with live:
                b.store(I64T(0), mark_ptr)
                n = b.load(kept, typ=I64T)
                b.store(obj, _slot(b, objects, n))
                b.store(b.add(n, I64T(1)), kept)
            with dead:
                b.call(free, [obj])

    for_range(b, count, sweep, "sweep")


def _emit_collect(module: ir.Module, inner: ir.Function) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(_VOID, [PTR]), EXN_COLLECT)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    # Wasm frames may hold exnrefs in callee-saved registers.  ``llvm.eh.unwind.init``
    # (GCC's ``__builtin_unwind_init``, as conservative collectors use it) makes this
    # prologue save every callee-saved register of the target, so their values lie in
    # this frame, inside the range the inner function scans.  No tail call: that would
    # restore them before the scan.
    b.call(declare(module, "llvm.eh.unwind.init", ir.FunctionType(_VOID, [])), [])
    b.call(inner, [fn.args[0]], tail="notail")
    b.ret_void()
    return fn


def _emit_reserve(module: ir.Module) -> ir.Function:
    """``void* reserve(array*, count*, capacity*, i64 entry_slots, i64 initial)``: room
    for one more entry at the end of a growable array of the store (counted, not yet
    written), or null when ``realloc`` fails."""
    fn, b = _internal(module, ir.FunctionType(PTR, [PTR, PTR, PTR, I64T, I64T]), "rt_reserve")
    array_ptr, count_ptr, capacity_ptr, entry_slots, initial = fn.args
    count = b.load(count_ptr, typ=I64T)
    capacity = b.load(capacity_ptr, typ=I64T)
    with b.if_then(b.icmp_unsigned("==", count, capacity)):
        grown = b.select(b.icmp_unsigned("==", capacity, I64T(0)), initial, b.mul(capacity, I64T(2)))
        size = b.mul(grown, b.mul(entry_slots, I64T(SLOT)))
        array = b.call(libc(module, "realloc"), [b.load(array_ptr, typ=PTR), size])
        with b.if_then(b.icmp_unsigned("==", array, PTR(None))):
            b.ret(PTR(None))
        b.store(array, array_ptr)
        b.store(grown, capacity_ptr)
    b.store(b.add(count, I64T(1)), count_ptr)
    entry = b.mul(count, entry_slots)
    b.ret(_slot(b, b.load(array_ptr, typ=PTR), entry))
    return fn


def _emit_alloc(module: ir.Module, collect: ir.Function, reserve: ir.Function) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(PTR, [PTR, PTR, I64T]), EXN_ALLOC)
    store, tag, nfields = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    count_ptr = _store_field(b, store, StoreState.EXN_COUNT)
    threshold = b.load(_store_field(b, store, StoreState.EXN_THRESHOLD), typ=I64T)
    threshold = b.select(b.icmp_unsigned("==", threshold, I64T(0)), I64T(MIN_THRESHOLD), threshold)
    with b.if_then(b.icmp_unsigned(">=", b.load(count_ptr, typ=I64T), threshold)):
        b.call(collect, [store])
    obj = b.call(libc(module, "calloc"), [b.add(nfields, I64T(ExnObject.FIELDS)), I64T(SLOT)])
    with b.if_then(b.icmp_unsigned("==", obj, PTR(None))):
        b.ret(PTR(None))
    entry = b.call(reserve, [
        _store_field(b, store, StoreState.EXN_OBJECTS), count_ptr,
        _store_field(b, store, StoreState.EXN_CAPACITY), I64T(1), I64T(OBJECTS_INITIAL)])
    with b.if_then(b.icmp_unsigned("==", entry, PTR(None))):
        b.call(libc(module, "free"), [obj])
        b.ret(PTR(None))
    b.store(tag, field_ptr(b, obj, ExnObject.TAG.offset))
    b.store(nfields, field_ptr(b, obj, ExnObject.NFIELDS.offset))
    b.store(obj, entry)
    b.ret(obj)
    return fn


def _emit_root_add(module: ir.Module, reserve: ir.Function) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(_VOID, [PTR, I64T, PTR]), ROOT_ADD)
    store, kind, address = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    entry = b.call(reserve, [
        _store_field(b, store, StoreState.ROOTS), _store_field(b, store, StoreState.ROOT_COUNT),
        _store_field(b, store, StoreState.ROOT_CAPACITY), I64T(len(Root)), I64T(ROOTS_INITIAL)])
    # A root that cannot be recorded would let the collector free reachable objects.
    with b.if_then(b.icmp_unsigned("==", entry, PTR(None))):
        b.call(declare(module, "abort", ir.FunctionType(_VOID, [])), [])
        b.unreachable()
    b.store(kind, field_ptr(b, entry, Root.KIND.offset))
    b.store(address, field_ptr(b, entry, Root.ADDRESS.offset))
    b.ret_void()
    return fn


__all__ = ["EXN_ALLOC", "EXN_COLLECT", "EXPORTS", "MIN_THRESHOLD", "ROOT_ADD", "STATE_POINTERS",
           "collector_module"]
