#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_nat_keepalive.sh: the keep-alive through NAT.  The control
# connection survives a long transfer while it is idle, also when the router
# NATs it (and its data connection), and the session goes on afterwards:
# its next commands, among them a second transfer whose PORT or 227 the
# router rewrites again, still work.
#
#   A. masqueraded client       client ---- router[masquerade] ---- server
#   B. port-forwarded server    client ---- router[dnat 21] ---- server
#
#      client 192.0.2.1         router 192.0.2.254 | 198.51.100.254
#      2001:db8:1::1            2001:db8:1::fe     | 2001:db8:2::fe
#                                                    server 198.51.100.1
#                                                    2001:db8:2::1
#
# The router as in nf_ftp_sym_nat.sh (strict filter, ct helper object in
# prerouting before DNAT), with nf_conntrack_tcp_timeout_established=10 as
# in nf_ftp_sym_keepalive.sh; in B the client knows only 192.0.2.254 and
# uses the address of the 227 reply (which the router must rewrite).  The
# core is ka_lib.sh: every case has its own namespaces and vsftpd, rate
# limited to SECS, so the cases run side by side; a collector samples the
# router's conntrack table.  The client (Python ftplib, "next" in ka_lib.sh)
# says nothing on the control connection during the download, then sends
# NOOP, RETR small.bin (checksum) and QUIT on the same session.
#
# Phase 1, the negative controls ("lose"), the stock pair (nf_conntrack_ftp
# + nf_nat_ftp, ct helper type "ftp"), 25 s:
#   stock-a     A, PORT (rewritten)
#   stock-b     B, PASV, the 227 address used (rewritten)
# The master must vanish during the transfer, the data still arrive
# complete, the server log the 226 it sent and the client never get it.
#
# Phase 2, ftp-sym, keepalive_interval=5 ("keep"; set up while phase 1
# runs), 45 s:
#   a-pasv      A, PASV
#   a-port      A, PORT (rewritten)
#   b-pasv      B, PASV, the 227 address used (rewritten)
#   b-port      B, PORT
#   b-pasv-ft   B, PASV, the data connection offloaded to a flowtable
#   a6-port     A over IPv6 (NAT66), EPRT (rewritten)
# The download lasts >= 40 s and its data match, the 226 arrives; the
# master is in every sample of the transfer, one taken more than 15 s after
# the transfer started; its timeout never exceeds 2*interval+2 s;
# keepalive_tracked and keepalive_refreshes > 0, keepalive_active back to
# 0; b-pasv-ft has [OFFLOAD] samples; then NOOP gets 200, the second RETR
# its 226 and the right data, QUIT 221.
#
# Every case: the data connections (one in phase 1, two in phase 2) went
# through the NAT as the layout wants (their conntrack tuples), and the
# PORT/EPRT the server received, or the 227 it sent and the one the client
# received, are those of the layout: e.g. in B the server sent 227 with
# its own address, the client received the router's (rewritten) and
# connected there.  The ftp-sym cases: expect_created and
# keepalive_tracked >= 2 (both transfers), nat_rewrites >= 2 where the NAT
# changes the text and 0 where it does not (the masqueraded client's
# server keeps its 227, the port-forwarded server sees the client's own
# PORT), expect_failed, nat_failed, nat_missed and dropped 0.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=ka_lib.sh
source "$(dirname "$0")/ka_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "vsftpd -v" "run test without vsftpd"
checktool "$KA_PYTHON --version" "run test without python3"

# nat_tuples NAME COUNT WANT: case NAME had COUNT data connections, each
# with the addresses WANT ("ORIG-SRC>ORIG-DST REPLY-SRC>REPLY-DST", see
# ka_data_tuples), i.e. the NAT the layout implies.
nat_tuples() {
	local name=$1 count=$2 want=$3 n=0 bad='' t
	local -a got

	mapfile -t got < <(ka_data_tuples "$name")
	for t in "${got[@]}"; do
		n=$((n + 1))
		[[ $t == "$want" ]] || bad+=" [$t]"
	done
	if [[ $n -eq $count && -z $bad ]]; then
		pass "$name: $n data connections NATed as expected: $want"
	else
		fail "$name: $n data connections (want $count: $want)${bad:+, unexpected:$bad}"
	fi
}

# nat_text NAME COUNT SERVER-TEXT [CLIENT-TEXT]: the server's log of case
# NAME has SERVER-TEXT (its PORT/EPRT command received or 227 reply sent)
# COUNT times, and the client's log CLIENT-TEXT (the 227 reply received)
# as often: the text the router rewrote, or left alone.
nat_text() {
	local name=$1 count=$2 stext=$3 ctext=${4:-} d ns nc=0 s

	d=$FTP_DIR/ka-$name
	ns=$(grep -ciF -- "$stext" "$d/vsftpd.log")
	[[ -n $ctext ]] && nc=$(grep -cF -- "$ctext" "$d/client.log")
	if [[ $ns -eq $count && ( -z $ctext || $nc -eq $count ) ]]; then
		s="$name: the server saw '$stext' $ns times"
		[[ -n $ctext ]] && s+=", the client got '$ctext' $nc times"
		pass "$s"
	else
		s="$name: '$stext' $ns times in the server's log"
		[[ -n $ctext ]] && s+=", '$ctext' $nc times in the client's"
		fail "$s, want $count"
	fi
}

# nat_counters NAME REWRITES: the helper's counters in the router of an
# ftp-sym case whose client made two transfers: each got its expectation,
# its data connection was tracked for the keep-alive, nothing failed or
# was dropped; REWRITES is "changed" when the NAT changes the PORT, EPRT or
# 227 text (nat_rewrites >= 2), "same" when the translated text equals the
# original one (nat_rewrites 0).
nat_counters() {
	local name=$1 rewrites=$2 ns=${KA_NSR[$1]} c v ok=1 s=''

	for c in expect_created keepalive_tracked; do
		v=$(ftp_stat "$ns" "$c")
		s+=" $c=${v:-?}"
		[[ ${v:-0} -ge 2 ]] || ok=0
	done
	v=$(ftp_stat "$ns" nat_rewrites)
	s+=" nat_rewrites=${v:-?}"
	if [[ $rewrites == changed ]]; then
		[[ ${v:-0} -ge 2 ]] || ok=0
	else
		[[ $v == 0 ]] || ok=0
	fi
	for c in expect_failed nat_failed nat_missed dropped; do
		v=$(ftp_stat "$ns" "$c")
		s+=" $c=${v:-?}"
		[[ $v == 0 ]] || ok=0
	done
	if [[ $ok -eq 1 ]]; then
		pass "$name: helper counters:$s"
	else
		fail "$name: helper counters:$s (want >= 2, >= 2, rewrites $rewrites, then 0)"
	fi
}

# keep_check NAME REWRITES WANT SERVER-TEXT [CLIENT-TEXT]: the keep case,
# its two data connections, the text of both transfers, the counters.
keep_check() {
	ka_check "$1"
	nat_tuples "$1" 2 "$3"
	nat_text "$1" 2 "$4" "${5:-}"
	nat_counters "$1" "$2"
}

# The data connections each layout and mode implies (ORIG REPLY).
A_PASV="$CLIENT_IP4>$SERVER_IP4 $SERVER_IP4>$ROUTER_S_IP4"
A_PORT="$SERVER_IP4>$ROUTER_S_IP4 $CLIENT_IP4>$SERVER_IP4"
A6_PORT="$SERVER_IP6>$ROUTER_S_IP6 $CLIENT_IP6>$SERVER_IP6"
B_PASV="$CLIENT_IP4>$ROUTER_C_IP4 $SERVER_IP4>$CLIENT_IP4"
B_PORT="$SERVER_IP4>$CLIENT_IP4 $CLIENT_IP4>$ROUTER_C_IP4"
# What the server sends or receives (vsftpd's log), and the 227 the client
# receives (its log).
S_227="\"227 Entering Passive Mode (${SERVER_IP4//./,},"
A_PASV_C="REPLY 227 Entering Passive Mode (${SERVER_IP4//./,},"
B_PASV_C="REPLY 227 Entering Passive Mode (${ROUTER_C_IP4//./,},"
A_PORT_S="\"PORT ${ROUTER_S_IP4//./,},"
A6_PORT_S="\"EPRT |2|$ROUTER_S_IP6|"
B_PORT_S="\"PORT ${CLIENT_IP4//./,},"

# ------------------------------------------------------------ main

load_modules
[[ -w $KA_PARAM ]] || skip_test "$KA_PARAM is not writable"
ka_orig=$(<"$KA_PARAM")
cleanup_register ka_set_interval "$ka_orig"

have_stock=1
stock_loaded=()
for m in nf_conntrack_ftp nf_nat_ftp; do
	module_loaded "$m" || stock_loaded=("$m" "${stock_loaded[@]}")
done
if ! load_dep_modules nf_conntrack_ftp nf_nat_ftp 2>/dev/null; then
	have_stock=0
	skip "stock nf_conntrack_ftp/nf_nat_ftp not available: no negative controls"
fi
# Leave the stock pair as we found it (NAT module first).
[[ ${#stock_loaded[@]} -gt 0 ]] &&
	cleanup_register ka_unload_stock "${stock_loaded[@]}"
have_ft=1
if ! load_dep_modules nf_flow_table nf_flow_table_inet nft_flow_offload 2>/dev/null; then
	have_ft=0
	skip "nf_flow_table/nft_flow_offload not available: no flowtable case"
fi

ka_make_root
t_start=$EPOCHSECONDS
echo "INFO: modules and tools took ${SECONDS}s"

# The stock helper does not look at keepalive_interval: phase 1 runs with
# the value of phase 2.
ka_set_interval "$KA_INTERVAL"

# Phase 1: the stock pair loses the master through NAT too.
lose=()
if [[ $have_stock -eq 1 ]]; then
	ka_case stock-a ka_router_masq ftp port next lose "$KA_SHORT" || ksft_exit
	ka_case stock-b ka_router_fwd ftp pasv next lose "$KA_SHORT" || ksft_exit
	lose+=(stock-a stock-b)
	echo "INFO: phase 1 (stock pair) after $((EPOCHSECONDS - t_start))s: ${lose[*]}"
	ka_start "${lose[@]}"
fi

# Phase 2 is set up meanwhile.
keep=()
ka_case a-pasv ka_router_masq ftp-sym pasv next keep "$KA_LONG" || ksft_exit
ka_case a-port ka_router_masq ftp-sym port next keep "$KA_LONG" || ksft_exit
ka_case b-pasv ka_router_fwd ftp-sym pasv next keep "$KA_LONG" || ksft_exit
ka_case b-port ka_router_fwd ftp-sym port next keep "$KA_LONG" || ksft_exit
keep+=(a-pasv a-port b-pasv b-port)
if [[ $have_ft -eq 1 ]]; then
	ka_case b-pasv-ft ka_router_fwd_ft ftp-sym pasv next keep "$KA_LONG" ||
		ksft_exit
	keep+=(b-pasv-ft)
fi
ka_case a6-port ka_router_masq ftp-sym port next keep "$KA_LONG" 6 || ksft_exit
keep+=(a6-port)

if [[ $have_stock -eq 1 ]]; then
	ka_check stock-a
	nat_tuples stock-a 1 "$A_PORT"
	nat_text stock-a 1 "$A_PORT_S"
	ka_check stock-b
	nat_tuples stock-b 1 "$B_PASV"
	nat_text stock-b 1 "$S_227" "$B_PASV_C"
fi

echo "INFO: phase 2 (keepalive_interval=$KA_INTERVAL) after $((EPOCHSECONDS - t_start))s: ${keep[*]}"
ka_start "${keep[@]}"
keep_check a-pasv same "$A_PASV" "$S_227" "$A_PASV_C"
keep_check a-port changed "$A_PORT" "$A_PORT_S"
keep_check b-pasv changed "$B_PASV" "$S_227" "$B_PASV_C"
keep_check b-port same "$B_PORT" "$B_PORT_S"
[[ $have_ft -eq 1 ]] && keep_check b-pasv-ft changed "$B_PASV" "$S_227" "$B_PASV_C"
keep_check a6-port changed "$A6_PORT" "$A6_PORT_S"
echo "INFO: done after $((EPOCHSECONDS - t_start))s"

ksft_exit
