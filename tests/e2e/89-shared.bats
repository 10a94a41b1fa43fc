#!/usr/bin/env bats
# PSTACK_STACK=NAME: processes that name one stack share it, its address and
# its TAP (shim/join.c, stack/host/ctl.c). The first owns it; the others
# join it through its control socket, their TCP sockets served by its stack
# through relays. A joiner's client reaches a server of the stack's own
# address inside the stack (ip4.c's loopback), without the TAP; the kernel
# side through the owner's stack; another user naming the stack is refused.

load lib

PSTACK=$PSTACK_BUILD/pstack

setup() { e2e_setup; }
teardown() {
	ip netns del "$NS-b" 2>/dev/null || true
	e2e_teardown
}

# join_sock: the joiners' socket of root's stack "shared" in the test's
# network namespace (ctl_stack_path: NAME.NETNS.stack).
join_sock() {
	echo "/tmp/pstack-0/shared.$(nsx stat -L -c %i /proc/self/ns/net).stack"
}

# The server: accepts one connection on PORT, echoes every byte back and
# keeps a copy of what it received in FILE; prints "listening" first.
ECHO_SRV='
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(8)
print("listening", flush=True)
c, peer = s.accept()
print("accepted", peer[0], flush=True)
with open(path, "wb") as f:
    while True:
        d = c.recv(262144)
        if not d:
            break
        f.write(d)
        c.sendall(d)
c.close()
print("done", flush=True)
'

# The client: connects to HOST PORT (non-blocking connect when the fourth
# argument is "nb": EINPROGRESS, then writable), sends FILE while it writes
# what comes back into OUT, then prints its names and the rate.
ECHO_CLI='
import errno, select, socket, sys, threading, time
host, port, src, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
nb = len(sys.argv) > 5 and sys.argv[5] == "nb"
s = socket.socket()
t0 = time.time()
if nb:
    s.setblocking(False)
    rc = s.connect_ex((host, port))
    assert rc == errno.EINPROGRESS, "connect_ex: %d" % rc
    p = select.poll()
    p.register(s, select.POLLOUT)
    assert p.poll(10000), "not writable after 10 s"
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    assert err == 0, "SO_ERROR %d" % err
    s.setblocking(True)
else:
    s.connect((host, port))
print("local", s.getsockname()[0], "peer", "%s:%d" % s.getpeername(), flush=True)
def send():
    with open(src, "rb") as f:
        while True:
            d = f.read(262144)
            if not d:
                break
            s.sendall(d)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
n = 0
with open(dst, "wb") as f:
    while True:
        d = s.recv(262144)
        if not d:
            break
        f.write(d)
        n += len(d)
t.join()
dt = time.time() - t0
print("bytes", n, "seconds %.3f" % dt, "MB/s %.1f" % (n / dt / 1e6), flush=True)
'

# The owner for tests that only need the stack running: binds a socket
# (the stack starts) and stays until killed.
OWNER='
import socket, time
s = socket.socket()
s.bind(("0.0.0.0", 0))
print("up", flush=True)
time.sleep(120)
'

# ns_keeper: the PID of a pstack-keeper in the test's namespace (other
# tests' keepers may run meanwhile elsewhere), or nothing.
ns_keeper() {
	local p
	for p in $(ip netns pids "$NS"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = pstack-keeper ] && echo "$p"
	done
	return 0
}
keeper_up() {
	[ -n "$(ns_keeper)" ]
}

# stack_of NAME: the PID of background command NAME's program (under timeout(1)).
stack_of() {
	local pidvar=PID_$1
	pgrep -P "${!pidvar}" | head -n1
}

@test "PSTACK_STACK=shared: a server and a client on one TAP, 64 MiB byte-exact both ways, inside the stack" {
	make_data "$BATS_TEST_TMPDIR/in" $((64 * MiB))
	PSTACK_STACK=shared bg_pre srv 120 "$PY" -c "$ECHO_SRV" 7000 "$BATS_TEST_TMPDIR/srv.data"
	wait_log "$(out srv)" '^listening$'
	local owner
	owner=$(stack_of srv)
	local js
	js=$(join_sock)
	[ -S "$js" ] || fail "no $js"
	[ "$(stat -c '%U %a' "$js")" = "root 600" ] || fail "the joiners' socket is not root's, 0600"
	tap_mark
	run env PSTACK_STACK=shared PSTACK_LOG=debug ip netns exec "$NS" timeout -k 3 100 \
		env LD_PRELOAD="$PRELOAD" "$PY" -c "$ECHO_CLI" "$STACK_IP" 7000 "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back"
	echo "$output" | grep -v 'pstack debug: relay' | tail -n 20
	assert_success
	assert_output --partial "PSTACK_STACK=shared: joined the stack at $js"
	# The joiner opened no TAP of its own.
	refute_output --partial "device $TAP"
	assert_line --regexp "^local 192\.0\.2\.2 peer 192\.0\.2\.2:7000$"
	bg_wait srv 30
	[ "$BG_STATUS" = 0 ] || fail "the server exited with $BG_STATUS"
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/srv.data"
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back"
	# Delivered inside the stack: the 128 MiB did not cross the TAP.
	local rx tx
	rx=$(($(tap_bytes rx) - MARK_RX))
	tx=$(($(tap_bytes tx) - MARK_TX))
	echo "tap: stack->kernel $rx bytes, kernel->stack $tx bytes"
	[ "$rx" -lt $((1 * MiB)) ] && [ "$tx" -lt $((1 * MiB)) ] || fail "the transfer went through $TAP"
	grep -q "accepted 192.0.2.2" "$(out srv)" || fail "the server did not see the stack's own address as its peer"
	[ -n "$owner" ]
}

@test "PSTACK_STACK: a joiner's non-blocking connect is EINPROGRESS, then writable, and SO_ERROR 0" {
	make_data "$BATS_TEST_TMPDIR/in" $((4 * MiB))
	PSTACK_STACK=shared bg_pre srv 60 "$PY" -c "$ECHO_SRV" 7000 "$BATS_TEST_TMPDIR/srv.data"
	wait_log "$(out srv)" '^listening$'
	run env PSTACK_STACK=shared ip netns exec "$NS" timeout -k 3 60 \
		env LD_PRELOAD="$PRELOAD" "$PY" -c "$ECHO_CLI" "$STACK_IP" 7000 "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back" nb
	echo "$output"
	assert_success
	assert_line --regexp "^local 192\.0\.2\.2 peer 192\.0\.2\.2:7000$"
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back"
	bg_wait srv 30
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/srv.data"
}

@test "PSTACK_STACK: a joiner's connection refused is ECONNREFUSED (blocking) and SO_ERROR (non-blocking); while connecting, no event" {
	PSTACK_STACK=shared bg_pre own 60 "$PY" -c "$OWNER"
	wait_log "$(out own)" '^up$'
	run env PSTACK_STACK=shared ip netns exec "$NS" timeout -k 3 30 env LD_PRELOAD="$PRELOAD" "$PY" -c '
import errno, select, socket, time
s = socket.socket()
try:
    s.connect(("192.0.2.2", 7999))
    print("connected?!")
except OSError as e:
    print("blocking:", errno.errorcode[e.errno])
s = socket.socket()
s.setblocking(False)
print("nb:", errno.errorcode[s.connect_ex(("192.0.2.2", 7999))])
p = select.poll()
p.register(s, select.POLLOUT)
p.poll(10000)
print("SO_ERROR:", errno.errorcode.get(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 0))
# 50 in a row: each is answered as soon as the stack made the reset (not at
# its next timer, 100 ms and more).
t = time.time()
for i in range(50):
    try:
        socket.socket().connect(("192.0.2.2", 7999))
    except ConnectionRefusedError:
        pass
dt = time.time() - t
print("50 refused in %.3f s" % dt, "fast" if dt < 3 else "slow")
# A host that never answers (no ARP reply): not writable, nothing to read,
# while the connection is being made; SO_ERROR 0 meanwhile.
s = socket.socket()
s.setblocking(False)
print("silent:", errno.errorcode[s.connect_ex(("192.0.2.77", 80))])
p = select.poll()
p.register(s, select.POLLIN | select.POLLOUT)
print("events while connecting:", p.poll(500))
print("SO_ERROR while connecting:", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
try:
    s.getpeername()
except OSError as e:
    print("getpeername:", errno.errorcode[e.errno])
s.close()
'
	echo "$output"
	assert_success
	assert_line "blocking: ECONNREFUSED"
	assert_line "nb: EINPROGRESS"
	assert_line "SO_ERROR: ECONNREFUSED"
	assert_line --regexp "^50 refused in [0-9.]+ s fast$"
	assert_line "silent: EINPROGRESS"
	assert_line "events while connecting: []"
	assert_line "SO_ERROR while connecting: 0"
	assert_line "getpeername: ENOTCONN"
}

@test "PSTACK_STACK: a joiner reaches the kernel side through the owner's stack, and the kernel reaches a joiner's server" {
	make_data "$BATS_TEST_TMPDIR/in" $((8 * MiB))
	PSTACK_STACK=shared bg_pre own 90 "$PY" -c "$OWNER"
	wait_log "$(out own)" '^up$'
	# A joiner's client to a kernel server on the TAP's far side.
	bg_ker ksrv 60 nc -l -N "$HOST_IP" 7100
	wait_kernel_listen 7100
	tap_mark
	run env PSTACK_STACK=shared ip netns exec "$NS" timeout -k 3 60 \
		env LD_PRELOAD="$PRELOAD" "$PY" -c "$ECHO_CLI" "$HOST_IP" 7100 "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/none"
	echo "$output"
	# nc -l -N sends nothing back: the client reads the end after its own.
	assert_success
	assert_line --regexp "^local 192\.0\.2\.2 peer 192\.0\.2\.1:7100$"
	bg_wait ksrv 30
	assert_same_file "$BATS_TEST_TMPDIR/in" "$(out ksrv)"
	tap_assert_crossed $((8 * MiB)) 0
	# A joiner's server, reached from the kernel side.
	PSTACK_STACK=shared bg_pre jsrv 60 "$PY" -c "$ECHO_SRV" 7200 "$BATS_TEST_TMPDIR/jsrv.data"
	wait_log "$(out jsrv)" '^listening$'
	# The owner's stack holds the joiner's listener (pstack stat of the owner).
	run "$PSTACK" stat "$(stack_of own)"
	assert_success
	assert_output --regexp "tcp +LISTEN +0 +[0-9]+ +0\.0\.0\.0:7200 +0\.0\.0\.0:\*"
	run ker 60 "$PY" -c "$ECHO_CLI" "$STACK_IP" 7200 "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back"
	echo "$output"
	assert_success
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back"
	bg_wait jsrv 30
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/jsrv.data"
	grep -q "accepted 192.0.2.1" "$(out jsrv)" || fail "the joiner's server did not see the kernel's address"
}

# A joiner's UDP server on the stack's address, and a joiner's client of
# it (sendto unbound, connect, a socket bound to the address), then the
# kernel's side sending to the joiner's server: every datagram through the
# owner's stack, the names as the kernel's (the source the connect chose).
UDP_JSRV='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.2", int(sys.argv[1])))
print("listening", flush=True)
s.settimeout(20)
for i in range(6):
    d, a = s.recvfrom(100)
    s.sendto(d.upper(), a)
print("answered", a[0], flush=True)
'
UDP_JCLI='
import socket, sys
dst = (sys.argv[1], int(sys.argv[2]))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(10)
c.sendto(b"one", dst)
d, a = c.recvfrom(100)
print(d.decode(), a == dst, c.getsockname()[0], c.getsockname()[1] != 0)
c.connect(dst)
c.send(b"two")
print(c.recv(100).decode(), c.getsockname()[0], c.getpeername() == dst)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind((sys.argv[3], 0))
b.settimeout(10)
b.sendto(b"three", dst)
d, a = b.recvfrom(100)
print(d.decode(), b.getsockname()[0])
'

@test "PSTACK_STACK: a joiner's UDP sockets are the owner's stack's: a joiner's server on the stack's address answers a joiner's client and the kernel side" {
	PSTACK_STACK=shared bg_pre own 60 "$PY" -c "$OWNER"
	wait_log "$(out own)" '^up$'
	PSTACK_STACK=shared bg_pre jsrv 60 "$PY" -c "$UDP_JSRV" 7400
	wait_log "$(out jsrv)" '^listening$'
	run env PSTACK_STACK=shared ip netns exec "$NS" timeout -k 3 30 \
		env LD_PRELOAD="$PRELOAD" "$PY" -c "$UDP_JCLI" "$STACK_IP" 7400 "$STACK_IP"
	echo "$output"
	assert_success
	assert_line "ONE True 0.0.0.0 True"
	assert_line "TWO 192.0.2.2 True"
	assert_line "THREE 192.0.2.2"
	# The owner's stack holds the joiner's socket (pstack stat of the owner).
	run "$PSTACK" stat "$(stack_of own)"
	assert_success
	assert_output --regexp "udp +.*192\.0\.2\.2:7400"
	tap_mark
	run ker 30 "$PY" -c "$UDP_JCLI" "$STACK_IP" 7400 "$HOST_IP"
	echo "$output"
	assert_success
	assert_line "ONE True 0.0.0.0 True"
	assert_line "TWO 192.0.2.1 True"
	assert_line "THREE 192.0.2.1"
	bg_wait jsrv 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out jsrv)"
	assert_line "answered 192.0.2.1"
	tap_assert_crossed 30 30
}

# A joiner's UDP socket joins a multicast group before it is bound (the
# membership waits in the joiner until the owner's stack makes the socket)
# and sets IP_TTL after: the kernel's side sends to the group and reads the
# answer's TTL, as it would from a kernel socket.
UDP_JMCAST='
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("239.1.2.3"), socket.inet_aton("0.0.0.0")))
s.bind(("0.0.0.0", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 33)
print("joined", flush=True)
s.settimeout(20)
d, a = s.recvfrom(100)
s.sendto(d.upper(), a)
print("answered", a[0], flush=True)
'
UDP_MCAST_TTL_CLI='
import socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
c.setsockopt(socket.IPPROTO_IP, 12, 1)     # IP_RECVTTL
c.settimeout(10)
c.sendto(b"group", ("239.1.2.3", int(sys.argv[2])))
d, anc, _, a = c.recvmsg(100, 64)
print(d.decode(), a[0], [int.from_bytes(x[2][:4], "little") for x in anc])
'

@test "PSTACK_STACK: a joiner's UDP socket joins a multicast group before bind() and sets IP_TTL after: the kernel's side's datagram to the group is answered with that TTL" {
	PSTACK_STACK=shared bg_pre own 60 "$PY" -c "$OWNER"
	wait_log "$(out own)" '^up$'
	PSTACK_STACK=shared bg_pre jm 30 "$PY" -c "$UDP_JMCAST" 7401
	wait_log "$(out jm)" '^joined$'
	run ker 20 "$PY" -c "$UDP_MCAST_TTL_CLI" "$HOST_IP" 7401
	echo "$output"
	assert_success
	assert_output "GROUP 192.0.2.2 [33]"
	bg_wait jm 20
	assert_equal "$BG_STATUS" 0
	run cat "$(out jm)"
	assert_line "answered 192.0.2.1"
}

# owner_goes_joiner_stays SIGNAL: the owner of a stack a joiner listens on
# ends of SIGNAL; what carries the stack on (a keeper forked by the exit
# guard at SIGTERM, the stack process itself at SIGKILL) serves the joiners'
# socket: a later joiner joins it and is echoed 2 MiB; once nobody holds a
# relay it ends, and the socket's file with it.
owner_goes_joiner_stays() {
	make_data "$BATS_TEST_TMPDIR/in" $((2 * MiB))
	PSTACK_STACK=shared PSTACK_LINGER_MS=2000 bg_pre own 60 "$PY" -c "$OWNER"
	wait_log "$(out own)" '^up$'
	PSTACK_STACK=shared bg_pre jsrv 60 "$PY" -c "$ECHO_SRV" 7300 "$BATS_TEST_TMPDIR/jsrv.data"
	wait_log "$(out jsrv)" '^listening$'
	kill "-$1" "$(stack_of own)"
	bg_wait own 15
	wait_until 10 "a pstack-keeper in the namespace" keeper_up
	local keeper
	keeper=$(ns_keeper)
	[ -S "$(join_sock)" ] || fail "the keeper does not serve the joiners' socket"
	run env PSTACK_STACK=shared ip netns exec "$NS" timeout -k 3 60 \
		env LD_PRELOAD="$PRELOAD" "$PY" -c "$ECHO_CLI" "$STACK_IP" 7300 "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back"
	echo "$output"
	assert_success
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back"
	bg_wait jsrv 30
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/jsrv.data"
	pid_wait_gone "$keeper" 20 || fail "the keeper $keeper did not end"
	[ ! -e "$(join_sock)" ] || fail "the joiners' socket outlived the keeper"
}

@test "PSTACK_STACK: the owner exits while a joiner listens; the keeper carries the stack, and a later joiner still joins it" {
	# SIGTERM at its default action: the exit guard hands the stack to a
	# keeper, the joiner's listener being a relay.
	owner_goes_joiner_stays TERM
}

@test "PSTACK_STACK: the owner is killed by SIGKILL while a joiner listens; its stack process carries the stack, and a later joiner still joins it" {
	owner_goes_joiner_stays KILL
}

@test "PSTACK_STACK: another user naming root's stack is refused (EACCES, one line) and reads nothing" {
	PSTACK_STACK=shared bg_pre srv 60 "$PY" -c "$ECHO_SRV" 7000 "$BATS_TEST_TMPDIR/srv.data"
	wait_log "$(out srv)" '^listening$'
	run nobody 30 env PSTACK_STACK=shared LD_PRELOAD="$PRELOAD" "$PY" -c '
import errno, socket
try:
    s = socket.socket()
    print("socket made?!")
except OSError as e:
    print("socket:", errno.errorcode[e.errno])
'
	echo "$output"
	assert_success
	assert_line "socket: EACCES"
	assert_line "pstack error: PSTACK_STACK=shared belongs to uid 0; this process (uid $(id -u nobody)) cannot join it: Internet sockets fail with EACCES (choose another name)"
	[ "$(grep -c 'PSTACK_STACK' <<<"$output")" = 1 ] || fail "more than one line about it"
	# The abstract name answers nobody with nothing (closed unanswered),
	# whatever nobody sends; root's folder keeps the path out of reach.
	run nobody 30 "$PY" -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect("\0pstack-stack/shared")
cred = s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
print("owner uid", struct.unpack("3i", cred)[2])
got = b""
try:
    s.sendall(b"stat\n")
    got = s.recv(65536)
except (BrokenPipeError, ConnectionResetError):
    pass
print("answer", len(got))
try:
    socket.socket(socket.AF_UNIX).connect(sys.argv[1])
    print("path: connected?!")
except OSError as e:
    print("path:", e.strerror)
' "$(join_sock)"
	echo "$output"
	assert_success
	assert_line "owner uid 0"
	assert_line "answer 0"
	assert_line "path: Permission denied"
	# The server saw no connection.
	! grep -q accepted "$(out srv)" || fail "nobody reached root's server"
}

@test "PSTACK_STACK: a bad value is one line naming the variable and the form, and socket() fails with ENETDOWN" {
	local v
	for v in 'a/b' '..' "$(printf 'x%.0s' {1..33})" 'sp ace'; do
		run ip netns exec "$NS" env PSTACK_STACK="$v" LD_PRELOAD="$PRELOAD" "$PY" -c '
import errno, socket
try:
    socket.socket()
    print("socket made?!")
except OSError as e:
    print("socket:", errno.errorcode[e.errno])
'
		echo "$output"
		assert_success
		assert_line "socket: ENETDOWN"
		assert_line --regexp "^pstack error: PSTACK_STACK='.*' is not valid: expected a name of 1 to 32 letters, digits, '-', '_' or '\.', e\.g\. shared; Internet sockets fail with ENETDOWN$"
		[ "${#lines[@]}" = 2 ] || fail "more than one line for '$v'"
	done
	# The longest good name works.
	v=$(printf 'x%.0s' {1..32})
	run ip netns exec "$NS" timeout -k 3 20 env PSTACK_STACK="$v" LD_PRELOAD="$PRELOAD" "$PY" -c '
import socket
s = socket.socket()
s.bind(("0.0.0.0", 0))
print("bound")
'
	echo "$output"
	assert_success
	assert_output "bound"
}

@test "PSTACK_STACK: a stack of the same name in another network namespace is not joined" {
	PSTACK_STACK=shared bg_pre own 60 "$PY" -c "$OWNER"
	wait_log "$(out own)" '^up$'
	ip netns add "$NS-b"
	ip netns exec "$NS-b" ip link set lo up
	ip netns exec "$NS-b" ip tuntap add dev "$TAP" mode tap
	ip netns exec "$NS-b" ip addr add "$HOST_IP/24" dev "$TAP"
	ip netns exec "$NS-b" ip link set "$TAP" up
	# Its own stack on its own namespace's TAP: the bind starts it. The
	# line in one write: the stack's debug lines share the output, and
	# an unbuffered print() writes the text and its newline apart (one
	# run read "boundpstack debug: ...").
	run ip netns exec "$NS-b" timeout -k 3 20 env PSTACK_STACK=shared PSTACK_LOG=debug LD_PRELOAD="$PRELOAD" "$PY" -c '
import os, socket
s = socket.socket()
s.bind(("0.0.0.0", 0))
os.write(1, b"bound\n")
'
	echo "$output" | grep -v 'pstack debug: tcp'
	assert_success
	assert_line "bound"
	refute_output --partial "joined"
	assert_output --partial "device $TAP registered"
}

# Without PSTACK_STACK: a program a preloaded process runs (an ssh
# session's commands, subprocess.run, system()) joins the stack of the
# ancestor that holds the TAP, as every process shares the kernel's stack;
# an unrelated program still cannot attach (one process per TAP).
SPAWNER='
import os, socket, subprocess, sys
l = socket.socket()
l.bind(("0.0.0.0", 7400))
l.listen()
print("sub", subprocess.run(["curl", "-sS", "-o", sys.argv[2], sys.argv[1]]).returncode)
print("system", os.system("curl -sS -o %s.2 %s" % (sys.argv[2], sys.argv[1])) >> 8)
'
@test "without PSTACK_STACK, programs a preloaded process runs (subprocess, system) join its stack: curl downloads through the TAP; an unrelated program still cannot attach" {
	san_check curl
	mkdir -p "$BATS_TEST_TMPDIR/www"
	make_data "$BATS_TEST_TMPDIR/www/big" $((8 * MiB))
	bg_ker http 60 "$PY" -m http.server --bind "$HOST_IP" --directory "$BATS_TEST_TMPDIR/www" 8000
	wait_kernel_listen 8000
	tap_mark
	run pre 60 "$PY" -c "$SPAWNER" "http://$HOST_IP:8000/big" "$BATS_TEST_TMPDIR/got"
	echo "$output"
	assert_success
	assert_line "sub 0"
	assert_line "system 0"
	assert_same_file "$BATS_TEST_TMPDIR/www/big" "$BATS_TEST_TMPDIR/got"
	assert_same_file "$BATS_TEST_TMPDIR/www/big" "$BATS_TEST_TMPDIR/got.2"
	tap_assert_crossed 0 $((16 * MiB))
	# A program of its own while a preloaded server holds the TAP.
	bg_pre srv 60 "$PY" -c 'import socket; l = socket.socket(); l.bind(("0.0.0.0", 7401)); l.listen(); print("up", flush=True); l.accept()'
	wait_log "$(out srv)" '^up$'
	run pre 30 curl -sS "http://$HOST_IP:8000/big" -o /dev/null
	assert_failure
	assert_output --partial "cannot attach to TAP device"
}
