#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_unload.sh: unloading the modules, and deleting the router's
# namespace, while FTP sessions go through the helper.
#
#   client (curl, ftp_peer.py) ---- router ---- server (vsftpd, rate-limited)
#                                   strict filter, ct helper "ftp-sym"
#
# 1. Three slow downloads (PASV and PORT over IPv4, EPSV over IPv6; vsftpd
#    anon_max_rate) are under way, their data connections tracked for
#    keep-alive, and a fourth control connection holds half a PORT line in
#    the helper's reassembly buffer.  The ruleset is swapped for the same
#    strict filter without the helper, and nf_nat_ftp_sym then
#    nf_conntrack_ftp_sym are removed, while the downloads still run.
#    Then: the modules are gone, no expectation is left, the running
#    downloads finish intact (their conntrack entries are plain
#    established ones now), the half line can be finished and answered,
#    and a new passive download fails (no helper: the negative control).
# 2. The modules are loaded and the helper attached again: new transfers
#    work, with fresh counters.
# 3. With the modules loaded, the router's namespace is deleted while
#    three slow downloads and a half line are in it: the namespace goes
#    (its ruleset's references on the module are released), the keep-alive
#    timer (1 s here) must not touch it afterwards, a new topology works,
#    and the modules can still be removed at the end.
# A kernel report (oops, WARNING, KASAN, ...) in dmesg fails the test in
# selftests/run.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "curl --version" "run test without curl"
checktool "vsftpd -v" "run test without vsftpd"
checktool "/usr/bin/python3 -c pass" "run test without python3"

CT=nf_conntrack_ftp_sym
NAT=nf_nat_ftp_sym
# The downloads must still run when the modules go; on a slower kernel
# (the debug lane's time scale 10) the steps before that take longer, so
# the rate drops with the scale (131072 bytes/s up to the TCG default, 4).
scale=${NF_FTP_SYM_TIME_SCALE:-1}
[[ $scale -lt 4 ]] && scale=4
RATE=$((131072 * 4 / scale))

load_modules

# A short keep-alive interval, so that a timer left behind for a dead
# namespace would fire while the test still runs.
set_keepalive() {
	echo 1 >/sys/module/$CT/parameters/keepalive_interval
}
set_keepalive

ftp_make_root $((2 * 1024 * 1024))
head -c 32768 /dev/urandom >"$FTP_DIR/root/small.bin"
small_sha=$(sha256sum "$FTP_DIR/root/small.bin")
small_sha=${small_sha%% *}

# parse_spec MODE:FAMILY:HOST: set mode, fam and host.
parse_spec() {
	local rest=${1#*:}

	mode=${1%%:*}
	fam=${rest%%:*}
	host=${rest#*:}
}

# start_slow TAG: three slow downloads of file.bin from the client; SLOW
# maps mode -> PID, SLOW_OUT mode -> output file.  Returns once each has
# received 64 KiB.
declare -A SLOW SLOW_OUT
start_slow() {
	local tag=$1 spec mode fam host

	SLOW=()
	SLOW_OUT=()
	for spec in pasv:4:$SERVER_IP4 port:4:$SERVER_IP4 epsv:6:$SERVER_IP6; do
		parse_spec "$spec"
		SLOW_OUT[$mode]=$FTP_DIR/client/$tag.$mode.0
		curl_get "$ns_client" "$mode" "$fam" "$host" \
			"$FTP_DIR/client/$tag.$mode" 60 file.bin \
			2>"${SLOW_OUT[$mode]}.err" &
		SLOW[$mode]=$!
		cleanup_pid "${SLOW[$mode]}"
	done
	for mode in "${!SLOW[@]}"; do
		if ! busywait 20000 size_over "${SLOW_OUT[$mode]}" 65536; then
			fail "$tag: the slow $mode download did not start"
			return 1
		fi
	done
}

# slow_running: all slow downloads are still under way.
slow_running() {
	local mode

	for mode in "${!SLOW[@]}"; do
		kill -0 "${SLOW[$mode]}" 2>/dev/null || return 1
	done
}

# half_line NAME NS: a control connection whose PORT line is half sent.
half_line() {
	peer_start "$1" "$2" "$SERVER_IP4" &&
		peer_do "$1" sendraw "PORT ${CLIENT_IP4//./,},"
}

refcnt() {
	echo "$(<"/sys/module/$CT/refcnt")"
}

# ------------------------------------------------------------ 1: unload

setup_topo
start_vsftpd "$ns_server" "anon_max_rate=$RATE" >/dev/null || ksft_exit
router_filter "$ns_router" "$NF_FTP_SYM_HELPER" || ksft_exit

if start_slow unload && half_line half "$ns_client"; then
	stats_diff "$ns_router"
	if [[ ${STATS1[keepalive_active]} -ge 3 && ${STATS1[streams_active]} -ge 1 ]]; then
		pass "before unload: 3 downloads running, keepalive_active=${STATS1[keepalive_active]}, streams_active=${STATS1[streams_active]}"
	else
		fail "before unload: keepalive_active=${STATS1[keepalive_active]} streams_active=${STATS1[streams_active]}, want >= 3 and >= 1"
	fi

	if router_filter "$ns_router" "" 21 reject; then
		pass "unload: ruleset swapped for the filter without helper"
	else
		fail "unload: cannot swap the ruleset"
	fi
	for m in "$NAT" "$CT"; do
		if rmmod_bounded "$m" && ! module_state "$m" >/dev/null; then
			pass "unload: $m removed during the transfers"
		else
			fail "unload: $m still loaded ($(module_state "$m"))"
		fi
	done
	if slow_running; then
		pass "unload: the downloads were still running"
	else
		fail "unload: a download ended before the modules were gone: not mid-transfer"
	fi
	if [[ -e /proc/net/nf_ftp_sym ]] ||
		ip netns exec "$ns_router" test -e /proc/net/nf_ftp_sym; then
		fail "unload: /proc/net/nf_ftp_sym still there"
	fi
	expect_scan "$ns_router" 4
	n4=${#EXP_LINES[@]}
	expect_scan "$ns_router" 6
	if [[ $((n4 + ${#EXP_LINES[@]})) -eq 0 ]]; then
		pass "unload: no expectation left"
	else
		fail "unload: expectations left behind: ${EXP_LINES[*]}"
	fi

	if peer_do half sendraw '195,80\r\n' && peer_do half reply; then
		pass "unload: the half-sent PORT line completes and is answered ($PEER_LINE)"
	else
		fail "unload: the control connection with a half line broke: $PEER_LINE"
	fi
	peer_stop half

	for mode in "${!SLOW[@]}"; do
		if wait "${SLOW[$mode]}" && sha_is "${SLOW_OUT[$mode]}" "$FTP_FILE_SHA"; then
			pass "unload: the $mode download finished intact"
		else
			fail "unload: the $mode download failed: $(<"${SLOW_OUT[$mode]}.err")"
		fi
	done
else
	fail "unload: the downloads or the half-line session did not start: $PEER_LINE"
fi
# Negative control: without the helper a new data connection is refused
# by the filter (not merely slow).
if curl_refused "$ns_client" "$ns_router" pasv 4 "$SERVER_IP4"; then
	pass "unload: without the helper a new PASV download fails: $NEG_WHY"
else
	fail "unload: without the helper a new PASV download was not refused: $NEG_WHY"
fi

# ------------------------------------------------------------ 2: reload

if try_load_modules; then
	set_keepalive
	pass "reload: both modules loaded again"
else
	fail "reload: cannot load the modules again"
	ksft_exit
fi
ref_base=$(refcnt)
router_filter "$ns_router" "$NF_FTP_SYM_HELPER" || fail "reload: helper not attached"
for spec in pasv:4:$SERVER_IP4 port:4:$SERVER_IP4 epsv:6:$SERVER_IP6 eprt:6:$SERVER_IP6; do
	parse_spec "$spec"
	out=$FTP_DIR/client/reload.$mode
	if curl_get "$ns_client" "$mode" "$fam" "$host" "$out" 20 small.bin &&
		sha_is "$out.0" "$small_sha"; then
		pass "reload: $mode download works"
	else
		fail "reload: $mode download failed"
	fi
done
stats_diff "$ns_router"
if [[ ${STATS1[expect_created]} -eq 4 && ${STATS1[dropped]-} == 0 ]]; then
	pass "reload: fresh counters, 4 expectations created"
else
	fail "reload: expect_created=${STATS1[expect_created]} dropped=${STATS1[dropped]}, want 4 and 0"
fi

# ------------------------------------------------------------ 3: netns

# shellcheck disable=SC2317 # called by busywait
refs_back() {
	[[ $(refcnt) -eq $ref_base ]]
}

if start_slow netns && half_line half2 "$ns_client"; then
	stats_diff "$ns_router"
	ka=${STATS1[keepalive_active]} sa=${STATS1[streams_active]}
	if [[ -n $ka && -n $sa && $ka -ge 3 && $sa -ge 1 ]]; then
		pass "netns: before the delete: keepalive_active=$ka, streams_active=$sa"
	else
		fail "netns: before the delete: keepalive_active=${ka:-?} streams_active=${sa:-?}, want >= 3 and >= 1"
	fi
	old_router=$ns_router
	# Deleting is only the step; what it must do is checked below.
	ip netns delete "$old_router" || fail "netns: cannot delete the router namespace"
	echo "# netns: router namespace deleted with 3 downloads (keepalive_active=$ka) and a half line (streams_active=$sa) in it"
	if busywait 20000 refs_back; then
		pass "netns: the namespace is gone, refcnt of $CT back to $ref_base"
	else
		fail "netns: refcnt of $CT is $(refcnt), want $ref_base: the namespace lingers"
	fi
	# The downloads and the half line go nowhere now.
	_kill_pids "${SLOW[@]}" "${PEER_PID[half2]}"
else
	fail "netns: the downloads or the half-line session did not start: $PEER_LINE"
fi

# A new topology; its setup takes longer than two keep-alive intervals.
setup_topo
start_vsftpd "$ns_server" "anon_max_rate=$RATE" >/dev/null || ksft_exit
router_filter "$ns_router" "$NF_FTP_SYM_HELPER" || ksft_exit
for spec in pasv:4:$SERVER_IP4 eprt:6:$SERVER_IP6; do
	parse_spec "$spec"
	out=$FTP_DIR/client/new.$mode
	if curl_get "$ns_client" "$mode" "$fam" "$host" "$out" 20 small.bin &&
		sha_is "$out.0" "$small_sha"; then
		pass "netns: $mode download through a new router works"
	else
		fail "netns: $mode download through a new router failed"
	fi
done
stats_diff "$ns_router"
if [[ ${STATS1[expect_created]} -eq 2 ]]; then
	pass "netns: the new router's counters start from zero"
else
	fail "netns: new router: expect_created=${STATS1[expect_created]}, want 2"
fi

# Everything can still be removed: nothing holds the modules.
ip netns exec "$ns_router" nft delete table inet ftpsym_filter
for m in "$NAT" "$CT"; do
	if rmmod_bounded "$m"; then
		pass "end: $m removed"
	else
		fail "end: cannot remove $m (refcnt $(<"/sys/module/$m/refcnt"))"
	fi
done

ksft_exit
