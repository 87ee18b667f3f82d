#!/usr/bin/env bash
# Runs one test project again and again, to chase a test that fails only now and then. Stops at the
# first failing run and prints each failed test's message, stack and output (the operator's and the
# agents' logs that the tests attach), read from that run's TRX file.
#
#   hack/test-loop.sh PROJECT [RUNS] [FILTER] [HOGS]
#
# PROJECT  a test project folder, such as tests/DePin.Operator.Tests
# RUNS     how many runs (default 20)
# FILTER   a `dotnet test --filter` expression, such as FullyQualifiedName~FailoverTests (default: all)
# HOGS     how many busy processes to run beside the tests, to load the machine (default 0; "all" is one per core)
#
# Each run's results go to artifacts/test-loop/run-N. The project is built once, before the first run.
set -euo pipefail

project="${1:?usage: test-loop.sh PROJECT [RUNS] [FILTER] [HOGS]}"
runs="${2:-20}"
filter="${3:-}"
hogs="${4:-0}"
dotnet="${DOTNET:-dotnet}"
configuration="${CONFIGURATION:-Debug}"
results="artifacts/test-loop"

[[ -d "$project" ]] || { echo "test-loop: no project folder $project" >&2; exit 2; }
[[ "$runs" =~ ^[0-9]+$ && "$runs" -gt 0 ]] || { echo "test-loop: RUNS must be a positive number, not '$runs'" >&2; exit 2; }
[[ "$hogs" == all ]] && hogs=$(nproc)
[[ "$hogs" =~ ^[0-9]+$ ]] || { echo "test-loop: HOGS must be a number or 'all', not '$hogs'" >&2; exit 2; }

pids=()
stop_hogs() {
  if [[ ${#pids[@]} -gt 0 ]]; then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop_hogs EXIT

"$dotnet" build "$project" -c "$configuration" -v quiet -nologo
rm -rf "$results"
mkdir -p "$results"

for ((i = 0; i < hogs; i++)); do
  # A busy loop in its own process: the shell spins without I/O until it is killed.
  bash -c 'while :; do :; done' &
  pids+=($!)
done
[[ $hogs -gt 0 ]] && echo "test-loop: $hogs busy processes load the machine during the runs"

arguments=(test "$project" --no-build -c "$configuration" --logger trx --logger "console;verbosity=minimal" --blame-hang-timeout 10m)
[[ -n "$filter" ]] && arguments+=(--filter "$filter")

for ((run = 1; run <= runs; run++)); do
  dir="$results/run-$run"
  started=$(date +%s)
  status=0
  "$dotnet" "${arguments[@]}" --results-directory "$dir" >"$dir.log" 2>&1 || status=$?
  # A run in which no test ran (a filter that matches nothing) fails too: test-summary.sh says so.
  counted=0
  summary=$(bash hack/test-summary.sh "$dir" 2>/dev/null) || counted=$?
  echo "test-loop: run $run of $runs: $(tail -n 1 <<<"${summary:-no results}") ($(($(date +%s) - started)) s)"
  if [[ $status -eq 0 && $counted -ne 0 ]]; then
    echo "test-loop: run $run ran no test, or its results are missing; check PROJECT and FILTER" >&2
    exit 1
  fi
  if [[ $status -ne 0 ]]; then
    echo "test-loop: run $run failed (exit $status); its console output is $dir.log" >&2
    shopt -s nullglob globstar
    for trx in "$dir"/**/*.trx; do
      node hack/trx-failures.js "$trx" >&2 || true
    done
    exit 1
  fi
done

echo "test-loop: $runs of $runs runs passed"
