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
#
# A case passes when the download is complete and correct and its data
# connection went through the router as RELATED (a counter in a table of
# our own, next to the example's), so it passes only because the helper
# expected the connection: several of these rulesets let some data
# connections through as NEW anyway (passive mode out of a masquerade,
# active mode into a port forward).  Each example is then loaded again
# with its helper rule removed (the negative control): every case must
# fail then, by its transfer or by its RELATED count.  After iptables.sh,
# the control connections of both families (conntrack -f ipv4 and -f
# ipv6, after a conntrack flush) carry helper=ftp-sym.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"

checktool "nft --version" "run test without nft"
checktool "curl --version" "run test without curl"
checktool "vsftpd -v" "run test without vsftpd"
checktool "conntrack --version" "run test without conntrack"

EX=$NF_FTP_SYM_REPO/examples
# curl's time limit: generous with the helper; short for the negative
# controls, where a data connection may hang on a dropped SYN.
LIMIT_WITH=20
LIMIT_WITHOUT=2
LIMIT=$LIMIT_WITH

load_modules
setup_topo
ftp_make_root 131072
start_vsftpd "$ns_server" >/dev/null || ksft_exit

# add_probe: count the TCP connections the router forwards as RELATED, in
# a table of our own that accepts everything (the example's verdicts
# stand).
add_probe() {
	ip netns exec "$ns_router" nft -f - <<EOF
table inet ftpsym_probe {
	counter related { }
	chain forward {
		type filter hook forward priority -150; policy accept;
		meta l4proto tcp ct state related counter name "related"
	}
}
EOF
}

related_count() {
	local l

	l=$(ip netns exec "$ns_router" nft list counter inet ftpsym_probe related)
	l=${l#*packets }
	echo "${l%% *}"
}

# load_example FILE WITH NAME=VALUE...: the example with its defines
# replaced; WITH=0 removes its "ct helper set" rules (the negative control).
load_example() {
	local file=$EX/$1 with=$2 kv
	local -a sed_args=()

	shift 2
	if [[ ! -r $file ]]; then
		fail "$file is missing"
		return 1
	fi
	for kv in "$@"; do
		sed_args+=(-e "s|^define ${kv%%=*} = .*|define ${kv%%=*} = ${kv#*=}|")
	done
	[[ $with == 1 ]] || sed_args+=(-e '/ct helper set/d')
	ip netns exec "$ns_router" nft flush ruleset
	sed "${sed_args[@]}" "$file" >"$FTP_DIR/ruleset.nft" || return 1
	if [[ $with == 0 ]] && { ! grep -q 'ct helper set' "$file" ||
		grep -q 'ct helper set' "$FTP_DIR/ruleset.nft"; }; then
		fail "$1: no helper rule to remove"
		return 1
	fi
	ip netns exec "$ns_router" nft -f "$FTP_DIR/ruleset.nft" && add_probe
}

# try WITH CASE CURL-ARGS...: one download through the example.  With the
# helper (WITH=1) it must succeed with a RELATED data connection; without
# (WITH=0) it must not.
try() {
	local with=$1 case=$2 before how

	shift 2
	before=$(related_count)
	if ! curl_ftp "$ns_client" "$@"; then
		how="transfer failed"
	elif [[ $(related_count) -gt $before ]]; then
		how=related
	else
		how="transfer worked, data connection not RELATED"
	fi
	if [[ $with == 1 && $how == related ]]; then
		pass "$case: data connection RELATED"
	elif [[ $with == 1 ]]; then
		fail "$case: $how"
	elif [[ $how == related ]]; then
		fail "$case, helper rule removed: still RELATED, the helper made no difference"
	else
		pass "$case, helper rule removed: $how (negative control)"
	fi
}

# The cases of each example; $1 (WITH) passed on.
# shellcheck disable=SC2317 # called through example
cases_masq() {
	local m

	for m in port pasv eprt epsv; do
		try "$1" "masquerade-client.nft: $m" "$m" 4 "$SERVER_IP4" get "$LIMIT"
	done
	try "$1" "masquerade-client.nft: IPv6 epsv" epsv 6 "$SERVER_IP6" get "$LIMIT"
}

# shellcheck disable=SC2317 # called through example
cases_fwd() {
	local m

	for m in pasv port epsv; do
		try "$1" "port-forward-server.nft: $m" "$m" 4 "$ROUTER_C_IP4" \
			get "$LIMIT" --no-ftp-skip-pasv-ip
	done
	try "$1" "port-forward-server.nft: port 2121, pasv" pasv 4 \
		"$ROUTER_C_IP4:2121" get "$LIMIT" --no-ftp-skip-pasv-ip
}

# shellcheck disable=SC2317 # called through example
cases_v6masq() {
	try "$1" "ipv6.nft masquerade: eprt" eprt 6 "$SERVER_IP6" get "$LIMIT"
	try "$1" "ipv6.nft masquerade: epsv" epsv 6 "$SERVER_IP6" get "$LIMIT"
}

# shellcheck disable=SC2317 # called through example
cases_v6dnat() {
	try "$1" "ipv6.nft DNAT: epsv" epsv 6 "$ROUTER_C_IP6" get "$LIMIT"
	try "$1" "ipv6.nft DNAT: eprt" eprt 6 "$ROUTER_C_IP6" get "$LIMIT"
}

cases_ipt() {
	try "$1" "iptables.sh: port" port 4 "$SERVER_IP4" get "$LIMIT"
	try "$1" "iptables.sh: pasv" pasv 4 "$SERVER_IP4" get "$LIMIT"
	try "$1" "iptables.sh: IPv6 epsv" epsv 6 "$SERVER_IP6" get "$LIMIT"
}

# example CASES FILE NAME=VALUE...: the cases with the example as shipped,
# then with its helper rule removed.
example() {
	local cases=$1 file=$2 with

	shift 2
	for with in 1 0; do
		LIMIT=$LIMIT_WITH
		[[ $with == 1 ]] || LIMIT=$LIMIT_WITHOUT
		if load_example "$file" "$with" "$@"; then
			"$cases" "$with"
		else
			fail "$file does not load (helper rule $([[ $with == 1 ]] || echo "not ")kept)"
		fi
	done
}

example cases_masq masquerade-client.nft 'LAN="eth_c"' 'WAN="eth_s"'
example cases_fwd port-forward-server.nft 'WAN="eth_c"' \
	"PUBLIC=$ROUTER_C_IP4" "SERVER=$SERVER_IP4"
example cases_v6masq ipv6.nft 'LAN="eth_c"' 'WAN="eth_s"' \
	"PUBLIC6=$ROUTER_S_IP6" "SERVER6=$CLIENT_IP6"
example cases_v6dnat ipv6.nft 'LAN="eth_s"' 'WAN="eth_c"' \
	"PUBLIC6=$ROUTER_C_IP6" "SERVER6=$SERVER_IP6"

# ipt_load WITH: iptables.sh as shipped, or without its CT rules.  The
# iptables here is iptables-nft: "nft flush ruleset" removes its tables.
ipt_load() {
	local script=$EX/iptables.sh

	if [[ ! -r $script ]]; then
		fail "$script is missing"
		return 1
	fi
	if [[ $1 == 0 ]]; then
		sed '/-j CT --helper/d' "$script" >"$FTP_DIR/iptables-nohelper.sh"
		if cmp -s "$script" "$FTP_DIR/iptables-nohelper.sh"; then
			fail "iptables.sh: no CT rule to remove"
			return 1
		fi
		script=$FTP_DIR/iptables-nohelper.sh
	fi
	ip netns exec "$ns_router" nft flush ruleset
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	ip netns exec "$ns_router" env LAN=eth_c WAN=eth_s sh "$script" &&
		add_probe
}

if ! ip netns exec "$ns_router" iptables -t raw -L >/dev/null 2>&1; then
	fail "iptables does not work here"
else
	LIMIT=$LIMIT_WITH
	if ipt_load 1; then
		cases_ipt 1
		# The flush in ipt_load leaves only these cases' connections.
		for fam in ipv4 ipv6; do
			if ip netns exec "$ns_router" conntrack -L -f "$fam" -p tcp \
				--dport 21 2>/dev/null | grep -q helper=ftp-sym; then
				pass "iptables.sh: -j CT --helper ftp-sym attached the helper ($fam)"
			else
				fail "iptables.sh: no $fam control connection with helper=ftp-sym"
			fi
		done
	else
		fail "iptables.sh failed"
	fi
	LIMIT=$LIMIT_WITHOUT
	if ipt_load 0; then
		cases_ipt 0
	else
		fail "iptables.sh without its CT rules failed"
	fi
fi

ksft_exit
