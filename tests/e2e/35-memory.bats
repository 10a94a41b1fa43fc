#!/usr/bin/env bats
# The stack-wide TCP memory budget (buffers bounded "per connection
# and in total"; PSTACK_TCP_MEM, like Linux's tcp_mem). A preloaded server
# accepts 200 connections and reads nothing while the kernel pushes 1 MiB
# into each (200 MiB against a 4 MiB budget); then it reads everything.
# Without the budget the stack would hold ~200 MiB (1 MiB per receive ring);
# with it, the stack's own count (logged at exit) and the process's peak RSS
# stay near 4 MiB, and every byte still arrives, in order.

load lib

setup() { e2e_setup; }
teardown() { e2e_teardown; }

CONNS=200
PER_CONN=$((1024 * 1024))
BUDGET_MB=4

# Accepts N connections, reads nothing until the fifo says go, then reads each
# connection to its end and checks the bytes: the first 4 are the client's
# index i, then byte k is (k + i) % 251.
HOLD_SERVER='
import socket, sys
n, per, fifo = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = bytes(k % 251 for k in range(per + 251))
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 7300))
l.listen(n)
print("listening hwm_kb", hwm(), flush=True)
conns = [l.accept()[0] for _ in range(n)]
print("accepted", n, flush=True)
open(fifo).read()
bad = 0
total = 0
for c in conns:
    buf = bytearray()
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        buf += b
    total += len(buf)
    i = int.from_bytes(buf[:4], "big")
    if len(buf) != per + 4 or buf[4:] != base[i % 251 : i % 251 + per]:
        bad += 1
    c.close()
print("done total", total, "bad", bad, "hwm_kb", hwm(), flush=True)
'

# Opens N connections at once and writes 1 MiB into each (non-blocking, all
# together); says "stalled" the first time nothing moved for 2 s while data is
# left (the server reads nothing and the stack has closed its windows), then
# finishes once the server reads.
PUSH_CLIENT='
import selectors, socket, sys, time
n, per, host = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = bytes(k % 251 for k in range(per + 251))
sel = selectors.DefaultSelector()
left = {}
for i in range(n):
    s = socket.create_connection((host, 7300))
    s.setblocking(False)
    left[s] = memoryview(i.to_bytes(4, "big") + base[i % 251 : i % 251 + per])
    sel.register(s, selectors.EVENT_WRITE)
print("connected", n, flush=True)
stalled = False
while left:
    ev = sel.select(timeout=2.0)
    if not ev and not stalled:
        stalled = True
        print("stalled with", sum(len(v) for v in left.values()), "bytes left", flush=True)
    for key, _ in ev:
        s = key.fileobj
        try:
            k = s.send(left[s][:262144])
        except BlockingIOError:
            continue
        left[s] = left[s][k:]
        if not left[s]:
            sel.unregister(s)
            del left[s]
            s.shutdown(socket.SHUT_WR)
print("sent all", flush=True)
'

@test "the TCP budget (PSTACK_TCP_MEM=${BUDGET_MB}M) bounds 200 connections full of unread data; every byte arrives" {
	local fifo=$BATS_TEST_TMPDIR/go log=$BATS_TEST_TMPDIR/stack.log
	mkfifo "$fifo"
	bg_pre srv 300 env PSTACK_TCP_MEM=${BUDGET_MB}M PSTACK_LOG=debug PSTACK_LOG_FILE="$log" \
		"$PY" -c "$HOLD_SERVER" "$CONNS" "$PER_CONN" "$fifo"
	wait_log "$(out srv)" "listening" 20
	wait_stack_up
	tap_mark
	bg_ker cli 300 "$PY" -c "$PUSH_CLIENT" "$CONNS" "$PER_CONN" "$STACK_IP"
	wait_log "$(out srv)" "accepted" 60
	wait_log "$(out cli)" "stalled" 120
	# The server holds everything it was sent so far, unread.
	echo go >"$fifo"
	wait_log "$(out cli)" "sent all" 240
	wait_log "$(out srv)" "done total" 240
	bg_wait srv 30
	cat "$(out srv)" "$(out cli)"
	grep -q "done total $((CONNS * (PER_CONN + 4))) bad 0 " "$(out srv)" ||
		fail "bytes lost or out of order: $(tail -n 1 "$(out srv)")"
	tap_assert_crossed 1000 $((CONNS * PER_CONN))

	# The stack's own count: the peak stayed within the budget plus each
	# ring's guaranteed 4 KiB (two rings per connection).
	local line peak limit refused
	# The counters are logged at the exit and, once the closes the exit
	# left are done (by the stack process, after the program), again.
	wait_log "$log" "tcp memory: used 0 " 10
	line=$(grep "tcp memory: used" "$log" | tail -n 1) || fail "no tcp memory line in the stack's log"
	echo "$line"
	peak=$(sed -E 's/.* peak ([0-9]+) of.*/\1/' <<<"$line")
	limit=$(sed -E 's/.* of ([0-9]+) bytes.*/\1/' <<<"$line")
	refused=$(sed -E 's/.*refused ([0-9]+) times.*/\1/' <<<"$line")
	[ "$limit" -eq $((BUDGET_MB * 1024 * 1024)) ] || fail "limit $limit is not PSTACK_TCP_MEM"
	[ "$peak" -le $((limit + CONNS * 2 * 4096)) ] || fail "peak $peak passed the budget"
	[ "$peak" -ge $((limit / 2)) ] || fail "peak $peak: the budget was never under pressure"
	[ "$refused" -gt 0 ] || fail "the budget never said no"
	grep -q "tcp memory: used 0 " "$log" || fail "memory still charged at exit"

	# The process's peak RSS grew by far less than the 200 MiB the
	# connections were sent: budget + floors + 48 MiB for python and malloc.
	# Not under a sanitizer: ASan's quarantine keeps freed memory resident.
	[ -z "$SAN_RT" ] || return 0
	local hwm0 hwm1
	hwm0=$(sed -nE 's/^listening hwm_kb ([0-9]+)$/\1/p' "$(out srv)")
	hwm1=$(sed -nE 's/^done .* hwm_kb ([0-9]+)$/\1/p' "$(out srv)")
	echo "peak RSS: ${hwm0} KiB when listening, ${hwm1} KiB at the end"
	[ $((hwm1 - hwm0)) -le $(((limit + CONNS * 2 * 4096) / 1024 + 48 * 1024)) ] ||
		fail "peak RSS grew by $((hwm1 - hwm0)) KiB"
}
