#!/usr/bin/env bats
# examples/demo.sh (make demo) runs to the end and cleans up after itself.

load lib

setup() {
	[ "$(id -u)" = 0 ] || skip "the demo needs root"
	[ -f "$LIBPSTACK" ] || fail "no $LIBPSTACK: build first"
	DEMO=$BATS_TEST_DIRNAME/../../examples/demo.sh
}

# demo_namespaces: the demo's namespaces that exist now (there should be none after it).
demo_namespaces() {
	ip netns list | grep -c '^pstack-demo-' || true
}

@test "the demo (TCP) runs to the end, checks its transfer and removes its namespace" {
	local before
	before=$(demo_namespaces)
	run timeout -k 5 120 sh "$DEMO" "$PSTACK_BUILD"
	assert_success
	assert_output --partial "3 packets transmitted, 3 received"
	assert_output --partial "4008 bytes from 192.0.2.2"
	assert_output --partial "lladdr 00:00:5e:00:53:01"
	assert_output --partial "received: hello pstack, this is the kernel speaking"
	assert_output --partial "identical."
	assert_output --regexp "Flags \[S\.\]"
	assert_output --partial "counters:"
	# A clean local link hands the stack its frames in order. (Two threads
	# reading the device at once once reordered them: an old ACK behind
	# newer segments, whose older timestamp failed PAWS.) TCP_OUT_OF_WINDOW
	# is not checked: on a loaded machine the echo server's window can fill,
	# and the kernel's zero-window probe (sequence SND.UNA - 1) is counted
	# there, as Linux counts it (tcp_sequence fails, a duplicate ACK answers).
	refute_output --regexp "drops: TCP_PAWS"
	assert_output --partial "Demo finished"
	assert_equal "$(demo_namespaces)" "$before"
}

@test "the demo over UDP (DEMO_PROTO=udp) runs to the end" {
	run timeout -k 5 120 env DEMO_PROTO=udp sh "$DEMO" "$PSTACK_BUILD"
	assert_success
	assert_output --partial "received: hello pstack, this is the kernel speaking"
	assert_output --partial "identical."
	assert_output --partial "Demo finished"
}

@test "the demo refuses a missing build folder with one clear line" {
	run sh "$DEMO" /nonexistent/build
	assert_failure
	assert_output --partial "no build folder"
}
