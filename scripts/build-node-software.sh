#!/usr/bin/env bash
# Builds the software a Kubernetes node runs besides the kubelet, for the real-node boot tests:
# containerd (with ctr and its runc shim) and runc at versions the declared Kubernetes release
# supports, the CNI plugins containerd runs, flanneld, flannel's CNI plugin and CoreDNS at the
# versions the rendered addons name, the pause program every pod sandbox runs, and the small HTTP
# server the tests run as every workload. All from the Go module proxy (and gcc for pause), into
# the target directory; Go's module and build caches make a second run fast. Nothing built here
# is ever committed.
#
#   scripts/build-node-software.sh [OUT]    (default target/node-software)
#
# Prints the directory holding the binaries (OUT/bin). Which release of each, and why, is in
# docs/rendering.md ("Proven on real nodes").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-${CARGO_TARGET_DIR:-$root/target}/node-software}
bin="$out/bin"
mkdir -p "$bin"
export GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" GOBIN="$bin"

# What each binary is built from; a stamp per line, so a changed line rebuilds only its own.
containerd=v2.3.7   # Kubernetes 1.36 supports containerd 2.2 and 2.3 (containerd's RELEASES.md)
runc=v1.5.3         # what containerd 2.3's CI runs (1.5.x), with seccomp (pods ask RuntimeDefault)
cni=v1.9.1          # bridge, loopback, host-local, portmap: containerd 2.3's own go.mod
flannel_cni=v0.9.1  # the flannel meta plugin, last published inside containernetworking/plugins
flannel=v0.26.1     # the rendered addon's flanneld (docker.io/flannel/flannel:v0.26.1)
coredns=v1.11.3     # the rendered addon's CoreDNS (registry.k8s.io/coredns/coredns:v1.11.3)

# runc's nsenter is cgo and links libseccomp: gcc, pkg-config and libseccomp's headers.
need=()
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -f /usr/include/seccomp.h ] || need+=(libseccomp-dev)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# build PRODUCT RECIPE COMMAND...: runs the command unless PRODUCT (a path under OUT) is there
# and its stamp holds the same recipe.
build() {
    local product=$1 recipe=$2
    shift 2
    local stamp="$out/.stamp-${product//\//-}"
    if [ -x "$out/$product" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$recipe" ]; then
        return 0
    fi
    "$@" >&2
    printf '%s' "$recipe" >"$stamp"
}

build bin/containerd "$containerd" env CGO_ENABLED=1 go install -trimpath -tags 'no_btrfs no_devmapper no_zfs no_aufs' \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$containerd" \
    "github.com/containerd/containerd/v2/cmd/containerd@$containerd" \
    "github.com/containerd/containerd/v2/cmd/ctr@$containerd"
build bin/containerd-shim-runc-v2 "$containerd" env CGO_ENABLED=0 go install -trimpath -tags no_grpc -ldflags '-s -w' \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$containerd"
build bin/runc "$runc" env CGO_ENABLED=1 go install -trimpath -tags seccomp -ldflags '-s -w' \
    "github.com/opencontainers/runc@$runc"
# The CNI plugins go to a directory of their own: containerd's bin_dirs and the kubelet's mount
# of /opt/cni/bin see exactly these.
mkdir -p "$out/cni"
build_cni() {
    GOBIN="$out/cni" CGO_ENABLED=0 go install -trimpath -ldflags '-s -w' "$@"
}
build cni/bridge "$cni" build_cni \
    "github.com/containernetworking/plugins/plugins/main/bridge@$cni" \
    "github.com/containernetworking/plugins/plugins/main/loopback@$cni" \
    "github.com/containernetworking/plugins/plugins/ipam/host-local@$cni" \
    "github.com/containernetworking/plugins/plugins/meta/portmap@$cni"
# flannel's CNI plugin builds a binary named `flannel` too: a directory of its own.
build flannel-cni/flannel "$flannel_cni" env GOBIN="$out/flannel-cni" CGO_ENABLED=0 go install -trimpath -ldflags '-s -w' \
    "github.com/containernetworking/plugins/plugins/meta/flannel@$flannel_cni"
# flanneld: the module's main package builds a binary named `flannel`; the image calls it
# /opt/bin/flanneld. Its UDP backend is cgo, so it links glibc (the image carries its libraries).
build bin/flannel "$flannel" env CGO_ENABLED=1 go install -trimpath \
    -ldflags "-s -w -X github.com/flannel-io/flannel/pkg/version.Version=$flannel" \
    "github.com/flannel-io/flannel@$flannel"
build bin/coredns "$coredns" env CGO_ENABLED=0 go install -trimpath -ldflags '-s -w' \
    "github.com/coredns/coredns@$coredns"

# pause and the workloads' server: the project's own small programs (tests/node-images/).
src="$root/examples/tests/node-images"
pause_recipe=$(sha256sum "$src/pause.c" | cut -c1-16)
build bin/pause "$pause_recipe" gcc -static -O2 -Wall -Werror -o "$bin/pause" "$src/pause.c"
server_recipe=$(cat "$src/server/go.mod" "$src/server/main.go" | sha256sum | cut -c1-16)
build_server() {
    (cd "$src/server" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$bin/server" .)
}
build bin/server "$server_recipe" build_server
echo "$bin"
