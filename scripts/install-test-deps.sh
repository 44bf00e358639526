#!/usr/bin/env bash
# Installs the real software the test suite runs clusterdef's output against, when missing:
# etcd 3.4 (server and etcdctl), systemd-analyze, dnsmasq, openssl (test certificates for etcd's
# TLS), Ignition (its validator), and PyYAML (a YAML 1.1 reader).
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
