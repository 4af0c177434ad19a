"""The normalized outcome of running one case: what both runners report, and compare.

An :class:`Outcome` says, for instantiation and for each invocation in order, how it
ended (:class:`Returned`, :class:`Trapped` or :class:`Thrown`; :class:`Crashed` when
the engine's process died) and what the host saw on
the way (a trace of :class:`HostCall`, :class:`HostCaught` and :class:`HostDone`), then
the final :class:`State` of the instance's exports.

Values are normalized so that equality is the comparison the oracle wants:

- numbers are their bits; **every NaN equals every NaN** of its type (sign and payload
  ignored), because the spec lets an operation that produces a NaN pick any sign and,
  for arithmetic NaNs, any payload -- two correct engines may differ there;
- ``funcref`` and ``externref`` are compared by kind and null-ness only (identities
  are engine-private);
- an ``exnref`` is its tag, its payload (compared recursively) and its *identity*:
  exception objects are numbered by first appearance in the run (``exn#1``,
  ``exn#2``... in results, host events and the final state, in the order the runner
  meets them), so an engine that hands out a copy where the spec requires the very
  same object -- a rethrow, an exnref kept in a global -- differs; ``exnref`` null is
  ``Ref("exnref", True)``.  To keep numbers unambiguous a runner holds every object it
  has numbered until the run ends (so its address cannot be reused).

Names: a tag is ``host:NAME`` (a tag of the plan), ``export:NAME`` (exported by the
case's first instance), ``export:NAME@INSTANCE`` (by a later one) or ``unexported``;
exported functions, globals, memories and tables are named the same way.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Union

NUM_TYPES = ("i32", "i64", "f32", "f64")
REF_TYPES = ("funcref", "externref", "exnref")
_WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
_NAN_EXPONENT = {"f32": (0x7F80_0000, 0x007F_FFFF), "f64": (0x7FF0_0000_0000_0000, 0x000F_FFFF_FFFF_FFFF)}
MAX_EXN_DEPTH = 4
"""How deep exnrefs inside payloads are followed; deeper ones show as ``exn(tag, ...)``."""


class ValueFormatError(ValueError):
    """A value literal that does not parse, e.g. ``"i32:x"``."""


@dataclass(frozen=True, eq=False)
class Num:
    """A number of type ``type`` (``i32``, ``i64``, ``f32``, ``f64``) as its raw bits."""
    type: str
    bits: int

    def __post_init__(self) -> None:
        if self.type not in NUM_TYPES:
            raise ValueFormatError(f"not a number type: {self.type!r}")
        object.__setattr__(self, "bits", self.bits & ((1 << _WIDTH[self.type]) - 1))

    @property
    def is_nan(self) -> bool:
        if self.type not in _NAN_EXPONENT:
            return False
        exponent, fraction = _NAN_EXPONENT[self.type]
        return self.bits & exponent == exponent and bool(self.bits & fraction)

    def _key(self) -> tuple[str, int | None]:
        return (self.type, None if self.is_nan else self.bits)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Num) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        width = _WIDTH[self.type]
        if self.type[0] == "i":
            signed = self.bits - (1 << width) if self.bits >> (width - 1) else self.bits
            return f"{self.type}:{signed}"
        if self.is_nan:
            return f"{self.type}:nan:{self.bits:#0{width // 4 + 2}x}"
        fmt = "<f" if self.type == "f32" else "<d"
        raw = struct.pack("<I" if self.type == "f32" else "<Q", self.bits)
        return f"{self.type}:{struct.unpack(fmt, raw)[0]!r}"


@dataclass(frozen=True)
class Ref:
    """A ``funcref``/``externref``/``exnref`` known only by kind and null-ness."""
    kind: str
    null: bool

    def __str__(self) -> str:
        return f"{self.kind}:{'null' if self.null else 'ref'}"


@dataclass(frozen=True)
class Exn:
    """A non-null exnref, or an exception in flight: its tag, payload and identity
    (the object's number in the run, from 1; 0 when not numbered).  ``payload`` is
    None beyond :data:`MAX_EXN_DEPTH` levels of nesting."""
    tag: str
    payload: tuple["Value", ...] | None
    id: int = 0

    def __str__(self) -> str:
        inner = "..." if self.payload is None else ", ".join(map(str, self.payload))
        return f"exn#{self.id}({self.tag}; {inner})"


Value = Union[Num, Ref, Exn]


def parse_value(text: str) -> Value:
    """The value a literal denotes: ``i32:-1``, ``i64:7``, ``f32:1.5``, ``f64:-0.0``,
    ``f32:inf``, ``f64:nan`` (the canonical NaN), ``f32:nan:0x7fa00000`` (exact
    bits), ``funcref:null``, ``externref:null``, ``exnref:null``, ``externref:ref``.
    :func:`str` of a number or null reference gives back a literal that parses to it."""
    kind, _, rest = text.partition(":")
    try:
        if kind in ("i32", "i64"):
            return Num(kind, int(rest, 0))
        if kind in ("f32", "f64"):
            return Num(kind, _float_bits(kind, rest))
    except ValueError as e:
        raise ValueFormatError(f"bad {kind} literal {text!r}: {e}") from None
    if kind in REF_TYPES and rest in ("null", "ref"):
        if rest == "ref" and kind != "externref":
            raise ValueFormatError(f"only externref has a non-null literal, not {text!r}")
        return Ref(kind, rest == "null")
    raise ValueFormatError(f"not a value literal: {text!r} (expected e.g. 'i32:5', 'f64:nan', "
                           "'funcref:null')")


def _float_bits(kind: str, rest: str) -> int:
    if rest.startswith("nan:"):
        return int(rest[4:], 16)
    if rest == "nan":
        return 0x7FC0_0000 if kind == "f32" else 0x7FF8_0000_0000_0000
    x = float(rest)
    if kind == "f32":
        if math.isfinite(x) and abs(x) > 3.4028234663852886e38:
            raise ValueError("out of f32 range")
        return struct.unpack("<I", struct.pack("<f", x))[0]
    return struct.unpack("<Q", struct.pack("<d", x))[0]


@dataclass(frozen=True)
class Returned:
    """The call returned these values."""
    values: tuple[Value, ...] = ()

    def __str__(self) -> str:
        return "returned [" + ", ".join(map(str, self.values)) + "]"


@dataclass(frozen=True)
class Trapped:
    """The call trapped.  ``code`` is the trap's name in lower case as wasmtime's
    ``Trap.trap_code`` and :class:`engine.errors.TrapCode` spell it (``unreachable``,
    ``memory_out_of_bounds``, ``stack_overflow``...), or ``host`` when a host function
    raised an error that is not a wasm exception."""
    code: str

    def __str__(self) -> str:
        return f"trapped {self.code}"


@dataclass(frozen=True)
class Thrown:
    """An exception escaped the call."""
    exn: Exn

    def __str__(self) -> str:
        return f"threw {self.exn}"


@dataclass(frozen=True)
class Rejected:
    """The engine refused the module (it does not decode, validate or link).  Only
    that matters: engines word their errors differently, so ``reason`` is shown but
    not compared."""
    reason: str = field(compare=False)

    def __str__(self) -> str:
        return f"rejected: {self.reason}"


@dataclass(frozen=True)
class Crashed:
    """The engine's process died running the step: only a runner whose code runs in
    a process of its own can report it (an emulated target's server, see
    :mod:`oracles.emulated_runner`), and it is never a correct outcome.  ``reason`` (how
    it died) is shown, not compared: a crash differs from every outcome."""
    reason: str = field(compare=False)

    def __str__(self) -> str:
        return f"crashed: {self.reason}"


Result = Union[Returned, Trapped, Thrown, Rejected, Crashed]


@dataclass(frozen=True)
class HostCall:
    """Wasm called host function ``func`` with ``args``."""
    func: str
    args: tuple[Value, ...]

    def __str__(self) -> str:
        return f"-> {self.func}(" + ", ".join(map(str, self.args)) + ")"


@dataclass(frozen=True)
class HostCaught:
    """Host function ``func`` caught ``exn`` from the export it called."""
    func: str
    exn: Exn

    def __str__(self) -> str:
        return f"   {self.func} caught {self.exn}"


@dataclass(frozen=True)
class HostDone:
    """Host function ``func`` ended: it returned, threw into wasm, or raised an error."""
    func: str
    result: Result

    def __str__(self) -> str:
        return f"<- {self.func} {self.result}"


HostEvent = Union[HostCall, HostCaught, HostDone]


@dataclass(frozen=True)
class Call:
    """One step of a run: instantiation (``name`` is ``<instantiate>``) or a call of an
    export with ``args``, how it ended, and the host events inside it in order."""
    name: str
    args: tuple[Value, ...]
    result: Result
    trace: tuple[HostEvent, ...] = ()

    def lines(self) -> list[str]:
        head = f"{self.name}(" + ", ".join(map(str, self.args)) + ")"
        return [head] + [f"  {event}" for event in self.trace] + [f"  {self.result}"]


@dataclass(frozen=True)
class MemoryState:
    name: str
    pages: int
    digest: str
    """The first 16 hex digits of the SHA-256 of the memory's bytes."""

    def __str__(self) -> str:
        return f"memory {self.name}: {self.pages} pages, sha256 {self.digest}"


@dataclass(frozen=True)
class TableState:
    name: str
    size: int
    elements: tuple[Value, ...] | None
    """Every element, for tables of at most :data:`MAX_TABLE_ELEMENTS`; else None."""

    def __str__(self) -> str:
        shown = "" if self.elements is None else " [" + ", ".join(map(str, self.elements)) + "]"
        return f"table {self.name}: size {self.size}{shown}"


MAX_TABLE_ELEMENTS = 256


@dataclass(frozen=True)
class State:
    """The exported state after the last invocation, in export order."""
    globals: tuple[tuple[str, Value], ...] = ()
    memories: tuple[MemoryState, ...] = ()
    tables: tuple[TableState, ...] = ()

    def lines(self) -> list[str]:
        return ([f"global {name} = {value}" for name, value in self.globals]
                + [str(m) for m in self.memories] + [str(t) for t in self.tables])


@dataclass(frozen=True)
class Outcome:
    """Everything one runner observed running one case.  ``state`` is None when
    instantiation did not return."""
    instantiate: Call
    invocations: tuple[Call, ...] = ()
    state: State | None = None

    def lines(self) -> list[str]:
        out = self.instantiate.lines()
        for call in self.invocations:
            out += call.lines()
        if self.state is not None:
            out += ["state:"] + [f"  {line}" for line in self.state.lines()]
        return out


def trap_name(code: object | None) -> str:
    """:class:`Trapped` code for a trap-code enum member (ours or wasmtime's), or
    ``host`` for None."""
    if code is None:
        return "host"
    return str(getattr(code, "name")).lower()
