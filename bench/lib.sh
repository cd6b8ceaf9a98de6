# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2154 # ns_client, ns_router, ns_server: lib.sh setup_topo
#
# bench/lib.sh: what every benchmark group shares, on top of the selftests'
# lib.sh, ftp_lib.sh and ka_lib.sh (sourced by bench/guest first): the
# three configurations, records, router CPU, the interleaving of rounds.
#
# Configurations (BENCH_CFGS), the same topology and ruleset for all three:
#   ftp-sym  a ct helper object of type "ftp-sym" on the control ports
#   stock    a ct helper object of type "ftp" (Debian's nf_conntrack_ftp
#            and nf_nat_ftp)
#   none     no helper; the forward filter admits the data ports too, so
#            the traffic that can work without a helper does
#
# Records, one line each on stdout, collected by bench/report.py:
#   @bench fig=F metric=M unit=U better=higher|lower cfg=C round=R value=V
#   @meta key=value...          @detail key=value...
#   @skip fig=F reason=...      @error fig=F cfg=C what=...

BENCH_CFGS=(ftp-sym stock none)
# Control ports the helper is attached to: vsftpd (21), ftpsrv (2121) and
# the keep-alive group's ftpsrv (2122).
BENCH_CTL_PORTS="21, 2121, 2122"
# What "none" needs admitted: vsftpd's and ftpsrv's passive ports, and the
# ports ftpload listens on for PORT.
BENCH_DATA_PORTS="40000-40999, 50000-59999"
BENCH_ERRORS=0
BENCH_BIN=${BENCH_BIN:-$NF_FTP_SYM_REPO/bench/build}
# /proc/stat counts in USER_HZ ticks, 100 per second on x86.
# shellcheck disable=SC2034 # used by the groups
BENCH_TICK_MS=10

# bench_rotate ROUND: BENCH_ORDER = the configurations, rotated by ROUND, so
# that no configuration always runs first after a switch of figure.
BENCH_ORDER=()
bench_rotate() {
	local n=${#BENCH_CFGS[@]} i

	BENCH_ORDER=()
	for ((i = 0; i < n; i++)); do
		BENCH_ORDER+=("${BENCH_CFGS[(i + $1 - 1) % n]}")
	done
}

# rec FIG METRIC UNIT BETTER CFG ROUND VALUE
rec() {
	if [[ -z $7 ]]; then
		bench_error "$1" "$5" "no value for $2"
		return 1
	fi
	echo "@bench fig=$1 metric=$2 unit=$3 better=$4 cfg=$5 round=$6 value=$7"
}

bench_error() {
	echo "@error fig=$1 cfg=$2 what=${3// /_}"
	BENCH_ERRORS=$((BENCH_ERRORS + 1))
}

# cpu_ticks: softirq + system time of all CPUs so far, in USER_HZ ticks
# (/proc/stat).  Client and server kernel work is in it too; it is the
# same in every configuration, so differences are the router's.
cpu_ticks() {
	local _cpu _user _nice system _idle _iowait _irq softirq _rest

	read -r _cpu _user _nice system _idle _iowait _irq softirq _rest </proc/stat
	echo $((system + softirq))
}

# fdiv A B [SCALE]: A / B with SCALE (3) decimals, "nan" when B is 0.
fdiv() {
	awk -v a="$1" -v b="$2" -v s="${3:-3}" \
		'BEGIN { if (b == 0) print "nan"; else printf "%.*f\n", s, a / b }'
}

# bench_ruleset CFG [FLOWTABLE]: the router's filter for CFG, replacing the
# one before (selftests' router_filter, plus the data ports for "none" and
# for everyone alike), and an nft flowtable when FLOWTABLE is 1.  Then an
# empty conntrack table, unless BENCH_KEEP_CT is 1.
bench_ruleset() {
	local type

	case $1 in
	ftp-sym) type=ftp-sym ;;
	stock) type=ftp ;;
	none) type= ;;
	*) return 1 ;;
	esac
	router_filter "$ns_router" "$type" "$BENCH_CTL_PORTS" || return 1
	ip netns exec "$ns_router" nft add rule inet ftpsym_filter forward \
		tcp dport "{ $BENCH_DATA_PORTS }" ct state new accept || return 1
	if [[ ${2:-0} == 1 ]]; then
		ka_flowtable || return 1
	fi
	if [[ ${BENCH_KEEP_CT:-0} != 1 ]]; then
		ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	fi
	return 0
}

# bench_nat masq|fwd: the router's NAT table for one layout.
bench_nat() {
	ip netns exec "$ns_router" nft delete table inet ftpsym_nat 2>/dev/null
	case $1 in
	masq) router_masquerade "$ns_router" ;;
	fwd) router_portforward "$ns_router" "21, 2121, 40000-40999" ;;
	*) return 1 ;;
	esac
}

# bench_kv LINE KEY: the value of KEY=VALUE in LINE.
bench_kv() {
	local w

	for w in $1; do
		if [[ $w == "$2="* ]]; then
			echo "${w#*=}"
			return 0
		fi
	done
	return 1
}

# ftp_sym_counter NS NAME: one of the helper's counters (0 if absent).
ftp_sym_counter() {
	local v

	v=$(ftp_stat "$1" "$2" 2>/dev/null)
	echo "${v:-0}"
}

# bench_ftpsrv NS PORT [ARGS...]: ftpsrv in NS on the server's addresses;
# prints its PID.
bench_ftpsrv() {
	local ns=$1 port=$2 pid

	shift 2
	ip netns exec "$ns" "$BENCH_BIN/ftpsrv" --listen 0.0.0.0 --port "$port" \
		"$@" </dev/null >/dev/null 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	if ! wait_listener "$ns" "$port"; then
		bench_error setup any "ftpsrv did not start on $port"
		return 1
	fi
	echo "$pid"
}

# ftpload ARGS...: the load generator in the client namespace.
ftpload() {
	ip netns exec "$ns_client" "$BENCH_BIN/ftpload" "$@"
}
