#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_interop.sh: the FTP servers and clients people run, through a
# router with the helper, in both NAT layouts, both families, active and
# passive.
#
#   client ---------------- router ---------------- server
#   curl, wget, ftplib      strict filter,          vsftpd :21
#                           ct helper "ftp-sym"     ProFTPD :2121
#                           on 21, 2121, 2122       Pure-FTPd :2122
#                           + one NAT layout        ProFTPD :2199 (probe)
#
# 1. Probe, with the router routing only (no ruleset): each client
#    downloads in passive mode over IPv4 from a ProFTPD whose 227 names
#    203.0.113.99 (MasqueradeAddress), where nothing answers.  A client
#    that succeeds ignores the 227 address (it connects to the control
#    connection's peer); one that fails uses it.  Recorded, not judged.
# 2. The matrix: every server x client x layout (masqueraded client: the
#    router masquerades towards the server; port-forwarded server: the
#    router DNATs its client-side addresses to the server) x family x
#    mode (each client's own choice of PASV/EPSV or PORT/EPRT): the file
#    arrives intact.  In the port-forward layout every 227 a client
#    receives names the router's public address (192.0.2.254), not the
#    server's.  The router's filter admits new connections only to the
#    control ports, so no data connection gets through unless the helper
#    made it RELATED.
# 3. ctl_capture.py records every control segment on the router's
#    client-side interface: the texts as each side sends them and whether
#    a client puts more than one command in a segment (pipelining).
#
# With NF_FTP_SYM_INTEROP_DOC=1 the test prints docs/interop.md (the
# matrix, versions and the observed quirks) between "interop-doc begin"
# and "interop-doc end" lines; "make interop-doc" writes the file from
# that.  NF_FTP_SYM_INTEROP_HELPER=ftp or =none runs the matrix with the
# stock helper or none (negative controls; no document then);
# NF_FTP_SYM_INTEROP_SERVERS and _CLIENTS (space-separated names) run a
# part of it.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=interop_lib.sh
source "$(dirname "$0")/interop_lib.sh"

PY=/usr/bin/python3
HELPER=${NF_FTP_SYM_INTEROP_HELPER:-$NF_FTP_SYM_HELPER}
[[ $HELPER == none ]] && HELPER=
PROBE_ADDR=203.0.113.99
PORTS="21, 2121, 2122"

checktool "nft --version" "run test without nft"
checktool "curl --version" "run test without curl"
checktool "wget --version" "run test without wget"
checktool "vsftpd -v" "run test without vsftpd"
checktool "$PY --version" "run test without python3"
if ! why=$(interop_missing); then
	skip_test "the extracted FTP servers are missing: $why"
fi

load_modules
setup_topo
ftp_make_root 65536
out=$FTP_DIR/interop
mkdir -p "$out"

start_vsftpd "$ns_server" >/dev/null || ksft_exit
start_proftpd "$ns_server" 2121 41000 41999 || ksft_exit
start_pureftpd "$ns_server" 2122 42000 42999 || ksft_exit
start_proftpd "$ns_server" 2199 43000 43999 "MasqueradeAddress $PROBE_ADDR" ||
	ksft_exit

ip netns exec "$ns_router" "$PY" "$NF_FTP_SYM_SELFTESTS/ctl_capture.py" \
	--ports 21,2121,2122,2199 --out "$out/capture.jsonl" \
	--limit "$(scaled_s 600)" eth_c >"$out/capture.ready" 2>&1 &
capture=$!
cleanup_pid "$capture"
# shellcheck disable=SC2317 # called by busywait
_capture_ready() {
	grep -q '^ready' "$out/capture.ready"
}
busywait 10000 _capture_ready || fail "ctl_capture.py did not start: $(<"$out/capture.ready")"

read -ra CLIENTS <<<"${NF_FTP_SYM_INTEROP_CLIENTS:-curl wget ftplib}"
# name port user password
# (No "@" in a password: it goes into curl's and wget's URLs.)
ALL_SERVERS=("vsftpd 21 anonymous ftp"
	"proftpd 2121 anonymous ftp"
	"pure-ftpd 2122 $PUREFTPD_USER $PUREFTPD_PASSWORD")
SERVERS=()
for s in "${ALL_SERVERS[@]}"; do
	[[ " ${NF_FTP_SYM_INTEROP_SERVERS:-vsftpd proftpd pure-ftpd} " == *" ${s%% *} "* ]] &&
		SERVERS+=("$s")
done

{
	for p in vsftpd proftpd pure-ftpd curl wget ftplib; do
		printf '%s\t%s\n' "$p" "$(program_version "$p")"
	done
} >"$out/versions.tsv"
: >"$out/probe.tsv"
: >"$out/matrix.tsv"

# ------------------------------------------------------------ 1. probe

for client in "${CLIENTS[@]}"; do
	log=$out/probe.$client.log
	if interop_get "$client" passive "$ns_client" "$SERVER_IP4" 2199 \
		anonymous ftp "$log" "$out/probe.$client.out" 15 &&
		sha_is "$out/probe.$client.out" "$FTP_FILE_SHA"; then
		uses=no
	elif grep -qF "$PROBE_ADDR" "$log"; then
		# It tried the address (curl, wget say so when they connect).
		uses=yes
	else
		uses="unknown (failed: $(tail -n 1 "$log"))"
	fi
	printf '%s\t%s\t%s\n' "$client" "$uses" "$(client_commands "$log" | tr '\n' ' ')" \
		>>"$out/probe.tsv"
	echo "INFO: $client uses the address in a 227 reply: $uses"
done

# ------------------------------------------------------------ 2. matrix

router_filter "$ns_router" "$HELPER" "$PORTS" || ksft_exit

# layout NAME: the router's NAT for that layout, replacing the last one.
layout() {
	ip netns exec "$ns_router" nft delete table inet ftpsym_nat 2>/dev/null
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	case $1 in
	masq) router_masquerade "$ns_router" ;;
	portfwd) router_portforward "$ns_router" "$PORTS" ;;
	esac
}

# cell LAYOUT SERVER PORT USER PASSWORD CLIENT FAMILY MODE
cell() {
	local layout=$1 server=$2 port=$3 user=$4 password=$5 client=$6
	local fam=$7 mode=$8 host name log cmds addr start start_ms ms secs
	local result=pass detail=

	if [[ $layout == masq ]]; then
		[[ $fam == 4 ]] && host=$SERVER_IP4 || host=$SERVER_IP6
	else
		[[ $fam == 4 ]] && host=$ROUTER_C_IP4 || host=$ROUTER_C_IP6
	fi
	name=$layout.$server.$client.$fam.$mode
	log=$out/$name.log
	start=$EPOCHREALTIME
	start_ms=$(_now_ms)
	if ! interop_get "$client" "$mode" "$ns_client" "$host" "$port" \
		"$user" "$password" "$log" "$out/$name.out" 20; then
		result=fail
		detail="transfer failed"
	elif ! sha_is "$out/$name.out" "$FTP_FILE_SHA"; then
		result=fail
		detail="the file arrived damaged"
	fi
	cmds=$(client_commands "$log" | sort -u | tr '\n' ' ')
	cmds=${cmds% }
	addr=$(client_227_address "$log")
	if [[ $layout == portfwd && -n $addr && $addr != "$ROUTER_C_IP4" ]]; then
		result=fail
		detail+="${detail:+; }the 227 named $addr, not $ROUTER_C_IP4"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$client" \
		"$layout" "$fam" "$mode" "${cmds:--}" "$result" "${addr:--}" \
		"$start" "$EPOCHREALTIME" >>"$out/matrix.tsv"
	ms=$(($(_now_ms) - start_ms))
	secs=$((ms / 1000)).$((ms % 1000 / 100))
	if [[ $result == pass ]]; then
		pass "$server, $client, $layout, IPv$fam, $mode (${cmds:-?})${addr:+, 227 named $addr}, ${secs}s"
	else
		fail "$server, $client, $layout, IPv$fam, $mode (${cmds:-?}): $detail"
		tail -n 8 "$log" | sed 's/^/  | /' >&2
	fi
}

for lay in masq portfwd; do
	layout "$lay" || fail "cannot set up the $lay layout"
	for s in "${SERVERS[@]}"; do
		read -r server port user password <<<"$s"
		for client in "${CLIENTS[@]}"; do
			for fam in 4 6; do
				for mode in passive active; do
					cell "$lay" "$server" "$port" "$user" \
						"$password" "$client" "$fam" "$mode"
				done
			done
		done
	done
done

# ------------------------------------------------------------ 3. capture

kill -TERM "$capture" 2>/dev/null
wait "$capture" 2>/dev/null
if [[ -s $out/capture.jsonl ]]; then
	pass "ctl_capture.py recorded $(wc -l <"$out/capture.jsonl") control segments"
else
	fail "ctl_capture.py recorded nothing"
fi

if [[ ${NF_FTP_SYM_INTEROP_DOC:-0} == 1 ]]; then
	if [[ $HELPER != "$NF_FTP_SYM_HELPER" ]]; then
		echo "INFO: no document: the matrix ran with helper '${HELPER:-none}'"
	elif [[ -n ${NF_FTP_SYM_INTEROP_SERVERS:-}${NF_FTP_SYM_INTEROP_CLIENTS:-} ]]; then
		echo "INFO: no document: only a part of the matrix ran"
	elif "$PY" "$NF_FTP_SYM_SELFTESTS/interop_doc.py" --dir "$out" \
		--kernel "$(uname -r)" >"$out/interop.md"; then
		echo "interop-doc begin"
		sed 's/^/interop-doc: /' "$out/interop.md"
		echo "interop-doc end"
	else
		fail "interop_doc.py failed"
	fi
fi

ksft_exit
