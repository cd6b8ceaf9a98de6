#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_replicated.sh: expectations that come through ctnetlink
# without their NAT, as conntrackd makes them on an HA backup.
#
#   client (ftp_peer.py) ---- router ---- server (vsftpd :21)
#                             strict forward filter (reject), helper for
#                             port 21; masquerade (layout A) or DNAT of
#                             the router's client-side address (layout B)
#
# conntrackd replicates an expectation with its expectfn name and NAT
# tuple, but the backup creates it through libnetfilter_conntrack, whose
# builder (1.0.9, Debian 12) leaves both out (docs/ha.md).  The data
# connection such an expectation admits gets no NAT from its master, and
# goes to the router's own address: refused.  Here one router plays both
# parts: a session holds its transfer after the PORT (layout A) or PASV
# (layout B) reply, "nfct_inject resync-expect" deletes the expectation
# and creates it again the way the backup does, then the transfer goes on.
#
# With ftp-sym the transfer must complete (the NAT module gives the
# connection its master's NAT: nat_adopted, and keep-alive tracks it).
# The hook that does it is registered in a namespace only once ctnetlink
# has handed ftp-sym a connection there, as conntrackd does with every
# master before its expectations ("nfct_inject helper": the from_nlattr()
# an update causes).  So the first case, in a new router namespace,
# resyncs the expectation alone: it must fail like stock, and it shows
# the case is real.  Reference: the stock pair (ftp, nf_nat_ftp), the same
# way: its transfer is lost.  A control case resyncs nothing.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "vsftpd -v" "run test without vsftpd"
checktool "/usr/bin/python3 -c pass" "run test without python3"

INJECT=$NF_FTP_SYM_SELFTESTS/nfct_inject
[[ -x $INJECT ]] || skip_test "selftests/nfct_inject not built (make selftest-bin)"

load_modules
setup_topo
ftp_make_root 262144
sha=$FTP_FILE_SHA
start_vsftpd "$ns_server" >/dev/null || ksft_exit
ns_anchor "$ns_router"

# layout_rules HELPER-TYPE A|B: the filter with that helper, and the NAT
# of the layout.
layout_rules() {
	ip netns exec "$ns_router" nft delete table inet ftpsym_nat 2>/dev/null
	router_filter "$ns_router" "$1" 21 reject || return 1
	if [[ $2 == A ]]; then
		router_masquerade "$ns_router"
	else
		router_portforward "$ns_router" 21 "" 4
	fi
}

# run_case HELPER-TYPE A|B control|resync|expect-only: one held transfer
# (PORT in layout A, PASV in B).  resync: the master is updated through
# ctnetlink, then its expectation made again as on a backup; expect-only:
# the expectation alone.  CASE_OK=1 when it completed intact, CASE_WHY
# what happened.
CASE_OK=0
CASE_WHY=
run_case() {
	local type=$1 layout=$2 how=$3 host=$SERVER_IP4 mode=port cport out

	CASE_OK=0
	CASE_WHY=
	[[ $layout == B ]] && host=$ROUTER_C_IP4 mode=pasv
	layout_rules "$type" "$layout" || return 1
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	if ! peer_start r "$ns_client" "$host"; then
		CASE_WHY="login failed: $PEER_LINE"
		return 1
	fi
	cport=$(peer_port)
	if ! peer_do r xfer --mode "$mode" --retr file.bin --sha256 "$sha" --hold; then
		CASE_WHY="$mode failed: $PEER_LINE"
		peer_stop r close
		return 1
	fi
	if [[ $how == resync ]]; then
		if ! ip netns exec "$ns_router" "$INJECT" helper "$CLIENT_IP4" \
			"$host" "$cport" 21 "$type"; then
			CASE_WHY="cannot update the master through ctnetlink"
			peer_stop r close
			return 1
		fi
		# The hook is registered by a work item, at once.
		sleep "$(scaled_s 1)"
	fi
	if [[ $how != control ]]; then
		out=$(ip netns exec "$ns_router" "$INJECT" resync-expect \
			"$CLIENT_IP4" "$host" "$cport" 21 2>&1)
		if [[ $out != *"fn=none"* || $out == *"fn=nat"* ]]; then
			CASE_WHY="the resync did not leave an expectation without expectfn: $out"
			peer_stop r close
			return 1
		fi
		CASE_WHY="resynced ($out); "
	fi
	# The stock cases run with ftp-sym unloaded: no counters then.
	[[ $type == ftp-sym ]] && stats_snap "$ns_router"
	if peer_do r go && [[ $PEER_LINE == *"sha256=$sha"* ]]; then
		CASE_OK=1
		CASE_WHY+="transfer complete"
		# The session goes on: a plain passive transfer after it.
		peer_do r xfer --mode pasv --retr file.bin --sha256 "$sha" ||
			CASE_WHY+=", but the next transfer failed: $PEER_LINE"
	else
		CASE_WHY+="transfer failed: $PEER_LINE"
	fi
	[[ $type == ftp-sym ]] && stats_diff "$ns_router"
	peer_stop r
}

# ------------------------------------------------------------ ftp-sym

run_case ftp-sym B expect-only
if [[ $CASE_OK -eq 0 && $CASE_WHY == resynced* && ${STATSD[nat_adopted]-} == 0 ]]; then
	pass "no master through ctnetlink yet in this namespace: no hook, the replicated expectation's transfer is lost as with stock ($CASE_WHY)"
else
	fail "no master through ctnetlink yet: $CASE_WHY ($(stats_show))"
fi

for layout in A B; do
	name="layout $layout ($([[ $layout == A ]] && echo "masqueraded client, PORT" || echo "port-forwarded server, PASV"))"
	run_case ftp-sym "$layout" control
	if [[ $CASE_OK -eq 1 && $CASE_WHY != *"next transfer failed"* &&
		${STATSD[nat_adopted]-} == 0 ]]; then
		pass "control, $name: a held transfer completes, nothing adopted ($CASE_WHY)"
	else
		fail "control, $name: $CASE_WHY"
	fi
	run_case ftp-sym "$layout" resync
	if [[ $CASE_OK -eq 1 && $CASE_WHY != *"next transfer failed"* &&
		${STATSD[nat_adopted]:-0} -eq 1 &&
		${STATSD[keepalive_tracked]:-0} -ge 1 ]]; then
		pass "$name: an expectation replicated without its NAT still brings the data connection through ($CASE_WHY; $(stats_show))"
	else
		fail "$name: expectation replicated without its NAT: $CASE_WHY ($(stats_show))"
	fi
done

# The hook leaves with the module, while the namespace that has it lives.
ip netns exec "$ns_router" nft flush ruleset
ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
if unload_modules && ! module_loaded nf_nat_ftp_sym; then
	pass "both modules unload while a namespace has the hook"
else
	fail "the modules do not unload while a namespace has the hook"
fi

# ------------------------------------------------------------ stock

# stock_unload: at exit, the stock pair this test loaded (the routers' nft
# ct helper objects pin it: namespaces first).
# shellcheck disable=SC2317 # called from the cleanup
stock_unload() {
	cleanup_all_ns
	rmmod_bounded nf_nat_ftp && rmmod_bounded nf_conntrack_ftp
}
if ! module_loaded nf_nat_ftp; then
	if modprobe -q nf_nat_ftp; then
		cleanup_register stock_unload
	else
		skip "reference: nf_nat_ftp not available"
		ksft_exit
	fi
fi
for layout in A B; do
	run_case ftp "$layout" resync
	if [[ $CASE_OK -eq 0 && $CASE_WHY == resynced* ]]; then
		pass "reference: the stock pair loses the same transfer in layout $layout ($CASE_WHY)"
	else
		fail "reference: the stock pair in layout $layout: $CASE_WHY"
	fi
done

ksft_exit
