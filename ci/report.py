"""The nightly report: ``report.json`` (the summary, for machines) and ``report.html``
(for people: plots of each target's execs/s, coverage and corpus size over the
night, and a table of findings with the signature, the count, whether it is new since
the last report, the reduced WAT and both engines' outcomes).

Plots are inline SVG, so the page needs nothing but a browser.
"""
from __future__ import annotations

import html
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
METRICS = (("exec_s", "execs/s"), ("cov", "coverage (edges)"), ("ft", "features"), ("corpus", "corpus size"))
WIDTH, HEIGHT, PAD = 360, 160, 36


def series(folder: Path, target: str) -> list[dict[str, float]]:
    path = folder / f"{target}.series.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def svg_plot(points: list[dict[str, float]], key: str, title: str) -> str:
    """A line plot of ``key`` over time, as an SVG element."""
    if not points:
        return f'<svg width="{WIDTH}" height="{HEIGHT}" class="plot"><text x="10" y="20">{title}: no data</text></svg>'
    xs = [p["t"] for p in points]
    ys = [p[key] for p in points]
    x0, x1 = min(xs), max(xs) or 1
    y0, y1 = 0, max(ys) or 1
    span_x = (x1 - x0) or 1

    def at(x: float, y: float) -> str:
        return (f"{PAD + (x - x0) / span_x * (WIDTH - 2 * PAD):.1f},"
                f"{HEIGHT - PAD - (y - y0) / (y1 - y0) * (HEIGHT - 2 * PAD):.1f}")

    line = " ".join(at(x, y) for x, y in zip(xs, ys))
    return (f'<svg width="{WIDTH}" height="{HEIGHT}" class="plot" data-metric="{key}">'
            f'<text x="{PAD}" y="16" class="title">{html.escape(title)}</text>'
            f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
            f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
            f'<text x="{PAD - 4}" y="{PAD + 4}" class="tick" text-anchor="end">{y1:g}</text>'
            f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" class="tick" text-anchor="end">0</text>'
            f'<text x="{WIDTH - PAD}" y="{HEIGHT - PAD + 14}" class="tick" text-anchor="end">{x1:.0f} s</text>'
            f'<polyline points="{line}" class="line"/></svg>')


def outcomes(case_path: str) -> str:
    """Both engines' outcomes of a case, side by side (``python -m oracles run``, in a
    child: a crash finding crashes it)."""
    proc = subprocess.run([sys.executable, "-m", "oracles", "run", case_path], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    if proc.returncode < 0:
        return f"(running it crashed the process: signal {-proc.returncode})\n{proc.stderr[-2000:]}"
    return proc.stdout or proc.stderr


def finding_row(row: dict[str, Any]) -> str:
    reduced = row.get("reduced")
    wat = Path(reduced).with_suffix(".wat").read_text() if reduced and Path(reduced).with_suffix(".wat").exists() \
        else "(not reduced)"
    shown = outcomes(reduced or row["reproducer"]) if row["target"] == "exceptions" else ""
    first = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["first_seen"]))
    return (f'<tr class="{"new" if row.get("new") else "known"}"><td>{html.escape(row["target"])}</td>'
            f'<td>{html.escape(row["signature"])}</td><td>{row["count"]}</td><td>{first}</td>'
            f'<td>{"new" if row.get("new") else "known"}</td>'
            f'<td><details><summary>reduced WAT</summary><pre>{html.escape(wat)}</pre></details>'
            f'<details><summary>outcomes</summary><pre>{html.escape(shown)}</pre></details>'
            f'<div class="path">{html.escape(reduced or row["reproducer"])}</div></td></tr>')


STYLE = """body{font-family:sans-serif;margin:1.5em} .plot{border:1px solid #ccc;margin:4px}
.line{fill:none;stroke:#2060c0;stroke-width:2} .axis{stroke:#888} .tick{font-size:10px;fill:#555}
.title{font-size:12px;font-weight:bold} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:4px;
vertical-align:top} tr.new td{background:#fff3e0} pre{max-height:24em;overflow:auto;font-size:11px}
.path{font-size:10px;color:#666}"""


def write(folder: Path, state: dict[str, Any]) -> str:
    """Write ``report.json`` and ``report.html`` of the night in ``folder``; a one-line
    summary."""
    targets = state["targets"]
    stats = {}
    for target in targets:
        points = series(folder, target)
        last = points[-1] if points else {}
        stats[target] = {"seconds": state["spent"].get(target, 0), "inputs": last.get("inputs", 0),
                         "coverage": last.get("cov", 0), "features": last.get("ft", 0),
                         "corpus_after_merge": state.get("corpus", {}).get(target),
                         "mean_exec_s": round(sum(p["exec_s"] for p in points) / len(points), 1) if points else 0}
    findings = state.get("findings", [])
    new = sum(1 for row in findings if row.get("new"))
    summary = {"night": state["night"], "targets": stats, "findings": findings,
               "signatures": len(findings), "new_signatures": new}
    (folder / "report.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    plots = "".join(f"<h3>{html.escape(t)}</h3><div>" + "".join(svg_plot(series(folder, t), key, title)
                                                                  for key, title in METRICS) + "</div>"
                    for t in targets)
    rows = "".join(finding_row(row) for row in findings) or '<tr><td colspan="6">no findings</td></tr>'
    stat_rows = "".join(f"<tr><td>{html.escape(t)}</td><td>{s['seconds']:.0f}</td><td>{s['inputs']}</td>"
                        f"<td>{s['mean_exec_s']}</td><td>{s['coverage']}</td><td>{s['features']}</td>"
                        f"<td>{s['corpus_after_merge']}</td></tr>" for t, s in stats.items())
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>exnfuzz nightly {state['night']}</title>"
            f"<style>{STYLE}</style></head><body><h1>exnfuzz nightly {html.escape(state['night'])}</h1>"
            f"<table><tr><th>target</th><th>seconds</th><th>inputs</th><th>mean execs/s</th><th>coverage</th>"
            f"<th>features</th><th>corpus after merge</th></tr>{stat_rows}</table><h2>Over the night</h2>{plots}"
            f"<h2>Findings: {len(findings)} signatures, {new} new</h2><table><tr><th>target</th><th>signature</th>"
            f"<th>count</th><th>first seen</th><th>since last report</th><th>reproducer</th></tr>{rows}</table>"
            f"</body></html>")
    (folder / "report.html").write_text(page)
    return f"{len(findings)} signatures ({new} new); " + ", ".join(
        f"{t}: {s['inputs']} inputs, cov {s['coverage']}" for t, s in stats.items())
