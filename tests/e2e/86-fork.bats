#!/usr/bin/env bats
# One stack, many processes (issue 14): servers that fork. The process that
# owns the stack keeps serving it; what a child uses goes through relays
# (shim/expose.c, stack/host/relay.c): fork() exposes every connected socket
# the child inherits, and a child's exposed socket answers as the kernel's
# would (data through its live fd; names and options from what it kept).
# Real programs, the kernel of the namespace as the peer, byte-exact checks.

load load-lib

setup_file() { TOOLS=$PSTACK_BUILD/tools; export TOOLS; }
setup() { e2e_setup; }
teardown() {
	# The postgres user's sanitizer reports (a sanitizer build) count too.
	[ -z "${PGROOT:-}" ] || cp "$PGROOT"/san.* "$BATS_TEST_TMPDIR/" 2>/dev/null || true
	e2e_teardown
	[ -z "${PGROOT:-}" ] || rm -rf "$PGROOT"
}

# nginx_workers: the PIDs of the nginx master's children, sorted.
nginx_workers() {
	pgrep -P "$(cat "$NGINX_DIR/nginx.pid")" -x nginx | sort | tr '\n' ' '
}

# ECHO_CLIENTS HOST PORT N BYTES: N concurrent kernel clients, each sends
# BYTES random bytes, half-closes, and reads the echo to the end; prints
# "ok N" when every echo was byte-exact.
ECHO_CLIENTS='
import os, socket, sys, threading
host, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
bad = []
def one(i):
    try:
        echo(i)
    except OSError as e:
        bad.append((i, str(e)))
def echo(i):
    data = os.urandom(size)
    for attempt in range(50):
        try:
            s = socket.create_connection((host, port), timeout=60)
            break
        except ConnectionRefusedError:
            threading.Event().wait(0.1)
    else:
        bad.append((i, "refused")); return
    def send():
        s.sendall(data); s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send); t.start()
    got = bytearray()
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
    t.join(); s.close()
    if bytes(got) != data:
        bad.append((i, len(got)))
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print("bad", bad) if bad else print("ok", n)
'

@test "socat TCP-LISTEN,fork EXEC:cat: 100 concurrent clients echoed byte-exact (each served by a fork child)" {
	command -v socat >/dev/null || skip "socat is not installed"
	bg_pre socat 120 socat TCP-LISTEN:7000,fork,reuseaddr,backlog=128 EXEC:cat
	wait_stack_up
	tap_mark
	run ker 100 "$PY" -c "$ECHO_CLIENTS" "$STACK_IP" 7000 100 65536
	assert_success
	assert_output "ok 100"
	tap_assert_crossed $((100 * 65536)) $((100 * 65536))
	run grep -c "pstack error" "$(err socat)"
	assert_output 0
}

# A ForkingTCPServer that answers each line with the line and the client
# address it was given; the clients check both (their own address).
FORKING_SERVER='
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline()
        self.wfile.write(line.rstrip(b"\n") + b" " + ("%s:%d" % self.client_address).encode() + b"\n")
socketserver.ForkingTCPServer.allow_reuse_address = True
socketserver.ForkingTCPServer.request_queue_size = 128
srv = socketserver.ForkingTCPServer((sys.argv[1], int(sys.argv[2])), H)
print("listening", flush=True)
srv.serve_forever()
'
FORKING_CLIENTS='
import socket, sys, threading
host, port, nthreads, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
bad, done = [], [0]
lock = threading.Lock()
def one(t):
    for i in range(per):
        s = socket.create_connection((host, port), timeout=30)
        me = "%s:%d" % s.getsockname()
        s.sendall(b"req-%d-%d\n" % (t, i))
        f = s.makefile("rb")
        line = f.readline().decode().strip()
        s.close()
        if line != "req-%d-%d %s" % (t, i, me):
            bad.append(line)
        with lock:
            done[0] += 1
ts = [threading.Thread(target=one, args=(t,)) for t in range(nthreads)]
for t in ts: t.start()
for t in ts: t.join()
print("bad", bad[:5]) if bad else print("ok", done[0])
'

@test "Python ForkingTCPServer: 1000 requests from 20 concurrent clients, client_address right" {
	bg_pre srv 150 "$PY" -c "$FORKING_SERVER" "$STACK_IP" 7001
	wait_log "$(out srv)" listening 20
	tap_mark
	run ker 140 "$PY" -c "$FORKING_CLIENTS" "$STACK_IP" 7001 20 50
	assert_success
	assert_output "ok 1000"
	tap_assert_crossed 10000 10000
	run grep -c "Exception\|pstack error" "$(err srv)"
	assert_output 0
}

# FCLOSE_SERVER PORT: accepts 8 connections one after the other; a fork
# child answers each ("child N"), and the parent closes its copy as exim's
# daemon does, with fclose() of an fdopen()'d stream: the C library's own
# close, which no interposed close() sees. The kernel gives the next
# connection the same fd number; under the preload most of them (the stack
# thread's spare socket pairs may take the number first).
FCLOSE_SERVER='
import ctypes, os, socket, sys
libc = ctypes.CDLL(None)
libc.fdopen.restype = ctypes.c_void_p
libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
libc.fclose.argtypes = [ctypes.c_void_p]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1])))
l.listen(8)
print("listening", flush=True)
for i in range(8):
    c, a = l.accept()
    pid = os.fork()
    if pid == 0:
        c.sendall(b"child %d\n" % i)
        os._exit(0)
    libc.fclose(libc.fdopen(c.detach(), b"r"))
    os.waitpid(pid, 0)
print("done", flush=True)
'

# Node's cluster module (round-robin, Linux's default): the primary accepts
# and hands each connection to a worker over its IPC channel (a Unix
# socket, SCM_RIGHTS); each worker answers with what it sees of the
# connection. The worker is exec'd node, not a fork.
NODE_CLUSTER='
const cluster = require("cluster"), http = require("http");
if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  let up = 0;
  for (let i = 0; i < 2; i++) cluster.fork().on("listening", () => { if (++up == 2) console.log("listening"); });
} else {
  http.createServer((q, r) => {
    const s = q.socket;
    r.end(`${s.remoteAddress} ${s.remotePort == q.headers["x-port"]} ${s.localAddress}:${s.localPort} ${s.remoteFamily}\n`);
  }).listen(Number(process.argv[3]), process.argv[2]);
}
'

@test "Node's cluster (the primary passes each connection to a worker over SCM_RIGHTS): the worker sees the connection's addresses, not the Unix socket's" {
	command -v node >/dev/null || skip "node is missing (nodejs not installed: sh tests/deps.sh install)"
	bg_pre node 60 node -e "$NODE_CLUSTER" x "$STACK_IP" 8080
	wait_log "$(out node)" listening 20
	tap_mark
	run ker 20 "$PY" -c '
import socket, sys
for i in range(6):
    s = socket.create_connection((sys.argv[1], 8080), timeout=10)
    s.sendall(b"GET / HTTP/1.0\r\nX-Port: %d\r\n\r\n" % s.getsockname()[1])
    d = b""
    while True:
        b = s.recv(4096)
        if not b: break
        d += b
    print(d.split(b"\r\n\r\n", 1)[1].decode().strip())
' "$STACK_IP"
	assert_success
	assert_equal "$(echo "$output" | sort -u)" "$HOST_IP true $STACK_IP:8080 IPv4"
	assert_equal "$(echo "$output" | wc -l)" 6
	tap_assert_crossed 600 600
}

@test "a server that closes its copy of each connection it forked a child for with fclose() (the C library's own close, as exim's daemon) accepts the next 7, as on the kernel" {
	local i
	bg_ker ksrv 30 "$PY" -c "$FCLOSE_SERVER" 7030
	wait_log "$(out ksrv)" listening 20
	for i in 0 1 2 3 4 5 6 7; do
		run ker 10 nc -d 127.0.0.1 7030
		assert_output "child $i"
	done
	bg_wait ksrv 10
	bg_pre srv 30 "$PY" -c "$FCLOSE_SERVER" 7030
	wait_log "$(out srv)" listening 20
	tap_mark
	for i in 0 1 2 3 4 5 6 7; do
		run ker 10 nc -d "$STACK_IP" 7030
		assert_output "child $i"
	done
	bg_wait srv 10
	assert_equal "$BG_STATUS" 0
	assert_equal "$(cat "$(out srv)")" "$(cat "$(out ksrv)")"
	tap_assert_crossed 100 100
}

# A UDP server whose fork children share its socket (bound, not connected):
# each child answers what it reads with its own pid.
UDP_PREFORK_SERVER='
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
kids = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        while True:
            d, a = s.recvfrom(2048)
            if d == b"quit":
                os._exit(0)
            s.sendto(d + b"|%d" % os.getpid(), a)
    kids.append(pid)
print("listening", flush=True)
for p in kids:
    os.waitpid(p, 0)
print("done", flush=True)
'
UDP_CLIENT='
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(3)
pids = set()
for i in range(n):
    msg = b"%d:" % i + b"x" * (i % 1400)
    c.sendto(msg, (host, port))
    d, a = c.recvfrom(4096)
    body, pid = d.rsplit(b"|", 1)
    assert body == msg and a == (host, port), (i, d[:40], a)
    pids.add(pid)
for i in range(2):
    c.sendto(b"quit", (host, port))
print("ok", n, "from", len(pids), "children" if len(pids) > 1 else "child")
'

@test "a UDP server's fork children share its unconnected socket (Python, recvfrom/sendto in each child): 500 datagrams answered byte-exact" {
	bg_pre srv 60 "$PY" -c "$UDP_PREFORK_SERVER" 7010
	wait_log "$(out srv)" listening 20
	tap_mark
	run ker 60 "$PY" -c "$UDP_CLIENT" "$STACK_IP" 7010 500
	assert_success
	assert_output --regexp '^ok 500 from [12] child'
	tap_assert_crossed 20000 20000
	bg_wait srv 20
	assert_equal "$BG_STATUS" 0
	run grep -c "Exception\|Error\|pstack error" "$(err srv)"
	assert_output 0
}

# A UDP server's fork child joins a multicast group on the socket it shares
# with its parent: the membership is the socket's (Linux's), so the child
# hears the group, and the parent after it; each answers the sender.
UDP_MCAST_SERVER='
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
pid = os.fork()
if pid == 0:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("239.1.2.3"), socket.inet_aton("0.0.0.0")))
    print("joined", flush=True)
    d, a = s.recvfrom(2048)
    s.sendto(b"child:" + d, a)
    os._exit(0)
os.waitpid(pid, 0)
d, a = s.recvfrom(2048)
s.sendto(b"parent:" + d, a)
s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("239.1.2.3"), socket.inet_aton("0.0.0.0")))
try:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("239.1.2.3"), socket.inet_aton("0.0.0.0")))
except OSError as e:
    print("again", e.errno == 99, flush=True)
print("done", flush=True)
'
UDP_MCAST_CLIENT='
import socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
c.settimeout(5)
for m in (b"one", b"two"):
    c.sendto(m, ("239.1.2.3", int(sys.argv[2])))
    print(c.recvfrom(2048)[0].decode(), flush=True)
'

@test "a UDP server's fork child joins a multicast group on the socket it shares (Python): it hears the group, the parent after it, as on the kernel" {
	bg_pre srv 20 "$PY" -c "$UDP_MCAST_SERVER" 7012
	wait_log "$(out srv)" joined 20
	run ker 20 "$PY" -c "$UDP_MCAST_CLIENT" "$HOST_IP" 7012
	assert_success
	assert_output "child:one
parent:two"
	bg_wait srv 20
	assert_equal "$BG_STATUS" 0
	run cat "$(out srv)"
	assert_output "joined
again True
done"
}

# A server (its listener in the stack) with a metrics client made at import
# time (an unbound UDP socket), and prefork workers that each send through
# it: Linux binds it at the first send, one port for all the processes that
# hold it.
UDP_UNBOUND_WORKERS='
import os, socket, sys
l = socket.socket()
l.bind(("0.0.0.0", 0))
l.listen()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
kids = []
for w in range(2):
    pid = os.fork()
    if pid == 0:
        for i in range(100):
            s.sendto(b"w%d.%d" % (w, i), (sys.argv[1], int(sys.argv[2])))
        os._exit(0)
    kids.append(pid)
print("exits", [os.waitpid(p, 0)[1] for p in kids], flush=True)
s.sendto(b"parent", (sys.argv[1], int(sys.argv[2])))
'
UDP_COUNTER='
import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
r.settimeout(30)
got, ports = set(), set()
while b"parent" not in got:
    d, a = r.recvfrom(100)
    got.add(d)
    ports.add(a)
print("got %d from %d address(es) %s" % (len(got), len(ports), sorted(ports)[0][0]))
'

@test "a server's UDP socket made before fork and never bound (a metrics client): both fork children send through it, from one port, as on the kernel" {
	bg_ker cnt 60 "$PY" -c "$UDP_COUNTER" "$HOST_IP" 7011
	wait_log "$(out cnt)" listening 20
	tap_mark
	run pre 60 "$PY" -c "$UDP_UNBOUND_WORKERS" "$HOST_IP" 7011
	assert_success
	assert_output "exits [0, 0]"
	bg_wait cnt 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out cnt)"
	assert_line "got 201 from 1 address(es) $STACK_IP"
	tap_assert_crossed 2000 0
}

# DROPPED_CHILD HOST PORT: a root process with a socket of its own forks a
# child that drops root (setuid nobody, as vsftpd's session), then connects
# out, and listens on port 80 and on port 8089.
DROPPED_CHILD='
import errno, os, socket, sys
l = socket.socket()
l.bind(("0.0.0.0", 0))
l.listen()
pid = os.fork()
if pid == 0:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    print("connect from %s" % c.getsockname()[0], flush=True)
    c.sendall(b"from-nobody")
    c.close()
    for port in (80, 8089):
        s = socket.socket()
        try:
            s.bind(("0.0.0.0", port))
            s.listen()
            print("port %d listens" % port, flush=True)
        except OSError as e:
            print("port %d %s" % (port, errno.errorcode[e.errno]), flush=True)
    os._exit(0)
print("exit", os.waitpid(pid, 0)[1])
'
ONE_RECEIVER='
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen()
print("listening", flush=True)
c, a = l.accept()
print(c.recv(100).decode(), a[0], flush=True)
'

@test "a root server's fork child that dropped root (setuid nobody, as vsftpd's session) connects through its parent's stack, and is refused port 80 (EACCES) but not 8089, as on the kernel" {
	local where
	for where in ker pre; do
		bg_ker "rcv$where" 30 "$PY" -c "$ONE_RECEIVER" "$HOST_IP" 7031
		wait_log "$(out "rcv$where")" listening 20
		[ $where = pre ] && tap_mark
		run $where 20 "$PY" -c "$DROPPED_CHILD" "$HOST_IP" 7031
		assert_success
		assert_line "port 80 EACCES"
		assert_line "port 8089 listens"
		assert_line "exit 0"
		bg_wait "rcv$where" 10
	done
	assert_line "connect from $STACK_IP"
	run grep -h from- "$(out rcvker)" "$(out rcvpre)"
	assert_output "from-nobody $HOST_IP
from-nobody $STACK_IP"
	tap_assert_crossed 100 100
}

# EUID_ROUNDS: a root program with its stack running takes another
# effective user and group and goes back to root, twice (varnishd's manager
# does this around each privileged step), then compares the credentials of
# its stack process (its child named pstack) with its own.
EUID_ROUNDS='
import os, socket
l = socket.socket()
l.bind(("0.0.0.0", 0))
l.listen()
for i in range(2):
    os.setegid(65534); os.seteuid(65534)
    os.seteuid(0); os.setegid(0)
def ids(pid):
    with open("/proc/%d/status" % pid) as f:
        return [ln.split() for ln in f if ln.startswith(("Uid:", "Gid:"))]
kids = []
for t in os.listdir("/proc/self/task"):
    with open("/proc/self/task/%s/children" % t) as f:
        kids += [int(p) for p in f.read().split()]
stack = [p for p in kids if open("/proc/%d/comm" % p).read().strip() == "pstack"]
print("stack processes", len(stack))
print("program", ids(os.getpid()))
for p in stack:
    print("stack  ", ids(p))
'

@test "a root program that takes another effective user and goes back to root (seteuid, setegid, as varnishd): its stack process follows it back, without a warning" {
	run pre 20 "$PY" -c "$EUID_ROUNDS"
	assert_success
	assert_line "stack processes 1"
	refute_output --partial "cannot take"
	local prog
	prog=$(sed -n 's/^program //p' <<<"$output")
	assert_equal "$prog" "[['Uid:', '0', '0', '0', '0'], ['Gid:', '0', '0', '0', '0']]"
	assert_line "stack   $prog"
}

# A fork child's own new connection (an nginx worker's upstream, a
# backend's outgoing connection): through the stack its parent holds, from
# the stack's address, as every process shares the kernel's stack.
CHILD_CONNECTS='
import os, socket, sys
l = socket.socket()
l.bind(("0.0.0.0", 0))
l.listen()
pid = os.fork()
if pid == 0:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
    data = open(sys.argv[3], "rb").read()
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    print("child local %s" % c.getsockname()[0], flush=True)
    print("child got", c.recv(100).decode(), flush=True)
    os._exit(0)
print("exit", os.waitpid(pid, 0)[1])
'
PEER_LOGGER='
import hashlib, socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen()
print("listening", flush=True)
c, a = l.accept()
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
c.sendall(b"done")
print("peer %s bytes %d sha %s" % (a[0], n, h.hexdigest()), flush=True)
'

@test "a fork child's own new TCP connection goes through the stack its parent holds (from the stack's address, over the TAP): 4 MiB byte-exact" {
	make_data "$BATS_TEST_TMPDIR/in" $((4 * MiB))
	bg_ker peer 60 "$PY" -c "$PEER_LOGGER" "$HOST_IP" 7012
	wait_log "$(out peer)" listening 20
	tap_mark
	run pre 60 "$PY" -c "$CHILD_CONNECTS" "$HOST_IP" 7012 "$BATS_TEST_TMPDIR/in"
	echo "$output"
	assert_success
	assert_line "child local $STACK_IP"
	assert_line "child got done"
	assert_line "exit 0"
	bg_wait peer 30
	run cat "$(out peer)"
	assert_line "peer $STACK_IP bytes $((4 * MiB)) sha $(sha "$BATS_TEST_TMPDIR/in")"
	tap_assert_crossed $((4 * MiB)) 0
}

@test "socat TCP-LISTEN,fork EXEC:cat,nofork (cat exec'd with the socket as stdin and stdout): 16 MiB echoed byte-exact" {
	command -v socat >/dev/null || skip "socat is not installed"
	make_data "$BATS_TEST_TMPDIR/in" $((16 * MiB))
	bg_pre socat 120 socat TCP-LISTEN:7002,fork,reuseaddr,backlog=128 EXEC:cat,nofork
	wait_stack_up
	tap_mark
	run ker 100 "$PY" -c '
import socket, sys, threading
data = open(sys.argv[3], "rb").read()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
def send():
    s.sendall(data); s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = bytearray()
while True:
    b = s.recv(1 << 16)
    if not b: break
    got += b
t.join()
print("ok" if bytes(got) == data else "bad %d" % len(got))
' "$STACK_IP" 7002 "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output ok
	tap_assert_crossed $((16 * MiB)) $((16 * MiB))
}

# A server under the preload accepts, forks, and the child (and then the
# parent, whose copy is exposed now) answers what a server asks about its
# connection: the kernel's answers for an accepted AF_INET TCP socket.
ANSWERS_SERVER='
import os, socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(8)
print("listening", flush=True)
def answers(c):
    g = lambda lvl, opt: c.getsockopt(lvl, opt)
    out = [os.getpid() != ppid and "child" or "parent",
           "%s:%d" % c.getsockname(), "%s:%d" % c.getpeername(),
           "family=%d" % c.family,
           "type=%d" % g(socket.SOL_SOCKET, socket.SO_TYPE),
           "domain=%d" % g(socket.SOL_SOCKET, socket.SO_DOMAIN),
           "protocol=%d" % g(socket.SOL_SOCKET, socket.SO_PROTOCOL),
           "error=%d" % g(socket.SOL_SOCKET, socket.SO_ERROR),
           "acceptconn=%d" % g(socket.SOL_SOCKET, socket.SO_ACCEPTCONN),
           "rcvbuf_pos=%d" % (g(socket.SOL_SOCKET, socket.SO_RCVBUF) > 0),
           "sndbuf_pos=%d" % (g(socket.SOL_SOCKET, socket.SO_SNDBUF) > 0)]
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 30)
    c.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x10)
    out += ["nodelay=%d" % g(socket.IPPROTO_TCP, socket.TCP_NODELAY),
            "keepalive=%d" % g(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            "keepidle=%d" % g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            "tos=%d" % g(socket.IPPROTO_IP, socket.IP_TOS),
            "ipopts=%d" % len(c.getsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, 40))]
    try:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 0)
        out.append("keepidle0=accepted")
    except OSError as e:
        out.append("keepidle0=%s" % os.strerror(e.errno))
    return " ".join(out) + "\n"
ppid = os.getpid()
c, _ = l.accept()
pid = os.fork()
if pid == 0:
    c.sendall(answers(c).encode())
    os._exit(0)
os.waitpid(pid, 0)
c.sendall(answers(c).encode())
c.close()
'

@test "a fork child's accepted socket (and the parent's, exposed by the fork) answers getsockname/getpeername/getsockopt/setsockopt as the kernel" {
	bg_pre srv 60 "$PY" -c "$ANSWERS_SERVER" "$STACK_IP" 7003
	wait_log "$(out srv)" listening 20
	run ker 30 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
print("me %s:%d" % s.getsockname())
f = s.makefile("rb")
for line in f:
    print(line.decode().strip())
' "$STACK_IP" 7003
	assert_success
	me=$(sed -n 's/^me //p' <<<"$output")
	want="$STACK_IP:7003 $me family=2 type=1 domain=2 protocol=6 error=0 acceptconn=0 rcvbuf_pos=1 sndbuf_pos=1 nodelay=1 keepalive=1 keepidle=30 tos=16 ipopts=0 keepidle0=Invalid argument"
	assert_line "child $want"
	assert_line "parent $want"
}

# WHO: run with a connected socket as stdin and stdout (socat EXEC,nofork,
# under the preload): Python builds a socket object from fd 0 (it asks
# SO_DOMAIN, SO_TYPE, SO_PROTOCOL) and prints what it is and whom it talks to.
WHO='
import socket
s = socket.socket(fileno=0)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("family=%d type=%d" % (s.family, s.type), "%s:%d" % s.getsockname(), "%s:%d" % s.getpeername(),
      "nodelay=%d" % s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), flush=True)
line = s.makefile("rb").readline()
s.sendall(b"got " + line)
'

@test "exec: a program exec'd under the preload with an exposed socket as stdin/stdout (socat EXEC,nofork) sees an AF_INET socket: names, options, data" {
	command -v socat >/dev/null || skip "socat is not installed"
	printf '%s' "$WHO" >"$BATS_TEST_TMPDIR/who.py"
	bg_pre socat 60 socat TCP-LISTEN:7004,fork,reuseaddr "EXEC:$PY $BATS_TEST_TMPDIR/who.py,nofork"
	wait_stack_up
	run ker 30 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
print("me %s:%d" % s.getsockname())
f = s.makefile("rb")
print(f.readline().decode().strip())
s.sendall(b"hello\n")
print(f.readline().decode().strip())
' "$STACK_IP" 7004
	assert_success
	me=$(sed -n 's/^me //p' <<<"$output")
	assert_line "family=2 type=1 $STACK_IP:7004 $me nodelay=1"
	assert_line "got hello"
}

# A listener passed to an image exec'd with an environment of the caller's
# own, without LD_PRELOAD (dovecot's master so execs imap-login): the image
# accepts on it as on a kernel socket. The kernel's run of the same program
# beside it.
EXEC_NOENV_LISTENER='
import os, socket, sys
if sys.argv[1] == "child":
    l = socket.socket(fileno=int(sys.argv[2]))
    c, a = l.accept()
    c.sendall(c.recv(100).upper() + (b" %s" % l.getsockname()[0].encode()))
    c.close()
    sys.exit(0)
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[2])))
l.listen()
os.set_inheritable(l.fileno(), True)
print("listening", flush=True)
env = {k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")}   # a sanitizer build: its settings
env["PATH"] = "/usr/bin:/bin"
os.execve(sys.executable, [sys.executable, "-c", sys.argv[1], "child", str(l.fileno())], env)
'

@test "exec: an image exec'd with an environment without LD_PRELOAD (dovecot's imap-login) accepts on the listener it inherits, as on the kernel" {
	bg_pre srv 30 "$PY" -c "$EXEC_NOENV_LISTENER" "$EXEC_NOENV_LISTENER" 7005
	wait_log "$(out srv)" listening 20
	wait_stack_up
	run ker 20 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7005), timeout=10)
s.sendall(b"hello")
print(s.recv(100).decode())
' "$STACK_IP"
	assert_success
	assert_output "HELLO 0.0.0.0"
	bg_wait srv 20
	assert_equal "$BG_STATUS" 0
}

# nginx as Debian ships it: a master that opens the listener and forks the
# workers that accept on it (through the listener's channel, relayed by the
# master's stack). Here with daemon off (the master owns the stack); with
# nginx's default daemon on, below.
@test "nginx master_process on, 2 workers: wrk -c100 (LOAD_WRK_S) without an error; nginx -s reload under load loses no connection; nginx -s quit drains a transfer" {
	[ -x "$TOOLS/conn_churn" ] || fail "no $TOOLS/conn_churn: build first (make all)"
	NGINX_MASTER=on NGINX_WORKERS=2 stack_nginx
	make_data "$WWW/32m" $((32 * MiB))
	run nginx_workers
	[ "$(wc -w <<<"$output")" = 2 ] || fail "nginx workers: '$output' (want 2)"
	tap_mark
	wrk_clean -t2 -c100 -d"${LOAD_WRK_S:-6}s" "http://$STACK_IP:8080/index.html"
	tap_assert_crossed $((5 * MiB)) 100000

	# Reload while short connections (HTTP/1.0: nginx closes each) keep
	# coming: the old workers finish theirs, the new ones take the next
	# off the same listener; not one connection fails.
	local old
	old=$(nginx_workers)
	bg_ker churn 120 "$TOOLS/conn_churn" -n 40000 -c 8 -T 100 -q \
		-r 'GET /index.html HTTP/1.0\r\n\r\n' -x 'HTTP/1.1 200' "$STACK_IP" 8080
	sleep 1     # load first: the reload must land in the middle of it
	run ker 10 nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -s reload
	assert_success
	wait_until 20 "new nginx workers after the reload" \
		bash -c "[ \"\$(pgrep -P $(cat "$NGINX_DIR/nginx.pid") -x nginx | sort | tr '\n' ' ')\" != '$old' ]"
	kill -0 "$PID_churn" 2>/dev/null || fail "the load ended before the reload took effect"
	bg_wait churn 110
	cat "$(out churn)"
	assert_equal "$BG_STATUS" 0
	run grep -c "ok=40000 failed=0" "$(out churn)"
	assert_output 1

	# quit: the workers finish the transfer in flight (32 MiB, rate
	# limited so that it spans the quit), then everything exits.
	bg_ker dl 60 curl -sS -f --limit-rate 16M -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8080/32m"
	wait_until 10 "the download to start" test -s "$BATS_TEST_TMPDIR/got"
	run ker 10 nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -s quit
	assert_success
	bg_wait dl 40
	assert_equal "$BG_STATUS" 0
	assert_same_file "$WWW/32m" "$BATS_TEST_TMPDIR/got"
	bg_wait nginx 20
	assert_equal "$BG_STATUS" 0
	run grep -E "emerg|alert|crit|pstack error" "$(err nginx)"
	assert_output ""
}

@test "nginx with its defaults (daemon on, master_process on, 2 workers): the first process exits, a keeper carries the stack; wrk -c100 without an error; curl on localhost served; nginx -s quit ends every process, the keeper within PSTACK_LINGER_MS" {
	# The first process opens the listener (the stack is its), forks the
	# master and exits: its exit hands the stack to a keeper (87-keeper),
	# and the master's workers accept through the listener's channel.
	# (The master is a fork child whose signals must work: under TSan, the
	# library forks with its stack thread paused, preload.c's fork().)
	local log=$BATS_TEST_TMPDIR/pstack.log master keeper
	NGINX_DAEMON=on NGINX_MASTER=on NGINX_WORKERS=2 stack_nginx \
		env PSTACK_LINGER_MS=2000 PSTACK_LOG=debug PSTACK_LOG_FILE="$log"
	wait_until 10 "the nginx master's pid file" test -s "$NGINX_DIR/nginx.pid"
	master=$(cat "$NGINX_DIR/nginx.pid")
	echo "$master" >>"$PIDFILE"
	wait_until 10 "the keeper's line in the log" grep -q "carries the stack on" "$log"
	keeper=$(sed -n 's/.*keeper (pid \([0-9]*\)): carries the stack on.*/\1/p' "$log")
	[ "$(grep -c . <<<"$keeper")" = 1 ] || fail "expected one keeper, the log says: '$keeper'"
	echo "$keeper" >>"$PIDFILE"
	bg_wait nginx 10
	assert_equal "$BG_STATUS" 0    # the first process, gone once the master runs
	run nginx_workers
	[ "$(wc -w <<<"$output")" = 2 ] || fail "nginx workers: '$output' (want 2)"
	tap_mark
	wrk_clean -t2 -c100 -d"${LOAD_WRK_S:-6}s" "http://$STACK_IP:8080/index.html"
	tap_assert_crossed $((5 * MiB)) 100000
	# nginx listens on every address: localhost reaches it too, as on the
	# kernel (the listener's loopback side, carried by the keeper's relay
	# and handed to the workers over the listener's channel).
	run ker 10 curl -sS -o "$BATS_TEST_TMPDIR/lo.html" http://127.0.0.1:8080/index.html
	assert_success
	cmp "$BATS_TEST_TMPDIR/lo.html" "$WWW/index.html" || fail "curl on localhost got another page"
	run ker 10 nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -s quit
	assert_success
	pid_wait_gone "$master" 20 || fail "the nginx master is still running after quit"
	pid_wait_gone "$keeper" 10 || fail "the keeper is still running 10 s after nginx quit (PSTACK_LINGER_MS=2000)"
	run grep -E "emerg|alert|crit|pstack error" "$(err nginx)"
	assert_output ""
}

# SYSTEM_C HOST PORT: connects, writes, lets a popen() shell and a system()
# shell write into the inherited socket (fd without FD_CLOEXEC), writes again.
SYSTEM_C='
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
	char cmd[128], line[64];
	int s = socket(AF_INET, SOCK_STREAM, 0);
	FILE *f;
	inet_pton(AF_INET, argv[1], &a.sin_addr);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || write(s, "parent;", 7) != 7)
		return 1;
	snprintf(cmd, sizeof(cmd), "printf popen-child\\; >&%d && echo done", s);
	f = popen(cmd, "r");
	if (!f || !fgets(line, sizeof(line), f) || pclose(f) != 0)
		return 2;
	snprintf(cmd, sizeof(cmd), "printf system-child\\; >&%d", s);
	if (system(cmd) != 0)
		return 3;
	return write(s, "parent-again", 12) == 12 && close(s) == 0 ? 0 : 4;
}
'

@test "system() and popen() children write into an inherited stack socket, in order with the parent" {
	printf '%s' "$SYSTEM_C" >"$BATS_TEST_TMPDIR/system.c"
	gcc -O2 -o "$BATS_TEST_TMPDIR/system" "$BATS_TEST_TMPDIR/system.c"
	bg_ker srv 30 "$PY" -c '
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 9100))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
data = b""
while True:
    b = c.recv(100)
    if not b:
        break
    data += b
print(data.decode(), flush=True)
' "$HOST_IP"
	wait_log "$(out srv)" listening
	run pre 20 "$BATS_TEST_TMPDIR/system" "$HOST_IP" 9100
	assert_success
	bg_wait srv 10
	run cat "$(out srv)"
	assert_line "parent;popen-child;system-child;parent-again"
}

# PostgreSQL: the postmaster forks a backend per connection (and its own
# helpers); the backends use the accepted sockets through relays and ask
# them about their peer (pg_hba.conf by address, inet_client_addr()).
@test "PostgreSQL under the preload (postmaster forks the backends): pgbench -i and a 30 s pgbench -c 8 from the kernel side without errors" {
	[ -x /usr/local/bin/postgres ] && [ -x /usr/local/bin/initdb ] || skip "no PostgreSQL server in /usr/local/bin"
	command -v pgbench >/dev/null || skip "pgbench is not installed (Debian: postgresql-client)"
	id postgres >/dev/null 2>&1 || skip "no postgres user"
	san_check /usr/local/bin/postgres
	# A TAP the postgres user may attach to; /dev/net/tun open to it in
	# the private mount namespace of the server's `ip netns exec` (as
	# lib.bash's nobody() does).
	nsx ip link del "$TAP"
	nsx ip tuntap add dev "$TAP" mode tap user postgres
	nsx ip addr add "$HOST_IP/24" dev "$TAP"
	nsx ip link set "$TAP" up
	PGROOT=$(mktemp -d /tmp/pst-pg.XXXXXX)
	chown postgres "$PGROOT"
	runuser -u postgres -- /usr/local/bin/initdb -D "$PGROOT/data" -A trust -U postgres >"$BATS_TEST_TMPDIR/initdb.log" 2>&1 ||
		fail "initdb: $(tail -5 "$BATS_TEST_TMPDIR/initdb.log")"
	echo "host all all 192.0.2.0/24 trust" >>"$PGROOT/data/pg_hba.conf"
	local as_pg=${NOBODY_SH//--reuid=nobody --regid=nogroup/--reuid=postgres --regid=postgres}
	_bg pg ip netns exec "$NS" timeout -k 3 180 sh -c "$as_pg" sh "$BATS_TEST_TMPDIR/tun" \
		env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS="detect_leaks=0:log_path=$PGROOT/san" \
		UBSAN_OPTIONS="print_stacktrace=1:log_path=$PGROOT/san" \
		/usr/local/bin/postgres -D "$PGROOT/data" -c listen_addresses="$STACK_IP" \
		-c unix_socket_directories="$PGROOT" -c max_connections=50
	wait_until 30 "postgres to accept connections" nsx pg_isready -q -h "$STACK_IP" -U postgres -t 1
	run ker 20 psql -h "$STACK_IP" -U postgres -Atc "select inet_server_addr(), inet_client_addr()"
	assert_success
	assert_output "$STACK_IP|$HOST_IP"
	tap_mark
	run ker 60 pgbench -h "$STACK_IP" -U postgres -i -s 2 postgres
	assert_success
	run ker 60 pgbench -h "$STACK_IP" -U postgres -c 8 -T 30 postgres
	echo "$output"
	assert_success
	assert_output --partial "number of failed transactions: 0"
	assert_output --regexp "number of transactions actually processed: [1-9][0-9]*"
	tap_assert_crossed 100000 100000
	# (pg_isready's first tries may meet "the database system is starting up".)
	run bash -c "grep -E 'FATAL|PANIC|pstack error' '$(err pg)' | grep -v 'the database system is starting up'"
	assert_output ""
}

# OpenSSH: sshd forks for each connection and re-execs itself with the
# accepted socket (the new image gets its entry back: SSH_CONNECTION shows
# the addresses); its privilege-separated children use it through relays.
@test "sshd -D under the preload: key login runs a command (SSH_CONNECTION right), scp copies 64 MiB byte-exact" {
	[ -x /usr/sbin/sshd ] || skip "sshd is not installed (Debian: openssh-server)"
	local d=$BATS_TEST_TMPDIR/ssh
	mkdir -p "$d" /run/sshd
	chmod 700 "$d"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
	cp "$d/user_key.pub" "$d/authorized_keys"
	cat >"$d/sshd_config" <<CONF
Port 2222
ListenAddress $STACK_IP
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
CONF
	bg_pre sshd 120 /usr/sbin/sshd -D -e -f "$d/sshd_config"
	wait_stack_up
	local opts=(-i "$d/user_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
		-o LogLevel=ERROR)
	run retry_refused 20 ker 30 ssh -p 2222 "${opts[@]}" "root@$STACK_IP" 'echo "via $SSH_CONNECTION"'
	assert_success
	assert_output --regexp "^via $HOST_IP [0-9]+ $STACK_IP 2222$"
	make_data "$BATS_TEST_TMPDIR/in" $((64 * MiB))
	tap_mark
	run ker 120 scp -P 2222 "${opts[@]}" "$BATS_TEST_TMPDIR/in" "root@$STACK_IP:$BATS_TEST_TMPDIR/copy"
	assert_success
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/copy"
	tap_assert_crossed 100000 $((64 * MiB))
	run grep -c "pstack error" "$(err sshd)"
	assert_output 0
}

# A thread blocked in accept() while another thread forks: the listener is
# exposed under it, and the connection comes to it over the channel.
@test "a thread blocked in accept() while another thread forks gets the next connection (through the listener's channel)" {
	bg_pre srv 30 "$PY" -c '
import os, socket, sys, threading, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 7005))
l.listen(8)
def serve():
    c, a = l.accept()
    c.sendall(b"accepted %s:%d\n" % (a[0].encode(), a[1]))
    c.close()
t = threading.Thread(target=serve)
t.start()
time.sleep(0.5)                 # the thread is in accept() now
pid = os.fork()
if pid == 0:
    time.sleep(5)
    os._exit(0)
print("forked", flush=True)
t.join()
os.waitpid(pid, 0)
' "$STACK_IP"
	wait_log "$(out srv)" forked 20
	run ker 10 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7005), timeout=5)
print("me %s:%d" % s.getsockname())
print(s.makefile("rb").readline().decode().strip())
' "$STACK_IP"
	assert_success
	me=$(sed -n 's/^me //p' <<<"$output")
	assert_line "accepted $me"
}

# ORPHAN_PY IP PORT GO: a listener, a fork child that keeps it and the parent
# gone; once GO exists the child accepts without blocking, then blocking
# until a SIGALRM (its handler raises), and prints what each gave.
ORPHAN_PY='
import errno, os, signal, socket, sys, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(8)
if os.fork():
    os._exit(0)
print("child", os.getpid(), flush=True)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
l.setblocking(False)
try:
    l.accept()
    print("nonblocking: accepted", flush=True)
except OSError as e:
    print("nonblocking:", errno.errorcode[e.errno], flush=True)
l.setblocking(True)
class Alarm(Exception):
    pass
def on_alarm(sig, frame):
    raise Alarm()
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.5)
try:
    l.accept()
    print("blocking: accepted", flush=True)
except Alarm:
    print("blocking: interrupted by the signal", flush=True)
except OSError as e:
    print("blocking:", errno.errorcode[e.errno], flush=True)
'

@test "a fork child's listener whose stack is gone (keeper killed) answers accept() as Linux's idle listener: EAGAIN, or a wait a signal ends (no EINVAL loop)" {
	local log=$BATS_TEST_TMPDIR/pstack.log keeper child
	# The kernel: a listener still open in the child, no connection.
	touch "$BATS_TEST_TMPDIR/go-ker"
	bg_ker lin 20 "$PY" -c "$ORPHAN_PY" "$HOST_IP" 7006 "$BATS_TEST_TMPDIR/go-ker"
	wait_log "$(out lin)" "^blocking:" 10
	child=$(sed -n 's/^child //p' "$(out lin)")
	echo "$child" >>"$PIDFILE"
	run cat "$(out lin)"
	assert_line "nonblocking: EAGAIN"
	assert_line "blocking: interrupted by the signal"

	# pstack: the parent's exit hands the listener's relay to a keeper; a
	# SIGKILL of the keeper ends the child's channel.
	bg_pre orphan 20 env PSTACK_LOG=debug PSTACK_LOG_FILE="$log" \
		"$PY" -c "$ORPHAN_PY" "$STACK_IP" 7006 "$BATS_TEST_TMPDIR/go"
	wait_log "$(out orphan)" "^child" 10
	child=$(sed -n 's/^child //p' "$(out orphan)")
	echo "$child" >>"$PIDFILE"
	wait_log "$log" "carries the stack on" 10
	keeper=$(sed -n 's/.*keeper (pid \([0-9]*\)): carries the stack on.*/\1/p' "$log")
	echo "$keeper" >>"$PIDFILE"
	kill -9 "$keeper"
	pid_wait_gone "$keeper" 10 || fail "the keeper is still running after SIGKILL"
	touch "$BATS_TEST_TMPDIR/go"
	wait_log "$(out orphan)" "^blocking:" 10
	run cat "$(out orphan)"
	assert_line "nonblocking: EAGAIN"
	assert_line "blocking: interrupted by the signal"
}

# CONNECTING_PY IP PORT: a non-blocking connect(), then fork at once; the
# child polls for writable, reads SO_ERROR, and when connected writes a
# line and prints the answer.
CONNECTING_PY='
import errno, os, select, socket, sys
s = socket.socket()
s.setblocking(False)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except BlockingIOError:
    pass
pid = os.fork()
if pid == 0:
    p = select.poll()
    p.register(s, select.POLLOUT)
    print("child forked", flush=True)
    ev = p.poll(20000)
    print("child writable", bool(ev and ev[0][1] & select.POLLOUT), flush=True)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    print("child SO_ERROR", errno.errorcode.get(err, err), flush=True)
    if err == 0:
        s.setblocking(True)
        s.sendall(b"from the child\n")
        print("child got", s.makefile("rb").readline().decode().strip(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
'

# syn_drops PORT: the SYNs to PORT the rule connecting_fork sets has dropped.
syn_drops() {
	ip netns exec "$NS" iptables -L INPUT -v -x -n | awk -v p="dpt:$1" '$3 == "DROP" && $0 ~ p { print $1 }'
}
syn_resent() { [ "$(syn_drops "$1")" -ge 2 ]; }

# connecting_fork NAME bg_pre|bg_ker IP PORT: CONNECTING_PY with the SYNs to
# PORT dropped until the child is polling and the SYN went again (its
# first retransmission, a second on); the child must not see the fd
# writable before the handshake: looked at while no handshake can end.
connecting_fork() {
	local name=$1 how=$2 ip=$3 port=$4
	ip netns exec "$NS" iptables -I INPUT -p tcp --syn --dport "$port" -j DROP
	"$how" "$name" 30 "$PY" -c "$CONNECTING_PY" "$ip" "$port"
	wait_log "$(out "$name")" "child forked" 10
	wait_until 10 "the SYN to port $port sent again" syn_resent "$port"
	run grep -c "child writable" "$(out "$name")"
	ip netns exec "$NS" iptables -D INPUT -p tcp --syn --dport "$port" -j DROP
	assert_output 0
	bg_wait "$name" 20
	assert_equal "$BG_STATUS" 0
	cat "$(out "$name")"
}

@test "a socket still connecting at fork (non-blocking connect, SYN_SENT): the child's poll sees it writable once connected, SO_ERROR as Linux (0, then data; ECONNREFUSED)" {
	bg_ker srv 30 "$PY" -c '
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 7007))
l.listen(8)
print("listening", flush=True)
for i in range(2):
    c, _ = l.accept()
    c.sendall(b"echo: " + c.makefile("rb").readline())
    c.close()
' "$HOST_IP"
	wait_log "$(out srv)" listening
	# The kernel first (it connects to its own address), then pstack.
	for how in ker pre; do
		connecting_fork "ok_$how" "bg_$how" "$HOST_IP" 7007
		run cat "$(out "ok_$how")"
		assert_line "child writable True"
		assert_line "child SO_ERROR 0"
		assert_line "child got echo: from the child"
		connecting_fork "refused_$how" "bg_$how" "$HOST_IP" 7008
		run cat "$(out "refused_$how")"
		assert_line "child writable True"
		assert_line "child SO_ERROR ECONNREFUSED"
	done
}

# CHILDOPT_PY IP PORT: connects, forks; the child sets the buffer sizes and
# keep-alive (1 s idle, 1 s apart) on the inherited socket and prints what
# getsockopt answers, then stays idle 3.5 s; the parent, once the child is
# done, prints what it answers.
CHILDOPT_PY='
import os, socket, sys, time
S, T = socket.SOL_SOCKET, socket.IPPROTO_TCP
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def show(who):
    print(who, "SO_RCVBUF", s.getsockopt(S, socket.SO_RCVBUF), "SO_SNDBUF", s.getsockopt(S, socket.SO_SNDBUF),
          "SO_KEEPALIVE", s.getsockopt(S, socket.SO_KEEPALIVE), flush=True)
pid = os.fork()
if pid == 0:
    s.setsockopt(S, socket.SO_RCVBUF, 4096)
    s.setsockopt(S, socket.SO_SNDBUF, 8192)
    s.setsockopt(T, socket.TCP_KEEPIDLE, 1)
    s.setsockopt(T, socket.TCP_KEEPINTVL, 1)
    s.setsockopt(S, socket.SO_KEEPALIVE, 1)
    show("child")
    time.sleep(3.5)
    os._exit(0)
os.waitpid(pid, 0)
show("parent")
s.close()
'

@test "options a fork child sets on an inherited connection reach the connection (buffer sizes as the kernel answers them, in both processes; keep-alive probes on the wire)" {
	local pcap=$BATS_TEST_TMPDIR/opts.pcap how
	bg_ker srv 30 "$PY" -c '
import socket, sys, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 7009))
l.listen(8)
print("listening", flush=True)
for i in range(2):
    c, _ = l.accept()
    c.recv(1)       # the end of the client
    c.close()
' "$HOST_IP"
	wait_log "$(out srv)" listening
	run ker 20 "$PY" -c "$CHILDOPT_PY" "$HOST_IP" 7009
	assert_success
	local linux=$output
	echo "kernel: $linux"
	run pre 20 env PSTACK_PCAP="$pcap" "$PY" -c "$CHILDOPT_PY" "$HOST_IP" 7009
	assert_success
	echo "pstack: $output"
	assert_equal "$output" "$linux"
	# Keep-alive probes while the child held the connection idle: pure
	# ACKs from the stack besides the handshake's.
	run bash -c "tcpdump -nn -r '$pcap' 'src host $STACK_IP and tcp[tcpflags] == tcp-ack' 2>/dev/null | wc -l"
	echo "pure ACKs from the stack: $output"
	[ "$output" -ge 3 ] || fail "no keep-alive probes: $output pure ACKs from the stack"
}

# BAREFORK_C HOST PORT: connects, writes; a child made with _Fork(), one
# made with clone() (no CLONE_VM) and one made with a raw clone through
# syscall() (no stack: vsftpd's sessions) each write into the inherited
# socket and check its peer's name; the parent writes again.
BAREFORK_C='
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
pid_t _Fork(void);
static int s;
static struct sockaddr_in a;
static int child(void *msg)
{
	struct sockaddr_in p;
	socklen_t n = sizeof(p);
	if (getpeername(s, (struct sockaddr *)&p, &n) < 0 || p.sin_port != a.sin_port)
		return 3;
	return write(s, msg, strlen(msg)) == (ssize_t)strlen(msg) ? 0 : 4;
}
static int reap(pid_t pid)
{
	int st;
	return pid > 0 && waitpid(pid, &st, __WALL) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : 9;
}
int main(int argc, char **argv)
{
	static char stack[256 * 1024];
	pid_t pid;
	(void)argc;
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &a.sin_addr);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || write(s, "parent;", 7) != 7)
		return 1;
	pid = _Fork();
	if (pid == 0)
		_exit(child("_Fork-child;"));
	if (reap(pid) != 0)
		return 2;
	pid = clone(child, stack + sizeof(stack), SIGCHLD, "clone-child;");
	if (reap(pid) != 0)
		return 5;
	pid = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0)
		_exit(child("raw-clone-child;"));
	if (reap(pid) != 0)
		return 7;
	return write(s, "parent-again", 12) == 12 && close(s) == 0 ? 0 : 6;
}
'

# TWO_STREAMS_SRV HOST PORT: accepts two connections, one after the other,
# and prints what each sent (to its end), one line per connection.
TWO_STREAMS_SRV='
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(2)
print("listening", flush=True)
for i in range(2):
    c, _ = l.accept()
    data = b""
    while True:
        b = c.recv(100)
        if not b:
            break
        data += b
    print(data.decode(), flush=True)
'

@test "children made with _Fork(), clone() (no CLONE_VM) and syscall(SYS_clone) use an inherited stack socket as the kernel's: names, and data in order with the parent" {
	printf '%s' "$BAREFORK_C" >"$BATS_TEST_TMPDIR/barefork.c"
	gcc -O2 -o "$BATS_TEST_TMPDIR/barefork" "$BATS_TEST_TMPDIR/barefork.c"
	bg_ker srv 30 "$PY" -c "$TWO_STREAMS_SRV" "$HOST_IP" 9101
	wait_log "$(out srv)" listening
	# The kernel, then pstack: the same program, the same stream.
	run ker 20 "$BATS_TEST_TMPDIR/barefork" "$HOST_IP" 9101
	assert_success
	run pre 20 "$BATS_TEST_TMPDIR/barefork" "$HOST_IP" 9101
	assert_success
	bg_wait srv 10
	run cat "$(out srv)"
	assert_equal "$(grep -c '^parent;_Fork-child;clone-child;raw-clone-child;parent-again$' <<<"$output")" 2
}

# SUBPROC_PY HOST PORT: Python's subprocess (vfork and exec since 3.10)
# with the socket as a child's stdout, then passed with pass_fds.
SUBPROC_PY='
import socket, subprocess, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"parent;")
r1 = subprocess.run(["sh", "-c", "printf stdout-child\\;"], stdout=s).returncode
r2 = subprocess.run(["sh", "-c", "printf passfds-child\\; >&%d" % s.fileno()], pass_fds=[s.fileno()]).returncode
s.sendall(b"parent-again")
s.close()
sys.exit(r1 or r2)
'

@test "Python subprocess (vfork) children write into a socket passed as stdout and with pass_fds, in order with the parent, as on the kernel" {
	bg_ker srv 30 "$PY" -c "$TWO_STREAMS_SRV" "$HOST_IP" 9102
	wait_log "$(out srv)" listening
	run ker 20 "$PY" -c "$SUBPROC_PY" "$HOST_IP" 9102
	assert_success
	run pre 20 "$PY" -c "$SUBPROC_PY" "$HOST_IP" 9102
	assert_success
	bg_wait srv 10
	run cat "$(out srv)"
	assert_equal "$(grep -c '^parent;stdout-child;passfds-child;parent-again$' <<<"$output")" 2
}

# A daemon that forks before it opens any socket (redis-server's
# daemonize, daemon(3)): the child, whose parent never started a stack, is
# a process of its own and starts its stack at its first socket; the
# parent has exited.
@test "redis-server --daemonize yes under the preload (it forks and its parent exits before any socket): the daemon serves through the TAP, shuts down on request" {
	command -v redis-server >/dev/null || skip "redis-server is not installed (Debian: redis-server)"
	local pidf=$BATS_TEST_TMPDIR/redis.pid
	run pre 20 redis-server --bind "$STACK_IP" --port 6390 --daemonize yes --protected-mode no \
		--pidfile "$pidf" --logfile "$BATS_TEST_TMPDIR/redis.log" --save '' --dir "$BATS_TEST_TMPDIR"
	assert_success
	local pid
	wait_until 10 "redis' pid file" test -s "$pidf"
	pid=$(cat "$pidf")
	echo "$pid" >>"$PIDFILE"
	tap_mark
	wait_until 10 "the daemon to answer" ip netns exec "$NS" redis-cli -h "$STACK_IP" -p 6390 ping
	run ker 10 redis-cli -h "$STACK_IP" -p 6390 set k daemonized
	assert_output OK
	run ker 10 redis-cli -h "$STACK_IP" -p 6390 get k
	assert_output daemonized
	run ker 30 redis-benchmark -h "$STACK_IP" -p 6390 -q -n 2000 -c 10 -t set,get
	assert_success
	refute_output --partial rror
	run ker 10 redis-cli -h "$STACK_IP" -p 6390 shutdown nosave
	wait_until 10 "the daemon to exit" bash -c "! kill -0 $pid 2>/dev/null"
	! grep -h "pstack error\|Could not create server" "$BATS_TEST_TMPDIR/redis.log" || fail "redis: $(tail -3 "$BATS_TEST_TMPDIR/redis.log")"
	tap_assert_crossed 20000 20000
}

# DROPS_ROOT_FIRST PORT: a root server that takes another user before its
# first socket (squid, which opens its listening socket after its setuid),
# then listens and greets one client.
DROPS_ROOT_FIRST='
import os, socket, sys
os.setgroups([]); os.setgid(65534); os.setuid(65534)
l = socket.socket()
l.bind(("0.0.0.0", int(sys.argv[1])))
l.listen()
print("listening as", os.geteuid(), flush=True)
c, a = l.accept()
c.sendall(b"hello from nobody\n")
c.close()
'

@test "a root server that takes another user before its first socket (as squid) listens and serves through the stack, as on the kernel" {
	bg_pre srv 20 "$PY" -c "$DROPS_ROOT_FIRST" 8091
	wait_log "$(out srv)" "listening as 65534" 10
	tap_mark
	run ker 10 nc -w 5 "$STACK_IP" 8091
	assert_output "hello from nobody"
	bg_wait srv 10
	assert_equal "$BG_STATUS" 0
	tap_assert_crossed 18 0
}

# TWO_WORKERS: a process forks two workers before any socket (a pool made
# at start): the first listens on the stack's address 7311, the second,
# once the first listens, on any address 7313; each greets one client.
TWO_WORKERS='
import os, socket, sys
def serve(addr, port, name, w=None):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        l.bind((addr, port)); l.listen()
    except OSError as e:
        print(name, e, flush=True); os._exit(1)
    print(name, "listens", flush=True)
    if w is not None:
        os.write(w, b"x")
    c, a = l.accept(); c.sendall(("from the %s\n" % name).encode()); c.close()
    os._exit(0)
r, w = os.pipe()
p1 = os.fork()
if p1 == 0:
    serve("192.0.2.2", 7311, "first", w)
os.read(r, 1)
p2 = os.fork()
if p2 == 0:
    serve("0.0.0.0", 7313, "second")
os.waitpid(p2, 0)
os.waitpid(p1, 0)
'

@test "two workers forked before any socket: the first gets a stack of its own and serves; the second, the TAP taken by its sibling's stack, keeps the kernel's sockets and serves, as before" {
	bg_pre pool 20 "$PY" -c "$TWO_WORKERS"
	wait_log "$(out pool)" "first listens" 10
	wait_log "$(out pool)" "second (listens|.*Errno)" 10
	tap_mark
	run ker 10 nc -w 5 "$STACK_IP" 7311
	assert_output "from the first"
	run ker 10 nc -w 5 127.0.0.1 7313
	assert_output "from the second"
	bg_wait pool 15
	tap_assert_crossed 15 0
}
