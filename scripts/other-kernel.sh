#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the modules for Debian's 6.12 kernel (downloaded and extracted by
# fetch-kernel.sh, never installed) and optionally run selftests on it.
#
#   scripts/other-kernel.sh build
#   scripts/other-kernel.sh selftest [TEST...]   (DKMS check first)
#   scripts/other-kernel.sh demo
#
# The build happens in a copy of the sources under .cache/build/<abi>, so
# the default build in the tree is left alone.  Warnings fail the build, as
# with "make modules-strict".
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${NF_FTP_SYM_CACHE:-$top/.cache}
action=${1:-build}
shift || true

tree=$("$top/scripts/fetch-kernel.sh" "$cache/kernels")
abi=$(basename "$tree")
kdir=$tree/usr/src/linux-headers-$abi
build=$cache/build/$abi

mkdir -p "$build"
cp -r "$top/Kbuild" "$top/dkms.conf" "$top"/nf_*.c "$top/include" "$build/"
# pahole is not installed: no BTF for the modules.
rc=0
make -C "$kdir" M="$build" W=1 CONFIG_DEBUG_INFO_BTF_MODULES= modules \
	>"$build/build.log" 2>&1 || rc=$?
cat "$build/build.log"
if [ "$rc" -ne 0 ] || grep -qE 'warning:|error:' "$build/build.log"; then
	echo "build for $abi: failed or warned (W=1)" >&2
	exit 1
fi

pkg=$(cat "$tree/.version" 2>/dev/null ||
	strings "$tree/boot/vmlinuz-$abi" 2>/dev/null | grep -o -m 1 'Debian [^ ]*' |
	sed 's/^Debian //' || true)
echo "other-kernel: $abi, Debian package ${pkg:-unknown} (pinned in scripts/fetch-kernel.sh)"

case $action in
build)
	;;
selftest)
	# nf_ftp_sym_dkms.sh loads what DKMS built for the running kernel.
	"$top/scripts/dkms-check.sh" "$abi" "$tree/lib/modules/$abi"
	NF_FTP_SYM_KO_DIR=$build exec "$top/selftests/vm/run" \
		--kernel-dir "$tree" -- "$top/selftests/run" "$@"
	;;
demo)
	NF_FTP_SYM_DEMO_COLOR=0 NF_FTP_SYM_KO_DIR=$build exec "$top/selftests/vm/run" \
		--kernel-dir "$tree" --timeout 900 -- "$top/demo/run"
	;;
*)
	echo "usage: $0 build|selftest [TEST...]|demo" >&2
	exit 2
	;;
esac
