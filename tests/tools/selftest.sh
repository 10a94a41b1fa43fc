#!/bin/bash
# Proves the tools of tests/tools against the Linux kernel itself: two network
# namespaces of its own joined by a veth pair, the "client" 192.0.2.1 and the
# "server" 192.0.2.2 (where pstack would be), kernel servers on the server side.
#
#   bash tests/tools/selftest.sh [BUILD_DIR]      small counts (a minute, gentle);
#                                                 the tools are BUILD_DIR/tools (make all)
#   FULL=1 bash tests/tools/selftest.sh           the load tests' sizes (10k held,
#                                                 100k churn, 50k SYNs, 200k junk)
# Needs root. Ends only the processes it started, deletes its namespaces on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
B=${1:-$here/../../build}
make -C "$here/../.." BUILD="$(mkdir -p "$B" && cd "$B" && pwd)" all >/dev/null
X=$(cd "$B" && pwd)/tools          # the tools
T=$(mktemp -d /tmp/pst-tools-XXXXXX) # scratch files
PY=/usr/bin/python3
C=pst-tools-$$-c
S=pst-tools-$$-s
PIDS=()
FAILS=0
PASSES=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$C" 2>/dev/null || true
	ip netns del "$S" 2>/dev/null || true
}
trap cleanup EXIT

if [ -n "${FULL:-}" ]; then
	HOLD_N=10000 CHURN_N=100000 SYN_N=50000 JUNK_N=200000
else
	HOLD_N=200 CHURN_N=2000 SYN_N=2000 JUNK_N=5000
fi

ip netns add "$C"
ip netns add "$S"
ip link add pst$$c netns "$C" type veth peer name pst$$s netns "$S"
ip -n "$C" link set lo up
ip -n "$S" link set lo up
ip -n "$C" link set pst$$c name veth0
ip -n "$S" link set pst$$s name veth0
ip -n "$C" addr add 192.0.2.1/24 dev veth0
ip -n "$S" addr add 192.0.2.2/24 dev veth0
# Extra client addresses for the churn (4 x 64k ports against TIME_WAIT).
for a in 11 12 13 14; do ip -n "$C" addr add 192.0.2.$a/24 dev veth0; done
ip -n "$C" link set veth0 up
ip -n "$S" link set veth0 up
ip netns exec "$C" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
ip netns exec "$S" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096 net.ipv4.tcp_syncookies=1
SMAC=$(ip -n "$S" -br link show veth0 | awk '{print $3}')
cx() { ip netns exec "$C" "$@"; }
sx() { ip netns exec "$S" "$@"; }

check() { # check NAME CMD...: runs CMD, reports, counts failures
	local name=$1 rc=0
	shift
	echo "== $name"
	"$@" || rc=$?
	if [ $rc = 0 ]; then echo "-- ok: $name"; PASSES=$((PASSES + 1)); else echo "-- FAILED ($rc): $name"; FAILS=$((FAILS + 1)); fi
}

# A python echo server (selectors), the kernel's: independent of echo_epoll.
cat >"$T/pyecho.py" <<'EOF'
import selectors, socket, sys, resource
h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
sel = selectors.DefaultSelector()
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1]))); ls.listen(4096); ls.setblocking(False)
sel.register(ls, selectors.EVENT_READ)
print("pyecho: listening", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if s is ls:
            try:
                c, _ = ls.accept()
            except BlockingIOError:
                continue
            c.setblocking(True); c.settimeout(5); sel.register(c, selectors.EVENT_READ)
            continue
        try:
            d = s.recv(65536)
        except OSError:
            d = b""
        if not d:
            sel.unregister(s); s.close()
        else:
            s.sendall(d)
EOF
sx timeout 600 "$PY" "$T/pyecho.py" 7 >"$T/pyecho.out" 2>&1 &
PIDS+=($!)
# A bad echo: every 10th connection gets one byte flipped back, so that the
# tools are seen to catch what they are for.
cat >"$T/badecho.py" <<'EOF'
import socket, sys, threading
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1]))); ls.listen(1024)
print("badecho: listening", flush=True)
def serve(c, k):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            if k % 10 == 3:
                d = d[:-1] + bytes([d[-1] ^ 1])
            c.sendall(d)
k = 0
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c, k), daemon=True).start()
    k += 1
EOF
sx timeout 600 "$PY" "$T/badecho.py" 6 >"$T/badecho.out" 2>&1 &
PIDS+=($!)
sx timeout 600 "$X/echo_epoll" 8 >"$T/echo.out" 2>&1 &
PIDS+=($!)
sx timeout 600 "$X/echo_epoll" -C 32 9 >"$T/echo_close.out" 2>&1 &
PIDS+=($!)
# The flood's target: a backlog of 64, so that SYN cookies come into play.
sx timeout 600 "$X/echo_epoll" -b 64 10 >"$T/echo_flood.out" 2>&1 &
PIDS+=($!)
for f in pyecho badecho echo echo_close echo_flood; do
	for _ in $(seq 100); do grep -q listening "$T/$f.out" && break; sleep 0.05; done
done

check "conn_hold: $HOLD_N held against python's echo, re-verified after 2 s" \
	cx "$X/conn_hold" -n "$HOLD_N" -T 120 -H 2 192.0.2.2 7
check "conn_hold: $HOLD_N held against echo_epoll (kernel), 1 KiB each, re-verified" \
	cx "$X/conn_hold" -n "$HOLD_N" -l 1024 -T 120 -H 1 192.0.2.2 8
check "conn_hold: a closed port fails (refused), exit 1" \
	bash -c "! ip netns exec $C $X/conn_hold -n 5 -T 10 192.0.2.2 9999"
check "conn_hold: catches corrupted echoes (exit 1, mismatch=10 of 100)" bash -c "
	ip netns exec $C $X/conn_hold -q -n 100 -c 1 -T 30 192.0.2.2 6 >$T/bad.txt; rc=\$?; cat $T/bad.txt
	[ \$rc = 1 ] && grep -q 'mismatch=10 ' $T/bad.txt"
check "conn_churn: catches corrupted echoes (exit 1, mismatch=10 of 100)" bash -c "
	ip netns exec $C $X/conn_churn -q -n 100 -T 30 192.0.2.2 6 >$T/bad.txt; rc=\$?; cat $T/bad.txt
	[ \$rc = 1 ] && grep -q 'mismatch=10 ' $T/bad.txt"
check "conn_churn: $CHURN_N echo connections, 8 at a time, client closes first" \
	cx "$X/conn_churn" -n "$CHURN_N" -c 8 -T 300 -b 192.0.2.1,192.0.2.11,192.0.2.12,192.0.2.13,192.0.2.14 192.0.2.2 8
check "conn_churn: $CHURN_N, server closes first (TIME_WAIT on the server)" \
	cx "$X/conn_churn" -n "$CHURN_N" -c 8 -T 300 -b 192.0.2.1,192.0.2.11 192.0.2.2 9
check "conn_churn: request mode against python's http.server" bash -c "
	mkdir -p $T/www && echo hello >$T/www/index.html
	ip netns exec $S timeout 60 $PY -m http.server --bind 192.0.2.2 --directory $T/www 8080 >/dev/null 2>&1 &
	p=\$!
	for _ in \$(seq 100); do ip netns exec $S ss -Hltn 'sport = :8080' | grep -q . && break; sleep 0.05; done
	ip netns exec $C $X/conn_churn -n 200 -c 4 -r 'GET /index.html HTTP/1.0\r\n\r\n' -x 'HTTP/1.0 200' -e 100 192.0.2.2 8080
	rc=\$?; kill \$p; wait \$p; exit \$rc"
sx ss -s | head -3

check "synflood: refuses a destination outside 192.0.2.0/24" \
	bash -c "cx() { ip netns exec $C \"\$@\"; }; cx $X/synflood -d 198.51.100.1 -p 80 -n 1; [ \$? = 2 ]"
check "synflood: refuses a source range outside 192.0.2.0/24" \
	bash -c "ip netns exec $C $X/synflood -d 192.0.2.2 -p 80 -n 1 -s 10.0.0.1-10.0.0.9; [ \$? = 2 ]"
check "junkframes: refuses a destination outside 192.0.2.0/24" \
	bash -c "ip netns exec $C $X/junkframes -i veth0 -m $SMAC -d 203.0.113.5 -n 1; [ \$? = 2 ]"

# SYN flood on the kernel listener (syncookies) while legitimate clients connect.
sx nstat -n >/dev/null
check "synflood: $SYN_N SYNs (AF_PACKET) while conn_churn connects 500 times" bash -c "
	ip netns exec $C $X/synflood -i veth0 -m $SMAC -d 192.0.2.2 -p 10 -n $SYN_N -T 60 &
	f=\$!
	ip netns exec $C $X/conn_churn -n 500 -c 4 -t 10 -T 120 192.0.2.2 10; rc=\$?
	wait \$f || rc=1; exit \$rc"
check "synflood: $SYN_N SYNs (IPPROTO_RAW, MSS only)" \
	cx "$X/synflood" -d 192.0.2.2 -p 10 -n "$SYN_N" -O -T 60
echo "server side (kernel) counters:"
sx nstat -z | grep -E 'TcpExtSyncookiesSent|TcpExtSyncookiesRecv|TcpExtListenOverflows|TcpExtListenDrops|TcpExtTCPReqQFullDoCookies|TcpPassiveOpens|IpInReceives' >"$T/nstat.txt" || true
cat "$T/nstat.txt"
check "the kernel answered the flood with SYN cookies" grep -qE 'TcpExtSyncookiesSent +[1-9]' "$T/nstat.txt"

# Junk at full speed while a 64 MiB transfer runs; then the kernel still answers.
head -c $((64 << 20)) /dev/urandom >"$T/blob"
sx nstat -n >/dev/null
check "junkframes: at full speed for the whole of a 64 MiB echo transfer, byte-exact" bash -c "
	ip netns exec $C $X/junkframes -i veth0 -m $SMAC -d 192.0.2.2 -p 8 -n 100000000 -T 60 -v >$T/junk.txt &
	j=\$!
	ip netns exec $C timeout 60 socat -b 65536 -t 5 - TCP:192.0.2.2:8,shut-down <$T/blob >$T/blob.back; rc=\$?
	kill -0 \$j || { echo junkframes ended before the transfer; rc=1; }
	kill -TERM \$j; wait \$j; cat $T/junk.txt
	cmp $T/blob $T/blob.back || rc=1
	exit \$rc"
check "junkframes: $JUNK_N more frames, counted" cx "$X/junkframes" -i veth0 -m "$SMAC" -d 192.0.2.2 -p 8 -n "$JUNK_N" -T 60 -S 7
check "the kernel still answers ping after the junk" cx ping -n -c 1 -W 2 192.0.2.2
echo "server side (kernel) counters after junk:"
sx nstat -z | grep -E 'IpInHdrErrors|IpInAddrErrors|IpInTruncatedPkts|IpInCsumErrors|IpReasmFails|IpReasmReqds|IpReasmTimeout|TcpInErrs|TcpInCsumErrors|UdpInErrors|UdpInCsumErrors|IcmpInErrors|IcmpInCsumErrors|IpInUnknownProtos|IpExtInNoRoutes|TcpOutRsts' || true

echo "selftest: $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
