#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_netns.sh: policy per network namespace, and refusals through
# nf_log.
#
#   client A ---- router A ---- server A (vsftpd)     two separate routers,
#   client B ---- router B ---- server B (vsftpd)     same addresses, no NAT
#
# Router A writes its own policy (net.netfilter.nf_ftp_sym_*): loose 1,
# allow_low_ports 1, max_expected 1, expect_timeout 20, keepalive_interval
# 0.  Router B writes only loose 0 and follows the module parameters for
# the rest; ftp-sym shows each its own.  At the same time, on one control
# connection through each:
#
#  - a PORT naming a third party: an expectation in A, reject_bounce in B;
#  - a PORT for port 1000: an expectation in A, reject_low_port in B;
#  - three PORT commands: one expectation left in A, three in B;
#  - the expectation's lifetime: at most 20 s in A, the module's 300 in B;
#  - an active transfer: keep-alive tracks its data connection in B only.
#
# Then a module parameter changed at run time reaches B (which did not
# write that setting) and not A; and in B, bound to nfnetlink_log, a
# refusal arrives through nf_log (read with dumpcap on nflog:0) with the
# helper's prefix.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "vsftpd -v" "run test without vsftpd"
checktool "dumpcap -v" "run test without dumpcap"

THIRD=203.0.113.7
params=/sys/module/nf_conntrack_ftp_sym/parameters

load_modules
ftp_make_root 65536

declare -A NS=()
for r in a b; do
	setup_topo
	NS[c$r]=$ns_client NS[r$r]=$ns_router NS[s$r]=$ns_server
	start_vsftpd "$ns_server" >/dev/null || ksft_exit
	router_filter "$ns_router" "$NF_FTP_SYM_HELPER" || ksft_exit
	ns_anchor "$ns_router"
done

# knob NS NAME [VALUE]: read, or write then read, net.netfilter.nf_ftp_sym_NAME.
knob() {
	if [[ $# -eq 3 ]]; then
		ip netns exec "$1" sysctl -q -w "net.netfilter.nf_ftp_sym_$2=$3" || return 1
	fi
	ip netns exec "$1" sysctl -n "net.netfilter.nf_ftp_sym_$2"
}

set_param() {
	echo "$2" 2>/dev/null >"$params/$1"
}
cleanup_register set_param allow_low_ports N
cleanup_register set_param loose N

ok=1
for kv in loose=1 allow_low_ports=1 max_expected=1 expect_timeout=20 keepalive_interval=0; do
	[[ $(knob "${NS[ra]}" "${kv%=*}" "${kv#*=}") == "${kv#*=}" ]] || ok=0
done
[[ $(knob "${NS[rb]}" loose 0) == 0 ]] || ok=0
want_b="0 0 $(<"$params/max_expected") $(<"$params/expect_timeout") $(<"$params/keepalive_interval")"
got_b=$(for k in loose allow_low_ports max_expected expect_timeout keepalive_interval; do
	knob "${NS[rb]}" "$k"; done | tr '\n' ' ')
if [[ $ok -eq 1 && ${got_b% } == "$want_b" ]]; then
	pass "each router has its own settings (B follows the module: $want_b)"
else
	fail "settings: A written ok=$ok, B '${got_b% }', want '$want_b'"
fi

# What ftp-sym shows in each namespace is what applies there.
TOOL=$NF_FTP_SYM_REPO/tools/ftp-sym
if [[ -x $TOOL ]]; then
	tool_a=$(ip netns exec "${NS[ra]}" "$TOOL" --json --counters 2>&1 |
		/usr/bin/python3 -c 'import json, sys; p = json.load(sys.stdin)["params"]; print(p["loose"], p["max_expected"], p["keepalive_interval"])' 2>&1)
	tool_b=$(ip netns exec "${NS[rb]}" "$TOOL" --counters 2>&1 | grep -o ' max_expected=[0-9]*')
	if [[ $tool_a == "True 1 0" && $tool_b == " max_expected=$(<"$params/max_expected")" ]]; then
		pass "ftp-sym shows each namespace's settings (A: loose, max_expected 1, keepalive_interval 0)"
	else
		fail "ftp-sym in A: '$tool_a', in B: '$tool_b'"
	fi
else
	fail "$TOOL not built (make tools)"
fi

for r in a b; do
	if ! peer_start "$r" "${NS[c$r]}" "$SERVER_IP4"; then
		fail "router $r: no session: $PEER_LINE"
		ksft_exit
	fi
done

# both CMD: send CMD on both sessions, then STATSD_a / STATSD_b hold what
# changed in each router.
declare -A DA=() DB=()
both() {
	local r k

	for r in a b; do
		stats_snap "${NS[r$r]}"
		peer_do "$r" cmd "$1"
		stats_diff "${NS[r$r]}"
		for k in expect_created reject_bounce reject_low_port keepalive_tracked; do
			if [[ $r == a ]]; then
				DA[$k]=${STATSD[$k]:-0}
			else
				DB[$k]=${STATSD[$k]:-0}
			fi
		done
	done
}

both "PORT ${THIRD//./,},156,64"
if [[ ${DA[expect_created]} -eq 1 && ${DB[reject_bounce]} -eq 1 &&
	${DB[expect_created]} -eq 0 ]]; then
	pass "third-party PORT: expected in A (loose), refused in B"
else
	fail "third-party PORT: A expect +${DA[expect_created]}, B bounce +${DB[reject_bounce]} expect +${DB[expect_created]}"
fi

both "PORT ${CLIENT_IP4//./,},3,232"
if [[ ${DA[expect_created]} -eq 1 && ${DB[reject_low_port]} -eq 1 &&
	${DB[expect_created]} -eq 0 ]]; then
	pass "PORT for port 1000: expected in A, refused in B"
else
	fail "low port: A expect +${DA[expect_created]}, B low_port +${DB[reject_low_port]} expect +${DB[expect_created]}"
fi

for p in 201 202 203; do
	both "PORT ${CLIENT_IP4//./,},156,$p"
done
expect_scan "${NS[ra]}" 4
na=$(expect_count src="$SERVER_IP4")
expect_scan "${NS[rb]}" 4
nb=$(expect_count src="$SERVER_IP4")
if [[ $na -eq 1 && $nb -eq 3 ]]; then
	pass "three PORTs: 1 expectation kept in A (max_expected 1), 3 in B"
else
	fail "three PORTs: $na expectations in A, $nb in B"
fi

# expect_timeout RNS: the longest remaining lifetime of RNS's expectations.
expect_left() {
	ip netns exec "$1" conntrack -L expect -f ipv4 2>/dev/null |
		awk '{ if ($1 > m) m = $1 } END { print m + 0 }'
}
ta=$(expect_left "${NS[ra]}")
tb=$(expect_left "${NS[rb]}")
if [[ $ta -ge 1 && $ta -le 20 && $tb -gt 200 ]]; then
	pass "expectations live ${ta}s in A (expect_timeout 20), ${tb}s in B"
else
	fail "expectation lifetimes: ${ta}s in A, ${tb}s in B"
fi

for r in a b; do
	stats_snap "${NS[r$r]}"
	if ! peer_do "$r" xfer --mode port --sha256 "$FTP_FILE_SHA"; then
		fail "router $r: transfer: $PEER_LINE"
	fi
	stats_diff "${NS[r$r]}"
	if [[ $r == a ]]; then DA[keepalive_tracked]=${STATSD[keepalive_tracked]:-0}; fi
	if [[ $r == b ]]; then DB[keepalive_tracked]=${STATSD[keepalive_tracked]:-0}; fi
done
if [[ ${DA[keepalive_tracked]} -eq 0 && ${DB[keepalive_tracked]} -eq 1 ]]; then
	pass "keep-alive: off in A (interval 0), the data connection tracked in B"
else
	fail "keep-alive tracked: +${DA[keepalive_tracked]} in A, +${DB[keepalive_tracked]} in B"
fi

# The module parameter reaches B, which did not write allow_low_ports.
set_param allow_low_ports Y
both "PORT ${CLIENT_IP4//./,},3,233"
if [[ $(knob "${NS[rb]}" allow_low_ports) == 1 && ${DB[expect_created]} -eq 1 &&
	$(knob "${NS[ra]}" allow_low_ports) == 1 ]]; then
	pass "allow_low_ports=Y at run time: B follows it, A keeps its own"
else
	fail "allow_low_ports=Y: B reads $(knob "${NS[rb]}" allow_low_ports), expect +${DB[expect_created]}"
fi
set_param allow_low_ports N
set_param loose Y
both "PORT ${THIRD//./,},156,65"
if [[ ${DB[reject_bounce]} -eq 1 ]]; then
	pass "loose=Y at run time: B keeps the 0 it wrote"
else
	fail "loose=Y at run time: B bounce +${DB[reject_bounce]}"
fi
set_param loose N

# nf_log: B's refusals reach nfnetlink_log.
if load_dep_modules nfnetlink_log &&
	ip netns exec "${NS[rb]}" sysctl -q -w net.netfilter.nf_log.2=nfnetlink_log; then
	cap=$FTP_DIR/nflog.pcapng
	ip netns exec "${NS[rb]}" dumpcap -q -i nflog:0 -w "$cap" \
		</dev/null >/dev/null 2>&1 &
	dpid=$!
	cleanup_pid "$dpid"
	# dumpcap binds the group once it runs: retry the refusal until seen.
	for ((i = 0; i < 10; i++)); do
		sleep "$(scaled_s 1)"
		both "PORT ${THIRD//./,},156,$((70 + i))"
		prefixes=$(tshark -r "$cap" -T fields -e nflog.prefix 2>/dev/null)
		[[ $prefixes == *"nf_ct_ftp-sym: refused port: third-party address"* ]] && break
	done
	_kill_pids "$dpid"
	prefixes=$(tshark -r "$cap" -T fields -e nflog.prefix 2>/dev/null)
	if [[ $prefixes == *"nf_ct_ftp-sym: refused port: third-party address"* &&
		${DB[reject_bounce]} -eq 1 ]]; then
		pass "a refusal read through nfnetlink_log: $(head -n 1 <<<"$prefixes")"
	else
		fail "no refusal through nfnetlink_log (prefixes: ${prefixes:-none})"
	fi
else
	fail "cannot bind nfnetlink_log in router B"
fi

for r in a b; do
	peer_stop "$r"
done
ksft_exit
