"""The calling-convention sweep: a deterministic grid of cases around the registers.

Engines pass the first few parameters and results of a call in registers and the
rest in memory, and each target runs out of registers at other counts (x86-64 after
5-6 integers, aarch64 after 7-8, s390x after 4-5, fewer for results).  Bugs live
where a signature crosses those lines: stack arguments a tail call forgets to write,
results that do not fit in return registers, a handler reached across frames whose
argument areas differ (``../shared/bug-classes.md``, classes 1-3 and 10).

For each :class:`Sig` of a grid (parameter and result counts up to 24; integer and
reference values only, floats only, or mixed) a module defines callees that return
(folding every argument into an exported global), throw a tag whose payload is the
arguments, and trap; imports host functions of the same type that return, throw a
host tag and fail; and reaches each callee by ``call``, ``call_indirect``,
``return_call`` and ``return_call_indirect`` from a middle function whose own
signature is the callee's, or -- for the tail calls -- takes one ``i64`` (less
argument space than the callee) or 24 mixed values (more), below an export that
either catches what is thrown (with ``catch``, logging the payload through the host)
or lets it escape to the host.  The host also calls the wasm callees directly.
Several signatures share one module, so a grid is a handful of compilations.

``python -m generators.sweep [--dense] [-O 0 1 2] [--target ARCH|all]`` runs a grid on
exnfuzz (in process, or its code for aarch64 or s390x under emulation, or all three)
and wasmtime and reports the verdicts and the time each level took.
"""
from __future__ import annotations

import argparse
import random
import struct
import sys
import time
from dataclasses import dataclass
from itertools import product

import wasmtime

from oracles.case import Case, Invoke, RunConfig
from oracles.plan import HostError, HostFunc, HostPlan, Log, TagDef, Throw

INT_TYPES = ("i32", "i64", "externref", "funcref", "exnref")
FLOAT_TYPES = ("f32", "f64")
KINDS = {"int": INT_TYPES, "float": FLOAT_TYPES, "mixed": INT_TYPES + FLOAT_TYPES}
COUNTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 24)
"""Parameter and result counts: every count where some target runs out of registers,
and beyond."""
LARGE = tuple(("i32", "i64", "f32", "f64", "externref")[i % 5] for i in range(24))
"""The parameters of a middle function with more argument space than any callee."""
VIAS = ("call", "call_indirect", "return_call", "return_call_indirect")
WASM_CALLEES = ("ret", "throw", "trap")
HOST_CALLEES = ("host_ret", "host_throw", "host_trap")
_REF_HEAP = {"externref": "extern", "funcref": "func", "exnref": "exn"}


@dataclass(frozen=True)
class Sig:
    params: tuple[str, ...]
    results: tuple[str, ...]

    def wat(self) -> str:
        params = f"(param {' '.join(self.params)})" if self.params else ""
        results = f"(result {' '.join(self.results)})" if self.results else ""
        return f"{params} {results}".strip()


def sig_of(kind: str, n_params: int, n_results: int) -> Sig:
    """A signature of ``n_params`` and ``n_results`` values of ``kind``'s types, in an
    order drawn from the counts (the same every time)."""
    rng = random.Random(f"{kind}/{n_params}/{n_results}")
    types = KINDS[kind]
    return Sig(tuple(rng.choice(types) for _ in range(n_params)),
               tuple(rng.choice(types) for _ in range(n_results)))


def ci_grid() -> list[Sig]:
    """Every count as a parameter count and as a result count, for every kind: the
    counts paired off in three rotations, one per kind."""
    sigs = []
    for shift, kind in enumerate(KINDS):
        for i, n in enumerate(COUNTS):
            sigs.append(sig_of(kind, n, COUNTS[(i * 5 + 3 + shift * 4) % len(COUNTS)]))
    return sigs


def dense_grid() -> list[Sig]:
    """Every pair of counts, for every kind."""
    return [sig_of(kind, p, r) for kind in KINDS for p, r in product(COUNTS, COUNTS)]


# Conversions between value types that keep every bit (no float arithmetic), so the
# values a callee computes are exact on every correct engine.

def _to_i64(t: str) -> list[str]:
    return {"i32": ["i64.extend_i32_u"], "i64": [],
            "f32": ["i32.reinterpret_f32", "i64.extend_i32_u"], "f64": ["i64.reinterpret_f64"]
            }.get(t, ["ref.is_null", "i64.extend_i32_u"])


def _from_i64(t: str) -> list[str]:
    if t in _REF_HEAP:
        if t == "funcref":   # non-null when the value is odd
            return ["i64.const 1", "i64.and", "i32.wrap_i64",
                    "(if (result funcref) (then (ref.func $anchor)) (else (ref.null func)))"]
        return ["drop", f"ref.null {_REF_HEAP[t]}"]
    return {"i32": ["i32.wrap_i64"], "i64": [], "f32": ["i32.wrap_i64", "f32.reinterpret_i32"],
            "f64": ["f64.reinterpret_i64"]}[t]


def convert(src: str, dst: str) -> list[str]:
    """Instructions turning a ``src`` value on the stack into a ``dst`` value."""
    if src == dst:
        return []
    return _to_i64(src) + _from_i64(dst)


def literal(rng: random.Random, t: str) -> str:
    """A value literal of type ``t`` (floats never NaN, so results compare exactly)."""
    if t == "i32":
        return f"i32:{rng.getrandbits(32)}"
    if t == "i64":
        return f"i64:{rng.getrandbits(64)}"
    if t in FLOAT_TYPES:
        fmt, bits = ("<f", 32) if t == "f32" else ("<d", 64)
        while True:
            raw = rng.getrandbits(bits).to_bytes(bits // 8, "little")
            value = struct.unpack(fmt, raw)[0]
            if value == value:
                return f"{t}:{value!r}"
    if t == "externref" and rng.random() < 0.5:
        return "externref:ref"
    return f"{t}:null"


class _Module:
    """The text of one sweep module for ``sigs``, and its host plan and invocations."""

    def __init__(self, sigs: list[Sig], seed: int) -> None:
        self.sigs = sigs
        self.rng = random.Random(seed)
        self.fields: list[str] = []
        self.table: list[str] = []
        self.host_tags: list[TagDef] = []
        self.host_funcs: list[HostFunc] = []
        self.invocations: list[Invoke] = []
        self.table_index: dict[str, int] = {}

    def build(self) -> Case:
        fields = self.fields
        fields.append("(global $acc (export \"acc\") (mut i64) (i64.const 0))")
        fields.append("(func $anchor)")
        fields.append("(elem declare func $anchor)")
        for k, sig in enumerate(self.sigs):
            self.add_sig(k, sig)
        imports = [f for f in fields if f.startswith("(import")]
        rest = [f for f in fields if not f.startswith("(import")]
        table = (f"(table $tab {len(self.table)} funcref)\n"
                 f"(elem (table $tab) (i32.const 0) func {' '.join(self.table)})")
        text = "(module\n" + "\n".join(imports + rest + [table]) + "\n)"
        return Case(module=wasmtime.wat2wasm(text),
                    plan=HostPlan(tuple(self.host_tags), tuple(self.host_funcs)),
                    invocations=tuple(self.invocations))

    def args(self, types: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(literal(self.rng, t) for t in types)

    def add_sig(self, k: int, sig: Sig) -> None:
        f = self.fields
        f.append(f"(type $s{k} (func {sig.wat()}))")
        params = Sig(sig.params, ()).wat()
        f.append(f"(tag $t{k} (export \"t{k}\") {params})")
        f.append(f"(import \"host\" \"tag{k}\" (tag $ht{k} {params}))")
        self.host_tags.append(TagDef(f"tag{k}", sig.params))
        every_arg = tuple(f"arg:{i}" for i in range(len(sig.params)))
        returns = self.args(sig.results)
        for name, action in (("host_ret", Log()), ("host_throw", Throw(f"host:tag{k}", every_arg)),
                             ("host_trap", HostError()), ("log", Log())):
            self.host_funcs.append(HostFunc(f"{name}{k}", sig.params, sig.results, action, returns))
            f.append(f"(import \"host\" \"{name}{k}\" (func ${name}{k} (type $s{k})))")
        self.add_callees(k, sig)
        for callee in WASM_CALLEES:
            self.invocations.append(Invoke(f"{callee}{k}", self.args(sig.params)))
        for callee, via in product(WASM_CALLEES + HOST_CALLEES, VIAS):
            shapes = ("same", "small", "large") if via.startswith("return_") else ("same",)
            for shape in shapes:
                mid = self.add_mid(k, sig, callee, via, shape)
                self.add_exports(k, sig, callee, mid, shape)

    def add_callees(self, k: int, sig: Sig) -> None:
        get_all = " ".join(f"local.get {i}" for i in range(len(sig.params)))
        fold = []
        for i, t in enumerate(sig.params):
            fold += ["global.get $acc", "i64.const 31", "i64.mul", f"local.get {i}", *_to_i64(t),
                     "i64.add", "global.set $acc"]
        results = []
        for j, t in enumerate(sig.results):
            if sig.params:
                i = (j + 1) % len(sig.params)
                results += [f"local.get {i}", *convert(sig.params[i], t)]
            else:
                results += [f"i64.const {self.rng.getrandbits(63)}", *_from_i64(t)]
        bodies = {"ret": fold + results, "throw": [get_all, f"throw $t{k}"],
                  "trap": fold + ["unreachable"]}
        for callee, body in bodies.items():
            self.fields.append(f"(func ${callee}{k} (export \"{callee}{k}\") (type $s{k})\n  "
                               + "\n  ".join(i for i in body if i) + ")")
        for callee in WASM_CALLEES + HOST_CALLEES:
            self.table_index[callee] = len(self.table)
            self.table.append(f"${callee}{k}")

    def add_mid(self, k: int, sig: Sig, callee: str, via: str, shape: str) -> str:
        """The function that reaches ``callee`` by ``via``; its parameters are the
        callee's (``same``), one ``i64`` (``small``) or :data:`LARGE`."""
        name = f"$mid{k}_{callee}_{via}_{shape}"
        if shape == "same":
            params, args = sig.params, [f"local.get {i}" for i in range(len(sig.params))]
        elif shape == "small":
            params = ("i64",)
            args = []
            for j, t in enumerate(sig.params):
                args += ["local.get 0", f"i64.const {j}", "i64.rotl", *_from_i64(t)]
        else:
            params = LARGE
            args = []
            for j, t in enumerate(sig.params):
                i = (j * 7) % len(LARGE)
                args += [f"local.get {i}", *convert(LARGE[i], t)]
        target = f"${callee}{k}"
        if via.endswith("_indirect"):
            call = [f"i32.const {self.table_index[callee]}", f"{via} $tab (type $s{k})"]
        else:
            call = [f"{via} {target}"]
        mid_sig = Sig(params, sig.results)
        self.fields.append(f"(func {name} {mid_sig.wat()}\n  " + "\n  ".join(args + call) + ")")
        return name

    def add_exports(self, k: int, sig: Sig, callee: str, mid: str, shape: str) -> None:
        """Exports calling ``mid`` that let what it throws escape, and -- when the callee
        throws -- that catch it and log the payload through the host."""
        params = {"same": sig.params, "small": ("i64",), "large": LARGE}[shape]
        get_all = " ".join(f"local.get {i}" for i in range(len(params)))
        escape = f"{mid[1:]}_escape"
        self.fields.append(f"(func (export \"{escape}\") {Sig(params, sig.results).wat()}\n"
                           f"  {get_all} call {mid})")
        self.invocations.append(Invoke(escape, self.args(params)))
        if "throw" not in callee:
            return
        tag = f"$t{k}" if callee == "throw" else f"$ht{k}"
        caught = f"{mid[1:]}_caught"
        payload = f"(result {' '.join(sig.params)})" if sig.params else ""
        results = f"(result {' '.join(sig.results)})" if sig.results else ""
        self.fields.append(
            f"(func (export \"{caught}\") {Sig(params, sig.results).wat()}\n"
            f"  (block $h {payload}\n"
            f"    (try_table {results} (catch {tag} $h)\n"
            f"      {get_all} call {mid})\n"
            f"    return)\n"
            f"  call $log{k})")
        self.invocations.append(Invoke(caught, self.args(params)))


def cases(sigs: list[Sig], per_module: int = 6, opt_level: int = 0) -> list[Case]:
    """The sweep's cases for ``sigs``: ``per_module`` signatures to a module, run at
    ``opt_level``."""
    out = []
    for start in range(0, len(sigs), per_module):
        case = _Module(sigs[start:start + per_module], start).build()
        out.append(Case(case.module, case.plan, case.invocations, RunConfig(opt_level=opt_level, timeout=120),
                        note=f"calling-convention sweep, signatures {start}-{start + per_module - 1}"))
    return out


def main(argv: list[str] | None = None) -> int:
    from oracles.differential import TARGETS, check, check_targets
    parser = argparse.ArgumentParser(prog="python -m generators.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dense", action="store_true", help="every pair of counts (default: the CI grid)")
    parser.add_argument("-O", dest="levels", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--target", choices=[*TARGETS, "all"],
                        help="run exnfuzz's code for this target (aarch64 and s390x under qemu-user) "
                             "or for all three, each against one wasmtime run (default: in process)")
    args = parser.parse_args(argv)
    sigs = dense_grid() if args.dense else ci_grid()
    targets = TARGETS if args.target == "all" else (args.target,) if args.target else ()
    failed = 0
    for level in args.levels:
        start = time.perf_counter()
        verdicts: dict[str, dict[str, int]] = {}
        seconds: dict[str, float] = {}
        level_cases = cases(sigs, opt_level=level)
        for case in level_cases:
            for result in check_targets(case, targets) if targets else [check(case)]:
                counts = verdicts.setdefault(result.name, {})
                counts[result.verdict.kind] = counts.get(result.verdict.kind, 0) + 1
                seconds[result.name] = seconds.get(result.name, 0.0) + result.seconds[0]
                if result.verdict.kind != "agree":
                    failed += 1
                    print(f"-O{level} {result.name} {case.note}: {result.verdict}", flush=True)
        calls = sum(len(c.invocations) for c in level_cases)
        for name, counts in verdicts.items():
            where = f" {name} ({seconds[name]:.1f} s)" if targets else ""
            print(f"-O{level}{where}: {len(sigs)} signatures, {len(level_cases)} modules, {calls} calls: "
                  f"{counts} in {time.perf_counter() - start:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
