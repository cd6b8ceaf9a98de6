#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_keepalive.sh: the control connection survives a long transfer
# while it is idle, because the ftp-sym helper keeps the master conntrack
# alive as long as its data connection lives; also when the data connection
# is offloaded to an nft flowtable, where no hook sees its packets.
#
#   client ---- router ---- server (vsftpd, anon_max_rate, 4 KiB chunks)
#               nf_conntrack_tcp_timeout_established=10
#               forward policy drop; established,related accepted; new
#               connections only to port 21; ct helper on port 21
#               [flowtable ft { eth_c, eth_s }: established tcp offloaded,
#                nf_flowtable_tcp_timeout=5, see ka_router_flowtable]
#
# Every case has its own three namespaces and its own vsftpd, so the cases
# run side by side.  Each download (IPv4) is rate limited by the server to
# last longer than the router's established timeout, and the client says
# nothing on the control connection meanwhile (curl --no-keepalive).  A
# collector samples "conntrack -L" in the router every few seconds
# (master = the entry with dport=21, its remaining timeout, the data
# connection, [OFFLOAD]) and the size of the client's file.
#
# Phase 1, keepalive_interval=0, the negative controls ("lose"), 25 s:
#   sym-off     ftp-sym with its keep-alive off          EPSV
#   stock-epsv  stock nf_conntrack_ftp ("ftp")           EPSV
#   stock-ft    stock helper, data connection offloaded  PASV
# The master must vanish during the transfer, the data still arrive
# complete, the server log the 226 it sent and the client never get it
# (stopped KA_WAIT226 after the data completed).  That the data are whole
# and the server sent the 226 shows they fail for the right reason; that
# curl does not succeed shows the 226 check catches a lost 226.  sym-off
# also has keepalive_tracked and keepalive_refreshes at 0.
#
# Phase 2, keepalive_interval=5 ("keep"; set up while phase 1 runs):
#   sym-epsv    ftp-sym, 45 s, curl, EPSV
#   sym-port    ftp-sym, 45 s, curl, PORT (active: the server connects)
#   sym-ft      ftp-sym, 45 s, curl, PASV, data connection offloaded
#   sym-age     ftp-sym, 25 s, Python ftplib, PASV, then idle
# curl exits 0 after >= 40 s of transfer, the data match, its verbose log
# shows "< 226"; the master is in every sample of the transfer, one taken
# more than 15 s after the 150 reply to RETR (so the control
# connection was idle well beyond the 10 s timeout); its timeout never
# exceeds 2*interval+2 s; keepalive_tracked and keepalive_refreshes > 0,
# keepalive_active back to 0 afterwards; sym-ft has [OFFLOAD] samples.
# sym-age keeps the control connection open and idle after the 226: the
# master must then age out normally, within 2*interval+2 + 10 s (plus
# slack) of the 226, never showing a longer timeout.
#
# Reuse (NAT variants): write a router function (see "router setups"),
# then "ka_case NAME FN HELPER MODE CLIENT keep|lose SECS", "ka_start
# NAME..." and "ka_check NAME".

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "curl --version" "run test without curl"
checktool "vsftpd -v" "run test without vsftpd"
KA_PYTHON=/usr/bin/python3
[[ -x $KA_PYTHON ]] || KA_PYTHON=python3
checktool "$KA_PYTHON --version" "run test without python3"

# ------------------------------------------------------------ parameters

KA_PARAM=/sys/module/nf_conntrack_ftp_sym/parameters/keepalive_interval
KA_INTERVAL=5			# module parameter during the keep cases
KA_EST=10			# router nf_conntrack_tcp_timeout_established
KA_GRACE=$((2 * KA_INTERVAL + 2))	# what one keep-alive round grants
KA_SIZE=368640			# file.bin, 360 KiB
KA_LONG=45			# seconds of the long transfers (>= 40)
KA_SHORT=25			# seconds of the shorter ones (> KA_EST + slack)
KA_PERIOD=2			# seconds between two samples (plus their cost)
KA_IDLE_MS=15000		# a master sample this long after the 150 reply
# How long after the data completed a missing 226 counts as lost.
KA_WAIT226=$(scaled_s 3)
# The age check: gone within GRACE + EST s of the 226, plus this slack.
KA_AGE_SLACK=$(scaled_s 2)
KA_AGED="master gone while the client idles"

# ------------------------------------------------------------ router setups
#
# ROUTER-FN HELPER: configure ns_router (ns_client and ns_server are set
# too) for one case; HELPER is "ftp-sym" or "ftp".  May set KA_TARGET, the
# address the client connects to (default SERVER_IP4).  Status 0 on success.

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

# shellcheck disable=SC2317 # called through ka_case
ka_router_flowtable() {
	router_filter "$ns_router" "$1" || return 1
	ip netns exec "$ns_router" sysctl -q -w \
		"net.netfilter.nf_flowtable_tcp_timeout=$KA_FT_TIMEOUT" || return 1
	# Before the "established,related accept" rule, or it is never reached.
	ip netns exec "$ns_router" nft -f - <<EOF
add flowtable inet ftpsym_filter ft { hook ingress priority 0; devices = { eth_c, eth_s }; }
insert rule inet ftpsym_filter forward meta l4proto tcp ct state established flow add @ft
EOF
}

# ------------------------------------------------------------ cases

KA_NAMES=()
declare -A KA_NSC KA_NSR KA_NSS KA_HELPER KA_MODE KA_CLIENT KA_EXPECT \
	KA_SECS KA_TGT KA_PID KA_ROUTER

# shellcheck disable=SC2317 # called from the cleanup
ka_unload_stock() {
	cleanup_all_ns
	rmmod_bounded nf_conntrack_ftp ||
		echo "nf_ftp_sym_keepalive: cannot unload nf_conntrack_ftp" >&2
}

# ka_set_interval N: the module parameter.
ka_set_interval() {
	echo "$1" >"$KA_PARAM"
}

# ka_case NAME ROUTER-FN HELPER MODE CLIENT EXPECT SECS
#   MODE    epsv, pasv, port or eprt (curl); pasv or port (py)
#   CLIENT  curl: curl downloads, then quits
#           py:   Python ftplib downloads, then keeps the control
#                 connection idle (the age check)
#   EXPECT  keep (the master must survive) or lose (negative control)
#   SECS    the server's rate limit makes the download last this long
# Sets up a fresh topology, the router (sysctl and ROUTER-FN) and vsftpd.
ka_case() {
	local name=$1 fn=$2 helper=$3 mode=$4 client=$5 expect=$6 secs=$7 d

	d=$FTP_DIR/ka-$name
	mkdir -p "$d"
	setup_topo
	KA_TARGET=$SERVER_IP4
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
	# shellcheck disable=SC2034 # for router functions of NAT variants
	KA_NSS[$name]=$ns_server
	KA_ROUTER[$name]=$fn
	KA_HELPER[$name]=$helper
	KA_MODE[$name]=$mode
	KA_CLIENT[$name]=$client
	KA_EXPECT[$name]=$expect
	KA_SECS[$name]=$secs
	KA_TGT[$name]=$KA_TARGET
}

# The client of the age check: download, report, stay connected and idle.
#   python3 -c "$KA_PY" HOST pasv|port OUT IDLE-SECS SOCKET-TIMEOUT-SECS
# Prints "<epoch ms> START" at the first data (after the 150 reply) and
# "<epoch ms> END <reply code> <sha256>" after the final reply.
KA_PY='
import ftplib, hashlib, sys, time
host, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
idle, limit = float(sys.argv[4]), float(sys.argv[5])
def say(*a):
    print(int(time.time() * 1000), *a, flush=True)
f = ftplib.FTP(timeout=limit)
f.connect(host, 21)
f.login()
f.set_pasv(mode != "port")
h = hashlib.sha256()
started = []
with open(out, "wb") as fp:
    def got(b):
        if not started:
            started.append(1)
            say("START")
        fp.write(b)
        fp.flush()
        h.update(b)
    resp = f.retrbinary("RETR file.bin", got)
say("END", resp[:3], h.hexdigest())
time.sleep(idle)
say("QUIT")
f.quit()
'

# ka_sample NS SIZE-FILE RAW-FILE: one line "epoch-ms master mto mstate
# ndata dstate offload size": master 1/0, its remaining timeout and TCP
# state (- when absent), the number of other TCP entries (data
# connections), the state of the last one, 1 if one of them is [OFFLOAD],
# the size of the client's file.  Appends the conntrack lines to RAW-FILE.
ka_sample() {
	local ns=$1 file=$2 raw=$3 line t m=0 mto=- mst=- nd=0 dst=- off=0 size=0
	local -a f lines

	t=$(_now_ms)
	mapfile -t lines < <(ip netns exec "$ns" conntrack -L -p tcp 2>/dev/null)
	printf '%s\n' "== $t" "${lines[@]}" >>"$raw"
	for line in "${lines[@]}"; do
		[[ $line == tcp* ]] || continue
		read -ra f <<<"$line"
		if [[ $line == *" dport=21 "* ]]; then
			m=1
			[[ ${f[2]} =~ ^[0-9]+$ ]] && mto=${f[2]}
			[[ ${f[3]} =~ ^[A-Z_]+$ ]] && mst=${f[3]}
		else
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

# ka_collect NAME: run the client and sample until it ends (in the
# background).  Files in FTP_DIR/ka-NAME: samples, raw (conntrack lines of
# the router at each sample), client.log, out (the data), rc, t0, tdone
# (data complete), tend, killed (why the client was stopped, if it was).
ka_collect() {
	local name=$1 d ns nsc mode client secs tgt pid t0 now tdone=0 i max limit
	local deadline tend_ms s line='' rc m size nd dst seen=0
	local -a args

	d=$FTP_DIR/ka-$name
	ns=${KA_NSR[$name]}
	nsc=${KA_NSC[$name]}
	mode=${KA_MODE[$name]}
	client=${KA_CLIENT[$name]}
	secs=${KA_SECS[$name]}
	tgt=${KA_TGT[$name]}
	# Whatever goes wrong, the client ends this long after it started.
	limit=$((secs + 20 + $(scaled_s 10)))
	t0=$(_now_ms)
	echo "$t0" >"$d/t0"
	if [[ $client == curl ]]; then
		args=(-sS -v --trace-time --no-keepalive --no-buffer -4
		      --max-time "$limit"
		      --connect-timeout "$(scaled_s 5)")
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
			"ftp://$tgt/file.bin" >"$d/client.out" 2>"$d/client.log" &
		pid=$!
	else
		ip netns exec "$nsc" "$KA_PYTHON" -c "$KA_PY" "$tgt" "$mode" \
			"$d/out" $((KA_GRACE + KA_EST + KA_AGE_SLACK + 15)) \
			"$limit" >"$d/client.log" 2>&1 &
		pid=$!
	fi
	deadline=$((t0 + limit * 1000))
	max=$((limit + 10))
	for ((i = 0; i < max; i++)); do
		s=$(ka_sample "$ns" "$d/out" "$d/raw")
		echo "$s" >>"$d/samples"
		now=$(_now_ms)
		read -r _ m _ _ nd dst _ size <<<"$s"
		# The data are complete once the file is whole (curl --no-buffer)
		# or the data connection closes.
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
		# Age check: once the client has its 226, stop as soon as the
		# master is gone (the client is still idle then).
		[[ $client == py ]] && line=$(grep -m1 ' END ' "$d/client.log")
		if [[ -n $line ]]; then
			if [[ $m == 0 ]]; then
				echo "$KA_AGED" >"$d/killed"
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
		# One sample every KA_PERIOD s (every second in the age phase).
		if [[ $client == py && -n $line ]]; then
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

# ka_check NAME: wait for the collector, then judge the case.
#
# The transfer window runs from the first sample that shows the master to
# the first one after the data completed.  "Control idle" is measured from
# the 150 reply to RETR, the last word on the control connection before
# the 226 (curl's trace time; for the Python client its first data, a bit
# later, so that underestimates).
ka_check() {
	local name=$1 d ns expect client rc t0 tdone=0 tend first=0 idle=0
	local t m mto mst nd dst off size absent=0 present=0 nsamples=0
	local maxto=0 offl=0 got226=0 sent226=0 sha ok=1 s refresh='' tracked
	local tend226=0 agemax=0 gone=0 why='' mfirst=0 lost=0 info t150=0

	wait "${KA_PID[$name]}"
	d=$FTP_DIR/ka-$name
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
	else
		s=$(grep -m1 ' START$' "$d/client.log")
		t150=${s%% *}
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
		if [[ $tend226 -ne 0 && $t -ge $tend226 ]]; then
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
		if [[ $absent -ne 0 || $present -lt 5 ]]; then
			fail "$name: master missing in $absent of $((absent + present)) samples during the transfer"
			ok=0
		fi
		if [[ $idle -lt $KA_IDLE_MS ]]; then
			[[ $t150 -eq 0 ]] && s=", no 150 seen" || s=
			fail "$name: no master sample ${KA_IDLE_MS}ms after the 150 (latest $idle ms$s): proves nothing"
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
		fi
		if [[ $maxto -gt $KA_GRACE ]]; then
			fail "$name: master timeout $maxto s during the transfer, more than 2*interval+2 = $KA_GRACE"
			ok=0
		fi
		if [[ ${KA_ROUTER[$name]} == ka_router_flowtable && $offl -eq 0 ]]; then
			fail "$name: the data connection was never [OFFLOAD]: proves nothing"
			ok=0
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
		if [[ $ok -eq 1 ]]; then
			s="$name: master in all $present samples, up to $((idle / 1000))s after the 150 (control idle)"
			s+=", timeout <= ${maxto}s, 226 received, data ok"
			[[ $offl -gt 0 ]] && s+=", data [OFFLOAD] in $offl samples"
			[[ -n $refresh ]] && s+=", $refresh refreshes"
			[[ $client == py ]] && s+=", then aged out $(((gone - tend226) / 1000))s after the 226 (timeout <= ${agemax}s)"
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
	if [[ $mfirst -eq 0 || $absent -eq 0 ]]; then
		fail "$name: the master never disappeared during the transfer"
		ok=0
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
	if [[ ${KA_ROUTER[$name]} == ka_router_flowtable && $offl -eq 0 ]]; then
		fail "$name: the data connection was never [OFFLOAD]"
		ok=0
	fi
	if [[ $ok -eq 1 ]]; then
		s="$name: master gone ~$((lost / 1000))s after the 150 ($absent of $((absent + present)) samples)"
		[[ $offl -gt 0 ]] && s+=", data [OFFLOAD] in $offl samples"
		s+=", data complete, server sent 226, client never got it (${why:-rc $rc})"
		pass "$s ($info)"
	else
		ka_show "$name"
	fi
}

# ------------------------------------------------------------ main

load_modules
[[ -w $KA_PARAM ]] || skip_test "$KA_PARAM is not writable"
ka_orig=$(<"$KA_PARAM")
cleanup_register ka_set_interval "$ka_orig"

have_stock=1
stock_was_loaded=0
module_loaded nf_conntrack_ftp && stock_was_loaded=1
if ! load_dep_modules nf_conntrack_ftp 2>/dev/null; then
	have_stock=0
	skip "stock nf_conntrack_ftp not available: no stock negative controls"
elif [[ $stock_was_loaded -eq 0 ]] && module_loaded nf_conntrack_ftp; then
	# Leave the stock helper as we found it (nf_ftp_sym_load.sh tests
	# both load orders).  Its nft ct helper objects pin it: namespaces
	# first.
	cleanup_register ka_unload_stock
fi
have_ft=1
if ! load_dep_modules nf_flow_table nf_flow_table_inet nft_flow_offload 2>/dev/null; then
	have_ft=0
	skip "nf_flow_table/nft_flow_offload not available: no flowtable cases"
fi

ftp_make_root "$KA_SIZE"
t_start=$EPOCHSECONDS
echo "INFO: modules and tools took ${SECONDS}s"

# Phase 1, the negative controls, keepalive_interval=0: ftp-sym without
# its keep-alive and the stock helper lose the master.
ka_set_interval 0
lose=()
ka_case sym-off ka_router_plain ftp-sym epsv curl lose "$KA_SHORT" || ksft_exit
lose+=(sym-off)
if [[ $have_stock -eq 1 ]]; then
	ka_case stock-epsv ka_router_plain ftp epsv curl lose "$KA_SHORT" || ksft_exit
	lose+=(stock-epsv)
	if [[ $have_ft -eq 1 ]]; then
		ka_case stock-ft ka_router_flowtable ftp pasv curl lose "$KA_SHORT" || ksft_exit
		lose+=(stock-ft)
	fi
fi
echo "INFO: phase 1 (keepalive_interval=0) after $((EPOCHSECONDS - t_start))s: ${lose[*]}"
ka_start "${lose[@]}"

# Phase 2 is set up meanwhile.
keep=()
ka_case sym-epsv ka_router_plain ftp-sym epsv curl keep "$KA_LONG" || ksft_exit
ka_case sym-port ka_router_plain ftp-sym port curl keep "$KA_LONG" || ksft_exit
ka_case sym-age ka_router_plain ftp-sym pasv py keep "$KA_SHORT" || ksft_exit
keep+=(sym-epsv sym-port sym-age)
if [[ $have_ft -eq 1 ]]; then
	ka_case sym-ft ka_router_flowtable ftp-sym pasv curl keep "$KA_LONG" || ksft_exit
	keep+=(sym-ft)
fi

for name in "${lose[@]}"; do
	ka_check "$name"
done
for c in keepalive_tracked keepalive_refreshes; do
	v=$(ftp_stat "${KA_NSR[sym-off]}" "$c")
	if [[ $v == 0 ]]; then
		pass "sym-off: $c 0 with keepalive_interval=0"
	else
		fail "sym-off: $c ${v:-?} with keepalive_interval=0"
	fi
done

# Phase 2: keepalive_interval=5, the master survives.
ka_set_interval "$KA_INTERVAL"
echo "INFO: phase 2 (keepalive_interval=$KA_INTERVAL) after $((EPOCHSECONDS - t_start))s: ${keep[*]}"
ka_start "${keep[@]}"
for name in "${keep[@]}"; do
	ka_check "$name"
done
echo "INFO: done after $((EPOCHSECONDS - t_start))s"

ksft_exit
