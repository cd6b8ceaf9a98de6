# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2154 # ns_client etc.: lib.sh setup_topo
#
# bench/control.sh: the control path (issue item 2), through the
# masquerading router, IPv4, ftpload against ftpsrv (port 2121, two
# threads).  Source bench/lib.sh first.
#
# Figures, each with a rate, the router CPU per unit (softirq + system,
# /proc/stat, in us) and the errors ftpload counted:
#   ctl.sessions.pasv   BENCH_CLIENTS parallel clients, whole sessions:
#   ctl.sessions.port   connect, USER, PASS, PASV or PORT, RETR of 1 KiB,
#                       QUIT; sessions/s
#   ctl.sessions.port.1cpu  the same with CPU 1 offline (how each helper
#                       scales from 1 to 2 CPUs)
#   ctl.commands        one session, PORT and PASV alternately; commands/s
#   ctl.pipeline        one session, 16 lines per write (15 commands and
#                       PASV), 16 replies per read; lines/s
#   ctl.split           one session, each PORT line in two segments cut
#                       inside the address; lines/s

BENCH_CLIENTS=8
# Seconds ftpload waits for one reply.  A healthy reply takes milliseconds
# even under TCG; the stock helper never lets a split PORT line through
# (docs/performance.md), and this bounds what that costs the run.
BENCH_CTL_TIMEOUT=5
CPU1_ONLINE=/sys/devices/system/cpu/cpu1/online

# ctl_one FIG CFG ROUND KEY UNIT FTPLOAD-ARGS...: one measurement; KEY is
# what ftpload counts (sessions, commands, lines), UNIT the rate's unit.
ctl_one() {
	local fig=$1 cfg=$2 round=$3 key=$4 unit=$5 out c0 c1 n errors elapsed

	shift 5
	if ! bench_ruleset "$cfg"; then
		bench_error "$fig" "$cfg" ruleset
		return 1
	fi
	c0=$(cpu_ticks)
	out=$(ftpload "$@" --server "$SERVER_IP4" --duration "$BENCH_CTL_SECS" \
		--timeout "$BENCH_CTL_TIMEOUT")
	c1=$(cpu_ticks)
	n=$(bench_kv "$out" "$key") || {
		bench_error "$fig" "$cfg" "ftpload printed no $key: $out"
		return 1
	}
	errors=$(bench_kv "$out" errors)
	elapsed=$(bench_kv "$out" elapsed)
	rec "$fig" rate "$unit" higher "$cfg" "$round" "$(fdiv "$n" "$elapsed" 1)"
	rec "$fig" cpu "us/${key%s}" lower "$cfg" "$round" \
		"$(fdiv $(((c1 - c0) * BENCH_TICK_MS * 1000)) "$n" 1)"
	rec "$fig" errors count lower "$cfg" "$round" "$errors"
}

# cpu1_set 0|1: take CPU 1 offline or bring it back.
cpu1_set() {
	[[ -w $CPU1_ONLINE ]] || return 1
	echo "$1" >"$CPU1_ONLINE" || return 1
	[[ $(<"$CPU1_ONLINE") == "$1" ]]
}

# control_group ROUNDS
control_group() {
	local r cfg one_cpu=1

	if ! cpu1_set 1; then
		echo "@skip fig=ctl.sessions.port.1cpu reason=no_cpu_hotplug"
		one_cpu=0
	fi
	for ((r = 1; r <= $1; r++)); do
		bench_rotate "$r"
		for cfg in "${BENCH_ORDER[@]}"; do
			ctl_one ctl.sessions.pasv "$cfg" "$r" sessions sessions/s \
				sessions --mode pasv --concurrency "$BENCH_CLIENTS"
		done
		for cfg in "${BENCH_ORDER[@]}"; do
			ctl_one ctl.sessions.port "$cfg" "$r" sessions sessions/s \
				sessions --mode port --concurrency "$BENCH_CLIENTS"
		done
		if [[ $one_cpu == 1 ]] && cpu1_set 0; then
			for cfg in "${BENCH_ORDER[@]}"; do
				ctl_one ctl.sessions.port.1cpu "$cfg" "$r" sessions \
					sessions/s sessions --mode port \
					--concurrency "$BENCH_CLIENTS"
			done
			cpu1_set 1 || bench_error ctl.sessions.port.1cpu any "cpu1 stays offline"
		fi
		for cfg in "${BENCH_ORDER[@]}"; do
			ctl_one ctl.commands "$cfg" "$r" commands commands/s commands
		done
		for cfg in "${BENCH_ORDER[@]}"; do
			ctl_one ctl.pipeline "$cfg" "$r" lines lines/s pipeline --batch 16
		done
		for cfg in "${BENCH_ORDER[@]}"; do
			ctl_one ctl.split "$cfg" "$r" lines lines/s split
		done
	done
}
