#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_scale.sh: ten thousand NATed control sessions, no cliff.
#
#   client (scale_peer.py, 10,000 sessions) ---- router ---- server
#                                                DNAT :21 -> server,
#                                                strict filter, ct helper
#
# Every session to the port-forwarded server sends one PASV; the server's
# 227 names its own address, and the router must rewrite it to its public
# one.  With the module's defaults, all 10,000 sessions, open at the same
# time, must get their rewritten 227 (none stalls), with an expectation
# each.  Then, with the sessions open and idle, ftp-sym keeps no state
# beyond the help area (streams_active 0), and the kernel memory per idle
# session (objects in use, from /proc/slabinfo) is compared with the stock
# nf_conntrack_ftp/nf_nat_ftp pair's on the same traffic in the same boot:
# within 256 bytes.  The measure is the growth of every slab cache, client
# and server sockets included (some 6-8 KB a session), and moves by more
# than 64 bytes from run to run with the same modules (ftp-sym minus stock:
# -176 B on 6.12, +84 B on 6.1).  So this catches growth of the help area
# or of what every session allocates, not a stream left per idle session
# (a 256-byte object without its buffers): streams_active 0 checks that.
#
# The test raises nf_conntrack_max and nf_conntrack_expect_max (global on
# 6.1, so in the initial namespace) and puts them back at the end.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

checktool "nft --version" "run test without nft"
checktool "/usr/bin/python3 -c pass" "run test without python3"

SCALE_PEER=$NF_FTP_SYM_SELFTESTS/scale_peer.py
SESSIONS=${NF_FTP_SYM_SCALE_SESSIONS:-10000}
MEM_SLACK=256

load_modules
load_dep_modules nf_conntrack_ftp nf_nat_ftp || skip_test "no stock FTP helper modules"
setup_topo
ftp_make_root 4096
ns_anchor "$ns_router"
router_portforward "$ns_router" 21 "" 4 || ksft_exit

# set_sysctl NAME VALUE: in the router namespace if it takes the value
# there, else globally; the old value comes back at exit.
set_sysctl() {
	local name=$1 value=$2 old

	old=$(sysctl -n "$name")
	if ip netns exec "$ns_router" sysctl -q -w "$name=$value" 2>/dev/null &&
		[[ $(ip netns exec "$ns_router" sysctl -n "$name") == "$value" ]]; then
		return 0
	fi
	sysctl -q -w "$name=$value" || return 1
	cleanup_register sysctl -q -w "$name=$old"
}
set_sysctl net.netfilter.nf_conntrack_max $((SESSIONS * 4)) ||
	fail "cannot raise nf_conntrack_max"
set_sysctl net.netfilter.nf_conntrack_expect_max $((SESSIONS * 2)) ||
	fail "cannot raise nf_conntrack_expect_max"

for ns in "$ns_client" "$ns_server"; do
	ip netns exec "$ns" sysctl -q -w net.ipv4.ip_local_port_range="10000 60999" \
		net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=16384
done

ip netns exec "$ns_server" "$SCALE_PEER" server --listen "$SERVER_IP4" \
	--port-base 10000 </dev/null >/dev/null 2>"$FTP_DIR/server.log" &
cleanup_pid "$!"
wait_listener "$ns_server" 21 || { fail "scale server did not start"; ksft_exit; }

# slab_in_use: bytes in slab objects in use, all caches.  Shrinking first
# gives the per-CPU slabs back, whose free objects slabinfo counts as used
# (allocation churn would otherwise look like memory held).
slab_in_use() {
	local f

	for f in /sys/kernel/slab/*/shrink; do
		echo 1 2>/dev/null >"$f"
	done
	awk 'NR > 2 { n += $2 * $4 } END { printf "%d\n", n }' /proc/slabinfo
}

# shellcheck disable=SC2317 # called by busywait
_line_in() {
	grep -q "^$2" "$1"
}

# shellcheck disable=SC2317 # called by busywait
_ct_count_below() {
	[[ $(ip netns exec "$ns_router" conntrack -C 2>/dev/null) -lt $1 ]]
}

# shellcheck disable=SC2317 # called by busywait
_no_sockets() {
	local ns n

	for ns in "$ns_client" "$ns_server"; do
		n=$(ss -N "$ns" -Htan state all '( sport = :21 or dport = :21 )' | wc -l)
		[[ $n -le 1 ]] || return 1
	done
}

declare -A PER_SESSION=()

# run_scale TYPE: SESSIONS sessions through the router with a helper of
# TYPE ("ftp-sym" or "ftp"); PER_SESSION[TYPE] = slab bytes per session.
run_scale() {
	local type=$1 out=$FTP_DIR/client.$1.out hold=$FTP_DIR/hold.$1 pid
	local ok bad stalled before after nexp

	router_filter "$ns_router" "$type" || return
	busywait 60000 _no_sockets || echo "INFO: sockets of the last run linger"
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	busywait 60000 _ct_count_below 50
	sleep "$(scaled_s 2)"
	before=$(slab_in_use)
	rm -f "$hold"
	ip netns exec "$ns_client" "$SCALE_PEER" client --server "$ROUTER_C_IP4" \
		--count "$SESSIONS" --want "${ROUTER_C_IP4//./,}" --parallel 256 \
		--timeout "$(scaled_s 40)" --hold "$hold" \
		--hold-timeout "$(scaled_s 300)" </dev/null >"$out" 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	if ! busywait "$((200000 * 1))" _line_in "$out" ready; then
		fail "$type: the client never finished: $(tail -n 2 "$out")"
		touch "$hold"
		return
	fi
	read -r _ ok bad stalled < <(grep '^ready' "$out")
	if [[ $ok -eq $SESSIONS ]]; then
		pass "$type: all $SESSIONS concurrent sessions got the rewritten 227"
	else
		fail "$type: $ok of $SESSIONS got the rewritten 227, $bad another reply, $stalled stalled"
		grep '^bad' "$out" >&2
	fi
	nexp=$(expect_total "$ns_router")
	if [[ $nexp -ge $SESSIONS ]]; then
		pass "$type: $nexp expectations"
	else
		fail "$type: $nexp expectations for $SESSIONS sessions"
	fi
	if [[ $type == "$NF_FTP_SYM_HELPER" ]]; then
		stats_snap "$ns_router"
		if busywait 10000 streams_idle; then
			pass "$type: no stream state with $SESSIONS sessions idle (streams_created ${STATS1[streams_created]})"
		else
			fail "$type: streams_active=${STATS1[streams_active]} with the sessions idle"
		fi
	fi
	sleep "$(scaled_s 2)"
	after=$(slab_in_use)
	PER_SESSION[$type]=$(((after - before) / SESSIONS))
	echo "INFO: $type: $(((after - before) / 1024)) KiB of slab objects for $SESSIONS idle sessions, ${PER_SESSION[$type]} bytes each (client, router and server sides)"
	touch "$hold"
	busywait 120000 _line_in "$out" closed || fail "$type: the client did not close"
	wait "$pid" 2>/dev/null
}

# shellcheck disable=SC2317 # called by busywait
streams_idle() {
	_stats_read "$ns_router"
	[[ ${STATS1[streams_active]:-x} == 0 ]]
}

run_scale ftp
run_scale "$NF_FTP_SYM_HELPER"

if [[ -n ${PER_SESSION[ftp]:-} && -n ${PER_SESSION[$NF_FTP_SYM_HELPER]:-} ]]; then
	d=$((PER_SESSION[$NF_FTP_SYM_HELPER] - PER_SESSION[ftp]))
	if [[ $d -le $MEM_SLACK ]]; then
		pass "memory per idle session: ftp-sym ${PER_SESSION[$NF_FTP_SYM_HELPER]} B, stock ${PER_SESSION[ftp]} B (difference $d B, at most $MEM_SLACK)"
	else
		fail "memory per idle session: ftp-sym ${PER_SESSION[$NF_FTP_SYM_HELPER]} B, stock ${PER_SESSION[ftp]} B (difference $d B, more than $MEM_SLACK)"
	fi
fi

ksft_exit
