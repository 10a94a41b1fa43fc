# Shared helpers for pstack's end-to-end tests (bats).
#
# Every test gets a private network namespace (pst-e2e-<bats pid>-<test number>)
# with lo up and, unless the test asks otherwise, a persistent TAP device tap0
# whose host side is 192.0.2.1/24: the kernel of that namespace is the peer,
# the stack (in a preloaded program) is 192.0.2.2. Teardown ends only the
# processes the test started (by PID) and deletes the namespace, also when
# the test failed.
#
# Use in a .bats file:
#   load lib
#   setup() { e2e_setup; }          # or: e2e_setup --no-tap
#   teardown() { e2e_teardown; }

bats_load_library bats-support
bats_load_library bats-assert

PSTACK_BUILD=${PSTACK_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
LIBPSTACK=$PSTACK_BUILD/libpstack.so
EXAMPLES=$PSTACK_BUILD/examples
TAP=tap0
HOST_IP=192.0.2.1
STACK_IP=192.0.2.2
STACK_MAC=00:00:5e:00:53:01
# Use the system's python3 (not a per-user shim): it is what Debian ships.
PY=/usr/bin/python3

# Sanitizer builds (make asan, make tsan) need the sanitizer's runtime in
# LD_PRELOAD. ASan's must come first (it checks). TSan's must come after
# libpstack.so: when a program's poll() or connect() went through TSan's
# interceptor before reaching our wrapper, TSan would not see the locks we
# take inside it and would report races that are not there. The reports go
# to files that teardown looks for: a report fails the test even when it
# came from a background program.
_san_runtime() {
	local so
	for so in $(readelf -d "$LIBPSTACK" 2>/dev/null |
		sed -n 's/.*Shared library: \[\(lib[at]san\.so[^]]*\)\].*/\1/p'); do
		ldd "$LIBPSTACK" | awk -v n="$so" '$1 == n { print $3 }'
	done
}
SAN_RT=$(_san_runtime)
case $SAN_RT in
'') PRELOAD=$LIBPSTACK ;;
*libtsan*) PRELOAD=$LIBPSTACK:$SAN_RT ;;
*) PRELOAD=$SAN_RT:$LIBPSTACK ;;
esac

# san_check PROG...: in a sanitizer build, skips the test when the sanitizer's
# runtime on its own (no pstack) cannot run PROG on this machine. (Seen here:
# curl and wget hang on glibc's setlocale lock, at start or in exit(), with
# LD_PRELOAD=libasan.so.8 or libtsan.so.2 alone.)
# The answer is kept for the whole run.
san_check() {
	[ -n "$SAN_RT" ] || return 0
	local p rc memo
	for p in "$@"; do
		memo=$BATS_RUN_TMPDIR/san-check-${p##*/}
		if [ ! -f "$memo" ]; then
			rc=0
			timeout -k 2 10 env LD_PRELOAD="$SAN_RT" ASAN_OPTIONS=detect_leaks=0 "$p" --version \
				</dev/null >/dev/null 2>&1 || rc=$?
			echo "$rc" >"$memo"
		fi
		[ "$(cat "$memo")" != 124 ] ||
			skip "$p hangs under the sanitizer runtime alone, without pstack (LD_PRELOAD=$SAN_RT $p --version)"
	done
	return 0
}

# Keep every PSTACK_* setting of the caller's environment out of the tests.
unset PSTACK_TAP PSTACK_ADDR PSTACK_GATEWAY PSTACK_MAC PSTACK_MTU PSTACK_LOG PSTACK_LOG_FILE \
	PSTACK_PCAP PSTACK_FAULTS PSTACK_TCP_MSL_MS PSTACK_LINGER_MS PSTACK_STACK PSTACK_QUEUES

# ---- namespace ---------------------------------------------------------

# e2e_setup [--no-tap]
e2e_setup() {
	[ "$(id -u)" = 0 ] || skip "end-to-end tests need root (network namespaces)"
	[ -f "$LIBPSTACK" ] || fail "no $LIBPSTACK: build first (make all), or set PSTACK_BUILD"
	NS=pst-e2e-$$-$BATS_TEST_NUMBER
	PIDFILE=$BATS_TEST_TMPDIR/pids
	: >"$PIDFILE"
	# Programs under the preload leak on their own (python, curl): only
	# memory errors count. Reports go to san.PID files (see e2e_teardown).
	export ASAN_OPTIONS="detect_leaks=0:log_path=$BATS_TEST_TMPDIR/san"
	export UBSAN_OPTIONS="print_stacktrace=1:log_path=$BATS_TEST_TMPDIR/san"
	export TSAN_OPTIONS="log_path=$BATS_TEST_TMPDIR/san"
	ip netns del "$NS" 2>/dev/null || true
	ip netns add "$NS"
	nsx ip link set lo up
	if [ "${1:-}" != --no-tap ]; then
		tap_create "$TAP"
	fi
}

e2e_teardown() {
	local pid
	if [ -n "${PIDFILE:-}" ] && [ -f "$PIDFILE" ]; then
		# Every background command runs under timeout(1): TERM to it is
		# passed on to the command, and timeout -k sends KILL if needed.
		while read -r pid; do
			kill -TERM "$pid" 2>/dev/null || true
		done <"$PIDFILE"
		while read -r pid; do
			pid_wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
		done <"$PIDFILE"
	fi
	if [ -n "${TMUX_SOCK:-}" ] && [ -S "$TMUX_SOCK" ]; then
		tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	fi
	# On failure, show what the background programs said.
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${BATS_TEST_TMPDIR:-}" ]; then
		local f
		for f in "$BATS_TEST_TMPDIR"/*.out "$BATS_TEST_TMPDIR"/*.err "$BATS_TEST_TMPDIR"/*.log; do
			[ -s "$f" ] || continue
			echo "---- ${f##*/} (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	if [ -n "${NS:-}" ]; then
		ip netns del "$NS" 2>/dev/null || true
	fi
	# A sanitizer report from any program of the test fails it.
	if [ -n "${BATS_TEST_TMPDIR:-}" ] && compgen -G "$BATS_TEST_TMPDIR/san.*" >/dev/null; then
		cat "$BATS_TEST_TMPDIR"/san.*
		fail "sanitizer reports above"
	fi
}

# nsx CMD...: runs CMD in the test's namespace (kernel side, no preload).
nsx() {
	ip netns exec "$NS" "$@"
}

# tap_create NAME: a persistent TAP with the host side 192.0.2.1/24, up.
# E2E_TAP_MQ=1: a multi-queue one (the stack then attaches PSTACK_QUEUES
# queues, by default one per CPU), to run the suite over several queues.
tap_create() {
	nsx ip tuntap add dev "$1" mode tap ${E2E_TAP_MQ:+multi_queue}
	nsx ip addr add "$HOST_IP/24" dev "$1"
	nsx ip link set "$1" up
}

tap_exists() {
	nsx ip link show "${1:-$TAP}" >/dev/null 2>&1
}

# tap_bytes rx|tx [NAME]: the host side's byte counter. rx = bytes the stack
# wrote into the TAP, tx = bytes the kernel sent to the stack.
tap_bytes() {
	nsx cat "/sys/class/net/${2:-$TAP}/statistics/${1}_bytes"
}

# tap_mark: remembers both counters; tap_assert_crossed RX_MIN TX_MIN then
# checks that at least that many bytes went each way through the TAP since.
# This is how every test proves its traffic went through the stack and not
# through the kernel (a call that escapes interception would silently work).
tap_mark() {
	MARK_RX=$(tap_bytes rx)
	MARK_TX=$(tap_bytes tx)
}
tap_assert_crossed() {
	local rx tx
	rx=$(($(tap_bytes rx) - MARK_RX))
	tx=$(($(tap_bytes tx) - MARK_TX))
	echo "tap: stack->kernel $rx bytes, kernel->stack $tx bytes"
	[ "$rx" -ge "$1" ] || fail "only $rx bytes went from the stack into $TAP (expected >= $1)"
	[ "$tx" -ge "$2" ] || fail "only $tx bytes went from the kernel into $TAP (expected >= $2)"
}

# ---- running programs ---------------------------------------------------

# pre T CMD...: runs CMD in the namespace under the preload, for at most T seconds.
pre() {
	local t=$1
	shift
	ip netns exec "$NS" timeout -k 3 "$t" env LD_PRELOAD="$PRELOAD" "$@"
}

# ker T CMD...: runs CMD in the namespace on the kernel's stack, for at most T seconds.
ker() {
	local t=$1
	shift
	ip netns exec "$NS" timeout -k 3 "$t" "$@"
}

# bg_pre NAME T CMD... / bg_ker NAME T CMD...: starts CMD in the background
# (stdin /dev/null, stdout NAME.out, stderr NAME.err in the test's temp dir),
# bounded by T seconds; its PID goes to $NAME_pid... and to the teardown list.
bg_pre() {
	local name=$1 t=$2
	shift 2
	_bg "$name" ip netns exec "$NS" timeout -k 3 "$t" env LD_PRELOAD="$PRELOAD" "$@"
}
bg_ker() {
	local name=$1 t=$2
	shift 2
	_bg "$name" ip netns exec "$NS" timeout -k 3 "$t" "$@"
}
_bg() {
	local name=$1
	shift
	# fd 3 is bats' own: a background child holding it would stall the run.
	"$@" </dev/null >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	echo $! >>"$PIDFILE"
	printf -v "PID_$name" %s $!
}

# nobody T CMD... / bg_nobody NAME T CMD...: like ker / bg_ker, as user
# nobody. Debian's /dev/net/tun is 0666 (anyone may open it; creating a
# device still needs CAP_NET_ADMIN). Where this machine's node is stricter,
# the command sees a 0666 node of its own, in the private mount namespace of
# its `ip netns exec`: the machine's node is left as it is.
NOBODY_SH='
d=$1
shift
case $(stat -c %a /dev/net/tun) in
666) ;;
*)	mkdir -p "$d" && mount -t tmpfs -o mode=0755 pst-tun "$d" &&
	mknod -m 0666 "$d/tun" c 10 200 && mount --bind "$d/tun" /dev/net/tun || exit 125 ;;
esac
exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"'
nobody() {
	local t=$1
	shift
	ip netns exec "$NS" timeout -k 3 "$t" sh -c "$NOBODY_SH" sh "$BATS_TEST_TMPDIR/tun" "$@"
}
bg_nobody() {
	local name=$1 t=$2
	shift 2
	_bg "$name" ip netns exec "$NS" timeout -k 3 "$t" sh -c "$NOBODY_SH" sh "$BATS_TEST_TMPDIR/tun" "$@"
}

# out NAME / err NAME: paths of a background command's outputs.
out() { echo "$BATS_TEST_TMPDIR/$1.out"; }
err() { echo "$BATS_TEST_TMPDIR/$1.err"; }

# pid_wait_gone PID T: waits up to T seconds for PID to exit (any child of this shell or not).
pid_wait_gone() {
	local pid=$1 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		# A zombie child of ours counts as gone.
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && return 0
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
	return 0
}

# bg_wait NAME T: waits for the background command NAME to end (at most T
# seconds) and sets BG_STATUS to its exit status.
bg_wait() {
	local pidvar=PID_$1
	local pid=${!pidvar}
	pid_wait_gone "$pid" "$2" || fail "$1 (pid $pid) still running after $2 s"
	BG_STATUS=0
	wait "$pid" || BG_STATUS=$?
}

# wait_until T DESCRIPTION CMD...: polls CMD (every 50 ms) until it succeeds,
# for at most T seconds; fails the test naming DESCRIPTION otherwise.
wait_until() {
	local t=$1 what=$2
	shift 2
	local deadline=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && fail "timed out after $t s waiting for: $what"
		sleep 0.05
	done
}

# wait_log FILE PATTERN [T]: waits until FILE contains a line matching PATTERN (grep -E).
wait_log() {
	wait_until "${3:-10}" "'$2' in ${1##*/}" grep -qE "$2" "$1"
}

# wait_stack_up [T]: waits until 192.0.2.2 answers a ping (the stack runs and ARP is resolved).
wait_stack_up() {
	wait_until "${1:-10}" "the stack at $STACK_IP to answer ping" \
		ip netns exec "$NS" ping -n -c 1 -W 1 "$STACK_IP"
}

# wait_kernel_listen PORT [T]: waits until a kernel TCP socket listens on PORT.
wait_kernel_listen() {
	wait_until "${2:-10}" "a kernel listener on port $1" _kernel_listens "$1"
}
_kernel_listens() {
	nsx ss -Hltn "sport = :$1" | grep -q .
}

# retry_refused T CMD...: runs CMD until it does not fail with "connection
# refused" (the stack's listener may not be ready yet), for at most T seconds.
# Output goes to stdout; $RETRY_ERR holds CMD's last stderr. Returns CMD's status.
retry_refused() {
	local t=$1 rc
	shift
	local deadline=$((SECONDS + t))
	RETRY_ERR=$BATS_TEST_TMPDIR/retry.err
	while :; do
		rc=0
		"$@" 2>"$RETRY_ERR" || rc=$?
		[ $rc = 0 ] && return 0
		grep -qiE 'refused|no route to host|unreachable|failed to connect|connect\(\) failed' "$RETRY_ERR" \
			|| break
		[ $SECONDS -ge $deadline ] && break
		sleep 0.1
	done
	cat "$RETRY_ERR" >&2
	return $rc
}

# ---- data ----------------------------------------------------------------

# make_data PATH BYTES: a file of random bytes.
make_data() {
	head -c "$2" /dev/urandom >"$1"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# assert_same_file A B: byte-identical (sha256), with sizes in the message.
assert_same_file() {
	local a b
	a=$(sha "$1")
	b=$(sha "$2")
	[ "$a" = "$b" ] || fail "$1 ($(stat -c %s "$1") bytes) and $2 ($(stat -c %s "$2") bytes) differ"
}

MiB=$((1024 * 1024))
