#!/usr/bin/env bash
# What writing a render costs against copying the same tree: `clusterdef render` of a
# 10,000-machine cluster into a fresh directory (parse, check, render and write, end to end),
# and `cp -r` of the resulting tree onto the same file system, side by side in paired runs;
# then, in the same runs, a render of the same declaration over its own unchanged render, and
# renders alternating between the declaration and one that changes 1% of the files (one pool
# of 100 machines) into one directory. Prints the median of each and the ratios. Works in a
# scratch directory (TMPDIR); writes nothing into the repository. MACHINES and RUNS change the
# size and the number of rounds.
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
# The same cluster with one pool's metadata changed: its 100 machines' configs change.
sed '0,/tier = t0/s//tier = t9/' "$work/big.cluster" > "$work/changed.cluster"
clusterdef="$CARGO_TARGET_DIR/release/clusterdef"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: > "$work/render.ms"
: > "$work/copy.ms"
: > "$work/same.ms"
: > "$work/change.ms"
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
time_same() {
    sync
    local t0; t0=$(now)
    "$clusterdef" render "$work/big.cluster" --out "$work/out" > /dev/null
    echo $(( ($(now) - t0) / 1000000 )) >> "$work/same.ms"
}
# Renders the other declaration than the one last rendered into `rerender`: 1% of the files.
flip=changed
time_change() {
    sync
    local t0; t0=$(now)
    "$clusterdef" render "$work/$flip.cluster" --out "$work/rerender" > /dev/null
    echo $(( ($(now) - t0) / 1000000 )) >> "$work/change.ms"
    if [ "$flip" = changed ]; then flip=big; else flip=changed; fi
}
"$clusterdef" render "$work/big.cluster" --out "$work/rerender" > /dev/null
# Pairs in alternating order, each step from a flushed file system, so neither pays for the
# other's write-back; each round also re-renders unchanged (over the fresh render just made)
# and with 1% changed.
for i in $(seq "$runs"); do
    if [ $((i % 2)) -eq 1 ]; then time_render; time_copy; else time_copy; time_render; fi
    time_same
    time_change
done
files=$(find "$work/out" -type f | wc -l)
bytes=$(du -sb "$work/out" | cut -f1)
render=$(median < "$work/render.ms")
copy=$(median < "$work/copy.ms")
echo "render of $machines machines into a fresh directory: $files files, $bytes bytes"
echo "  clusterdef render: median ${render} ms of $runs ($(sort -n "$work/render.ms" | tr '\n' ' '))"
echo "  cp -r:             median ${copy} ms of $runs ($(sort -n "$work/copy.ms" | tr '\n' ' '))"
awk -v r="$render" -v c="$copy" 'BEGIN { printf "  ratio render / cp -r: %.2f\n", r / c }'
same=$(median < "$work/same.ms")
change=$(median < "$work/change.ms")
echo "  re-render, nothing changed: median ${same} ms of $runs ($(sort -n "$work/same.ms" | tr '\n' ' '))"
echo "  re-render, 1% changed:      median ${change} ms of $runs ($(sort -n "$work/change.ms" | tr '\n' ' '))"
awk -v r="$render" -v s="$same" -v c="$change" 'BEGIN { printf "  ratio to the full render: unchanged %.2f, 1%% changed %.2f\n", s / r, c / r }'
rm -rf "$work"
