#!/usr/bin/env bash
# Installs dependencies, builds orch and runs the whole test suite (real redis-server and dockerd
# are started and stopped by the tests themselves). Usage: scripts/test.sh [--sanitize | --tsan]
#   --sanitize  ASan + UBSan, in build-asan/
#   --tsan      ThreadSanitizer, in build-tsan/: any report, from a test or from a process a test
#               started (orch serve, orch mcp, the stand-ins), fails the run (docs/reliability.md)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build
# Tests on explicitly: the README's first command configures build/ without them, and a cached
# OFF must not turn this into a run of no tests.
CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DORCH_BUILD_TESTS=ON -DORCH_SANITIZE=OFF -DORCH_TSAN=OFF)
TSAN=0
case "${1:-}" in
  --sanitize)
    BUILD_DIR=build-asan
    CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Debug -DORCH_BUILD_TESTS=ON -DORCH_SANITIZE=ON -DORCH_TSAN=OFF) ;;
  --tsan)
    # -O1 with debug info: TSan's own advice (stacks stay readable); the suite runs about as fast
    # as the plain build's, and the build is shorter than at -O2.
    TSAN=1
    BUILD_DIR=build-tsan
    CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DORCH_BUILD_TESTS=ON
                -DORCH_SANITIZE=OFF -DORCH_TSAN=ON) ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--sanitize | --tsan]" >&2; exit 64 ;;
esac
scripts/install-deps.sh
if [ -f tests/node/package.json ]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error)
fi
cmake -S . -B "$BUILD_DIR" "${CMAKE_ARGS[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "== install and build took ${SECONDS} s; the suite:"
cd "$BUILD_DIR"
if [ "$TSAN" = 1 ]; then
  # Every instrumented process inherits this: each report goes to reports/tsan.<pid> as it is
  # found, also from children that are killed or whose exit code no test looks at; a process with
  # a report exits 66. The folder must be empty at the end.
  REPORTS="$PWD/tsan-reports"
  rm -rf "$REPORTS" && mkdir -p "$REPORTS"
  export TSAN_OPTIONS="log_path=$REPORTS/tsan exitcode=66 second_deadlock_stack=1 history_size=4"
fi
# --no-tests=error: a run that finds no test fails instead of passing. One entry more than cores:
# the suite mostly waits on dockerd, Redis and timers (a third of two cores at -j3), so -j3 on CI's
# 2 cores took the suite from about 410 to 290 s; the swarm entries still run one at a time.
status=0
ctest --output-on-failure --no-tests=error --timeout 900 -j"${ORCH_TEST_JOBS:-$(( $(nproc) + 1 ))}" || status=$?
if [ "$TSAN" = 1 ] && [ -n "$(ls -A "$REPORTS")" ]; then
  for f in "$REPORTS"/*; do
    echo "=== ThreadSanitizer report $f"
    cat "$f"
  done
  echo "ThreadSanitizer: $(grep -h '^SUMMARY' "$REPORTS"/* | sort | uniq -c | wc -l) distinct reports in $(ls "$REPORTS" | wc -l) processes (above)" >&2
  status=1
fi
exit "$status"
