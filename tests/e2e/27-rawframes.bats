#!/usr/bin/env bats
# Crafted frames on the wire, the kernel and pstack side by side
# (tests/e2e/rawframes.py): every scenario (ARP requests good and bad, ICMP
# echo and timestamp, broken IPv4 headers, fragments, UDP to open and closed
# ports with bad checksums and lengths, TCP to closed ports, to a listener
# with every kind of SYN options, to half-open and established connections,
# RFC 5961's challenge ACKs, scans, VLAN tags, link-layer broadcast and
# multicast, ICMP errors about connections, the subject's own connections
# asked for on its control socket: SYN-SENT, simultaneous open, SO_ERROR)
# is written from the peer's side of a link and
# what comes back is printed one normalised line a frame. The subjects:
#
#   the kernel: namespace $NS-k, veth vk 192.0.2.2/24 with pstack's MAC,
#               its peer vp (no address) in namespace $NS-q;
#   pstack:     namespace $NS, the TAP tap0 (no address on the kernel's
#               side: the frames are the harness's alone), the stack at
#               192.0.2.2 with its default MAC, plain frames (PSTACK_OFFLOAD=0,
#               so that the harness checks every checksum pstack writes);
#   pstack with its default offloads (checksums left to the TAP, which the
#               harness then cannot check): namespace $NS-o, the same;
#
# each runs `rawframes.py serve` (TCP listeners on 7000 that accepts and
# reads, 7002 that never accepts, 7003 that closes at once, 7004 that
# sends first, 7005 that sends 4000 bytes, 7007 that closes at the peer's
# FIN, 7008 as 7005 and 7009 as 7002 with a backlog of 1, 7010 as 7000
# with a backlog of 1, IP_TOS 0x28 and IP_TTL 33, 7011 as 7009 (one
# scenario's), 7012 as 7000 with keep-alive after 1 s (one probe) and
# IP_TTL 33, 7013 as 7003 with TCP_LINGER2 1 s and IP_TTL 33, 7014 as 7003
# with IP_PMTUDISC_DONT; UDP echo on 7001, control on 7006, unconnected
# UDP sockets on 7015 and 7016 (IP_RECVERR) that send on request; 7003, 7004, 7005 and 7008 send with CUBIC, pstack's
# congestion control, where this kernel's default is BBR), on the kernel
# and under the preload. The
# three harness runs go at once (about 75 s each on a quiet machine, more
# under load: each may take 150 s before it counts as hung). Both pstack outputs must
# be the kernel's for every scenario but those of ALLOWED below, and differ
# for those (an entry that no longer differs must go).

load lib

R=$BATS_TEST_DIRNAME/rawframes.py
SUBJ_IP=192.0.2.2
SUBJ_MAC=00:00:5e:00:53:01

# Scenarios where pstack answers otherwise than Linux, on purpose, each with
# its reason ("name  reason").
ALLOWED=$(
	cat <<'EOF'
ip_src_broadcast  RFC 1122 §3.2.1.3: a datagram from a broadcast source is silently discarded; Linux answers an echo from the subnet's broadcast address with an echo reply to all (a smurf amplifier); pstack keeps to the RFC
synsent_synack_data  RFC 9293 §3.10.7.3: the text of a SYN-ACK is processed ("continue processing at the sixth step"); Linux's tcp_rcv_synsent_state_process frees it after the URG bit (acknowledges the SYN alone, then SACKs what follows); pstack takes it on purpose (tcp_input.c syn_sent_input)
synsent_synack_fin  the same for a SYN-ACK's FIN: pstack takes it (the connection goes to CLOSE-WAIT, its ACK acknowledges the FIN), Linux drops it with the segment (acknowledges the SYN alone)
synsent_simultaneous_open_mss_only  RFC 7323 §2.2: a window is scaled only when both SYNs carried the option; Linux's simultaneous-open path (tcp_rcv_synsent_state_process, SYN without ACK) keeps the rcv_wscale of its own SYN when the peer's has none, and offers 64240 as 63 to a peer that reads 63 bytes; pstack offers 64240 unscaled
est_ts  after 2 unread bytes Linux advertises its scaled window rounded up (ALIGN(rcv_ssthresh, 1024): 64 units), pstack rounds up only within its receive ring's room (63), on purpose: tcp_window_to_advertise, RFC 7323 Appendix F
EOF
)

# Scenarios where pstack with its offloads may answer otherwise (its plain
# frames must be the kernel's there), each with its reason.
ALLOWED_OFFLOAD=$(
	cat <<'EOF'
tcp_frag_needed  with TSO the first flight is one frame, one scoreboard record, resent as a whole cut at the new MSS (Linux with TSO: __tcp_retransmit_skb, tcp_init_tso_segs); the kernel's veth sends and resends segment by segment (gso_max_segs 1): 960+500 each
tcp_frag_needed_below_min  the same at 512
tcp_frag_needed_tail_fits  the same at 1160
tcp_frag_needed_mtu_zero  the same at 512
bulk_rto_newreno_cwnd  with TSO the first ten segments, and the seven new ones, leave as one frame each, which carries PSH (Linux on a TSO device likewise: tcp_output.c), on its last segment once cut; the kernel's veth sends segment by segment, none the end of the data: no PSH
bulk_rto_newreno_held_loss_dupacks  the same
bulk_mss_one  the same: with TSO the first ten 48-byte segments (MSS 1, TCP_MIN_SND_MSS) are one frame, whose PSH lands on its tenth once cut; the kernel's veth sends them one by one, without
bulk_mss_one_ts  the same with 36-byte segments
EOF
)

setup() {
	e2e_setup --no-tap
	[ -z "$SAN_RT" ] || skip "sanitizer build: the frames are the same, the wait bounds are not"
	NSK=$NS-k
	NSQ=$NS-q
	NSO=$NS-o
	local n
	for n in "$NSK" "$NSQ" "$NSO"; do
		ip netns del "$n" 2>/dev/null || true
		ip netns add "$n"
	done
	for n in "$NS" "$NSK" "$NSQ" "$NSO"; do
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
	for n in "$NS" "$NSO"; do
		ip -n "$n" tuntap add dev tap0 mode tap
		ip -n "$n" link set tap0 up
	done
}

teardown() {
	local n pid
	# The pstack server, ended, may leave a keeper (stack/host/keeper.h)
	# that honours the scenarios' TIME_WAITs for a while: it is this
	# test's too. Whatever still runs in the test's namespaces goes.
	for pid in ${PID_srv_p:-} ${PID_srv_o:-}; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in ${PID_srv_p:-} ${PID_srv_o:-}; do
		pid_wait_gone "$pid" 10 || true
	done
	for n in "${NS:-}" "${NSK:-}" "${NSQ:-}" "${NSO:-}"; do
		[ -n "$n" ] || continue
		for pid in $(ip netns pids "$n" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
	done
	e2e_teardown
	[ -z "${NSK:-}" ] || ip netns del "$NSK" 2>/dev/null || true
	[ -z "${NSQ:-}" ] || ip netns del "$NSQ" 2>/dev/null || true
	[ -z "${NSO:-}" ] || ip netns del "$NSO" 2>/dev/null || true
}

# blocks FILE: "name<TAB>lines joined by ' // '" for each scenario of FILE.
blocks() {
	awk '/^== / { if (n != "") print n "\t" b; n = $2; b = ""; next }
	     { b = (b == "" ? $0 : b " // " $0) }
	     END { if (n != "") print n "\t" b }' "$1"
}

# compare KERNEL PSTACK [MAY_DIFFER]: prints each scenario that differs and
# is not allowed (ALLOWED, or MAY_DIFFER's), and each of ALLOWED that does
# not differ; fails if any.
compare() {
	awk -F'\t' -v allowed="$(awk '{ print $1 }' <<<"$ALLOWED" | tr '\n' ' ')" \
		-v maybe="$(awk '{ print $1 }' <<<"${3:-}" | tr '\n' ' ')" '
		BEGIN {
			n = split(allowed, a, " "); for (i = 1; i <= n; i++) ok[a[i]] = 1
			n = split(maybe, a, " "); for (i = 1; i <= n; i++) may[a[i]] = 1
		}
		FNR == NR { k[$1] = $2; order[++m] = $1; next }
		{ p[$1] = $2 }
		END {
			bad = 0
			for (i = 1; i <= m; i++) {
				s = order[i]
				if (s in ok) {
					if (k[s] == p[s]) {
						print "ALLOWED BUT SAME: " s " (remove it from ALLOWED)"
						bad = 1
					}
				} else if (s in may && s in p) {
					continue
				} else if (!(s in p) || k[s] != p[s]) {
					print "DIFFERS: " s
					print "  kernel: " k[s]
					print "  pstack: " p[s]
					bad = 1
				}
			}
			exit bad
		}' <(blocks "$1") <(blocks "$2")
}

@test "raw frames: pstack answers crafted frames as the kernel does, but for the allowed differences" {
	_bg srv_k ip netns exec "$NSK" timeout -k 3 160 "$PY" "$R" serve
	# (PSTACK_LINGER_MS=0: at the end, no wait for the scenarios' closes.)
	_bg srv_p ip netns exec "$NS" timeout -k 3 160 env LD_PRELOAD="$PRELOAD" PSTACK_LINGER_MS=0 PSTACK_OFFLOAD=0 \
		"$PY" "$R" serve
	_bg srv_o ip netns exec "$NSO" timeout -k 3 160 env LD_PRELOAD="$PRELOAD" PSTACK_LINGER_MS=0 "$PY" "$R" serve
	wait_log "$(out srv_k)" '^ready$'
	wait_log "$(out srv_p)" '^ready$'
	wait_log "$(out srv_o)" '^ready$'

	local k=$BATS_TEST_TMPDIR/kernel.txt p=$BATS_TEST_TMPDIR/pstack.txt o=$BATS_TEST_TMPDIR/pstack-offload.txt
	_bg run_k ip netns exec "$NSQ" timeout -k 3 150 "$PY" "$R" run vp "$SUBJ_IP" "$SUBJ_MAC"
	_bg run_o ip netns exec "$NSO" timeout -k 3 150 "$PY" "$R" run tap0 "$SUBJ_IP" "$SUBJ_MAC"
	ip netns exec "$NS" timeout -k 3 150 "$PY" "$R" run tap0 "$SUBJ_IP" "$SUBJ_MAC" >"$p"
	bg_wait run_k 150
	[ "$BG_STATUS" = 0 ] || fail "the kernel's run failed ($BG_STATUS): $(cat "$(err run_k)")"
	bg_wait run_o 150
	[ "$BG_STATUS" = 0 ] || fail "the run on pstack with offloads failed ($BG_STATUS): $(cat "$(err run_o)")"
	cp "$(out run_k)" "$k"
	cp "$(out run_o)" "$o"

	local nk
	nk=$(grep -c '^== ' "$k")
	[ "$nk" -ge 150 ] || fail "only $nk scenarios ran on the kernel"
	[ "$(grep -c '^== ' "$p")" = "$nk" ] || fail "$nk scenarios on the kernel, $(grep -c '^== ' "$p") on pstack"
	[ "$(grep -c '^== ' "$o")" = "$nk" ] || fail "$nk scenarios on the kernel, $(grep -c '^== ' "$o") on pstack with offloads"
	# The kernel answered at all (the link works).
	grep -q '^arp reply' "$k" || fail "no ARP reply from the kernel"

	local bad=0
	echo "---- pstack, plain frames"
	compare "$k" "$p" || bad=1
	echo "---- pstack, offloads"
	compare "$k" "$o" "$ALLOWED_OFFLOAD" || bad=1
	[ "$bad" = 0 ] || fail "pstack and the kernel differ (above)"
}
