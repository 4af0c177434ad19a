"""The WAT printer: printed text goes back through wat2wasm to the same module."""
from __future__ import annotations

import pytest
import wasmtime
from hypothesis import given
from hypothesis import strategies as st

from engine.binary.decode import decode_module
from engine.binary.encode import encode_module
from engine.errors import TextError
from engine.syntax import (F32, F64, I32, Catch, CatchKind, Data, Export, ExternKind, Func,
                           FuncType, HeapType, Import, Instr, Memory, MemArg, MemType, Module,
                           Limits, Names, RefType, SegmentMode, Tag, TagType)
from engine.text import print_module


def ins(op: str, *imm: object) -> Instr:
    return Instr(op, tuple(imm))


def reread(m: Module) -> Module:
    return decode_module(wasmtime.wat2wasm(print_module(m)))


def const_module(op: str, bits: int) -> Module:
    t = F32 if op == "f32.const" else F64
    return Module(types=[FuncType((), (t,))], funcs=[Func(0, [], [ins(op, bits)])])


# NaNs (canonical, negative, signalling, max payload), zeros, subnormals, extremes, infinities.
SPECIAL_F32 = [0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFBFFFFF, 0x80000000, 0x00000001,
               0x007FFFFF, 0x7F7FFFFF, 0x7F800000, 0xFF800000, 0x3F800000]
SPECIAL_F64 = [0x7FF8000000000000, 0xFFF0000000000001, 0x7FFFFFFFFFFFFFFF,
               0x8000000000000000, 0x0000000000000001, 0x000FFFFFFFFFFFFF,
               0x7FEFFFFFFFFFFFFF, 0x3FF0000000000000, 0xFFF0000000000000]


def assert_exact(op: str, bits: int) -> None:
    assert reread(const_module(op, bits)).funcs[0].body == [ins(op, bits)]


@pytest.mark.parametrize("bits", SPECIAL_F32, ids=hex)
def test_special_f32_constants(bits: int) -> None:
    assert_exact("f32.const", bits)


@pytest.mark.parametrize("bits", SPECIAL_F64, ids=hex)
def test_special_f64_constants(bits: int) -> None:
    assert_exact("f64.const", bits)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1))
def test_float_constants_are_exact(f32_bits: int, f64_bits: int) -> None:
    assert_exact("f32.const", f32_bits)
    assert_exact("f64.const", f64_bits)


def test_nan_payloads_and_infinities_are_spelled_out() -> None:
    text = print_module(Module(types=[FuncType((), ())], funcs=[Func(0, [], [
        ins("f32.const", 0xFFC00001), ins("f64.const", 0x7FF4000000000000),
        ins("f32.const", 0xFF800000), ins("f64.const", 0x3FF8000000000000),
        ins("drop"), ins("drop"), ins("drop"), ins("drop")])]))
    for literal in ["f32.const -nan:0x400001", "f64.const nan:0x4000000000000",
                    "f32.const -inf", "f64.const 0x1.8p+0"]:
        assert literal in text


# The reference types the decoder accepts: the exn family in all four forms (the
# others' bottom and non-nullable types need gc / function references).
REF_TYPES = [RefType(n, h) for n in (True, False) for h in (HeapType.EXN, HeapType.NOEXN)] + [
    RefType(True, HeapType.FUNC), RefType(True, HeapType.EXTERN)]


def test_reference_types() -> None:
    """exnref, nullexnref, (ref exn) and (ref noexn) in function types and locals, and
    each heap type as a ref.null immediate."""
    nullable = [t for t in REF_TYPES if t.nullable]
    m = Module(types=[FuncType(tuple(REF_TYPES), tuple(REF_TYPES[:3]))],
               funcs=[Func(0, list(reversed(REF_TYPES)),
                           [ins("ref.null", t.heap) for t in nullable] +
                           [ins("drop")] * len(nullable) + [ins("unreachable")])])
    text = print_module(m)
    assert "(ref null exn)" not in text and "(param exnref nullexnref (ref exn) (ref noexn)" in text
    assert "ref.null noexn" in text
    assert reread(m) == m


def test_try_table_with_every_catch_kind() -> None:
    catches = (Catch(CatchKind.CATCH, 1, 0), Catch(CatchKind.CATCH_REF, 0, 1),
               Catch(CatchKind.CATCH_ALL, None, 2), Catch(CatchKind.CATCH_ALL_REF, None, 3))
    body = [ins("block", None), ins("block", None), ins("block", None), ins("block", None),
            ins("try_table", 1, catches), ins("ref.null", HeapType.EXN), ins("throw_ref"),
            ins("end"), ins("end"), ins("end"), ins("end"), ins("end")]
    m = Module(types=[FuncType((), ()), FuncType((), (I32,))],
               imports=[Import("m", "tag", ExternKind.TAG, TagType(0))], tags=[Tag(TagType(0))],
               funcs=[Func(0, [], body)])
    text = print_module(m)
    assert ("try_table (type 1) (catch 1 0) (catch_ref 0 1) (catch_all 2) (catch_all_ref 3)"
            in text)
    assert reread(m) == m


def test_nesting_is_indented() -> None:
    body = [ins("block", I32), ins("i32.const", 1), ins("if", I32), ins("i32.const", 2),
            ins("else"), ins("i32.const", 3), ins("end"), ins("end"), ins("drop")]
    text = print_module(Module(types=[FuncType((), ())], funcs=[Func(0, [], body)]))
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("(")]
    assert lines[:9] == [
        "    block (result i32)  ;; label = @1", "      i32.const 1",
        "      if (result i32)  ;; label = @2", "        i32.const 2", "      else",
        "        i32.const 3", "      end", "    end", "    drop"]


def test_memory_arguments() -> None:
    body = [ins("i32.const", 0), ins("i64.load", MemArg(0, 2**32 - 1)), ins("drop"),
            ins("i32.const", 0), ins("i32.load8_u", MemArg(0, 0)), ins("drop"),
            ins("i32.const", 0), ins("f64.load", MemArg(3, 16)), ins("drop")]
    m = Module(types=[FuncType((), ())], mems=[Memory(MemType(Limits(1)))],
               funcs=[Func(0, [], body)])
    text = print_module(m)
    assert "i64.load offset=4294967295 align=1" in text and "f64.load offset=16\n" in text
    assert reread(m) == m


def test_strings_of_every_byte_and_unicode_names() -> None:
    m = Module(mems=[Memory(MemType(Limits(1)))],
               datas=[Data(bytes(range(256)), SegmentMode.PASSIVE)],
               exports=[Export('q"\\\n é\U0001F600', ExternKind.MEMORY, 0)])
    assert reread(m) == m


def test_names_are_comments_even_when_they_look_like_syntax() -> None:
    m = Module(types=[FuncType((), ())], funcs=[Func(0, [], [ins("nop")])],
               names=Names(module="m\n)", funcs={0: "f ;) (\r"}))
    text = print_module(m)
    assert ";; m\\u{a})" in text and ";; f ;) (\\u{d}" in text
    assert reread(m) == m


ELEM_FORMS = [
    "(elem (i32.const 0) func 1 0)", "(elem func 1)", "(elem (table 1) (i32.const 0) func 0)",
    "(elem declare func 1 0)", "(elem (i32.const 0) funcref (ref.func 1) (ref.null func))",
    "(elem externref (ref.null extern))",
    "(elem (table 1) (offset i32.const 1 i32.const 2 i32.add) funcref (ref.func 0))",
    "(elem declare funcref (ref.func 1))",
]


@pytest.mark.parametrize("form", range(8))
def test_element_segment_forms(form: int) -> None:
    """Each segment prints in the text form wat2wasm encodes with the same flag."""
    original = wasmtime.wat2wasm(
        "(module (type (func)) (func (type 0)) (func (type 0)) (table 2 funcref) "
        f"(table 2 funcref) {ELEM_FORMS[form]})")
    m = decode_module(original)
    assert m.elems[0].form == form
    assert wasmtime.wat2wasm(print_module(m)) == original


def test_custom_sections_are_printed_in_place() -> None:
    original = wasmtime.wat2wasm(
        '(module $m (@custom "a" (before first) "\\00") (@custom "b" (after func) "x") '
        '(func $f) (memory 1) (func data.drop 0) (data "") (@custom "c" (before code) ""))')
    m = decode_module(original)
    assert [c.name for c in m.customs] == ["a", "b", "c", "name"]
    assert wasmtime.wat2wasm(print_module(m)) == original
    assert encode_module(m) == original


def test_unknown_instruction_is_a_text_error() -> None:
    m = Module(types=[FuncType((), ())], funcs=[Func(0, [], [ins("i32.frobnicate")])])
    with pytest.raises(TextError):
        print_module(m)
