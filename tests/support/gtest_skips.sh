#!/usr/bin/env bash
# Runs one test binary for ctest (tests/CMakeLists.txt): its output passes through unchanged; a run
# that passed but skipped tests (GoogleTest's "[  SKIPPED ]", only with ORCH_TEST_ALLOW_SKIP=1:
# tests/support/require.hpp) exits 77, which ctest reports as skipped, not passed. A failure keeps
# its own exit code, so a skip never hides one.
set -o pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" 2>&1 | tee "$out"
code=$?
if [ "$code" -eq 0 ] && grep -q '^\[  SKIPPED \]' "$out"; then exit 77; fi
exit "$code"
