# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2154 # ns_client etc.: lib.sh setup_topo
#
# bench/scale.sh: many concurrent control sessions behind NAT (issue item
# 3).  ftpload holds BENCH_SCALE_N sessions to ftpsrv through the
# masquerading router, each logged in and with one PORT answered: under
# ftp-sym and stock that line was rewritten and left an expectation.
# Source bench/lib.sh first.
#
# Figure scale.sessions, the module parameters at their defaults:
#   setup           seconds from the first connection until the last
#                   session had its PORT answered (256 connecting or
#                   logging in at a time; a session waiting for its answer
#                   does not hold up the others)
#   ready           sessions whose PORT was answered
#   stalled         sessions whose PORT never was (the line withheld)
#   alive           ready sessions that then still answered a NOOP
#   expectations    expectations in the router with all sessions up
#   mem             kernel memory per session: the growth of all slab
#                   caches (active objects x object size, /proc/slabinfo)
#                   from before the first connection to all sessions up,
#                   divided by the sessions; client and server sockets are
#                   in it, the same in every configuration
# Figure scale.sessions.streams: ftp-sym alone, max_streams raised above
# the number of sessions, so that every session can have its line
# rewritten; what it costs when nothing is refused.
# @detail lines name the caches that grew most, per configuration.

# slab_snapshot FILE: "cache bytes" of every slab cache in use.
slab_snapshot() {
	awk 'NR > 2 { print $1, $2 * $4 }' /proc/slabinfo >"$1"
}

# slab_total FILE
slab_total() {
	awk '{ s += $2 } END { printf "%d\n", s }' "$1"
}

# slab_growth BEFORE AFTER N FIG CFG: @detail lines for the 6 caches that
# grew most, in bytes per session.
slab_growth() {
	awk 'NR == FNR { a[$1] = $2; next }
		{ d = $2 - a[$1]; if (d > 0) print d, $1 }' "$1" "$2" |
		sort -rn | head -n 6 |
		while read -r d name; do
			echo "@detail fig=$4 cfg=$5 cache=$name bytes_per_session=$((d / $3))"
		done
}

# _has_line FILE PREFIX
_has_line() {
	grep -q "^$2" "$1" 2>/dev/null
}

# scale_one FIG CFG ROUND
scale_one() {
	local fig=$1 cfg=$2 round=$3 n=$BENCH_SCALE_N
	local out=$BENCH_TMP/$1.$2.$3 rel pid s0 s1 line exps

	rel=$out.release
	rm -f "$rel" "$out"
	if ! bench_ruleset "$cfg"; then
		bench_error "$fig" "$cfg" ruleset
		return 1
	fi
	# Let the flushed entries' RCU frees pass.
	sleep 2
	slab_snapshot "$out.slab0"
	ftpload hold --server "$SERVER_IP4" --sessions "$n" --port-base 20000 \
		--release "$rel" --timeout "$(scaled_s 5)" >"$out" 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	if ! busywait $((n * 20 + 300000)) _has_line "$out" ready=; then
		bench_error "$fig" "$cfg" "ftpload hold never got ready"
		kill "$pid" 2>/dev/null
		return 1
	fi
	slab_snapshot "$out.slab1"
	exps=$(ip netns exec "$ns_router" conntrack -L expect 2>/dev/null | wc -l)
	if [[ $cfg == ftp-sym ]]; then
		echo "@detail fig=$fig cfg=$cfg round=$round" \
			"streams_active=$(ftp_sym_counter "$ns_router" streams_active)" \
			"nat_failed=$(ftp_sym_counter "$ns_router" nat_failed)" \
			"nat_rewrites=$(ftp_sym_counter "$ns_router" nat_rewrites)"
	fi
	touch "$rel"
	if ! busywait 120000 _has_line "$out" alive=; then
		bench_error "$fig" "$cfg" "ftpload hold did not finish"
		kill "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	line=$(grep '^ready=' "$out")
	rec "$fig" setup s lower "$cfg" "$round" "$(bench_kv "$line" elapsed)"
	rec "$fig" ready sessions higher "$cfg" "$round" "$(bench_kv "$line" ready)"
	rec "$fig" stalled sessions lower "$cfg" "$round" "$(bench_kv "$line" stalled)"
	line=$(grep '^alive=' "$out")
	rec "$fig" alive sessions higher "$cfg" "$round" "$(bench_kv "$line" alive)"
	rec "$fig" expectations count higher "$cfg" "$round" "$exps"
	s0=$(slab_total "$out.slab0")
	s1=$(slab_total "$out.slab1")
	rec "$fig" mem bytes/session lower "$cfg" "$round" $(((s1 - s0) / n))
	[[ $round == 1 ]] && slab_growth "$out.slab0" "$out.slab1" "$n" "$fig" "$cfg"
	return 0
}

# scale_group ROUNDS
scale_group() {
	local param=/sys/module/nf_conntrack_ftp_sym/parameters/max_streams
	local r cfg streams0

	streams0=$(<"$param")
	cleanup_register scale_streams "$param" "$streams0"
	for ((r = 1; r <= $1; r++)); do
		bench_rotate "$r"
		for cfg in "${BENCH_ORDER[@]}"; do
			scale_one scale.sessions "$cfg" "$r"
		done
		echo $((2 * BENCH_SCALE_N)) >"$param"
		scale_one scale.sessions.streams ftp-sym "$r"
		echo "$streams0" >"$param"
	done
}

# shellcheck disable=SC2317 # called from the cleanup
scale_streams() {
	echo "$2" >"$1"
}
