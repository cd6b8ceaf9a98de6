#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_icmp.sh: ICMP errors are not control-connection bytes.
#
#   client (ftp_peer.py, raw ICMP) ---- router ---- server (vsftpd :21)
#                                       strict forward filter, ct helper
#                                       "ftp-sym"; no NAT, then masquerade
#
# An ICMP(v6) port-unreachable error sent from the client's side, quoting a
# server-to-client segment of a live control connection, is classified
# RELATED to that connection and handed to the helper.  Its bytes were
# never sent on the connection: a helper that parsed them as the client's
# text (the quote ends in "PORT <client>,156,64" or "EPRT |2|<client>|40000|")
# would open the client's port 40000 to the server, through a forward
# policy that refuses new connections.  For each family and layout:
#
#  - errors with four different values where a TCP sequence number would
#    be: the helper counts them (related_ignored) and opens nothing;
#  - the server's connection to the client's port 40000 is refused by the
#    router (its reject rule counts it), while the client listens there;
#  - an active transfer on the same control connection still works: the
#    errors did not move the helper's idea of the client's stream.

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

ICMP_QUOTE=$NF_FTP_SYM_SELFTESTS/icmp_quote.py
DATA_PORT=40000

load_modules
setup_topo
ftp_make_root 65536
start_vsftpd "$ns_server" >/dev/null || ksft_exit
router_filter "$ns_router" "$NF_FTP_SYM_HELPER" || ksft_exit
# New connections to the data port are refused with a RST, and counted:
# only a RELATED one (an expectation) would get past this.
ip netns exec "$ns_router" nft -f - <<EOF || { fail "reject ruleset"; ksft_exit; }
table inet icmp_test {
	counter refused { }
	chain forward_reject {
		type filter hook forward priority -10; policy accept;
		ct state new tcp dport $DATA_PORT counter name refused reject with tcp reset
	}
}
EOF
ns_anchor "$ns_router"

# A listener on the client's data port, so that only the router can refuse.
for fam in 4 6; do
	ip netns exec "$ns_client" socat -u -"$fam" \
		TCP-LISTEN:"$DATA_PORT",reuseaddr,fork OPEN:/dev/null \
		</dev/null >/dev/null 2>&1 &
	cleanup_pid "$!"
done
wait_listener "$ns_client" "$DATA_PORT" || fail "no listener on $DATA_PORT"

refused_count() {
	ip netns exec "$ns_router" nft list counter inet icmp_test refused |
		awk '$1 == "packets" { print $2 }'
}

# connect_error NS FAMILY ADDR PORT: prints how a connection attempt ended
# ("connected", "refused", "timeout", or the error).
connect_error() {
	ip netns exec "$1" python3 - "$2" "$3" "$4" "$(scaled_s 5)" <<'EOF'
import errno, socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[4]))
try:
    s.connect((sys.argv[2], int(sys.argv[3])))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
EOF
}

# shellcheck disable=SC2317 # called by busywait
_related_seen() {
	stats_diff "$ns_router"
	[[ ${STATSD[related_ignored]:-0} -ge $1 ]]
}

# run_case LAYOUT FAMILY
run_case() {
	local layout=$1 fam=$2 name=icmp$2$1 server client text mode
	local port before after how

	if [[ $fam == 4 ]]; then
		server=$SERVER_IP4 client=$CLIENT_IP4 mode=port
		text="\\r\\nPORT ${CLIENT_IP4//./,},156,64\\r\\n"
	else
		server=$SERVER_IP6 client=$CLIENT_IP6 mode=eprt
		text="\\r\\nEPRT |2|$CLIENT_IP6|$DATA_PORT|\\r\\n"
	fi
	if ! peer_start "$name" "$ns_client" "$server"; then
		fail "$layout IPv$fam: no session: $PEER_LINE"
		return
	fi
	port=$(peer_port)

	stats_snap "$ns_router"
	if ! ip netns exec "$ns_client" "$ICMP_QUOTE" --family "$fam" \
		--dst "$server" --inner-src "$server" --inner-dst "$client" \
		--inner-sport 21 --inner-dport "$port" --payload "$text" \
		--unused 0,0x40000000,0x80000000,0xc0000000 >/dev/null; then
		fail "$layout IPv$fam: cannot send the ICMP errors"
		peer_stop "$name"
		return
	fi
	if busywait 5000 _related_seen 4; then
		pass "$layout IPv$fam: 4 ICMP errors quoting the control connection counted as related_ignored"
	else
		fail "$layout IPv$fam: the helper did not count the ICMP errors: $(stats_show)"
	fi

	expect_scan "$ns_router" "$fam"
	if [[ $(expect_count dport=$DATA_PORT) -eq 0 &&
		${STATSD[expect_created]:-0} -eq 0 ]]; then
		pass "$layout IPv$fam: no expectation for the quoted $mode line"
	else
		fail "$layout IPv$fam: the quoted $mode line opened port $DATA_PORT: $(stats_show)"
		printf '  %s\n' "${EXP_LINES[@]}" >&2
	fi

	before=$(refused_count)
	how=$(connect_error "$ns_server" "$fam" "$client" "$DATA_PORT")
	after=$(refused_count)
	if [[ $how == refused && $after -gt $before ]]; then
		pass "$layout IPv$fam: the server's connection to port $DATA_PORT is refused by the router"
	else
		fail "$layout IPv$fam: connection to port $DATA_PORT: $how (router refused $before -> $after)"
	fi

	stats_snap "$ns_router"
	if peer_do "$name" xfer --mode "$mode" --sha256 "$FTP_FILE_SHA"; then
		stats_diff "$ns_router"
		if [[ ${STATSD[expect_created]} -eq 1 && ${STATS1[dropped]} -eq 0 ]]; then
			pass "$layout IPv$fam: $mode transfer on the same control connection"
		else
			fail "$layout IPv$fam: $mode transfer: $(stats_show), dropped=${STATS1[dropped]}"
		fi
	else
		fail "$layout IPv$fam: $mode transfer on the same control connection: $PEER_LINE"
		peer_log "$name"
	fi
	peer_stop "$name"
}

for fam in 4 6; do
	run_case plain "$fam"
done
router_masquerade "$ns_router" || fail "masquerade ruleset"
ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
for fam in 4 6; do
	run_case masquerade "$fam"
done

ksft_exit
