"""Trampolines between the C calling convention and the wasm one, per signature.

* ``entry_<sig>(code, vmctx, buf) -> i32`` (C): how Python calls a wasm function --
  arguments are read from ``buf`` (one 8-byte slot each), the results written back to
  it, and the unwind status returned.
* ``host_<sig>(hostctx, params...)`` (wasm convention): what a host function's
  :class:`~engine.compile.layout.FuncRecord` points at.  It spills the arguments into
  a buffer and calls the C callback stored in ``hostctx`` (a
  :class:`~engine.compile.layout.HostContext`) -- the only
  way compiled code reaches Python.  The callback returns a status like any wasm
  function, so a Python exception never crosses native frames.
"""
from __future__ import annotations

import llvmlite.ir as ir

from ..syntax.types import FuncType
from .layout import HostContext, StoreState, VMContext
from .types import (I32T, I64T, PTR, WASM_CC, callable_pointer, declare, field_ptr, from_slot,
                    llvm_type, result_type, to_slot, wasm_function_type)

HOST_CALLBACK = ir.FunctionType(I32T, [PTR, PTR])
"""``i32 callback(hostctx, buf)``: the C signature of a host function's callback."""


def signature_key(ft: FuncType) -> str:
    """A symbol-safe name for the LLVM-level signature (all references are pointers)."""
    code = {"i32": "i", "i64": "l", "float": "f", "double": "d", "ptr": "r"}
    params = "".join(code[str(llvm_type(t))] for t in ft.params)
    results = "".join(code[str(llvm_type(t))] for t in ft.results)
    return f"{params}_{results}"


def _slot(b: ir.IRBuilder, buf: ir.Value, i: int) -> ir.Value:
    return b.gep(buf, [I64T(i)], source_etype=I64T)


def emit_entry(module: ir.Module, ft: FuncType) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(I32T, [PTR, PTR, PTR]), f"entry_{signature_key(ft)}")
    code, vmctx, buf = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    # Whole slots, converted as values: a narrower load or store would touch the low
    # half of a slot only on little-endian targets and leave the other half stale.
    args = [from_slot(b, b.load(_slot(b, buf, i), typ=I64T), llvm_type(t))
            for i, t in enumerate(ft.params)]
    # The outermost entry into wasm sets the stack limit from its own frame address, so
    # the budget holds however deep the Python stack already is; nested entries (host
    # code calling back into wasm) keep the outer limit.
    store = b.load(field_ptr(b, vmctx, VMContext.STORE.offset), typ=PTR)
    limit_ptr = field_ptr(b, store, StoreState.STACK_LIMIT.offset)
    outermost = b.icmp_unsigned("==", b.load(limit_ptr, typ=I64T), I64T(0))
    with b.if_then(outermost):
        frameaddress = declare(module, "llvm.frameaddress.p0", ir.FunctionType(PTR, [I32T]))
        frame = b.call(frameaddress, [I32T(0)])
        budget = b.load(field_ptr(b, store, StoreState.MAX_STACK.offset), typ=I64T)
        b.store(b.sub(b.ptrtoint(frame, I64T), budget), limit_ptr)
        # The top of the stack the exception collector scans for exnrefs.
        b.store(b.ptrtoint(frame, I64T), field_ptr(b, store, StoreState.ENTRY_FRAME.offset))
    result = b.call(callable_pointer(b, code, wasm_function_type(ft)), [vmctx] + args, cconv=WASM_CC)
    with b.if_then(outermost):
        b.store(I64T(0), limit_ptr)
        b.store(I64T(0), field_ptr(b, store, StoreState.ENTRY_FRAME.offset))
    for i in range(len(ft.results)):
        b.store(to_slot(b, b.extract_value(result, i + 1)), _slot(b, buf, i))
    b.ret(b.extract_value(result, 0))
    return fn


def emit_host_stub(module: ir.Module, ft: FuncType) -> ir.Function:
    fn = ir.Function(module, wasm_function_type(ft), f"host_{signature_key(ft)}")
    fn.calling_convention = WASM_CC
    hostctx, *params = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    buf = b.alloca(I64T, size=max(len(ft.params), len(ft.results), 1))
    for i, p in enumerate(params):
        b.store(to_slot(b, p), _slot(b, buf, i))
    callback = callable_pointer(
        b, b.load(field_ptr(b, hostctx, HostContext.CALLBACK.offset), typ=PTR), HOST_CALLBACK)
    status = b.call(callback, [hostctx, buf])
    agg = ir.Constant(result_type(ft), ir.Undefined)
    agg = b.insert_value(agg, status, 0)
    for i, t in enumerate(ft.results):
        agg = b.insert_value(agg, from_slot(b, b.load(_slot(b, buf, i), typ=I64T), llvm_type(t)),
                             i + 1)
    b.ret(agg)
    return fn


def trampoline_module(ft: FuncType, triple: str, data_layout: str) -> ir.Module:
    module = ir.Module(name=f"trampolines_{signature_key(ft)}")
    module.triple, module.data_layout = triple, data_layout
    emit_entry(module, ft)
    emit_host_stub(module, ft)
    return module


__all__ = ["HOST_CALLBACK", "emit_entry", "emit_host_stub", "signature_key",
           "trampoline_module"]
