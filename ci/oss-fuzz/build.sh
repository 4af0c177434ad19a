#!/bin/bash -eu
# Build the atheris fuzz targets for OSS-Fuzz (or ClusterFuzzLite, or
# ci/oss-fuzz/local_build.py): install the project, package every target with
# compile_python_fuzzer (PyInstaller, one file each), and ship each target's seed
# corpus, dictionary and libFuzzer options beside it.
cd "$SRC/exnfuzz"
pip3 install .

# wasmtime loads _libwasmtime.so by path at run time; its name does not start with
# "lib", so PyInstaller's search for a package's shared libraries misses it.
wasmtime_lib=$(python3 -c "import os, wasmtime; d = os.path.dirname(wasmtime.__file__); \
  print(next(os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs if f.startswith('_libwasmtime')))")
wasmtime_dir=wasmtime/$(basename "$(dirname "$wasmtime_lib")")

for target in exceptions decode; do
  # fuzz_targets is not an installed package: PyInstaller finds it on --paths.
  # llvmlite loads LLVM by path too; its package is collected whole.
  compile_python_fuzzer "fuzz_targets/$target.py" --paths "$SRC/exnfuzz" \
    --collect-all llvmlite --collect-all wasmtime --add-binary "$wasmtime_lib:$wasmtime_dir" \
    --collect-submodules engine --collect-submodules oracles --collect-submodules generators
  if [ -d "corpus/$target" ]; then
    (cd "corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  fi
  cp "ci/oss-fuzz/$target.options" "$OUT/"
  if [ -f "ci/oss-fuzz/$target.dict" ]; then
    cp "ci/oss-fuzz/$target.dict" "$OUT/"
  fi
done
