#!/usr/bin/env bats
# Programs that hand their sockets to other processes to reload, upgrade or
# be activated, under the preload, each compared with the same program on
# the kernel's stack in the same run (the twin of twin.bash, as in
# 42-servers2): systemd-socket-activate's --accept mode, which forks and
# execs its service with the connection on fd 3 (or stdin and stdout with
# --inetd) and an environment of its own (LISTEN_FDS, LISTEN_PID).

load lib
load twin

setup() {
	e2e_setup
	twin_setup 47
}
teardown() {
	e2e_teardown
	twin_teardown
}

# ---- systemd-socket-activate ------------------------------------------------

# The service: what it sees of the connection it was given (fd 3, or fd 0
# with --inetd), written to the client and to its log.
SSA_SERVICE='
import os, socket, sys
fd = 0 if sys.argv[1] == "inetd" else 3
s = socket.socket(fileno=fd)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
line = "%s fds=%s peer=%s me=%s:%d nodelay=%d\n" % (sys.argv[1], os.environ.get("LISTEN_FDS"),
    s.getpeername()[0], *s.getsockname(), s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
s.sendall(line.encode())
s.close()
'

@test "systemd-socket-activate --accept (and --inetd) under the preload: the exec'd service sees its connection's peer, address and TCP_NODELAY, as on the kernel" {
	have systemd systemd-socket-activate
	echo "$SSA_SERVICE" >"$SRV/svc.py"
	bg_k ssa1k 20 systemd-socket-activate -l "$STACK_IP:8081" --accept "$PY" "$SRV/svc.py" accept
	bg_k ssa2k 20 systemd-socket-activate -l "$STACK_IP:8082" --accept --inetd "$PY" "$SRV/svc.py" inetd
	wait_until 10 "the kernel's activator on 8081" k_listens 8081
	wait_until 10 "the kernel's activator on 8082" k_listens 8082
	KOUT=$(on k 10 nc -w 5 "$STACK_IP" 8081 </dev/null)
	KOUT+=$'\n'$(on k 10 nc -w 5 "$STACK_IP" 8082 </dev/null)
	# pstack: the two activators are one program each; the second waits
	# for the first to end (one program per TAP).
	bg_pre ssa1p 20 systemd-socket-activate -l "$STACK_IP:8081" --accept "$PY" "$SRV/svc.py" accept
	wait_log "$(err ssa1p)" "Listening on" 10
	tap_mark
	local pout
	pout=$(on p 10 nc -w 5 "$STACK_IP" 8081 </dev/null)
	kill -TERM "$PID_ssa1p"
	pid_wait_gone "$PID_ssa1p" 10
	bg_pre ssa2p 20 systemd-socket-activate -l "$STACK_IP:8082" --accept --inetd "$PY" "$SRV/svc.py" inetd
	wait_log "$(err ssa2p)" "Listening on" 10
	pout+=$'\n'$(on p 10 nc -w 5 "$STACK_IP" 8082 </dev/null)
	echo "kernel: $KOUT"
	echo "pstack: $pout"
	assert_equal "$pout" "$KOUT"
	assert_equal "$KOUT" "accept fds=1 peer=$HOST_IP me=$STACK_IP:8081 nodelay=1
inetd fds=None peer=$HOST_IP me=$STACK_IP:8082 nodelay=1"
	tap_assert_crossed 100 100
}
