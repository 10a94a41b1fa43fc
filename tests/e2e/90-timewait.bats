#!/usr/bin/env bats
# TIME_WAIT outlives the program (issue 14, "the stack outlives its
# processes"; README, Limits, "Exit"): a program that closes first exits at
# once, and its stack process waits out TIME_WAIT (bounded by
# PSTACK_LINGER_MS), answering as the kernel's TIME_WAIT does; a program
# started on the TAP meanwhile takes the device over at once, and the
# TIME_WAIT connections with it (stack/host/ctl.h, the handover). The
# kernel of the test's namespace is the peer.

load lib

PSTACK=$PSTACK_BUILD/pstack
TW=$BATS_TEST_DIRNAME/timewait.py

# One connection to 192.0.2.1:$1: reads "hello" and closes first.
CLIENT='
import socket, sys
s = socket.create_connection(("192.0.2.1", int(sys.argv[1])))
assert s.recv(5) == b"hello"
s.close()
print("done", flush=True)
'

# An HTTP/1.1 server (keep-alive: the client closes first, as curl does).
HTTP_SERVER='
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer((sys.argv[1], 8000), H)
print("listening", flush=True)
s.serve_forever()
'

setup() {
	e2e_setup
	LOG=$BATS_TEST_TMPDIR/pstack.log
	export PSTACK_LOG=debug PSTACK_LOG_FILE=$LOG
}

# The stack processes the test left lingering are ended by teardown too,
# when they are still there (a failed test).
teardown() {
	local pid
	for pid in $(lingering_pids); do
		echo "$pid" >>"$PIDFILE"
	done
	e2e_teardown
}

lingering_pids() {
	[ -f "${LOG:-}" ] || return 0
	sed -n 's/.*stack process (pid \([0-9]*\)): waits out.*/\1/p' "$LOG"
}

# A client under the preload closes first on the server timewait.py runs on
# the kernel's side (which waits for $BATS_TEST_TMPDIR/go to retransmit its
# FIN); its stack process lingers in TIME_WAIT.
linger_one() {
	bg_ker srv 30 "$PY" "$TW" serve "$TAP" 9000 "$BATS_TEST_TMPDIR/go"
	wait_log "$(out srv)" listening
	run pre 10 "$PY" -c "$CLIENT" 9000
	assert_success
	wait_log "$(out srv)" closed
	wait_log "$LOG" "stack process \(pid [0-9]+\): waits out"
}

# start_next [VAR=VALUE...]: the next program under the preload, with those
# settings: its first socket call (a datagram out) takes the TAP over.
start_next() {
	bg_pre next 30 env "$@" "$PY" -c '
import socket, time
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 9))
print("sent", flush=True)
time.sleep(20)'
	wait_log "$(out next)" sent
}

# The server retransmits its FIN; the stack that has the TIME_WAIT
# connection now must have ACKed it.
fin_acked() {
	touch "$BATS_TEST_TMPDIR/go"
	bg_wait srv 15
	run cat "$(out srv)"
	assert_line fin-acked
}

now_ms() {
	echo $((${EPOCHREALTIME/./} / 1000))
}

@test "a client that closes first exits at once; after it, its stack ACKs the peer's retransmitted FIN and RSTs a closed port" {
	local t0 t1 pid limit
	bg_ker srv 30 "$PY" "$TW" serve "$TAP" 9000 "$BATS_TEST_TMPDIR/go"
	wait_log "$(out srv)" listening
	t0=$(now_ms)
	run pre 10 "$PY" -c "$CLIENT" 9000
	t1=$(now_ms)
	assert_success
	assert_output done
	echo "the client (python's start included) ran $((t1 - t0)) ms"
	# (A sanitizer's runtime slows python's start several times over; the
	# linger it must not wait for is PSTACK_LINGER_MS, 10 s by default.)
	limit=1000
	[ -z "$SAN_RT" ] || limit=4000
	[ $((t1 - t0)) -lt $limit ] || fail "the client took $((t1 - t0)) ms: did its exit wait for TIME_WAIT?"
	wait_log "$(out srv)" closed
	# The stack process carries the connection: in TIME_WAIT already, or
	# as a close still to finish when the peer's ACK of our FIN came after
	# the exit (one make test run: "waits out 0 ... finishes 1 close(s)").
	wait_log "$LOG" "stack process \(pid [0-9]+\): waits out (1 connection|0 connection\(s\) .* finishes 1 close)"
	pid=$(lingering_pids)
	[ "$(cat "/proc/$pid/comm")" = pstack-keeper ]
	# pstack stat shows the lingering stack (under the program's PID) and its TIME_WAIT.
	run "$PSTACK" stat "$(sed -n 's/.*control socket .*\/\([0-9]*\)\.sock$/\1/p' "$LOG")"
	assert_success
	assert_output --partial TIME-WAIT
	touch "$BATS_TEST_TMPDIR/go"
	bg_wait srv 15
	run cat "$(out srv)"
	assert_line refused
	assert_line fin-acked
}

# A server on the kernel's side that counts what it reads until the FIN:
# "N fin".
COUNT_SERVER='
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
print("listening", flush=True)
c, _ = s.accept()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
print(n, "fin", flush=True)
'

# A client that connects, waits for the file $3, then writes 8000 bytes
# (within the send buffer: nothing has to be acknowledged first), closes
# and exits.
DROPPED_CLIENT='
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print("connected", flush=True)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.01)
s.sendall(b"x" * 8000)
s.close()
'

# exit_unanswered pre|ker PORT IFACE: the client above under the preload
# (pre: the kernel's side behind the TAP) or on the kernel (ker: to the
# same address, through lo), its server on the kernel; once connected,
# everything to PORT coming in on IFACE is dropped (iptables) and the
# client writes, closes and exits; the rule goes once it is gone. Sets
# EXIT_MS (the client's time from its write to its exit) and checks that
# the server got all 8000 bytes, then the FIN.
exit_unanswered() {
	local how=$1 port=$2 iface=$3 t0 t1
	bg_ker "srv$port" 30 "$PY" -c "$COUNT_SERVER" "$HOST_IP" "$port"
	wait_log "$(out "srv$port")" listening
	if [ "$how" = pre ]; then
		bg_pre "cli$port" 30 "$PY" -c "$DROPPED_CLIENT" "$HOST_IP" "$port" "$BATS_TEST_TMPDIR/go$port"
	else
		bg_ker "cli$port" 30 "$PY" -c "$DROPPED_CLIENT" "$HOST_IP" "$port" "$BATS_TEST_TMPDIR/go$port"
	fi
	wait_log "$(out "cli$port")" connected
	nsx iptables -I INPUT -i "$iface" -p tcp --dport "$port" -j DROP
	t0=$(now_ms)
	touch "$BATS_TEST_TMPDIR/go$port"
	bg_wait "cli$port" 25
	t1=$(now_ms)
	nsx iptables -D INPUT -i "$iface" -p tcp --dport "$port" -j DROP
	[ "$BG_STATUS" = 0 ] || fail "the client ($how) failed: $BG_STATUS"
	EXIT_MS=$((t1 - t0))
	echo "$how: the client exited $EXIT_MS ms after its write, its peer unanswering"
	# Retransmitted once the peer answers again: every byte, then the FIN.
	bg_wait "srv$port" 20
	run cat "$(out "srv$port")"
	assert_line "8000 fin"
}

@test "a program whose peer stops answering exits at once after its close, as on the kernel; its stack process then delivers the data and the FIN" {
	local limit=1000
	[ -z "$SAN_RT" ] || limit=4000
	export PSTACK_LINGER_MS=5000
	exit_unanswered ker 9001 lo
	[ "$EXIT_MS" -lt "$limit" ] || fail "the kernel's client took $EXIT_MS ms to exit"
	exit_unanswered pre 9002 "$TAP"
	[ "$EXIT_MS" -lt "$limit" ] || fail "the client under the preload took $EXIT_MS ms to exit (the kernel's: at once)"
	grep -q "exit: the stack process finishes 1 close(s)" "$LOG"
}

@test "the lingering stack ends within PSTACK_LINGER_MS and lets go of the TAP" {
	local t1 pid
	export PSTACK_LINGER_MS=1500
	bg_ker srv 30 "$PY" "$TW" serve "$TAP" 9000 "$BATS_TEST_TMPDIR/go"
	wait_log "$(out srv)" listening
	run pre 10 "$PY" -c "$CLIENT" 9000
	assert_success
	t1=$(now_ms)
	wait_log "$LOG" "stack process \(pid [0-9]+\): waits out"
	pid=$(lingering_pids)
	pid_wait_gone "$pid" 10 || fail "the stack process is still there 10 s later"
	echo "the stack process was gone $(($(now_ms) - t1)) ms after the program's exit"
	[ $(($(now_ms) - t1)) -lt $((1500 + 2000)) ] || fail "it outlived PSTACK_LINGER_MS by more than 2 s"
	grep -q "stack process (pid $pid): done" "$LOG"
	touch "$BATS_TEST_TMPDIR/go"
	# The TAP is free: the next program takes it without a handover.
	run pre 10 "$PY" -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 9))
print("sent")'
	assert_success
	assert_output sent
	run grep -c "handed over by the stack" "$LOG"
	assert_output 0
}

@test "a program started while the stack lingers takes the TAP over at once, with the TIME_WAIT connection" {
	local pid t0 t1 next
	linger_one
	pid=$(lingering_pids)
	t0=$(now_ms)
	start_next
	t1=$(now_ms)
	echo "the next program's first socket call returned $((t1 - t0)) ms after its start"
	[ $((t1 - t0)) -lt 1000 ] || fail "it waited for the TAP"
	grep -q "handed over by the stack that held it, with 1 connection(s)" "$LOG"
	# The device came with the answer: not detached, nor attached again.
	grep -q "device tap0 registered (handed over" "$LOG"
	pid_wait_gone "$pid" 2 || fail "the old stack process is still there"
	grep -q "stack process (pid $pid): done: .*handed over" "$LOG"
	# The TIME_WAIT connection is the new stack's now: it answers the FIN.
	next=$(pgrep -P "$PID_next" | head -n1)
	run "$PSTACK" stat "$next"
	assert_success
	assert_output --partial TIME-WAIT
	fin_acked
}

@test "a program that takes the TAP over reads the namespace's sysctls as they are now (read while the old stack answers), not as the old stack read them" {
	local pid
	linger_one
	pid=$(lingering_pids)
	nsx sysctl -qw net.ipv4.tcp_syn_retries=2 net.ipv4.tcp_keepalive_intvl=17
	bg_pre next 30 "$PY" -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"x", ("192.0.2.1", 9))
print("syncnt", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT),
      "keepintvl", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), flush=True)
time.sleep(20)'
	wait_log "$(out next)" syncnt
	grep -q "handed over by the stack that held it, with 1 connection(s)" "$LOG"
	run cat "$(out next)"
	assert_output --partial "syncnt 2 keepintvl 17"
	pid_wait_gone "$pid" 2 || fail "the old stack process is still there"
	fin_acked
}

@test "a program whose settings want the device otherwise (PSTACK_OFFLOAD=0) does not adopt the lingering stack's: it opens the device, with the TIME_WAIT connection" {
	local pid
	linger_one
	pid=$(lingering_pids)
	start_next PSTACK_OFFLOAD=0
	grep -q "handed over by the stack that held it, with 1 connection(s) in TIME_WAIT or FIN_WAIT_2 and its queues" "$LOG"
	grep -q "device tap0 registered (existing device, mtu [0-9]*, no offloads" "$LOG" ||
		fail "$(grep registered "$LOG")"
	pid_wait_gone "$pid" 2 || fail "the old stack process is still there"
	fin_acked
}

@test "a TIME_WAIT connection handed over, kept as a record until a segment comes for it, answers the peer's retransmitted FIN" {
	local pid
	linger_one
	pid=$(lingering_pids)
	start_next
	grep -q "handed over by the stack that held it, with 1 connection(s)" "$LOG"
	pid_wait_gone "$pid" 2 || fail "the old stack process is still there"
	# Nothing has looked at the connection in the new stack (no listing, no
	# bind or connect): the peer's FIN is the first to.
	fin_acked
}

@test "200 curl runs in a row against a kernel server, each closing first: all succeed, none waits for the TAP" {
	local t0 t1 i
	san_check curl
	bg_ker srv 120 "$PY" -c "$HTTP_SERVER" "$HOST_IP"
	wait_log "$(out srv)" listening
	t0=$(now_ms)
	for i in $(seq 200); do
		pre 10 curl -sf -o /dev/null http://192.0.2.1:8000/ || fail "curl run $i failed"
	done
	t1=$(now_ms)
	echo "200 curl runs: $((t1 - t0)) ms"
	run grep -c "handed over by the stack that held it" "$LOG"
	echo "handovers: $output"
	[ "$output" -ge 190 ] || fail "only $output of 199 starts took the TAP over"
	run grep -c "busy; waiting up to" "$LOG"
	assert_output 0
	# The ARP cache came with the device: a start sends its announcement and
	# no request for the gateway (the server's kernel is it).
	run grep -c "arp in [0-9]* out 1;" "$LOG"
	echo "runs without an ARP request: $output"
	[ "$output" -ge 190 ] || fail "only $output of 199 starts needed no ARP request"
}

# A server on the kernel's side that closes first on each of N connections
# (TIME_WAIT on its side): argv port n.
CLOSE_FIRST_LOOP='
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("192.0.2.1", int(sys.argv[1])))
l.listen(8)
print("listening", flush=True)
for i in range(int(sys.argv[2])):
    a, _ = l.accept()
    a.sendall(b"hello")
    a.close()
'
# Its client, from one local port (SO_REUSEADDR): connects, reads to the
# end, closes; says how many times its SYN went (TCP_INFO total_retrans).
SAME_PORT_CLIENT='
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[2])))
s.connect(("192.0.2.1", int(sys.argv[1])))
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
while s.recv(100):
    pass
s.close()
print("retrans", struct.unpack_from("I", info, 100)[0], flush=True)
'

@test "a client started again from the same port while the server holds the old connection in TIME_WAIT: its SYN is taken at once, as the kernel's (one secret per user)" {
	local i
	bg_ker srv 60 "$PY" -c "$CLOSE_FIRST_LOOP" 9200 8
	wait_log "$(out srv)" listening
	for i in $(seq 8); do
		run pre 10 "$PY" -c "$SAME_PORT_CLIENT" 9200 40123
		assert_success
		# A SYN the server's TIME_WAIT refused is answered with an ACK,
		# which the client resets, then sent again a second later.
		assert_output "retrans 0"
	done
	bg_wait srv 10
	run grep -c "TCP ACK not acceptable" "$LOG"
	assert_output 0
	[ -f "${XDG_RUNTIME_DIR:-/nonexistent}/pstack/secret" ] || [ -f "/tmp/pstack-$(id -u)/secret" ] ||
		fail "no secret file in the user's folder"
}

# A server that sends "hello" on its one connection and closes first
# (TIME_WAIT on its side once the peer closes too): argv reuse host port.
CLOSE_FIRST_SERVER='
import socket, sys
reuse, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
l = socket.socket()
if reuse:
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((host, port))
l.listen(1)
print("listening", flush=True)
a, _ = l.accept()
a.sendall(b"hello")
a.close()
'
# Its client: reads to the end, then closes.
READ_ALL_CLIENT='
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
while s.recv(100):
    pass
s.close()
print("done", flush=True)
'
# A new listener with SO_REUSEADDR on the port: what listen (or bind) says.
RELISTEN='
import errno, socket, sys
n = socket.socket()
n.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    n.bind((sys.argv[1], int(sys.argv[2])))
    n.listen(1)
    print("listen ok")
except OSError as e:
    print("listen", errno.errorcode[e.errno])
'

# restart_answer SIDE REUSE PORT: the close-first server on SIDE (pre or
# ker) with SO_REUSEADDR or not, one connection from the kernel, then a new
# program's listener on its port while the old connection is in TIME_WAIT.
restart_answer() {
	local side=$1 reuse=$2 port=$3 host=0.0.0.0 dst=$STACK_IP
	[ "$side" = ker ] && host=192.0.2.1 dst=192.0.2.1
	"bg_$side" srv$port 30 "$PY" -c "$CLOSE_FIRST_SERVER" "$reuse" "$host" "$port"
	wait_log "$(out srv$port)" listening
	run ker 10 "$PY" -c "$READ_ALL_CLIENT" "$dst" "$port"
	assert_success
	bg_wait "srv$port" 10
	[ "$side" = ker ] || wait_log "$LOG" "stack process \(pid [0-9]+\): waits out"
	"$side" 10 "$PY" -c "$RELISTEN" "$host" "$port"
}

@test "a server started again while its old connection is in TIME_WAIT (handed over): SO_REUSEADDR binds the port, as on the kernel; without it on the old socket, EADDRINUSE as on the kernel" {
	local k1 k0 p1 p0
	k1=$(restart_answer ker 1 9101)
	k0=$(restart_answer ker 0 9102)
	p1=$(restart_answer pre 1 9103)
	grep -q "handed over by the stack that held it, with 1 connection" "$LOG" || fail "no handover: $(grep -i hand "$LOG")"
	p0=$(restart_answer pre 0 9104)
	echo "kernel: '$k1' '$k0'; pstack: '$p1' '$p0'"
	[ "$k1" = "listen ok" ] && [ "$k0" = "listen EADDRINUSE" ] || fail "the kernel answered '$k1' / '$k0'"
	[ "$p1" = "$k1" ] || fail "after a listener with SO_REUSEADDR: '$p1', the kernel '$k1'"
	[ "$p0" = "$k0" ] || fail "after a listener without SO_REUSEADDR: '$p0', the kernel '$k0'"
}

