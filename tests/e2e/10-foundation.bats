#!/usr/bin/env bats
# The stack's lower layers seen from the kernel: a preloaded program
# that opened a socket runs in a namespace, and the kernel pings it, ARPs it,
# sends it UDP; the trace, pcap and configuration errors are checked too.

load lib

setup() { e2e_setup; }
teardown() { e2e_teardown; }

# A preloaded UDP echo server on 192.0.2.2:12345 (examples/echo_server); extra
# arguments are NAME=VALUE settings for it.
start_udp_echo() {
	bg_pre srv 60 "$@" "$EXAMPLES/echo_server" 12345 udp
	wait_log "$(out srv)" 'listening on'
	wait_stack_up
}

# udp_roundtrip SIZE...: the kernel sends datagrams of those sizes to the echo
# server and checks each reply is the same bytes.
UDP_ROUNDTRIP='
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for size in map(int, sys.argv[1:]):
    data = os.urandom(size)
    s.sendto(data, ("192.0.2.2", 12345))
    got, src = s.recvfrom(70000)
    assert src == ("192.0.2.2", 12345), src
    assert got == data, "datagram of %d bytes came back as %d different bytes" % (size, len(got))
    print("ok", size)
'

@test "ping: three echo requests are answered by the stack" {
	start_udp_echo
	tap_mark
	run ker 20 ping -n -c 3 -i 0.2 -W 2 "$STACK_IP"
	assert_success
	assert_output --partial "3 packets transmitted, 3 received"
	tap_assert_crossed $((3 * 98)) $((3 * 98))
}

@test "ping -s 4000: fragmented echo requests are reassembled and answered" {
	start_udp_echo
	tap_mark
	run ker 20 ping -n -c 2 -i 0.2 -W 2 -s 4000 "$STACK_IP"
	assert_success
	assert_output --partial "4008 bytes from $STACK_IP"
	assert_output --partial "2 packets transmitted, 2 received"
	tap_assert_crossed $((2 * 4028)) $((2 * 4028))
}

@test "ping -s 65000: the largest echoes are reassembled and answered" {
	start_udp_echo
	tap_mark
	run ker 20 ping -n -c 1 -W 3 -s 65000 "$STACK_IP"
	assert_success
	assert_output --partial "65008 bytes from $STACK_IP"
	tap_assert_crossed 65028 65028
}

@test "arping: the stack answers ARP requests with its MAC" {
	start_udp_echo
	tap_mark
	run ker 20 arping -c 2 -i "$TAP" "$STACK_IP"
	assert_success
	assert_output --regexp "00:00:5[eE]:00:53:01"
	refute_output --partial "0 packets received"
	tap_assert_crossed $((2 * 42)) $((2 * 42))
}

@test "UDP to a closed port: the kernel gets ICMP port unreachable (ECONNREFUSED)" {
	start_udp_echo
	tap_mark
	run ker 20 "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("192.0.2.2", 9))
s.send(b"anyone there?")
try:
    s.recv(100)
    print("got an answer")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
'
	assert_success
	assert_output refused
	# The port unreachable quotes the datagram: 14 + 20 + 8 + 20 + 8 bytes at least.
	tap_assert_crossed 70 50
}

@test "UDP from the stack to a closed kernel port: the preloaded program gets ECONNREFUSED" {
	tap_mark
	run pre 20 "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("192.0.2.1", 9))
s.send(b"anyone there?")
try:
    s.recv(100)
    print("got an answer")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
'
	assert_success
	assert_output refused
	tap_assert_crossed 50 70
}

@test "UDP echo: examples/echo_server under the preload returns every byte (1 B to 30000 B)" {
	start_udp_echo
	tap_mark
	run ker 20 "$PY" -c "$UDP_ROUNDTRIP" 1 100 1472 1473 3000 8000 30000
	assert_success
	assert_line "ok 30000"
	tap_assert_crossed 40000 40000
}

@test "UDP echo: examples/echo_server on the kernel, a preloaded client" {
	bg_ker srv 60 "$EXAMPLES/echo_server" 12345 udp
	wait_log "$(out srv)" 'listening on'
	tap_mark
	run pre 20 "$PY" -c "${UDP_ROUNDTRIP//192.0.2.2/192.0.2.1}" 1 1000 5000
	assert_success
	assert_line "ok 5000"
	tap_assert_crossed 6000 6000
}

@test "PSTACK_LOG=trace prints a decoded dump of every frame (ARP, IPv4, ICMP, UDP, TCP)" {
	start_udp_echo PSTACK_LOG=trace PSTACK_LOG_FILE="$BATS_TEST_TMPDIR/trace.log"
	ker 10 ping -n -c 1 -W 2 "$STACK_IP"
	ker 10 "$PY" -c "$UDP_ROUNDTRIP" 16
	# A SYN to a closed port (answered with a reset once TCP exists).
	ker 10 nc -z -w 1 "$STACK_IP" 80 || true
	local log=$BATS_TEST_TMPDIR/trace.log
	# The stack's answer to the SYN is the last frame: wait for it.
	wait_log "$log" 'tcp 80 > [0-9]+ .* flags ----[-A]-R--'
	run cat "$log"
	# Each frame: direction and size, then one line per layer.
	assert_output --regexp 'pstack trace: in [0-9]+ bytes'
	assert_output --regexp 'pstack trace: out [0-9]+ bytes'
	assert_output --regexp 'eth [0-9a-f:]{17} > 00:00:5e:00:53:01 type 0x0800 \(IPv4\)'
	assert_output --regexp 'arp .*op 1 \(request\)'
	assert_output --regexp 'arp sha 00:00:5e:00:53:01 spa 192.0.2.2 tha [0-9a-f:]{17} tpa 192.0.2.1'
	assert_output --regexp 'ip4 192.0.2.1 > 192.0.2.2 version 4 ihl 5 tos 0x[0-9a-f]{2} len 84 id [0-9]+ flags [A-Za-z]+ frag 0 ttl [0-9]+ proto 1 \(ICMP\) csum 0x[0-9a-f]{4}'
	assert_output --regexp 'icmp type 8 code 0 csum 0x[0-9a-f]{4} \(echo request\)'
	assert_output --regexp 'icmp type 0 code 0 csum 0x[0-9a-f]{4} \(echo reply\)'
	assert_output --regexp 'udp [0-9]+ > 12345 len 24 csum 0x[0-9a-f]{4}'
	assert_output --regexp 'udp 12345 > [0-9]+ len 24 csum'
	# TCP flags as a letter string: the kernel's SYN, and the stack's reset.
	assert_output --regexp 'tcp [0-9]+ > 80 seq [0-9]+ ack 0 off [0-9]+ flags -------S- win [0-9]+'
	assert_output --regexp 'tcp options \[mss 1460'
	assert_output --regexp 'tcp 80 > [0-9]+ .* flags ----[-A]-R--'
}

@test "PSTACK_PCAP writes every frame to a file that tcpdump -r reads" {
	local pcap=$BATS_TEST_TMPDIR/capture.pcap
	# A program that exits normally after one datagram, so the file is complete.
	bg_pre prog 30 PSTACK_PCAP="$pcap" "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 12345))
print("ready", flush=True)
data, src = s.recvfrom(100)
print("got", data.decode(), flush=True)
'
	wait_log "$(out prog)" ready
	wait_stack_up
	ker 10 ping -n -c 2 -i 0.2 -W 2 "$STACK_IP"
	ker 10 "$PY" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"bye", ("192.0.2.2", 12345))'
	bg_wait prog 10
	assert_equal "$BG_STATUS" 0
	run tcpdump -n -r "$pcap"
	assert_success
	assert_output --partial "ICMP echo request"
	assert_output --partial "ICMP echo reply"
	assert_output --regexp "ARP, Reply $STACK_IP is-at 00:00:5e:00:53:01|ARP, Request who-has .* tell $STACK_IP"
	assert_output --regexp "192.0.2.1.[0-9]+ > 192.0.2.2.12345: UDP, length 3"
}

@test "programs started one after another: each one's first ARP request is answered" {
	# Each attach gives the TAP its carrier, but the kernel sends through it
	# only once its link watcher ran, up to a second after its last run (the
	# previous program's detach): the stack waits for that before its first
	# frame. Before, now and then the kernel's ARP reply was dropped and the
	# program waited a second for ARP's retransmission.
	# Two busy loops (bounded) keep both CPUs busy, so that the kernel's
	# work queue runs late, as on a loaded machine.
	local i n
	bg_ker busy1 60 sh -c 'while :; do :; done'
	bg_ker busy2 60 sh -c 'while :; do :; done'
	for i in $(seq 1 20); do
		pre 10 env PSTACK_PCAP="$BATS_TEST_TMPDIR/start-$i.pcap" "$PY" -c '
import socket
try:
    socket.create_connection(("192.0.2.1", 9), timeout=5)
except ConnectionRefusedError:
    pass
'
		n=$(tcpdump -n -r "$BATS_TEST_TMPDIR/start-$i.pcap" 2>/dev/null | grep -c "ARP, Request who-has 192.0.2.1 tell")
		[ "$n" = 1 ] || fail "start $i: $n ARP requests for the gateway (expected 1: the first one answered)"
	done
}

@test "PSTACK_LOG=debug prints the counters at exit" {
	run pre 30 PSTACK_LOG=debug "$PY" -c '
import socket, subprocess
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"hello", ("192.0.2.1", 9))
'
	assert_success
	assert_output --partial "counters:"
	assert_output --regexp "frames in [0-9]+ out [1-9]"
}

# The stack starts at the first call that needs it (bind, connect, sendto...);
# a bad setting makes that call fail with ENETDOWN after one line naming it.
TRY_SOCKET='
import socket, sys
for kind in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    try:
        if kind == "tcp":
            s.bind(("0.0.0.0", 12345))
            s.listen(1)
        else:
            s.sendto(b"x", ("192.0.2.1", 9))
        print("socket worked")
    except OSError as e:
        print("socket failed:", e.errno, e.strerror)
print("still alive")
'

@test "PSTACK_ADDR=banana: one clear line naming it, the socket call fails, the program lives on" {
	run pre 20 PSTACK_ADDR=banana "$PY" -c "$TRY_SOCKET" udp tcp
	assert_success
	assert_line "still alive"
	assert_line --index 1 'socket failed: 100 Network is down'
	assert_line --index 2 'socket failed: 100 Network is down'
	refute_line "socket worked"
	[ "$(grep -c PSTACK_ADDR <<<"$output")" = 1 ] || fail "expected one line naming PSTACK_ADDR"
	assert_output --partial banana
	run tap_exists
	assert_success
}

@test "a bad PSTACK_MAC, PSTACK_GATEWAY or PSTACK_LOG is reported the same way" {
	local bad
	for bad in PSTACK_MAC=00:11 PSTACK_GATEWAY=1.2.3 PSTACK_LOG=loud PSTACK_TAP=tap/0; do
		run pre 20 "$bad" "$PY" -c "$TRY_SOCKET" udp
		assert_success
		assert_line 'socket failed: 100 Network is down'
		assert_line "still alive"
		[ "$(grep -c "${bad%%=*}" <<<"$output")" = 1 ] || fail "expected one line naming ${bad%%=*}"
	done
}

@test "a preloaded process that opens no Internet socket never touches the TAP" {
	# With a TAP present: nothing attaches to it (the carrier stays off).
	run pre 20 sh -c 'ls / >/dev/null; cat /sys/class/net/tap0/carrier; sh -c "echo child"'
	assert_success
	assert_line 0
	assert_line child
	# Without one: nothing creates it.
	nsx ip link del "$TAP"
	run pre 20 sh -c 'ls / >/dev/null; echo done'
	assert_success
	assert_output done
	run tap_exists
	assert_failure
	# AF_UNIX sockets stay with the kernel and start no stack either.
	run pre 20 "$PY" -c '
import socket
a, b = socket.socketpair()
a.send(b"unix")
print(b.recv(10).decode())
'
	assert_success
	assert_output unix
	run tap_exists
	assert_failure
}

@test "as root with no TAP, the stack creates tap0 itself (host side 192.0.2.1/24) and it goes at exit" {
	nsx ip link del "$TAP"
	start_udp_echo
	run nsx ip -o addr show dev "$TAP"
	assert_success
	assert_output --partial "inet 192.0.2.1/24"
	# Its queue towards the stack holds a burst of one frame from each of 10,000 connections.
	run nsx ip -o link show dev "$TAP"
	assert_output --partial "qlen 16384"
	tap_mark
	run ker 20 ping -n -c 2 -i 0.2 -W 2 "$STACK_IP"
	assert_output --partial "2 received"
	tap_assert_crossed 196 196
	kill -TERM "$PID_srv"
	bg_wait srv 10
	wait_until 10 "tap0 to go away" sh -c "! ip netns exec $NS ip link show $TAP"
}

@test "no TAP and no right to create one: one clear line, the socket call fails, no crash" {
	nsx ip link del "$TAP"
	run nobody 20 env LD_PRELOAD="$PRELOAD" "$PY" -c "$TRY_SOCKET" udp tcp
	assert_success
	assert_line "still alive"
	assert_line --index 1 'socket failed: 100 Network is down'
	assert_line --index 2 'socket failed: 100 Network is down'
	# One line saying what to do, e.g. "pstack tap add tap0 --user nobody".
	assert_line --index 0 --partial tap0
	run tap_exists
	assert_failure
}
