#!/bin/bash -eu
# Build the atheris fuzz targets for OSS-Fuzz (or ClusterFuzzLite, or
# ci/oss-fuzz/local_build.py): install the project, package every target with
# compile_python_fuzzer (PyInstaller, one file each), and ship each target's seed
# corpus, dictionary and libFuzzer options beside it.
cd "$SRC/exnfuzz"
pip3 install .

for target in exceptions decode; do
  # fuzz_targets is not an installed package: PyInstaller finds it on --paths.  The
  # native libraries of llvmlite (LLVM) and wasmtime are loaded by path at run time,
  # so their packages are collected whole.
  compile_python_fuzzer "fuzz_targets/$target.py" --paths "$SRC/exnfuzz" \
    --collect-all llvmlite --collect-all wasmtime --collect-submodules engine \
    --collect-submodules oracles --collect-submodules generators
  if [ -d "corpus/$target" ]; then
    (cd "corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  fi
  cp "ci/oss-fuzz/$target.options" "$OUT/"
  if [ -f "ci/oss-fuzz/$target.dict" ]; then
    cp "ci/oss-fuzz/$target.dict" "$OUT/"
  fi
done
