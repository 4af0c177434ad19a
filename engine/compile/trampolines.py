"""Trampolines between the C calling convention and the wasm one, per shape.

A module's code carries the trampolines its own use needs (see
:class:`~engine.runtime.module.Module`), and an engine can load one shape's pair on
its own; either serves every function of a signature of that shape, wherever it is
defined.  Their object code comes from :class:`TrampolineObjects`, which compiles each
trampoline once per process and target.

* ``entry_<shape>(code, vmctx, buf) -> i32`` (C): how Python calls a wasm function --
  arguments are read from ``buf`` (one 8-byte slot each), the results written back to
  it, and the unwind status returned.  Like every caller it passes the values beyond
  the registers through the store's spill area (see :mod:`.callconv`).
* ``host_<shape>(hostctx, params...)`` (wasm convention): what a host function's
  :class:`~engine.compile.layout.FuncRecord` points at.  It spills the arguments into
  a buffer and calls the C callback stored in ``hostctx`` (a
  :class:`~engine.compile.layout.HostContext`) -- the only
  way compiled code reaches Python.  The callback returns a status like any wasm
  function, so a Python exception never crosses native frames.

A trampoline moves values between buffer slots and registers, so its code depends on
a signature's :class:`Shape` only: which registers its values travel in, and how many
slots the spill area holds.  The convention gives integers and references one register
class and floats the other, each class in order, whatever the order of the values
between classes; and an ``i32`` travels in the low half of the register an ``i64`` or a
reference would take.  So a shape names each register value's class only -- ``i64``
for an integer or reference, ``float`` or ``double`` -- integers first, then floats.
Calling a function through a type of its shape is an exact match on every target in
the machine code (``tests/test_trampolines.py`` checks that a trampoline serves every
signature of its shape); at the IR level the types differ, which no optimiser sees,
since a trampoline only ever meets its callee through a pointer.  What a shape leaves
out the caller of a trampoline supplies (:class:`BufferOrder`): each value's slot in
the buffer, in the shape's order, and that a 32-bit value's slot has an undefined high
half.  In a fuzzing campaign a module needs new trampolines some 40% as often as it did
with one pair per signature: 1.0 against 2.3 per module over a process's cases 300 to
600, 0.7 against 1.8 from the 1,000th case on.

Both are written as LLVM IR text straight away: they are a few fixed lines per value,
and building them with ``llvmlite.ir`` took longer than compiling them.  Slots move as
whole ``i64`` values, converted as values: a narrower load or store would touch the low
half of a slot only on little-endian targets and leave the other half stale.

Compiled into each module, a generated module's six trampolines on average made a
quarter of its code generation (1.6 ms of 6.7), and a fuzzing campaign meets the same
shapes again and again.  So each is compiled once (:class:`TrampolineObjects`) and its
object file loaded wherever it is needed again.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property, lru_cache

import llvmlite.binding as llvm
import llvmlite.ir as ir

from ..syntax.module import Module
from ..syntax.types import F32, F64, I32, ExternKind, FuncType, ValType
from . import faults, irtext, jit
from .callconv import NO_UNWIND, signature, spill_offset
from .layout import HostContext, StoreState, VMContext
from .target import Registers, Target
from .types import I32T, PTR, declare

NO_PARAMS = FuncType((), ())
"""The signature of ``rt_initialize`` (``initialize.py``), which Python calls like any
wasm function."""

HOST_CALLBACK = ir.FunctionType(I32T, [PTR, PTR])
"""``i32 callback(hostctx, buf)``: the C signature of a host function's callback."""

FRAMEADDRESS = "llvm.frameaddress.p0"
"""The intrinsic entry trampolines call: a module carrying them must declare it."""
STACKSAVE = "llvm.stacksave.p0"
"""Called by entry trampolines only with the planted fault ``frame_record_offset``."""

_CLASS = {F32: "float", F64: "double"}
"""The register class of a value type that is not an integer or reference (``i64``)."""
_CODE = {"i64": "l", "float": "f", "double": "d"}


@dataclass(frozen=True)
class Shape:
    """All a trampoline's code depends on (see the module docstring): the types, as
    registers take them, of the parameters and results that travel in registers,
    integers first, and how many travel through the spill area."""

    params: tuple[str, ...]
    spilled_params: int
    results: tuple[str, ...]
    spilled_results: int

    @cached_property
    def key(self) -> str:
        """A symbol-safe name: a letter per register value (``l``, ``f``, ``d``), an
        ``s`` per spilled one, the parameters' and the results' parted by ``_``."""
        return ("".join(_CODE[t] for t in self.params) + "s" * self.spilled_params + "_"
                + "".join(_CODE[t] for t in self.results) + "s" * self.spilled_results)

    @cached_property
    def result_type(self) -> str:
        return "{" + ", ".join(["i32", *self.results]) + "}"


@dataclass(frozen=True)
class BufferOrder:
    """Where a trampoline's buffer holds the values of one signature: ``params[i]`` is
    the slot of parameter ``i``, ``results[i]`` that of result ``i`` (the shape's order:
    integers in registers, floats in registers, then the spilled values), and
    ``param_masks``/``result_masks`` the bits of each slot its value has (a 32-bit
    value's register, and so its slot, has an undefined high half)."""

    shape: Shape
    params: tuple[int, ...]
    results: tuple[int, ...]
    param_masks: tuple[int, ...]
    result_masks: tuple[int, ...]


def _in_shape_order(types: tuple[ValType, ...], registers: tuple[int, ...],
                    spilled: tuple[int, ...]) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """For one side of a signature: its register values' classes in the shape's order,
    each value's slot, and each value's mask."""
    ints = [i for i in registers if types[i] not in _CLASS]
    floats = [i for i in registers if types[i] in _CLASS]
    order = ints + floats + list(spilled)
    slots = [0] * len(types)
    for k, i in enumerate(order):
        slots[i] = k
    masks = tuple(0xFFFF_FFFF if t in (I32, F32) else 0xFFFF_FFFF_FFFF_FFFF for t in types)
    return tuple("i64" for _ in ints) + tuple(_CLASS[types[i]] for i in floats), tuple(slots), masks


@lru_cache(maxsize=4096)
def buffer_order(ft: FuncType, registers: Registers) -> BufferOrder:
    """The shape of ``ft`` on a target with ``registers``, and where its buffers hold
    its values."""
    sig = signature(ft, registers)
    params, param_slots, param_masks = _in_shape_order(ft.params, sig.register_params, sig.spilled_params)
    results, result_slots, result_masks = _in_shape_order(ft.results, sig.register_results,
                                                          sig.spilled_results)
    shape = Shape(params, len(sig.spilled_params), results, len(sig.spilled_results))
    return BufferOrder(shape, param_slots, result_slots, param_masks, result_masks)


def entry_symbol(shape: Shape) -> str:
    return f"entry_{shape.key}"


def host_symbol(shape: Shape) -> str:
    return f"host_{shape.key}"


def _field(base: str, offset: int, name: str) -> tuple[list[str], str]:
    """Lines computing the address of the field at byte ``offset`` of ``base``, and
    that address."""
    if not offset:
        return [], base
    return [f"%{name} = getelementptr i8, ptr {base}, i64 {offset}"], f"%{name}"


def _from_slot(slot: str, typ: str, name: str) -> tuple[list[str], str]:
    """Lines converting the ``i64`` ``slot`` to register type ``typ`` (named ``name`` if
    that takes an instruction), and the converted value."""
    if typ == "float":
        return [f"%{name}.bits = trunc i64 {slot} to i32",
                f"%{name} = bitcast i32 %{name}.bits to float"], f"%{name}"
    if typ == "double":
        return [f"%{name} = bitcast i64 {slot} to double"], f"%{name}"
    return [], slot


def _to_slot(value: str, typ: str, name: str) -> tuple[list[str], str]:
    """Lines converting ``value`` of register type ``typ`` to an ``i64`` (named ``name``
    if that takes an instruction), and the slot value."""
    if typ == "float":
        return [f"%{name}.bits = bitcast float {value} to i32",
                f"%{name} = zext i32 %{name}.bits to i64"], f"%{name}"
    if typ == "double":
        return [f"%{name} = bitcast double {value} to i64"], f"%{name}"
    return [], value


def _function(header: str, blocks: dict[str, list[str]]) -> str:
    body = "".join(f"{label}:\n" + "".join(f"  {line}\n" for line in lines)
                   for label, lines in blocks.items())
    return f"{header} {{\n{body}}}\n"


def _spill_slot(store: str, k: int, name: str) -> tuple[list[str], str]:
    """Lines computing the address of slot ``k`` of ``store``'s spill area, and it."""
    return _field(store, spill_offset(k), name)


def _buf_slot(i: int, name: str) -> list[str]:
    return [f"%{name} = getelementptr i64, ptr %buf, i64 {i}"]


def entry_text(shape: Shape) -> str:
    """The definition of the entry trampoline of ``shape``."""
    entry: list[str] = []
    args = ""
    for k, typ in enumerate(shape.params):
        convert, arg = _from_slot(f"%arg{k}.slot", typ, f"arg{k}")
        entry += [*_buf_slot(k, f"arg{k}.ptr"), f"%arg{k}.slot = load i64, ptr %arg{k}.ptr", *convert]
        args += f", {typ} {arg}"
    # The outermost entry into wasm sets the stack limit from its own frame address, so
    # the budget holds however deep the Python stack already is -- but never below the
    # floor, the thread's real stack bottom plus room for host code (see
    # engine/runtime/stack.py); nested entries (host code calling back into wasm) keep
    # the outer limit.  The frame address is also the top of the stack the exception
    # collector scans for exnrefs.
    store_lines, store_ptr = _field("%vmctx", VMContext.STORE.offset, "store.ptr")
    limit_lines, limit_ptr = _field("%store", StoreState.STACK_LIMIT.offset, "limit.ptr")
    budget_lines, budget_ptr = _field("%store", StoreState.MAX_STACK.offset, "budget.ptr")
    floor_lines, floor_ptr = _field("%store", StoreState.STACK_FLOOR.offset, "floor.ptr")
    top_lines, top_ptr = _field("%store", StoreState.ENTRY_FRAME.offset, "top.ptr")
    entry += [*store_lines, f"%store = load ptr, ptr {store_ptr}",
              *limit_lines, f"%limit = load i64, ptr {limit_ptr}",
              *top_lines,
              "%outermost = icmp eq i64 %limit, 0",
              "br i1 %outermost, label %enter, label %call"]
    top, fault = "%frame.int", []
    if "frame_record_offset" in faults.active:     # planted: see engine/compile/faults.py
        top, fault = "%top", [f"%sp = call ptr @{STACKSAVE}()", "%sp.int = ptrtoint ptr %sp to i64",
                              "%top = sub i64 %sp.int, 16"]
    enter = [f"%frame = call ptr @{FRAMEADDRESS}(i32 0)", "%frame.int = ptrtoint ptr %frame to i64",
             *budget_lines, f"%budget = load i64, ptr {budget_ptr}",
             "%room = icmp ugt i64 %frame.int, %budget",
             "%below = sub i64 %frame.int, %budget",
             "%wanted = select i1 %room, i64 %below, i64 0",
             *floor_lines, f"%floor = load i64, ptr {floor_ptr}",
             "%shallow = icmp ugt i64 %floor, %wanted",
             "%new.limit = select i1 %shallow, i64 %floor, i64 %wanted",
             f"store i64 %new.limit, ptr {limit_ptr}",
             *fault, f"store i64 {top}, ptr {top_ptr}",
             "br label %call"]
    rt = shape.result_type
    call: list[str] = []
    for k in range(shape.spilled_params):
        i = len(shape.params) + k
        spill_lines, spill_ptr = _spill_slot("%store", k, f"spill{k}.ptr")
        call += [*_buf_slot(i, f"arg{i}.ptr"), f"%arg{i}.slot = load i64, ptr %arg{i}.ptr",
                 *spill_lines, f"store i64 %arg{i}.slot, ptr {spill_ptr}"]
    call += [f"%result = call tailcc {rt} %code(ptr %vmctx{args})",
             "br i1 %outermost, label %leave, label %done"]
    leave = [f"store i64 0, ptr {limit_ptr}", f"store i64 0, ptr {top_ptr}", "br label %done"]
    done: list[str] = []
    for k, typ in enumerate(shape.results):
        convert, slot = _to_slot(f"%res{k}", typ, f"res{k}.slot")
        done += [f"%res{k} = extractvalue {rt} %result, {k + 1}", *convert,
                 *_buf_slot(k, f"res{k}.ptr"), f"store i64 {slot}, ptr %res{k}.ptr"]
    for k in range(shape.spilled_results):
        i = len(shape.results) + k
        spill_lines, spill_ptr = _spill_slot("%store", k, f"rspill{k}.ptr")
        done += [*spill_lines, f"%res{i}.slot = load i64, ptr {spill_ptr}",
                 *_buf_slot(i, f"res{i}.ptr"), f"store i64 %res{i}.slot, ptr %res{i}.ptr"]
    done += [f"%status = extractvalue {rt} %result, 0", "ret i32 %status"]
    return _function(f'define i32 @"{entry_symbol(shape)}"(ptr %code, ptr %vmctx, ptr %buf) {NO_UNWIND}',
                     {"entry": entry, "enter": enter, "call": call, "leave": leave, "done": done})


def host_stub_text(shape: Shape) -> str:
    """The definition of the host stub of ``shape``."""
    rt = shape.result_type
    params = "".join(f", {typ} %p{k}" for k, typ in enumerate(shape.params))
    store_lines, store_ptr = _field("%hostctx", HostContext.STORE.offset, "store.ptr")
    size = max(len(shape.params) + shape.spilled_params, len(shape.results) + shape.spilled_results, 1)
    lines = [f"%buf = alloca i64, i32 {size}", *store_lines, f"%store = load ptr, ptr {store_ptr}"]
    for k, typ in enumerate(shape.params):
        convert, slot = _to_slot(f"%p{k}", typ, f"p{k}.slot")
        lines += [*convert, *_buf_slot(k, f"p{k}.ptr"), f"store i64 {slot}, ptr %p{k}.ptr"]
    for k in range(shape.spilled_params):
        i = len(shape.params) + k
        spill_lines, spill_ptr = _spill_slot("%store", k, f"spill{k}.ptr")
        lines += [*spill_lines, f"%p{i}.slot = load i64, ptr {spill_ptr}",
                  *_buf_slot(i, f"p{i}.ptr"), f"store i64 %p{i}.slot, ptr %p{i}.ptr"]
    callback_lines, callback_ptr = _field("%hostctx", HostContext.CALLBACK.offset, "callback.ptr")
    lines += [*callback_lines, f"%callback = load ptr, ptr {callback_ptr}",
              "%status = call i32 %callback(ptr %hostctx, ptr %buf)",
              f"%agg0 = insertvalue {rt} undef, i32 %status, 0"]
    for k, typ in enumerate(shape.results):
        convert, value = _from_slot(f"%res{k}.slot", typ, f"res{k}")
        lines += [*_buf_slot(k, f"res{k}.ptr"), f"%res{k}.slot = load i64, ptr %res{k}.ptr", *convert,
                  f"%agg{k + 1} = insertvalue {rt} %agg{k}, {typ} {value}, {k + 1}"]
    for k in range(shape.spilled_results):
        i = len(shape.results) + k
        spill_lines, spill_ptr = _spill_slot("%store", k, f"rspill{k}.ptr")
        lines += [*_buf_slot(i, f"res{i}.ptr"), f"%res{i}.slot = load i64, ptr %res{i}.ptr",
                  *spill_lines, f"store i64 %res{i}.slot, ptr {spill_ptr}"]
    lines.append(f"ret {rt} %agg{len(shape.results)}")
    return _function(f'define tailcc {rt} @"{host_symbol(shape)}"(ptr %hostctx{params}) {NO_UNWIND}',
                     {"entry": lines})


def module_trampolines(module: Module, registers: Registers) -> dict[str, Shape]:
    """The trampolines that using ``module`` takes on a target with ``registers``, by
    symbol: the entry of every exported function's shape and of ``rt_initialize``'s, and
    the host stub of every imported function's (host functions filling those imports
    need one)."""
    func_types = module.func_types()
    none = buffer_order(NO_PARAMS, registers).shape
    wanted = {entry_symbol(none): none}
    for export in module.exports:
        if export.kind is ExternKind.FUNC:
            shape = buffer_order(func_types[export.index], registers).shape
            wanted.setdefault(entry_symbol(shape), shape)
    for imp in module.imports:
        if imp.kind is ExternKind.FUNC:
            shape = buffer_order(module.types[imp.desc], registers).shape  # type: ignore[index]
            wanted.setdefault(host_symbol(shape), shape)
    return wanted


def trampolines_text(module: irtext.Module, wanted: dict[str, Shape]) -> str:
    """The definitions of the trampolines ``wanted`` (by symbol, as :func:`entry_symbol`
    and :func:`host_symbol` name them), to compile along with ``module``, in which this
    declares what they call."""
    declare(module, FRAMEADDRESS, ir.FunctionType(PTR, [I32T]))
    if "frame_record_offset" in faults.active:
        declare(module, STACKSAVE, ir.FunctionType(PTR, []))
    return "".join(entry_text(shape) if symbol.startswith("entry_") else host_stub_text(shape)
                   for symbol, shape in wanted.items())


def pair(shape: Shape) -> dict[str, Shape]:
    """``shape``'s entry trampoline and host stub, by symbol."""
    return {entry_symbol(shape): shape, host_symbol(shape): shape}


class TrampolineObjects:
    """Object code of trampolines for one target, compiled once and kept by symbol.

    The rules: each trampoline is compiled the first time it is asked for, into the
    object file of the module that asks (``engine/runtime/module.py``: no object file,
    no code generation of its own) or, asked for alone, into one of a batch generated at
    ``opt_level`` 0 (trampolines run once per call from Python and are never
    optimised); that object file then *provides* the trampoline to everything loaded
    later, each object file with every symbol it defines; a symbol is provided by one
    object file at most, so the object files of one request never define a symbol
    twice; once the object files kept hold more than :data:`CAPACITY` bytes, the least
    recently asked for go, whole."""

    CAPACITY = 8 << 20
    """Bytes of object code kept (some 400 module objects, or 8,000 trampolines)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._provided: OrderedDict[int, tuple[bytes, frozenset[str]]] = OrderedDict()
        self._provider: dict[str, int] = {}
        self._size = 0
        self._count = 0
        self._lock = threading.Lock()

    def objects(self, wanted: dict[str, Shape]) -> tuple[list[tuple[bytes, frozenset[str]]],
                                                          dict[str, Shape]]:
        """The object files that provide trampolines of ``wanted`` (by symbol, as
        :func:`entry_symbol` and :func:`host_symbol` name them), each with the symbols it
        defines; and the trampolines none provides, for the caller to compile and
        :meth:`provide`."""
        with self._lock:
            missing = {symbol: ft for symbol, ft in wanted.items() if symbol not in self._provider}
            kept = list(dict.fromkeys(self._provider[symbol] for symbol in wanted if symbol not in missing))
            for index in kept:
                self._provided.move_to_end(index)
            found = [self._provided[index] for index in kept]
            while self._size > self.CAPACITY and len(self._provided) > len(kept):
                _, (code, symbols) = self._provided.popitem(last=False)
                self._size -= len(code)
                for symbol in symbols:
                    if symbol in self._provider:
                        del self._provider[symbol]
            return found, missing

    def provide(self, code: bytes, symbols: frozenset[str]) -> None:
        """Keep the object file ``code``, which defines ``symbols``, as the provider of
        the trampolines among them that none provides yet."""
        with self._lock:
            self._count += 1
            self._provided[self._count] = code, symbols
            self._size += len(code)
            for symbol in symbols:
                self._provider.setdefault(symbol, self._count)

    def compile(self, wanted: dict[str, Shape]) -> list[tuple[bytes, frozenset[str]]]:
        """Object files providing every trampoline of ``wanted``, the missing ones
        compiled as one batch."""
        found, missing = self.objects(wanted)
        if not missing:
            return found
        module = irtext.Module(name="trampolines")
        module.triple, module.data_layout = self.target.triple, self.target.data_layout
        ref = llvm.parse_assembly(str(module) + trampolines_text(module, missing))
        ref.verify()
        batch = jit.emit_object(ref, self.target, 0), frozenset(missing)
        self.provide(*batch)
        return [*found, batch]


_objects: dict[tuple[Target, frozenset[str]], TrampolineObjects] = {}
_objects_lock = threading.Lock()


def trampoline_objects(target: Target) -> TrampolineObjects:
    """The process's trampoline object code for ``target`` (and the faults planted now,
    which can change the trampolines)."""
    key = (target, frozenset(faults.active))
    with _objects_lock:
        found = _objects.get(key)
        if found is None:
            found = _objects[key] = TrampolineObjects(target)
        return found


__all__ = ["FRAMEADDRESS", "HOST_CALLBACK", "NO_PARAMS", "BufferOrder", "Shape", "TrampolineObjects",
           "buffer_order", "entry_symbol", "entry_text", "host_stub_text", "host_symbol", "module_trampolines",
           "pair", "trampoline_objects", "trampolines_text"]
