"""Translation of one function body to LLVM IR.

The operand stack is simulated at compile time as a list of SSA values; locals are
``alloca`` slots that LLVM promotes to registers.  Each structured instruction gets a
:class:`Frame`: branches to a block, ``if`` or ``try_table`` label feed the phi nodes
of its continuation block, branches to a ``loop`` label feed the phis of its header.
Code after an unconditional transfer (``br``, ``return``, ``unreachable``, ``throw``)
is unreachable and skipped until the ``else``/``end`` that makes code reachable again.

Unwinding is explicit: every call returns a status; a non-zero status branches to the
handler of the innermost enclosing ``try_table`` (see :mod:`.exceptions`) or to the
function's unwind block, which returns the status to its own caller.  A trap stores
its code in the store state and goes straight to the unwind block.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Collection, Sequence

import llvmlite.ir as ir

from ..errors import TrapCode
from ..syntax.instructions import OPS, Instr
from ..syntax.types import FuncType, ValType
from . import events
from . import exceptions as exc
from . import faults, helpers
from . import memory as mem
from .irtext import Block, Constant, Function, IRBuilder, Phi, Value
from .callconv import WASM_CC, Signature, spill_offset
from .layout import FuncRecord, StoreState, TableRecord, UnwindKind, VMContext
from .numeric import lower_const, lower_numeric
from .types import (I32T, I64T, NULL, PTR, callable_pointer, field_ptr, from_slot, i32, i64, llvm_type,
                    to_slot, zero)

if TYPE_CHECKING:
    from .module import ModuleCompiler

_OPENERS = frozenset({"block", "loop", "if", "try_table"})
_HELPER_TYPES = {field: helpers.TYPES[symbol] for field, symbol in helpers.STATE_POINTERS.items()}
"""The type of each run-time helper compiled code calls, by the store-state field
holding its address."""


@dataclass(slots=True)
class Frame:
    kind: str                                   # func, block, loop, if, else, try_table
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]
    height: int                                 # operand stack height below the params
    end_bb: Block                               # the continuation after ``end``
    incoming: list[tuple[Block, list[Value]]] = field(default_factory=list)
    header_bb: Block | None = None              # loops: branch target
    header_phis: list[Phi] = field(default_factory=list)
    else_bb: Block | None = None                # ifs: the false edge
    if_params: list[Value] = field(default_factory=list)
    handler_bb: Block | None = None             # try_tables: where unwinding inside goes
    handler_used: bool = False
    catches: tuple = ()

    @property
    def label_types(self) -> tuple[ValType, ...]:
        return self.params if self.kind == "loop" else self.results


class FunctionTranslator:
    """Implements :class:`~engine.compile.emitter.Emitter` for one function."""

    def __init__(self, mc: "ModuleCompiler", fn: Function, ft: FuncType,
                 local_types: Sequence[ValType] = (), written: Collection[int] = ()) -> None:
        """``written``: the locals (parameters included) the body sets: the others keep
        their first value throughout, and take no stack slot."""
        self.mc = mc
        self.module = mc.ir_module
        self.target = mc.target
        self.canonicalize_nans = mc.options.canonicalize_nans
        self.fn = fn
        self.ft = ft
        self.signature = mc.signature(ft)
        self.builder = IRBuilder(self.fn.append_basic_block("entry"))
        self.entry_block = self.builder.block
        self._fixed: dict[object, Value] = {}
        self.vmctx = self.fn.args[0]
        self.stack: list[Value] = []
        self.frames: list[Frame] = []
        self.dead = False
        self.dead_depth = 0
        self._trap_bb: Block | None = None
        self._trap_code: Phi | None = None
        self._unwind_bb: Block | None = None
        self.locals: list[tuple[Value, ValType]] = []
        """Each local's stack slot, or its value if the body never sets it, and its type."""
        self.constant_locals: set[int] = set()
        b = self.builder
        self.store_state = self.load_field(self.vmctx, VMContext.STORE.offset, PTR, "store")
        params = self.take_params()
        for i, t in enumerate(list(self.ft.params) + list(local_types)):
            value = params[i] if i < len(params) else zero(t)
            if i in written:
                slot = b.alloca(llvm_type(t), name=f"local{i}")
                b.store(value, slot)
                self.locals.append((slot, t))
            else:
                self.locals.append((value, t))
                self.constant_locals.add(i)
        self.frames.append(Frame("func", (), self.ft.results, 0,
                                 self.fn.append_basic_block("return")))
        self.check_stack()
        self.consume_fuel()

    # -- Emitter protocol --------------------------------------------------------------

    def trap_if(self, cond: Value, code: TrapCode) -> None:
        if isinstance(cond, Constant) and not cond.constant:    # folded: never traps
            return
        cont = self.fn.append_basic_block("ok")
        self.unlikely(self.builder.cbranch(cond, self.trap_block(code), cont))
        self.builder.position_at_end(cont)

    def unlikely(self, branch: object) -> None:
        """Weight ``branch`` towards its false edge: traps and unwinding are rare, and
        laying them out of line keeps the hot path straight."""
        branch.set_metadata("prof", self.mc.unlikely_weights)  # type: ignore[attr-defined]

    def intrinsic(self, name: str, ret: ir.Type, args: list[ir.Type]) -> Function:
        return self.mc.intrinsic(name, ret, args)

    # -- helpers -------------------------------------------------------------------------

    def load_field(self, base: Value, offset: int, typ: ir.Type, name: str = "") -> Value:
        """Load a field of an engine record (see ``layout``)."""
        load = self.builder.load(field_ptr(self.builder, base, offset), name=name, typ=typ)
        self.mc.tag_access(load, self.mc.tbaa_record)
        return load

    def store_field(self, base: Value, offset: int, value: Value) -> None:
        store = self.builder.store(value, field_ptr(self.builder, base, offset))
        self.mc.tag_access(store, self.mc.tbaa_record)

    def slot(self, array: Value, index: Value | int, typ: ir.Type = PTR) -> Value:
        """Load element ``index`` of an array of 8-byte slots."""
        idx = i64(index) if isinstance(index, int) else index
        return self.builder.load(self.builder.gep(array, [idx], source_etype=I64T), typ=typ)

    # Fixed values: what the instance context leads to never changes once the instance
    # is initialised, before any of its functions runs, so a function loads each once,
    # in its entry block (which dominates every use), instead of at every use -- shorter
    # IR, and fewer reloads after calls.

    def fixed(self, key: object, compute: Callable[[], Value]) -> Value:
        """The value ``compute()`` emits, emitted once in the entry block; ``compute``
        must emit plain instructions only (no nested :meth:`fixed`)."""
        value = self._fixed.get(key)
        if value is None:
            with self.builder.goto_block(self.entry_block):
                value = self._fixed[key] = compute()
        return value

    def helper(self, field: StoreState) -> Value:
        """The run-time helper whose address the store state holds in ``field`` (see
        :mod:`.helpers`), as a callee."""
        address = self.fixed(("helper", field), lambda: self.load_field(self.store_state, field.offset, PTR))
        return callable_pointer(self.builder, address, _HELPER_TYPES[field])

    def instance_array(self, field: VMContext) -> Value:
        """An index space's array, or another field of the instance context."""
        return self.fixed(field, lambda: self.load_field(self.vmctx, field.offset, PTR))

    def instance_slot(self, field: VMContext, index: int, typ: ir.Type = PTR) -> Value:
        """Entry ``index`` of the index-space array ``field``: a function's, table's or
        tag's record, a global's cell or a type id."""
        array = self.instance_array(field)
        return self.fixed((field, index), lambda: self.slot(array, index, typ))

    def trap_block(self, code: TrapCode) -> Block:
        """Where the current block goes to trap with ``code``: the function's one trap
        block, which stores the code -- a phi of its predecessors' codes -- in the store
        state and unwinds.  A block per code took four instructions each, some 17 of
        them in a generated module."""
        if self._trap_bb is None:
            self._trap_bb = self.fn.append_basic_block("trap")
            saved = self.builder.block
            self.builder.position_at_end(self._trap_bb)
            self._trap_code = self.builder.phi(I64T)
            self.store_field(self.store_state, StoreState.UNWIND.offset, i64(UnwindKind.TRAP))
            self.store_field(self.store_state, StoreState.TRAP_CODE.offset, self._trap_code)
            self.builder.branch(self.unwind_bb())
            self.builder.position_at_end(saved)
        assert self._trap_code is not None
        self._trap_code.add_incoming(i64(code), self.builder.block)
        return self._trap_bb

    def unwind_bb(self) -> Block:
        """Where a non-zero status goes: return it to the caller."""
        if self._unwind_bb is None:
            self._unwind_bb = self.fn.append_basic_block("unwind")
            saved = self.builder.block
            self.builder.position_at_end(self._unwind_bb)
            rt = self.signature.result_type
            self.builder.ret(self.builder.insert_value(ir.Constant(rt, ir.Undefined), i32(1), 0))
            self.builder.position_at_end(saved)
        return self._unwind_bb

    def check_stack(self) -> None:
        """Trap with STACK_OVERFLOW when this frame would go below the store's stack limit."""
        b = self.builder
        frame = b.call(self.intrinsic("llvm.frameaddress.p0", PTR, [I32T]), [i32(0)])
        limit = self.load_field(self.store_state, StoreState.STACK_LIMIT.offset, I64T)
        self.trap_if(b.icmp_unsigned("<", b.ptrtoint(frame, I64T), limit), TrapCode.STACK_OVERFLOW)

    def count_event(self, index: int) -> None:
        """Count run-time event ``index`` (see :mod:`.events`), if the module counts them."""
        if not self.mc.options.count_events:
            return
        b = self.builder
        counters = self.fixed("events", lambda: self.load_field(self.store_state, StoreState.EVENTS.offset, PTR))
        counter = b.gep(counters, [i64(index)], source_etype=I64T)
        load = b.load(counter, typ=I64T)
        self.mc.tag_access(load, self.mc.tbaa_record)
        self.mc.tag_access(b.store(b.add(load, i64(1)), counter), self.mc.tbaa_record)

    def consume_fuel(self) -> None:
        """Fuel and epoch checks, at function entry and loop headers, when enabled."""
        b = self.builder
        if self.mc.options.fuel:
            fuel = self.load_field(self.store_state, StoreState.FUEL.offset, I64T)
            left = b.sub(fuel, i64(1))
            self.store_field(self.store_state, StoreState.FUEL.offset, left)
            self.trap_if(b.icmp_signed("<", left, i64(0)), TrapCode.OUT_OF_FUEL)
        if self.mc.options.epoch_interruption:
            # The engine's counter, which another thread advances: a volatile load of an
            # aligned i64 reads a value it held on every target (LLVM's memory model
            # leaves a racing volatile load to the target), stays in every loop, and is
            # one that LLVM's fast instruction selector takes (an atomic one is not).
            epoch_ptr = self.fixed("epoch", lambda: self.load_field(self.store_state, StoreState.EPOCH.offset, PTR))
            now = b.load_volatile(epoch_ptr, I64T)
            deadline = self.load_field(self.store_state, StoreState.EPOCH_DEADLINE.offset, I64T)
            self.trap_if(b.icmp_unsigned(">=", now, deadline), TrapCode.INTERRUPT)

    def pop(self, n: int) -> list[Value]:
        if n == 0:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    def set_dead(self) -> None:
        self.dead = True
        self.dead_depth = 0

    def block_type(self, bt: object) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
        if bt is None:
            return (), ()
        if isinstance(bt, int):
            ft = self.mc.module.types[bt]
            return ft.params, ft.results
        return (), (bt,)  # type: ignore[return-value]

    # -- translation ---------------------------------------------------------------------

    def translate(self, body: Sequence[Instr]) -> None:
        for ins in body:
            if self.dead:
                self.skip(ins)
            else:
                self.instr(ins)
        fallthrough = not self.dead
        self.dead = False
        self.end(fallthrough)

    def skip(self, ins: Instr) -> None:
        op = ins.op
        if op in _OPENERS:
            self.dead_depth += 1
        elif op == "end":
            if self.dead_depth:
                self.dead_depth -= 1
            else:
                self.dead = False
                self.end(fallthrough=False)
        elif op == "else" and self.dead_depth == 0:
            self.dead = False
            self.else_(fallthrough=False)

    def instr(self, ins: Instr) -> None:
        op = ins.op
        info = OPS[op]
        if info.sig is not None:
            if info.natural_align is not None:
                mem.lower_access(self, op, ins.imm[0], self.pop(len(info.sig[0])), self.stack)
                return
            args = self.pop(len(info.sig[0]))
            self.stack.append(lower_numeric(self, op, args))
            return
        if op.endswith(".const"):
            self.stack.append(lower_const(op, ins.imm[0]))
            return
        handler = _HANDLERS.get(op)
        if handler is None:
            mem.lower_bulk(self, op, ins.imm, self.stack)
            return
        handler(self, *ins.imm)

    # control -------------------------------------------------------------------------

    def push_frame(self, kind: str, bt: object) -> Frame:
        params, results = self.block_type(bt)
        frame = Frame(kind, params, results, len(self.stack) - len(params),
                      self.fn.append_basic_block(f"{kind}_end"))
        self.frames.append(frame)
        return frame

    def branch(self, depth: int) -> None:
        """Unconditional branch to label ``depth`` with the values on top of the stack."""
        frame = self.frames[-1 - depth]
        n = len(frame.label_types)
        values = self.stack[len(self.stack) - n:] if n else []
        self.add_incoming(frame, values)
        self.builder.branch(frame.header_bb if frame.kind == "loop" else frame.end_bb)

    def add_incoming(self, frame: Frame, values: list[Value]) -> None:
        bb = self.builder.block
        if frame.kind == "loop":
            for phi, v in zip(frame.header_phis, values):
                phi.add_incoming(v, bb)
        else:
            frame.incoming.append((bb, list(values)))

    def _unreachable(self) -> None:
        self.builder.branch(self.trap_block(TrapCode.UNREACHABLE))
        self.set_dead()

    def _nop(self) -> None:
        pass

    def _block(self, bt: object) -> None:
        self.push_frame("block", bt)

    def _loop(self, bt: object) -> None:
        frame = self.push_frame("loop", bt)
        b = self.builder
        frame.header_bb = self.fn.append_basic_block("loop")
        entry_values = self.pop(len(frame.params))
        pred = b.block
        b.branch(frame.header_bb)
        b.position_at_end(frame.header_bb)
        for t, v in zip(frame.params, entry_values):
            phi = b.phi(llvm_type(t))
            phi.add_incoming(v, pred)
            frame.header_phis.append(phi)
            self.stack.append(phi)
        self.consume_fuel()

    def _if(self, bt: object) -> None:
        cond = self.stack.pop()
        frame = self.push_frame("if", bt)
        b = self.builder
        then_bb = self.fn.append_basic_block("then")
        frame.else_bb = self.fn.append_basic_block("else")
        frame.if_params = self.stack[frame.height:]
        b.cbranch(self.truth(cond), then_bb, frame.else_bb)
        b.position_at_end(then_bb)

    def else_(self, fallthrough: bool = True) -> None:
        frame = self.frames[-1]
        if fallthrough:
            self.add_incoming(frame, self.stack[len(self.stack) - len(frame.results):])
            self.builder.branch(frame.end_bb)
        del self.stack[frame.height:]
        self.stack.extend(frame.if_params)
        frame.kind = "else"
        self.builder.position_at_end(frame.else_bb)

    def _else(self) -> None:
        self.else_()

    def _end(self) -> None:
        self.end()

    def end(self, fallthrough: bool = True) -> None:
        frame = self.frames[-1]
        b = self.builder
        if fallthrough:
            n = len(frame.results)
            values = self.stack[len(self.stack) - n:] if n else []
            if frame.kind == "loop":
                frame.incoming.append((b.block, list(values)))
                b.branch(frame.end_bb)
            else:
                self.add_incoming(frame, values)
                b.branch(frame.end_bb)
        if frame.kind == "if":   # no else: the false edge passes the params through
            b.position_at_end(frame.else_bb)
            self.add_incoming(frame, frame.if_params)
            b.branch(frame.end_bb)
        del self.stack[frame.height:]
        b.position_at_end(frame.end_bb)
        if frame.kind == "func":
            self.finish_function(reachable=bool(frame.incoming))
            return
        self.frames.pop()
        if frame.kind == "try_table":
            exc.emit_handler(self, frame)
        if not frame.incoming:
            b.unreachable()
            self.set_dead()
            return
        self.stack.extend(self.merge(frame))

    def merge(self, frame: Frame) -> list[Value]:
        """Phi nodes joining the values that reach ``frame``'s continuation."""
        if len(frame.incoming) == 1:
            return frame.incoming[0][1]
        phis = []
        for i, t in enumerate(frame.results):
            phi = self.builder.phi(llvm_type(t))
            for bb, values in frame.incoming:
                phi.add_incoming(values[i], bb)
            phis.append(phi)
        return phis

    def finish_function(self, reachable: bool) -> None:
        b = self.builder
        if not reachable:
            b.unreachable()
            return
        values = self.merge(self.frames[0])
        sig = self.signature
        spilled = sig.spilled_results
        if faults.on("reversed_spilled_results", self.mc.options.opt_level):
            spilled = spilled[::-1]
        for k, i in enumerate(spilled):
            self.store_field(self.store_state, spill_offset(k), to_slot(b, values[i]))
        agg = b.insert_value(ir.Constant(sig.result_type, ir.Undefined), i32(0), 0)
        for k, i in enumerate(sig.register_results):
            agg = b.insert_value(agg, values[i], k + 1)
        b.ret(agg)

    # The calling convention's spill area (see :mod:`.callconv`).

    def take_params(self) -> list[Value]:
        """This function's parameters: from its arguments and the spill area."""
        sig = self.signature
        params: list[Value | None] = [None] * len(self.ft.params)
        for k, i in enumerate(sig.register_params):
            params[i] = self.fn.args[1 + k]
        for k, i in enumerate(sig.spilled_params):
            slot = self.load_field(self.store_state, spill_offset(k), I64T)
            params[i] = from_slot(self.builder, slot, llvm_type(self.ft.params[i]))
        return params  # type: ignore[return-value]

    def pass_args(self, sig: Signature, args: list[Value], skew: int = 0) -> list[Value]:
        """Spill what of ``args`` a call of ``sig`` passes in the area (``skew`` slots
        further along: only the planted fault ``tail_call_spill_offset`` skews); the
        rest are the call's register arguments."""
        for k, i in enumerate(sig.spilled_params):
            self.store_field(self.store_state, spill_offset(k + skew), to_slot(self.builder, args[i]))
        return [args[i] for i in sig.register_params]

    def take_results(self, sig: Signature, result: Value) -> list[Value]:
        """The results of a call of ``sig`` that returned ``result`` with status 0."""
        b = self.builder
        values: list[Value | None] = [None] * len(sig.ft.results)
        for k, i in enumerate(sig.register_results):
            values[i] = b.extract_value(result, k + 1)
        for k, i in enumerate(sig.spilled_results):
            slot = self.load_field(self.store_state, spill_offset(k), I64T)
            values[i] = from_slot(b, slot, llvm_type(sig.ft.results[i]))
        return values  # type: ignore[return-value]

    def _br(self, depth: int) -> None:
        self.branch(depth)
        self.set_dead()

    def _br_if(self, depth: int) -> None:
        cond = self.stack.pop()
        frame = self.frames[-1 - depth]
        n = len(frame.label_types)
        self.add_incoming(frame, self.stack[len(self.stack) - n:] if n else [])
        cont = self.fn.append_basic_block("br_if_cont")
        target = frame.header_bb if frame.kind == "loop" else frame.end_bb
        self.builder.cbranch(self.truth(cond), target, cont)
        self.builder.position_at_end(cont)

    def _br_table(self, labels: tuple[int, ...], default: int) -> None:
        index = self.stack.pop()
        b = self.builder
        # One edge block per distinct label keeps each phi's predecessors unique.
        edges: dict[int, Block] = {}
        for depth in (*labels, default):
            if depth not in edges:
                edges[depth] = self.fn.append_basic_block(f"br_table_{depth}")
        switch = b.switch(index, edges[default])
        for i, depth in enumerate(labels):
            switch.add_case(i32(i), edges[depth])
        for depth, bb in edges.items():
            b.position_at_end(bb)
            self.branch(depth)
        self.set_dead()

    def _return(self) -> None:
        self.branch(len(self.frames) - 1)
        self.set_dead()

    # calls ---------------------------------------------------------------------------

    def callee(self, index: int) -> tuple[Value, Value, FuncType]:
        """The code pointer (or Function) and vmctx for calling function ``index``."""
        ft = self.mc.func_types[index]
        fn = self.mc.functions[index]
        if fn is not None:
            return fn, self.vmctx, ft
        return self.record_callee(self.instance_slot(VMContext.FUNCS, index), ft)

    def record_callee(self, record: Value, ft: FuncType) -> tuple[Value, Value, FuncType]:
        code = callable_pointer(self.builder, self.load_field(record, FuncRecord.CODE.offset, PTR),
                                self.mc.signature(ft).function_type)
        return code, self.load_field(record, FuncRecord.VMCTX.offset, PTR, "callee_vmctx"), ft

    def emit_call(self, target: tuple[Value, Value, FuncType], tail: bool) -> None:
        code, vmctx, ft = target
        sig = self.mc.signature(ft)
        skew = 1 if tail and faults.on("tail_call_spill_offset", self.mc.options.opt_level) else 0
        args = [vmctx] + self.pass_args(sig, self.pop(len(ft.params)), skew)
        b = self.builder
        if tail:
            result = b.call(code, args, cconv=WASM_CC, tail="musttail")
            b.ret(result)
            self.set_dead()
            return
        # ``notail``: a wasm call must use stack even when LLVM could turn recursion into
        # a loop, or unbounded recursion would spin forever instead of exhausting the stack.
        result = b.call(code, args, cconv=WASM_CC, tail="notail")
        self.check_status(b.extract_value(result, 0))
        self.stack.extend(self.take_results(sig, result))

    def check_status(self, status: Value) -> None:
        cont = self.fn.append_basic_block("call_ok")
        self.unlikely(self.builder.cbranch(self.builder.icmp_unsigned("!=", status, i32(0)),
                                           exc.handler_target(self), cont))
        self.builder.position_at_end(cont)

    def _call(self, index: int) -> None:
        self.emit_call(self.callee(index), tail=False)

    def _return_call(self, index: int) -> None:
        self.count_event(events.INDEX["return_call taken"])
        self.emit_call(self.callee(index), tail=True)

    def indirect_callee(self, type_idx: int, table: int) -> tuple[Value, Value, FuncType]:
        b = self.builder
        index = b.zext(self.stack.pop(), I64T)
        record_table = self.table_record(table)
        size = self.load_field(record_table, TableRecord.SIZE.offset, I64T)
        self.trap_if(b.icmp_unsigned(">=", index, size), TrapCode.TABLE_OUT_OF_BOUNDS)
        elems = self.load_field(record_table, TableRecord.ELEMS.offset, PTR)
        record = self.slot(elems, index)
        self.trap_if(b.icmp_unsigned("==", record, NULL), TrapCode.INDIRECT_CALL_TO_NULL)
        expected = self.instance_slot(VMContext.TYPE_IDS, type_idx, I64T)
        actual = self.load_field(record, FuncRecord.TYPE_ID.offset, I64T)
        self.trap_if(b.icmp_unsigned("!=", actual, expected), TrapCode.BAD_SIGNATURE)
        return self.record_callee(record, self.mc.module.types[type_idx])

    def _call_indirect(self, type_idx: int, table: int) -> None:
        self.emit_call(self.indirect_callee(type_idx, table), tail=False)

    def _return_call_indirect(self, type_idx: int, table: int) -> None:
        target = self.indirect_callee(type_idx, table)
        self.count_event(events.INDEX["return_call_indirect taken"])
        self.emit_call(target, tail=True)

    # parametric and variable instructions ---------------------------------------------

    def _drop(self) -> None:
        self.stack.pop()

    def _select(self, _types: tuple = ()) -> None:
        cond, = self.pop(1)
        a, b_ = self.pop(2)
        self.stack.append(self.builder.select(self.truth(cond), a, b_))

    def truth(self, cond: Value) -> Value:
        """Whether the ``i32`` ``cond`` is not 0, as an ``i1``: the comparison ``cond`` was
        widened from, if it was one."""
        narrow = getattr(cond, "narrow", None)
        return narrow if narrow is not None else self.builder.icmp_unsigned("!=", cond, i32(0))

    def _local_get(self, x: int) -> None:
        slot, t = self.locals[x]
        self.stack.append(slot if x in self.constant_locals else self.builder.load(slot, typ=llvm_type(t)))

    def _local_set(self, x: int) -> None:
        self.builder.store(self.stack.pop(), self.locals[x][0])

    def _local_tee(self, x: int) -> None:
        self.builder.store(self.stack[-1], self.locals[x][0])

    def global_cell(self, x: int) -> Value:
        return self.instance_slot(VMContext.GLOBALS, x)

    def load_global(self, x: int) -> Value:
        """Global ``x``'s value.  Its cell is one 8-byte slot, shared with the runtime,
        and moves whole: a 4-byte access would touch the low half of the slot only on
        little-endian targets."""
        t = llvm_type(self.mc.global_types[x].type)
        return from_slot(self.builder, self.builder.load(self.global_cell(x), typ=I64T), t)

    def store_global(self, x: int, value: Value) -> None:
        self.builder.store(to_slot(self.builder, value), self.global_cell(x))

    def _global_get(self, x: int) -> None:
        self.stack.append(self.load_global(x))

    def _global_set(self, x: int) -> None:
        self.store_global(x, self.stack.pop())

    def table_record(self, x: int) -> Value:
        return self.instance_slot(VMContext.TABLES, x)

    # references ----------------------------------------------------------------------

    def _ref_null(self, _heap: object) -> None:
        self.stack.append(NULL)

    def _ref_is_null(self) -> None:
        b = self.builder
        self.stack.append(b.zext(b.icmp_unsigned("==", self.stack.pop(), NULL), I32T))

    def _ref_func(self, x: int) -> None:
        self.stack.append(self.instance_slot(VMContext.FUNCS, x))


_T = FunctionTranslator
_HANDLERS = {
    "unreachable": _T._unreachable, "nop": _T._nop, "block": _T._block, "loop": _T._loop,
    "if": _T._if, "else": _T._else, "end": _T._end, "br": _T._br, "br_if": _T._br_if,
    "br_table": _T._br_table, "return": _T._return, "call": _T._call,
    "call_indirect": _T._call_indirect, "return_call": _T._return_call,
    "return_call_indirect": _T._return_call_indirect, "drop": _T._drop, "select": _T._select,
    "local.get": _T._local_get, "local.set": _T._local_set, "local.tee": _T._local_tee,
    "global.get": _T._global_get, "global.set": _T._global_set, "ref.null": _T._ref_null,
    "ref.is_null": _T._ref_is_null, "ref.func": _T._ref_func,
    "throw": exc.lower_throw, "throw_ref": exc.lower_throw_ref, "try_table": exc.lower_try_table,
}
