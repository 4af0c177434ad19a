"""The OSS-Fuzz build, imitated here (ci/oss-fuzz/local_build.py): build.sh packages
every target with PyInstaller, and each packaged fuzzer runs inputs from its options.
Slow (a few minutes: PyInstaller packages LLVM and wasmtime), but it runs in CI."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_packaged_fuzzers_build_and_run(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "ci" / "oss-fuzz" / "local_build.py"), "--runs", "60",
                           "--workdir", str(tmp_path / "work")], cwd=ROOT, capture_output=True, text=True,
                          timeout=2400)
    print(proc.stdout[-2000:])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "exceptions_seed_corpus.zip" in proc.stdout and "decode.dict" in proc.stdout
    rates = dict(re.findall(r"^(exceptions|decode)\s+([\d.]+)\s+[\d.]+ ", proc.stdout, re.M))
    assert set(rates) == {"exceptions", "decode"} and all(float(r) > 0 for r in rates.values())
