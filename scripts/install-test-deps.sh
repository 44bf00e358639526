#!/usr/bin/env bash
# Installs the real software the test suite runs clusterdef's output against, when missing:
# etcd 3.4 (server and etcdctl, Debian's: the CoreOS path), etcd 3.5 (built from the Go module
# proxy at the release the rendered etcd-member drop-in pins: the Flatcar path), systemd-analyze,
# dnsmasq, openssl (test certificates for etcd's TLS), Ignition (Debian's, and upstream's newest
# validator), and PyYAML (a YAML 1.1 reader).
set -euo pipefail

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
command -v python3 >/dev/null || need+=(python3)
command -v openssl >/dev/null || need+=(openssl)
# rsync: the boot tests install each machine's PKI with the command docs/kubernetes.md gives.
command -v rsync >/dev/null || need+=(rsync)
# Debian's Ignition 2.14: the validator at /usr/bin/ignition-validate and the full binary.
[ -x /usr/bin/ignition-validate ] || need+=(ignition)
# libblkid's headers: upstream's full Ignition (built below) links it through cgo.
[ -f /usr/include/blkid/blkid.h ] || need+=(libblkid-dev)

if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if ! python3 -c 'import yaml' 2>/dev/null; then
    python3 -m pip install --quiet pyyaml || {
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-yaml
    }
fi

# kubernetes-validate (PyPI), the offline schema validator for the rendered manifests, into the
# target directory: target/test-engines/kubernetes-validate-1.37.0/.
kv="${CARGO_TARGET_DIR:-$PWD/target}/test-engines/kubernetes-validate-1.37.0"
if [ ! -x "$kv/bin/kubernetes-validate" ]; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        --target "$kv" kubernetes-validate==1.37.0
fi
PYTHONPATH="$kv" python3 -c 'import kubernetes_validate' 

# kube-apiserver, kube-controller-manager, kube-scheduler, the kubelet, kube-proxy and kubectl
# at the release the Kubernetes seed declares, built from the Go module proxy (Go's module and
# build caches make it fast after the first time). Go itself: the machine's, or Debian's with
# the toolchain the module asks for fetched through the proxy.
if ! command -v go >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends golang-go
fi
command -v curl >/dev/null || {
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends curl
}
# etcd 3.5 for the Flatcar tests, at the release the rendered drop-in pins
# (`quay.io/coreos/etcd:v3.5.16`), built from the Go module proxy by a module of the tests'
# (etcd's go.mod files have replace directives, so `go install …@v3.5.16` is refused) into
# target/test-engines/etcd-3.5.16/, never onto the system. Built aside, then moved: an
# interrupted build leaves nothing that looks installed.
etcd35="${CARGO_TARGET_DIR:-$PWD/target}/test-engines/etcd-3.5.16"
if [ ! -x "$etcd35/etcd" ] || [ ! -x "$etcd35/etcdctl" ]; then
    tmp=$(mktemp -d)
    (cd "$(dirname "$0")/../examples/tests/etcd" && export GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" CGO_ENABLED=0 &&
        go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3 &&
        go build -trimpath -ldflags "-s -w" -o "$tmp/etcdctl" go.etcd.io/etcd/etcdctl/v3)
    mkdir -p "$etcd35"
    mv "$tmp/etcd" "$tmp/etcdctl" "$etcd35/"
    rmdir "$tmp"
fi
# The version read whole, then its first line matched whole: `etcd --version | grep -q` under
# pipefail can exit 141 (grep stops at its first match and etcd dies of SIGPIPE writing its next
# line).
etcd35_version=$("$etcd35/etcd" --version)
case "${etcd35_version%%$'\n'*}" in
    "etcd Version: 3.5.16") ;;
    *) echo "etcd 3.5.16 expected at $etcd35, found: $etcd35_version" >&2; exit 1 ;;
esac
bash "$(dirname "$0")/build-control-plane.sh" v1.36.3 >/dev/null
# The release before it: the Kubernetes upgrade test boots it and upgrades to the one above.
bash "$(dirname "$0")/build-control-plane.sh" v1.35.4 >/dev/null
# What a node runs besides the kubelet (containerd, runc, the CNI plugins, flannel, CoreDNS,
# pause) and the real-node tests' server, from the Go module proxy (and gcc, libseccomp).
bash "$(dirname "$0")/build-node-software.sh" >/dev/null

# Upstream's newest Ignition validator beside Debian's 2.14: it refuses what the old one let
# through (a storage file at a declared unit's path, among others). Built from the Go module
# proxy into the target directory: target/test-engines/ignition-2.26.0/validate.
ignition_new="${CARGO_TARGET_DIR:-$PWD/target}/test-engines/ignition-2.26.0"
if [ ! -x "$ignition_new/validate" ]; then
    mkdir -p "$ignition_new"
    GOBIN="$ignition_new" GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" \
        go install github.com/coreos/ignition/v2/validate@v2.26.0
fi

# Upstream's full Ignition 2.26.0 (the binary Flatcar's initramfs runs): the boot tests apply with
# it what matchbox serves, which is spec 3.4.0 and beyond Debian's 2.14. cgo, for libblkid.
if [ ! -x "$ignition_new/ignition" ]; then
    tmp=$(mktemp -d)
    GOBIN="$tmp" GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" CGO_ENABLED=1 \
        go install github.com/coreos/ignition/v2/internal@v2.26.0
    mv "$tmp/internal" "$ignition_new/ignition"
    rmdir "$tmp"
fi

# matchbox v0.11.0, which the boot tests serve the matchbox seed from: `go install …@v0.11.0` is
# refused (its go.mod has a replace directive), so a module of the tests' requires it and builds
# its command. Into target/test-engines/matchbox-0.11.0/matchbox.
matchbox="${CARGO_TARGET_DIR:-$PWD/target}/test-engines/matchbox-0.11.0"
if [ ! -x "$matchbox/matchbox" ]; then
    mkdir -p "$matchbox"
    (cd "$(dirname "$0")/../examples/tests/matchbox" && GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" CGO_ENABLED=0 \
        go build -trimpath -ldflags "-s -w -X github.com/poseidon/matchbox/matchbox/version.Version=v0.11.0" \
        -o "$matchbox/matchbox" github.com/poseidon/matchbox/cmd/matchbox)
fi

# The root tree the boot tests start machines from with systemd-nspawn (debootstrap, cached).
bash "$(dirname "$0")/build-boot-root.sh" >/dev/null
