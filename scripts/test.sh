#!/usr/bin/env bash
# Runs the whole test suite and ends with one plain summary line:
#   "N passed, M failed, K skipped"
# (K counts skipped tests and skipped steps). Extra arguments go to `deno test`.
#
# Under CI (CI=true) a skipped test fails the run unless tests/ALLOWED_SKIPS.txt lists it with
# a reason: a missing prerequisite must never pass for a test that ran.
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
trap 'rm -f "$log"' EXIT
deno test --allow-all --parallel tests/ "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
passed=$(sed -n 's/^[a-zA-Z]* | \([0-9]*\) passed.*/\1/p' <<<"$summary")
failed=$(sed -n 's/.* | \([0-9]*\) failed.*/\1/p' <<<"$summary")
# One line per skipped test or step: "./FILE => NAME ... ignored (0ms)"
skipped_lines=$(grep -E ' \.\.\. ignored \([0-9.]+[a-zµ]*s\)$' "$log" | sed -E 's/ \.\.\. ignored \([^)]*\)$//')
skipped=$(grep -c . <<<"$skipped_lines")
[ -z "$skipped_lines" ] && skipped=0

if [ "${CI:-}" = "true" ] && [ "$skipped" -gt 0 ]; then
  allowed=tests/ALLOWED_SKIPS.txt
  unexpected=0
  while IFS= read -r line; do
    ok=0
    while IFS= read -r entry; do
      case "$entry" in '' | '#'*) continue ;; esac
      pattern=${entry%% -- *}
      reason=${entry#* -- }
      # an entry without a reason allows nothing
      if [ "$reason" != "$entry" ] && [ -n "$reason" ] && [[ "$line" == *"$pattern"* ]]; then
        ok=1
        break
      fi
    done <"$allowed"
    if [ "$ok" -eq 0 ]; then
      echo "unexpected skip under CI: $line"
      unexpected=$((unexpected + 1))
    fi
  done <<<"$skipped_lines"
  if [ "$unexpected" -gt 0 ]; then
    echo "$unexpected skipped test(s) are not in $allowed: install what they need, or list them with a reason"
    failed=$((${failed:-0} + unexpected))
    [ "$status" -eq 0 ] && status=1
  fi
fi

echo "${passed:-0} passed, ${failed:-0} failed, ${skipped} skipped"
exit "$status"
