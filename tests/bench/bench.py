#!/usr/bin/python3
"""pstack's benchmark: every workload on the kernel's stack and on pstack, side by side.

Run it through `make bench` or `sh tests/bench/run.sh BUILD_DIR` (which builds the
helpers first); as root, because it creates network namespaces.

Two setups, each with a "system under test" (SUT) endpoint and a kernel peer:
  kernel  SUT = a process in namespace B (192.0.2.102) on the kernel's stack, peer in
          namespace A (192.0.2.101), joined by a veth pair.
  pstack  SUT = a process under LD_PRELOAD=libpstack.so in namespace T (the stack is
          192.0.2.2 on tap0), peer = the kernel of the same namespace (192.0.2.1 on tap0).
Every workload runs on both, one right after the other, so both see the same machine.

Every workload runs REPS times on each side, interleaved (kernel, pstack, then pstack,
kernel, and so on, so that neither column always goes first); the table gives each side's
median and its spread (min-max), and the ratio of the medians.

Settings (environment):
  BENCH_REPS           repetitions of every workload on each side, default 3
  BENCH_SECONDS        iperf3 and nginx duration per repetition, default 5
  BENCH_SHORT_SECONDS  sockperf, HTTP and growth durations, default BENCH_SECONDS/2 (>= 1)
  BENCH_CONNS          growth connection counts, default "1 10 100 1000 10000"
  BENCH_HTTP_CONNS     concurrent connections of the HTTP load generators, default 16
  BENCH_MUX            epoll or poll: what bench_srv/bench_cli wait with, default epoll
  BENCH_NGINX_CONNS    wrk's connections against nginx's small page (wrk -t2 -c N), default 100
  BENCH_NGINX_1M_CONNS wrk's connections against nginx's 1 MiB file, default 50
  BENCH_REDIS_N        redis-benchmark requests per test (-n), default 100000
  BENCH_REDIS_TESTS    redis-benchmark tests (-t), default set,get,lpush,lpop
  BENCH_XFER_MIB       MiB that nc and curl move in the everyday-program rows, default 64
  BENCH_EXEC_RUNS      curl runs in a row in the process-start rows, default 200
  BENCH_LAT_CPU        the CPU that both ends of the sockperf rows run on (taskset), default
                       the last one; the busy-poll rows put the peer on another CPU (a
                       spinning process needs a CPU of its own); "none" leaves the placement
                       to the scheduler (see "Latency and CPU placement" in the report)
  BENCH_BUDGET         seconds; a repetition that would end later is skipped, default 1500
  BENCH_ONLY           regular expression: run only the workloads whose key matches
  BENCH_SPIN_US        PSTACK_SPIN_US of the busy-poll sockperf rows (pstack column only), default 50
  BENCH_RESULTS        where the report goes, default tests/bench/RESULTS.md
  BENCH_PLOT           where the plot goes, default growth.png beside the report; the queue
                       plot, queues.png, goes into the same folder
  BENCH_QUEUES         TAP queue counts of the queue part, default "1 2", empty: no queue part.
                       The rows that can scale with queues (iperf3 4 streams both ways, growth
                       bulk and echo at 100 connections when BENCH_CONNS has 100, nginx small
                       page) run their pstack column once more per count, with PSTACK_QUEUES
                       set to it, interleaved with the other columns and checked alike; the count the pstack column
                       already uses (PSTACK_QUEUES, or the stack's default: one on two CPUs or
                       fewer, else one per CPU up to 4) reuses its figures. The kernel has no
                       such setting: its column is the reference. Report: the "Queues" table
                       and queues.png
  PSTACK_*             passed to the preloaded programs unchanged (and recorded); the TAP is
                       made multi-queue unless PSTACK_QUEUES=1 and no queue count above 1 is
                       asked for (BENCH_QUEUES)

Nothing here asserts: a workload that fails on one side shows "failed (n)" in its cells,
with the reason in the notes, and the run goes on. Exit status 0 unless the harness
itself broke (no root, no namespaces).
"""
import datetime
import json
import math
import os
import re
import resource
import select
import signal
import statistics
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def env_float(name, default):
    v = os.environ.get(name, "")
    if not v:
        return default
    try:
        return float(v)
    except ValueError:
        sys.exit(f"bench: {name}='{v}' is not a number")


REPS = max(1, int(env_float("BENCH_REPS", 3)))
SECONDS = env_float("BENCH_SECONDS", 5)
SHORT = env_float("BENCH_SHORT_SECONDS", max(1.0, SECONDS / 2))
CONNS = [int(x) for x in os.environ.get("BENCH_CONNS", "1 10 100 1000 10000").split()]
HTTP_CONNS = int(env_float("BENCH_HTTP_CONNS", 16))
MUX = os.environ.get("BENCH_MUX", "epoll")
NGINX_CONNS = int(env_float("BENCH_NGINX_CONNS", 100))
NGINX_1M_CONNS = int(env_float("BENCH_NGINX_1M_CONNS", 50))
REDIS_N = int(env_float("BENCH_REDIS_N", 100000))
REDIS_TESTS = [t.strip().lower() for t in os.environ.get("BENCH_REDIS_TESTS", "set,get,lpush,lpop").split(",")
               if t.strip()]
NGINX_FILE = 1 << 20    # the large file nginx serves: 1 MiB
NGINX_PAGE = "hello from nginx, pstack benchmark\n"     # the small page
NGINX_WORKERS = 2       # nginx-workers: nginx's default shape, a master and this many workers
XFER_MIB = env_float("BENCH_XFER_MIB", 64)
XFER_BYTES = int(XFER_MIB * 2**20)
EXEC_RUNS = int(env_float("BENCH_EXEC_RUNS", 200))
_lat = os.environ.get("BENCH_LAT_CPU", "").strip()
if _lat.lower() == "none":
    LAT_CPU = None
else:
    LAT_CPU = int(env_float("BENCH_LAT_CPU", (os.cpu_count() or 1) - 1))
# The busy-poll rows' peer: another CPU than LAT_CPU when there is one.
LAT_CPU_PEER_SPIN = None if LAT_CPU is None else (LAT_CPU - 1) % (os.cpu_count() or 1)
BUDGET = env_float("BENCH_BUDGET", 1500)
ONLY = re.compile(os.environ.get("BENCH_ONLY", ""))
SPIN_US = int(os.environ.get("BENCH_SPIN_US") or 50)
RESULTS = os.environ.get("BENCH_RESULTS") or os.path.join(HERE, "RESULTS.md")
# Beside the report by default, so that a run reported elsewhere leaves the repository's plot alone.
TAP_TXQLEN = 16384  # stack/dev/tap.c's TAP_TXQLEN
PLOT = os.environ.get("BENCH_PLOT") or os.path.join(os.path.dirname(os.path.abspath(RESULTS)), "growth.png")


def env_queues():
    """BENCH_QUEUES: the sorted queue counts (1 to 16, stack/host/config.h's HOST_QUEUES_MAX);
    an empty value: none (no queue part)."""
    v = os.environ.get("BENCH_QUEUES")
    v = "1 2" if v is None else v
    out = set()
    for x in v.split():
        if not x.isdigit() or not 1 <= int(x) <= 16:
            sys.exit(f"bench: BENCH_QUEUES='{v}': expected TAP queue counts from 1 to 16, e.g. \"1 2\"")
        out.add(int(x))
    return sorted(out)


def default_queues():
    """How many TAP queues the pstack column's stack attaches with this run's PSTACK_* settings
    (stack/host/runner.c's rule), or None when PSTACK_QUEUES is not a count: the queue part
    then runs every count itself."""
    e = os.environ
    if one_queue_forced():
        return 1
    q = e.get("PSTACK_QUEUES", "").strip()
    if q:
        return int(q) if q.isdigit() and 1 <= int(q) <= 16 else None
    cpus = os.sysconf("SC_NPROCESSORS_ONLN")
    return 1 if cpus <= 2 else min(cpus, 4)


def one_queue_forced():
    """The PSTACK_* setting that puts the stack on one queue whatever PSTACK_QUEUES says (a
    wrapper writes through one queue: stack/host/runner.c), or None."""
    e = os.environ
    for k in ("PSTACK_PCAP", "PSTACK_FAULTS"):
        if e.get(k, "").strip():
            return k
    if e.get("PSTACK_LOG", "").strip().lower() == "trace":
        return "PSTACK_LOG=trace"
    return None


QUEUES = env_queues()
DEFAULT_QUEUES = default_queues()
# The rows that can scale with queues (issue 16: "four streams and 1000 connections must scale
# with it"); the queue part runs their pstack column at each count of QUEUES.
QUEUE_KEYS = ("iperf3-4-from", "iperf3-4-to", "growth-bulk-100", "growth-echo-100", "nginx-small")
QPLOT = os.path.join(os.path.dirname(os.path.abspath(PLOT)), "queues.png")
GRACE = 15          # seconds a timed client may run past its duration
READY_WAIT = 8      # seconds a server has to say it listens

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:5.0f}s] {msg}", file=sys.stderr, flush=True)


class Fail(Exception):
    """A workload could not be measured on one side; the message says why."""


class Abort(Exception):
    """A signal asked us to stop."""


# ---- processes --------------------------------------------------------------

LIVE = {}   # pid -> Proc: everything we started and have not reaped


class Proc:
    """A program started in a namespace, its output in files, reaped with wait4 (rusage)."""

    def __init__(self, bench, name, ns, argv, preload=False, stdin="/dev/null", stdout=None, fd3=None):
        """stdin: a file to read; stdout: a file to write instead of the log (/dev/null for
        bulk data); fd3: a descriptor that becomes the program's fd 3 (a trigger pipe)."""
        self.name = name
        self.argv = argv
        self.out = os.path.join(bench.logdir, f"{bench.seq:03d}-{name}.out")
        self.err = os.path.join(bench.logdir, f"{bench.seq:03d}-{name}.err")
        bench.seq += 1
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        if preload:
            env.update(bench.preload_env)   # a queue column's PSTACK_QUEUES
        full = ["ip", "netns", "exec", ns]
        if preload:
            full += ["env", "LD_PRELOAD=" + bench.lib]
        full += argv
        wr = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        actions = [(os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, stdout or self.out, wr, 0o644),
                   (os.POSIX_SPAWN_OPEN, 2, self.err, wr, 0o644)]
        if fd3 is not None:
            actions.append((os.POSIX_SPAWN_DUP2, fd3, 3))
        self.pid = os.posix_spawnp(full[0], full, env, file_actions=actions)
        # A descriptor on the process, to learn the moment it ends (wait_exit).
        try:
            self.pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self.pidfd = None
        LIVE[self.pid] = self
        bench.procs.append(self)
        self.preload = preload
        self.status = None
        self.rusage = None
        self.expected_err = None    # a regular expression for stderr lines that are not news
        self.started = time.monotonic()

    def poll(self):
        if self.status is None:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self.status, self.rusage = status, ru
                LIVE.pop(self.pid, None)
                self.close_fds()
        return self.status is not None

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.poll():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def wait_exit(self, timeout):
        """Waits until the process ends and returns time.monotonic() of that moment (to the
        scheduler's precision, where wait()'s polling would add up to 20 ms), or None."""
        deadline = time.monotonic() + timeout
        if self.pidfd is not None and self.status is None:
            p = select.poll()
            p.register(self.pidfd, select.POLLIN)
            while time.monotonic() < deadline:
                if p.poll(max(1, int((deadline - time.monotonic()) * 1000))):
                    t = time.monotonic()
                    self.wait(5)
                    return t
            return None
        return time.monotonic() if self.wait(timeout) else None

    def close_fds(self):
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def stop(self, grace=3):
        """SIGTERM, then SIGKILL after grace seconds; always reaps."""
        if self.poll():
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not self.wait(grace):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait(5)

    def exit_text(self):
        if self.status is None:
            return "still running"
        if os.WIFSIGNALED(self.status):
            return f"killed by signal {os.WTERMSIG(self.status)}"
        return f"exit status {os.WEXITSTATUS(self.status)}"

    def ok(self):
        return self.status is not None and os.WIFEXITED(self.status) and os.WEXITSTATUS(self.status) == 0

    def cpu(self):
        """User + system CPU seconds of the process (and the children it reaped)."""
        return self.rusage.ru_utime + self.rusage.ru_stime if self.rusage else float("nan")

    def text(self, which="out"):
        try:
            with open(self.out if which == "out" else self.err, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def said(self):
        """What the program wrote on stderr beyond the lines it is expected to write."""
        lines = [l for l in self.text("err").strip().splitlines() if l.strip()]
        if self.expected_err:
            lines = [l for l in lines if not re.search(self.expected_err, l)]
        return "\n".join(lines)

    def tail(self, n=6):
        """The last lines it printed (stderr first), for failure reasons."""
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", l).strip()
                 for l in (self.text("err") + "\n" + self.text("out")).splitlines()]
        # Leave out separators and bench_cli's result line (its stderr has the reason).
        lines = [l for l in lines if l and not re.fullmatch(r"[-= ]+", l) and not l.startswith("mode=")]
        return " | ".join(lines[-n:]) if lines else "(no output)"

    def vm_kb(self, field="VmHWM"):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None


def sockstat_tcp_mem():
    """/proc/net/sockstat's TCP "mem" in bytes: the kernel's TCP socket memory, all
    namespaces together (tcp_memory_allocated, in pages; each CPU keeps up to 1 MiB of
    charges to itself before adding them up, so it is exact to about 1 MiB per CPU)."""
    m = re.search(r"^TCP:.*\bmem (\d+)", read_text("/proc/net/sockstat"), re.M)
    return int(m.group(1)) * os.sysconf("SC_PAGE_SIZE") if m else None


def last_cpu(pid):
    """The CPU a thread last ran on (/proc/PID/stat field 39), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        return int(st[st.rindex(")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return None


def stop_all():
    for p in list(LIVE.values()):
        p.stop(grace=2)


# ---- the setups ---------------------------------------------------------------

class Side:
    def __init__(self, name, sut_ns, sut_addr, preload, peer_ns, peer_addr, env=None):
        """env: settings for the preloaded programs on top of the run's (a queue column's
        PSTACK_QUEUES)."""
        self.name = name
        self.sut_ns, self.sut_addr, self.preload = sut_ns, sut_addr, preload
        self.peer_ns, self.peer_addr = peer_ns, peer_addr
        self.env = env or {}


def sh(*argv, check=True):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


class Bench:
    def __init__(self, build):
        self.build = build
        self.lib = os.path.join(build, "libpstack.so")
        self.bindir = os.path.join(build, "bench")
        self.logdir = os.path.join(self.bindir, "logs")
        self.seq = 0
        self.procs = []     # what the current workload started
        self.port = 20000
        tag = f"pst-bench-{os.getpid()}"
        self.ns_a, self.ns_b, self.ns_t = tag + "-a", tag + "-b", tag + "-t"
        self.made_ns = []
        self.sides = [
            Side("kernel", self.ns_b, "192.0.2.102", False, self.ns_a, "192.0.2.101"),
            Side("pstack", self.ns_t, "192.0.2.2", True, self.ns_t, "192.0.2.1"),
        ]
        # The queue part: a pstack column per queue count that the pstack column does not
        # already measure, run only for QUEUE_KEYS.
        self.queue_sides = [] if one_queue_forced() else [
            Side(f"pstack-q{q}", self.ns_t, "192.0.2.2", True, self.ns_t, "192.0.2.1", {"PSTACK_QUEUES": str(q)})
            for q in QUEUES if q != DEFAULT_QUEUES]
        self.preload_env = {}   # the current side's env, for Proc
        self.samples = {}   # (workload, side) -> [figures of each repetition (dict) or Fail]
        self.loads = []     # the 1-minute load average before each workload
        self.notes = []     # free-text notes on partial results
        self.details = {}   # workload -> side -> raw figures, for results.json
        self.fail_notes = []  # (number, text)

    # -- namespaces
    def setup(self):
        shutil.rmtree(self.logdir, ignore_errors=True)
        os.makedirs(self.logdir, exist_ok=True)
        for ns in (self.ns_a, self.ns_b, self.ns_t):
            sh("ip", "netns", "add", ns)
            self.made_ns.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.ns_a, "link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b",
           "netns", self.ns_b)
        sh("ip", "-n", self.ns_a, "addr", "add", "192.0.2.101/24", "dev", "veth-a")
        sh("ip", "-n", self.ns_b, "addr", "add", "192.0.2.102/24", "dev", "veth-b")
        sh("ip", "-n", self.ns_a, "link", "set", "veth-a", "up")
        sh("ip", "-n", self.ns_b, "link", "set", "veth-b", "up")
        # Multi-queue, so that pstack attaches PSTACK_QUEUES queues (by default one per CPU);
        # PSTACK_QUEUES=1: the single-queue device of before.
        # A queue column with more than one queue needs the multi-queue device too.
        one = os.environ.get("PSTACK_QUEUES", "").strip() == "1" and not any(
            int(s.env["PSTACK_QUEUES"]) > 1 for s in self.queue_sides)
        mq = [] if one else ["multi_queue"]
        sh("ip", "-n", self.ns_t, "tuntap", "add", "dev", "tap0", "mode", "tap", *mq)
        # The queue length the stack gives a TAP it creates (stack/dev/tap.c, TAP_TXQLEN):
        # this tap0 is made here, persistent, and the stack only attaches to it.
        sh("ip", "-n", self.ns_t, "link", "set", "tap0", "txqueuelen", str(TAP_TXQLEN))
        sh("ip", "-n", self.ns_t, "addr", "add", "192.0.2.1/24", "dev", "tap0")
        sh("ip", "-n", self.ns_t, "link", "set", "tap0", "up")

    def teardown(self):
        stop_all()
        for ns in self.made_ns:
            sh("ip", "netns", "del", ns, check=False)
        self.made_ns = []

    def tap_bytes(self):
        """(bytes the stack wrote into tap0, bytes the kernel sent to the stack)."""
        out = sh("ip", "netns", "exec", self.ns_t, "cat", "/sys/class/net/tap0/statistics/rx_bytes",
                 "/sys/class/net/tap0/statistics/tx_bytes", check=False).split()
        return (int(out[0]), int(out[1])) if len(out) == 2 else (0, 0)

    def link_stats(self, side):
        """The SUT link's counters, host side: tap0 in the pstack namespace, the peer's end of
        the veth pair (veth-a) for the kernel. rx = what the SUT sent, tx = what it was sent;
        tx_dropped = frames for the SUT that the host-side device dropped (a full TAP queue)."""
        ns, dev = (self.ns_t, "tap0") if side.preload else (self.ns_a, "veth-a")
        try:
            j = json.loads(sh("ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev))[0]["stats64"]
            return {"rx_bytes": j["rx"]["bytes"], "tx_bytes": j["tx"]["bytes"],
                    "rx_dropped": j["rx"]["dropped"], "tx_dropped": j["tx"]["dropped"]}
        except (RuntimeError, ValueError, KeyError, IndexError, subprocess.SubprocessError):
            return None

    def sock_mem(self, side):
        """Bytes of kernel socket memory held by the SUT's TCP sockets: the sum over the
        sockets whose local address is the SUT's of rmem_alloc + wmem_queued + forward_alloc
        (ss -tm's r, w and f: what the kernel charges to tcp_memory_allocated, the figure
        /proc/net/sockstat's TCP "mem" adds up in pages over the whole machine). Under pstack
        the SUT has no kernel TCP socket with its address (its buffers are in its RSS): 0.
        ss lists every TCP socket of the SUT's namespace and the address is picked here, not
        by an ss filter: the pstack namespace holds the peer's sockets too, so both columns
        pay the same for the listing (at 1000 connections a tenth of a second of CPU)."""
        try:
            out = sh("ip", "netns", "exec", side.sut_ns, "ss", "-tmnH")
        except (RuntimeError, subprocess.SubprocessError):
            return None
        total = 0
        for m in re.finditer(r"^\S+\s+\d+\s+\d+\s+(\S+):\d+\s+\S+.*\n\s*skmem:\(([^)]*)\)", out, re.M):
            if m.group(1).strip("[]").removeprefix("::ffff:") != side.sut_addr:
                continue
            f = dict(re.findall(r"([a-z]+)(\d+)", m.group(2)))
            total += int(f.get("r", 0)) + int(f.get("w", 0)) + int(f.get("f", 0))
        return total

    def data_file(self):
        """The bytes the nc and curl rows move: XFER_BYTES of random data, made once."""
        d = os.path.join(self.bindir, "data")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "xfer")
        if not os.path.exists(path) or os.path.getsize(path) != XFER_BYTES:
            with open(path, "wb") as f:
                left = XFER_BYTES
                while left:
                    n = min(left, 1 << 20)
                    f.write(os.urandom(n))
                    left -= n
        return path

    def start_triggered(self, name, ns, argv, preload, stdin="/dev/null"):
        """Starts `argv` as far as a shell that waits for a line on fd 3, then execs it: the
        namespace entry and the shell's start are done before the clock starts. Returns
        (proc, fire) where fire() starts the program and returns time.monotonic()."""
        r, w = os.pipe()
        try:
            p = self.start(name, ns, ["sh", "-c", 'read -r _ <&3 && exec "$@" 3<&-', "sh"] + argv,
                           preload, stdin=stdin, fd3=r)
        finally:
            os.close(r)
        # Ready when the shell (after ip netns exec and env have exec'd into it) sleeps in read.
        deadline = time.monotonic() + READY_WAIT
        while True:
            try:
                with open(f"/proc/{p.pid}/stat") as f:
                    st = f.read()
                comm = st[st.index("(") + 1:st.rindex(")")]
                state = st[st.rindex(")") + 2]
                if comm == "sh" and state == "S":
                    break
            except (OSError, ValueError):
                pass
            if p.poll() or time.monotonic() >= deadline:
                os.close(w)
                p.stop()
                raise Fail(f"{name}: the shell that starts it did not come up: {p.tail()}")
            time.sleep(0.005)

        def fire():
            t = time.monotonic()
            os.write(w, b"go\n")
            os.close(w)
            return t
        return p, fire

    def next_port(self):
        self.port += 1
        return str(self.port)

    def tool(self, name):
        p = os.path.join(self.bindir, name)
        if os.access(p, os.X_OK):
            return p
        raise Fail(f"{p} is missing (run.sh builds it)")

    # -- helpers for workloads
    def need(self, prog):
        if not shutil.which(prog):
            raise Fail(f"{prog} is not installed (make deps)")

    def start(self, name, ns, argv, preload, **kw):
        if preload and not os.path.exists(self.lib):
            raise Fail(f"{self.lib} is missing (make all)")
        return Proc(self, name, ns, argv, preload, **kw)

    def start_server(self, name, ns, argv, preload, ready, **kw):
        """Starts a server and waits until its output matches `ready`."""
        p = self.start(name, ns, argv, preload, **kw)
        deadline = time.monotonic() + READY_WAIT
        pat = re.compile(ready)
        while True:
            if pat.search(p.text("out")) or pat.search(p.text("err")):
                return p
            if p.poll():
                raise Fail(f"{name} ended ({p.exit_text()}) before it listened: {p.tail()}")
            if time.monotonic() >= deadline:
                p.stop()
                raise Fail(f"{name} did not say it listens within {READY_WAIT} s: {p.tail()}")
            time.sleep(0.05)

    def run_client(self, name, ns, argv, preload, duration, tick=None, every=0.5):
        """Runs a client to its end (at most duration + GRACE s); tick(), when given, is
        called every `every` seconds meanwhile (to sample the server's memory, or where
        the two ends of a ping-pong run)."""
        return self.wait_client(self.start(name, ns, argv, preload), duration, tick, every)

    def wait_client(self, p, duration, tick=None, every=0.5):
        """run_client's wait, for a client started by hand."""
        name = p.name
        deadline = time.monotonic() + duration + GRACE
        if tick:
            while not p.wait(min(every, max(0.0, deadline - time.monotonic()))) and time.monotonic() < deadline:
                tick()
        if not p.wait(max(0.0, deadline - time.monotonic())):
            p.stop()
            raise Fail(f"{name} did not finish within {duration + GRACE:.0f} s "
                       f"(run {duration:.0f} s): {p.tail()}")
        return p

    def srv_argv(self, mode, addr, port):
        return [self.tool("bench_srv"), mode, addr, port, MUX]

    def cli_argv(self, mode, addr, port, conns, seconds):
        a = [self.tool("bench_cli"), mode, addr, port, "-c", str(conns), "-t", f"{seconds:g}"]
        return a + (["-p"] if MUX == "poll" else [])

    # -- the workloads; each returns {metric: value} for one side or raises Fail
    def wl_iperf(self, side, streams, reverse, cc=None):
        self.need("iperf3")
        port = self.next_port()
        srv = self.start_server("iperf3-s", side.sut_ns,
                                ["iperf3", "-s", "-1", "-B", side.sut_addr, "-p", port, "--forceflush"],
                                side.preload, r"Server listening")
        try:
            argv = ["iperf3", "-c", side.sut_addr, "-p", port, "-t", f"{SECONDS:g}", "-P", str(streams),
                    "-J", "--connect-timeout", "3000"] + (["-R"] if reverse else []) + (["-C", cc] if cc else [])
            cli = self.run_client("iperf3-c", side.peer_ns, argv, False, SECONDS)
            if cli.ok():
                srv.wait(5)     # -1: it ends by itself after the test
        finally:
            srv.stop()
        try:
            j = json.loads(cli.text("out"))
        except ValueError:
            raise Fail(f"iperf3 client ({cli.exit_text()}) printed no JSON: {cli.tail()}")
        if j.get("error"):
            raise Fail(f"iperf3: {j['error']}; server: {srv.tail(3)}")
        try:
            rx = j["end"]["sum_received"]
            tx = j["end"]["sum_sent"]
        except KeyError:
            raise Fail(f"iperf3 JSON without end.sum_received: {cli.tail()}")
        gbytes = rx["bytes"] / 1e9
        if gbytes <= 0:
            raise Fail("iperf3 moved no data")
        cpu_sut, cpu_peer = srv.cpu(), cli.cpu()
        return {"gbps": rx["bits_per_second"] / 1e9, "_app_bytes": rx["bytes"],
                "cpu_per_gb": (cpu_sut + cpu_peer) / gbytes,
                "_raw": {"bytes": rx["bytes"], "seconds": rx["seconds"],
                         "retransmits": tx.get("retransmits"),
                         "cpu_sut_s": cpu_sut, "cpu_peer_s": cpu_peer}}

    def wl_sockperf(self, side, sut_serves, spin_us=0, by_hand=False, split=False):
        """sockperf ping-pong over TCP, sockperf as Debian installs it. Both ends are pinned
        (taskset) to LAT_CPU: on this machine's virtual CPUs a wake-up that crosses to the
        other CPU adds from 2 to more than 20 us per message, depending on the host (an
        interrupt to a halted vCPU), so where the scheduler happens to put the two ends
        decides the figure more than either stack does. split, and the busy-poll rows, put the peer on
        the other CPU (the spinning end needs its own). by_hand: sockperf's own defaults
        (message size) and no pinning, as `sockperf pp --tcp` is run by hand."""
        self.need("sockperf")
        port = self.next_port()
        if sut_serves:
            s_ns, s_addr, s_pre, c_ns, c_pre = side.sut_ns, side.sut_addr, side.preload, side.peer_ns, False
        else:
            s_ns, s_addr, s_pre, c_ns, c_pre = side.peer_ns, side.peer_addr, False, side.sut_ns, side.preload
        sut_cpu = None if by_hand else LAT_CPU
        peer_cpu = None if by_hand else (LAT_CPU_PEER_SPIN if spin_us or split else LAT_CPU)
        s_cpu, c_cpu = (sut_cpu, peer_cpu) if sut_serves else (peer_cpu, sut_cpu)

        # PSTACK_SPIN_US for the preloaded process only (the kernel column has no such setting).
        def wrap(argv, pre, cpu):
            if cpu is not None:
                argv = ["taskset", "-c", str(cpu)] + argv
            return ["env", f"PSTACK_SPIN_US={spin_us}"] + argv if spin_us and pre else argv
        srv = self.start_server("sockperf-s", s_ns,
                                wrap(["sockperf", "sr", "--tcp", "-i", s_addr, "-p", port], s_pre, s_cpu),
                                s_pre, r"block on socket|using \w+\(\) to block")
        # Where the two ends' main threads run (ip netns exec, env and taskset exec, so the
        # process we started is sockperf itself): sampled every 0.1 s, the evidence for
        # "Latency and CPU placement" in the report.
        placement = []
        cli = None

        def sample():
            a, b = last_cpu(srv.pid), last_cpu(cli.pid) if cli else None
            if a is not None and b is not None:
                placement.append((a, b))
        try:
            cli = self.start("sockperf-c", c_ns,
                             wrap(["sockperf", "pp", "--tcp", "-i", s_addr, "-p", port, "-t", f"{SHORT:g}"]
                                  + ([] if by_hand else ["-m", "64"]), c_pre, c_cpu), c_pre)
            self.wait_client(cli, SHORT, tick=sample, every=0.1)
        finally:
            if cli:
                cli.stop()
            srv.stop()
        text = re.sub(r"\x1b\[[0-9;]*m", "", cli.text("out") + cli.text("err"))
        avg = re.search(r"avg-latency=\s*([\d.]+)", text)
        p99 = re.search(r"percentile 99\.000 =\s*([\d.]+)", text)
        if not avg or not p99:
            raise Fail(f"sockperf client ({cli.exit_text()}) gave no latency: {cli.tail()}")
        obs = re.search(r"Total (\d+) observations", text)
        size = re.search(r"Message size\s*[:=]\s*(\d+)", text)
        res = {"lat_avg": float(avg.group(1)), "lat_p99": float(p99.group(1)),
               "_app_bytes": 2 * (int(size.group(1)) if size else 64) * int(obs.group(1)) if obs else 0,
               "_raw": {"observations": int(obs.group(1)) if obs else None,
                        "message_size": int(size.group(1)) if size else None,
                        "cpus": {"server": s_cpu, "client": c_cpu},
                        "placement_samples": len(placement),
                        "placement_same_cpu": sum(1 for a, b in placement if a == b)}}
        if placement:
            res["same_cpu"] = 100.0 * res["_raw"]["placement_same_cpu"] / len(placement)
        return res

    def wl_http_wrk(self, side):
        self.need("wrk")
        port = self.next_port()
        srv = self.start_server("httpd", side.sut_ns, self.srv_argv("http", side.sut_addr, port),
                                side.preload, r"^ready")
        try:
            probe = self.run_client("probe", side.peer_ns,
                                    [self.tool("bench_cli"), "probe", side.sut_addr, port, "-t", "5"], False, 5)
            if not probe.ok():
                raise Fail(f"no TCP connection to the server: {probe.tail()}")
            secs = max(1, int(round(SHORT)))
            cli = self.run_client("wrk", side.peer_ns,
                                  ["wrk", "-t1", "-c", str(HTTP_CONNS), "-d", f"{secs}s", "--latency",
                                   "-H", "Connection: close", f"http://{side.sut_addr}:{port}/"],
                                  False, secs)
        finally:
            srv.stop()
        text = cli.text("out")
        m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", text)
        if not m:
            raise Fail(f"wrk ({cli.exit_text()}) reported no requests: {cli.tail()}")
        n = int(m.group(1))
        el = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m.group(3)]
        if n == 0:
            raise Fail(f"wrk completed no request: {cli.tail()}")
        errs = re.search(r"Socket errors: (.*)", text)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        lat99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)", text, re.M)
        raw = {"requests": n, "seconds": el, "cpu_sut_s": srv.cpu(), "cpu_peer_s": cli.cpu(),
               "socket_errors": errs.group(1) if errs else "",
               "non_2xx": int(non2xx.group(1)) if non2xx else 0}
        if lat99:
            raw["lat_p99_us"] = float(lat99.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[lat99.group(2)]
        if errs or non2xx:
            self.notes.append(f"{side.name}, wrk -> server: {raw['socket_errors'] or ''} "
                              f"{'non-2xx ' + str(raw['non_2xx']) if non2xx else ''}".strip())
        return {"rate": n / el, "cpu_per_10k": (srv.cpu() + cli.cpu()) / (n / 1e4), "_raw": raw,
                "_app_bytes": 150 * n}

    def parse_cli(self, p, what, key="done"):
        line = p.text("out").strip().splitlines()
        kv = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line[-1])) if line else {}
        if not p.ok() or key not in kv:
            raise Fail(f"{what} ({p.exit_text()}): {p.tail()}")
        out = {}
        for k, v in kv.items():
            v = v.strip('"')
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
        return out

    def note_errors(self, side, what, r):
        if r.get("errors"):
            self.notes.append(f"{side.name}, {what}: {int(r['errors'])} failed connections or "
                              f"requests (last: {r.get('last_error') or '?'})")

    def wl_http_cli(self, side):
        port = self.next_port()
        srv = self.start_server("httpd", side.peer_ns, self.srv_argv("http", side.peer_addr, port),
                                False, r"^ready")
        try:
            cli = self.run_client("bench_cli-http", side.sut_ns,
                                  self.cli_argv("http", side.peer_addr, port, HTTP_CONNS, SHORT),
                                  side.preload, SHORT + 1)
        finally:
            srv.stop()
        r = self.parse_cli(cli, "bench_cli http")
        self.note_errors(side, "HTTP client -> kernel server", r)
        n = r["done"]
        return {"rate": r["rate"], "cpu_per_10k": (srv.cpu() + cli.cpu()) / (n / 1e4), "_app_bytes": 150 * n,
                "_raw": dict(r, cpu_sut_s=cli.cpu(), cpu_peer_s=srv.cpu())}

    def wl_exp_echo(self, side, expose):
        """One connection's 64-byte round trip, the SUT's bench_cli to the kernel's echo server;
        with `expose`, bench_cli -E fdopen()s the connection, which under the preload puts its
        data on the relay of the live kernel fd (issue 15): the relay's latency."""
        port = self.next_port()
        srv = self.start_server("echod", side.peer_ns, self.srv_argv("echo", side.peer_addr, port),
                                False, r"^ready")
        try:
            argv = self.cli_argv("echo", side.peer_addr, port, 1, SHORT) + (["-E"] if expose else [])
            cli = self.run_client("bench_cli-echo", side.sut_ns, argv, side.preload, SHORT + 5)
        finally:
            srv.stop()
        r = self.parse_cli(cli, "bench_cli echo -c 1" + (" -E" if expose else ""))
        self.note_errors(side, "echo, one connection" + (" (exposed)" if expose else ""), r)
        return {"lat_avg": r["lat_avg_us"], "lat_p99": r["lat_p99_us"], "_app_bytes": 128 * r["done"], "_raw": r}

    def wl_growth(self, side, mode, conns):
        port = self.next_port()
        srv = self.start_server(f"srv-{mode}-{conns}", side.sut_ns,
                                self.srv_argv("source" if mode == "bulk" else "echo", side.sut_addr, port),
                                side.preload, r"^ready")
        links0 = self.link_stats(side)
        mem, stat = [], []
        stat0 = sockstat_tcp_mem()

        def sample():
            m = self.sock_mem(side)
            if m is not None:
                mem.append(m)
            t = sockstat_tcp_mem()
            if t is not None:
                stat.append(t)
        try:
            # ss lists every socket of the namespace on each sample (a tenth of a second of
            # CPU at 1000 connections): with more, fewer samples, so that the listing does
            # not take a CPU away from the two programs it measures.
            cli = self.run_client(f"bench_cli-{mode}-{conns}", side.peer_ns,
                                  self.cli_argv(mode, side.sut_addr, port, conns, SHORT), False, SHORT + 7,
                                  tick=sample, every=max(0.5, conns / 2500))
            rss = srv.vm_kb("VmHWM")
        finally:
            srv.stop()
        links1 = self.link_stats(side)
        r = self.parse_cli(cli, f"bench_cli {mode} -c {conns}")
        self.note_errors(side, f"growth {mode} {conns} connections", r)
        if r.get("setup_s", 0) > 5:
            self.notes.append(f"{side.name}, growth {mode} {conns}: connecting took {r['setup_s']:.1f} s")
        rss_mib = rss / 1024 if rss else float("nan")
        # Sampled every half second while the client runs: the peak of those samples.
        sock_mib = max(mem) / 2**20 if mem else float("nan")
        res = {"rss": rss_mib, "sock_mem": sock_mib, "mem_total": rss_mib + sock_mib,
               "_raw": dict(r, rss_kb=rss, sock_mem_samples=mem, sockstat_before=stat0, sockstat_samples=stat)}
        if stat and stat0 is not None:
            # The machine's TCP memory, at its peak, above what it was before the server started.
            res["sockstat_mem"] = (max(stat) - stat0) / 2**20
        if links0 and links1:
            drops = {k: links1[k] - links0[k] for k in ("tx_dropped", "rx_dropped")}
            res["drops"] = float(drops["tx_dropped"])
            res["_raw"]["host_side_drops"] = drops
        res["_app_bytes"] = r["gbps"] * 1e9 / 8 * r["seconds"] if mode == "bulk" else 128 * r["done"]
        if mode == "bulk":
            res["gbps"] = r["gbps"]
        else:
            res["lat_avg"], res["lat_p99"] = r["lat_avg_us"], r["lat_p99_us"]
        return res

    # -- everyday programs: nc both ways, curl from python's http.server, curl's start
    def wl_xfer(self, side, kind):
        """XFER_BYTES with nc or curl. The clock runs from the moment the sending program (nc)
        or curl is exec'd (after the namespace entry: start_triggered) to the moment the
        receiving program ends: what `time` around the command shows, so the program's start
        (under the preload: the library's too) is inside. MB/s = 10^6 bytes per second."""
        data = self.data_file()
        port = self.next_port()
        pre = side.preload
        if kind == "curl":
            self.need("curl")
            srv = self.start_server("http.server", side.peer_ns,
                                    ["/usr/bin/python3", "-u", "-m", "http.server", "--bind", side.peer_addr,
                                     "--directory", os.path.dirname(data), port], False, r"Serving HTTP")
            rx, fire = self.start_triggered("curl", side.sut_ns,
                                            ["curl", "-sS", "-f", "-o", "/dev/null", "-w",
                                             "size=%{size_download} speed=%{speed_download} "
                                             "total=%{time_total} first=%{time_starttransfer}\n",
                                             f"http://{side.peer_addr}:{port}/{os.path.basename(data)}"], pre)
            tx = None
        elif kind in ("exp-recv", "exp-send"):
            # An exposed socket (issue 15): bash opens the connection (/dev/tcp) and a cat it
            # forks reads or writes it, so under the preload every byte goes through the
            # relay of the socket's live kernel fd. The same command on the kernel's side.
            self.need("nc")
            self.need("bash")
            recv = kind == "exp-recv"
            srv = self.start_server("nc-l", side.peer_ns, ["nc", "-n", "-v", "-N", "-l", side.peer_addr, port],
                                    False, r"Listening on", stdin=data if recv else "/dev/null",
                                    stdout="/dev/null")
            srv.expected_err = r"^(Listening on|Connection received on) "
            io = 'cat <&3 >/dev/null' if recv else 'cat "$1" >&3'
            prog, fire = self.start_triggered(
                "bash", side.sut_ns, ["bash", "-c", f'exec 3<>"/dev/tcp/$0/$2" && {io}',
                                      side.peer_addr, data, port], pre)
            # The receiver: bash (downloading), or the kernel's nc -l (uploading).
            rx, tx = (prog, None) if recv else (srv, prog)
        else:
            self.need("nc")
            if kind == "nc-recv":       # the SUT listens and receives, the kernel's nc sends
                r_ns, r_addr, r_pre, s_ns, s_pre = side.sut_ns, side.sut_addr, pre, side.peer_ns, False
            else:                       # the SUT sends to the kernel's nc -l
                r_ns, r_addr, r_pre, s_ns, s_pre = side.peer_ns, side.peer_addr, False, side.sut_ns, pre
            srv = rx = self.start_server("nc-l", r_ns, ["nc", "-n", "-v", "-l", r_addr, port], r_pre,
                                         r"Listening on", stdout="/dev/null")
            rx.expected_err = r"^(Listening on|Connection received on) "
            tx, fire = self.start_triggered("nc", s_ns, ["nc", "-n", "-N", r_addr, port], s_pre, stdin=data)
        limit = 60 + XFER_BYTES / 20e6      # 20 MB/s at least, or it is a failure
        try:
            t0 = fire()
            t1 = rx.wait_exit(limit)
            if t1 is None:
                raise Fail(f"{rx.name} did not end within {limit:.0f} s: {rx.tail()}")
            if tx and not tx.wait(15):
                raise Fail(f"{tx.name} (sender) did not end 15 s after the receiver: {tx.tail()}")
        finally:
            for p in (tx, rx, srv):
                if p:
                    p.stop()
        for p in (tx, rx):
            if p and not p.ok():
                raise Fail(f"{p.name} ({p.exit_text()}): {p.tail()}")
        raw = {"seconds": t1 - t0, "bytes": XFER_BYTES}
        if kind == "curl":
            m = dict(re.findall(r"(\w+)=([\d.]+)", rx.text("out")))
            if int(float(m.get("size", 0))) != XFER_BYTES:
                raise Fail(f"curl received {m.get('size', '?')} bytes, not {XFER_BYTES}: {rx.tail()}")
            raw.update({f"curl_{k}": float(v) for k, v in m.items()})
        return {"mbps": XFER_BYTES / 1e6 / (t1 - t0), "_app_bytes": XFER_BYTES, "_min_link_bytes": XFER_BYTES,
                "_raw": raw}

    def wl_exec(self, side):
        """Process start: bench_exec runs curl EXEC_RUNS times in a row, each a short GET from
        bench_srv (http) on the peer; per run, the time from the spawn to the body's first byte
        on curl's stdout (-N: unbuffered) and to its exit (under the preload the exit includes
        the library's last work: each connection's FIN exchange, PSTACK_LINGER_MS at most)."""
        self.need("curl")
        port = self.next_port()
        srv = self.start_server("httpd", side.peer_ns, self.srv_argv("http", side.peer_addr, port),
                                False, r"^ready")
        limit = max(30.0, EXEC_RUNS * 0.2)
        try:
            argv = [self.tool("bench_exec"), "-n", str(EXEC_RUNS), "-t", f"{limit:g}", "-T", "10"]
            argv += ["-P", self.lib] if side.preload else []
            argv += ["--", "curl", "-s", "-N", f"http://{side.peer_addr}:{port}/"]
            # bench_exec itself runs on the kernel's stack; -P preloads only curl.
            cli = self.run_client("bench_exec", side.sut_ns, argv, False, limit)
        finally:
            srv.stop()
        r = self.parse_cli(cli, "bench_exec", key="runs")
        if r.get("errors"):
            self.notes.append(f"{side.name}, curl start: {int(r['errors'])} of {int(r['runs'])} runs "
                              f"failed (last: {r.get('last_error') or '?'})")
        if r["runs"] < EXEC_RUNS:
            self.notes.append(f"{side.name}, curl start: only {int(r['runs'])} of {EXEC_RUNS} runs "
                              f"within {limit:g} s")
        return {"first_us": r["first_med_us"], "first_p99_us": r["first_p99_us"], "exit_us": r["run_med_us"],
                "rate": r["rate"],
                "_app_bytes": 150 * r["ok"], "_raw": r}

    # -- real servers: nginx and redis, the same configuration on both sides
    def wait_answers(self, srv, name, ns, probe, ok):
        """Waits until `probe` (a command run in ns, on the kernel side) succeeds and its output
        matches `ok`: the server is up and reachable. Servers that print nothing when ready."""
        deadline = time.monotonic() + READY_WAIT + 7     # the preload's first ARP/handshake included
        last = ""
        while True:
            if srv.poll():
                raise Fail(f"{name} ended ({srv.exit_text()}) before it answered: {srv.tail()}")
            try:
                r = subprocess.run(["ip", "netns", "exec", ns] + probe, stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=4)
                last = (r.stdout + r.stderr).strip()[-200:]
                if r.returncode == 0 and re.search(ok, r.stdout):
                    return
            except subprocess.TimeoutExpired:
                last = "probe timed out"
            if time.monotonic() >= deadline:
                raise Fail(f"{name} did not answer within {READY_WAIT + 7} s (probe: {last or 'no output'}); "
                           f"server: {srv.tail(3)}")
            time.sleep(0.1)

    def note_stop(self, side, what, srv):
        """A server that needed SIGKILL did not act on SIGTERM: worth knowing (a signal that did
        not interrupt a blocking call under the preload, for instance)."""
        if srv.status is not None and os.WIFSIGNALED(srv.status) and os.WTERMSIG(srv.status) == signal.SIGKILL:
            self.notes.append(f"{side.name}, {what}: the server did not end on SIGTERM within 3 s "
                              "(killed with SIGKILL)")

    def nginx_conf(self, side, port, workers=0):
        """nginx.conf for one run: one process (`daemon off; master_process off;`: one process
        on each side), serving a small page and 1 MiB with sendfile as Debian's nginx.conf does.
        The shape of tests/e2e/load.bats's, with the benchmark's address and port. workers > 0:
        nginx's own default instead, a master process and that many worker processes (forked:
        under the preload they reach the master's stack through relays)."""
        d = os.path.join(self.bindir, f"nginx-{side.name}")
        www = os.path.join(d, "www")
        os.makedirs(os.path.join(d, "logs"), exist_ok=True)
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        os.makedirs(www, exist_ok=True)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write(NGINX_PAGE)
        big = os.path.join(www, "1m")
        if not os.path.exists(big) or os.path.getsize(big) != NGINX_FILE:
            with open(big, "wb") as f:
                f.write(os.urandom(NGINX_FILE))
        t = os.path.join(d, "tmp")
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off;
master_process {"on" if workers else "off"};
worker_processes {workers or 1};
worker_rlimit_nofile 8192;
error_log stderr warn;
pid {d}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
	access_log off;
	sendfile on;
	tcp_nopush on;
	client_body_temp_path {t}/body;
	proxy_temp_path {t}/proxy;
	fastcgi_temp_path {t}/fastcgi;
	uwsgi_temp_path {t}/uwsgi;
	scgi_temp_path {t}/scgi;
	keepalive_requests 100000;
	server {{
		listen {side.sut_addr}:{port} backlog=4096;
		root {www};
	}}
}}
""")
        return d, conf

    def wl_nginx(self, side, path, conns, workers=0):
        self.need("nginx")
        self.need("wrk")
        self.need("curl")
        port = self.next_port()
        d, conf = self.nginx_conf(side, port, workers)
        srv = self.start("nginx", side.sut_ns, ["nginx", "-p", d, "-c", conf, "-e", "stderr"], side.preload)
        url = f"http://{side.sut_addr}:{port}/{path}"
        secs = max(1, int(round(SECONDS)))
        try:
            self.wait_answers(srv, "nginx", side.peer_ns,
                              ["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                               f"http://{side.sut_addr}:{port}/index.html"], r"^200$")
            cli = self.run_client("wrk-nginx", side.peer_ns,
                                  ["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--latency", url], False, secs)
        finally:
            srv.stop()
            self.note_stop(side, f"nginx /{path}", srv)
        text = cli.text("out")
        m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)([KMGT]?B) read", text)
        if not m:
            raise Fail(f"wrk ({cli.exit_text()}) reported no requests: {cli.tail()}")
        n = int(m.group(1))
        el = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m.group(3)]
        nbytes = float(m.group(4)) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}[m.group(5)]
        if n == 0:
            raise Fail(f"wrk completed no request: {cli.tail()}")
        se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        lat99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)", text, re.M)
        sock = [int(x) for x in se.groups()] if se else [0, 0, 0, 0]
        raw = {"requests": n, "seconds": el, "bytes_read": nbytes, "cpu_sut_s": srv.cpu(),
               "cpu_peer_s": cli.cpu(), "server_exit": srv.exit_text(),
               "socket_errors": dict(zip(("connect", "read", "write", "timeout"), sock)),
               "non_2xx": int(non2xx.group(1)) if non2xx else 0}
        errors = sum(sock) + raw["non_2xx"]
        if errors:
            self.notes.append(f"{side.name}, nginx /{path}: wrk counted {errors} errors (socket errors: "
                              f"connect {sock[0]}, read {sock[1]}, write {sock[2]}, timeout {sock[3]}; "
                              f"non-2xx {raw['non_2xx']}) in {n} requests")
        res = {"rate": n / el, "gbps": nbytes * 8 / el / 1e9, "errors": float(errors),
               "cpu_per_10k": (srv.cpu() + cli.cpu()) / (n / 1e4), "_raw": raw, "_app_bytes": nbytes}
        if lat99:
            res["lat_p99"] = raw["lat_p99_us"] = float(lat99.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[lat99.group(2)]
        return res

    def wl_redis(self, side):
        self.need("redis-server")
        self.need("redis-benchmark")
        self.need("redis-cli")
        port = self.next_port()
        d = os.path.join(self.bindir, f"redis-{side.name}")
        os.makedirs(d, exist_ok=True)
        srv = self.start("redis-server", side.sut_ns,
                         ["redis-server", "--port", port, "--bind", side.sut_addr, "--protected-mode", "no",
                          "--save", "", "--appendonly", "no", "--dir", d], side.preload)
        try:
            self.wait_answers(srv, "redis-server", side.peer_ns,
                              ["redis-cli", "-h", side.sut_addr, "-p", port, "ping"], r"PONG")
            # At 5,000 requests/s per test it would still end in time; slower is a failure.
            limit = max(30.0, len(REDIS_TESTS) * REDIS_N / 5000)
            cli = self.run_client("redis-benchmark", side.peer_ns,
                                  ["redis-benchmark", "-h", side.sut_addr, "-p", port, "-n", str(REDIS_N),
                                   "-c", "50", "-t", ",".join(REDIS_TESTS), "--csv"], False, limit)
        finally:
            srv.stop()
            self.note_stop(side, "redis-server", srv)
        # --csv: a header line, then "TEST","rps","avg_ms","min_ms","p50_ms","p95_ms","p99_ms","max_ms".
        rates, p99s = {}, {}
        for line in cli.text("out").splitlines():
            f = [x.strip('"') for x in line.strip().split(",")]
            if len(f) >= 7 and f[0].lower() in REDIS_TESTS:
                try:
                    rates[f[0].lower()] = float(f[1])
                    p99s[f[0].lower()] = float(f[6]) * 1000
                except ValueError:
                    pass
        # redis-benchmark 7 stops at the first error reply or connection error (exit 1); any
        # line that says error is counted, whatever the exit.
        err_lines = [l.strip() for l in (cli.text("out") + "\n" + cli.text("err")).splitlines()
                     if re.search(r"[Ee]rror|ERR", l)]
        if err_lines:
            self.notes.append(f"{side.name}, redis-benchmark: {len(err_lines)} error lines "
                              f"(first: {err_lines[0][:200]})")
        if not cli.ok() or len(rates) != len(REDIS_TESTS):
            missing = [t for t in REDIS_TESTS if t not in rates]
            raise Fail(f"redis-benchmark ({cli.exit_text()}) gave no figure for {', '.join(missing) or '-'}: "
                       f"{cli.tail()}")
        total = REDIS_N * len(REDIS_TESTS)
        res = {f"rps_{t}": v for t, v in rates.items()}
        res.update({f"p99_{t}": v for t, v in p99s.items()})
        res["errors"] = float(len(err_lines))
        res["cpu_per_10k"] = (srv.cpu() + cli.cpu()) / (total / 1e4)
        # A request and its reply are some 30 to 60 bytes of payload each way.
        res["_app_bytes"] = 40 * total
        res["_raw"] = {"requests_per_test": REDIS_N, "rps": rates, "p99_us": p99s, "error_lines": err_lines[:5],
                       "cpu_sut_s": srv.cpu(), "cpu_peer_s": cli.cpu(), "server_exit": srv.exit_text()}
        return res

    # -- the plan
    def workloads(self):
        """(key, seconds one run takes on one side, about, function of the side)."""
        w = []
        # What users run, first: the rows of issue 16's table.
        w.append(("nc-recv", 5 + XFER_BYTES / 100e6, lambda s: self.wl_xfer(s, "nc-recv")))
        w.append(("nc-send", 5 + XFER_BYTES / 100e6, lambda s: self.wl_xfer(s, "nc-send")))
        w.append(("curl-64m", 5 + XFER_BYTES / 100e6, lambda s: self.wl_xfer(s, "curl")))
        w.append(("curl-start", 3 + EXEC_RUNS * 0.05, self.wl_exec))
        # The live placeholder's relay (issue 15): what an exposed socket costs.
        w.append(("exp-recv", 5 + XFER_BYTES / 100e6, lambda s: self.wl_xfer(s, "exp-recv")))
        w.append(("exp-send", 5 + XFER_BYTES / 100e6, lambda s: self.wl_xfer(s, "exp-send")))
        w.append(("echo-1", SHORT + 3, lambda s: self.wl_exp_echo(s, False)))
        w.append(("exp-echo", SHORT + 3, lambda s: self.wl_exp_echo(s, True)))
        for streams in (1, 4):
            for rev in (False, True):
                key = f"iperf3-{streams}-{'from' if rev else 'to'}"
                w.append((key, SECONDS + 3, lambda s, a=streams, b=rev: self.wl_iperf(s, a, b)))
        # The kernel peer's congestion control shapes what a receiver gets (BBR paces and
        # sizes its window from the ACK clock it sees): the receive rows once more with CUBIC.
        w.append(("iperf3-4-to-cubic", SECONDS + 3, lambda s: self.wl_iperf(s, 4, False, "cubic")))
        w.append(("sockperf-hand", SHORT + 3, lambda s: self.wl_sockperf(s, True, by_hand=True)))
        w.append(("sockperf-to", SHORT + 3, lambda s: self.wl_sockperf(s, True)))
        w.append(("sockperf-from", SHORT + 3, lambda s: self.wl_sockperf(s, False)))
        if LAT_CPU is not None:
            w.append(("sockperf-split", SHORT + 3, lambda s: self.wl_sockperf(s, True, split=True)))
        w.append(("sockperf-to-spin", SHORT + 3, lambda s: self.wl_sockperf(s, True, SPIN_US)))
        w.append(("sockperf-from-spin", SHORT + 3, lambda s: self.wl_sockperf(s, False, SPIN_US)))
        w.append(("http-wrk", SHORT + 3, self.wl_http_wrk))
        w.append(("http-cli", SHORT + 3, self.wl_http_cli))
        w.append(("nginx-small", SECONDS + 5, lambda s: self.wl_nginx(s, "index.html", NGINX_CONNS)))
        w.append(("nginx-1m", SECONDS + 5, lambda s: self.wl_nginx(s, "1m", NGINX_1M_CONNS)))
        w.append(("nginx-workers", SECONDS + 5,
                  lambda s: self.wl_nginx(s, "index.html", NGINX_CONNS, NGINX_WORKERS)))
        w.append(("redis", 5 + len(REDIS_TESTS) * REDIS_N / 40000, self.wl_redis))
        for n in CONNS:
            extra = n / 500     # connecting and closing many connections takes its time
            w.append((f"growth-bulk-{n}", SHORT + 4 + extra, lambda s, n=n: self.wl_growth(s, "bulk", n)))
            w.append((f"growth-echo-{n}", SHORT + 4 + extra, lambda s, n=n: self.wl_growth(s, "echo", n)))
        return [x for x in w if ONLY.search(x[0])]

    def check_tap(self, res, before):
        """Proves the pstack figures went through the stack: a socket call that escaped the
        preload would silently use the kernel, and loopback would look very fast."""
        after = self.tap_bytes()
        up, down = after[0] - before[0], after[1] - before[1]
        need = max(res.get("_app_bytes", 0) / 2, res.get("_min_link_bytes", 0))
        res.setdefault("_raw", {}).update({"tap_stack_to_kernel": up, "tap_kernel_to_stack": down})
        if up + down < max(1000, need):
            raise Fail(f"the traffic did not go through tap0 (stack->kernel {up} B, kernel->stack "
                       f"{down} B, expected at least {need:.0f} B): the preload did not serve the sockets")
        return res

    def check_link(self, res, before, side):
        """The kernel column's counterpart for the rows that cannot count the bytes the
        program received (nc writes them to /dev/null): they crossed the veth pair."""
        after = self.link_stats(side)
        if not before or not after:
            return res
        moved = after["rx_bytes"] - before["rx_bytes"] + after["tx_bytes"] - before["tx_bytes"]
        res.setdefault("_raw", {})["veth_bytes"] = moved
        if moved < res["_min_link_bytes"]:
            raise Fail(f"only {moved} B crossed the veth pair, expected at least {res['_min_link_bytes']} B")
        return res

    def run_one(self, key, fn, side):
        """One repetition of one workload on one side: its figures, or Fail."""
        self.procs = []
        self.preload_env = side.env
        tap0 = self.tap_bytes() if side.preload else None
        link0 = None if side.preload else self.link_stats(side)
        try:
            res = fn(side)
            if tap0:
                res = self.check_tap(res, tap0)
            elif "_min_link_bytes" in res:
                res = self.check_link(res, link0, side)
            for p in self.procs:
                if p.preload and p.said():
                    self.notes.append(f"{side.name}, {key}: {p.name} (preloaded) said: {p.tail(2)}")
        except Fail as e:
            res = e
            # What the preloaded program said is usually the reason.
            said = [f"{p.name} stderr: {p.tail(4)}" for p in self.procs
                    if p.preload and p.text("err").strip()
                    and p.text("err").strip().splitlines()[-1].strip() not in str(e)]
            if said:
                res = Fail(f"{e}; " + "; ".join(said))
        except Abort:
            raise
        except Exception as e:      # a bug here must not lose the other rows
            res = Fail(f"harness error: {type(e).__name__}: {e}")
        stop_all()
        return res

    def run(self):
        """Every workload REPS times on each side, the sides interleaved and their order
        alternating (kernel first, then pstack first, ...), so that a slow minute on the
        shared machine or a warm cache does not favour one column."""
        for key, est, fn in self.workloads():
            self.loads.append(float(read_text("/proc/loadavg").split()[0]))
            sides = self.sides + (self.queue_sides if key in QUEUE_KEYS else [])
            for rep in range(REPS):
                order = sides if rep % 2 == 0 else sides[::-1]
                skip = BUDGET - (time.monotonic() - T0) < 2 * est
                for side in order:
                    if skip:
                        res = Fail(f"skipped: the time budget (BENCH_BUDGET={BUDGET:g} s) is used up")
                    else:
                        t = time.monotonic()
                        res = self.run_one(key, fn, side)
                        log(f"{key:18} {rep + 1}/{REPS} {side.name:9} {time.monotonic() - t:5.1f}s  {summary(res)}")
                    self.samples.setdefault((key, side.name), []).append(res)
                    self.details.setdefault(key, {}).setdefault(side.name, []).append(
                        {"failed": str(res)} if isinstance(res, Fail) else
                        dict(res.get("_raw", {}), figures={k: v for k, v in res.items() if not k.startswith("_")}))

    def stat(self, key, metric, side, count=False):
        """A Stat of the metric over the repetitions that measured it; else the first Fail
        (or None when the workload did not run)."""
        runs = self.samples.get((key, side), [])
        vals = [r[metric] for r in runs if not isinstance(r, Fail) and isinstance(r.get(metric), (int, float))
                and not math.isnan(r[metric])]
        fails = [r for r in runs if isinstance(r, Fail)]
        if not vals:
            return fails[0] if fails else None
        return Stat(vals, len(runs), fails, count)


class Stat:
    """The figures of one metric over the repetitions: median, min, max (counts: the sum)."""

    def __init__(self, vals, runs, fails, count):
        self.vals, self.runs, self.fails, self.count = vals, runs, fails, count
        self.value = float(sum(vals)) if count else statistics.median(vals)
        self.lo, self.hi = min(vals), max(vals)


def summary(res):
    if isinstance(res, Fail):
        return "FAILED: " + str(res)[:300]
    return " ".join(f"{k}={v:.4g}" for k, v in res.items() if not k.startswith("_") and isinstance(v, (int, float)))


# ---- the table ------------------------------------------------------------------

GE, LE = (">=", 1.0), ("<=", 1.0)     # issue 16's goal: rates at or above the kernel's, times at or below


def rows():
    """(workload key, metric, label, unit, target, flags) in table order; target is (op, ratio)
    or None; flags: "count" (the cell is the sum over the repetitions), "noratio"."""
    r = []
    mib = f"{XFER_MIB:g} MiB"
    r.append(("nc-recv", "mbps", f"`nc -l` on the SUT receiving {mib} from the kernel's `nc`", "MB/s", GE, ""))
    r.append(("nc-send", "mbps", f"`nc` on the SUT sending {mib} to the kernel's `nc -l`", "MB/s", GE, ""))
    r.append(("curl-64m", "mbps", f"`curl` on the SUT downloading {mib} from python's http.server", "MB/s", GE, ""))
    r.append(("exp-recv", "mbps", f"exposed socket: `cat` forked by bash reading {mib} from "
              "`bash`'s /dev/tcp connection (kernel `nc -l` sends)", "MB/s", GE, ""))
    r.append(("exp-send", "mbps", f"exposed socket: `cat` forked by bash writing {mib} into "
              "`bash`'s /dev/tcp connection (kernel `nc -l` receives)", "MB/s", GE, ""))
    for key, what in (("echo-1", "one connection"), ("exp-echo", "one exposed connection (bench_cli -E: fdopen)")):
        r.append((key, "lat_avg", f"64-byte echo RTT, SUT client -> kernel echo server, {what}, avg", "us", LE, ""))
        r.append((key, "lat_p99", f"64-byte echo RTT, SUT client -> kernel echo server, {what}, p99", "us", LE, ""))
    r.append(("curl-start", "first_us", "`curl` start: exec to the first byte of a short GET (median of the runs)",
              "us", LE, ""))
    r.append(("curl-start", "first_p99_us", "`curl` start: exec to the first byte of a short GET (p99 of the runs)",
              "us", LE, ""))
    r.append(("curl-start", "exit_us", "`curl` start to exit: exec to the end of the process (median of the runs)",
              "us", LE, ""))
    for streams in (1, 4):
        s = "1 stream" if streams == 1 else f"{streams} streams"
        r.append((f"iperf3-{streams}-to", "gbps", f"iperf3 {s}, peer -> SUT", "Gbit/s", GE, ""))
        r.append((f"iperf3-{streams}-from", "gbps", f"iperf3 {s}, SUT -> peer", "Gbit/s", GE, ""))
    r.append(("iperf3-4-to-cubic", "gbps", "iperf3 4 streams, peer -> SUT, peer sends with CUBIC (-C cubic)",
              "Gbit/s", GE, ""))
    r.append(("sockperf-hand", "lat_avg", "`sockperf pp --tcp` by hand (its defaults, no pinning), peer client, avg",
              "us", LE, ""))
    r.append(("sockperf-hand", "lat_p99", "`sockperf pp --tcp` by hand (its defaults, no pinning), peer client, p99",
              "us", LE, ""))
    r.append(("sockperf-hand", "same_cpu", "`sockperf pp --tcp` by hand: samples with both ends on one CPU",
              "%", None, "noratio"))
    pin = "" if LAT_CPU is None else f", both on CPU {LAT_CPU}"
    r.append(("sockperf-to", "lat_avg", f"sockperf ping-pong -m 64, peer client{pin}, avg", "us", LE, ""))
    r.append(("sockperf-to", "lat_p99", f"sockperf ping-pong -m 64, peer client{pin}, p99", "us", LE, ""))
    r.append(("sockperf-from", "lat_avg", f"sockperf ping-pong -m 64, SUT client{pin}, avg", "us", LE, ""))
    r.append(("sockperf-from", "lat_p99", f"sockperf ping-pong -m 64, SUT client{pin}, p99", "us", LE, ""))
    if LAT_CPU is None:
        for k, who in (("sockperf-to", "peer"), ("sockperf-from", "SUT")):
            r.append((k, "same_cpu", f"sockperf ping-pong -m 64, {who} client: samples with both ends on one CPU",
                      "%", None, "noratio"))
    if LAT_CPU is not None:
        two = f"SUT on CPU {LAT_CPU}, peer on CPU {LAT_CPU_PEER_SPIN}"
        r.append(("sockperf-split", "lat_avg", f"sockperf ping-pong -m 64, peer client, on two CPUs ({two}), avg",
                  "us", LE, ""))
        r.append(("sockperf-split", "lat_p99", f"sockperf ping-pong -m 64, peer client, on two CPUs ({two}), p99",
                  "us", LE, ""))
    spin = f"PSTACK_SPIN_US={SPIN_US}" + ("" if LAT_CPU is None else
                                          f", SUT on CPU {LAT_CPU}, peer on CPU {LAT_CPU_PEER_SPIN}")
    half = ("<=", 0.5)
    r.append(("sockperf-to-spin", "lat_avg", f"sockperf ping-pong -m 64, peer client, avg, {spin}", "us", half, ""))
    r.append(("sockperf-to-spin", "lat_p99", f"sockperf ping-pong -m 64, peer client, p99, {spin}", "us", half, ""))
    r.append(("sockperf-from-spin", "lat_avg", f"sockperf ping-pong -m 64, SUT client, avg, {spin}", "us", half, ""))
    r.append(("sockperf-from-spin", "lat_p99", f"sockperf ping-pong -m 64, SUT client, p99, {spin}", "us", half, ""))
    r.append(("http-wrk", "rate", f"HTTP conn/s, wrk -c{HTTP_CONNS} -> SUT server", "req/s", GE, ""))
    r.append(("http-cli", "rate", f"HTTP conn/s, SUT client -c{HTTP_CONNS} -> kernel server", "req/s", GE, ""))
    r.append(("iperf3-1-to", "cpu_per_gb", "CPU per GB, iperf3 1 stream peer -> SUT", "s/GB", LE, ""))
    r.append(("iperf3-1-from", "cpu_per_gb", "CPU per GB, iperf3 1 stream SUT -> peer", "s/GB", LE, ""))
    r.append(("iperf3-4-to-cubic", "cpu_per_gb", "CPU per GB, iperf3 4 streams peer -> SUT, peer sends with CUBIC",
              "s/GB", LE, ""))
    r.append(("http-wrk", "cpu_per_10k", "CPU per 10k requests, wrk -> SUT server", "s/10k", LE, ""))
    r.append(("http-cli", "cpu_per_10k", "CPU per 10k requests, SUT client -> kernel", "s/10k", LE, ""))
    for key, what, conns in (("nginx-small", "small page", NGINX_CONNS), ("nginx-1m", "1 MiB file", NGINX_1M_CONNS),
                             ("nginx-workers", f"small page, master and {NGINX_WORKERS} workers", NGINX_CONNS)):
        w = f"nginx {what}, wrk -t2 -c{conns}"
        r.append((key, "rate", f"{w} -> SUT", "req/s", GE, ""))
        if key == "nginx-1m":
            r.append((key, "gbps", f"{w}: throughput", "Gbit/s", GE, ""))
        r.append((key, "lat_p99", f"{w}: latency p99", "us", LE, ""))
        r.append((key, "errors", f"{w}: errors (socket + non-2xx), all runs", "count", None, "count"))
        r.append((key, "cpu_per_10k", f"CPU per 10k requests, nginx {what}", "s/10k", LE, ""))
    for t in REDIS_TESTS:
        r.append(("redis", f"rps_{t}", f"redis-benchmark -c50 {t.upper()} -> SUT", "req/s", GE, ""))
    for t in REDIS_TESTS:
        r.append(("redis", f"p99_{t}", f"redis-benchmark -c50 {t.upper()}: latency p99", "us", LE, ""))
    r.append(("redis", "errors", "redis-benchmark: errors (it stops at the first), all runs", "count", None, "count"))
    r.append(("redis", "cpu_per_10k", "CPU per 10k requests, redis-benchmark", "s/10k", LE, ""))
    for n in CONNS:
        c = f"{n} conn" + ("s" if n != 1 else "")
        r.append((f"growth-bulk-{n}", "gbps", f"growth {c}: throughput SUT -> peer", "Gbit/s", GE, ""))
        r.append((f"growth-echo-{n}", "lat_avg", f"growth {c}: echo RTT avg", "us", LE, ""))
        r.append((f"growth-echo-{n}", "lat_p99", f"growth {c}: echo RTT p99", "us", LE, ""))
        for mode in ("bulk", "echo"):
            r.append((f"growth-{mode}-{n}", "mem_total",
                      f"growth {c} ({mode}): SUT memory, peak RSS + kernel socket memory (see Memory)", "MiB",
                      None, ""))
        if n >= 100:
            for mode in ("bulk", "echo"):
                r.append((f"growth-{mode}-{n}", "drops",
                          f"growth {c} ({mode}): frames dropped host-side towards the SUT "
                          "(tap0 / veth tx_dropped), all runs", "count", None, "count noratio"))
    return r


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, int):      # counts
        return f"{v:,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    if v == 0:
        return "0"
    return f"{v:.3f}"


class Cells:
    """A table's cells: each side's median and its spread, failures numbered in a list of notes
    ("prefix" before the numbers, so that two tables' lists do not mix)."""

    def __init__(self, b, prefix=""):
        self.b, self.prefix = b, prefix
        self.fails = {}     # reason text -> number
        self.order = []

    def number(self, side, key, f):
        text = f"{side}, {key}: {f}"
        if len(text) > 700:
            text = text[:700] + " [...]"
        if text not in self.fails:
            self.fails[text] = f"{self.prefix}{len(self.fails) + 1}"
            self.order.append(text)
        return self.fails[text]

    def cell(self, key, metric, side, count):
        """(value or None, the cell's text, its spread's text)."""
        v = self.b.stat(key, metric, side, count)
        if isinstance(v, Fail):
            word = "skipped" if str(v).startswith("skipped") else "failed"
            return None, f"{word} ({self.number(side, key, v)})", ""
        if v is None:
            return None, "not run", ""
        if count:
            spread = " + ".join(fmt(int(x)) for x in v.vals) if len(v.vals) > 1 else ""
            return v.value, fmt(int(v.value)), spread
        spread = f"{fmt(v.lo)}–{fmt(v.hi)}" if len(v.vals) > 1 else ""
        if len(v.vals) < v.runs:
            spread += f" ({len(v.vals)}/{v.runs}: " + ", ".join(f"{'skipped' if str(f).startswith('skipped') else 'failed'} "
                                                                f"({self.number(side, key, f)})" for f in v.fails) + ")"
        return v.value, fmt(v.value), spread.strip()

    def notes(self):
        return [f"({self.fails[t]}) {t}" for t in self.order]


def build_table(b):
    """Returns (header, lines as lists of cells, failure notes). Each side: the median of its
    repetitions and their spread (min-max; "k/n" when only k of n repetitions measured it)."""
    cells = Cells(b)
    cell = cells.cell
    lines = []
    keys = {k for k, _ in b.samples}
    for key, metric, label, unit, target, flags in rows():
        if key not in keys:
            continue
        count = "count" in flags
        kv, kt, ks = cell(key, metric, "kernel", count)
        pv, pt, ps = cell(key, metric, "pstack", count)
        if kv is None and pv is None and kt == pt == "not run":
            continue
        ratio = f"{pv / kv:.2f}" if kv and pv is not None and "noratio" not in flags else "n/a"
        tgt = ""
        if target:
            op, x = target
            tgt = f"{'≥' if op == '>=' else '≤'} {x:g}"
            if kv and pv is not None:
                met = (pv / kv >= x) if op == ">=" else (pv / kv <= x)
                tgt += " met" if met else " not met"
        lines.append([label, unit, kt, ks, pt, ps, ratio, tgt])
    head = ["workload", "unit", "kernel", "kernel min–max", "pstack", "pstack min–max", "pstack/kernel", "target"]
    return head, lines, cells.notes()


def queue_rows():
    """The queue table's rows, (workload key, metric, label, unit), in QUEUE_KEYS's order."""
    c = f"wrk -t2 -c{NGINX_CONNS}"
    return [("iperf3-4-from", "gbps", "iperf3 4 streams, SUT -> peer", "Gbit/s"),
            ("iperf3-4-from", "cpu_per_gb", "CPU per GB, iperf3 4 streams SUT -> peer", "s/GB"),
            ("iperf3-4-to", "gbps", "iperf3 4 streams, peer -> SUT", "Gbit/s"),
            ("iperf3-4-to", "cpu_per_gb", "CPU per GB, iperf3 4 streams peer -> SUT", "s/GB"),
            ("growth-bulk-100", "gbps", "growth 100 conns: throughput SUT -> peer", "Gbit/s"),
            ("growth-bulk-100", "mem_total", "growth 100 conns (bulk): SUT memory (peak RSS + kernel socket memory)",
             "MiB"),
            ("growth-echo-100", "lat_avg", "growth 100 conns: echo RTT avg", "us"),
            ("growth-echo-100", "lat_p99", "growth 100 conns: echo RTT p99", "us"),
            ("growth-echo-100", "mem_total", "growth 100 conns (echo): SUT memory (peak RSS + kernel socket memory)",
             "MiB"),
            ("nginx-small", "rate", f"nginx small page, {c} -> SUT", "req/s"),
            ("nginx-small", "lat_p99", f"nginx small page, {c}: latency p99", "us"),
            ("nginx-small", "cpu_per_10k", "CPU per 10k requests, nginx small page", "s/10k")]


def queue_side(q):
    """The side whose figures are pstack's at q queues: the pstack column's own when it runs
    with q queues."""
    return "pstack" if q == DEFAULT_QUEUES else f"pstack-q{q}"


def queue_table(b):
    """The queue part: (header, lines, failure notes); [] lines when it did not run. Each
    pstack cell: the median at that queue count with the spread in brackets."""
    cells = Cells(b, "q")
    lines = []
    keys = {k for k, _ in b.samples}
    for key, metric, label, unit in queue_rows():
        if key not in keys or not QUEUES or one_queue_forced():
            continue
        kv, kt, _ = cells.cell(key, metric, "kernel", False)
        row, ratios = [label, unit, kt], []
        for q in QUEUES:
            pv, pt, ps = cells.cell(key, metric, queue_side(q), False)
            row.append(f"{pt} ({ps})" if ps else pt)
            ratios.append(f"{pv / kv:.2f}" if kv and pv is not None else "n/a")
        lines.append(row + ratios)
    qs = [f"{q} queue" + ("s" if q != 1 else "") for q in QUEUES]
    head = ["workload", "unit", "kernel"] + [f"pstack, {x}" for x in qs] + [f"{x} / kernel" for x in qs]
    return head, lines, cells.notes()


def memory_table(b):
    """The growth rows' memory, taken apart: (header, lines). Medians of the repetitions."""
    head = ["connections", "mode"]
    for side in ("kernel", "pstack"):
        head += [f"{side}: peak RSS", f"{side}: kernel socket memory (ss)", f"{side}: sum",
                 f"{side}: sockstat growth"]
    head += ["sum pstack/kernel"]
    lines = []
    for n in CONNS:
        for mode in ("bulk", "echo"):
            key = f"growth-{mode}-{n}"
            if (key, "kernel") not in b.samples and (key, "pstack") not in b.samples:
                continue
            row, tot = [str(n), mode], {}
            for side in ("kernel", "pstack"):
                for metric in ("rss", "sock_mem", "mem_total", "sockstat_mem"):
                    v = b.stat(key, metric, side)
                    row.append(fmt(v.value) if isinstance(v, Stat) else "n/a")
                    if metric == "mem_total" and isinstance(v, Stat):
                        tot[side] = v.value
            row.append(f"{tot['pstack'] / tot['kernel']:.2f}" if tot.get("kernel") and "pstack" in tot else "n/a")
            lines.append(row)
    return head, lines


def text_table(head, lines):
    w = [max(len(str(r[i])) for r in [head] + lines) for i in range(len(head))]
    out = ["  ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(r))
           for r in [head] + lines]
    out.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(out)


def md_table(head, lines):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for r in lines:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


# ---- plot -------------------------------------------------------------------------

def plot(b, path):
    """Throughput, echo RTT and memory against connections, both sides: medians, with the
    repetitions' min-max as error bars. Returns an error text or None."""
    if not shutil.which("gnuplot"):
        return "gnuplot is not installed"
    # (metric, workload kind) of each series, in data-file column order (3 columns each).
    metrics = (("gbps", "bulk"), ("lat_avg", "echo"), ("lat_p99", "echo"), ("mem_total", "bulk"),
               ("rss", "bulk"), ("mem_total", "echo"))
    col, cols = {}, 2
    for m, kind in metrics:
        for side in ("kernel", "pstack"):
            col[(m, kind, side)] = cols
            cols += 3
    have = set()
    dat = os.path.join(b.logdir, "growth.dat")
    with open(dat, "w") as f:
        f.write("# conns, then median min max of: " + ", ".join(f"{s}:{m}({k})" for (m, k, s) in col) + "\n")
        for n in CONNS:
            cells = []
            for (m, kind, side) in col:
                v = b.stat(f"growth-{kind}-{n}", m, side)
                if isinstance(v, Stat) and not math.isnan(v.value):
                    cells += [f"{v.value:.6g}", f"{v.lo:.6g}", f"{v.hi:.6g}"]
                    have.add((m, kind, side))
                else:
                    cells += ["NaN"] * 3
            f.write(f"{n} " + " ".join(cells) + "\n")
    if not have:
        return "no growth figure was measured"

    def panel(title, ylabel, curves, logy=False):
        cs = [(name, key) for name, key in curves if key in have]
        g = [f"set title '{title}'", f"set ylabel '{ylabel}'",
             "set logscale y" if logy and cs else "unset logscale y",
             "set yrange [*:*]" if logy and cs else "set yrange [0:*]"]
        if not cs:
            return g + ["set label 1 'not measured' at graph 0.35, graph 0.5",
                        "plot [][0:1] NaN notitle", "unset label 1"]
        c = col
        return g + ["plot " + ", ".join(f"'{dat}' using 1:{c[k]}:{c[k] + 1}:{c[k] + 2} with yerrorlines "
                                       f"title '{name}'" for name, k in cs)]

    script = [
        "set terminal pngcairo size 1500,520 noenhanced" if "pngcairo" in gnuplot_terms() else
        "set terminal png size 1500,520 noenhanced",
        f"set output '{path}'",
        "set datafile missing 'NaN'",
        "set key below", "set grid", "set logscale x", "set xlabel 'concurrent connections'",
        f"set xrange [{min(CONNS) / 1.5}:{max(CONNS) * 1.5}]",
        f"set multiplot layout 1,3 title 'pstack vs kernel: growth with connections (SUT serves; medians of {REPS}, "
        f"bars min-max)'",
    ]
    script += panel("throughput SUT -> peer", "Gbit/s",
                    [("kernel", ("gbps", "bulk", "kernel")), ("pstack", ("gbps", "bulk", "pstack"))])
    script += panel("echo round trip", "microseconds",
                    [("kernel avg", ("lat_avg", "echo", "kernel")), ("pstack avg", ("lat_avg", "echo", "pstack")),
                     ("kernel p99", ("lat_p99", "echo", "kernel")), ("pstack p99", ("lat_p99", "echo", "pstack"))],
                    logy=True)
    script += panel("SUT memory: peak RSS + kernel socket memory", "MiB",
                    [("kernel bulk", ("mem_total", "bulk", "kernel")), ("pstack bulk", ("mem_total", "bulk", "pstack")),
                     ("kernel echo", ("mem_total", "echo", "kernel")), ("pstack echo", ("mem_total", "echo", "pstack")),
                     ("kernel bulk, RSS only", ("rss", "bulk", "kernel"))], logy=True)
    script += ["unset multiplot"]
    return run_gnuplot(script, path)


def run_gnuplot(script, path):
    """Runs a gnuplot script that writes `path`: None, or what went wrong."""
    if os.path.exists(path):
        os.remove(path)     # so that a plot gnuplot did not write is not taken for this run's
    try:
        r = subprocess.run(["gnuplot"], input="\n".join(script) + "\n", capture_output=True, text=True,
                           errors="replace", timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return f"gnuplot: {e}"
    if r.returncode != 0 or not os.path.exists(path):
        return "gnuplot: " + (r.stderr.strip()[-300:] or f"no {path}")
    return None


def plot_queues(b, path):
    """Throughput, request rate, latency and memory of the queue rows against the queue count:
    pstack's medians with the repetitions' min-max as error bars, the kernel's median as a
    dashed horizontal line of the same colour (it has no queue setting). Returns an error text
    or None."""
    if not shutil.which("gnuplot"):
        return "gnuplot is not installed"
    series = {  # panel -> [(workload key, metric, name)]
        "tput": [("iperf3-4-from", "gbps", "iperf3 4 streams SUT -> peer"),
                 ("iperf3-4-to", "gbps", "iperf3 4 streams peer -> SUT"),
                 ("growth-bulk-100", "gbps", "100 bulk connections SUT -> peer")],
        "rate": [("nginx-small", "rate", f"nginx small page, wrk -c{NGINX_CONNS}")],
        "lat": [("growth-echo-100", "lat_avg", "echo RTT avg, 100 connections"),
                ("growth-echo-100", "lat_p99", "echo RTT p99, 100 connections"),
                ("nginx-small", "lat_p99", "nginx small page p99")],
        "mem": [("growth-bulk-100", "mem_total", "100 bulk connections"),
                ("growth-echo-100", "mem_total", "100 echo connections")],
    }
    col, cols = {}, 2
    for ss in series.values():
        for key, metric, _ in ss:
            col[(key, metric)] = cols
            cols += 3
    have, kernel = set(), {}
    dat = os.path.join(b.logdir, "queues.dat")
    with open(dat, "w") as f:
        f.write("# queues, then pstack's median min max of: " + ", ".join(f"{k}:{m}" for k, m in col) + "\n")
        for q in QUEUES:
            cells = []
            for key, metric in col:
                v = b.stat(key, metric, queue_side(q))
                if isinstance(v, Stat) and not math.isnan(v.value):
                    cells += [f"{v.value:.6g}", f"{v.lo:.6g}", f"{v.hi:.6g}"]
                    have.add((key, metric))
                else:
                    cells += ["NaN"] * 3
            f.write(f"{q} " + " ".join(cells) + "\n")
    for key, metric in col:
        v = b.stat(key, metric, "kernel")
        if isinstance(v, Stat) and not math.isnan(v.value):
            kernel[(key, metric)] = v.value
    if not have:
        return "no pstack figure of the queue rows was measured"

    def panel(title, ylabel, ss, logy=False):
        g = [f"set title '{title}'", f"set ylabel '{ylabel}'",
             "set logscale y" if logy else "unset logscale y", "set yrange [*:*]" if logy else "set yrange [0:*]"]
        parts = []
        for i, (key, metric, name) in enumerate(ss, 1):
            if (key, metric) in have:
                c = col[(key, metric)]
                parts.append(f"'{dat}' using 1:{c}:{c + 1}:{c + 2} with yerrorlines lt {i} lw 2 title '{name}'")
            if (key, metric) in kernel:
                # The title says what the dashed lines are; the key names each series once.
                parts.append(f"{kernel[(key, metric)]:.6g} with lines lt {i} dt 2 "
                             + ("notitle" if (key, metric) in have else f"title 'kernel only: {name}'"))
        if not parts:
            return g + ["unset logscale y", "set label 1 'not measured' at graph 0.35, graph 0.5",
                        "plot [][0:1] NaN notitle", "unset label 1"]
        return g + ["plot " + ", ".join(parts)]

    script = [
        "set terminal pngcairo size 1400,1000 noenhanced" if "pngcairo" in gnuplot_terms() else
        "set terminal png size 1400,1000 noenhanced",
        f"set output '{path}'",
        "set datafile missing 'NaN'",
        # The same bottom margin (the key's three lines at most) in every panel, so that the
        # four plots are of one size.
        "set key below", "set bmargin 7", "set grid", "set xlabel 'TAP queues (PSTACK_QUEUES)'",
        f"set xrange [{min(QUEUES) - 0.5}:{max(QUEUES) + 0.5}]",
        "set xtics (" + ", ".join(f"'{q}' {q}" for q in QUEUES) + ")",
        f"set multiplot layout 2,2 title 'pstack against its TAP queue count (solid: medians of {REPS}, bars "
        "min-max); dashed, in the same colour: the kernel (no such setting, its median)'",
    ]
    script += panel("throughput", "Gbit/s", series["tput"])
    script += panel("request rate", "requests/s", series["rate"])
    script += panel("latency", "microseconds", series["lat"], logy=True)
    script += panel("SUT memory: peak RSS + kernel socket memory", "MiB", series["mem"])
    script += ["unset multiplot"]
    return run_gnuplot(script, path)


def gnuplot_terms():
    try:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True, timeout=20)
        return r.stdout + r.stderr
    except (OSError, subprocess.SubprocessError):
        return ""


# ---- report -------------------------------------------------------------------------

def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1048576:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "kernel": os.uname().release, "memory": mem,
            "debian": read_text("/etc/debian_version"),
            "loadavg": " ".join(open("/proc/loadavg").read().split()[:3]),
            "cc": read_text("/proc/sys/net/ipv4/tcp_congestion_control")}


def read_text(path):
    """A small file's text, stripped; "?" when it cannot be read."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "?"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def tool_versions():
    v = {}
    for name, argv in (("iperf3", ["iperf3", "--version"]), ("sockperf", ["sockperf", "--version"]),
                       ("wrk", ["wrk", "-v"]), ("nginx", ["nginx", "-v"]),
                       ("redis", ["redis-server", "--version"]), ("curl", ["curl", "--version"]),
                       ("python", ["/usr/bin/python3", "--version"]), ("nc", ["nc", "-h"])):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            text = re.sub(r"Copyright.*", "", (r.stdout + r.stderr).strip())
            first = text.splitlines()
            v[name] = re.sub(r"^sockperf, version", "sockperf", first[0].strip()) if first else "?"
        except (OSError, subprocess.SubprocessError):
            v[name] = "not installed"
    return v


def queue_section(b, qplot_err):
    """The report's "Queues" section as a list of lines; [] when the queue part did not run."""
    if not QUEUES or not any(k in QUEUE_KEYS for k, _ in b.samples):
        return []
    o = ["## Queues\n"]
    forced = one_queue_forced()
    if forced:
        return o + [f"Not run: {forced} puts the stack on one queue whatever PSTACK_QUEUES says.\n"]
    qh, ql, qf = queue_table(b)
    counts = " and ".join(filter(None, [", ".join(map(str, QUEUES[:-1])), str(QUEUES[-1])]))
    if DEFAULT_QUEUES in QUEUES:
        why = (f"PSTACK_QUEUES={DEFAULT_QUEUES}" if os.environ.get("PSTACK_QUEUES", "").strip() else
               f"PSTACK_QUEUES unset: the stack's default on {os.sysconf('SC_NPROCESSORS_ONLN')} CPUs")
        reuse = (f" The {DEFAULT_QUEUES}-queue column is the pstack column of the Results table ({why}); "
                 "the others are runs of their own.")
    else:
        reuse = ""
    o.append(f"The rows that can scale with the TAP's queues, with pstack's column at {counts} queues "
             "(`PSTACK_QUEUES`, BENCH_QUEUES): with more than one, each connection's frames leave on the queue "
             "its addresses and ports hash to, and two threads write two queues at once (README, "
             f"Configuration). The same programs and repetitions ({REPS} per column), interleaved with the kernel "
             "and pstack columns, and the same check that the traffic crossed tap0." + reuse + " The kernel has no "
             "queue setting: its column is the Results table's, the plot's dashed line. pstack cells: the "
             "median (min–max); ratios: pstack's median / the kernel's.\n")
    o.append(md_table(qh, ql) + "\n")
    if qf:
        o.append("Cells not measured:\n")
        o.extend(f"- {f}" for f in qf)
        o.append("")
    if qplot_err:
        o.append(f"No plot: {qplot_err}.\n")
    else:
        o.append(f"![throughput, latency and memory against the TAP queue count]"
                 f"({os.path.relpath(QPLOT, os.path.dirname(RESULTS))})\n")
    return o


def write_report(b, head, lines, fails, m, started, took, plot_err, qplot_err=None):
    pst = {k: v for k, v in os.environ.items() if k.startswith("PSTACK_")}
    tv = tool_versions()
    o = []
    o.append("# pstack benchmark: pstack next to the Linux kernel\n")
    o.append(f"Written by `make bench` (tests/bench/run.sh) on {started} UTC; the run took {took:.0f} s. "
             "Every figure below was measured in that run; cells that were not measured say so.\n")
    o.append("## Machine\n")
    o.append(f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['memory']}")
    o.append(f"- Linux {m['kernel']}, Debian {m['debian']}; load average at the start {m['loadavg']}, "
             f"at the end {m.get('loadavg_end', '?')} (the machine is shared: other work may have run "
             "alongside and moved some figures)")
    o.append(f"- the kernel's TCP congestion control (both columns' peer, and the kernel column's SUT): {m['cc']}")
    o.append(f"- pstack: commit {m.get('commit', '?')}, build folder `{os.path.relpath(b.build, REPO)}`; "
             f"PSTACK_* settings: {', '.join(f'{k}={v}' for k, v in sorted(pst.items())) or 'none (defaults)'}")
    o.append(f"- tools: {tv['iperf3']}; {tv['sockperf']}; {tv['wrk'].strip()}; "
             f"{tv['nginx'].replace('nginx version: ', '')}; "
             f"{' '.join(tv['redis'].split()[:3]).replace('Redis server v=', 'redis ')}; "
             f"{' '.join(tv['curl'].split()[:2])}; {tv['nc']}; {tv['python']} (http.server); "
             f"bench_srv/bench_cli ({MUX}) and bench_exec from tests/bench")
    if b.loads:
        o.append(f"- load average (1 min) sampled before each workload: {min(b.loads):.2f} to {max(b.loads):.2f}, "
                 f"median {statistics.median(b.loads):.2f} (the benchmark itself keeps about one of the "
                 f"{m['cores']} CPUs busy)")
    o.append("")
    o.append("## How\n")
    o.append("Run it again with `make bench` (as root); `BENCH_SECONDS=2 BENCH_REPS=1 make bench` for a quick look, "
             "`BENCH_ONLY=regex` for some rows. Settings are described at the top of tests/bench/bench.py.\n")
    o.append("- **kernel** column: the system under test (SUT) is a process in a network namespace "
             "(192.0.2.102) using the kernel's stack; its peer is another namespace (192.0.2.101) "
             "over a veth pair (MTU 1500).")
    o.append("- **pstack** column: the SUT process runs under `LD_PRELOAD=libpstack.so` in a namespace "
             "with a TAP device (stack 192.0.2.2, MTU 1500); the peer is the kernel of that namespace "
             "(192.0.2.1 on tap0).")
    o.append(f"- Both columns run the same programs with the same arguments. Every workload runs {REPS} times "
             "on each side, interleaved: kernel then pstack, then pstack then kernel, and so on, so that "
             "neither column always goes first. Each cell is the median of the repetitions, with their "
             "min–max beside it (counts: the sum over the repetitions, each run's count beside it); "
             "ratio = pstack median / kernel median; for times, CPU and memory lower is better. Target: "
             "issue 16's goal (rates ≥ 1, times and CPU ≤ 1, busy-poll latency ≤ 0.5).")
    o.append(f"- Everyday programs: OpenBSD `nc` and `curl` move {XFER_MIB:g} MiB of random data (MB/s = 10^6 "
             "bytes/s). The clock starts when the sending `nc` (or `curl`) is exec'd, the namespace already "
             "entered, and stops when the receiving program ends: what `time` around the command shows, so the "
             "program's start (under the preload, the library's too) counts. `nc -l` writes to /dev/null; "
             f"the bytes are counted on the link (tap0 or the veth pair). curl's start: tests/bench/bench_exec runs "
             f"`curl -s -N` (unbuffered output) {EXEC_RUNS} times in a row against bench_srv's 13-byte page on the "
             "kernel peer; per run, the time from posix_spawn to the first byte of the body on curl's stdout "
             "and to its exit (the cells: the median of the repetitions' medians).")
    o.append(f"- Exposed sockets (the live placeholder, issue 15): the same {XFER_MIB:g} MiB through a "
             "connection that bash opens (`exec 3<>/dev/tcp/...`) and a `cat` it forks reads or writes: under "
             "the preload every byte then crosses the relay between the socket's live kernel fd and the stack. "
             f"Echo RTT: tests/bench/bench_cli echo with one connection, 64 bytes, {SHORT:g} s, to bench_srv on "
             "the kernel peer, as it is and with -E (each connection also fdopen()ed: under the preload its "
             "data goes through the relay from then on); on the kernel's stack -E changes nothing.")
    o.append(f"- iperf3: {SECONDS:g} s per run. sockperf ping-pong: {SHORT:g} s per run, latency = RTT/2 as sockperf "
             f"reports it. HTTP connection rate and growth: {SHORT:g} s per run. The busy-poll rows run the pstack "
             f"process with PSTACK_SPIN_US={SPIN_US} (OpenOnload's EF_POLL_USEC); their kernel column is the "
             f"kernel's default again.")
    o.append(f"- Connection rate: a new TCP connection per request (`Connection: close`, the server "
             f"closes); {HTTP_CONNS} concurrent connections; server = tests/bench/bench_srv (one thread). "
             "\"SUT client\" = tests/bench/bench_cli on the SUT against bench_srv on the kernel.")
    o.append("- CPU = user + system seconds of both processes (SUT and peer, from wait4), per GB received "
             "or per 10k requests. Kernel work done in softirq is charged to whichever process was running, "
             "and work done in ksoftirqd is not counted.")
    o.append(f"- Growth: {', '.join(map(str, CONNS))} concurrent connections to bench_srv on the SUT: "
             "`source` mode (the SUT sends, bench_cli reads on the peer: throughput) and `echo` mode "
             "(64-byte ping-pong on every connection at once: round trip as bench_cli measures it). "
             "Memory: see \"Memory\" below. Drops: the host-side device's tx_dropped (frames towards the SUT "
             "that tap0, or the peer's end of the veth pair, dropped) over the run.")
    o.append(f"- nginx: Debian's nginx-light as the SUT, one process (`daemon off; master_process off;`: "
             f"one worker on both sides, so that the columns compare one process each), the same nginx.conf on both "
             f"sides, with Debian's `sendfile on; tcp_nopush on;`; `wrk -t2 -c{NGINX_CONNS} -d{max(1, int(round(SECONDS)))}s --latency` (keep-alive) from the "
             f"peer against a {len(NGINX_PAGE)}-byte page, `-c{NGINX_1M_CONNS}` against a 1 MiB file. Errors = "
             f"wrk's socket errors (connect, read, write, timeout) + non-2xx responses. CPU = nginx + wrk. "
             f"The master-and-workers row runs nginx as its packaged configuration does (`master_process on; "
             f"worker_processes {NGINX_WORKERS};`, still `daemon off` so that the harness holds the master), the small "
             f"page, the same wrk: under the preload the workers are fork children, whose connections the "
             f"master's stack serves through relays (README, Limits); CPU counts the master, its workers and, "
             f"under the preload, the stack process.")
    o.append(f"- redis: redis-server as the SUT (no persistence); `redis-benchmark -n {REDIS_N} -c 50 "
             f"-t {','.join(REDIS_TESTS)}` from the peer; its own requests/s and p99 per test. "
             f"Errors = lines of its output that report an error (it stops at the first one, and the row then says "
             f"failed). CPU = redis-server + redis-benchmark, per 10k requests of all tests.")
    o.append("- Every pstack figure comes with a check that the workload's traffic went through tap0 "
             "(a socket call that escaped the preload would use the kernel's stack and pass for pstack's); "
             "a repetition that fails it does not count.\n")
    o.append("### Latency and CPU placement\n")
    o.append("Where the two ends of a ping-pong run decides its latency on this machine more than either stack "
             "does. It has two virtual CPUs (a Firecracker VM): a message whose receiver sleeps on the other "
             "vCPU needs a cross-CPU wake-up, an inter-processor interrupt to a vCPU that has halted and that "
             "the host has to run again, and what that costs depends on what the host is doing. "
             "`sockperf pp --tcp -m 64` between two namespaces over a veth pair, as installed, measured by hand "
             "while this harness was written: both ends pinned to one CPU, 8.8 to 9.4 µs in every run; one end "
             "on each CPU, anywhere from 10.6 to 33 µs from one run to the next (p99 up to 470 µs). Left to "
             "itself the scheduler mostly puts the two ends of a kernel ping-pong together (a TCP wake-up is a "
             "synchronous one), but not always; a preloaded program is a process with the stack's thread beside "
             "it and is split more often. That is the difference between the kernel's 32 µs in an earlier "
             "`make bench` (30.6 µs for pstack: both columns paid the split, at an expensive time) and the "
             "15.5 µs of `sockperf pp --tcp` run by hand (a run with the ends together most of the time): the "
             "programs, options and message size were not the cause (the default 14-byte message and "
             "-m 64 give the same figure). The \"by hand\" row leaves the placement to the scheduler, as such a "
             "run does, and says in how many samples (every 0.1 s, the CPU each end's main thread last ran on) "
             "the two ends shared a CPU. "
             + ("The other sockperf rows pin both columns alike (taskset), both ends on one CPU, so that the "
                "figures measure the stacks rather than the placement; the \"on two CPUs\" row pins one end to "
                "each, and so do the busy-poll rows, since a spinning process needs a CPU of its own (their "
                "kernel column is the same placement without spinning)."
                if LAT_CPU is not None else "This run pinned nothing (BENCH_LAT_CPU=none)."))
    o.append("")
    o.append("## Results\n")
    o.append(md_table(head, lines) + "\n")
    if fails:
        o.append("Cells not measured:\n")
        o.extend(f"- {f}" for f in fails)
        o.append("")
    if b.notes:
        o.append("Notes from the run:\n")
        o.extend(f"- {n}" for n in b.notes)
        o.append("")
    mh, ml = memory_table(b)
    if ml:
        o.append("## Memory\n")
        o.append("What the SUT holds while it serves the growth rows' connections, in MiB (medians of the "
                 "repetitions). pstack keeps its socket buffers in the process, so its peak RSS (VmHWM) "
                 "holds them; the kernel keeps them in kernel memory, which no RSS shows. So that the two "
                 "compare like with like, the kernel socket memory of the SUT's TCP sockets is added: "
                 "`ss -tm`'s rmem_alloc + wmem_queued + forward_alloc summed over the sockets with the SUT's "
                 "address, sampled every half second while the client runs (the peak). That is the memory the "
                 "kernel charges to TCP, which /proc/net/sockstat's TCP `mem` counts in pages; sockstat "
                 "itself cannot tell the SUT's share: its `mem` is one figure for the whole machine, every "
                 "namespace (the peer's sockets too, and other programs'), and each CPU keeps up to 1 MiB of "
                 "charges before adding them in. Its growth during the run (peak minus the value before the "
                 "server started) is given beside as a cross-check: in the kernel column it covers the SUT's "
                 "and the peer's sockets, in the pstack column the peer's only. Under pstack the SUT has no "
                 "kernel TCP socket: its ss column is 0.\n")
        o.append(md_table(mh, ml) + "\n")
    o.append("## Growth with the number of connections\n")
    if plot_err:
        o.append(f"No plot: {plot_err}.\n")
    else:
        o.append(f"![throughput, latency and RSS against connections]({os.path.relpath(PLOT, os.path.dirname(RESULTS))})\n")
    o.extend(queue_section(b, qplot_err))
    o.append(f"Raw figures of this run: `{os.path.relpath(os.path.join(b.bindir, 'results.json'), REPO)}`; "
             f"program outputs: `{os.path.relpath(b.logdir, REPO)}/`.\n")
    with open(RESULTS, "w") as f:
        f.write("\n".join(o))


def self_check():
    """`bench.py --check`: the harness's own logic on made-up figures, without root, a
    network or a build (run.sh runs it before every benchmark): the order of the
    repetitions, medians and spreads, summed counts, failed and skipped cells, ratios and
    targets, the memory table, the queue part's columns and table. Returns the number of failed
    checks."""
    global REPS, CONNS, BUDGET, QUEUES, DEFAULT_QUEUES
    REPS, CONNS, BUDGET = 3, [1000], 1e9
    QUEUES, DEFAULT_QUEUES = [1, 2], 1     # as on this 2-CPU machine with PSTACK_QUEUES unset
    globals()["one_queue_forced"] = lambda: None
    bad = []

    def check(what, got, want):
        if got != want:
            bad.append(f"{what}: got {got!r}, want {want!r}")

    b = Bench("/nonexistent")
    calls = []
    # Made-up figures per (workload, side): one per repetition; None = the repetition fails.
    figs = {("nc-recv", "kernel"): [500.0, 900.0, 600.0], ("nc-recv", "pstack"): [300.0, 330.0, 270.0],
            ("curl-64m", "kernel"): [800.0, 820.0, 810.0], ("curl-64m", "pstack"): [900.0, None, 700.0],
            ("iperf3-4-from", "kernel"): [20.0, 22.0, 21.0], ("iperf3-4-from", "pstack"): [10.0, 12.0, 11.0],
            ("iperf3-4-from", "pstack-q2"): [15.0, None, 13.0]}
    queues_env = []

    def fake_run_one(key, fn, side):
        rep = sum(1 for k, s in calls if (k, s) == (key, side.name))
        calls.append((key, side.name))
        if key.startswith("growth"):
            drops = {"kernel": [0, 0, 0], "pstack": [3, 0, 40]}[side.name][rep]
            rss = {"kernel": 2.0, "pstack": 80.0 + rep}[side.name]
            sock = {"kernel": 10.0 + rep, "pstack": 0.0}[side.name]
            return {"gbps": 10.0 + rep, "drops": float(drops), "rss": rss, "sock_mem": sock,
                    "mem_total": rss + sock, "sockstat_mem": 12.0}
        queues_env.append((side.name, side.env.get("PSTACK_QUEUES")))
        v = figs[(key, side.name)][rep]
        return Fail("the client ended early") if v is None else {"gbps" if key.startswith("iperf3") else "mbps": v}
    b.run_one = fake_run_one
    b.workloads = lambda: [("nc-recv", 1, None), ("curl-64m", 1, None), ("growth-bulk-1000", 1, None),
                           ("iperf3-4-from", 1, None)]
    saved_log = globals()["log"]
    globals()["log"] = lambda msg: None
    try:
        b.run()
    finally:
        globals()["log"] = saved_log
    check("order of the sides over the repetitions", [s for k, s in calls if k == "nc-recv"],
          ["kernel", "pstack", "pstack", "kernel", "kernel", "pstack"])
    check("a queue row's columns, interleaved", [s for k, s in calls if k == "iperf3-4-from"],
          ["kernel", "pstack", "pstack-q2", "pstack-q2", "pstack", "kernel", "kernel", "pstack", "pstack-q2"])
    check("PSTACK_QUEUES of each column", sorted(set(queues_env)),
          [("kernel", None), ("pstack", None), ("pstack-q2", "2")])
    qh, ql, qf = queue_table(b)
    check("queue table header", qh[2:], ["kernel", "pstack, 1 queue", "pstack, 2 queues", "1 queue / kernel",
                                         "2 queues / kernel"])
    check("queue table: 1 queue is the pstack column, 2 its own", ql[0] if ql else None,
          ["iperf3 4 streams, SUT -> peer", "Gbit/s", "21.0", "11.0 (10.0–12.0)", "14.0 (13.0–15.0 (2/3: failed (q1)))",
           "0.52", "0.67"])
    check("queue table failure note", qf, ["(q1) pstack-q2, iperf3-4-from: the client ended early"])
    st = b.stat("nc-recv", "mbps", "kernel")
    check("median", (st.value, st.lo, st.hi), (600.0, 500.0, 900.0))
    st = b.stat("curl-64m", "mbps", "pstack")
    check("median of the repetitions that measured", (st.value, len(st.vals), st.runs), (800.0, 2, 3))
    check("a count is summed", b.stat("growth-bulk-1000", "drops", "pstack", count=True).value, 43.0)
    head, lines, fails = build_table(b)
    nc = next(l for l in lines if l[0].startswith("`nc -l`"))
    check("nc row", nc[2:], ["600", "500–900", "300", "270–330", "0.50", "≥ 1 not met"])
    curl = next(l for l in lines if l[0].startswith("`curl` on the SUT"))
    check("a failed repetition is named", (curl[4], curl[5], curl[6]), ("800", "700–900 (2/3: failed (1))", "0.99"))
    check("failure note", fails, ["(1) pstack, curl-64m: the client ended early"])
    drops = next(l for l in lines if "tx_dropped" in l[0] and "(bulk)" in l[0])
    check("drops row", (drops[2], drops[4], drops[5], drops[6]), ("0", "43", "3 + 0 + 40", "n/a"))
    mem = next(l for l in lines if "peak RSS + kernel socket memory" in l[0] and "(bulk)" in l[0])
    check("memory row", (mem[2], mem[4], mem[6]), ("13.0", "81.0", "6.23"))
    mh, ml = memory_table(b)
    check("memory table", ml, [["1000", "bulk", "2.00", "11.0", "13.0", "12.0", "81.0", "0", "81.0", "12.0", "6.23"]])
    # The run ends at the budget: what would not fit is marked skipped, not failed.
    BUDGET = 0
    b2 = Bench("/nonexistent")
    b2.run_one = fake_run_one
    b2.workloads = lambda: [("nc-recv", 1, None)]
    globals()["log"] = lambda msg: None
    try:
        b2.run()
    finally:
        globals()["log"] = saved_log
    head, lines, fails = build_table(b2)
    check("skipped cells", (lines[0][2], lines[0][4]), ("skipped (1)", "skipped (2)"))
    for x in bad:
        print("bench self-check: " + x, file=sys.stderr)
    print(f"bench self-check: {'FAILED, ' + str(len(bad)) + ' checks' if bad else 'ok'}")
    return len(bad)


def main():
    if sys.argv[1:] == ["--check"]:
        return 1 if self_check() else 0
    if len(sys.argv) != 2:
        sys.exit("usage: bench.py BUILD_DIR | --check")
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it creates network namespaces and a TAP device)")
    for prog in ("ip",):
        if not shutil.which(prog):
            sys.exit(f"bench: {prog} is missing (make deps)")
    # 1000 connections need more than the usual 1024 descriptors, on both ends.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(hard, 65536), 1048576)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def on_signal(sig, frame):
        raise Abort(f"signal {sig}")
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    # Where the report and the plot go must exist before the run, not be found missing after it.
    for d in {os.path.dirname(os.path.abspath(RESULTS)), os.path.dirname(os.path.abspath(PLOT))}:
        os.makedirs(d, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    m = machine()
    # Now, before the run writes its plot (a tracked file) and makes the tree look changed.
    m["commit"] = git_rev()
    b = Bench(build)
    log(f"pstack benchmark: {REPS} repetitions, iperf3 {SECONDS:g} s, others {SHORT:g} s, growth {CONNS}, "
        f"budget {BUDGET:g} s")
    if QUEUES:
        log(f"queue part: pstack at {QUEUES} queues (its own column: {DEFAULT_QUEUES}), rows {', '.join(QUEUE_KEYS)}"
            + (f"; not run: {one_queue_forced()} means one queue" if one_queue_forced() else ""))
    log(f"machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, load {m['loadavg']}")
    try:
        try:
            b.setup()
        except (RuntimeError, subprocess.SubprocessError) as e:
            print(f"bench: could not set up the namespaces: {e}", file=sys.stderr)
            return 1
        b.run()
    except Abort as e:
        print(f"bench: stopped by {e}; cleaning up", file=sys.stderr)
        b.teardown()
        return 130
    finally:
        b.teardown()
    took = time.monotonic() - T0
    m["loadavg_end"] = " ".join(open("/proc/loadavg").read().split()[:3])
    head, lines, fails = build_table(b)
    print()
    print(text_table(head, lines))
    if fails:
        print("\nCells not measured:")
        for f in fails:
            print("  " + f)
    if b.notes:
        print("\nNotes:")
        for n in b.notes:
            print("  " + n)
    qh, ql, qf = queue_table(b)
    if ql:
        print("\nQueues:")
        print(text_table(qh, ql))
        for f in qf:
            print("  " + f)
    with open(os.path.join(b.bindir, "results.json"), "w") as f:
        json.dump({"started": started, "seconds": took, "machine": m,
                   "settings": {"BENCH_REPS": REPS, "BENCH_SECONDS": SECONDS, "BENCH_SHORT_SECONDS": SHORT,
                                "BENCH_CONNS": CONNS, "BENCH_HTTP_CONNS": HTTP_CONNS, "BENCH_MUX": MUX,
                                "BENCH_NGINX_CONNS": NGINX_CONNS, "BENCH_NGINX_1M_CONNS": NGINX_1M_CONNS,
                                "BENCH_XFER_MIB": XFER_MIB, "BENCH_EXEC_RUNS": EXEC_RUNS,
                                "BENCH_LAT_CPU": LAT_CPU, "BENCH_QUEUES": QUEUES,
                                "pstack_column_queues": DEFAULT_QUEUES},
                   "loadavg_per_workload": b.loads,
                   "details": b.details}, f, indent=1, default=str)
    try:
        plot_err = plot(b, PLOT)
    except Exception as e:      # the figures are in results.json already; the report comes next
        plot_err = f"the plot failed: {type(e).__name__}: {e}"
    if plot_err:
        print(f"\nno plot: {plot_err}")
        # A plot left from an earlier run would pass for this one's.
        if os.path.exists(PLOT):
            os.remove(PLOT)
    qplot_err, wrote = None, [] if plot_err else [PLOT]
    if ql:
        try:
            qplot_err = plot_queues(b, QPLOT)
        except Exception as e:
            qplot_err = f"the plot failed: {type(e).__name__}: {e}"
        if qplot_err:
            print(f"\nno queue plot: {qplot_err}")
            if os.path.exists(QPLOT):
                os.remove(QPLOT)
        else:
            wrote.append(QPLOT)
    write_report(b, head, lines, fails, m, started, took, plot_err, qplot_err)
    print(f"\nbench: {len(lines)} rows in {took:.0f} s; wrote {RESULTS}" + "".join(f" and {p}" for p in wrote))
    return 0


if __name__ == "__main__":
    sys.exit(main())
