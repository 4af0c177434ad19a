"""The .wast reader, command parser and runner; and the conformance suites through it."""
from __future__ import annotations

import struct

import pytest
import wasmtime

from engine.__main__ import main
from engine.errors import TextError, TrapCode
from engine.script import match, suites, values
from engine.script.exec import JitEngine
from engine.script.run import RUNTIME_REASON, WAT2WASM_ACCEPTS, Runner, Status, report, run_paths
from engine.script.sexpr import CONFUSING, Atom, SList, Source, String, escape_confusing, read
from engine.script.wast import (ActionCommand, AssertException, AssertExhaustion, AssertModule,
                                AssertReturn, AssertTrap, Get, InstanceCommand, Invoke,
                                ModuleCommand, ModuleSource, Register, Unsupported,
                                iter_modules, parse_file, parse_script, wast_files)
from engine.syntax.types import F32, F64, I32, I64
from oracles.wasmtime_config import features_for

TESTSUITE = suites.location()
SUITES = ["spec-wg2.0/core", "spec/exceptions"]

EMPTY_MODULE = b"\x00asm\x01\x00\x00\x00"


# --- S-expression reader ------------------------------------------------------------------

def test_string_escapes():
    [s] = read(r'"a\n\t\\\'\"\41\u{48}\u{1F600}é"')
    assert s.value == b"a\n\t\\'\"AH" + "\U0001F600é".encode()


@pytest.mark.parametrize("text", [r'"\q"', r'"\u{D800}"', r'"\u{110000}"'])
def test_bad_escapes_are_text_errors(text):
    with pytest.raises(TextError):
        read(text)


def test_comments_are_skipped_and_nest():
    forms = read("(a ;; line ( comment\n (; block (; nested ;) still ;) b) ;; end")
    [lst] = forms
    assert [x.text for x in lst.items] == ["a", "b"]


def test_parens_in_strings_do_not_count():
    [lst] = read('(x ")(;" y)')
    assert isinstance(lst.items[1], String) and lst.items[1].value == b")(;"
    assert lst.items[2].text == "y"


@pytest.mark.parametrize("text", ["(a", "a)", "(; open", "(a (; x ) ;)"])
def test_unbalanced_input_is_a_text_error(text):
    with pytest.raises(TextError):
        read(text)


def test_spans_give_the_verbatim_source():
    text = ';; header\n(module $m\n  (func (; c ;) (nop)))\n(assert_invalid (module) "x")'
    source = Source(text)
    first, second = read(text)
    assert source.span(first) == "(module $m\n  (func (; c ;) (nop)))"
    assert source.line_of(first.start) == 2
    assert source.line_of(second.start) == 4
    assert source.span(second.items[1]) == "(module)"
    assert isinstance(first, SList) and first.head == "module"
    assert isinstance(first.items[1], Atom) and first.items[1].text == "$m"


def test_confusing_characters_are_escaped_only_inside_strings():
    text = ('(module ;; \u202e in a comment\n (; and \u2066 here ;)\n'
            '  (func (export "a\u202eb\\u{2066}")))')
    escaped = escape_confusing(text)
    assert escaped == ('(module ;; \u202e in a comment\n (; and \u2066 here ;)\n'
                       '  (func (export "a\\u{202e}b\\u{2066}")))')
    # The escape denotes the same character: the string reads the same.
    [before], [after] = read(text), read(escaped)
    assert before.items[1].items[1].items[1].value == after.items[1].items[1].items[1].value \
        == "a\u202eb\u2066".encode()
    assert escape_confusing("(module)") == "(module)"
    # A backslash before one is a malformed escape, and stays one.
    assert escape_confusing('"\\\u202e" "\\\\\u202e"') == '"\\\u202e" "\\\\\\u{202e}"'


def test_wat2wasm_reads_modules_with_confusing_characters_in_strings():
    names = "".join(sorted(CONFUSING))
    [cmd] = parse_script(f'(module (func (export "{names}")) (func (export "\u202dabc")))')
    with pytest.raises(wasmtime.WasmtimeError, match="likely-confusing unicode"):
        wasmtime.wat2wasm(cmd.source.text)
    exports = wasmtime.Module(wasmtime.Engine(), cmd.source.wasm()).exports
    assert [e.name for e in exports] == [names, "\u202dabc"]


# --- numeric literals ---------------------------------------------------------------------

def _f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


@pytest.mark.parametrize("type, text, bits", [
    (I32, "0", 0), (I32, "-1", 0xFFFFFFFF), (I32, "0xffff_ffff", 0xFFFFFFFF),
    (I32, "-0x8000_0000", 0x80000000), (I32, "+42", 42), (I64, "-9223372036854775808", 1 << 63),
    (F32, "1.5", _f32(1.5)), (F32, "-0", 1 << 31), (F32, "0x1p-149", 1),
    (F32, "inf", 0x7F800000), (F32, "-nan", 0xFFC00000), (F32, "nan:0x1", 0x7F800001),
    (F32, "0x1.fffffep127", 0x7F7FFFFF), (F64, "0.1", _f64(0.1)), (F64, "1e-320", _f64(1e-320)),
    (F64, "0x1.8p+1", _f64(3.0)), (F64, "1_000.5e1", _f64(10005.0)), (F64, "1.", _f64(1.0)),
    # Halfway between 1 and the next f32: ties to even (down); just above it rounds up.
    (F32, "0x1.000001p0", 0x3F800000), (F32, "0x1.0000010001p0", 0x3F800001),
])
def test_literals(type, text, bits):
    assert values.parse_num(type, text) == values.Num(type, bits)


@pytest.mark.parametrize("type, text", [
    (I32, "0x1_0000_0000"), (I32, "-0x8000_0001"), (I64, "18446744073709551616"),
    (F32, "0x1p128"), (F32, "nan:0x800000"), (F32, "nan:0x0"), (F64, "1e309"),
    (I32, "1__0"), (F32, "0x"), (F64, ".5"),
])
def test_bad_literals_are_text_errors(type, text):
    with pytest.raises(TextError):
        values.parse_num(type, text)


def _const_bits(wasm: bytes, type: str) -> int:
    """The immediate of the global initializer ``(t.const x)`` ending a wat2wasm module."""
    if type[0] == "f":
        width = 4 if type == "f32" else 8
        return int.from_bytes(wasm[-1 - width:-1], "little")
    end = len(wasm) - 1  # the initializer's closing ``end``; the LEB runs up to it
    start = end - 1
    while wasm[start - 1] & 0x80:
        start -= 1
    value = shift = 0
    for byte in wasm[start:end]:
        value |= (byte & 0x7F) << shift
        shift += 7
    if wasm[end - 1] & 0x40:
        value -= 1 << shift
    return value & ((1 << int(type[1:])) - 1)


def _suite_literals() -> list[tuple[str, str]]:
    found = set()

    def walk(node):
        if isinstance(node, SList):
            head = node.head or ""
            if head[:3] in ("i32", "i64", "f32", "f64") and head[3:] == ".const" \
                    and len(node.items) == 2 and not node.items[1].text.startswith("nan:"):
                found.add((head[:3], node.items[1].text))
            for item in node.items:
                walk(item)

    for file in wast_files([TESTSUITE / s for s in SUITES]):
        for form in read(file.read_text("utf-8", "surrogateescape")):
            if isinstance(form, SList) and form.head in ("assert_return", "invoke"):
                walk(form)
    return sorted(found)


def test_literals_agree_with_wat2wasm():
    """Every numeric literal of the suites' assertions parses to wat2wasm's bits."""
    if not TESTSUITE.is_dir():
        pytest.skip("testsuite folder absent")
    literals = _suite_literals()
    assert len(literals) > 1000
    for type, text in literals:
        wasm = wasmtime.wat2wasm(f"(module (global {type} ({type}.const {text})))")
        ours = values.parse_num({"i32": I32, "i64": I64, "f32": F32, "f64": F64}[type], text)
        assert ours.bits == _const_bits(wasm, type), (type, text)


# --- command parser -----------------------------------------------------------------------

SCRIPT = r'''
(module $M (func (export "f") (param i32) (result i32) (local.get 0)))
(module binary "\00asm" "\01\00\00\00")
(module quote "(func)" ";; trailing comment")
(module definition $D (memory 1))
(module instance $I $D)
(register "m" $M)
(invoke "f" (i32.const 1))
(assert_return (invoke $M "f" (i32.const -1)) (i32.const 0xffffffff))
(assert_return (get "g") (either (f32.const nan:canonical) (ref.extern) (ref.null func)))
(assert_trap (invoke "f" (f64.const -0x1p-1074) (ref.extern 3)) "unreachable")
(assert_trap (module (start 0)) "out of bounds")
(assert_exhaustion (invoke "f") "call stack exhausted")
(assert_exception (invoke "t"))
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_malformed (module quote "(i32.const 1)") "unexpected token")
(assert_unlinkable (module (import "x" "y" (func))) "unknown import")
(assert_uninstantiable (module binary "") "boom")
(script $s (module))
(assert_return (invoke "f" (v128.const i32x4 0 0 0 0)))
'''


def test_every_command_kind():
    cmds = parse_script(SCRIPT)
    assert [c.line for c in cmds] == list(range(2, 21))
    m, binary, quote, definition, instance, register, action = cmds[:7]
    assert isinstance(m, ModuleCommand) and m.name == "$M" and m.source.form == "text"
    assert m.source.text.startswith("(module $M (func") and m.source.text.endswith("0)))")
    assert binary.source == ModuleSource("binary", data=EMPTY_MODULE)
    assert quote.source.form == "quote" and quote.source.wasm().startswith(EMPTY_MODULE)
    assert definition.definition and definition.name == "$D"
    assert definition.source.text == "(module $D (memory 1))"
    assert instance == InstanceCommand(6, "$I", "$D")
    assert register == Register(7, "m", "$M")
    assert action == ActionCommand(8, Invoke(None, "f", (values.Num(I32, 1),)))

    ret, either, trap, uninst, exhaust, exc, invalid, malformed, unlink, uninst2 = cmds[7:17]
    assert ret == AssertReturn(9, Invoke("$M", "f", (values.Num(I32, 0xFFFFFFFF),)),
                               (values.Num(I32, 0xFFFFFFFF),))
    assert either == AssertReturn(10, Get(None, "g"), (values.Either((
        values.NanPattern(F32, "canonical"), values.RefPattern("extern"),
        values.RefNull("func"))),))
    assert isinstance(trap, AssertTrap) and trap.message == "unreachable"
    assert trap.action.args == (values.Num(F64, (1 << 63) | 1), values.RefExtern(3))
    assert isinstance(uninst, AssertModule) and uninst.kind == "uninstantiable"
    assert isinstance(exhaust, AssertExhaustion) and exhaust.message == "call stack exhausted"
    assert exc == AssertException(14, Invoke(None, "t", ()))
    assert (invalid.kind, invalid.message) == ("invalid", "type mismatch")
    assert malformed.kind == "malformed" and malformed.module.text == "(module\n(i32.const 1)\n)"
    assert unlink.kind == "unlinkable" and uninst2.kind == "uninstantiable"

    script, simd = cmds[17:]
    assert isinstance(script, Unsupported) and script.reason == "unknown command script"
    assert isinstance(simd, Unsupported) and "v128.const" in simd.reason


def test_inline_module_script():
    [cmd] = parse_script("(func) (memory 0) (func (export \"f\"))")
    assert isinstance(cmd, ModuleCommand)
    assert wasmtime.Module.validate(wasmtime.Engine(), cmd.source.wasm()) is None


def test_quoted_whole_module_is_not_wrapped():
    [cmd] = parse_script('(module quote "(module $x" " (func))")')
    assert cmd.source.text == "(module $x (func))"


def test_text_the_parser_rejects_is_a_text_error():
    with pytest.raises(TextError, match="constant out of range"):
        ModuleSource("quote", "(module (func (drop (i32.const 0x1_0000_0000))))").wasm()


def test_iter_modules(tmp_path):
    script = tmp_path / "a.wast"
    script.write_text('(module)\n(assert_invalid (module (func (result i32))) "type mismatch")\n'
                      '(assert_malformed (module quote "(nop") "unexpected end")\n'
                      '(assert_malformed (module binary "\\00asm") "unexpected end")\n')
    cases = list(iter_modules(tmp_path))
    assert [(c.file, c.line, c.expected) for c in cases] == [
        (script, 1, "valid"), (script, 2, "invalid"), (script, 4, "malformed")]
    assert cases[0].data == EMPTY_MODULE and cases[0].text == "(module)"
    assert cases[2].data == b"\x00asm" and cases[2].text is None


# --- runner -------------------------------------------------------------------------------

def _verdicts(text: str, reference=None):
    return [Runner(reference=reference).run_command(c) for c in parse_script(text)]


def test_module_verdicts():
    passed, invalid, bad_invalid, malformed, by_wat2wasm, wat2wasm_accepts = _verdicts(r'''
        (module (func (result i32) (i32.const 1)))
        (assert_invalid (module (func (result i32))) "type mismatch")
        (assert_invalid (module (func)) "type mismatch")
        (assert_malformed (module binary "\00asm\02") "unexpected end")
        (assert_malformed (module quote "(func (i32.const 1x))") "unknown operator")
        (assert_malformed (module quote "(func)") "whatever")
    ''')
    assert passed.status is Status.PASSED
    assert invalid.status is Status.PASSED and invalid.note == "invalid: message matches"
    assert bad_invalid.status is Status.FAILED and "accepted" in bad_invalid.detail
    assert malformed.status is Status.PASSED and malformed.note.startswith("malformed: message")
    assert by_wat2wasm.status is Status.PASSED and by_wat2wasm.note == "malformed: passed by wat2wasm"
    assert wat2wasm_accepts == (Status.SKIPPED, WAT2WASM_ACCEPTS, None)


def test_a_module_that_does_not_validate_fails():
    [verdict] = _verdicts("(module (func (result i32)))")
    assert verdict.status is Status.FAILED and "validator says invalid" in verdict.detail


def test_runtime_commands_are_skipped_by_the_static_engine():
    verdicts = _verdicts('(register "x") (invoke "f") (assert_exception (invoke "f"))')
    assert {v for v in verdicts} == {(Status.SKIPPED, RUNTIME_REASON, None)}


def test_unsupported_feature_needs_the_reference_to_agree():
    simd = "(module (func (result v128) (v128.const i64x2 0 0)))"
    [skipped] = _verdicts(simd, reference=lambda data: False)
    assert skipped.status is Status.SKIPPED and skipped.detail.startswith("unsupported feature")
    [failed] = _verdicts(simd, reference=lambda data: True)
    assert failed.status is Status.FAILED and "wasmtime accepts it" in failed.detail


# A module our validator rejects that the current spec (with GC's constant expressions) accepts.
GLOBAL_GET_OF_DEFINED = "(module (global i32 (i32.const 0)) (global i32 (global.get 0)))"


def test_a_feature_that_makes_wasmtime_agree_with_the_script_explains_a_rejection():
    def probe(data, wanted):
        return ("gc",) if wanted(None) else None

    [skipped] = [Runner(features=probe).run_command(c) for c in parse_script(GLOBAL_GET_OF_DEFINED)]
    assert skipped == (Status.SKIPPED, "unsupported feature gc: wasmtime says valid only with it on",
                       None)
    [failed] = [Runner(features=lambda data, wanted: None).run_command(c)
                for c in parse_script(GLOBAL_GET_OF_DEFINED)]
    assert failed.status is Status.FAILED and "validator says invalid" in failed.detail


def test_memory64_limits_explain_an_expected_invalid_we_call_malformed():
    text = '(assert_invalid (module (memory 0x1_0000_0000)) "memory size")'
    [skipped] = _verdicts(text, reference=lambda data: False)
    assert skipped == (Status.SKIPPED, "unsupported feature: memory64 (limit over 32 bits)", None)
    [failed] = _verdicts(text)
    assert failed.status is Status.FAILED and "decoder says malformed" in failed.detail


def test_features_for_names_the_features_wasmtime_needs_to_agree():
    assert features_for(wasmtime.wat2wasm(GLOBAL_GET_OF_DEFINED), lambda v: v is None) == ("gc",)
    # An alignment field past 63 is a memory index flag (multi-memory) and the offset
    # takes 64 bits (memory64): only with both does wasmtime see a too-large alignment.
    [cmd] = parse_script('(module (memory 1) (func (drop (i32.load offset=0xFFFF_FFFF_FFFF_FFFF '
                         'align=0x8000_0000_0000_0000 (i32.const 0)))))')
    natural = "alignment must not be larger than natural"
    assert features_for(cmd.source.wasm(), lambda v: v is not None and natural in v) \
        == ("memory64", "multi-memory")
    # Nothing to explain when our feature set already gives the wanted verdict.
    assert features_for(EMPTY_MODULE, lambda v: v is None) is None


def test_cli_output_and_exit_status(tmp_path, capsys):
    good = tmp_path / "good.wast"
    good.write_text('(module (func (export "f") (result i32) (i32.const 7)))\n'
                    '(assert_invalid (module (func (result i32))) "type mismatch")\n'
                    '(assert_return (invoke "f") (i32.const 7))\n')
    assert main(["wast", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{good}: 3 passed, 0 failed, 0 skipped", "3 passed, 0 failed, 0 skipped"]

    assert main(["wast", "--static", "-v", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{good}: 2 passed, 0 failed, 1 skipped"
    assert any(RUNTIME_REASON in line for line in out)

    (tmp_path / "z_bad.wast").write_text('(module (func (export "f") (result i32) (i32.const 1)))\n'
                                         '(assert_return (invoke "f") (i32.const 2))\n')
    assert main(["wast", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "4 passed, 1 failed, 0 skipped"
    assert any("z_bad.wast:2: result 0: expected (i32.const bits 0x00000002), "
               "got (i32.const bits 0x00000001)" in line for line in out)


def test_cli_opt_level(tmp_path, capsys, monkeypatch):
    script = tmp_path / "a.wast"
    script.write_text('(module (func (export "f") (result i32) (i32.const 7)))\n'
                      '(assert_return (invoke "f") (i32.const 7))\n')
    levels = []

    class Recording(JitEngine):
        def __init__(self, config=None):
            super().__init__(config)
            levels.append(self.runtime.options.opt_level)

    monkeypatch.setattr("engine.script.exec.JitEngine", Recording)
    for argv in (["-O", "0"], ["--opt-level", "3"], []):
        assert main(["wast", *argv, str(script)]) == 0
        assert capsys.readouterr().out.splitlines()[-1] == "2 passed, 0 failed, 0 skipped"
    assert levels == [0, 3, 2]
    with pytest.raises(SystemExit):
        main(["wast", "-O", "4", str(script)])


# --- executing scripts --------------------------------------------------------------------

@pytest.fixture(scope="module")
def jit():
    return JitEngine()


def _run(jit, text: str) -> list[tuple[Status, str]]:
    """Each command's status and detail, the commands run in one session as one script."""
    runner = Runner(jit, reference=lambda data: False)
    try:
        return [runner.run_command(c)[:2] for c in parse_script(text)]
    finally:
        runner.close_session()


def _statuses(verdicts):
    return [status for status, _ in verdicts]


P, F, S = Status.PASSED, Status.FAILED, Status.SKIPPED


def test_assert_return_compares_exact_bits(jit):
    verdicts = _run(jit, r'''
        (module
          (func (export "id") (param f32) (result f32) (local.get 0))
          (func (export "neg0") (result f64) (f64.const -0))
          (func (export "pair") (result i32 i64) (i32.const -1) (i64.const -1)))
        (assert_return (invoke "id" (f32.const nan:0x200001)) (f32.const nan:0x200001))
        (assert_return (invoke "id" (f32.const nan:0x200001)) (f32.const nan:arithmetic))
        (assert_return (invoke "id" (f32.const -nan)) (f32.const nan:canonical))
        (assert_return (invoke "neg0") (f64.const -0))
        (assert_return (invoke "neg0") (f64.const 0))
        (assert_return (invoke "pair") (i32.const 0xffff_ffff) (i64.const -1))
        (assert_return (invoke "pair") (i32.const -1))
        (assert_return (invoke "pair") (i64.const -1) (i32.const -1))
        (assert_return (invoke "id" (i32.const 0)) (f32.const 0))
    ''')
    assert _statuses(verdicts) == [P, P, F, P, P, F, P, F, F, F]
    assert verdicts[2][1] == ("result 0: expected (f32.const nan:arithmetic), "
                              "got (f32.const bits 0x7fa00001)")
    assert verdicts[7][1].startswith("expected 1 results, got 2")
    assert "is not a value of type f32" in verdicts[9][1]


def test_reference_results(jit):
    verdicts = _run(jit, r'''
        (module
          (table $t 2 funcref)
          (func $f (export "f"))
          (elem (table $t) (i32.const 0) func $f)
          (func (export "get") (param i32) (result funcref) (table.get $t (local.get 0)))
          (func (export "ext") (param externref) (result externref) (local.get 0)))
        (assert_return (invoke "get" (i32.const 0)) (ref.func))
        (assert_return (invoke "get" (i32.const 1)) (ref.null func))
        (assert_return (invoke "get" (i32.const 0)) (ref.null func))
        (assert_return (invoke "get" (i32.const 0)) (either (ref.null func) (ref.func)))
        (assert_return (invoke "get" (i32.const 0)) (ref.extern))
        (assert_return (invoke "ext" (ref.extern 7)) (ref.extern 7))
        (assert_return (invoke "ext" (ref.extern 7)) (ref.extern 8))
        (assert_return (invoke "ext" (ref.extern 0)) (ref.extern))
        (assert_return (invoke "ext" (ref.null extern)) (ref.null extern))
        (assert_return (invoke "ext" (ref.null extern)) (ref.extern))
    ''')
    assert _statuses(verdicts) == [P, P, P, F, P, F, P, F, P, P, F]


def test_traps_and_exhaustion(jit):
    verdicts = _run(jit, r'''
        (module
          (type $v (func))
          (table 1 funcref)
          (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
          (func (export "call") (param i32) (call_indirect (type $v) (local.get 0)))
          (func $r (export "rec") (call $r)))
        (assert_trap (invoke "div" (i32.const 0)) "integer divide by zero")
        (assert_trap (invoke "div" (i32.const 0)) "integer overflow")
        (assert_trap (invoke "div" (i32.const 1)) "integer divide by zero")
        (assert_trap (invoke "call" (i32.const 5)) "undefined element")
        (assert_trap (invoke "call" (i32.const 5)) "out of bounds table access")
        (assert_trap (invoke "call" (i32.const 0)) "uninitialized element 0")
        (assert_exhaustion (invoke "rec") "call stack exhausted")
        (assert_exhaustion (invoke "div" (i32.const 0)) "integer divide by zero")
        (invoke "div" (i32.const 0))
        (invoke "div" (i32.const 1))
        (invoke "nope")
    ''')
    assert _statuses(verdicts) == [P, P, F, F, P, P, P, P, F, F, P, F]
    assert verdicts[2][1] == "expected trap 'integer overflow', got integer divide by zero"
    assert verdicts[3][1] == "expected trap 'integer divide by zero', got (i32.const bits 0x00000001)"
    assert verdicts[9][1] == "unexpected trap: integer divide by zero"
    assert verdicts[11][1] == "no export 'nope'"


@pytest.mark.parametrize("code, expected, matched", [
    (TrapCode.INTEGER_DIVISION_BY_ZERO, "integer divide by zero", True),
    (TrapCode.INTEGER_DIVISION_BY_ZERO, "divide by zero", True),  # part of a wording
    (TrapCode.INTEGER_DIVISION_BY_ZERO, "integer overflow", False),
    (TrapCode.INDIRECT_CALL_TO_NULL, "uninitialized element 2", True),  # the operand aside
    (TrapCode.TABLE_OUT_OF_BOUNDS, "undefined element", True),  # the interpreter's wording
    (TrapCode.TABLE_OUT_OF_BOUNDS, "undefined element: out of bounds table access", True),
    (TrapCode.UNREACHABLE, "wasm `unreachable` instruction executed", True),  # wasmtime's
    (TrapCode.UNREACHABLE, "wasm trap: wasm `unreachable`", True),
    (TrapCode.OUT_OF_FUEL, "all fuel consumed by WebAssembly", True),
    (TrapCode.UNREACHABLE, "unreachable executed", False),
    (None, "unreachable", False),
])
def test_an_expected_trap_message_matches_where_it_occurs(code, expected, matched):
    assert match.trap_matches(code, expected) is matched


def test_wasmtime_trap_messages_in_scripts(jit):
    verdicts = _run(jit, r'''
        (module
          (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
          (func (export "trap") unreachable))
        (assert_trap (invoke "div" (i32.const 0)) "divide by zero")
        (assert_trap (invoke "trap") "wasm `unreachable` instruction executed")
        (assert_exhaustion (invoke "div" (i32.const 0)) "divide by zero")
        (assert_trap (module (func $s unreachable) (start $s)) "instruction executed")
        (assert_trap (invoke "trap") "divide by zero")
    ''')
    assert _statuses(verdicts) == [P, P, P, F, P, F]
    assert verdicts[3][1] == "expected exhaustion (divide by zero), got trap integer divide by zero"


def test_named_modules_are_importable_by_their_name(jit):
    verdicts = _run(jit, r'''
        (module $A (func (export "f") (result i32) (i32.const 1)))
        (module $B (import "A" "f" (func $f (result i32)))
          (func (export "g") (result i32) (i32.add (call $f) (i32.const 1))))
        (assert_return (invoke $B "g") (i32.const 2))
        (assert_unlinkable (module (import "$A" "f" (func (result i32)))) "unknown import")
        ;; A later module of the same name takes the name over, as does a register.
        (module $A (func (export "f") (result i32) (i32.const 10)))
        (module (import "A" "f" (func $f (result i32))) (func (export "h") (result i32) (call $f)))
        (assert_return (invoke "h") (i32.const 10))
        (register "A" $B)
        (assert_unlinkable (module (import "A" "f" (func (result i32)))) "unknown import")
        ;; A definition is not an instance; its named instances are.
        (module definition $D (func (export "f")))
        (assert_unlinkable (module (import "D" "f" (func))) "unknown import")
        (module instance $I $D)
        (module (import "I" "f" (func)))
    ''')
    assert _statuses(verdicts) == [P] * 13


def test_a_named_module_that_is_skipped_skips_its_importers(jit):
    verdicts = _run(jit, r'''
        (module $V (func (export "f") (result v128) (v128.const i64x2 0 0)))
        (module (import "V" "f" (func (result v128))))
        (module $W (import "nowhere" "f" (func)))
        (module (import "W" "f" (func)))
    ''')
    assert _statuses(verdicts) == [S, S, F, F]
    assert verdicts[1][1] == verdicts[0][1]
    assert verdicts[3][1] == "the module at line 4 did not instantiate"


def test_linking_registering_and_instantiation_failures(jit):
    verdicts = _run(jit, r'''
        (module $A
          (global (export "g") (mut i32) (i32.const 1))
          (memory (export "m") 1)
          (func (export "inc") (global.set 0 (i32.add (global.get 0) (i32.const 1)))))
        (register "a" $A)
        (module $B
          (import "a" "g" (global (mut i32)))
          (import "a" "inc" (func $inc))
          (func (export "run") (result i32) (call $inc) (global.get 0)))
        (assert_return (invoke $B "run") (i32.const 2))
        (assert_return (get $A "g") (i32.const 2))
        (assert_unlinkable (module (import "a" "nope" (func))) "unknown import")
        (assert_unlinkable (module (import "a" "g" (global i32))) "incompatible import type")
        (assert_unlinkable (module (import "a" "inc" (func))) "unknown import")
        (assert_trap (module (import "a" "m" (memory 1)) (data (i32.const 65536) "x"))
                     "out of bounds memory access")
        (assert_trap (module (func $s unreachable) (start $s)) "unreachable")
        (assert_trap (module (func $s unreachable) (start $s)) "integer overflow")
        (module (import "nowhere" "f" (func)) (func (export "f")))
        (invoke "f")
        (assert_return (invoke $B "run") (i32.const 3))
    ''')
    assert _statuses(verdicts) == [P, P, P, P, P, P, P, F, P, P, F, F, F, P]
    assert verdicts[7][1] == "expected unlinkable (unknown import), but the module instantiated"
    assert verdicts[10][1] == "expected trap 'integer overflow', got unreachable"
    assert verdicts[11][1].startswith("module did not instantiate: unknown import")
    assert verdicts[12][1] == "the module at line 20 did not instantiate"


def test_spectest_host_module(jit):
    verdicts = _run(jit, r'''
        (module
          (import "spectest" "print_i32" (func $print (param i32)))
          (import "spectest" "global_i32" (global $i i32))
          (import "spectest" "global_f64" (global $f f64))
          (import "spectest" "table" (table 10 20 funcref))
          (import "spectest" "memory" (memory 1 2))
          (func (export "run") (result i32 f64 i32 i32)
            (call $print (i32.const 1))
            (global.get $i) (global.get $f) (table.size) (memory.grow (i32.const 1))))
        (assert_return (invoke "run") (i32.const 666) (f64.const 666.6) (i32.const 10) (i32.const 1))
        (assert_return (invoke "run") (i32.const 666) (f64.const 666.6) (i32.const 10) (i32.const -1))
        (assert_unlinkable (module (import "spectest" "memory" (memory 3))) "incompatible import type")
        (assert_unlinkable (module (import "spectest" "print_i32" (func (param i64))))
                           "incompatible import type")
    ''')
    assert _statuses(verdicts) == [P, P, P, P, P]


def test_module_definitions_and_instances(jit):
    verdicts = _run(jit, r'''
        (module definition $D
          (global (mut i32) (i32.const 0))
          (func (export "bump") (result i32)
            (global.set 0 (i32.add (global.get 0) (i32.const 1))) (global.get 0)))
        (module instance $I1 $D)
        (module instance $I2 $D)
        (assert_return (invoke $I1 "bump") (i32.const 1))
        (assert_return (invoke $I1 "bump") (i32.const 2))
        (assert_return (invoke $I2 "bump") (i32.const 1))
        (module instance $I3 $Nope)
    ''')
    assert _statuses(verdicts) == [P, P, P, P, P, P, F]
    assert verdicts[6][1] == "instantiation failed: no module $Nope"


def test_exceptions_run_and_uncaught_ones_are_checked(jit):
    verdicts = _run(jit, r'''
        (module $M (tag $e (export "e") (param i32)) (func (export "f"))
          (func (export "t") (throw $e (i32.const 1)))
          (func (export "c") (result i32)
            (block $h (result i32) (try_table (catch $e $h) (call 1)) (i32.const 0))))
        (invoke "f")
        (assert_exception (invoke "t"))
        (assert_return (invoke "c") (i32.const 1))
        (register "x")
        (module (import "x" "e" (tag (param i32))))
        (assert_exception (invoke $M "f"))
        (invoke $M "t")
        (assert_unlinkable (module (import "x" "e" (tag (param i64)))) "incompatible import type")
    ''')
    assert _statuses(verdicts) == [P, P, P, P, P, P, F, F, P]
    assert verdicts[6][1] == "expected an uncaught exception, got nothing"
    assert "unexpected uncaught exception" in verdicts[7][1]


def test_commands_on_a_skipped_module_are_skipped_for_its_reason(jit):
    verdicts = _run(jit, '(module (func (result v128) (v128.const i64x2 0 0)))\n'
                         '(assert_return (invoke "f") (i32.const 0))')
    assert _statuses(verdicts) == [S, S] and verdicts[0][1] == verdicts[1][1]


def test_each_script_gets_its_own_store(jit, tmp_path):
    first, second = tmp_path / "a.wast", tmp_path / "b.wast"
    first.write_text('(module (import "spectest" "memory" (memory 1))\n'
                     '  (func (export "poke") (i32.store8 (i32.const 0) (i32.const 9))))\n'
                     '(invoke "poke")\n(register "m")\n')
    second.write_text('(module (import "spectest" "memory" (memory 1))\n'
                      '  (func (export "peek") (result i32) (i32.load8_u (i32.const 0))))\n'
                      '(assert_return (invoke "peek") (i32.const 0))\n'
                      '(assert_unlinkable (module (import "m" "poke" (func))) "unknown import")\n')
    results = run_paths([tmp_path], Runner(jit))
    assert [(t.passed, t.failed, t.skipped) for t in results.values()] == [(3, 0, 0), (3, 0, 0)]


@pytest.mark.parametrize("t, bits, kind, matched", [
    (F32, 0x7FC0_0000, "canonical", True), (F32, 0xFFC0_0000, "canonical", True),
    (F32, 0x7FC0_0001, "canonical", False), (F32, 0x7F80_0001, "arithmetic", False),
    (F32, 0x7FC0_0001, "arithmetic", True), (F32, 0xFFE0_0000, "arithmetic", True),
    (F32, 0x7F80_0000, "arithmetic", False), (F32, 0x1_7FC0_0000, "canonical", False),
    (F64, 0x7FF8_0000_0000_0000, "canonical", True), (F64, 0x7FF8_0000_0000_0001, "canonical", False),
    (F64, 0xFFFC_0000_0000_0000, "arithmetic", True), (F64, 0x7FF4_0000_0000_0000, "arithmetic", False),
    (F64, 0x7FC0_0000, "canonical", False),
])
def test_nan_patterns_by_bits(t, bits, kind, matched):
    assert match.matches(values.NanPattern(t, kind), t, bits, lambda slot: None) is matched


def test_numbers_match_type_and_bits():
    assert match.matches(values.Num(I32, 1), I32, 1, lambda slot: None)
    assert not match.matches(values.Num(I32, 1), I64, 1, lambda slot: None)
    assert not match.matches(values.Num(F32, 0), F32, 1 << 31, lambda slot: None)


# --- the conformance suites ---------------------------------------------------------------

def _suite_results(suites: list[str]):
    if not TESTSUITE.is_dir():
        pytest.skip("testsuite folder absent")
    from engine.__main__ import _reference_accepts
    runner = Runner(JitEngine(), reference=_reference_accepts, features=features_for)
    return run_paths([TESTSUITE / s for s in suites], runner)


@pytest.fixture(scope="module")
def suite_results():
    return _suite_results(SUITES)


def test_suites_parse_completely():
    if not TESTSUITE.is_dir():
        pytest.skip("testsuite folder absent")
    for file in wast_files([TESTSUITE / s for s in SUITES]):
        unread = [c for c in parse_file(file) if isinstance(c, Unsupported)]
        assert not unread, f"{file}: {unread}"


@pytest.mark.parametrize("kind", ["invalid", "malformed"])
def test_suite_module_assertions_pass(suite_results, kind):
    failures = [f for tally in suite_results.values() for f in tally.failures
                if f"expected {kind} " in f]
    assert not failures, "\n".join(failures)


def test_suites_pass(suite_results):
    lines, total = report(suite_results, verbose=1)
    assert total.failed == 0, "\n".join(lines)
    assert total.passed > 27000
    # Everything runs but the exception suite's modules that need features outside
    # ours (names.wast too: its strings wat2wasm refuses are escaped).
    for file, tally in suite_results.items():
        if file.parent.name == "exceptions":
            assert all(reason.startswith("unsupported feature") for reason in tally.skips), \
                tally.skips
        else:
            assert tally.skipped == 0, (file, tally.skips)


def test_current_spec_passes_or_skips_for_missing_features():
    """The current spec's core suite: what needs only our features passes; the rest
    is skipped naming the feature."""
    results = _suite_results(["spec/core"])
    lines, total = report(results, verbose=1)
    assert total.failed == 0, "\n".join(lines)
    assert total.passed > 27000
    assert all(reason.startswith("unsupported feature") for reason in total.skips), total.skips
