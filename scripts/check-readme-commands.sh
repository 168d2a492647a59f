#!/usr/bin/env bash
# Runs the README's two set-up commands in order, in this checkout, as a new user would (CI runs
# this in a fresh clone): the first must build orch and start `orch serve` on the embedded
# defaults (checked by GET /healthz on 127.0.0.1:9000, then stopped); the second must then build
# and pass the whole suite. It once ran no test at all when run after the first: both are checked
# together so that cannot come back.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t commands < <(awk '/^## Set-up/{on=1; next} /^## /{on=0} on && /^    [^ ]/{sub(/^    /, ""); print}' README.md)
if [ "${#commands[@]}" -ne 2 ]; then
  echo "README.md: expected exactly two set-up commands, found ${#commands[@]}" >&2
  exit 1
fi
log=$(mktemp)
echo "== README command 1 (at ${SECONDS} s): ${commands[0]}"
setsid bash -c "${commands[0]}" >"$log" 2>&1 &
pid=$!
stop_first() { kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop_first EXIT
up=0
for _ in $(seq 1 1800); do  # the build comes first: up to 30 minutes
  if curl -fsS -o /dev/null http://127.0.0.1:9000/healthz 2>/dev/null; then up=1; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 1
done
if [ "$up" -ne 1 ]; then
  echo "README command 1 did not bring up orch serve on 127.0.0.1:9000:" >&2
  tail -50 "$log" >&2
  exit 1
fi
echo "orch serve answered /healthz on 127.0.0.1:9000 (at ${SECONDS} s)"
stop_first
trap - EXIT
echo "== README command 2 (at ${SECONDS} s): ${commands[1]}"
bash -c "${commands[1]}"
echo "== README command 2 passed (at ${SECONDS} s)"
