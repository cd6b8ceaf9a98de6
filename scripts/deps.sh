#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages the build, the lint, the tests and the demo
# need.  As root, missing packages are installed with apt-get; otherwise the
# missing ones are listed and the script fails.
#
#   scripts/deps.sh [--check]
set -euo pipefail

packages=(
	# build
	gcc make kmod linux-headers-amd64 linux-source-6.1 pkg-config
	libnetfilter-conntrack-dev libmnl-dev
	# lint, unit tests, fuzzing, the parser benchmark (callgrind)
	shellcheck shfmt clang libclang-rt-14-dev valgrind
	# VM runner
	linux-image-amd64 qemu-system-x86 busybox-static cpio xz-utils zstd
	# the guest's userland, shared from this machine's root
	iproute2 nftables iptables conntrack vsftpd lftp curl socat
	python3 python3-pyftpdlib tshark ethtool
	# packaging (pahole: BTF for the 6.12 DKMS build)
	dkms dwarves
	# the debug kernel (make debug-kernel)
	flex bison bc libelf-dev libssl-dev
)

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi

if [ "$check_only" -eq 1 ] || [ "$(id -u)" -ne 0 ]; then
	echo "missing Debian packages: ${missing[*]}" >&2
	echo "run as root: apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# tshark asks whether non-root users may capture; the default (no) is fine.
apt-get install -y -q --no-install-recommends "${missing[@]}"
