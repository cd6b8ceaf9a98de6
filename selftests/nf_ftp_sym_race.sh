#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_race.sh: the stream state's lifetime under fire.  Meant for
# the debug kernel (make selftest-debug: KASAN, lockdep, kmemleak), where a
# use-after-free, a leak or a lock inversion is reported; on the other
# kernels it checks that nothing is left behind and nothing warns.
#
#   clients (ftp_peer.py) ---- router ---- server (vsftpd :21)
#                              masquerade + DNAT of its :21, strict
#                              filter, ct helper "ftp-sym"
#
# Load: sessions whose PORT/EPRT lines are split (held back, then rewritten
# under masquerade) and passive sessions through the port forward (227
# rewritten), in loops, plus sessions that stop in the middle of a PORT
# line (a held line pins stream state).  Against it:
#
#  1. "conntrack -F" and "conntrack -D" in a loop: entries with held lines
#     and unacknowledged rewrites are deleted while packets of both
#     directions are being processed.  Afterwards every stream is gone
#     (streams_active 0) once the entries are.
#  2. Module unload (after the ruleset that references the helper) while
#     sessions hold stream state, then reload: a transfer works again.
#  3. The router's namespace deleted while its sessions hold stream state.

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

DURATION=$(scaled_s "${NF_FTP_SYM_RACE_SECONDS:-8}")

load_modules
setup_topo
ftp_make_root 65536
start_vsftpd "$ns_server" >/dev/null || ksft_exit

router_rules() {
	router_filter "$ns_router" "$NF_FTP_SYM_HELPER" &&
		router_masquerade "$ns_router" &&
		router_portforward "$ns_router" 21 "" 4
}
router_rules || { fail "router ruleset"; ksft_exit; }
ns_anchor "$ns_router"

LOOP_PIDS=()

# loop_until DEADLINE CMD...: run CMD again and again until DEADLINE
# (seconds since the epoch), at most 10000 times.
loop_until() {
	local deadline=$1 i

	shift
	for ((i = 0; i < 10000; i++)); do
		[[ $EPOCHSECONDS -lt $deadline ]] || return 0
		"$@" >/dev/null 2>&1
	done
}

# start_load SECONDS: the session loops, in the background.
start_load() {
	local deadline=$((EPOCHSECONDS + $1)) t

	t=$(scaled_s 5)
	loop_until "$deadline" ip netns exec "$ns_client" "$FTP_PEER" client \
		--server "$SERVER_IP4" --mode port --split 9 --gap-ms 20 \
		--repeat 2 --timeout "$t" &
	LOOP_PIDS+=("$!")
	loop_until "$deadline" ip netns exec "$ns_client" "$FTP_PEER" client \
		--server "$SERVER_IP4" --mode eprt --split 11 --gap-ms 20 \
		--repeat 2 --timeout "$t" &
	LOOP_PIDS+=("$!")
	loop_until "$deadline" ip netns exec "$ns_client" "$FTP_PEER" client \
		--server "$ROUTER_C_IP4" --mode pasv --repeat 2 --timeout "$t" &
	LOOP_PIDS+=("$!")
	cleanup_pid "${LOOP_PIDS[@]}"
}

# wait_load: until the loops are done (they end at their deadline).
wait_load() {
	local p

	for p in "${LOOP_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	LOOP_PIDS=()
}

# hold_lines N: N sessions that stop in the middle of a PORT line.
HOLDERS=()
hold_lines() {
	local i name

	for ((i = 0; i < $1; i++)); do
		name=h$RANDOM
		if peer_start "$name" "$ns_client" "$SERVER_IP4" &&
			peer_do "$name" sendraw "PORT ${CLIENT_IP4//./,},"; then
			HOLDERS+=("$name")
		fi
	done
}

drop_holders() {
	local name

	for name in "${HOLDERS[@]}"; do
		peer_stop "$name" close
	done
	HOLDERS=()
}

# shellcheck disable=SC2317 # called by busywait
streams_at_least() {
	_stats_read "$ns_router"
	[[ ${STATS1[streams_active]:-0} -ge $1 ]]
}

# shellcheck disable=SC2317 # called by busywait
streams_idle() {
	_stats_read "$ns_router"
	[[ ${STATS1[streams_active]:-x} == 0 ]]
}

# ------------------------------------------------------------ 1

hold_lines 3
if busywait 5000 streams_at_least 1; then
	pass "held lines: ${STATS1[streams_active]} streams"
else
	fail "held lines made no stream state: $(stats_show)"
fi
start_load "$DURATION"
deadline=$((EPOCHSECONDS + DURATION))
flushes=0
for ((i = 0; i < 10000; i++)); do
	[[ $EPOCHSECONDS -lt $deadline ]] || break
	ip netns exec "$ns_router" conntrack -D -p tcp --dport 21 >/dev/null 2>&1
	sleep 0.1
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	flushes=$((flushes + 1))
	sleep 0.2
done
wait_load
drop_holders
stats_snap "$ns_router"
ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
if busywait 10000 streams_idle; then
	pass "$flushes flush rounds under load: every stream freed (created ${STATS1[streams_created]}, reaped ${STATS1[streams_reaped]})"
else
	fail "after $flushes flush rounds: streams_active=${STATS1[streams_active]}"
fi
if curl_ftp "$ns_client" port 4 "$SERVER_IP4" get 20; then
	pass "a transfer after the flushes"
else
	fail "no transfer after the flushes"
fi

# ------------------------------------------------------------ 2

hold_lines 3
start_load "$DURATION"
sleep "$(scaled_s 3)"
_stats_read "$ns_router"
held=${STATS1[streams_active]:-0}
ip netns exec "$ns_router" nft delete table inet ftpsym_filter
if unload_modules; then
	pass "modules unloaded with $held streams and sessions under way"
else
	fail "modules did not unload ($held streams)"
fi
wait_load
drop_holders
if try_load_modules && router_rules; then
	if curl_ftp "$ns_client" pasv 4 "$ROUTER_C_IP4" get 20; then
		pass "reloaded: a port-forwarded transfer works"
	else
		fail "reloaded: no port-forwarded transfer"
	fi
else
	fail "cannot reload the modules"
fi

# ------------------------------------------------------------ 3

hold_lines 3
start_load "$DURATION"
sleep "$(scaled_s 3)"
_stats_read "$ns_router"
held=${STATS1[streams_active]:-0}
drop_holders
anchor=${NS_ANCHOR[$ns_router]}
unset "NS_ANCHOR[$ns_router]"
_kill_pids "$anchor"
if cleanup_ns "$ns_router" 2>/dev/null && [[ ! -e /run/netns/$ns_router ]]; then
	pass "router namespace deleted with $held streams and sessions under way"
else
	fail "cannot delete the router namespace"
fi
wait_load
if unload_modules && try_load_modules; then
	pass "modules unload and load again after the namespace is gone"
else
	fail "modules do not unload after the namespace is gone"
fi

ksft_exit
