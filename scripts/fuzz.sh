#!/usr/bin/env bash
# Fuzzes orch's parsers of outside input (docs/reliability.md, "Fuzzing"): builds liborch and the
# libFuzzer harnesses of tests/fuzz in build-fuzz/ (clang-15, ASan+UBSan), then runs
# every harness for SECONDS (default 30) on a copy of its seeds (tests/fuzz/corpus/<harness>/) and
# its regression inputs (tests/fuzz/regressions/<harness>/), one per core at a time (ORCH_FUZZ_JOBS). Prints per
# harness: execs, exec/s, coverage (cov: edges) and features (ft:). Fails when any harness finds a
# crash, leak, timeout or broken invariant; the input is kept in the artifacts folder it names
# (default build-fuzz/artifacts/<harness>/): once fixed, add it to tests/fuzz/regressions/<harness>/.
# What the runs add to the corpus stays in build-fuzz/corpus/ (not committed).
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]     e.g. scripts/fuzz.sh 600 http mcp
#        scripts/fuzz.sh --build-only                 (the build alone: CI overlaps it with the suite)
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=0
if [ "${1:-}" = "--build-only" ]; then build_only=1; shift; fi
seconds="${1:-30}"
[ $# -gt 0 ] && shift
BUILD="${ORCH_FUZZ_BUILD:-build-fuzz}"
ARTIFACTS="${ORCH_FUZZ_ARTIFACTS:-$BUILD/artifacts}"

command -v clang++-15 >/dev/null 2>&1 || scripts/install-deps.sh
start=$(date +%s)
# -O1 and line tables only: the usual for fuzzing, and quicker to build than -O2 -g; assertions
# stay on (no NDEBUG: nlohmann's catch misuse).
cmake -S . -B "$BUILD" -DORCH_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-15 -DCMAKE_BUILD_TYPE=Fuzz \
  -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >"$BUILD/build.log" 2>&1 || { tail -50 "$BUILD/build.log" >&2; exit 1; }
echo "fuzz build: $(( $(date +%s) - start )) s"
[ "$build_only" = 1 ] && exit 0

harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in tests/fuzz/*_fuzz.cpp; do harnesses+=("$(basename "$f" _fuzz.cpp)"); done
fi
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-15 || command -v llvm-symbolizer || true)}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TMPDIR="${TMPDIR:-/tmp}"
# One harness per core at a time (each libFuzzer run is one process): CI's fuzz step takes half as
# long. Each writes its table line to its own file; they are printed in the harnesses' order.
jobs="${ORCH_FUZZ_JOBS:-$(nproc)}"
results=$(mktemp -d)
run_harness() {
  local h=$1
  local bin="$BUILD/tests/fuzz/${h}_fuzz"
  local corpus="$BUILD/corpus/$h"
  mkdir -p "$corpus" "$ARTIFACTS/$h" tests/fuzz/regressions/"$h"
  cp -n tests/fuzz/corpus/"$h"/* "$corpus"/ 2>/dev/null || true
  local dict=()
  [ -f tests/fuzz/"$h".dict ] && dict=(-dict=tests/fuzz/"$h".dict)
  local log="$BUILD/fuzz-$h.log"
  local rc=0
  # -timeout: one input taking this long is a hang (the HTTP harness waits up to 30 s itself).
  "$bin" "$corpus" tests/fuzz/regressions/"$h" "${dict[@]}" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2560 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$h/" >"$log" 2>&1 || rc=$?
  local execs rate cov ft result=ok
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  if [ "$rc" -ne 0 ]; then
    result="FAILED (rc $rc): $(grep -m1 -oE '(ERROR|==[0-9]+==ERROR|invariant broken|runtime error|deadly signal|Timeout|out-of-memory).*' "$log" | head -c 160); log $log; input in $ARTIFACTS/$h/"
    touch "$results/$h.failed"
  fi
  printf '%-12s %12s %9s %8s %8s  %s\n' "$h" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result" >"$results/$h.line"
}
running=0
for h in "${harnesses[@]}"; do
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
  run_harness "$h" &
  running=$((running + 1))
done
wait
failed=()
printf '%-12s %12s %9s %8s %8s  %s\n' harness execs exec/s cov ft result
for h in "${harnesses[@]}"; do
  cat "$results/$h.line"
  [ -e "$results/$h.failed" ] && failed+=("$h")
done
rm -rf "$results"
echo "fuzzing: ${#harnesses[@]} harnesses, ${seconds} s each, $(( $(date +%s) - start )) s in all"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
