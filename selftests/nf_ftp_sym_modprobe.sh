#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_modprobe.sh: installed modules load the way users load them.
#
# The modules are installed into /lib/modules/$(uname -r)/updates (the
# guest's root is a throwaway overlay) and depmod is run.  Then:
#   - "modprobe nf_conntrack_ftp_sym" alone also brings in nf_nat_ftp_sym
#     (soft dependency), so a NAT setup is never silently half-working;
#   - an nft ct helper object of type "ftp-sym" auto-loads both;
#   - modprobe -r removes both.
# No network topology is needed.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

checktool "nft --version" "run test without nft"
checktool "modprobe --version" "run test without kmod"

if ! why=$(modules_loadable); then
	skip_test "$why"
fi
if ! unload_leftovers; then
	fail "cannot unload the modules loaded before: $(grep ftp_sym /proc/modules)"
	ksft_exit
fi

kver=$(uname -r)
dest=/lib/modules/$kver/updates/nf-ftp-sym
if ! mkdir -p "$dest" 2>/dev/null || ! touch "$dest/.probe" 2>/dev/null; then
	skip_test "/lib/modules is read-only here (run in the VM)"
fi
rm -f "$dest/.probe"
# depmod over every module is slow under TCG: keep the indexes as they
# were and put them back afterwards instead of running it twice.
backup=$(mktemp -d /tmp/nf-ftp-sym-depmod.XXXXXX)
cp -a "/lib/modules/$kver"/modules.* "$backup/"
cleanup_register rm -rf "$backup"
cleanup_register sh -c "cp -a '$backup'/modules.* '/lib/modules/$kver/'"
cleanup_register rm -rf "$dest"
cp "$(ko_path nf_conntrack_ftp_sym)" "$(ko_path nf_nat_ftp_sym)" "$dest/"
start=$(_now_ms)
depmod -a "$kver"
echo "# depmod took $(($(_now_ms) - start)) ms"
load_dep_modules nf_conntrack nf_nat nf_tables nft_ct nft_objref || \
	skip_test "the kernel lacks a netfilter module this test needs"

# shellcheck disable=SC2317 # called through busywait
loaded_both() {
	module_loaded nf_conntrack_ftp_sym && module_loaded nf_nat_ftp_sym
}

# The shipped modprobe.d example, with two values changed so that the
# test can tell it was applied.
conf=/etc/modprobe.d/nf-ftp-sym-selftest.conf
if sed -e 's/max_expected=4/max_expected=6/' \
	-e 's/keepalive_interval=5/keepalive_interval=7/' \
	"$NF_FTP_SYM_REPO/examples/modprobe.d/nf-ftp-sym.conf" >"$conf" 2>/dev/null; then
	cleanup_register rm -f "$conf"
else
	conf=
fi

if modprobe nf_conntrack_ftp_sym && busywait 2000 loaded_both; then
	pass "modprobe nf_conntrack_ftp_sym also loads nf_nat_ftp_sym"
else
	fail "modprobe nf_conntrack_ftp_sym: NAT module missing"
	grep ftp_sym /proc/modules >&2
fi

params=/sys/module/nf_conntrack_ftp_sym/parameters
if [[ -z $conf ]]; then
	skip "/etc/modprobe.d is read-only here"
elif [[ $(<"$params/max_expected") == 6 && $(<"$params/keepalive_interval") == 7 &&
	$(<"$params/loose") == N ]]; then
	pass "examples/modprobe.d options are applied by modprobe"
else
	fail "modprobe.d options not applied: max_expected=$(<"$params/max_expected") keepalive_interval=$(<"$params/keepalive_interval")"
fi
rm -f "$conf"

if modprobe -r nf_nat_ftp_sym nf_conntrack_ftp_sym &&
	! module_loaded nf_conntrack_ftp_sym && ! module_loaded nf_nat_ftp_sym; then
	pass "modprobe -r removes both"
else
	fail "modprobe -r left a module behind"
fi

ns1=
setup_ns ns1
if ip netns exec "$ns1" nft -f - <<EOF
table inet t {
	ct helper ftp { type "ftp-sym" protocol tcp; l3proto inet; }
	chain pre {
		type filter hook prerouting priority -150;
		tcp dport 21 ct helper set "ftp"
	}
}
EOF
then
	if busywait 2000 loaded_both; then
		pass "an nft ct helper object auto-loads both modules"
	else
		fail "nft auto-load: $(grep -c ftp_sym /proc/modules) of 2 modules"
	fi
else
	fail "nft refused a ct helper of type ftp-sym with installed modules"
fi
ip netns exec "$ns1" nft flush ruleset
cleanup_all_ns
modprobe -r nf_nat_ftp_sym nf_conntrack_ftp_sym 2>/dev/null

ksft_exit
