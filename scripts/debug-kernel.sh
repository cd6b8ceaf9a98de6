#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A debug kernel (KASAN, lockdep, kmemleak, UBSAN, ...) from Debian's
# linux-source-6.1, the modules built for it, and the selftests run on it in
# the VM.  See docs/debug-kernel.md.
#
#   scripts/debug-kernel.sh build             the kernel (cached)
#   scripts/debug-kernel.sh release           print its release (after build)
#   scripts/debug-kernel.sh modules           build + our modules for it
#   scripts/debug-kernel.sh selftest [TEST...]
#                                             build + modules + selftests in
#                                             the VM, then a kmemleak scan
#
# Layout under ${NF_FTP_SYM_CACHE:-.cache}/debug-kernel:
#   src/   the extracted tarball (extracted once per tarball version)
#   obj/   the kernel build (O=), incremental
#   root/  what selftests/vm/run --kernel-dir wants: boot/vmlinuz-REL and
#          lib/modules/REL; root/key says which inputs built it
# and our modules in .cache/build/REL, as scripts/other-kernel.sh does.
#
# Environment:
#   NF_FTP_SYM_DEBUG_JOBS      make -j for the kernel (default 2)
#   NF_FTP_SYM_DEBUG_NICE      nice level of the kernel build (default 10)
#   NF_FTP_SYM_DEBUG_TARBALL   default /usr/src/linux-source-6.1.tar.xz
#   NF_FTP_SYM_TIME_SCALE      test time scale in the guest (default 10)
#   NF_FTP_SYM_DEBUG_TEST_TIMEOUT
#                              per-test limit in seconds (default: twice
#                              timeout= of selftests/settings x the scale)
#   NF_FTP_SYM_DEBUG_TIMEOUT   VM time limit in seconds (default: per test
#                              limit x tests + 1800)
#   NF_FTP_SYM_DEBUG_MEM       guest memory in MB (default 2048)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
cache=${NF_FTP_SYM_CACHE:-$top/.cache}
dk=$cache/debug-kernel
src=$dk/src
obj=$dk/obj
root=$dk/root
fragment=$top/scripts/debug-kernel.config
tarball=${NF_FTP_SYM_DEBUG_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
jobs=${NF_FTP_SYM_DEBUG_JOBS:-2}
nicelevel=${NF_FTP_SYM_DEBUG_NICE:-10}
# Reports of 6.1's own code under PROVE_RCU_LIST that the selftests
# trigger without our modules on the stack, and KASAN's report of an
# interrupt taken while the boot CPU is identified, before any module is
# loaded (docs/debug-kernel.md).
known_reports='net/netfilter/(nf_tables_api|nft_set_[a-z0-9_]+)\.c:[0-9]+ RCU-list traversed in non-reader section| identify_boot_cpu\+'
# Bump when the way the kernel is built or installed changes.
format=1

action=${1:-build}
shift || true

msg() {
	echo "debug-kernel: $*" >&2
}

die() {
	msg "error: $*"
	exit 1
}

now() {
	echo "$EPOCHSECONDS"
}

# The version of the tarball: the Debian package's when it is installed,
# else the tarball's size and date.
tarball_version() {
	local v

	v=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
	if [[ -z $v ]]; then
		v=$(stat -c '%s-%Y' "$tarball")
	fi
	echo "$v"
}

# The inputs of a build: change any and the kernel is built again.
build_key() {
	{
		echo "format $format"
		echo "tarball $(tarball_version)"
		sha256sum <"$fragment"
		gcc --version | head -n 1
	} | sha256sum | cut -c1-16
}

lock() {
	mkdir -p "$dk"
	exec {lockfd}>"$dk/.lock"
	if ! flock -n "$lockfd"; then
		msg "waiting for another debug-kernel build ($dk/.lock)"
		flock "$lockfd"
	fi
}

check_tools() {
	local t missing=()

	for t in gcc make flex bison bc perl tar xz flock depmod openssl; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	[[ -e /usr/include/libelf.h ]] || missing+=("libelf-dev")
	[[ -e /usr/include/openssl/opensslv.h ]] || missing+=("libssl-dev")
	if [[ ${#missing[@]} -gt 0 ]]; then
		die "missing: ${missing[*]} (apt-get install flex bison libelf-dev bc libssl-dev)"
	fi
}

extract() {
	local v

	v=$(tarball_version)
	if [[ -f $src/.nf-ftp-sym-extracted && $(<"$src/.nf-ftp-sym-extracted") == "$v" ]]; then
		return 0
	fi
	[[ -r $tarball ]] || die "no $tarball (apt-get install linux-source-6.1)"
	msg "extracting $tarball ($v) into $src"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	nice -n "$nicelevel" tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	echo "$v" >"$src.tmp/.nf-ftp-sym-extracted"
	mv "$src.tmp" "$src"
	# The old objects belong to the old sources.
	rm -rf "$obj"
}

kmake() {
	nice -n "$nicelevel" make -C "$src" O="$obj" "$@"
}

# check_config FRAGMENT CONFIG: every line of the fragment must hold in the
# final .config; olddefconfig drops options whose dependencies are missing
# without a word.
check_config() {
	local frag=$1 cfg=$2 line name got bad=0

	while IFS= read -r line; do
		if [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			name=${BASH_REMATCH[1]}
			if got=$(grep -E "^$name=" "$cfg"); then
				msg "config: wanted $name unset, got $got"
				bad=1
			fi
		elif [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)= ]]; then
			name=${BASH_REMATCH[1]}
			got=$(grep -E "^$name=" "$cfg" || echo "$name unset")
			if [[ $got != "$line" ]]; then
				msg "config: wanted $line, got $got"
				bad=1
			fi
		fi
	done <"$frag"
	[[ $bad -eq 0 ]] || die "$frag does not hold after olddefconfig (see above)"
}

configure() {
	mkdir -p "$obj"
	msg "configuring: x86_64_defconfig kvm_guest.config + ${fragment#"$top"/}"
	kmake -s x86_64_defconfig kvm_guest.config >/dev/null
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$fragment" \
		>"$obj/merge_config.log" 2>&1 || {
		cat "$obj/merge_config.log" >&2
		die "merge_config.sh failed"
	}
	kmake -s olddefconfig >/dev/null
	check_config "$fragment" "$obj/.config"
}

release() {
	[[ -s $root/release ]] || die "no debug kernel yet: run $0 build"
	cat "$root/release"
}

build() {
	local key rel t0 t1 log

	check_tools
	lock
	key=$(build_key)
	if [[ -s $root/key && $(<"$root/key") == "$key" && -s $root/release ]]; then
		rel=$(<"$root/release")
		if [[ -s $root/boot/vmlinuz-$rel && -s $root/lib/modules/$rel/modules.dep ]]; then
			msg "up to date: $root (release $rel, key $key)"
			return 0
		fi
	fi
	extract
	configure
	log=$obj/build.log
	t0=$(now)
	msg "building bzImage and modules with -j$jobs, nice $nicelevel (log: $log)"
	if ! kmake -j"$jobs" bzImage modules >"$log" 2>&1; then
		tail -n 60 "$log" >&2
		die "kernel build failed (log: $log)"
	fi
	t1=$(now)
	rel=$(kmake -s kernelrelease)
	msg "built $rel in $((t1 - t0)) s; installing into $root"
	rm -rf "$root"
	mkdir -p "$root/boot"
	kmake -s INSTALL_MOD_PATH="$root" modules_install >"$obj/modules_install.log" 2>&1 || {
		tail -n 30 "$obj/modules_install.log" >&2
		die "modules_install failed"
	}
	cp "$obj/arch/x86/boot/bzImage" "$root/boot/vmlinuz-$rel"
	cp "$obj/.config" "$root/boot/config-$rel"
	cp "$obj/System.map" "$root/boot/System.map-$rel"
	[[ -s $root/lib/modules/$rel/modules.dep ]] || depmod -b "$root" "$rel"
	echo "$rel" >"$root/release"
	echo "$((t1 - t0))" >"$root/build-seconds"
	echo "$key" >"$root/key"
	msg "done: $root/boot/vmlinuz-$rel"
}

# Our modules for the debug kernel, in a copy of the sources (the default
# build in the tree is left alone).  Warnings fail, as in modules-strict.
modules() {
	local rel b rc=0

	rel=$(release)
	b=$cache/build/$rel
	mkdir -p "$b"
	cp -r "$top/Kbuild" "$top/dkms.conf" "$top"/nf_*.c "$top/include" "$b/"
	make -C "$obj" M="$b" W=1 modules >"$b/build.log" 2>&1 || rc=$?
	cat "$b/build.log"
	if [[ $rc -ne 0 ]] || grep -qE 'warning:|error:' "$b/build.log"; then
		die "module build for $rel: failed or warned (W=1)"
	fi
}

selftest() {
	local rel b n scale per vm_timeout

	rel=$(release)
	b=$cache/build/$rel
	scale=${NF_FTP_SYM_TIME_SCALE:-10}
	# Per-test limit: selftests/settings times the scale, doubled, since
	# the debug kernel slows some tests more than the scale allows for
	# (faults took 1139 s of its 1200 while another VM ran).
	per=$(sed -n 's/^timeout=//p' "$top/selftests/settings")
	per=${NF_FTP_SYM_DEBUG_TEST_TIMEOUT:-$((2 * ${per:-120} * scale))}
	if [[ $# -gt 0 ]]; then
		n=$#
	else
		n=$(find "$top/selftests" -maxdepth 1 -name 'nf_ftp_sym_*.sh' | wc -l)
	fi
	vm_timeout=${NF_FTP_SYM_DEBUG_TIMEOUT:-$((n * per + 1800))}
	msg "selftests on $rel: $n test(s), time scale $scale, ${per}s a test, VM limit ${vm_timeout}s"
	# The KASAN kernel takes a while to reach the initramfs under TCG, and
	# its ELF vmlinux does not start (PVH): boot the bzImage.
	# Kernel bugs that are not ours, see docs/debug-kernel.md.
	export NF_FTP_SYM_KNOWN_REPORTS=${NF_FTP_SYM_KNOWN_REPORTS-$known_reports}
	NF_FTP_SYM_VM_BOOT_TIMEOUT=${NF_FTP_SYM_VM_BOOT_TIMEOUT:-600} \
		NF_FTP_SYM_TIME_SCALE=$scale NF_FTP_SYM_KO_DIR=$b \
		exec "$top/selftests/vm/run" --kernel-dir "$root" --kver "$rel" --no-pvh \
		--mem "${NF_FTP_SYM_DEBUG_MEM:-2048}" --timeout "$vm_timeout" -- \
		"$top/scripts/debug-guest.sh" --timeout "$per" "$@"
}

case $action in
build)
	build
	;;
release)
	release
	;;
modules)
	build
	modules
	;;
selftest)
	build
	modules
	selftest "$@"
	;;
*)
	echo "usage: $0 build|release|modules|selftest [TEST...]" >&2
	exit 2
	;;
esac
