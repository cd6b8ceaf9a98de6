#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_policy.sh: what the helper refuses, and why.
#
#   client (ftp_peer.py) ---- router ---- server (vsftpd :21, ftp_peer.py :2121)
#                             strict forward filter, ct helper "ftp-sym"
#                             on ports 21 and 2121, no NAT
#
# Each case below is a command or reply on a live control connection
# through the router; after it, no expectation (conntrack, counters), the
# counter that says why grows by one, nothing is dropped, and the same
# control connection still carries a legitimate transfer:
#
#  - FTP bounce: PORT/EPRT naming a third party (203.0.113.7): refused
#    (reject_bounce) unless loose=1, which does create the expectation;
#  - data ports below 1024 (reject_low_port), unless allow_low_ports=1;
#  - 227/229 nobody asked for: in the banner, as the answer to NOOP or SYST
#    (reject_unsolicited), also after a PASV that was answered already;
#  - 50 PORT commands on one connection: never more than max_expected
#    expectations at once, the newest ones win, the next transfer works;
#  - malformed numbers in PORT, EPRT and 227 (out of range, port 0, too
#    few or many fields, signs, leading zeros, bad family, address or
#    delimiter, NUL, an over-long line): parse_error and the per-reason
#    counter;
#  - "227 Logout." (no numbers) answering a PASV: parse_error_nonum, no
#    drop, the session goes on;
#  - a 227 nobody asked for, after a PASV that was answered by "227 Logout."
#    or "425": refused too (the helper pairs each final reply with its
#    request, in order).

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
router_filter "$ns_router" "$NF_FTP_SYM_HELPER" "21, 2121" || ksft_exit
ns_anchor "$ns_router"
sha=$FTP_FILE_SHA
THIRD=203.0.113.7

params=/sys/module/nf_conntrack_ftp_sym/parameters

# set_param NAME VALUE: a runtime parameter, put back to N at exit.
set_param() {
	echo "$2" 2>/dev/null >"$params/$1"
}
cleanup_register set_param loose N
cleanup_register set_param allow_low_ports N
set_param loose N
set_param allow_low_ports N
max_expected=$(<"$params/max_expected")

# check NAME WHAT COUNTER WANT-EXPECT [PATTERN...]: after a "cmd" action
# (already sent by the caller, answer in PEER_LINE, counters snapped
# before it): the session answered, COUNTER grew by exactly one,
# expect_created by WANT-EXPECT (0 or 1), nothing was dropped, and the
# expectations matching PATTERN (see expect_count) number WANT-EXPECT.
check() {
	local what=$2 counter=$3 want=$4 errs='' n fam=4

	shift 4
	[[ $PEER_LINE == ok* ]] || errs+=" no answer: $PEER_LINE;"
	stats_diff "$ns_router"
	if [[ -n $counter && ${STATSD[$counter]:-x} != 1 ]]; then
		errs+=" $counter +${STATSD[$counter]:-?}, want +1;"
	fi
	[[ ${STATSD[expect_created]} -eq $want ]] ||
		errs+=" expect_created +${STATSD[expect_created]}, want +$want;"
	[[ ${STATS1[dropped]-} == 0 ]] || errs+=" dropped=${STATS1[dropped]};"
	if [[ $# -gt 0 ]]; then
		[[ $* == *:* ]] && fam=6
		expect_scan "$ns_router" "$fam"
		n=$(expect_count "$@")
		[[ $n -eq $want ]] || errs+=" $n expectations $*, want $want;"
	fi
	if [[ -z $errs ]]; then
		pass "$what (${PEER_LINE#ok * })"
	else
		fail "$what:$errs $(stats_show)"
		printf '  %s\n' "${EXP_LINES[@]}" >&2
	fi
}

# cmd_check NAME COMMAND WHAT COUNTER WANT-EXPECT [PATTERN...]
cmd_check() {
	local name=$1 command=$2

	shift 2
	stats_snap "$ns_router"
	peer_do "$name" cmd "$command"
	check "$name" "$@"
}

# xfer_check NAME WHAT XFER-OPTIONS...: a legitimate transfer still works.
xfer_check() {
	local name=$1 what=$2

	shift 2
	stats_snap "$ns_router"
	if peer_do "$name" xfer --sha256 "$sha" "$@"; then
		stats_diff "$ns_router"
		if [[ ${STATSD[expect_created]} -eq 1 ]]; then
			pass "$what"
		else
			fail "$what: expect_created +${STATSD[expect_created]}"
		fi
	else
		fail "$what: $PEER_LINE"
		peer_log "$name"
	fi
}

# ------------------------------------------------------------ bounce, low ports

if peer_start v "$ns_client" "$SERVER_IP4"; then
	cmd_check v "PORT ${THIRD//./,},195,80" "bounce: PORT naming $THIRD refused" \
		reject_bounce 0 dst=$THIRD dport=50000
	cmd_check v "EPRT |1|$THIRD|50001|" "bounce: EPRT naming $THIRD refused" \
		reject_bounce 0 dst=$THIRD dport=50001
	set_param loose Y
	cmd_check v "PORT ${THIRD//./,},195,82" "bounce: loose=1 expects $THIRD:50002" \
		"" 1 src="$SERVER_IP4" dst=$THIRD dport=50002 helper="$NF_FTP_SYM_HELPER"
	set_param loose N
	cmd_check v "PORT ${THIRD//./,},195,83" "bounce: loose=0 again refuses" \
		reject_bounce 0 dst=$THIRD dport=50003

	cmd_check v "PORT ${CLIENT_IP4//./,},3,232" "low port: PORT to port 1000 refused" \
		reject_low_port 0 dport=1000
	cmd_check v "EPRT |1|$CLIENT_IP4|1001|" "low port: EPRT to port 1001 refused" \
		reject_low_port 0 dport=1001
	set_param allow_low_ports Y
	cmd_check v "PORT ${CLIENT_IP4//./,},3,234" "low port: allow_low_ports=1 expects port 1002" \
		"" 1 src="$SERVER_IP4" dst="$CLIENT_IP4" dport=1002 helper="$NF_FTP_SYM_HELPER"
	set_param allow_low_ports N
	xfer_check v "bounce, low ports: the control connection still transfers (PORT)" \
		--mode port

	# -------------------------------------------------------- malformed

	malformed=(
		"PORT 192,0,2,256,195,80|range|octet 256"
		"PORT 192,0,2,1,0,0|range|port 0"
		"EPRT |1|192.0.2.1|65536||range|EPRT port 65536"
		"EPRT |1|192.0.2.1|0||range|EPRT port 0"
		"PORT 192,0,2,1,195|syntax|5 fields"
		"PORT 192,0,2,1,195,80,1|syntax|7 fields"
		"PORT +192,0,2,1,195,80|syntax|sign +"
		"PORT 192,0,2,1,-195,80|syntax|sign -"
		"PORT 192,0,2,1,0195,80|overlong|0195"
		"PORT 0192,0,2,1,195,80|overlong|0192"
		"EPRT |1|192.0.2.1|050000||overlong|EPRT port 050000"
		"EPRT |3|192.0.2.1|50000||family|EPRT family 3"
		"EPRT |1|192.0.2.300|50000||addr|EPRT address 192.0.2.300"
		"EPRT |1|192.0.2.1!50000||delim|EPRT mismatched delimiter"
	)
	for m in "${malformed[@]}"; do
		what=${m##*|}
		m=${m%|*}
		reason=${m##*|}
		command=${m%|*}
		cmd_check v "$command" "malformed: $what -> parse_error_$reason" \
			"parse_error_$reason" 0
		[[ ${STATSD[parse_error]} -eq 1 ]] ||
			fail "malformed: $what: parse_error +${STATSD[parse_error]}"
	done
	# NUL inside the line, and a line longer than the helper looks at.
	stats_snap "$ns_router"
	peer_do v sendraw 'PORT 192,0,2,1,195,80\x00\r\n' && peer_do v reply
	check v "malformed: NUL in PORT -> parse_error_nul" parse_error_nul 0
	printf -v pad '%300s' ''
	cmd_check v "PORT 192,0,2,1,195,80$pad" \
		"malformed: PORT line of 321 bytes -> parse_error_longline" \
		parse_error_longline 0
	xfer_check v "malformed: the control connection still transfers (PORT)" \
		--mode port
	xfer_check v "malformed: the control connection still transfers (EPRT)" \
		--mode eprt

	# -------------------------------------------------------- max_expected

	# All expectations in the router are this connection's from here on.
	stats_snap "$ns_router"
	over=0 most=0 fails=0
	for ((i = 0; i < 50; i++)); do
		p=$((51000 + i))
		peer_do v cmd "PORT ${CLIENT_IP4//./,},$((p >> 8)),$((p & 255))" ||
			fails=$((fails + 1))
		n=$(expect_total "$ns_router")
		[[ $n -gt $most ]] && most=$n
		[[ $n -gt $max_expected ]] && over=$((over + 1))
	done
	stats_diff "$ns_router"
	expect_scan "$ns_router" 4
	newest=$(expect_count dport=51049 dst="$CLIENT_IP4")
	oldest=$(expect_count dport=51000)
	if [[ $fails -eq 0 && $over -eq 0 && $most -eq $max_expected &&
		${STATSD[expect_created]} -eq 50 && $newest -eq 1 && $oldest -eq 0 ]]; then
		pass "50 PORTs: at most $most expectations at once (max_expected=$max_expected), the newest kept ($(stats_show))"
	else
		fail "50 PORTs: $fails failed, $over samples over $max_expected, at most $most, newest $newest, oldest $oldest ($(stats_show))"
		printf '  %s\n' "${EXP_LINES[@]}" >&2
	fi
	xfer_check v "50 PORTs: the next transfer works (PORT)" --mode port
	xfer_check v "50 PORTs: the next transfer works (PASV)" --mode pasv
	peer_stop v
else
	fail "cannot log in to vsftpd: $PEER_LINE"
fi

# IPv6: bounce and low port with EPRT.
if peer_start v6 "$ns_client" "$SERVER_IP6"; then
	cmd_check v6 "EPRT |2|2001:db8:3::7|50010|" "bounce: EPRT naming 2001:db8:3::7 refused (IPv6)" \
		reject_bounce 0 dst=2001:db8:3::7 dport=50010
	cmd_check v6 "EPRT |2|$CLIENT_IP6|1003|" "low port: EPRT to port 1003 refused (IPv6)" \
		reject_low_port 0 dport=1003 dst="$CLIENT_IP6"
	cmd_check v6 "EPRT |1|$CLIENT_IP4|50011|" "family: EPRT |1| on an IPv6 connection refused" \
		reject_family 0
	xfer_check v6 "IPv6: the control connection still transfers (EPRT)" --mode eprt
	peer_stop v6
else
	fail "cannot log in to vsftpd over IPv6: $PEER_LINE"
fi

# ------------------------------------------------------------ scripted server

# Sessions in this order; the k-th PASV of the whole run gets the k-th 227.
#  u: unsolicited 227/229 (banner, NOOP, SYST), then a real PASV (#1)
#  l: "227 Logout." (#2), a real PASV (#3), then an unsolicited 227 (STAT)
#  r: PASV refused with 425 (#4), then an unsolicited 227 (HELP)
#  m: malformed 227s (#5-#10), a real PASV (#11)
# Each unsolicited 227 names its own port, so that one session's
# expectation cannot hide or clash with another's.
unsol() {
	echo "227 Entering Passive Mode (198,51,100,1,195,$1)."
}
r227=("227 Entering Passive Mode (%s)." "227 Logout." "227 Entering Passive Mode (%s)."
	"425 Cannot open passive connection."
	"227 Entering Passive Mode (198,51,100,1,256,1)."
	"227 Entering Passive Mode (198,51,100,1,0,0)."
	"227 Entering Passive Mode (198,51,100,1,+195,1)."
	"227 Entering Passive Mode (-198,51,100,1,195,1)."
	"227 Entering Passive Mode (198,51,100,1,195)."
	"227 Entering Passive Mode (198,51,100,1,0195,1)."
	"227 Entering Passive Mode (%s).")
m227=("range|octet 256" "range|port 0" "syntax|sign +" "syntax|sign - before the first number"
	"syntax|5 fields" "overlong|0195")
args=()
for r in "${r227[@]}"; do
	args+=(--reply227 "$r")
done
ip netns exec "$ns_server" "$FTP_PEER" server --listen :: --port 2121 \
	--sessions 4 --file "$FTP_DIR/root/file.bin" --timeout "$(scaled_s 5)" \
	--accept-timeout "$(scaled_s 150)" "${args[@]}" \
	--banner "$(unsol 80)\\r\\n220 ftp_peer ready" \
	--reply "NOOP=$(unsol 81)" \
	--reply "SYST=229 Entering Extended Passive Mode (|||50002|)" \
	--reply "STAT=$(unsol 83)" \
	--reply "HELP=$(unsol 84)" \
	2>"$FTP_DIR/server2121.log" &
cleanup_pid $!
wait_listener "$ns_server" 2121 || fail "ftp_peer.py server did not start"

# late_unsolicited NAME VERB PORT WHAT: VERB is answered by an unsolicited
# 227 naming PORT, after a PASV that got its answer already, though not a
# usable one.  A reply only answers its own request: refused.
late_unsolicited() {
	local name=$1 verb=$2 port=$3 what=$4 n

	stats_snap "$ns_router"
	peer_do "$name" cmd "$verb"
	stats_diff "$ns_router"
	expect_scan "$ns_router" 4
	n=$(expect_count dport="$port")
	if [[ $PEER_LINE == ok* && ${STATSD[reject_unsolicited]} -eq 1 &&
		$n -eq 0 && ${STATSD[expect_created]-} == 0 ]]; then
		pass "$what: refused"
	else
		fail "$what: $PEER_LINE, $n expectations for port $port ($(stats_show))"
	fi
}

stats_snap "$ns_router"
if peer_start u "$ns_client" "$SERVER_IP4" --port 2121; then
	check u "unsolicited: 227 before the 220 banner refused" \
		reject_unsolicited 0 dport=50000
	cmd_check u NOOP "unsolicited: 227 answering NOOP refused" \
		reject_unsolicited 0 dport=50001
	cmd_check u SYST "unsolicited: 229 answering SYST refused" \
		reject_unsolicited 0 dport=50002
	xfer_check u "unsolicited: a real PASV still works" --mode pasv
	cmd_check u NOOP "unsolicited: 227 after an answered PASV refused" \
		reject_unsolicited 0 dport=50001
	peer_stop u
else
	fail "cannot log in to the scripted server: $PEER_LINE"
fi

if peer_start l "$ns_client" "$SERVER_IP4" --port 2121; then
	cmd_check l PASV "\"227 Logout.\" answering PASV: parse_error_nonum, no drop" \
		parse_error_nonum 0
	xfer_check l "\"227 Logout.\": the session goes on (PASV)" --mode pasv
	late_unsolicited l STAT 50003 "\"227 Logout.\", PASV, 227: then an unsolicited 227"
	peer_stop l
else
	fail "cannot log in to the scripted server: $PEER_LINE"
fi

if peer_start r "$ns_client" "$SERVER_IP4" --port 2121; then
	cmd_check r PASV "PASV refused with 425: nothing expected" "" 0
	late_unsolicited r HELP 50004 "PASV refused with 425, then an unsolicited 227"
	peer_stop r
else
	fail "cannot log in to the scripted server: $PEER_LINE"
fi

if peer_start m "$ns_client" "$SERVER_IP4" --port 2121; then
	for m in "${m227[@]}"; do
		cmd_check m PASV "malformed 227: ${m#*|} -> parse_error_${m%%|*}" \
			"parse_error_${m%%|*}" 0
	done
	xfer_check m "malformed 227: the session goes on (PASV)" --mode pasv
	peer_stop m
else
	fail "cannot log in to the scripted server: $PEER_LINE"
fi

ksft_exit
