#!/usr/bin/env bats
# TCP through the stack on a bad link: the stack's own fault injector
# (PSTACK_FAULTS), random loss on the kernel's side (iptables, inside the
# test's namespace only), and a small MTU. Transfers must arrive intact, and
# the recovery paths must really have run (segments the stack's capture shows
# it sent twice).

load lib

setup() { e2e_setup; }
teardown() { e2e_teardown; }

# resent_segments PCAP PORT: how many data segments the stack sent more than
# once on the connection with the kernel's PORT, from the stack's own capture
# (PSTACK_PCAP is written frame by frame, before the fault injector): proof
# that its loss recovery ran.
resent_segments() {
	tcpdump -n -r "$1" "src host $STACK_IP and tcp port $2" 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "seq" && $(i + 1) ~ /:/) seen[$(i + 1)]++ }
		     END { for (k in seen) if (seen[k] > 1) n++; print n + 0 }'
}

@test "PSTACK_FAULTS loss, duplication, reordering and delay: 8 MiB each way arrive intact" {
	local faults=loss=2%,dup=1%,reorder=2%,delay=1ms,seed=7
	make_data "$BATS_TEST_TMPDIR/in" $((8 * MiB))
	# The stack sends: its retransmissions repair the losses.
	_bg rx ip netns exec "$NS" timeout -k 3 120 sh -c "exec nc -l $HOST_IP 12345 > '$BATS_TEST_TMPDIR/got-up'"
	wait_kernel_listen 12345
	run pre 120 PSTACK_FAULTS=$faults PSTACK_PCAP="$BATS_TEST_TMPDIR/up.pcap" \
		nc -N "$HOST_IP" 12345 <"$BATS_TEST_TMPDIR/in"
	assert_success
	bg_wait rx 60
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got-up"
	local n
	n=$(resent_segments "$BATS_TEST_TMPDIR/up.pcap" 12345)
	echo "data segments the stack sent more than once: $n"
	[ "$n" -gt 0 ] || fail "no retransmitted segment in the capture: did the faults apply?"
	# The stack receives: the kernel retransmits, the stack reorders and drops duplicates.
	_bg rx2 ip netns exec "$NS" timeout -k 3 120 env LD_PRELOAD="$PRELOAD" PSTACK_FAULTS=$faults \
		sh -c "exec nc -l 12346 > '$BATS_TEST_TMPDIR/got-down'"
	wait_stack_up 20
	tap_mark
	run retry_refused 20 ker 120 nc -v -N "$STACK_IP" 12346 <"$BATS_TEST_TMPDIR/in"
	assert_success
	bg_wait rx2 60
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got-down"
	tap_assert_crossed 1000 $((8 * MiB))
}

# kernel_loss: 3% random loss each way on the kernel's side of the TAP
# (iptables rules in the test's own namespace).
kernel_loss() {
	nsx iptables -A OUTPUT -o "$TAP" -m statistic --mode random --probability 0.03 -j DROP
	nsx iptables -A INPUT -i "$TAP" -m statistic --mode random --probability 0.03 -j DROP
}

@test "3% random loss on the kernel's side (iptables): curl under the preload downloads 8 MiB intact" {
	san_check curl
	make_data "$BATS_TEST_TMPDIR/file" $((8 * MiB))
	kernel_loss
	bg_ker http 120 "$PY" -m http.server --bind "$HOST_IP" --directory "$BATS_TEST_TMPDIR" 8000
	wait_kernel_listen 8000
	tap_mark
	run pre 120 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$HOST_IP:8000/file"
	assert_success
	assert_same_file "$BATS_TEST_TMPDIR/file" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed 1000 $((8 * MiB))
}

@test "3% random loss on the kernel's side (iptables): http.server under the preload serves 8 MiB intact, retransmitting" {
	make_data "$BATS_TEST_TMPDIR/file" $((8 * MiB))
	kernel_loss
	bg_pre srv 120 PSTACK_PCAP="$BATS_TEST_TMPDIR/up.pcap" \
		"$PY" -m http.server --bind 0.0.0.0 --directory "$BATS_TEST_TMPDIR" 8001
	wait_stack_up 20
	wait_until 30 "the preloaded http.server to answer" \
		ip netns exec "$NS" curl -sf -o /dev/null --max-time 3 "http://$STACK_IP:8001/"
	tap_mark
	run ker 120 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8001/file"
	assert_success
	assert_same_file "$BATS_TEST_TMPDIR/file" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((8 * MiB)) 1000
	# The capture (written frame by frame) shows the stack sending some
	# data segments more than once: its loss recovery ran.
	local n
	n=$(resent_segments "$BATS_TEST_TMPDIR/up.pcap" 8001)
	echo "data segments the stack sent more than once: $n"
	[ "$n" -gt 0 ] || fail "no retransmitted segment in the capture with 3% loss"
}

@test "PSTACK_MTU=576: 4 MiB each way intact in small segments" {
	make_data "$BATS_TEST_TMPDIR/in" $((4 * MiB))
	_bg rx ip netns exec "$NS" timeout -k 3 60 env LD_PRELOAD="$PRELOAD" PSTACK_MTU=576 \
		PSTACK_PCAP="$BATS_TEST_TMPDIR/mtu.pcap" \
		sh -c "exec nc -N -l 12345 < '$BATS_TEST_TMPDIR/in' > '$BATS_TEST_TMPDIR/got'"
	wait_stack_up
	tap_mark
	run retry_refused 20 ker 60 sh -c "nc -v $STACK_IP 12345 < '$BATS_TEST_TMPDIR/in' > '$BATS_TEST_TMPDIR/back'"
	assert_success
	bg_wait rx 30
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/back"
	tap_assert_crossed $((4 * MiB)) $((4 * MiB))
	# The stack announced an MSS of 576 - 40 and sent nothing larger than 576 bytes of IP.
	run tcpdump -n -r "$BATS_TEST_TMPDIR/mtu.pcap" "src host $STACK_IP and tcp[13] & 2 != 0"
	assert_output --partial "mss 536"
	run tcpdump -n -r "$BATS_TEST_TMPDIR/mtu.pcap" "src host $STACK_IP and ip[2:2] > 576"
	assert_success
	refute_output --regexp "IP $STACK_IP"
}
