#!/usr/bin/env bats
# Servers under load, failure: a peer that stops reading (zero
# window), a peer that disappears for a while (the host side of the TAP down,
# then up: transfers resume byte-exact) and one that disappears for good
# (TCP_USER_TIMEOUT: a blocked send() or recv() fails with ETIMEDOUT after
# the configured time, the kernel's own behaviour as the reference). Nothing
# may hang: every program runs under a bound. Sizes and modes: load-lib.bash.

load load-lib

setup_file() { load_setup_file; }
setup() {
	case $BATS_TEST_DESCRIPTION in
	*"kernel's reference"*) load_setup --no-tap ;; # a veth pair of its own instead
	*) load_setup ;;
	esac
}
teardown() {
	load_teardown
	if [ -n "${NS2:-}" ]; then
		ip netns del "$NS2" 2>/dev/null || true
	fi
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

# tap_outage_during NAME [SECONDS]: takes the host side of the TAP down for
# SECONDS (LOAD_DOWN_S) once NAME's output file holds 4 MiB, then up again.
tap_outage_during() {
	local at down=${2:-$LOAD_DOWN_S}
	wait_until 60 "4 MiB downloaded before the outage" got_at_least $((4 * MiB))
	nsx ip link set "$TAP" down
	at=$(stat -c %s "$BATS_TEST_TMPDIR/got")
	echo "tap down at $at bytes"
	[ "$at" -lt $((LOAD_OUTAGE_MIB * MiB)) ] || fail "the download was over before the outage began"
	sleep "$down" # the outage itself: a duration, not a wait for an event
	nsx ip link set "$TAP" up
	echo "tap up at $(stat -c %s "$BATS_TEST_TMPDIR/got") bytes"
}

@test "load: a peer that disappears (host side of the TAP down LOAD_DOWN_S s): preloaded nginx's transfer resumes byte-exact" {
	stack_nginx
	make_data "$WWW/big" $((LOAD_OUTAGE_MIB * MiB))
	# Rate-limited so that the outage falls in the middle of the transfer.
	bg_ker curl $((LOAD_DOWN_S + 240)) curl -sS -f --limit-rate 2M -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8080/big"
	tap_outage_during curl
	bg_wait curl $((LOAD_DOWN_S + 240))
	[ "$BG_STATUS" = 0 ] || fail "curl: $(cat "$(err curl)")"
	assert_same_file "$WWW/big" "$BATS_TEST_TMPDIR/got"
}

@test "load: a peer that disappears (host side of the TAP down LOAD_DOWN_RX_S s): preloaded curl's download resumes byte-exact" {
	san_check curl
	WWW=$BATS_TEST_TMPDIR/www
	mkdir -p "$WWW"
	make_data "$WWW/big" $((LOAD_OUTAGE_MIB * MiB))
	bg_ker http $((LOAD_DOWN_RX_S + 300)) "$PY" -m http.server --bind "$HOST_IP" --directory "$WWW" 8000
	wait_kernel_listen 8000
	bg_pre curl $((LOAD_DOWN_RX_S + 240)) curl -sS -f --limit-rate 2M -o "$BATS_TEST_TMPDIR/got" "http://$HOST_IP:8000/big"
	tap_outage_during curl "$LOAD_DOWN_RX_S"
	bg_wait curl $((LOAD_DOWN_RX_S + 240))
	[ "$BG_STATUS" = 0 ] || fail "curl: $(cat "$(err curl)")"
	assert_same_file "$WWW/big" "$BATS_TEST_TMPDIR/got"
}

# ---- a peer that disappears for good: TCP_USER_TIMEOUT ----------------------
#
# tests/tools/user_timeout connects to a kernel-side sink with TCP_USER_TIMEOUT
# set (LOAD_USER_TIMEOUT_MS), the peer's side of the link goes down and never
# comes back, and the program's blocked call must fail with ETIMEDOUT: not
# before the configured time (measured from just before the link went down
# to the failure, so the measure can only be too long), and not wildly after
# (4 times the configured time, plus the bounded backoff of the one
# retransmission that notices: a hang check, not a timing assertion).
# The same program and checks run on the kernel's own stack over a veth pair
# as the reference.

# ut_sink NETNS ADDR: a kernel-side sink (reads and discards) on ADDR:9000.
ut_sink() {
	_bg sink ip netns exec "$1" timeout -k 3 300 socat -u "TCP-LISTEN:9000,bind=$2,reuseaddr" OPEN:/dev/null
	wait_until 10 "the sink to listen" _ut_listens "$1"
}
_ut_listens() {
	ip netns exec "$1" ss -Hltn "sport = :9000" | grep -q .
}

_ut_crossed() {
	[ $(($(tap_bytes rx) - MARK_RX)) -ge "$1" ]
}

# ut_check T0: checks user_timeout's report: ETIMEDOUT, and when. T0: the wall
# clock ($EPOCHREALTIME) just before the peer went away.
ut_check() {
	local t0=$1 at ms u=$LOAD_USER_TIMEOUT_MS
	bg_wait ut $((u * 4 / 1000 + 150))
	cat "$(out ut)" "$(err ut)"
	grep -q "errno=ETIMEDOUT" "$(out ut)" || fail "the call did not fail with ETIMEDOUT (status $BG_STATUS)"
	[ "$BG_STATUS" = 0 ] || fail "user_timeout exited with $BG_STATUS"
	at=$(sed -n 's/.* at=\([0-9.]*\),.*/\1/p' "$(out ut)")
	ms=$(awk -v a="$at" -v b="$t0" 'BEGIN { printf "%d", (a - b) * 1000 }')
	echo "ETIMEDOUT $ms ms after the peer went away (TCP_USER_TIMEOUT=$u ms)"
	[ "$ms" -ge "$u" ] || fail "ETIMEDOUT after $ms ms: before the configured $u ms"
	[ "$ms" -le $((u * 4 + 2000)) ] || fail "ETIMEDOUT after $ms ms: far beyond the configured $u ms"
}

@test "load: a peer that disappears for good (TAP down): a preloaded send() fails with ETIMEDOUT after TCP_USER_TIMEOUT" {
	local t0
	ut_sink "$NS" "$HOST_IP"
	bg_pre ut $((LOAD_USER_TIMEOUT_MS * 4 / 1000 + 120)) "$TOOLS/user_timeout" -u "$LOAD_USER_TIMEOUT_MS" -m send \
		-T $((LOAD_USER_TIMEOUT_MS * 4 / 1000 + 100)) "$HOST_IP" 9000
	wait_log "$(out ut)" "flowing|failed" 30
	tap_mark
	wait_until 10 "1 MiB more through the TAP" _ut_crossed $MiB
	t0=$EPOCHREALTIME
	nsx ip link set "$TAP" down
	ut_check "$t0"
	grep -q "send failed" "$(out ut)"
}

@test "load: a peer that disappears for good (TAP down): a preloaded recv() blocked with data unacknowledged fails with ETIMEDOUT after TCP_USER_TIMEOUT" {
	local t0
	ut_sink "$NS" "$HOST_IP"
	bg_pre ut $((LOAD_USER_TIMEOUT_MS * 4 / 1000 + 120)) "$TOOLS/user_timeout" -u "$LOAD_USER_TIMEOUT_MS" -m recv \
		-T $((LOAD_USER_TIMEOUT_MS * 4 / 1000 + 100)) "$HOST_IP" 9000
	wait_log "$(out ut)" "waiting for SIGUSR1|failed" 30
	t0=$EPOCHREALTIME
	nsx ip link set "$TAP" down
	kill -USR1 "$(prog_pid ut)"
	ut_check "$t0"
	grep -q "recv failed" "$(out ut)"
}

# ut_kernel_pair: the reference: the test's namespace (the client, 192.0.2.2,
# where the stack would be) and NS2 (the sink, 192.0.2.1), joined by a veth pair.
# The peer disappears by dropping every IP packet in NS2 (ut_peer_gone): taking
# its end of the veth down instead would take the carrier of the client's end
# with it, and the kernel then fails at once with EHOSTUNREACH (its own link
# is down, seen here), which is not a vanished peer. The stack cannot see the
# host side of its TAP go down: for it, that is a peer that went silent.
ut_kernel_pair() {
	NS2=$NS-peer
	ip netns del "$NS2" 2>/dev/null || true
	ip netns add "$NS2"
	ip -n "$NS2" link set lo up
	ip link add "pu$$c" netns "$NS" type veth peer name "pu$$s" netns "$NS2"
	ip -n "$NS" addr add "$STACK_IP/24" dev "pu$$c"
	ip -n "$NS2" addr add "$HOST_IP/24" dev "pu$$s"
	ip -n "$NS" link set "pu$$c" up
	ip -n "$NS2" link set "pu$$s" up
}
ut_peer_gone() {
	ip netns exec "$NS2" iptables -I INPUT -j DROP
	ip netns exec "$NS2" iptables -I OUTPUT -j DROP
}
ut_peer_back() {
	ip netns exec "$NS2" iptables -D INPUT -j DROP
	ip netns exec "$NS2" iptables -D OUTPUT -j DROP
}

@test "load: the kernel's reference for the vanished peer: send() and recv() fail with ETIMEDOUT after TCP_USER_TIMEOUT (same program, veth)" {
	local t0
	# It checks the kernel and the tool, not pstack (12 s): make soak only,
	# to keep make test within its time.
	[ "$LOAD_MODE" = soak ] || skip "the kernel's reference runs in make soak"
	ut_kernel_pair
	ut_sink "$NS2" "$HOST_IP"
	bg_ker ut $((LOAD_USER_TIMEOUT_MS * 4 / 1000 + 120)) "$TOOLS/user_timeout" -u "$LOAD_USER_TIMEOUT_MS" -m send \
		-T $((LOAD_USER_TIMEOUT_MS * 4 / 1000 + 100)) "$HOST_IP" 9000
	wait_log "$(out ut)" "flowing|failed" 30
	t0=$EPOCHREALTIME
	ut_peer_gone
	ut_check "$t0"
	grep -q "send failed" "$(out ut)"

	ut_peer_back
	ut_sink "$NS2" "$HOST_IP"
	bg_ker ut $((LOAD_USER_TIMEOUT_MS * 4 / 1000 + 120)) "$TOOLS/user_timeout" -u "$LOAD_USER_TIMEOUT_MS" -m recv \
		-T $((LOAD_USER_TIMEOUT_MS * 4 / 1000 + 100)) "$HOST_IP" 9000
	wait_log "$(out ut)" "waiting for SIGUSR1|failed" 30
	t0=$EPOCHREALTIME
	ut_peer_gone
	kill -USR1 "$(prog_pid ut)"
	ut_check "$t0"
	grep -q "recv failed" "$(out ut)"
}
