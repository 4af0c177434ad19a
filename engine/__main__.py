"""Command line.

* ``python -m engine run FILE [--invoke NAME] [ARGS...]`` -- instantiate a module
  (binary or text) and call one of its exports, printing each result on a line.
* ``python -m engine wast [-O LEVEL] PATH...`` -- run ``.wast`` scripts.
"""
from __future__ import annotations

import argparse
import sys

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
    from .runtime import Config
    from .script.exec import JitEngine
    from .script.run import Runner, StaticEngine, report, run_paths
    engine = StaticEngine() if args.static else JitEngine(Config(opt_level=args.opt_level))
    from oracles.wasmtime_config import features_for
    runner = Runner(engine, _reference_accepts, features_for)
    lines, total = report(run_paths(args.paths, runner), args.verbose)
    print("\n".join(lines))
    return 1 if total.failed else 0


def _parse_arg(text: str, t: object) -> object:
    """A command-line argument as a value of type ``t`` (ints in any base Python reads;
    floats also as ``nan``, ``inf``, ``-inf``)."""
    from .syntax.types import F32, F64
    if t in (F32, F64):
        return float(text)
    return int(text, 0)


def _format(value: object) -> str:
    return "null" if value is None else str(value)


def _run_parser() -> argparse.ArgumentParser:
    run = argparse.ArgumentParser(prog="python -m engine run",
                                  description="instantiate a module and invoke an export")
    run.add_argument("file", help="a .wasm binary or a .wat text module")
    run.add_argument("--invoke", metavar="NAME",
                     help="the export to call (default: _start, if exported)")
    run.add_argument("args", nargs="*", help="arguments, one per parameter")
    run.add_argument("--fuel", type=int, help="trap with 'all fuel consumed' after this much")
    run.add_argument("--timeout", type=float, metavar="SECONDS",
                     help="interrupt the call after this many seconds (epoch interruption)")
    run.add_argument("-O", "--opt-level", type=int, default=2, choices=range(4),
                     help="LLVM optimisation level (default 2)")
    return run


def _run(args: argparse.Namespace) -> int:
    import threading

    from .errors import LinkError, Trap, WasmError
    from .runtime import Config, Engine, Instance, Module, Store
    config = Config(opt_level=args.opt_level, consume_fuel=args.fuel is not None,
                    epoch_interruption=args.timeout is not None)
    engine = Engine(config)
    store = Store(engine)
    try:
        module = Module.from_file(engine, args.file)
        if args.fuel is not None:
            store.set_fuel(args.fuel)
        if args.timeout is not None:
            store.set_epoch_deadline(1)
            timer = threading.Timer(args.timeout, engine.increment_epoch)
            timer.daemon = True
            timer.start()
        if module.syntax.imports:
            first = module.syntax.imports[0]
            raise LinkError(f"unknown import: `{first.module}::{first.name}` has not been "
                            "defined (the command line provides no imports)")
        exports = Instance(store, module, []).exports(store)
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
        result = func(store, *[_parse_arg(a, t) for a, t in zip(args.args, ft.params)])
    except Trap as e:
        print(f"error: wasm trap: {e}", file=sys.stderr)
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
    wast.set_defaults(run=_wast)
    commands.add_parser("run", add_help=False,
                        help="instantiate a module and invoke an export "
                             "(FILE [--invoke NAME] [ARGS...]; see run --help)")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        # Options may follow the file and arguments may be negative numbers, as in
        # ``run FILE --invoke NAME -5``: only intermixed parsing reads that.
        return _run(_run_parser().parse_intermixed_args(argv[1:]))
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
