#!/usr/bin/env bash
# Installs everything orch needs to build and test, from Debian 12 packages (and npm for the MCP
# and WebSocket test clients). Idempotent; run as root (or with sudo).
#   scripts/install-deps.sh           everything: build + test fixtures
#   scripts/install-deps.sh --build   only what building orch needs
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
BUILD_PKGS=(cmake g++ make pkg-config git
  libcli11-dev libcpp-httplib-dev nlohmann-json3-dev libhiredis-dev libgit2-dev libspdlog-dev libfmt-dev
  libssl-dev libcurl4-openssl-dev libyaml-cpp-dev libgtest-dev libgmock-dev)
# clang-15 and libfuzzer-15-dev: the libFuzzer harnesses (scripts/fuzz.sh).
# gcovr: scripts/coverage.sh (not run by CI).
TEST_PKGS=(redis-server docker.io docker-compose busybox-static curl wrk man-db chromium tmux iproute2 dpkg-dev file clang-format clang-15 libfuzzer-15-dev gcovr)
WANT=("${BUILD_PKGS[@]}")
if [ "${1:-}" != "--build" ]; then
  WANT+=("${TEST_PKGS[@]}")
  # Node.js for the MCP and WebSocket test clients; a machine may already have its own build
  # (which bundles npm and conflicts with Debian's npm package).
  command -v npm >/dev/null 2>&1 || WANT+=(nodejs npm)
fi
missing=()
for p in "${WANT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
