#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: unit tests of the model and the DSL, the
# compile-pass/compile-fail cases of `cluster!`, the doc tests, the rendered artifacts checked
# against real etcd, systemd-analyze, dnsmasq and a YAML 1.1 reader, and every example.
set -euo pipefail
cd "$(dirname "$0")/.."

# A build from scratch gains nothing from incremental compilation, which would keep gigabytes
# of its state beside the target directory's artifacts (the boot tests need that disk).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# One target directory for everything, trybuild's cases included (and etcd 3.5 beside them).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

# The real etcd 3.4 and 3.5, systemd-analyze, dnsmasq and YAML 1.1 reader the tests use.
bash scripts/install-test-deps.sh

cargo test --workspace --locked
# The growth tests time the algorithms over what a small file can make large (×10 and ×100),
# asserting no faster growth than n log n; a debug build's timings say little, so in release.
cargo test --release --locked -p clusterdef-model -p clusterdef-syntax -p clusterdef --features clusterdef/import \
    --test growth -- --ignored
for example in card small devtest production large_scale flatcar kubernetes change; do
    cargo run --quiet --locked -p clusterdef-examples --example "$example" >/dev/null
done
echo "examples: 8 passed, 0 failed"
