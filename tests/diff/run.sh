#!/usr/bin/env bash
# The differential harness: runs tests/diff/sockdiff once on the
# kernel's stack and once under the preload, with the same addresses and the
# same peer (tests/diff/peer.py), and compares the two line by line.
#
#   tests/diff/run.sh [-b BUILD] [-P PRELOAD] [-o OUTDIR] [-k KNOWN] [-c PATTERN]... [-s SYSCTL]... [-j N]
#   tests/diff/run.sh -C OUTDIR [-k KNOWN]
#   tests/diff/run.sh -x PROGRAM [-b BUILD] [-o OUTDIR] [-k KNOWN] -- ARGS...
#     -b  the build folder (default: build): BUILD/diff/sockdiff, BUILD/libpstack.so
#     -P  what LD_PRELOAD holds for the pstack run (default: BUILD/libpstack.so)
#     -o  where kernel.txt, pstack.txt, diff.txt and the logs go (default: a temp folder)
#     -k  the known differences (tests/diff/known.txt): exit 1 on a difference
#         not in it, or on an entry of it that no longer holds; without -k,
#         exit 1 on any difference
#     -c  only the cases whose name matches the pattern (fnmatch), as often as needed
#     -s  NAME=VALUE: a sysctl set in the program's namespace on both sides
#         before the runs (e.g. net.ipv4.ip_nonlocal_bind=1), as often as needed
#     -j  N pairs of runs side by side, each with namespaces and peers of its
#         own, sharing the cases (sockdiff -s K/N; default 1): most of a run's
#         time is cases waiting (timeouts, a peer's answer), not the CPU
#     -C  no run: compare OUTDIR's kernel.txt and pstack.txt again (against KNOWN)
#     -x  run PROGRAM in place of sockdiff, with ARGS (and -p PRELOAD on pstack's
#         side): another driver that prints sockdiff's lines (tests/diff/fuzzseq.c)
#   Environment: DIFF_NS, the prefix of the namespaces (default pst-diff-PID);
#   DIFF_TIMEOUT, the seconds each side's run may take (default 300);
#   PIDFILE, a file the PIDs of the background programs are appended to (the
#   e2e tests' teardown ends them).
#
# Needs root (network namespaces). The two set-ups:
#   kernel: namespace PREFIX-k (the program) and PREFIX-q (the peer), joined by
#           a veth pair: "tap0" 192.0.2.2/24 (MAC 00:00:5e:00:53:01, default
#           route via 192.0.2.1) and 192.0.2.1/24;
#   pstack: namespace PREFIX-p with a TAP tap0, host side 192.0.2.1/24; the peer
#           runs on its kernel, the program under the preload (192.0.2.2).
# With -j N, shard J > 0 has these three with J after the letter (PREFIX-kJ...).
# In both, the peer's kernel answers ICMP without rate limit (icmp_ratelimit=0:
# a case must not depend on how many came before it) and drops TCP to port
# 7010 (iptables): the silent peer.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
preload=
outdir=
known=
pats=()
sysctls=()
compare_only=
prog=
jobs=1
while getopts b:P:o:k:c:C:s:x:j: opt; do
	case $opt in
	b) build=$OPTARG ;;
	P) preload=$OPTARG ;;
	o) outdir=$OPTARG ;;
	k) known=$OPTARG ;;
	c) pats+=(-c "$OPTARG") ;;
	s) sysctls+=("$OPTARG") ;;
	C) compare_only=1 outdir=$OPTARG ;;
	x) prog=$OPTARG ;;
	j) jobs=$OPTARG ;;
	*) sed -n '4,28p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
args=("$@")

# compare: every case on both sides; a difference must be in the known list
# with the same two results; a known entry must still hold. Writes OUTDIR/diff.txt.
compare() {
	/usr/bin/python3 - "$outdir" "${known:-}" "${#pats[@]}" <<'EOF'
import sys

outdir, known_path, subset = sys.argv[1], sys.argv[2], sys.argv[3] != "0"


def lines(path):
    d = {}
    for ln in open(path):
        ln = ln.rstrip("\n")
        if not ln:
            continue
        name, _, res = ln.partition(":")
        d[name] = res.strip()
    return d


k = lines(outdir + "/kernel.txt")
p = lines(outdir + "/pstack.txt")
known = {}
if known_path:
    for n, ln in enumerate(open(known_path), 1):
        if not ln.strip() or ln.startswith("#"):
            continue
        f = [x.strip() for x in ln.rstrip("\n").split("|")]
        if len(f) != 4 or not f[3]:
            sys.exit("%s:%d: want 'case | kernel | pstack | reason'" % (known_path, n))
        if f[0] in known:
            sys.exit("%s:%d: %s listed twice" % (known_path, n, f[0]))
        known[f[0]] = f

bad = []
diffs = []
for name in sorted(set(k) | set(p)):
    if name not in k or name not in p:
        bad.append("MISSING   %s: kernel %r, pstack %r" % (name, k.get(name), p.get(name)))
        continue
    if k[name] == p[name]:
        continue
    diffs.append((name, k[name], p[name]))
    e = known.get(name)
    if not e:
        bad.append("NEW       %s | %s | %s" % (name, k[name], p[name]))
    elif (e[1], e[2]) != (k[name], p[name]):
        bad.append("CHANGED   %s | %s | %s   (known: %s | %s)" % (name, k[name], p[name], e[1], e[2]))
if known_path:
    for name, e in known.items():
        if subset and name not in k:
            continue
        if name in k and name in p and k[name] == p[name]:
            bad.append("GONE      %s: both now %s (known: %s | %s): remove it from %s"
                       % (name, k[name], e[1], e[2], known_path))
        elif name not in k and name not in p:
            bad.append("NO-CASE   %s: in %s but no such case" % (name, known_path))

with open(outdir + "/diff.txt", "w") as f:
    for d in diffs:
        f.write("%s | %s | %s\n" % d)
print("sockdiff: %d cases, %d differ from the kernel (%d known), %d problems"
      % (len(k), len(diffs), len([d for d in diffs if d[0] in known]), len(bad)))
for b in bad:
    print(b)
if not known_path and diffs:
    for d in diffs:
        print("DIFF      %s | %s | %s" % d)
    sys.exit(1)
sys.exit(1 if bad else 0)
EOF
}

if [ -n "$compare_only" ]; then
	compare
	exit
fi

build=$(cd "$build" && pwd)
preload=${preload:-$build/libpstack.so}
sockdiff=${prog:-$build/diff/sockdiff}
[ -x "$sockdiff" ] || { echo "run.sh: no $sockdiff (make all)" >&2; exit 2; }
[ -f "$build/libpstack.so" ] || { echo "run.sh: no $build/libpstack.so (make all)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces)" >&2; exit 2; }
if [ -z "$outdir" ]; then
	outdir=$(mktemp -d /tmp/sockdiff.XXXXXX)
fi
mkdir -p "$outdir"
P=${DIFF_NS:-pst-diff-$$}
case $jobs in
[1-9] | [1-9][0-9]) ;;
*) echo "run.sh: -j wants a number of runs from 1 to 99, not '$jobs'" >&2; exit 2 ;;
esac
# Another driver (-x) takes no -s: one pair of runs.
[ -z "$prog" ] || jobs=1
# shard_ns J k|q|p: shard J's namespaces (the first one's keep the names
# of a run without -j).
shard_ns() {
	if [ "$1" = 0 ]; then echo "$P-$2"; else echo "$P-$2$1"; fi
}
pids=()

cleanup() {
	local p j
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for ((j = 0; j < jobs; j++)); do
		for p in k q p; do
			ip netns del "$(shard_ns $j $p)" 2>/dev/null || true
		done
	done
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# peer_setup NS: what the peer's kernel needs (see the top).
peer_setup() {
	ip netns exec "$1" sysctl -qw net.ipv4.icmp_ratelimit=0
	ip netns exec "$1" iptables -A INPUT -p tcp --dport 7010 -j DROP
}

# start_peer NS NAME: peer.py in NS, until it says "ready".
start_peer() {
	local log=$outdir/peer-$2.log deadline=$((SECONDS + 10))
	# Emptied here, not by the background job's redirection: an output
	# folder used before holds the last run's "ready".
	: >"$log"
	ip netns exec "$1" timeout -k 3 600 /usr/bin/python3 "$here/peer.py" >"$log" 2>&1 &
	pids+=($!)
	[ -z "${PIDFILE:-}" ] || echo $! >>"$PIDFILE"
	until grep -qs '^ready' "$log"; do
		if [ $SECONDS -ge $deadline ] || ! kill -0 "${pids[-1]}" 2>/dev/null; then
			echo "run.sh: the peer in $1 did not start:" >&2
			cat "$log" >&2
			exit 2
		fi
		sleep 0.05
	done
}

# shard_setup J: shard J's three namespaces, devices and peers.
shard_setup() {
	local NK NQ NP p s
	NK=$(shard_ns "$1" k) NQ=$(shard_ns "$1" q) NP=$(shard_ns "$1" p)
	for p in "$NK" "$NQ" "$NP"; do
		ip netns del "$p" 2>/dev/null || true
		ip netns add "$p"
		ip -n "$p" link set lo up
	done

	# The kernel's set-up: veth pair, the program's end named like pstack's device.
	ip link add tap0 netns "$NK" type veth peer name veth0 netns "$NQ"
	ip -n "$NK" link set tap0 address 00:00:5e:00:53:01
	ip -n "$NK" addr add 192.0.2.2/24 brd + dev tap0
	ip -n "$NK" link set tap0 up
	ip -n "$NK" route add default via 192.0.2.1
	ip -n "$NQ" addr add 192.0.2.1/24 dev veth0
	ip -n "$NQ" link set veth0 up
	peer_setup "$NQ"

	# pstack's set-up: a TAP, as tests/e2e/lib.bash makes it; its host side gets a
	# fixed MAC (what a program sees of the device must not change from run to run).
	ip -n "$NP" tuntap add dev tap0 mode tap
	ip -n "$NP" link set tap0 address 00:00:5e:00:53:fe
	ip -n "$NP" addr add 192.0.2.1/24 brd + dev tap0
	ip -n "$NP" link set tap0 up
	peer_setup "$NP"

	for s in ${sysctls[@]+"${sysctls[@]}"}; do
		ip netns exec "$NK" sysctl -qw "$s"
		ip netns exec "$NP" sysctl -qw "$s"
	done

	start_peer "$NQ" "kernel$(shard_sfx "$1")"
	start_peer "$NP" "pstack$(shard_sfx "$1")"
}

# shard_sfx J: the suffix of shard J's files ("" for the first).
shard_sfx() {
	[ "$1" = 0 ] || echo "-$1"
}

for ((j = 0; j < jobs; j++)); do
	shard_setup $j
done

# A case's process lingers at exit to finish its connections: keep that short
# (a stalled peer never takes the data). Only the pstack run reads it.
export PSTACK_LINGER_MS=200

# tap_bytes DIR: bytes the TAPs of all shards have carried in direction DIR.
tap_bytes() {
	local j t=0
	for ((j = 0; j < jobs; j++)); do
		t=$((t + $(ip netns exec "$(shard_ns $j p)" cat "/sys/class/net/tap0/statistics/$1_bytes")))
	done
	echo $t
}
rx0=$(tap_bytes rx) tx0=$(tap_bytes tx)

# The runs, all at once (separate namespaces, separate peers): the kernel's
# and pstack's of each shard.
runs=() # "pid side file" of each run
for ((j = 0; j < jobs; j++)); do
	sfx=$(shard_sfx $j)
	sh=()
	[ "$jobs" = 1 ] || sh=(-s "$j/$jobs")
	ip netns exec "$(shard_ns $j k)" timeout -k 5 "${DIFF_TIMEOUT:-300}" "$sockdiff" ${sh[@]+"${sh[@]}"} \
		${pats[@]+"${pats[@]}"} ${args[@]+"${args[@]}"} >"$outdir/kernel$sfx.txt" 2>"$outdir/kernel$sfx.err" &
	runs+=("$! kernel kernel$sfx")
	ip netns exec "$(shard_ns $j p)" timeout -k 5 "${DIFF_TIMEOUT:-300}" "$sockdiff" -p "$preload" ${sh[@]+"${sh[@]}"} \
		${pats[@]+"${pats[@]}"} ${args[@]+"${args[@]}"} >"$outdir/pstack$sfx.txt" 2>"$outdir/pstack$sfx.err" &
	runs+=("$! pstack pstack$sfx")
done
for r in "${runs[@]}"; do
	read -r pid _ _ <<<"$r"
	pids+=($pid)
	[ -z "${PIDFILE:-}" ] || echo $pid >>"$PIDFILE"
done
for r in "${runs[@]}"; do
	read -r pid side file <<<"$r"
	rc=0
	wait $pid || rc=$?
	[ $rc = 0 ] || { echo "run.sh: the $side run ($file) failed ($rc)" >&2; tail "$outdir/$file.err" >&2; exit 2; }
done
# The shards' lines, as one run's.
if [ "$jobs" != 1 ]; then
	for side in kernel pstack; do
		for ((j = 1; j < jobs; j++)); do
			cat "$outdir/$side-$j.txt" >>"$outdir/$side.txt"
		done
	done
fi

# Proof that the pstack run's traffic went through the stack (a call that
# escaped interception would quietly take the kernel's path): the TAP carried
# at least the bulk echo case's 256 KiB each way.
rx=$(($(tap_bytes rx) - rx0)) tx=$(($(tap_bytes tx) - tx0))
echo "tap0: $rx bytes from the stack, $tx bytes to it" >"$outdir/tap.txt"
if [ -z "${pats[*]}" ] && [ -z "$prog" ] && { [ $rx -lt 262144 ] || [ $tx -lt 262144 ]; }; then
	echo "run.sh: the pstack run did not go through the TAP: $(cat "$outdir/tap.txt")" >&2
	exit 2
fi

compare
