# The kernel's twin of the servers' tests (42-servers2, 43-servers3,
# 44-servers4): a namespace NS-k whose veth end is named tap0 with pstack's
# address and MAC (as tests/diff/run.sh does), its peer NS-q at 192.0.2.1.
# The same client commands run in NS-q against the kernel and in NS against
# pstack (or, for a client under test, in NS-k and under the preload in NS,
# against a server in NS-q and in NS), and their results must be equal.
# Loaded after lib.bash.

# twin_setup NAME: after e2e_setup, the twin's namespaces, and SRV: a folder
# everyone may read (servers that drop root read it), not the test's 0700 one.
twin_setup() {
	NSK=$NS-k
	NSQ=$NS-q
	ip netns del "$NSK" 2>/dev/null || true
	ip netns del "$NSQ" 2>/dev/null || true
	ip netns add "$NSK"
	ip netns add "$NSQ"
	ip -n "$NSK" link set lo up
	ip -n "$NSQ" link set lo up
	ip link add tap0 netns "$NSK" type veth peer name veth0 netns "$NSQ"
	ip -n "$NSK" link set tap0 address "$STACK_MAC"
	ip -n "$NSK" addr add "$STACK_IP/24" dev tap0
	ip -n "$NSQ" addr add "$HOST_IP/24" dev veth0
	ip -n "$NSK" link set tap0 up
	ip -n "$NSQ" link set veth0 up
	SRV=$(mktemp -d "/tmp/pst-e2e-$1-XXXXXX")
	chmod 0755 "$SRV"
}

# twin_teardown: after e2e_teardown.
twin_teardown() {
	ip netns del "$NSK" 2>/dev/null || true
	ip netns del "$NSQ" 2>/dev/null || true
	rm -rf "$SRV"
}

# have PKG CMD...: skips the test when a program is missing.
have() {
	local pkg=$1 c
	shift
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c is missing ($pkg not installed: sh tests/deps.sh install)"
	done
}

# bg_k NAME T CMD...: CMD in the background in the kernel's twin.
bg_k() {
	local name=$1 t=$2
	shift 2
	_bg "$name" ip netns exec "$NSK" timeout -k 3 "$t" "$@"
}
# bg_q NAME T CMD...: CMD in the background in the kernel twin's peer.
bg_q() {
	local name=$1 t=$2
	shift 2
	_bg "$name" ip netns exec "$NSQ" timeout -k 3 "$t" "$@"
}

# on k|p T CMD...: a client command, against the kernel's twin (k: from its
# peer) or against pstack (p: from the TAP's host side).
on() {
	local where=$1 t=$2
	shift 2
	case $where in
	k) ip netns exec "$NSQ" timeout -k 3 "$t" "$@" ;;
	p) ip netns exec "$NS" timeout -k 3 "$t" "$@" ;;
	esac
}

# as k|p T CMD...: a client under test, on the kernel's twin (k) or under
# the preload (p), against the server at 192.0.2.1 of its side.
as() {
	local where=$1 t=$2
	shift 2
	case $where in
	k) ip netns exec "$NSK" timeout -k 3 "$t" "$@" ;;
	p) pre "$t" "$@" ;;
	esac
}

# k_listens PORT [udp]: whether a server listens on PORT in the kernel's twin.
k_listens() {
	ip netns exec "$NSK" ss -Hln${2:+u}${2:-t} "sport = :$1" | grep -q .
}
# q_listens PORT: whether a server listens on TCP PORT in the twin's peer.
q_listens() {
	ip netns exec "$NSQ" ss -Hltn "sport = :$1" | grep -q .
}

# twin_compare FN ARG...: FN k ARG... (against the kernel's twin), then, the
# TAP's counters marked (tap_mark), FN p ARG... (against pstack); both outputs
# shown, and equal. KOUT: the kernel's, for the test's own checks.
twin_compare() {
	local fn=$1 pout
	shift
	KOUT=$("$fn" k "$@")
	tap_mark
	pout=$("$fn" p "$@")
	echo "kernel: $KOUT"
	echo "pstack: $pout"
	assert_equal "$pout" "$KOUT"
}
