"""LLVM IR written as text while the translator runs.

The code generator (``module.py``, ``function.py``, ``exceptions.py``, ``memory.py``,
``numeric.py``) builds a module through the part of ``llvmlite.ir``'s API it uses --
:class:`Module`, :class:`Function`, :class:`Block`, :class:`IRBuilder` -- and this
module implements that part by writing each instruction's line of LLVM assembly as it
is made.  For the fuzzer's generated modules (some 950 lines of IR), building
llvmlite's objects took 7.7 ms and printing them 4.0 ms, nine times what LLVM then
took to parse the text (1.3 ms); writing the text here takes 2.9 ms.

The rules it keeps:

* Types are llvmlite's type objects, and an operand may be one of llvmlite's
  constants (``numeric.py`` lowers through either builder; the test harness keeps
  llvmlite's): only their printed form is used.
* Every value is named, ``%vN`` (arguments ``%aN``; labels ``NAME.N``), never
  numbered: instructions are added to a block above ones written earlier (a function
  loads its fixed values in its entry block once the rest is written, see
  ``function.py``), and LLVM wants numbered values in order.
* A block keeps its terminator apart from its other lines, so a line added to a
  terminated block lands before the terminator, as with llvmlite's ``goto_block``.
* Phi nodes and switches render when the module is printed: their incoming edges and
  cases arrive after them.  Metadata is appended to its instruction's line at once.
* Like LLVM's own ``IRBuilder``, the builder folds what it can: a cast, a compare or
  an integer ``add``/``sub``/``mul`` of constants is a constant (wrapping as the
  instruction would), so checks against constants leave no instructions at
  ``opt_level`` 0.
* Nothing is checked here: LLVM's parser and verifier reject ill-typed IR.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import llvmlite.ir as ir

I1 = ir.IntType(1)
PTR = ir.PointerType()
VOID = ir.VoidType()

_UNSIGNED = {"==": "eq", "!=": "ne", "<": "ult", "<=": "ule", ">": "ugt", ">=": "uge"}
_SIGNED = {"==": "eq", "!=": "ne", "<": "slt", "<=": "sle", ">": "sgt", ">=": "sge"}
_ORDERED = {"==": "oeq", "!=": "one", "<": "olt", "<=": "ole", ">": "ogt", ">=": "oge",
            "ord": "ord", "uno": "uno"}
_UNORDERED = {"==": "ueq", "!=": "une", "<": "ult", "<=": "ule", ">": "ugt", ">=": "uge",
              "ord": "ord", "uno": "uno"}


class Value:
    """An SSA value or constant: its llvmlite type and how an operand refers to it."""

    __slots__ = ("type", "ref")

    def __init__(self, type: ir.Type, ref: str) -> None:
        self.type = type
        self.ref = ref

    def get_reference(self) -> str:
        return self.ref

    def __str__(self) -> str:
        return f"{self.type} {self.ref}"


class Constant(Value):
    """A folded integer constant (``constant`` is its value, as llvmlite's)."""

    __slots__ = ("constant",)

    def __init__(self, type: ir.IntType, constant: int) -> None:
        bits = constant & ((1 << type.width) - 1)
        signed = bits - (1 << type.width) if type.width > 1 and bits >> (type.width - 1) else bits
        super().__init__(type, ("true" if bits else "false") if type.width == 1 else str(signed))
        self.constant = bits


class Instruction(Value):
    """A line of a block; metadata can be appended to it."""

    __slots__ = ("_lines", "_index")

    def __init__(self, type: ir.Type, ref: str, lines: list, index: int) -> None:
        self.type = type
        self.ref = ref
        self._lines = lines
        self._index = index

    def set_metadata(self, kind: str, node: "Metadata") -> None:
        self._lines[self._index] += f", !{kind} {node.ref}"


def _ref(value: object) -> str:
    """How an operand refers to ``value`` (ours, or an llvmlite constant)."""
    ref = getattr(value, "ref", None)
    return value.get_reference() if ref is None else ref  # type: ignore[attr-defined]


def _int(value: object) -> int | None:
    """The bits of an integer constant (ours or llvmlite's), else None."""
    if isinstance(value, (Constant, ir.Constant)) and isinstance(value.type, ir.IntType) \
            and type(value.constant) is int:
        return value.constant & ((1 << value.type.width) - 1)
    return None


def _signed(bits: int, width: int) -> int:
    return bits - (1 << width) if bits >> (width - 1) else bits


class Widened(Instruction):
    """An ``i1`` zero-extended, which remembers the ``i1`` (a branch on it needs no
    comparison with 0)."""

    __slots__ = ("narrow",)

    def __init__(self, type: ir.Type, ref: str, lines: list, index: int, narrow: Value) -> None:
        super().__init__(type, ref, lines, index)
        self.narrow = narrow


class Metadata:
    """A metadata node of a module (``!N``)."""

    __slots__ = ("ref", "text")

    def __init__(self, ref: str, text: str) -> None:
        self.ref = ref
        self.text = text


class Argument(Value):
    """A function's parameter, with its parameter attributes (``signext``...)."""

    __slots__ = ("attributes",)

    def __init__(self, type: ir.Type, ref: str) -> None:
        super().__init__(type, ref)
        self.attributes: list[str] = []

    def add_attribute(self, attribute: str) -> None:
        self.attributes.append(attribute)


class Phi(Value):
    __slots__ = ("_incoming",)

    def __init__(self, type: ir.Type, ref: str) -> None:
        super().__init__(type, ref)
        self._incoming: list[str] = []

    def add_incoming(self, value: object, block: "Block") -> None:
        self._incoming.append(f"[{_ref(value)}, %{block.name}]")

    def __str__(self) -> str:
        return f"{self.ref} = phi {self.type} {', '.join(self._incoming)}"


class _Switch:
    __slots__ = ("_head", "_cases")

    def __init__(self, head: str) -> None:
        self._head = head
        self._cases: list[str] = []

    def add_case(self, value: object, block: "Block") -> None:
        self._cases.append(f"{value.type} {_ref(value)}, label %{block.name}")  # type: ignore[attr-defined]

    def __str__(self) -> str:
        return f"{self._head} [{' '.join(self._cases)}]"


class _Terminator:
    """A block's terminator; metadata can be appended to it."""

    __slots__ = ("_block",)

    def __init__(self, block: "Block") -> None:
        self._block = block

    def set_metadata(self, kind: str, node: Metadata) -> None:
        self._block.terminator = f"{self._block.terminator}, !{kind} {node.ref}"


class Block:
    __slots__ = ("function", "name", "lines", "terminator")

    def __init__(self, function: "Function", name: str) -> None:
        self.function = function
        self.name = name
        self.lines: list[object] = []
        self.terminator: object = None

    @property
    def is_terminated(self) -> bool:
        return self.terminator is not None

    def __str__(self) -> str:
        body = "".join(f"  {line}\n" for line in self.lines)
        return f"{self.name}:\n{body}  {self.terminator}\n"


class _ReturnValue:
    __slots__ = ("attributes",)

    def __init__(self) -> None:
        self.attributes: list[str] = []

    def add_attribute(self, attribute: str) -> None:
        self.attributes.append(attribute)


class Function:
    """A function of a :class:`Module`: a declaration until it has blocks.

    ``size`` counts its instructions and ``leaf`` says whether it calls nothing but
    LLVM intrinsics (what ``jit.mark_inlinable`` asks)."""

    def __init__(self, module: "Module", function_type: ir.FunctionType, name: str) -> None:
        self.module = module
        self.function_type = function_type
        self.name = name
        self.ref = f'@"{name}"'
        self.type = PTR
        self.args = [Argument(t, f"%a{i}") for i, t in enumerate(function_type.args)]
        self.return_value = _ReturnValue()
        self.blocks: list[Block] = []
        self.calling_convention = ""
        self.linkage = ""
        self.attributes: set[str] = set()
        self.size = 0
        self.leaf = True
        self.names = 0
        """Names given so far (values and labels share the count)."""
        module.add(self)

    @property
    def is_declaration(self) -> bool:
        return not self.blocks

    def get_reference(self) -> str:
        return self.ref

    def append_basic_block(self, name: str = "bb") -> Block:
        block = Block(self, f"{name}.{self.names}")
        self.names += 1
        self.blocks.append(block)
        return block

    def definition(self) -> str:
        fnty = self.function_type
        head = " ".join(filter(None, (self.linkage, self.calling_convention,
                                      *self.return_value.attributes, str(fnty.return_type))))
        params = ", ".join(" ".join((str(a.type), *a.attributes, a.ref)) for a in self.args)
        if self.is_declaration:
            return f"declare {head} {self.ref}({params})\n"
        attributes = "".join(f" {a}" for a in sorted(self.attributes))
        return f"define {head} {self.ref}({params}){attributes} {{\n{''.join(map(str, self.blocks))}}}\n"


class GlobalVariable(Value):
    """A global of a :class:`Module`, given its type's and initializer's text."""

    __slots__ = ("name", "_definition")

    def __init__(self, module: "Module", name: str, type_text: str, initializer: str,
                 constant: bool = True, linkage: str = "internal") -> None:
        super().__init__(PTR, f'@"{name}"')
        self.name = name
        kind = "constant" if constant else "global"
        self._definition = f"{self.ref} = {linkage} {kind} {type_text} {initializer}\n"
        module.add(self)

    def definition(self) -> str:
        return self._definition


class Module:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.triple = ""
        self.data_layout = ""
        self.globals: dict[str, Function | GlobalVariable] = {}
        self._metadata: list[Metadata] = []

    @property
    def functions(self) -> list[Function]:
        return [g for g in self.globals.values() if isinstance(g, Function)]

    def add(self, item: Function | GlobalVariable) -> None:
        if item.name in self.globals:
            raise KeyError(f"duplicate global {item.name!r}")
        self.globals[item.name] = item

    def add_metadata(self, operands: Sequence[object]) -> Metadata:
        """A new node of ``operands``: strings, llvmlite constants and nodes."""
        parts = [f'!"{o}"' if isinstance(o, str) else o.ref if isinstance(o, Metadata) else str(o)
                 for o in operands]
        node = Metadata(f"!{len(self._metadata)}", f"!{{{', '.join(parts)}}}")
        self._metadata.append(node)
        return node

    def __str__(self) -> str:
        head = f'; ModuleID = "{self.name}"\ntarget triple = "{self.triple}"\n'
        if self.data_layout:
            head += f'target datalayout = "{self.data_layout}"\n'
        body = "".join(item.definition() for item in self.globals.values())
        metadata = "".join(f"{m.ref} = {m.text}\n" for m in self._metadata)
        return f"{head}\n{body}\n{metadata}"


def bytes_constant(data: bytes) -> str:
    """``data`` as an LLVM string constant (``c"..."``)."""
    return 'c"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:02X}"
                          for b in data) + '"'


class IRBuilder:
    """Writes instructions at the end of its block, with llvmlite's method names."""

    def __init__(self, block: Block | None = None) -> None:
        if block is not None:
            self.position_at_end(block)

    @property
    def block(self) -> Block:
        return self._block

    @property
    def function(self) -> Function:
        return self._block.function

    @property
    def module(self) -> Module:
        return self._block.function.module

    def position_at_end(self, block: Block) -> None:
        self._block = block
        self._lines = block.lines
        self._function = block.function

    @contextmanager
    def goto_block(self, block: Block) -> Iterator[None]:
        """Write into ``block`` (before its terminator, if it has one) for a while."""
        saved = self._block
        self.position_at_end(block)
        try:
            yield
        finally:
            self.position_at_end(saved)

    @contextmanager
    def if_then(self, pred: Value) -> Iterator[Block]:
        """Code written in the ``with`` runs when ``pred`` holds; the builder is then
        left where both paths meet."""
        fn = self.function
        then, done = fn.append_basic_block("if"), fn.append_basic_block("endif")
        self.cbranch(pred, then, done)
        self.position_at_end(then)
        yield done
        if not self._block.is_terminated:
            self.branch(done)
        self.position_at_end(done)

    # -- writing -------------------------------------------------------------------

    def _value(self, type: ir.Type, text: str) -> Instruction:
        fn = self._function
        ref = f"%v{fn.names}"
        fn.names += 1
        fn.size += 1
        lines = self._lines
        lines.append(f"{ref} = {text}")
        return Instruction(type, ref, lines, len(lines) - 1)

    def _statement(self, text: str) -> Instruction:
        self._function.size += 1
        lines = self._lines
        lines.append(text)
        return Instruction(VOID, "", lines, len(lines) - 1)

    def _terminate(self, text: object) -> _Terminator:
        block = self._block
        block.function.size += 1
        block.terminator = text
        return _Terminator(block)

    # -- arithmetic ----------------------------------------------------------------

    def _binary(self, op: str, a: Value, b: Value) -> Value:
        return self._value(a.type, f"{op} {a.type} {_ref(a)}, {_ref(b)}")

    def _folding(self, op: str, a: Value, b: Value) -> Value:
        x, y = _int(a), _int(b)
        if x is not None and y is not None:
            return Constant(a.type, x + y if op == "add" else x - y if op == "sub" else x * y)
        return self._binary(op, a, b)

    def add(self, a: Value, b: Value, name: str = "") -> Value:
        return self._folding("add", a, b)

    def sub(self, a: Value, b: Value, name: str = "") -> Value:
        return self._folding("sub", a, b)

    def mul(self, a: Value, b: Value, name: str = "") -> Value:
        return self._folding("mul", a, b)

    def and_(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("and", a, b)

    def or_(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("or", a, b)

    def xor(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("xor", a, b)

    def shl(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("shl", a, b)

    def lshr(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("lshr", a, b)

    def ashr(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("ashr", a, b)

    def udiv(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("udiv", a, b)

    def sdiv(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("sdiv", a, b)

    def urem(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("urem", a, b)

    def srem(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("srem", a, b)

    def fadd(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("fadd", a, b)

    def fsub(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("fsub", a, b)

    def fmul(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("fmul", a, b)

    def fdiv(self, a: Value, b: Value, name: str = "") -> Value:
        return self._binary("fdiv", a, b)

    def fneg(self, a: Value, name: str = "") -> Value:
        return self._value(a.type, f"fneg {a.type} {_ref(a)}")

    # -- comparisons ---------------------------------------------------------------

    def icmp_unsigned(self, op: str, a: Value, b: Value, name: str = "") -> Value:
        x, y = _int(a), _int(b)
        if x is not None and y is not None:
            return Constant(I1, int(_compare(op, x, y)))
        if op in ("==", "!=") and _ref(a) == "null" and _ref(b) == "null":
            return Constant(I1, int(op == "=="))
        return self._value(I1, f"icmp {_UNSIGNED[op]} {a.type} {_ref(a)}, {_ref(b)}")

    def icmp_signed(self, op: str, a: Value, b: Value, name: str = "") -> Value:
        x, y = _int(a), _int(b)
        if x is not None and y is not None:
            width = a.type.width
            return Constant(I1, int(_compare(op, _signed(x, width), _signed(y, width))))
        return self._value(I1, f"icmp {_SIGNED[op]} {a.type} {_ref(a)}, {_ref(b)}")

    def fcmp_ordered(self, op: str, a: Value, b: Value, name: str = "") -> Value:
        return self._value(I1, f"fcmp {_ORDERED[op]} {a.type} {_ref(a)}, {_ref(b)}")

    def fcmp_unordered(self, op: str, a: Value, b: Value, name: str = "") -> Value:
        return self._value(I1, f"fcmp {_UNORDERED[op]} {a.type} {_ref(a)}, {_ref(b)}")

    def select(self, cond: Value, a: Value, b: Value, name: str = "") -> Value:
        return self._value(a.type, f"select i1 {_ref(cond)}, {a.type} {_ref(a)}, {a.type} {_ref(b)}")

    # -- casts ---------------------------------------------------------------------

    def _cast(self, op: str, value: Value, type: ir.Type) -> Value:
        return self._value(type, f"{op} {value.type} {_ref(value)} to {type}")

    def zext(self, value: Value, type: ir.Type, name: str = "") -> Value:
        bits = _int(value)
        if bits is not None:
            return Constant(type, bits)
        widened = self._cast("zext", value, type)
        if value.type == I1:
            return Widened(type, widened.ref, widened._lines, widened._index, value)
        return widened

    def sext(self, value: Value, type: ir.Type, name: str = "") -> Value:
        bits = _int(value)
        return self._cast("sext", value, type) if bits is None else \
            Constant(type, _signed(bits, value.type.width))

    def trunc(self, value: Value, type: ir.Type, name: str = "") -> Value:
        bits = _int(value)
        return self._cast("trunc", value, type) if bits is None else Constant(type, bits)

    def ptrtoint(self, value: Value, type: ir.Type, name: str = "") -> Value:
        return Constant(type, 0) if _ref(value) == "null" else self._cast("ptrtoint", value, type)

    def inttoptr(self, value: Value, type: ir.Type, name: str = "") -> Value:
        return Value(PTR, "null") if _int(value) == 0 else self._cast("inttoptr", value, type)

    def bitcast(self, value: Value, type: ir.Type, name: str = "") -> Value:
        return self._cast("bitcast", value, type)

    def fptrunc(self, value: Value, type: ir.Type, name: str = "") -> Value:
        return self._cast("fptrunc", value, type)

    def fpext(self, value: Value, type: ir.Type, name: str = "") -> Value:
        return self._cast("fpext", value, type)

    def fptosi(self, value: Value, type: ir.Type, name: str = "") -> Value:
        return self._cast("fptosi", value, type)

    def fptoui(self, value: Value, type: ir.Type, name: str = "") -> Value:
        return self._cast("fptoui", value, type)

    def sitofp(self, value: Value, type: ir.Type, name: str = "") -> Value:
        return self._cast("sitofp", value, type)

    def uitofp(self, value: Value, type: ir.Type, name: str = "") -> Value:
        return self._cast("uitofp", value, type)

    # -- memory --------------------------------------------------------------------

    def alloca(self, type: ir.Type, name: str = "") -> Value:
        return self._value(PTR, f"alloca {type}")

    def load(self, ptr: Value, name: str = "", align: int | None = None,
             typ: ir.Type | None = None) -> Instruction:
        aligned = f", align {align}" if align else ""
        return self._value(typ, f"load {typ}, ptr {_ref(ptr)}{aligned}")  # type: ignore[arg-type]

    def load_volatile(self, ptr: Value, typ: ir.Type) -> Instruction:
        return self._value(typ, f"load volatile {typ}, ptr {_ref(ptr)}")

    def store(self, value: Value, ptr: Value, align: int | None = None) -> Instruction:
        aligned = f", align {align}" if align else ""
        return self._statement(f"store {value.type} {_ref(value)}, ptr {_ref(ptr)}{aligned}")

    def gep(self, ptr: Value, indices: Sequence[Value], inbounds: bool = False, name: str = "",
            source_etype: ir.Type | None = None) -> Value:
        if all(_int(i) == 0 for i in indices):
            return ptr
        offsets = "".join(f", {i.type} {_ref(i)}" for i in indices)
        return self._value(PTR, f"getelementptr {source_etype}, ptr {_ref(ptr)}{offsets}")

    def field(self, ptr: Value, offset: int) -> Value:
        """``ptr`` plus ``offset`` bytes."""
        return self._value(PTR, f"getelementptr i8, ptr {_ref(ptr)}, i64 {offset}")

    # -- aggregates ----------------------------------------------------------------

    def insert_value(self, agg: Value, value: Value, idx: int, name: str = "") -> Value:
        return self._value(agg.type, f"insertvalue {agg.type} {_ref(agg)}, {value.type} {_ref(value)}, {idx}")

    def extract_value(self, agg: Value, idx: int, name: str = "") -> Value:
        return self._value(agg.type.elements[idx], f"extractvalue {agg.type} {_ref(agg)}, {idx}")

    def phi(self, type: ir.Type, name: str = "") -> Phi:
        fn = self._block.function
        phi = Phi(type, f"%v{fn.names}")
        fn.names += 1
        fn.size += 1
        self._lines.append(phi)
        return phi

    # -- calls ---------------------------------------------------------------------

    def call(self, fn: Value | Function, args: Sequence[Value], name: str = "", cconv: str | None = None,
             tail: bool | str = False) -> Value:
        """Call ``fn`` (a :class:`Function`, or a code pointer seen as one: see
        ``types.callable_pointer``); ``tail`` is llvmlite's: a marker or a boolean."""
        fnty = fn.function_type  # type: ignore[union-attr]
        if not (isinstance(fn, Function) and fn.name.startswith("llvm.")):
            self._block.function.leaf = False
        if cconv is None:
            cconv = getattr(fn, "calling_convention", "")
        marker = ("tail" if tail is True else tail or "")
        operands = ", ".join(f"{a.type} {_ref(a)}" for a in args)
        text = " ".join(filter(None, (marker, "call", cconv, str(fnty.return_type))))
        text = f"{text} {_ref(fn)}({operands})"
        if isinstance(fnty.return_type, ir.VoidType):
            return self._statement(text)
        return self._value(fnty.return_type, text)

    # -- terminators ---------------------------------------------------------------

    def branch(self, target: Block) -> _Terminator:
        return self._terminate(f"br label %{target.name}")

    def cbranch(self, cond: Value, then: Block, otherwise: Block) -> _Terminator:
        return self._terminate(f"br i1 {_ref(cond)}, label %{then.name}, label %{otherwise.name}")

    def switch(self, value: Value, default: Block) -> _Switch:
        switch = _Switch(f"switch {value.type} {_ref(value)}, label %{default.name}")
        self._terminate(switch)
        return switch

    def ret(self, value: Value) -> _Terminator:
        return self._terminate(f"ret {value.type} {_ref(value)}")

    def ret_void(self) -> _Terminator:
        return self._terminate("ret void")

    def unreachable(self) -> _Terminator:
        return self._terminate("unreachable")


def _compare(op: str, x: int, y: int) -> bool:
    return {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


__all__ = ["Argument", "Block", "Constant", "Function", "GlobalVariable", "IRBuilder", "Instruction",
           "Metadata", "Module", "Phi", "Value", "Widened", "bytes_constant"]
