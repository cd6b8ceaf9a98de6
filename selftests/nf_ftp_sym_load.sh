#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nf_ftp_sym_load.sh: module life cycle.
#
# nf_conntrack_ftp_sym and nf_nat_ftp_sym load with insmod, show up in
# /proc/modules, register the "ftp-sym" helper that nft can attach, stay
# pinned while a ruleset uses the helper, unload cleanly (NAT first, also
# with a conntrack entry using the helper), load again, and coexist with the
# stock nf_conntrack_ftp / nf_nat_ftp pair in either load order.
#
# One network namespace, no topology:
#
#   ns1: table inet t { ct helper x { type "ftp-sym" ... }  chain pre ... }
#        socat 127.0.0.1:21 listener + client, for one helper-assigned entry

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "ip -Version" "run test without ip"
checktool "modinfo --version" "run test without modinfo (kmod)"

if ! why=$(modules_loadable); then
	skip_test "$why"
fi
if ! load_dep_modules nf_conntrack nf_tables nft_ct nft_objref nf_conntrack_netlink; then
	skip_test "the kernel lacks a netfilter module this test needs"
fi

CT=nf_conntrack_ftp_sym
NAT=nf_nat_ftp_sym

ruleset() {
	cat <<EOF
table inet t {
	ct helper x { type "$NF_FTP_SYM_HELPER" protocol tcp; l3proto inet; }
	chain pre {
		type filter hook prerouting priority -150;
		tcp dport 21 ct helper set "x";
	}
}
EOF
}

refcnt() {
	local f=/sys/module/$1/refcnt

	if [[ -r $f ]]; then
		echo "$(<"$f")"
	else
		echo -1
	fi
}

nft_ns() {
	ip netns exec "$ns1" nft "$@"
}

table_exists() {
	nft_ns list table inet t >/dev/null 2>&1
}

# check_loaded NAME WHAT: assert NAME is Live in /proc/modules
check_loaded() {
	if module_loaded "$1"; then
		pass "$2: $1 is loaded"
	else
		fail "$2: $1 is not in /proc/modules"
	fi
}

check_unloaded() {
	if module_state "$1" >/dev/null; then
		fail "$2: $1 is still in /proc/modules"
	else
		pass "$2: $1 is gone"
	fi
}

# load_ours WHAT: insmod both, conntrack first
load_ours() {
	local m

	for m in "$CT" "$NAT"; do
		if module_loaded "$m"; then
			continue
		fi
		if ! insmod_ko "$m"; then
			fail "$1: insmod $(ko_path "$m") failed"
			dmesg | tail -n 5 >&2
			return 1
		fi
		check_loaded "$m" "$1"
	done
}

# unload_ours WHAT: rmmod NAT first, then conntrack
unload_ours() {
	local m

	for m in "$NAT" "$CT"; do
		module_loaded "$m" || continue
		if ! rmmod_bounded "$m"; then
			fail "$1: rmmod $m failed"
			return 1
		fi
		check_unloaded "$m" "$1"
	done
}

# Remember what was loaded, to leave the machine as we found it.
ours_at_start=0
module_loaded "$CT" && ours_at_start=1
stock_loaded_by_us=()

# shellcheck disable=SC2317 # run by cleanup()
restore() {
	local i

	ip netns exec "$ns1" nft delete table inet t 2>/dev/null
	ip netns exec "$ns1" nft delete table inet t2 2>/dev/null
	if [[ $ours_at_start -eq 1 ]]; then
		load_ours "restore" >/dev/null
	else
		unload_modules
	fi
	for ((i = ${#stock_loaded_by_us[@]} - 1; i >= 0; i--)); do
		rmmod_bounded "${stock_loaded_by_us[i]}"
	done
}

ns1=
setup_ns ns1
cleanup_register restore

# ------------------------------------------------------------ metadata

for m in "$CT" "$NAT"; do
	if [[ $(modinfo -F license "$(ko_path "$m")") == GPL* ]]; then
		pass "$m has a GPL license"
	else
		fail "$m: license is not GPL"
	fi
done
if modinfo -F alias "$(ko_path "$CT")" | grep -qx "nfct-helper-$NF_FTP_SYM_HELPER"; then
	pass "$CT has alias nfct-helper-$NF_FTP_SYM_HELPER (helper autoload)"
else
	fail "$CT lacks MODULE_ALIAS_NFCT_HELPER(\"$NF_FTP_SYM_HELPER\")"
fi
if modinfo -F alias "$(ko_path "$NAT")" | grep -qx "ip_nat_$NF_FTP_SYM_HELPER"; then
	pass "$NAT has alias ip_nat_$NF_FTP_SYM_HELPER (NAT helper autoload)"
else
	fail "$NAT lacks MODULE_ALIAS_NF_NAT_HELPER(\"$NF_FTP_SYM_HELPER\")"
fi

# ------------------------------------------------------------ not loaded

if [[ $ours_at_start -eq 1 ]] && ! unload_ours "initial unload"; then
	ksft_exit
fi

# Without the modules, nft asks the kernel for the helper, which calls
# modprobe nfct-helper-ftp-sym. That finds something only when the modules
# are installed (make modules_install, DKMS).
if modprobe -n -q "nfct-helper-$NF_FTP_SYM_HELPER" 2>/dev/null; then
	if ruleset | nft_ns -f - && module_loaded "$CT"; then
		pass "not loaded: nft autoloaded the installed $CT"
	else
		fail "not loaded: nft did not autoload the installed $CT"
	fi
	nft_ns delete table inet t 2>/dev/null
	# Go on with the modules under test, not the installed ones.
	unload_ours "autoloaded" || ksft_exit
else
	if err=$(ruleset | nft_ns -f - 2>&1); then
		fail "not loaded: nft accepted a ct helper of type \"$NF_FTP_SYM_HELPER\" that does not exist"
	elif [[ $err == *"No such file or directory"* ]]; then
		pass "not loaded: nft refuses the ruleset (ENOENT)"
	else
		fail "not loaded: nft failed, but not with ENOENT: $err"
	fi
	if table_exists; then
		fail "not loaded: table inet t exists after the rejected transaction"
	fi
	if module_loaded "$CT"; then
		fail "not loaded: $CT got loaded, although it is not installed"
	fi
fi

# ------------------------------------------------------------ load

load_ours "first load" || ksft_exit
if [[ -e /sys/module/$CT/holders/$NAT ]]; then
	pass "first load: $NAT holds $CT"
else
	fail "first load: $NAT does not depend on $CT"
fi
if rmmod "$CT" 2>/dev/null; then
	fail "first load: rmmod $CT succeeded while $NAT uses it"
	load_ours "reload after bad rmmod" || ksft_exit
else
	pass "first load: rmmod $CT refused while $NAT is loaded"
fi

ref0=$(refcnt "$CT")
if err=$(ruleset | nft_ns -f - 2>&1); then
	pass "loaded: nft accepts ct helper type \"$NF_FTP_SYM_HELPER\" (l3proto inet)"
else
	fail "loaded: nft refuses the ruleset: $err"
fi
if nft_ns list ruleset | grep -q "type \"$NF_FTP_SYM_HELPER\" protocol tcp"; then
	pass "loaded: the helper object is listed"
else
	fail "loaded: ct helper x not listed"
	nft_ns list ruleset >&2
fi
ref1=$(refcnt "$CT")
if [[ $ref1 -gt $ref0 ]]; then
	pass "loaded: the helper object pins $CT (refcnt $ref0 -> $ref1)"
else
	fail "loaded: refcnt of $CT did not grow with a ruleset using it ($ref0 -> $ref1)"
fi

if ip netns exec "$ns1" conntrack -L >/dev/null 2>&1; then
	pass "loaded: conntrack -L works"
else
	fail "loaded: conntrack -L failed"
fi
if ip netns exec "$ns1" conntrack -L expect >/dev/null 2>&1; then
	pass "loaded: conntrack -L expect works"
else
	fail "loaded: conntrack -L expect failed"
fi

# One connection with the helper attached (output hook: local traffic),
# so that the unload below also has to detach it from a live entry.
if command -v socat >/dev/null 2>&1; then
	nft_ns -f - <<EOF
table inet t2 {
	ct helper x { type "$NF_FTP_SYM_HELPER" protocol tcp; l3proto inet; }
	chain out {
		type filter hook output priority -150;
		tcp dport 21 ct helper set "x";
	}
}
EOF
	ip netns exec "$ns1" timeout "$(scaled_s 5)" \
		socat -u TCP4-LISTEN:21,bind=127.0.0.1,reuseaddr OPEN:/dev/null &
	cleanup_pid $!
	if wait_listener "$ns1" 21; then
		echo "220 nf-ftp-sym load test" | ip netns exec "$ns1" \
			timeout "$(scaled_s 5)" socat -u STDIN TCP4:127.0.0.1:21
	fi
	if ip netns exec "$ns1" conntrack -L -p tcp --dport 21 2>/dev/null |
		grep -q "helper=$NF_FTP_SYM_HELPER"; then
		pass "loaded: a connection to port 21 carries helper=$NF_FTP_SYM_HELPER"
	else
		fail "loaded: no conntrack entry with helper=$NF_FTP_SYM_HELPER"
		ip netns exec "$ns1" conntrack -L >&2
	fi
	nft_ns delete table inet t2
else
	skip "socat missing: no helper-assigned connection"
fi

if nft_ns delete table inet t && ! table_exists; then
	pass "loaded: ruleset removed"
else
	fail "loaded: cannot remove table inet t"
fi
ref2=$(refcnt "$CT")
if [[ $ref2 -eq $ref0 ]]; then
	pass "loaded: refcnt of $CT back to $ref0 without the ruleset"
else
	fail "loaded: refcnt of $CT is $ref2 after the ruleset went, was $ref0"
fi

unload_ours "unload" || ksft_exit

# ------------------------------------------------------------ load again

load_ours "second load" || ksft_exit
if ruleset | nft_ns -f - && nft_ns delete table inet t; then
	pass "second load: the ruleset works again"
else
	fail "second load: ruleset refused"
fi
unload_ours "second unload" || ksft_exit

# ------------------------------------------------------------ stock helpers

both_rules() {
	cat <<EOF
table inet t {
	ct helper s { type "ftp" protocol tcp; l3proto inet; }
	ct helper x { type "$NF_FTP_SYM_HELPER" protocol tcp; l3proto inet; }
	chain pre {
		type filter hook prerouting priority -150;
		tcp dport 21 ct helper set "s";
		tcp dport 2121 ct helper set "x";
	}
}
EOF
}

# load_stock: modprobe nf_conntrack_ftp and nf_nat_ftp, remembering what we
# loaded. 1 when the kernel lacks them.
load_stock() {
	local m

	for m in nf_conntrack_ftp nf_nat_ftp; do
		module_loaded "$m" && continue
		modprobe -q "$m" || return 1
		stock_loaded_by_us+=("$m")
	done
}

unload_stock() {
	local i

	for ((i = ${#stock_loaded_by_us[@]} - 1; i >= 0; i--)); do
		rmmod_bounded "${stock_loaded_by_us[i]}" ||
			fail "cannot unload ${stock_loaded_by_us[i]}"
	done
	stock_loaded_by_us=()
}

# check_pairs WHAT: both pairs loaded, and one ruleset using both helpers
check_pairs() {
	local m all=1 err

	for m in nf_conntrack_ftp nf_nat_ftp "$CT" "$NAT"; do
		module_loaded "$m" || all=0
	done
	if [[ $all -eq 1 ]]; then
		pass "$1: stock and ftp-sym pairs loaded together"
	else
		fail "$1: not all of nf_conntrack_ftp nf_nat_ftp $CT $NAT are loaded"
	fi
	if err=$(both_rules | nft_ns -f - 2>&1); then
		pass "$1: one ruleset uses helpers \"ftp\" and \"$NF_FTP_SYM_HELPER\""
	else
		fail "$1: ruleset with both helpers refused: $err"
	fi
	nft_ns delete table inet t 2>/dev/null
}

if ! load_stock; then
	skip "coexistence: nf_conntrack_ftp/nf_nat_ftp not available in $(uname -r)"
	unload_stock
else
	# Order 1: stock first. A helper registered for tcp port 21 under any
	# name clashes with nf_conntrack_ftp (-EBUSY): ours must use port 0.
	if load_ours "stock first"; then
		check_pairs "stock first"
	else
		fail "stock first: our modules cannot be loaded while nf_conntrack_ftp is" \
			"(a helper tuple clash, e.g. registered on port 21?)"
	fi
	unload_ours "stock first"
	for m in nf_conntrack_ftp nf_nat_ftp; do
		check_loaded "$m" "stock first, ours unloaded"
	done
	unload_stock

	# Order 2: ours first.
	if load_ours "ours first"; then
		if load_stock; then
			check_pairs "ours first"
		else
			fail "ours first: nf_conntrack_ftp/nf_nat_ftp cannot be loaded after ours"
		fi
		unload_stock
		check_loaded "$CT" "ours first, stock unloaded"
		check_loaded "$NAT" "ours first, stock unloaded"
		unload_ours "ours first"
	fi
fi

ksft_exit
