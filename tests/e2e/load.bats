#!/usr/bin/env bats
# Servers under load (issue 6): thousands of connections held and churned
# through one stack, a SYN flood, malformed frames at line rate, nginx and
# redis under the preload, faults on both sides. The kernel-side clients and
# attack tools are tests/tools/*.c (proven against the kernel itself by
# tests/tools/selftest.sh).
#
# Long and heavy: skipped unless PSTACK_LOAD_TESTS=1. Sizes (issue 6's by
# default) can be made smaller for a quick run:
#   LOAD_CONNS=10000 LOAD_CHURN=100000 LOAD_SYNS=50000 LOAD_JUNK=200000
#   LOAD_RSS_PER_CONN_MAX (bytes, default 65536): the bound on the preloaded
#   server's RSS per held connection; LOAD_LEAK_MAX_KB (default 8192): the
#   bound on its RSS growth over the last 3/5 of the churn. LOAD_STALL_S (default 120): how
#   long the slow reader keeps its window closed; LOAD_DOWN_S (default 30): how
#   long the host side of the TAP stays down.

load lib

LOAD_CONNS=${LOAD_CONNS:-10000}
LOAD_CHURN=${LOAD_CHURN:-100000}
LOAD_SYNS=${LOAD_SYNS:-50000}
LOAD_JUNK=${LOAD_JUNK:-200000}
LOAD_RSS_PER_CONN_MAX=${LOAD_RSS_PER_CONN_MAX:-65536}
LOAD_LEAK_MAX_KB=${LOAD_LEAK_MAX_KB:-8192}
LOAD_STALL_S=${LOAD_STALL_S:-120}
LOAD_DOWN_S=${LOAD_DOWN_S:-30}
PORT=7000
# More client addresses on the host side, so that the kernel's clients have
# 4 x 64k ports and its TIME_WAIT never runs out of them.
CLIENTS=192.0.2.1,192.0.2.11,192.0.2.12,192.0.2.13

setup_file() {
	[ "${PSTACK_LOAD_TESTS:-}" = 1 ] || return 0
	TOOLS=$BATS_FILE_TMPDIR/tools
	sh "$BATS_TEST_DIRNAME/../tools/build.sh" "$TOOLS"
	export TOOLS
}

setup() {
	[ "${PSTACK_LOAD_TESTS:-}" = 1 ] || skip "load tests: set PSTACK_LOAD_TESTS=1"
	e2e_setup
	local a
	for a in 11 12 13; do nsx ip addr add "192.0.2.$a/24" dev "$TAP"; done
	nsx sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
}
teardown() {
	[ "${PSTACK_LOAD_TESTS:-}" = 1 ] || return 0
	e2e_teardown
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

@test "load: 10k (LOAD_CONNS) concurrent connections through one stack, each echoing, RSS per connection bounded" {
	local base held n=$LOAD_CONNS
	stack_echo
	base=$(rss_kb "$SRV")
	tap_mark
	bg_ker hold 600 "$TOOLS/conn_hold" -n "$n" -c 256 -l 64 -T 500 -H 5 -b "$CLIENTS" "$STACK_IP" "$PORT"
	wait_log "$(out hold)" "holding|done" 400
	held=$(rss_kb "$SRV")
	local fds
	fds=$(fd_count "$SRV")
	bg_wait hold 200
	cat "$(out hold)"
	[ "$BG_STATUS" = 0 ] || fail "conn_hold failed: $(cat "$(out hold)" "$(err hold)")"
	grep -q "reverified=$n of $n" "$(out hold)"
	# Nothing stuck: the server sees every one of them closed.
	wait_until 60 "the preloaded server to see all $n connections closed" srv_all_closed
	echo "RSS of the preloaded server: $base KiB at rest, $held KiB with $n connections" \
		"($(((held - base) * 1024 / n)) bytes per connection); $fds fds open"
	[ "$fds" -ge "$n" ] || fail "only $fds fds open in the server while $n connections were held"
	[ $(((held - base) * 1024 / n)) -le "$LOAD_RSS_PER_CONN_MAX" ] ||
		fail "RSS per connection above $LOAD_RSS_PER_CONN_MAX bytes"
	tap_assert_crossed $((n * 64 * 2)) $((n * 64 * 2))
}

@test "load: 100k (LOAD_CHURN) short connections in a row (server closes first): no fd or memory leak" {
	local fds0 fdsa i rss=() chunk=$((LOAD_CHURN / 5))
	# TIME_WAIT of 2 x 500 ms, so that it is over when memory is measured.
	bg_pre srv 900 env PSTACK_TCP_MSL_MS=500 "$TOOLS/echo_epoll" -C 32 "$PORT"
	wait_log "$(out srv)" "listening" 20
	wait_stack_up
	SRV=$(prog_pid srv)
	fds0=$(fd_count "$SRV")
	rss+=("$(rss_kb "$SRV")")
	tap_mark
	# Five rounds of LOAD_CHURN/5. The stack's RSS steps up once to its working
	# set (the peak of connections in TIME_WAIT at once, and the allocator
	# keeping what it had); a leak shows as growth that goes on from round to
	# round, so the bound is on rounds 2 to 5.
	for i in 1 2 3 4 5; do
		run ker 900 "$TOOLS/conn_churn" -n "$chunk" -c 8 -t 10 -T 850 -b "$CLIENTS" "$STACK_IP" "$PORT"
		echo "round $i: $output"
		assert_success
		assert_output --partial "ok=$chunk failed=0"
		# Let TIME_WAIT (2 x PSTACK_TCP_MSL_MS = 1 s) run out: a timer, not an event to wait for.
		sleep 2
		rss+=("$(rss_kb "$SRV")")
	done
	fdsa=$(fd_count "$SRV")
	echo "server: fds $fds0 before, $fdsa after; RSS (KiB) at start and after each round: ${rss[*]}"
	[ "$fdsa" -le "$fds0" ] || fail "fds leaked: $fds0 before, $fdsa after"
	[ $((rss[5] - rss[2])) -le "$LOAD_LEAK_MAX_KB" ] ||
		fail "RSS grew by $((rss[5] - rss[2])) KiB from round 2 to round 5 ($((chunk * 3)) connections)"
	# The stack is still fine: a new round of connections works.
	run ker 60 "$TOOLS/conn_churn" -n 50 -c 50 -T 30 "$STACK_IP" "$PORT"
	assert_success
	tap_assert_crossed $((chunk * 5 * 32)) $((chunk * 5 * 32))
}

@test "load: SYN flood of 50k (LOAD_SYNS) SYNs at full speed while legitimate clients connect: all succeed" {
	local base after flood rounds=0 ok=0
	stack_echo
	base=$(rss_kb "$SRV")
	bg_ker flood 300 "$TOOLS/synflood" -i "$TAP" -m "$STACK_MAC" -d "$STACK_IP" -p "$PORT" -n "$LOAD_SYNS" -T 240
	wait_until 10 "synflood to start" prog_started flood
	flood=$(prog_pid flood)
	# Legitimate clients in rounds of 100 for as long as the flood runs (at least 5 rounds).
	while [ $rounds -lt 5 ] || { kill -0 "$flood" 2>/dev/null && [ $rounds -lt 100 ]; }; do
		run ker 120 "$TOOLS/conn_churn" -n 100 -c 4 -t 30 -T 100 "$STACK_IP" "$PORT"
		echo "round $rounds: $output"
		assert_success
		rounds=$((rounds + 1))
		ok=$((ok + 100))
	done
	bg_wait flood 300
	cat "$(out flood)"
	[ "$BG_STATUS" = 0 ] || fail "synflood: $(cat "$(out flood)" "$(err flood)")"
	echo "$ok legitimate connections in $rounds rounds, all fine"
	echo "tap0 host side: tx_dropped $(nsx cat /sys/class/net/$TAP/statistics/tx_dropped)"
	after=$(rss_kb "$SRV")
	echo "RSS of the preloaded server: $base KiB before the flood, $after KiB after"
	[ $((after - base)) -le 65536 ] || fail "RSS grew by $((after - base)) KiB under the flood"
	# After the flood: the stack answers and serves new connections.
	wait_stack_up 20
	run ker 60 "$TOOLS/conn_hold" -n 100 -T 50 "$STACK_IP" "$PORT"
	assert_success
}

@test "load: malformed frames at full speed during a 64 MiB echo transfer: byte-exact, the stack keeps answering" {
	local junk
	make_data "$BATS_TEST_TMPDIR/blob" $((64 * MiB))
	stack_echo
	# Junk for as long as the transfer runs (bounded by -T), then stopped.
	bg_ker junk 300 "$TOOLS/junkframes" -i "$TAP" -m "$STACK_MAC" -d "$STACK_IP" -p "$PORT" \
		-n 100000000 -T 240 -v
	wait_until 10 "junkframes to start" prog_started junk
	junk=$(prog_pid junk)
	tap_mark
	ker 240 socat -b 65536 -t 60 - "TCP:$STACK_IP:$PORT,shut-down" \
		<"$BATS_TEST_TMPDIR/blob" >"$BATS_TEST_TMPDIR/back" || fail "socat failed"
	kill -0 "$junk" 2>/dev/null || fail "junkframes ended before the transfer did: $(cat "$(out junk)" "$(err junk)")"
	kill -TERM "$junk"
	bg_wait junk 30
	cat "$(out junk)"
	grep -qE "sent [1-9][0-9]* frames" "$(out junk)" || fail "junkframes sent nothing"
	assert_same_file "$BATS_TEST_TMPDIR/blob" "$BATS_TEST_TMPDIR/back"
	tap_assert_crossed $((64 * MiB)) $((64 * MiB))
	wait_stack_up 10
	run ker 60 "$TOOLS/conn_hold" -n 100 -T 50 "$STACK_IP" "$PORT"
	assert_success
	# And LOAD_JUNK more at full speed, the stack otherwise idle; then it still serves.
	run ker 300 "$TOOLS/junkframes" -i "$TAP" -m "$STACK_MAC" -d "$STACK_IP" -p "$PORT" -n "$LOAD_JUNK" -T 240 -S 7
	echo "$output"
	assert_success
	wait_stack_up 10
	run ker 60 "$TOOLS/conn_hold" -n 100 -T 50 "$STACK_IP" "$PORT"
	assert_success
}

# ---- nginx and redis -------------------------------------------------------

# stack_nginx: nginx (one process) under the preload on port 8080, serving $WWW.
stack_nginx() {
	command -v nginx >/dev/null || skip "nginx is not installed (Debian: nginx-light)"
	WWW=$BATS_TEST_TMPDIR/www
	local p=$BATS_TEST_TMPDIR/nginx
	mkdir -p "$WWW" "$p/logs" "$p/tmp"
	printf 'hello from nginx through pstack\n' >"$WWW/index.html"
	make_data "$WWW/1m" "$MiB"
	cat >"$p/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
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
	run ker 120 wrk "$@"
	echo "$output"
	assert_success
	refute_output --partial "Socket errors"
	refute_output --partial "Non-2xx"
	assert_output --regexp "[1-9][0-9]* requests in"
}

@test "load: nginx under the preload: wrk -t2 -c100 -d10s on a small page, zero errors; byte-exact 1 MiB; 5000 HTTP/1.0 connections" {
	stack_nginx
	tap_mark
	wrk_clean -t2 -c100 -d10s "http://$STACK_IP:8080/index.html"
	run ker 60 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8080/1m"
	assert_success
	assert_same_file "$WWW/1m" "$BATS_TEST_TMPDIR/got"
	# HTTP/1.0, nginx closes first: short connections in a row.
	run ker 300 "$TOOLS/conn_churn" -n 5000 -c 8 -b "$CLIENTS" \
		-r 'GET /index.html HTTP/1.0\r\n\r\n' -x 'HTTP/1.1 200' -e 100 "$STACK_IP" 8080
	echo "$output"
	assert_success
	tap_assert_crossed $((5 * MiB)) 100000
}

@test "load: nginx under the preload: wrk -t2 -c100 -d10s on a 1 MiB file, zero errors (wrk's own 2 s timeout)" {
	stack_nginx
	tap_mark
	wrk_clean -t2 -c100 -d10s "http://$STACK_IP:8080/1m"
	tap_assert_crossed $((100 * MiB)) 10000
}

@test "load: nginx under the preload with faults on both sides (stack 1% loss+dup+reorder, host 1% loss): no failed request, byte-exact" {
	nsx iptables -A INPUT -i "$TAP" -m statistic --mode random --probability 0.01 -j DROP
	nsx iptables -A OUTPUT -o "$TAP" -m statistic --mode random --probability 0.01 -j DROP
	stack_nginx env PSTACK_FAULTS=loss=1%,dup=1%,reorder=1%,seed=6
	run ker 120 wrk -t2 -c20 -d10s --timeout 10s "http://$STACK_IP:8080/1m"
	echo "$output"
	assert_success
	assert_output --regexp "[1-9][0-9]* requests in"
	refute_output --partial "Non-2xx"
	# Only timeouts may count as socket errors (issue 6), never connect/read/write.
	if [[ $output =~ Socket\ errors:\ connect\ ([0-9]+),\ read\ ([0-9]+),\ write\ ([0-9]+) ]]; then
		[ "${BASH_REMATCH[1]}${BASH_REMATCH[2]}${BASH_REMATCH[3]}" = 000 ] || fail "socket errors other than timeouts"
	fi
	local i
	for i in 1 2 3; do
		run ker 120 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8080/1m"
		assert_success
		assert_same_file "$WWW/1m" "$BATS_TEST_TMPDIR/got"
	done
}

@test "load: a peer that stops reading (zero window for LOAD_STALL_S s): the nginx download resumes byte-exact" {
	stack_nginx
	make_data "$WWW/big" $((16 * MiB))
	tap_mark
	run ker $((LOAD_STALL_S + 120)) "$PY" "$BATS_TEST_DIRNAME/../tools/slow_reader.py" \
		"$STACK_IP" 8080 /big $MiB "$LOAD_STALL_S" "$BATS_TEST_TMPDIR/got" 120
	echo "$output"
	assert_success
	assert_same_file "$WWW/big" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((16 * MiB)) 100
	# nginx is still fine.
	run ker 30 curl -sS -f -o /dev/null "http://$STACK_IP:8080/index.html"
	assert_success
}

got_at_least() {
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/got" 2>/dev/null || echo 0)" -ge "$1" ]
}

# tap_outage_during NAME T: takes the host side of the TAP down for
# LOAD_DOWN_S s once NAME's output file holds 4 MiB, then up again.
tap_outage_during() {
	wait_until 60 "4 MiB downloaded before the outage" got_at_least $((4 * MiB))
	nsx ip link set "$TAP" down
	echo "tap down at $(stat -c %s "$BATS_TEST_TMPDIR/got") bytes"
	sleep "$LOAD_DOWN_S" # the outage itself: a duration, not a wait for an event
	nsx ip link set "$TAP" up
	echo "tap up at $(stat -c %s "$BATS_TEST_TMPDIR/got") bytes"
}

@test "load: a peer that disappears (host side of the TAP down LOAD_DOWN_S s): preloaded nginx's transfer resumes byte-exact" {
	stack_nginx
	make_data "$WWW/big" $((64 * MiB))
	# Rate-limited so that the outage falls in the middle of the transfer.
	bg_ker curl $((LOAD_DOWN_S + 240)) curl -sS -f --limit-rate 2M -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8080/big"
	tap_outage_during curl
	bg_wait curl $((LOAD_DOWN_S + 240))
	[ "$BG_STATUS" = 0 ] || fail "curl: $(cat "$(err curl)")"
	assert_same_file "$WWW/big" "$BATS_TEST_TMPDIR/got"
}

@test "load: a peer that disappears (host side of the TAP down LOAD_DOWN_S s): preloaded curl's download resumes byte-exact" {
	WWW=$BATS_TEST_TMPDIR/www
	mkdir -p "$WWW"
	make_data "$WWW/big" $((64 * MiB))
	bg_ker http $((LOAD_DOWN_S + 300)) "$PY" -m http.server --bind "$HOST_IP" --directory "$WWW" 8000
	wait_kernel_listen 8000
	bg_pre curl $((LOAD_DOWN_S + 240)) curl -sS -f --limit-rate 2M -o "$BATS_TEST_TMPDIR/got" "http://$HOST_IP:8000/big"
	tap_outage_during curl
	bg_wait curl $((LOAD_DOWN_S + 240))
	[ "$BG_STATUS" = 0 ] || fail "curl: $(cat "$(err curl)")"
	assert_same_file "$WWW/big" "$BATS_TEST_TMPDIR/got"
}

@test "load: redis-server under the preload: redis-benchmark -n 100000 -c 50 -t set,get,lpush,lpop without errors" {
	command -v redis-server >/dev/null || skip "redis-server is not installed (Debian: redis-server)"
	bg_pre redis 600 redis-server --port 6379 --bind 0.0.0.0 --protected-mode no --save '' \
		--appendonly no --dir "$BATS_TEST_TMPDIR"
	wait_stack_up
	wait_until 20 "redis under the preload to answer" \
		ip netns exec "$NS" redis-cli -h "$STACK_IP" -p 6379 ping
	tap_mark
	run ker 300 redis-benchmark -h "$STACK_IP" -p 6379 -n 100000 -c 50 -t set,get,lpush,lpop -q
	echo "$output"
	assert_success
	refute_output --regexp "[Ee]rror|ERR"
	[ "$(grep -c "requests per second" <<<"$output")" = 4 ] || fail "not 4 results"
	tap_assert_crossed 1000000 1000000
}

@test "load: redis-cli under the preload talks to a kernel-side redis" {
	command -v redis-server >/dev/null || skip "redis-server is not installed (Debian: redis-server)"
	bg_ker redis 120 redis-server --port 6379 --bind "$HOST_IP" --protected-mode no --save '' \
		--appendonly no --dir "$BATS_TEST_TMPDIR"
	wait_kernel_listen 6379
	tap_mark
	run pre 30 redis-cli -h "$HOST_IP" -p 6379 set pstack-key "value through the stack"
	assert_success
	assert_output "OK"
	run pre 30 redis-cli -h "$HOST_IP" -p 6379 get pstack-key
	assert_success
	assert_output "value through the stack"
	tap_assert_crossed 50 50
}
