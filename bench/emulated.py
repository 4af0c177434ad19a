"""What running exnfuzz's code for aarch64 and s390x under qemu-user costs.

    python bench/emulated.py [--cases N]

1. The target server: starting one (qemu-user loads it and the C library), one request
   round trip over the pipe, and linking a module's object code into a shared object.
2. N generated cases (the main fuzz target's) run in process, on each emulated target
   and on wasmtime: the mean wall time of one case on each, and the verdicts.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.compile import jit  # noqa: E402
from engine.emulated import EMULATED, emulator, runtime  # noqa: E402
from engine.emulated.process import TargetProcess  # noqa: E402
from engine.emulated.toolchain import link  # noqa: E402
from fuzz_targets import exceptions as target  # noqa: E402
from oracles.differential import check, check_targets  # noqa: E402


def server_figures(arch: str) -> str:
    machine = emulator(arch)
    starts = []
    for _ in range(5):
        start = time.perf_counter()
        process = TargetProcess(machine.tools.command(machine.server), machine.target.big_endian)
        starts.append(time.perf_counter() - start)
        process.close()
    process = machine.fresh()
    address = process.calloc(1, 8)
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        process.read_slots(address, 1)
    round_trip = (time.perf_counter() - start) / n
    api = runtime(arch)
    from engine.compile.module import CompileOptions, ModuleCompiler
    from generators import Choices, generate_case
    from engine.binary.decode import decode_module
    case = generate_case(Choices.from_data(bytes(random.Random(7).randrange(256) for _ in range(2048))))
    ir_module = ModuleCompiler(decode_module(case.module), machine.target, CompileOptions(0)).compile()
    obj = jit.emit_object(jit.optimize(ir_module, machine.target, 0), machine.target, 0)
    links = []
    for i in range(20):
        start = time.perf_counter()
        link(arch, [obj], Path(machine._dir) / f"bench{i}.so").unlink()
        links.append(time.perf_counter() - start)
    del api
    return (f"{arch}: server start {1e3 * statistics.median(starts):.1f} ms, request round trip "
            f"{1e6 * round_trip:.1f} us, linking a generated module ({len(obj)} bytes of object code) "
            f"{1e3 * statistics.median(links):.1f} ms")


def case_figures(n: int) -> str:
    rng = random.Random(1)
    cases = [target.case_from_input(bytes(rng.randrange(256) for _ in range(rng.choice((1024, 2048, 4096)))))
             for _ in range(n)]
    for case in cases[:5]:
        check_targets(case, ("x86_64", *EMULATED))        # warm up: engines, servers, collectors
    seconds: dict[str, list[float]] = {}
    verdicts: dict[str, dict[str, int]] = {}
    for case in cases:
        ours = check(case)
        seconds.setdefault("exnfuzz in process", []).append(ours.seconds[0])
        seconds.setdefault("wasmtime", []).append(ours.seconds[1])
        for arch in EMULATED:
            result = check(case, arch, (ours.theirs, ours.seconds[1]))
            seconds.setdefault(result.name, []).append(result.seconds[0])
            counts = verdicts.setdefault(result.name, {})
            counts[result.verdict.kind] = counts.get(result.verdict.kind, 0) + 1
    base = statistics.mean(seconds["exnfuzz in process"])
    lines = [f"{n} generated cases, mean wall time of one case:"]
    for name, values in seconds.items():
        lines.append(f"  {name:20} {1e3 * statistics.mean(values):7.1f} ms  "
                     f"({statistics.mean(values) / base:.2f}x in process)")
    lines += [f"  verdicts {name}: {counts}" for name, counts in verdicts.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    for arch in EMULATED:
        print(server_figures(arch), flush=True)
    print(case_figures(args.cases))


if __name__ == "__main__":
    main()
