#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_faults.sh: FTP through the helper while things go wrong.
#
#   client (curl, lftp, ftp_peer.py) ---- router ---- server (vsftpd :21,
#                                     strict filter,   ftp_peer.py :2121)
#                                     ct helper "ftp-sym", NAT as below
#
# 1. netem: loss, delay and reordering on every link of the router, with
#    NAT rewriting (A: masquerade, B: port forward): several transfers on
#    one control connection each (curl with three URLs, lftp with three
#    gets), active and passive; every transfer completes, checksums match.
#    Then a segment carrying four rewritten PORT lines is lost after the
#    router: its retransmission must get through (rewritten again).
# 2. conntrack -F while downloads run (no NAT, then masquerade): each
#    download either completes intact or ends because the router reset
#    its data connection: the flushed connection comes back as NEW and
#    the filter refuses it with a reset, or, under NAT, the router's own
#    stack answers the server's packets with one (the router's resets are
#    recorded per connection).  Never wrong data, never a failure the
#    router did not cause; afterwards new transfers work.
# 3. unload under NAT: slow downloads, a rapid loop of PORT transfers
#    (rewrites in flight), a half PORT line held by the router, an idle
#    session with rewrites behind it.  First nf_nat_ftp_sym alone, then,
#    after reloading it, both modules (ruleset swapped first).  Running
#    downloads complete; sessions stay in step (seqadj goes on without the
#    helper).  Without nf_nat_ftp_sym, nf_conntrack_ftp_sym withholds every
#    line that needs translating (no line reaches the server untranslated)
#    and, once it is back, the retransmissions go out rewritten.  Without
#    both, new endpoint lines fail cleanly (no expectation).  Reload:
#    everything works again.
# 4. the router's namespace deleted with NATed sessions, rewrites and a
#    held line in it: module references return, a new topology works.
# 5. full tables (IPv4; nf_conntrack_expect_max and nf_conntrack_max are
#    lowered in the router's namespace, or globally where only the initial
#    one may set them, and put back after):
#    a. expectation table full with three held PASV sessions.  Under NAT
#       the 227 of a fourth is withheld (nat_failed), and its server's
#       retransmission goes through once a held transfer has used its
#       expectation.  Without NAT the 227 passes unchanged (expect_failed,
#       no expectation), its data connection is refused by the strict
#       filter, and the same session transfers once a slot is free.
#    b. conntrack table full (masquerade), every entry assured so nothing
#       can be evicted early: a held PASV data connection is dropped, its
#       expectation stays, and the client's retried SYN gets through, with
#       intact data, once there is room.  The helper drops nothing.
# At the end, once the sessions are gone, streams_active and
# keepalive_active return to 0 and both modules unload.  A kernel report
# in dmesg fails the test (selftests/run).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "curl --version" "run test without curl"
checktool "lftp --version" "run test without lftp"
checktool "vsftpd -v" "run test without vsftpd"
checktool "tc -V" "run test without tc"
checktool "/usr/bin/python3 -c pass" "run test without python3"

CT=nf_conntrack_ftp_sym
NAT=nf_nat_ftp_sym
params=/sys/module/$CT/parameters
PUB4=$ROUTER_C_IP4
PUB6=$ROUTER_C_IP6
# The slow downloads must outlast the steps each section takes while they
# run; on a slower kernel (the debug lane's time scale 10) those take
# longer, so the rate drops with the scale, as in nf_ftp_sym_unload.sh.
scale=$NF_FTP_SYM_TIME_SCALE
[[ $scale -lt 4 ]] && scale=4
RATE=$((131072 * 4 / scale))
T0=$EPOCHSECONDS

load_modules
ka0=$(<"$params/keepalive_interval")
cleanup_register eval "{ echo $ka0 >/sys/module/$CT/parameters/keepalive_interval; } 2>/dev/null"
echo 1 >"$params/keepalive_interval"

setup_topo
ftp_make_root $((1024 * 1024))
head -c 131072 /dev/urandom >"$FTP_DIR/root/mid.bin"
head -c 4096 /dev/urandom >"$FTP_DIR/root/small.bin"
mid_sha=$(sha256sum "$FTP_DIR/root/mid.bin")
mid_sha=${mid_sha%% *}
small_sha=$(sha256sum "$FTP_DIR/root/small.bin")
small_sha=${small_sha%% *}
ns_anchor "$ns_router"

# section TITLE: a header, and how long the previous one took.
SECTION_T=$EPOCHSECONDS
section() {
	echo "# ---- $* (previous: $((EPOCHSECONDS - SECTION_T)) s)"
	SECTION_T=$EPOCHSECONDS
}

# rules HELPER NAT [reject]: the router's whole ruleset in one
# transaction: the strict filter, the helper attached (HELPER "yes") or
# not, and NAT "none", "masq" (clients masqueraded) or "dnat" (ports 21
# and 2121 of the router's client-side addresses forwarded to the server).
# With "reject", other new TCP connections are refused with a reset and
# counted (refused_count), so that what fails, fails for a named reason.
rules() {
	local attach='' set='' nat='' refuse=''

	if [[ ${3:-} == reject ]]; then
		refuse='meta l4proto tcp ct state new counter name "refused" reject with tcp reset'
	fi

	if [[ $1 == yes ]]; then
		attach="ct helper ftp { type \"$NF_FTP_SYM_HELPER\" protocol tcp; l3proto inet; }"
		set='tcp dport { 21, 2121 } ct helper set "ftp"'
	fi
	case $2 in
	masq)
		nat='chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth_s" masquerade
	}' ;;
	dnat)
		nat="chain prenat {
		type nat hook prerouting priority dstnat; policy accept;
		iifname \"eth_c\" ip daddr $PUB4 tcp dport { 21, 2121 } dnat ip to $SERVER_IP4
		iifname \"eth_c\" ip6 daddr $PUB6 tcp dport { 21, 2121 } dnat ip6 to $SERVER_IP6
	}" ;;
	esac
	if ip netns exec "$ns_router" nft -f - <<EOF
flush ruleset
table inet ftpsym_filter {
	$attach
	counter refused { }
	set resets { type ipv4_addr . inet_service . inet_service; flags dynamic; }
	chain pre {
		type filter hook prerouting priority -150; policy accept;
		$set
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		tcp dport { 21, 2121 } ct state new accept
		$refuse
	}
	chain out {
		type filter hook output priority 0; policy accept;
		tcp flags & rst == rst tcp sport != { 21, 2121 } tcp dport != { 21, 2121 } add @resets { ip daddr . tcp sport . tcp dport }
	}
	$nat
}
EOF
	then
		return 0
	fi
	fail "router ruleset (helper $1, NAT $2) rejected"
	return 1
}

# vsftpd_restart [CONFIG-LINE...]: vsftpd on port 21 with these options,
# logging the commands it gets to FTP_DIR/vsftpd.log.
VSFTPD=
vsftpd_restart() {
	[[ -n $VSFTPD ]] && stop_vsftpd "$ns_server" "$VSFTPD"
	: >"$FTP_DIR/vsftpd.log"
	VSFTPD=$(start_vsftpd "$ns_server" xferlog_enable=YES log_ftp_protocol=YES \
		xferlog_std_format=NO "vsftpd_log_file=$FTP_DIR/vsftpd.log" "$@")
}

# slow_start TAG SPEC...: slow downloads of file.bin (vsftpd rate-limited),
# SPEC = MODE:FAMILY:HOST; SLOW[TAG.MODE.FAMILY] = PID.  Returns once each
# has 64 KiB.  One that stalls for 5 s gives up (a failure, not a hang).
declare -A SLOW=()
slow_start() {
	local tag=$1 spec mode fam host k

	shift
	for spec in "$@"; do
		IFS=: read -r mode fam host <<<"$spec"
		k=$tag.$mode.$fam
		curl_get "$ns_client" "$mode" "$fam" "$host" "$FTP_DIR/client/$k" 60 \
			file.bin -- --no-ftp-skip-pasv-ip --speed-limit 1000 \
			--speed-time 5 2>"$FTP_DIR/client/$k.err" &
		SLOW[$k]=$!
		cleanup_pid "$!"
	done
	for k in "${!SLOW[@]}"; do
		[[ $k == "$tag".* ]] || continue
		if ! busywait 20000 size_over "$FTP_DIR/client/$k.0" 65536; then
			fail "$tag: the slow download $k did not start: $(cat "$FTP_DIR/client/$k.err")"
			return 1
		fi
	done
}

# slow_wait TAG: wait for TAG's downloads; SLOW_RES[key] is "complete",
# "WRONG DATA" or "failed (curl RC: why)".
declare -A SLOW_RES=()
slow_wait() {
	local tag=$1 k rc

	for k in "${!SLOW[@]}"; do
		[[ $k == "$tag".* ]] || continue
		rc=0
		wait "${SLOW[$k]}" || rc=$?
		if [[ $rc -eq 0 ]] && sha_is "$FTP_DIR/client/$k.0" "$FTP_FILE_SHA"; then
			SLOW_RES[$k]=complete
		elif [[ $rc -eq 0 ]]; then
			SLOW_RES[$k]="WRONG DATA"
		else
			SLOW_RES[$k]="failed (curl $rc: $(tr -d '\n' <"$FTP_DIR/client/$k.err"))"
		fi
		unset "SLOW[$k]"
	done
}

# ------------------------------------------------------------ 1: netem

section "1: netem with NAT"
vsftpd_restart || ksft_exit
# netem add|del [NETEM-ARGS]: on both router links and the ends' links.
netem() {
	local op=$1 dev
	local -a q=()

	[[ -n ${2:-} ]] && read -ra q <<<"netem $2"
	for dev in eth_c eth_s; do
		ip netns exec "$ns_router" tc qdisc "$op" dev "$dev" root "${q[@]}"
	done
	ip netns exec "$ns_client" tc qdisc "$op" dev eth0 root "${q[@]}"
	ip netns exec "$ns_server" tc qdisc "$op" dev eth0 root "${q[@]}"
}

# netem_layout LAYOUT HOST4 HOST6: curl (3 files per control connection)
# in every mode, lftp (3 gets) active and passive.
netem_layout() {
	local layout=$1 h4=$2 h6=$3 mode fam host out i ok errs
	local -a curlx=()

	[[ $layout == dnat ]] && curlx=(--no-ftp-skip-pasv-ip)
	for spec in port:4 pasv:4 eprt:6 epsv:6; do
		IFS=: read -r mode fam <<<"$spec"
		host=$h4
		[[ $fam == 6 ]] && host=$h6
		out=$FTP_DIR/client/netem.$layout.$mode.$fam
		errs=
		curl_get "$ns_client" "$mode" "$fam" "$host" "$out" 60 \
			mid.bin mid.bin mid.bin -- "${curlx[@]}" 2>"$out.err" ||
			errs=" curl: $(tr -d '\n' <"$out.err")"
		for i in 0 1 2; do
			sha_is "$out.$i" "$mid_sha" || errs+=" transfer $((i + 1)) wrong or missing;"
		done
		if [[ -z $errs ]]; then
			pass "netem $layout: curl IPv$fam $mode, 3 transfers on one control connection"
		else
			fail "netem $layout: curl IPv$fam $mode:$errs"
		fi
	done
	for mode in off on; do
		out=$FTP_DIR/client/netem.$layout.lftp.$mode
		ok=0
		timeout "$(scaled_s 60)" ip netns exec "$ns_client" lftp -c \
			"set net:timeout $(scaled_s 10); set net:max-retries 2; set ftp:ssl-allow no;
			 set cmd:fail-exit yes; set ftp:passive-mode $mode; set ftp:prefer-epsv no;
			 open ftp://anonymous:x@$h4;
			 get mid.bin -o $out.0; get mid.bin -o $out.1; get mid.bin -o $out.2" \
			</dev/null >"$out.err" 2>&1 && ok=1
		for i in 0 1 2; do
			sha_is "$out.$i" "$mid_sha" || ok=0
		done
		if [[ $ok -eq 1 ]]; then
			pass "netem $layout: lftp passive-mode $mode, 3 gets on one control connection"
		else
			fail "netem $layout: lftp passive-mode $mode: $(tail -n 2 "$out.err")"
		fi
	done
}

netem add "loss 3% delay 5ms 5ms reorder 20% 50%"
for layout in masq dnat; do
	rules yes "$layout" || ksft_exit
	stats_snap "$ns_router"
	if [[ $layout == masq ]]; then
		netem_layout masq "$SERVER_IP4" "$SERVER_IP6"
	else
		netem_layout dnat "$PUB4" "$PUB6"
	fi
	stats_diff "$ns_router"
	echo "# netem $layout: $(stats_show)"
	if [[ ${STATSD[nat_rewrites]} -gt 0 ]]; then
		pass "netem $layout: ${STATSD[nat_rewrites]} lines rewritten, ${STATSD[dropped]} out-of-order control segments dropped on purpose"
	else
		fail "netem $layout: nothing was rewritten: the case tests nothing"
	fi
done
netem del

# 1b: a segment with four rewritten lines (pipelined PORTs) lost after the
# router.  The sender retransmits it; the router has to send it again
# rewritten the same way (it keeps four rewritten lines per direction for
# that, FTP_SYM_RECS).
rules yes masq || ksft_exit
# shellcheck disable=SC2317 # called by busywait
rewrites_over() {
	stats_diff "$ns_router"
	[[ ${STATSD[nat_rewrites]} -ge $1 ]]
}
if peer_start L "$ns_client" "$SERVER_IP4" --timeout "$(scaled_s 10)"; then
	c=${CLIENT_IP4//./,}
	stats_snap "$ns_router"
	ip netns exec "$ns_router" tc qdisc add dev eth_s root netem loss 100%
	peer_do L sendraw "PORT $c,195,90\\r\\nPORT $c,195,91\\r\\nPORT $c,195,92\\r\\nPORT $c,195,93\\r\\n"
	busywait 5000 rewrites_over 4
	ip netns exec "$ns_router" tc qdisc del dev eth_s root
	ok=0
	peer_do L reply && peer_do L reply && peer_do L reply &&
		peer_do L reply && ok=1
	stats_diff "$ns_router"
	if [[ $ok -eq 1 ]]; then
		pass "lost segment with 4 rewritten lines: retransmitted and answered ($(stats_show))"
	else
		fail "lost segment with 4 rewritten lines: not answered: $PEER_LINE ($(stats_show))"
	fi
	peer_stop L close
else
	fail "lost segment with 4 rewritten lines: cannot log in: $PEER_LINE"
fi

# ------------------------------------------------------------ 2: flush

section "2: conntrack -F during downloads"
vsftpd_restart "anon_max_rate=$RATE" || ksft_exit
# reset_flows: the server's port of each data connection (neither end a
# control port) the router sent a TCP reset for since rules() loaded its
# ruleset: its filter refusing them as NEW, or its own stack answering for
# a masquerade mapping that the flush took away.  A reset to the server has
# the server's port as destination, one to the client as source.
reset_flows() {
	local d a b
	local -A seen=()

	while read -r d a b; do
		[[ $b =~ ^[0-9]+$ ]] || continue
		if [[ $d == "$SERVER_IP4" ]]; then
			seen[$b]=1
		else
			seen[$a]=1
		fi
	done < <(ip netns exec "$ns_router" nft -j list set inet ftpsym_filter resets |
		/usr/bin/python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []) or []:
        print(" ".join(str(x) for x in e["concat"]))')
	printf '%s\n' "${!seen[@]}"
}

# After the flush the data connections come back as NEW halfway through:
# the filter refuses them with a reset (or, under NAT, the router's stack
# resets what no longer has a mapping), and nothing tells the client, whose
# curl stops after 5 s without data (--speed-limit, exit 28).  So a
# download passes if it completed intact, or if it failed and the router
# reset its data connection: a PASV one has the server's passive port
# (40000-40999), a PORT one the server's ephemeral port, which the server's
# port range keeps out of the passive range (ports alone told them apart
# wrongly when an ephemeral port fell into it).
ip netns exec "$ns_server" sysctl -qw net.ipv4.ip_local_port_range="41000 60999"
for layout in none masq; do
	rules yes "$layout" reject || ksft_exit
	if slow_start "flush-$layout" "pasv:4:$SERVER_IP4" "port:4:$SERVER_IP4"; then
		stats_snap "$ns_router"
		ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
		slow_wait "flush-$layout"
		stats_diff "$ns_router"
		mapfile -t flows < <(reset_flows)
		echo "# flush $layout: server ports of the data connections the router reset: ${flows[*]:-none}"
		for k in "flush-$layout.pasv.4" "flush-$layout.port.4"; do
			echo "# flush $layout: ${k#*.}: ${SLOW_RES[$k]}"
			reset=0
			for f in "${flows[@]}"; do
				pasv_port=0
				[[ $f -ge 40000 && $f -le 40999 ]] && pasv_port=1
				if [[ $k == *.pasv.* && $pasv_port -eq 1 ]] ||
					[[ $k == *.port.* && $pasv_port -eq 0 ]]; then
					reset=1
				fi
			done
			if [[ ${SLOW_RES[$k]} == complete ]]; then
				pass "flush $layout: ${k#*.} completed intact"
			elif [[ ${SLOW_RES[$k]} == "WRONG DATA" ]]; then
				fail "flush $layout: ${k#*.} completed with wrong data"
			elif [[ $reset -eq 1 ]]; then
				pass "flush $layout: ${k#*.} ended: the router reset its flushed data connection (${SLOW_RES[$k]})"
			else
				fail "flush $layout: ${k#*.} failed and the router reset no data connection of it: ${SLOW_RES[$k]}"
			fi
		done
		echo "# flush $layout: $(stats_show)"
	fi
	out=$FTP_DIR/client/after-flush.$layout
	if curl_get "$ns_client" pasv 4 "$SERVER_IP4" "$out" 20 small.bin 2>/dev/null &&
		sha_is "$out.0" "$small_sha"; then
		pass "flush $layout: a new transfer works afterwards"
	else
		fail "flush $layout: a new transfer fails after the flush"
	fi
done
vsftpd_restart || ksft_exit

# ------------------------------------------------------------ 3: unload

section "3: unload and reload under NAT"
vsftpd_restart "anon_max_rate=$RATE" || ksft_exit
rules yes masq || ksft_exit
ref_base=$(<"/sys/module/$CT/refcnt")

# shellcheck disable=SC2317 # called by busywait
loop_count() {
	[[ $(grep -c "^ftp_peer: received" "$FTP_DIR/loop.log") -ge $1 ]]
}

# leaked_count LOGPOS: PORT lines with the client's own address that the
# server logged after line LOGPOS of its log.
leaked_count() {
	tail -n "+$(($1 + 1))" "$FTP_DIR/vsftpd.log" | grep -c "PORT ${CLIENT_IP4//./,},"
}

# shellcheck disable=SC2317 # called by busywait
leaked_any() {
	[[ $(leaked_count "$1") -gt 0 ]]
}

# The loop of PORT transfers: rewrites all the time, until it fails.
ip netns exec "$ns_client" "$FTP_PEER" client --server "$SERVER_IP4" \
	--mode port --retr small.bin --sha256 "$small_sha" --repeat 100000 \
	--timeout "$(scaled_s 10)" 2>"$FTP_DIR/loop.log" &
loop=$!
cleanup_pid "$loop"

if slow_start unload "pasv:4:$SERVER_IP4" "port:4:$SERVER_IP4" "eprt:6:$SERVER_IP6" &&
	peer_start q "$ns_client" "$SERVER_IP4" --timeout "$(scaled_s 10)" &&
	peer_do q xfer --mode port --retr small.bin --sha256 "$small_sha" &&
	peer_start h "$ns_client" "$SERVER_IP4" --timeout "$(scaled_s 10)" &&
	peer_do h sendraw "PORT ${CLIENT_IP4//./,},"; then
	busywait 5000 loop_count 3
	stats_diff "$ns_router"
	echo "# before unload: $(grep -c '^ftp_peer: received' "$FTP_DIR/loop.log") loop transfers," \
		"keepalive_active ${STATS1[keepalive_active]} streams_active ${STATS1[streams_active]}" \
		"nat_held_lines ${STATS1[nat_held_lines]}"

	# 3a: the NAT half alone; the helper stays attached.
	if rmmod_bounded "$NAT"; then
		pass "unload: $NAT removed, $CT still tracking, downloads and a held line in flight"
	else
		fail "unload: cannot remove $NAT"
	fi
	# Without the NAT half a line that needs translating is withheld
	# (dropped, and its retransmissions with it) rather than sent with
	# the client's private address; once the NAT half is back the
	# retransmission goes out rewritten and the session goes on.  The
	# half line of h stays held across the gap; its end comes in 3b.  (Its
	# end sent in the gap would be dropped too, and Linux retransmits only
	# the unacknowledged head, which stays held: the line would wait for a
	# retransmission that merges both, which may never come.)
	logpos=$(wc -l <"$FTP_DIR/vsftpd.log")
	stats_snap "$ns_router"
	peer_post q xfer --mode port --retr small.bin --sha256 "$small_sha"
	# Not scaled: the sender backs off with every dropped retransmission,
	# and its next try after the reload must come within the peers' limit.
	if busywait 2000 leaked_any "$logpos"; then
		fail "unload $NAT: a PORT line with the client's private address reached the server while $CT tracked the NATed connection without $NAT"
		tail -n "+$((logpos + 1))" "$FTP_DIR/vsftpd.log" | grep "PORT " | sed 's/^/#   /' >&2
	else
		stats_diff "$ns_router"
		if [[ ${STATSD[nat_failed]:-0} -ge 1 ]]; then
			pass "unload $NAT: a new PORT withheld, nothing untranslated reached the server ($(stats_show))"
		else
			fail "unload $NAT: nat_failed +${STATSD[nat_failed]:-0}, want >= 1 ($(stats_show))"
		fi
	fi
	if insmod_ko "$NAT"; then
		peer_collect q
		ql=$PEER_LINE
		peer_do q cmd NOOP
		nl=$PEER_LINE
		if [[ $ql == "ok "* && $nl == "ok "*" 200 "* ]]; then
			pass "reload $NAT: the withheld line went out rewritten, the PORT transfer completed, the session is in step (${ql#ok * })"
		else
			fail "reload $NAT: PORT transfer -> $ql; NOOP -> $nl"
		fi
		leaked=$(leaked_count "$logpos")
		[[ $leaked -eq 0 ]] || fail "reload $NAT: $leaked untranslated PORT lines reached the server"
	else
		fail "reload $NAT: insmod failed"
	fi

	# 3b: both modules, the ruleset swapped first.
	stats_diff "$ns_router"
	echo "# before the second unload: streams_active ${STATS1[streams_active]} keepalive_active ${STATS1[keepalive_active]}"
	rules no masq reject || fail "unload: cannot swap the ruleset"
	for m in "$NAT" "$CT"; do
		if rmmod_bounded "$m"; then
			pass "unload: $m removed during the transfers"
		else
			fail "unload: cannot remove $m ($(<"/sys/module/$m/refcnt") references)"
		fi
	done
	if ip netns exec "$ns_router" test -e /proc/net/nf_ftp_sym; then
		fail "unload: /proc/net/nf_ftp_sym still there"
	fi
	peer_do q cmd NOOP
	if [[ $PEER_LINE == "ok "*" 200 "* ]]; then
		pass "unload: the session with rewrites behind it stays in step without the helper (seqadj)"
	else
		fail "unload: the session is out of step: $PEER_LINE"
	fi
	peer_do h sendraw '195,81\r\n' && peer_do h reply
	echo "# after unload: the held line -> ${PEER_LINE#* * }"
	# Refused by the filter, not timed out: --data-timeout is generous.
	if peer_do q xfer --mode pasv --retr small.bin --sha256 "$small_sha" \
		--data-timeout "$(scaled_s 10)"; then
		fail "unload: a PASV transfer worked without the helper: the filter is not strict"
	elif [[ $PEER_LINE == *"Connection refused"* ]]; then
		pass "unload: without the helper a new PASV data connection is refused (${PEER_LINE#* * })"
	else
		fail "unload: without the helper a new PASV transfer failed, but not refused: $PEER_LINE"
	fi
	_kill_pids "$loop"
	wait "$loop" 2>/dev/null
	echo "# the PORT loop: $(grep -c '^ftp_peer: received' "$FTP_DIR/loop.log") transfers, then: $(grep -v '^ftp_peer: \(received\|->\)' "$FTP_DIR/loop.log" | tail -n 1)"
	slow_wait unload
	for k in unload.pasv.4 unload.port.4 unload.eprt.6; do
		if [[ ${SLOW_RES[$k]} == complete ]]; then
			pass "unload: the running ${k#unload.} download completed intact"
		else
			fail "unload: the running ${k#unload.} download: ${SLOW_RES[$k]}"
		fi
	done
	peer_stop q
	peer_stop h close
else
	fail "unload: sessions did not start: $PEER_LINE"
fi

if try_load_modules; then
	echo 1 >"$params/keepalive_interval"
	rules yes masq || ksft_exit
	ok=1
	for mode in port pasv; do
		out=$FTP_DIR/client/reload.$mode
		curl_get "$ns_client" "$mode" 4 "$SERVER_IP4" "$out" 20 small.bin 2>/dev/null &&
			sha_is "$out.0" "$small_sha" || ok=0
	done
	if [[ $ok -eq 1 ]]; then
		pass "reload: both modules back, PORT and PASV through NAT work"
	else
		fail "reload: transfers fail after reloading the modules"
	fi
else
	fail "reload: cannot load the modules again"
	ksft_exit
fi

# ------------------------------------------------------------ 4: netns

section "4: router namespace deleted with NATed sessions"
ref_base=$(<"/sys/module/$CT/refcnt")
rules yes masq || ksft_exit
# shellcheck disable=SC2317 # called by busywait
refs_back() {
	[[ $(<"/sys/module/$CT/refcnt") -le $1 ]]
}
if slow_start netns "pasv:4:$SERVER_IP4" "port:4:$SERVER_IP4" &&
	peer_start n1 "$ns_client" "$SERVER_IP4" --timeout "$(scaled_s 10)" &&
	peer_do n1 xfer --mode port --retr small.bin --sha256 "$small_sha" &&
	peer_do n1 sendraw "PORT ${CLIENT_IP4//./,},"; then
	stats_diff "$ns_router"
	ka=${STATS1[keepalive_active]} sa=${STATS1[streams_active]}
	inner=$(<"/sys/module/$CT/refcnt")
	old=$ns_router
	_kill_pids "${NS_ANCHOR[$ns_router]}"
	unset "NS_ANCHOR[$ns_router]"
	if [[ -n $ka && -n $sa && $ka -ge 2 && $sa -ge 1 ]]; then
		pass "netns: before the delete: keepalive_active=$ka streams_active=$sa, refcnt $inner"
	else
		fail "netns: before the delete: keepalive_active=${ka:-?} streams_active=${sa:-?}, want >= 2 and >= 1"
	fi
	# Deleting is only the step; what it must do is checked below.
	ip netns delete "$old" || fail "netns: cannot delete the router namespace"
	# Only the ruleset of the old namespace held references.
	if busywait 20000 refs_back "$((ref_base))"; then
		pass "netns: its references on $CT are gone (refcnt $(<"/sys/module/$CT/refcnt"))"
	else
		fail "netns: refcnt of $CT is $(<"/sys/module/$CT/refcnt"), want $ref_base"
	fi
	_kill_pids "${SLOW[@]}" "${PEER_PID[n1]}"
	SLOW=()
else
	fail "netns: the downloads or the sessions did not start: $PEER_LINE"
fi
_kill_pids "$VSFTPD"
VSFTPD=
setup_topo
ns_anchor "$ns_router"
vsftpd_restart || ksft_exit
rules yes masq || ksft_exit
out=$FTP_DIR/client/new-topo
if curl_get "$ns_client" port 4 "$SERVER_IP4" "$out" 20 small.bin 2>/dev/null &&
	sha_is "$out.0" "$small_sha"; then
	pass "netns: a PORT transfer through a new NAT router works"
else
	fail "netns: PORT transfer through a new router failed"
fi

# ------------------------------------------------------------ 5: full tables

# ct_sysctl NAME VALUE: set net.netfilter.NAME for the router.  Kernels
# where it is per namespace take it there; others (6.1) only in the
# initial namespace, where it applies to every namespace.  ct_sysctl_undo
# (also run at exit) puts the old values back.
CT_SYSCTL_UNDO=()
ct_sysctl() {
	local key=net.netfilter.$1 old

	# sysctl -w exits 0 even when the write is refused: read it back.
	old=$(ip netns exec "$ns_router" sysctl -n "$key") || return 1
	ip netns exec "$ns_router" sysctl -qw "$key=$2" 2>/dev/null
	if [[ $(ip netns exec "$ns_router" sysctl -n "$key") == "$2" ]]; then
		CT_SYSCTL_UNDO+=("$ns_router $key=$old")
		return 0
	fi
	old=$(sysctl -n "$key") || return 1
	sysctl -qw "$key=$2"
	CT_SYSCTL_UNDO+=("- $key=$old")
	[[ $(ip netns exec "$ns_router" sysctl -n "$key") == "$2" ]]
}

ct_sysctl_undo() {
	local i ns set

	for ((i = ${#CT_SYSCTL_UNDO[@]} - 1; i >= 0; i--)); do
		read -r ns set <<<"${CT_SYSCTL_UNDO[i]}"
		if [[ $ns == - ]]; then
			sysctl -qw "$set"
		else
			ip netns exec "$ns" sysctl -qw "$set" 2>/dev/null
		fi
	done
	CT_SYSCTL_UNDO=()
}
cleanup_register ct_sysctl_undo

# peers_stop NAME...: peer_stop for those that were started.
peers_stop() {
	local name

	for name in "$@"; do
		[[ -n ${PEER_PID[$name]:-} ]] && peer_stop "$name"
	done
}

# ct_stat COLUMN: a column of the router's /proc/net/stat/nf_conntrack,
# summed over the CPUs ("entries" is the same on every line: the first).
ct_stat() {
	local -a head row
	local i col=-1 sum=0 line

	{
		read -ra head
		for i in "${!head[@]}"; do
			[[ ${head[i]} == "$1" ]] && col=$i
		done
		while read -ra row; do
			[[ $col -ge 0 ]] || break
			sum=$((sum + 16#${row[col]}))
			[[ $1 == entries ]] && break
		done
	} <"/proc/${NS_ANCHOR[$ns_router]}/net/stat/nf_conntrack"
	echo "$sum"
}

# peer_answered NAME: the last posted action of NAME has its answer.
# shellcheck disable=SC2317 # called by busywait
peer_answered() {
	local -a lines

	mapfile -t lines <"${PEER_OUT[$1]}"
	[[ ${#lines[@]} -gt ${PEER_N[$1]} ]]
}

# shellcheck disable=SC2317 # called by busywait
nat_failed_seen() {
	stats_diff "$ns_router"
	[[ ${STATSD[nat_failed]:-0} -ge 1 ]]
}

# hold_pasv NAME [CLIENT-OPTIONS]: a session on vsftpd with a PASV
# transfer of small.bin held after the 227 (an expectation waits).
hold_pasv() {
	local name=$1

	shift
	peer_start "$name" "$ns_client" "$SERVER_IP4" "$@" &&
		peer_do "$name" xfer --mode pasv --use-pasv-addr --retr small.bin \
			--sha256 "$small_sha" --data-timeout "$(scaled_s 30)" --hold
}

# go_ok NAME: finish the held transfer of NAME; it arrives intact.
go_ok() {
	peer_do "$1" go && [[ $PEER_LINE == *"sha256=$small_sha"* ]]
}

# table_of_held PREFIX: a fresh conntrack table, and EXP_MAX sessions
# PREFIX1... holding PASV transfers, whose expectations fill it.
table_of_held() {
	local i

	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	for ((i = 1; i <= EXP_MAX; i++)); do
		hold_pasv "$1$i" || return 1
	done
	[[ $(expect_total "$ns_router") -eq $EXP_MAX ]]
}

section "5a: expectation table full (masquerade, then no NAT)"
EXP_MAX=3
# The held PASV listeners of vsftpd must outlast the section.
vsftpd_restart accept_timeout=600 || ksft_exit
if ! ct_sysctl nf_conntrack_expect_max "$EXP_MAX"; then
	fail "full tables: cannot set nf_conntrack_expect_max"
	ksft_exit
fi
rules yes masq || ksft_exit
if table_of_held x; then
	stats_snap "$ns_router"
	peer_start x4 "$ns_client" "$SERVER_IP4" --timeout "$(scaled_s 60)"
	peer_post x4 xfer --mode pasv --use-pasv-addr --retr small.bin \
		--sha256 "$small_sha" --data-timeout "$(scaled_s 30)" --hold
	# Under NAT a line whose expectation cannot be made is withheld (the
	# peer must never learn an address nothing was opened for): the 227
	# is dropped, and the server's retransmission gets another chance.
	if busywait 10000 nat_failed_seen && ! peer_answered x4; then
		pass "expect full, masq: the 4th 227 is withheld (${STATSD[nat_failed]} times so far, expect_failed +${STATSD[expect_failed]:-0})"
	else
		fail "expect full, masq: 4th PASV: $(stats_show), answered: $(tail -n 1 "${PEER_OUT[x4]}")"
	fi
	if go_ok x1; then
		pass "expect full, masq: a held transfer completes, its slot frees"
	else
		fail "expect full, masq: held transfer x1: $PEER_LINE"
	fi
	# The server retransmits with backoff: allow for its next attempt.
	if peer_collect x4 && go_ok x4; then
		pass "expect full, masq: the withheld 227 goes through on retransmission, its transfer completes"
	else
		fail "expect full, masq: the 4th session: $PEER_LINE"
		peer_log x4
	fi
	if go_ok x2 && go_ok x3 && peer_do x4 cmd NOOP; then
		pass "expect full, masq: the other held transfers complete, the sessions go on"
	else
		fail "expect full, masq: after the slot freed: $PEER_LINE"
	fi
else
	fail "expect full, masq: $EXP_MAX held sessions: $PEER_LINE, $(expect_total "$ns_router") expectations"
fi
peers_stop x1 x2 x3 x4

rules yes none reject || ksft_exit
if table_of_held y; then
	stats_snap "$ns_router"
	# Without NAT the reply is right as it is: it passes, counted, and no
	# expectation admits its data connection through the strict filter.
	if peer_start y4 "$ns_client" "$SERVER_IP4" &&
		peer_do y4 xfer --mode pasv --use-pasv-addr --retr small.bin \
			--data-timeout "$(scaled_s 10)" --hold; then
		port=$(peer_port)
		stats_diff "$ns_router"
		expect_scan "$ns_router" 4
		if [[ ${STATSD[expect_failed]:-0} -eq 1 && ${STATSD[nat_failed]-} == 0 ]] &&
			[[ $(expect_count "dport=$port") -eq 0 ]]; then
			pass "expect full, no NAT: the 4th 227 passes unchanged, expect_failed +1, no expectation"
		else
			fail "expect full, no NAT: 4th PASV: $(stats_show), $(expect_count "dport=$port") expectations for port $port"
		fi
		if ! peer_do y4 go && [[ $PEER_LINE == *status=3*"Connection refused"* ]]; then
			pass "expect full, no NAT: its data connection is refused by the filter"
		else
			fail "expect full, no NAT: its data connection: $PEER_LINE"
		fi
	else
		fail "expect full, no NAT: 4th PASV: $PEER_LINE"
	fi
	if go_ok y1 && peer_do y4 xfer --mode pasv --use-pasv-addr --retr small.bin \
		--sha256 "$small_sha" && go_ok y2 && go_ok y3; then
		pass "expect full, no NAT: once a slot is free the same session transfers; the held ones complete"
	else
		fail "expect full, no NAT: after the slot freed: $PEER_LINE"
	fi
else
	fail "expect full, no NAT: $EXP_MAX held sessions: $PEER_LINE, $(expect_total "$ns_router") expectations"
fi
peers_stop y1 y2 y3 y4

section "5b: conntrack table full (masquerade)"
FILL=6
rules yes masq || ksft_exit
ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
release=$FTP_DIR/fill.release
rm -f "$release"
if hold_pasv f1; then
	port=$(peer_port)
	stats_snap "$ns_router"
	# Room for exactly FILL more; every entry is assured, so early drop
	# finds nothing to evict.
	ct_max=$(($(ct_stat entries) + FILL))
	if ! ct_sysctl nf_conntrack_max "$ct_max"; then
		fail "full tables: cannot set nf_conntrack_max"
		ksft_exit
	fi
	ip netns exec "$ns_server" "$FTP_PEER" flood-server --listen "$SERVER_IP4" \
		--port 2121 --accept-timeout "$(scaled_s 120)" >/dev/null 2>&1 &
	fs_pid=$!
	cleanup_pid "$fs_pid"
	wait_listener "$ns_server" 2121
	ip netns exec "$ns_client" "$FTP_PEER" flood --server "$SERVER_IP4" --port 2121 \
		--count "$FILL" --send 'NOOP\r\n' --timeout "$(scaled_s 5)" \
		--release "$release" --hold-timeout "$(scaled_s 120)" \
		>"$FTP_DIR/fill.out" 2>&1 &
	fill_pid=$!
	cleanup_pid "$fill_pid"
	# shellcheck disable=SC2317 # called by busywait
	fill_ready() { grep -q "^ready $FILL" "$FTP_DIR/fill.out"; }
	busywait 20000 fill_ready
	# Full means: the fillers are in, and a new connection's SYN is
	# dropped by conntrack (its drop counter), not refused by a peer.
	drop0=$(ct_stat drop)
	if fill_ready && [[ $(ct_stat entries) -eq $ct_max ]] &&
		! ip netns exec "$ns_client" "$FTP_PEER" flood --server "$SERVER_IP4" \
			--port 2121 --count 1 --timeout "$(scaled_s 2)" >/dev/null 2>&1 &&
		[[ $(ct_stat drop) -gt $drop0 ]]; then
		pass "ct full: $ct_max entries, a new connection is dropped by conntrack"
	else
		fail "ct full: the table is not full: $(ct_stat entries) of $ct_max entries, drops $drop0 -> $(ct_stat drop), fillers: $(tail -n 1 "$FTP_DIR/fill.out")"
	fi
	drop0=$(ct_stat drop)
	peer_post f1 go
	# The data connection's SYN finds no room either: dropped, retried.
	# The event is conntrack's drop counter moving, however slow the guest.
	# shellcheck disable=SC2317 # called by busywait
	ct_dropped_since() { [[ $(ct_stat drop) -gt $1 ]]; }
	busywait 10000 ct_dropped_since "$drop0"
	expect_scan "$ns_router" 4
	if ! peer_answered f1 && [[ $(ct_stat drop) -gt $drop0 ]] &&
		[[ $(expect_count "dport=$port") -eq 1 ]]; then
		pass "ct full: the data connection is dropped for now, its expectation stays"
	else
		fail "ct full: drops $drop0 -> $(ct_stat drop), $(expect_count "dport=$port") expectations for port $port, answered: $(tail -n 1 "${PEER_OUT[f1]}")"
	fi
	touch "$release"
	# shellcheck disable=SC2317 # called by busywait
	fill_closed() { grep -q "^closed" "$FTP_DIR/fill.out"; }
	busywait 20000 fill_closed
	ip netns exec "$ns_router" conntrack -D -p tcp --orig-port-dst 2121 >/dev/null 2>&1
	if peer_collect f1 && [[ $PEER_LINE == *"sha256=$small_sha"* ]]; then
		pass "ct full: once there is room the retried data connection gets through, intact"
	else
		fail "ct full: the held transfer: $PEER_LINE"
		peer_log f1
	fi
	stats_diff "$ns_router"
	if peer_do f1 xfer --mode port --retr small.bin --sha256 "$small_sha" &&
		[[ ${STATSD[dropped]-} == 0 && ${STATSD[nat_failed]-} == 0 ]]; then
		pass "ct full: the session goes on (a PORT transfer); the helper dropped nothing"
	else
		fail "ct full: after: $PEER_LINE, $(stats_show)"
	fi
	_kill_pids "$fill_pid" "$fs_pid"
else
	fail "ct full: held session: $PEER_LINE"
fi
peers_stop f1
ct_sysctl_undo

# ------------------------------------------------------------ the end

section "end"
# shellcheck disable=SC2317 # called by busywait
gauges_zero() {
	stats_diff "$ns_router"
	[[ ${STATS1[streams_active]-} == 0 && ${STATS1[keepalive_active]-} == 0 ]]
}
ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
if busywait 15000 gauges_zero; then
	pass "end: streams_active and keepalive_active back to 0"
else
	fail "end: streams_active ${STATS1[streams_active]} keepalive_active ${STATS1[keepalive_active]}"
fi
ip netns exec "$ns_router" nft flush ruleset
for m in "$NAT" "$CT"; do
	if rmmod_bounded "$m"; then
		pass "end: $m unloads"
	else
		fail "end: cannot remove $m (refcnt $(<"/sys/module/$m/refcnt"))"
	fi
done
echo "# total $((EPOCHSECONDS - T0)) s"
ksft_exit
