#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_basic.sh: active and passive FTP through a strict firewall,
# no NAT, with the ftp-sym helper attached by an nft ct helper object.
#
#   client ---- router ---- server (vsftpd)
#               forward policy drop; established,related accepted;
#               new connections only to port 21; ct helper "ftp-sym"
#
# PORT, EPRT, PASV and EPSV over IPv4 and IPv6, downloads and uploads with
# curl and lftp, checksums compared.  Negative control: with the helper
# detached every one of these modes fails because the filter refuses its
# data connection, so the helper is what opens the data connections (the
# expectations are checked in conntrack too).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "curl --version" "run test without curl"
checktool "lftp --version" "run test without lftp"
checktool "vsftpd -v" "run test without vsftpd"

load_modules
setup_topo
ftp_make_root 262144
start_vsftpd "$ns_server" >/dev/null || ksft_exit

modes=(port eprt pasv epsv)

# Negative control first: no helper, every mode must fail, and because the
# data connection was refused (the router's filter refuses new connections
# with a reset and counts them here), not by a timeout.
router_filter "$ns_router" "" 21 reject || ksft_exit
for fam in 4 6; do
	[[ $fam == 4 ]] && srv=$SERVER_IP4 || srv=$SERVER_IP6
	for mode in "${modes[@]}"; do
		if curl_refused "$ns_client" "$ns_router" "$mode" "$fam" "$srv"; then
			pass "IPv$fam $mode fails without the helper: $NEG_WHY"
		else
			fail "IPv$fam $mode without the helper: not refused: $NEG_WHY"
		fi
	done
done

ip netns exec "$ns_router" nft flush ruleset
router_filter "$ns_router" ftp-sym || ksft_exit

for fam in 4 6; do
	[[ $fam == 4 ]] && srv=$SERVER_IP4 || srv=$SERVER_IP6
	for mode in "${modes[@]}"; do
		for op in get put; do
			if curl_ftp "$ns_client" "$mode" "$fam" "$srv" "$op"; then
				pass "curl IPv$fam $mode $op"
			else
				fail "curl IPv$fam $mode $op"
			fi
		done
	done
	# lftp speaks EPRT only over IPv6, PORT only over IPv4.
	for mode in port pasv epsv; do
		for op in get put; do
			if lftp_ftp "$ns_client" "$mode" "$fam" "$srv" "$op"; then
				pass "lftp IPv$fam $mode $op"
			else
				fail "lftp IPv$fam $mode $op"
			fi
		done
	done
done

# One expectation per transfer: 16 with curl, 12 with lftp.
created=$(ftp_stat "$ns_router" expect_created)
if [[ ${created:-0} -ge 28 ]]; then
	pass "counters: $created expectations created"
else
	fail "counters: only ${created:-0} expectations created"
	ftp_stats "$ns_router" >&2
fi

# The helper is really on the control connections.
if ip netns exec "$ns_router" conntrack -L -p tcp --dport 21 2>/dev/null |
	grep -q "helper=ftp-sym"; then
	pass "control connections carry helper=ftp-sym"
else
	fail "no conntrack entry with helper=ftp-sym"
fi

ksft_exit
