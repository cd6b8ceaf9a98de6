#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_badinput.sh: malformed, hostile and odd control traffic, with
# and without NAT, and what the helper does with each.
#
#   client (ftp_peer.py) ---- router ---- server (ftp_peer.py :21, :2121)
#                             strict forward filter, ct helper "ftp-sym"
#   phase "plain": no NAT, every case
#   phase "masq":  masquerade out eth_s, the cases the client sends
#   phase "dnat":  192.0.2.254:21 -> server, the cases the server sends
#
# CASES below is the whole matrix, one line per case:
#
#   ID;WHO;COUNTERS;EXPECT;REWRITE;BYTES
#
#   WHO      c           the client sends BYTES
#            c/OFFSETS   ... cut into segments at OFFSETS (ftp_peer.py)
#            s:VERB      the scripted server answers VERB with BYTES
#            s:VERB/OFFS ... cut at OFFS
#            x:OPTIONS   a real transfer (ftp_peer.py xfer OPTIONS, held
#                        while the expectation is looked at); BYTES, if
#                        any, is the server's reply to its PASV/EPSV ("%s"
#                        the real h1,...,p2, "%d" the real port)
#   COUNTERS what must move, comma separated: NAME (+1), NAME+N, NAME>
#            (grows); every parse_error*, reject_*, expect_*, nat_failed
#            and dropped counter not named must stay put ("-": none named)
#   EXPECT   expectations for the case's port after it: 0, 1, 1@PORT, or
#            F (a flood: at most max_expected at once, the newest kept)
#   REWRITE  what NAT may change, DIR:OLD=NEW (c2s counts in "masq", s2c
#            in "dnat"), "-" for nothing: anything else the peer receives
#            must be byte for byte what was sent
#   BYTES    printf %b escapes (\r \n \x00) and {C} {CD} client address
#            (commas, dots), {S} {SD} server, {T} {TD} a third party,
#            {C6} client IPv6, {P} {PD} {P0} the case's own port (p1,p2,
#            decimal, p1,p2 with leading zeros), {M} {MD} the NAT address
#            (in REWRITE), {xN} N times "x", {sN} N spaces, {rN} N random
#            bytes, {fN} N PORT lines (ports 53000...), {fF} FLOOD_N of
#            them; "+F" in COUNTERS means +FLOOD_N
#
# For each case, on one control connection that carries all of them: the
# answer comes and the session goes on (a SITE command after the case gets
# its "200 MARK"), the counters say why, no expectation appears unless one
# is due, and after every other case a real transfer works with the right
# checksum (PORT/EPRT after client input, PASV/EPSV after server input;
# XFER_EVERY=1 for one after each case).  Both peers record
# every control byte they send and receive; at the end of a phase the
# records are compared case by case: without NAT both directions must be
# identical as a whole, with NAT the only change allowed is the correct
# rewrite of a valid line.  Without NAT nothing may be dropped.
#
# port_flood is FLOOD_N PORT commands in one write: 500 without NAT, 40
# under NAT (one segment, every line rewritten in it).  Rewriting grows
# a full-sized segment of PORT lines beyond the MTU; the helper then cuts
# the segment before the line that would not fit and leaves the rest to
# the sender's retransmission, and Linux retransmits such a partially
# acknowledged head only after a timeout, with backoff: a flood of
# hundreds of rewritten lines crawls.  No real client pipelines PORT
# commands, so that is a limit we accept (README), not a case here.
#
# Then 200 control connections at once, each with half a PORT line, with
# max_streams=100: streams_active stays at the bound, then goes back to
# where it was once they are reset; and at the end streams_active and
# keepalive_active return to 0.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "/usr/bin/python3 -c pass" "run test without python3"

# Case ports: PBASE + the case's index; the PORT flood uses 53000...
PBASE=50000
FLOOD_BASE=53000
FLOOD_N=500

CASES=(
	# --- numbers out of range
	"oct256;c;parse_error_range;0;-;PORT 192,0,2,256,{P}\r\n"
	"p1_256;c;parse_error_range;0;-;PORT {C},256,1\r\n"
	"p2_999;c;parse_error_range;0;-;PORT {C},195,999\r\n"
	"port0;c;parse_error_range;0;-;PORT {C},0,0\r\n"
	"eprt_port0;c;parse_error_range;0;-;EPRT |1|{CD}|0|\r\n"
	"eprt_65536;c;parse_error_range;0;-;EPRT |1|{CD}|65536|\r\n"
	# --- fields, signs, blanks
	"fields5;c;parse_error_syntax;0;-;PORT 192,0,2,1,195\r\n"
	"fields7;c;parse_error_syntax;0;-;PORT {C},{P},7\r\n"
	"eprt_noport;c;parse_error_syntax;0;-;EPRT |1|{CD}||\r\n"
	"eprt_extra;c;parse_error_syntax;0;-;EPRT |1|{CD}|{PD}|7|\r\n"
	"plus;c;parse_error_syntax;0;-;PORT +192,0,2,1,{P}\r\n"
	"minus;c;parse_error_syntax;0;-;PORT {C},-195,80\r\n"
	"eprt_plus;c;parse_error_syntax;0;-;EPRT |1|{CD}|+{PD}|\r\n"
	"space_in_num;c;parse_error_syntax;0;-;PORT 192,0,2,1,19 5,80\r\n"
	"space_after_comma;c;parse_error_syntax;0;-;PORT 192, 0,2,1,{P}\r\n"
	"eprt_space_addr;c;parse_error_addr;0;-;EPRT |1|192.0. 2.1|{PD}|\r\n"
	"eprt_space_port;c;parse_error_syntax;0;-;EPRT |1|{CD}|5 0000|\r\n"
	# --- leading zeros: up to 3 digits per octet they are decimal and
	#     valid (NAT writes the canonical form), 4 and more are refused
	"zeros_addr;c;expect_created;1;c2s:192,0,2,001,={M},;PORT 192,0,2,001,{P}\r\n"
	"zeros_port;c;expect_created;1;c2s:{C},{P0}={M},{P};PORT {C},{P0}\r\n"
	"eprt_zeros_addr;c;expect_created;1;c2s:|1|192.000.002.001|=|1|{MD}|;EPRT |1|192.000.002.001|{PD}|\r\n"
	"zeros4_addr;c;parse_error_overlong;0;-;PORT 0192,0,2,1,{P}\r\n"
	"zeros4_port;c;parse_error_overlong;0;-;PORT {C},0195,80\r\n"
	"eprt_zeros6;c;parse_error_overlong;0;-;EPRT |1|{CD}|0{PD}|\r\n"
	"long_octet;c;parse_error_overlong;0;-;PORT 192,0,2,1,19500000000000000000,80\r\n"
	"wrap_octet;c;parse_error_overlong;0;-;PORT 4294967488,0,2,1,{P}\r\n"
	"eprt_long_port;c;parse_error_overlong;0;-;EPRT |1|{CD}|500000000000000000000|\r\n"
	# --- long lines, lines without their end for a while
	"line_2k;c;parse_error_longline;0;-;PORT {C},{P}{s2048}\r\n"
	"line_2k_nolf;c/-2;parse_error_longline,overlong_lines;0;-;PORT {C},{P}{x2048}\r\n"
	"line_64k_nolf;c/-2;parse_error_longline,overlong_lines;0;-;PORT {C},{P}{x65536}\r\n"
	"noop_64k_nolf;c/-2;overlong_lines;0;-;NOOP {x65536}\r\n"
	"held_then_2k;c/15,-2;parse_error_longline,overlong_lines;0;-;PORT {C},{P}{x2048}\r\n"
	# --- NUL, CR without LF, LF without CR (valid)
	"nul_end;c;parse_error_nul;0;-;PORT {C},{P}\x00\r\n"
	"nul_mid;c;parse_error_nul;0;-;PORT 192,0,2,1\x00,{P}\r\n"
	"eprt_nul;c;parse_error_nul;0;-;EPRT |1|{CD}|{PD}|\x00\r\n"
	"nul_noop;c;lines>;0;-;NOOP\x00\r\n"
	"cr_then_text;c;parse_error_syntax;0;-;PORT {C},{P}\rNOOP\r\n"
	"cr_cr_lf;c;parse_error_syntax;0;-;PORT {C},{P}\r\r\n"
	"lf_only;c;expect_created;1;c2s:{C},={M},;PORT {C},{P}\n"
	"eprt_lf_only;c;expect_created;1;c2s:|1|{CD}|=|1|{MD}|;EPRT |1|{CD}|{PD}|\n"
	"xfer_port_lf;x:--mode port --eol lf;expect_created;1;c2s:{C},={M},;"
	# --- lowercase commands are valid
	"lower_port;c;expect_created;1;c2s:{C},={M},;port {C},{P}\r\n"
	"mixed_eprt;c;expect_created;1;c2s:|1|{CD}|=|1|{MD}|;ePrT |1|{CD}|{PD}|\r\n"
	"xfer_lower_port;x:--mode port --lower;expect_created;1;c2s:{C},={M},;"
	"xfer_lower_eprt;x:--mode eprt --lower;expect_created;1;c2s:|1|{CD}|=|1|{MD}|;"
	"xfer_lower_pasv;x:--mode pasv --lower;expect_created;1;-;"
	# --- EPRT: family, IPv6 address text, delimiters
	"eprt_af3;c;parse_error_family;0;-;EPRT |3|{CD}|{PD}|\r\n"
	"eprt_af0;c;parse_error_family;0;-;EPRT |0|{CD}|{PD}|\r\n"
	"eprt_af12;c;parse_error_family;0;-;EPRT |12|{CD}|{PD}|\r\n"
	"eprt_afx;c;parse_error_family;0;-;EPRT |x|{CD}|{PD}|\r\n"
	"v6_two_gaps;c;parse_error_addr;0;-;EPRT |2|2001:db8:1::1::5|{PD}|\r\n"
	"v6_three_colons;c;parse_error_addr;0;-;EPRT |2|2001:db8:1:::1|{PD}|\r\n"
	"v6_9_groups;c;parse_error_addr;0;-;EPRT |2|2001:db8:1:0:0:0:0:0:1|{PD}|\r\n"
	"v6_zone;c;parse_error_addr;0;-;EPRT |2|2001:db8:1::1%eth0|{PD}|\r\n"
	"v6_5_digits;c;parse_error_addr;0;-;EPRT |2|12345::1|{PD}|\r\n"
	"v6_bad_quad;c;parse_error_addr;0;-;EPRT |2|::ffff:192.0.2.300|{PD}|\r\n"
	"v6_end_colon;c;parse_error_addr;0;-;EPRT |2|2001:db8:1::1:|{PD}|\r\n"
	"v6_as_af1;c;parse_error_addr;0;-;EPRT |1|{C6}|{PD}|\r\n"
	"v6_on_v4;c;reject_family;0;-;EPRT |2|{C6}|{PD}|\r\n"
	"eprt_mixed_delim;c;parse_error_delim;0;-;EPRT |1!{CD}!{PD}!\r\n"
	"eprt_digit_delim;c;parse_error_delim;0;-;EPRT 1{CD}1{PD}1\r\n"
	"eprt_no_end;c;parse_error_syntax;0;-;EPRT |1|{CD}|{PD}\r\n"
	"eprt_bang;c;expect_created;1;c2s:!1!{CD}!=!1!{MD}!;EPRT !1!{CD}!{PD}!\r\n"
	# --- bounce, privileged ports
	"bounce_port;c;reject_bounce;0;-;PORT {T},{P}\r\n"
	"bounce_eprt;c;reject_bounce;0;-;EPRT |1|{TD}|{PD}|\r\n"
	"bounce_server;c;reject_bounce;0;-;PORT {S},{P}\r\n"
	"low_21;c;reject_low_port;0;-;PORT {C},0,21\r\n"
	"low_1023;c;reject_low_port;0;-;PORT {C},3,255\r\n"
	"eprt_low_1;c;reject_low_port;0;-;EPRT |1|{CD}|1|\r\n"
	"port_1024;c;expect_created;1@1024;c2s:{C},4,0={M},4,0;PORT {C},4,0\r\n"
	# --- replies from the wrong side, replies nobody asked for
	"client_227;c;reject_direction,role_conflict;0;-;227 Entering Passive Mode ({C},{P}).\r\n"
	"server_port;s:NOOP;reject_direction,role_conflict;0;-;PORT {S},{P}\r\n200 ok\r\n"
	"server_eprt;s:NOOP;reject_direction,role_conflict;0;-;EPRT |1|{SD}|{PD}|\r\n200 ok\r\n"
	"unsol_227;s:NOOP;reject_unsolicited;0;-;227 Entering Passive Mode ({S},{P}).\r\n"
	"unsol_229;s:NOOP;reject_unsolicited;0;-;229 Entering Extended Passive Mode (|||{PD}|)\r\n"
	"unsol_227_syst;s:SYST;reject_unsolicited;0;-;227 Entering Passive Mode ({S},{P}).\r\n"
	# --- 227
	"r227_logout;s:PASV;parse_error_nonum;0;-;227 Logout.\r\n"
	"r227_oct256;s:PASV;parse_error_range;0;-;227 Entering Passive Mode (198,51,100,256,{P}).\r\n"
	"r227_port0;s:PASV;parse_error_range;0;-;227 Entering Passive Mode ({S},0,0).\r\n"
	"r227_fields5;s:PASV;parse_error_syntax;0;-;227 Entering Passive Mode ({S},195).\r\n"
	"r227_fields7;s:PASV;parse_error_syntax;0;-;227 Entering Passive Mode ({S},{P},7).\r\n"
	"r227_minus;s:PASV;parse_error_syntax;0;-;227 Entering Passive Mode (-198,51,100,1,{P}).\r\n"
	"r227_plus;s:PASV;parse_error_syntax;0;-;227 Entering Passive Mode ({S},+195,80).\r\n"
	"r227_space;s:PASV;parse_error_syntax;0;-;227 Entering Passive Mode ({S},19 5,80).\r\n"
	"r227_zeros4;s:PASV;parse_error_overlong;0;-;227 Entering Passive Mode ({S},0195,80).\r\n"
	"r227_long;s:PASV;parse_error_overlong;0;-;227 Entering Passive Mode ({S},195,800000000000).\r\n"
	"r227_nul;s:PASV;parse_error_nul;0;-;227 Entering Passive Mode ({S},{P}\x00).\r\n"
	"r227_bounce;s:PASV;reject_bounce;0;-;227 Entering Passive Mode ({T},{P}).\r\n"
	"r227_low;s:PASV;reject_low_port;0;-;227 Entering Passive Mode ({S},0,21).\r\n"
	"r227_2k;s:PASV;parse_error_longline;0;-;227 Entering Passive Mode ({S},{P}).{s2048}\r\n"
	"r227_64k_nolf;s:PASV/-2;parse_error_longline,overlong_lines;0;-;227 Entering Passive Mode ({S},{P}).{x65536}\r\n"
	"r227_held_then_2k;s:PASV/30,-2;parse_error_longline,overlong_lines;0;-;227 Entering Passive Mode ({S},{P}).{x2048}\r\n"
	"x227_lf;x:--mode pasv --use-pasv-addr;expect_created;1;s2c:{S},={M},;227 Entering Passive Mode (%s).\n"
	"x227_no_parens;x:--mode pasv --use-pasv-addr;expect_created;1;s2c:{S},={M},;227 =%s\r\n"
	"x227_cr_in_text;x:--mode pasv --use-pasv-addr;expect_created;1;s2c:{S},={M},;227 Entering Passive Mode (%s).\rok\r\n"
	# --- 229
	"r229_delims;s:EPSV;parse_error_delim;0;-;229 Entering Extended Passive Mode (!!|{PD}|)\r\n"
	"r229_end_delim;s:EPSV;parse_error_delim;0;-;229 Entering Extended Passive Mode (|||{PD}!)\r\n"
	"r229_two_delims;s:EPSV;parse_error_delim;0;-;229 Entering Extended Passive Mode (||{PD}|)\r\n"
	"r229_digit_delim;s:EPSV;parse_error_delim;0;-;229 Entering Extended Passive Mode (1111{PD}1)\r\n"
	"r229_no_end;s:EPSV;parse_error_delim;0;-;229 Entering Extended Passive Mode (|||{PD})\r\n"
	"r229_no_parens;s:EPSV;parse_error_syntax;0;-;229 Entering Extended Passive Mode |||{PD}|\r\n"
	"r229_port0;s:EPSV;parse_error_range;0;-;229 Entering Extended Passive Mode (|||0|)\r\n"
	"r229_65536;s:EPSV;parse_error_range;0;-;229 Entering Extended Passive Mode (|||65536|)\r\n"
	"r229_long;s:EPSV;parse_error_overlong;0;-;229 Entering Extended Passive Mode (|||500000|)\r\n"
	"r229_space;s:EPSV;parse_error_delim;0;-;229 Entering Extended Passive Mode (|||5 0000|)\r\n"
	"r229_nul;s:EPSV;parse_error_nul;0;-;229 Entering Extended Passive Mode (|||{PD}|)\x00\r\n"
	"r229_low;s:EPSV;reject_low_port;0;-;229 Entering Extended Passive Mode (|||1000|)\r\n"
	"x229_bang;x:--mode epsv;expect_created;1;-;229 Entering Extended Passive Mode (!!!%d!)\r\n"
	"x229_lf;x:--mode epsv;expect_created;1;-;229 Entering Extended Passive Mode (|||%d|)\n"
	# --- floods and noise
	"port_flood;c;port+F,expect_created+F;F;c2s:{C},={M},;{fF}"
	"random_c2s;c;lines>;0;-;{r65536}\r\n"
	"random_s2c;s:NOOP;-;0;-;{r65536}\r\n200 ok\r\n"
)

load_modules
setup_topo
ftp_make_root 8192
ns_anchor "$ns_router"
sha=$FTP_FILE_SHA
params=/sys/module/nf_conntrack_ftp_sym/parameters
max_expected=$(<"$params/max_expected")
PUB4=$ROUTER_C_IP4
T0=$EPOCHSECONDS

# ------------------------------------------------------------ payloads

# expand TEXT: EXPANDED = TEXT with the placeholders replaced (see the
# top); backslash escapes are left alone.  No subshell: each costs.
expand() {
	local text=$1 tok pad i port v n

	EXPANDED=
	while [[ $text == *'{'*'}'* ]]; do
		EXPANDED+=${text%%\{*}
		text=${text#*\{}
		tok=${text%%\}*}
		text=${text#*\}}
		case $tok in
		C) v=${CLIENT_IP4//./,} ;;
		CD) v=$CLIENT_IP4 ;;
		S) v=${SERVER_IP4//./,} ;;
		SD) v=$SERVER_IP4 ;;
		T) v=203,0,113,7 ;;
		TD) v=203.0.113.7 ;;
		C6) v=$CLIENT_IP6 ;;
		P) v=$((CPORT >> 8)),$((CPORT & 255)) ;;
		P0) printf -v v '%03d,%03d' $((CPORT >> 8)) $((CPORT & 255)) ;;
		PD) v=$CPORT ;;
		M) v=${NATADDR//./,} ;;
		MD) v=$NATADDR ;;
		x[0-9]* | s[0-9]*)
			# Doubling: a pattern substitution over 64 KiB is slow.
			pad=${tok:0:1}
			[[ $pad == s ]] && pad=' '
			while [[ ${#pad} -lt ${tok:1} ]]; do
				pad+=$pad
			done
			v=${pad:0:${tok:1}} ;;
		f[0-9F]*)
			n=${tok#f}
			[[ $n == F ]] && n=$FLOOD_N
			v=
			for ((i = 0; i < n; i++)); do
				port=$((FLOOD_BASE + i))
				v+="PORT ${CLIENT_IP4//./,},$((port >> 8)),$((port & 255))\\r\\n"
			done ;;
		*) v="{$tok}" ;;
		esac
		EXPANDED+=$v
	done
	EXPANDED+=$text
}

# write_payload TEXT FILE: the bytes of a case ({rN}: random bytes).
write_payload() {
	local text pre

	expand "$1"
	text=$EXPANDED
	: >"$2"
	while [[ $text == *'{r'*'}'* ]]; do
		pre=${text%%\{r*}
		printf '%b' "$pre" >>"$2"
		text=${text#*\{r}
		head -c "${text%%\}*}" /dev/urandom >>"$2"
		text=${text#*\}}
	done
	printf '%b' "$text" >>"$2"
}

declare -A C_WHO C_CNT C_EXP C_RW C_FILE C_PORT
CASE_IDS=()
for i in "${!CASES[@]}"; do
	IFS=';' read -r id who cnt exp rw bytes <<<"${CASES[i]}"
	[[ -z ${C_WHO[$id]+x} ]] || fail "case table: $id twice"
	CASE_IDS+=("$id")
	C_WHO[$id]=$who C_CNT[$id]=$cnt C_EXP[$id]=$exp C_RW[$id]=$rw
	C_PORT[$id]=$((PBASE + i))
	C_FILE[$id]=
	if [[ -n $bytes ]]; then
		CPORT=${C_PORT[$id]}
		C_FILE[$id]=$FTP_DIR/case.$id.bin
		write_payload "$bytes" "${C_FILE[$id]}"
	fi
done
echo "# ${#CASE_IDS[@]} cases, payloads written in $((EPOCHSECONDS - T0)) s"

# ------------------------------------------------------------ router

# shellcheck disable=SC2317 # called through phase
nat_none() { :; }

# shellcheck disable=SC2317 # called through phase
nat_masq() {
	router_masquerade "$ns_router"
}

# shellcheck disable=SC2317 # called through phase
nat_dnat() {
	router_portforward "$ns_router" "21, 2121" "" 4
}

# ------------------------------------------------------------ checks

# Counters a case may move only when it names them.
STRICT_RE='^(parse_error.*|reject_.*|expect_created|expect_failed|nat_failed|nat_rewrites|dropped)$'
# Those of them that must exist (the docs name them).
STRICT_NAMES=(parse_error reject_bounce reject_low_port reject_unsolicited
	reject_direction reject_family expect_created expect_failed nat_failed
	nat_rewrites dropped)

# rewrite_applies REWRITE: NAT in this phase changes that direction.
rewrite_applies() {
	[[ $1 == c2s:* && $LAYOUT == masq ]] || [[ $1 == s2c:* && $LAYOUT == dnat ]]
}

# plan_line TOKEN REWRITE...: what compare may accept for TOKEN here.
plan_line() {
	local tok=$1 r line=$1

	shift
	for r in "$@"; do
		rewrite_applies "$r" || continue
		expand "$r"
		line+=" $EXPANDED"
	done
	echo "$line" >>"$PLAN"
}

# The checks below add what is wrong to ERRS (no subshells: peer_do in one
# would lose its count of actions).
ERRS=

# check_counters ID: STATSD against the case's COUNTERS.
check_counters() {
	local id=$1 spec k n want pe=0
	local -A wantd=()

	if [[ ${C_CNT[$id]} != - ]]; then
		IFS=, read -ra spec <<<"${C_CNT[$id]}"
		for k in "${spec[@]}"; do
			case $k in
			*'>') [[ ${STATSD[${k%>}]:-0} -ge 1 ]] ||
				ERRS+=" ${k%>} did not grow;"
				wantd[${k%>}]=any ;;
			*+F) wantd[${k%+*}]=$FLOOD_N ;;
			*+*) wantd[${k%+*}]=${k#*+} ;;
			*) wantd[$k]=1 ;;
			esac
		done
	fi
	for k in "${!wantd[@]}"; do
		[[ $k == parse_error_* && ${wantd[$k]} != any ]] && pe=$((pe + wantd[$k]))
	done
	[[ -n ${wantd[parse_error]+x} ]] || wantd[parse_error]=$pe
	if [[ -z ${wantd[expect_created]+x} ]]; then
		wantd[expect_created]=0
	fi
	if [[ -z ${wantd[nat_rewrites]+x} ]]; then
		wantd[nat_rewrites]=0
		rewrite_applies "${C_RW[$id]}" && wantd[nat_rewrites]=1
		[[ $id == port_flood && $LAYOUT == masq ]] && wantd[nat_rewrites]=$FLOOD_N
	fi
	# Under NAT a control segment that arrives out of order is dropped on
	# purpose (veth reorders now and then when the sender changes CPU);
	# the counter is shown, not judged.  Without NAT: never a drop.
	[[ $LAYOUT != none ]] && wantd[dropped]=any
	for k in "${!STATSD[@]}"; do
		want=${wantd[$k]:-}
		if [[ -z $want ]]; then
			[[ $k =~ $STRICT_RE ]] || continue
			want=0
		fi
		[[ $want == any ]] && continue
		n=${STATSD[$k]}
		[[ $n -eq $want ]] || ERRS+=" $k +$n, want +$want;"
	done
	# A counter the case names but the module does not have (renamed,
	# gone) is an error, not a silent pass.
	for k in "${!wantd[@]}" "${STRICT_NAMES[@]}"; do
		[[ -n ${STATSD[$k]+x} ]] || ERRS+=" no counter $k;"
	done
}

# expect_check ID PORT: the expectations for the case's port.
expect_check() {
	local id=$1 port=$2 want=${C_EXP[$1]} n

	expect_scan "$ns_router" 4
	if [[ $want == F ]]; then
		n=$(expect_count dport=$((FLOOD_BASE + FLOOD_N - 1)))
		[[ $n -eq 1 && ${#EXP_LINES[@]} -le $max_expected ]] ||
			ERRS+=" ${#EXP_LINES[@]} expectations (max_expected $max_expected), newest present: $n;"
		return
	fi
	if [[ $want == *@* ]]; then
		port=${want#*@}
		want=${want%@*}
	fi
	n=$(expect_count dport="$port")
	[[ $n -eq $want ]] || ERRS+=" $n expectations for port $port, want $want;"
}

# After every XFER_EVERY-th case a real transfer follows on the same
# session: PORT and EPRT in turn after what the client sent, PASV and EPSV
# after what the server sent.  Every case ends with a SITE command that
# must get its "200" (the mark) in any case.
XFER_EVERY=${XFER_EVERY:-2}
NCASE=0
NXFER=0

# follow_up ID: the next legitimate transfer on the same session.
follow_up() {
	local id=$1 mode rw=-

	NCASE=$((NCASE + 1))
	[[ $((NCASE % XFER_EVERY)) -eq 0 ]] || return 0
	NXFER=$((NXFER + 1))
	if [[ ${C_WHO[$id]} == c* ]]; then
		mode=port
		[[ $((NXFER % 2)) -eq 0 ]] && mode=eprt
	else
		mode=pasv
		[[ $((NXFER % 2)) -eq 0 ]] && mode=epsv
	fi
	case $mode in
	port) rw="c2s:{C},={M}," ;;
	eprt) rw="c2s:|1|{CD}|=|1|{MD}|" ;;
	pasv) rw="s2c:{S},={M}," ;;
	esac
	plan_line "$id.x" "$rw"
	peer_do P xfer --mode "$mode" --use-pasv-addr --sha256 "$sha" \
		--mark "$id.x" || ERRS+=" the next $mode transfer failed: $PEER_LINE;"
	FOLLOW=" then $mode ${PEER_LINE#ok * }"
}

# run_case ID
run_case() {
	local id=$1 who=${C_WHO[$1]} file=${C_FILE[$1]} port=${C_PORT[$1]}
	local verb split detail
	local -a o

	CPORT=$port
	ERRS=
	FOLLOW=
	stats_snap "$ns_router"
	case $who in
	c | c/*)
		o=(--file "$file")
		[[ $who == c/* ]] && o+=(--split "${who#c/}" --gap-ms 100)
		peer_do P probe "${o[@]}" --mark "$id" || ERRS+=" no answer: $PEER_LINE;"
		detail=$PEER_LINE
		expect_check "$id" "$port"
		;;
	s:*)
		verb=${who#s:}
		split=
		[[ $verb == */* ]] && split=${verb#*/} verb=${verb%%/*}
		o=(--next "$file")
		[[ -n $split ]] && o+=(--next-split "$split")
		peer_do P probe "${o[@]}" --send "$verb" --mark "$id" ||
			ERRS+=" no answer: $PEER_LINE;"
		detail=$PEER_LINE
		expect_check "$id" "$port"
		;;
	x:*)
		read -ra o <<<"${who#x:}"
		if [[ -n $file ]] && ! peer_do P probe --next "$file"; then
			ERRS+=" SITE NEXT: $PEER_LINE;"
		fi
		if peer_do P xfer --hold "${o[@]}" --sha256 "$sha" --mark "$id"; then
			expect_check "$id" "$(peer_port)"
			peer_do P go || ERRS+=" transfer failed: $PEER_LINE;"
			detail=$PEER_LINE
		else
			ERRS+=" transfer failed: $PEER_LINE;"
		fi
		;;
	esac
	plan_line "$id" "${C_RW[$id]}"
	stats_diff "$ns_router"
	check_counters "$id"
	[[ $who == x:* ]] || follow_up "$id"
	if [[ -z $ERRS ]]; then
		pass "$LAYOUT: $id: ${detail#ok * } ($(stats_show))$FOLLOW"
	else
		fail "$LAYOUT: $id:$ERRS $(stats_show)"
		echo "#   answer: $detail" >&2
		[[ ${#EXP_LINES[@]} -gt 0 ]] && printf '#   %s\n' "${EXP_LINES[@]}" >&2
		# A session out of step would fail every later case: start
		# anew (its records end here).
		if [[ $ERRS == *fail\ [0-9]* ]]; then
			echo "# $LAYOUT: a new session after $id" >&2
			peer_log P 2>&1 | tail -n 3 >&2
			peer_stop P close
			session_start
		fi
	fi
}

# ------------------------------------------------------------ sessions

SESSION=0

session_start() {
	SESSION=$((SESSION + 1))
	REC_CLI=$FTP_DIR/rec.$LAYOUT.$SESSION.cli
	if ! peer_start P "$ns_client" "$HOST" --timeout "$(scaled_s 6)" \
		--record "$REC_CLI"; then
		fail "$LAYOUT: cannot log in: $PEER_LINE"
		return 1
	fi
	SESSIONS+=("$SESSION")
}

# compare_records: what each side sent against what the other received.
# A comparison that did not run (missing records, a crash), that lost a
# case or a direction, or that compared nothing fails: none of these may
# pass as "arrived as sent".
compare_records() {
	local s rc line nbad=0 nsame=0 nrw=0 whole='' nwhole=0 nidentical=0
	local res=$FTP_DIR/compare.$LAYOUT id d missing='' sbad
	local -A seen=()

	for s in "${SESSIONS[@]}"; do
		/usr/bin/python3 "$FTP_PEER" compare \
			--c2s "$FTP_DIR/rec.$LAYOUT.$s.cli.out" "$FTP_DIR/rec.$LAYOUT.srv.$s.in" \
			--s2c "$FTP_DIR/rec.$LAYOUT.srv.$s.out" "$FTP_DIR/rec.$LAYOUT.$s.cli.in" \
			--plan "$PLAN" >"$res.$s" 2>&1
		rc=$?
		sbad=0
		while read -r line; do
			case $line in
			BAD*) fail "$LAYOUT: bytes: ${line#BAD }"; nbad=$((nbad + 1)); sbad=1
			      read -r _ id d _ <<<"$line"; seen["$id ${d%:}"]=1 ;;
			same*) nsame=$((nsame + 1))
			       read -r _ id d _ <<<"$line"; seen["$id $d"]=1 ;;
			rewritten*) nrw=$((nrw + 1)); REWRITTEN+=("${line#rewritten }")
			            read -r _ id d _ <<<"$line"; seen["$id $d"]=1 ;;
			whole*) whole+=" ${line#whole }"; nwhole=$((nwhole + 1))
			        [[ $line == *" identical" ]] && nidentical=$((nidentical + 1)) ;;
			esac
		done <"$res.$s"
		if [[ $rc -ne 0 && $sbad -eq 0 ]] || [[ $rc -ne 0 && $rc -ne 1 ]]; then
			fail "$LAYOUT: bytes: compare of session $s exited $rc: $(tail -n 2 "$res.$s")"
			nbad=$((nbad + 1))
		fi
	done
	# Every case ends with its mark in both directions.
	for id in "${RUN_IDS[@]}"; do
		for d in c2s s2c; do
			[[ -n ${seen["$id $d"]:-} ]] || missing+=" $id/$d"
		done
	done
	if [[ -n $missing ]]; then
		fail "$LAYOUT: bytes: cases the records do not have:$missing"
		nbad=$((nbad + 1))
	fi
	if [[ $nbad -eq 0 && $((nsame + nrw)) -ge $((2 * ${#RUN_IDS[@]})) &&
		${#RUN_IDS[@]} -gt 0 ]]; then
		pass "$LAYOUT: bytes: every case and transfer arrived as sent ($nsame) or correctly rewritten ($nrw)"
	elif [[ $nbad -eq 0 ]]; then
		fail "$LAYOUT: bytes: only $((nsame + nrw)) marks compared for ${#RUN_IDS[@]} cases"
	fi
	echo "# $LAYOUT: whole streams:$whole"
	if [[ $LAYOUT == none ]]; then
		if [[ ${#SESSIONS[@]} -gt 0 && $nwhole -eq $((2 * ${#SESSIONS[@]})) &&
			$nidentical -eq $nwhole ]]; then
			pass "$LAYOUT: both control streams identical as a whole (sha256, $nwhole compared)"
		else
			fail "$LAYOUT: without NAT the control streams are not identical as a whole ($nidentical of $nwhole identical, ${#SESSIONS[@]} sessions)"
		fi
	fi
}

# check_rewrites: every case whose REWRITE applies was rewritten, and
# no other one.
check_rewrites() {
	local id r bad=''

	for id in "${RUN_IDS[@]}"; do
		r=0
		[[ " ${REWRITTEN[*]} " == *" $id "* ]] && r=1
		if rewrite_applies "${C_RW[$id]}" || [[ $id == port_flood && $LAYOUT == masq ]]; then
			[[ $r -eq 1 ]] || bad+=" $id (not rewritten)"
		else
			[[ $r -eq 0 ]] || bad+=" $id (rewritten, must not be)"
		fi
	done
	if [[ -z $bad ]]; then
		pass "$LAYOUT: exactly the valid lines were rewritten"
	else
		fail "$LAYOUT: rewrites:$bad"
	fi
}

# phase LAYOUT HOST SIDES: one router setup, the cases of SIDES ("c", "s"
# or "cs") on one session.
phase() {
	local t0=$EPOCHSECONDS id who

	LAYOUT=$1 HOST=$2 SESSION=0
	local sides=$3
	NCASE=0
	NXFER=0
	case $LAYOUT in
	masq) NATADDR=$ROUTER_S_IP4 ;;
	dnat) NATADDR=$PUB4 ;;
	*) NATADDR=0.0.0.0 ;;
	esac
	FLOOD_N=500
	[[ $LAYOUT == none ]] || FLOOD_N=40
	CPORT=${C_PORT[port_flood]}
	: >"${C_FILE[port_flood]}"
	write_payload "{fF}" "${C_FILE[port_flood]}"
	PLAN=$FTP_DIR/plan.$LAYOUT
	: >"$PLAN"
	SESSIONS=()
	REWRITTEN=()
	RUN_IDS=()
	ip netns exec "$ns_router" nft flush ruleset
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	router_filter "$ns_router" "$NF_FTP_SYM_HELPER" "21, 2121" || return 1
	"nat_$LAYOUT"

	ip netns exec "$ns_server" "$FTP_PEER" server --listen "$SERVER_IP4" \
		--sessions 4 --file "$FTP_DIR/root/file.bin" \
		--timeout "$(scaled_s 6)" --accept-timeout "$(scaled_s 120)" \
		--gap-ms 100 --record "$FTP_DIR/rec.$LAYOUT.srv" \
		2>"$FTP_DIR/server.$LAYOUT.log" &
	SERVER_PID=$!
	cleanup_pid "$SERVER_PID"
	wait_listener "$ns_server" 21 || { fail "$LAYOUT: server did not start"; return 1; }
	session_start || return 1

	for id in "${CASE_IDS[@]}"; do
		who=${C_WHO[$id]}
		# Transfers with a server template are server cases.
		case $who in
		c*) [[ $sides == *c* ]] || continue ;;
		s:*) [[ $sides == *s* ]] || continue ;;
		x:*) if [[ -n ${C_FILE[$id]} ]]; then
			[[ $sides == *s* ]] || continue
		else
			[[ $sides == *c* ]] || continue
		fi ;;
		esac
		RUN_IDS+=("$id")
		run_case "$id"
	done
	peer_stop P
	_kill_pids "$SERVER_PID"
	compare_records
	check_rewrites
	echo "# $LAYOUT: ${#RUN_IDS[@]} cases in $((EPOCHSECONDS - t0)) s"
}

# ------------------------------------------------------------ flood

# conn_count PORT: conntrack entries to PORT in the router (reading the
# table also reaps expired entries).
conn_count() {
	local -a l

	mapfile -t l < <(grep -F "dport=$1 " "/proc/${NS_ANCHOR[$ns_router]}/net/nf_conntrack")
	echo "${#l[@]}"
}

# shellcheck disable=SC2317 # called by busywait
conn_at_least() {
	[[ $(conn_count "$1") -ge $2 ]]
}

# shellcheck disable=SC2317 # called by busywait
flood_gone() {
	stats_diff "$ns_router"
	[[ $(conn_count 2121) -eq 0 && -n ${STATS1[streams_active]-} &&
		${STATS1[streams_active]} -le $1 ]]
}

# shellcheck disable=SC2317 # called by busywait
flood_ready() {
	grep -q '^ready' "$1"
}

# flood_connections: COUNT control connections at once, each with half a
# PORT line, max_streams=COUNT/2.
flood_connections() {
	local count=200 bound=100 out=$FTP_DIR/flood.$LAYOUT rel=$FTP_DIR/flood.$LAYOUT.rel
	local streams0 close0 base pid spid n errs=''

	streams0=$(<"$params/max_streams")
	close0=$(ip netns exec "$ns_router" sysctl -n net.netfilter.nf_conntrack_tcp_timeout_close)
	echo "$bound" >"$params/max_streams"
	ip netns exec "$ns_router" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close=2
	stats_snap "$ns_router"
	base=${STATS0[streams_active]}
	ip netns exec "$ns_server" "$FTP_PEER" flood-server --listen "$SERVER_IP4" \
		--port 2121 --accept-timeout "$(scaled_s 60)" &
	spid=$!
	cleanup_pid "$spid"
	wait_listener "$ns_server" 2121
	ip netns exec "$ns_client" "$FTP_PEER" flood --server "$SERVER_IP4" \
		--port 2121 --count "$count" --send 'USER x\r\nPORT 192,0,2,1,' \
		--release "$rel" --rst --timeout "$(scaled_s 10)" \
		--hold-timeout "$(scaled_s 60)" >"$out" 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	if busywait 60000 flood_ready "$out"; then
		# Let the last half lines reach the router.
		busywait 5000 conn_at_least 2121 "$count"
		stats_diff "$ns_router"
		n=${STATS1[streams_active]}
		# The bound counts the streams that were there already.
		[[ $n -eq $bound ]] || errs+=" streams_active $n, want max_streams=$bound;"
		if [[ $LAYOUT == none ]]; then
			[[ ${STATSD[partial_untracked]} -eq $((count - bound + base)) ]] ||
				errs+=" partial_untracked +${STATSD[partial_untracked]}, want +$((count - bound + base));"
			[[ ${STATSD[dropped]-} == 0 ]] || errs+=" dropped +${STATSD[dropped]};"
		else
			[[ ${STATSD[partial_untracked]} -ge $((count - bound)) ]] ||
				errs+=" partial_untracked +${STATSD[partial_untracked]}, want >= $((count - bound));"
		fi
		[[ ${STATSD[expect_created]-} == 0 ]] || errs+=" expect_created +${STATSD[expect_created]};"
		echo "# $LAYOUT flood: $(conn_count 2121) connections open, $(stats_show)"
	else
		errs+=" the flood did not get its connections up: $(tail -n 2 "$out");"
	fi
	touch "$rel"
	wait "$pid" 2>/dev/null
	if busywait 30000 flood_gone "$base"; then
		echo "# $LAYOUT flood: all reset, streams_active ${STATS1[streams_active]}"
	else
		errs+=" after the reset: $(conn_count 2121) entries, streams_active ${STATS1[streams_active]} (was $base);"
	fi
	_kill_pids "$spid"
	echo "$streams0" >"$params/max_streams"
	ip netns exec "$ns_router" sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_close=$close0"
	if [[ -z $errs ]]; then
		pass "$LAYOUT: $count control connections at once: streams_active held at max_streams=$bound, back to $base after the reset"
	else
		fail "$LAYOUT: flood of $count control connections:$errs"
	fi
}

# ------------------------------------------------------------ run

phase none "$SERVER_IP4" cs
flood_connections
phase masq "$SERVER_IP4" c
flood_connections
phase dnat "$PUB4" s

# ------------------------------------------------------------ the end

ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
# shellcheck disable=SC2317 # called by busywait
gauges_zero() {
	stats_diff "$ns_router"
	[[ ${STATS1[streams_active]-} == 0 && ${STATS1[keepalive_active]-} == 0 &&
		$(expect_total "$ns_router") -eq 0 ]]
}
if busywait 30000 gauges_zero; then
	pass "end: streams_active, keepalive_active and expectations back to 0"
else
	fail "end: streams_active ${STATS1[streams_active]} keepalive_active ${STATS1[keepalive_active]} expectations $(expect_total "$ns_router")"
fi
echo "# counters at the end: $(grep -v ' 0$' "/proc/${NS_ANCHOR[$ns_router]}/net/nf_ftp_sym" | tr '\n' ' ')"
echo "# total $((EPOCHSECONDS - T0)) s"
ksft_exit
