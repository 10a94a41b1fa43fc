#!/usr/bin/env bats
# TCP through the stack with netcat (OpenBSD nc) and the examples:
# bulk transfers both ways, half-close both ways, the echo server with and
# without the preload. sha256 on every transfer; every test checks the bytes
# crossed the TAP.

load lib

setup() { e2e_setup; }
teardown() { e2e_teardown; }

# A server that reads until EOF, then answers with the sha256 of what it got
# and closes: the answer travels after the client's FIN (half-close).
SHA_SERVER='
import hashlib, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
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
c.sendall((h.hexdigest() + "\n").encode())
c.close()
print("got", n, flush=True)
'

@test "nc -l under the preload receives 64 MiB from the kernel's nc" {
	make_data "$BATS_TEST_TMPDIR/in" $((64 * MiB))
	_bg rx ip netns exec "$NS" timeout -k 3 120 env LD_PRELOAD="$PRELOAD" \
		sh -c "exec nc -l 12345 > '$BATS_TEST_TMPDIR/got'"
	wait_stack_up
	tap_mark
	run retry_refused 20 ker 120 nc -v -N "$STACK_IP" 12345 <"$BATS_TEST_TMPDIR/in"
	assert_success
	bg_wait rx 60
	assert_equal "$BG_STATUS" 0
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed 1000 $((64 * MiB))
}

@test "nc under the preload sends 64 MiB to the kernel's nc -l" {
	make_data "$BATS_TEST_TMPDIR/in" $((64 * MiB))
	_bg rx ip netns exec "$NS" timeout -k 3 120 sh -c "exec nc -l $HOST_IP 12345 > '$BATS_TEST_TMPDIR/got'"
	wait_kernel_listen 12345
	tap_mark
	run pre 120 nc -N "$HOST_IP" 12345 <"$BATS_TEST_TMPDIR/in"
	assert_success
	bg_wait rx 60
	assert_equal "$BG_STATUS" 0
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((64 * MiB)) 1000
}

@test "half-close: the kernel's nc -N shuts down, the preloaded server answers after the FIN" {
	make_data "$BATS_TEST_TMPDIR/in" $((1 * MiB))
	bg_pre srv 60 "$PY" -c "$SHA_SERVER" 0.0.0.0 12345
	wait_log "$(out srv)" listening
	wait_stack_up
	tap_mark
	run retry_refused 20 ker 60 nc -v -N "$STACK_IP" 12345 <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output "$(sha "$BATS_TEST_TMPDIR/in")"
	bg_wait srv 20
	assert_equal "$BG_STATUS" 0
	tap_assert_crossed 64 $((1 * MiB))
}

@test "half-close: nc -N under the preload shuts down, the kernel's server answers after the FIN" {
	make_data "$BATS_TEST_TMPDIR/in" $((1 * MiB))
	bg_ker srv 60 "$PY" -c "$SHA_SERVER" "$HOST_IP" 12345
	wait_kernel_listen 12345
	tap_mark
	run pre 60 nc -N "$HOST_IP" 12345 <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output "$(sha "$BATS_TEST_TMPDIR/in")"
	bg_wait srv 20
	assert_equal "$BG_STATUS" 0
	tap_assert_crossed $((1 * MiB)) 64
}

# A kernel server that sends file A and receives into file B at the same
# time, then closes. (Not nc -l: OpenBSD nc in listen mode quits as soon as
# its network input ends, even with stdin unsent, on any stack.)
BOTH_WAYS_SERVER='
import socket, sys, threading
host, port, send_path, recv_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((host, port))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
def send():
    with open(send_path, "rb") as f:
        c.sendall(f.read())
    c.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
with open(recv_path, "wb") as f:
    while True:
        b = c.recv(65536)
        if not b:
            break
        f.write(b)
t.join()
c.close()
'

@test "nc -N under the preload sends and receives 8 MiB at the same time" {
	make_data "$BATS_TEST_TMPDIR/a" $((8 * MiB))
	make_data "$BATS_TEST_TMPDIR/b" $((8 * MiB))
	bg_ker srv 120 "$PY" -c "$BOTH_WAYS_SERVER" "$HOST_IP" 12345 "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/got-b"
	wait_kernel_listen 12345
	tap_mark
	pre 120 nc -N "$HOST_IP" 12345 <"$BATS_TEST_TMPDIR/b" >"$BATS_TEST_TMPDIR/got-a"
	bg_wait srv 60
	assert_equal "$BG_STATUS" 0
	assert_same_file "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/got-a"
	assert_same_file "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/got-b"
	tap_assert_crossed $((8 * MiB)) $((8 * MiB))
}

@test "examples/echo_server (TCP) under the preload echoes to several kernel clients" {
	make_data "$BATS_TEST_TMPDIR/in" $((2 * MiB))
	bg_pre srv 60 "$EXAMPLES/echo_server" 12345
	wait_log "$(out srv)" 'listening on'
	wait_stack_up
	tap_mark
	local i
	for i in 1 2 3; do
		run retry_refused 20 ker 60 sh -c "nc -v -N $STACK_IP 12345 < '$BATS_TEST_TMPDIR/in' > '$BATS_TEST_TMPDIR/got$i'"
		assert_success
		assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got$i"
	done
	tap_assert_crossed $((6 * MiB)) $((6 * MiB))
}

@test "examples/echo_server (TCP) on the kernel, nc under the preload" {
	make_data "$BATS_TEST_TMPDIR/in" $((2 * MiB))
	bg_ker srv 60 "$EXAMPLES/echo_server" 12345
	wait_log "$(out srv)" 'listening on'
	tap_mark
	run pre 60 sh -c "nc -N $HOST_IP 12345 < '$BATS_TEST_TMPDIR/in' > '$BATS_TEST_TMPDIR/got'"
	assert_success
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((2 * MiB)) $((2 * MiB))
}

@test "a connection to a closed port of the stack is refused (RST)" {
	bg_pre srv 60 "$EXAMPLES/echo_server" 12345 udp
	wait_log "$(out srv)" 'listening on'
	wait_stack_up
	run ker 10 nc -v -w 3 "$STACK_IP" 80
	assert_failure
	assert_output --partial "refused"
}

@test "vfork: a child that closes and replaces the parent's stack socket before it exits changes nothing of the parent's" {
	# A vfork() child shares the parent's memory: its close() and dup2() of
	# the socket's fd are its own fd table's, not the stack's (the shim
	# tells the child apart without asking the kernel for the pid on every
	# call until a vfork happens: the library's vfork).
	cat >"$BATS_TEST_TMPDIR/vf.c" <<'EOF'
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
static void echo(int s, const char *msg)
{
	char buf[100];
	ssize_t n;

	if (send(s, msg, strlen(msg), 0) != (ssize_t)strlen(msg) || (n = recv(s, buf, sizeof(buf) - 1, 0)) <= 0) {
		perror(msg);
		_exit(1);
	}
	buf[n] = 0;
	fputs(buf, stdout);
}
int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(12345) };
	int s = socket(AF_INET, SOCK_STREAM, 0), st;
	pid_t p;

	inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		return 1;
	}
	echo(s, "before vfork\n");
	p = vfork();
	if (p == 0) {
		close(s);
		dup2(0, s);
		_exit(0);
	}
	waitpid(p, &st, 0);
	echo(s, "after vfork\n");
	return 0;
}
EOF
	gcc -O2 -o "$BATS_TEST_TMPDIR/vf" "$BATS_TEST_TMPDIR/vf.c"
	bg_ker srv 60 "$EXAMPLES/echo_server" 12345
	wait_log "$(out srv)" 'listening on'
	tap_mark
	run pre 30 "$BATS_TEST_TMPDIR/vf"
	assert_success
	assert_line "before vfork"
	assert_line "after vfork"
	tap_assert_crossed 20 20
}

@test "fork: a child that execs works, a child uses the parent's connected socket (relayed: 86-fork.bats), the parent's connection is unharmed" {
	bg_ker srv 60 "$EXAMPLES/echo_server" 12345
	wait_log "$(out srv)" 'listening on'
	tap_mark
	run pre 30 "$PY" -c '
import os, socket, subprocess
s = socket.create_connection(("192.0.2.1", 12345), timeout=5)
s.sendall(b"before fork\n")
print(s.recv(100).decode().strip())
# A child that execs: runs as usual (it inherits LD_PRELOAD, opens no socket).
print(subprocess.run(["sh", "-c", "echo child ran"], capture_output=True, text=True).stdout.strip())
pid = os.fork()
if pid == 0:
    try:
        s.send(b"from the child\n")
        print("child: send worked")
        print(s.recv(100).decode().strip())
    except OSError as e:
        print("child: send failed:", e.errno)
    os._exit(0)
os.waitpid(pid, 0)
s.sendall(b"after fork\n")
print(s.recv(100).decode().strip())
s.close()
'
	assert_success
	assert_line "before fork"
	assert_line "child ran"
	assert_line "child: send worked"
	assert_line "from the child"
	assert_line "after fork"
	refute_output --partial "pstack error"
	tap_assert_crossed 40 40
}
