#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_synproxy.sh: SYNPROXY in front of a port-forwarded server.
#
#   client (curl, lftp) ---- router ------------------------------ server
#                            SYNPROXY on :21 (input), DNAT :21 ->  (vsftpd)
#                            server (output), strict filter,
#                            ct helper "ftp-sym" (prerouting, output)
#
# SYNPROXY answers the client's handshake itself, then opens the real
# connection to the server; the server's sequence numbers then differ from
# what the client was told by an offset SYNPROXY gives to seqadj
# (nf_ct_seqadj_init).  A 227 rewritten to the public address changes the
# reply's length on top of that offset: every later server segment must
# still get through with the right sequence numbers.  Passive downloads
# and uploads (PASV and EPSV), several files on one control connection.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"

checktool "nft --version" "run test without nft"
checktool "vsftpd -v" "run test without vsftpd"
checktool "curl --version" "run test without curl"

load_modules
load_dep_modules nft_synproxy nf_synproxy_core ||
	skip_test "no SYNPROXY (nft_synproxy) in this kernel"
setup_topo
ftp_make_root 262144
start_vsftpd "$ns_server" >/dev/null || ksft_exit

# The third ACK of the client's handshake must be INVALID for SYNPROXY.
ip netns exec "$ns_router" sysctl -q -w net.netfilter.nf_conntrack_tcp_loose=0
ip netns exec "$ns_router" nft -f - <<EOF || { fail "SYNPROXY ruleset rejected"; ksft_exit; }
table inet synp {
	counter synproxied { }
	ct helper ftp { type "$NF_FTP_SYM_HELPER" protocol tcp; l3proto inet; }
	chain raw {
		type filter hook prerouting priority raw; policy accept;
		iifname "eth_c" tcp dport 21 tcp flags syn notrack
	}
	chain pre {
		type filter hook prerouting priority -150; policy accept;
		tcp dport 21 ct helper set "ftp"
	}
	chain in {
		type filter hook input priority filter; policy accept;
		tcp dport 21 ct state invalid,untracked counter name synproxied synproxy mss 1460 wscale 7 timestamp sack-perm
		tcp dport 21 ct state invalid drop
	}
	chain out {
		type filter hook output priority -150; policy accept;
		tcp dport 21 ct helper set "ftp"
	}
	chain outnat {
		type nat hook output priority -100; policy accept;
		ip daddr $ROUTER_C_IP4 tcp dport 21 dnat ip to $SERVER_IP4
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		ip daddr $SERVER_IP4 tcp dport 21 ct state new accept
	}
}
EOF

ftp_stat_or() {
	local v

	v=$(ftp_stat "$ns_router" "$1")
	echo "${v:-0}"
}

for mode in pasv epsv; do
	for op in get put; do
		if curl_ftp "$ns_client" "$mode" 4 "$ROUTER_C_IP4" "$op" 30; then
			pass "curl $mode $op through SYNPROXY and DNAT"
		else
			fail "curl $mode $op through SYNPROXY and DNAT"
		fi
	done
done

# Three files on one control connection: each 227 is rewritten (a shorter
# address), on top of SYNPROXY's offset.
out=$FTP_DIR/client/multi
if curl_get "$ns_client" pasv 4 "$ROUTER_C_IP4" "$out" 60 file.bin file.bin file.bin &&
	sha_is "$out.0" "$FTP_FILE_SHA" && sha_is "$out.1" "$FTP_FILE_SHA" &&
	sha_is "$out.2" "$FTP_FILE_SHA"; then
	pass "curl: three PASV downloads on one control connection"
else
	fail "curl: three PASV downloads on one control connection"
fi

if lftp_ftp "$ns_client" pasv 4 "$ROUTER_C_IP4" get 30; then
	pass "lftp pasv get through SYNPROXY and DNAT"
else
	fail "lftp pasv get through SYNPROXY and DNAT"
fi

n=$(ip netns exec "$ns_router" nft list counter inet synp synproxied |
	awk '$1 == "packets" { print $2 }')
rw=$(ftp_stat_or nat_rewrites)
dropped=$(ftp_stat_or dropped)
if [[ ${n:-0} -gt 0 && $rw -gt 0 && $dropped -eq 0 ]]; then
	pass "SYNPROXY answered $n packets, $rw 227/229 lines rewritten, nothing dropped by the helper"
else
	fail "SYNPROXY packets ${n:-0}, nat_rewrites $rw, dropped $dropped"
fi

ksft_exit
