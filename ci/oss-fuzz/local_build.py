"""Build and run the fuzzers the way OSS-Fuzz does, on this machine.

    python ci/oss-fuzz/local_build.py [--runs N] [--workdir DIR] [--keep]

Imitates OSS-Fuzz's ``base-builder-python`` image: ``$SRC`` (a copy of the checkout
at ``$SRC/exnfuzz`` and ``build.sh`` beside it, as ``ci/oss-fuzz/Dockerfile`` lays
them out), ``$OUT``, ``$WORK``, ``$SANITIZER``, a virtual environment for ``pip3`` and
``pyinstaller``, and a ``compile_python_fuzzer`` that packages a target as OSS-Fuzz's
does: PyInstaller ``--onefile`` into ``$OUT/<target>.pkg``, the package's executable
bit cleared, and a wrapper script ``$OUT/<target>`` that sets it and runs it.  Left
out is what only the OSS-Fuzz image has: the sanitizer runtime the wrapper preloads
(``sanitizer_with_fuzzer.so``), the symbolizer, and the coverage and introspector
modes.  Then it runs ``build.sh``, and each packaged fuzzer for ``--runs`` inputs with
its ``.options``, and the same target unpackaged, and prints both rates.
"""
from __future__ import annotations

import argparse
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("exceptions", "decode")

COMPILE_PYTHON_FUZZER = """#!/bin/bash -eu
# compile_python_fuzzer as OSS-Fuzz's base-builder-python has it, without the
# coverage and introspector modes and the sanitizer preload.
fuzzer_path=$1
shift 1
fuzzer_basename=$(basename -s .py "$fuzzer_path")
fuzzer_package=${fuzzer_basename}.pkg
work=$WORK/pyfuzzworkdir/$fuzzer_basename
rm -rf "$work" && mkdir -p "$work"
pyinstaller --noconfirm --log-level WARN --distpath "$OUT" --workpath "$work" --specpath "$work" \\
  --onefile --name "$fuzzer_package" "$@" "$fuzzer_path"
chmod -x "$OUT/$fuzzer_package"
cat > "$OUT/$fuzzer_basename" <<EOF
#!/bin/sh
# LLVMFuzzerTestOneInput for fuzzer detection.
this_dir=\\$(dirname "\\$0")
chmod +x "\\$this_dir/$fuzzer_package"
"\\$this_dir/$fuzzer_package" "\\$@"
EOF
chmod +x "$OUT/$fuzzer_basename"
"""


def copy_checkout(destination: Path) -> None:
    """The files git tracks (as a fresh clone has them), or the whole tree."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    files = [f for f in listed.stdout.decode().split("\0") if f] if listed.returncode == 0 else []
    if not files:
        shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(".git", "runs", "__pycache__"))
        return
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)


def environment(work: Path) -> dict[str, str]:
    """``$SRC``, ``$OUT``, ``$WORK``, and a virtual environment (seeing this Python's
    packages, so nothing big is downloaded) with PyInstaller, first on ``PATH``."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    subprocess.run([venv / "bin" / "pip", "install", "-q", "pyinstaller"], check=True)
    bin_dir = work / "bin"
    bin_dir.mkdir()
    script = bin_dir / "compile_python_fuzzer"
    script.write_text(COMPILE_PYTHON_FUZZER)
    script.chmod(0o755)
    env = dict(os.environ, SRC=str(work / "src"), OUT=str(work / "out"), WORK=str(work / "work"),
               SANITIZER="address", PATH=f"{bin_dir}:{venv / 'bin'}:{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)
    for name in ("src", "out", "work"):
        (work / name).mkdir()
    return env


def options(out: Path, target: str) -> list[str]:
    """The libFuzzer flags of ``<target>.options`` (a dictionary named there is in
    ``$OUT``, as ClusterFuzz resolves it)."""
    parser = configparser.ConfigParser()
    parser.read(out / f"{target}.options")
    if not parser.has_section("libfuzzer"):
        return []
    return [f"-{key}={out / value if key == 'dict' else value}" for key, value in parser["libfuzzer"].items()]


def run_fuzzer(command: list[str], runs: int, flags: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run ``command`` for ``runs`` inputs from an empty corpus; inputs per second of
    wall time, start-up included (a packaged target unpacks itself first)."""
    corpus = cwd / f"corpus-{time.monotonic_ns()}"
    corpus.mkdir()
    start = time.monotonic()
    proc = subprocess.run([*command, *flags, f"-runs={runs}", "-seed=1", str(corpus)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=1800)
    elapsed = time.monotonic() - start
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 or not re.search(r"Done \d+ runs", log):
        raise RuntimeError(f"{' '.join(command)} failed with {proc.returncode}:\n{log[-3000:]}")
    return runs / elapsed, log


def done(log: str) -> str:
    """libFuzzer's own count of a run (``Done N runs in S second(s)``: fuzzing time,
    without the process's start-up)."""
    match = re.search(r"Done (\d+) runs in (\d+) second", log)
    return f"{match.group(1)} runs in {match.group(2)} s" if match else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python ci/oss-fuzz/local_build.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="inputs per fuzzer (default 300)")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="exnfuzz-oss-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        env = environment(work)
        src, out = Path(env["SRC"]), Path(env["OUT"])
        copy_checkout(src / "exnfuzz")
        shutil.copy2(ROOT / "ci" / "oss-fuzz" / "build.sh", src / "build.sh")
        start = time.monotonic()
        subprocess.run(["bash", "-eu", str(src / "build.sh")], cwd=src, env=env, check=True)
        print(f"build.sh: {time.monotonic() - start:.0f} s; $OUT holds {sorted(p.name for p in out.iterdir())}")
        print(f"{'target':<12} {'packaged inputs/s':>18} {'script inputs/s':>16}   (wall time, start-up included)")
        for target in TARGETS:
            flags = options(out, target)
            packaged, log = run_fuzzer([str(out / target)], args.runs, flags, work, env)
            script, script_log = run_fuzzer([sys.executable, str(ROOT / "fuzz_targets" / f"{target}.py")], args.runs,
                                            flags, work, dict(os.environ))
            print(f"{target:<12} {packaged:>18.1f} {script:>16.1f}   libFuzzer: "
                  f"{done(log)} packaged, {done(script_log)} as a script", flush=True)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
