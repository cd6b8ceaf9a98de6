# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2154 # ns_client, ns_router, ns_server: lib.sh setup_topo
#
# ka_lib.sh: the core of the keep-alive selftests (nf_ftp_sym_keepalive.sh,
# nf_ftp_sym_nat_keepalive.sh): a long download with an idle control
# connection through a router whose established timeout is short, and the
# judgement whether the router kept the control connection's conntrack
# (the master) alive.  Source lib.sh and ftp_lib.sh first:
#
#	source "$(dirname "$0")/ka_lib.sh"
#
#   client ---- router ---- server (vsftpd, anon_max_rate, 4 KiB chunks)
#               nf_conntrack_tcp_timeout_established=KA_EST (10)
#               ROUTER-FN: a strict filter (router_filter), a ct helper on
#               the control port, maybe NAT (ka_router_masq, ka_router_fwd)
#               and a flowtable (ka_flowtable)
#
# Every case has its own three namespaces and its own vsftpd, so cases run
# side by side:
#
#	ka_make_root		# FTP_DIR with file.bin and small.bin
#	ka_case NAME ROUTER-FN HELPER MODE CLIENT keep|lose SECS [FAMILY]
#	ka_start NAME...	# the clients and their collectors, in the background
#	ka_check NAME		# wait for one, then PASS/FAIL it
#
# The server rate limits each download to last SECS, so it outlasts the
# router's established timeout, and the client says nothing on the control
# connection meanwhile.  A collector samples "conntrack -L" in the router
# every KA_PERIOD s: the master (the entry whose original tuple is the
# client's address to the control port the client connected to), its
# remaining timeout, the data connection, [OFFLOAD]; and the size of the
# client's file.
#
# Clients:
#   curl  curl --no-keepalive downloads file.bin, then quits.
#   py    Python ftplib downloads file.bin, then keeps the control
#         connection open and idle: the age check (the master must age out
#         normally after the 226).
#   next  Python ftplib downloads file.bin, then, on the same control
#         connection, NOOP, a second short RETR (small.bin, checksum) and
#         QUIT: the session's next command still works after the long
#         transfer.
# The Python clients use the address of the 227 reply (like curl
# --no-ftp-skip-pasv-ip; the same address as the control connection's
# without NAT).  With FAMILY 6, ftplib speaks EPSV/EPRT for pasv/port.
#
# Whether the master lived is judged on conntrack's own events, recorded
# in the router for each case (conntrack -E, NEW and DESTROY), not on how
# many samples a slow guest managed to take: the samples show the
# timeouts, states and [OFFLOAD], and a sample without the master fails.
#
# keep: the client succeeds after the whole transfer, the data match, the
# 226 arrives; the master's NEW event was recorded and no DESTROY of it
# before the 226, which came more than KA_IDLE_MS after the 150 reply to
# RETR (client's clock: the control connection was idle well beyond the
# established timeout, and the master lived through it); the master is
# in every sample; its timeout never exceeds 2*interval+2 s;
# keepalive_tracked and keepalive_refreshes > 0 and keepalive_active back
# to 0 afterwards (ftp-sym); [OFFLOAD] samples when the router offloads;
# the age check or the next commands.
#
# lose (negative control): the master is destroyed during the transfer
# (its DESTROY event comes before the data completed), the data still
# arrive complete, the server logs the 226 it sent and the client never
# gets it (stopped KA_WAIT226 after the data completed).
# That the data are whole and the server sent the 226 shows it fails for
# the right reason; that the client does not succeed shows the 226 check
# catches a lost 226.

# Kernels that give expected connections their master's helper (README,
# "Supported kernels"), so that nft flowtables never offload them.
KA_NO_OFFLOAD_KERNELS='6.12.*'

KA_PYTHON=/usr/bin/python3
[[ -x $KA_PYTHON ]] || KA_PYTHON=python3

# ------------------------------------------------------------ parameters

KA_PARAM=/sys/module/nf_conntrack_ftp_sym/parameters/keepalive_interval
KA_INTERVAL=5			# module parameter during the keep cases
KA_EST=10			# router nf_conntrack_tcp_timeout_established
KA_GRACE=$((2 * KA_INTERVAL + 2))	# what one keep-alive round grants
KA_SIZE=368640			# file.bin, 360 KiB
KA_SMALL=4096			# small.bin, the next command's download
# shellcheck disable=SC2034 # for the tests
KA_LONG=45			# seconds of the long transfers (>= 40)
# shellcheck disable=SC2034 # for the tests
KA_SHORT=25			# seconds of the shorter ones (> KA_EST + slack)
KA_PERIOD=2			# seconds between two samples (plus their cost)
KA_PORT=21			# the control port the clients connect to
KA_IDLE_MS=15000		# the 226 at least this long after the 150 reply
# How long after the data completed a missing 226 counts as lost.
KA_WAIT226=$(scaled_s 3)
# The age check: gone within GRACE + EST s of the 226, plus this slack.
KA_AGE_SLACK=$(scaled_s 2)
KA_AGED="master gone while the client idles"
# The next commands (NOOP, RETR small.bin, QUIT) get this long.
KA_NEXT_WAIT=$(scaled_s 10)
KA_SMALL_SHA=

# ka_make_root: ftp_make_root with file.bin of KA_SIZE bytes, plus
# small.bin (KA_SMALL bytes) for the next command; sets KA_SMALL_SHA.
ka_make_root() {
	ftp_make_root "$KA_SIZE"
	head -c "$KA_SMALL" /dev/urandom >"$FTP_DIR/root/small.bin"
	KA_SMALL_SHA=$(ka_sha "$FTP_DIR/root/small.bin")
}

# ------------------------------------------------------------ router setups
#
# ROUTER-FN HELPER: configure ns_router (ns_client and ns_server are set
# too) for one case; HELPER is "ftp-sym" or "ftp".  KA_FAMILY (4 or 6) is
# the case's address family.  May set KA_TARGET, the address the client
# connects to (default SERVER_IP4 or SERVER_IP6), KA_CURL_ARGS (extra curl
# arguments) and KA_OFFLOAD=1 (the data connection must be seen
# [OFFLOAD]; ka_flowtable does).  Status 0 on success.

# shellcheck disable=SC2317 # called through ka_case
ka_router_plain() {
	router_filter "$ns_router" "$1"
}

# Kernel quirk (6.1): when a flow is torn down (FIN/RST), its conntrack
# gets the timeout of its TCP state minus nf_flowtable_tcp_timeout (30 s),
# clamped at 0.  With an established timeout of 10 s that is 0: the entry
# expires at once, the FIN that tore the flow down finds no entry, is
# invalid as a new one and is dropped by the strict filter, so the server
# never finishes the transfer and never sends its 226.  A flow timeout
# below the established timeout avoids that (the flow itself stays while
# packets pass; the data connection sends every 0.5 s).
KA_FT_TIMEOUT=5

# ka_flowtable: offload established TCP connections of ns_router to a
# flowtable (after router_filter).  The control connection has a helper,
# which keeps it out of the flowtable; its data connection has none.
ka_flowtable() {
	ip netns exec "$ns_router" sysctl -q -w \
		"net.netfilter.nf_flowtable_tcp_timeout=$KA_FT_TIMEOUT" || return 1
	# Before the "established,related accept" rule, or it is never reached.
	ip netns exec "$ns_router" nft -f - <<EOF || return 1
add flowtable inet ftpsym_filter ft { hook ingress priority 0; devices = { eth_c, eth_s }; }
insert rule inet ftpsym_filter forward meta l4proto tcp ct state established flow add @ft
EOF
	KA_OFFLOAD=1
}

# shellcheck disable=SC2317 # called through ka_case
ka_router_flowtable() {
	router_filter "$ns_router" "$1" || return 1
	ka_flowtable
}

# shellcheck disable=SC2317 # called through ka_case
ka_router_masq() {
	router_filter "$ns_router" "$1" || return 1
	router_masquerade "$ns_router"
}

# shellcheck disable=SC2317 # called through ka_case
ka_router_masq_ft() {
	ka_router_masq "$1" && ka_flowtable
}

# The client connects to the router; curl must use the 227 address (the
# rewritten one), not the control connection's, or it would hide a wrong
# rewrite.
# shellcheck disable=SC2317 # called through ka_case
ka_router_fwd() {
	router_filter "$ns_router" "$1" || return 1
	router_portforward "$ns_router" 21 21 || return 1
	KA_TARGET=$ROUTER_C_IP4
	[[ $KA_FAMILY == 6 ]] && KA_TARGET=$ROUTER_C_IP6
	KA_CURL_ARGS=(--no-ftp-skip-pasv-ip)
}

# shellcheck disable=SC2317 # called through ka_case
ka_router_fwd_ft() {
	ka_router_fwd "$1" && ka_flowtable
}

# ------------------------------------------------------------ cases

KA_NAMES=()
KA_TARGET=
KA_FAMILY=4
KA_OFFLOAD=0
KA_CURL_ARGS=()
declare -A KA_NSC KA_NSR KA_NSS KA_HELPER KA_MODE KA_CLIENT KA_EXPECT \
	KA_SECS KA_TGT KA_PID KA_ROUTER KA_FAM KA_OFF KA_CURLX KA_CADDR

# ka_unload_stock MODULE...: at exit, unload the stock helper modules this
# test loaded (their nft ct helper objects pin them: namespaces first).
# shellcheck disable=SC2317 # called from the cleanup
ka_unload_stock() {
	local m

	cleanup_all_ns
	for m in "$@"; do
		rmmod_bounded "$m" ||
			echo "${0##*/}: cannot unload $m" >&2
	done
}

# ka_set_interval N: the module parameter.
ka_set_interval() {
	echo "$1" >"$KA_PARAM"
}

# ka_case NAME ROUTER-FN HELPER MODE CLIENT EXPECT SECS [FAMILY]
#   MODE    epsv, pasv, port or eprt (curl); pasv or port (py, next)
#   CLIENT  curl, py or next (see the top of this file)
#   EXPECT  keep (the master must survive) or lose (negative control)
#   SECS    the server's rate limit makes the download last this long
#   FAMILY  4 (default) or 6
# Sets up a fresh topology, the router (sysctl and ROUTER-FN) and vsftpd.
ka_case() {
	local name=$1 fn=$2 helper=$3 mode=$4 client=$5 expect=$6 secs=$7
	local fam=${8:-4} d

	d=$FTP_DIR/ka-$name
	mkdir -p "$d"
	setup_topo
	KA_FAMILY=$fam
	KA_TARGET=$SERVER_IP4
	[[ $fam == 6 ]] && KA_TARGET=$SERVER_IP6
	KA_OFFLOAD=0
	KA_CURL_ARGS=()
	if ! ip netns exec "$ns_router" sysctl -q -w \
		"net.netfilter.nf_conntrack_tcp_timeout_established=$KA_EST"; then
		fail "$name: cannot set the established timeout in the router"
		return 1
	fi
	if ! "$fn" "$helper"; then
		fail "$name: router setup $fn $helper failed"
		return 1
	fi
	# Small chunks: the data connection carries packets all the time (it
	# has the same 10 s timeout), not a 64 KiB burst every 8 s.
	start_vsftpd "$ns_server" "anon_max_rate=$((KA_SIZE / secs))" \
		trans_chunk_size=4096 xferlog_enable=YES xferlog_std_format=NO \
		log_ftp_protocol=YES "vsftpd_log_file=$d/vsftpd.log" \
		>/dev/null || return 1
	KA_NAMES+=("$name")
	KA_NSC[$name]=$ns_client
	KA_NSR[$name]=$ns_router
	# shellcheck disable=SC2034 # for router functions and tests
	KA_NSS[$name]=$ns_server
	# shellcheck disable=SC2034 # for the tests
	KA_ROUTER[$name]=$fn
	KA_HELPER[$name]=$helper
	KA_MODE[$name]=$mode
	KA_CLIENT[$name]=$client
	KA_EXPECT[$name]=$expect
	KA_SECS[$name]=$secs
	KA_TGT[$name]=$KA_TARGET
	KA_FAM[$name]=$fam
	KA_OFF[$name]=$KA_OFFLOAD
	KA_CURLX[$name]=${KA_CURL_ARGS[*]}
	KA_CADDR[$name]=$CLIENT_IP4
	[[ $fam == 6 ]] && KA_CADDR[$name]=$CLIENT_IP6
	return 0
}

# The Python clients:
#   python3 -c "$KA_PY" HOST pasv|port OUT LIMIT idle IDLE-SECS
#   python3 -c "$KA_PY" HOST pasv|port OUT LIMIT next OUT2 NEXT-LIMIT
# LIMIT and NEXT-LIMIT are socket timeouts (s), NEXT-LIMIT from the 226 of
# the long download on.  Prints "<epoch ms> REPLY <text>" for each 227 or
# 229 reply received, "<epoch ms> START" at the first data
# (after the 150 reply), "<epoch ms> END <reply code> <sha256>" after the
# final reply; then idle: "<ms> QUIT" after IDLE-SECS; next: "<ms> NOOP
# <code>", "<ms> NEXT <code> <sha256>" (RETR small.bin into OUT2), "<ms>
# QUIT <code>".  Any error: "<ms> ERROR <what>", status 1.
KA_PY='
import ftplib, hashlib, sys, time
host, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
limit, then = float(sys.argv[4]), sys.argv[5]
def say(*a):
    print(int(time.time() * 1000), *a, flush=True)
def get(f, name, path, first=None):
    h = hashlib.sha256()
    started = []
    with open(path, "wb") as fp:
        def got(b):
            if not started:
                started.append(1)
                if first:
                    say(first)
            fp.write(b)
            fp.flush()
            h.update(b)
        resp = f.retrbinary("RETR " + name, got)
    return resp[:3], h.hexdigest()
try:
    f = ftplib.FTP(timeout=limit)
    f.trust_server_pasv_ipv4_address = True
    f.connect(host, 21)
    f.login()
    f.set_pasv(mode != "port")
    sendcmd = f.sendcmd
    def logged(cmd):
        resp = sendcmd(cmd)
        if resp[:3] in ("227", "229"):
            say("REPLY", resp)
        return resp
    f.sendcmd = logged
    say("END", *get(f, "file.bin", out, "START"))
    if then == "idle":
        time.sleep(float(sys.argv[6]))
        say("QUIT")
        f.quit()
    else:
        f.timeout = float(sys.argv[7])
        f.sock.settimeout(f.timeout)
        say("NOOP", f.voidcmd("NOOP")[:3])
        say("NEXT", *get(f, "small.bin", sys.argv[6]))
        say("QUIT", f.quit()[:3])
except Exception as e:
    say("ERROR", repr(e))
    sys.exit(1)
'

# ka_sample NS FAMILY PORT CADDR SIZE-FILE RAW-FILE: one line "epoch-ms
# master mto mstate ndata dstate offload size": master 1/0 (the entry whose
# original tuple goes from CADDR to PORT), its remaining timeout and TCP
# state (- when absent), the number of TCP entries with neither port PORT
# (data connections), the state of the last one, 1 if one of them is
# [OFFLOAD], the size of the client's file.  Appends the conntrack lines to
# RAW-FILE.
ka_sample() {
	local ns=$1 fam=$2 port=$3 caddr=$4 file=$5 raw=$6 line t m=0 mto=-
	local mst=- nd=0 dst=- off=0 size=0
	local -a f lines
	local re='src=([^ ]+) dst=[^ ]+ sport=([0-9]+) dport=([0-9]+)'

	t=$(_now_ms)
	mapfile -t lines < <(ip netns exec "$ns" conntrack -L -f "ipv$fam" \
		-p tcp 2>/dev/null)
	printf '%s\n' "== $t" "${lines[@]}" >>"$raw"
	for line in "${lines[@]}"; do
		[[ $line == tcp* && $line =~ $re ]] || continue
		read -ra f <<<"$line"
		# The first match is the original direction.
		if [[ ${BASH_REMATCH[1]} == "$caddr" &&
			${BASH_REMATCH[3]} == "$port" ]]; then
			m=1
			[[ ${f[2]} =~ ^[0-9]+$ ]] && mto=${f[2]}
			[[ ${f[3]} =~ ^[A-Z_]+$ ]] && mst=${f[3]}
		elif [[ ${BASH_REMATCH[2]} != "$port" &&
			${BASH_REMATCH[3]} != "$port" ]]; then
			nd=$((nd + 1))
			dst=-
			[[ ${f[3]} =~ ^[A-Z_]+$ ]] && dst=${f[3]}
			[[ ${f[2]} =~ ^[A-Z_]+$ ]] && dst=${f[2]}
			# Offloaded: no timeout, no TCP state in the dump.
			if [[ $line == *"[OFFLOAD]"* ]]; then
				off=1
				dst=OFFLOAD
			fi
		fi
	done
	[[ -e $file ]] && size=$(stat -c %s "$file")
	echo "$t $m $mto $mst $nd $dst $off $size"
}

# ka_data_helper NAME: status 0 if a data connection of case NAME carried a
# helper in the router's conntrack dumps.  Some stable kernels (6.12.95)
# give an expected connection its master's helper, and nft_flow_offload
# never offloads a connection with a helper: a flowtable case proves
# nothing there and is skipped, for the stock helper as for ours.
ka_data_helper() {
	local raw=$FTP_DIR/ka-$1/raw

	[[ -e $raw ]] || return 1
	grep -E '^tcp .*helper=' "$raw" | grep -qvE "(sport|dport)=$KA_PORT "
}

# ka_collect NAME: run the client and sample until it ends (in the
# background).  Files in FTP_DIR/ka-NAME: samples, raw (conntrack lines of
# the router at each sample), client.log, out (the data), out2 (the next
# command's data), rc, t0, tdone (data complete), tend, killed (why the
# client was stopped, if it was).
ka_collect() {
	local name=$1 d ns nsc mode client secs tgt fam pid t0 now tdone=0 i max
	local limit deadline tend_ms s line='' rc m size nd dst seen=0 tline
	local evpid
	local -a args extra

	d=$FTP_DIR/ka-$name
	ns=${KA_NSR[$name]}
	nsc=${KA_NSC[$name]}
	mode=${KA_MODE[$name]}
	client=${KA_CLIENT[$name]}
	secs=${KA_SECS[$name]}
	tgt=${KA_TGT[$name]}
	fam=${KA_FAM[$name]}
	read -ra extra <<<"${KA_CURLX[$name]}"
	# Whatever goes wrong, the client ends this long after it started.
	limit=$((secs + 20 + $(scaled_s 10)))
	# conntrack's events in the router, the judge of the master's life.
	ip netns exec "$ns" conntrack -E -e NEW,DESTROY -p tcp -o timestamp \
		>"$d/events" 2>/dev/null &
	evpid=$!
	t0=$(_now_ms)
	echo "$t0" >"$d/t0"
	if [[ $client == curl ]]; then
		args=(-sS -v --trace-time --no-keepalive --no-buffer -"$fam"
		      --max-time "$limit"
		      --connect-timeout "$(scaled_s 5)" "${extra[@]}")
		case $mode in
		port) args+=(--ftp-port - --disable-eprt) ;;
		eprt) args+=(--ftp-port -) ;;
		pasv) args+=(--ftp-pasv --disable-epsv) ;;
		epsv) args+=(--ftp-pasv) ;;
		esac
		# The verbose log goes to stderr, unbuffered (not --stderr FILE,
		# which is lost when the client has to be killed).
		ip netns exec "$nsc" curl "${args[@]}" -o "$d/out" \
			-w 'time_pretransfer=%{time_pretransfer} time_total=%{time_total}\n' \
			"$(ftp_url "$fam" "$tgt" file.bin)" >"$d/client.out" \
			2>"$d/client.log" &
		pid=$!
	elif [[ $client == py ]]; then
		ip netns exec "$nsc" "$KA_PYTHON" -c "$KA_PY" "$tgt" "$mode" \
			"$d/out" "$limit" idle \
			$((KA_GRACE + KA_EST + KA_AGE_SLACK + 15)) \
			>"$d/client.log" 2>&1 &
		pid=$!
	else
		ip netns exec "$nsc" "$KA_PYTHON" -c "$KA_PY" "$tgt" "$mode" \
			"$d/out" "$limit" next "$d/out2" "$KA_NEXT_WAIT" \
			>"$d/client.log" 2>&1 &
		pid=$!
	fi
	deadline=$((t0 + limit * 1000))
	max=$((limit + 10))
	for ((i = 0; i < max; i++)); do
		s=$(ka_sample "$ns" "$fam" "$KA_PORT" "${KA_CADDR[$name]}" \
			"$d/out" "$d/raw")
		echo "$s" >>"$d/samples"
		now=$(_now_ms)
		read -r _ m _ _ nd dst _ size <<<"$s"
		# The data are complete once the file is whole (curl --no-buffer,
		# the Python clients flush) or the data connection closes.
		[[ $nd -gt 0 ]] && seen=1
		if [[ $tdone -eq 0 ]]; then
			if [[ $size -ge $KA_SIZE ]] || [[ $seen -eq 1 &&
				($nd -eq 0 || ! $dst =~ ^(SYN_SENT|SYN_RECV|ESTABLISHED|OFFLOAD)$) ]]; then
				tdone=$now
				echo "$tdone" >"$d/tdone"
			fi
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		# The Python clients tell when they have the 226.
		[[ $client != curl && -z $line ]] &&
			line=$(grep -m1 ' END ' "$d/client.log")
		if [[ -n $line ]]; then
			# Age check: stop as soon as the master is gone (the
			# client is still idle then).
			if [[ $client == py && $m == 0 ]]; then
				echo "$KA_AGED" >"$d/killed"
				break
			fi
			read -r tline _ <<<"$line"
			if [[ $client == next &&
				$now -gt $((tline + (KA_NEXT_WAIT + 5) * 1000)) ]]; then
				echo "the next commands took more than $((KA_NEXT_WAIT + 5))s" >"$d/killed"
				break
			fi
		elif [[ $tdone -ne 0 && $now -gt $((tdone + KA_WAIT226 * 1000)) ]]; then
			echo "no final reply ${KA_WAIT226}s after the data completed" >"$d/killed"
			break
		fi
		if [[ $now -gt $deadline ]]; then
			echo "deadline" >"$d/killed"
			break
		fi
		# One sample every KA_PERIOD s (every second in the age phase
		# and during the next commands).
		if [[ $client != curl && -n $line ]]; then
			sleep 1
		else
			sleep "$KA_PERIOD"
		fi
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
	fi
	rc=0
	wait "$pid" || rc=$?
	tend_ms=$(_now_ms)
	echo "$rc" >"$d/rc"
	echo "$tend_ms" >"$d/tend"
	# The next transfer's data connection, for ka_data_tuples (raw only).
	[[ $client == next ]] && ka_sample "$ns" "$fam" "$KA_PORT" \
		"${KA_CADDR[$name]}" "$d/out2" "$d/raw" >/dev/null
	kill "$evpid" 2>/dev/null
	wait "$evpid" 2>/dev/null
	return 0
}

# ka_master_event NAME NEW|DESTROY: the epoch ms of the first such event of
# case NAME's master (original source the client, destination port
# KA_PORT), or nothing.
ka_master_event() {
	local d=$FTP_DIR/ka-$1 caddr=${KA_CADDR[$1]} l t

	[[ -e $d/events ]] || return 1
	while read -r l; do
		[[ $l == *"[$2]"* && $l == *" src=$caddr "* ]] || continue
		# The first dport= is the original direction's.
		t=${l#* dport=}
		[[ ${t%% *} == "$KA_PORT" ]] || continue
		# "[%-8ld.%-6ld]": seconds and microseconds, space-padded.
		t=${l#[}
		t=${t%%]*}
		[[ $t =~ ^\ *([0-9]+)\.([0-9]+)\ *$ ]] || continue
		echo $((BASH_REMATCH[1] * 1000 + 10#${BASH_REMATCH[2]} / 1000))
		return 0
	done <"$d/events"
	return 1
}

# ka_start NAME...: start the collectors.
ka_start() {
	local name

	for name in "$@"; do
		ka_collect "$name" &
		KA_PID[$name]=$!
		cleanup_pid "${KA_PID[$name]}"
	done
}

# ka_show NAME: the samples (times relative to the client's start) and the
# last conntrack lines, for a failure report.
ka_show() {
	local d=$FTP_DIR/ka-$1 t0

	t0=$(<"$d/t0")
	echo "# $1: t(s) master timeout state ndata dstate offload size" >&2
	awk -v t0="$t0" '{ printf "#   %6.1f", ($1 - t0) / 1000;
		for (i = 2; i <= NF; i++) printf " %s", $i; printf "\n" }' \
		"$d/samples" >&2
	[[ -e $d/killed ]] && echo "#   client stopped: $(<"$d/killed")" >&2
	echo "#   client rc $(<"$d/rc"), last conntrack dump:" >&2
	awk '/^== / { n = 0; delete l; next } { l[n++] = $0 }
		END { for (i = 0; i < n; i++) print "#   " l[i] }' "$d/raw" >&2
	echo "#   router conntrack -S now:" >&2
	ip netns exec "${KA_NSR[$1]}" conntrack -S 2>/dev/null | sed 's/^/#   /' >&2
	if [[ ${KA_CLIENT[$1]} != curl ]]; then
		echo "#   client log:" >&2
		tail -n 8 "$d/client.log" 2>/dev/null | sed 's/^/#   /' >&2
	fi
	echo "#   server log, last lines:" >&2
	tail -n 3 "$d/vsftpd.log" 2>/dev/null | sed 's/^/#   /' >&2
}

# ka_clock_ms HH:MM:SS.UUUUUU: curl's --trace-time (local time, today) in
# epoch milliseconds.
ka_clock_ms() {
	local hms=${1%.*} us=${1#*.} day sec

	[[ $hms =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}$ && $us =~ ^[0-9]+$ ]] || return 1
	printf -v day '%(%Y-%m-%d)T' -1
	sec=$(date -d "$day $hms" +%s) || return 1
	# Just after midnight, the time may be yesterday's.
	((sec > EPOCHSECONDS + 3600)) && sec=$((sec - 86400))
	echo $((sec * 1000 + 10#$us / 1000))
}

# ka_sha FILE: sha256 of FILE, empty if none.
ka_sha() {
	local s

	[[ -e $1 ]] || return 0
	s=$(sha256sum "$1")
	echo "${s%% *}"
}

# shellcheck disable=SC2317 # called through busywait
ka_inactive() {
	[[ $(ftp_stat "$1" keepalive_active) == 0 ]]
}

# ka_check_next NAME: the next commands of the "next" client worked (NOOP,
# RETR small.bin with the right data, QUIT); FAIL lines otherwise, status
# 1.  Sets KA_NEXT_INFO, what it saw, for the PASS line.
KA_NEXT_INFO=
ka_check_next() {
	local d=$FTP_DIR/ka-$1 s code sha ok=0 t1=0 t2=0

	KA_NEXT_INFO=
	s=$(grep -m1 ' NOOP ' "$d/client.log")
	read -r t1 _ code _ <<<"$s"
	if [[ $code != 200 ]]; then
		fail "$1: NOOP after the long transfer: ${code:-no reply}"
		ok=1
	fi
	s=$(grep -m1 ' NEXT ' "$d/client.log")
	read -r t2 _ code sha _ <<<"$s"
	if [[ $code != 226 ]]; then
		fail "$1: second RETR after the long transfer: ${code:-no 226}"
		ok=1
	elif [[ $sha != "$KA_SMALL_SHA" ]]; then
		fail "$1: second RETR after the long transfer: data wrong"
		ok=1
	fi
	s=$(grep -m1 ' QUIT ' "$d/client.log")
	read -r _ _ code _ <<<"$s"
	if [[ $code != 221 ]]; then
		fail "$1: QUIT after the next commands: ${code:-no reply}"
		ok=1
	fi
	[[ $ok -eq 0 ]] &&
		KA_NEXT_INFO="NOOP 200, RETR small.bin 226 data ok $((t2 - t1)) ms after it, QUIT 221"
	return "$ok"
}

# ka_check NAME: wait for the collector, then judge the case.
#
# The transfer window runs from the first sample that shows the master to
# the first one after the data completed.  "Control idle" is measured from
# the 150 reply to RETR, the last word on the control connection before
# the 226 (curl's trace time; for the Python clients their first data, a
# bit later, so that underestimates).
ka_check() {
	local name=$1 d ns expect client rc t0 tdone=0 tend first=0 idle=0
	local t m mto mst nd dst off size absent=0 present=0 nsamples=0
	local maxto=0 offl=0 got226=0 sent226=0 sha ok=1 s refresh='' tracked
	local tend226=0 agemax=0 gone=0 why='' mfirst=0 lost=0 info t150=0
	local next='' secs born dead

	wait "${KA_PID[$name]}"
	d=$FTP_DIR/ka-$name
	secs=${KA_SECS[$name]}
	ns=${KA_NSR[$name]}
	expect=${KA_EXPECT[$name]}
	client=${KA_CLIENT[$name]}
	rc=$(<"$d/rc")
	t0=$(<"$d/t0")
	tend=$(<"$d/tend")
	[[ -e $d/tdone ]] && tdone=$(<"$d/tdone")
	[[ -e $d/killed ]] && why=$(<"$d/killed")
	sha=$(ka_sha "$d/out")
	grep -q '"226 ' "$d/vsftpd.log" 2>/dev/null && sent226=1
	if [[ $client == curl ]]; then
		grep -q '^[0-9:.]* < 226 ' "$d/client.log" && got226=1
		s=$(grep -m1 '^[0-9:.]* < 150 ' "$d/client.log")
		[[ -n $s ]] && t150=$(ka_clock_ms "${s%% *}")
		s=$(grep -m1 '^[0-9:.]* < 226 ' "$d/client.log")
		[[ -n $s ]] && tend226=$(ka_clock_ms "${s%% *}")
	else
		s=$(grep -m1 ' START$' "$d/client.log")
		t150=${s%% *}
		[[ $t150 =~ ^[0-9]+$ ]] || t150=0
		s=$(grep -m1 ' END ' "$d/client.log")
		if [[ -n $s ]]; then
			read -r tend226 _ s _ <<<"$s"
			[[ $s == 226 ]] && got226=1
		fi
	fi

	while read -r t m mto mst nd dst off size; do
		nsamples=$((nsamples + 1))
		[[ $mfirst -eq 0 && $m == 1 ]] && mfirst=$t
		[[ $first -eq 0 && $nd -gt 0 ]] && first=$t
		if [[ $mfirst -ne 0 ]] && [[ $tdone -eq 0 || $t -lt $tdone ]]; then
			[[ $off == 1 ]] && offl=$((offl + 1))
			if [[ $m == 1 ]]; then
				present=$((present + 1))
				if [[ $t150 -ne 0 && $((t - t150)) -gt $idle ]]; then
					idle=$((t - t150))
				fi
				if [[ $nd -gt 0 && $mst == ESTABLISHED &&
					$mto =~ ^[0-9]+$ && $mto -gt $maxto ]]; then
					maxto=$mto
				fi
			else
				absent=$((absent + 1))
				[[ $lost -eq 0 && $t150 -ne 0 ]] && lost=$((t - t150))
			fi
		fi
		# After the 226 of the age check: aging normally.
		if [[ $client == py && $tend226 -ne 0 && $t -ge $tend226 ]]; then
			if [[ $m == 1 && $mto =~ ^[0-9]+$ && $mto -gt $agemax ]]; then
				agemax=$mto
			fi
			[[ $m == 0 && $gone -eq 0 ]] && gone=$t
		fi
	done <"$d/samples"

	if [[ $tdone -ne 0 && $first -ne 0 ]]; then
		info="data connection ~$(((tdone - first) / 1000))s"
	else
		info="data never completed"
	fi
	info+=", client ran $(((tend - t0) / 1000))s, $nsamples samples"

	if [[ $expect == keep ]]; then
		if [[ $rc -ne 0 && $why != "$KA_AGED" ]]; then
			fail "$name: client failed (rc $rc${why:+, $why})"
			ok=0
		fi
		if [[ $sha != "$FTP_FILE_SHA" ]]; then
			fail "$name: data wrong or incomplete"
			ok=0
		fi
		if [[ $got226 -ne 1 ]]; then
			fail "$name: the client never got the 226"
			ok=0
		fi
		if [[ $absent -ne 0 || $present -eq 0 ]]; then
			fail "$name: master missing in $absent of $((absent + present)) samples during the transfer"
			ok=0
		fi
		# The events: the master lived from before the 150 to the 226.
		born=$(ka_master_event "$name" NEW)
		dead=$(ka_master_event "$name" DESTROY)
		if [[ -z $born ]]; then
			fail "$name: no NEW event of the master recorded: the events prove nothing"
			ok=0
		elif [[ -n $dead && ($tend226 -eq 0 || $dead -lt $tend226) ]]; then
			fail "$name: the master was destroyed $(((dead - t0) / 1000))s after the client started, before the 226"
			ok=0
		fi
		idle=0
		[[ $t150 -ne 0 && $tend226 -ne 0 ]] && idle=$((tend226 - t150))
		if [[ $idle -lt $KA_IDLE_MS ]]; then
			[[ $t150 -eq 0 ]] && s=", no 150 seen" || s=
			fail "$name: the 226 came ${idle} ms after the 150, not ${KA_IDLE_MS} ms$s: the control connection was not idle long enough to prove anything"
			ok=0
		fi
		if [[ $client == curl ]]; then
			# curl's own clock: from before RETR to the end.
			s=$(awk -F'[= ]' '/time_total/ {
				printf "%d", ($4 - $2) * 1000 }' "$d/client.out")
			info+=", curl ${s:-?} ms after RETR"
			if [[ ${s:-0} -lt 40000 ]]; then
				fail "$name: the transfer did not last >= 40s ($info)"
				ok=0
			fi
		elif [[ $client == next ]]; then
			# From the first data to the 226.
			s=0
			[[ $t150 -ne 0 && $tend226 -ne 0 ]] && s=$((tend226 - t150))
			info+=", first data to 226 $s ms"
			if [[ $s -lt $(((secs - 5) * 1000)) ]]; then
				fail "$name: the transfer did not last >= $((secs - 5))s ($info)"
				ok=0
			fi
		fi
		if [[ $maxto -gt $KA_GRACE ]]; then
			fail "$name: master timeout $maxto s during the transfer, more than 2*interval+2 = $KA_GRACE"
			ok=0
		fi
		if [[ ${KA_OFF[$name]} == 1 && $offl -eq 0 ]]; then
			# The other checks of the case still count.
			if ka_data_helper "$name"; then
				skip_on "$KA_NO_OFFLOAD_KERNELS" "$name: the kernel gave the data connection its master's helper, so the flowtable never offloads it"
			else
				fail "$name: the data connection was never [OFFLOAD]: proves nothing"
				ok=0
			fi
		fi
		if [[ ${KA_HELPER[$name]} == ftp-sym ]]; then
			refresh=$(ftp_stat "$ns" keepalive_refreshes)
			tracked=$(ftp_stat "$ns" keepalive_tracked)
			if [[ ${refresh:-0} -le 0 || ${tracked:-0} -le 0 ]]; then
				fail "$name: keepalive_tracked ${tracked:-?} keepalive_refreshes ${refresh:-?}"
				ok=0
			fi
			if ! busywait $((KA_GRACE * 1000)) ka_inactive "$ns"; then
				fail "$name: keepalive_active $(ftp_stat "$ns" keepalive_active), not 0, after the transfer"
				ok=0
			fi
		fi
		if [[ $client == py ]]; then
			if [[ $gone -eq 0 ]]; then
				fail "$name: the master did not age out after the transfer (client still idle)"
				ok=0
			elif [[ $((gone - tend226)) -gt $(((KA_GRACE + KA_EST + KA_AGE_SLACK) * 1000)) ]]; then
				fail "$name: the master lived $(((gone - tend226) / 1000))s after the 226, more than $((KA_GRACE + KA_EST + KA_AGE_SLACK))"
				ok=0
			fi
			if [[ $agemax -gt $((KA_GRACE + KA_EST)) ]]; then
				fail "$name: master timeout $agemax s after the transfer, more than $((KA_GRACE + KA_EST))"
				ok=0
			fi
		fi
		if [[ $client == next ]]; then
			if ka_check_next "$name"; then
				next=$KA_NEXT_INFO
			else
				ok=0
			fi
		fi
		if [[ $ok -eq 1 ]]; then
			s="$name: master alive (events) and in all $present samples, the 226 $((idle / 1000))s after the 150 (control idle)"
			s+=", timeout <= ${maxto}s, 226 received, data ok"
			[[ $offl -gt 0 ]] && s+=", data [OFFLOAD] in $offl samples"
			[[ -n $refresh ]] && s+=", $refresh refreshes"
			[[ $client == py ]] && s+=", then aged out $(((gone - tend226) / 1000))s after the 226 (timeout <= ${agemax}s)"
			[[ -n $next ]] && s+=", then $next"
			pass "$s ($info)"
		else
			ka_show "$name"
		fi
		return
	fi

	# Negative control.
	if [[ $rc -eq 0 && -z $why ]] || [[ $got226 -eq 1 ]]; then
		fail "$name: negative control succeeded (rc $rc, 226 received $got226)"
		ok=0
	fi
	born=$(ka_master_event "$name" NEW)
	dead=$(ka_master_event "$name" DESTROY)
	if [[ -z $born ]]; then
		fail "$name: no NEW event of the master recorded: the events prove nothing"
		ok=0
	elif [[ -z $dead ]] || [[ $tdone -ne 0 && $dead -gt $tdone ]]; then
		fail "$name: the master was not destroyed during the transfer"
		ok=0
	else
		lost=$((dead - t150))
	fi
	# The right reason: the data path worked, the server sent the 226,
	# the client's log (live, unbuffered) has the 150 but no 226.
	if [[ $t150 -eq 0 ]]; then
		fail "$name: no 150 reply in the client's log"
		ok=0
	fi
	if [[ $sha != "$FTP_FILE_SHA" ]]; then
		fail "$name: data incomplete: the negative control failed for another reason"
		ok=0
	fi
	if [[ $sent226 -ne 1 ]]; then
		fail "$name: the server never sent a 226: failed for another reason"
		ok=0
	fi
	if [[ ${KA_OFF[$name]} == 1 && $offl -eq 0 ]]; then
		if ka_data_helper "$name"; then
			skip_on "$KA_NO_OFFLOAD_KERNELS" "$name: the kernel gave the data connection its master's helper, so the flowtable never offloads it"
		else
			fail "$name: the data connection was never [OFFLOAD]"
			ok=0
		fi
	fi
	if [[ $ok -eq 1 ]]; then
		s="$name: master destroyed ~$((lost / 1000))s after the 150 (event; $absent of $((absent + present)) samples without it)"
		[[ $offl -gt 0 ]] && s+=", data [OFFLOAD] in $offl samples"
		s+=", data complete, server sent 226, client never got it (${why:-rc $rc})"
		pass "$s ($info)"
	else
		ka_show "$name"
	fi
}

# ka_data_tuples NAME: the addresses of the data connections the router
# saw during case NAME (all its conntrack samples), one line "ORIG-SRC>
# ORIG-DST REPLY-SRC>REPLY-DST" per connection, for checking the NAT.
ka_data_tuples() {
	local d=$FTP_DIR/ka-$1 line
	local re='src=([^ ]+) dst=([^ ]+) sport=([0-9]+) dport=([0-9]+) .*src=([^ ]+) dst=([^ ]+) sport='
	local -A seen=()

	[[ -e $d/raw ]] || return 0
	while read -r line; do
		[[ $line == tcp* && $line =~ $re ]] || continue
		[[ ${BASH_REMATCH[3]} != "$KA_PORT" &&
			${BASH_REMATCH[4]} != "$KA_PORT" ]] || continue
		seen["${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"]="${BASH_REMATCH[1]}>${BASH_REMATCH[2]} ${BASH_REMATCH[5]}>${BASH_REMATCH[6]}"
	done <"$d/raw"
	[[ ${#seen[@]} -gt 0 ]] && printf '%s\n' "${seen[@]}"
	return 0
}
