#!/usr/bin/env bash
# Checks that the C++ lines changed since BASE follow .clang-format (lib/ cmd/ tests/ bench/;
# the settings table is one row per line, between clang-format off/on).
# Only changed lines: the tree predates .clang-format and is not reformatted in one sweep, so
# each change brings the lines it touches into the style. Prints the diff clang-format wants and
# exits 1 when a changed line differs. Usage: scripts/format-check.sh [BASE]
# BASE: default $ORCH_FORMAT_BASE, else the merge-base with origin/main or main, else HEAD~1.
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:-${ORCH_FORMAT_BASE:-}}"
if [ -z "$base" ]; then
  for ref in origin/main main; do
    if git rev-parse -q --verify "$ref^{commit}" >/dev/null && [ "$(git rev-parse "$ref")" != "$(git rev-parse HEAD)" ]; then
      base=$(git merge-base HEAD "$ref")
      break
    fi
  done
fi
if [ -z "$base" ]; then
  base=$(git rev-parse -q --verify HEAD~1 || true)
fi
if [ -z "$base" ]; then
  echo "format-check: no base commit to compare with; nothing checked"
  exit 0
fi
command -v git-clang-format >/dev/null || { echo "format-check: git-clang-format not installed (apt-get install clang-format)" >&2; exit 1; }
# Files added or changed since BASE; a file only moved (git mv) keeps its old style until its next change.
mapfile -t files < <(git diff --name-only -M --diff-filter=AM "$base" -- lib cmd tests bench | grep -E '\.(cpp|hpp)$' || true)
if [ "${#files[@]}" -eq 0 ]; then
  echo "format-check: no C++ file changed since ${base:0:12}"
  exit 0
fi
out=$(git clang-format --diff --extensions cpp,hpp "$base" -- "${files[@]}" 2>&1 || true)
case "$out" in
  "" | *"no modified files to format"* | *"did not modify any files"*)
    echo "format-check: changed lines since ${base:0:12} follow .clang-format"
    exit 0 ;;
esac
echo "$out"
echo "format-check: the lines above differ from .clang-format; fix with: git clang-format $base" >&2
exit 1
