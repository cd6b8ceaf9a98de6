#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_examples.sh: the rulesets in examples/ work as shipped.
#
#   client ---- router ---- server (vsftpd)
#
# Each example is loaded on the router with only its defines changed to
# this topology's interfaces and addresses, then FTP goes through it:
#   masquerade-client.nft   LAN=eth_c WAN=eth_s, active and passive
#   port-forward-server.nft WAN=eth_c, public 192.0.2.254 on 21 and 2121
#   ipv6.nft                masquerade (LAN=eth_c) and DNAT (WAN=eth_c)
#   iptables.sh             LAN=eth_c WAN=eth_s, IPv4 and IPv6

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"

checktool "nft --version" "run test without nft"
checktool "curl --version" "run test without curl"
checktool "vsftpd -v" "run test without vsftpd"

EX=$NF_FTP_SYM_REPO/examples

load_modules
setup_topo
ftp_make_root 131072
start_vsftpd "$ns_server" >/dev/null || ksft_exit

# load_example FILE NAME=VALUE...: the example with its defines replaced.
load_example() {
	local file=$1 kv sed_args=()

	shift
	for kv in "$@"; do
		sed_args+=(-e "s|^define ${kv%%=*} = .*|define ${kv%%=*} = ${kv#*=}|")
	done
	ip netns exec "$ns_router" nft flush ruleset
	sed "${sed_args[@]}" "$EX/$file" | ip netns exec "$ns_router" nft -f -
}

# try CASE CURL-ARGS...: one download through the example.
try() {
	local case=$1

	shift
	if curl_ftp "$ns_client" "$@"; then
		pass "$case"
	else
		fail "$case"
	fi
}

if load_example masquerade-client.nft 'LAN="eth_c"' 'WAN="eth_s"'; then
	for mode in port pasv eprt epsv; do
		try "masquerade-client.nft: $mode" "$mode" 4 "$SERVER_IP4" get
	done
	try "masquerade-client.nft: IPv6 epsv" epsv 6 "$SERVER_IP6" get
else
	fail "masquerade-client.nft does not load"
fi

if load_example port-forward-server.nft 'WAN="eth_c"' \
	"PUBLIC=$ROUTER_C_IP4" "SERVER=$SERVER_IP4"; then
	for mode in pasv port epsv; do
		try "port-forward-server.nft: $mode" "$mode" 4 "$ROUTER_C_IP4" \
			get 20 --no-ftp-skip-pasv-ip
	done
	try "port-forward-server.nft: port 2121, pasv" pasv 4 \
		"$ROUTER_C_IP4:2121" get 20 --no-ftp-skip-pasv-ip
else
	fail "port-forward-server.nft does not load"
fi

if load_example ipv6.nft 'LAN="eth_c"' 'WAN="eth_s"' \
	"PUBLIC6=$ROUTER_S_IP6" "SERVER6=$CLIENT_IP6"; then
	try "ipv6.nft masquerade: eprt" eprt 6 "$SERVER_IP6" get
	try "ipv6.nft masquerade: epsv" epsv 6 "$SERVER_IP6" get
else
	fail "ipv6.nft does not load (masquerade setup)"
fi
if load_example ipv6.nft 'LAN="eth_s"' 'WAN="eth_c"' \
	"PUBLIC6=$ROUTER_C_IP6" "SERVER6=$SERVER_IP6"; then
	try "ipv6.nft DNAT: epsv" epsv 6 "$ROUTER_C_IP6" get
	try "ipv6.nft DNAT: eprt" eprt 6 "$ROUTER_C_IP6" get
else
	fail "ipv6.nft does not load (DNAT setup)"
fi

ip netns exec "$ns_router" nft flush ruleset
if ! ip netns exec "$ns_router" iptables -t raw -L >/dev/null 2>&1; then
	skip "iptables does not work here"
elif ip netns exec "$ns_router" env LAN=eth_c WAN=eth_s sh "$EX/iptables.sh"; then
	try "iptables.sh: port" port 4 "$SERVER_IP4" get
	try "iptables.sh: pasv" pasv 4 "$SERVER_IP4" get
	try "iptables.sh: IPv6 epsv" epsv 6 "$SERVER_IP6" get
	if ip netns exec "$ns_router" conntrack -L -p tcp --dport 21 2>/dev/null |
		grep -q helper=ftp-sym; then
		pass "iptables.sh: -j CT --helper ftp-sym attached the helper"
	else
		fail "iptables.sh: no control connection with helper=ftp-sym"
	fi
else
	fail "iptables.sh failed"
fi

ksft_exit
