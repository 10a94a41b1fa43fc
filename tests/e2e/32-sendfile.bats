#!/usr/bin/env bats
# sendfile(2) from a regular file into a stack socket (shim/sendfile.c: the
# bytes go from a mapping of the file into the send ring): byte-exact with
# offsets across the mapping's 4 MiB windows, small counts (read, not
# mapped), short counts and EAGAIN on a
# non-blocking socket, the file position without an offset, and a file cut
# shorter by another process in the middle of a send (no crash: the sends
# end where the file now ends, and the peer gets exactly that prefix).
# The server is tests/e2e/sendfile.py under the preload, the peer the same
# script on the kernel's stack; then nginx with `sendfile on` under wrk.

load load-lib

SF=$BATS_TEST_DIRNAME/sendfile.py

setup() { e2e_setup; }
teardown() { e2e_teardown; }

# serve MODE ARGS...: sendfile.py serve on port 9000 under the preload,
# sending $BATS_TEST_TMPDIR/file; waits until it listens.
serve() {
	bg_pre srv 120 "$PY" "$SF" serve 9000 "$BATS_TEST_TMPDIR/file" "$@"
	wait_log "$(out srv)" '^listening'
	wait_stack_up
}

# served: waits for the server's end (status 0); SERVED: its last line.
served() {
	bg_wait srv 60
	[ "$BG_STATUS" = 0 ] || fail "the server ended with status $BG_STATUS: $(tail -3 "$(err srv)")"
	SERVED=$(tail -1 "$(out srv)")
	echo "server: $SERVED"
}

@test "sendfile with offsets: 64 MiB less 4097 bytes, in calls of 3 MiB + 5 bytes from offset 4097, byte-exact" {
	local f=$BATS_TEST_TMPDIR/file got=$BATS_TEST_TMPDIR/got size=$((64 * MiB))
	make_data "$f" $size
	serve offsets 4097 $size $((3 * MiB + 5))
	tap_mark
	run ker 60 "$PY" "$SF" fetch "$STACK_IP" 9000 "$got"
	assert_success
	served
	[[ "$SERVED" == "sent $((size - 4097)) "* ]] || fail "server: $SERVED"
	tail -c +4098 "$f" >"$BATS_TEST_TMPDIR/want"
	assert_same_file "$BATS_TEST_TMPDIR/want" "$got"
	tap_assert_crossed $((size - 4097)) 100
}

@test "sendfile with offsets in small calls (read, not mapped): 4 MiB in calls of 1000 bytes from offset 0, byte-exact" {
	local f=$BATS_TEST_TMPDIR/file got=$BATS_TEST_TMPDIR/got size=$((4 * MiB))
	make_data "$f" $size
	serve offsets 0 $size 1000
	run ker 60 "$PY" "$SF" fetch "$STACK_IP" 9000 "$got"
	assert_success
	served
	[[ "$SERVED" == "sent $size calls $(((size + 999) / 1000)) "* ]] || fail "server: $SERVED"
	assert_same_file "$f" "$got"
}

@test "sendfile on a non-blocking socket: short counts and EAGAIN, nothing lost, byte-exact 64 MiB" {
	local f=$BATS_TEST_TMPDIR/file got=$BATS_TEST_TMPDIR/got size=$((64 * MiB))
	make_data "$f" $size
	serve nonblock
	tap_mark
	run ker 60 "$PY" "$SF" fetch "$STACK_IP" 9000 "$got"
	assert_success
	served
	[[ "$SERVED" =~ ^sent\ $size\ calls\ [0-9]+\ short\ ([0-9]+)\ eagain\ ([0-9]+)$ ]] || fail "server: $SERVED"
	# Every call asks for the rest of the file, more than the send buffer holds.
	[ "${BASH_REMATCH[1]}" -ge 1 ] || fail "no short count: $SERVED"
	assert_same_file "$f" "$got"
	tap_assert_crossed $size 100
}

@test "sendfile cut short: the peer truncates the file to 40 MiB + 1000 in the middle of a 64 MiB send; no crash, the sends end there, the peer gets exactly that prefix" {
	local f=$BATS_TEST_TMPDIR/file got=$BATS_TEST_TMPDIR/got size=$((64 * MiB)) cut=$((40 * MiB + 1000))
	make_data "$f" $size
	cp "$f" "$BATS_TEST_TMPDIR/orig"
	# Without an offset: the file position moves with what was sent.
	serve position
	run ker 60 "$PY" "$SF" fetch "$STACK_IP" 9000 "$got" "$f" $((4 * MiB)) $cut
	assert_success
	served
	[[ "$SERVED" =~ ^sent\ $cut\ calls\ ([0-9]+)\  ]] || fail "server: $SERVED"
	[ "$(stat -c %s "$got")" = $cut ] || fail "the peer got $(stat -c %s "$got") bytes, not $cut"
	cmp -n $cut "$BATS_TEST_TMPDIR/orig" "$got"
}

@test "nginx with sendfile on: wrk -t2 -c50 for LOAD_WRK_S s on a 1 MiB file, zero errors; byte-exact downloads, whole and a range" {
	NGINX_SENDFILE=1 stack_nginx
	grep -q "sendfile on;" "$NGINX_DIR/nginx.conf"
	tap_mark
	wrk_clean -t2 -c50 -d"${LOAD_WRK_S}s" --timeout 10s "http://$STACK_IP:8080/1m"
	run ker 60 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8080/1m"
	assert_success
	assert_same_file "$WWW/1m" "$BATS_TEST_TMPDIR/got"
	run ker 60 curl -sS -f -r 4095-700000 -o "$BATS_TEST_TMPDIR/range" "http://$STACK_IP:8080/1m"
	assert_success
	tail -c +4096 "$WWW/1m" | head -c $((700000 - 4095 + 1)) >"$BATS_TEST_TMPDIR/want"
	assert_same_file "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/range"
	tap_assert_crossed $((100 * MiB)) 10000
}
