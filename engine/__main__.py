"""Command line.

* ``python -m engine run FILE [--invoke NAME] [ARGS...]`` -- instantiate a module
  (binary or text) and call one of its exports, printing each result on a line.
* ``python -m engine wast [-O LEVEL] [--target ARCH] PATH...`` -- run ``.wast`` scripts
  (on the host, or on aarch64 or s390x under emulation).
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

import wasmtime


def _reference_accepts(data: bytes) -> bool:
    """Whether wasmtime, configured with exnfuzz's feature set, accepts ``data``."""
    from oracles.wasmtime_config import reference_engine
    try:
        wasmtime.Module.validate(reference_engine(), data)
    except wasmtime.WasmtimeError:
        return False
    return True


def _wast(args: argparse.Namespace) -> int:
    import time

    from oracles.wasmtime_config import features_for

    from .runtime import Config
    from .script.exec import JitEngine
    from .script.run import Runner, StaticEngine, report, run_paths
    failed = False
    for target in _targets(args.target):
        start = time.perf_counter()
        if args.static:
            engine: StaticEngine | JitEngine = StaticEngine()
        elif target is None:
            engine = JitEngine(Config(opt_level=args.opt_level))
        else:
            from .emulated import runtime
            engine = JitEngine(Config(opt_level=args.opt_level), api=runtime(target))
        runner = Runner(engine, _reference_accepts, features_for)
        lines, total = report(run_paths(args.paths, runner), args.verbose)
        if args.target is not None:
            where = target or f"{_host_arch()} (in process)"
            lines[-1] = f"{where}: {lines[-1]} in {time.perf_counter() - start:.1f} s"
        print("\n".join(lines), flush=True)
        failed = failed or bool(total.failed)
    return 1 if failed else 0


def _host_arch() -> str:
    from .compile.target import host
    return host().arch


def _targets(choice: str | None) -> list[str | None]:
    """The targets ``--target`` names: None stands for the host (in process)."""
    from .emulated import EMULATED
    if choice is None or choice == _host_arch():
        return [None]
    if choice == "all":
        return [None, *EMULATED]
    return [choice]


F32_MAX = 3.4028234663852886e38


def _parse_arg(text: str, t: object) -> object:
    """A command-line argument as a value of type ``t``: an integer in any base Python
    reads and in the type's range (signed or unsigned), a float (also ``nan``, ``inf``,
    ``-inf``, hex floats) within the type's range, or ``null`` for a reference.
    Raises ValueError saying what is wrong."""
    from .syntax.types import F32, F64, I32, I64
    if t in (F32, F64):
        try:
            value = float.fromhex(text) if text.lower().lstrip("+-").startswith("0x") else float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number (a {t} argument)") from None
        if t == F32 and math.isfinite(value) and abs(value) > F32_MAX:
            raise ValueError(f"{text} is out of range for f32 (at most {F32_MAX:.8g} in magnitude)")
        return value
    if t in (I32, I64):
        try:
            value = int(text, 0)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer (an {t} argument)") from None
        bits = 32 if t == I32 else 64
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise ValueError(f"{text} does not fit in {t} (from {-(1 << (bits - 1))} to {(1 << bits) - 1})")
        return value
    if text == "null":
        return None
    raise ValueError(f"a {t} argument can only be null on the command line, not {text!r}")


def _format(value: object) -> str:
    return "null" if value is None else str(value)


RUN_OPTIONS = {"--invoke", "--fuel", "--timeout", "-O", "--opt-level"}
"""Options of ``run`` that take a value (the next token, or after ``=``)."""


def _run_parser() -> argparse.ArgumentParser:
    run = argparse.ArgumentParser(prog="python -m engine run",
                                  description="instantiate a module and invoke an export")
    run.add_argument("file", help="a .wasm binary or a .wat text module")
    run.add_argument("--invoke", metavar="NAME",
                     help="the export to call (default: _start, if exported)")
    run.add_argument("args", nargs="*", help="arguments, one per parameter (negative numbers, -inf included)")
    run.add_argument("--fuel", type=int, help="trap with 'all fuel consumed' after this much")
    run.add_argument("--timeout", type=float, metavar="SECONDS",
                     help="interrupt the call after this many seconds (Ctrl-C interrupts it too)")
    run.add_argument("-O", "--opt-level", type=int, default=2, choices=range(4),
                     help="LLVM optimisation level (default 2)")
    return run


def _parse_run(argv: list[str]) -> argparse.Namespace:
    """Options may stand anywhere, and any token that is not one of them or its value is
    a positional -- so ``run FILE --invoke f -5 -inf`` passes two numbers, where plain
    argparse would take ``-inf`` for an option."""
    options: list[str] = []
    positional: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        name = token.split("=", 1)[0]
        if name in RUN_OPTIONS:
            options.append(token)
            if "=" not in token and not (token.startswith("-O") and len(token) > 2):
                options.append(next(tokens, ""))
        elif token in ("-h", "--help") or (token.startswith("-O") and len(token) > 2):
            options.append(token)
        else:
            positional.append(token)
    return _run_parser().parse_args(options + ["--", *positional])


def _call_interruptibly(engine: object, call: Callable[[], object], timeout: float | None) -> object:
    """Run ``call`` in a thread of its own, so that the timeout and Ctrl-C reach it: both
    make the running wasm trap with ``interrupt`` (native code never returns to Python
    to see a signal, so the main thread waits and interrupts)."""
    import threading
    import time
    outcome: dict[str, object] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: B036 -- handed to the main thread
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=target, name="wasm", daemon=True).start()
    # An Event, not Thread.join: a KeyboardInterrupt inside join() can leave the thread
    # looking finished while its wasm still runs.
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while not done.wait(0.05):
            if deadline is not None and time.monotonic() >= deadline:
                engine.increment_epoch()  # type: ignore[attr-defined]
                deadline = None
    except KeyboardInterrupt:
        engine.increment_epoch()  # type: ignore[attr-defined]
        done.wait()
        outcome["interrupted"] = True
    if outcome.get("interrupted"):
        raise KeyboardInterrupt
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


def _run(args: argparse.Namespace) -> int:
    from .errors import LinkError, Trap, WasmError
    from .runtime import Config, Engine, Instance, Module, Store, WasmException
    config = Config(opt_level=args.opt_level, consume_fuel=args.fuel is not None, epoch_interruption=True)
    engine = Engine(config)
    store = Store(engine)
    try:
        data = Path(args.file).read_bytes()
        if args.file.endswith(".wasm") and data[:4] != b"\0asm":
            raise WasmError(f"{args.file} is not a wasm binary (it does not start with \\0asm)")
        module = Module(engine, data)
        if args.fuel is not None:
            store.set_fuel(args.fuel)
        store.set_epoch_deadline(1)
        if module.syntax.imports:
            first = module.syntax.imports[0]
            raise LinkError(f"unknown import: `{first.module}::{first.name}` has not been "
                            "defined (the command line provides no imports)")
        exports = _call_interruptibly(engine, lambda: Instance(store, module, []).exports(store), args.timeout)
        name = args.invoke if args.invoke is not None else ("_start" if "_start" in exports else None)
        if name is None:
            return 0
        func = exports.get(name)
        if func is None or not hasattr(func, "call_slots"):
            raise LinkError(f"no exported function named {name!r}")
        ft = func.type(store)
        if len(args.args) != len(ft.params):
            raise WasmError(f"{name} has type {ft}: expected {len(ft.params)} arguments, "
                            f"got {len(args.args)}")
        values = [_parse_arg(a, t) for a, t in zip(args.args, ft.params)]
        result = _call_interruptibly(engine, lambda: func(store, *values), args.timeout)
    except KeyboardInterrupt:
        print("error: wasm trap: interrupt (Ctrl-C)", file=sys.stderr)
        return 130
    except Trap as e:
        print(f"error: wasm trap: {e}", file=sys.stderr)
        return 1
    except WasmException as e:
        print(f"error: uncaught wasm exception: {e}", file=sys.stderr)
        return 1
    except (WasmError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    results = result if isinstance(result, list) else [] if result is None else [result]
    for value in results:
        print(_format(value))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine",
                                     description="exnfuzz's WebAssembly engine")
    commands = parser.add_subparsers(dest="command", required=True)
    wast = commands.add_parser("wast", help="run .wast scripts (files or directories)")
    wast.add_argument("paths", nargs="+", help=".wast files or directories to recurse into")
    wast.add_argument("-v", "--verbose", action="count", default=0,
                      help="list skip reasons and notes; twice: every message mismatch")
    wast.add_argument("--static", action="store_true",
                      help="only decode and validate modules; execute nothing")
    wast.add_argument("-O", "--opt-level", type=int, default=2, choices=range(4),
                      help="LLVM optimisation level of the executing engine (default 2)")
    wast.add_argument("--target", choices=["x86_64", "aarch64", "s390x", "all"],
                      help="run the code compiled for this target: the host's in process, "
                           "aarch64 and s390x under qemu-user (see engine/emulated); all: each "
                           "in turn (default: the host)")
    wast.set_defaults(run=_wast)
    commands.add_parser("run", add_help=False,
                        help="instantiate a module and invoke an export "
                             "(FILE [--invoke NAME] [ARGS...]; see run --help)")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        return _run(_parse_run(argv[1:]))
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
