#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_split.sh: the helper follows the byte stream, not segments.
#
#   client (ftp_peer.py) ---- router ---- server (vsftpd :21, ftp_peer.py :2121)
#                             strict forward filter, ct helper "ftp-sym"
#                             on ports 21 and 2121, no NAT
#
# Every PORT, EPRT, 227 and 229 line below is cut into separate TCP
# segments (TCP_NODELAY, a gap between the sends) at chosen byte offsets:
# inside the verb or code, right after it, inside the address, inside the
# port, just before the CR, between CR and LF, at several places at once and
# at every byte.  For each, with the transfer held between the endpoint
# exchange and the data connection: the expectation is in conntrack, then
# the data connection passes the strict filter and the data checksum
# matches, and the counters show one more reassembled line
# (partial_lines) and nothing dropped.  Then commands pipelined into one
# segment: PORT+RETR, EPRT+RETR, NOOP+PASV, NOOP+EPSV.  With max_streams=0
# (no reassembly memory allowed) a split PORT is skipped and counted
# (partial_untracked).
#
# Negative control: the stock helper (type "ftp") with the same split PORT
# commands.  It drops a segment that holds the start of a PORT command but
# not all of its numbers: the control connection stalls (the client's
# retransmissions are dropped again) and no expectation is made.  Only a cut
# between CR and LF gets through it, since the numbers and the CR that ends
# them are all in the first segment.

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

# The scripted server answers PASV and EPSV; the k-th 227/229 it sends is
# cut at the k-th of these offsets, in the order the test asks for them.
#   "227 Entering Passive Mode (198,51,100,1,p1,p2).\r\n"
#    0123456789...               ^27     ^32
split227=(2 4 32 -5 -2 -1 "2,32")
why227=("inside \"227\"" "after \"227 \"" "inside the address"
	"inside the port" "just before CR" "between CR and LF"
	"3 segments")
#   "229 Entering Extended Passive Mode (|||port|)\r\n"
#    0123...                             ^36
split229=(2 4 37 -5 -4 -2 -1 "3,37")
why229=("inside \"229\"" "after \"229 \"" "inside \"|||\"" "inside the port"
	"after the port" "just before CR" "between CR and LF" "3 segments")

server_args=()
for s in "${split227[@]}" "${split229[@]}"; do
	server_args+=("--split=$s")
done
server_args+=(--split "")
ip netns exec "$ns_server" "$FTP_PEER" server --listen :: --port 2121 \
	--sessions 2 --file "$FTP_DIR/root/file.bin" --timeout "$(scaled_s 5)" \
	--accept-timeout "$(scaled_s 150)" "${server_args[@]}" \
	2>"$FTP_DIR/server2121.log" &
cleanup_pid $!
wait_listener "$ns_server" 2121 || fail "ftp_peer.py server did not start"

# held_case NAME FAMILY SRC DST WHAT XFER-OPTIONS...: one transfer, held
# after the endpoint exchange: the expectation SRC -> DST:port must be
# there, then the transfer must work; one reassembled line, no drop.
held_case() {
	local name=$1 fam=$2 src=$3 dst=$4 what=$5 port n errs=

	shift 5
	stats_snap "$ns_router"
	if ! peer_do "$name" xfer --hold --sha256 "$sha" "$@"; then
		fail "$what: endpoint exchange failed: $PEER_LINE"
		peer_log "$name"
		return 1
	fi
	port=$(peer_port)
	expect_scan "$ns_router" "$fam"
	n=$(expect_count src="$src" dst="$dst" dport="$port" \
		helper="$NF_FTP_SYM_HELPER")
	[[ $n -eq 1 ]] || errs+=" no expectation for $dst port $port;"
	peer_do "$name" go || errs+=" transfer: $PEER_LINE;"
	stats_diff "$ns_router"
	[[ ${STATSD[partial_lines]} -ge 1 ]] ||
		errs+=" partial_lines did not grow (segments not split?);"
	[[ ${STATSD[expect_created]} -eq 1 ]] ||
		errs+=" expect_created +${STATSD[expect_created]}, want +1;"
	[[ ${STATS1[dropped]-} == 0 ]] || errs+=" dropped=${STATS1[dropped]};"
	if [[ -z $errs ]]; then
		pass "$what: expectation, transfer ok ($(stats_show))"
	else
		fail "$what:$errs $(stats_show)"
		printf '%s\n' "${EXP_LINES[@]}" >&2
		return 1
	fi
}

# ------------------------------------------------------------ PORT, EPRT

if peer_start p4 "$ns_client" "$SERVER_IP4"; then
	#   "PORT 192,0,2,1,p1,p2\r\n"
	cases=(2 5 11 -5 -2 -1 "2,11" "3,9,-1")
	whys=("inside \"PORT\"" "right after the space" "inside the address"
		"inside the port" "just before CR" "between CR and LF"
		"3 segments" "4 segments")
	for i in "${!cases[@]}"; do
		held_case p4 4 "$SERVER_IP4" "$CLIENT_IP4" \
			"PORT split ${cases[i]} (${whys[i]})" \
			--mode port "--split=${cases[i]}"
	done
	held_case p4 4 "$SERVER_IP4" "$CLIENT_IP4" \
		"PORT split at every byte" --mode port --gap-ms 40 \
		--split "$(seq -s, 1 30)"
	held_case p4 4 "$SERVER_IP4" "$CLIENT_IP4" "EPRT (IPv4) split 5,-2" \
		--mode eprt --split=5,-2
	peer_stop p4
else
	fail "cannot log in to vsftpd over IPv4: $PEER_LINE"
fi

if peer_start e6 "$ns_client" "$SERVER_IP6"; then
	#   "EPRT |2|2001:db8:1::1|port|\r\n"
	cases=(2 5 12 -4 -2 -1 "4,12")
	whys=("inside \"EPRT\"" "right after the space" "inside the address"
		"inside the port" "just before CR" "between CR and LF"
		"3 segments")
	for i in "${!cases[@]}"; do
		held_case e6 6 "$SERVER_IP6" "$CLIENT_IP6" \
			"EPRT (IPv6) split ${cases[i]} (${whys[i]})" \
			--mode eprt "--split=${cases[i]}"
	done
	peer_stop e6
else
	fail "cannot log in to vsftpd over IPv6: $PEER_LINE"
fi

# ------------------------------------------------------------ 227, 229

if peer_start s4 "$ns_client" "$SERVER_IP4" --port 2121; then
	for i in "${!split227[@]}"; do
		held_case s4 4 "$CLIENT_IP4" "$SERVER_IP4" \
			"227 split ${split227[i]} (${why227[i]})" --mode pasv
	done
	peer_stop s4
else
	fail "cannot log in to the scripted server over IPv4: $PEER_LINE"
fi

if peer_start s6 "$ns_client" "$SERVER_IP6" --port 2121; then
	for i in "${!split229[@]}"; do
		held_case s6 6 "$CLIENT_IP6" "$SERVER_IP6" \
			"229 (IPv6) split ${split229[i]} (${why229[i]})" --mode epsv
	done
	peer_stop s6
else
	fail "cannot log in to the scripted server over IPv6: $PEER_LINE"
fi

# ------------------------------------------------------------ pipelining

# pipe_case NAME WHAT XFER-OPTIONS...: one transfer whose RETR goes with the
# PORT/EPRT (no hold possible) or whose PASV/EPSV follows a NOOP in the same
# segment; one expectation created, nothing dropped.
pipe_case() {
	local name=$1 what=$2 errs=

	shift 2
	stats_snap "$ns_router"
	peer_do "$name" xfer --pipeline --sha256 "$sha" "$@" ||
		errs+=" transfer: $PEER_LINE;"
	stats_diff "$ns_router"
	[[ ${STATSD[expect_created]} -eq 1 ]] ||
		errs+=" expect_created +${STATSD[expect_created]}, want +1;"
	[[ ${STATS1[dropped]-} == 0 ]] || errs+=" dropped=${STATS1[dropped]};"
	if [[ -z $errs ]]; then
		pass "$what: transfer ok ($(stats_show))"
	else
		fail "$what:$errs $(stats_show)"
		peer_log "$name"
	fi
}

if peer_start q4 "$ns_client" "$SERVER_IP4" &&
	peer_start q6 "$ns_client" "$SERVER_IP6"; then
	pipe_case q4 "PORT+RETR in one segment" --mode port
	pipe_case q6 "EPRT+RETR in one segment (IPv6)" --mode eprt
	pipe_case q4 "PORT+RETR, PORT split at 8, RETR with its end" \
		--mode port --split 8
	# Here the transfer can be held: the expectation must be there.
	held_case q4 4 "$CLIENT_IP4" "$SERVER_IP4" \
		"NOOP+PASV in one segment, PASV split at 8" \
		--mode pasv --pipeline --split 8
	pipe_case q4 "NOOP+PASV in one segment" --mode pasv
	pipe_case q6 "NOOP+EPSV in one segment (IPv6)" --mode epsv
	peer_stop q4
	peer_stop q6
else
	fail "pipelining: cannot log in to vsftpd: $PEER_LINE"
fi

# The reassembly budget: with max_streams=0 no connection may hold a
# partial line, so a split PORT is skipped (partial_untracked) and nothing
# is expected; the session goes on unharmed.
streams=/sys/module/nf_conntrack_ftp_sym/parameters/max_streams
streams0=$(<"$streams")
cleanup_register eval "echo $streams0 >$streams"
if peer_start b4 "$ns_client" "$SERVER_IP4"; then
	echo 0 >"$streams"
	stats_snap "$ns_router"
	peer_do b4 xfer --hold --mode port --split 5
	port=$(peer_port)
	stats_diff "$ns_router"
	expect_scan "$ns_router" 4
	n=$(expect_count dport="$port")
	echo "$streams0" >"$streams"
	if [[ $PEER_LINE == ok* && $n -eq 0 && ${STATSD[partial_untracked]} -eq 1 &&
		${STATSD[expect_created]-} == 0 && ${STATS1[dropped]-} == 0 ]]; then
		pass "max_streams=0: split PORT skipped, no expectation ($(stats_show))"
	else
		fail "max_streams=0: $PEER_LINE, $n expectations ($(stats_show))"
	fi
	# The held transfer cannot work: end the session without RETR.
	peer_stop b4 close
else
	fail "max_streams: cannot log in to vsftpd: $PEER_LINE"
fi

# The control connections of the sessions above carried helper=ftp-sym.
if ip netns exec "$ns_router" conntrack -L -p tcp --dport 2121 2>/dev/null |
	grep -q "helper=$NF_FTP_SYM_HELPER"; then
	pass "control connections to port 2121 carry helper=$NF_FTP_SYM_HELPER"
else
	fail "no conntrack entry to port 2121 with helper=$NF_FTP_SYM_HELPER"
fi

# ------------------------------------------------------------ stock helper

# tcp_retrans NS: TCP retransmissions so far in NS.
tcp_retrans() {
	local -a names values
	local i

	{
		read -ra names
		read -ra values
	} < <(ip netns exec "$1" grep '^Tcp:' /proc/net/snmp)
	for i in "${!names[@]}"; do
		if [[ ${names[i]} == RetransSegs ]]; then
			echo "${values[i]}"
			return 0
		fi
	done
	echo 0
}

if ! module_loaded nf_conntrack_ftp; then
	if ! modprobe -q nf_conntrack_ftp; then
		skip "negative control: nf_conntrack_ftp not available"
		ksft_exit
	fi
	cleanup_register rmmod_bounded nf_conntrack_ftp
fi
ip netns exec "$ns_router" nft delete table inet ftpsym_filter
# The table holds the stock module: it goes first at cleanup.
cleanup_register ip netns exec "$ns_router" nft delete table inet ftpsym_filter
router_filter "$ns_router" ftp || ksft_exit

# The same split PORT commands, one session each, side by side.
stock=(2 5 11 -2 -1)
stock_why=("inside \"PORT\"" "right after the space" "inside the address"
	"just before CR" "between CR and LF")
declare -A spid
retrans0=$(tcp_retrans "$ns_client")
for s in "${stock[@]}"; do
	ip netns exec "$ns_client" "$FTP_PEER" client --server "$SERVER_IP4" \
		--mode port "--split=$s" --sha256 "$sha" --hold "$FTP_DIR/stock$s" \
		--timeout "$(scaled_s 3)" 2>"$FTP_DIR/stock$s.log" &
	spid[$s]=$!
	cleanup_pid "${spid[$s]}"
done

# stock_settled S: the client for offset S waits at the hold or has ended.
# shellcheck disable=SC2317 # called by busywait
stock_settled() {
	[[ -e $FTP_DIR/stock$1.ready ]] || ! kill -0 "${spid[$1]}" 2>/dev/null
}

declare -A sexp srun
for s in "${stock[@]}"; do
	busywait 30000 stock_settled "$s"
	sexp[$s]=0
	if [[ -e $FTP_DIR/stock$s.ready ]]; then
		read -r _ port <"$FTP_DIR/stock$s.ready"
		expect_scan "$ns_router" 4
		sexp[$s]=$(expect_count dport="$port" helper=ftp)
		touch "$FTP_DIR/stock$s"
	fi
done
for s in "${stock[@]}"; do
	rc=0
	wait "${spid[$s]}" || rc=$?
	srun[$s]=$rc
done
retrans=$(($(tcp_retrans "$ns_client") - retrans0))

for i in "${!stock[@]}"; do
	s=${stock[i]}
	what="stock helper, PORT split $s (${stock_why[i]})"
	if [[ $s == -1 ]]; then
		# The whole PORT line up to its CR is in one segment.
		if [[ ${srun[$s]} -eq 0 && ${sexp[$s]} -eq 1 ]]; then
			pass "$what: works (the numbers end in the first segment)"
		else
			fail "$what: exit ${srun[$s]}, ${sexp[$s]} expectations"
			sed 's/^/  /' "$FTP_DIR/stock$s.log" >&2
		fi
	elif [[ ${srun[$s]} -eq 2 && ${sexp[$s]} -eq 0 ]]; then
		pass "$what: control connection stalls, no expectation"
	else
		fail "$what: exit ${srun[$s]} (2 = stalled), ${sexp[$s]} expectations: the negative control does not tell the helpers apart"
		sed 's/^/  /' "$FTP_DIR/stock$s.log" >&2
	fi
done
if [[ $retrans -gt 0 ]]; then
	pass "stock helper: the client retransmitted $retrans segments (dropped by the helper)"
else
	fail "stock helper: no retransmissions, yet sessions stalled"
fi

ksft_exit
