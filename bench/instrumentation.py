"""Which packages to instrument for coverage: execs/s against the coverage they buy.

    python bench/instrumentation.py [--seconds S] [--parallel N] [CHOICE ...]

Each CHOICE is a value of ``EXNFUZZ_INSTRUMENT`` (comma-separated packages, ``-NAME`` to
leave out a module or package; ``none`` for no package: libFuzzer then sees only the
run-time feedback counters of ``fuzz_targets/feedback.py``).  Default: ``engine`` (the
target's default), ``engine,oracles,generators``, ``generators`` and ``none``.

For each choice the main target fuzzes for S seconds (default 600) on one core from the
seed corpus, N choices at a time (default 2: one per core of this machine).  Coverage
counts are not comparable between choices -- each sees other branches -- so every
resulting corpus is then measured with one yardstick: loaded once (``-runs=0``) by the
target under the default instrumentation, whose ``INITED cov/ft`` line says what the
corpus reaches.  Printed per choice: execs/s during the run, the corpus size, and cov
and ft on the yardstick.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "fuzz_targets" / "exceptions.py"
SEEDS = ROOT / "corpus" / "exceptions"
DEFAULT_CHOICES = ("engine", "engine,oracles,generators", "generators", "none")


def packages(choice: str) -> str:
    return "" if choice == "none" else choice


def fuzz(choice: str, corpus: Path, seconds: int) -> subprocess.Popen[str]:
    """Start the target fuzzing ``corpus`` for ``seconds`` with ``choice`` instrumented,
    its output going to ``output.txt`` beside the corpus: a pipe that nobody reads while
    the other run of the batch is awaited fills up and stops the target."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), EXNFUZZ_INSTRUMENT=packages(choice))
    with open(corpus.parent / "output.txt", "w") as output:
        return subprocess.Popen([sys.executable, str(TARGET), f"-max_total_time={seconds}", "-len_control=0",
                                 "-max_len=4096", f"-artifact_prefix={corpus.parent}/", str(corpus)],
                                stdout=output, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)


def summary(output: str) -> str:
    """The target's summary line (its last ``exceptions:`` line)."""
    lines = [line for line in output.splitlines() if line.startswith("exceptions:")]
    return lines[-1] if lines else "no summary: " + output[-500:]


def rate(line: str) -> str:
    found = re.search(r"\(([\d.]+)/s\)", line)
    return found.group(1) if found else "?"


def yardstick(corpus: Path) -> tuple[str, str]:
    """cov and ft of ``corpus`` as the default instrumentation sees it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("EXNFUZZ_INSTRUMENT", None)
    out = subprocess.run([sys.executable, str(TARGET), "-runs=0", "-max_len=4096", str(corpus)],
                         capture_output=True, text=True, env=env, cwd=ROOT).stderr
    inited = re.search(r"INITED cov: (\d+) ft: (\d+)", out)
    return inited.groups() if inited else ("?", "?")   # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("choices", nargs="*", default=list(DEFAULT_CHOICES))
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        corpora = {}
        for choice in args.choices:
            corpus = Path(scratch) / choice.replace(",", "+") / "corpus"
            shutil.copytree(SEEDS, corpus)
            corpora[choice] = corpus
        rates = {}
        pending = list(args.choices)
        while pending:
            batch, pending = pending[:args.parallel], pending[args.parallel:]
            runs = {choice: fuzz(choice, corpora[choice], args.seconds) for choice in batch}
            for choice, proc in runs.items():
                proc.wait()
                line = summary((corpora[choice].parent / "output.txt").read_text())
                rates[choice] = rate(line)
                print(f"{choice}: {line}", flush=True)
        for choice in args.choices:
            cov, ft = yardstick(corpora[choice])
            rows.append((choice, rates[choice], str(len(list(corpora[choice].iterdir()))), cov, ft))
    header = ("instrumented", "execs/s", "corpus", "cov", "ft")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    print(f"after {args.seconds} s each; cov and ft of each corpus under the default instrumentation")
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))


if __name__ == "__main__":
    main()
