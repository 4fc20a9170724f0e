#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time over a copy of its seed corpus (the
# committed seeds stay as they are; what the run adds is thrown away), prints how many
# inputs it executed, and exits non-zero on a finding (crash, sanitizer report, timeout,
# out-of-memory). The input that failed is kept as <target>-crash-<hash> (or -timeout-,
# -oom-) in $LSGEMM_FUZZ_ARTIFACTS, default the current directory; replay it with
# `<target> <file>`.
#
#   run_fuzz.sh <target binary> <seed corpus dir> [seconds=30] [extra libFuzzer flags...]
set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 <target binary> <seed corpus dir> [seconds] [libFuzzer flags...]" >&2
  exit 2
fi
target=$1
seeds=$2
seconds=${3:-30}
shift $(($# < 3 ? $# : 3))
artifacts=${LSGEMM_FUZZ_ARTIFACTS:-$PWD}
name=$(basename "$target")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
cp "$seeds"/* "$work/corpus/"

# Sanitizer reports go to stderr with a symbolized stack; UB aborts like a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# -timeout: one input taking this long is a finding (the targets bound their work to
# milliseconds). -rss_limit_mb: the targets allocate a few MB; more is a finding.
"$target" "$work/corpus" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "$@" >"$work/log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n1)
if [ "$rc" -ne 0 ]; then
  # The report: the log from the first sanitizer or harness line on (the progress lines
  # before it are noise), or its tail when there is no such line.
  report=$(awk '/ERROR|runtime error|lsgemm fuzz|deadly signal/ {p=1} p' "$work/log")
  if [ -n "$report" ]; then echo "$report" >&2; else tail -n 60 "$work/log" >&2; fi
  echo "$name: FINDING after ${execs:-?} executions (exit $rc); input kept in $artifacts/" >&2
  exit 1
fi
echo "$name: ${execs:-?} executions in ${seconds}s (${speed:-?}/s), corpus $(ls "$work/corpus" | wc -l) inputs, no finding"
