#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kube-scheduler, and the node's kubelet,
# kube-proxy and kubectl, at one Kubernetes version from the Go module proxy, for the tests that
# run the real control plane and real nodes. No registry ships
# these binaries, and k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces every
# staging module with a directory), so a small module of our own requires it and replaces each
# staging module with the tag published for this version (v1.X.Y <-> v0.X.Y), read from the
# tag's own go.mod. Go's module and build caches make a second build fast.
#
#   scripts/build-control-plane.sh [VERSION] [OUT]    (default v1.36.3, target/control-plane/VERSION)
#
# Prints the directory holding the six binaries, all static. Nothing built here is ever committed.
set -euo pipefail
version=${1:-${CLUSTERDEF_KUBE_VERSION:-v1.36.3}}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-${CARGO_TARGET_DIR:-$root/target}/control-plane/$version}
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
# The stamp names the recipe: binaries built by an older one are built again.
stamp="$out/.built-$version-all-static"
all_built() {
    [ -f "$stamp" ] || return 1
    for c in "${components[@]}"; do [ -x "$out/$c" ] || return 1; done
}
if all_built; then
    echo "$out"
    exit 0
fi
case "$version" in v1.*.*) ;; *) echo "not a Kubernetes version: $version" >&2; exit 2 ;; esac
staging_version="v0.${version#v1.}"
src="$out/src"
mkdir -p "$src"
cd "$src"
export GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
gomod=$(go mod download -json "k8s.io/kubernetes@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
cat > go.mod <<MOD
module clusterdef.test/control-plane

go 1.26.0
MOD
{
    echo "replace ("
    # Each `k8s.io/X => ./staging/src/k8s.io/X` of the tag's go.mod, to the published tag.
    grep -E '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/' "$gomod" \
        | awk -v v="$staging_version" '{ print "\t" $1 " => " $1 " " v }'
    echo ")"
} >> go.mod
# The commands' packages, from the one list above: what tools.go names and what `go build` makes.
packages=("${components[@]/#/k8s.io/kubernetes/cmd/}")
{
    printf '//go:build tools\n\n// Package tools names the commands this module builds.\npackage tools\n\nimport (\n'
    printf '\t_ "%s"\n' "${packages[@]}"
    printf ')\n'
} > tools.go
go get "k8s.io/kubernetes@$version" >&2
go mod tidy >&2
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)"
# All six static, in one `go build` that links them side by side while it compiles the rest.
# Upstream builds the kubelet with cgo unless told otherwise (hack/lib/golang.sh's
# KUBE_STATIC_OVERRIDES=kubelet makes it static), but a second build with cgo compiles again
# nearly every package the kubelet imports (they reach `net`, whose files cgo selects): a
# release's cold build took 11 minutes with it and 4.6 without, on 2 cores. The
# kubelet needs no cgo here: Go's own resolver and user lookups read the node's files, and
# seccomp profiles are applied by the runtime (runc), not by the kubelet.
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/" "${packages[@]}" >&2
touch "$stamp"
echo "$out"
