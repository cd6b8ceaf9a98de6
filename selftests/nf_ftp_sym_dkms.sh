#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_dkms.sh: the modules DKMS built load by name.
#
# scripts/dkms-check.sh (run on the host by "make check" before the VM
# boots, for each kernel the VM runs) has done dkms add, build, install,
# remove and install again for the running kernel's headers, into
# .cache/dkms/<kver>/root/lib/modules/<kver> with depmod's indexes.  Here, in the guest running that kernel, modprobe finds them by
# name in that tree (modprobe -d), loads both (the NAT half through the
# soft dependency), nft attaches the helper, and modprobe -r removes them.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

checktool "nft --version" "run test without nft"
checktool "modprobe --version" "run test without kmod"

kver=$(uname -r)
root=${NF_FTP_SYM_CACHE:-$NF_FTP_SYM_REPO/.cache}/dkms/$kver/root
[[ -e /proc/modules ]] || skip_test "the running kernel has no module support"
[[ -f $root/lib/modules/$kver/modules.dep ]] ||
	skip_test "no DKMS build for $kver (run scripts/dkms-check.sh first)"
if ! unload_leftovers; then
	fail "cannot unload the modules loaded before: $(grep ftp_sym /proc/modules)"
	ksft_exit
fi
load_dep_modules nf_conntrack nf_nat nf_tables nft_ct nft_objref ||
	skip_test "the kernel lacks a netfilter module this test needs"

dkms_dir=$root/lib/modules/$kver/updates/dkms
if [[ -f $dkms_dir/nf_conntrack_ftp_sym.ko && -f $dkms_dir/nf_nat_ftp_sym.ko ]]; then
	pass "dkms installed both modules under updates/dkms"
else
	fail "dkms install tree lacks the modules: $(find "$root/lib/modules/$kver" -name "*.ko" 2>&1)"
fi

if modprobe -d "$root" nf_conntrack_ftp_sym &&
	busywait 2000 module_loaded nf_nat_ftp_sym; then
	pass "modprobe nf_conntrack_ftp_sym (DKMS tree) loads both modules"
else
	fail "modprobe of the DKMS-built modules"
fi
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$NF_FTP_SYM_REPO/dkms.conf")
if [[ $(cat /sys/module/nf_conntrack_ftp_sym/version 2>/dev/null) == "$version" ]]; then
	pass "loaded module version $version matches dkms.conf"
else
	fail "loaded module version differs from dkms.conf ($version)"
fi

ns1=
setup_ns ns1
if ip netns exec "$ns1" nft -f - <<EOT
table inet t {
	ct helper ftp { type "ftp-sym" protocol tcp; l3proto inet; }
	chain pre {
		type filter hook prerouting priority -150;
		tcp dport 21 ct helper set "ftp"
	}
}
EOT
then
	pass "nft attaches the DKMS-built ftp-sym helper"
else
	fail "nft refused the DKMS-built helper"
fi
ip netns exec "$ns1" nft flush ruleset
cleanup_all_ns

if modprobe -d "$root" -r nf_nat_ftp_sym nf_conntrack_ftp_sym &&
	! module_loaded nf_conntrack_ftp_sym; then
	pass "modprobe -r removes them"
else
	fail "modprobe -r left a module loaded"
fi

ksft_exit
