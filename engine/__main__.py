"""Command line: ``python -m engine wast PATH...`` runs ``.wast`` scripts."""
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
    from .script.run import Runner, report, run_paths
    lines, total = report(run_paths(args.paths, Runner(reference=_reference_accepts)),
                          args.verbose)
    print("\n".join(lines))
    return 1 if total.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine",
                                     description="exnfuzz's WebAssembly engine")
    commands = parser.add_subparsers(dest="command", required=True)
    wast = commands.add_parser("wast", help="run .wast scripts (files or directories)")
    wast.add_argument("paths", nargs="+", help=".wast files or directories to recurse into")
    wast.add_argument("-v", "--verbose", action="count", default=0,
                      help="list skip reasons and notes; twice: every message mismatch")
    wast.set_defaults(run=_wast)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
