#!/usr/bin/env bats
# The pstack launcher (build/pstack): help, option checking, the environment
# it gives the command, TAP devices for unprivileged users, and a real run.

load lib

PSTACK=$PSTACK_BUILD/pstack

setup() { e2e_setup --no-tap; }
teardown() { e2e_teardown; }

@test "pstack --help explains every option and the tap commands" {
	run "$PSTACK" --help
	assert_success
	local o
	for o in --tap --addr --gateway --mac --log --pcap "tap add" "tap del" --user --host \
		PSTACK_TAP PSTACK_ADDR PSTACK_GATEWAY PSTACK_MAC PSTACK_LOG PSTACK_PCAP 192.0.2.2/24 tap0; do
		assert_output --partial -- "$o"
	done
	run "$PSTACK" -h
	assert_success
	assert_output --partial "usage: pstack"
}

@test "pstack passes its options to the command as PSTACK_* and LD_PRELOAD" {
	run env -u LD_PRELOAD "$PSTACK" --tap tap9 --addr 192.0.2.7/25 --gateway 192.0.2.126 \
		--mac 02:00:5e:00:53:07 --log debug --pcap /tmp/x.pcap -- env
	assert_success
	assert_line "PSTACK_TAP=tap9"
	assert_line "PSTACK_ADDR=192.0.2.7/25"
	assert_line "PSTACK_GATEWAY=192.0.2.126"
	assert_line "PSTACK_MAC=02:00:5e:00:53:07"
	assert_line "PSTACK_LOG=debug"
	assert_line "PSTACK_PCAP=/tmp/x.pcap"
	assert_line "LD_PRELOAD=$PRELOAD"
	[ -z "$SAN_RT" ] || return 0
	# --opt=value works too, the command's own arguments are left alone, and
	# an LD_PRELOAD already set is kept after ours.
	local other
	other=$(ldd /bin/sh | awk '/libc.so/ { print $3 }')
	run env LD_PRELOAD="$other" "$PSTACK" --log=trace sh -c 'echo "$LD_PRELOAD $PSTACK_LOG $1"' sh --tap
	assert_success
	assert_output "$PSTACK_BUILD/libpstack.so:$other trace --tap"
	# Without options, nothing but LD_PRELOAD is set.
	run sh -c "'$PSTACK' -- env | grep '^PSTACK_' | grep -v '^PSTACK_BUILD=' || echo none"
	assert_success
	assert_output none
}

@test "pstack rejects bad options with one clear line and status 2" {
	run "$PSTACK" --addr banana -- true
	assert_failure 2
	assert_output --partial "--addr 'banana' is not valid"
	run "$PSTACK" --mac 00:11 -- true
	assert_failure 2
	assert_output --partial "--mac"
	run "$PSTACK" --log loud -- true
	assert_failure 2
	assert_output --partial "error, warn, info, debug or trace"
	run "$PSTACK" --frobnicate -- true
	assert_failure 2
	assert_output --partial "unknown option '--frobnicate'"
	run "$PSTACK" --tap
	assert_failure 2
	assert_output --partial "--tap needs a value"
	run "$PSTACK" --log debug
	assert_failure 2
	assert_output --partial "no command to run"
	run "$PSTACK" -- no-such-command-pstack
	assert_failure 2
	assert_output --partial "command not found"
}

@test "pstack tap add / tap del create and remove a persistent TAP for a user" {
	run nsx "$PSTACK" tap add tap5 --user nobody --host 192.0.2.1/24
	assert_success
	run nsx ip -d link show tap5
	assert_success
	assert_output --partial "tun type tap"
	assert_output --partial "persist on"
	assert_output --regexp "user (65534|nobody)"
	assert_output --regexp "state (UP|DOWN)|<.*UP.*>"
	run nsx ip -o addr show dev tap5
	assert_output --partial "inet 192.0.2.1/24"
	# A second add of the same name fails clearly.
	run nsx "$PSTACK" tap add tap5
	assert_failure
	assert_output --partial "already exists"
	run nsx "$PSTACK" tap del tap5
	assert_success
	run tap_exists tap5
	assert_failure
	run nsx "$PSTACK" tap del tap5
	assert_failure
	assert_output --partial "no device named 'tap5'"
	# Only TAP devices are removed.
	run nsx "$PSTACK" tap del lo
	assert_failure
	assert_output --partial "not a TAP device"
	run nsx "$PSTACK" tap add tap6 --user no-such-user-pstack
	assert_failure
	assert_output --partial "no such user"
	run nsx "$PSTACK" tap add tap6 --host banana
	assert_failure 2
	assert_output --partial "--host 'banana' is not valid"
	run nsx "$PSTACK" tap frob
	assert_failure 2
}

@test "pstack tap add refuses to run without root" {
	run ip netns exec "$NS" setpriv --reuid=nobody --regid=nogroup --clear-groups "$PSTACK" tap add tap5
	assert_failure
	assert_output --partial "needs root"
	run tap_exists tap5
	assert_failure
}

@test "pstack -- a UDP program: the stack answers ping as 192.0.2.2 on the TAP it made" {
	bg_ker prog 60 "$PSTACK" --log debug -- "$EXAMPLES/echo_server" 12345 udp
	wait_log "$(out prog)" 'listening on'
	wait_stack_up
	tap_mark
	run ker 20 ping -n -c 2 -i 0.2 -W 2 "$STACK_IP"
	assert_output --partial "2 received"
	tap_assert_crossed 196 196
}

@test "an unprivileged user runs the stack on a TAP made by pstack tap add --user" {
	nsx "$PSTACK" tap add tap0 --user nobody
	# Up, but not operationally (IFF_RUNNING stays clear): what the stack
	# may see when it attaches before the kernel's link watch has run
	# (issue 13). It must use the device without a word.
	nsx ip link set tap0 mode dormant
	bg_nobody prog 60 "$PSTACK" --addr 192.0.2.2/24 -- "$EXAMPLES/echo_server" 12345 udp
	wait_log "$(out prog)" 'listening on'
	wait_stack_up
	tap_mark
	run ker 20 "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"from the kernel", ("192.0.2.2", 12345))
print(s.recvfrom(100)[0].decode())
'
	assert_success
	assert_output "from the kernel"
	tap_assert_crossed 40 40
	# Issue 13: the device is up (it lacks only the carrier until the
	# stack attaches), so the stack must not warn that it is down.
	run cat "$(out prog)" "$(err prog)"
	assert_success
	refute_output --partial "pstack warn"
}

@test "pstack --addr/--mac/--pcap: the stack uses them (ARP answer, pcap file)" {
	local pcap=$BATS_TEST_TMPDIR/run.pcap
	bg_ker prog 60 "$PSTACK" --addr 192.0.2.77/24 --mac 02:00:00:00:53:77 --pcap "$pcap" \
		-- "$EXAMPLES/echo_server" 12345 udp
	wait_log "$(out prog)" 'listening on'
	wait_until 10 "192.0.2.77 to answer ping" ip netns exec "$NS" ping -n -c 1 -W 1 192.0.2.77
	run ker 20 arping -c 1 -i "$TAP" 192.0.2.77
	assert_success
	assert_output --partial "02:00:00:00:53:77"
	run tcpdump -n -r "$pcap"
	assert_success
	assert_output --partial "192.0.2.77 > 192.0.2.1: ICMP echo reply"
}
