#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Download Debian's 6.12 kernel from bookworm-backports (image, headers,
# kbuild) and extract it, without installing anything, so the modules can
# be built for it and the selftests booted on it.
#
#   scripts/fetch-kernel.sh [DIR]      default DIR: .cache/kernels
#
# The kernel is pinned, so that a run can be reproduced: KERNEL_ABI below,
# or NF_FTP_SYM_KERNEL_ABI=<abi> for another one, or =newest for the
# newest 6.12 the suite offers now.  Backports keeps only its current
# upload: when the pinned ABI is gone from the mirror and not in DIR, this
# fails and says so (move the pin then).  The package version is written
# to DIR/<abi>/.version.
#
# Prints the extracted tree's path, DIR/<abi> (e.g. .cache/kernels/
# 6.12.95+deb12-amd64), containing boot/vmlinuz-<abi>, lib/modules/<abi>
# (with modules.dep) and usr/src/linux-headers-<abi> usable as KDIR.
# apt is pointed at bookworm-backports with throwaway options; /etc/apt is
# not touched.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-${NF_FTP_SYM_CACHE:-$top/.cache}/kernels}
suite=${NF_FTP_SYM_KERNEL_SUITE:-bookworm-backports}
mirror=${NF_FTP_SYM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KERNEL_ABI=6.12.95+deb12
want=${NF_FTP_SYM_KERNEL_ABI:-$KERNEL_ABI}

# The pinned kernel, already extracted: no network needed.
if [ "$want" != newest ] && [ -f "$dest/$want-amd64/.complete" ]; then
	echo "$dest/$want-amd64"
	exit 0
fi

mkdir -p "$dest"
apt_dir=$(mktemp -d "$dest/.apt.XXXXXX")
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir"/{lists/partial,sources,archives/partial,debs}
cat >"$apt_dir/sources/extra.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(
	-o "APT::Sandbox::User=root"
	-o "Dir::Etc::sourcelist=/dev/null"
	-o "Dir::Etc::sourceparts=$apt_dir/sources"
	-o "Dir::State::lists=$apt_dir/lists"
	-o "Dir::Cache::archives=$apt_dir/archives"
	-o "Dir::Cache::pkgcache=$apt_dir/pkgcache.bin"
	-o "Dir::Cache::srcpkgcache=$apt_dir/srcpkgcache.bin"
)
apt-get "${apt_opts[@]}" -q update >&2

# The metapackage names the current ABI: linux-headers-<abi>.
newest=$(apt-cache "${apt_opts[@]}" show linux-headers-amd64 |
	sed -n 's/^Depends: linux-headers-\([^ ]*\)-amd64 .*/\1/p' |
	sort -V | tail -n 1)
abi=$want
[ "$want" = newest ] && abi=$newest
if ! apt-cache "${apt_opts[@]}" show "linux-image-$abi-amd64-unsigned" >/dev/null 2>&1; then
	echo "fetch-kernel: $suite no longer offers linux-image-$abi-amd64-unsigned" \
		"(it offers $newest now): move KERNEL_ABI in $0, or set" \
		"NF_FTP_SYM_KERNEL_ABI=newest" >&2
	exit 1
fi
case $abi in
6.12.*) ;;
*)
	echo "fetch-kernel: $suite offers '$abi', not a 6.12 kernel" >&2
	exit 1
	;;
esac
name=$abi-amd64
tree=$dest/$name
if [ -f "$tree/.complete" ]; then
	echo "$tree"
	exit 0
fi

rm -rf "$tree"
mkdir -p "$tree"
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -q download \
	"linux-image-$name-unsigned" "linux-headers-$name" \
	"linux-headers-$abi-common" "linux-kbuild-$abi" >&2)
for deb in "$apt_dir"/debs/*.deb; do
	dpkg-deb -x "$deb" "$tree"
done
dpkg-deb -f "$apt_dir/debs/linux-image-${name}-unsigned_"*.deb Version >"$tree/.version"

# The headers refer to their siblings by absolute /usr/... paths.
hdr=$tree/usr/src/linux-headers-$name
sed -i "s|/usr/src/linux-headers-$abi-common|$tree/usr/src/linux-headers-$abi-common|g" \
	"$hdr/Makefile"
for link in "$hdr/scripts" "$hdr/tools/objtool"; do
	[ -L "$link" ] || continue
	target=$(readlink "$link")
	case $target in
	/*) ln -sfn "$tree$target" "$link" ;;
	esac
done
ln -sfn "$hdr" "$tree/lib/modules/$name/build"
depmod -b "$tree" "$name"
touch "$tree/.complete"
echo "$tree"
