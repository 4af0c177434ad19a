"""The exception-object heap (engine/compile/collector.py), compiled for the host and
driven through ctypes against a StoreState in libc memory, plus small IR probes that
call the allocator the way compiled code does: through StoreState.EXN_ALLOC, holding
exnrefs in their own frames and registers."""
from __future__ import annotations

import ctypes
import os
import re
from typing import Self

import llvmlite.ir as ir
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compile import jit
from engine.compile.collector import (EXN_ALLOC, EXN_COLLECT, EXPORTS, MIN_THRESHOLD, ROOT_ADD,
                                      collector_module)
from engine.compile.layout import SLOT, ExnObject, Root, RootKind, StoreState, TableRecord, TagRecord
from engine.compile.target import AARCH64, S390X, X86_64, Target, host
from engine.compile.types import I32T, I64T, PTR, callable_pointer, declare, field_ptr
from engine.runtime import native

HELD = (2, 24)
"""Probe sizes: few enough exnrefs to stay in callee-saved registers, and enough
that most are spilled to the stack."""
ALLOC = ir.FunctionType(PTR, [PTR, PTR, I64T])


def _entry_frame(b: ir.IRBuilder, store: ir.Value, value: ir.Value) -> None:
    b.store(value, field_ptr(b, store, StoreState.ENTRY_FRAME.offset))


def _frame_address(b: ir.IRBuilder) -> ir.Value:
    frameaddress = declare(b.module, "llvm.frameaddress.p0", ir.FunctionType(PTR, [I32T]))
    return b.ptrtoint(b.call(frameaddress, [I32T(0)]), I64T)


def _alloc_call(b: ir.IRBuilder, store: ir.Value, tag: ir.Value) -> ir.Value:
    """``EXN_ALLOC(store, tag, 1)`` through the store's pointer, as compiled code calls it."""
    alloc = b.load(field_ptr(b, store, StoreState.EXN_ALLOC.offset), typ=PTR)
    return b.call(callable_pointer(b, alloc, ALLOC), [store, tag, I64T(1)])


def _add_hold_probe(module: ir.Module, k: int, direct: bool) -> None:
    """``void hold_<k>(store, tag, out, scan)``: allocate ``k + 1`` objects, keeping
    every pointer live in this frame until all are allocated, then write them to
    ``out``.  When ``scan`` is set, this frame stands for the outermost wasm frame.
    ``collect_<k>`` instead allocates ``k`` and calls ``exn_collect`` itself."""
    name = f"{'collect' if direct else 'hold'}_{k}"
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, PTR, I64T]), name)
    store, tag, out, scan = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    with b.if_then(b.icmp_unsigned("!=", scan, I64T(0))):
        _entry_frame(b, store, _frame_address(b))
    held = [_alloc_call(b, store, tag) for _ in range(k if direct else k + 1)]
    if direct:
        b.call(module.globals[EXN_COLLECT], [store])
    _entry_frame(b, store, I64T(0))
    for i, p in enumerate(held):
        b.store(p, b.gep(out, [I64T(i)], source_etype=I64T))
    b.ret_void()


def _add_alloc_loop(module: ir.Module) -> None:
    """``i64 alloc_loop(store, tag, n)``: ``n`` allocations dropped at once, under a
    live entry frame; returns how many failed."""
    fn = ir.Function(module, ir.FunctionType(I64T, [PTR, PTR, I64T]), "alloc_loop")
    store, tag, n = fn.args
    entry = fn.append_basic_block("entry")
    head, body, done = (fn.append_basic_block(name) for name in ("head", "body", "done"))
    b = ir.IRBuilder(entry)
    _entry_frame(b, store, _frame_address(b))
    b.branch(head)
    b.position_at_end(head)
    i, failed = b.phi(I64T), b.phi(I64T)
    i.add_incoming(I64T(0), entry)
    failed.add_incoming(I64T(0), entry)
    b.cbranch(b.icmp_unsigned("<", i, n), body, done)
    b.position_at_end(body)
    null = b.icmp_unsigned("==", _alloc_call(b, store, tag), PTR(None))
    i.add_incoming(b.add(i, I64T(1)), body)
    failed.add_incoming(b.add(failed, b.zext(null, I64T)), body)
    b.branch(head)
    b.position_at_end(done)
    _entry_frame(b, store, I64T(0))
    b.ret(failed)


@pytest.fixture(scope="module", params=[0, 2], ids=lambda level: f"O{level}")
def code(request: pytest.FixtureRequest) -> jit.CompiledCode:
    target = host()
    module = collector_module(target)
    for k in HELD:
        _add_hold_probe(module, k, direct=False)
        _add_hold_probe(module, k, direct=True)
    _add_alloc_loop(module)
    symbols = [*EXPORTS, "alloc_loop", *(f"{how}_{k}" for k in HELD for how in ("hold", "collect"))]
    level = request.param
    return jit.load([jit.emit_object(jit.optimize(module, target, level), target, level)], target, symbols)


class Heap:
    """A StoreState in libc memory wired to the compiled collector, and a tag."""

    def __init__(self, code: jit.CompiledCode) -> None:
        self.code = code
        self.state = native.slots(StoreState.size() // 8)
        self.store = native.address(self.state)
        self.state[StoreState.EXN_ALLOC] = code[EXN_ALLOC]
        self.state[StoreState.ROOT_ADD] = code[ROOT_ADD]
        self.state[StoreState.EXN_THRESHOLD] = MIN_THRESHOLD
        self.tag_record = native.slots(len(TagRecord), [42])
        self.tag = native.address(self.tag_record)
        self._alloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_int64)(code[EXN_ALLOC])
        self._collect = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(code[EXN_COLLECT])
        self._root_add = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64,
                                          ctypes.c_void_p)(code[ROOT_ADD])

    def alloc(self, nfields: int = 0) -> int:
        obj = self._alloc(self.store, self.tag, nfields)
        assert obj
        return obj

    def collect(self) -> None:
        self._collect(self.store)

    def root_add(self, kind: RootKind, address: int) -> None:
        self._root_add(self.store, kind, address)

    @property
    def count(self) -> int:
        return self.state[StoreState.EXN_COUNT]

    @property
    def threshold(self) -> int:
        return self.state[StoreState.EXN_THRESHOLD]

    def objects(self) -> list[int]:
        array = self.state[StoreState.EXN_OBJECTS]
        return [native.read(array, i) for i in range(self.count)]

    def close(self) -> None:
        for obj in self.objects():
            native.free(obj)
        for field in (StoreState.EXN_OBJECTS, StoreState.ROOTS):
            native.free(self.state[field])
            self.state[field] = 0
        self.state[StoreState.EXN_COUNT] = self.state[StoreState.ROOT_COUNT] = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def heap(code: jit.CompiledCode):
    with Heap(code) as h:
        yield h


def _field(obj: int, field: ExnObject) -> int:
    return native.read(obj, field)


def _set_payload(obj: int, index: int, value: int) -> None:
    native.write(obj, value, ExnObject.FIELDS + index)


def _table(elems: list[int], size: int) -> tuple[ctypes.Array, ctypes.Array]:
    """A TableRecord of ``size`` live elements over ``elems`` (longer: stale entries)."""
    array = native.slots(len(elems), elems)
    return array, native.slots(len(TableRecord), [native.address(array), size, len(elems)])


def test_alloc_initialises_and_lists_objects(heap: Heap):
    objs = [heap.alloc(n % 5) for n in range(200)]
    assert len(set(objs)) == 200
    assert heap.objects() == objs
    assert heap.state[StoreState.EXN_CAPACITY] == 256  # 64, doubled twice
    for n, obj in enumerate(objs):
        assert _field(obj, ExnObject.TAG) == heap.tag
        assert _field(obj, ExnObject.NFIELDS) == n % 5
        assert _field(obj, ExnObject.MARK) == 0
        assert all(_field(obj, ExnObject.FIELDS + i) == 0 for i in range(n % 5))


def test_unreachable_objects_are_freed(heap: Heap):
    for n in range(300):
        heap.alloc(n % 3)
    heap.collect()
    assert heap.count == 0 and heap.objects() == []
    assert heap.threshold == MIN_THRESHOLD


def test_cell_root_and_payload_chain_survive(heap: Heap):
    a, b, c, dropped = heap.alloc(2), heap.alloc(1), heap.alloc(0), heap.alloc(1)
    _set_payload(a, 0, 12345)
    _set_payload(a, 1, b)
    _set_payload(b, 0, c)
    _set_payload(dropped, 0, a)  # a reference *from* garbage keeps nothing alive
    cell = native.slots(1, [a])
    heap.root_add(RootKind.CELL, native.address(cell))
    heap.collect()
    assert sorted(heap.objects()) == sorted([a, b, c])
    assert all(_field(o, ExnObject.MARK) == 0 for o in (a, b, c))
    assert _field(b, ExnObject.FIELDS) == c and _field(a, ExnObject.TAG) == heap.tag
    cell[0] = 0
    heap.collect()
    assert heap.count == 0


def test_table_root_covers_its_live_elements_only(heap: Heap):
    objs = [heap.alloc(0) for _ in range(6)]
    # Elements past SIZE are stale (a shrunk or not-yet-grown table) and hold nothing.
    elems, table = _table([objs[0], 0, objs[2], objs[3], objs[4]], size=3)
    heap.root_add(RootKind.TABLE, native.address(table))
    heap.collect()
    assert sorted(heap.objects()) == sorted([objs[0], objs[2]])
    table[TableRecord.SIZE] = 1
    heap.collect()
    assert heap.objects() == [objs[0]]
    del elems


def test_in_flight_exception_survives(heap: Heap):
    thrown, inner, other = heap.alloc(1), heap.alloc(0), heap.alloc(0)
    _set_payload(thrown, 0, inner)
    heap.state[StoreState.EXCEPTION] = thrown
    heap.collect()
    assert sorted(heap.objects()) == sorted([thrown, inner])
    heap.state[StoreState.EXCEPTION] = 0
    heap.collect()
    assert heap.count == 0
    del other


def test_only_exact_object_addresses_count(heap: Heap):
    target, holder = heap.alloc(0), heap.alloc(3)
    _set_payload(holder, 0, target + SLOT)   # interior pointer
    _set_payload(holder, 1, target - SLOT)
    _set_payload(holder, 2, holder)          # cycle to itself
    heap.state[StoreState.EXCEPTION] = holder
    heap.collect()
    assert heap.objects() == [holder]


def test_threshold_follows_survivors(heap: Heap):
    objs = [heap.alloc(0) for _ in range(700)]
    elems, table = _table(objs[:600], size=600)
    heap.root_add(RootKind.TABLE, native.address(table))
    heap.collect()
    assert heap.count == 600 and heap.threshold == 1200
    table[TableRecord.SIZE] = 300
    heap.collect()
    assert heap.count == 300 and heap.threshold == MIN_THRESHOLD
    del elems


def test_allocating_at_the_threshold_collects_first(heap: Heap):
    heap.state[StoreState.EXN_THRESHOLD] = 0     # a fresh store: the default threshold
    kept = heap.alloc(0)
    heap.state[StoreState.EXCEPTION] = kept
    for _ in range(MIN_THRESHOLD - 1):
        heap.alloc(0)
    assert heap.count == MIN_THRESHOLD
    newest = heap.alloc(0)
    assert sorted(heap.objects()) == sorted([kept, newest])


def test_root_add_grows_the_root_array(heap: Heap):
    cells = [native.slots(1) for _ in range(40)]
    for i, cell in enumerate(cells):
        heap.root_add(RootKind(i % 2), native.address(cell))
    assert heap.state[StoreState.ROOT_COUNT] == 40
    assert heap.state[StoreState.ROOT_CAPACITY] == 64  # 16, doubled twice
    roots = heap.state[StoreState.ROOTS]
    for i, cell in enumerate(cells):
        assert native.read(roots, i * len(Root) + Root.KIND) == i % 2
        assert native.read(roots, i * len(Root) + Root.ADDRESS) == native.address(cell)


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[list[list[tuple[str, int]]], list[int], int | None]:
    """Objects' payloads (plain integers, references, interior references), the
    objects held by cell roots and the in-flight one."""
    n = draw(st.integers(1, 30))
    word = st.one_of(st.tuples(st.just("int"), st.integers(0, 2**20)),
                     st.tuples(st.sampled_from(["ref", "interior"]), st.integers(0, n - 1)))
    payloads = draw(st.lists(st.lists(word, max_size=4), min_size=n, max_size=n))
    roots = draw(st.lists(st.integers(0, n - 1), max_size=4))
    return payloads, roots, draw(st.none() | st.integers(0, n - 1))


@settings(max_examples=60, deadline=None)
@given(_graphs())
def test_survivors_are_exactly_the_reachable_objects(code: jit.CompiledCode, graph) -> None:
    payloads, roots, in_flight = graph
    with Heap(code) as heap:
        objs = [heap.alloc(len(p)) for p in payloads]
        for obj, payload in zip(objs, payloads):
            for i, (kind, value) in enumerate(payload):
                bits = value if kind == "int" else objs[value] + (SLOT if kind == "interior" else 0)
                _set_payload(obj, i, bits)
        cells = [native.slots(1, [objs[r]]) for r in roots]
        for cell in cells:
            heap.root_add(RootKind.CELL, native.address(cell))
        if in_flight is not None:
            heap.state[StoreState.EXCEPTION] = objs[in_flight]
        reachable, pending = set(), [*roots, *([in_flight] if in_flight is not None else [])]
        while pending:
            i = pending.pop()
            if i not in reachable:
                reachable.add(i)
                pending += [v for kind, v in payloads[i] if kind == "ref"]
        heap.collect()
        assert sorted(heap.objects()) == sorted(objs[i] for i in reachable)
        assert heap.threshold == max(MIN_THRESHOLD, 2 * len(reachable))


def _hold(code: jit.CompiledCode, heap: Heap, probe: str, scan: bool) -> list[int]:
    out = native.slots(64)
    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                          ctypes.c_int64)(code[probe])
    fn(heap.store, heap.tag, native.address(out), int(scan))
    return [obj for obj in out if obj]


@pytest.mark.parametrize("k", HELD)
def test_exnrefs_held_by_wasm_frames_survive_allocation(code: jit.CompiledCode, heap: Heap, k: int):
    # The (k+1)-th allocation collects while the probe holds k objects in its frame
    # and in callee-saved registers, found only by the conservative stack scan.
    heap.state[StoreState.EXN_THRESHOLD] = k
    held = _hold(code, heap, f"hold_{k}", scan=True)
    assert len(set(held)) == k + 1
    assert sorted(heap.objects()) == sorted(held)
    assert all(_field(obj, ExnObject.TAG) == heap.tag for obj in held)
    assert heap.threshold == MIN_THRESHOLD


@pytest.mark.parametrize("k", HELD)
def test_exnrefs_held_in_callee_saved_registers_survive(code: jit.CompiledCode, heap: Heap, k: int):
    # Calling exn_collect directly, nothing between the probe and the collector saves
    # the registers holding the probe's exnrefs but exn_collect's own prologue.
    held = _hold(code, heap, f"collect_{k}", scan=True)
    assert len(set(held)) == k
    assert sorted(heap.objects()) == sorted(held)
    assert all(_field(obj, ExnObject.TAG) == heap.tag for obj in held)


@pytest.mark.parametrize("probe", [f"{how}_{k}" for k in HELD for how in ("hold", "collect")])
def test_without_an_entry_frame_the_stack_is_not_scanned(code: jit.CompiledCode, heap: Heap, probe: str):
    k = int(probe.split("_")[1])
    heap.state[StoreState.EXN_THRESHOLD] = k
    held = _hold(code, heap, probe, scan=False)
    assert heap.objects() == ([held[-1]] if probe.startswith("hold") else [])


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_million_dropped_exceptions_keep_memory_flat(code: jit.CompiledCode, heap: Heap):
    loop = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.c_int64)(code["alloc_loop"])
    assert loop(heap.store, heap.tag, 100_000) == 0
    before = _rss()
    assert loop(heap.store, heap.tag, 1_000_000) == 0
    growth = _rss() - before
    assert heap.count <= MIN_THRESHOLD and heap.threshold == MIN_THRESHOLD
    # Kept, the million objects would take some 50 MB.
    assert growth < 2 * 2**20, growth


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def test_collection_returns_memory_to_libc(heap: Heap):
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("libc has no mallinfo2")
    libc.mallinfo2.restype = _MallInfo2
    fields = 64
    heap.state[StoreState.EXN_THRESHOLD] = 10**6     # no collection while allocating
    for _ in range(4000):
        heap.alloc(fields)
    before = libc.mallinfo2().uordblks
    heap.collect()
    released = before - libc.mallinfo2().uordblks
    assert released >= 4000 * (ExnObject.FIELDS + fields) * SLOT * 0.95, released


_PROLOGUE_SAVES = {
    X86_64: [r"pushq\s+%rbx", r"pushq\s+%rbp", *(rf"pushq\s+%r{i}\b" for i in range(12, 16))],
    AARCH64: [rf"\bx{i}\b" for i in range(19, 30)],
    S390X: [r"stmg\s+%r6, %r15,"],
}
"""Where each target's callee-saved general registers (x86-64: rbx, rbp, r12-r15;
AArch64: x19-x29; s390x: r6-r15) are saved on entry."""


@pytest.mark.parametrize("target", list(_PROLOGUE_SAVES), ids=lambda t: t.triple.split("-")[0])
def test_exn_collect_saves_every_callee_saved_register(target: Target):
    ref = jit.optimize(collector_module(target), target, 2)
    obj = jit.emit_object(ref, target)
    assert obj.startswith(b"\x7fELF") and all(name.encode() in obj for name in EXPORTS)
    asm = target.machine.emit_assembly(ref)
    body = asm[asm.index(f"\n{EXN_COLLECT}:"):]
    prologue = re.split(r"\n\s*(?:callq|bl|brasl)\s", body)[0]
    for save in _PROLOGUE_SAVES[target]:
        assert re.search(save, prologue), (save, prologue)
