#!/usr/bin/env bash
# What clusterdef costs a user in `cargo build`, measured:
#   1. incremental rebuild of a crate holding the seed's production `cluster!`, against the same
#      crate holding the equivalent value written out by hand (the expansion clusterdef-build
#      generates), after touching the source; medians of several rebuilds, and their ratio;
#   2. cold build of the runtime crate with default features and with the macro off;
#   3. dependency weight: syn majors, duplicated crates, crate counts.
# Works in a scratch directory (TMPDIR); writes nothing into the repository.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="${TMPDIR:-/tmp}/clusterdef-compile-cost"
runs="${RUNS:-7}"
rm -rf "$work"
mkdir -p "$work"

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

make_crate() { # name, main.rs text
    mkdir -p "$work/$1/src"
    cp -r "$root/examples/units" "$work/$1/units"
    cat > "$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.1.0"
edition = "2024"

[dependencies]
clusterdef = { path = "$root/runtime" }

[workspace]
TOML
    printf '%s\n' "$2" > "$work/$1/src/main.rs"
}

body=$(sed '/^\/\//d' "$root/examples/cluster/production.cluster")
make_crate macro-user "static PRODUCTION: clusterdef::Cluster = clusterdef::cluster! {
$body
};

fn main() {
    println!(\"{}\", PRODUCTION.name);
}"
hand=$(python3 - "$root/clusterdef-build/tests/golden/production.rs" <<'PY'
import sys
text = open(sys.argv[1]).read()
start = text.index("pub static CLUSTER")
end = text.index("\n};\n", start) + 4
print(text[start:end].replace("pub static CLUSTER", "static PRODUCTION"))
PY
)
make_crate hand-user "$hand

fn main() {
    println!(\"{}\", PRODUCTION.name);
}"

export CARGO_TARGET_DIR="$work/target"
echo "== incremental rebuild after touching the crate that holds the cluster (median of $runs)"
for crate in macro-user hand-user; do
    (cd "$work/$crate" && cargo build -q)
    times=()
    for _ in $(seq "$runs"); do
        touch "$work/$crate/src/main.rs"
        t0=$(now); (cd "$work/$crate" && cargo build -q); t1=$(now)
        times+=("$(ms "$t0" "$t1")")
    done
    m=$(printf '%s\n' "${times[@]}" | median)
    echo "$crate: ${m} ms (runs: ${times[*]})"
    eval "median_${crate//-/_}=$m"
done
echo "ratio macro/hand-written: $(awk "BEGIN {printf \"%.2f\", $median_macro_user / $median_hand_user}") (budget 1.3)"

echo
echo "== cold build of the runtime crate (dev profile)"
for features in "" "--no-default-features"; do
    target="$work/cold${features:+-nomacro}"
    t0=$(now); (cd "$root" && CARGO_TARGET_DIR="$target" cargo build -q -p clusterdef $features --locked); t1=$(now)
    echo "clusterdef ${features:-(default features)}: $(ms "$t0" "$t1") ms"
done
echo
echo "== dependency weight"
syn_without_macro=$(cd "$root" && cargo tree -q -p clusterdef --no-default-features -e normal --prefix none | grep -c '^syn ' || true)
echo "syn in clusterdef without the macro feature: $syn_without_macro crate(s)"
echo "crates in clusterdef's graph: $(cd "$root" && cargo tree -q -p clusterdef -e normal,build --prefix none | sort -u | wc -l) with the macro, $(cd "$root" && cargo tree -q -p clusterdef --no-default-features -e normal,build --prefix none | sort -u | wc -l) without"
for major in syn@1 syn@2; do
    if (cd "$root" && cargo tree -q --workspace -e normal,build,dev -i "$major" >/dev/null 2>&1); then
        echo "$major: present"
    else
        echo "$major: absent"
    fi
done
echo "cargo tree -d (normal+build, every workspace member; one version built for both host and target is listed too):"
(cd "$root" && cargo tree -q --workspace -d -e normal,build --prefix none --depth 0 2>/dev/null | grep -v '^$' | sort -u) || true
