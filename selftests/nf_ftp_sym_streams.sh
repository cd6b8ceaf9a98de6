#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_streams.sh: the per-connection stream state under NAT, and
# what hostile peers and ctnetlink can do to it.
#
#   client (ftp_peer.py, raw_tcp.py) ---- router ---- server (ftp_peer.py)
#                                         strict filter, ct helper
#                                         "ftp-sym"; masquerade or port
#                                         forward
#
#  A. A 227 whose start passed the router before the PASV did (so it was
#     not held back) and that ends after it: under NAT it cannot be
#     rewritten, and it must open nothing (nat_missed).  An expectation
#     would name the router's own address, which no NAT follows: the
#     router's own port stays refused.
#  B. A retransmission that starts inside a rewritten line and completes a
#     held one: both come out whole, at the right sequence numbers (the
#     server receives exactly the two rewritten lines).
#  C. A retransmission that fills the route's MTU and covers a rewritten
#     line not yet acknowledged: the longer rewritten text must not make
#     the packet too big (no fragmentation failure); the rest follows.
#  D. ctnetlink updates a connection (as conntrackd does) while a PORT line
#     is held back: the line still reaches the server translated.
#  E. Once rewritten lines are acknowledged and nothing is held, a control
#     connection keeps no state beyond the help area (streams_active 0),
#     while it stays open.
#  F. A GRE conntrack whose master is an ftp-sym control connection, made
#     and deleted through ctnetlink (as PPTP's are): nothing takes ftp-sym
#     for PPTP (the kernel treats any master helper with .destroy as PPTP
#     and frees its help data as GRE keymaps).  An expected skip on 6.12,
#     whose core takes every master for PPTP (see F below).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "/usr/bin/python3 -c pass" "run test without python3"
checktool "nstat -V" "run test without nstat"

RAW_TCP=$NF_FTP_SYM_SELFTESTS/raw_tcp.py
NFCT_INJECT=$NF_FTP_SYM_SELFTESTS/nfct_inject
[[ -x $NFCT_INJECT ]] || skip_test "$NFCT_INJECT not built (make selftest-bin)"

load_modules
setup_topo
ftp_make_root 65536
router_filter "$ns_router" "$NF_FTP_SYM_HELPER" || ksft_exit
ns_anchor "$ns_router"
MASQ_TEXT=${ROUTER_S_IP4//./,}

# server_start ARGS...: the scripted server on port 21, recording what it
# receives under FTP_DIR/srv.N.in (N counts the sessions).
SERVER_PID=
server_start() {
	rm -f "$FTP_DIR"/srv.*
	ip netns exec "$ns_server" "$FTP_PEER" server --listen "$SERVER_IP4" \
		--sessions 10 --timeout "$(scaled_s 10)" \
		--record "$FTP_DIR/srv" "$@" </dev/null >/dev/null 2>&1 &
	SERVER_PID=$!
	cleanup_pid "$SERVER_PID"
	wait_listener "$ns_server" 21 || fail "ftp_peer.py server did not start"
}

server_stop() {
	_kill_pids "$SERVER_PID"
}

# streams_idle: the router holds no stream state.
# shellcheck disable=SC2317 # called by busywait
streams_idle() {
	_stats_read "$ns_router"
	[[ ${STATS1[streams_active]:-x} == 0 ]]
}

# ------------------------------------------------------------ A

router_portforward "$ns_router" 21 "" 4 || fail "port-forward ruleset"
ip netns exec "$ns_router" nft -f - <<EOF || fail "input ruleset"
table inet streams_in {
	counter refused { }
	chain in {
		type filter hook input priority 0; policy accept;
		ct state new tcp dport 40000 counter name refused reject with tcp reset
	}
}
EOF
ip netns exec "$ns_router" socat -u -4 TCP-LISTEN:40000,reuseaddr,fork \
	OPEN:/dev/null </dev/null >/dev/null 2>&1 &
cleanup_pid "$!"
wait_listener "$ns_router" 40000 || fail "no listener on the router"
# The NOOP reply ends with the start of a 227 (no request is pending for
# it); the PASV reply is its end.
printf '200 ok\r\n227 Entering Passive Mode (%s,' "${SERVER_IP4//./,}" \
	>"$FTP_DIR/noop.reply"
server_start --reply "PASV=156,64)."
if peer_start a "$ns_client" "$ROUTER_C_IP4"; then
	peer_do a cmd SITE NEXT "$FTP_DIR/noop.reply"
	stats_snap "$ns_router"
	peer_do a cmd NOOP
	peer_do a cmd PASV
	reply=${PEER_LINE#ok * }
	stats_diff "$ns_router"
	expect_scan "$ns_router" 4
	if [[ $reply == "227 "* && ${STATSD[nat_missed]:-x} == 1 &&
		${STATSD[expect_created]} == 0 && $(expect_count dport=40000) == 0 ]]; then
		pass "A: a 227 begun before its PASV opens nothing under NAT (nat_missed, $reply)"
	else
		fail "A: 227 begun before its PASV: reply '$reply', $(stats_show)"
		printf '  %s\n' "${EXP_LINES[@]}" >&2
	fi
	refused0=$(ip netns exec "$ns_router" nft list counter inet streams_in refused |
		awk '$1 == "packets" { print $2 }')
	how=$(ip netns exec "$ns_client" python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(float(sys.argv[2]))
try:
    s.connect((sys.argv[1], 40000)); print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print(e)' "$ROUTER_C_IP4" "$(scaled_s 5)")
	refused1=$(ip netns exec "$ns_router" nft list counter inet streams_in refused |
		awk '$1 == "packets" { print $2 }')
	if [[ $how == refused && $refused1 -gt $refused0 ]]; then
		pass "A: the router's own port 40000 stays refused to the client"
	else
		fail "A: connection to the router's port 40000: $how"
	fi
	peer_stop a
else
	fail "A: no session: $PEER_LINE"
fi
server_stop
ip netns exec "$ns_router" nft delete table inet ftpsym_nat
ip netns exec "$ns_router" nft delete table inet streams_in
ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1

# ------------------------------------------------------------ B, C

router_masquerade "$ns_router" || fail "masquerade ruleset"
ip netns exec "$ns_client" nft -f - <<EOF || fail "client ruleset"
table ip rawtcp {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp sport 33000-33999 tcp flags rst drop
	}
}
EOF

# raw_session NAME SPORT SCRIPT: run raw_tcp.py with SCRIPT (stdin).
raw_session() {
	local name=$1 sport=$2 script=$FTP_DIR/$1.script

	cat >"$script"
	ip netns exec "$ns_client" "$RAW_TCP" --src "$CLIENT_IP4" \
		--dst "$SERVER_IP4" --sport "$sport" --script "$script" \
		--timeout "$(scaled_s 20)" --mss 560
}

# received_lines: the lines the server's latest session received, one per
# line, without CRLF.
received_lines() {
	local f n best=0

	for f in "$FTP_DIR"/srv.*.in; do
		n=${f##*/srv.}
		n=${n%.in}
		[[ $n =~ ^[0-9]+$ && $n -gt $best ]] && best=$n
	done
	[[ $best -gt 0 ]] && tr -d '\r' <"$FTP_DIR/srv.$best.in"
}

# port_line TEXT: TEXT is "PORT <router's address>,p1,p2".
port_line() {
	[[ $1 =~ ^PORT\ ${MASQ_TEXT},[0-9]+,[0-9]+$ ]]
}

server_start
R="PORT ${CLIENT_IP4//./,},156,64\\r\\n"
H1="PORT ${CLIENT_IP4//./,},"
H2="156,65\\r\\n"
out=$(raw_session b 33001 <<EOF
wait 220
send 0 $R
wait 200 PORT ok
send 23 $H1
sleep $((300 * NF_FTP_SYM_TIME_SCALE))
# From inside the rewritten line to the end of the held one.
send 5 ${R:5}$H1$H2
wait 200 PORT ok\\r\\n200 PORT ok
deliver
EOF
)
mapfile -t got < <(received_lines)
if [[ $out == ok && ${#got[@]} -eq 2 ]] && port_line "${got[0]}" &&
	port_line "${got[1]}"; then
	pass "B: a retransmission from inside a rewritten line completing a held one: ${got[*]}"
else
	fail "B: server received ${#got[@]} lines: ${got[*]} (client: $out)"
fi

# C: the router's server side has an MTU of 600; a 598-byte packet whose
# rewritten line grows by 5 bytes would not fit.
ip -n "$ns_router" link set eth_s mtu 600
ip -n "$ns_server" link set eth0 mtu 600
frag_fails() {
	ip netns exec "$ns_router" nstat -az IpFragFails IpFragCreates |
		awk '$1 ~ /^Ip/ { n += $2 } END { print n + 0 }'
}
blk="ip netns exec $ns_server nft"
filler=$(printf 'X%.0s' {1..533})
frags0=$(frag_fails)
out=$(raw_session c 33002 <<EOF
wait 220
exec $blk add table inet blk
exec $blk add chain inet blk in { type filter hook input priority 0 ; }
exec $blk add rule inet blk in tcp dport 21 meta length gt 60 drop
send 0 $R
send 23 $filler\\r\\n
sleep 200
exec $blk delete table inet blk
# One segment from the rewritten line up to the MSS.
send 0 $R$filler\\r\\n
deliver
wait 200 PORT ok
EOF
)
frags1=$(frag_fails)
mapfile -t got < <(received_lines)
if [[ $out == ok && $frags1 -eq $frags0 && ${#got[@]} -eq 2 ]] &&
	port_line "${got[0]}" && [[ ${got[1]} == "$filler" ]]; then
	pass "C: a full-sized retransmission with a rewritten line stays within the MTU"
else
	fail "C: client '$out', router fragmentation counters $frags0 -> $frags1, server got ${#got[@]} lines: ${got[0]:-}"
fi
ip -n "$ns_router" link set eth_s mtu 1500
ip -n "$ns_server" link set eth0 mtu 1500

# ------------------------------------------------------------ D, E

# D: the PORT line is held when ctnetlink updates the connection; its rest
# comes after the update, then the sender sends everything unacknowledged
# again.
out=$(raw_session d 33003 <<EOF
wait 220
send 0 $H1
sleep 200
exec ip netns exec $ns_router $NFCT_INJECT helper $CLIENT_IP4 $SERVER_IP4 33003 21 $NF_FTP_SYM_HELPER
send 15 $H2
sleep 200
deliver
wait 200 PORT ok
EOF
)
mapfile -t got < <(received_lines)
if [[ $out == ok && ${#got[@]} -eq 1 ]] && port_line "${got[0]}"; then
	pass "D: a line held across a ctnetlink update reached the server translated: ${got[0]}"
else
	fail "D: client '$out', server got: ${got[*]}"
fi

# E: a session with a rewritten line, acknowledged, stays open and idle.
if peer_start e "$ns_client" "$SERVER_IP4"; then
	stats_snap "$ns_router"
	peer_do e cmd "PORT ${CLIENT_IP4//./,},156,70"
	stats_diff "$ns_router"
	if [[ $PEER_LINE == ok* && ${STATSD[nat_rewrites]} -eq 1 ]] &&
		busywait 5000 streams_idle; then
		pass "E: rewritten and acknowledged: no stream state while the session stays open"
	else
		fail "E: $PEER_LINE, $(stats_show), streams_active=${STATS1[streams_active]:-?}"
	fi
	peer_stop e
else
	fail "E: no session: $PEER_LINE"
fi

# ------------------------------------------------------------ F

# Debian's 6.12 lacks the check in destroy_gre_conntrack() that only a
# master whose helper has .destroy (PPTP) holds GRE keymaps: it reads any
# master's help area as keymap pointers.  A GRE child made through ctnetlink
# panics it with the stock "ftp" helper as master too (seen in the 6.12
# guest: __list_del_entry_valid_or_report from nf_ct_gre_keymap_destroy), so
# there is nothing a helper can do and F cannot run.
GRE_KEYMAP_UNCHECKED_KERNELS='6.12.*'

# shellcheck disable=SC2053 # a glob
if [[ $(uname -r) == $GRE_KEYMAP_UNCHECKED_KERNELS ]]; then
	skip_on "$GRE_KEYMAP_UNCHECKED_KERNELS" "F: the kernel takes any GRE child's master for PPTP, whatever its helper"
elif peer_start f "$ns_client" "$SERVER_IP4"; then
	port=$(peer_port)
	peer_do f cmd NOOP
	if ip netns exec "$ns_router" "$NFCT_INJECT" gre-child "$CLIENT_IP4" \
		"$SERVER_IP4" "$port" 21 &&
		ip netns exec "$ns_router" conntrack -L -p gre 2>/dev/null |
		grep -q 'src=203.0.113.1'; then
		if ip netns exec "$ns_router" conntrack -D -p gre >/dev/null 2>&1; then
			pass "F: a GRE conntrack with an ftp-sym master made and deleted"
		else
			fail "F: cannot delete the GRE conntrack"
		fi
	else
		fail "F: cannot make a GRE conntrack with an ftp-sym master"
	fi
	peer_do f cmd NOOP
	if [[ $PEER_LINE == ok* ]]; then
		pass "F: the control connection works after its GRE child is gone"
	else
		fail "F: the control connection after the GRE child: $PEER_LINE"
	fi
	peer_stop f
else
	fail "F: no session: $PEER_LINE"
fi
server_stop

ksft_exit
