"""Wasm values as Python sees them, and as the 8-byte slots native code exchanges.

``i32``/``i64`` are Python ints (results are signed, as in wasmtime-py; arguments may
be signed or unsigned, and an int that fits neither is a ``ValueError``),
``f32``/``f64`` are floats, ``funcref`` is a :class:`~engine.runtime.func.Func` or
``None``, ``externref`` any Python object or ``None``, ``exnref`` an
:class:`~engine.runtime.exception.ExnRef` or ``None``.  In a slot, numbers are their
raw bits (an ``f32`` zero-extended), a ``funcref`` is its ``FuncRecord`` address and an
``externref`` is a handle the store maps back to the object; null is 0.  A reference
must belong to the store it is given to (:class:`~engine.errors.WrongStore` otherwise).
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from ..syntax.types import F32, F64, I32, I64, HeapType, RefType, ValType

if TYPE_CHECKING:
    from .store import Store

_MASK = {I32: 0xFFFF_FFFF, I64: 0xFFFF_FFFF_FFFF_FFFF}


def _signed(bits: int, width: int) -> int:
    return bits - (1 << width) if bits >> (width - 1) else bits


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def to_slot(store: "Store", t: ValType, value: Any) -> int:
    """The slot holding ``value`` as a value of type ``t``; ``TypeError`` if it is not one."""
    if t in _MASK:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"expected an int for {t}, got {value!r}")
        mask = _MASK[t]
        if not -(mask + 1) // 2 <= value <= mask:
            width = mask.bit_length()
            raise ValueError(f"{value} does not fit {t}: expected -2**{width - 1} to 2**{width} - 1 "
                             f"(signed or unsigned)")
        return value & mask
    if t == F32:
        return f32_bits(_float(value, t))
    if t == F64:
        return f64_bits(_float(value, t))
    assert isinstance(t, RefType)
    if value is None:
        if not t.nullable:
            raise TypeError(f"null is not a value of {t}")
        return 0
    if t.heap in (HeapType.FUNC,):
        from .func import Func
        if not isinstance(value, Func):
            raise TypeError(f"expected a Func or None for {t}, got {value!r}")
        value._owner(store)
        return value.record
    if t.heap is HeapType.EXTERN:
        return store.externref_handle(value)
    if t.heap is HeapType.EXN:
        from .exception import ExnRef
        if not isinstance(value, ExnRef):
            raise TypeError(f"expected an ExnRef or None for {t}, got {value!r}")
        value._owner(store)
        return value.pointer
    raise TypeError(f"only null is a value of {t}")


def _float(value: Any, t: ValType) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"expected a float for {t}, got {value!r}")
    return float(value)


def from_slot(store: "Store", t: ValType, slot: int) -> Any:
    """The Python value of type ``t`` held in ``slot``."""
    if t == I32:
        return _signed(slot & 0xFFFF_FFFF, 32)
    if t == I64:
        return _signed(slot, 64)
    if t == F32:
        return struct.unpack("<f", struct.pack("<I", slot & 0xFFFF_FFFF))[0]
    if t == F64:
        return struct.unpack("<d", struct.pack("<Q", slot))[0]
    if slot == 0:
        return None
    assert isinstance(t, RefType)
    if t.heap is HeapType.EXTERN:
        return store.externref_object(slot)
    if t.heap is HeapType.EXN:
        from .exception import ExnRef
        return ExnRef._of(store, slot)
    from .func import Func
    return Func._from_record(store, slot)


def check_slot(store: "Store", t: ValType, slot: Any) -> int:
    """``slot`` as a raw slot of type ``t`` given from Python (``call_slots``, a
    ``slots=True`` host function's results, ``WasmException.from_slots``), once it is
    known safe: an int of 64 bits, and for a reference null or one the store really has
    -- a function record of the store, an externref handle it gave out, an exception
    object it holds -- since compiled code follows references without checking them."""
    if not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot < 2**64:
        raise ValueError(f"a slot is an int from 0 to 2**64 - 1, not {slot!r}")
    if slot and isinstance(t, RefType) and not store.holds_reference(t.heap, slot):
        raise ValueError(f"slot {slot:#x} is not a {t} of this store: a reference slot is 0 or "
                         f"one the store gave out")
    return slot
