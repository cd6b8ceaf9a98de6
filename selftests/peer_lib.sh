# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Helpers for tests that drive ftp_peer.py step by step, on top of lib.sh
# and ftp_lib.sh (source those first):
#
#   peer_start NAME NS SERVER [CLIENT-OPTIONS...]
#	a control-mode ftp_peer.py client in NS, logged in to SERVER;
#   peer_do NAME ACTION...
#	one action (see ftp_peer.py: cmd, send, sendraw, reply, xfer, go,
#	quit, close); PEER_LINE is its answer, the status 0 for "ok";
#   peer_post NAME ACTION... / peer_collect NAME
#	send an action without waiting, and wait for its answer later
#	(the test can look at the router while the action is under way);
#   peer_stop NAME [quit|close]
#	end the session if it still runs, then wait for it (bounded);
#   stats_snap NS / stats_diff NS
#	the helper's counters now, and STATSD[name] = change since stats_snap;
#   expect_scan NS [4|6] / expect_count [FIELD=VALUE...]
#	the expectations in NS, and how many match (fields: src dst dport
#	msrc mdst msport helper, the "m" ones those of the master);
#   ns_anchor NS
#	a sleeping process in NS whose /proc/PID/net is read from then on
#	by stats_snap/stats_diff and expect_total, instead of starting
#	"ip netns exec" each time (slow in the VM).  It keeps NS alive.

declare -A PEER_FD=() PEER_OUT=() PEER_PID=() PEER_N=()
PEER_LINE=
declare -A STATS0=() STATS1=() STATSD=() NS_ANCHOR=()
EXP_LINES=()

# _peer_answer OUT N: PEER_LINE is answer N in OUT if all of it is there
# (its newline too: a line that crosses a page boundary of the file can
# be read half written, "ok 143 held" without its "port=N").
_peer_answer() {
	local -a lines

	mapfile lines <"$1"
	[[ ${#lines[@]} -gt $2 && ${lines[$2]} == *$'\n' ]] || return 1
	PEER_LINE=${lines[$2]%$'\n'}
}

# _peer_ready OUT N PID: OUT has all of answer N, or PID is gone.
_peer_ready() {
	_peer_answer "$1" "$2" && return 0
	! kill -0 "$3" 2>/dev/null
}

# peer_wait NAME N: wait for answer N of NAME, put it in PEER_LINE.
peer_wait() {
	local name=$1 n=$2 out=${PEER_OUT[$1]}

	PEER_LINE=
	# ftp_peer.py bounds each action itself; this is only a backstop.
	busywait 90000 _peer_ready "$out" "$n" "${PEER_PID[$name]}"
	if ! _peer_answer "$out" "$n"; then
		PEER_LINE="fail $n no answer from ftp_peer.py ($(tail -n 1 "$out.log" 2>/dev/null))"
		return 1
	fi
	[[ $PEER_LINE == "ok $n "* ]]
}

# peer_start NAME NS SERVER [CLIENT-OPTIONS...]: PEER_LINE is the login
# answer, "ok 0 login port=<client's control port>".  The default limit of
# each wait on the control connection is 5 s, scaled; --timeout changes it.
peer_start() {
	local name=$1 ns=$2 server=$3 fifo out fd

	shift 3
	fifo=$FTP_DIR/peer.$name.fifo
	out=$FTP_DIR/peer.$name.out
	rm -f "$fifo" "$out"
	mkfifo "$fifo" || return 1
	: >"$out"
	# Held open read-write here, so that writing never blocks, also when
	# the client has died.
	exec {fd}<>"$fifo"
	ip netns exec "$ns" "$FTP_PEER" client --server "$server" \
		--timeout "$(scaled_s 5)" --idle-timeout "$(scaled_s 150)" \
		--control "$fifo" "$@" >"$out" 2>"$out.log" {fd}>&- &
	PEER_PID[$name]=$!
	cleanup_pid "$!"
	PEER_FD[$name]=$fd
	PEER_OUT[$name]=$out
	PEER_N[$name]=0
	peer_wait "$name" 0
}

# peer_do NAME ACTION...
peer_do() {
	local name=$1

	shift
	PEER_N[$name]=$((PEER_N[$name] + 1))
	printf '%s\n' "$*" >&"${PEER_FD[$name]}"
	peer_wait "$name" "${PEER_N[$name]}"
}

# peer_post NAME ACTION...: like peer_do, without waiting for the answer.
peer_post() {
	local name=$1

	shift
	PEER_N[$name]=$((PEER_N[$name] + 1))
	printf '%s\n' "$*" >&"${PEER_FD[$name]}"
}

# peer_collect NAME: wait for the answer to the last peer_post.
peer_collect() {
	peer_wait "$1" "${PEER_N[$1]}"
}

# peer_port: the port in PEER_LINE ("... port=N").
peer_port() {
	local p=${PEER_LINE##*port=}

	echo "${p%% *}"
}

# peer_log NAME: what the client logged, on stderr (for failures).
peer_log() {
	sed "s/^/  $1: /" "${PEER_OUT[$1]}.log" >&2
}

# peer_stop NAME [quit|close]: end the session with QUIT (default) or by
# closing the connection, then wait for the client (bounded).
peer_stop() {
	local name=$1 how=${2:-quit} pid=${PEER_PID[$1]} i fd

	# After an answered quit or close the client exits at once.
	if kill -0 "$pid" 2>/dev/null && peer_do "$name" "$how"; then
		for ((i = 0; i < 20 * NF_FTP_SYM_TIME_SCALE; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			nap 0.05
		done
	fi
	_kill_pids "$pid"
	fd=${PEER_FD[$name]}
	exec {fd}>&-
}

# ------------------------------------------------------------ counters

# shellcheck disable=SC2317 # called by busywait
_anchor_in_ns() {
	[[ $(<"/proc/$1/comm") == sleep ]] 2>/dev/null
}

ns_anchor() {
	local pid

	ip netns exec "$1" sleep "$(scaled_s 600)" &
	pid=$!
	cleanup_pid "$pid"
	# Until ip has exec'd sleep, /proc/PID/net is not NS's.
	if busywait 5000 _anchor_in_ns "$pid"; then
		NS_ANCHOR[$1]=$pid
	else
		echo "ns_anchor: no anchor in $1, using ip netns exec" >&2
	fi
}

# _stats_read NS: STATS1 = the counters in NS now.
_stats_read() {
	local k v pid=${NS_ANCHOR[$1]:-}

	STATS1=()
	if [[ -n $pid ]]; then
		while read -r k v; do
			STATS1[$k]=$v
		done <"/proc/$pid/net/nf_ftp_sym"
		return
	fi
	while read -r k v; do
		STATS1[$k]=$v
	done < <(ftp_stats "$1")
}

stats_snap() {
	local k

	_stats_read "$1"
	STATS0=()
	for k in "${!STATS1[@]}"; do
		STATS0[$k]=${STATS1[$k]}
	done
}

# stats_diff NS: STATS1 = counters now, STATSD = STATS1 - STATS0.
stats_diff() {
	local k

	_stats_read "$1"
	STATSD=()
	for k in "${!STATS1[@]}"; do
		STATSD[$k]=$((STATS1[$k] - ${STATS0[$k]:-0}))
	done
}

# stats_show: the counters that changed, on one line.
stats_show() {
	local k s=

	for k in "${!STATSD[@]}"; do
		[[ ${STATSD[$k]} -ne 0 ]] && s+=" $k+${STATSD[$k]}"
	done
	echo "changed:${s:- nothing}"
}

# ------------------------------------------------------------ expectations

# expect_scan NS [4|6]: EXP_LINES = the expectations of that family.  For
# IPv4 in a namespace with an anchor, from its
# /proc/PID/net/nf_conntrack_expect (no master fields then); else from
# conntrack -L expect (/proc writes IPv6 addresses uncompressed).
expect_scan() {
	local pid=${NS_ANCHOR[$1]:-} line

	if [[ -n $pid && ${2:-4} == 4 ]]; then
		EXP_LINES=()
		while read -r line; do
			[[ $line == *"l3proto = 2 "* ]] && EXP_LINES+=("$line")
		done <"/proc/$pid/net/nf_conntrack_expect"
		return
	fi
	mapfile -t EXP_LINES < <(ip netns exec "$1" conntrack -L expect \
		-f "ipv${2:-4}" 2>/dev/null)
}

# expect_total NS: how many expectations NS has, all families, all masters.
expect_total() {
	local pid=${NS_ANCHOR[$1]:-}
	local -a lines

	if [[ -n $pid ]]; then
		mapfile -t lines <"/proc/$pid/net/nf_conntrack_expect"
		echo "${#lines[@]}"
		return
	fi
	mapfile -t lines < <(ip netns exec "$1" conntrack -L expect -f ipv4 2>/dev/null
		ip netns exec "$1" conntrack -L expect -f ipv6 2>/dev/null)
	echo "${#lines[@]}"
}

# expect_count [FIELD=VALUE...]: expectations in EXP_LINES matching all.
expect_count() {
	local line tok cond k n=0 ok master
	local -a toks
	local -A f

	for line in "${EXP_LINES[@]}"; do
		read -ra toks <<<"$line"
		f=()
		master=0
		for tok in "${toks[@]}"; do
			k=${tok%%=*}
			case $k in
			src | dst | dport)
				[[ $master -eq 0 && -z ${f[$k]:-} ]] && f[$k]=${tok#*=} ;;
			master-src) f[msrc]=${tok#*=}; master=1 ;;
			master-dst) f[mdst]=${tok#*=} ;;
			sport) [[ $master -eq 1 && -z ${f[msport]:-} ]] && f[msport]=${tok#*=} ;;
			helper) f[helper]=${tok#*=} ;;
			esac
		done
		# /proc: "... dport=N [FLAGS,]helper[/policy]" at the end.
		tok=${toks[-1]}
		if [[ -z ${f[helper]:-} && $tok != *=* ]]; then
			tok=${tok##*,}
			f[helper]=${tok%%/*}
		fi
		ok=1
		for cond in "$@"; do
			if [[ ${f[${cond%%=*}]:-} != "${cond#*=}" ]]; then
				ok=0
				break
			fi
		done
		[[ $ok -eq 1 ]] && n=$((n + 1))
	done
	echo "$n"
}
