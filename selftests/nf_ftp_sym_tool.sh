#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# nf_ftp_sym_tool.sh: tools/ftp-sym (built on the host, "make -C tools")
# against live sessions through a masquerading router with the helper.
#
#   client ---- router ---- server (vsftpd, anon_max_rate)
#               forward policy drop; established,related accepted;
#               new connections only to port 21; ct helper "ftp-sym";
#               masquerade out of eth_s (IPv4 and IPv6)
#
# 1. Errors: unknown option (2), --watch with --counters (2), the counters
#    file missing (3, FTP_SYM_PROC_COUNTERS pointed elsewhere), run as an
#    unprivileged user (4 and "need CAP_NET_ADMIN"; --counters still works).
# 2. Two held sessions (ftp_peer.py, PASV over IPv4, EPSV over IPv6, the
#    transfer held after the 227/229, conntrack timestamps off): --json
#    lists both control connections with helper ftp-sym, the right tuples
#    and the masquerade address, each with its one expectation (the held
#    port), no data connection, keepalive "no", age null; -4/-6 select one;
#    the counters equal /proc/net/nf_ftp_sym (read before and after), the
#    parameters /sys/module/nf_conntrack_ftp_sym/parameters; the table
#    names both sessions.  After "go" the expectations are gone.
# 3. A rate-limited curl download (PASV, timestamps and accounting on),
#    with two watchers started before it (--watch --json and --watch):
#    during the transfer --json shows the data connection ESTABLISHED,
#    translated, with bytes, keepalive "holding" and keepalive_active > 0;
#    the table says "holding".  The watchers, stopped with SIGINT and
#    SIGTERM, exit 0 and printed NEW events for the control connection, its
#    expectation and its data connection, and the expectation's DESTROY.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=ftp_lib.sh
source "$(dirname "$0")/ftp_lib.sh"
# shellcheck source-path=SCRIPTDIR source=peer_lib.sh
source "$(dirname "$0")/peer_lib.sh"

TOOL=$NF_FTP_SYM_REPO/tools/ftp-sym
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
KA_PARAM=/sys/module/nf_conntrack_ftp_sym/parameters/keepalive_interval

checktool "nft --version" "run test without nft"
checktool "curl --version" "run test without curl"
checktool "vsftpd -v" "run test without vsftpd"
checktool "$PY --version" "run test without python3"
checktool "setpriv --version" "run test without setpriv"
[[ -x $TOOL ]] || skip_test "$TOOL is not built (make -C tools)"

load_modules
setup_topo
ftp_make_root 262144
head -c 4096 /dev/urandom >"$FTP_DIR/root/small.bin"
# 256 KiB at 12 KB/s: a transfer of about 20 s.
start_vsftpd "$ns_server" anon_max_rate=12288 >/dev/null || ksft_exit
router_filter "$ns_router" ftp-sym || ksft_exit
ip netns exec "$ns_router" nft -f - <<EOF || fail "masquerade rejected"
table inet ftpsym_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth_s" masquerade
	}
}
EOF

# "holding" needs the keep-alive on; another test may have turned it off.
# shellcheck disable=SC2317 # called by cleanup
ka_restore() {
	echo 0 >"$KA_PARAM"
}
if [[ $(<"$KA_PARAM") == 0 ]]; then
	echo 5 >"$KA_PARAM"
	cleanup_register ka_restore
fi

out=$FTP_DIR/tool
mkdir -p "$out"

# tool ARGS...: the tool in the router's namespace.
tool() {
	ip netns exec "$ns_router" "$TOOL" "$@"
}

# pycheck FILE... <<'PY' ... PY: run the python code on stdin with
# J = the JSON documents in FILE... (a list, or one JSON object per line
# for "*.jsonl"), E = the environment; check(cond, msg) reports a PASS or
# FAIL line per check.  A file that is missing or not JSON, an exception,
# a non-zero exit of python or a block that checked nothing is a FAIL.
# Returns 1 on any failure.
pycheck() {
	local line code rc nres=0 nfail=0 res=$out/pycheck.$RANDOM

	code=$(cat)
	"$PY" -c '
import json, os, sys
E = os.environ
J = []
failed = False
def check(cond, msg, detail=None):
    global failed
    if cond:
        print("PASS: " + msg)
    else:
        failed = True
        print("FAIL: " + msg + ("" if detail is None else ": %r" % (detail,)))
    sys.stdout.flush()
    return cond
def session(doc, src, dport=21):
    return [s for s in doc["sessions"]
            if s["original"]["src"] == src and s["original"]["dport"] == dport]
try:
    for f in sys.argv[1:]:
        with open(f) as fh:
            if f.endswith(".jsonl"):
                J.append([json.loads(l) for l in fh if l.strip()])
            else:
                J.append(json.load(fh))
    exec(sys.stdin.read())
except Exception as e:
    print("FAIL: python check raised %s: %s" % (type(e).__name__, e))
    sys.exit(1)
sys.exit(1 if failed else 0)
' "$@" <<<"$code" >"$res" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS: "*) pass "${line#PASS: }"; nres=$((nres + 1)) ;;
		"FAIL: "*) fail "${line#FAIL: }"; nres=$((nres + 1)); nfail=$((nfail + 1)) ;;
		*) echo "$line" ;;
		esac
	done <"$res"
	if [[ $rc -ne 0 && $nfail -eq 0 ]]; then
		fail "python check of $* exited $rc without a FAIL line"
		nfail=1
	elif [[ $nres -eq 0 ]]; then
		fail "python check of $* checked nothing"
		nfail=1
	fi
	[[ $nfail -eq 0 ]]
}

# check_rc RC WANT WHAT [STDERR-FILE]
check_rc() {
	if [[ $1 -eq $2 ]]; then
		pass "$3: exit $2"
	else
		fail "$3: exit $1, want $2${4:+: $(<"$4")}"
	fi
}

# ------------------------------------------------------------ 1. errors

tool --bogus >/dev/null 2>"$out/usage.err"
rc=$?
if [[ $rc -eq 2 ]] && grep -q "^usage: ftp-sym" "$out/usage.err"; then
	pass "unknown option: exit 2 and usage"
else
	fail "unknown option: exit $rc, want 2 and usage"
fi
tool --watch --counters >/dev/null 2>&1
check_rc $? 2 "--watch --counters"

FTP_SYM_PROC_COUNTERS=$FTP_DIR/missing/nf_ftp_sym tool --json \
	>"$out/nomod.out" 2>"$out/nomod.err"
rc=$?
if [[ $rc -eq 3 && ! -s $out/nomod.out ]] &&
	grep -q "^ftp-sym: nf_conntrack_ftp_sym is not loaded in this network namespace" \
		"$out/nomod.err"; then
	pass "no counters file: exit 3, 'not loaded' message"
else
	fail "no counters file: exit $rc, want 3: $(<"$out/nomod.err")"
fi

# The repository may not be reachable for nobody: a copy in FTP_DIR (755).
install -m 0755 "$TOOL" "$FTP_DIR/ftp-sym"
for args in "" "--json" "--watch"; do
	# shellcheck disable=SC2086 # $args: zero or one word
	ip netns exec "$ns_router" timeout "$(scaled_s 10)" setpriv \
		--reuid=65534 --regid=65534 --clear-groups \
		"$FTP_DIR/ftp-sym" $args >"$out/perm.out" 2>"$out/perm.err"
	rc=$?
	if [[ $rc -eq 4 ]] &&
		grep -qx "ftp-sym: need CAP_NET_ADMIN (run as root)" "$out/perm.err"; then
		pass "unprivileged ${args:-table}: exit 4, CAP_NET_ADMIN message"
	else
		fail "unprivileged ${args:-table}: exit $rc, want 4: $(<"$out/perm.err")"
	fi
done
ip netns exec "$ns_router" setpriv --reuid=65534 --regid=65534 \
	--clear-groups "$FTP_DIR/ftp-sym" --counters >"$out/perm.out" 2>&1
rc=$?
if [[ $rc -eq 0 ]] && grep -q "^COUNTERS" "$out/perm.out"; then
	pass "unprivileged --counters: exit 0 (the counters are world-readable)"
else
	fail "unprivileged --counters: exit $rc: $(<"$out/perm.out")"
fi

# ------------------------------------------------------------ 2. held sessions

ip netns exec "$ns_router" sysctl -q -w net.netfilter.nf_conntrack_timestamp=0 \
	net.netfilter.nf_conntrack_acct=0
held=()
if peer_start h4 "$ns_client" "$SERVER_IP4"; then
	CPORT4=$(peer_port)
	if peer_do h4 xfer --hold --mode pasv --retr small.bin; then
		HPORT4=$(peer_port)
		held+=(h4)
	else
		fail "IPv4 PASV held transfer: $PEER_LINE"
		peer_log h4
	fi
else
	fail "cannot log in to vsftpd over IPv4: $PEER_LINE"
fi
if peer_start h6 "$ns_client" "$SERVER_IP6"; then
	CPORT6=$(peer_port)
	if peer_do h6 xfer --hold --mode epsv --retr small.bin; then
		HPORT6=$(peer_port)
		held+=(h6)
	else
		fail "IPv6 EPSV held transfer: $PEER_LINE"
		peer_log h6
	fi
else
	fail "cannot log in to vsftpd over IPv6: $PEER_LINE"
fi

if [[ ${#held[@]} -eq 2 ]]; then
	ip netns exec "$ns_router" cat /proc/net/nf_ftp_sym >"$out/proc.before"
	tool --json >"$out/held.json" 2>"$out/held.err"
	rc=$?
	ip netns exec "$ns_router" cat /proc/net/nf_ftp_sym >"$out/proc.after"
	check_rc "$rc" 0 "--json during held sessions" "$out/held.err"
	tool -4 --json >"$out/held4.json" 2>"$out/held4.err"
	check_rc $? 0 "-4 --json during held sessions" "$out/held4.err"
	tool -6 --json >"$out/held6.json" 2>"$out/held6.err"
	check_rc $? 0 "-6 --json during held sessions" "$out/held6.err"
	tool >"$out/held.txt" 2>&1
	check_rc $? 0 "table during held sessions" "$out/held.txt"

	export CLIENT_IP4 SERVER_IP4 ROUTER_S_IP4 CLIENT_IP6 SERVER_IP6 \
		ROUTER_S_IP6 CPORT4 HPORT4 CPORT6 HPORT6 OUT=$out
	pycheck "$out/held.json" "$out/held4.json" "$out/held6.json" <<'PY'
d, d4, d6 = J
check(d["tool"] == "ftp-sym" and d["schema"] == 1 and d["family"] == "all",
      "json header: tool, schema 1, family all", {k: d.get(k) for k in ("tool", "schema", "family")})
for fam, cip, sip, rip, cport, hport in (
        ("ipv4", E["CLIENT_IP4"], E["SERVER_IP4"], E["ROUTER_S_IP4"], E["CPORT4"], E["HPORT4"]),
        ("ipv6", E["CLIENT_IP6"], E["SERVER_IP6"], E["ROUTER_S_IP6"], E["CPORT6"], E["HPORT6"])):
    ss = session(d, cip)
    if not check(len(ss) == 1, "%s: one control connection from %s to port 21" % (fam, cip),
                 [s["original"] for s in d["sessions"]]):
        continue
    s = ss[0]
    o, r = s["original"], s["reply"]
    check(s["helper"] == "ftp-sym" and s["family"] == fam, "%s: helper ftp-sym, family" % fam,
          (s["helper"], s["family"]))
    check(o == {"src": cip, "sport": int(cport), "dst": sip, "dport": 21},
          "%s: original tuple is the client's control connection" % fam, o)
    check(r["src"] == sip and r["sport"] == 21 and r["dst"] == rip,
          "%s: reply tuple goes to the masquerade address %s" % (fam, rip), r)
    check(s["nat"]["snat"] is not None and s["nat"]["snat"]["addr"] == rip and
          s["nat"]["dnat"] is None and "SRC_NAT" in s["status"],
          "%s: SNAT to %s reported, no DNAT" % (fam, rip), (s["nat"], s["status"]))
    check(s["tcp_state"] == "ESTABLISHED" and isinstance(s["timeout"], int) and s["timeout"] > 0,
          "%s: ESTABLISHED with a remaining timeout" % fam, (s["tcp_state"], s["timeout"]))
    check(s["age"] is None and s["acct"] is None,
          "%s: age unknown (null) and no bytes with timestamps and accounting off" % fam,
          (s["age"], s["acct"]))
    ex = s["expectations"]
    if check(len(ex) == 1, "%s: one outstanding expectation" % fam, ex):
        e = ex[0]["expected"]
        check(e["dst"] == sip and e["dport"] == int(hport) and e["src"] == cip and
              e["sport"] is None,
              "%s: expectation %s:* -> %s:%s (the held port)" % (fam, cip, sip, hport), e)
        check(ex[0]["helper"] == "ftp-sym" and
              0 < ex[0]["timeout"] <= d["params"]["expect_timeout"],
              "%s: expectation helper ftp-sym, timeout within expect_timeout" % fam, ex[0])
    check(s["data"] == [] and s["keepalive"] == "no",
          "%s: no data connection yet, keepalive no" % fam, (s["data"], s["keepalive"]))
check([x["family"] for x in d4["sessions"]] == ["ipv4"] and
      [x["family"] for x in d6["sessions"]] == ["ipv6"] and
      d4["family"] == "ipv4" and d6["family"] == "ipv6",
      "-4 and -6 select one family each",
      ([x["family"] for x in d4["sessions"]], [x["family"] for x in d6["sessions"]]))

def proc(name):
    with open(os.path.join(E["OUT"], name)) as fh:
        return [l.split(" ", 1) for l in fh.read().splitlines()]
before, after = proc("proc.before"), proc("proc.after")
c = d["counters"]
check(list(c) == [k for k, _ in before] == [k for k, _ in after],
      "counters: the same names in the same order as /proc/net/nf_ftp_sym",
      (list(c), [k for k, _ in before]))
bad = [k for (k, b), (_, a) in zip(before, after) if not k.endswith("_active")
       and not int(b) <= c.get(k, -1) <= int(a)]
check(not bad, "counters: each value between two reads of the file around it",
      [(k, dict(before)[k], c.get(k), dict(after)[k]) for k in bad])
check(c.get("expect_created", 0) >= 2 and c.get("pasv_227", 0) >= 1 and
      c.get("epsv_229", 0) >= 1,
      "counters: expect_created, pasv_227, epsv_229 count the held sessions", c)
pdir = "/sys/module/nf_conntrack_ftp_sym/parameters"
want = {}
for n in sorted(os.listdir(pdir)):
    v = open(os.path.join(pdir, n)).read().strip()
    want[n] = int(v) if v.isdigit() else {"Y": True, "N": False}.get(v, v)
check(d["params"] == want and list(d["params"]) == sorted(want),
      "params: equal to /sys/module/nf_conntrack_ftp_sym/parameters", (d["params"], want))
PY

	t4="$CLIENT_IP4:$CPORT4 -> $SERVER_IP4:21"
	t6="[$CLIENT_IP6]:$CPORT6 -> [$SERVER_IP6]:21"
	if grep -qF -- "$t4" "$out/held.txt" && grep -qF -- "$t6" "$out/held.txt" &&
		grep -qE "^  expect +ipv4 +$CLIENT_IP4:\* -> $SERVER_IP4:$HPORT4 " \
			"$out/held.txt" &&
		grep -qE "^control .*unknown" "$out/held.txt" &&
		grep -q "^COUNTERS" "$out/held.txt"; then
		pass "table: both control connections, the expectation, age unknown, counters"
	else
		fail "table does not show the sessions"
		cat "$out/held.txt" >&2
	fi

	for p in "${held[@]}"; do
		peer_do "$p" go || fail "$p: held transfer: $PEER_LINE"
	done
	tool --json >"$out/after-go.json" 2>"$out/after-go.err"
	check_rc $? 0 "--json after the transfers" "$out/after-go.err"
	pycheck "$out/after-go.json" <<'PY'
d, = J
ss = [s for s in d["sessions"] if s["original"]["sport"] in (int(E["CPORT4"]), int(E["CPORT6"]))]
check(len(ss) == 2 and all(s["expectations"] == [] for s in ss),
      "after the transfers: the expectations are gone", [s["expectations"] for s in ss])
PY
fi
for p in "${held[@]}"; do
	peer_stop "$p"
done

# ------------------------------------------------------------ 3. live transfer

export CLIENT_IP4 SERVER_IP4 ROUTER_S_IP4 CPORT4 OUT=$out

ip netns exec "$ns_router" sysctl -q -w net.netfilter.nf_conntrack_timestamp=1 \
	net.netfilter.nf_conntrack_acct=1

ip netns exec "$ns_router" timeout "$(scaled_s 90)" "$TOOL" --watch --json \
	>"$out/watch.jsonl" 2>"$out/watch.jsonl.err" &
wjson=$!
cleanup_pid "$wjson"
ip netns exec "$ns_router" timeout "$(scaled_s 90)" "$TOOL" --watch \
	>"$out/watch.txt" 2>"$out/watch.txt.err" &
wtext=$!
cleanup_pid "$wtext"

# shellcheck disable=SC2317 # called by busywait
_watching() {
	grep -q "^ftp-sym: watching" "$out/watch.jsonl.err" &&
		grep -q "^ftp-sym: watching" "$out/watch.txt.err"
}
busywait 10000 _watching || fail "the watchers did not start: $(cat "$out"/watch.*.err)"

curl_ftp "$ns_client" pasv 4 "$SERVER_IP4" get 60 &
cpid=$!

# shellcheck disable=SC2317 # called by busywait
_data_up() {
	tool >"$out/live.txt" 2>&1 && grep -qE "^  data .*ESTABLISHED" "$out/live.txt"
}
if busywait 15000 _data_up; then
	tool --json >"$out/live.json" 2>"$out/live.err"
	check_rc $? 0 "--json during the transfer" "$out/live.err"
	tool >"$out/live.txt" 2>&1
	check_rc $? 0 "table during the transfer" "$out/live.txt"
	pycheck "$out/live.json" <<'PY'
d, = J
# Not the held IPv4 session of part 2 (closing by now, TIME_WAIT).
ss = [s for s in session(d, E["CLIENT_IP4"])
      if s["original"]["sport"] != int(E.get("CPORT4") or 0) and s["data"]]
if check(len(ss) == 1, "live: the control connection with a data connection", d["sessions"]):
    s = ss[0]
    dc = s["data"]
    ok = [x for x in dc if x["tcp_state"] == "ESTABLISHED"]
    if check(len(ok) == 1, "live: one ESTABLISHED data connection", dc):
        x = ok[0]
        with open(os.path.join(E["OUT"], "live-master.json"), "w") as fh:
            json.dump({"master": s["original"], "data": x["original"]}, fh)
        check(x["original"]["src"] == E["CLIENT_IP4"] and x["original"]["dst"] == E["SERVER_IP4"]
              and x["reply"]["dst"] == E["ROUTER_S_IP4"] and x["nat"]["snat"] is not None
              and "EXPECTED" in x["status"],
              "live: data connection client -> server, translated like its master", x)
        check(x["holds_master"] is True and x["offloaded"] is False,
              "live: data connection holds the master, not offloaded", x)
        check(x["acct"] is not None and x["acct"]["reply"]["bytes"] > 0,
              "live: bytes counted with nf_conntrack_acct=1", x["acct"])
        check(isinstance(x["age"], int) and x["age"] >= 0,
              "live: age known with nf_conntrack_timestamp=1", x["age"])
    check(s["keepalive"] == "holding", "live: keepalive holding", s["keepalive"])
    check(d["counters"].get("keepalive_active", 0) >= 1,
          "live: the module tracks it too (keepalive_active >= 1)", d["counters"])
    check(isinstance(s["age"], int), "live: control connection age known", s["age"])
PY
	if grep -qE "^control .*keepalive holding" "$out/live.txt" &&
		grep -qE "^  data .*ESTABLISHED.*holds master" "$out/live.txt"; then
		pass "table: the live session, keepalive holding"
	else
		fail "table does not show the live session holding"
		cat "$out/live.txt" >&2
	fi
else
	fail "no ESTABLISHED data connection seen during the transfer"
	cat "$out/live.txt" >&2
fi

if wait "$cpid"; then
	pass "curl PASV download through the router completed"
else
	fail "curl PASV download failed"
fi

# SIGINT to timeout(1) is passed on to the tool; SIGTERM likewise.
kill -INT "$wjson"
kill -TERM "$wtext"
wait "$wjson"
check_rc $? 0 "--watch --json stopped by SIGINT" "$out/watch.jsonl.err"
wait "$wtext"
check_rc $? 0 "--watch stopped by SIGTERM" "$out/watch.txt.err"

# live-master.json names the connections the events must show; without it
# (the live check failed above) the events cannot be judged: a failure.
if [[ ! -s $out/live-master.json ]]; then
	fail "watch: no live session was identified, its events cannot be checked"
else
	pycheck "$out/watch.jsonl" "$out/live-master.json" <<'PY'
ev, m = J
check(all(set(("time", "event", "kind")) <= set(e) for e in ev) and len(ev) >= 4,
      "watch: %d JSON events, each with time, event, kind" % len(ev), ev[:3])
def has(event, kind, pred):
    return any(e["event"] == event and e["kind"] == kind and pred(e) for e in ev)
check(has("new", "control", lambda e: e["original"] == m["master"] and e["helper"] == "ftp-sym"),
      "watch: NEW control connection", m["master"])
check(has("new", "expectation", lambda e: e["master"] == m["master"]),
      "watch: NEW expectation of that control connection")
check(has("destroy", "expectation", lambda e: e["master"] == m["master"]),
      "watch: DESTROY of the expectation (used by the data connection)")
check(has("new", "data", lambda e: e["master"] == m["master"] and e["original"] == m["data"]),
      "watch: NEW data connection with its master", m["data"])
check(has("update", "data", lambda e: e["original"] == m["data"] and e["tcp_state"] == "ESTABLISHED"),
      "watch: UPDATE of the data connection to ESTABLISHED")
PY
fi
if grep -qE "^[0-9:.]+ new +control +ipv4 $CLIENT_IP4:" "$out/watch.txt" &&
	grep -qE "^[0-9:.]+ new +expect +ipv4 " "$out/watch.txt" &&
	grep -qE "^[0-9:.]+ new +data +ipv4 .* master $CLIENT_IP4:" "$out/watch.txt"; then
	pass "watch (text): NEW control, expectation and data lines"
else
	fail "watch (text) misses events"
	cat "$out/watch.txt" >&2
fi

ksft_exit
