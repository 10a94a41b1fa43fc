#!/usr/bin/env bats
# Servers under load, scale and attack: thousands of connections
# held and churned through one stack, a SYN flood, malformed frames at line
# rate. The kernel-side clients and attack tools are tests/tools/*.c (proven
# against the kernel itself by tests/tools/selftest.sh). Sizes and modes
# (make test, make soak, sanitizers): load-lib.bash.

load load-lib

setup_file() { load_setup_file; }
setup() { load_setup; }
teardown() { load_teardown; }

@test "load: 10k (LOAD_CONNS) concurrent connections through one stack, each echoing, RSS per connection bounded" {
	local base held fds n=$LOAD_CONNS
	stack_echo
	base=$(rss_kb "$SRV")
	tap_mark
	bg_ker hold 600 "$TOOLS/conn_hold" -n "$n" -c 256 -l 64 -T 500 -H "$LOAD_HOLD_S" -b "$CLIENTS" "$STACK_IP" "$PORT"
	wait_log "$(out hold)" "holding|done" 400
	held=$(rss_kb "$SRV")
	fds=$(fd_count "$SRV")
	bg_wait hold $((LOAD_HOLD_S + 200))
	cat "$(out hold)"
	[ "$BG_STATUS" = 0 ] || fail "conn_hold failed: $(cat "$(out hold)" "$(err hold)")"
	grep -q "reverified=$n of $n" "$(out hold)"
	# Nothing stuck: the server sees every one of them closed.
	wait_until 60 "the preloaded server to see all $n connections closed" srv_all_closed
	echo "RSS of the preloaded server: $base KiB at rest, $held KiB with $n connections" \
		"($(((held - base) * 1024 / n)) bytes per connection); $fds fds open"
	[ "$fds" -ge "$n" ] || fail "only $fds fds open in the server while $n connections were held"
	if rss_checked; then
		[ $(((held - base) * 1024 / n)) -le "$LOAD_RSS_PER_CONN_MAX" ] ||
			fail "RSS per connection above $LOAD_RSS_PER_CONN_MAX bytes"
	fi
	tap_assert_crossed $((n * 64 * 2)) $((n * 64 * 2))
}

@test "load: 50k (LOAD_CHURN) short connections in a row (server closes first): no fd or memory leak" {
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
	# A leak grows the RSS in every round by about the same amount; the
	# working set's step (the peak of TIME_WAIT connections at once depends
	# on the rate, which the machine's load moves) happens once, in any
	# round. So the bound is on the smallest growth of rounds 3, 4 and 5,
	# and on their sum (a step that big is a leak whatever its shape).
	if rss_checked; then
		local d3=$((rss[3] - rss[2])) d4=$((rss[4] - rss[3])) d5=$((rss[5] - rss[4])) min
		min=$d3
		if [ "$d4" -lt "$min" ]; then min=$d4; fi
		if [ "$d5" -lt "$min" ]; then min=$d5; fi
		[ "$min" -le "$LOAD_LEAK_ROUND_MAX_KB" ] ||
			fail "RSS grew in each of rounds 3 to 5 (by $d3, $d4, $d5 KiB for $chunk connections each)"
		[ $((rss[5] - rss[2])) -le "$LOAD_LEAK_MAX_KB" ] ||
			fail "RSS grew by $((rss[5] - rss[2])) KiB from round 2 to round 5 ($((chunk * 3)) connections)"
	fi
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
	tap_drops
	after=$(rss_kb "$SRV")
	echo "RSS of the preloaded server: $base KiB before the flood, $after KiB after"
	if rss_checked; then
		[ $((after - base)) -le 65536 ] || fail "RSS grew by $((after - base)) KiB under the flood"
	fi
	# After the flood: the stack answers and serves new connections.
	wait_stack_up 20
	run ker 60 "$TOOLS/conn_hold" -n 100 -T 50 "$STACK_IP" "$PORT"
	assert_success
}

@test "load: malformed frames at full speed during a 64 MiB (LOAD_JUNK_XFER_MIB) echo transfer: byte-exact, the stack keeps answering" {
	local junk rate=()
	make_data "$BATS_TEST_TMPDIR/blob" $((LOAD_JUNK_XFER_MIB * MiB))
	stack_echo
	[ "$LOAD_JUNK_PPS" = 0 ] || rate=(-R "$LOAD_JUNK_PPS")
	# Junk for as long as the transfer runs (bounded by -T), then stopped.
	bg_ker junk 300 "$TOOLS/junkframes" -i "$TAP" -m "$STACK_MAC" -d "$STACK_IP" -p "$PORT" \
		-n 100000000 -T 240 -v "${rate[@]}"
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
	tap_assert_crossed $((LOAD_JUNK_XFER_MIB * MiB)) $((LOAD_JUNK_XFER_MIB * MiB))
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
