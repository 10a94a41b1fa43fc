#!/usr/bin/env bats
# What Linux shows on the wire, pstack beside it (issue 12): each check runs
# the same scenario twice, with the kernel as the subject (in a namespace of
# its own, over a veth pair) and with pstack as the subject (a program under
# the preload, over the TAP), against the same peer (the kernel of the
# test's namespace), captures on the peer's side (tcpdump) and compares what
# the two subjects sent: the SYN's and SYN-ACK's options and window scale
# for the same buffer settings, quick ACK of the first data and PSH at the
# end of each write (and, with offloads, on every TSO frame of more than one
# segment), ACKs per data segment in a bulk receive, the
# retransmission timeout after a slow handshake, ECN negotiation both ways,
# TCP fast open, slow start and its restart after idleness, recovery from a
# loss and CUBIC after it, the loss probe and the RTO's backoff over a slow
# path, the loss probe at the RTO's time for one segment in flight,
# ssthresh after a timeout inside a recovery, SACK information kept through
# a second timeout in a row, the backoff kept by an ACK that times nothing
# (no timestamps: Karn), F-RTO after a spurious timeout (the peer's ACKs
# held back: linux-wire.py hold), TCP_USER_TIMEOUT's end of a connection
# whose data a silent peer never acknowledges.
#
# Both subjects get plain frames of one MTU, so that frames are segments:
# pstack with PSTACK_OFFLOAD=0, the kernel with gso_max_segs 1 on the veth
# (its TSO super-segments would be one frame on a veth); the bulk receive
# runs both with their offloads, as by default (OFFLOAD=1). The slow round trip
# is 50 ms each way: pstack's fault link (PSTACK_FAULTS=delay=50ms), and for
# the kernel, since this kernel has no netem, a relay between two TAPs that
# holds every frame (linux-wire.py relay). linux-wire.py also holds the
# client and server both subjects run and the capture reader.

load lib

W=$BATS_TEST_DIRNAME/linux-wire.py
# The peer's side: tap0 faces pstack, vp (or the relay's TAP rp) the kernel.
PEER_P=192.0.2.1
PEER_K=192.0.2.129
SUBJ_P=192.0.2.2
SUBJ_K=192.0.2.130

setup() {
	e2e_setup --no-tap
	NSK=$NS-k
	ip netns del "$NSK" 2>/dev/null || true
	ip netns add "$NSK"
	ksx ip link set lo up
	nsx ip tuntap add dev tap0 mode tap
	nsx ip addr add "$PEER_P/25" dev tap0
	nsx ip link set tap0 up
	# Linux's defaults, not this machine's (a new namespace copies them).
	ksx sysctl -qw net.ipv4.tcp_rmem="4096 131072 6291456" net.ipv4.tcp_wmem="4096 16384 4194304"
}

teardown() {
	e2e_teardown
	[ -z "${NSK:-}" ] || ip netns del "$NSK" 2>/dev/null || true
}

# ksx CMD...: CMD in the kernel subject's namespace.
ksx() {
	ip netns exec "$NSK" "$@"
}

# veth_up: the kernel subject's link to the peer, segments one per frame.
veth_up() {
	nsx ip link add vp type veth peer name vk netns "$NSK"
	nsx ip addr add "$PEER_K/25" dev vp
	ksx ip addr add "$SUBJ_K/25" dev vk
	if [ "${OFFLOAD:-0}" = 0 ]; then
		nsx ip link set vp gso_max_segs 1
		ksx ip link set vk gso_max_segs 1
	fi
	nsx ip link set vp up
	ksx ip link set vk up
}

# relay_up DELAY_MS: the kernel subject's link through linux-wire.py relay,
# every frame held DELAY_MS each way.
relay_up() {
	nsx ip tuntap add dev rp mode tap
	ksx ip tuntap add dev rk mode tap
	nsx ip addr add "$PEER_K/25" dev rp
	ksx ip addr add "$SUBJ_K/25" dev rk
	nsx ip link set rp up
	ksx ip link set rk up
	bg_ker relay 120 "${RT[@]}" "$PY" "$W" relay rp "$NSK" rk "$1"
	wait_log "$(out relay)" "relay up"
}

# rt_path: the relay and the subjects started after it run at a real-time
# priority (SCHED_FIFO 1) where the machine allows it, so that the emulated
# path's delay is the one asked for, not that plus the time its thread
# waits for a CPU. The fault link's delay is pstack's own stack thread and
# the relay a program: on this shared 2-core machine at a load of 4 to 6
# (sched_autogroup on, so nice buys nothing against the other sessions),
# the stack thread was measured waiting 6 to 76 ms on the run queue
# (/proc/thread-self/schedstat), ACKs read from the TAP that late in a
# batch; eight such RTT samples in a round 12.5 ms over the least RTT of
# 100 ms are HyStart's delay exit (Linux's hystart_update, which pstack
# follows), the same exit a kernel behind a late relay takes. Slow start
# so ended early in 39% of pstack's runs (17 of 44), in none of 10 with it.
RT=()
rt_path() {
	if chrt -f 1 true 2>/dev/null; then
		RT=(chrt -f 1)
	fi
}

# capture NAME IFACE / capture_stop NAME: tcpdump on the peer's IFACE into NAME.pcap.
capture() {
	bg_ker "cap_$1" 60 tcpdump --immediate-mode -U -n -s 160 -i "$2" -w "$BATS_TEST_TMPDIR/$1.pcap" tcp
	wait_log "$(err "cap_$1")" "listening on"
}
capture_stop() {
	local pidvar=PID_cap_$1
	sleep 0.2                   # the last frames into the file
	kill -TERM "${!pidvar}"
	bg_wait "cap_$1" 10
}

# peer_server NAME PORT ACTIONS: the peer's end (the test's namespace's
# kernel), in the background as peer_NAME (a name of its own: a wait for
# "listening" must not read the file of the one before).
peer_server() {
	bg_ker "peer_$1" 30 "$PY" "$W" server "$2" "$3"
	wait_log "$(out "peer_$1")" listening
}

# subject KIND client PORT ACTIONS / subject KIND server PORT ACTIONS: the
# subject's end, in the foreground; KIND is kernel or pstack. Settings come
# from the arrays PENV (pstack's: PSTACK_*) and KENV (NAME=VALUE words).
subject() {
	local kind=$1 role=$2 port=$3 actions=$4 peer
	if [ "$kind" = kernel ]; then
		peer=$PEER_K
	else
		peer=$PEER_P
	fi
	local args=("$PY" "$W" "$role")
	[ "$role" = server ] && args+=("$port" "$actions") || args+=("$peer" "$port" "$actions")
	if [ "$kind" = kernel ]; then
		ksx timeout -k 3 30 "${RT[@]}" env "${KENV[@]}" "${args[@]}"
	else
		ip netns exec "$NS" timeout -k 3 30 "${RT[@]}" env LD_PRELOAD="$PRELOAD" PSTACK_ADDR="$SUBJ_P/25" \
			PSTACK_OFFLOAD="${OFFLOAD:-0}" "${PENV[@]}" "${args[@]}"
	fi
}

# subject_ip KIND, iface KIND: the subject's address, the peer's interface facing it.
subject_ip() { [ "$1" = kernel ] && echo "$SUBJ_K" || echo "$SUBJ_P"; }
iface() { [ "$1" = kernel ] && echo "${KIFACE:-vp}" || echo tap0; }

# shown NAME KIND KEY: a value linux-wire.py show reads from NAME.pcap.
shown() {
	"$PY" "$W" show "$BATS_TEST_TMPDIR/$1.pcap" "$(subject_ip "$2")" | sed -n "s/^$3=//p"
}

# client_run NAME KIND PORT PEER_ACTIONS SUBJECT_ACTIONS: the subject connects
# to the peer's server; captured as NAME.
client_run() {
	capture "$1" "$(iface "$2")"
	peer_server "$1" "$3" "$4"
	run subject "$2" client "$3" "$5"
	assert_success
	bg_wait "peer_$1" 20
	[ "$BG_STATUS" = 0 ] || fail "the peer's server failed: $(cat "$(err "peer_$1")")"
	capture_stop "$1"
}

# server_run NAME KIND PORT SUBJECT_ACTIONS PEER_ACTIONS: the peer connects to
# the subject's server; captured as NAME.
server_run() {
	local ip
	capture "$1" "$(iface "$2")"
	ip=$(subject_ip "$2")
	if [ "$2" = kernel ]; then
		_bg "subj_$1" ip netns exec "$NSK" timeout -k 3 30 "$PY" "$W" server "$3" "$4"
	else
		_bg "subj_$1" ip netns exec "$NS" timeout -k 3 30 env LD_PRELOAD="$PRELOAD" \
			PSTACK_ADDR="$SUBJ_P/25" PSTACK_OFFLOAD="${OFFLOAD:-0}" "${PENV[@]}" "$PY" "$W" server "$3" "$4"
	fi
	wait_log "$(out "subj_$1")" listening
	run retry_refused 10 nsx timeout -k 3 30 "$PY" "$W" client "$ip" "$3" "$5"
	assert_success
	bg_wait "subj_$1" 20
	[ "$BG_STATUS" = 0 ] || fail "the subject's server failed: $(cat "$(err "subj_$1")")"
	capture_stop "$1"
}

PENV=()
KENV=()

@test "the SYN's and the SYN-ACK's options and window scale are the kernel's for the same buffers (7 with 6 MiB, 8 with 15 MB, 10 with the namespace's 32 MiB); with the default buffers, so are their windows and the handshake's ACK's" {
	veth_up
	local rmem want kind port=5100
	local ks kw ps pw kas kaw pas paw
	# The last without PSTACK_TCP_RMEM: pstack takes the max from the
	# namespace's net.ipv4.tcp_rmem, as a kernel socket there would.
	local how
	for rmem in "4096 131072 6291456:7:env" "4096 131072 15000000:8:env" "4096 131072 33554432:10:sysctl"; do
		how=${rmem##*:}
		rmem=${rmem%:*}
		want=${rmem##*:}
		rmem=${rmem%:*}
		ksx sysctl -qw net.ipv4.tcp_rmem="$rmem"
		if [ "$how" = env ]; then
			PENV=("PSTACK_TCP_RMEM=$rmem")
		else
			PENV=()
			ip netns exec "$NS" sysctl -qw net.ipv4.tcp_rmem="$rmem"
		fi
		for kind in kernel pstack; do
			client_run "syn_${want}_$kind" "$kind" $((port += 1)) drain send:1
			server_run "synack_${want}_$kind" "$kind" $((port += 1)) drain send:1
		done
		ks=$(shown "syn_${want}_kernel" kernel syn_opts)
		kw=$(shown "syn_${want}_kernel" kernel syn_wscale)
		ps=$(shown "syn_${want}_pstack" pstack syn_opts)
		pw=$(shown "syn_${want}_pstack" pstack syn_wscale)
		kas=$(shown "synack_${want}_kernel" kernel synack_opts)
		kaw=$(shown "synack_${want}_kernel" kernel synack_wscale)
		pas=$(shown "synack_${want}_pstack" pstack synack_opts)
		paw=$(shown "synack_${want}_pstack" pstack synack_wscale)
		echo "tcp_rmem $rmem: SYN kernel <$ks> wscale $kw, pstack <$ps> wscale $pw"
		echo "tcp_rmem $rmem: SYN-ACK kernel <$kas> wscale $kaw, pstack <$pas> wscale $paw"
		[ "$kw" = "$want" ] || fail "the kernel's SYN has wscale $kw, expected $want"
		[ -n "$ks" ] && [ "$ps" = "$ks" ] || fail "the SYN's options differ"
		[ "$pw" = "$kw" ] || fail "the SYN's window scale differs"
		[ -n "$kas" ] && [ "$pas" = "$kas" ] || fail "the SYN-ACK's options differ"
		[ "$paw" = "$kaw" ] || fail "the SYN-ACK's window scale differs"
		# The windows: the receive space in whole segments, at most 65535
		# (tcp_select_initial_window: 64240 in the SYN, 65160 in a
		# SYN-ACK with timestamps), then the ACK of the SYN-ACK offers that
		# rounded up to the scale's unit. Compared where both sides keep
		# their default buffers: PSTACK_TCP_RMEM counts the bytes a window
		# may offer, where tcp_rmem counts twice that.
		local kwin pwin kawin pawin khw phw
		kwin=$(shown "syn_${want}_kernel" kernel syn_win)
		pwin=$(shown "syn_${want}_pstack" pstack syn_win)
		kawin=$(shown "synack_${want}_kernel" kernel synack_win)
		pawin=$(shown "synack_${want}_pstack" pstack synack_win)
		khw=$(shown "syn_${want}_kernel" kernel hs_ack_win)
		phw=$(shown "syn_${want}_pstack" pstack hs_ack_win)
		echo "tcp_rmem $rmem: windows: SYN kernel $kwin pstack $pwin, SYN-ACK kernel $kawin pstack $pawin, handshake ACK kernel $khw pstack $phw"
		if [ "$how" = sysctl ]; then
			[ -n "$kwin" ] && [ "$pwin" = "$kwin" ] || fail "the SYN's window differs"
			[ -n "$kawin" ] && [ "$pawin" = "$kawin" ] || fail "the SYN-ACK's window differs"
			[ -n "$khw" ] && [ "$phw" = "$khw" ] || fail "the window of the handshake's ACK differs"
		fi
	done
}

@test "with SO_RCVBUF set, the SYN's and the SYN-ACK's windows and window scale are the kernel's (half the doubled buffer: 1460, 18980, 65535 with scale 4 for 2048, 20000, 1000000)" {
	veth_up
	local v kind port=5150 kw pw kws pws kaw paw kaws paws
	for v in 2048 20000 1000000; do
		KENV=("LW_CRCVBUF=$v")
		PENV=("LW_CRCVBUF=$v")
		export LW_RCVBUF=$v         # the subject's listener (the peer's client ignores it)
		for kind in kernel pstack; do
			client_run "rb_syn_${v}_$kind" "$kind" $((port += 1)) drain send:1
			server_run "rb_synack_${v}_$kind" "$kind" $((port += 1)) drain send:1
		done
		unset LW_RCVBUF
		KENV=()
		PENV=()
		kw=$(shown "rb_syn_${v}_kernel" kernel syn_win)
		pw=$(shown "rb_syn_${v}_pstack" pstack syn_win)
		kws=$(shown "rb_syn_${v}_kernel" kernel syn_wscale)
		pws=$(shown "rb_syn_${v}_pstack" pstack syn_wscale)
		kaw=$(shown "rb_synack_${v}_kernel" kernel synack_win)
		paw=$(shown "rb_synack_${v}_pstack" pstack synack_win)
		kaws=$(shown "rb_synack_${v}_kernel" kernel synack_wscale)
		paws=$(shown "rb_synack_${v}_pstack" pstack synack_wscale)
		echo "SO_RCVBUF $v: SYN kernel $kw wscale $kws, pstack $pw wscale $pws; SYN-ACK kernel $kaw wscale $kaws, pstack $paw wscale $paws"
		[ -n "$kw" ] && [ "$pw" = "$kw" ] || fail "the SYN's window differs"
		[ "$pws" = "$kws" ] || fail "the SYN's window scale differs"
		[ -n "$kaw" ] && [ "$paw" = "$kaw" ] || fail "the SYN-ACK's window differs"
		[ "$paws" = "$kaws" ] || fail "the SYN-ACK's window scale differs"
	done
}

@test "the first data is ACKed at once (quick ACK, not after 40 ms); PSH ends each write, as the kernel's" {
	veth_up
	local kind ka pa kp pp
	for kind in kernel pstack; do
		# The peer sends 100 bytes the subject does not answer; then the
		# subject writes 10000 bytes at once, and 3000 bytes later.
		client_run "qa_$kind" "$kind" 5201 send:100,drain recv:100,sleep:0.3,send:10000,sleep:0.3,send:3000,sleep:0.3
	done
	ka=$(shown qa_kernel kernel first_ack_ms)
	pa=$(shown qa_pstack pstack first_ack_ms)
	kp=$(shown qa_kernel kernel psh)
	pp=$(shown qa_pstack pstack psh)
	echo "the first data's ACK after: kernel $ka ms, pstack $pa ms"
	echo "data segments (P: PSH): kernel <$kp>, pstack <$pp>"
	awk -v k="$ka" -v p="$pa" 'BEGIN { exit !(k != "" && p != "" && k < 10 && p < 10) }' ||
		fail "the first data waited for its ACK (a delayed ACK is 40 ms)"
	[ -n "$kp" ] && [ "$pp" = "$kp" ] || fail "PSH is not where the kernel puts it"
}

@test "the ACK of a FIN is a delayed one after data, as the kernel's (the connection turns interactive: the program's FIN may carry it); with no data before, at once" {
	veth_up
	local kind port=5300 k p kn pn
	for kind in kernel pstack; do
		# The peer answers 100 bytes and closes 10 ms later; the subject
		# closes 300 ms after its request.
		client_run "finack_data_$kind" "$kind" $((port += 1)) recv:5,send:100,sleep:0.01 send:5,recv:100,sleep:0.3
		# The peer closes without a byte.
		client_run "finack_nodata_$kind" "$kind" $((port += 1)) sleep:0.01 sleep:0.3
	done
	k=$(shown finack_data_kernel kernel fin_ack_ms)
	p=$(shown finack_data_pstack pstack fin_ack_ms)
	kn=$(shown finack_nodata_kernel kernel fin_ack_ms)
	pn=$(shown finack_nodata_pstack pstack fin_ack_ms)
	echo "FIN after data: ACKed after kernel $k ms, pstack $p ms; FIN alone: kernel $kn ms, pstack $pn ms"
	[ -n "$k" ] && [ -n "$p" ] && [ -n "$kn" ] && [ -n "$pn" ] || fail "a FIN's ACK is missing from a capture"
	# Linux's delayed-ACK timeout is 40 ms; its FIN would carry the ACK
	# at 300 ms.
	awk -v k="$k" 'BEGIN { exit !(k >= 30 && k < 250) }' || fail "the kernel's ACK came after $k ms (expected a delayed ACK)"
	awk -v p="$p" 'BEGIN { exit !(p >= 30 && p < 250) }' || fail "pstack's ACK came after $p ms, the kernel's after $k"
	awk -v k="$kn" 'BEGIN { exit !(k < 25) }' || fail "the kernel's ACK of a FIN alone came after $kn ms"
	awk -v p="$pn" 'BEGIN { exit !(p < 25) }' || fail "pstack's ACK of a FIN alone came after $pn ms, the kernel's after $kn"
}

@test "Nagle as the kernel's (Minshall's): a write's short last segment goes at once behind the full ones; a short write after it waits for its ACK" {
	KIFACE=rp
	relay_up 50
	local kind p t tail last
	KENV=(LW_WARM=0.3)
	PENV=(LW_WARM=0.3 PSTACK_FAULTS=delay=50ms PSTACK_LINGER_MS=0)
	for kind in kernel pstack; do
		client_run "ng_$kind" "$kind" 5301 recv:10010 sleep:1.5,send:10000,send:10,sleep:0.5
	done
	# 10000 bytes: six full segments and 1312 bytes, all within the
	# initial window; then 10 bytes, which wait while the 1312 (a short
	# segment) is unacknowledged: a round trip (100 ms) later. The
	# classic rule (any data unacknowledged) held the 1312 bytes for the
	# round trip instead, and sent them with the 10 as one segment.
	for kind in kernel pstack; do
		p=$(shown "ng_$kind" "$kind" psh)
		t=$(shown "ng_$kind" "$kind" data_ms)
		echo "$kind: data segments <$p> at <$t> ms"
		[ "$(echo "$p" | tr -d P)" = "1448 1448 1448 1448 1448 1448 1312 10" ] ||
			fail "the $kind: segments <$p>"
		tail=$(echo "$t" | awk '{ print $7 }')
		last=$(echo "$t" | awk '{ print $8 }')
		awk -v a="$tail" -v b="$last" 'BEGIN { exit !(a < 30 && b >= 80) }' ||
			fail "the $kind: the short last segment of the write at $tail ms, the short write at $last ms"
	done
}

@test "MSG_EOR as the kernel's: what is written after a record's end never joins its segment, and a record end goes though Nagle would hold it" {
	KIFACE=rp
	relay_up 50
	local kind p k=""
	KENV=(LW_WARM=0.3)
	PENV=(LW_WARM=0.3 PSTACK_FAULTS=delay=50ms PSTACK_LINGER_MS=0)
	for kind in kernel pstack; do
		client_run "eor_$kind" "$kind" 5303 recv:13296 sleep:1.5,send:10000,eor:400,eor:400,eor:400,send:2096,sleep:0.5
	done
	# 10000 bytes: six full segments and 1312 bytes. Three records of 400
	# bytes: each is a segment of its own (without the flag, the last two
	# would wait for the 1312's ACK and go together). The initial window
	# (ten segments) is then full: the last 2096 bytes wait for the ACK
	# and go in segments of their own, never joined to the last record.
	for kind in kernel pstack; do
		p=$(shown "eor_$kind" "$kind" psh)
		echo "$kind: data segments <$p>"
		[ "$kind" = kernel ] && k=$p
	done
	[ "$(echo "$k" | tr -d P)" = "1448 1448 1448 1448 1448 1448 1312 400 400 400 1448 648" ] ||
		fail "the kernel's own segments are not the ones this test expects: <$k>"
	# PSH within the first write follows Linux's buffers (the Nagle test's
	# note); from its last segment on, every segment's PSH is compared.
	[ "$(echo "$p" | tr -d P)" = "$(echo "$k" | tr -d P)" ] &&
		[ "$(echo "$p" | cut -d' ' -f7-)" = "$(echo "$k" | cut -d' ' -f7-)" ] ||
		fail "pstack's segments <$p>, the kernel's <$k>"
}

@test "with offloads (the default), every TSO frame of more than one segment carries PSH, as the kernel's, wherever the write was cut" {
	# One write of 200000 bytes: the kernel (a veth with TSO) and pstack
	# (PSTACK_OFFLOAD=1) send it in TSO frames, each captured whole on
	# the peer's side. The kernel marks PSH on every frame of more than
	# one segment (the device keeps it on the last segment it cuts), not
	# only on the one that ends the write; one-segment frames follow the
	# write's buffers. The frames' sizes differ (the kernel's TSO
	# autosizing, its half-cwnd splits), so the rule is compared, not the
	# list.
	OFFLOAD=1
	veth_up
	local kind p multi bare
	for kind in kernel pstack; do
		client_run "tsopsh_$kind" "$kind" 5307 recv:200000 send:200000,sleep:0.3
	done
	for kind in kernel pstack; do
		p=$(shown "tsopsh_$kind" "$kind" psh)
		multi=$(echo "$p" | tr ' ' '\n' | awk '{ n = $0 + 0 } n > 1448' | wc -l)
		bare=$(echo "$p" | tr ' ' '\n' | awk '{ n = $0 + 0 } n > 1448 && !/P$/' | wc -l)
		echo "$kind: data frames <$p>: $multi of more than one segment, $bare of them without PSH"
		[ "$multi" -ge 2 ] || fail "the $kind sent fewer than two TSO frames: <$p>"
		[ "$bare" = 0 ] || fail "the $kind sent TSO frames without PSH: <$p>"
	done
}

@test "a bulk receive with offloads (the default): ACKs per data segment within the kernel's range" {
	# Both subjects as they run by default: the kernel takes the veth's
	# large segments (one per 64 KB), pstack the TAP's (PSTACK_OFFLOAD=1),
	# and each ACKs about once per large segment. Segments are counted in
	# MSS (1448 bytes of data). Three kernel runs give its range (0.010 to
	# 0.023 ACKs per segment seen here). Both
	# stacks' counts move with the machine's load, so the runs alternate
	# (kernel, pstack, ...: each pstack run sees the load a kernel run
	# saw), pstack has four, and they are held to the range one-sidedly:
	# the least of them must not be above the range widened by half, the
	# most not below a third of the kernel's least. A third, not a half:
	# when pstack ACKed once per batch of frames read (Linux once per GRO
	# frame, or once per backlog while the reader copies), on a quiet
	# machine its batches were long: its runs gave 0.0059 to 0.0167, its
	# most of four 0.0091 to 0.0167, the kernel's 0.0143 to 0.0227
	# (2026-12-05); with half, one make test in five or so failed (most
	# 0.0079 against the kernel's least 0.0169). Now it ACKs each large
	# frame, and the frames that waited while the program read once per
	# batch (ack_soon): 0.004 to 0.014, the kernel's 0.008 to 0.017.
	# A stack that ACKs once per window, or per read of a large buffer,
	# still fails. Not the median: when the machine is
	# loaded, the receiving program is often asleep in recv when a frame
	# comes, and then each frame is a batch of its own and gets its ACK (the
	# kernel's reader is mostly busy copying when segments come, and what
	# comes meanwhile waits in the socket's backlog for one ACK, Linux's
	# deferred ACK of the backlog): 0.025 to 0.028 in two of three runs
	# while other work loaded the machine, 0.013 in the third. The kernel's
	# own count rises so too: 0.018 to 0.023 in one make test, when pstack's
	# runs gave 0.0085 to 0.0150. A stack that ACKs more often than the
	# range whatever the timing fails every run, and so does one that ACKs
	# less often.
	OFFLOAD=1
	veth_up
	local kind run d k lo=9 hi=0 r m ps=""
	for run in 1 p1 2 p2 3 p3 p4; do
		kind=kernel
		[ "${run#p}" != "$run" ] && kind=pstack
		server_run "bulk_$run" "$kind" $((5300 + ${#run})) drain send:$((8 * MiB))
		d=$(($(shown "bulk_$run" "$kind" bytes_in) / 1448))
		k=$(shown "bulk_$run" "$kind" acks_out)
		[ "$d" -ge 5790 ] || fail "$d segments' worth of data: less than 8 MiB"
		r=$(awk -v d="$d" -v k="$k" 'BEGIN { printf "%.4f", k / d }')
		echo "8 MiB received by the $kind ($run): $k ACKs for $d segments, $r per segment"
		if [ "$kind" = kernel ]; then
			lo=$(awk -v a="$lo" -v b="$r" 'BEGIN { print (b < a) ? b : a }')
			hi=$(awk -v a="$hi" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
		else
			ps="$ps $r"
		fi
	done
	r=$(printf '%s\n' $ps | sort -g | sed -n 1p)
	m=$(printf '%s\n' $ps | sort -g | sed -n '$p')
	echo "pstack's least: $r, most: $m"
	# A sanitizer's build runs the stack several times slower: it reads
	# smaller batches and ACKs each (0.020 under TSan against the kernel's
	# 0.012): the ratio of the stack as shipped is the plain build's.
	[ -z "$SAN_RT" ] || return 0
	awk -v r="$r" -v hi="$hi" 'BEGIN { exit !(r <= 1.5 * hi) }' ||
		fail "pstack's least $r ACKs per segment is above the kernel's $lo to $hi (widened by half)"
	awk -v m="$m" -v lo="$lo" 'BEGIN { exit !(m >= lo / 3) }' ||
		fail "pstack's most $m ACKs per segment is below a third of the kernel's least ($lo to $hi)"
}

@test "after a 100 ms handshake, lost data is resent after about 300 ms, as by the kernel (RFC 6298: the handshake's RTT sample)" {
	KIFACE=rp
	relay_up 50
	# The peer drops every data segment the subjects send it on this port.
	nsx iptables -A INPUT -p tcp --dport 5401 -m length --length 200:65535 -j DROP
	local kind h r w
	# (a datagram first: the SYN waits for no ARP, its RTT is the path's)
	KENV=(LW_WARM=0.3)
	PENV=(LW_WARM=0.3 PSTACK_FAULTS=delay=50ms PSTACK_LINGER_MS=0)
	for kind in kernel pstack; do
		client_run "rto_$kind" "$kind" 5401 sleep:1.5 send:1000,sleep:1
	done
	# Each subject's own clock (its timestamps) says how long its handshake
	# took and when it resent: the RTO must be what the handshake's sample
	# gives, SRTT + max(4 RTTVAR, 200 ms) = 3 RTT here (Linux: srtt +
	# max(mdev, tcp_rto_min)). The relay's timing moves with the machine's
	# load, so the kernel's handshake may take longer than 100 ms.
	for kind in kernel pstack; do
		h=$(shown "rto_$kind" "$kind" hs_rtt_tsval_ms)
		r=$(shown "rto_$kind" "$kind" rto_tsval_ms)
		w=$(shown "rto_$kind" "$kind" rto_ms)
		echo "$kind: handshake $h ms, first retransmission after $r ms ($w ms on the wire)"
		[ -n "$h" ] && [ -n "$r" ] || fail "the $kind: no handshake or no retransmission seen"
		awk -v h="$h" -v r="$r" 'BEGIN { e = h + ((2 * h > 200) ? 2 * h : 200); d = r - e; if (d < 0) d = -d
			exit !(h >= 95 && d <= 30 + e / 10) }' ||
			fail "the $kind resent after $r ms with a handshake of $h ms"
	done
	# pstack's path is the fault link's, exact: 300 ms on the wire too.
	awk -v w="$w" 'BEGIN { exit !(w >= 280 && w <= 340) }' || fail "pstack resent after $w ms on the wire"
}

@test "ECN negotiation both ways, as the kernel's: asked with tcp_ecn=1 / PSTACK_TCP_ECN=1, accepted by default; ECT(0) on data only" {
	veth_up
	local kind
	# The subject asks (net.ipv4.tcp_ecn=1 in its namespace, PSTACK_TCP_ECN=1),
	# the peer accepts (its default, 2).
	ksx sysctl -qw net.ipv4.tcp_ecn=1
	for kind in kernel pstack; do
		PENV=(PSTACK_TCP_ECN=1)
		client_run "ask_$kind" "$kind" 5501 drain send:5000,sleep:0.2
	done
	# The peer asks (tcp_ecn=1 in the test's namespace), the subjects
	# accept by default.
	ksx sysctl -qw net.ipv4.tcp_ecn=2
	nsx sysctl -qw net.ipv4.tcp_ecn=1
	for kind in kernel pstack; do
		PENV=()
KENV=()
		server_run "acc_$kind" "$kind" 5502 send:5000,sleep:0.2 drain
	done
	local k p
	for k in ask:syn_flags ask:data_ect ask:data_out ask:acks_ect acc:synack_flags acc:data_ect acc:data_out acc:acks_ect; do
		p=$(shown "${k%%:*}_pstack" pstack "${k#*:}")
		echo "${k%%:*} ${k#*:}: kernel $(shown "${k%%:*}_kernel" kernel "${k#*:}"), pstack $p"
	done
	[ "$(shown ask_kernel kernel syn_flags)" = SEW ] || fail "the kernel did not ask for ECN"
	[ "$(shown acc_kernel kernel synack_flags)" = SE. ] || fail "the kernel did not accept ECN"
	for k in ask:syn_flags acc:synack_flags ask:acks_ect acc:acks_ect; do
		[ "$(shown "${k%%:*}_pstack" pstack "${k#*:}")" = "$(shown "${k%%:*}_kernel" kernel "${k#*:}")" ] ||
			fail "${k%%:*} ${k#*:} differs"
	done
	# Every data segment ECT(0), on both, both ways.
	for k in ask acc; do
		for kind in kernel pstack; do
			[ "$(shown "${k}_$kind" "$kind" data_out)" -gt 0 ] &&
				[ "$(shown "${k}_$kind" "$kind" data_ect)" = "$(shown "${k}_$kind" "$kind" data_out)" ] ||
				{ tcpdump -v -nn -r "$BATS_TEST_TMPDIR/${k}_$kind.pcap" 2>/dev/null | head -40
				  fail "$k: the $kind sent data that was not ECT"; }
		done
	done
}

# tfo_round NAME KIND PORT [KEY]: the peer (the kernel, as client) makes two
# connections with MSG_FASTOPEN to fastopen.py's server on the subject (with
# TCP_FASTOPEN_KEY KEY when given); NAME.pcap.
tfo_round() {
	local ip
	ip=$(subject_ip "$2")
	capture "$1" "$(iface "$2")"
	if [ "$2" = kernel ]; then
		_bg "subj_$1" ip netns exec "$NSK" timeout -k 3 30 "$PY" "$F" server "$3" 2 ${4:-}
	else
		_bg "subj_$1" ip netns exec "$NS" timeout -k 3 30 env LD_PRELOAD="$PRELOAD" \
			PSTACK_ADDR="$SUBJ_P/25" PSTACK_OFFLOAD=0 "$PY" "$F" server "$3" 2 ${4:-}
	fi
	wait_log "$(out "subj_$1")" listening
	run retry_refused 10 nsx timeout -k 3 30 "$PY" "$F" client "$ip" "$3" 2
	assert_success
	bg_wait "subj_$1" 20
	[ "$BG_STATUS" = 0 ] || fail "the subject's server failed: $(cat "$(err "subj_$1")")"
	grep -q "got hello1" "$(out "subj_$1")" || fail "the subject's server did not read the second request"
	capture_stop "$1"
}

@test "TCP fast open as the kernel's: with tcp_fastopen=3 the first SYN gets the kernel's cookie for the same key, the next SYN's data is ACKed by the SYN-ACK; a listener's own TCP_FASTOPEN_KEY; with 1 (Linux's default) a SYN's data is left for the client to send again" {
	F=$BATS_TEST_DIRNAME/fastopen.py
	veth_up
	local key=5a5a5a5a-0f1e2d3c-4b5a6978-8796a5b4 kind port=5400 ip peer want got syns
	# The peer's namespace (which pstack's library reads too) and the kernel subject's.
	nsx sysctl -qw net.ipv4.tcp_fastopen=3 net.ipv4.tcp_fastopen_key=$key
	ksx sysctl -qw net.ipv4.tcp_fastopen=3 net.ipv4.tcp_fastopen_key=$key
	for kind in kernel pstack; do
		ip=$(subject_ip "$kind")
		[ "$kind" = kernel ] && peer=$PEER_K || peer=$PEER_P
		tfo_round "tfo_$kind" "$kind" $((port += 1))
		want=$("$PY" "$F" cookie "$key" "$peer" "$ip")
		got=$(nsx ip tcp_metrics show "$ip" | sed -n 's/.*fo_cookie \([0-9a-f]*\).*/\1/p')
		syns=$("$PY" "$F" syns "$BATS_TEST_TMPDIR/tfo_$kind.pcap" "$ip" | tr '\n' ' ')
		echo "$kind: cookie $got (the kernel's formula: $want); SYNs: $syns"
		[ -n "$got" ] && [ "$got" = "$want" ] || fail "$kind gave the cookie '$got', the kernel's would be $want"
		[ "$syns" = "syn_len=0 synack_acks=0 syn_len=6 synack_acks=6 " ] ||
			fail "$kind: the SYNs and what their SYN-ACKs acknowledged: $syns"
	done
	# A listener's own key (TCP_FASTOPEN_KEY): the client's cookie is no
	# longer valid, the SYN-ACK gives the listener's, the next SYN's data is taken.
	local key2=0badcafe-12345678-9abcdef0-0f0f0f0f
	for kind in kernel pstack; do
		ip=$(subject_ip "$kind")
		[ "$kind" = kernel ] && peer=$PEER_K || peer=$PEER_P
		tfo_round "tfo_key_$kind" "$kind" $((port += 1)) "$key2"
		want=$("$PY" "$F" cookie "$key2" "$peer" "$ip")
		got=$(nsx ip tcp_metrics show "$ip" | sed -n 's/.*fo_cookie \([0-9a-f]*\).*/\1/p')
		syns=$("$PY" "$F" syns "$BATS_TEST_TMPDIR/tfo_key_$kind.pcap" "$ip" | tr '\n' ' ')
		echo "$kind, the listener's own key: cookie $got (the kernel's formula: $want); SYNs: $syns"
		[ -n "$got" ] && [ "$got" = "$want" ] || fail "$kind gave the cookie '$got' for its own key, the kernel's would be $want"
		[ "$syns" = "syn_len=6 synack_acks=0 syn_len=6 synack_acks=6 " ] ||
			fail "$kind with its own key: the SYNs and what their SYN-ACKs acknowledged: $syns"
	done
	# The server's side off (the client keeps its cookies and sends data in its SYNs).
	nsx sysctl -qw net.ipv4.tcp_fastopen=1
	ksx sysctl -qw net.ipv4.tcp_fastopen=1
	for kind in kernel pstack; do
		ip=$(subject_ip "$kind")
		tfo_round "tfo_off_$kind" "$kind" $((port += 1))
		syns=$("$PY" "$F" syns "$BATS_TEST_TMPDIR/tfo_off_$kind.pcap" "$ip" | tr '\n' ' ')
		echo "$kind, server side off: SYNs: $syns"
		[ "$syns" = "syn_len=6 synack_acks=0 syn_len=6 synack_acks=0 " ] ||
			fail "$kind with tcp_fastopen=1: the SYNs and what their SYN-ACKs acknowledged: $syns"
	done
}

# tfo_client_round NAME KIND PORT HOW: the subject (as client, fastopen.py
# client ... HOW) makes three connections with fast open to the peer's
# fastopen.py server (the kernel, tcp_fastopen=3); NAME.pcap.
tfo_client_round() {
	local peer
	[ "$2" = kernel ] && peer=$PEER_K || peer=$PEER_P
	capture "$1" "$(iface "$2")"
	bg_ker "peer_$1" 30 "$PY" "$F" server "$3" 3
	wait_log "$(out "peer_$1")" listening
	if [ "$2" = kernel ]; then
		run ksx timeout -k 3 30 "$PY" "$F" client "$peer" "$3" 3 "$4"
	else
		run ip netns exec "$NS" timeout -k 3 30 env LD_PRELOAD="$PRELOAD" PSTACK_ADDR="$SUBJ_P/25" \
			PSTACK_OFFLOAD=0 "$PY" "$F" client "$peer" "$3" 3 "$4"
	fi
	assert_success
	bg_wait "peer_$1" 20
	[ "$BG_STATUS" = 0 ] || fail "the peer's server failed: $(cat "$(err "peer_$1")")"
	grep -q "got hello2" "$(out "peer_$1")" || fail "the peer's server did not read the third request"
	capture_stop "$1"
}

@test "TCP fast open's client side as the kernel's: the first SYN asks for a cookie, the next carry it and their data (MSG_FASTOPEN, and TCP_FASTOPEN_CONNECT with connect and send)" {
	F=$BATS_TEST_DIRNAME/fastopen.py
	veth_up
	local key=3c3c3c3c-01020304-a0b0c0d0-77777777 kind how port=5500 ip syns want
	# The peer's server side on; the subjects keep Linux's default (1: the client's side).
	nsx sysctl -qw net.ipv4.tcp_fastopen=3 net.ipv4.tcp_fastopen_key=$key
	want="syn_len=0 fo=req synack_acks=0 syn_len=6 fo=cookie8 synack_acks=6 syn_len=6 fo=cookie8 synack_acks=6 "
	for how in sendto connect; do
		for kind in kernel pstack; do
			ip=$(subject_ip "$kind")
			# The kernel's cookies outlive the process (tcp_metrics); pstack's live in its stack.
			ksx ip tcp_metrics flush all 2>/dev/null || true
			tfo_client_round "tfoc_${how}_$kind" "$kind" $((port += 1)) "$how"
			syns=$("$PY" "$F" csyns "$BATS_TEST_TMPDIR/tfoc_${how}_$kind.pcap" "$ip" | tr '\n' ' ')
			echo "$kind ($how): SYNs: $syns"
			[ "$syns" = "$want" ] || fail "$kind ($how): the SYNs and what their SYN-ACKs acknowledged: $syns"
		done
	done
}

# slow_start_cut: whether the subject's output ($output: linux-wire.py's
# info lines) shows ssthresh set, its slow start ended by HyStart;
# ss_windows: its ssthresh and cwnd after each part of the data.
slow_start_cut() {
	grep -o 'snd_ssthresh=[0-9]*' <<<"$output" | grep -qvx 'snd_ssthresh=2147483647'
}
ss_windows() {
	grep -o 'snd_ssthresh=[0-9]* snd_cwnd=[0-9]*' <<<"$output" | tr '\n' ' '
}

@test "slow start as the kernel's (CUBIC): over a 100 ms path a bulk sender's rounds carry 10, 20, 40, 80, 160 segments, and after a second of idleness the restart's rounds are the kernel's" {
	# Round by round, the stack must keep pace with what a window allows;
	# instrumented, it does not always (320 segments in a round, or 350
	# after the restart, cut in two: at the session's start and at its end
	# alike, two runs of three). The plain build runs it (make test).
	[ -z "$SAN_RT" ] || skip "sanitizer build: the rounds need the plain build's pace"
	KIFACE=rp
	rt_path
	relay_up 50
	local kind r rk kr
	# CUBIC for both (this kernel's default is BBR; a namespace may set only
	# what tcp_allowed_congestion_control lists, a socket with CAP_NET_ADMIN any).
	# The whole transfer fits the send buffer, and the peer's receive buffer
	# is large: neither program's scheduling on this shared machine (a
	# sender late to write, a receiver late to read, its window closing)
	# leaves a round short.
	export LW_RCVBUF=16777216
	KENV=(LW_WARM=0.3 LW_CC=cubic LW_SNDBUF=4194304)
	PENV=(LW_WARM=0.3 LW_CC=cubic LW_SNDBUF=4194304 PSTACK_FAULTS=delay=50ms)
	# (the kernel's run is taken again, up to twice, when its own rounds
	# show the relay, a Python program on a shared machine, falling
	# behind: a round cut in two where its queue held the sender back; or
	# when its slow start ended before the data did, ssthresh set (HyStart,
	# on the ACK times of a relay late on a loaded machine; seen: ssthresh
	# 328, cwnd 346 after the first part, and the restart's rounds
	# 43 86 172 114 for 87 174 154; and in the restart's second round, 87
	# 98 103 109 18))
	# The first 1000000 bytes, acknowledged, then the idleness: 3.5 RTOs
	# by the subject's own TCP_INFO since its last data segment
	# (linux-wire.py idle), so that how many RTOs of it the restart counts
	# never hangs on how long the data before took.
	local try port=5600 kname pname acts=sleep:0.5,send:1000000,acked,info,idle:3.5,send:600000,acked,info
	for try in 1 2 3; do
		client_run "ss_kernel_$try" kernel $((port += 1)) drain "$acts"
		kname=ss_kernel_$try
		kr=($(shown "$kname" kernel rounds))
		[ "${kr[*]:0:6}" = "10 20 40 80 160 320" ] && ! slow_start_cut && break
		echo "the kernel's rounds <${kr[*]}>, after each part $(ss_windows): again"
	done
	# pstack's run is taken again, up to twice, when a round is cut in two
	# the same way (the same segments over the rounds, another split: the
	# fault link or the sender late on a busy machine, as above; the sixth
	# round, 320 segments, was seen cut 266 + 54 at a load average of 6),
	# or when its slow start ended early the same way.
	for try in 1 2 3; do
		client_run "ss_pstack_$try" pstack $((port += 1)) drain "$acts"
		pname=ss_pstack_$try
		r=($(shown "$pname" pstack rounds))
		[ "${r[*]}" = "${kr[*]}" ] && break
		if slow_start_cut; then
			echo "pstack's rounds <${r[*]}>, after each part $(ss_windows): again"
			continue
		fi
		[ "$(IFS=+; echo $((${r[*]:-0})))" = "$(IFS=+; echo $((${kr[*]:-0})))" ] &&
			[ "${r[*]:0:5}" = "${kr[*]:0:5}" ] || break
		echo "pstack's rounds <${r[*]}>, the same segments cut otherwise: again"
	done
	unset LW_RCVBUF
	# The initial window of 10, then twice as much each round trip (the
	# peer ACKs every second segment: each ACK grows cwnd by what it
	# covers); after the idle second, the window the restart leaves
	# (Linux's tcp_cwnd_restart: halved once for each full RTO since the
	# last data segment, ssthresh kept at 3/4 of the old window at least):
	# 3.5 RTOs of about 300 ms, half an RTO from either count of halvings,
	# 701 >> 3. (It was a sleep of a second from the write, whose data took
	# some 620 ms of it: 380 ms idle, 76 ms from one halving fewer, so a
	# transfer late by that much on a loaded machine restarted otherwise:
	# with a sleep of 0.9 s the kernel's restart round was 415 segments
	# against pstack's 350 65.) Measured on this kernel: 10 20 40 80 160
	# 320 61, then 87 174 154.
	r=$(shown "$kname" kernel rounds)
	rk=$r
	echo "kernel: segments per round <$r>"
	[ "$(echo "$r" | cut -d' ' -f1-5)" = "10 20 40 80 160" ] || fail "the kernel: rounds <$r>"
	r=$(shown "$pname" pstack rounds)
	echo "pstack: segments per round <$r>"
	[ "$r" = "$rk" ] || fail "pstack's rounds <$r>, the kernel's <$rk>"
}

@test "one segment lost in slow start: fast recovery and CUBIC's growth after it as the kernel's, round by round over a 100 ms path" {
	KIFACE=rp
	# The rounds' pace as in the slow start test (rt_path), in the plain build.
	[ -n "$SAN_RT" ] || rt_path
	relay_up 50
	local kind r rk x kname pname
	# As the slow start test (CUBIC, buffers that never limit), and the peer
	# drops the hundredth data frame it receives (in the fourth round).
	export LW_RCVBUF=16777216
	KENV=(LW_WARM=0.3 LW_CC=cubic LW_SNDBUF=4194304)
	PENV=(LW_WARM=0.3 LW_CC=cubic LW_SNDBUF=4194304 PSTACK_FAULTS=delay=50ms)
	# (a run is taken again, up to four times, when its loss round blurs:
	# the loss round is the 80 ACKs' slow start until the third duplicate
	# ACK, about 93, and the one after 0.7 of that window. On a loaded
	# machine either side can miss it: the kernel's when the relay, a
	# Python program, falls behind (seen: 73 then 63, three tries in a
	# row with two busy loops beside it); pstack's when it takes the loss
	# a few ACKs late (seen: 111, 117 and 122, then 86))
	# And the pair is taken again, up to twice, when the comparison below
	# fails: both in their range, the kernel low and pstack high (seen:
	# 86 73 77 against 92 77 80, pstack the kernel's usual 93 77 81).
	local try port=5700 attempt why
	for attempt in 1 2 3; do
		for kind in kernel pstack; do
			for try in 1 2 3 4 5; do
				nsx iptables -F INPUT
				nsx iptables -A INPUT -p tcp --dport $((port += 1)) -m length --length 1000:65535 \
					-m statistic --mode nth --every 1000000 --packet 99 -j DROP
				client_run "loss_${kind}_${attempt}_$try" "$kind" $port drain sleep:0.5,send:2000000
				[ "$kind" = kernel ] && kname=loss_kernel_${attempt}_$try || pname=loss_pstack_${attempt}_$try
				rk=($(shown "loss_${kind}_${attempt}_$try" $kind rounds))
				[ "${rk[*]:0:4}" = "10 20 40 80" ] && [ "${rk[4]:-0}" -ge 86 ] && [ "${rk[4]:-0}" -le 100 ] &&
					[ "${rk[5]:-0}" -ge 70 ] && [ "${rk[5]:-0}" -le 85 ] && break
				echo "the $kind's rounds <${rk[*]}>: again"
			done
		done
		why=
		local name
		for kind in kernel pstack; do
			[ "$kind" = kernel ] && name=$kname || name=$pname
			echo "$kind: segments per round <$(shown "$name" $kind rounds)>," \
				"retransmissions $(shown "$name" $kind retrans)"
			[ "$(shown "$name" $kind retrans)" = 1 ] || why="the $kind resent more than the lost segment"
		done
		# Slow start to the loss; in its round one new segment per duplicate
		# ACK (the flight held: PRR in slow start) and the lost one resent;
		# then cwnd = ssthresh = 0.7 of the window (CUBIC's beta): 77, and
		# CUBIC's growth, a segment or two more each round. Measured on this
		# kernel: 10 20 40 80 93 77 81 83 85 87 88 91 ... A round's end is
		# where the ACKs pause, which the two paths (the relay, pstack's fault
		# link) place an ACK apart, and CUBIC's growth follows the clock:
		# after the first four, each round is compared within four segments
		# (a beta of 0.5, or a recovery ending below ssthresh, is 20 and more).
		rk=($(shown "$kname" kernel rounds))
		r=($(shown "$pname" pstack rounds))
		[ "${rk[*]:0:4}" = "10 20 40 80" ] || why="${why:-the kernel's rounds <${rk[*]}>}"
		[ "${r[*]:0:4}" = "10 20 40 80" ] || why="${why:-pstack's rounds <${r[*]}>}"
		for x in 4 5 6 7 8 9 10 11; do
			[ -n "$why" ] && break
			if [ -z "${r[$x]:-}" ] || [ -z "${rk[$x]:-}" ]; then
				why="round $((x + 1)) missing: <${r[*]}> against <${rk[*]}>"
			elif ! awk -v a="${r[$x]}" -v b="${rk[$x]}" 'BEGIN { d = a - b; exit !(d <= 4 && d >= -4) }'; then
				why="round $((x + 1)): pstack ${r[$x]} segments, the kernel ${rk[$x]} (<${r[*]}> against <${rk[*]}>)"
			fi
		done
		[ -z "$why" ] && break
		echo "$why: the pair again"
	done
	unset LW_RCVBUF
	[ -z "$why" ] || fail "$why"
}

@test "a sender whose data the peer never gets: the tail loss probe, then the RTO and its backoff, as the kernel's" {
	KIFACE=rp
	relay_up 50
	# The peer drops every data segment the subjects send it on this port.
	nsx iptables -A INPUT -p tcp --dport 5801 -m length --length 200:65535 -j DROP
	local kind r rk i
	KENV=(LW_WARM=0.3)
	PENV=(LW_WARM=0.3 PSTACK_FAULTS=delay=50ms PSTACK_LINGER_MS=0)
	for kind in kernel pstack; do
		client_run "bh_$kind" "$kind" 5801 sleep:3 send:10000,sleep:3
	done
	# 10000 bytes in seven segments, none ACKed: a loss probe of the last
	# segment after 2 SRTT (200 ms, RFC 8985 §7.2), the RTO from the first
	# byte about 300 ms after the data (the handshake's sample), then
	# doubling. Measured on this kernel: 206@8688 515@0 1159@0 2404@0 (ms
	# after the first data segment @ the byte resent). Each resend must
	# be the kernel's, within 10% (or 30 ms) of its time.
	rk=($(shown bh_kernel kernel rtx))
	r=($(shown bh_pstack pstack rtx))
	echo "kernel: resent <${rk[*]}>"
	echo "pstack: resent <${r[*]}>"
	[ "${#rk[@]}" -ge 4 ] || fail "the kernel resent <${rk[*]}>"
	[ "${#r[@]}" = "${#rk[@]}" ] || fail "pstack resent ${#r[@]} times, the kernel ${#rk[@]}"
	for i in "${!rk[@]}"; do
		[ "${r[$i]#*@}" = "${rk[$i]#*@}" ] || fail "resend $((i + 1)) from byte ${r[$i]#*@}, the kernel's from ${rk[$i]#*@}"
		awk -v a="${r[$i]%@*}" -v b="${rk[$i]%@*}" 'BEGIN { d = a - b; if (d < 0) d = -d
			exit !(d <= 30 || d <= b / 10) }' ||
			fail "resend $((i + 1)) at ${r[$i]%@*} ms, the kernel's at ${rk[$i]%@*} ms"
	done
}

# kcounter NAME: the kernel subject's namespace's TcpExt counter NAME
# (nstat's TcpExtNAME).
kcounter() {
	ksx awk -v n="$1" '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) k[i] = $i; h = 1; next }
		for (i = 2; i <= NF; i++) if (k[i] == n) print $i }' /proc/net/netstat
}

@test "a spurious timeout (the peer's ACKs held back past the RTO): F-RTO as the kernel's (net.ipv4.tcp_frto=2), two new segments on the ACK of the resend, then the undo; with tcp_frto=0 the old data resent, as the kernel's" {
	veth_up
	local frto kind port=5900 q=0 k p kr pr ks ps
	# No timestamps in either subject's namespace (pstack's is the peer's):
	# an ACK echoing the original's would undo the timeout at once (RFC
	# 3522, Linux's tcp_try_undo_loss) before F-RTO looks. CUBIC for both
	# (this kernel's default is BBR, whose window after a timeout differs).
	nsx sysctl -qw net.ipv4.tcp_timestamps=0
	ksx sysctl -qw net.ipv4.tcp_timestamps=0
	KENV=(LW_WARM=0.3 LW_CC=cubic)
	for frto in 2 0; do
		nsx sysctl -qw net.ipv4.tcp_frto=$frto
		ksx sysctl -qw net.ipv4.tcp_frto=$frto
		for kind in kernel pstack; do
			PENV=(LW_WARM=0.3 LW_CC=cubic PSTACK_LOG=debug "PSTACK_LOG_FILE=$BATS_TEST_TMPDIR/frto${frto}.log")
			port=$((port + 1))
			q=$((q + 1))
			# The peer's ACKs of the subject's first flight are held until
			# its timeout resends the first segment, then released 20 ms
			# apart (one ACK at a time for either subject).
			nsx iptables -A INPUT -p tcp --dport $port -j NFQUEUE --queue-num $q --queue-bypass
			nsx iptables -A OUTPUT -p tcp --sport $port -j NFQUEUE --queue-num $q --queue-bypass
			bg_ker "hold_$port" 60 "$PY" "$W" hold $port $q 20
			wait_log "$(out "hold_$port")" "holding ready"
			client_run "frto${frto}_$kind" "$kind" $port drain send:100000,sleep:0.5
			grep -q released "$(out "hold_$port")" || fail "the $kind never resent its first segment: $(cat "$(out "hold_$port")")"
		done
		k=$(shown "frto${frto}_kernel" kernel after_rto)
		p=$(shown "frto${frto}_pstack" pstack after_rto)
		kr=$(shown "frto${frto}_kernel" kernel retrans)
		pr=$(shown "frto${frto}_pstack" pstack retrans)
		ks=$(kcounter TCPSpuriousRTOs)
		ps=$(sed -n 's/.*(spurious rtos \([0-9]*\)).*/\1/p' "$BATS_TEST_TMPDIR/frto${frto}.log" | tail -1)
		echo "tcp_frto=$frto: after the timeout's resend (R/N@offset: resent/new data; |: an ACK of the peer):"
		echo "  kernel <$k>, $kr retransmissions, TcpExtTCPSpuriousRTOs $ks (the namespace's)"
		echo "  pstack <$p>, $pr retransmissions, spurious RTOs $ps"
		if [ "$frto" = 2 ]; then
			# Measured on this kernel (6.18): R@0 | N@16060 N@17520 | | N@18980
			# N@20440 | ...: on the ACK of the resend, two new segments (RFC
			# 5682 step 2.b; cwnd 2, all else deemed lost); the next ACK, of
			# the second segment, sent once, undoes the timeout (step 3.b) and
			# nothing is resent. pstack before F-RTO: R@0 | R@1460 R@2920 | ...
			[ "$(echo "$k" | cut -d'|' -f1-3)" = "R@0 | N@16060 N@17520 | " ] ||
				fail "the kernel's own sending is not the one this test expects: <$k>"
			[ "$kr" = 1 ] && [ "$ks" = 1 ] || fail "the kernel resent $kr segments, TcpExtTCPSpuriousRTOs $ks"
			# After the undo, two segments per ACK (slow start from the
			# window given back, grown by the ACK that undid).
			[ "$p" = "$k" ] || fail "pstack <$p>, the kernel <$k>"
			[ "$pr" = "$kr" ] && [ "$ps" = 1 ] || fail "pstack resent $pr segments (the kernel $kr), spurious RTOs $ps"
		else
			# Measured: the old data, two segments per ACK (eleven resent).
			[ "$(echo "$k" | cut -d'|' -f1-3)" = "R@0 | R@1460 R@2920 | R@4380 R@5840 " ] ||
				fail "the kernel's own sending is not the one this test expects: <$k>"
			[ "$p" = "$k" ] || fail "pstack <$p>, the kernel <$k>"
			[ "$pr" = "$kr" ] && [ "$ks" = 1 ] && [ "$ps" = 0 ] ||
				fail "pstack resent $pr segments (the kernel $kr); spurious RTOs: kernel $ks (in all), pstack $ps"
		fi
	done
}

# rules_hit PORT: how many packets each of the INPUT rules for PORT dropped.
rules_hit() {
	nsx iptables -L INPUT -v -x -n | awk -v p="dpt:$1" '$0 ~ p { printf "%s ", $1 }'
}

# info_of N KEY: a value the subject's Nth info action printed (from $output).
info_of() {
	echo "$output" | sed -n 's/^info //p' | sed -n "${1}p" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

@test "one segment in flight and lost: a loss probe at the RTO's time rather than a timeout, as the kernel's (the window and the state stay)" {
	veth_up
	local kind port=5930 kc ks kst
	KENV=(LW_WARM=0.3 LW_CC=cubic)
	PENV=(LW_WARM=0.3 LW_CC=cubic)
	for kind in kernel pstack; do
		port=$((port + 1))
		nsx iptables -F INPUT
		# The write's first copy is lost.
		nsx iptables -A INPUT -p tcp --dport $port -m length --length 200:65535 \
			-m statistic --mode nth --every 1000000 --packet 0 -j DROP
		client_run "tlp1_$kind" $kind $port drain send:1000,acked,info
		echo "$kind: $(echo "$output" | tr '\n' ' '), dropped <$(rules_hit $port)>"
		[ "$(rules_hit $port)" = "1 " ] || fail "$kind: the drops were not the scenario's: <$(rules_hit $port)>"
		if [ $kind = kernel ]; then
			kc=$(info_of 1 snd_cwnd) ks=$(info_of 1 snd_ssthresh) kst=$(info_of 1 ca_state)
		fi
	done
	# The PTO of one segment (2 SRTT and the delayed ACK's 200 ms) is past
	# the RTO; Linux probes at the RTO's time (tcp_schedule_loss_probe):
	# measured on this kernel, resent at 205 ms, then state Open, cwnd 10,
	# ssthresh infinite. pstack timed out: Loss, cwnd 1 then 2, ssthresh 7.
	[ "$kc" = 10 ] && [ "$kst" = 0 ] || fail "the kernel's cwnd $kc, state $kst"
	[ "$(info_of 1 snd_cwnd)" = "$kc" ] || fail "pstack's cwnd $(info_of 1 snd_cwnd), the kernel's $kc"
	[ "$(info_of 1 snd_ssthresh)" = "$ks" ] || fail "pstack's ssthresh $(info_of 1 snd_ssthresh), the kernel's $ks"
	[ "$(info_of 1 ca_state)" = "$kst" ] || fail "pstack's state $(info_of 1 ca_state), the kernel's $kst"
}

@test "a timeout during a fast recovery keeps the recovery's ssthresh, as the kernel's (tcp_enter_loss reduces once per episode)" {
	veth_up
	local kind port=5900 i ks kc
	KENV=(LW_WARM=0.3 LW_CC=cubic)
	PENV=(LW_WARM=0.3 LW_CC=cubic)
	for kind in kernel pstack; do
		port=$((port + 1))
		nsx iptables -F INPUT
		# Ten segments in one write; the first one's original and its
		# fast retransmission are lost, the timeout's copy passes.
		for i in 1 2; do
			nsx iptables -A INPUT -p tcp --dport $port -m string --string XXXXXXXXXXXXXXXXXXXX --algo bm \
				-m statistic --mode nth --every 1000000 --packet 0 -j DROP
		done
		client_run "rr_$kind" $kind $port drain marked:14480,acked,info
		echo "$kind: $(echo "$output" | grep '^info'), dropped <$(rules_hit $port)>"
		[ "$(rules_hit $port)" = "1 1 " ] || fail "$kind: the drops were not the scenario's: <$(rules_hit $port)>"
		if [ $kind = kernel ]; then
			ks=$(info_of 1 snd_ssthresh)
			kc=$(info_of 1 ca_state)
		fi
	done
	# The recovery took ssthresh to 7 (CUBIC's 0.7 of 10); the timeout
	# inside it left that (Linux's tcp_enter_loss: high_seq not reached).
	# Measured on this kernel: 7, and 7 while in the Loss state. pstack
	# reduced again: 4.
	[ "$ks" = 7 ] || fail "the kernel's ssthresh $ks"
	[ "$(info_of 1 snd_ssthresh)" = "$ks" ] || fail "pstack's ssthresh $(info_of 1 snd_ssthresh), the kernel's $ks"
	[ "$(info_of 1 ca_state)" = "$kc" ] || fail "pstack's state $(info_of 1 ca_state), the kernel's $kc"
}

@test "SACK information survives a second timeout in a row, as the kernel's: the ACK after it grows cwnd by what it newly delivers" {
	veth_up
	local kind port=5920 i kc ks
	KENV=(LW_WARM=0.3 LW_CC=cubic)
	PENV=(LW_WARM=0.3 LW_CC=cubic)
	for kind in kernel pstack; do
		port=$((port + 1))
		nsx iptables -F INPUT
		# Ten segments in one write: the first one's original, fast
		# retransmission and first timeout's copy are lost, and the
		# sixth one's original and fast retransmission.
		for i in 1 2 3; do
			nsx iptables -A INPUT -p tcp --dport $port -m string --string XXXXXXXXXXXXXXXXXXXX --algo bm \
				-m statistic --mode nth --every 1000000 --packet 0 -j DROP
		done
		for i in 1 2; do
			nsx iptables -A INPUT -p tcp --dport $port -m string --string YYYYYYYYYYYYYYYYYYYY --algo bm \
				-m statistic --mode nth --every 1000000 --packet 0 -j DROP
		done
		client_run "rr2_$kind" $kind $port drain marked:14480,acked,info
		echo "$kind: $(echo "$output" | grep '^info'), dropped <$(rules_hit $port)>"
		[ "$(rules_hit $port)" = "1 1 1 1 1 " ] || fail "$kind: the drops were not the scenario's: <$(rules_hit $port)>"
		if [ $kind = kernel ]; then
			kc=$(info_of 1 snd_cwnd)
			ks=$(info_of 1 snd_ssthresh)
		fi
	done
	# After the second timeout the ACK of the first five segments (with
	# the SACK of the last four) delivers one segment: cwnd 2, then 3
	# with the sixth's ACK. Measured on this kernel: 3. pstack forgot the
	# SACKs at the second timeout and counted the four SACKed before as
	# delivered: 7.
	[ "$kc" = 3 ] || fail "the kernel's cwnd $kc"
	[ "$(info_of 1 snd_cwnd)" = "$kc" ] || fail "pstack's cwnd $(info_of 1 snd_cwnd), the kernel's $kc"
	[ "$(info_of 1 snd_ssthresh)" = "$ks" ] || fail "pstack's ssthresh $(info_of 1 snd_ssthresh), the kernel's $ks"
}

@test "without timestamps an ACK of a retransmission leaves the RTO backed off, as the kernel's (Karn): the next segment waits the doubled RTO" {
	veth_up
	# No timestamps, so an ACK of resent data times nothing; no SACK,
	# so no loss probe comes before the timeout.
	nsx sysctl -qw net.ipv4.tcp_timestamps=0 net.ipv4.tcp_sack=0
	ksx sysctl -qw net.ipv4.tcp_timestamps=0 net.ipv4.tcp_sack=0
	local kind port=5910 kb1 kb2 kr1 kt pt
	KENV=(LW_WARM=0.3 LW_CC=cubic)
	PENV=(LW_WARM=0.3 LW_CC=cubic)
	for kind in kernel pstack; do
		port=$((port + 1))
		nsx iptables -F INPUT
		# The first copy of each of the two writes is lost.
		nsx iptables -A INPUT -p tcp --dport $port -m length --length 200:65535 \
			-m statistic --mode nth --every 1000000 --packet 0 -j DROP
		nsx iptables -A INPUT -p tcp --dport $port -m length --length 200:65535 \
			-m statistic --mode nth --every 1000000 --packet 1 -j DROP
		client_run "karn_$kind" $kind $port drain send:1000,acked,info,sleep:0.05,send:1000,acked,info
		echo "$kind: $(echo "$output" | tr '\n' ' '), dropped <$(rules_hit $port)>"
		[ "$(rules_hit $port)" = "1 1 " ] || fail "$kind: the drops were not the scenario's: <$(rules_hit $port)>"
		if [ $kind = kernel ]; then
			kb1=$(info_of 1 backoff) kb2=$(info_of 2 backoff) kr1=$(info_of 1 rto)
			kt=$(echo "$output" | sed -n 's/^acked_ms=//p' | sed -n 2p)
		fi
	done
	# Measured on this kernel: after the ACK of the first write's
	# retransmission tcpi_backoff 1, tcpi_rto 400000 (200000 before); the
	# second write resent 422 ms after it went, then backoff 2, rto
	# 800000. pstack cleared the backoff on the ACK: 0, 200519, 202 ms.
	[ "$kb1" = 1 ] && [ "$kb2" = 2 ] || fail "the kernel's backoff $kb1, then $kb2"
	[ "$(info_of 1 backoff)" = "$kb1" ] || fail "pstack's backoff after the first ACK $(info_of 1 backoff), the kernel's $kb1"
	[ "$(info_of 2 backoff)" = "$kb2" ] || fail "pstack's backoff after the second $(info_of 2 backoff), the kernel's $kb2"
	awk -v a="$(info_of 1 rto)" -v b="$kr1" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= b / 10) }' ||
		fail "pstack's RTO after the first ACK $(info_of 1 rto), the kernel's $kr1"
	pt=$(echo "$output" | sed -n 's/^acked_ms=//p' | sed -n 2p)
	awk -v a="$pt" -v b="$kt" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 30 || d <= b / 10) }' ||
		fail "the second write was ACKed after $pt ms (its timeout), the kernel's after $kt ms"
}

@test "TCP_USER_TIMEOUT with data the peer never acknowledges: the resends and ETIMEDOUT as the kernel's (counted from the first timeout's resend, not from the data)" {
	veth_up
	local kind port=5920 kerr kms kret perr pms pret
	KENV=(LW_UTO=1500)
	PENV=(LW_UTO=1500)
	for kind in kernel pstack; do
		port=$((port + 1))
		nsx iptables -F OUTPUT
		# The peer goes silent once the handshake is over (its segments
		# without SYN are dropped); its server outlives the subject's end.
		nsx iptables -A OUTPUT -p tcp --sport $port --tcp-flags SYN NONE -j DROP
		client_run "uto_$kind" $kind $port sleep:2.3 send:1000,wait_err
		nsx iptables -F OUTPUT
		echo "$kind: $(echo "$output" | tr '\n' ' '), resends at $(shown "uto_$kind" $kind rtx)"
		if [ $kind = kernel ]; then
			kerr=$(echo "$output" | sed -n 's/^err=\([A-Z]*\).*/\1/p')
			kms=$(echo "$output" | sed -n 's/.*err_ms=//p')
			kret=$(shown "uto_$kind" $kind retrans)
		else
			perr=$(echo "$output" | sed -n 's/^err=\([A-Z]*\).*/\1/p')
			pms=$(echo "$output" | sed -n 's/.*err_ms=//p')
			pret=$(shown "uto_$kind" $kind retrans)
		fi
	done
	# Measured on this kernel (6.18): the loss probe at 208 ms, resends
	# at 416, 828 and 1660 ms, ETIMEDOUT at 1917 to 1950 ms: 1.5 s after
	# the first timeout's resend (retrans_stamp), not after the data.
	# pstack ended it at 1500 ms, before the last resend.
	[ "$kerr" = ETIMEDOUT ] || fail "the kernel's error <$kerr>"
	[ "$perr" = ETIMEDOUT ] || fail "pstack's error <$perr>"
	[ "$pret" = "$kret" ] || fail "pstack resent $pret times, the kernel $kret"
	awk -v a="$pms" -v b="$kms" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 150) }' ||
		fail "pstack's ETIMEDOUT $pms ms after the data, the kernel's $kms ms"
}

@test "the namespace's TCP sysctls as the kernel's: getsockopt's defaults of TCP_SYNCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_LINGER2 read them, and tcp_syn_retries=1 ends a connect() to a silent peer after 3 s" {
	veth_up
	local kind ip out want=
	# The peer drops SYNs to this port; the subjects' namespaces (pstack
	# runs in the peer's) get the same settings.
	nsx iptables -A INPUT -p tcp --dport 5999 -j DROP
	for x in nsx ksx; do
		$x sysctl -qw net.ipv4.tcp_syn_retries=1 net.ipv4.tcp_keepalive_time=33 \
			net.ipv4.tcp_keepalive_intvl=7 net.ipv4.tcp_keepalive_probes=4 net.ipv4.tcp_fin_timeout=21
	done
	for kind in kernel pstack; do
		ip=$([ "$kind" = kernel ] && echo "$PEER_K" || echo "$PEER_P")
		local prog="
import errno, socket, time
s = socket.socket()
print(*[s.getsockopt(6, o) for o in (7, 4, 5, 6, 8)])
t = time.monotonic()
try:
    s.connect(('$ip', 5999))
    print('connected')
except OSError as e:
    print(errno.errorcode[e.errno], round(time.monotonic() - t))
"
		if [ "$kind" = kernel ]; then
			out=$(ksx timeout -k 3 30 "$PY" -c "$prog")
		else
			out=$(ip netns exec "$NS" timeout -k 3 30 env LD_PRELOAD="$PRELOAD" PSTACK_ADDR="$SUBJ_P/25" \
				"$PY" -c "$prog")
		fi
		out=$(echo $out)
		echo "$kind: $out"
		[ -n "$want" ] || want=$out
	done
	[ "$want" = "1 33 7 4 21 ETIMEDOUT 3" ] || fail "the kernel: $want"
	[ "$out" = "$want" ] || fail "pstack: $out, the kernel: $want"
}

@test "the namespace's tcp_timestamps, tcp_sack, tcp_window_scaling as the kernel's: the SYN's and the SYN-ACK's options and windows with each off" {
	veth_up
	local set kind port=5960 x ks ps kas pas kw pw kaw paw
	for set in "tcp_timestamps=0" "tcp_sack=0" "tcp_window_scaling=0" "tcp_timestamps=0 tcp_sack=0 tcp_window_scaling=0"; do
		# Both subjects' namespaces (pstack's is the peer's: the peer's
		# SYNs then lack the option too).
		for x in $set; do
			nsx sysctl -qw "net.ipv4.$x"
			ksx sysctl -qw "net.ipv4.$x"
		done
		for kind in kernel pstack; do
			client_run "ns_syn_$port$kind" "$kind" $((port += 1)) drain send:1
			server_run "ns_synack_$port$kind" "$kind" $((port += 1)) drain send:1
		done
		ks="$(shown "ns_syn_$((port - 4))kernel" kernel syn_opts) $(shown "ns_syn_$((port - 4))kernel" kernel syn_win)"
		ps="$(shown "ns_syn_$((port - 2))pstack" pstack syn_opts) $(shown "ns_syn_$((port - 2))pstack" pstack syn_win)"
		kas="$(shown "ns_synack_$((port - 3))kernel" kernel synack_opts) $(shown "ns_synack_$((port - 3))kernel" kernel synack_win)"
		pas="$(shown "ns_synack_$((port - 1))pstack" pstack synack_opts) $(shown "ns_synack_$((port - 1))pstack" pstack synack_win)"
		echo "$set: SYN kernel <$ks> pstack <$ps>; SYN-ACK kernel <$kas> pstack <$pas>"
		[ "$ps" = "$ks" ] || fail "$set: the SYNs differ"
		[ "$pas" = "$kas" ] || fail "$set: the SYN-ACKs differ"
		for x in tcp_timestamps=1 tcp_sack=1 tcp_window_scaling=1; do
			nsx sysctl -qw "net.ipv4.$x"
			ksx sysctl -qw "net.ipv4.$x"
		done
	done
}
