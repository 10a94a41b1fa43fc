#!/usr/bin/env bats
# Programs that hand their sockets to other processes to reload, upgrade or
# be activated, under the preload, each compared with the same program on
# the kernel's stack in the same run (the twin of twin.bash, as in
# 42-servers2): systemd-socket-activate's --accept mode, which forks and
# execs its service with the connection on fd 3 (or stdin and stdout with
# --inetd) and an environment of its own (LISTEN_FDS, LISTEN_PID); gunicorn's
# re-exec upgrade (USR2), whose new master takes the listener from
# GUNICORN_FD and sets it up again, listen() included, while a client keeps
# coming.

load lib
load twin

setup() {
	e2e_setup
	twin_setup 47
}
teardown() {
	local f p
	# A new master outlives the old one (its parent), so the timeout
	# around the old one's start does not reach it: ended here if it
	# still runs (its command line names this test's folder).
	for f in "$SRV"/*.pid "$SRV"/*.pid.2; do
		p=$(cat "$f" 2>/dev/null) || continue
		grep -qF "$SRV" "/proc/$p/cmdline" 2>/dev/null && kill -TERM "$p" 2>/dev/null
	done
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

# ---- a client that keeps coming during a reload ------------------------------------

# RELOAD_CLIENT HOST PORT STOPFILE: HTTP/1.0 requests one after the other,
# each on a connection of its own, until STOPFILE appears (at most 20 s);
# then what failed, by kind ("errors: none" when nothing did).
RELOAD_CLIENT='
import collections, os, socket, sys, time
host, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bad = collections.Counter()
ok = 0
end = time.monotonic() + 20
while not os.path.exists(stop) and time.monotonic() < end:
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((host, port))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        d = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            d += b
        if d.startswith(b"HTTP/1.1 200") or d.startswith(b"HTTP/1.0 200"):
            ok += 1
        else:
            bad["bad-answer"] += 1
    except OSError as e:
        bad[type(e).__name__] += 1
    finally:
        s.close()
print("errors:", " ".join("%s=%d" % kv for kv in sorted(bad.items())) or "none", flush=True)
print("served:", ok, file=sys.stderr)
'

# ---- gunicorn -------------------------------------------------------------------

# The application answers its master's PID (the worker's parent): which
# generation served.
GU_APP='
import os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d\n" % os.getppid()]
'

# gu_get k|p: one request's answer.
gu_get() {
	on "$1" 10 curl -s -m 5 "http://$STACK_IP:8080/"
}

# gu_upgrade k|p: gunicorn with 1 worker, then its re-exec upgrade (USR2:
# the master forks and execs a new one, which takes the listener from
# GUNICORN_FD), the old master stopped (TERM) once the new one serves, a
# client loop all along. Prints what served before and after, and what the
# client saw fail.
gu_upgrade() {
	local w=$1 run=bg_k old new i
	[ "$w" = p ] && run=bg_pre
	echo "$GU_APP" >"$SRV/app.py"
	$run gu$w 30 "$PY" -m gunicorn -w 1 --timeout 2 -b "$STACK_IP:8080" -p "$SRV/gu-$w.pid" --chdir "$SRV" app:app
	wait_until 15 "gunicorn ($w) to answer" gu_get "$w"
	wait_until 5 "gunicorn's ($w) pid file" test -s "$SRV/gu-$w.pid"
	old=$(cat "$SRV/gu-$w.pid")
	[ "$(gu_get "$w")" = "$old" ] && echo "before: the first master"
	on "$w" 30 "$PY" -c "$RELOAD_CLIENT" "$STACK_IP" 8080 "$SRV/stop-$w" >"$SRV/cli-$w" 2>&1 &
	local cli=$!
	kill -USR2 "$old"
	# The new master writes its PID to PIDFILE.2 until the old one is gone.
	for i in $(seq 150); do
		[ -s "$SRV/gu-$w.pid.2" ] && break
		sleep 0.1
	done
	new=$(cat "$SRV/gu-$w.pid.2" 2>/dev/null) && [ "$new" != "$old" ] && echo "a new master"
	# It serves beside the old one (their workers accept on the same
	# listener) before the old one stops.
	for i in $(seq 100); do
		[ "$(gu_get "$w")" = "$new" ] && break
		sleep 0.05
	done
	kill -TERM "$old"
	pid_wait_gone "$old" 10 && echo "the old master gone"
	[ "$(gu_get "$w")" = "$new" ] && echo "after: the new master"
	touch "$SRV/stop-$w"
	wait "$cli"
	grep errors: "$SRV/cli-$w"
	kill -QUIT "$new"
	pid_wait_gone "$new" 10
}

@test "gunicorn's re-exec upgrade (USR2) under the preload: the new master takes the listener from GUNICORN_FD and listens on it again; no request fails, as on the kernel" {
	$PY -c 'import gunicorn' 2>/dev/null || skip "gunicorn is missing (python3-gunicorn not installed: sh tests/deps.sh install)"
	# Both sides at once (namespaces of their own): gunicorn's boots are
	# most of the time.
	gu_upgrade k >"$SRV/gu-k.out" 2>&1 &
	local kside=$! pout
	tap_mark
	pout=$(gu_upgrade p)
	wait "$kside" || true
	KOUT=$(cat "$SRV/gu-k.out")
	echo "kernel: $KOUT"
	echo "pstack: $pout"
	assert_equal "$pout" "$KOUT"
	assert_equal "$KOUT" "before: the first master
a new master
the old master gone
after: the new master
errors: none"
	tap_assert_crossed 10000 10000
}
