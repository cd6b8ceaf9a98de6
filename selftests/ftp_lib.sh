# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# FTP pieces shared by the selftests, on top of lib.sh: real servers
# (vsftpd, pyftpdlib), real clients (curl, lftp), the scripted peer
# (ftp_peer.py) and router rulesets.  Source lib.sh first.
#
# Modes are named after what goes over the control connection:
#   port  active, PORT command      eprt  active, EPRT command
#   pasv  passive, PASV/227         epsv  passive, EPSV/229

FTP_PEER=$NF_FTP_SYM_SELFTESTS/ftp_peer.py
FTP_DIR=
FTP_FILE_SHA=

# ftp_make_root: a directory tree for the servers: root/file.bin (random),
# root/up/ writable by the ftp user, and an empty secure_chroot_dir.
# ftp_make_data SIZE: SIZE bytes that start with FTP control lines naming
# the test hosts (both sides' addresses, so whichever end sends them, they
# pass the bounce check), then random bytes.  A helper that parsed data
# connections as control connections would rewrite them under NAT or cut
# the stream, and the transfers' checksums would tell.
ftp_make_data() {
	local size=$1 i

	{
		for ((i = 4; i < 36; i++)); do
			printf 'PORT 192,0,2,1,%d,1\r\n' "$i"
			printf 'PORT 198,51,100,1,%d,2\r\n' "$i"
			printf '227 Entering Passive Mode (198,51,100,1,%d,3).\r\n' "$i"
			printf 'EPRT |1|198.51.100.1|%d|\r\n' "$((i * 256 + 4))"
			printf '229 Entering Extended Passive Mode (|||%d|)\r\n' "$((i * 256 + 5))"
			printf 'PASV\r\nEPSV\r\n'
		done
		head -c "$size" /dev/urandom
	} | head -c "$size"
}

ftp_make_root() {
	FTP_DIR=$(mktemp -d /tmp/nf-ftp-sym.XXXXXX)
	cleanup_register rm -rf "$FTP_DIR"
	mkdir -p "$FTP_DIR/root/up" "$FTP_DIR/empty" "$FTP_DIR/client"
	ftp_make_data "${1:-262144}" >"$FTP_DIR/root/file.bin"
	chmod 755 "$FTP_DIR" "$FTP_DIR/root"
	chmod 777 "$FTP_DIR/root/up"
	chown ftp "$FTP_DIR/root/up" 2>/dev/null || true
	FTP_FILE_SHA=$(sha256sum "$FTP_DIR/root/file.bin")
	FTP_FILE_SHA=${FTP_FILE_SHA%% *}
}

# start_vsftpd NS [CONFIG-LINE...]: anonymous vsftpd on port 21 (v4 and
# v6), downloads from FTP_DIR/root, uploads into up/.
start_vsftpd() {
	local ns=$1 conf pid

	shift
	conf="$FTP_DIR/vsftpd.$ns.conf"
	cat >"$conf" <<EOF
listen=NO
listen_ipv6=YES
background=NO
anonymous_enable=YES
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_other_write_enable=YES
anon_umask=022
no_anon_password=YES
anon_root=$FTP_DIR/root
secure_chroot_dir=$FTP_DIR/empty
seccomp_sandbox=NO
isolate_network=NO
pasv_enable=YES
port_enable=YES
pasv_min_port=40000
pasv_max_port=40999
connect_from_port_20=NO
dirmessage_enable=NO
xferlog_enable=NO
use_localtime=NO
idle_session_timeout=600
data_connection_timeout=300
EOF
	printf '%s\n' "$@" >>"$conf"
	ip netns exec "$ns" vsftpd "$conf" </dev/null >/dev/null 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	if ! wait_listener "$ns" 21; then
		fail "vsftpd did not start in $ns"
		return 1
	fi
	echo "$pid"
}

# stop_vsftpd NS PID: stop a vsftpd started by start_vsftpd and wait until
# port 21 is free again (it is not our child: start_vsftpd runs in $(...)).
stop_vsftpd() {
	kill "$2" 2>/dev/null
	busywait "$BUSYWAIT_TIMEOUT" _port21_free "$1"
}

_port21_free() {
	! listener_ready "$1" 21
}

# ftp_url FAMILY HOST PATH
ftp_url() {
	if [[ $1 == 6 ]]; then
		echo "ftp://[$2]/$3"
	else
		echo "ftp://$2/$3"
	fi
}

# curl_ftp_args MODE FAMILY LIMIT-SECONDS: CURL_ARGS = curl's options for
# one FTP session in MODE (port, eprt, pasv, epsv) over IPvFAMILY, quiet
# but for errors, bounded by the (scaled) limit.
CURL_ARGS=()
curl_ftp_args() {
	CURL_ARGS=(-s -S --max-time "$(scaled_s "$3")"
		   --connect-timeout "$(scaled_s 5)" -"$2")
	case $1 in
	port) CURL_ARGS+=(--ftp-port - --disable-eprt) ;;
	eprt) CURL_ARGS+=(--ftp-port -) ;;
	pasv) CURL_ARGS+=(--ftp-pasv --disable-epsv) ;;
	epsv) CURL_ARGS+=(--ftp-pasv) ;;
	esac
}

# curl_ftp NS MODE FAMILY HOST get|put [LIMIT-SECONDS] [EXTRA-CURL-ARGS...]
# Download file.bin into FTP_DIR/client/ or upload it into up/; checks the
# checksum.  Returns 0 on a complete, correct transfer.
curl_ftp() {
	local ns=$1 mode=$2 fam=$3 host=$4 op=$5 limit=${6:-20} out name

	shift 6 2>/dev/null || shift $#
	curl_ftp_args "$mode" "$fam" "$limit"
	name=$mode.$fam.$RANDOM
	if [[ $op == get ]]; then
		out="$FTP_DIR/client/$name"
		ip netns exec "$ns" curl "${CURL_ARGS[@]}" "$@" -o "$out" \
			"$(ftp_url "$fam" "$host" file.bin)" || return 1
	else
		ip netns exec "$ns" curl "${CURL_ARGS[@]}" "$@" \
			-T "$FTP_DIR/root/file.bin" \
			"$(ftp_url "$fam" "$host" "up/$name")" || return 1
		out="$FTP_DIR/root/up/$name"
	fi
	sha_is "$out" "$FTP_FILE_SHA"
}

# curl_get NS MODE FAMILY HOST OUT LIMIT-S FILE... [-- CURL-ARGS]: download
# the FILEs on one control connection (curl reuses it for one host) into
# OUT.0, OUT.1, ...
curl_get() {
	local ns=$1 mode=$2 fam=$3 host=$4 out=$5 limit=$6 i=0
	local -a urls

	shift 6
	curl_ftp_args "$mode" "$fam" "$limit"
	while [[ $# -gt 0 && $1 != -- ]]; do
		urls+=("$(ftp_url "$fam" "$host" "$1")" -o "$out.$i")
		i=$((i + 1))
		shift
	done
	[[ ${1:-} == -- ]] && shift
	ip netns exec "$ns" curl "${CURL_ARGS[@]}" "$@" "${urls[@]}"
}

# sha_is FILE SHA: FILE's SHA-256 is SHA.
sha_is() {
	local s

	s=$(sha256sum "$1" 2>/dev/null)
	[[ ${s%% *} == "$2" ]]
}

# size_over FILE BYTES: FILE has more than BYTES.
# shellcheck disable=SC2317 # called by busywait
size_over() {
	local -a st

	[[ -e $1 ]] || return 1
	read -ra st < <(stat -c %s "$1")
	[[ ${st[0]} -gt $2 ]]
}

# lftp_ftp NS MODE FAMILY HOST get|put [LIMIT-SECONDS]
lftp_ftp() {
	local ns=$1 mode=$2 fam=$3 host=$4 op=$5 limit=${6:-20} name out
	local set url

	set="set net:timeout $(scaled_s 5); set net:max-retries 1;"
	set+=" set net:reconnect-interval-base 1; set ftp:ssl-allow no;"
	set+=" set cmd:fail-exit yes; set xfer:clobber yes;"
	case $mode in
	port | eprt) set+=" set ftp:passive-mode off;" ;;
	pasv) set+=" set ftp:passive-mode on; set ftp:prefer-epsv no;" ;;
	epsv) set+=" set ftp:passive-mode on; set ftp:prefer-epsv yes;" ;;
	esac
	if [[ $fam == 6 ]]; then
		url="ftp://anonymous:x@[$host]"
	else
		url="ftp://anonymous:x@$host"
	fi
	name=$mode.$fam.lftp.$RANDOM
	if [[ $op == get ]]; then
		out="$FTP_DIR/client/$name"
		timeout "$(scaled_s "$limit")" ip netns exec "$ns" lftp -c \
			"$set open $url; get file.bin -o $out" \
			</dev/null >/dev/null 2>&1 || return 1
	else
		timeout "$(scaled_s "$limit")" ip netns exec "$ns" lftp -c \
			"$set open $url; put $FTP_DIR/root/file.bin -o up/$name" \
			</dev/null >/dev/null 2>&1 || return 1
		out="$FTP_DIR/root/up/$name"
	fi
	sha_is "$out" "$FTP_FILE_SHA"
}

# router_filter NS [HELPER-TYPE] [PORTS] [drop|reject]: a strict firewall
# on the router: forward policy drop, established/related accepted, new
# connections only to the control port(s).  With HELPER-TYPE ("ftp-sym" or
# "ftp"), a ct helper object of that type is attached to control
# connections in prerouting (before any DNAT).  Without it, no helper: the
# negative control.  With "reject", other new TCP connections are refused
# with a reset, so that a negative control fails fast and for a reason it
# can name, not by a timeout; refused_count counts the resets the router
# sent (the filter's, and its own stack's for a port nobody listens on).
# It replaces an earlier one in one transaction.
router_filter() {
	local ns=$1 type=${2:-} ports=${3:-21} attach='' set='' refuse='' out=''

	if [[ -n $type ]]; then
		attach="ct helper ftp { type \"$type\" protocol tcp; l3proto inet; }"
		set="tcp dport { $ports } ct helper set \"ftp\""
	fi
	if [[ ${4:-drop} == reject ]]; then
		refuse='meta l4proto tcp ct state new reject with tcp reset'
		out='chain out {
		type filter hook output priority 0; policy accept;
		tcp flags & rst == rst counter name "refused"
	}'
	fi
	ip netns exec "$ns" nft -f - <<EOF || { fail "router ruleset rejected"; return 1; }
table inet ftpsym_filter
delete table inet ftpsym_filter
table inet ftpsym_filter {
	$attach
	counter refused { }
	chain pre {
		type filter hook prerouting priority -150; policy accept;
		$set
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		tcp dport { $ports } ct state new accept
		$refuse
	}
	$out
}
EOF
}

# refused_count NS: TCP resets the router NS sent since its router_filter
# ... reject was loaded.
refused_count() {
	local l

	l=$(ip netns exec "$1" nft list counter inet ftpsym_filter refused 2>/dev/null)
	[[ $l == *packets* ]] || return 1
	l=${l#*packets }
	echo "${l%% *}"
}

# curl_refused NS ROUTER-NS MODE FAMILY HOST [EXTRA-CURL-ARGS...]: a
# negative control through a router_filter ... reject: the download must
# fail for a reason that names the missing helper, not by a timeout: the
# router refused the data connection (it sent a reset: its filter's, or
# its own stack's where an unrewritten address points at the router), or
# the server refused the address it was sent (curl 30: a PORT or EPRT
# naming the client's private address).  NEG_WHY says what happened.  Returns 0 for
# such a failure, 1 otherwise (a transfer that worked, a timeout, ...).
NEG_WHY=
curl_refused() {
	local ns=$1 rns=$2 mode=$3 fam=$4 host=$5 before after rc=0 err out

	shift 5
	err=$FTP_DIR/curl-refused.$RANDOM.err
	out=$FTP_DIR/client/refused.$RANDOM
	before=$(refused_count "$rns") || before=
	curl_ftp_args "$mode" "$fam" 10
	ip netns exec "$ns" curl "${CURL_ARGS[@]}" "$@" -o "$out" \
		"$(ftp_url "$fam" "$host" file.bin)" 2>"$err" || rc=$?
	after=$(refused_count "$rns") || after=
	NEG_WHY="curl exit $rc: $(tr -d '\n' <"$err")"
	if [[ $rc -eq 0 ]]; then
		NEG_WHY="the transfer worked"
		return 1
	fi
	if [[ $rc -ne 28 && -n $before && -n $after && $after -gt $before ]]; then
		NEG_WHY="refused: the router sent $((after - before)) reset(s); $NEG_WHY"
		return 0
	fi
	[[ $rc -eq 30 ]]
}

# router_masquerade NS: connections leaving towards the server get the
# router's server-side address (layout A, the masqueraded client).
router_masquerade() {
	ip netns exec "$1" nft -f - <<EOF
table inet ftpsym_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth_s" masquerade
	}
}
EOF
}

# router_portforward NS PORTS [TO-PORT] [FAMILIES]: PORTS of the router's
# client-side addresses (ROUTER_C_IP4/6) go to the server, on TO-PORT if
# given (layout B, the port-forwarded server).  FAMILIES: "4 6" (default)
# or one of them.
router_portforward() {
	local ns=$1 ports=$2 to4=$SERVER_IP4 to6=$SERVER_IP6 fam rules=

	if [[ -n ${3:-} ]]; then
		to4=$SERVER_IP4:$3
		to6=[$SERVER_IP6]:$3
	fi
	for fam in ${4:-4 6}; do
		if [[ $fam == 4 ]]; then
			rules+="iifname \"eth_c\" ip daddr $ROUTER_C_IP4 tcp dport { $ports } dnat ip to $to4"$'\n'
		else
			rules+="iifname \"eth_c\" ip6 daddr $ROUTER_C_IP6 tcp dport { $ports } dnat ip6 to $to6"$'\n'
		fi
	done
	ip netns exec "$ns" nft -f - <<EOF
table inet ftpsym_nat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		$rules
	}
}
EOF
}

# ftp_stats NS: the helper's counters in NS, "name value" per line.
ftp_stats() {
	ip netns exec "$1" cat /proc/net/nf_ftp_sym
}

# ftp_stat NS NAME: one counter.
ftp_stat() {
	ftp_stats "$1" | awk -v k="$2" '$1 == k { print $2 }'
}
