#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_nat_split.sh: commands and replies split across TCP segments,
# rewritten through NAT, at every byte offset.
#
#   A. masqueraded client:    PORT and EPRT split, vsftpd serving
#   B. port-forwarded server: 227 and 229 split, scripted server
#
#   client 192.0.2.1 ---- router 192.0.2.254 | 198.51.100.254 ---- server
#                         A: masquerade out eth_s      198.51.100.1
#                         B: dnat 192.0.2.254:21 -> server
#
# ftp_peer.py sends the line in separate segments (TCP_NODELAY, a pause
# between them); one control connection carries a transfer per offset, so
# every rewrite also changes the length of what follows (seqadj).  The
# router holds the incomplete line back and emits it, rewritten, in front of
# the rest.  Each transfer must complete with the right data, the server
# must only ever see the router's address, and the helper must drop
# nothing.  Then again with SACK off, and with loss, delay and reordering
# on the router's links (out-of-order segments of a rewritten stream are
# dropped on purpose there, counted, so the sender resends them in order).
# The stock helper is run on a few offsets for reference: it drops the
# partial segment and the session stalls.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

checktool "nft --version" "run test without nft"
checktool "vsftpd -v" "run test without vsftpd"
checktool "python3 --version" "run test without python3"
checktool "tc -V" "run test without tc"

load_modules
setup_topo
ftp_make_root 16384

PUB4=$ROUTER_C_IP4
# Data ports 51210..51299: "200,NN" keeps every PORT/227 line one length.
DPORT=51210

# router_setup HELPER masq|fwd: the strict filter with HELPER, and the
# masqueraded client or the port-forwarded server (IPv4, port 21).
router_setup() {
	ip netns exec "$ns_router" nft flush ruleset
	router_filter "$ns_router" "$1" || return 1
	if [[ $2 == masq ]]; then
		router_masquerade "$ns_router"
	else
		router_portforward "$ns_router" 21 21 4
	fi
}

# split_all NAME MODE LEN [XFER-OPTIONS...]: one transfer for each split
# offset 1..LEN-1 of the command on the open session NAME.
split_all() {
	local name=$1 mode=$2 len=$3 k bad=() n=0 port

	shift 3
	for ((k = 1; k < len; k++)); do
		port=$((DPORT + k))
		[[ $mode == pasv || $mode == epsv ]] && port=0
		n=$((n + 1))
		if ! peer_do "$name" xfer --mode "$mode" --split "$k" \
			--gap-ms 60 --data-port "$port" --sha256 "$FTP_FILE_SHA" \
			"$@"; then
			bad+=("$k")
			echo "# $name $mode split at $k: $PEER_LINE" >&2
			peer_log "$name"
			break
		fi
	done
	if [[ ${#bad[@]} -eq 0 ]]; then
		pass "$name: $mode split at each of $n offsets, one session"
	else
		fail "$name: $mode split failed at offset ${bad[*]}"
	fi
}

# ------------------------------------------------------------ A: PORT, EPRT
vsftpd_pid=$(start_vsftpd "$ns_server" xferlog_enable=YES \
	log_ftp_protocol=YES xferlog_std_format=NO \
	"vsftpd_log_file=$FTP_DIR/vsftpd.log") || ksft_exit
router_setup ftp-sym masq || ksft_exit
stats_snap "$ns_router"

# "PORT 192,0,2,1,200,NN\r\n" is 24 bytes, "EPRT |1|192.0.2.1|512NN|\r\n" 27.
if peer_start A "$ns_client" "$SERVER_IP4" --timeout "$(scaled_s 8)"; then
	split_all A port 24
	split_all A eprt 27
	peer_stop A
else
	fail "A: cannot log in through the router: $PEER_LINE"
fi
stats_diff "$ns_router"
if grep -qE "PORT ${CLIENT_IP4//./,},|EPRT \|1\|$CLIENT_IP4\|" "$FTP_DIR/vsftpd.log"; then
	fail "A: the client's private address reached the server"
else
	pass "A: the server only saw the router's address"
fi
if [[ ${STATSD[nat_held_lines]:-0} -ge 40 && ${STATSD[dropped]-} == 0 ]]; then
	pass "A: ${STATSD[nat_held_lines]} lines held back and rewritten, none dropped"
else
	fail "A: held ${STATSD[nat_held_lines]:-0} lines, dropped ${STATSD[dropped]:-0}"
fi

# SACK off on both ends.
ip netns exec "$ns_client" sysctl -qw net.ipv4.tcp_sack=0
ip netns exec "$ns_server" sysctl -qw net.ipv4.tcp_sack=0
if peer_start A0 "$ns_client" "$SERVER_IP4" --timeout "$(scaled_s 8)"; then
	split_all A0 port 24
	peer_stop A0
else
	fail "A sack=0: cannot log in: $PEER_LINE"
fi
ip netns exec "$ns_client" sysctl -qw net.ipv4.tcp_sack=1
ip netns exec "$ns_server" sysctl -qw net.ipv4.tcp_sack=1

# Loss, delay and reordering on both router links (their egress), and on
# the client's link towards the router.
for dev in eth_c eth_s; do
	ip netns exec "$ns_router" tc qdisc add dev "$dev" root netem \
		loss 8% delay 15ms 10ms reorder 25% 50%
done
ip netns exec "$ns_client" tc qdisc add dev eth0 root netem \
	loss 8% delay 15ms 10ms reorder 25% 50%
# netem may, rarely, lose nothing on the control connection: another
# round then (at most three), rather than a skip.
stats_snap "$ns_router"
for round in 1 2 3; do
	if peer_start "AN$round" "$ns_client" "$SERVER_IP4" --timeout "$(scaled_s 20)"; then
		split_all "AN$round" port 24
		peer_stop "AN$round"
	else
		fail "A netem: cannot log in: $PEER_LINE"
	fi
	stats_diff "$ns_router"
	[[ ${STATSD[retransmitted]:-0} -gt 0 ]] && break
done
echo "# netem: $round round(s), out_of_order ${STATSD[out_of_order]:-0}," \
	"retransmitted ${STATSD[retransmitted]:-0}," \
	"reemitted ${STATSD[nat_reemitted]:-0}, dropped ${STATSD[dropped]:-0}"
if [[ ${STATSD[retransmitted]:-0} -gt 0 ]]; then
	pass "A netem: retransmissions of held and rewritten lines handled"
else
	fail "A netem: no retransmission happened on the control connection in $round rounds: the case tested nothing"
fi
ip netns exec "$ns_client" tc qdisc del dev eth0 root
for dev in eth_c eth_s; do
	ip netns exec "$ns_router" tc qdisc del dev "$dev" root
done

# ------------------------------------------------------------ B: 227, 229
stop_vsftpd "$ns_server" "$vsftpd_pid"
router_setup ftp-sym fwd || ksft_exit

# start_server SESSIONS SPLIT...: the scripted server, the k-th 227/229
# reply cut at the k-th SPLIT.
start_server() {
	local sessions=$1 k
	local -a splits=()

	shift
	for k in "$@"; do
		splits+=(--split "$k")
	done
	ip netns exec "$ns_server" "$FTP_PEER" server --listen "$SERVER_IP4" \
		--file "$FTP_DIR/root/file.bin" --sessions "$sessions" \
		--data-port-base "$DPORT" --gap-ms 60 "${splits[@]}" \
		--timeout "$(scaled_s 8)" --accept-timeout "$(scaled_s 60)" \
		2>>"$FTP_DIR/server.log" &
	cleanup_pid $!
	wait_listener "$ns_server" 21
}

# "227 Entering Passive Mode (198,51,100,1,200,NN).\r\n" is 49 bytes, the
# 229 reply 47.  Offsets 1..48 for the 227s, then 1..46 for the 229s.
stats_snap "$ns_router"
if start_server 1 $(seq 1 48) $(seq 1 46) &&
	peer_start B "$ns_client" "$PUB4" --timeout "$(scaled_s 8)"; then
	split_all B pasv 49 --use-pasv-addr
	split_all B epsv 47
	peer_stop B
else
	fail "B: cannot log in through the port forward: $PEER_LINE"
fi
stats_diff "$ns_router"
if [[ ${STATSD[nat_held_lines]:-0} -ge 40 && ${STATSD[dropped]-} == 0 &&
	${STATSD[nat_rewrites]:-0} -ge 48 ]]; then
	pass "B: ${STATSD[nat_rewrites]} replies rewritten, ${STATSD[nat_held_lines]} held, none dropped"
else
	fail "B: rewrote ${STATSD[nat_rewrites]:-0}, held ${STATSD[nat_held_lines]:-0}, dropped ${STATSD[dropped]:-0}"
fi

# ------------------------------------------------------------ reference
# The stock pair on a PORT split inside the numbers: it drops the segment
# with the partial line; the transfer cannot complete.
if modprobe -q nf_conntrack_ftp && modprobe -q nf_nat_ftp; then
	vsftpd_pid=$(start_vsftpd "$ns_server") || ksft_exit
	router_setup ftp masq || ksft_exit
	if peer_start S "$ns_client" "$SERVER_IP4" --timeout "$(scaled_s 4)" &&
		peer_do S xfer --mode port --split 12 --gap-ms 60 \
			--data-port $((DPORT + 1)) --sha256 "$FTP_FILE_SHA"; then
		echo "# reference: the stock helper handled a PORT split at 12"
	else
		echo "# reference: the stock helper fails a PORT split at 12 ($PEER_LINE)"
	fi
	peer_stop S close
	ip netns exec "$ns_router" nft flush ruleset
	modprobe -r nf_nat_ftp nf_conntrack_ftp 2>/dev/null
fi

ksft_exit
