#!/bin/sh
# pstack demo: an unmodified program's sockets served by pstack, seen from the
# kernel on the other side of a TAP device. Run as root: `make demo`, or
# `sh examples/demo.sh BUILD_DIR`.
#
# It creates a network namespace of its own (nothing touches the machine's
# real network), a TAP device in it whose kernel side is 192.0.2.1/24, starts
# examples/echo_server on 192.0.2.2:12345 under LD_PRELOAD=libpstack.so, and
# from the kernel side pings it, talks to it and checks a bulk transfer.
# It removes everything it made on the way out, also on failure or Ctrl-C.
#
# DEMO_PROTO=udp runs the same story over UDP.
set -eu

BUILD=${1:-build}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "demo: no build folder '${1:-build}' (run make first)" >&2; exit 1; }
LIB=$BUILD/libpstack.so
PSTACK=$BUILD/pstack
ECHO=$BUILD/examples/echo_server
PROTO=${DEMO_PROTO:-tcp}
NS=pstack-demo-$$
TMP=$(mktemp -d /tmp/pstack-demo.XXXXXX)
SERVER_PID=

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates a network namespace and a TAP device)" >&2; exit 1; }
[ -f "$LIB" ] && [ -x "$ECHO" ] && [ -x "$PSTACK" ] ||
	{ echo "demo: $LIB, $PSTACK or $ECHO missing (run make first)" >&2; exit 1; }
case $PROTO in tcp|udp) ;; *) echo "demo: DEMO_PROTO must be tcp or udp" >&2; exit 1 ;; esac

cleanup() {
	status=$?
	trap - EXIT INT TERM
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
	if [ $status = 0 ]; then
		echo
		echo "Demo finished: namespace $NS and its TAP device removed."
	else
		echo
		echo "Demo FAILED (status $status); namespace $NS removed." >&2
	fi
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
say() { printf '    %s\n' "$*"; }
inns() { ip netns exec "$NS" "$@"; }
indent() { sed 's/^/    | /'; }
fail() { echo "demo: $*" >&2; exit 1; }

step "Creating a private network namespace '$NS' (your real network is not touched)"
ip netns add "$NS"
inns ip link set lo up

step "Creating the TAP device tap0 in it; the kernel's side gets 192.0.2.1/24"
inns ip tuntap add dev tap0 mode tap
inns ip addr add 192.0.2.1/24 dev tap0
inns ip link set tap0 up
inns ip -brief addr show dev tap0 | indent
say "(its state is DOWN, no carrier, until a program attaches to it)"

step "Starting 'echo_server 12345 $PROTO' on pstack"
if [ "$PROTO" = udp ]; then set -- udp; else set --; fi
say "  pstack --log debug --log-file LOG --pcap PCAP -- echo_server 12345 $*"
say "The pstack launcher runs the command with LD_PRELOAD=$LIB."
say "echo_server is plain sockets code; the preload gives its sockets to pstack,"
say "which answers as 192.0.2.2 (MAC 00:00:5e:00:53:01) on tap0. The log"
say "(PSTACK_LOG=debug) goes to a file, and PSTACK_PCAP records every frame."
if [ "$PROTO" = udp ]; then set -- udp; else set --; fi
# Started without a shell function in between, so that $! is the very
# process (ip netns exec becomes timeout, which passes SIGTERM on).
ip netns exec "$NS" timeout 120 "$PSTACK" --log debug --log-file "$TMP/pstack.log" \
	--pcap "$TMP/demo.pcap" -- "$ECHO" 12345 "$@" >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
i=0
until grep -q 'listening on' "$TMP/server.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || { cat "$TMP/server.out" >&2; fail "echo_server did not start"; }
	kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.out" >&2; fail "echo_server exited"; }
	sleep 0.1
done
indent <"$TMP/server.out"

step "The kernel pings 192.0.2.2: pstack answers ARP and ICMP echo"
i=0
until inns ping -n -c 1 -W 1 192.0.2.2 >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 10 ] || { cat "$TMP/pstack.log" >&2 2>/dev/null; fail "192.0.2.2 does not answer ping"; }
done
inns timeout 20 ping -n -c 3 -i 0.3 192.0.2.2 | indent
say "and a 4000-byte ping, which travels as IP fragments both ways:"
inns timeout 20 ping -n -c 1 -s 4000 192.0.2.2 | grep 'bytes from' | indent

step "The kernel's neighbour table learned pstack's MAC through ARP"
inns ip neigh show dev tap0 | indent

msg="hello pstack, this is the kernel speaking"
if [ "$PROTO" = tcp ]; then
	step "The kernel's nc connects to 192.0.2.2:12345 over TCP and sends one line"
	say "sent:     $msg"
	reply=$(printf '%s\n' "$msg" | inns timeout 20 nc -N 192.0.2.2 12345)
else
	step "The kernel's nc sends one UDP datagram to 192.0.2.2:12345"
	say "sent:     $msg"
	reply=$(printf '%s\n' "$msg" | inns timeout 20 nc -u -w 1 192.0.2.2 12345)
fi
say "received: $reply"
[ "$reply" = "$msg" ] || fail "the echo differs from what was sent"

if [ "$PROTO" = tcp ]; then
	step "A bulk transfer: 16 MiB through pstack's TCP and back, checked with sha256"
	head -c $((16 * 1024 * 1024)) /dev/urandom >"$TMP/data"
	inns timeout 60 nc -N 192.0.2.2 12345 <"$TMP/data" >"$TMP/back"
else
	step "Datagrams of 1 to 8000 bytes (the large ones fragmented) through pstack's UDP and back"
	: >"$TMP/data"
	: >"$TMP/back"
	for size in 1 100 1400 3000 8000; do
		head -c "$size" /dev/urandom >"$TMP/d"
		inns timeout 10 nc -u -w 1 192.0.2.2 12345 <"$TMP/d" >"$TMP/b"
		cat "$TMP/d" >>"$TMP/data"
		cat "$TMP/b" >>"$TMP/back"
	done
fi
sent=$(sha256sum <"$TMP/data" | cut -c1-16)
got=$(sha256sum <"$TMP/back" | cut -c1-16)
say "sent $(wc -c <"$TMP/data") bytes, sha256 $sent..."
say "got  $(wc -c <"$TMP/back") bytes, sha256 $got..."
[ "$sent" = "$got" ] || fail "the data came back different"
say "identical."

step "Proof that it all went through the TAP device (its counters, kernel side)"
inns ip -s link show tap0 | sed -n '/RX:/,$p' | indent

step "From the capture pstack wrote (PSTACK_PCAP), read by tcpdump: ARP and the first ping"
tcpdump -n -r "$TMP/demo.pcap" 'arp or icmp' 2>/dev/null | head -n 4 | cut -c 17- | indent
if [ "$PROTO" = tcp ]; then
	say "and the first TCP connection: handshake, data, echo, FIN exchange"
	tcpdump -n -r "$TMP/demo.pcap" tcp 2>/dev/null | head -n 9 | cut -c 17- | indent
else
	say "and the first datagram and its echo"
	tcpdump -n -r "$TMP/demo.pcap" udp 2>/dev/null | head -n 2 | cut -c 17- | indent
fi

step "Stopping echo_server; pstack's log (PSTACK_LOG=debug; connection lines left out), with its counters at exit"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
grep -v 'drop:' "$TMP/pstack.log" | grep -v 'tcp [0-9]* -> [1-9]' | indent
