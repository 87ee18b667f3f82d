#!/usr/bin/env bash
# Adds up the counters of every TRX file under a folder and prints "N passed, N failed" as the last
# line. Exits non-zero when a test failed or errored, or when no test ran at all.
set -euo pipefail

dir="${1:?usage: test-summary.sh RESULTS_DIR}"
passed=0 failed=0 skipped=0 files=0

shopt -s nullglob globstar
for trx in "$dir"/**/*.trx; do
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" || true)
  value() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(value passed)))
  # An error (a crashed test host, a failing fixture) counts as a failure.
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
  total=$(value total); executed=$(value executed)
  skipped=$((skipped + total - executed))
done

if [[ $files -eq 0 ]]; then
  echo "no test results found in $dir" >&2
fi

# The last line is exactly "N passed, N failed", which CI reads; skipped tests are counted above it.
if [[ $skipped -gt 0 ]]; then
  echo "$skipped skipped (each says why in the log above)"
fi
echo "$passed passed, $failed failed"

[[ $files -gt 0 && $failed -eq 0 && $passed -gt 0 ]]
