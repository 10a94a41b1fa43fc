#!/usr/bin/env bats
# TAP offloads (PSTACK_OFFLOAD, on by default): checksum offload and TSO in
# both directions let frames of up to 64 KB cross the TAP, the kernel joining
# segments towards the stack and cutting the stack's large frames. The stack's
# own frame counters (logged at exit with PSTACK_LOG=debug) show it: far fewer
# frames than MTU-sized segments. With PSTACK_OFFLOAD=0, one frame per segment.

load lib

setup() { e2e_setup; }
teardown() { e2e_teardown; }

# frames LOG in|out: the stack's frame counter from its exit log.
frames() {
	sed -n "s/.*counters: frames in \([0-9]*\) out \([0-9]*\);.*/\1 \2/p" "$1" | tail -n 1 |
		awk -v d="$2" '{ print (d == "in") ? $1 : $2 }'
}

# transfer OFFLOAD: 16 MiB from the kernel to the stack and back (the stack
# echoes through nc's half-close), byte-exact, with the exit log in $LOG.
transfer() {
	LOG=$BATS_TEST_TMPDIR/log-$1
	make_data "$BATS_TEST_TMPDIR/in" $((16 * MiB))
	_bg rx ip netns exec "$NS" timeout -k 3 120 env LD_PRELOAD="$PRELOAD" PSTACK_OFFLOAD="$1" \
		PSTACK_LOG=debug PSTACK_LOG_FILE="$LOG" \
		sh -c "exec nc -N -l 12345 < '$BATS_TEST_TMPDIR/in' > '$BATS_TEST_TMPDIR/got'"
	wait_stack_up
	tap_mark
	run retry_refused 20 ker 120 sh -c "nc $STACK_IP 12345 < '$BATS_TEST_TMPDIR/in' > '$BATS_TEST_TMPDIR/back'"
	assert_success
	bg_wait rx 60
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back"
	tap_assert_crossed $((16 * MiB)) $((16 * MiB))
}

SEGMENTS=$((16 * 1024 * 1024 / 1448))

@test "offloads on (default): 16 MiB each way cross the TAP in large frames" {
	transfer 1
	local in out
	in=$(frames "$LOG" in)
	out=$(frames "$LOG" out)
	echo "frames in $in, out $out, for $SEGMENTS segments each way"
	# A quarter of the segment count leaves room for small bursts.
	[ "$in" -lt $((SEGMENTS / 4)) ] || fail "received $in frames: the kernel did not join segments"
	# The stack's frames out are its data (TSO frames: a quarter of the
	# segment count leaves room for small bursts) and its ACKs for the
	# 16 MiB coming in: at most one per frame in (per batch, or per two
	# segments), more of them when a loaded machine splits the batches.
	# Without TSO the data alone would be SEGMENTS frames, above this bound.
	[ "$out" -lt $((in + SEGMENTS / 4)) ] || fail "sent $out frames for $in received: no TSO frames"
}

@test "PSTACK_OFFLOAD=0: one frame per segment" {
	transfer 0
	local in out
	in=$(frames "$LOG" in)
	out=$(frames "$LOG" out)
	echo "frames in $in, out $out, for $SEGMENTS segments each way"
	[ "$in" -ge "$SEGMENTS" ] || fail "received only $in frames for $SEGMENTS segments"
	[ "$out" -ge "$SEGMENTS" ] || fail "sent only $out frames for $SEGMENTS segments"
}
