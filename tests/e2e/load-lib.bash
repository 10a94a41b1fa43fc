# Shared setup of the load tests (70-load-scale.bats,
# 71-load-servers.bats, 72-load-failure.bats): sizes, the kernel-side tools of
# tests/tools, the preloaded servers (echo_epoll, nginx).
#
# They are part of `make test` at their everyday sizes, with the failure
# durations ("zero window for minutes") shortened; `make soak`
# runs the long variants. PSTACK_LOAD_TESTS selects:
#   (unset) or 1   make test: 10k held, 50k churn, 50k SYNs, wrk -d6s,
#                  redis-benchmark -n 100000, zero window 6 s, TAP down 5 s
#                  (6 s under a preloaded receiver)
#   soak           make soak: the same counts and longer runs (wrk -d60s, 300k
#                  churn, 1M redis requests, 60 s holding the 10k, zero window
#                  180 s, TAP down 60 s in a 64 MiB download, a 30 s
#                  TCP_USER_TIMEOUT)
#   0              skip them (a quick local run of the rest of the suite)
# Under a sanitizer build (make asan, make tsan) the counts are the same
# (measured here: 10k held in 10 s with ASan, 15 s with TSan; 100k churned in
# 20 s, 40 s; make test churns 50k), but the junk frames of the transfer test come at 50k/s onto a
# 16 MiB transfer (at full speed, 500k/s, the TSan build moved 64 MiB in more
# than 3 minutes: it was starved, not wrong), and RSS bounds are not checked
# (ASan's quarantine and shadow memory, TSan's shadow, are not the stack's
# memory: 400 MB after the ASan churn).
# Any size can be set from the environment:
#   LOAD_CONNS LOAD_CHURN LOAD_SYNS LOAD_JUNK LOAD_HTTP10 LOAD_REDIS_N
#   LOAD_JUNK_XFER_MIB (the transfer the junk frames fall on), LOAD_JUNK_PPS
#   (their rate during it, 0 = full speed)
#   LOAD_WRK_S (wrk's -d), LOAD_HOLD_S (how long the 10k are held)
#   LOAD_RSS_PER_CONN_MAX (bytes, default 65536): the bound on the preloaded
#   server's RSS per held connection; LOAD_LEAK_ROUND_MAX_KB (default 1024):
#   the bound on the smallest of its RSS growths in rounds 3 to 5 of the
#   churn (a leak grows every round); LOAD_LEAK_MAX_KB (default 16384): the
#   bound on their sum (one step of the working set fits).
#   LOAD_STALL_S: how long the slow reader keeps its window closed;
#   LOAD_DOWN_S: how long the host side of the TAP stays down (the
#   preloaded sender's outage); LOAD_DOWN_RX_S: the same for the preloaded
#   receiver's (shorter in make test: the kernel's sender backs off alike);
#   LOAD_OUTAGE_MIB: the size of the download the outage falls in;
#   LOAD_USER_TIMEOUT_MS: the TCP_USER_TIMEOUT of the vanished-peer tests.

load lib

case ${PSTACK_LOAD_TESTS:-1} in
0 | off | no) LOAD_MODE=off ;;
soak) LOAD_MODE=soak ;;
*) LOAD_MODE=test ;;
esac

# load_default VAR TEST SOAK SANITIZER: VAR from the environment, else the
# value for this mode.
load_default() {
	local v=$2
	[ "$LOAD_MODE" = soak ] && v=$3
	[ -n "$SAN_RT" ] && v=$4
	[ -n "${!1:-}" ] || printf -v "$1" %s "$v"
}
load_default LOAD_CONNS 10000 10000 10000
load_default LOAD_HOLD_S 5 60 5
load_default LOAD_CHURN 50000 300000 50000
load_default LOAD_SYNS 50000 50000 50000
load_default LOAD_JUNK 200000 1000000 200000
load_default LOAD_JUNK_XFER_MIB 64 256 16
load_default LOAD_JUNK_PPS 0 0 50000
load_default LOAD_HTTP10 5000 20000 5000
load_default LOAD_REDIS_N 100000 1000000 100000
load_default LOAD_WRK_S 6 60 6
load_default LOAD_STALL_S 6 180 6
load_default LOAD_DOWN_S 5 60 5
load_default LOAD_DOWN_RX_S 6 60 6
load_default LOAD_OUTAGE_MIB 16 64 16
load_default LOAD_USER_TIMEOUT_MS 5000 30000 5000
LOAD_RSS_PER_CONN_MAX=${LOAD_RSS_PER_CONN_MAX:-65536}
LOAD_LEAK_MAX_KB=${LOAD_LEAK_MAX_KB:-16384}
LOAD_LEAK_ROUND_MAX_KB=${LOAD_LEAK_ROUND_MAX_KB:-1024}
PORT=7000
# More client addresses on the host side, so that the kernel's clients have
# 4 x 64k ports and its TIME_WAIT never runs out of them.
CLIENTS=192.0.2.1,192.0.2.11,192.0.2.12,192.0.2.13

# load_setup_file: the tools of tests/tools, built by make (sets TOOLS).
load_setup_file() {
	[ "$LOAD_MODE" != off ] || return 0
	TOOLS=$PSTACK_BUILD/tools
	[ -x "$TOOLS/conn_churn" ] || fail "no $TOOLS/conn_churn: build first (make all)"
	export TOOLS
}

# load_setup [--no-tap]: the test's namespace, with the extra client addresses.
load_setup() {
	[ "$LOAD_MODE" != off ] || skip "load tests: PSTACK_LOAD_TESTS=0"
	e2e_setup "$@"
	local a
	if [ "${1:-}" != --no-tap ]; then
		for a in 11 12 13; do nsx ip addr add "192.0.2.$a/24" dev "$TAP"; done
	fi
	nsx sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
}
load_teardown() {
	[ "$LOAD_MODE" != off ] || return 0
	e2e_teardown
}

# rss_checked: true when RSS bounds mean something (no sanitizer runtime).
rss_checked() {
	[ -z "$SAN_RT" ]
}

# prog_pid NAME: the PID of the program that bg_pre/bg_ker NAME started (the
# child of its timeout(1)).
prog_pid() {
	local pidvar=PID_$1
	ps -o pid= --ppid "${!pidvar}" | head -n 1 | tr -d ' '
}
prog_started() {
	[ -n "$(prog_pid "$1")" ]
}
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
fd_count() {
	ls "/proc/$1/fd" | wc -l
}

# tap_drops: the host side's drop counters (frames the kernel could not hand
# to the stack, frames of the stack the kernel dropped), for the record.
tap_drops() {
	echo "$TAP host side: tx_dropped $(nsx cat "/sys/class/net/$TAP/statistics/tx_dropped")" \
		"rx_dropped $(nsx cat "/sys/class/net/$TAP/statistics/rx_dropped")"
}

# srv_all_closed: asks echo_epoll (SIGUSR1) for its counters; true once none is open.
srv_all_closed() {
	kill -USR1 "$SRV"
	tail -n 1 "$(out srv)" | grep -q " open=0 "
}

# stack_echo [ARGS...]: tests/tools/echo_epoll under the preload on $PORT; sets SRV.
stack_echo() {
	bg_pre srv 900 "$TOOLS/echo_epoll" "$@" "$PORT"
	wait_log "$(out srv)" "listening" 20
	wait_stack_up
	SRV=$(prog_pid srv)
	[ -n "$SRV" ] || fail "no PID for the preloaded echo_epoll"
}

# stack_nginx [ENV...]: nginx (one process) under the preload on port 8080,
# serving $WWW (index.html, 1m). ENV: `env VAR=...` to put before nginx.
# NGINX_MASTER=on NGINX_WORKERS=N: a master process and N workers instead
# (86-fork.bats; the workers stay root, to read the test's files);
# NGINX_DIR is the prefix either way. NGINX_SENDFILE=1: `sendfile on` (as
# Debian's own nginx.conf has it; 32-sendfile.bats).
stack_nginx() {
	command -v nginx >/dev/null || skip "nginx is not installed (Debian: nginx-light)"
	san_check nginx
	WWW=$BATS_TEST_TMPDIR/www
	local p=$BATS_TEST_TMPDIR/nginx
	NGINX_DIR=$p
	mkdir -p "$WWW" "$p/logs" "$p/tmp"
	printf 'hello from nginx through pstack\n' >"$WWW/index.html"
	make_data "$WWW/1m" "$MiB"
	cat >"$p/nginx.conf" <<EOF
daemon ${NGINX_DAEMON:-off};
master_process ${NGINX_MASTER:-off};
worker_processes ${NGINX_WORKERS:-1};
${NGINX_MASTER:+user root;}
worker_rlimit_nofile 8192;
error_log stderr warn;
pid $p/nginx.pid;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $p/tmp/body;
	proxy_temp_path $p/tmp/proxy;
	fastcgi_temp_path $p/tmp/fastcgi;
	uwsgi_temp_path $p/tmp/uwsgi;
	scgi_temp_path $p/tmp/scgi;
	keepalive_requests 100000;
	${NGINX_SENDFILE:+sendfile on;}
	# The slow reader keeps its window shut for minutes: nginx must not give up first.
	send_timeout 3600s;
	server {
		listen 8080 backlog=4096;
		root $WWW;
	}
}
EOF
	bg_pre nginx 900 "$@" nginx -p "$p" -c "$p/nginx.conf" -e stderr
	wait_stack_up
	wait_until 20 "nginx under the preload to answer" \
		ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 "http://$STACK_IP:8080/"
}

# wrk_clean ARGS...: runs wrk on the kernel side; fails on any socket error or non-2xx.
wrk_clean() {
	run ker 180 wrk --latency "$@"
	echo "$output"
	tap_drops
	assert_success
	refute_output --partial "Socket errors"
	refute_output --partial "Non-2xx"
	assert_output --regexp "[1-9][0-9]* requests in"
}
