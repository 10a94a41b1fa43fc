#!/usr/bin/env bats
# No busy waiting: a program blocked on a stack socket, in accept or
# in poll/recv on an idle connection, uses no CPU, and neither does the stack's
# thread. Measured from the kernel's own accounting (/proc/PID/stat, utime and
# stime of the whole process, every thread included) over a quiet window.

load lib

setup() { e2e_setup; }
teardown() { e2e_teardown; }

# cpu_ticks PID: user + system clock ticks the process has used.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# the_program NAME: the PID of the program itself (a child of timeout).
the_program() {
	local pidvar=PID_$1
	pgrep -P "${!pidvar}" | head -n 1
}

# idle_ticks PID: ticks used over a two-second window (the window is what is
# measured: nothing waits on it).
idle_ticks() {
	local a b
	a=$(cpu_ticks "$1")
	sleep 2
	b=$(cpu_ticks "$1")
	echo $((b - a))
}

@test "a preloaded server blocked in accept uses no CPU" {
	bg_pre srv 30 nc -l 12345
	wait_stack_up
	local pid t
	pid=$(the_program srv)
	[ -n "$pid" ] || fail "no nc process"
	grep -q libpstack "/proc/$pid/maps" || fail "nc (pid $pid) does not run under the preload"
	t=$(idle_ticks "$pid")
	echo "ticks used in 2 s while blocked in accept: $t"
	# 2 ticks (20 ms at 100 Hz) allow for the clock's rounding, not for polling.
	[ "$t" -le 2 ] || fail "nc used $t ticks in 2 s while waiting for a connection"
}

@test "a preloaded client waiting on an idle connection (poll on stdin and the socket) uses no CPU" {
	bg_ker srv 30 nc -l "$HOST_IP" 12345
	wait_kernel_listen 12345
	# stdin stays open and silent: nc polls it and the socket together.
	_bg cli ip netns exec "$NS" timeout -k 3 30 sh -c "sleep 25 | LD_PRELOAD='$PRELOAD' exec nc $HOST_IP 12345"
	wait_until 10 "the connection to be established" \
		sh -c "ip netns exec '$NS' ss -tnH state established '( sport = :12345 )' | grep -q ."
	local sh_pid pid t
	# timeout -> sh -> nc (the pipeline's last command).
	sh_pid=$(pgrep -P "$PID_cli" | head -n 1)
	pid=$(pgrep -P "$sh_pid" -x nc | head -n 1)
	[ -n "$pid" ] || fail "no nc process under sh $sh_pid"
	[ "$(cat "/proc/$pid/comm")" = nc ] || fail "pid $pid is not nc"
	grep -q libpstack "/proc/$pid/maps" || fail "nc (pid $pid) does not run under the preload"
	t=$(idle_ticks "$pid")
	echo "ticks used in 2 s on an idle connection: $t"
	[ "$t" -le 2 ] || fail "nc used $t ticks in 2 s on an idle connection"
}
