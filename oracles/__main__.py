"""``python -m oracles run CASE [--full]``: run a case file on both engines.

Prints both outcomes side by side and the verdict (with ``--full``, the module's text
and the host plan first).  Exit status: 0 agree, 1 diverge, 2 inconclusive or error.
"""
from __future__ import annotations

import argparse
import sys

from .case import CaseError, load
from .runner import RunnerError

EXIT = {"agree": 0, "diverge": 1, "inconclusive": 2}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oracles", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a case file on exnfuzz and on wasmtime and compare")
    run.add_argument("case", help="a case file (JSON, see oracles/case.py)")
    run.add_argument("--full", action="store_true", help="also print the module's text and the host plan")
    args = parser.parse_args(argv)

    from . import report
    from .differential import check
    try:
        result = check(load(args.case))
    except (CaseError, RunnerError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report.full(result) if args.full else report.outcomes(result), end="")
    return EXIT[result.verdict.kind]


if __name__ == "__main__":
    sys.exit(main())
