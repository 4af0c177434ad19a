"""Running findings in child processes, so that a crash is a result and not the end.

:class:`Worker` starts ``python -m oracles.worker`` once: a fork server that imports the
engines and the generators (and plants the faults ``EXNFUZZ_FAULTS`` names, see
:mod:`engine.compile.faults`), then forks a child for each request, which runs it and
writes its :class:`Report` back through a pipe.  A child that dies writes nothing: the
server reports its signal and the innermost Python frame faulthandler printed; a child
that outlives the time limit is killed and reported as a timeout.  A fork costs a few
milliseconds where a fresh interpreter costs a second, and each run starts from the same
heap, so a use-after-free crashes the same way every time it is run.

A request is a case (:class:`~oracles.case.Case`) or a raw input of a fuzz target
(``exceptions``: the generator's decisions; ``decode``: a module or its mutations).  A
case runs on the default pair (exnfuzz against wasmtime, :func:`oracles.differential.check`)
or, when the worker was given ``executors``, on those, judged together
(:func:`oracles.differential.check_executors`: a divergence of Pulley from Cranelift
reproduces, and reduces, with ``wasmtime,wasmtime-pulley``).
"""
from __future__ import annotations

import base64
import faulthandler
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .signature import Signature, frames, of_crash, of_error, short_path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("exceptions", "decode")
"""The fuzz targets whose raw inputs a worker runs."""


@dataclass(frozen=True)
class Report:
    """What running one case or input showed.  ``verdict``: ``agree``,
    ``inconclusive``, ``diverge``, ``crash``, ``timeout``, ``error`` (an unexpected
    error while running: a finding) or ``invalid`` (the case cannot run as written:
    not a finding).  ``case``: the case an input generated, as JSON."""
    verdict: str
    reason: str = ""
    signature: Signature | None = None
    case: dict[str, Any] | None = field(default=None, compare=False)
    seconds: float = field(default=0.0, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reason": self.reason, "case": self.case, "seconds": self.seconds,
                "signature": None if self.signature is None else self.signature.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Report":
        sig = data.get("signature")
        return cls(data["verdict"], data.get("reason", ""), None if sig is None else Signature.from_json(sig),
                   data.get("case"), data.get("seconds", 0.0))


def case_request(case: Any) -> dict[str, Any]:
    """A request to run ``case`` (a :class:`~oracles.case.Case`)."""
    return {"case": case.to_json()}


def input_request(target: str, data: bytes) -> dict[str, Any]:
    """A request to run ``data``, a raw input of fuzz target ``target``."""
    if target not in TARGETS:
        raise ValueError(f"unknown fuzz target {target!r}; known: {', '.join(TARGETS)}")
    return {"target": target, "data": base64.b64encode(data).decode()}


class Worker:
    """A fork server in a child process (see the module's doc).  Use as a context
    manager, or :meth:`close` it."""

    def __init__(self, timeout: float = 120.0, env: dict[str, str] | None = None,
                 executors: str | None = None) -> None:
        self.timeout = timeout
        """Seconds a run may take before its child is killed (a ``timeout`` report)."""
        if executors is not None:
            from .executors import named
            named(executors)   # unknown names fail here, not in every child
        self.executors = executors
        """The executors every case runs on (names, or ``full``), or None: the default pair."""
        self._env = {**(os.environ if env is None else env)}
        self._env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), self._env.get("PYTHONPATH")) if p)
        self._proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen([sys.executable, "-m", "oracles.worker"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                          env=self._env, cwd=ROOT)
        return self._proc

    def run(self, request: dict[str, Any]) -> Report:
        """Run one request (see :func:`case_request`, :func:`input_request`)."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps({**request, "timeout": self.timeout, "executors": self.executors}) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:   # the server itself died: it never runs a case, so this is not a finding
            proc.wait()
            raise RuntimeError(f"the worker process ended (status {proc.returncode})")
        return Report.from_json(json.loads(line))

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def evaluate(request: dict[str, Any]) -> Report:
    """Run one request in this process (the forked child does this)."""
    from .case import Case
    executors = request.get("executors")
    if "case" in request:
        return _evaluate_case(Case.from_json(request["case"]), executors)
    data = base64.b64decode(request["data"])
    if request["target"] == "decode":
        return _evaluate_decode(data)
    from generators import Choices, generate_case
    try:
        case = generate_case(Choices.from_data(data))
    except Exception as e:
        return _error(e, "generating the case")
    report = _evaluate_case(case, executors)
    return Report(report.verdict, report.reason, report.signature, case.to_json())


def _evaluate_case(case: Any, executors: str | None = None) -> Report:
    from .differential import check, check_executors
    from .runner import RunnerError
    from .signature import of_divergence
    try:
        result = check(case) if executors is None else check_executors(case, executors)
    except RunnerError as e:
        return Report("invalid", f"the case cannot run as written: {e}")
    except Exception as e:
        return _error(e, "running the case")
    return Report(result.verdict.kind, result.verdict.reason, of_divergence(result))


def _evaluate_decode(data: bytes) -> Report:
    from fuzz_targets.decode import check_one, module_from_input
    try:
        check_one(module_from_input(data))
    except AssertionError as e:
        first = str(e).splitlines()[0]
        if first.startswith("exnfuzz raised"):
            return Report("error", str(e), Signature("exnfuzz", f"error {first.split()[2]}", "decode", "decoder"))
        words = first.split()   # "exnfuzz accepts, wasmtime rejects"
        return Report("diverge", str(e), Signature("exnfuzz", f"{words[1].rstrip(',')} instead of {words[3]}s",
                                                   "validate", "module"))
    except Exception as e:
        return _error(e, "decoding the input")
    return Report("agree")


def _error(error: BaseException, doing: str) -> Report:
    stack = [(short_path(f.filename), f.name) for f in reversed(traceback.extract_tb(error.__traceback__))]
    return Report("error", f"{doing} raised {error!r}\n{traceback.format_exc()}",
                  of_error(type(error).__name__, stack))


def _fork(request: dict[str, Any], timeout: float) -> Report:
    """Run ``request`` in a forked child (see the module's doc)."""
    read, write = os.pipe()
    with tempfile.TemporaryFile() as log:
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:   # the child: never returns
            os.close(read)
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)   # stdout is the server's reply channel
                faulthandler.enable(file=log, all_threads=True)
                report = evaluate(request)
                out = json.dumps(report.to_json()).encode()
            except BaseException as e:   # noqa: BLE001 -- whatever happens, the server gets a report
                out = json.dumps(_error(e, "the worker").to_json()).encode()
            while out:
                out = out[os.write(write, out):]
            os._exit(0)
        os.close(write)
        chunks, deadline = [], start + timeout
        with os.fdopen(read, "rb") as pipe:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([pipe], [], [], left)[0]:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return Report("timeout", f"no result in {timeout:.0f} s",
                                  Signature("exnfuzz", "timeout", "unknown", "unknown"))
                chunk = os.read(pipe.fileno(), 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        seconds = time.monotonic() - start
        if chunks:
            report = Report.from_json(json.loads(b"".join(chunks)))
            return Report(report.verdict, report.reason, report.signature, report.case, seconds)
        log.seek(0)
        text = log.read().decode(errors="replace")
        name = signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else \
            f"exit {os.WEXITSTATUS(status)}"
        return Report("crash", f"the process died ({name})\n{text}", of_crash(name, frames(text)),
                      seconds=seconds)


def serve() -> None:
    """The fork server's loop: one JSON request a line on stdin, one report a line on stdout."""
    from engine.compile import faults
    faults.plant_from_environment()
    import generators  # noqa: F401 -- imported once here, not in every child
    import fuzz_targets.decode  # noqa: F401
    from . import differential  # noqa: F401
    for line in sys.stdin:
        request = json.loads(line)
        report = _fork(request, request["timeout"])
        sys.stdout.write(json.dumps(report.to_json()) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
