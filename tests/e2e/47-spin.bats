#!/usr/bin/env bats
# Busy-poll (PSTACK_SPIN_US): a thread about to block on a stack
# socket first reads the TAP itself. The runner logs at exit (PSTACK_LOG=debug)
# how many frames waiting application threads read and processed: more than
# zero with spinning on, zero without. Without it, a thread that blocks has
# the TAP in its own wait and reads what wakes it (a counter of its own).
# The bytes must be the same either way.
# (The other suites run unchanged with PSTACK_SPIN_US exported to check
# correctness: lib.bash keeps it, as it is not in its list of cleared settings.)

load lib

setup() { e2e_setup; }
teardown() { e2e_teardown; }

# A TCP echo server that answers every message, then exits when the peer closes.
ECHO_SERVER='
import socket, sys
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1])))
l.listen(1)
c, _ = l.accept()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    c.sendall(b)
    n += len(b)
c.close()
print("echoed", n, flush=True)
'

# A client that sends N 64-byte messages one at a time, each after the
# previous answer (a ping-pong), and checks every answer.
PING_CLIENT='
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(int(sys.argv[3])):
    msg = (b"%06d" % i) * 10 + b"pong"
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(len(msg) - len(got))
        if not b:
            sys.exit("closed early at %d" % i)
        got += b
    if got != msg:
        sys.exit("message %d came back as %r" % (i, got))
s.close()
print("ok", flush=True)
'

# ping_pong SPIN_US [N]: the echo server under the preload (logging at debug),
# N (300) ping-pongs from the kernel side; leaves the server's log in srv.log
# and the milliseconds the client took in PING_MS.
ping_pong() {
	local n=${2:-300} t0
	_bg srv ip netns exec "$NS" timeout -k 3 60 env LD_PRELOAD="$PRELOAD" PSTACK_SPIN_US="$1" \
		PSTACK_LOG=debug PSTACK_LOG_FILE="$BATS_TEST_TMPDIR/srv.log" python3 -c "$ECHO_SERVER" 12345
	wait_stack_up
	tap_mark
	t0=$(date +%s%N)
	run retry_refused 20 ker 60 python3 -c "$PING_CLIENT" "$STACK_IP" 12345 "$n"
	PING_MS=$((($(date +%s%N) - t0) / 1000000))
	assert_success
	assert_output --partial ok
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	grep -q "echoed $((n * 64))" "$(out srv)" || fail "server: $(cat "$(out srv)")"
	tap_assert_crossed $((n * 64)) $((n * 64))
}

# spin_frames: the count the runner logged at exit.
spin_frames() {
	sed -nE 's/.*busy-poll: ([0-9]+) frames read by waiting application threads.*/\1/p' \
		"$BATS_TEST_TMPDIR/srv.log" | tail -n 1
}

@test "with PSTACK_SPIN_US the waiting thread reads frames from the TAP itself" {
	ping_pong 50000
	local n
	n=$(spin_frames)
	echo "frames read by application threads: ${n:-none logged}"
	[ -n "$n" ] || fail "no busy-poll counter in the log: $(tail -n 5 "$BATS_TEST_TMPDIR/srv.log")"
	[ "$n" -gt 0 ] || fail "PSTACK_SPIN_US=50000 but no frame was read by an application thread"
}

# drive_frames: frames read by application threads blocked in a wait, as logged at exit.
drive_frames() {
	sed -nE 's/.*: ([0-9]+) frames read by application threads blocked in a wait.*/\1/p' \
		"$BATS_TEST_TMPDIR/srv.log" | tail -n 1
}

# The runner's counts at exit: reads of an empty device by threads woken
# from a wait, and frames read after a write (runner_unlock).
drive_empty() {
	sed -nE 's/.*: ([0-9]+) reads of an empty device by threads woken from a wait.*/\1/p' \
		"$BATS_TEST_TMPDIR/srv.log" | tail -n 1
}
owed_frames() {
	sed -nE 's/.*woken from a wait; ([0-9]+) frames and [0-9]+ empty reads after a write.*/\1/p' \
		"$BATS_TEST_TMPDIR/srv.log" | tail -n 1
}

@test "without PSTACK_SPIN_US nothing spins; the blocked thread reads the TAP in its wait, up to its message" {
	ping_pong 0
	local n d
	n=$(spin_frames)
	[ -n "$n" ] || fail "no busy-poll counter in the log: $(tail -n 5 "$BATS_TEST_TMPDIR/srv.log")"
	[ "$n" -eq 0 ] || fail "spinning is off but application threads busy-polled $n frames"
	# The server blocks in recv between messages with the TAP in its own
	# ppoll: the message that wakes it was read by it, not by the stack thread.
	d=$(drive_frames)
	echo "frames read by the blocked thread: ${d:-none logged}"
	[ -n "$d" ] || fail "no counter of frames read in a wait: $(tail -n 5 "$BATS_TEST_TMPDIR/srv.log")"
	[ "$d" -gt 0 ] || fail "the server blocked 300 times but never read a frame itself"
	# Linux's recvfrom returns with the message: no system call between it
	# and the answer. The blocked thread stops reading at the frame that
	# ends its wait; the read that finds the TAP empty comes after the
	# answer went out (on one CPU it often finds the next message there).
	# It used to come before, in every round trip (300 here).
	local e o
	e=$(drive_empty)
	o=$(owed_frames)
	echo "300 round trips: $d frames read in waits, ${o:-no count of} after a write; ${e:-no count of} empty reads in waits"
	[ -n "$e" ] || fail "no count of empty reads in the log: $(grep 'blocked in a wait' "$BATS_TEST_TMPDIR/srv.log")"
	[ $((d + o)) -ge 300 ] || fail "the server read only $((d + o)) frames itself"
	[ $((e * 10)) -lt 300 ] || fail "$e of the 300 waits read the empty TAP before answering"
}

# drive_checks: the stack thread's wakeups to check on a thread that comes
# and goes with the TAP in its wait (logged with drive_frames).
drive_checks() {
	sed -nE 's/.*blocked in a wait; ([0-9]+) checks on them by the stack thread.*/\1/p' \
		"$BATS_TEST_TMPDIR/srv.log" | tail -n 1
}

@test "a thread that blocks between messages is checked on less than once per 4 ms" {
	# Each check is a wakeup of the stack thread (on one CPU, a context
	# switch in someone's round trip: one per millisecond doubled
	# sockperf's p99). Found back in its wait, the thread is checked on
	# half as often, down to once per 8 ms.
	ping_pong 0 3000
	local c d o
	c=$(drive_checks)
	d=$(drive_frames)
	o=$(owed_frames)
	echo "3000 round trips in $PING_MS ms; $d frames read in the wait, $o after a write; ${c:-no} checks"
	[ -n "$c" ] || fail "no count of checks in the log: $(grep 'blocked in a wait' "$BATS_TEST_TMPDIR/srv.log")"
	# Read in its wait, or after its answer (the next message was there).
	[ $((d + ${o:-0})) -gt 1000 ] || fail "the server read only $d frames in its waits and ${o:-no} after a write"
	[ $((c * 4)) -lt "$PING_MS" ] || fail "$c checks in $PING_MS ms"
}

@test "a bad PSTACK_SPIN_US is refused with one line naming it" {
	run pre 20 env PSTACK_SPIN_US=fast python3 -c '
import socket
try:
    socket.socket().connect(("192.0.2.1", 9))
except OSError as e:
    print("errno", e.errno)
'
	assert_output --partial "PSTACK_SPIN_US='fast' is not valid"
	assert_output --partial "errno 100"
}
