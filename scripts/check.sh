#!/usr/bin/env bash
# The README's check command (and CI's): installs what is missing, then builds and runs the whole
# ctest suite twice, normally and with ASan+UBSan, and fails on any test failure or sanitizer
# report. Prints how long each stage took.
set -euo pipefail
# ccache may reuse objects built with precompiled headers only with this sloppiness.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${OPSDECK_JOBS:-2}"
start_all=$(date +%s)
declare -a stages=()

print_stages() {
    echo
    echo "Stage times:"
    printf '  %s\n' "${stages[@]}"
    echo "  total                        $(( $(date +%s) - start_all ))s"
}
trap print_stages EXIT

stage() { # stage NAME COMMAND...
    local name="$1"; shift
    local t0; t0=$(date +%s)
    echo "==> $name" >&2
    "$@"
    local dt=$(( $(date +%s) - t0 ))
    stages+=("$(printf '%-28s %5ss' "$name" "$dt")")
    echo "<== $name: ${dt}s" >&2
}

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

configure() { # configure DIR EXTRA...
    local dir="$1"; shift
    cmake -S "$root" -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
}

run_ctest() { # run_ctest DIR LOG
    local dir="$1" log="$2"
    set +e
    (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 300) 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
}

stage "install packages" bash "$root/scripts/deps.sh"
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

normal="$root/build/check"
stage "configure (normal)" configure "$normal" -DCMAKE_BUILD_TYPE=RelWithDebInfo
stage "build (normal)" cmake --build "$normal" -- -j"$jobs"
stage "ctest (normal)" run_ctest "$normal" "$normal/ctest.log"

asan="$root/build/asan"
stage "configure (asan+ubsan)" configure "$asan" -DCMAKE_BUILD_TYPE=Debug -DOPSDECK_SANITIZE=ON
stage "build (asan+ubsan)" cmake --build "$asan" -- -j"$jobs"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/ubsan.supp"
export OPSDECK_TIME_FACTOR="${OPSDECK_TIME_FACTOR:-3}"
stage "ctest (asan+ubsan)" run_ctest "$asan" "$asan/ctest.log"

if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer" \
    "$asan/ctest.log" >/dev/null; then
    echo "check: sanitizer report found in $asan/ctest.log" >&2
    exit 1
fi
