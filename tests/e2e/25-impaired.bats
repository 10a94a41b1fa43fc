#!/usr/bin/env bats
# TCP through the stack on a bad link: the stack's own fault injector
# (PSTACK_FAULTS), random loss on the kernel's side (iptables, inside the
# test's namespace only), and a small MTU. Transfers must arrive intact, and
# the recovery paths must really have run (the stack's own counters, or
# segments its capture shows it sent twice).

load lib

setup() { e2e_setup; }
teardown() {
	[ -z "${NS2:-}" ] || ip netns del "$NS2" 2>/dev/null || true
	e2e_teardown
}

# kernel_loss: 3% random loss each way on the kernel's side of the TAP
# (iptables rules in the test's own namespace).
kernel_loss() {
	nsx iptables -A OUTPUT -o "$TAP" -m statistic --mode random --probability 0.03 -j DROP
	nsx iptables -A INPUT -i "$TAP" -m statistic --mode random --probability 0.03 -j DROP
}

# resent_segments PCAP PORT: how many data segments the stack sent more than
# once on the connection with the kernel's PORT, from the stack's own capture
# (what it gave the device). Meaningful without the fault link only, which
# would duplicate frames itself.
resent_segments() {
	tcpdump -n -r "$1" "src host $STACK_IP and tcp port $2" 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "seq" && $(i + 1) ~ /:/) seen[$(i + 1)]++ }
		     END { for (k in seen) if (seen[k] > 1) n++; print n + 0 }'
}

# retransmits LOG: the stack's own retransmission counter, from the counters
# it logs at exit (PSTACK_LOG=debug): proof that its loss recovery ran.
retransmits() {
	sed -n 's/.*counters:.* retransmits \([0-9]*\).*/\1/p' "$1" | tail -n 1
}

# A bad link: the stack's fault injector in both directions (3% loss,
# 2 ms delay with 10% reordering, 1% duplication, 0.5% corruption) and 3%
# random loss each way on the kernel's side. 8 MiB from the stack: its
# CUBIC keeps a window of a few segments there, as Linux's does (the
# kernel's CUBIC sending 64 MiB over the same link took 137-192 s); 64 MiB
# to it from the kernel's BBR (about 9 s), set in the test's namespace so
# that a host whose default is CUBIC does not make it a two-minute test;
# 8 MiB where this kernel has no BBR.
FAULTS=loss=3%,dup=1%,reorder=10%,corrupt=0.5%,delay=2ms,seed=11

@test "a lossy link (faults both ways + 3% kernel-side loss): the stack sends 8 MiB intact" {
	make_data "$BATS_TEST_TMPDIR/in" $((8 * MiB))
	kernel_loss
	_bg rx ip netns exec "$NS" timeout -k 3 300 sh -c "exec nc -l $HOST_IP 12345 > '$BATS_TEST_TMPDIR/got'"
	wait_kernel_listen 12345
	tap_mark
	run pre 300 PSTACK_FAULTS=$FAULTS PSTACK_LOG=debug PSTACK_LOG_FILE="$BATS_TEST_TMPDIR/log" \
		nc -N "$HOST_IP" 12345 <"$BATS_TEST_TMPDIR/in"
	assert_success
	bg_wait rx 60
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((8 * MiB)) 1000
	local n
	n=$(retransmits "$BATS_TEST_TMPDIR/log")
	echo "segments the stack retransmitted: $n"
	[ "${n:-0}" -gt 0 ] || fail "the stack retransmitted nothing on a lossy link"
}

@test "a lossy link (faults both ways + 3% kernel-side loss): the stack receives 64 MiB intact" {
	local size=$((64 * MiB))
	nsx sysctl -qw net.ipv4.tcp_congestion_control=bbr 2>/dev/null || size=$((8 * MiB))
	echo "the kernel sends $((size / MiB)) MiB with $(nsx sysctl -n net.ipv4.tcp_congestion_control)"
	make_data "$BATS_TEST_TMPDIR/in" $size
	kernel_loss
	_bg rx ip netns exec "$NS" timeout -k 3 300 env LD_PRELOAD="$PRELOAD" PSTACK_FAULTS=$FAULTS \
		PSTACK_LOG=debug PSTACK_LOG_FILE="$BATS_TEST_TMPDIR/log" \
		sh -c "exec nc -l 12346 > '$BATS_TEST_TMPDIR/got'"
	wait_stack_up 20
	tap_mark
	run retry_refused 20 ker 300 nc -N "$STACK_IP" 12346 <"$BATS_TEST_TMPDIR/in"
	assert_success
	bg_wait rx 60
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed 1000 $size
	# What the fault link did to what the stack received is in its log too.
	grep -q "drops: FAULT_INJECTED" "$BATS_TEST_TMPDIR/log" || fail "the fault link dropped nothing"
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

# Plain frames (PSTACK_OFFLOAD=0): with offloads the capture holds the TSO
# frames as the device is given them, before it cuts them at the MSS (that
# cut size is checked by the unit tests), so only plain frames show the
# stack's own segmentation here.
@test "PSTACK_MTU=576: 4 MiB each way intact in small segments" {
	make_data "$BATS_TEST_TMPDIR/in" $((4 * MiB))
	_bg rx ip netns exec "$NS" timeout -k 3 60 env LD_PRELOAD="$PRELOAD" PSTACK_MTU=576 PSTACK_OFFLOAD=0 \
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

# A router on the way with a smaller MTU (RFC 1191): the test's namespace
# forwards between the TAP and a veth whose near end has an MTU of 1400, to
# a kernel server in NS2 (192.0.2.130) whose own link is 1500 (so it
# announces an MSS of 1460, and only the router's ICMP "fragmentation
# needed" tells the stack). The stack is 192.0.2.2/25, the router its
# gateway. Plain frames (PSTACK_OFFLOAD=0), so the capture shows the stack's
# own segments: after the ICMP none is above 1400 bytes of IP, and the
# largest is exactly 1400, as Linux's tcp_mtu_to_mss() makes it (1348 bytes
# of data with the timestamp option).
@test "a router with a 1400-byte MTU on the way (ICMP fragmentation needed): 4 MiB intact, segments of 1400 bytes" {
	NS2=$NS-far
	ip netns del "$NS2" 2>/dev/null || true
	ip netns add "$NS2"
	ip -n "$NS2" link set lo up
	ip link add "pm$$a" netns "$NS" type veth peer name "pm$$b" netns "$NS2"
	ip -n "$NS" addr add 192.0.2.129/25 dev "pm$$a"
	ip -n "$NS" link set "pm$$a" mtu 1400 up
	ip -n "$NS2" addr add 192.0.2.130/25 dev "pm$$b"
	ip -n "$NS2" link set "pm$$b" up
	ip -n "$NS2" route add default via 192.0.2.129
	nsx sysctl -qw net.ipv4.ip_forward=1
	make_data "$BATS_TEST_TMPDIR/in" $((4 * MiB))
	_bg rx ip netns exec "$NS2" timeout -k 3 60 sh -c "exec nc -l 192.0.2.130 12345 > '$BATS_TEST_TMPDIR/got'"
	wait_until 10 "a listener in $NS2" sh -c "ip netns exec $NS2 ss -Hltn 'sport = :12345' | grep -q ."
	tap_mark
	run pre 60 PSTACK_ADDR=192.0.2.2/25 PSTACK_OFFLOAD=0 PSTACK_PCAP="$BATS_TEST_TMPDIR/pmtu.pcap" \
		nc -N 192.0.2.130 12345 <"$BATS_TEST_TMPDIR/in"
	assert_success
	bg_wait rx 30
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((4 * MiB)) 1000
	run tcpdump -n -r "$BATS_TEST_TMPDIR/pmtu.pcap" "icmp[icmptype] == 3 and icmp[icmpcode] == 4"
	assert_output --partial "mtu 1400"
	# The IP length of each TCP segment the stack sent after the last ICMP
	# (the router answers every oversized packet, also those the stack had
	# queued before it read the first ICMP: Linux does not rate-limit these).
	# Top-level packets only: a line of tcpdump -v that starts with the time
	# (the header an ICMP message quotes is on a line of its own, indented).
	local sizes
	sizes=$(tcpdump -n -r "$BATS_TEST_TMPDIR/pmtu.pcap" -v "(src host $STACK_IP and tcp) or icmp" 2>/dev/null |
		awk '/ICMP.*unreachable/ { n = 0 }
		     /^[0-9].*proto TCP/ { for (i = 1; i < NF; i++) if ($i == "length") { sub(/\)/, "", $(i + 1)); len[n++] = $(i + 1) } }
		     END { for (i = 0; i < n; i++) print len[i] }' | sort -n | uniq -c | tail -n 3)
	echo "IP lengths after the last ICMP (count, bytes): $sizes"
	[ "$(echo "$sizes" | tail -n 1 | awk '{ print $2 }')" = 1400 ] || fail "the largest segment after the ICMP is not 1400 bytes"
}
