#!/usr/bin/env bash
# Installs dependencies, builds orch and runs the whole test suite (real redis-server and dockerd
# are started and stopped by the tests themselves). Usage: scripts/test.sh [--sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build
# Tests on explicitly: the README's first command configures build/ without them, and a cached
# OFF must not turn this into a run of no tests.
CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DORCH_BUILD_TESTS=ON -DORCH_SANITIZE=OFF)
if [ "${1:-}" = "--sanitize" ]; then
  BUILD_DIR=build-asan
  CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Debug -DORCH_BUILD_TESTS=ON -DORCH_SANITIZE=ON)
fi
scripts/install-deps.sh
if [ -f tests/node/package.json ]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error)
fi
cmake -S . -B "$BUILD_DIR" "${CMAKE_ARGS[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
# --no-tests=error: a run that finds no test fails instead of passing.
cd "$BUILD_DIR" && ctest --output-on-failure --no-tests=error --timeout 900 -j"$(nproc)"
