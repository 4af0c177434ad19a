"""Scale: what one instruction or one large module costs, beside wasmtime.

    python bench/scale.py [--quick] [--functions N] [--blocks N]

Each figure is measured in a fresh child process, so that resident memory starts from
the same baseline for both engines:

* ``memory.grow 65535`` and ``table.grow 10^7`` from wasm: the time of the call and the
  resident memory it added;
* compiling a module of ``--functions`` trivial functions (100,000 by default) at
  exnfuzz's opt_level 0 and 2 and at Cranelift's ``none`` and ``speed`` (one thread:
  ``parallel_compilation`` off, as the oracle runs it): time and peak resident memory;
* printing ``--blocks`` nested blocks (100,000 by default) as text: time and size
  (wasmtime-py has no printer; the size shows it is linear).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the packages live in the repository root

GROW_MEMORY = """(module (memory 0)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""
GROW_TABLE = """(module (table 0 funcref)
  (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"""


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def many_functions(n: int) -> bytes:
    import wasmtime
    return wasmtime.wat2wasm("(module " + "".join(
        f'(func (export "f{i}") (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))'
        for i in range(n)) + ")")


def nested_blocks(n: int) -> bytes:
    from engine.binary.encode import encode_module
    from engine.syntax.instructions import Instr
    from engine.syntax.module import Func, Module
    from engine.syntax.types import FuncType
    body = [Instr("block", (None,))] * n + [Instr("end", ())] * n
    return encode_module(Module(types=[FuncType((), ())], funcs=[Func(0, [], body)]))


def child_grow(engine: str, wat: str, delta: int) -> dict[str, float]:
    if engine == "wasmtime":
        import wasmtime
        store = wasmtime.Store()
        grow = wasmtime.Instance(store, wasmtime.Module(store.engine, wat), []).exports(store)["grow"]
    else:
        from engine.runtime import Config, Engine, Instance, Module, Store
        store = Store(Engine(Config(opt_level=0)))
        grow = Instance(store, Module(store.engine, wat), []).exports(store)["grow"]
    before, start = rss_mib(), time.perf_counter()
    result = grow(store, delta)
    assert result == 0, result
    return {"seconds": time.perf_counter() - start, "rss_mib": rss_mib() - before}


def child_compile(engine: str, level: str, n: int) -> dict[str, float]:
    wasm = many_functions(n)
    before = rss_mib()
    if engine == "wasmtime":
        import wasmtime
        config = wasmtime.Config()
        config.cranelift_opt_level = level
        config.parallel_compilation = False
        wasm_engine = wasmtime.Engine(config)
        start = time.perf_counter()
        wasmtime.Module(wasm_engine, wasm)
    else:
        from engine.runtime import Config, Engine, Module
        ours = Engine(Config(opt_level=int(level)))
        start = time.perf_counter()
        Module(ours, wasm)
    return {"seconds": time.perf_counter() - start, "peak_mib": peak_mib() - before}


def child_print(n: int) -> dict[str, float]:
    from engine.binary.decode import decode_module
    from engine.text.print import print_module
    module = decode_module(nested_blocks(n))
    start = time.perf_counter()
    text = print_module(module)
    return {"seconds": time.perf_counter() - start, "bytes": len(text)}


def measure(*args: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.splitlines()[-1])


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs > 0 else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 functions and blocks")
    parser.add_argument("--functions", type=int, default=100_000)
    parser.add_argument("--blocks", type=int, default=100_000)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "grow":
            wat = GROW_MEMORY if rest[1] == "memory" else GROW_TABLE
            print(json.dumps(child_grow(rest[0], wat, int(rest[2]))))
        elif kind == "compile":
            print(json.dumps(child_compile(rest[0], rest[1], int(rest[2]))))
        else:
            print(json.dumps(child_print(int(rest[0]))))
        return
    functions = 10_000 if args.quick else args.functions
    blocks = 10_000 if args.quick else args.blocks
    print("one instruction                 exnfuzz               wasmtime              ratio")
    for what, delta in (("memory", 65535), ("table", 10_000_000)):
        ours = measure("grow", "exnfuzz", what, str(delta))
        theirs = measure("grow", "wasmtime", what, str(delta))
        print(f"{what}.grow {delta:<12}   {ours['seconds']:8.4f} s {ours['rss_mib']:7.1f} MiB"
              f"   {theirs['seconds']:8.4f} s {theirs['rss_mib']:7.1f} MiB"
              f"   {ratio(ours['seconds'], theirs['seconds'])} time")
    print(f"\ncompiling {functions:,} functions      exnfuzz               wasmtime              ratio")
    for ours_level, their_level in (("0", "none"), ("2", "speed")):
        ours = measure("compile", "exnfuzz", ours_level, str(functions))
        theirs = measure("compile", "wasmtime", their_level, str(functions))
        print(f"opt_level {ours_level} / {their_level:<5}         {ours['seconds']:8.1f} s {ours['peak_mib']:7.0f} MiB"
              f"   {theirs['seconds']:8.1f} s {theirs['peak_mib']:7.0f} MiB"
              f"   {ratio(ours['seconds'], theirs['seconds'])} time, "
              f"{ours['seconds'] / functions * 1e6:.0f} us a function")
    printed = measure("print", str(blocks))
    print(f"\nprinting {blocks:,} nested blocks: {printed['seconds']:.2f} s, "
          f"{printed['bytes'] / 2**20:.1f} MiB of text ({printed['bytes'] / blocks:.0f} bytes a block)")


if __name__ == "__main__":
    main()
