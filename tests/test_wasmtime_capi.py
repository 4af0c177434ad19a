"""The wasmtime side of the oracle: the C-API layer (:mod:`oracles.wasmtime_capi`) and
``WasmtimeRunner`` on small modules.

Exceptions must cross wasmtime's host boundary both ways as the very same objects,
traps must keep their codes through nested host calls, and a host error must be a
trap no handler catches.  Exception-object identity is observed through
``wasmtime_exnref_to_raw``: two live roots of one object give the same raw GC
reference, and two objects never do.
"""
from __future__ import annotations

import ctypes
import gc
import hashlib
from collections.abc import Callable

import pytest
import wasmtime
from wasmtime import _ffi as ffi

from oracles import wasmtime_capi as capi
from oracles.case import Case, Invoke, RunConfig
from oracles.outcome import (MAX_EXN_DEPTH, Exn, HostCall, HostCaught, HostDone, MemoryState, Num, Outcome, Ref,
                             Rejected, Returned, TableState, Thrown, Trapped)
from oracles.plan import CallExport, HostError, HostFunc, HostPlan, Log, Rethrow, TagDef, Throw
from oracles.runner import RunnerError, run
from oracles.wasmtime_runner import WasmtimeRunner, make_engine

# -- the layer -----------------------------------------------------------------------------

CATCHES = """(module
  (import "host" "throw" (func $throw (param i32)))
  (import "host" "tag" (tag $ht (param i32)))
  (tag $t (export "t") (param i32 f64))
  (func (export "make") (param i32) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $t (local.get 0) (f64.const 1.5)))
      (unreachable)))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $ht $h) (call $throw (local.get 0)))
      (i32.const -1)))
  (func (export "catch_ref") (param i32) (result i32 exnref)
    (block $h (result i32 exnref)
      (try_table (catch_ref $ht $h) (call $throw (local.get 0)))
      (return (i32.const -1) (ref.null exn))))
  (func (export "catch_all") (param i32) (result i32)
    (block $h
      (try_table (catch_all $h) (call $throw (local.get 0)))
      (return (i32.const -1)))
    (i32.const 100))
  (func (export "catch_all_ref") (param i32) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $throw (local.get 0)))
      (ref.null exn))))"""

NESTED = """(module
  (import "host" "relay" (func $relay (param i32)))
  (tag $e (export "e") (param i32))
  (func (export "throw_it") (param i32) (throw $e (local.get 0)))
  (func (export "trap_it") (param i32) (unreachable))
  (func (export "outer") (param i32) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $relay (local.get 0)))
      (ref.null exn))))"""

Act = Callable[[list[capi.Val]], list[capi.Val]]


class Host:
    """A module instantiated with host functions that run ``acts[name]`` (default: return
    nothing) and host tags of the imported types (``tag``: the last one)."""

    def __init__(self, wat: str) -> None:
        self.store = wasmtime.Store(make_engine(512 * 1024))
        self.store.set_epoch_deadline(1)  # the engine interrupts at once without one
        self.cx = self.store._context()
        module = wasmtime.Module(self.store.engine, wasmtime.wat2wasm(wat))
        self.acts: dict[str, Act] = {}
        imports = []
        for imp in module.imports:
            if isinstance(imp.type, wasmtime.TagType):
                self.tag = wasmtime.Tag(self.store, imp.type)
                imports.append(self.tag)
            else:
                imports.append(capi.host_func(self.store, imp.type, self._dispatch(imp.name or "")))
        self.exports = capi.instantiate(self.store, module, imports).exports(self.store)

    def _dispatch(self, name: str) -> Act:
        return lambda args: self.acts.get(name, lambda _: [])(args)

    def call(self, name: str, *args: capi.Val, results: int = 1) -> list[capi.Val]:
        return capi.call(self.cx, self.exports[name], list(args), results)

    def raw(self, exn: capi.Val) -> int:
        """The raw GC reference of a non-null exnref: equal for roots of one object."""
        return ffi.wasmtime_exnref_to_raw(self.cx, ctypes.byref(exn.raw.of.exnref))

    def payload(self, exn: capi.Val) -> list[int]:
        return [f.bits for f in capi.exn_fields(self.cx, exn)]


def i32(x: int) -> capi.Val:
    return capi.Val.number(capi.I32, x)


def thrower(host: Host) -> Act:
    """A host function body that throws a new exception of ``host.tag`` with its argument."""
    def throw(args: list[capi.Val]) -> list[capi.Val]:
        raise capi.WasmException(capi.exn_new(host.cx, host.tag, [args[0]]))
    return throw


def test_an_exnref_result_reads_back_its_tag_and_payload() -> None:
    host = Host(CATCHES)
    [exn] = host.call("make", i32(-5))
    assert exn.kind == capi.EXNREF == 8 and not exn.is_null
    assert capi.exn_tag(host.cx, exn).eq(host.store, host.exports["t"])
    assert [(f.kind, f.bits) for f in capi.exn_fields(host.cx, exn)] == [
        (capi.I32, 0xFFFF_FFFB), (capi.F64, 0x3FF8_0000_0000_0000)]
    assert capi.type_names(host.exports["catch_ref"].type(host.store)) == (("i32",), ("i32", "exnref"))


def test_a_new_exception_object_has_its_tag_and_fields() -> None:
    host = Host(CATCHES)
    exn = capi.exn_new(host.cx, host.tag, [i32(77)])
    assert capi.exn_tag(host.cx, exn).eq(host.store, host.tag)
    assert not capi.exn_tag(host.cx, exn).eq(host.store, host.exports["t"])
    assert host.payload(exn) == [77]
    with pytest.raises(wasmtime.WasmtimeError):
        capi.exn_new(host.cx, host.tag, [capi.Val.number(capi.I64, 1)])


@pytest.mark.parametrize("export", ["catch", "catch_ref", "catch_all", "catch_all_ref"])
def test_wasm_catches_what_the_host_throws_with_every_catch_kind(export: str) -> None:
    host = Host(CATCHES)
    host.acts["throw"] = thrower(host)
    results = host.call(export, i32(42), results=2 if export == "catch_ref" else 1)
    if export == "catch_all":
        assert results[0].bits == 100
    elif export == "catch_all_ref":
        assert capi.exn_tag(host.cx, results[0]).eq(host.store, host.tag)
        assert host.payload(results[0]) == [42]
    else:
        assert results[0].bits == 42
    if export == "catch_ref":
        assert capi.exn_tag(host.cx, results[1]).eq(host.store, host.tag)
    assert not ffi.wasmtime_context_has_exception(host.cx)


def test_an_exception_the_host_rethrows_is_the_same_object() -> None:
    host = Host(CATCHES)
    [made] = host.call("make", i32(3))
    [twin] = host.call("make", i32(3))
    assert host.raw(made) == host.raw(made.clone()) != host.raw(twin)

    def rethrow(args: list[capi.Val]) -> list[capi.Val]:
        raise capi.WasmException(made)
    host.acts["throw"] = rethrow
    [caught] = host.call("catch_all_ref", i32(0))
    [again] = host.call("catch_all_ref", i32(0))
    assert host.raw(caught) == host.raw(again) == host.raw(made)


def test_an_escaping_exception_is_raised_with_its_object_and_the_store_left_clean() -> None:
    host = Host(NESTED)
    with pytest.raises(capi.WasmException) as info:
        host.call("throw_it", i32(8), results=0)
    assert capi.exn_tag(host.cx, info.value.exn).eq(host.store, host.exports["e"])
    assert host.payload(info.value.exn) == [8]
    assert not ffi.wasmtime_context_has_exception(host.cx)
    assert host.call("outer", i32(1))[0].is_null  # the store still works


def test_an_exception_escaping_a_nested_call_reaches_the_outer_wasm_as_the_same_object() -> None:
    host = Host(NESTED)
    escaped: list[capi.Val] = []

    def relay(args: list[capi.Val]) -> list[capi.Val]:
        try:
            return host.call("throw_it", args[0], results=0)
        except capi.WasmException as e:
            escaped.append(e.exn)
            raise
    host.acts["relay"] = relay
    [caught] = host.call("outer", i32(6))
    assert len(escaped) == 1 and host.raw(caught) == host.raw(escaped[0])
    assert host.payload(caught) == [6]


def test_a_trap_in_a_nested_call_keeps_its_code_and_no_handler_catches_it() -> None:
    host = Host(NESTED)
    host.acts["relay"] = lambda args: host.call("trap_it", args[0], results=0)
    with pytest.raises(capi.WasmTrap) as info:
        host.call("outer", i32(0))
    assert info.value.code == wasmtime.TrapCode.UNREACHABLE


def test_a_host_error_is_a_trap_without_code_caused_by_it_that_catch_all_skips() -> None:
    host = Host(CATCHES)
    error = LookupError("from the host")

    def fail(args: list[capi.Val]) -> list[capi.Val]:
        raise error
    host.acts["throw"] = fail
    for export in ("catch_all", "catch_all_ref"):
        with pytest.raises(capi.WasmTrap) as info:
            host.call(export, i32(0))
        assert info.value.code is None and info.value.__cause__ is error


def test_throwing_a_null_exnref_is_a_host_error() -> None:
    host = Host(CATCHES)

    def throw_null(args: list[capi.Val]) -> list[capi.Val]:
        raise capi.WasmException(capi.Val.null(capi.EXNREF))
    host.acts["throw"] = throw_null
    with pytest.raises(capi.WasmTrap) as info:
        host.call("catch_all", i32(0))
    assert info.value.code is None and isinstance(info.value.__cause__, ValueError)


def test_a_host_error_in_a_nested_call_keeps_its_cause_through_both_boundaries() -> None:
    host = Host(NESTED)
    error = KeyError("deep")
    inner = Host(CATCHES)  # the relay calls into another store, whose host function fails

    def fail(args: list[capi.Val]) -> list[capi.Val]:
        raise error

    def relay(args: list[capi.Val]) -> list[capi.Val]:
        return inner.call("catch_all", i32(0))[:0]
    inner.acts["throw"] = fail
    host.acts["relay"] = relay
    with pytest.raises(capi.WasmTrap) as info:
        host.call("outer", i32(0))
    assert info.value.code is None and info.value.__cause__ is error


def test_wrong_arguments_are_refused_not_reported_as_a_trap() -> None:
    host = Host(NESTED)
    with pytest.raises(wasmtime.WasmtimeError):
        host.call("throw_it", results=0)
    with pytest.raises(wasmtime.WasmtimeError):
        host.call("throw_it", capi.Val.number(capi.F32, 0), results=0)


def test_float_bits_are_exact_through_calls_and_host_functions() -> None:
    host = Host("""(module
      (import "host" "echo" (func $echo (param f32 f64) (result f32 f64)))
      (func (export "via_host") (param f32 f64) (result f32 f64)
        (call $echo (local.get 0) (local.get 1))))""")
    seen: list[tuple[int, int]] = []

    def echo(args: list[capi.Val]) -> list[capi.Val]:
        seen.append((args[0].bits, args[1].bits))
        return [capi.Val.number(capi.F32, 0xFFBF_FFFF), capi.Val.number(capi.F64, 0x7FF0_0000_0000_0001)]
    host.acts["echo"] = echo
    out = host.call("via_host", capi.Val.number(capi.F32, 0x7FA0_0001),
                    capi.Val.number(capi.F64, 0xFFF4_0000_0000_0002), results=2)
    assert seen == [(0x7FA0_0001, 0xFFF4_0000_0000_0002)]
    assert [v.bits for v in out] == [0xFFBF_FFFF, 0x7FF0_0000_0000_0001]


def test_values_outlive_their_store_safely() -> None:
    host = Host(CATCHES)
    [exn] = host.call("make", i32(1))
    ref = capi.Val.externref(host.cx)
    host.store.close()
    del host, exn, ref
    gc.collect()


# -- the runner ----------------------------------------------------------------------------

def outcome(wat: str, *invokes: tuple[str, ...], plan: HostPlan | None = None, **config: float) -> Outcome:
    invocations = tuple(Invoke(name, tuple(args)) for name, *args in invokes)
    case = Case(wasmtime.wat2wasm(wat), plan or HostPlan(), invocations, RunConfig(**config))  # type: ignore[arg-type]
    return run(WasmtimeRunner(case))


def results(out: Outcome) -> list[object]:
    return [call.result for call in out.invocations]


ESCAPES = """(module
  (import "host" "ht" (tag $ht (param i64)))
  (tag $e (export "e") (export "e2") (param i32 f32))
  (tag $u (param exnref))
  (func (export "export_tag") (throw $e (i32.const -2) (f32.const nan:0x200000)))
  (func (export "host_tag") (throw $ht (i64.const 5)))
  (func (export "unexported")
    (throw $u (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e (i32.const 1) (f32.const 0.5)))
      (unreachable)))))"""


def test_escaping_exceptions_are_thrown_with_tag_name_and_payload() -> None:
    out = outcome(ESCAPES, ("export_tag",), ("host_tag",), ("unexported",),
                  plan=HostPlan(tags=(TagDef("ht", ("i64",)),)))
    inner = Exn("export:e", (Num("i32", 1), Num("f32", 0x3F00_0000)), 4)
    assert results(out) == [Thrown(Exn("export:e", (Num("i32", -2), Num("f32", 0x7FA0_0000)), 1)),
                            Thrown(Exn("host:ht", (Num("i64", 5),), 2)),
                            Thrown(Exn("unexported", (inner,), 3))]
    assert out.invocations[0].result.exn.payload[1].bits == 0x7FA0_0000  # type: ignore[union-attr]


HOST_THROWS = """(module
  (import "host" "t" (tag $t (param i32)))
  (import "host" "throw" (func $throw (param i32)))
  (import "host" "rethrow" (func $rethrow (param exnref)))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $t $h) (call $throw (local.get 0)))
      (i32.const -1)))
  (func (export "catch_ref") (param i32) (result exnref)
    (block $h (result i32 exnref)
      (try_table (catch_ref $t $h) (call $throw (local.get 0)))
      (return (ref.null exn)))
    (call $rethrow_caught)
    )
  (func $rethrow_caught (param i32 exnref) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $rethrow (local.get 1)))
      (ref.null exn)))
  (func (export "catch_all") (param i32) (result i32)
    (block $h
      (try_table (catch_all $h) (call $throw (local.get 0)))
      (return (i32.const -1)))
    (i32.const 100))
  (func (export "escape") (param i32) (call $throw (local.get 0))))"""

THROW_PLAN = HostPlan(tags=(TagDef("t", ("i32",)),),
                      funcs=(HostFunc("throw", ("i32",), (), Throw("host:t", ("arg:0",))),
                             HostFunc("rethrow", ("exnref",), (), Rethrow(0))))


def test_host_throws_into_wasm_and_rethrows_what_wasm_caught() -> None:
    out = outcome(HOST_THROWS, ("catch", "i32:4"), ("catch_ref", "i32:5"), ("catch_all", "i32:6"),
                  ("escape", "i32:7"), plan=THROW_PLAN)
    exn = Exn("host:t", (Num("i32", 5),), 2)
    assert results(out) == [Returned((Num("i32", 4),)), Returned((exn,)), Returned((Num("i32", 100),)),
                            Thrown(Exn("host:t", (Num("i32", 7),), 4))]
    assert out.invocations[1].trace == (
        HostCall("throw", (Num("i32", 5),)), HostDone("throw", Thrown(exn)),
        HostCall("rethrow", (exn,)), HostDone("rethrow", Thrown(exn)))


def test_the_runner_rethrows_the_very_object_wasm_passed_to_the_host() -> None:
    wat = """(module
      (import "host" "rethrow" (func $rethrow (param exnref)))
      (tag $e (export "e") (param i32))
      (global $kept (export "kept") (mut exnref) (ref.null exn))
      (func (export "roundtrip") (result exnref)
        (global.set $kept (block $h (result exnref)
          (try_table (catch_all_ref $h) (throw $e (i32.const 1))) (unreachable)))
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (call $rethrow (global.get $kept)))
          (ref.null exn))))"""
    session = WasmtimeRunner(Case(wasmtime.wat2wasm(wat), HostPlan(funcs=(HostFunc("rethrow", ("exnref",), (),
                                                                                    Rethrow(0)),))))
    session.instantiate()
    [caught] = session.call_export("roundtrip", [])
    kept = capi.global_get(session.context, session.exports["kept"])
    raw = [ffi.wasmtime_exnref_to_raw(session.context, ctypes.byref(v.raw.of.exnref)) for v in (caught, kept)]
    assert raw[0] == raw[1]
    assert session.normalize("exnref", caught) == Exn("export:e", (Num("i32", 1),), 1)
    assert session.normalize("exnref", kept) == Exn("export:e", (Num("i32", 1),), 1)
    session.close()


def test_a_rethrow_of_null_and_a_host_error_are_host_traps_no_handler_catches() -> None:
    plan = HostPlan(funcs=(HostFunc("fail", action=HostError()),
                           HostFunc("rethrow", ("exnref",), (), Rethrow(0))))
    out = outcome("""(module
      (import "host" "fail" (func $fail))
      (import "host" "rethrow" (func $rethrow (param exnref)))
      (func (export "fail") (result i32)
        (block $h (try_table (catch_all $h) (call $fail)) (return (i32.const 0)))
        (i32.const 1))
      (func (export "null") (result i32)
        (block $h (try_table (catch_all $h) (call $rethrow (ref.null exn))) (return (i32.const 0)))
        (i32.const 1)))""", ("fail",), ("null",), plan=plan)
    assert results(out) == [Trapped("host"), Trapped("host")]
    assert out.invocations[0].trace == (HostCall("fail", ()), HostDone("fail", Trapped("host")))


def test_float_bits_are_exact_through_invocations_and_host_functions() -> None:
    plan = HostPlan(funcs=(HostFunc("echo", ("f32", "f64"), ("f32", "f64"), Log(), ("arg:0", "arg:1")),
                           HostFunc("nan", (), ("f64",), Log(), ("f64:nan:0x7ff4000000000001",))))
    out = outcome("""(module
      (import "host" "echo" (func $echo (param f32 f64) (result f32 f64)))
      (import "host" "nan" (func $nan (result f64)))
      (func (export "id") (param f32 f64) (result f32 f64) (local.get 0) (local.get 1))
      (func (export "via_host") (param f32 f64) (result f32 f64) (call $echo (local.get 0) (local.get 1)))
      (func (export "host_nan") (result i64) (i64.reinterpret_f64 (call $nan))))""",
                  ("id", "f32:nan:0x7fa00001", "f64:nan:0xfff4000000000002"),
                  ("via_host", "f32:nan:0xffbfffff", "f64:-0.0"), ("host_nan",), plan=plan)
    bits = [[v.bits for v in r.values] for r in results(out)]  # type: ignore[attr-defined]
    assert bits == [[0x7FA0_0001, 0xFFF4_0000_0000_0002], [0xFFBF_FFFF, 1 << 63], [0x7FF4_0000_0000_0001]]
    assert [a.bits for a in out.invocations[1].trace[0].args] == [0xFFBF_FFFF, 1 << 63]  # type: ignore[union-attr]


NESTED_PLAN = HostPlan(funcs=(
    HostFunc("outer", ("i32",), ("i32",), CallExport("inner", ("arg:0",))),
    HostFunc("leaf", ("i32",), ("i32",), Log(), ("i32:7",)),
    HostFunc("relay_throw", ("i32",), (), CallExport("throw_it", ("arg:0",))),
    HostFunc("relay_catch", ("i32",), (), CallExport("throw_it", ("arg:0",), catch=True)),
    HostFunc("relay_trap", (), (), CallExport("recurse", ("i32:0",)))))

NESTED_WAT = """(module
  (import "host" "outer" (func $outer (param i32) (result i32)))
  (import "host" "leaf" (func $leaf (param i32) (result i32)))
  (import "host" "relay_throw" (func $relay_throw (param i32)))
  (import "host" "relay_catch" (func $relay_catch (param i32)))
  (import "host" "relay_trap" (func $relay_trap))
  (tag $e (export "e") (param i32))
  (func (export "start") (param i32) (result i32) (call $outer (local.get 0)))
  (func (export "inner") (param i32) (result i32) (i32.add (call $leaf (local.get 0)) (i32.const 1)))
  (func (export "throw_it") (param i32) (throw $e (local.get 0)))
  (func (export "relayed") (param i32) (result i32)
    (block $h (result i32) (try_table (catch $e $h) (call $relay_throw (local.get 0))) (i32.const -1)))
  (func (export "host_catches") (param i32) (result i32)
    (call $relay_catch (local.get 0)) (i32.const 1))
  (func $recurse (export "recurse") (param i32) (call $recurse (local.get 0)))
  (func (export "deep_trap") (result i32)
    (block $h (try_table (catch_all $h) (call $relay_trap)) (return (i32.const 0)))
    (i32.const 1)))"""


def test_nested_host_wasm_host_crossings() -> None:
    out = outcome(NESTED_WAT, ("start", "i32:1"), ("relayed", "i32:9"), ("host_catches", "i32:3"),
                  ("deep_trap",), plan=NESTED_PLAN)
    exn9, exn3 = Exn("export:e", (Num("i32", 9),), 1), Exn("export:e", (Num("i32", 3),), 2)
    assert results(out) == [Returned((Num("i32", 8),)), Returned((Num("i32", 9),)), Returned((Num("i32", 1),)),
                            Trapped("stack_overflow")]
    assert out.invocations[0].trace == (
        HostCall("outer", (Num("i32", 1),)), HostCall("leaf", (Num("i32", 1),)),
        HostDone("leaf", Returned((Num("i32", 7),))), HostDone("outer", Returned((Num("i32", 8),))))
    assert out.invocations[1].trace[-1] == HostDone("relay_throw", Thrown(exn9))
    assert out.invocations[2].trace == (HostCall("relay_catch", (Num("i32", 3),)),
                                        HostCaught("relay_catch", exn3), HostDone("relay_catch", Returned()))
    assert out.invocations[3].trace[-1] == HostDone("relay_trap", Trapped("stack_overflow"))


def test_stack_overflow_and_timeout_trap() -> None:
    out = outcome("""(module
      (func $f (export "f") (call $f))
      (func (export "spin") (loop $l (br $l))))""", ("f",), ("spin",), timeout=0.3)
    assert results(out) == [Trapped("stack_overflow"), Trapped("interrupt")]


def test_exported_state_in_export_order() -> None:
    out = outcome("""(module
      (tag $e (export "e") (param i32))
      (global $g (export "g") (mut exnref) (ref.null exn))
      (global (export "n") f32 (f32.const nan:0x1))
      (memory (export "mem") 1)
      (table $tab (export "tab") 2 exnref)
      (func (export "keep") (param i32)
        (local $x exnref)
        (local.set $x (block $h (result exnref)
          (try_table (catch_all_ref $h) (throw $e (local.get 0))) (unreachable)))
        (global.set $g (local.get $x))
        (table.set $tab (i32.const 1) (local.get $x))
        (i32.store (i32.const 0) (local.get 0))))""", ("keep", "i32:9"))
    exn = Exn("export:e", (Num("i32", 9),), 1)
    digest = hashlib.sha256(b"\x09" + bytes(65535)).hexdigest()[:16]
    assert out.state is not None
    assert out.state.globals == (("g", exn), ("n", Num("f32", 0x7F80_0001)))
    assert out.state.memories == (MemoryState("mem", 1, digest),)
    assert out.state.tables == (TableState("tab", 2, (Ref("exnref", True), exn)),)


def test_exnrefs_nested_in_payloads_are_followed_to_the_depth_limit() -> None:
    out = outcome("""(module
      (tag $n (export "n") (param exnref))
      (func (export "chain") (param i32) (result exnref)
        (local $x exnref)
        (loop $l
          (local.set $x (block $h (result exnref)
            (try_table (catch_all_ref $h) (throw $n (local.get $x))) (unreachable)))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        (local.get $x)))""", ("chain", "i32:6"))
    expected = Exn("export:n", None, MAX_EXN_DEPTH + 1)
    for depth in range(MAX_EXN_DEPTH, 0, -1):
        expected = Exn("export:n", (expected,), depth)
    assert results(out) == [Returned((expected,))]


def test_modules_wasmtime_refuses_are_rejected() -> None:
    case = Case(b"\0asm\x01\0\0\0\x01\x04\x01\x60\x00")
    assert isinstance(run(WasmtimeRunner(case)).instantiate.result, Rejected)


@pytest.mark.parametrize("wat, plan, words", [
    ('(module (import "env" "f" (func)))', HostPlan(), "neither 'host' nor an earlier instance"),
    ('(module (import "host" "f" (func (param i32))))', HostPlan(funcs=(HostFunc("f"),)), "the module wants"),
    ('(module (import "host" "t" (tag (param exnref))))', HostPlan(tags=(TagDef("t", ("i32",)),)), "tag of"),
    ('(module (import "host" "g" (func)))', HostPlan(), "no host function 'g'"),
    ('(module (import "host" "m" (memory 1)))', HostPlan(), "only functions and tags"),
])
def test_imports_that_do_not_fit_the_plan_are_runner_errors(wat: str, plan: HostPlan, words: str) -> None:
    with pytest.raises(RunnerError, match=words):
        outcome(wat, plan=plan)


def test_a_throw_whose_payload_does_not_fit_its_tag_is_a_runner_error() -> None:
    plan = HostPlan(funcs=(HostFunc("throw", action=Throw("export:e", ("i64:1",))),))
    with pytest.raises(RunnerError, match="takes"):
        outcome("""(module (import "host" "throw" (func $throw))
          (tag (export "e") (param i32))
          (func (export "go") (call $throw)))""", ("go",), plan=plan)
