#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_nat_both.sh: NAT on both sides (layout AB).  The client sits
# behind one router's masquerade, the server behind another router's port
# forwarding; both routers filter strictly and run ftp-sym.
#
#   client ---- ra[masquerade] ---- (203.0.113.0/24) ---- rb[dnat 21] ---- server
#   192.0.2.1   .254 | 203.0.113.1                 203.0.113.2 | .254   198.51.100.1
#   2001:db8:1::1    | 2001:db8:3::1             2001:db8:3::2 |        2001:db8:2::1
#
# The client only knows rb's public address.  Every mode, both families,
# download and upload, checksums compared; the server's log must show the
# address of ra, never the client's.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"

checktool "nft --version" "run test without nft"
checktool "curl --version" "run test without curl"
checktool "vsftpd -v" "run test without vsftpd"

load_modules

RA_PUB4=203.0.113.1
RB_PUB4=203.0.113.2
RA_PUB6=2001:db8:3::1
RB_PUB6=2001:db8:3::2

ns_ra=
ns_rb=
setup_ns ns_client ns_ra ns_rb ns_server
ip -batch - 2>/dev/null <<EOF || skip_test "No virtual ethernet pair device support in kernel"
link add eth0 netns $ns_client type veth peer name eth_c netns $ns_ra
link add eth_m netns $ns_ra type veth peer name eth_m netns $ns_rb
link add eth0 netns $ns_server type veth peer name eth_s netns $ns_rb
EOF
ip -n "$ns_client" -batch - <<EOF
addr add $CLIENT_IP4/24 dev eth0
addr add $CLIENT_IP6/64 dev eth0 nodad
link set eth0 up
route add default via $ROUTER_C_IP4
route add ::/0 via $ROUTER_C_IP6
EOF
ip -n "$ns_ra" -batch - <<EOF
addr add $ROUTER_C_IP4/24 dev eth_c
addr add $ROUTER_C_IP6/64 dev eth_c nodad
link set eth_c up
addr add $RA_PUB4/24 dev eth_m
addr add $RA_PUB6/64 dev eth_m nodad
link set eth_m up
route add default via $RB_PUB4
route add ::/0 via $RB_PUB6
EOF
ip -n "$ns_rb" -batch - <<EOF
addr add $RB_PUB4/24 dev eth_m
addr add $RB_PUB6/64 dev eth_m nodad
link set eth_m up
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
for ns in "$ns_ra" "$ns_rb"; do
	ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1
	router_filter "$ns" ftp-sym || ksft_exit
done

ip netns exec "$ns_ra" nft -f - <<EOF || ksft_exit
table inet ftpsym_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth_m" masquerade
	}
}
EOF
ip netns exec "$ns_rb" nft -f - <<EOF || ksft_exit
table inet ftpsym_nat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "eth_m" ip daddr $RB_PUB4 tcp dport 21 dnat ip to $SERVER_IP4:21
		iifname "eth_m" ip6 daddr $RB_PUB6 tcp dport 21 dnat ip6 to [$SERVER_IP6]:21
	}
}
EOF

ftp_make_root 262144
start_vsftpd "$ns_server" xferlog_enable=YES log_ftp_protocol=YES \
	xferlog_std_format=NO "vsftpd_log_file=$FTP_DIR/vsftpd.log" \
	>/dev/null || ksft_exit

for fam in 4 6; do
	[[ $fam == 4 ]] && host=$RB_PUB4 || host=$RB_PUB6
	for mode in port eprt pasv epsv; do
		for op in get put; do
			if curl_ftp "$ns_client" "$mode" "$fam" "$host" "$op" \
				20 --no-ftp-skip-pasv-ip; then
				pass "AB: curl IPv$fam $mode $op"
			else
				fail "AB: curl IPv$fam $mode $op"
			fi
		done
	done
done

if grep -q "PORT ${RA_PUB4//./,}," "$FTP_DIR/vsftpd.log" &&
	! grep -q "PORT ${CLIENT_IP4//./,}," "$FTP_DIR/vsftpd.log"; then
	pass "AB: the server saw ra's address in PORT, never the client's"
else
	fail "AB: PORT text at the server is wrong"
	grep -E "PORT|EPRT" "$FTP_DIR/vsftpd.log" >&2
fi

for ns in "$ns_ra" "$ns_rb"; do
	d=$(ftp_stat "$ns" dropped)
	[[ $d == 0 ]] || fail "$ns: ${d:-no dropped counter} segments dropped by the helper"
done

ksft_exit
