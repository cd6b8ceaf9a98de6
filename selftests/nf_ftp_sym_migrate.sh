#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_migrate.sh: docs/migrating.md and its examples, and the
# OpenWrt (fw4) snippet.
#
#   ns_client ------------- router ------------- ns_server
#   curl; vsftpd (the       LAN=eth_c            vsftpd (the Internet
#   "LAN server")           WAN=eth_s            server); curl
#                           public 198.51.100.254
#
# 1. The diffs in docs/migrating.md are those of the files in
#    examples/migrating/.
# 2. Each ruleset of examples/migrating/, stock ones with the stock helper
#    (nf_conntrack_ftp, nf_nat_ftp): an active download of a masqueraded
#    LAN client (PORT rewritten to the public address, the server's data
#    connection admitted as RELATED), and a passive download from the LAN
#    server forwarded from public port 2121 (its 227 rewritten to the
#    public address: curl --no-ftp-skip-pasv-ip).  The ftp-sym ones check
#    clean with ftp-sym check.
# 3. The helper matches left unchanged fail with ftp-sym: ct state related
#    ct helper "ftp" and -m helper --helper ftp do not admit the data
#    connection; --helper ftp-sym admits the stock helper's data
#    connections too.
# 4. examples/openwrt/ftp-sym.nft included in a "table inet fw4" the way
#    fw4 includes /etc/nftables.d/*.nft, next to a copy of fw4's automatic
#    helper chain attaching the stock helper (priority filter): transfers
#    work with ftp-sym (its rule runs first), ftp-sym check reports
#    stock-helper-overlap; without fw4's helper chain it checks clean.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"

# NF_FTP_SYM_TOOL: another build of the tool (a negative control).
TOOL=${NF_FTP_SYM_TOOL:-$NF_FTP_SYM_REPO/tools/ftp-sym}
EX=$NF_FTP_SYM_REPO/examples
DOC=$NF_FTP_SYM_REPO/docs/migrating.md

checktool "nft --version" "run test without nft"
checktool "conntrack --version" "run test without conntrack"
checktool "curl --version" "run test without curl"
checktool "vsftpd -v" "run test without vsftpd"
checktool "iptables --version" "run test without iptables"
[[ -x $TOOL ]] || skip_test "$TOOL is not built (make -C tools)"

load_modules
setup_topo
ftp_make_root 65536
start_vsftpd "$ns_server" >/dev/null || ksft_exit
start_vsftpd "$ns_client" >/dev/null || ksft_exit
out=$FTP_DIR/migrate
mkdir -p "$out"

# The stock pair, removed at the end unless it was there before.
stock_loaded=()
for m in nf_conntrack_ftp nf_nat_ftp; do
	module_loaded "$m" || stock_loaded+=("$m")
done
# shellcheck disable=SC2317 # called by cleanup
stock_unload() {
	local i

	ip netns exec "$ns_router" nft flush ruleset 2>/dev/null
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	for ((i = ${#stock_loaded[@]} - 1; i >= 0; i--)); do
		rmmod_bounded "${stock_loaded[i]}" 2>/dev/null
	done
}
cleanup_register stock_unload
modprobe nf_nat_ftp || fail "modprobe nf_nat_ftp"

# ------------------------------------------------------------ 1. the diffs

# doc_diff BEFORE AFTER: the ```diff block after the doc's marker.
doc_diff() {
	awk -v m="<!-- diff: examples/migrating/$1 examples/migrating/$2 -->" '
		$0 == m { want = 1; next }
		want && /^```diff$/ { inside = 1; next }
		inside && /^```$/ { exit }
		inside { print }' "$DOC"
}
for pair in "stock.nft ftp-sym.nft" "stock-iptables.sh ftp-sym-iptables.sh"; do
	read -r a b <<<"$pair"
	(cd "$EX/migrating" && diff -u --label "$a" --label "$b" "$a" "$b") >"$out/want.diff"
	doc_diff "$a" "$b" >"$out/doc.diff"
	if [[ -s $out/doc.diff ]] && cmp -s "$out/want.diff" "$out/doc.diff"; then
		pass "docs/migrating.md shows the diff of $a and $b"
	else
		fail "docs/migrating.md: the diff of $a and $b differs from the files"
		diff "$out/want.diff" "$out/doc.diff" | sed 's/^/  /' >&2
	fi
done

# ------------------------------------------------------------ 2., 3.

PUBLIC=$ROUTER_S_IP4

# apply NAME FILE [sed arguments]: a ruleset of examples/migrating/ on
# the router, with this topology's names.
apply() {
	local file=$1

	shift
	ip netns exec "$ns_router" nft flush ruleset
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	case $file in
	*.nft)
		sed -e 's|^define LAN = .*|define LAN = "eth_c"|' \
			-e 's|^define WAN = .*|define WAN = "eth_s"|' \
			-e "s|^define PUBLIC = .*|define PUBLIC = $PUBLIC|" \
			-e "s|^define SERVER = .*|define SERVER = $CLIENT_IP4|" \
			"$@" "$EX/migrating/$file" |
			ip netns exec "$ns_router" nft -f -
		;;
	*.sh)
		sed -e '' "$@" "$EX/migrating/$file" >"$out/$file"
		ip netns exec "$ns_router" env LAN=eth_c WAN=eth_s \
			PUBLIC="$PUBLIC" SERVER="$CLIENT_IP4" sh "$out/$file"
		;;
	esac
}

# masq_active [LIMIT]: the LAN client's active download from the
# Internet server.
masq_active() {
	curl_ftp "$ns_client" port 4 "$SERVER_IP4" get "${1:-15}"
}

# forwarded_passive: a passive download from the LAN server through the
# public port 2121, the 227 used as it arrives.
forwarded_passive() {
	curl_ftp "$ns_server" pasv 4 "$PUBLIC:2121" get 15 --no-ftp-skip-pasv-ip
}

# helper_of: the helpers of the control connections to the public port.
helper_of() {
	ip netns exec "$ns_router" conntrack -L -p tcp --dport 2121 2>/dev/null |
		grep -o 'helper=[^ ]*' | sort -u | tr '\n' ' '
}

# works FILE WHAT [sed arguments]
works() {
	local file=$1 what=$2

	shift 2
	if ! apply "$file" "$@"; then
		fail "$what: $file does not load"
		return 1
	fi
	if masq_active; then
		pass "$what: masqueraded client, active download"
	else
		fail "$what: masqueraded client, active download"
	fi
	if forwarded_passive; then
		pass "$what: forwarded server on 2121, passive download ($(helper_of))"
	else
		fail "$what: forwarded server on 2121, passive download ($(helper_of))"
	fi
}

# check_clean WHAT
check_clean() {
	ip netns exec "$ns_router" "$TOOL" check >"$out/check.txt" 2>&1
	local rc=$?

	if [[ $rc -eq 0 ]]; then
		pass "$1: ftp-sym check: exit 0"
	else
		fail "$1: ftp-sym check: exit $rc"
		sed 's/^/  | /' "$out/check.txt" >&2
	fi
}

works stock.nft "stock.nft (stock helper)"
works ftp-sym.nft "ftp-sym.nft"
check_clean "ftp-sym.nft"
if apply ftp-sym.nft -e 's/ct state related ct helper "ftp-sym"/ct state related ct helper "ftp"/'; then
	if masq_active 5; then
		fail "ftp-sym.nft with ct helper \"ftp\" left: the data connection got through"
	else
		pass "ftp-sym.nft with ct helper \"ftp\" left: the data connection is not admitted"
	fi
else
	fail "ftp-sym.nft with ct helper \"ftp\" does not load"
fi

if ! ip netns exec "$ns_router" iptables -t raw -L >/dev/null 2>&1; then
	fail "iptables does not work here"
else
	works stock-iptables.sh "stock-iptables.sh (stock helper)"
	works ftp-sym-iptables.sh "ftp-sym-iptables.sh"
	check_clean "ftp-sym-iptables.sh"
	if apply ftp-sym-iptables.sh -e 's/-m helper --helper ftp-sym/-m helper --helper ftp/'; then
		if masq_active 5; then
			fail "ftp-sym-iptables.sh with --helper ftp left: the data connection got through"
		else
			pass "ftp-sym-iptables.sh with --helper ftp left: the data connection is not admitted"
		fi
	else
		fail "ftp-sym-iptables.sh with --helper ftp does not load"
	fi
	if apply stock-iptables.sh -e 's/-m helper --helper ftp /-m helper --helper ftp-sym /'; then
		if masq_active; then
			pass "stock-iptables.sh with --helper ftp-sym: the stock helper's data connection is admitted (prefix match)"
		else
			fail "stock-iptables.sh with --helper ftp-sym: the stock helper's data connection is not admitted"
		fi
	else
		fail "stock-iptables.sh with --helper ftp-sym does not load"
	fi
fi

# ------------------------------------------------------------ 4. OpenWrt

# fw4 FW4-HELPER-CHAIN: the snippet inside "table inet fw4" the way fw4
# includes it, with a forward filter and masquerading like fw4's, and
# fw4's automatic helper assignment of the stock helper if asked for.
fw4() {
	local auto=

	[[ $1 == auto ]] && auto="
	ct helper ftp { type \"ftp\" protocol tcp; }
	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		iifname \"eth_c\" jump helper_lan
	}
	chain helper_lan {
		meta l4proto tcp tcp dport 21 ct helper set \"ftp\"
	}"
	ip netns exec "$ns_router" nft flush ruleset
	ip netns exec "$ns_router" conntrack -F >/dev/null 2>&1
	ip netns exec "$ns_router" nft -f - <<EOF
table inet fw4 {
	include "$EX/openwrt/ftp-sym.nft"
	$auto
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state vmap { established : accept, related : accept, invalid : drop }
		iifname "eth_c" oifname "eth_s" accept
	}
	chain srcnat {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth_s" masquerade
	}
}
EOF
}

if fw4 auto; then
	for mode in port pasv; do
		if curl_ftp "$ns_client" "$mode" 4 "$SERVER_IP4" get 15; then
			pass "OpenWrt with fw4's stock helper chain: $mode download"
		else
			fail "OpenWrt with fw4's stock helper chain: $mode download"
		fi
	done
	ip netns exec "$ns_router" "$TOOL" check >"$out/fw4.txt" 2>&1
	rc=$?
	if [[ $rc -eq 5 ]] && grep -q "^error stock-helper-overlap" "$out/fw4.txt"; then
		pass "OpenWrt with fw4's stock helper chain: ftp-sym check reports stock-helper-overlap"
	else
		fail "OpenWrt with fw4's stock helper chain: ftp-sym check exit $rc"
		sed 's/^/  | /' "$out/fw4.txt" >&2
	fi
else
	fail "the OpenWrt snippet does not load inside table inet fw4"
fi
if fw4 plain; then
	for mode in port pasv epsv; do
		fam=4
		host=$SERVER_IP4
		if [[ $mode == epsv ]]; then
			fam=6
			host=$SERVER_IP6
		fi
		if curl_ftp "$ns_client" "$mode" "$fam" "$host" get 15; then
			pass "OpenWrt snippet: $mode download (IPv$fam)"
		else
			fail "OpenWrt snippet: $mode download (IPv$fam)"
		fi
	done
	if ip netns exec "$ns_router" conntrack -L -p tcp --dport 21 2>/dev/null |
		grep -q 'helper=ftp-sym'; then
		pass "OpenWrt snippet: control connections carry helper=ftp-sym"
	else
		fail "OpenWrt snippet: no control connection with helper=ftp-sym"
	fi
	check_clean "OpenWrt snippet"
else
	fail "the OpenWrt snippet does not load inside table inet fw4 (no fw4 helper chain)"
fi

ksft_exit
