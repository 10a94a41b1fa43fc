#!/usr/bin/env bash
# A bounded soak of random socket-call sequences (tests/diff/fuzzseq.c): runs
# seeds FIRST .. FIRST+N-1 on the kernel and under the preload through
# tests/diff/run.sh -x, BATCH seeds to a run (a fresh pair of namespaces each),
# and lists the seeds whose lines differ, each with its first differing call
# and a summary of those first differences by kind; a first difference that
# known.txt accepts (KNOWN below) is listed apart. Not part of make test: a
# seed takes about 0.4 s under the preload (1,000 seeds: about 7 minutes).
#
#   tests/diff/fuzzseq.sh [-b BUILD] [-o OUTDIR] [-s FIRST] [-B BATCH] [-g GEN] N
#   tests/diff/fuzzseq.sh -T OUTDIR      only the triage of an earlier run
#     -g  the generator's generation: 1 (default, the seeds' first meaning),
#         2 (adds epoll, select, sendmsg/recvmsg with odd iovecs and control
#         messages, sendmmsg/recvmmsg, splice/sendfile, O_ASYNC, F_SETOWN),
#         3 (adds the odd arguments of a hostile program: dup2/dup3/F_DUPFD,
#         odd socket types and protocols, socketpair, accept4's bad flags,
#         backlogs and connections beyond them, odd name lengths, address
#         families and lengths, options out of range, odd flags, ioctls, poll)
#         4 (one socket brought into a state of its connection first:
#         CLOSE_WAIT, FIN_WAIT2, both FINs, the peer's RST, a refused or
#         silent connect, a listener shut down, connect(AF_UNSPEC), a
#         close with SO_LINGER that the peer reports; then the calls on it)
#         5 (the states of 4, then UDP's ICMP errors with IP_RECVERR and
#         MSG_ERRQUEUE, every queue ioctl, many options read and set in
#         every state, MSG_ flag combinations, odd msghdrs, dup/dup3 flags)
#         6 (a listener given options and its accepted children, what
#         they inherit; SO_REUSEPORT/SO_REUSEADDR groups' bind and listen;
#         UDP connect, disconnect and sends to other peer ports; shutdown
#         in every direction with poll's and epoll's masks after it;
#         sendfile from offsets at and past the file's end; else the
#         states of 4)
#         or 7 (calls that block: a second thread in accept, recv,
#         recvmsg(MSG_WAITALL) after part of the bytes, connect to the
#         silent port, send into a full buffer, poll or epoll_wait, in
#         the seed's last experiment also select and UDP's recvfrom,
#         ended by shutdown, close, setsockopt, the other end's bytes,
#         FIN or RST, the peer's connection or datagram, or SIGALRM with
#         or without SA_RESTART or ignored, by pthread_kill or setitimer,
#         then by what the call waits for or a signal; or first by
#         SO_RCVTIMEO/SO_SNDTIMEO (0, 1 ms, 50 ms, negative, out of
#         range, odd lengths), a poll timeout or MSG_DONTWAIT: what
#         returned, a send's count as all or part, "/to" once the
#         timeout passed, how often the handler ran; about 0.7 s a seed)
#
# A seed is reproducible: `tests/diff/fuzzseq.sh [-g GEN] -s SEED 1` runs it
# again, and BUILD/diff/fuzzseq [-g GEN] -v -r SEED runs it by hand (with LD_PRELOAD for pstack,
# in a namespace set up as run.sh does). Exit status 1 when any seed differs.
# Needs root (network namespaces).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
outdir=
first=1
batch=250
triage_only=
gen=1
while getopts b:o:s:B:T:g: opt; do
	case $opt in
	b) build=$OPTARG ;;
	o) outdir=$OPTARG ;;
	s) first=$OPTARG ;;
	B) batch=$OPTARG ;;
	T) triage_only=1 outdir=$OPTARG ;;
	g) gen=$OPTARG ;;
	*) sed -n '9,48p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

# triage: the first step that differs in each differing seed, and the counts
# of each (call, kernel's result, pstack's result) among them.
triage() {
	/usr/bin/python3 - "$outdir" <<'PY'
import collections, glob, re, sys

out = sys.argv[1]


def load(side):
    d = {}
    for f in sorted(glob.glob("%s/b*/%s.txt" % (out, side))):
        for ln in open(f):
            name, _, res = ln.rstrip("\n").partition(":")
            if name:
                d[name] = res.split()
    return d


def short(step):
    """The call without its arguments and the result without its out-parameters."""
    step = re.sub(r"^s\d+\.", "", step)
    m = re.match(r"([^(=]*)(?:\(.*\))?=([^/]*)", step)
    return "%s=%s" % m.groups() if m else step


# The differences known and accepted (tests/diff/known.txt): the first
# differing step's (kernel, pstack) pair matched by these, with the reason.
KNOWN = [
    (r"connect\(6?(0\.0\.0\.0|127\.0\.0\.1):.*=(0|EINPROGRESS|ECONNREFUSED)$", r"connect\(.*=ENETUNREACH$",
     "README: a socket in use in the stack cannot move to the kernel: its connect() to this host is ENETUNREACH"),
]
# The same, where an earlier step on the same socket (BEFORE) must have made
# the difference: a UDP socket that connected to this host (0.0.0.0,
# 127.0.0.1) was handed to the kernel's loopback for good, and its kernel
# socket then calls towards the stack's addresses, which are the kernel's own
# in pstack's namespace (known.txt: handover_udp_any0_*).
KNOWN_AFTER = [
    (r"[a-z]+\d*\.connect\([^)]*?6?(0\.0\.0\.0|127\.0\.0\.1):[^)]*\)=0$",
     r"(connect|sendto|send3?|sendmsg|write|bind)\(.*=(EINVAL|EPIPE|EADDRNOTAVAIL|\d+)$",
     r"(connect|sendto|send3?|sendmsg|write|bind)\(.*=(EINVAL|EPIPE|EADDRNOTAVAIL|\d+)$",
     "known.txt handover_udp_any0_*: a UDP socket connected to this host is the kernel's, where 192.0.2.x is local"),
    (r"[a-z]+\d*\.connect\([^)]*?6?(0\.0\.0\.0|127\.0\.0\.1):[^)]*\)=0$",
     r".*=0(/.*)?$", r".*=EADDRNOTAVAIL(/.*)?$",
     "the same hand-over: the kernel's socket there has no 192.0.2.2 (IP_MULTICAST_IF, a membership by address)"),
]


def known(ka, pb, prev):
    a, b = re.sub(r"^[a-z]+\d*\.", "", ka), re.sub(r"^[a-z]+\d*\.", "", pb)
    for kr, pr, why in KNOWN:
        if re.match(kr, a) and re.match(pr, b):
            return why
    tag = re.match(r"^[a-z]+\d*\.", ka)
    for before, kr, pr, why in KNOWN_AFTER:
        if tag and re.match(kr, a) and re.match(pr, b) and \
           any(st.startswith(tag.group(0)) and re.match(before, st) for st in prev):
            return why
    return None


k, p = load("kernel"), load("pstack")
kinds = collections.Counter()
examples = {}
n = nknown = 0
for name in sorted(set(k) | set(p), key=lambda s: int(re.sub(r"\D", "", s) or 0)):
    a, b = k.get(name, ["MISSING"]), p.get(name, ["MISSING"])
    if a == b:
        continue
    n += 1
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    ka = a[i] if i < len(a) else "END"
    pb = b[i] if i < len(b) else "END"
    why = known(ka, pb, a[:i])
    if why:
        n -= 1
        nknown += 1
        print("%s step %d: known (%s)" % (name, i + 1, why))
        continue
    sig = "%s | %s" % (short(ka), short(pb))
    kinds[sig] += 1
    examples.setdefault(sig, []).append(name)
    print("%s step %d: kernel %s | pstack %s" % (name, i + 1, ka, pb))
print("%d seeds, %d differ, %d more in known ways" % (len(k), n, nknown))
for sig, c in kinds.most_common():
    print("%4d  %s   e.g. %s" % (c, sig, " ".join(examples[sig][:4])))
sys.exit(1 if n else 0)
PY
}

if [ -n "$triage_only" ]; then
	triage
	exit
fi
[ $# = 1 ] || { sed -n '9,36p' "$0" >&2; exit 2; }
total=$1
build=$(cd "$build" && pwd)
[ -x "$build/diff/fuzzseq" ] || { echo "fuzzseq.sh: no $build/diff/fuzzseq (make all)" >&2; exit 2; }
outdir=${outdir:-$(mktemp -d /tmp/fuzzseq.XXXXXX)}
mkdir -p "$outdir"
s=$first
end=$((first + total))
while [ $s -lt $end ]; do
	n=$((end - s < batch ? end - s : batch))
	# A seed takes at most 20 s (fuzzseq's own bound); the batch's bound follows.
	DIFF_TIMEOUT=$((60 + n * 20)) bash "$here/run.sh" -b "$build" -x "$build/diff/fuzzseq" \
		-o "$outdir/b$s" -- -g "$gen" -v -s "$s" -n "$n" >"$outdir/b$s.log" 2>&1 || true
	grep -q '^sockdiff:' "$outdir/b$s.log" || { echo "fuzzseq.sh: batch $s failed:" >&2; cat "$outdir/b$s.log" >&2; exit 2; }
	s=$((s + n))
done
echo "fuzzseq.sh: output in $outdir"
triage
