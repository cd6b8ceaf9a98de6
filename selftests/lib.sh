# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers for the nf-ftp-sym selftests, in the spirit of the kernel's
# tools/testing/selftests/net/lib.sh. Source it first thing:
#
#	source "$(dirname "$0")/lib.sh"
#
# Sourcing it installs an EXIT trap that runs cleanup(): registered cleanup
# functions (last registered first), then registered PIDs are killed, then
# every namespace made by setup_ns is emptied and deleted. Do not install
# your own EXIT trap; use cleanup_register / cleanup_pid instead.
#
# Reporting: pass/fail/skip print "PASS: ", "FAIL: " (stderr, sets ret=1)
# and "SKIP: " lines; end the test with ksft_exit (or exit "$ret").  A
# skip that is expected on some kernels (skip_on) prints "XSKIP: ".  Under
# CI=true, selftests/run fails a test that printed a plain SKIP line.
#
# Environment:
#   NF_FTP_SYM_KO_DIR      where nf_conntrack_ftp_sym.ko and nf_nat_ftp_sym.ko
#                          are (default: the repository root)
#   NF_FTP_SYM_TIME_SCALE  integer factor for every time limit (default 1;
#                          the VM runner sets 4 because TCG is slow)
#
# Only documentation addresses are used: 192.0.2.0/24, 198.51.100.0/24,
# 203.0.113.0/24 and 2001:db8::/32.

# Kselftest framework requirement - SKIP code is 4.
ksft_pass=0
ksft_fail=1
ksft_xfail=2
ksft_xpass=3
ksft_skip=4

# shellcheck disable=SC2034 # the constants are for the tests
readonly ksft_pass ksft_fail ksft_xfail ksft_xpass ksft_skip

NF_FTP_SYM_SELFTESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
NF_FTP_SYM_REPO=$(cd "$NF_FTP_SYM_SELFTESTS/.." && pwd -P)
: "${NF_FTP_SYM_KO_DIR:=$NF_FTP_SYM_REPO}"
: "${NF_FTP_SYM_TIME_SCALE:=1}"
if ! [[ $NF_FTP_SYM_TIME_SCALE =~ ^[1-9][0-9]*$ ]]; then
	echo "lib.sh: NF_FTP_SYM_TIME_SCALE must be a positive integer" >&2
	NF_FTP_SYM_TIME_SCALE=1
fi
export NF_FTP_SYM_KO_DIR NF_FTP_SYM_TIME_SCALE

# The helper name our conntrack module registers, and the module names in
# load order (the NAT module depends on the conntrack module).
# shellcheck disable=SC2034 # for the tests
NF_FTP_SYM_HELPER=ftp-sym
NF_FTP_SYM_MODULES=(nf_conntrack_ftp_sym nf_nat_ftp_sym)

# Debian modules the tests use; loaded by load_modules when present.
NF_FTP_SYM_DEP_MODULES=(nf_conntrack nf_nat nf_conntrack_netlink nf_tables
	nft_ct nft_nat nft_chain_nat nft_masq nft_objref veth)

# Default time limit for busywait, in milliseconds (before scaling).
BUSYWAIT_TIMEOUT=${BUSYWAIT_TIMEOUT:-5000}

ret=0
NS_LIST=()
CLEANUP_FNS=()
CLEANUP_PIDS=()
_nf_ftp_sym_npass=0
_nf_ftp_sym_nskip=0
_nf_ftp_sym_cleaned=0

# ------------------------------------------------------------ reporting

pass() {
	echo "PASS: $*"
	_nf_ftp_sym_npass=$((_nf_ftp_sym_npass + 1))
}

fail() {
	echo "FAIL: $*" >&2
	ret=$ksft_fail
}

# A skipped check; the test goes on. To skip the whole test: skip_test.
skip() {
	echo "SKIP: $*"
	_nf_ftp_sym_nskip=$((_nf_ftp_sym_nskip + 1))
}

# Print a SKIP line and end the test with the kselftest skip code.
skip_test() {
	echo "SKIP: $*"
	exit "$ksft_skip"
}

# skip_on KERNEL-GLOB WHAT: skip a check that cannot run on kernels
# matching KERNEL-GLOB (uname -r, e.g. '6.12.*'), for the reason WHAT says:
# there an expected skip ("XSKIP: WHAT [expected on <kernel>]", which
# selftests/run lists in its summary and CI accepts); on any other kernel a
# plain skip, which fails a CI run.
skip_on() {
	# shellcheck disable=SC2053 # $1 is a glob
	if [[ $(uname -r) == $1 ]]; then
		echo "XSKIP: $2 [expected on $(uname -r)]"
		_nf_ftp_sym_nskip=$((_nf_ftp_sym_nskip + 1))
	else
		skip "$2"
	fi
}

# End the test: 1 if anything failed, 4 if nothing passed but something was
# skipped, 0 otherwise.
ksft_exit() {
	# A test that passes with skipped checks says so: TAP has room for
	# one verdict per test only.
	if [[ $_nf_ftp_sym_nskip -gt 0 ]]; then
		echo "INFO: $_nf_ftp_sym_npass checks passed, $_nf_ftp_sym_nskip skipped"
	fi
	if [[ $ret -ne 0 ]]; then
		exit "$ksft_fail"
	fi
	if [[ $_nf_ftp_sym_npass -eq 0 && $_nf_ftp_sym_nskip -gt 0 ]]; then
		exit "$ksft_skip"
	fi
	exit "$ksft_pass"
}

# checktool "CMD ARGS" "WHAT": skip the test unless CMD ARGS succeeds.
#	checktool "nft --version" "run test without nft"
checktool() {
	local -a cmd

	read -ra cmd <<<"$1"
	if ! "${cmd[@]}" >/dev/null 2>&1; then
		skip_test "Could not $2"
	fi
}

require_root() {
	[[ $EUID -eq 0 ]] || skip_test "must be run as root"
}

# ------------------------------------------------------------ time and polling

# Time limit $1 (ms) scaled by NF_FTP_SYM_TIME_SCALE.
scaled_ms() {
	echo $(($1 * NF_FTP_SYM_TIME_SCALE))
}

# Seconds, scaled, for timeout(1) and friends.
scaled_s() {
	echo $(($1 * NF_FTP_SYM_TIME_SCALE))
}

# _set_now_ms: NOW_MS, the time in ms, without the fork of $(_now_ms).
_set_now_ms() {
	local t=${EPOCHREALTIME/,/.}

	NOW_MS=$((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

_now_ms() {
	_set_now_ms
	echo "$NOW_MS"
}

# nap SECONDS: sleep without forking: read's timeout on a pipe whose both
# ends are ours, so no data ever comes.  In the TCG guest a fork and exec
# of sleep(1) costs some 70 ms of CPU: polling loops that slept 50 ms
# with it kept a core busy, and the other lane of "make check" waited.
exec {_NAP_FD}<> <(:)
nap() {
	read -r -t "$1" -u "$_NAP_FD" _ || true
}

# nap_ms MS: nap for MS milliseconds.
nap_ms() {
	local s

	printf -v s '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
	nap "$s"
}

# busywait TIMEOUT_MS CMD [ARGS...]: run CMD until it succeeds, at most
# TIMEOUT_MS (scaled) and at most a bounded number of tries. Returns 0 once
# CMD succeeds, else CMD's last exit status. Its output goes through.
# The pause between tries starts at 50 ms and doubles up to 400 ms: a
# long wait polls a few times a second, not twenty (each try forks, and
# forks are what the guest's CPU goes to).
busywait() {
	local timeout_ms=$1 deadline tries=0 max_tries rc=1 pause=50

	shift
	timeout_ms=$((timeout_ms * NF_FTP_SYM_TIME_SCALE)) # scaled_ms, no fork
	_set_now_ms
	deadline=$((NOW_MS + timeout_ms))
	max_tries=$((timeout_ms / 50 + 2))
	while [[ $tries -lt $max_tries ]]; do
		tries=$((tries + 1))
		"$@" && return 0
		rc=$?
		_set_now_ms
		[[ $NOW_MS -lt $deadline ]] || break
		nap_ms "$pause"
		[[ $pause -ge 400 ]] || pause=$((pause * 2))
	done
	return "$rc"
}

# listener_ready NS PORT [PROTO]: something listens on PORT in NS.
# PROTO is "t" (TCP, default) or "u" (UDP).
listener_ready() {
	local ns=$1 port=$2 proto=${3:-t}

	ss -N "$ns" -Hln"$proto" -o "sport = :$port" | grep -q .
}

# wait_listener NS PORT [PROTO]: busywait for listener_ready.
wait_listener() {
	busywait "$BUSYWAIT_TIMEOUT" listener_ready "$@"
}

# ------------------------------------------------------------ cleanup

# cleanup_register CMD [ARGS...]: run CMD at exit (last registered first).
cleanup_register() {
	local q

	printf -v q '%q ' "$@"
	CLEANUP_FNS+=("$q")
}

# cleanup_pid PID...: kill these processes at exit (before the namespaces go).
cleanup_pid() {
	CLEANUP_PIDS+=("$@")
}

# _kill_pids PID...: TERM, wait a bounded time, then KILL what is left.
_kill_pids() {
	local p left i

	[[ $# -gt 0 ]] || return 0
	kill -TERM "$@" 2>/dev/null
	for ((i = 0; i < 20 * NF_FTP_SYM_TIME_SCALE; i++)); do
		left=0
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null && left=1
		done
		[[ $left -eq 1 ]] || return 0
		nap 0.05
	done
	kill -KILL "$@" 2>/dev/null
	return 0
}

# cleanup_ns NS...: kill every process in each namespace, delete it.
cleanup_ns() {
	local ns i
	local -a pids

	for ns in "$@"; do
		[[ -n $ns ]] || continue
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		_kill_pids "${pids[@]}"
		for ((i = 0; i < 10; i++)); do
			ip netns delete "$ns" 2>/dev/null && break
			[[ -e /run/netns/$ns ]] || break
			nap 0.1
		done
		if [[ -e /run/netns/$ns ]]; then
			echo "cleanup: cannot delete netns $ns" >&2
		fi
	done
}

cleanup_all_ns() {
	cleanup_ns "${NS_LIST[@]}"
	NS_LIST=()
}

# The EXIT trap. Keeps the test's exit status.
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	local rc=$? i

	[[ $_nf_ftp_sym_cleaned -eq 0 ]] || return "$rc"
	_nf_ftp_sym_cleaned=1
	set +e
	for ((i = ${#CLEANUP_FNS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP_FNS[i]}"
	done
	_kill_pids "${CLEANUP_PIDS[@]}"
	cleanup_all_ns
	exit "$rc"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ------------------------------------------------------------ namespaces

# _rand_suffix: six random [A-Za-z0-9] characters, like "mktemp -u XXXXXX"
# but without starting a process (each one costs ~0.1 s or more under TCG).
_rand_suffix() {
	local chars=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789
	local i sfx=

	for ((i = 0; i < 6; i++)); do
		sfx+=${chars:$((SRANDOM % ${#chars})):1}
	done
	echo "$sfx"
}

# setup_ns VAR...: make one namespace per VAR, named "<var>-XXXXXX" (random
# suffix, so parallel runs do not collide), with lo up; store the name in VAR
# and record it for cleanup. Skips the test when namespaces do not work.
#	setup_ns ns1 ns2; ip netns exec "$ns1" ...
setup_ns() {
	local var ns

	for var in "$@"; do
		ns="${var,,}-$(_rand_suffix)"
		if ! ip netns add "$ns" 2>/dev/null; then
			skip_test "cannot create network namespace $ns"
		fi
		NS_LIST+=("$ns")
		ip -n "$ns" link set lo up
		printf -v "$var" '%s' "$ns"
	done
}

# ------------------------------------------------------------ topology

# setup_topo: the standard three-namespace topology every FTP test uses.
#
#     ns_client                 ns_router                    ns_server
#   +-----------+     +-----------------------------+     +-----------+
#   |      eth0 +-----+ eth_c                 eth_s +-----+ eth0      |
#   +-----------+     +-----------------------------+     +-----------+
#   CLIENT_IP4        ROUTER_C_IP4        ROUTER_S_IP4       SERVER_IP4
#   192.0.2.1/24      192.0.2.254/24   198.51.100.254/24  198.51.100.1/24
#   CLIENT_IP6        ROUTER_C_IP6        ROUTER_S_IP6       SERVER_IP6
#   2001:db8:1::1/64  2001:db8:1::fe/64   2001:db8:2::fe/64  2001:db8:2::1/64
#
# Client and server route everything through the router, which forwards
# IPv4 and IPv6 and has no ruleset: tests add their own (helper assignment,
# NAT, a strict forward filter). The IPv6 addresses are "nodad", so they are
# usable at once.
#
# For NAT, 203.0.113.0/24 and 2001:db8:3::/64 are free for "public"
# addresses: NAT_IP4 (203.0.113.1) and NAT_IP6 (2001:db8:3::1) are suggested
# SNAT/DNAT addresses; the server's default route already points at the
# router, so replies to them come back without extra routes.
#
# Sets ns_client, ns_router, ns_server (namespace names) and the address
# variables above. Skips the test without veth.
CLIENT_IP4=192.0.2.1
ROUTER_C_IP4=192.0.2.254
ROUTER_S_IP4=198.51.100.254
SERVER_IP4=198.51.100.1
NAT_IP4=203.0.113.1
CLIENT_IP6=2001:db8:1::1
ROUTER_C_IP6=2001:db8:1::fe
ROUTER_S_IP6=2001:db8:2::fe
SERVER_IP6=2001:db8:2::1
NAT_IP6=2001:db8:3::1
# shellcheck disable=SC2034 # used by the tests
readonly CLIENT_IP4 ROUTER_C_IP4 ROUTER_S_IP4 SERVER_IP4 NAT_IP4 \
	CLIENT_IP6 ROUTER_C_IP6 ROUTER_S_IP6 SERVER_IP6 NAT_IP6

ns_client=
ns_router=
ns_server=

setup_topo() {
	setup_ns ns_client ns_router ns_server

	# One "ip -batch" per namespace: every process start is expensive in
	# the VM.
	if ! ip -batch - 2>/dev/null <<EOF; then
link add eth0 netns $ns_client type veth peer name eth_c netns $ns_router
link add eth0 netns $ns_server type veth peer name eth_s netns $ns_router
EOF
		skip_test "No virtual ethernet pair device support in kernel"
	fi
	ip -n "$ns_client" -batch - <<EOF
addr add $CLIENT_IP4/24 dev eth0
addr add $CLIENT_IP6/64 dev eth0 nodad
link set eth0 up
route add default via $ROUTER_C_IP4
route add ::/0 via $ROUTER_C_IP6
EOF
	ip -n "$ns_router" -batch - <<EOF
addr add $ROUTER_C_IP4/24 dev eth_c
addr add $ROUTER_C_IP6/64 dev eth_c nodad
link set eth_c up
addr add $ROUTER_S_IP4/24 dev eth_s
addr add $ROUTER_S_IP6/64 dev eth_s nodad
link set eth_s up
EOF
	ip -n "$ns_server" -batch - <<EOF
addr add $SERVER_IP4/24 dev eth0
addr add $SERVER_IP6/64 dev eth0 nodad
link set eth0 up
route add default via $ROUTER_S_IP4
route add ::/0 via $ROUTER_S_IP6
EOF
	ip netns exec "$ns_router" sysctl -q -w net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1
}

# ------------------------------------------------------------ modules

# module_state NAME: print the state of NAME in /proc/modules (Live,
# Loading, Unloading); status 1 if it is not there. No process started.
module_state() {
	local name _size _refs _deps state _rest

	[[ -r /proc/modules ]] || return 1
	while read -r name _size _refs _deps state _rest; do
		if [[ $name == "$1" ]]; then
			echo "$state"
			return 0
		fi
	done </proc/modules
	return 1
}

# module_loaded NAME: NAME is in /proc/modules and Live.
module_loaded() {
	[[ $(module_state "$1") == Live ]]
}

# ko_path NAME: the .ko file of one of our modules.
ko_path() {
	echo "$NF_FTP_SYM_KO_DIR/$1.ko"
}

# modules_loadable: why our modules cannot be loaded into this kernel, on
# stdout, with status 1; status 0 if nothing stands in the way.
modules_loadable() {
	local m ko vermagic

	if [[ ! -e /proc/modules ]]; then
		echo "the running kernel $(uname -r) has no module support"
		return 1
	fi
	if [[ $EUID -ne 0 ]]; then
		echo "loading modules needs root"
		return 1
	fi
	for m in "${NF_FTP_SYM_MODULES[@]}"; do
		module_loaded "$m" && continue
		ko=$(ko_path "$m")
		if [[ ! -f $ko ]]; then
			echo "$ko not built (run make)"
			return 1
		fi
		vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null)
		if [[ ${vermagic%% *} != "$(uname -r)" ]]; then
			echo "$m.ko is built for ${vermagic%% *}, not the running $(uname -r)"
			return 1
		fi
	done
	return 0
}

# load_dep_modules [NAME...]: modprobe Debian modules (default: the ones all
# tests use). Returns 1 if one fails; built-in ones are fine.
load_dep_modules() {
	local m rc=0

	[[ $# -gt 0 ]] || set -- "${NF_FTP_SYM_DEP_MODULES[@]}"
	for m in "$@"; do
		modprobe -q "$m" && continue
		# Merged into another module by a newer kernel (nft_objref is
		# part of nf_tables since 6.x): nothing to load.
		if ! modinfo -k "$(uname -r)" "$m" >/dev/null 2>&1 &&
			! grep -q "/$m.ko" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; then
			continue
		fi
		echo "modprobe $m failed" >&2
		rc=1
	done
	return "$rc"
}

# insmod_ko NAME [PARAMS...]: load one of our modules, its dependencies
# (from modinfo) first. Returns insmod's status.
insmod_ko() {
	local m=$1 ko dep
	local -a deps

	shift
	ko=$(ko_path "$m")
	IFS=, read -ra deps <<<"$(modinfo -F depends "$ko" 2>/dev/null)"
	for dep in "${deps[@]}"; do
		[[ -n $dep ]] || continue
		module_loaded "$dep" && continue
		if [[ " ${NF_FTP_SYM_MODULES[*]} " == *" $dep "* ]]; then
			insmod_ko "$dep" || return 1
		else
			modprobe -q "$dep" || return 1
		fi
	done
	insmod "$ko" "$@"
}

# try_load_modules: load the Debian dependencies and our two modules unless
# already loaded. Returns 0 (loaded), $ksft_skip (cannot be loaded into this
# kernel: no module support, not built, built for another kernel, not root;
# the reason is printed) or $ksft_fail (insmod of a loadable module failed:
# a bug; the end of dmesg is printed).
try_load_modules() {
	local why m

	if ! why=$(modules_loadable); then
		echo "SKIP: $why"
		return "$ksft_skip"
	fi
	if ! load_dep_modules; then
		echo "FAIL: a module the tests use cannot be loaded (above)" >&2
		return "$ksft_fail"
	fi
	for m in "${NF_FTP_SYM_MODULES[@]}"; do
		module_loaded "$m" && continue
		if ! insmod_ko "$m"; then
			echo "FAIL: insmod $(ko_path "$m") failed" >&2
			dmesg 2>/dev/null | tail -n 5 >&2
			return "$ksft_fail"
		fi
	done
	return 0
}

# load_modules: try_load_modules, ending the test on SKIP or FAIL.
load_modules() {
	local rc=0

	try_load_modules || rc=$?
	case $rc in
	0) return 0 ;;
	"$ksft_skip") exit "$ksft_skip" ;;
	*) exit "$ksft_fail" ;;
	esac
}

# rmmod_bounded NAME: rmmod with a few retries (a module still referenced
# for a moment by conntrack entries being freed). Returns rmmod's status.
rmmod_bounded() {
	local i

	module_loaded "$1" || return 0
	for ((i = 0; i < 10 * NF_FTP_SYM_TIME_SCALE; i++)); do
		rmmod "$1" 2>/dev/null && return 0
		nap 0.1
	done
	rmmod "$1"
}

# _delete_helper_users: remove what makes our modules busy in this network
# namespace: nft tables with an ftp-sym helper, iptables CT rules naming
# it, and the conntrack entries.
_delete_helper_users() {
	local fam table line ipt

	while read -r _ fam table; do
		nft list table "$fam" "$table" 2>/dev/null | grep -q '"ftp-sym"' &&
			nft delete table "$fam" "$table"
	done < <(nft list tables 2>/dev/null)
	for ipt in iptables ip6tables; do
		command -v "$ipt" >/dev/null || continue
		"$ipt" -t raw -S 2>/dev/null | grep -- '--helper ftp-sym' |
			while read -r _ line; do
				# shellcheck disable=SC2086 # the rule's own words
				"$ipt" -t raw -D $line
			done
	done
	conntrack -F >/dev/null 2>&1
	return 0
}

# unload_leftovers: our modules unloaded, for the tests that load them
# their own way (modprobe, DKMS).  What an earlier test left behind (its
# namespaces, named by setup_ns, or a ruleset using the helper) is removed
# first rather than skipping the test.  Returns 1 when a module stays.
unload_leftovers() {
	local ns

	module_loaded nf_conntrack_ftp_sym || module_loaded nf_nat_ftp_sym ||
		return 0
	unload_modules 2>/dev/null && return 0
	echo "# our modules are in use: removing what earlier tests left behind"
	while read -r ns _; do
		[[ $ns =~ ^ns[a-z0-9_]*-[A-Za-z0-9]{6}$ ]] || continue
		echo "# leftover namespace $ns"
		cleanup_ns "$ns"
	done < <(ip netns list 2>/dev/null)
	_delete_helper_users
	unload_modules
}

# unload_modules: remove our modules, NAT first. Returns 1 if one stays.
unload_modules() {
	local i rc=0

	for ((i = ${#NF_FTP_SYM_MODULES[@]} - 1; i >= 0; i--)); do
		rmmod_bounded "${NF_FTP_SYM_MODULES[i]}" || rc=1
	done
	return "$rc"
}
