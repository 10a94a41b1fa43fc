#!/usr/bin/env bats
# The stack outlives the process that owns it (issue 14; stack/host/keeper.c):
# when that process exits, execs or dies of SIGTERM while relays serve fds
# that other processes hold (a background child, the program it exec'd), a
# keeper process carries the stack on until the last holder is done and the
# connections are closed, then lets go of the TAP. Real programs, the kernel
# of the namespace as the peer, sha256 on every transfer.

load lib

# SEND_SERVER HOST PORT PATH PAUSE: sends the file to its one client, half of
# it, then (after PAUSE seconds) the rest, and closes.
SEND_SERVER='
import socket, sys, time
host, port, path, pause = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((host, port))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
data = open(path, "rb").read()
c.sendall(data[: len(data) // 2])
print("half", flush=True)
time.sleep(pause)
c.sendall(data[len(data) // 2 :])
c.close()
print("sent", flush=True)
'

# SHA_SERVER HOST PORT [PAUSE]: reads its one client to the end (from PAUSE
# seconds after the connection on) and prints the sha256, the byte count and
# how the stream ended: "fin" (end of file) or "reset" (ECONNRESET).
SHA_SERVER='
import hashlib, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((host, port))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 0)
h = hashlib.sha256()
n = 0
end = "fin"
try:
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
except ConnectionResetError:
    end = "reset"
print(h.hexdigest(), n, end, flush=True)
c.close()
'

setup() {
	e2e_setup
	LOG=$BATS_TEST_TMPDIR/pstack.log
	export PSTACK_LOG=debug PSTACK_LOG_FILE=$LOG
	IN=$BATS_TEST_TMPDIR/in
	make_data "$IN" $((16 * MiB))
}

# The keepers the test made (from their log lines) are ended by teardown too,
# when they are still there (a failed test).
teardown() {
	local pid
	for pid in $(keeper_pids); do
		echo "$pid" >>"$PIDFILE"
	done
	e2e_teardown
}

keeper_pids() {
	[ -f "${LOG:-}" ] || return 0
	sed -n 's/.*keeper (pid \([0-9]*\)): carries the stack on.*/\1/p' "$LOG"
}

# keeper_pid: the one keeper the test made (fails when none or more).
keeper_pid() {
	local pids
	pids=$(keeper_pids)
	[ "$(echo "$pids" | grep -c .)" = 1 ] || fail "expected one keeper in the log, found: '$pids'"
	echo "$pids"
}

# size_is FILE BYTES: FILE holds BYTES bytes (for wait_until, which runs it again each time).
size_is() {
	[ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]
}

now_ms() {
	echo $((${EPOCHREALTIME/./} / 1000))
}

@test "bash execs cat with the exposed socket as stdin: 16 MiB arrive byte-exact through the keeper" {
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$IN" 0.5
	wait_log "$(out srv)" listening
	tap_mark
	pre 60 bash -c 'exec 3<>/dev/tcp/192.0.2.1/9000; exec cat <&3' | sha256sum >"$BATS_TEST_TMPDIR/got"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/got")" "$(sha "$IN")  -"
	bg_wait srv 20
	assert_equal "$BG_STATUS" 0
	keeper_pid
	tap_assert_crossed 1000 $((16 * MiB))
}

@test "bash execs cat with the exposed socket as stdout: 16 MiB go out byte-exact, then a FIN" {
	bg_ker srv 60 "$PY" -c "$SHA_SERVER" "$HOST_IP" 9000
	wait_log "$(out srv)" listening
	tap_mark
	run pre 60 bash -c "exec 3<>/dev/tcp/192.0.2.1/9000; exec cat '$IN' >&3"
	assert_success
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out srv)"
	assert_line "$(sha "$IN") $((16 * MiB)) fin"
	keeper_pid
	tap_assert_crossed $((16 * MiB)) 1000
}

@test "after an exec, the keeper closes the old image's other sockets as at exit: their data, then a FIN" {
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$IN" 0.3
	bg_ker sink 60 "$PY" -c "$SHA_SERVER" "$HOST_IP" 9001
	wait_log "$(out srv)" listening
	wait_log "$(out sink)" listening
	# b (close-on-exec, as Python makes it) is sent 16 MiB, not all of it on
	# the wire yet; a is exposed (fd 0) and read by the exec'd cat.
	pre 60 "$PY" -c '
import os, socket, sys
a = socket.create_connection(("192.0.2.1", 9000))
b = socket.create_connection(("192.0.2.1", 9001))
b.sendall(open(sys.argv[1], "rb").read())
os.dup2(a.fileno(), 0)
os.execv("/bin/cat", ["cat"])' "$IN" | sha256sum >"$BATS_TEST_TMPDIR/got"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/got")" "$(sha "$IN")  -"
	bg_wait sink 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out sink)"
	assert_line "$(sha "$IN") $((16 * MiB)) fin"
	keeper_pid
}

@test "bash exits at once; its background child goes on reading the exposed socket: 16 MiB byte-exact" {
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$IN" 1
	wait_log "$(out srv)" listening
	local t0 t1
	t0=$(now_ms)
	pre 30 bash -c "exec 3<>/dev/tcp/192.0.2.1/9000; cat <&3 >'$BATS_TEST_TMPDIR/got' & exit"
	t1=$(now_ms)
	echo "bash exited after $((t1 - t0)) ms"
	# The server's second half comes a second later: bash was gone by then.
	[ $((t1 - t0)) -lt 1000 ] || fail "bash took $((t1 - t0)) ms to exit"
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	wait_until 20 "the child's download" size_is "$BATS_TEST_TMPDIR/got" $((16 * MiB))
	pid_wait_gone "$(keeper_pid)" 15 || fail "the keeper is still there"
	assert_same_file "$BATS_TEST_TMPDIR/got" "$IN"
}

@test "bash exits at once; its background child writes 16 MiB through the exposed socket, byte-exact, then a FIN" {
	bg_ker srv 60 "$PY" -c "$SHA_SERVER" "$HOST_IP" 9000
	wait_log "$(out srv)" listening
	pre 30 bash -c "exec 3<>/dev/tcp/192.0.2.1/9000; (sleep 0.5; exec cat '$IN') >&3 & exit"
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out srv)"
	assert_line "$(sha "$IN") $((16 * MiB)) fin"
	keeper_pid
}

# With PSTACK_LINGER_MS=3000: the upload ends with the stack's FIN first, so
# its side waits in FIN_WAIT_2 and TIME_WAIT, which the keeper honours for
# 3 s after the last holder closed. The pipeline does not wait for that.
@test "the pipeline returns when the last holder is done; the keeper holds the TAP until PSTACK_LINGER_MS, then a new program attaches" {
	local t0 t1 kp
	export PSTACK_LINGER_MS=3000
	bg_ker srv 60 "$PY" -c "$SHA_SERVER" "$HOST_IP" 9000
	wait_log "$(out srv)" listening
	t0=$(now_ms)
	pre 30 bash -c "exec 3<>/dev/tcp/192.0.2.1/9000; echo started; exec cat '$IN' >&3" | cat >"$BATS_TEST_TMPDIR/pipe"
	t1=$(now_ms)
	echo "the pipeline returned after $((t1 - t0)) ms"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/pipe")" started
	kp=$(keeper_pid)
	kill -0 "$kp" || fail "the keeper was gone before the pipeline returned: the test proves nothing"
	[ "$(cat "/proc/$kp/comm")" = pstack-keeper ]
	# Meanwhile the TAP is the keeper's (README, Limits). Seen in its fds:
	# a program started now would take it over with the keeper's TIME_WAIT
	# (the handover, 90-timewait.bats), ending the keeper early.
	grep -qs "^iff:[[:space:]]*tap0$" /proc/"$kp"/fdinfo/* || fail "the keeper holds no fd of tap0"
	bg_wait srv 30
	run cat "$(out srv)"
	assert_line "$(sha "$IN") $((16 * MiB)) fin"
	pid_wait_gone "$kp" 10 || fail "the keeper is still there 10 s later"
	echo "the keeper was gone $(($(now_ms) - t1)) ms after the pipeline returned"
	[ $(($(now_ms) - t1)) -lt $((3000 + 2000)) ] || fail "the keeper outlived PSTACK_LINGER_MS by more than 2 s"
	grep -q "keeper (pid $kp): done" "$LOG"
	# Nothing left behind: the TAP is free for the next program.
	run pre 10 env PSTACK_LOG=warn PSTACK_LOG_FILE= "$PY" -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 9))
print("sent")'
	assert_success
	assert_output sent
}

@test "no other holder left at exit: no keeper, the stack stops in the process as before and the TAP is free at once" {
	bg_ker srv 60 "$PY" -c "$SHA_SERVER" "$HOST_IP" 9000
	wait_log "$(out srv)" listening
	# cat, bash's child, writes and is gone before bash exits.
	run pre 60 bash -c "exec 3<>/dev/tcp/192.0.2.1/9000; cat '$IN' >&3; echo done"
	assert_success
	assert_output done
	run pre 10 env PSTACK_LOG=warn PSTACK_LOG_FILE= "$PY" -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 9))
print("sent")'
	assert_success
	assert_output sent
	bg_wait srv 30
	run cat "$(out srv)"
	assert_line "$(sha "$IN") $((16 * MiB)) fin"
	run keeper_pids
	assert_output ""
	grep -q "relay on fd .*: the program's end is gone; connection closed" "$LOG"
}

@test "SIGTERM kills bash while its background child reads the exposed socket: the child keeps working" {
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$IN" 1.5
	wait_log "$(out srv)" listening
	bg_pre sh 30 bash -c "exec 3<>/dev/tcp/192.0.2.1/9000; cat <&3 >'$BATS_TEST_TMPDIR/got' & echo \$\$ >'$BATS_TEST_TMPDIR/bash.pid'; wait"
	wait_log "$(out srv)" half
	wait_until 10 "bash's pid" test -s "$BATS_TEST_TMPDIR/bash.pid"
	kill -TERM "$(cat "$BATS_TEST_TMPDIR/bash.pid")"
	bg_wait sh 10
	assert_equal "$BG_STATUS" 143     # killed by SIGTERM, as without pstack
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out srv)"
	assert_line sent
	wait_until 20 "the child's download" size_is "$BATS_TEST_TMPDIR/got" $((16 * MiB))
	assert_same_file "$BATS_TEST_TMPDIR/got" "$IN"
	keeper_pid
}

@test "an exec that fails: its keeper goes without a trace and the stack runs on in the program" {
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$IN" 0.3
	wait_log "$(out srv)" listening
	run pre 60 "$PY" -c '
import errno, hashlib, os, socket
s = socket.create_connection(("192.0.2.1", 9000))
os.dup2(s.fileno(), 0)      # exposed: a relay serves fd 0
try:
    os.execv("/etc/passwd", ["passwd"])
except OSError as e:
    print("exec failed:", errno.errorcode[e.errno], flush=True)
h = hashlib.sha256()
n = 0
while True:
    b = os.read(0, 65536)
    if not b:
        break
    h.update(b)
    n += len(b)
print(h.hexdigest(), n)'
	assert_success
	assert_line "exec failed: EACCES"
	assert_line "$(sha "$IN") $((16 * MiB))"
	# The exec's keeper left at its gate without a line; at exit nobody else
	# held fd 0's socket: no keeper either.
	run keeper_pids
	assert_output ""
}

# sigcgt PID: the process's caught-signals mask (/proc/PID/status SigCgt), hex.
sigcgt() {
	sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status"
}

@test "the exit guard is armed at the first exposed socket only: a program that never exposes one keeps the kernel's default SIGTERM, SIGINT and SIGHUP" {
	# SIGHUP 1, SIGINT 2, SIGTERM 15: bits 0, 1 and 14 of SigCgt.
	local mask=$(((1 << 0) | (1 << 1) | (1 << 14))) pid
	bg_pre nc 30 nc -l "$STACK_IP" 9100
	wait_stack_up
	# timeout(1) runs the program as its child.
	wait_until 10 "nc under timeout" pgrep -P "$PID_nc" -x nc
	pid=$(pgrep -P "$PID_nc" -x nc)
	echo "nc $pid SigCgt $(sigcgt "$pid")"
	[ $((0x$(sigcgt "$pid") & mask)) = 0 ] || fail "a default action replaced in a process without exposed sockets"
	kill -TERM "$pid"
	bg_wait nc 10
	# bash exposes its /dev/tcp socket to a child: armed.
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$IN" 3
	wait_log "$(out srv)" listening
	bg_pre sh 30 bash -c 'exec 3<>/dev/tcp/192.0.2.1/9000; cat <&3 >/dev/null & wait'
	wait_until 10 "bash to expose its socket" grep -q "TCP exposed" "$LOG"
	pid=$(pgrep -P "$PID_sh" -x bash)
	echo "bash $pid SigCgt $(sigcgt "$pid")"
	# (A non-interactive bash leaves SIGTERM at its default action itself.)
	[ $((0x$(sigcgt "$pid") & (1 << 14))) != 0 ] || fail "no guard on SIGTERM in a process with an exposed socket"
}

# ---- SIGKILL: the stack process (stack/CONCURRENCY.md "the stack process") ----

# KILL_SENDER HOST PORT PATH [SNDBUF]: connects (with that SO_SNDBUF), writes
# the file, and dies of SIGKILL at once (sendall returns when the last byte is
# queued, not delivered).
KILL_SENDER='
import os, signal, socket, sys
s = socket.socket()
if len(sys.argv) > 4:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(sys.argv[4]))
s.connect((sys.argv[1], int(sys.argv[2])))
s.sendall(open(sys.argv[3], "rb").read())
os.kill(os.getpid(), signal.SIGKILL)
'

@test "SIGKILL right after writing 16 MiB: the peer receives all of it and then a FIN, as from the kernel" {
	bg_ker srv 60 "$PY" -c "$SHA_SERVER" "$HOST_IP" 9000
	wait_log "$(out srv)" listening
	tap_mark
	run pre 60 "$PY" -c "$KILL_SENDER" "$HOST_IP" 9000 "$IN"
	assert_equal "$status" 137
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out srv)"
	assert_line "$(sha "$IN") $((16 * MiB)) fin"
	# The stack process carried the stack on, then ended and let go of the TAP.
	pid_wait_gone "$(keeper_pid)" 15
	tap_assert_crossed $((16 * MiB)) 1000
	grep -q "the program (pid [0-9]*) died with it running" "$LOG"
}

@test "a program started on the TAP while a killed sender's stack still delivers its data waits for it, then starts; the peer gets every byte" {
	local t0 t1
	make_data "$IN" $((1 * MiB))
	# A reader that starts reading 2.5 s after the connection: the data
	# waits in the sender's stack meanwhile (longer than the second a start
	# used to wait for a busy TAP).
	bg_ker srv 60 "$PY" -c "$SHA_SERVER" "$HOST_IP" 9000 2.5
	wait_log "$(out srv)" listening
	# The whole file fits in its send buffer: sendall returns at once.
	run pre 60 "$PY" -c "$KILL_SENDER" "$HOST_IP" 9000 "$IN" $((4 * MiB))
	assert_equal "$status" 137
	# The next program, at once: its first socket call waits for the TAP
	# until the old stack has delivered and closed, then starts.
	t0=$(now_ms)
	run pre 30 "$PY" -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 9))
print("sent")'
	t1=$(now_ms)
	echo "the next program ran $((t1 - t0)) ms"
	assert_success
	assert_output sent
	grep -q "held by a stack that finishes its closes within [0-9]* ms; waiting for it" "$LOG"
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	run cat "$(out srv)"
	assert_line "$(sha "$IN") $((1 * MiB)) fin"
}

@test "SIGKILL of a reader with unread data: the peer sees a reset, as from the kernel" {
	# The kernel's rule (tcp_close): data left unread at the close is lost, so RST, not FIN.
	bg_ker srv 60 "$PY" -c '
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 9000))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
try:
    c.sendall(b"x" * 65536)
    c.recv(1)
    print("fin", flush=True)
except (ConnectionResetError, BrokenPipeError):
    print("reset", flush=True)
' "$HOST_IP"
	wait_log "$(out srv)" listening
	run pre 30 "$PY" -c '
import os, signal, socket, sys, time
s = socket.create_connection((sys.argv[1], 9000))
while s.recv(1, socket.MSG_PEEK) == b"":
    time.sleep(0.01)
os.kill(os.getpid(), signal.SIGKILL)
' "$HOST_IP"
	assert_equal "$status" 137
	bg_wait srv 20
	assert_equal "$BG_STATUS" 0
	run cat "$(out srv)"
	assert_line reset
	refute_line fin
}

@test "SIGKILL of bash while its background child reads the exposed socket: the child gets all 16 MiB" {
	local got=$BATS_TEST_TMPDIR/got
	bg_ker srv 60 "$PY" -c "$SEND_SERVER" "$HOST_IP" 9000 "$IN" 1
	wait_log "$(out srv)" listening
	run pre 30 bash -c "exec 3<>/dev/tcp/192.0.2.1/9000; cat <&3 >'$got' & kill -KILL \$\$"
	assert_equal "$status" 137
	wait_until 30 "16 MiB at the child" size_is "$got" $((16 * MiB))
	bg_wait srv 30
	assert_equal "$BG_STATUS" 0
	assert_same_file "$IN" "$got"
	pid_wait_gone "$(keeper_pid)" 15
}

@test "the stack process is no child the program can wait for, and is named pstack" {
	# wait() as on the kernel: ECHILD (the stack process is a clone child: __WALL only).
	run pre 30 "$PY" -c '
import os, socket
s = socket.socket()
s.bind(("0.0.0.0", 0))
s.listen(1)
names = []
for d in os.listdir("/proc"):
    try:
        st = open("/proc/%s/stat" % d).read()
    except (OSError, ValueError):
        continue
    comm, rest = st[st.index("(") + 1 : st.rindex(")")], st[st.rindex(")") + 2 :].split()
    if int(rest[1]) == os.getpid():
        names.append(comm)
print("children", names)
try:
    os.wait()
    print("waited")
except ChildProcessError:
    print("ECHILD")
'
	assert_success
	assert_line "children ['pstack']"
	assert_line ECHILD
}

@test "exec without exposed sockets: the stack process ends with the old image, and the TAP is free at once" {
	local pid
	bg_pre ex 30 "$PY" -c '
import os, socket
s = socket.socket()
s.bind(("0.0.0.0", 7002))
s.listen()
os.execv("/bin/sleep", ["sleep", "20"])
'
	wait_until 10 "the program" pgrep -P "$PID_ex"
	pid=$(pgrep -P "$PID_ex" | head -n 1)
	wait_until 10 "the exec" bash -c "[ \"\$(cat /proc/$pid/comm)\" = sleep ]"
	run pgrep -P "$pid" -x pstack
	assert_failure
	run pre 10 "$PY" -c 'import socket; s = socket.socket(); s.bind(("0.0.0.0", 7003)); s.listen(); print("ok")'
	assert_success
	assert_output ok
}

@test "a program that drops root takes its stack process with it: the same uid, gid and groups" {
	# The stack process shares the program's memory: it must not stay root.
	run pre 30 "$PY" -c '
import os, socket
s = socket.socket()
s.bind(("0.0.0.0", 0))
s.listen(1)
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
for d in os.listdir("/proc"):
    try:
        st = open("/proc/%s/stat" % d).read()
    except (OSError, ValueError):
        continue
    rest = st[st.rindex(")") + 2 :].split()
    if int(rest[1]) == os.getpid():
        for line in open("/proc/%s/status" % d):
            if line.split(":")[0] in ("Name", "Uid", "Gid", "Groups"):
                print(" ".join(line.split()))
'
	assert_success
	assert_line "Name: pstack"
	assert_line "Uid: 65534 65534 65534 65534"
	assert_line "Gid: 65534 65534 65534 65534"
	assert_line "Groups:"
}
