#!/usr/bin/env bats
# Crafted frames on the wire, the kernel and pstack side by side
# (tests/e2e/rawframes.py): every scenario (ARP requests good and bad, ICMP
# echo and timestamp, broken IPv4 headers, fragments, UDP to open and closed
# ports with bad checksums and lengths, TCP to closed ports, to a listener
# with every kind of SYN options, to half-open and established connections,
# RFC 5961's challenge ACKs) is written from the peer's side of a link and
# what comes back is printed one normalised line a frame. The subjects:
#
#   the kernel: namespace $NS-k, veth vk 192.0.2.2/24 with pstack's MAC,
#               its peer vp (no address) in namespace $NS-q;
#   pstack:     namespace $NS, the TAP tap0 (no address on the kernel's
#               side: the frames are the harness's alone), the stack at
#               192.0.2.2 with its default MAC, plain frames (PSTACK_OFFLOAD=0);
#
# each runs `rawframes.py serve` (a TCP listener on 7000 that accepts and
# reads, one on 7002 that never accepts, UDP echo on 7001), on the kernel
# and under the preload. Both harness runs go at once (about 30 s each).
# The two outputs must be the same for every scenario but those of ALLOWED
# below, and differ for those (an entry that no longer differs must go).

load lib

R=$BATS_TEST_DIRNAME/rawframes.py
SUBJ_IP=192.0.2.2
SUBJ_MAC=00:00:5e:00:53:01

# Scenarios where pstack answers otherwise than Linux, on purpose, each with
# its reason ("name  reason").
ALLOWED=$(
	cat <<'EOF'
ip_src_broadcast  RFC 1122 §3.2.1.3: a datagram from a broadcast source is silently discarded; Linux answers an echo from the subnet's broadcast address with an echo reply to all (a smurf amplifier); pstack keeps to the RFC
est_ts  after 2 unread bytes Linux advertises its scaled window rounded up (ALIGN(rcv_ssthresh, 1024): 64 units), pstack rounds up only within its receive ring's room (63), on purpose: tcp_window_to_advertise, RFC 7323 Appendix F
tcp_syn_listen_opt_rr  not done yet: Linux keeps a SYN's record route option for the whole connection (its SYN-ACK and every segment carry it, ireq_opt); pstack echoes IP options in ICMP replies and errors and in resets only
EOF
)

setup() {
	e2e_setup --no-tap
	[ -z "$SAN_RT" ] || skip "sanitizer build: the frames are the same, the wait bounds are not"
	NSK=$NS-k
	NSQ=$NS-q
	ip netns del "$NSK" 2>/dev/null || true
	ip netns del "$NSQ" 2>/dev/null || true
	ip netns add "$NSK"
	ip netns add "$NSQ"
	local n
	for n in "$NS" "$NSK" "$NSQ"; do
		ip -n "$n" link set lo up
		# No router solicitations or MLD reports in the captures.
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	ip -n "$NSQ" link add vp type veth peer name vk netns "$NSK"
	ip -n "$NSK" link set vk address "$SUBJ_MAC"
	ip -n "$NSK" addr add "$SUBJ_IP/24" dev vk
	ip -n "$NSK" link set vk gso_max_segs 1
	ip -n "$NSQ" link set vp up
	ip -n "$NSK" link set vk up
	nsx ip tuntap add dev tap0 mode tap
	nsx ip link set tap0 up
}

teardown() {
	local n pid
	# The pstack server, ended, may leave a keeper (stack/host/keeper.h)
	# that honours the scenarios' TIME_WAITs for a while: it is this
	# test's too. Whatever still runs in the test's namespaces goes.
	if [ -n "${PID_srv_p:-}" ]; then
		kill -TERM "$PID_srv_p" 2>/dev/null || true
		pid_wait_gone "$PID_srv_p" 10 || true
	fi
	for n in "${NS:-}" "${NSK:-}" "${NSQ:-}"; do
		[ -n "$n" ] || continue
		for pid in $(ip netns pids "$n" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
	done
	e2e_teardown
	[ -z "${NSK:-}" ] || ip netns del "$NSK" 2>/dev/null || true
	[ -z "${NSQ:-}" ] || ip netns del "$NSQ" 2>/dev/null || true
}

# blocks FILE: "name<TAB>lines joined by ' // '" for each scenario of FILE.
blocks() {
	awk '/^== / { if (n != "") print n "\t" b; n = $2; b = ""; next }
	     { b = (b == "" ? $0 : b " // " $0) }
	     END { if (n != "") print n "\t" b }' "$1"
}

@test "raw frames: pstack answers crafted frames as the kernel does, but for the allowed differences" {
	_bg srv_k ip netns exec "$NSK" timeout -k 3 80 "$PY" "$R" serve
	_bg srv_p ip netns exec "$NS" timeout -k 3 80 env LD_PRELOAD="$PRELOAD" PSTACK_OFFLOAD=0 "$PY" "$R" serve
	wait_log "$(out srv_k)" '^ready$'
	wait_log "$(out srv_p)" '^ready$'

	local k=$BATS_TEST_TMPDIR/kernel.txt p=$BATS_TEST_TMPDIR/pstack.txt
	_bg run_k ip netns exec "$NSQ" timeout -k 3 70 "$PY" "$R" run vp "$SUBJ_IP" "$SUBJ_MAC"
	ip netns exec "$NS" timeout -k 3 70 "$PY" "$R" run tap0 "$SUBJ_IP" "$SUBJ_MAC" >"$p"
	bg_wait run_k 70
	[ "$BG_STATUS" = 0 ] || fail "the kernel's run failed ($BG_STATUS): $(cat "$(err run_k)")"
	cp "$(out run_k)" "$k"

	local nk np
	nk=$(grep -c '^== ' "$k")
	np=$(grep -c '^== ' "$p")
	[ "$nk" -ge 100 ] || fail "only $nk scenarios ran on the kernel"
	[ "$nk" = "$np" ] || fail "$nk scenarios on the kernel, $np on pstack"
	# The kernel answered at all (the link works).
	grep -q '^arp reply' "$k" || fail "no ARP reply from the kernel"

	local name kb pb bad=0 allowed
	allowed=$(awk '{ print $1 }' <<<"$ALLOWED")
	while IFS=$'\t' read -r name kb; do
		pb=$(blocks "$p" | awk -F'\t' -v n="$name" '$1 == n { print $2 }')
		if grep -qx -- "$name" <<<"$allowed"; then
			if [ "$kb" = "$pb" ]; then
				echo "ALLOWED BUT SAME: $name (remove it from ALLOWED)"
				bad=1
			fi
		elif [ "$kb" != "$pb" ]; then
			echo "DIFFERS: $name"
			echo "  kernel: $kb"
			echo "  pstack: $pb"
			bad=1
		fi
	done < <(blocks "$k")
	[ "$bad" = 0 ] || fail "pstack and the kernel differ (above)"
}
