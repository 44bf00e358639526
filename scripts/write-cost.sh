#!/usr/bin/env bash
# What writing a render costs against copying the same tree: `clusterdef render` of a
# 10,000-machine cluster into a fresh directory (parse, check, render and write, end to end),
# and `cp -r` of the resulting tree onto the same file system, side by side in paired runs.
# Prints the median of each and their ratio. Works in a scratch directory (TMPDIR); writes
# nothing into the repository. MACHINES and RUNS change the size and the number of pairs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="${TMPDIR:-/tmp}/clusterdef-write-cost"
machines="${MACHINES:-10000}"
runs="${RUNS:-8}"
rm -rf "$work"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

cargo build --release --quiet --locked -p clusterdef-cli
cargo run --release --quiet --locked -p clusterdef-syntax --example synthetic -- "$machines" 100 > "$work/big.cluster"
clusterdef="$CARGO_TARGET_DIR/release/clusterdef"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: > "$work/render.ms"
: > "$work/copy.ms"
# The tree cp copies: the same render, made once.
"$clusterdef" render "$work/big.cluster" --out "$work/source" > /dev/null
time_render() {
    rm -rf "$work/out"; sync
    local t0; t0=$(now)
    "$clusterdef" render "$work/big.cluster" --out "$work/out" > /dev/null
    echo $(( ($(now) - t0) / 1000000 )) >> "$work/render.ms"
}
time_copy() {
    rm -rf "$work/copy"; sync
    local t0; t0=$(now)
    cp -r "$work/source" "$work/copy"
    echo $(( ($(now) - t0) / 1000000 )) >> "$work/copy.ms"
}
# Pairs in alternating order, each step from a flushed file system, so neither pays for the
# other's write-back.
for i in $(seq "$runs"); do
    if [ $((i % 2)) -eq 1 ]; then time_render; time_copy; else time_copy; time_render; fi
done
files=$(find "$work/out" -type f | wc -l)
bytes=$(du -sb "$work/out" | cut -f1)
render=$(median < "$work/render.ms")
copy=$(median < "$work/copy.ms")
echo "render of $machines machines into a fresh directory: $files files, $bytes bytes"
echo "  clusterdef render: median ${render} ms of $runs ($(sort -n "$work/render.ms" | tr '\n' ' '))"
echo "  cp -r:             median ${copy} ms of $runs ($(sort -n "$work/copy.ms" | tr '\n' ' '))"
awk -v r="$render" -v c="$copy" 'BEGIN { printf "  ratio render / cp -r: %.2f\n", r / c }'
rm -rf "$work"
