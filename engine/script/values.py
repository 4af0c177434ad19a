"""Script values: argument constants and expected-result patterns.

Numbers are kept as raw bits (unsigned ints), as the instruction immediates are,
so NaN payloads and the sign of zero survive exactly.  Float literals are parsed
exactly (with :class:`fractions.Fraction`) and rounded to nearest-even, as the text
format's numeric rules require (spec section 6.3.1).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

from ..errors import TextError
from ..syntax.types import F32, F64, I32, I64, NumType

_WIDTH = {I32: 32, I64: 64, F32: 32, F64: 64}
_MANTISSA = {F32: 23, F64: 52}
_EXPONENT = {F32: 8, F64: 11}

_DEC = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9A-Fa-f](?:_?[0-9A-Fa-f])*"
_INT = re.compile(rf"([+-]?)(?:0x({_HEX})|({_DEC}))")
_DEC_FLOAT = re.compile(rf"([+-]?)({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?")
_HEX_FLOAT = re.compile(rf"([+-]?)0x({_HEX})(?:\.({_HEX})?)?(?:[pP]([+-]?{_DEC}))?")
_NAN = re.compile(rf"([+-]?)nan(?::0x({_HEX}))?")


@dataclass(frozen=True, slots=True)
class Num:
    """A number of type ``type`` given by its raw bits."""

    type: NumType
    bits: int


@dataclass(frozen=True, slots=True)
class RefNull:
    """``(ref.null <heap>)``: a null reference of the named heap type."""

    heap: str


@dataclass(frozen=True, slots=True)
class RefExtern:
    """``(ref.extern n)`` (formerly ``ref.host``): the host reference numbered ``n``."""

    index: int


Value = Union[Num, RefNull, RefExtern]


@dataclass(frozen=True, slots=True)
class NanPattern:
    """``nan:canonical`` or ``nan:arithmetic`` in an expected result."""

    type: NumType
    kind: str


@dataclass(frozen=True, slots=True)
class RefPattern:
    """``(ref.extern)``, ``(ref.func)``, ...: any non-null reference of that kind;
    ``(ref.null)`` without a heap type: any null reference."""

    kind: str


@dataclass(frozen=True, slots=True)
class Either:
    """``(either r ...)``: the result matches one of the alternatives."""

    alternatives: tuple["Result", ...]


Result = Union[Num, RefNull, RefExtern, NanPattern, RefPattern, Either]


def parse_int(text: str, type: NumType) -> int:
    """Bits of an integer literal of type i32/i64; both signed and unsigned ranges are allowed."""
    m = _INT.fullmatch(text)
    if m is None:
        raise TextError(f"unknown operator or malformed integer {text!r}")
    sign, hexdigits, decdigits = m.groups()
    value = int(hexdigits.replace("_", ""), 16) if hexdigits else int(decdigits.replace("_", ""))
    width = _WIDTH[type]
    if sign == "-":
        if value > 1 << (width - 1):
            raise TextError(f"constant out of range: {text}")
        value = -value
    elif value >= 1 << width:
        raise TextError(f"constant out of range: {text}")
    return value & ((1 << width) - 1)


def parse_float(text: str, type: NumType) -> int:
    """Bits of a float literal of type f32/f64 (``inf``, ``nan``, ``nan:0x..``, decimal, hex)."""
    mant, expo = _MANTISSA[type], _EXPONENT[type]
    sign_bit = 1 << (mant + expo)
    inf_bits = ((1 << expo) - 1) << mant
    negative = text.startswith("-")
    sign = sign_bit if negative else 0
    body = text.lstrip("+-")
    if body == "inf":
        return sign | inf_bits
    m = _NAN.fullmatch(text)
    if m:
        payload = int(m.group(2).replace("_", ""), 16) if m.group(2) else 1 << (mant - 1)
        if not 0 < payload < 1 << mant:
            raise TextError(f"constant out of range: {text}")
        return sign | inf_bits | payload
    return sign | _round(_exact(text), mant, expo, text)


def _exact(text: str) -> Fraction:
    """The exact magnitude a decimal or hexadecimal float literal denotes."""
    # (pattern, digit radix, exponent base, exponent steps per fraction digit)
    for pattern, radix, base, step in ((_HEX_FLOAT, 16, 2, 4), (_DEC_FLOAT, 10, 10, 1)):
        m = pattern.fullmatch(text)
        if m:
            _, whole, frac, exp = m.groups()
            frac = (frac or "").replace("_", "")
            scale = int(exp.replace("_", "")) if exp else 0
            return Fraction(int(whole.replace("_", "") + frac, radix)) \
                * Fraction(base) ** (scale - step * len(frac))
    raise TextError(f"unknown operator or malformed float {text!r}")


def _round(value: Fraction, mant: int, expo: int, text: str) -> int:
    """IEEE bits (without sign) of ``value`` rounded to nearest, ties to even."""
    if value == 0:
        return 0
    bias = (1 << (expo - 1)) - 1
    exp = value.numerator.bit_length() - value.denominator.bit_length()
    if Fraction(2) ** exp > value:
        exp -= 1
    exp = max(exp, 1 - bias)  # below the normal range the spacing stays that of 2**(1-bias)
    scaled = value * Fraction(2) ** (mant - exp)
    q, r = divmod(scaled.numerator, scaled.denominator)
    if 2 * r > scaled.denominator or (2 * r == scaled.denominator and q & 1):
        q += 1
    if q == 1 << (mant + 1):
        q >>= 1
        exp += 1
    if exp > bias:
        raise TextError(f"constant out of range: {text}")
    if q < 1 << mant:
        return q  # subnormal
    return ((exp + bias) << mant) | (q - (1 << mant))


def parse_num(type: NumType, text: str) -> Num:
    """The :class:`Num` for ``(<type>.const <text>)``."""
    if type in (I32, I64):
        return Num(type, parse_int(text, type))
    return Num(type, parse_float(text, type))
