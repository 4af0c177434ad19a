"""The nightly campaign: every fuzz target for a time budget, then the findings
replayed, triaged, reduced and reported.

    python -m ci.nightly --minutes N --out DIR [--workers K] [--targets T,...] [--full-set SHARE]

In ``DIR`` it keeps what lasts from night to night -- ``corpus/<target>/`` (started
from ``corpus/<target>/`` of the repository), ``findings/<target>/`` (libFuzzer's
artifacts and the case files beside them), ``known.json`` (the signatures reported
before) -- and one folder per night under ``nights/`` with the time series, the
reduced findings, ``report.json`` and ``report.html``.  The phases:

1. **fuzz** each target in turn for its share of the budget, with libFuzzer's
   ``-fork`` over ``--workers`` processes (one per core by default), crashes and
   timeouts recorded and ignored so the run goes on, new inputs into a scratch corpus
   of the night; the status lines are shown and kept as a time series;
2. **merge** the scratch corpus back into ``corpus/<target>/`` (``-merge=1``, with a
   control file, so an interrupted merge resumes);
3. **triage** the findings by signature (:mod:`oracles.triage`, each in a child);
4. **reduce** the smallest reproducer of each signature (:mod:`oracles.reduce`);
5. **report**: ``report.json`` and ``report.html`` (plots of execs/s, coverage and
   corpus size over time per target; a findings table with the reduced WAT, both
   outcomes and the signature; which signatures are new since the last report).

With ``--full-set SHARE`` the main target judges that share of its cases on the full
executor set (``oracles/executors.py``), and its findings are triaged and reduced on
the full set too (a divergence of the default pair shows there as well).

Killed at any point and started again with the same ``--out``, it resumes the
unfinished night: ``state.json`` (written atomically) records each finished phase and
the fuzzing time spent; findings are files libFuzzer writes as it finds them, and
every input is a valid input of the targets (any bytes are), so no corpus is left
broken.  Exit status: 0 when no new signature appeared, 1 when one did, 2 on error.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import report as html_report

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("exceptions", "decode")
SHARE = {"exceptions": 0.8, "decode": 0.2}
"""How the budget is split when every target runs: the main target gets most of it."""
STATUS = re.compile(r"^#(\d+)\S*\s.*?cov: (\d+) ft: (\d+) corp: (\d+)")
EXEC_S = re.compile(r"exec/s:? (\d+)")
FINDING_PREFIXES = ("crash-", "timeout-", "oom-", "leak-")


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file renamed over it)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=1, default=str) + "\n")
    os.replace(temporary, path)


@dataclass
class Night:
    """One campaign in ``out``: its folder, and the state that makes it resumable."""
    out: Path
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, out: Path, budget: float, targets: list[str], full_set: float = 0.0) -> "Night":
        """The unfinished night in ``out``, or a new one."""
        out.mkdir(parents=True, exist_ok=True)
        path = out / "state.json"
        if path.exists():
            state = json.loads(path.read_text())
            if state.get("phase") != "done":
                print(f"nightly: resuming {state['night']} at phase {state['phase']}", flush=True)
                return cls(out, state)
        night = time.strftime("%Y%m%d-%H%M%S")
        state = {"night": night, "phase": "fuzz", "budget": budget, "targets": targets, "spent": {},
                 "started": time.time(), "full_set": full_set}
        night_ = cls(out, state)
        night_.save()
        return night_

    @property
    def dir(self) -> Path:
        path = self.out / "nights" / self.state["night"]
        path.mkdir(parents=True, exist_ok=True)
        return path

    def save(self) -> None:
        write_json(self.out / "state.json", self.state)

    def advance(self, phase: str) -> None:
        self.state["phase"] = phase
        self.save()


def target_command(target: str, full_set: float = 0.0) -> list[str]:
    flags = [f"--full-set={full_set}"] if full_set and target == "exceptions" else []
    return [sys.executable, str(ROOT / "fuzz_targets" / f"{target}.py"), *flags]


def executors(night: Night, target: str) -> str | None:
    """The executors the night's findings of ``target`` are judged on (None: the pair)."""
    return "full" if night.state.get("full_set") and target == "exceptions" else None


def seed_corpus(out: Path, target: str) -> Path:
    """``corpus/<target>`` of the campaign, started from the repository's seeds."""
    corpus = out / "corpus" / target
    if not corpus.exists():
        seeds = ROOT / "corpus" / target
        if seeds.is_dir():
            shutil.copytree(seeds, corpus)
        else:
            corpus.mkdir(parents=True)
    return corpus


def fuzz(night: Night, target: str, seconds: float, workers: int) -> None:
    """Fuzz ``target`` until ``seconds`` of fuzzing (over every start) are spent."""
    spent = night.state["spent"].get(target, 0.0)
    if seconds - spent < 5:
        return
    corpus = seed_corpus(night.out, target)
    scratch = night.dir / "scratch" / target
    scratch.mkdir(parents=True, exist_ok=True)
    findings = night.out / "findings" / target
    findings.mkdir(parents=True, exist_ok=True)
    series = night.dir / f"{target}.series.jsonl"
    command = [*target_command(target, night.state.get("full_set", 0.0)), f"-fork={workers}", "-ignore_crashes=1",
               "-ignore_timeouts=1", "-ignore_ooms=1", f"-max_total_time={int(seconds - spent)}",
               f"-artifact_prefix={findings}/", str(scratch), str(corpus)]
    print(f"nightly: fuzz {target} for {seconds - spent:.0f} s with {workers} workers", flush=True)
    start = time.monotonic()
    with subprocess.Popen(command, cwd=night.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as proc, series.open("a") as log:
        assert proc.stdout is not None
        for line in proc.stdout:
            match = STATUS.match(line)
            if match is None:
                continue
            inputs, cov, ft, corp = match.groups()
            rate = EXEC_S.search(line)
            point = {"t": spent + time.monotonic() - start, "inputs": int(inputs), "cov": int(cov), "ft": int(ft),
                     "corpus": int(corp), "exec_s": int(rate.group(1)) if rate else 0}
            log.write(json.dumps(point) + "\n")
            log.flush()
            print(f"nightly: {target} {line.strip()}", flush=True)
            night.state["spent"][target] = point["t"]
            night.save()
    night.state["spent"][target] = seconds
    night.save()


def merge(night: Night, target: str) -> int:
    """Merge the night's new inputs into the campaign corpus; how many it has then."""
    corpus = seed_corpus(night.out, target)
    scratch = night.dir / "scratch" / target
    if scratch.is_dir() and any(scratch.iterdir()):
        control = night.dir / f"{target}.merge"
        subprocess.run([*target_command(target), "-merge=1", f"-merge_control_file={control}", str(corpus),
                        str(scratch)], cwd=night.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
    return sum(1 for _ in corpus.iterdir())


def reduce_finding(finding: Path, out: Path, target: str, seconds: float, on: str | None = None) -> None:
    """Reduce ``finding`` to ``out`` (kept if already there: reductions resume), on the
    executors ``on`` (None: the pair)."""
    if out.exists() or target != "exceptions":
        return
    subprocess.run([sys.executable, "-m", "oracles", "reduce", str(finding), "--out", str(out),
                    "--time-limit", str(seconds), *(["--executors", on] if on else [])], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def triage_and_reduce(night: Night, reduce_seconds: float) -> list[dict[str, Any]]:
    """Every signature of the findings so far, its smallest reproducer reduced."""
    from oracles import triage
    rows = []
    reduced_dir = night.dir / "reduced"
    reduced_dir.mkdir(exist_ok=True)
    for target in night.state["targets"]:
        folder = night.out / "findings" / target
        if not folder.is_dir() or not any(p.name.startswith(FINDING_PREFIXES) for p in folder.iterdir()):
            continue
        groups, _ = triage.triage([folder], target, executors(night, target))
        for group in groups:
            smallest = group.smallest
            key = re.sub(r"[^A-Za-z0-9]+", "-", str(group.signature)).strip("-")[:80]
            reduced = reduced_dir / f"{target}-{key}.json"
            print(f"nightly: {target}: {len(group.findings)} x {group.signature}; reducing {smallest.path.name}",
                  flush=True)
            reduce_finding(smallest.path, reduced, target, reduce_seconds, executors(night, target))
            rows.append({"target": target, "signature": str(group.signature),
                         "signature_fields": group.signature.to_json(), "count": len(group.findings),
                         "first_seen": min(f.written for f in group.findings), "reproducer": str(smallest.path),
                         "reduced": str(reduced) if reduced.exists() else None})
    return rows


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    targets = args.targets.split(",") if args.targets else list(TARGETS)
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        print(f"error: unknown targets {unknown}; known: {list(TARGETS)}", file=sys.stderr)
        return 2
    if not 0 <= args.full_set <= 1:
        print(f"error: --full-set is a share of the cases, 0 to 1, not {args.full_set}", file=sys.stderr)
        return 2
    night = Night.open(out, args.minutes * 60, targets, args.full_set)
    budget = night.state["budget"]
    shares = {t: SHARE[t] for t in night.state["targets"]}
    total = sum(shares.values())
    if night.state["phase"] == "fuzz":
        for target in night.state["targets"]:
            fuzz(night, target, budget * shares[target] / total, args.workers)
        night.advance("merge")
    if night.state["phase"] == "merge":
        night.state["corpus"] = {t: merge(night, t) for t in night.state["targets"]}
        night.advance("triage")
    if night.state["phase"] == "triage":
        night.state["findings"] = triage_and_reduce(night, args.reduce_seconds)
        night.advance("report")
    known_path = out / "known.json"
    known = set(json.loads(known_path.read_text())) if known_path.exists() else set()
    new = [row for row in night.state["findings"] if row["signature"] not in known]
    for row in night.state["findings"]:
        row["new"] = row in new
    summary = html_report.write(night.dir, night.state)
    write_json(known_path, sorted(known | {row["signature"] for row in night.state["findings"]}))
    night.advance("done")
    print(f"nightly: {summary}; report {night.dir / 'report.html'}", flush=True)
    return 1 if new else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.nightly", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, required=True, help="fuzzing time, over every target")
    parser.add_argument("--out", type=Path, required=True, help="the campaign's folder (kept night to night)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="fuzzing processes (default: cores)")
    parser.add_argument("--targets", help=f"comma-separated targets (default: {','.join(TARGETS)})")
    parser.add_argument("--full-set", type=float, default=0.0, metavar="SHARE",
                        help="share of the main target's cases judged on the full executor set (default: 0)")
    parser.add_argument("--reduce-seconds", type=float, default=120, help="time to reduce each new signature")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
