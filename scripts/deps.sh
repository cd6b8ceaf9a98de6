#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages the build, the lint, the tests and the demo
# need.  As root, missing packages are installed with apt-get; otherwise the
# missing ones are listed and the script fails.
#
# ProFTPD and Pure-FTPd (for the interop selftests) conflict with vsftpd
# (Conflicts: ftp-server), so they are not installed: their packages are
# downloaded and extracted into .cache/ftp-servers/PACKAGE (once per
# version), and only the libraries they depend on are installed.
#
#   scripts/deps.sh [--check]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
ftp_cache=${NF_FTP_SYM_CACHE:-$top/.cache}/ftp-servers
ftp_server_packages=(proftpd-core pure-ftpd)

packages=(
	# build
	gcc make kmod linux-headers-amd64 linux-source-6.1 pkg-config
	libnetfilter-conntrack-dev libmnl-dev libjansson-dev
	# lint, unit tests, fuzzing, the parser benchmark (callgrind)
	shellcheck shfmt clang libclang-rt-14-dev valgrind
	# VM runner
	linux-image-amd64 qemu-system-x86 busybox-static cpio xz-utils zstd
	# the guest's userland, shared from this machine's root
	iproute2 nftables iptables conntrack vsftpd lftp curl wget socat
	python3 python3-pyftpdlib tshark ethtool
	# the HA selftest's firewall pair
	conntrackd keepalived
	# packaging (pahole: BTF for the 6.12 DKMS build)
	dkms dwarves
	# the debug kernel (make debug-kernel)
	flex bison bc libelf-dev libssl-dev
)

check_only=0
[ "${1:-}" = "--check" ] && check_only=1
can_install=1
{ [ "$check_only" -eq 1 ] || [ "$(id -u)" -ne 0 ]; } && can_install=0
export DEBIAN_FRONTEND=noninteractive

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
		grep -q "install ok installed"
}

updated=0
apt_update() {
	[ "$updated" -eq 1 ] || apt-get update -q
	updated=1
}

# install_missing PACKAGE...: install those that are not, or say which.
install_missing() {
	local p
	local -a missing=()

	for p in "$@"; do
		installed "$p" || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$can_install" -eq 0 ]; then
		echo "missing Debian packages: ${missing[*]}" >&2
		echo "run as root: apt-get install ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	apt_update
	# tshark asks whether non-root users may capture; the default (no)
	# is fine.
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p'
}

# extract_server PACKAGE: the candidate version of PACKAGE extracted into
# $ftp_cache/PACKAGE (its Depends in .depends, its version in .version),
# unless that version is there already.
extract_server() {
	local pkg=$1 dir=$ftp_cache/$1 want have tmp deb

	want=$(candidate "$pkg")
	if { [ -z "$want" ] || [ "$want" = "(none)" ]; } && [ "$can_install" -eq 1 ]; then
		apt_update
		want=$(candidate "$pkg")
	fi
	have=$(cat "$dir/.version" 2>/dev/null || true)
	# Up to date, or no package lists to compare with: keep what is there.
	if [ -n "$have" ] && { [ "$have" = "$want" ] || [ -z "$want" ] ||
		[ "$want" = "(none)" ]; }; then
		return 0
	fi
	if [ "$can_install" -eq 0 ]; then
		echo "$pkg is not extracted into $dir" >&2
		echo "run as root: scripts/deps.sh" >&2
		return 1
	fi
	echo "extracting: $pkg $want into $dir"
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$want")
	deb=$(find "$tmp" -name '*.deb' | head -n 1)
	rm -rf "$dir.new"
	mkdir -p "$dir.new"
	dpkg-deb -x "$deb" "$dir.new"
	dpkg-deb -f "$deb" Depends >"$dir.new/.depends"
	echo "$want" >"$dir.new/.version"
	rm -rf "$dir" "$tmp"
	mv "$dir.new" "$dir"
}

# server_libs PACKAGE: the libraries an extracted server depends on.
server_libs() {
	sed -e 's/([^)]*)//g' -e 's/|[^,]*//g' -e 's/,/\n/g' \
		"$ftp_cache/$1/.depends" | tr -d ' ' | grep -E '^(lib|zlib)' || true
}

rc=0
install_missing "${packages[@]}" || rc=1
libs=()
for pkg in "${ftp_server_packages[@]}"; do
	if extract_server "$pkg"; then
		mapfile -t -O "${#libs[@]}" libs < <(server_libs "$pkg")
	else
		rc=1
	fi
done
if [ "${#libs[@]}" -gt 0 ]; then
	install_missing "${libs[@]}" || rc=1
fi
exit "$rc"
