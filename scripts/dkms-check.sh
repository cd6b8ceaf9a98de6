#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Exercise the DKMS packaging without touching the system: dkms add, build,
# install, remove and install again for one kernel's headers (default: the
# newest installed ones), with dkms's source, build and install trees under
# .cache/dkms/<kver>.  The result, .cache/dkms/<kver>/root/lib/modules/
# <kver>/updates (with depmod's indexes), is what
# selftests/nf_ftp_sym_dkms.sh loads with "modprobe -d" in the VM.
#
#   scripts/dkms-check.sh [KERNELRELEASE [MODULES-DIR]]
#
# MODULES-DIR is where that kernel's modules and build link are (default
# /lib/modules/KERNELRELEASE; the 6.12 lane passes its extracted tree's).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kver=${1:-$(find /lib/modules -mindepth 2 -maxdepth 2 -name build -printf '%h\n' 2>/dev/null | sed 's|.*/||' | sort -V | tail -n 1)}
kmods=${2:-/lib/modules/$kver}
cache=${NF_FTP_SYM_CACHE:-$top/.cache}/dkms/$kver
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")

if [ -z "$kver" ] || [ ! -e "$kmods/build/Makefile" ]; then
	echo "dkms-check: no kernel headers for '$kver' in $kmods/build" >&2
	exit 1
fi
command -v dkms >/dev/null || { echo "dkms-check: dkms is not installed" >&2; exit 1; }

rm -rf "$cache"
root=$cache/root
mods=$root/lib/modules
mkdir -p "$cache/dkms" "$cache/src/nf-ftp-sym-$version" "$mods/$kver"
# dkms finds the headers as <installtree>/<kver>/build.
ln -s "$(readlink -f "$kmods/build")" "$mods/$kver/build"
(cd "$top" && cp -r Makefile Kbuild dkms.conf nf_*.c include \
	"$cache/src/nf-ftp-sym-$version/")

# --kernelsourcedir: dkms looks for headers in /lib/modules otherwise.
dk() {
	dkms --dkmstree "$cache/dkms" --sourcetree "$cache/src" \
		--installtree "$mods" --kernelsourcedir "$(readlink -f "$kmods/build")" "$@"
}

installed() {
	[ -f "$mods/$kver/updates/dkms/nf_conntrack_ftp_sym.ko" ] ||
		[ -f "$mods/$kver/kernel/net/netfilter/nf_conntrack_ftp_sym.ko" ]
}

dk add -m nf-ftp-sym -v "$version"
dk build -m nf-ftp-sym -v "$version" -k "$kver"
dk install -m nf-ftp-sym -v "$version" -k "$kver" --no-depmod
installed || { echo "dkms-check: install put no module in $mods/$kver" >&2; exit 1; }
dk status -m nf-ftp-sym -v "$version" | grep -q installed

dk remove -m nf-ftp-sym -v "$version" --all --no-depmod
if installed; then
	echo "dkms-check: remove left the module installed" >&2
	exit 1
fi

dk add -m nf-ftp-sym -v "$version"
dk install -m nf-ftp-sym -v "$version" -k "$kver" --no-depmod
# depmod wants the kernel's lists next to the modules it indexes.
cp "$kmods"/modules.builtin* "$mods/$kver/" 2>/dev/null || true
touch "$mods/$kver/modules.order"
depmod -b "$root" "$kver"
echo "dkms-check: nf-ftp-sym $version added, built, installed, removed and" \
	"installed again for $kver in $mods"
