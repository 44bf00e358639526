#!/usr/bin/env bash
# Builds the root tree the boot tests start machines from (systemd as PID 1 under
# systemd-nspawn), once: a minimal Debian (debootstrap minbase) with systemd, systemd-networkd
# and iproute2, the etcd 3.5 binaries the test-only `docker` runs, and what Flatcar's image has
# that the rendered configs rely on (the `core` and `etcd` accounts, networkd enabled, its
# catch-all DHCP network file). Cached under the target directory by a hash of this recipe;
# prints the root's path.
set -euo pipefail

target="${CARGO_TARGET_DIR:-$PWD/target}"
suite=bookworm
mirror=http://deb.debian.org/debian
# systemd-resolved and iptables, as Flatcar has them: the kubelet's configuration names
# resolved's resolv.conf, and the CNI plugins and kube-proxy's host rules run iptables.
packages=systemd,systemd-sysv,systemd-resolved,dbus,iproute2,util-linux,iptables
etcd35="$target/test-engines/etcd-3.5.16"
[ -x "$etcd35/etcd" ] || { echo "etcd 3.5 is not installed: run scripts/install-test-deps.sh" >&2; exit 1; }

recipe="$(cat "$0")|$suite|$mirror|$packages|$("$etcd35/etcd" --version | sed -n 1p)"
hash=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
root="$target/boot-root/$hash"
if [ -f "$root/.complete" ]; then
    echo "$root"
    exit 0
fi

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Older recipes' roots are removed: only the current one is used.
rm -rf "$target/boot-root"
mkdir -p "$target/boot-root"
work="$root.partial"
debootstrap --variant=minbase --include="$packages" "$suite" "$work" "$mirror" >"$target/boot-root/debootstrap.log" 2>&1 || {
    tail -20 "$target/boot-root/debootstrap.log" >&2
    exit 1
}
# The local etcd of the major Flatcar's etcd-member runs (3.5), where the test-only docker finds it.
install -D -m 0755 "$etcd35/etcd" "$work/opt/etcd-3.5/etcd"
install -D -m 0755 "$etcd35/etcdctl" "$work/opt/etcd-3.5/etcdctl"
# Flatcar's accounts (flatcar/baselayout): core 500, etcd 232.
chroot "$work" groupadd -g 500 core
chroot "$work" useradd -u 500 -g 500 -m -d /home/core -s /bin/bash core
chroot "$work" groupadd -g 232 etcd
chroot "$work" useradd -u 232 -g 232 -d /var/lib/etcd -M -s /usr/sbin/nologin etcd
# Flatcar enables networkd and resolved, and ships a catch-all DHCP network file that sorts last.
chroot "$work" systemctl enable systemd-networkd.service >/dev/null 2>&1
chroot "$work" systemctl enable systemd-resolved.service >/dev/null 2>&1
mkdir -p "$work/usr/lib/systemd/network" "$work/etc/flatcar"
printf '[Match]\nName=*\nType=!loopback bridge tunnel vxlan wireguard\n\n[Network]\nDHCP=yes\n' \
    >"$work/usr/lib/systemd/network/zz-default.network"
# Flatcar leaves the container and CNI interfaces to their owners (flatcar/init's
# systemd/network/50-*.network, and `Driver=!veth` in its zz-default.network). Here every
# machine's own link is a veth, so pods' veths are named instead.
printf '[Match]\nName=flannel* cni* cbr* docker*\n\n[Link]\nUnmanaged=yes\n' \
    >"$work/usr/lib/systemd/network/50-container.network"
printf '[Match]\nName=veth*\n\n[Link]\nUnmanaged=yes\n' >"$work/usr/lib/systemd/network/50-container-veth.network"
# Flatcar's preset policy: what no preset names stays disabled (etcd-member among them), so
# only what Ignition's presets enable starts. And its name resolution: localhost from
# /etc/hosts, no name server (nothing leaves the machines).
mkdir -p "$work/usr/lib/systemd/system-preset"
printf 'disable *\n' >"$work/usr/lib/systemd/system-preset/99-default.preset"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$work/etc/hosts"
rm -f "$work/etc/resolv.conf"
: >"$work/etc/resolv.conf"
# No console to log in on.
chroot "$work" systemctl mask console-getty.service getty@.service >/dev/null 2>&1
# First boot, as Flatcar's image starts: systemd applies the presets Ignition wrote.
printf 'uninitialized\n' >"$work/etc/machine-id"
touch "$work/.complete"
mv "$work" "$root"
echo "$root"
