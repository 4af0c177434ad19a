"""``python -m oracles COMMAND``: run, replay, reduce and triage cases and fuzz inputs.

- ``run CASE [--full] [--target ARCH|all]``: run a case file on both engines; prints
  both outcomes side by side and the verdict (with ``--full``, the module's text and the
  host plan first).  ``--target`` runs exnfuzz's code for ``x86_64`` (this machine, in
  process), ``aarch64`` or ``s390x`` (emulated, see ``engine/emulated``), or for ``all``
  three, each compared with the same wasmtime run.  ``--executors NAMES`` (or
  ``full``) runs any set of executors (:mod:`oracles.executors`) and names the odd one
  out (:mod:`oracles.judgement`); ``--executors wasmtime,wasmtime-pulley`` reproduces
  a suspected wasmtime bug with wasmtime alone.  Exit status, for the worst verdict:
  0 agree, 1 diverge, 2 inconclusive or error.
- ``replay [PATHS]``: every case file and raw fuzz input under PATHS (default
  ``corpus/``), each in a child process; a line per failure, then ``N passed, M
  failed``.  Exit status 1 if any failed (:mod:`oracles.replay`).
- ``reduce CASE_OR_INPUT --out MIN.json``: shrink a finding, keeping its signature
  (:mod:`oracles.reduce`).  Exit status 1 if the input is not a finding.
- ``triage DIR...``: group findings by signature (:mod:`oracles.triage`).

``replay``, ``reduce`` and ``triage`` take ``--executors NAMES`` too: the cases then run
on those executors, so a finding of the fuzz target's ``--full-set`` (say Pulley against
Cranelift) is triaged and reduced on the executors that showed it.

Planted engine faults (``EXNFUZZ_FAULTS``) apply to every child that runs a case.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .case import CaseError, load
from .runner import RunnerError

EXIT = {"agree": 0, "diverge": 1, "inconclusive": 2}
EXECUTORS_HELP = ("comma-separated executors judged together (see oracles/executors.py), or full: "
                  "exnfuzz at opt 0/1/2, wasmtime's Cranelift at speed and none, Pulley "
                  "(default: exnfuzz against wasmtime)")
ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    from .differential import TARGETS
    parser = argparse.ArgumentParser(prog="python -m oracles", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a case file on exnfuzz and on wasmtime and compare")
    run.add_argument("case", help="a case file (JSON, see oracles/case.py)")
    run.add_argument("--full", action="store_true", help="also print the module's text and the host plan")
    run.add_argument("--executors", metavar="NAMES", help=EXECUTORS_HELP)
    run.add_argument("--target", choices=[*TARGETS, "all"],
                     help="run exnfuzz's code for this architecture (aarch64 and s390x under qemu-user), "
                          "or for all three (default: this machine's, in process)")
    replay = commands.add_parser("replay", help="replay case files and raw fuzz inputs, each in a child process")
    replay.add_argument("paths", nargs="*", help="files or folders (default: the corpus/ folder)")
    replay.add_argument("--target", default="exceptions", help="the fuzz target of raw inputs outside a "
                        "folder named after one (default: exceptions)")
    replay.add_argument("--executors", metavar="NAMES", help=EXECUTORS_HELP)
    replay.add_argument("-v", "--verbose", action="store_true", help="also print every entry that passes")
    reduce = commands.add_parser("reduce", help="shrink a finding, keeping its signature")
    reduce.add_argument("finding", help="a case file, or a raw input of the exceptions target")
    reduce.add_argument("--out", required=True, help="where to write the reduced case (JSON, .wat beside)")
    reduce.add_argument("--time-limit", type=float, default=600.0, help="seconds (default: 600)")
    reduce.add_argument("--target", default="exceptions", help="the fuzz target of a raw input")
    reduce.add_argument("--executors", metavar="NAMES", help=EXECUTORS_HELP)
    reduce.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    triage = commands.add_parser("triage", help="group findings by signature")
    triage.add_argument("dirs", nargs="+", help="folders of findings (crash-*, *.case.json)")
    triage.add_argument("--target", default="exceptions", help="the fuzz target of raw inputs")
    triage.add_argument("--executors", metavar="NAMES", help=EXECUTORS_HELP)
    args = parser.parse_args(argv)

    if args.command in ("replay", "reduce", "triage") and args.executors is not None:
        from .executors import named
        try:
            named(args.executors)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.command == "replay":
        from .replay import replay as replay_all
        _, failed = replay_all(args.paths or [ROOT / "corpus"], args.target, args.verbose, executors=args.executors)
        return 1 if failed else 0
    if args.command == "reduce":
        from .reduce import main as reduce_main
        return reduce_main(args.finding, args.out, args.time_limit, args.target, not args.quiet, args.executors)
    if args.command == "triage":
        from .triage import main as triage_main
        return triage_main(args.dirs, args.target, args.executors)

    from engine.emulated import EmulationUnavailable

    from . import report
    from .differential import check, check_executors, check_targets, worst
    try:
        case = load(args.case)
        if args.executors is not None:
            results = [check_executors(case, args.executors)]
        elif args.target is None:
            results = [check(case)]
        else:
            results = check_targets(case, TARGETS if args.target == "all" else (args.target,))
    except (CaseError, RunnerError, EmulationUnavailable, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for i, result in enumerate(results):
        print(report.full(result) if args.full and i == 0 else report.outcomes(result), end="")
        if len(results) > 1:
            print()
    verdict = worst([r.verdict for r in results])
    if len(results) > 1:
        for result in results:
            print(f"{result.name}: {result.verdict}")
    return EXIT[verdict.kind]


if __name__ == "__main__":
    sys.exit(main())
