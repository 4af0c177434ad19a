"""``python -m engine run`` from the command line: arguments of every kind, errors as
messages with an exit status (never a traceback), Ctrl-C and the timeout interrupting
running wasm.  Each in a child process, as a user runs it."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WAT = """(module
  (tag $t (param i32))
  (func (export "f") (param f32 i32 i64) (result f32 i32 i64) local.get 0 local.get 1 local.get 2)
  (func (export "throw") (throw $t (i32.const 5)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "ref") (param funcref) (result i32) (ref.is_null (local.get 0))))"""


def run(tmp_path: Path, *args: str, file: str = "m.wat") -> subprocess.CompletedProcess[str]:
    (tmp_path / "m.wat").write_text(WAT)
    return subprocess.run([sys.executable, "-m", "engine", "run", file, *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_negative_numbers_are_arguments_not_options(tmp_path: Path) -> None:
    out = run(tmp_path, "--invoke", "f", "-inf", "-5", "-7", "-O", "0")
    assert (out.returncode, out.stdout.split()) == (0, ["-inf", "-5", "-7"]), out.stderr


@pytest.mark.parametrize("args, status, message", [
    (("--invoke", "f", "1e40", "1", "1"), 2, "1e40 is out of range for f32"),
    (("--invoke", "f", "1", "4294967296", "1"), 2, "4294967296 does not fit in i32"),
    (("--invoke", "f", "1", "x", "1"), 2, "'x' is not an integer"),
    (("--invoke", "ref", "5"), 2, "a funcref argument can only be null"),
    (("--invoke", "throw"), 1, "uncaught wasm exception: wasm exception with tag [i32] -> [] and payload [5]"),
    (("--invoke", "spin", "--timeout", "0.3"), 1, "wasm trap: interrupt"),
])
def test_errors_are_messages_with_an_exit_status(tmp_path: Path, args: tuple[str, ...], status: int,
                                                  message: str) -> None:
    out = run(tmp_path, *args)
    assert out.returncode == status and message in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_null_reference_arguments(tmp_path: Path) -> None:
    assert run(tmp_path, "--invoke", "ref", "null").stdout.split() == ["1"]


@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 3])
def test_a_wasm_file_that_is_not_one_is_not_read_as_text(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "x.wasm").write_bytes(content)
    out = run(tmp_path, file="x.wasm")
    assert out.returncode == 2 and "is not a wasm binary" in out.stderr
    assert len(out.stderr) < 200


def test_ctrl_c_interrupts_running_wasm(tmp_path: Path) -> None:
    (tmp_path / "m.wat").write_text(WAT)
    child = subprocess.Popen([sys.executable, "-m", "engine", "run", "m.wat", "--invoke", "spin"], cwd=tmp_path,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "interrupt (Ctrl-C)" in err, (child.returncode, err)
