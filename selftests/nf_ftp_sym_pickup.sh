#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_pickup.sh: a control connection picked up in mid-stream from
# the server's side.
#
#   client (ftp_peer.py) ---- router ---- server (vsftpd)
#                             nf_conntrack_tcp_loose=1, strict filter that
#                             also accepts new "tcp sport 21", helper
#                             attached for dport 21 and sport 21
#
# A logged-in, idle control connection loses its conntrack entry
# (conntrack -F) while the server's answer to a NOOP is on its way, and
# nothing from the client reaches conntrack until the server's answer has
# been seen: the connection is picked up with the server as ORIGINAL
# source.  The order is made certain with drop rules in the router's raw
# prerouting chain (before conntrack):
#
#   1. drop server -> client; the client sends NOOP; the server answers
#      (dropped, so it will retransmit);
#   2. drop client -> server too (the client retransmits its NOOP);
#   3. conntrack -F; stop dropping server -> client: the server's
#      retransmitted "200" is the first packet conntrack sees;
#   4. once the entry exists, stop dropping client -> server.
#
# Then the entry must be "src=<server> ... sport=21" with helper=ftp-sym,
# and a new passive transfer (PASV from the REPLY direction, 227 in the
# ORIGINAL one) and a new active one (PORT from the REPLY direction) must
# create their expectations and work, over IPv4 and IPv6.
#
# Negative control: the stock helper (type "ftp"), attached the same way to
# the same kind of picked-up connection, looks for PORT only in the
# ORIGINAL direction and 227 only in the REPLY one: no expectation, and
# both transfers fail under the strict filter.

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

load_modules
setup_topo
ftp_make_root 65536
start_vsftpd "$ns_server" >/dev/null || ksft_exit
sha=$FTP_FILE_SHA

ip netns exec "$ns_router" sysctl -q -w net.netfilter.nf_conntrack_tcp_loose=1 ||
	skip_test "cannot set nf_conntrack_tcp_loose"

# pickup_rules HELPER-TYPE: the filter, with the helper for both ends of
# port 21, and empty raw chains for the drop rules.
pickup_rules() {
	ip netns exec "$ns_router" nft -f - <<EOF
flush ruleset
table inet ftpsym_filter {
	ct helper ftp { type "$1" protocol tcp; l3proto inet; }
	chain pre {
		type filter hook prerouting priority -150; policy accept;
		tcp dport 21 ct helper set "ftp"
		tcp sport 21 ct helper set "ftp"
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		tcp dport 21 ct state new accept
		tcp sport 21 ct state new accept
	}
}
table inet pickup_raw {
	chain from_server {
		type filter hook prerouting priority raw; policy accept;
	}
	chain from_client {
		type filter hook prerouting priority raw; policy accept;
	}
}
EOF
}

# raw_drop CHAIN RULE / raw_pass CHAIN
raw_drop() {
	ip netns exec "$ns_router" nft add rule inet pickup_raw "$1" "${@:2}" counter drop
}

raw_pass() {
	ip netns exec "$ns_router" nft flush chain inet pickup_raw "$1"
}

# raw_dropped CHAIN: packets dropped there so far (0 without a rule).
# shellcheck disable=SC2317 # called by server_answered
raw_dropped() {
	local line n=0

	while read -r line; do
		if [[ $line =~ counter\ packets\ ([0-9]+) ]]; then
			n=${BASH_REMATCH[1]}
		fi
	done < <(ip netns exec "$ns_router" nft list chain inet pickup_raw "$1")
	echo "$n"
}

# shellcheck disable=SC2317 # called by busywait
server_answered() {
	[[ $(raw_dropped from_server) -ge 1 ]]
}

# ct_entries FAMILY: CT_LINES = the router's entries of the control
# connection from client port CPORT.
CT_LINES=()
CPORT=
ct_entries() {
	local line

	CT_LINES=()
	while read -r line; do
		[[ $line == *"port=$CPORT "* ]] && CT_LINES+=("$line")
	done < <(ip netns exec "$ns_router" conntrack -L -f "ipv$1" -p tcp \
		2>/dev/null)
}

# shellcheck disable=SC2317 # called by busywait
picked_up() {
	local fam=$1 server=$2

	ct_entries "$fam"
	[[ ${CT_LINES[*]} == *"src=$server "* ]]
}

# orig_is LINE SRC SPORT: the ORIGINAL tuple of conntrack line LINE starts
# at SRC:SPORT.
orig_is() {
	local tok src='' sport=''
	local -a toks

	read -ra toks <<<"$1"
	for tok in "${toks[@]}"; do
		[[ -z $src && $tok == src=* ]] && src=${tok#src=}
		[[ -z $sport && $tok == sport=* ]] && sport=${tok#sport=}
	done
	[[ $src == "$2" && $sport == "$3" ]]
}

# pickup NAME FAMILY CLIENT SERVER HELPER-TYPE: log in, then make the
# router pick the connection up from the server's side; checks the entry.
pickup() {
	local name=$1 fam=$2 client=$3 server=$4 type=$5 line

	pickup_rules "$type" || { fail "pickup ruleset rejected"; return 1; }
	if ! peer_start "$name" "$ns_client" "$server"; then
		fail "IPv$fam $type: cannot log in: $PEER_LINE"
		return 1
	fi
	CPORT=$(peer_port)
	ct_entries "$fam"
	if [[ ${#CT_LINES[@]} -ne 1 ]] || ! orig_is "${CT_LINES[0]}" "$client" "$CPORT"; then
		fail "IPv$fam $type: before the pickup, want one entry from the client: ${CT_LINES[*]}"
		return 1
	fi

	raw_drop from_server iifname eth_s tcp sport 21
	peer_do "$name" send NOOP
	if ! busywait 10000 server_answered; then
		fail "IPv$fam $type: the server did not answer NOOP"
		return 1
	fi
	raw_drop from_client iifname eth_c tcp dport 21
	ip netns exec "$ns_router" conntrack -F 2>/dev/null
	ct_entries "$fam"
	if [[ ${#CT_LINES[@]} -ne 0 ]]; then
		fail "IPv$fam $type: conntrack -F left ${CT_LINES[*]}"
		return 1
	fi
	raw_pass from_server
	# The server retransmits with backoff: a few seconds at most.
	if ! busywait 20000 picked_up "$fam" "$server"; then
		fail "IPv$fam $type: no entry from the server after the flush"
		raw_pass from_client
		return 1
	fi
	raw_pass from_client
	if ! peer_do "$name" reply; then
		fail "IPv$fam $type: the NOOP reply did not arrive: $PEER_LINE"
		return 1
	fi

	ct_entries "$fam"
	line=${CT_LINES[0]}
	if [[ ${#CT_LINES[@]} -eq 1 ]] && orig_is "$line" "$server" 21 &&
		[[ $line == *"helper=$type"* ]]; then
		pass "IPv$fam $type: picked up from the server: ORIGINAL src=$server sport=21, helper=$type"
	else
		fail "IPv$fam $type: picked-up entry is not from the server with helper=$type: ${CT_LINES[*]}"
		return 1
	fi
}

# pickup_xfer NAME FAMILY MODE SRC DST WANT: a transfer on the picked-up
# connection; WANT "ok": the expectation SRC -> DST:port exists and the
# transfer works; "none": no expectation, the transfer fails.
pickup_xfer() {
	local name=$1 fam=$2 mode=$3 src=$4 dst=$5 want=$6 type=$7 port n
	local what="IPv$fam $type: $mode transfer after the pickup"

	if ! peer_do "$name" xfer --mode "$mode" --hold --sha256 "$sha" \
		--data-timeout "$(scaled_s 2)"; then
		fail "$what: endpoint exchange failed: $PEER_LINE"
		peer_log "$name"
		return 1
	fi
	port=$(peer_port)
	expect_scan "$ns_router" "$fam"
	n=$(expect_count src="$src" dst="$dst" dport="$port")
	if [[ $want == ok ]]; then
		if [[ $n -ne 1 ]]; then
			fail "$what: no expectation $src -> $dst port $port"
			printf '  %s\n' "${EXP_LINES[@]}" >&2
		fi
		if peer_do "$name" go; then
			[[ $n -eq 1 ]] && pass "$what: expectation, transfer ok"
		else
			fail "$what: $PEER_LINE"
			peer_log "$name"
		fi
	else
		if [[ $n -ne 0 ]]; then
			fail "$what: the stock helper created an expectation: ${EXP_LINES[*]}"
		fi
		if peer_do "$name" go; then
			fail "$what: worked without an expectation: the filter is not strict"
		elif [[ $n -eq 0 ]]; then
			pass "$what: no expectation, transfer fails"
		fi
	fi
}

for fam in 4 6; do
	if [[ $fam == 4 ]]; then
		cl=$CLIENT_IP4 sv=$SERVER_IP4
	else
		cl=$CLIENT_IP6 sv=$SERVER_IP6
	fi
	stats_snap "$ns_router"
	if pickup "pk$fam" "$fam" "$cl" "$sv" "$NF_FTP_SYM_HELPER"; then
		if [[ $fam == 4 ]]; then
			modes=(pasv port)
		else
			modes=(epsv eprt)
		fi
		pickup_xfer "pk$fam" "$fam" "${modes[0]}" "$cl" "$sv" ok "$NF_FTP_SYM_HELPER"
		pickup_xfer "pk$fam" "$fam" "${modes[1]}" "$sv" "$cl" ok "$NF_FTP_SYM_HELPER"
	fi
	peer_stop "pk$fam"
	stats_diff "$ns_router"
	if [[ ${STATSD[role_conflict]-} == 0 && ${STATSD[reject_direction]-} == 0 &&
		${STATSD[dropped]-} == 0 && ${STATSD[reject_unsolicited]-} == 0 ]]; then
		pass "IPv$fam counters: no role conflict, nothing rejected or dropped ($(stats_show))"
	else
		fail "IPv$fam counters: $(stats_show)"
	fi
done

# ------------------------------------------------------------ stock helper

if ! module_loaded nf_conntrack_ftp; then
	if ! modprobe -q nf_conntrack_ftp; then
		skip "negative control: nf_conntrack_ftp not available"
		ksft_exit
	fi
	cleanup_register rmmod_bounded nf_conntrack_ftp
fi
# The table holds the stock module: it goes first at cleanup.
cleanup_register ip netns exec "$ns_router" nft delete table inet ftpsym_filter

if pickup st "4" "$CLIENT_IP4" "$SERVER_IP4" ftp; then
	pickup_xfer st 4 pasv "$CLIENT_IP4" "$SERVER_IP4" none ftp
	pickup_xfer st 4 port "$SERVER_IP4" "$CLIENT_IP4" none ftp
fi
# vsftpd may still be trying to connect: no QUIT.
peer_stop st close

ksft_exit
