"""The .wast reader, command parser and runner; and the conformance suites through it."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest
import wasmtime

from engine.__main__ import main
from engine.errors import TextError
from engine.script import values
from engine.script.run import RUNTIME_REASON, WAT2WASM_ACCEPTS, Runner, Status, report, run_paths
from engine.script.sexpr import Atom, SList, Source, String, read
from engine.script.wast import (ActionCommand, AssertException, AssertExhaustion, AssertModule,
                                AssertReturn, AssertTrap, Get, InstanceCommand, Invoke,
                                ModuleCommand, ModuleSource, Register, Unsupported,
                                iter_modules, parse_file, parse_script, wast_files)
from engine.syntax.types import F32, F64, I32, I64

TESTSUITE = Path(__file__).resolve().parents[2] / "shared" / "testsuite"
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


def test_runtime_commands_are_skipped():
    verdicts = _verdicts('(register "x") (invoke "f") (assert_exception (invoke "f"))')
    assert {v for v in verdicts} == {(Status.SKIPPED, RUNTIME_REASON, None)}


def test_unsupported_feature_needs_the_reference_to_agree():
    simd = "(module (func (result v128) (v128.const i64x2 0 0)))"
    [skipped] = _verdicts(simd, reference=lambda data: False)
    assert skipped.status is Status.SKIPPED and skipped.detail.startswith("unsupported feature")
    [failed] = _verdicts(simd, reference=lambda data: True)
    assert failed.status is Status.FAILED and "wasmtime accepts it" in failed.detail


def test_cli_output_and_exit_status(tmp_path, capsys):
    good = tmp_path / "good.wast"
    good.write_text('(module)\n(assert_invalid (module (func (result i32))) "type mismatch")\n'
                    '(invoke "f")\n')
    assert main(["wast", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{good}: 2 passed, 0 failed, 1 skipped", "2 passed, 0 failed, 1 skipped"]

    (tmp_path / "z_bad.wast").write_text("(module (func (result i32)))\n")
    assert main(["wast", "-v", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "2 passed, 1 failed, 1 skipped"
    assert any("z_bad.wast:1: expected valid" in line for line in out)
    assert any(RUNTIME_REASON in line for line in out)


# --- the conformance suites ---------------------------------------------------------------

@pytest.fixture(scope="module")
def suite_results():
    if not TESTSUITE.is_dir():
        pytest.skip("testsuite folder absent")
    from engine.__main__ import _reference_accepts
    return run_paths([TESTSUITE / s for s in SUITES], Runner(reference=_reference_accepts))


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


def test_suite_modules_pass(suite_results):
    lines, total = report(suite_results, verbose=1)
    assert total.passed > 3000
    assert total.failed == 0, "\n".join(lines)
