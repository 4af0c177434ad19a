#!/bin/bash -eu
# The same build as OSS-Fuzz's: ci/oss-fuzz/build.sh.
exec "$SRC/exnfuzz/ci/oss-fuzz/build.sh"
