"""Code generation: optimise an IR module, make object code of it, and load object
code in this process.

Object code comes from one target machine per target and code-generation level, kept
for the process (:func:`emit_object`): a new machine builds its subtarget's tables
when it first generates code, some 0.4 ms, which an execution engine paid on every
module when it compiled its own module with the machine it owns.  Execution engines
here only load object files (:func:`load`), so object code can also come from a cache
(the trampolines' are, see ``trampolines.py``).

An execution engine with a machine of its own costs some 0.35 ms to make, load into
and free, so one engine -- an *arena* -- loads the code of :data:`ARENA_LOADS`
modules in turn, each :class:`CompiledCode` a view of it; an arena's code is freed
once the last view of it and the next arena exist.  Object files that several pieces
of code share (the trampolines') are loaded once per arena.  Symbols are global within
an arena, so a module's exported symbols are named for the module (``module.py``).

Two choices keep a long fuzzing campaign's memory flat, where the obvious ones leak on
every module (measured with ``bench/rss.py``; llvmlite 0.50 / LLVM 22):

* Optimisation runs LLVM's *function simplification pipeline* (SROA, EarlyCSE,
  InstCombine, SimplifyCFG, LICM, loop rotation, induction variables, GVN, DSE, ...)
  over each defined function.  One pass manager per target and level is built once
  and reused.  A pass builder serves :data:`RUNS_PER_BUILDER` runs, across modules,
  then a new one takes over: llvmlite registers instrumentation callbacks in the
  builder on every run and calls them all on every pass, so a builder's runs get
  slower the more it has served (a builder shared by 5,000 functions made each run
  30 times slower: the quadratic time of a 100,000-function module), while each
  builder leaks about 1.5 KB (llvmlite never frees its callback registry) and takes
  some 170 us to build.  32 runs a builder is the fastest (200 us a small function,
  against 370 us with a builder per run) and leaks some 100 bytes a run.  (The only
  callback that outlives its run looks at its dead owner only for ``optnone``
  functions, which never reach the passes: :func:`optimize` marks functions so only
  once they are done.)  Building and running the whole per-module
  default pipeline instead leaks some 70 KB per module inside llvmlite.
  That pipeline has no inliner, so small leaf functions are marked ``alwaysinline``
  and a reused module pass manager holding only LLVM's always-inliner runs first.
* Code lives in MCJIT execution engines (arenas); closing one frees its code.  ORC's
  LLJIT (through llvmlite) never removes a library once created, about 7 KB per
  module.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Collection, Sequence

import llvmlite.binding as llvm
import llvmlite.ir as ir

from . import irtext
from .target import Target

_lock = threading.Lock()
_pipelines: dict[tuple[str, int], llvm.FunctionPassManager] = {}
_builders: dict[tuple[str, int], list] = {}
"""Per target and level: the pass builder in service and how many runs it served."""

RUNS_PER_BUILDER = 32
"""Runs a pass builder serves before a new one replaces it (see the module docstring)."""
_inliner: llvm.ModulePassManager | None = None
_machines: dict[tuple[Target, int], llvm.TargetMachine] = {}
"""Per target and code-generation level: the machine that generates all its code."""

ARENA_LOADS = 16
"""Pieces of code an arena loads before a new one takes over (see the module docstring)."""

INLINE_LIMIT = 60
"""Internal leaf functions of at most this many IR instructions (before optimisation)
are inlined at their direct call sites."""


class _Arena:
    """An MCJIT execution engine loading the object code of several pieces of code."""

    def __init__(self, target: Target) -> None:
        empty = llvm.parse_assembly(f'target triple = "{target.triple}"\n'
                                    f'target datalayout = "{target.data_layout}"\n')
        self.engine = llvm.create_mcjit_compiler(empty, target.new_machine(0))
        self.loads = 0
        self.shared: set[bytes] = set()
        """The shared object files loaded here."""
        self.defined: set[str] = set()
        """The symbols they define."""

    def takes(self, shared: Sequence[tuple[bytes, frozenset[str]]]) -> bool:
        """Whether this arena can load ``shared`` without defining a symbol twice."""
        return self.loads < ARENA_LOADS and all(obj in self.shared or not symbols & self.defined
                                                for obj, symbols in shared)

    def load(self, objects: Sequence[bytes], shared: Sequence[tuple[bytes, frozenset[str]]]) -> None:
        for obj, symbols in shared:
            if obj not in self.shared:
                self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
                self.shared.add(obj)
                self.defined |= symbols
        for obj in objects:
            self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self.engine.finalize_object()
        self.loads += 1

    def __del__(self) -> None:
        self.engine.close()


_arenas: dict[Target, _Arena] = {}
"""Per target: the arena loading code now."""


class CompiledCode:
    """Native code loaded in this process: the addresses of its exported symbols.
    The code stays mapped as long as this object lives (see :func:`load`)."""

    def __init__(self, arena: _Arena, symbols: list[str]) -> None:
        self._arena = arena
        self.addresses = {name: arena.engine.get_function_address(name) for name in symbols}
        missing = [name for name, address in self.addresses.items() if not address]
        if missing:
            raise LookupError(f"symbols not found in compiled code: {missing}")

    def __getitem__(self, name: str) -> int:
        return self.addresses[name]


def _pipeline(target: Target, opt_level: int) -> llvm.FunctionPassManager:
    key = (target.triple, opt_level)
    fpm = _pipelines.get(key)
    if fpm is None:
        pto = llvm.PipelineTuningOptions(speed_level=opt_level)
        fpm = _pipelines[key] = llvm.create_pass_builder(target.machine, pto).getFunctionPassManager()
    return fpm


def _builder(target: Target, opt_level: int) -> llvm.PassBuilder:
    """A pass builder for one more run (call with ``_lock`` held)."""
    key = (target.triple, opt_level)
    entry = _builders.get(key)
    if entry is None or entry[1] >= RUNS_PER_BUILDER:
        if entry is not None:
            entry[0].close()
        pto = llvm.PipelineTuningOptions(speed_level=opt_level)
        entry = _builders[key] = [llvm.create_pass_builder(target.machine, pto), 0]
    entry[1] += 1
    return entry[0]


def _always_inliner() -> llvm.ModulePassManager:
    global _inliner
    if _inliner is None:
        _inliner = llvm.create_new_module_pass_manager()
        _inliner.add_always_inliner_pass()
    return _inliner


def mark_inlinable(module: ir.Module | irtext.Module) -> bool:
    """Mark ``module``'s small internal leaf functions ``alwaysinline`` (in place);
    whether there was any.

    Only leaves -- functions that call nothing but LLVM intrinsics -- qualify, so an
    inlined body never brings in more calls to inline: each call site grows by at
    most :data:`INLINE_LIMIT` instructions, however the module's calls nest (nested
    small callers could otherwise multiply into exponential code).  Leaves have no
    ``return_call`` either, whose ``musttail`` an inlined copy would lose."""
    marked = False
    for fn in module.functions:
        if fn.is_declaration or fn.linkage != "internal":
            continue
        if _small_leaf(fn):
            fn.attributes.add("alwaysinline")
            marked = True
    return marked


def _small_leaf(fn: ir.Function | irtext.Function) -> bool:
    if isinstance(fn, irtext.Function):
        return fn.leaf and fn.size <= INLINE_LIMIT
    body = [ins for block in fn.blocks for ins in block.instructions]
    return len(body) <= INLINE_LIMIT and all(_calls_intrinsic(ins) for ins in body
                                             if isinstance(ins, ir.CallInstr))


def _calls_intrinsic(call: ir.CallInstr) -> bool:
    callee = call.callee
    return isinstance(callee, ir.Function) and callee.name.startswith("llvm.")


def optimize(module: ir.Module | irtext.Module, target: Target, opt_level: int, *, extra: str = "",
             cold: Collection[str] = ()) -> llvm.ModuleRef:
    """Parse ``module`` together with ``extra`` (the text of further definitions), verify
    and optimise at ``opt_level`` (0: none); above 0 this first marks ``module``'s
    small functions for inlining (:func:`mark_inlinable`), from 2 it also drops
    redundant NaN quieting (:func:`_drop_redundant_quieting`: its second parse costs
    more than it saves in code built for compile speed).

    The functions named in ``cold`` run rarely (trampolines: once per call from
    Python) and are left as they are: LLVM's pipeline costs some tenths of a
    millisecond per function however small, more than such a function saves.  From 2
    they are also marked ``optnone`` once the passes are done (they must never see
    it, see the module docstring), so that code generation treats them as at level 0
    -- the fast instruction selector, no machine-code optimisation -- which took a
    sixth off generating a fuzzed module's code at level 2."""
    inline = opt_level > 0 and mark_inlinable(module)
    ref = llvm.parse_assembly(str(module) + extra)
    ref.verify()
    if opt_level > 0:
        with _lock:
            fpm = _pipeline(target, opt_level)
            if inline:  # every run costs memory inside llvmlite (see the module docstring)
                _always_inliner().run(ref, _builder(target, opt_level))
            for fn in ref.functions:
                if not fn.is_declaration and fn.name not in cold:
                    fpm.run(fn, _builder(target, opt_level))
    if opt_level >= 2:
        ref = _drop_redundant_quieting(ref)
        for fn in ref.functions:
            if fn.name in cold and not fn.is_declaration:
                fn.add_function_attribute("noinline")   # which optnone requires
                fn.add_function_attribute("optnone")
    return ref


_DEFINE = re.compile(r"^define ", re.M)
_ARITHMETIC = re.compile(
    r"^\s*(%[-\w.$]+) = (?:fadd|fsub|fmul|fdiv) (?:float|double) %[-\w.$]+, %[-\w.$]+$"
    r"|^\s*(%[-\w.$]+) = (?:tail )?call (?:float|double) @llvm\.sqrt\.f(?:32|64)"
    r"\((?:float|double) %[-\w.$]+\)$", re.M)
_QUIETING = re.compile(
    r"^(\s*%[-\w.$]+) = (?:tail )?call (float|double) @llvm\.canonicalize\.f(?:32|64)"
    r"\((?:float|double) (%[-\w.$]+)\)$", re.M)


def _drop_redundant_quieting(ref: llvm.ModuleRef) -> llvm.ModuleRef:
    """Drop each ``llvm.canonicalize`` whose operand a hardware operation computed.

    The numeric lowering quiets float results with ``llvm.canonicalize`` because
    LLVM's folds (``x * 1.0`` to ``x`` and the like) may pass a signalling NaN
    operand through.  Once optimisation is over, an ``fadd``/``fsub``/``fmul``/
    ``fdiv``/``sqrt`` still present with no constant operand is executed as such, and
    IEEE 754 hardware always returns a quiet NaN; quieting it again costs x86 a
    multiplication by 1.0 on the value's critical path.  The canonicalize becomes a
    no-op ``bitcast``, which code generation removes.  Names are per function, so each
    function body is rewritten on its own."""
    if not any(fn.name.startswith("llvm.canonicalize.") for fn in ref.functions):
        return ref
    text = str(ref)
    bodies = [m.start() for m in _DEFINE.finditer(text)]
    parts = [text[a:b] for a, b in zip([0, *bodies], [*bodies, len(text)])]
    result = llvm.parse_assembly("".join(_rewrite_quieting(part) for part in parts))
    result.verify()
    return result


def _rewrite_quieting(body: str) -> str:
    computed = {m.group(1) or m.group(2) for m in _ARITHMETIC.finditer(body)}

    def rewrite(m: re.Match[str]) -> str:
        name, typ, operand = m.groups()
        return f"{name} = bitcast {typ} {operand} to {typ}" if operand in computed else m.group(0)

    return _QUIETING.sub(rewrite, body)


def codegen_level(opt_level: int) -> int:
    """The machine-code optimisation level for ``opt_level``: up to 1, LLVM's fast
    instruction selection and register allocation (a third of the time of the others,
    which also cost some tenths of a millisecond per function however small); from 2,
    the same level as the IR's."""
    return opt_level if opt_level >= 2 else 0


def emit_object(module: llvm.ModuleRef, target: Target, opt_level: int = 2) -> bytes:
    """``module``'s object code for ``target`` (any target: cross-compilation needs no
    runtime), generated for ``opt_level`` (see :func:`codegen_level`)."""
    level = codegen_level(opt_level)
    with _lock:
        machine = _machines.get((target, level))
        if machine is None:
            machine = _machines[(target, level)] = target.new_machine(level)
        return machine.emit_object(module)


def load(objects: Sequence[bytes], target: Target, symbols: list[str],
         shared: Sequence[tuple[bytes, frozenset[str]]] = ()) -> CompiledCode:
    """Load object files for the host into this process as one piece of code whose
    ``symbols`` are looked up: ``objects`` of its own, whose exported symbols no other
    code defines, and ``shared`` ones, each with the symbols it defines, which may be
    loaded already (one object file never defines a symbol another defines)."""
    with _lock:
        arena = _arenas.get(target)
        if arena is None or not arena.takes(shared):
            arena = _arenas[target] = _Arena(target)
        arena.load(objects, shared)
        return CompiledCode(arena, symbols)
