#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# fetch-kernel.sh CACHEDIR
#
# Makes Debian's current amd64 kernel available for the VM stage and prints the
# directory that holds it (CACHEDIR/PACKAGE) on stdout; progress goes to stderr.
# The package name (linux-image-6.1.0-NN-amd64) is resolved every time from the
# linux-image-amd64 metapackage, because it changes with each security update
# and the superseded one disappears from the mirror.  Nothing is installed: the
# .deb is fetched with `apt-get download` and only these are kept:
#
#   CACHEDIR/PACKAGE/vmlinux   the uncompressed ELF kernel; qemu boots it through
#                              its PVH entry, which skips the xz decompression
#                              that costs ~4-5 s under TCG
#   CACHEDIR/PACKAGE/modules/  the virtio-pci and 9p modules, insmodded by /init
#   CACHEDIR/PACKAGE/package   the package name, written last (marks it complete)
#
# A second run with the same package name is a no-op.  When the name cannot be
# resolved or fetched (no network, stale lists) the newest complete cache entry
# is used, with a warning.
set -eu

cache=$(realpath -m "${1:?usage: fetch-kernel.sh CACHEDIR}")
flavour=amd64 # linux-image-cloud-amd64 has no 9p

say() { echo "fetch-kernel: $*" >&2; }

fallback() {
        # newest complete entry, by modification time
        d=$(find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'linux-image-*' -printf '%T@ %p\n' 2>/dev/null |
                sort -rn | cut -d' ' -f2- | while read -r d; do
                if [ -s "$d/vmlinux" ] && [ -s "$d/package" ]; then
                        echo "$d"
                        break
                fi
        done)
        if [ -n "$d" ]; then
                say "WARNING: $1; using the cached $(cat "$d/package")"
                echo "$d"
                exit 0
        fi
        say "$1, and nothing is cached in $cache"
        exit 1
}

pkg=$(apt-cache depends "linux-image-$flavour" 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || fallback "cannot resolve linux-image-$flavour (apt-get update first?)"
dir=$cache/$pkg
if [ -s "$dir/vmlinux" ] && [ "$(cat "$dir/package" 2>/dev/null)" = "$pkg" ]; then
        say "$pkg (cached in $dir)"
        echo "$dir"
        exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
say "downloading $pkg"
# apt-get download drops privileges to _apt; the directory must be writable for it
chmod 0777 "$tmp"
mkdir "$tmp/x" "$tmp/out" "$tmp/out/modules"
if ! (cd "$tmp" && apt-get download -q "$pkg" >&2); then
        fallback "apt-get download $pkg failed"
fi
dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp/x" --wildcards './boot/vmlinuz-*' \
        '*/9p.ko' '*/9pnet.ko' '*/9pnet_virtio.ko' '*/netfs.ko' '*/fscache.ko' \
        '*/virtio.ko' '*/virtio_ring.ko' '*/virtio_pci*.ko'
vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-*)

# vmlinuz is a bzImage whose payload is a compressed ELF: find the payload by
# its magic and keep the first candidate that decompresses to an ELF file.
ok=
for spec in 'fd377a585a00:xz -dc' '02214c18:lz4 -dc' '28b52ffd:zstd -dc' '1f8b0800:gzip -dc'; do
        magic=$(echo "${spec%%:*}" | sed 's/../\\x&/g')
        dec=${spec#*:}
        # shellcheck disable=SC2013 # byte offsets, one word each
        for pos in $(LC_ALL=C grep -obUaP "$magic" "$vmlinuz" | cut -d: -f1); do
                tail -c +$((pos + 1)) "$vmlinuz" | $dec >"$tmp/out/vmlinux" 2>/dev/null || true
                if [ "$(head -c 4 "$tmp/out/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
                        ok=1
                        break 2
                fi
        done
done
[ -n "$ok" ] || fallback "no ELF vmlinux inside $vmlinuz"
find "$tmp/x" -name '*.ko' -exec cp {} "$tmp/out/modules/" \;
echo "$pkg" >"$tmp/out/package.new"
rm -rf "$dir"
mv "$tmp/out" "$dir"
mv "$dir/package.new" "$dir/package"
say "$pkg -> $dir/vmlinux, $(find "$dir/modules" -name '*.ko' | wc -l) modules"
echo "$dir"
