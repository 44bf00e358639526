#!/usr/bin/env python3
"""Writes one OCI image archive (an OCI layout as a tar: `oci-layout`, `index.json`, `blobs/`) that
`ctr images import` takes, without a registry: one gzip-compressed layer holding the files given
(as a registry serves layers, so containerd keeps them compressed as after a pull),
an image config with the entrypoint, user and environment given, and the image's full name in
the index's `io.containerd.image.name` annotation.

    oci_image.py --name REF --out OUT.tar [--entrypoint PATH ...] [--user U:G] [--env K=V ...]
                 [--file SRC:DEST ...] [--libs]

`--file` copies SRC's contents (a symlink followed) to DEST inside the image; `--libs` adds
every shared library the dynamically linked files need (as `ldd` names them), and the
`xtables` modules when an iptables binary is among them, so a binary taken from the machine
runs in the image as it does there. Files are root-owned, directories 0755, times 0, so the
same inputs make the same archive byte for byte. Prints the layer's size unpacked, in bytes (what
the image costs a node once containerd has unpacked it and dropped the archive's layer).
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile


def in_root(root, path):
    """The host path of `path` inside `root`, every link followed inside `root`."""
    current = path
    for _ in range(40):
        host = os.path.join(root, current.lstrip("/"))
        if not os.path.islink(host):
            return host
        target = os.readlink(host)
        current = target if target.startswith("/") else os.path.normpath(os.path.join(os.path.dirname(current), target))
    raise SystemExit(f"{path}: too many links in {root}")


def ldd(path, root=None):
    """The shared libraries `path` loads (absolute paths, inside `root` if given), or none for a
    static binary."""
    command = ["chroot", root, "ldd", path] if root else ["ldd", path]
    out = subprocess.run(command, capture_output=True, text=True)
    libs = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if "=>" in parts:
            target = parts[parts.index("=>") + 1]
            if target.startswith("/"):
                libs.append(target)
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])
    return libs


def layer(files):
    """The layer's tar bytes: `files` maps an image path to ("file", the host file it holds)."""
    buf = io.BytesIO()
    dirs = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dest in sorted(files):
            parts = dest.strip("/").split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            _, source = files[dest]
            info = tarfile.TarInfo(dest.strip("/"))
            with open(source, "rb") as f:
                data = f.read()
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def blob(tar, data):
    """Adds `data` under blobs/sha256/ and returns its descriptor's digest and size."""
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
    return {"digest": f"sha256:{digest}", "size": len(data)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--entrypoint", nargs="*", default=[])
    p.add_argument("--user", default="")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--file", action="append", default=[])
    p.add_argument("--libs", action="store_true")
    p.add_argument("--root")
    a = p.parse_args()

    # DEST -> (where its libraries are looked up: the root or None for the host, host file).
    files = {}
    for spec in a.file:
        source, dest = spec.split(":", 1)
        # The file's contents under DEST (a symlink's target read: Debian's iptables is a chain
        # of links to xtables-nft-multi, which dispatches on the name it is called by).
        if source.startswith("@"):
            files[dest] = (a.root, in_root(a.root, source[1:]), source[1:])
        else:
            files[dest] = (None, os.path.realpath(source), source)
    if a.libs:
        for dest, (root, host, path) in list(files.items()):
            found = root and in_root(root, path)
            for lib in ldd(path if root else host, root):
                files.setdefault(lib, (root, in_root(root, lib) if root else os.path.realpath(lib), lib))
            if "xtables" in os.path.basename(found or host):
                mods = "/usr/lib/x86_64-linux-gnu/xtables"
                for m in sorted(os.listdir(in_root(root, mods) if root else mods)):
                    module = f"{mods}/{m}"
                    files.setdefault(module, (root, in_root(root, module) if root else module, module))
                    for lib in ldd(module, root):
                        files.setdefault(lib, (root, in_root(root, lib) if root else os.path.realpath(lib), lib))
    files = {dest: ("file", host) for dest, (_, host, _) in files.items()}

    layer_bytes = layer(files)
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + a.env
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": a.entrypoint or None, "User": a.user, "Env": env},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]},
    }
    tag = a.name.rsplit(":", 1)[1] if ":" in a.name.rsplit("/", 1)[-1] else "latest"
    with tarfile.open(a.out + ".partial", mode="w", format=tarfile.PAX_FORMAT) as tar:
        # Level 1: most of the size gone (the layers are mostly Go binaries) for little time;
        # mtime 0, so the same inputs make the same archive.
        layer_desc = blob(tar, gzip.compress(layer_bytes, compresslevel=1, mtime=0))
        layer_desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
        config_desc = blob(tar, json.dumps(config, sort_keys=True).encode())
        config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json"
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config_desc,
            "layers": [layer_desc],
        }
        manifest_desc = blob(tar, json.dumps(manifest, sort_keys=True).encode())
        manifest_desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
        manifest_desc["annotations"] = {
            "io.containerd.image.name": a.name,
            "org.opencontainers.image.ref.name": tag,
        }
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [manifest_desc],
        }
        for name, data in [
            ("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
            ("index.json", json.dumps(index, sort_keys=True).encode()),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    os.replace(a.out + ".partial", a.out)
    print(len(layer_bytes))


if __name__ == "__main__":
    main()
