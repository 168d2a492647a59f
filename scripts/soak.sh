#!/usr/bin/env bash
# The soak (bench/soak, docs/reliability.md): `orch serve` on a real redis-server under 2,000
# signed webhooks a second with SSE viewers and an MCP client polling, for MINUTES (default 10),
# sampled every 10 s; then `orch mcp` over stdio for 50,000 tool calls. Exits non-zero when a
# figure (RSS, threads, fds, outbox depth) is not flat or a request failed.
# Usage: scripts/soak.sh [MINUTES]   (after a build with tests: build/bench/bench_soak; BUILD_DIR to change)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-10}"
bench="${BUILD_DIR:-build}/bench/bench_soak"
[ -x "$bench" ] || { echo "soak: $bench not built (cmake --build build --target bench_soak)" >&2; exit 1; }
status=0
"$bench" --minutes "$minutes" || status=1
"$bench" --mcp-stdio --calls 50000 || status=1
exit "$status"
