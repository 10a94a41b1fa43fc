#!/usr/bin/env bats
# Sockets reached outside the interposed calls (issue 15): a stack socket
# whose fd a program reaches through stdio, an exec'd child, a static binary
# or one without the preload gets a live kernel fd, which the stack's relay
# serves (shim/expose.c, stack/host/relay.c). Real programs, the kernel of the
# namespace as the peer, sha256 on every transfer, and the TAP's counters to
# prove the bytes went through the stack.

load lib

# The helpers (built once for the file): exposed_echo FD reads FD to its end
# and writes every byte back, then shuts FD down for writing; exposed_stdio
# HOST PORT talks through an fdopen()ed stream.
ECHO_C='
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	static char buf[65536];
	int fd = argc > 1 ? atoi(argv[1]) : 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0)
			return 2;
		if (n == 0)
			break;
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(fd, buf + o, (size_t)(n - o));
			if (w <= 0)
				return 3;
			o += w;
		}
	}
	return shutdown(fd, SHUT_WR) == 0 ? 0 : 4;
}
'

# exposed_stdio HOST PORT LINES: connects, then talks through stdio streams
# on the socket: fdopen(fd, "r") for reading and fdopen(dup(fd), "w") for
# writing (the usual pair), and one fdopen(fd, "r+") for a last line. Each
# line goes out with fprintf and comes back (an echo server) with fgets.
STDIO_C='
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
	char want[128], line[128];
	int n = atoi(argv[3]), fd = socket(AF_INET, SOCK_STREAM, 0);
	FILE *in, *out;
	inet_pton(AF_INET, argv[1], &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		return 1;
	}
	in = fdopen(fd, "r");
	out = fdopen(dup(fd), "w");
	if (!in || !out) {
		perror("fdopen");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "line %d of %d through stdio\n", i, n);
		if (fprintf(out, "%s", want) < 0 || fflush(out) != 0) {
			perror("fprintf");
			return 2;
		}
		if (!fgets(line, sizeof(line), in) || strcmp(line, want) != 0) {
			fprintf(stderr, "line %d: got \"%s\"\n", i, line);
			return 3;
		}
	}
	fclose(out);
	printf("%d lines\n", n);
	return 0;
}
'

setup_file() {
	HELPERS=$BATS_FILE_TMPDIR
	export HELPERS
	printf '%s' "$ECHO_C" >"$HELPERS/echo.c"
	gcc -O2 -o "$HELPERS/echo_dyn" "$HELPERS/echo.c"
	gcc -O2 -static -o "$HELPERS/echo_static" "$HELPERS/echo.c" 2>/dev/null || true
	printf '%s' "$STDIO_C" >"$HELPERS/stdio.c"
	gcc -O2 -o "$HELPERS/exposed_stdio" "$HELPERS/stdio.c"
}

setup() { e2e_setup; }
teardown() { e2e_teardown; }

# SEND_SERVER PATH: a kernel server that sends the file to its one client and closes.
SEND_SERVER='
import socket, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((host, port))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
with open(path, "rb") as f:
    c.sendall(f.read())
c.close()
'

# SHA_SERVER: a kernel server that reads its one client to the end and
# prints the sha256 and the byte count of what it got.
SHA_SERVER='
import hashlib, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((host, port))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
h = hashlib.sha256()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
print(h.hexdigest(), n, flush=True)
c.close()
'

@test "bash's /dev/tcp idiom: printf >&3 (stdio on fd 1) then cat <&3 (an exec'd child) prints the response" {
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo "hello from the kernel's web server" >"$BATS_TEST_TMPDIR/www/index.html"
	bg_ker http 60 "$PY" -m http.server --bind "$HOST_IP" 8090 --directory "$BATS_TEST_TMPDIR/www"
	wait_kernel_listen 8090
	tap_mark
	run pre 20 bash -c 'exec 3<>/dev/tcp/192.0.2.1/8090; printf "GET / HTTP/1.0\r\n\r\n" >&3; cat <&3'
	assert_success
	assert_line --partial "HTTP/1.0 200 OK"
	assert_line "hello from the kernel's web server"
	tap_assert_crossed 18 100
}

@test "exec 3<>/dev/tcp; cat <&3 | sha256sum: 16 MiB arrive byte-exact" {
	make_data "$BATS_TEST_TMPDIR/in" $((16 * MiB))
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$BATS_TEST_TMPDIR/in"
	wait_log "$(out srv)" listening
	tap_mark
	run pre 60 bash -c 'exec 3<>/dev/tcp/192.0.2.1/9000; cat <&3 | sha256sum'
	assert_success
	assert_output "$(sha "$BATS_TEST_TMPDIR/in")  -"
	bg_wait srv 20
	tap_assert_crossed 1000 $((16 * MiB))
}

@test "cat file >&3 from bash: 16 MiB go out, and bash's exit closes the connection after them (FIN)" {
	make_data "$BATS_TEST_TMPDIR/in" $((16 * MiB))
	bg_ker srv 60 "$PY" -c "$SHA_SERVER" "$HOST_IP" 9000
	wait_log "$(out srv)" listening
	tap_mark
	run pre 60 bash -c "exec 3<>/dev/tcp/192.0.2.1/9000; cat '$BATS_TEST_TMPDIR/in' >&3"
	assert_success
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out srv)"
	assert_line "$(sha "$BATS_TEST_TMPDIR/in") $((16 * MiB))"
	tap_assert_crossed $((16 * MiB)) 1000
}

# A program reads part of the stream through the interposed recv(), then
# dup2()s the socket onto stdin and reads the rest through the kernel fd:
# the bytes the stack had received and nobody read come first, nothing is
# lost or read twice.
@test "the interposed reads before the exposure and the kernel fd's after it see one stream, in order" {
	make_data "$BATS_TEST_TMPDIR/in" $((4 * MiB))
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$BATS_TEST_TMPDIR/in"
	wait_log "$(out srv)" listening
	tap_mark
	run pre 60 "$PY" -c '
import hashlib, os, socket, sys, time
s = socket.create_connection(("192.0.2.1", 9000))
h = hashlib.sha256()
first = b""
while len(first) < 1000:
    first += s.recv(1000 - len(first))
h.update(first)
time.sleep(0.2)          # more arrives meanwhile, into the stack
os.dup2(s.fileno(), 0)   # exposed now
n = len(first)
while True:
    b = os.read(0, 65536)   # the kernel fd
    if not b:
        break
    h.update(b)
    n += len(b)
print(h.hexdigest(), n)
'
	assert_success
	assert_output "$(sha "$BATS_TEST_TMPDIR/in") $((4 * MiB))"
	tap_assert_crossed 1000 $((4 * MiB))
}

# WRITE_LOOP: writes 1 KiB lines to fd 3 until something stops it.
WRITE_LOOP='exec 3<>/dev/tcp/192.0.2.1/9000; while :; do printf "%01023d\n" 0 >&3; done'

@test "SIGPIPE: writing on after the peer has gone kills bash as on a kernel socket (status 141)" {
	# The server reads a little and closes: the writes that follow meet its
	# reset. First on the kernel's own stack (a kernel socket), then on pstack.
	local server='
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("192.0.2.1", 9000))
l.listen(1)
print("listening", flush=True)
for _ in range(2):
    c, _ = l.accept()
    c.recv(4096)
    c.close()
'
	bg_ker srv 60 "$PY" -c "$server"
	wait_log "$(out srv)" listening
	run ker 20 bash -c "$WRITE_LOOP"
	assert_equal "$status" 141
	tap_mark
	run pre 20 bash -c "$WRITE_LOOP"
	assert_equal "$status" 141
	tap_assert_crossed 1000 40
}

# ECHO_SERVER PATH: a kernel server that sends the file to its one client
# while it reads the client's bytes, then prints their sha256 and count.
ECHO_SERVER='
import hashlib, socket, sys, threading
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((host, port))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
def send():
    with open(path, "rb") as f:
        c.sendall(f.read())
    c.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
h = hashlib.sha256()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
t.join()
print(h.hexdigest(), n, flush=True)
c.close()
'

# echo_through HELPER...: bash under the preload connects fd 3 to the echo
# server and runs HELPER 3 (forked and exec'd: bash's fork exposes fd 3);
# 16 MiB must come back byte-exact.
echo_through() {
	make_data "$BATS_TEST_TMPDIR/in" $((16 * MiB))
	bg_ker srv 90 "$PY" -c "$ECHO_SERVER" "$HOST_IP" 9000 "$BATS_TEST_TMPDIR/in"
	wait_log "$(out srv)" listening
	tap_mark
	run pre 90 bash -c 'exec 3<>/dev/tcp/192.0.2.1/9000; "$@" 3; echo "helper: $?"' bash "$@"
	assert_success
	assert_output "helper: 0"
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out srv)"
	assert_line "$(sha "$BATS_TEST_TMPDIR/in") $((16 * MiB))"
	tap_assert_crossed $((16 * MiB)) $((16 * MiB))
}

@test "a static binary exec'd with an inherited connected socket echoes 16 MiB through it byte-exact" {
	[ -x "$HELPERS/echo_static" ] || skip "gcc -static failed (no static libc here)"
	run file "$HELPERS/echo_static"
	assert_output --partial "statically linked"
	echo_through "$HELPERS/echo_static"
}

@test "a program exec'd without the preload (env -i LD_PRELOAD=) echoes 16 MiB through an inherited socket byte-exact" {
	# An environment that names LD_PRELOAD (empty) is the caller's choice:
	# without it, the preload would come back with the inherited socket.
	echo_through env -i LD_PRELOAD= "$HELPERS/echo_dyn"
}

@test "fdopen: fprintf and fgets on a stack socket's streams, 2000 lines to a kernel echo server and back" {
	bg_ker echo 60 "$EXAMPLES/echo_server" 7777
	wait_log "$(out echo)" 'listening on'
	tap_mark
	run pre 60 "$HELPERS/exposed_stdio" "$HOST_IP" 7777 2000
	assert_success
	assert_output "2000 lines"
	tap_assert_crossed 50000 50000
}

# POLL_EXPOSED MODE HOST PORT [N]: connects, exposes the socket by dup2()
# onto stdin, and waits in poll() (interposed: the waiting thread reads the
# TAP itself) before each os.read of fd 0 (the kernel fd). echo: N 64-byte
# round trips with an echo server, each checked; sink: reads to the end and
# prints the sha256 and the byte count.
POLL_EXPOSED='
import hashlib, os, select, socket, sys
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.create_connection((host, port))
os.dup2(s.fileno(), 0)
p = select.poll()
p.register(0, select.POLLIN)
def read(n):
    while True:
        if not p.poll(20000):
            sys.exit("no data for 20 s")
        try:
            return os.read(0, n)
        except BlockingIOError:
            pass
if mode == "echo":
    for i in range(int(sys.argv[4])):
        msg = (b"%06d" % i) * 10 + b"pong"
        os.write(0, msg)
        got = b""
        while len(got) < len(msg):
            b = read(len(msg) - len(got))
            if not b:
                sys.exit("closed early at %d" % i)
            got += b
        if got != msg:
            sys.exit("round trip %d came back as %r" % (i, got))
    print("round trips ok", flush=True)
else:
    h, n = hashlib.sha256(), 0
    while True:
        b = read(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(h.hexdigest(), n, flush=True)
'

# pumped LOG: how many times the program's threads moved relays' bytes
# themselves (relay.h), as logged at exit.
pumped() {
	sed -nE 's/.*relays: ([0-9]+) times pumped by application threads.*/\1/p' "$1" | tail -n 1
}

@test "an exposed socket polled by its program: 3000 round trips, the waiting thread moves the bytes itself" {
	bg_ker echo 60 "$EXAMPLES/echo_server" 7777
	wait_log "$(out echo)" 'listening on'
	tap_mark
	run pre 60 PSTACK_LOG=debug PSTACK_LOG_FILE="$BATS_TEST_TMPDIR/log" "$PY" -c "$POLL_EXPOSED" echo "$HOST_IP" 7777 3000
	assert_success
	assert_output "round trips ok"
	local n
	n=$(pumped "$BATS_TEST_TMPDIR/log")
	echo "pumped: ${n:-not logged}"
	[ -n "$n" ] || fail "no pump counter in the log: $(tail -n 5 "$BATS_TEST_TMPDIR/log")"
	[ "$n" -gt 1000 ] || fail "only $n of 3000 answers were moved by the thread that read them"
	tap_assert_crossed $((3000 * 64)) $((3000 * 64))
}

@test "an exposed socket polled by its program: 16 MiB received byte-exact, moved by the waiting thread and the stack thread" {
	make_data "$BATS_TEST_TMPDIR/in" $((16 * MiB))
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$BATS_TEST_TMPDIR/in"
	wait_log "$(out srv)" listening
	tap_mark
	run pre 60 PSTACK_LOG=debug PSTACK_LOG_FILE="$BATS_TEST_TMPDIR/log" "$PY" -c "$POLL_EXPOSED" sink "$HOST_IP" 9000
	assert_success
	assert_output "$(sha "$BATS_TEST_TMPDIR/in") $((16 * MiB))"
	bg_wait srv 20
	local n
	n=$(pumped "$BATS_TEST_TMPDIR/log")
	echo "pumped: ${n:-not logged}"
	[ "${n:-0}" -gt 0 ] || fail "nothing was pumped: $(grep relays "$BATS_TEST_TMPDIR/log")"
	tap_assert_crossed 1000 $((16 * MiB))
}

# A program that has made a child (which may hold the socket's fd) leaves
# every byte to the stack thread: a thread of a program killed (SIGKILL)
# halfway through moving them must never be the one that did.
@test "an exposed socket polled by a program that forked: nothing is pumped, the round trips still work" {
	bg_ker echo 60 "$EXAMPLES/echo_server" 7777
	wait_log "$(out echo)" 'listening on'
	run pre 60 PSTACK_LOG=debug PSTACK_LOG_FILE="$BATS_TEST_TMPDIR/log" "$PY" -c '
import os, sys
if os.fork() == 0:
    os._exit(0)
os.wait()
sys.argv = ["-"] + sys.argv[1:]
exec(sys.argv.pop(1))
' "$POLL_EXPOSED" echo "$HOST_IP" 7777 500
	assert_success
	assert_output "round trips ok"
	local n
	n=$(pumped "$BATS_TEST_TMPDIR/log")
	[ -n "$n" ] || fail "no pump counter in the log: $(tail -n 5 "$BATS_TEST_TMPDIR/log")"
	[ "$n" -eq 0 ] || fail "$n pumps after a fork"
}

# tsan_alone_clean CMD...: in a TSan build, skips the test when CMD (on the
# kernel's stack) reports data races under TSan's runtime alone, without
# pstack: such a report would fail the test whatever pstack does. (BIND 9's
# libisc does here: a race between its own threads in isc's netmgr.)
tsan_alone_clean() {
	case $SAN_RT in
	*libtsan*) ;;
	*) return 0 ;;
	esac
	local d=$BATS_TEST_TMPDIR/tsan-alone
	mkdir -p "$d"
	ker 30 env LD_PRELOAD="$SAN_RT" TSAN_OPTIONS="log_path=$d/report" "$@" >/dev/null 2>&1 || true
	if compgen -G "$d/report.*" >/dev/null; then
		skip "$1 reports data races under TSan alone, without pstack (LD_PRELOAD=$SAN_RT $*)"
	fi
}

# A kernel DNS server on 192.0.2.1:53 that knows example.test.
dns_server() {
	command -v dig >/dev/null || skip "dig is not installed (Debian: bind9-dnsutils)"
	command -v dnsmasq >/dev/null || skip "dnsmasq is not installed (Debian: dnsmasq-base)"
	bg_ker dns 60 dnsmasq --no-daemon --listen-address="$HOST_IP" --bind-interfaces --port 53 --no-resolv \
		--no-hosts --conf-file=/dev/null --pid-file= --log-facility=- --log-queries \
		--address=/example.test/192.0.2.77
	wait_log "$(err dns)" 'started|failed'
	run cat "$(err dns)"
	refute_output --partial failed
}

# BIND 9's dig sends its query with a raw sendmmsg() (libuv) on a connected
# UDP socket, and reads the answer with recvmsg(): the connected socket's fd
# is live (armed), the raw write exposes it.
@test "dig @192.0.2.1 under the preload resolves over UDP (a raw sendmmsg on a connected socket)" {
	dns_server
	tsan_alone_clean dig +short +tries=1 +time=5 @"$HOST_IP" example.test
	tap_mark
	run pre 30 dig +short +tries=1 +time=5 @"$HOST_IP" example.test
	assert_success
	assert_output "192.0.2.77"
	run cat "$(err dns)"
	assert_output --partial "query[A] example.test from $STACK_IP"
	tap_assert_crossed 50 50
}

@test "dig +tcp @192.0.2.1 under the preload resolves over TCP" {
	dns_server
	tsan_alone_clean dig +tcp +short +tries=1 +time=5 @"$HOST_IP" example.test
	tap_mark
	run pre 30 dig +tcp +short +tries=1 +time=5 @"$HOST_IP" example.test
	assert_success
	assert_output "192.0.2.77"
	run cat "$(err dns)"
	assert_output --partial "query[A] example.test from $STACK_IP"
	tap_assert_crossed 50 50
}
