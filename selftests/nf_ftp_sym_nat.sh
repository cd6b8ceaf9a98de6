#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_nat.sh: FTP through a NAT router, both seed layouts.
#
#   A. masqueraded client        client ---- router[masquerade] ---- server
#   B. port-forwarded server     client ---- router[dnat 21,2121] ---- server
#
#      client 192.0.2.1          router 192.0.2.254 | 198.51.100.254
#      2001:db8:1::1             2001:db8:1::fe     | 2001:db8:2::fe
#                                                     server 198.51.100.1
#                                                     2001:db8:2::1
#
# In B the client only knows the router's address on its side (the
# server's "public" address).  The router filters strictly and attaches the
# helper with an nft ct helper object in prerouting, before DNAT.  vsftpd
# serves; curl and lftp download and upload; checksums are compared.  The
# server logs the commands it receives, which shows the rewritten PORT/EPRT
# text.  Negative control: the same without the helper fails.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"

checktool "nft --version" "run test without nft"
checktool "curl --version" "run test without curl"
checktool "lftp --version" "run test without lftp"
checktool "vsftpd -v" "run test without vsftpd"

load_modules
setup_topo
ftp_make_root 262144

PUB4=$ROUTER_C_IP4
PUB6=$ROUTER_C_IP6

router_reset() {
	ip netns exec "$ns_router" nft flush ruleset
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
}

declare -A result=()
cases=()

# record HELPER CASE STATUS: ftp-sym results pass or fail the test; the
# stock helper's are only shown next to them.
record() {
	local helper=$1 case=$2 status=$3

	[[ -n ${result[ftp-sym|$case]+x} || $helper != ftp-sym ]] ||
		cases+=("$case")
	result[$helper|$case]=$status
	[[ $helper == ftp-sym ]] || return 0
	if [[ $status == ok ]]; then
		pass "$case"
	else
		fail "$case"
	fi
}

# run_matrix HELPER LAYOUT HOST4 HOST6 [CURL-ARGS...]
run_matrix() {
	local helper=$1 layout=$2 h4=$3 h6=$4 fam host mode op st

	shift 4
	for fam in 4 6; do
		[[ $fam == 4 ]] && host=$h4 || host=$h6
		for mode in port eprt pasv epsv; do
			for op in get put; do
				st=FAIL
				curl_ftp "$ns_client" "$mode" "$fam" "$host" \
					"$op" 20 "$@" 2>/dev/null && st=ok
				record "$helper" "$layout: curl IPv$fam $mode $op" "$st"
			done
		done
	done
	for mode in port pasv; do
		st=FAIL
		lftp_ftp "$ns_client" "$mode" 4 "$h4" get && st=ok
		record "$helper" "$layout: lftp IPv4 $mode get" "$st"
	done
}

# layout_a HELPER / layout_b HELPER: reset the router for the layout.
layout_a() {
	router_reset
	router_filter "$ns_router" "$1" || ksft_exit
	router_masquerade "$ns_router"
}

layout_b() {
	router_reset
	router_filter "$ns_router" "$1" "21, 2121" || ksft_exit
	router_portforward "$ns_router" "21, 2121" 21
}

vsftpd_pid=$(start_vsftpd "$ns_server" xferlog_enable=YES log_ftp_protocol=YES \
	xferlog_std_format=NO "vsftpd_log_file=$FTP_DIR/vsftpd.log") || ksft_exit

# ---------------------------------------------------------------- A
layout_a ftp-sym
run_matrix ftp-sym "A masquerade" "$SERVER_IP4" "$SERVER_IP6"

# Several commands in a row on one control connection, each rewrite
# growing the line (192,0,2,1 -> 198,51,100,254): seqadj must keep up.
if timeout "$(scaled_s 60)" ip netns exec "$ns_client" "$FTP_PEER" client \
	--server "$SERVER_IP4" --mode port --repeat 6 --sha256 "$FTP_FILE_SHA" \
	2>/dev/null; then
	record ftp-sym "A: 6 PORT transfers on one control connection" ok
else
	record ftp-sym "A: 6 PORT transfers on one control connection" FAIL
fi

if grep -q "PORT ${ROUTER_S_IP4//./,}," "$FTP_DIR/vsftpd.log"; then
	pass "A: the server saw PORT with the router's address"
else
	fail "A: no rewritten PORT in the server's log"
fi
if grep -q "PORT ${CLIENT_IP4//./,}," "$FTP_DIR/vsftpd.log"; then
	fail "A: the client's private address leaked to the server"
else
	pass "A: the client's address never reached the server"
fi
if grep -qi "EPRT |2|$ROUTER_S_IP6|" "$FTP_DIR/vsftpd.log"; then
	pass "A: the server saw EPRT |2| with the router's IPv6 address"
else
	fail "A: no rewritten IPv6 EPRT in the server's log"
fi

# ---------------------------------------------------------------- B
layout_b ftp-sym
# curl must use the 227 address, or it would hide a wrong one.
run_matrix ftp-sym "B port forward" "$PUB4" "$PUB6" --no-ftp-skip-pasv-ip
for mode in pasv port; do
	st=FAIL
	curl_ftp "$ns_client" "$mode" 4 "$PUB4:2121" get 20 \
		--no-ftp-skip-pasv-ip && st=ok
	record ftp-sym "B: port forward on 2121, $mode" "$st"
done

# The server announces its public address (vsftpd pasv_address; vsftpd
# announces 0,0,0,0 with it on an IPv6 socket, so listen on IPv4 only).
stop_vsftpd "$ns_server" "$vsftpd_pid"
vsftpd_pid=$(start_vsftpd "$ns_server" listen=YES listen_ipv6=NO \
	"pasv_address=$PUB4") || ksft_exit
st=FAIL
curl_ftp "$ns_client" pasv 4 "$PUB4" get 20 --no-ftp-skip-pasv-ip && st=ok
record ftp-sym "B: server announcing its public address" "$st"

# ---------------------------------------------------------------- negative
# Without the helper each must fail for its reason: the unrewritten 227
# sends the client to the server's private address, whose data port the
# filter refuses; the unrewritten PORT names the client's private address,
# which the server refuses.  A timeout would prove nothing.
dropped=$(ftp_stat "$ns_router" dropped)
router_reset
router_filter "$ns_router" "" "21, 2121" reject || ksft_exit
router_portforward "$ns_router" "21, 2121" 21
if curl_refused "$ns_client" "$ns_router" pasv 4 "$PUB4" --no-ftp-skip-pasv-ip; then
	pass "B without helper: passive transfer fails: $NEG_WHY"
else
	fail "B without helper: passive transfer not refused: $NEG_WHY"
fi
router_reset
router_filter "$ns_router" "" 21 reject || ksft_exit
router_masquerade "$ns_router"
if curl_refused "$ns_client" "$ns_router" port 4 "$SERVER_IP4"; then
	pass "A without helper: active transfer fails: $NEG_WHY"
else
	fail "A without helper: active transfer not refused: $NEG_WHY"
fi

# A counter that is missing is not 0.
if [[ $dropped == 0 ]]; then
	pass "no packet dropped by the helper"
else
	fail "packets dropped by the helper: '${dropped:-no dropped counter}'"
fi

# ---------------------------------------------------------------- reference
# The stock pair on the same cases, shown side by side (not judged).
if modprobe -q nf_conntrack_ftp && modprobe -q nf_nat_ftp; then
	stop_vsftpd "$ns_server" "$vsftpd_pid"
	vsftpd_pid=$(start_vsftpd "$ns_server") || ksft_exit
	layout_a ftp
	run_matrix ftp "A masquerade" "$SERVER_IP4" "$SERVER_IP6"
	layout_b ftp
	run_matrix ftp "B port forward" "$PUB4" "$PUB6" --no-ftp-skip-pasv-ip
	for mode in pasv port; do
		st=FAIL
		curl_ftp "$ns_client" "$mode" 4 "$PUB4:2121" get 20 \
			--no-ftp-skip-pasv-ip 2>/dev/null && st=ok
		record ftp "B: port forward on 2121, $mode" "$st"
	done
	stop_vsftpd "$ns_server" "$vsftpd_pid"
	vsftpd_pid=$(start_vsftpd "$ns_server" listen=YES listen_ipv6=NO \
		"pasv_address=$PUB4") || ksft_exit
	st=FAIL
	curl_ftp "$ns_client" pasv 4 "$PUB4" get 8 --no-ftp-skip-pasv-ip \
		2>/dev/null && st=ok
	record ftp "B: server announcing its public address" "$st"
	echo "# case                                     ftp-sym  stock"
	for c in "${cases[@]}"; do
		printf '# %-42s %-8s %s\n' "$c" "${result[ftp-sym|$c]}" \
			"${result[ftp|$c]:--}"
	done
	router_reset
	modprobe -r nf_nat_ftp nf_conntrack_ftp 2>/dev/null
else
	skip "stock nf_conntrack_ftp/nf_nat_ftp not available for reference"
fi

ksft_exit
