#!/usr/bin/env bats
# pstack stat: the control socket of a running stack (stack/host/ctl.c) and
# its client (preload/stat.c): live connections during an iperf3 run, the
# counters, listeners; who may read a stack (its user and root); the socket
# file's life (gone at exit, a SIGKILLed program's removed by pstack stat);
# hostile clients that cannot stall the stack.

load lib

PSTACK=$PSTACK_BUILD/pstack

setup() { e2e_setup; }
teardown() { e2e_teardown; }

# stack_pid NAME: the PID of background command NAME's program (under
# timeout(1), which every background command runs in), once its stack's
# control socket answers root's pstack stat.
stack_pid() {
	local pidvar=PID_$1 pid=
	local deadline=$((SECONDS + 10))
	while [ -z "$pid" ]; do
		pid=$(pgrep -P "${!pidvar}" | head -n1)
		[ $SECONDS -ge $deadline ] && fail "no program under $1's timeout"
		[ -n "$pid" ] || sleep 0.05
	done
	wait_until 10 "pstack stat $pid to answer" "$PSTACK" stat "$pid"
	echo "$pid"
}

# ctl_socket PID USER: the control socket's path for a stack of USER.
ctl_socket() {
	echo "/tmp/pstack-$(id -u "$2")/$1.sock"
}

# max_field NAME: the largest NAME:value among the connections of a snapshot on stdin.
max_field() {
	grep -oE "(^|[ \t])$1:[0-9]+" | cut -d: -f2 | sort -n | tail -n1
}

# counter NAME: a counter's value in a snapshot on stdin.
counter() {
	awk -v n="$1" '$1 == n { print $2 }'
}

@test "pstack stat PID during iperf3: the connection ESTAB with cwnd > 0 and bytes_acked growing, the listener, counters (HyStart's too)" {
	bg_pre srv 60 iperf3 -s -1 -p 5201
	local pid
	pid=$(stack_pid srv)
	# The listener, before any client.
	run "$PSTACK" stat "$pid"
	assert_success
	assert_line --index 0 --regexp "^pstack $pid: $TAP 192\.0\.2\.2/24 gateway 192\.0\.2\.1 mac 00:00:5e:00:53:01 mtu 1500 up [0-9]+\.[0-9]{3}s$"
	assert_output --regexp "tcp +LISTEN +0 +[0-9]+ +0\.0\.0\.0:5201 +0\.0\.0\.0:\*"
	assert_line --regexp "^TcpPassiveOpens +0$"
	# The kernel's client receives (-R): the preloaded server sends.
	bg_ker cli 60 iperf3 -c "$STACK_IP" -p 5201 -t 6 -R
	wait_until 10 "the data connection" sh -c "'$PSTACK' stat $pid | grep -q 'bytes_acked:[1-9]'"
	local s1 s2 a1 a2 o1 o2
	s1=$("$PSTACK" stat "$pid")
	sleep 1
	s2=$("$PSTACK" stat "$pid")
	echo "$s2"
	grep -qE "tcp +ESTAB .*192\.0\.2\.2:5201 +192\.0\.2\.1:[0-9]+" <<<"$s2" || fail "no ESTAB connection in the snapshot"
	grep -qE "tcp +LISTEN .*0\.0\.0\.0:5201" <<<"$s2" || fail "the listener is gone from the snapshot"
	[ "$(max_field cwnd <<<"$s2")" -gt 0 ] || fail "cwnd is 0"
	grep -qE "rtt:[0-9.]+/[0-9.]+ " <<<"$s2" || fail "no rtt"
	grep -qE " minrtt:[0-9]+\.[0-9]{3} snd_wnd:[0-9]+ rcv_wnd:[0-9]+ skmem:\(r[0-9]+,rb[0-9]+,tb[0-9]+,w[0-9]+\)$" <<<"$s2" ||
		fail "no minrtt, snd_wnd, rcv_wnd or skmem"
	# ss -m's skmem: the rings' limits are at least their minimum (4 KiB),
	# and the sender's limit has grown past Linux's first 16 KiB.
	grep -qE " skmem:\(r[0-9]+,rb([4-9][0-9]{3}|[0-9]{5,}),tb([2-9][0-9]{4}|[0-9]{6,}),w[0-9]+\)$" <<<"$s2" ||
		fail "skmem's limits: $(grep -oE 'skmem:[^ ]*' <<<"$s2" | head -3)"
	grep -qE "retrans:[0-9]+/[0-9]+" <<<"$s2" || fail "no retrans"
	a1=$(max_field bytes_acked <<<"$s1")
	a2=$(max_field bytes_acked <<<"$s2")
	echo "bytes_acked $a1 -> $a2"
	[ "$a2" -gt "$a1" ] || fail "bytes_acked did not grow: $a1 -> $a2"
	o1=$(counter TcpOutSegs <<<"$s1")
	o2=$(counter TcpOutSegs <<<"$s2")
	echo "TcpOutSegs $o1 -> $o2"
	[ "$o2" -gt "$o1" ] || fail "TcpOutSegs did not grow: $o1 -> $o2"
	[ "$(counter TcpPassiveOpens <<<"$s2")" -ge 2 ] || fail "TcpPassiveOpens below 2 (control and data connections)"
	[ "$(counter TcpCurrEstab <<<"$s2")" -ge 2 ] || fail "TcpCurrEstab below 2"
	[ "$(counter IpInReceives <<<"$s2")" -gt 0 ] || fail "IpInReceives is 0"
	[ "$(counter PstackTapTxFrames <<<"$s2")" -gt 0 ] || fail "PstackTapTxFrames is 0"
	# Nothing is lost on the TAP: the sender's slow start ends by HyStart
	# (CUBIC's, as Linux's), counted as nstat counts it.
	local hs
	hs=$(( $(counter TcpExtTCPHystartTrainDetect <<<"$s2") + $(counter TcpExtTCPHystartDelayDetect <<<"$s2") ))
	[ "$hs" -ge 1 ] || fail "no HyStart exit counted"
	[ "$(counter TcpExtTCPHystartTrainCwnd <<<"$s2")" -ge 16 ] || \
		[ "$(counter TcpExtTCPHystartDelayCwnd <<<"$s2")" -ge 16 ] || fail "HyStart's window below 16 segments"
	# Every stack of the caller, without PID, shows this one.
	run "$PSTACK" stat
	assert_success
	assert_output --partial "pstack $pid: $TAP"
	# --watch refreshes until interrupted (here by timeout).
	run timeout 3 "$PSTACK" stat "$pid" --watch 1
	assert_failure 124
	[ "$(grep -c "^pstack $pid: " <<<"$output")" -ge 2 ] || fail "--watch 1 showed fewer than 2 snapshots in 3 s"
	bg_wait cli 30
	[ "$BG_STATUS" = 0 ] || fail "iperf3 client failed ($BG_STATUS)"
}

@test "pstack stat PID during iperf3 receiving: PstackTcpRxKept counts the frames kept where they were read (zero-copy receive)" {
	bg_pre srv 60 iperf3 -s -1 -p 5201
	local pid k1 k2
	pid=$(stack_pid srv)
	# The kernel's client sends: the preloaded server receives large frames.
	bg_ker cli 60 iperf3 -c "$STACK_IP" -p 5201 -t 3
	wait_until 10 "the data connection" sh -c "'$PSTACK' stat $pid | grep -q 'bytes_received:[1-9][0-9]\{6\}'"
	k1=$("$PSTACK" stat "$pid" | counter PstackTcpRxKept)
	sleep 1
	k2=$("$PSTACK" stat "$pid" | counter PstackTcpRxKept)
	echo "PstackTcpRxKept $k1 -> $k2"
	[ "$k2" -gt "$k1" ] || fail "PstackTcpRxKept did not grow: $k1 -> $k2"
	bg_wait cli 30
	[ "$BG_STATUS" = 0 ] || fail "iperf3 client failed ($BG_STATUS)"
}

@test "pstack stat: nobody cannot read root's stack; nobody's own stack is readable by nobody and root" {
	bg_pre srv 60 "$EXAMPLES/echo_server" 12345
	local pid
	pid=$(stack_pid srv)
	[ "$(stat -c '%U %a' "$(ctl_socket "$pid" root)")" = "root 600" ] || fail "the socket is not root's, 0600"
	[ "$(stat -c '%U %a' /tmp/pstack-0)" = "root 700" ] || fail "the folder is not root's, 0700"
	run ip netns exec "$NS" setpriv --reuid=nobody --regid=nogroup --clear-groups "$PSTACK" stat "$pid"
	assert_failure 1
	assert_output --partial "permission denied"
	refute_output --partial "Counters"
	refute_output --partial "12345"
	# Nor does it list root's among its own.
	run ip netns exec "$NS" setpriv --reuid=nobody --regid=nogroup --clear-groups "$PSTACK" stat
	refute_output --partial "pstack $pid"
	refute_output --partial "Counters"

	# nobody's own stack, on a TAP that belongs to nobody.
	nsx "$PSTACK" tap add tap1 --user nobody --host 198.51.100.1/24
	bg_nobody mine 60 "$PSTACK" --tap tap1 --addr 198.51.100.2/24 -- "$EXAMPLES/echo_server" 7 udp
	local npid
	npid=$(stack_pid mine)
	[ "$(stat -c '%U %a' "$(ctl_socket "$npid" nobody)")" = "nobody 600" ] || fail "nobody's socket is not nobody's, 0600"
	run ip netns exec "$NS" setpriv --reuid=nobody --regid=nogroup --clear-groups "$PSTACK" stat "$npid"
	assert_success
	assert_line --index 0 --regexp "^pstack $npid: tap1 198\.51\.100\.2/24 "
	assert_output --regexp "udp +UNCONN +0 +0 +0\.0\.0\.0:7 "
	# Root reads it too, and lists it with its own.
	run "$PSTACK" stat "$npid"
	assert_success
	assert_output --regexp "udp +UNCONN +0 +0 +0\.0\.0\.0:7 "
	run "$PSTACK" stat
	assert_success
	assert_output --partial "pstack $npid: tap1"
	assert_output --partial "pstack $pid: $TAP"
}

@test "pstack stat: the socket file goes when the program exits; a SIGKILLed program's is removed by pstack stat" {
	# A program that exits on its own after one connection, which the peer
	# closes first (a stack left with TIME_WAIT outlives its program, and
	# shows under its PID meanwhile: 90-timewait.bats).
	bg_pre once 30 "$PY" -c '
import socket
s = socket.socket()
s.bind(("0.0.0.0", 7000))
s.listen()
c, _ = s.accept()
c.recv(1)
c.close()
'
	local pid sock
	pid=$(stack_pid once)
	sock=$(ctl_socket "$pid" root)
	[ -S "$sock" ] || fail "no socket $sock"
	run "$PSTACK" stat "$pid"
	assert_output --regexp "tcp +LISTEN +0 +[0-9]+ +0\.0\.0\.0:7000"
	run retry_refused 10 ker 10 "$PY" -c 'import socket; socket.create_connection(("192.0.2.2", 7000), timeout=5).close()'
	assert_success
	bg_wait once 20
	[ "$BG_STATUS" = 0 ] || fail "the program failed ($BG_STATUS)"
	[ ! -e "$sock" ] || fail "$sock is still there after the program exited"
	run "$PSTACK" stat "$pid"
	assert_failure 1
	assert_output --partial "no such process"

	# SIGKILL of the program: its stack process closes its sockets, ends
	# and takes the file with it.
	bg_pre srv0 30 "$EXAMPLES/echo_server" 12344
	pid=$(stack_pid srv0)
	sock=$(ctl_socket "$pid" root)
	kill -KILL "$pid"
	wait_until 10 "the file to go with the stack process" test ! -e "$sock"

	# The stack process killed too (it takes the program with it): the
	# file is left behind; pstack stat PID removes it.
	bg_pre srv 30 "$EXAMPLES/echo_server" 12345
	pid=$(stack_pid srv)
	sock=$(ctl_socket "$pid" root)
	kill -KILL "$(pgrep -P "$pid" -x pstack)"
	pid_wait_gone "$pid" 10
	[ -S "$sock" ] || fail "expected the SIGKILLed program's socket to be left behind"
	run "$PSTACK" stat "$pid"
	assert_failure 1
	assert_output --partial "removed $sock"
	[ ! -e "$sock" ] || fail "$sock was not removed"

	# And so does pstack stat without PID (a stale file among live ones).
	bg_pre srv2 30 "$EXAMPLES/echo_server" 12346
	pid=$(stack_pid srv2)
	sock=$(ctl_socket "$pid" root)
	kill -KILL "$(pgrep -P "$pid" -x pstack)"
	pid_wait_gone "$pid" 10
	run "$PSTACK" stat
	assert_output --partial "removed $sock"
	[ ! -e "$sock" ] || fail "$sock was not removed"
}

@test "pstack stat: garbage requests and clients that never read do not stall the stack" {
	bg_pre srv 60 "$EXAMPLES/echo_server" 12345
	local pid sock
	pid=$(stack_pid srv)
	sock=$(ctl_socket "$pid" root)
	# A garbage request gets an error line, not a snapshot.
	run "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"\x00\xffGARBAGE" * 100)
s.settimeout(5)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print(got.decode(errors="replace"))
' "$sock"
	assert_success
	assert_output --partial "unknown request"
	refute_output --partial "Counters"
	# Hostile clients in the background: ones that ask and never read,
	# ones that connect and say nothing, ones that send garbage without
	# end; each holds its connection for 8 s.
	_bg hostile "$PY" -c '
import socket, sys, time
held = []
for i in range(12):
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
        if i % 3 == 0:
            s.send(b"stat\n")
        elif i % 3 == 1:
            s.send(b"x" * 4096)
    except OSError:
        pass
    held.append(s)
time.sleep(8)
' "$sock"
	# Meanwhile a 16 MiB echo through the stack completes byte-exact.
	head -c 16777216 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	tap_mark
	run ker 60 sh -c "nc -N $STACK_IP 12345 <'$BATS_TEST_TMPDIR/in' >'$BATS_TEST_TMPDIR/got'"
	assert_success
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed 16777216 16777216
	# And pstack stat answers again within the clients' deadline (2 s).
	wait_until 10 "pstack stat $pid to answer" "$PSTACK" stat "$pid"
	run "$PSTACK" stat "$pid"
	assert_success
	assert_output --partial "Counters"
}

@test "pstack stat: \$XDG_RUNTIME_DIR/pstack is made 0700; another mode, owner or a symlink is refused with one line and the program runs on" {
	local x=$BATS_TEST_TMPDIR/xdg pid
	mkdir -m 0700 "$x"
	export XDG_RUNTIME_DIR=$x
	bg_pre srv 30 "$EXAMPLES/echo_server" 12345
	pid=$(stack_pid srv)
	[ "$(stat -c '%U %a' "$x/pstack")" = "root 700" ] || fail "$x/pstack is not root's, 0700"
	[ -S "$x/pstack/$pid.sock" ] || fail "no socket in $x/pstack"
	kill -TERM "$PID_srv"
	bg_wait srv 10
	# A program that starts its stack (bind) and exits.
	local prog='import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9)); print("bound")'
	chmod 0755 "$x/pstack"
	run pre 20 "$PY" -c "$prog"
	assert_success
	assert_line "bound"
	assert_output --partial "$x/pstack has mode 0755, not 0700"
	[ "$(grep -c 'control socket' <<<"$output")" = 1 ] || fail "expected one line about the control socket"
	chmod 0700 "$x/pstack"
	chown nobody "$x/pstack"
	run pre 20 "$PY" -c "$prog"
	assert_success
	assert_line "bound"
	assert_output --partial "$x/pstack belongs to uid $(id -u nobody), not to uid 0"
	rm -rf "$x/pstack"
	mkdir -m 0700 "$x/elsewhere"
	ln -s "$x/elsewhere" "$x/pstack"
	run pre 20 "$PY" -c "$prog"
	assert_success
	assert_line "bound"
	assert_output --partial "$x/pstack is a symbolic link"
	[ -z "$(ls -A "$x/elsewhere")" ] || fail "a socket was made through the symlink"
}

@test "pstack stat: usage errors say so with status 2; no such process, status 1" {
	run "$PSTACK" --help
	assert_success
	assert_output --partial "stat [PID] [--watch N]"
	run "$PSTACK" stat --watch 0
	assert_failure 2
	assert_output --partial "--watch '0' is not valid"
	run "$PSTACK" stat --watch
	assert_failure 2
	run "$PSTACK" stat 1 2
	assert_failure 2
	assert_output --partial "unexpected argument '2'"
	run "$PSTACK" stat 999999999
	assert_failure 1
	assert_output --partial "999999999: no such process"
	# A process without a stack.
	run "$PSTACK" stat $$
	assert_failure 1
	assert_output --partial "$$: no stack runs in this process"
}

@test "pstack stat: a fork child does not keep its parent's control socket: the SIGKILLed parent's file is removed, not waited for" {
	# The parent starts the stack (a listener), forks a child that only
	# sleeps, and is killed. The child must not hold the control socket's
	# listener, or connect() would succeed and nobody answer.
	bg_pre fk 30 "$PY" -c '
import os, socket, time
s = socket.socket()
s.bind(("0.0.0.0", 7001))
s.listen()
if os.fork() == 0:
    time.sleep(20)
    os._exit(0)
time.sleep(20)
'
	local pid sock child
	pid=$(stack_pid fk)
	sock=$(ctl_socket "$pid" root)
	wait_until 10 "the fork child" pgrep -P "$pid" -x python3
	child=$(pgrep -P "$pid" -x python3)
	echo "$child" >>"$PIDFILE"
	# The program and its stack process (killing that one takes the program with it).
	kill -KILL "$(pgrep -P "$pid" -x pstack)"
	pid_wait_gone "$pid" 10
	[ -S "$sock" ] || fail "expected the SIGKILLed program's socket to be left behind"
	run "$PSTACK" stat "$pid"
	assert_failure 1
	assert_output --partial "removed $sock"
	refute_output --partial "did not answer"
	kill -TERM "$child"
}
