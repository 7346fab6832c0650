#!/usr/bin/env bash
# Runs the whole test suite and ends with one plain summary line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1
# What users run is what is tested: the command line tests run the built artifact, from
# $POSTIE_BIN when set (an installed postie), else built here into the git-ignored .build/.
# Built once: the test processes then all use that build, whatever changes meanwhile.
if [ -z "${POSTIE_BIN:-}" ]; then
  deno task --quiet build --prefix .build || exit 1
  export POSTIE_BIN="$PWD/.build/bin/postie"
fi
log=$(mktemp)
deno test --allow-all --parallel tests/ "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
passed=$(sed -n 's/.*| \([0-9]*\) passed.*/\1/p' <<<"$summary")
failed=$(sed -n 's/.*| \([0-9]*\) failed.*/\1/p' <<<"$summary")
rm -f "$log"
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
