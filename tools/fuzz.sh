#!/usr/bin/env bash
# Builds every *_fuzz.cpp as a libFuzzer target (clang 14, ASan+UBSan) and runs each for a short
# time from its committed seed corpus (fuzz/corpus/<target>/), with its dictionary when present.
# New interesting inputs go to build/fuzz/corpus-new/<target>/, not into the committed corpus.
#   tools/fuzz.sh [--seconds N] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done

build=build/fuzz
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 -DSOV_FUZZ=ON -DSOV_TESTS=OFF >/dev/null
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(find src -name '*_fuzz.cpp' -printf '%f\n' | sed 's/\.cpp$//' | sort)
fi
# The whole binary is built here too: it proves every module compiles with clang 14 (the other
# builds use GCC 12).
ninja -C "$build" "${targets[@]}" sovereign
for t in "${targets[@]}"; do
    echo "-- fuzz $t for ${seconds}s"
    new="$build/corpus-new/$t"
    mkdir -p "$new"
    dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
    bin=$(find "$build" -type f -name "$t" -perm -u+x | head -n1)
    # A fixed seed and a run cap make the run repeatable on the same binary and corpus, so CI
    # does not turn red by chance; the time cap bounds slow targets.
    "$bin" "${dict[@]}" -seed=1 -runs="${SOV_FUZZ_RUNS:-5000}" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=0 "$new" "fuzz/corpus/$t" 2>"$build/$t.log" \
        || { tail -n 60 "$build/$t.log"; echo "fuzz: $t FAILED"; exit 1; }
done
echo "fuzz: ${#targets[@]} targets ran (seed 1, up to ${SOV_FUZZ_RUNS:-5000} runs or ${seconds}s each) without a finding"
