#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh [SECONDS] [NAME...]: builds the fuzzers in build-fuzz
# (clang, ASan+UBSan) and fuzzes each NAME (default: all) for SECONDS
# (default 300), one after the other, from its seeds and what earlier runs
# found.  New inputs go to build-fuzz/tests/fuzz/work/NAME, crashes to
# work/NAME-crash-*; see README.md for what to do with either.
set -u
cd "$(dirname "$0")/../.." || exit 1
seconds="${1:-300}"
[ $# -gt 0 ] && shift
names="${*:-config urlmap cfxml credproc jsonout creds state}"
bin=build-fuzz/tests/fuzz
work="$bin/work"

CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCFWATCH_FUZZ=ON -DCFWATCH_SANITIZE=ON >/dev/null || exit 1
cmake --build build-fuzz -j"$(nproc)" --target fuzzers || exit 1

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=""
for name in $names; do
  if [ ! -x "$bin/fuzz_$name" ]; then
    echo "run.sh: no fuzzer named $name" >&2
    exit 2
  fi
  mkdir -p "$work/$name"
  set -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$work/$name-"
  [ -f "tests/fuzz/$name.dict" ] && set -- "$@" -dict="tests/fuzz/$name.dict"
  # As in CMakeLists.txt: these need inputs past 4096 bytes.
  case "$name" in
  urlmap | cfxml) set -- "$@" -max_len=8192 ;;
  jsonout) set -- "$@" -max_len=12288 ;;
  esac
  echo "== $name: $seconds s"
  log="$work/$name.log"
  if ! "$bin/fuzz_$name" "$@" "$work/$name" "tests/fuzz/corpus/$name" \
    >"$log" 2>&1; then
    failed="$failed $name"
    tail -n 40 "$log"
  fi
  grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units' "$log"
done
if [ -n "$failed" ]; then
  echo "failed:$failed (inputs in $work)"
  exit 1
fi
echo "all passed"
