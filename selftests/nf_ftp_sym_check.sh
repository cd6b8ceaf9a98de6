#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_check.sh: "ftp-sym check" (tools/, built on the host) tells
# each broken setup apart from the clean ones.
#
#   client (curl, ftp_peer.py) ---- router ---- server (vsftpd :21)
#                                   the ruleset under test
#
# 1. Usage: check with --watch, -4 or --counters, --interval without check
#    or out of range: exit 2.  Run unprivileged: exit 4.
# 2. Clean: every ruleset in examples/ (defines adapted as in
#    nf_ftp_sym_examples.sh, iptables.sh too), with a transfer through it
#    and, for the port-forward one, a live session on the forwarded port
#    2121: exit 0, no error or warning, the control connection counted
#    "with helper".  The examples have no output chain: a note says so,
#    and adding one makes the note go.
# 3. Broken, each with its own finding and exit 5:
#      no-helper-rule          masquerade-client.nft without "ct helper set"
#      helper-after-dnat       port-forward-server.nft, helper chain at 0
#      port-not-covered        port-forward-server.nft, helper on 21 only
#                              (and an iptables DNAT of 2121 likewise)
#      unattached-connections  ... plus a live session on 2121
#      nat-helper-not-loaded   masquerade-client.nft, nf_nat_ftp_sym removed
#      stock-helper-overlap    plus a stock "ftp" helper on port 21
#      helper-not-loaded       both modules removed
#      expect-table-near-full  nf_conntrack_expect_max 1, one held PASV
#      reject-low-port         a real PORT to port 1000 (and --interval
#                              ignores it once it is old)
#      reject-*, nat-failed, expect-failed, reject-other
#                              a counters file (FTP_SYM_PROC_COUNTERS)
#      stock-auto-assign       nf_conntrack_helper=1 (FTP_SYM_PROC_SYSCTL;
#                              6.1 and later have no such sysctl)
#    The fix of reject-low-port names the per-netns sysctl
#    nf_ftp_sym_allow_low_ports where the module has one, else the module
#    parameter (FTP_SYM_PROC_SYSCTL pointed at a directory with and
#    without it shows both), and the settings say which.
#    The text form names the finding and its fix.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

# NF_FTP_SYM_TOOL: another build of the tool (a negative control).
TOOL=${NF_FTP_SYM_TOOL:-$NF_FTP_SYM_REPO/tools/ftp-sym}
EX=$NF_FTP_SYM_REPO/examples
PY=/usr/bin/python3

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "curl --version" "run test without curl"
checktool "vsftpd -v" "run test without vsftpd"
checktool "$PY --version" "run test without python3"
checktool "setpriv --version" "run test without setpriv"
[[ -x $TOOL ]] || skip_test "$TOOL is not built (make -C tools)"

load_modules
setup_topo
ftp_make_root 65536
start_vsftpd "$ns_server" >/dev/null || ksft_exit
out=$FTP_DIR/check
mkdir -p "$out"

# run_check NAME [VAR=VALUE...] [-- CHECK-ARGS...]: "ftp-sym check --json"
# in the router with the environment given; CHECK_RC is its exit status,
# CHECK_IDS its findings as "severity:id" words.
CHECK_RC=0
CHECK_IDS=
run_check() {
	local name=$1
	local -a envs=() args=()

	shift
	while [[ $# -gt 0 && $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	args=("$@")
	ip netns exec "$ns_router" env "${envs[@]}" "$TOOL" check --json \
		"${args[@]}" >"$out/$name.json" 2>"$out/$name.err"
	CHECK_RC=$?
	CHECK_IDS=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%s" % (x["severity"], x["id"]) for x in d["diagnoses"]))
' "$out/$name.json" 2>>"$out/$name.err")
}

# show NAME: the findings of a failed case, on stderr.
show() {
	echo "  exit $CHECK_RC, findings: ${CHECK_IDS:-none}" >&2
	sed 's/^/  /' "$out/$1.err" >&2
	ip netns exec "$ns_router" "$TOOL" check 2>&1 | sed 's/^/  | /' >&2
}

# expect_clean NAME WHAT: exit 0, no error or warning.
expect_clean() {
	if [[ $CHECK_RC -eq 0 && " $CHECK_IDS" != *" error:"* &&
		" $CHECK_IDS" != *" warning:"* && -n $(<"$out/$1.json") ]]; then
		pass "clean: $2: exit 0, no error or warning"
	else
		fail "clean: $2: want exit 0 and no error or warning"
		show "$1"
	fi
}

# expect_finding NAME WHAT SEVERITY:ID...: exit 5 and each finding.
expect_finding() {
	local name=$1 what=$2 want missing=

	shift 2
	for want in "$@"; do
		[[ " $CHECK_IDS " == *" $want "* ]] || missing+=" $want"
	done
	if [[ $CHECK_RC -eq 5 && -z $missing ]]; then
		pass "broken: $what: exit 5, $*"
	else
		fail "broken: $what: want exit 5 and$missing"
		show "$name"
	fi
}

# json_get NAME EXPR: a Python expression over the JSON document d.
json_get() {
	"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$out/$1.json" "$2"
}

# load_example FILE [sed arguments]: the example on the router with this
# topology's defines, edited by the sed arguments.
load_example() {
	local file=$1

	shift
	ip netns exec "$ns_router" nft flush ruleset
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	sed -e "s|^define LAN = .*|define LAN = \"${LAN:-eth_c}\"|" \
		-e "s|^define WAN = .*|define WAN = \"${WAN:-eth_s}\"|" \
		-e "s|^define PUBLIC = .*|define PUBLIC = $ROUTER_C_IP4|" \
		-e "s|^define SERVER = .*|define SERVER = $SERVER_IP4|" \
		-e "s|^define PUBLIC6 = .*|define PUBLIC6 = $ROUTER_C_IP6|" \
		-e "s|^define SERVER6 = .*|define SERVER6 = $SERVER_IP6|" \
		"$@" "$EX/$file" | ip netns exec "$ns_router" nft -f -
}

# transfer WHAT CURL-ARGS...: one download through the ruleset.
transfer() {
	local what=$1

	shift
	if curl_ftp "$ns_client" "$@"; then
		pass "$what: transfer"
	else
		fail "$what: transfer"
	fi
}

# ------------------------------------------------------------ 1. usage

for args in "check --watch" "check -4" "check --counters" "--interval 3" \
	"check --interval 0" "check --interval x" "check extra"; do
	# shellcheck disable=SC2086 # $args: words
	ip netns exec "$ns_router" "$TOOL" $args >/dev/null 2>"$out/usage.err"
	rc=$?
	if [[ $rc -eq 2 ]]; then
		pass "usage: ftp-sym $args: exit 2"
	else
		fail "usage: ftp-sym $args: exit $rc, want 2: $(<"$out/usage.err")"
	fi
done
install -m 0755 "$TOOL" "$FTP_DIR/ftp-sym"
ip netns exec "$ns_router" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$FTP_DIR/ftp-sym" check >/dev/null 2>"$out/perm.err"
rc=$?
if [[ $rc -eq 4 ]] && grep -q "CAP_NET_ADMIN" "$out/perm.err"; then
	pass "unprivileged check: exit 4, CAP_NET_ADMIN message"
else
	fail "unprivileged check: exit $rc, want 4: $(<"$out/perm.err")"
fi

# ------------------------------------------------------------ 2. clean

if load_example masquerade-client.nft; then
	transfer "masquerade-client.nft" port 4 "$SERVER_IP4" get
	run_check masq
	expect_clean masq "masquerade-client.nft"
	if [[ " $CHECK_IDS " == *" note:no-output-chain "* ]]; then
		pass "clean: masquerade-client.nft: the note says there is no output chain"
	else
		fail "clean: masquerade-client.nft: no no-output-chain note"
		show masq
	fi
else
	fail "masquerade-client.nft does not load"
fi
ip netns exec "$ns_router" nft -f - <<EOF
table inet ftp_local {
	ct helper ftp { type "$NF_FTP_SYM_HELPER" protocol tcp; l3proto inet; }
	chain out {
		type filter hook output priority -150; policy accept;
		tcp dport 21 ct helper set "ftp"
	}
}
EOF
run_check masq-out
expect_clean masq-out "masquerade-client.nft plus an output chain"
if [[ " $CHECK_IDS " != *" no-output-chain "* ]]; then
	pass "clean: with an output chain, no no-output-chain note"
else
	fail "clean: the no-output-chain note stays with an output chain"
fi

if WAN=eth_c load_example port-forward-server.nft; then
	transfer "port-forward-server.nft" pasv 4 "$ROUTER_C_IP4" get 20 \
		--no-ftp-skip-pasv-ip
	if peer_start live "$ns_client" "$ROUTER_C_IP4" --port 2121; then
		run_check pf
		expect_clean pf "port-forward-server.nft, a live session on 2121"
		n=$(json_get pf 'd["connections"]["with_helper"]')
		if [[ $n -ge 1 && $(json_get pf 'd["connections"]["without_helper"]') == 0 ]]; then
			pass "clean: port-forward-server.nft: the live session counted with the helper"
		else
			fail "clean: port-forward-server.nft: live session not counted: $n"
		fi
		if [[ $(json_get pf '[2121, 2121] in d["control_ports"] and [21, 21] in d["control_ports"]') == True ]]; then
			pass "clean: port-forward-server.nft: control ports 21 and 2121"
		else
			fail "clean: control ports: $(json_get pf 'd["control_ports"]')"
		fi
		peer_stop live
	else
		fail "no login through port-forward-server.nft on 2121: $PEER_LINE"
	fi
else
	fail "port-forward-server.nft does not load"
fi

if LAN=eth_s WAN=eth_c load_example ipv6.nft; then
	transfer "ipv6.nft" epsv 6 "$ROUTER_C_IP6" get
	run_check v6
	expect_clean v6 "ipv6.nft"
else
	fail "ipv6.nft does not load"
fi

ip netns exec "$ns_router" nft flush ruleset
if ! ip netns exec "$ns_router" iptables -t raw -L >/dev/null 2>&1; then
	skip "iptables does not work here"
elif ip netns exec "$ns_router" env LAN=eth_c WAN=eth_s sh "$EX/iptables.sh"; then
	transfer "iptables.sh" pasv 4 "$SERVER_IP4" get
	run_check ipt
	expect_clean ipt "iptables.sh"
	if [[ $(json_get ipt 'sorted(r["source"] for r in d["rules"] if r["kind"] == "helper")') == "['ip6tables', 'iptables']" ]]; then
		pass "clean: iptables.sh: both CT rules read from iptables-save and ip6tables-save"
	else
		fail "clean: iptables.sh rules: $(json_get ipt 'd["rules"]')"
	fi
	# The forwarded port the CT rule does not name.
	ip netns exec "$ns_router" iptables -t nat -A PREROUTING -i eth_s -p tcp \
		--dport 2121 -j DNAT --to-destination "$CLIENT_IP4:21"
	run_check ipt-dnat
	expect_finding ipt-dnat "iptables DNAT of 2121, CT --helper on 21" \
		error:port-not-covered
else
	fail "iptables.sh failed"
fi

# ------------------------------------------------------------ 3. broken

if load_example masquerade-client.nft -e '/ct helper set/d'; then
	run_check nohelper
	expect_finding nohelper "no rule attaches the helper" error:no-helper-rule
else
	fail "masquerade-client.nft without the helper rule does not load"
fi

if WAN=eth_c load_example port-forward-server.nft \
	-e 's/type filter hook prerouting priority -150/type filter hook prerouting priority 0/'; then
	run_check after
	expect_finding after "helper attached after DNAT" error:helper-after-dnat
else
	fail "port-forward-server.nft at priority 0 does not load"
fi

if WAN=eth_c load_example port-forward-server.nft \
	-e 's/tcp dport { 21, 2121 } ct helper set/tcp dport 21 ct helper set/'; then
	run_check port
	expect_finding port "DNAT of 2121, helper on 21 only" error:port-not-covered
	if peer_start miss "$ns_client" "$ROUTER_C_IP4" --port 2121; then
		run_check live
		expect_finding live "a live session on 2121 without the helper" \
			error:port-not-covered error:unattached-connections
		if [[ $(json_get live 'any(":2121 (no helper)" in w for x in d["diagnoses"] for w in x["where"])') == True ]]; then
			pass "broken: the connection without the helper is named"
		else
			fail "broken: the connection without the helper is not named"
			show live
		fi
		ip netns exec "$ns_router" "$TOOL" check >"$out/live.txt" 2>&1
		if grep -q "^error unattached-connections" "$out/live.txt" &&
			grep -q "^error port-not-covered" "$out/live.txt" &&
			grep -q "^  fix: add 2121 to the ports" "$out/live.txt"; then
			pass "text: the findings with their fixes"
		else
			fail "text: findings or fixes missing"
			sed 's/^/  | /' "$out/live.txt" >&2
		fi
		peer_stop miss
	else
		fail "no login through port-forward-server.nft on 2121: $PEER_LINE"
	fi
else
	fail "port-forward-server.nft on port 21 only does not load"
fi

# The NAT half removed, then put back.
# shellcheck disable=SC2317 # called by cleanup
nat_back() {
	module_loaded nf_nat_ftp_sym || insmod_ko nf_nat_ftp_sym
}
if load_example masquerade-client.nft; then
	cleanup_register nat_back
	if rmmod_bounded nf_nat_ftp_sym; then
		run_check nonat
		expect_finding nonat "nf_nat_ftp_sym not loaded" error:nat-helper-not-loaded
	else
		fail "cannot remove nf_nat_ftp_sym"
	fi
	nat_back || fail "cannot load nf_nat_ftp_sym again"
fi

# The stock helper on the same port.
stock_was=0
module_loaded nf_conntrack_ftp && stock_was=1
# shellcheck disable=SC2317 # called by cleanup
stock_away() {
	ip netns exec "$ns_router" nft delete table inet stock 2>/dev/null
	[[ $stock_was -eq 1 ]] || rmmod_bounded nf_conntrack_ftp
}
cleanup_register stock_away
if ip netns exec "$ns_router" nft -f - <<EOF; then
table inet stock {
	ct helper sftp { type "ftp" protocol tcp; l3proto inet; }
	chain pre {
		type filter hook prerouting priority -200; policy accept;
		tcp dport 21 ct helper set "sftp"
	}
}
EOF
	run_check stock
	expect_finding stock "stock helper and ftp-sym on port 21" error:stock-helper-overlap
	stock_away
else
	fail "the stock helper cannot be attached (nf_conntrack_ftp)"
fi

# The expectation table: at most 1, and one held.
expect_max=$(sysctl -n net.netfilter.nf_conntrack_expect_max)
# shellcheck disable=SC2317 # called by cleanup
expect_max_back() {
	sysctl -q -w net.netfilter.nf_conntrack_expect_max="$expect_max"
}
cleanup_register expect_max_back
if peer_start held "$ns_client" "$SERVER_IP4"; then
	sysctl -q -w net.netfilter.nf_conntrack_expect_max=1
	if peer_do held xfer --hold --mode pasv --retr file.bin; then
		run_check full
		expect_finding full "one expectation of at most 1" \
			warning:expect-table-near-full
		peer_do held go || fail "the held transfer: $PEER_LINE"
	else
		fail "held PASV: $PEER_LINE"
	fi
	expect_max_back
	# A PORT to port 1000: refused, counted, reported.
	peer_do held cmd "PORT ${CLIENT_IP4//./,},3,232"
	run_check lowport
	expect_finding lowport "a PORT to port 1000" warning:reject-low-port
	run_check interval -- --interval 1
	if [[ $CHECK_RC -eq 0 && " $CHECK_IDS " != *"reject-low-port"* ]]; then
		pass "--interval: an old reject_low_port count is not reported"
	else
		fail "--interval: want exit 0 without reject-low-port"
		show interval
	fi
	peer_stop held
else
	fail "no login to vsftpd: $PEER_LINE"
fi

# Counters and a sysctl from files: every counter finding.
cat >"$out/counters" <<EOF
packets 10
lines 10
reject_bounce 1
reject_low_port 2
reject_unsolicited 3
reject_direction 4
reject_family 5
reject_future 6
nat_failed 7
expect_failed 8
reject_zero 0
EOF
run_check counters "FTP_SYM_PROC_COUNTERS=$out/counters"
expect_finding counters "counters from a file" warning:reject-bounce \
	warning:reject-low-port warning:reject-unsolicited \
	warning:reject-direction warning:reject-family warning:reject-other \
	warning:nat-failed warning:expect-failed
if [[ $(json_get counters 'sum(1 for x in d["diagnoses"] if x["id"] == "reject-other")') == 1 ]]; then
	pass "broken: a zero reject_ counter is not reported"
else
	fail "broken: reject-other: $(json_get counters '[x["message"] for x in d["diagnoses"]]')"
fi
fix_of='[x["fix"] for x in d["diagnoses"] if x["id"] == "reject-low-port"][0]'
# The settings where they apply: the namespace's own sysctl when the
# module has one (net.netfilter.nf_ftp_sym_allow_low_ports), else the
# module parameter (a sysctl directory without it stands in for such a
# module); a file stands in for a sysctl the module lacks.
if ip netns exec "$ns_router" test -e /proc/sys/net/netfilter/nf_ftp_sym_allow_low_ports; then
	real_fix="sysctl -w net.netfilter.nf_ftp_sym_allow_low_ports=1"
	real_setting="{'value': 0, 'source': 'netns'}"
else
	real_fix="allow_low_ports=Y (module parameter"
	real_setting="{'value': False, 'source': 'module'}"
fi
mkdir -p "$out/sysctl-none" "$out/sysctl-netns"
echo 1 >"$out/sysctl-netns/nf_ftp_sym_allow_low_ports"
run_check nosysctl "FTP_SYM_PROC_COUNTERS=$out/counters" \
	"FTP_SYM_PROC_SYSCTL=$out/sysctl-none/"
run_check netns "FTP_SYM_PROC_COUNTERS=$out/counters" \
	"FTP_SYM_PROC_SYSCTL=$out/sysctl-netns/"
for c in "counters|$real_fix|$real_setting|this namespace's settings" \
	"nosysctl|allow_low_ports=Y (module parameter|{'value': False, 'source': 'module'}|no sysctl: the module parameter" \
	"netns|sysctl -w net.netfilter.nf_ftp_sym_allow_low_ports=1|{'value': 1, 'source': 'netns'}|a per-netns sysctl"; do
	IFS='|' read -r name want_fix want_setting what <<<"$c"
	got_fix=$(json_get "$name" "$fix_of")
	got_setting=$(json_get "$name" 'd["settings"]["allow_low_ports"]')
	if [[ $got_fix == *"$want_fix"* && $got_setting == "$want_setting" ]]; then
		pass "settings, $what: allow_low_ports $want_setting, named in reject-low-port's fix"
	else
		fail "settings, $what: allow_low_ports $got_setting, fix: $got_fix"
	fi
done
mkdir -p "$out/sysctl"
echo 1 >"$out/sysctl/nf_conntrack_helper"
run_check autoassign "FTP_SYM_PROC_SYSCTL=$out/sysctl/"
expect_finding autoassign "nf_conntrack_helper=1" warning:stock-auto-assign

# Both modules removed.
ip netns exec "$ns_router" nft flush ruleset
ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
if unload_modules; then
	run_check nomod
	expect_finding nomod "no nf_conntrack_ftp_sym" error:helper-not-loaded \
		error:no-helper-rule
else
	fail "cannot remove the modules"
fi
try_load_modules || fail "cannot load the modules again"

ksft_exit
