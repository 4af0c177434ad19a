"""The binary encoder: hand-built modules give the bytes wat2wasm gives for the same text."""
from __future__ import annotations

import pytest
import wasmtime
from hypothesis import given
from hypothesis import strategies as st

from engine.binary.decode import decode_module
from engine.binary.encode import encode_module
from engine.syntax import (EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, NULLEXNREF, Catch,
                           CatchKind, Custom, Data, Elem, Export, ExternKind, Func, FuncType,
                           Global, GlobalType, HeapType, Import, Instr, Limits, Memory, MemArg,
                           MemType, Module, RefType, SegmentMode, Table, TableType, Tag, TagType)


def ins(op: str, *imm: object) -> Instr:
    return Instr(op, tuple(imm))


def ref_func(i: int) -> list[Instr]:
    return [ins("ref.func", i)]


I32_0 = [ins("i32.const", 0)]
VOID = FuncType((), ())


def test_numbers_locals_and_memory_access() -> None:
    body = [ins("i32.const", v) for v in (0, 63, 64, -64, -65, 2**31 - 1, -2**31)]
    body += [ins("drop")] * 7
    body += [ins("i64.const", v) for v in (2**63 - 1, -2**63, 128)]
    body += [ins("drop")] * 3
    body += [ins("f32.const", 0x7FA00001), ins("f64.const", 0xFFF8000000000001),
             ins("drop"), ins("drop"),
             ins("i32.const", 0), ins("i64.load32_u", MemArg(1, 300)), ins("drop"),
             ins("i32.const", 0), ins("local.get", 0), ins("i32.store", MemArg(2, 0)),
             ins("memory.size", 0), ins("memory.grow", 0), ins("drop")]
    m = Module(types=[FuncType((I32,), ())], mems=[Memory(MemType(Limits(1, 70000)))],
               funcs=[Func(0, [I64, I64, F32, I64, I64], body)])
    assert encode_module(m) == wasmtime.wat2wasm("""(module
      (type (func (param i32)))
      (memory 1 70000)
      (func (type 0) (local i64 i64 f32 i64 i64)
        i32.const 0 i32.const 63 i32.const 64 i32.const -64 i32.const -65
        i32.const 0x7fffffff i32.const -0x80000000
        drop drop drop drop drop drop drop
        i64.const 0x7fffffffffffffff i64.const -0x8000000000000000 i64.const 128
        drop drop drop
        f32.const nan:0x200001 f64.const -nan:0x8000000000001 drop drop
        i32.const 0 i64.load32_u offset=300 align=2 drop
        i32.const 0 local.get 0 i32.store
        memory.size memory.grow drop))""")


def test_exception_handling() -> None:
    """Tags, throw, throw_ref and try_table with all four catch kinds."""
    catches = (Catch(CatchKind.CATCH, 0, 0), Catch(CatchKind.CATCH_REF, 1, 1),
               Catch(CatchKind.CATCH_ALL, None, 2), Catch(CatchKind.CATCH_ALL_REF, None, 3))
    body = [ins("block", 2), ins("block", EXNREF), ins("block", 3), ins("block", None),
            ins("try_table", None, catches), ins("i32.const", 7), ins("throw", 0), ins("end"),
            ins("end"), ins("unreachable"), ins("end"), ins("throw_ref"), ins("end"),
            ins("unreachable"), ins("end"), ins("drop"),
            ins("try_table", 4, ()), ins("end"), ins("ref.null", HeapType.NOEXN), ins("drop")]
    m = Module(
        types=[FuncType((I32,), ()), VOID, FuncType((), (I32,)), FuncType((), (I32, EXNREF)),
               VOID],
        imports=[Import("env", "e", ExternKind.TAG, TagType(0))],
        tags=[Tag(TagType(0))],
        funcs=[Func(1, [NULLEXNREF, RefType(False, HeapType.EXN)], body)],
        exports=[Export("t", ExternKind.TAG, 1), Export("f", ExternKind.FUNC, 0)])
    assert encode_module(m) == wasmtime.wat2wasm("""(module
      (type (func (param i32))) (type (func)) (type (func (result i32)))
      (type (func (result i32 exnref))) (type (func))
      (import "env" "e" (tag (type 0)))
      (tag (type 0))
      (func (type 1) (local nullexnref (ref exn))
        block (type 2) block (result exnref) block (type 3) block
        try_table (catch 0 0) (catch_ref 1 1) (catch_all 2) (catch_all_ref 3)
          i32.const 7 throw 0
        end
        end unreachable end throw_ref end unreachable end drop
        try_table (type 4) end
        ref.null noexn drop)
      (export "t" (tag 1)) (export "f" (func 0)))""")


ELEM_TEXT = {
    0: "(elem (i32.const 0) func 1 0)",
    1: "(elem func 1 0)",
    2: "(elem (table 1) (i32.const 0) func 1 0)",
    3: "(elem declare func 1 0)",
    4: "(elem (i32.const 0) funcref (ref.func 1) (ref.null func))",
    5: "(elem externref (ref.null extern))",
    6: "(elem (table 1) (i32.const 0) funcref (ref.func 1) (ref.null func))",
    7: "(elem declare funcref (ref.func 1) (ref.null func))",
}


def elem_for(form: int, hint: int | None) -> Elem:
    """A segment wat2wasm encodes with flag ``form``, built without the flag unless
    ``hint`` gives it."""
    mode = SegmentMode.ACTIVE
    if form & 1:
        mode = SegmentMode.DECLARATIVE if form & 2 else SegmentMode.PASSIVE
    table = 1 if form in (2, 6) else 0
    offset = I32_0 if mode is SegmentMode.ACTIVE else None
    init = [ref_func(1), [ins("ref.null", HeapType.FUNC)] if form >= 4 else ref_func(0)]
    if form == 5:
        init = [[ins("ref.null", HeapType.EXTERN)]]
    return Elem(EXTERNREF if form == 5 else FUNCREF, init, mode, table, offset, form=hint)


def elem_module(elem: Elem) -> Module:
    return Module(types=[VOID], funcs=[Func(0, [], []), Func(0, [], [])],
                  tables=[Table(TableType(Limits(2), FUNCREF))] * 2, elems=[elem])


def elem_wat(form: int) -> bytes:
    return wasmtime.wat2wasm(f"(module (type (func)) (func (type 0)) (func (type 0)) "
                             f"(table 2 funcref) (table 2 funcref) {ELEM_TEXT[form]})")


@pytest.mark.parametrize("form", range(8))
def test_element_segment_forms_are_kept(form: int) -> None:
    assert encode_module(elem_module(elem_for(form, form))) == elem_wat(form)


@pytest.mark.parametrize("form", range(8))
def test_element_segments_without_a_hint_take_wat2wasm_form(form: int) -> None:
    assert encode_module(elem_module(elem_for(form, None))) == elem_wat(form)


def test_hint_keeps_an_expression_form() -> None:
    """Hints are honoured even where a list of function indices would be shorter."""
    elem = elem_for(0, 4)
    assert encode_module(elem_module(elem)) == wasmtime.wat2wasm(
        "(module (type (func)) (func (type 0)) (func (type 0)) (table 2 funcref) "
        "(table 2 funcref) (elem (i32.const 0) funcref (ref.func 1) (ref.func 0)))")


def test_unfit_hint_falls_back_to_canonical_form() -> None:
    """A hint for a function-index form is dropped once an item is no longer ref.func."""
    elem = elem_for(0, 0)
    elem.init.append([ins("ref.null", HeapType.FUNC)])
    data = encode_module(elem_module(elem))
    assert decode_module(data).elems[0].form == 4
    assert data == wasmtime.wat2wasm(
        "(module (type (func)) (func (type 0)) (func (type 0)) (table 2 funcref) "
        "(table 2 funcref) (elem (i32.const 0) funcref (ref.func 1) (ref.func 0) "
        "(ref.null func)))")


def test_data_segments_and_data_count() -> None:
    m = Module(types=[VOID], mems=[Memory(MemType(Limits(1)))],
               funcs=[Func(0, [], [ins("i32.const", 0), ins("i32.const", 0), ins("i32.const", 1),
                                   ins("memory.init", 1, 0), ins("data.drop", 0)])],
               datas=[Data(b"\x00a\xff", SegmentMode.ACTIVE, 0, [ins("i32.const", 8)]),
                      Data(b"passive", SegmentMode.PASSIVE)],
               data_count=2)
    assert encode_module(m) == wasmtime.wat2wasm("""(module (type (func)) (memory 1)
      (func (type 0) i32.const 0 i32.const 0 i32.const 1 memory.init 1 data.drop 0)
      (data (i32.const 8) "\\00a\\ff") (data "passive"))""")


def test_data_hint_for_explicit_memory_zero_is_kept() -> None:
    """Flag 2 naming memory 0 is valid but not what wat2wasm writes; the hint keeps it."""
    data = Data(b"x", SegmentMode.ACTIVE, 0, I32_0, form=2)
    m = Module(mems=[Memory(MemType(Limits(1)))], datas=[data])
    encoded = encode_module(m)
    assert b"\x0b\x08\x01\x02\x00\x41\x00\x0b\x01x" in encoded
    assert decode_module(encoded) == m


def test_imports_exports_globals_start_and_tables() -> None:
    m = Module(
        types=[VOID, FuncType((I32, F64), (I64,))],
        imports=[Import("m", "f", ExternKind.FUNC, 1),
                 Import("m", "t", ExternKind.TABLE, TableType(Limits(1, 2), EXTERNREF)),
                 Import("m", "mem", ExternKind.MEMORY, MemType(Limits(0))),
                 Import("m", "g", ExternKind.GLOBAL, GlobalType(False, I32)),
                 Import("m", "é", ExternKind.TAG, TagType(0))],
        funcs=[Func(0, [], [ins("i32.const", 0), ins("i64.const", 0), ins("f64.const", 0),
                            ins("select", (F64,)), ins("return_call_indirect", 1, 1)])],
        tables=[Table(TableType(Limits(3), RefType(True, HeapType.EXN)))],
        globals=[Global(GlobalType(True, I32),
                        [ins("global.get", 0), ins("i32.const", 2), ins("i32.mul")]),
                 Global(GlobalType(False, FUNCREF), ref_func(1))],
        exports=[Export(name, kind, 0) for name, kind in
                 [("f", ExternKind.FUNC), ("t", ExternKind.TABLE), ("m", ExternKind.MEMORY),
                  ("g", ExternKind.GLOBAL), ("x", ExternKind.TAG)]],
        start=1)
    assert encode_module(m) == wasmtime.wat2wasm("""(module
      (type (func)) (type (func (param i32 f64) (result i64)))
      (import "m" "f" (func (type 1)))
      (import "m" "t" (table 1 2 externref))
      (import "m" "mem" (memory 0))
      (import "m" "g" (global i32))
      (import "m" "é" (tag (type 0)))
      (func (type 0) i32.const 0 i64.const 0 f64.const 0 select (result f64)
        return_call_indirect 1 (type 1))
      (table 3 exnref)
      (global (mut i32) global.get 0 i32.const 2 i32.mul)
      (global funcref ref.func 1)
      (export "f" (func 0)) (export "t" (table 0)) (export "m" (memory 0))
      (export "g" (global 0)) (export "x" (tag 0))
      (start 1))""")


def test_control_and_bulk_instructions() -> None:
    body = [ins("loop", I32), ins("i32.const", 1), ins("if", None), ins("br", 1), ins("else"),
            ins("nop"), ins("end"), ins("i32.const", 0), ins("br_table", (0, 0), 0), ins("end"),
            ins("i32.const", 0), ins("i32.const", 0), ins("i32.const", 0),
            ins("table.init", 0, 1), ins("elem.drop", 0),
            ins("i32.const", 0), ins("i32.const", 0), ins("i32.const", 0),
            ins("table.copy", 1, 0), ins("i32.const", 0), ins("i32.const", 0),
            ins("i32.const", 0), ins("memory.copy", 0, 0), ins("i32.const", 0),
            ins("i32.const", 0), ins("i32.const", 0), ins("memory.fill", 0),
            ins("i32.const", 0), ins("table.get", 1), ins("ref.is_null"), ins("drop"),
            ins("i32.trunc_sat_f64_u")]
    m = Module(types=[FuncType((), ()), FuncType((F64,), (I32,))],
               funcs=[Func(1, [], body)], mems=[Memory(MemType(Limits(1)))],
               tables=[Table(TableType(Limits(1), FUNCREF))] * 2,
               elems=[Elem(FUNCREF, [], SegmentMode.PASSIVE, form=None)])
    assert encode_module(m) == wasmtime.wat2wasm("""(module
      (type (func)) (type (func (param f64) (result i32)))
      (func (type 1)
        loop (result i32) i32.const 1 if br 1 else nop end i32.const 0 br_table 0 0 0 end
        i32.const 0 i32.const 0 i32.const 0 table.init 1 0 elem.drop 0
        i32.const 0 i32.const 0 i32.const 0 table.copy 1 0
        i32.const 0 i32.const 0 i32.const 0 memory.copy
        i32.const 0 i32.const 0 i32.const 0 memory.fill
        i32.const 0 table.get 1 ref.is_null drop
        i32.trunc_sat_f64_u)
      (memory 1) (table 1 funcref) (table 1 funcref) (elem func))""")


def test_custom_sections_go_back_in_place() -> None:
    customs = [Custom("first", b"", 0), Custom("a", b"\x01", 1), Custom("b", b"", 1),
               Custom("t", b"x", 13), Custom("dc", b"", 12), Custom("end", b"yz", 11)]
    m = Module(types=[VOID], funcs=[Func(0, [], [ins("data.drop", 0)])], tags=[Tag(TagType(0))],
               mems=[Memory(MemType(Limits(1)))], datas=[Data(b"", SegmentMode.PASSIVE)],
               data_count=1, customs=customs)
    assert encode_module(m) == wasmtime.wat2wasm("""(module
      (@custom "first" (before first) "") (@custom "a" (after type) "\\01")
      (@custom "b" (after type) "") (@custom "t" (after tag) "x")
      (@custom "dc" (before code) "") (@custom "end" (after data) "yz")
      (type (func)) (func (type 0) data.drop 0) (tag (type 0)) (memory 1) (data ""))""")


@given(st.integers(-2**31, 2**31 - 1), st.integers(-2**63, 2**63 - 1))
def test_integer_constants(a: int, b: int) -> None:
    m = Module(types=[VOID], funcs=[Func(0, [], [ins("i32.const", a), ins("i64.const", b),
                                                ins("drop"), ins("drop")])])
    assert encode_module(m) == wasmtime.wat2wasm(
        f"(module (type (func)) (func (type 0) i32.const {a} i64.const {b} drop drop))")


def test_empty_module() -> None:
    assert encode_module(Module()) == wasmtime.wat2wasm("(module)")
    assert decode_module(encode_module(Module())) == Module()
