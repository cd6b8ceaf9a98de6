# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2154 # ns_client etc.: lib.sh setup_topo
#
# bench/keepalive.sh: the keep-alive worker with many tracked data
# connections (issue item 4), ftp-sym only (the stock helper has no
# worker).  Source bench/lib.sh first.
#
# ftpload kabuild opens data connections through the masquerading router
# to an ftpsrv --ka (port 2122): PASV, connect, reset.  Both ends drop
# their own RSTs to those ports, so the router keeps an established
# conntrack entry for each, tracked by ftp-sym's keep-alive, while the
# endpoints keep no socket.  The control connections stay open.
#
# Figures ka.<idle|N> (N data connections tracked), each window
# BENCH_KA_RUNS worker intervals long:
#   cpu, wall, hold  per worker run (one round each): the time the
#                    worker's task was on a CPU, from the start to the end
#                    of the work item, and its longest stretch on a CPU
#                    without switching (ka_trace.py, from ftrace
#                    workqueue and sched_switch events)
#   probe_late       the latest wake-up of a task sleeping 1 ms at a time
#                    on each CPU (ftpload probe), over the window: what the
#                    worker costs other tasks in latency
#   stat_cpu         softirq + system time per second over the window
# Figure data.masq.v4.ka: data.sh's bulk download, all three
# configurations, with those connections in the conntrack table (and
# tracked by ftp-sym's worker).

KA_RST_PORTS=41000-41999

tracefs() {
	local t=/sys/kernel/tracing

	if [[ ! -e $t/trace ]]; then
		mount -t tracefs nodev "$t" 2>/dev/null || t=/sys/kernel/debug/tracing
	fi
	[[ -e $t/trace ]] || return 1
	echo "$t"
}

# ka_trace on|off [FILE]: the workqueue and sched_switch events; off
# writes the trace into FILE.
ka_trace() {
	local t e

	t=$(tracefs) || return 1
	if [[ $1 == on ]]; then
		echo 0 >"$t/tracing_on"
		echo 16384 >"$t/buffer_size_kb"
		echo >"$t/trace"
		echo 'prev_comm ~ "kworker*" || next_comm ~ "kworker*"' \
			>"$t/events/sched/sched_switch/filter" || return 1
		for e in sched/sched_switch workqueue/workqueue_execute_start \
			workqueue/workqueue_execute_end; do
			echo 1 >"$t/events/$e/enable" || return 1
		done
		echo 1 >"$t/tracing_on"
	else
		echo 0 >"$t/tracing_on"
		cat "$t/trace" >"$2"
		for e in sched/sched_switch workqueue/workqueue_execute_start \
			workqueue/workqueue_execute_end; do
			echo 0 >"$t/events/$e/enable"
		done
		echo 0 >"$t/events/sched/sched_switch/filter"
		echo >"$t/trace"
	fi
}

# ka_window NAME: one measurement window over BENCH_KA_RUNS intervals.
ka_window() {
	local name=$1 fig=ka.$1 secs c0 c1 out i=0 line runs
	local trace=$BENCH_TMP/trace.$1

	secs=$((BENCH_KA_RUNS * BENCH_KA_INTERVAL + 1))
	if ! ka_trace on; then
		bench_error "$fig" ftp-sym "cannot trace"
		return 1
	fi
	c0=$(cpu_ticks)
	out=$("$BENCH_BIN/ftpload" probe --duration "$secs")
	c1=$(cpu_ticks)
	ka_trace off "$trace"
	echo "@detail fig=$fig tracked=$(ftp_sym_counter "$ns_router" keepalive_active)" \
		"refreshes=$(ftp_sym_counter "$ns_router" keepalive_refreshes)"
	while read -r line; do
		[[ $line == "run "* ]] || continue
		i=$((i + 1))
		rec "$fig" cpu ms lower ftp-sym "$i" "$(bench_kv "$line" oncpu_ms)"
		rec "$fig" wall ms lower ftp-sym "$i" "$(bench_kv "$line" wall_ms)"
		rec "$fig" hold ms lower ftp-sym "$i" "$(bench_kv "$line" hold_ms)"
	done < <(/usr/bin/python3 "$NF_FTP_SYM_REPO/bench/ka_trace.py" "$trace")
	runs=$i
	if [[ $name != idle && $runs -eq 0 ]]; then
		bench_error "$fig" ftp-sym "no worker run traced"
	fi
	line=$(bench_kv "$out" max_late_us) || line=
	rec "$fig" probe_late ms lower ftp-sym 1 "$(fdiv "$line" 1000)"
	rec "$fig" stat_cpu ms/s lower ftp-sym 1 \
		"$(fdiv $(((c1 - c0) * BENCH_TICK_MS)) "$secs" 1)"
}

# ka_build COUNT OUT: COUNT more idle data connections (ftpload kabuild in
# the background, its output in OUT, released by OUT.release); waits until
# they are built and the helper tracks them.
ka_build() {
	local count=$1 out=$2 pid want line

	# keepalive_tracked only grows; keepalive_active may still hold
	# entries of earlier groups that the worker is about to forget.
	want=$(($(ftp_sym_counter "$ns_router" keepalive_tracked) + count))
	ftpload kabuild --server "$SERVER_IP4" --port 2122 --count "$count" \
		--sessions 16 --sport-base 20000 --release "$out.release" \
		--timeout "$(scaled_s 5)" >"$out" 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	if ! busywait $((count * 10 + 120000)) _has_line "$out" built=; then
		bench_error ka.build ftp-sym "ftpload kabuild did not finish"
		return 1
	fi
	line=$(grep '^built=' "$out")
	echo "@detail fig=ka.build $line"
	rec ka.build rate conn/s higher ftp-sym "$count" \
		"$(fdiv "$(bench_kv "$line" built)" "$(bench_kv "$line" elapsed)" 1)"
	if ! busywait 30000 _ka_tracked "$want"; then
		bench_error ka.build ftp-sym "tracked $(ftp_sym_counter "$ns_router" keepalive_tracked), not $want"
		return 1
	fi
}

_ka_tracked() {
	[[ $(ftp_sym_counter "$ns_router" keepalive_tracked) -ge $1 ]]
}

# keepalive_group ROUNDS: ROUNDS is for the data-path figure.
keepalive_group() {
	local param=/sys/module/nf_conntrack_ftp_sym/parameters
	local r cfg pid out=$BENCH_TMP/kabuild max0 int0 ns dir

	bench_nat masq || bench_error ka any nat
	bench_ruleset ftp-sym || bench_error ka ftp-sym ruleset
	max0=$(<"$param/max_keepalive")
	int0=$(<"$param/keepalive_interval")
	echo $((BENCH_KA_N2 + 4096)) >"$param/max_keepalive"
	echo "$BENCH_KA_INTERVAL" >"$param/keepalive_interval"
	cleanup_register ka_restore "$param" "$max0" "$int0"
	for ns in "$ns_client" "$ns_server"; do
		dir=dport
		[[ $ns == "$ns_server" ]] && dir=sport
		ip netns exec "$ns" nft -f - <<EOF || bench_error ka any "rst rule"
table inet bench_ka {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp $dir $KA_RST_PORTS tcp flags & rst == rst drop
	}
}
EOF
	done
	pid=$(bench_ftpsrv "$ns_server" 2122 --ka --pasv-ports "$KA_RST_PORTS") || return 1

	ka_window idle
	ka_build "$BENCH_KA_N1" "$out.1" && ka_window "$BENCH_KA_N1"
	ka_build $((BENCH_KA_N2 - BENCH_KA_N1)) "$out.2" && ka_window "$BENCH_KA_N2"

	for ((r = 1; r <= $1; r++)); do
		bench_rotate "$r"
		for cfg in "${BENCH_ORDER[@]}"; do
			BENCH_KEEP_CT=1 data_one data.masq.v4.ka masq 4 0 "$cfg" "$r"
		done
	done
	touch "$out.1.release" "$out.2.release"
	kill "$pid" 2>/dev/null
}

# shellcheck disable=SC2317 # called from the cleanup
ka_restore() {
	echo "$2" >"$1/max_keepalive"
	echo "$3" >"$1/keepalive_interval"
}
