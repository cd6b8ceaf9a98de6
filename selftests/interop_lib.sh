# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The FTP servers and clients of the interop selftests, on top of lib.sh and
# ftp_lib.sh (source those first).
#
# Servers: vsftpd (installed; ftp_lib.sh starts it), ProFTPD and Pure-FTPd.
# The last two conflict with vsftpd as Debian packages, so scripts/deps.sh
# extracts them into .cache/ftp-servers/ and installs only their libraries;
# they run from there with configurations written here.
# Clients: curl, wget and Python's ftplib (ftplib_client.py), each with its
# own defaults: which of PASV/EPSV and PORT/EPRT it sends is its own choice.
#
#   start_proftpd NS PORT PASV-LO PASV-HI [DIRECTIVE...]
#   start_pureftpd NS PORT PASV-LO PASV-HI
#   interop_get CLIENT MODE NS HOST PORT USER PASSWORD LOG OUT LIMIT
#	one download of file.bin; MODE passive or active; LOG gets the
#	client's own account of the conversation
#   program_version NAME	"program version (Debian package version)"

INTEROP_CACHE=${NF_FTP_SYM_CACHE:-$NF_FTP_SYM_REPO/.cache}/ftp-servers
PROFTPD=$INTEROP_CACHE/proftpd-core/usr/sbin/proftpd
PUREFTPD=$INTEROP_CACHE/pure-ftpd/usr/sbin/pure-ftpd
PUREPW=$INTEROP_CACHE/pure-ftpd/usr/bin/pure-pw
FTPLIB_CLIENT=$NF_FTP_SYM_SELFTESTS/ftplib_client.py
# Pure-FTPd has no anonymous root of its own choosing (it is the home of
# the "ftp" user): it serves FTP_DIR/root to this virtual user instead.
PUREFTPD_USER=ftpsym
PUREFTPD_PASSWORD=ftpsym
# Its SHA-512 crypt hash ("openssl passwd -6 -salt nfftpsym ftpsym"):
# pure-pw would store an argon2id hash that takes seconds per login, more
# under TCG.
PUREFTPD_HASH='$6$nfftpsym$Ke3goSMkvsre.T7s5cl/CT1pvbtmIBl6/kzG0TDRUAwgD1wPxEjPgMfp9.19OBpf/qQ/EhOIWbLc4/UVYXfcw1'

# interop_missing: what of the extracted servers is missing, on stdout;
# status 1 when something is.
interop_missing() {
	local f rc=0

	for f in "$PROFTPD" "$PUREFTPD" "$PUREPW"; do
		if [[ ! -x $f ]]; then
			echo "$f (run scripts/deps.sh)"
			rc=1
		fi
	done
	return "$rc"
}

# start_proftpd NS PORT PASV-LO PASV-HI [DIRECTIVE...]: anonymous
# ProFTPD in the foreground of a background job, serving FTP_DIR/root on
# PORT (IPv4 and IPv6), passive ports PASV-LO to PASV-HI; more
# configuration directives may follow.
start_proftpd() {
	local ns=$1 port=$2 lo=$3 hi=$4 dir pid

	shift 4
	dir=$FTP_DIR/proftpd.$port
	mkdir -p "$dir"
	{
		cat <<EOF
ServerName "nf-ftp-sym interop"
ServerType standalone
DefaultServer on
# Otherwise the host name must resolve (it does not in the test VM); the
# server still listens on every address and answers on the one used.
DefaultAddress 127.0.0.1
Port $port
UseIPv6 on
User nobody
Group nogroup
PidFile $dir/proftpd.pid
ScoreboardFile $dir/proftpd.scoreboard
DelayTable none
WtmpLog off
UseReverseDNS off
RequireValidShell off
PassivePorts $lo $hi
TimeoutIdle 600
EOF
		printf '%s\n' "$@"
		cat <<EOF
<Anonymous $FTP_DIR/root>
  User ftp
  Group nogroup
  UserAlias anonymous ftp
  RequireValidShell off
</Anonymous>
EOF
	} >"$dir/proftpd.conf"
	ip netns exec "$ns" "$PROFTPD" -n -q -c "$dir/proftpd.conf" \
		</dev/null >"$dir/log" 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	if ! busywait 15000 listener_ready "$ns" "$port"; then
		fail "ProFTPD did not start on port $port: $(tail -n 3 "$dir/log")"
		return 1
	fi
}

# start_pureftpd NS PORT PASV-LO PASV-HI: Pure-FTPd with the virtual user
# PUREFTPD_USER, whose home is FTP_DIR/root.
start_pureftpd() {
	local ns=$1 port=$2 lo=$3 hi=$4 dir pid

	dir=$FTP_DIR/pureftpd.$port
	mkdir -p "$dir"
	# user:hash:uid:gid::home/./ (chrooted there):...
	printf '%s:%s:%s:%s::%s/./::::::::::::\n' "$PUREFTPD_USER" \
		"$PUREFTPD_HASH" "$(id -u ftp)" "$(getent group nogroup | cut -d: -f3)" \
		"$FTP_DIR/root" >"$dir/passwd"
	if ! "$PUREPW" mkdb "$dir/passwd.pdb" -f "$dir/passwd" >/dev/null; then
		fail "pure-pw cannot make the user database"
		return 1
	fi
	ip netns exec "$ns" "$PUREFTPD" -S "$port" -l "puredb:$dir/passwd.pdb" \
		-E -H -p "$lo:$hi" </dev/null >"$dir/log" 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	if ! busywait 15000 listener_ready "$ns" "$port"; then
		fail "Pure-FTPd did not start on port $port: $(tail -n 3 "$dir/log")"
		return 1
	fi
}

# _ftp_host HOST: HOST in a URL (IPv6 in brackets).
_ftp_host() {
	if [[ $1 == *:* ]]; then
		echo "[$1]"
	else
		echo "$1"
	fi
}

# interop_get CLIENT MODE NS HOST PORT USER PASSWORD LOG OUT LIMIT
interop_get() {
	local client=$1 mode=$2 ns=$3 host=$4 port=$5 user=$6 pass=$7
	local log=$8 out=$9 limit=${10} url
	local -a args=()

	url="ftp://$user:$pass@$(_ftp_host "$host"):$port/file.bin"
	rm -f "$out"
	case $client in
	curl)
		[[ $mode == active ]] && args+=(--ftp-port -)
		ip netns exec "$ns" curl -v -s -S --max-time "$(scaled_s "$limit")" \
			--connect-timeout "$(scaled_s 5)" "${args[@]}" -o "$out" \
			"$url" >"$log" 2>&1
		;;
	wget)
		[[ $mode == active ]] && args+=(--no-passive-ftp)
		ip netns exec "$ns" timeout "$(scaled_s "$limit")" wget -d \
			--tries=1 -T "$(scaled_s 5)" "${args[@]}" -O "$out" \
			"$url" >"$log" 2>&1
		;;
	ftplib)
		[[ $mode == active ]] && args+=(--active)
		ip netns exec "$ns" timeout "$(scaled_s "$limit")" \
			"$FTPLIB_CLIENT" --host "$host" --port "$port" \
			--user "$user" --password "$pass" \
			--timeout "$(scaled_s 5)" "${args[@]}" file.bin "$out" \
			>"$log" 2>&1
		;;
	*)
		return 2
		;;
	esac
}

# client_commands LOG: the endpoint commands (PASV, EPSV, PORT, EPRT) the
# client sent, in order, one per line, from its log.
client_commands() {
	grep -oE '^(> |--> |\*cmd\* .)(PASV|EPSV|PORT|EPRT|LPSV|LPRT)\b' "$1" |
		grep -oE '(PASV|EPSV|PORT|EPRT|LPSV|LPRT)$'
}

# client_227_address LOG: the address of the last 227 reply the client
# received, dotted, from its log; nothing if it got none.
client_227_address() {
	grep -oE '227 [^(]*\(?[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+' "$1" |
		tail -n 1 | grep -oE '[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+$' |
		awk -F, '{ print $1 "." $2 "." $3 "." $4 }'
}

# program_version NAME: its version as it says it, and the Debian
# package's.
program_version() {
	local v pkg

	case $1 in
	vsftpd)
		# vsftpd writes its version to file descriptor 0.
		v=$(vsftpd -v 0>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
		pkg=$(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null)
		;;
	proftpd)
		v=$("$PROFTPD" -v 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9a-z]+' | head -n 1)
		pkg=$(cat "$INTEROP_CACHE/proftpd-core/.version" 2>/dev/null)
		;;
	pure-ftpd)
		v=$("$PUREFTPD" --help 2>&1 | grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
		v=${v#v}
		pkg=$(cat "$INTEROP_CACHE/pure-ftpd/.version" 2>/dev/null)
		;;
	curl)
		v=$(curl --version | head -n 1 | awk '{ print $2 }')
		pkg=$(dpkg-query -W -f='${Version}' curl 2>/dev/null)
		;;
	wget)
		v=$(wget --version | head -n 1 | awk '{ print $3 }')
		pkg=$(dpkg-query -W -f='${Version}' wget 2>/dev/null)
		;;
	ftplib)
		v=$(/usr/bin/python3 -c 'import platform; print(platform.python_version())')
		pkg=$(dpkg-query -W -f='${Version}' python3 2>/dev/null)
		;;
	esac
	echo "${v:-unknown} (Debian ${pkg:-unknown})"
}
