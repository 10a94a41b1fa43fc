#!/usr/bin/python3
"""Helpers of tests/e2e/26-linux-wire.bats, which runs the same scenario with
the kernel and with pstack as the subject and compares what each put on the
wire, captured on the peer's side.

    linux-wire.py client HOST PORT ACTIONS   one connection, ACTIONS, close
    linux-wire.py server PORT ACTIONS        accepts one connection, ACTIONS, close
    linux-wire.py relay TAP_A NS_B TAP_B DELAY_MS
    linux-wire.py hold PORT QUEUE SPACING_MS  holds the peer's ACKs (NFQUEUE)
    linux-wire.py show FILE SUBJECT_IP       what the checks read from a capture

ACTIONS is a comma-separated list: send:N (N bytes in one write), eor:N (N
bytes in one sendmsg with MSG_EOR: they end a record), marked:N (N bytes
in one write, the first 100 of them X and the first 100 of the sixth
segment Y: a peer's iptables string match finds the first and the sixth
segment and each copy of them), recv:N
(reads exactly N bytes), sleep:S (seconds), drain (reads until the peer's
FIN), wait_err (reads until the connection fails, at most 10 s, and prints
err= with the error's name and err_ms=, the time since the last write), acked (waits until nothing is unacknowledged, TCP_INFO's
tcpi_unacked 0, and prints acked_ms=, the time since the last write),
info (prints TCP_INFO's congestion state, ssthresh, cwnd, RTO and
backoff as info ca_state=... ), idle:N (waits as acked does, then until
N times the RTO has passed since the last data segment went, by
TCP_INFO's tcpi_rto and tcpi_last_data_sent: a restart after idleness,
which halves cwnd once per RTO of it, then does not hang on how long
the data before took). The client and the server run under the
preload for pstack, on the kernel otherwise.

The relay is a wire between two network namespaces with a TAP device in
each, that holds every frame DELAY_MS in each direction: this kernel has no
netem, and the kernel's side of a check needs a slow round trip as pstack's
gets one from PSTACK_FAULTS=delay=. A TAP without IFF_VNET_HDR takes plain
frames of one MTU (the kernel cuts its segments before the wire), as pstack
takes them with PSTACK_OFFLOAD=0. It runs in NS_A, where TAP_A is, until
killed.

The holder makes a spurious retransmission timeout on the peer's side,
for the kernel and pstack alike: the peer's namespace sends the segments to
and from its server's PORT through NFQUEUE number QUEUE (iptables -j
NFQUEUE, which this kernel has; its qdiscs have neither netem nor plug).
From the first data segment the subject sends, the peer's segments are held
(its ACKs of that data); when the subject sends that segment again (its
retransmission timeout), the held ones go, in order, SPACING_MS apart (so
that each is an ACK of its own for the subject), before the retransmission
reaches the peer. Then everything passes. Before the data, the peer's
segments (its SYN-ACK) go SPACING_MS late: the handshake's round trip, each
subject's least RTT, is then longer than the first held ACK takes after the
resend, so that RACK takes no sample from that ACK (an ACK of a resent
segment sooner than the least RTT may be the original's: Linux's
tcp_rack_advance) and whether it deems the rest lost after an undo does not
hang on the machine's timing. It prints "holding ready" once bound, and
runs until killed.

The capture readers take a pcap file written by tcpdump (Ethernet, IPv4)
and print key=value lines about the segments SUBJECT_IP sent and received:
see show().
"""
import ctypes
import errno
import fcntl
import os
import select
import socket
import struct
import sys
import time
from collections import deque

# ---- client and server --------------------------------------------------


def tcp_info(s):
    """The fields of struct tcp_info up to tcpi_total_retrans, by name."""
    names = ("state ca_state retransmits probes backoff options wscale flags "
             "rto ato snd_mss rcv_mss unacked sacked lost retrans fackets "
             "last_data_sent last_ack_sent last_data_recv last_ack_recv "
             "pmtu rcv_ssthresh rtt rttvar snd_ssthresh snd_cwnd advmss reordering "
             "rcv_rtt rcv_space total_retrans").split()
    return dict(zip(names, struct.unpack("8B24I", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104))))


def run_actions(s, actions):
    sent_at = time.monotonic()
    for a in actions.split(","):
        op, _, arg = a.partition(":")
        if op in ("send", "marked", "eor"):
            sent_at = time.monotonic()
        if op == "send":
            s.sendall(b"x" * int(arg))
        elif op == "marked":
            b = bytearray(b"X" * 100 + b"x" * (int(arg) - 100))
            at = 5 * tcp_info(s)["snd_mss"]
            if len(b) >= at + 100:
                b[at:at + 100] = b"Y" * 100
            s.sendall(bytes(b))
        elif op == "acked":
            while tcp_info(s)["unacked"]:
                if time.monotonic() - sent_at > 15:
                    raise SystemExit("acked: still unacknowledged after 15 s")
                time.sleep(0.001)
            print("acked_ms=%d" % ((time.monotonic() - sent_at) * 1000), flush=True)
        elif op == "idle":
            while tcp_info(s)["unacked"]:
                if time.monotonic() - sent_at > 15:
                    raise SystemExit("idle: still unacknowledged after 15 s")
                time.sleep(0.001)
            i = tcp_info(s)
            # (rto in us, last_data_sent in ms)
            time.sleep(max(0.0, float(arg) * i["rto"] / 1e6 - i["last_data_sent"] / 1e3))
        elif op == "info":
            i = tcp_info(s)
            print("info " + " ".join("%s=%d" % (k, i[k]) for k in
                                     ("ca_state", "snd_ssthresh", "snd_cwnd", "rto", "backoff", "total_retrans")),
                  flush=True)
        elif op == "eor":
            n = int(arg)
            if s.sendmsg([b"x" * n], [], socket.MSG_EOR) != n:
                raise SystemExit("eor: a partial write")
        elif op == "recv":
            n = int(arg)
            while n > 0:
                b = s.recv(n)
                if not b:
                    raise SystemExit("recv: EOF with %d bytes still to come" % n)
                n -= len(b)
        elif op == "sleep":
            time.sleep(float(arg))
        elif op == "drain":
            while s.recv(65536):
                pass
        elif op == "wait_err":
            s.settimeout(10)
            try:
                b = s.recv(1)
                print("err=none got=%d" % len(b), flush=True)
            except OSError as e:
                print("err=%s err_ms=%d" % (errno.errorcode.get(e.errno, e.errno),
                                             (time.monotonic() - sent_at) * 1000), flush=True)
        else:
            raise SystemExit("unknown action " + a)


def client(host, port, actions):
    if os.environ.get("LW_WARM"):
        # A datagram first (to the discard port), so that the connection's
        # SYN does not wait for ARP: its RTT sample is then the path's.
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"x", (host, 9))
        u.close()
        time.sleep(float(os.environ["LW_WARM"]))
    s = socket.socket()
    if os.environ.get("LW_CC"):
        # (this kernel's namespaces may only name what tcp_allowed_congestion_control lists)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, os.environ["LW_CC"].encode())
    if os.environ.get("LW_SNDBUF"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(os.environ["LW_SNDBUF"]))
    if os.environ.get("LW_UTO"):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(os.environ["LW_UTO"]))
    if os.environ.get("LW_CRCVBUF"):
        # (the client's own: LW_RCVBUF is the server's, which tests export for the peer)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(os.environ["LW_CRCVBUF"]))
    s.settimeout(20)
    s.connect((host, int(port)))
    run_actions(s, actions)
    s.close()


def server(port, actions):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if os.environ.get("LW_RCVBUF"):
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(os.environ["LW_RCVBUF"]))
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(1)
    print("listening", flush=True)
    s, _ = ls.accept()
    s.settimeout(20)
    run_actions(s, actions)
    s.close()
    ls.close()


# ---- relay ----------------------------------------------------------------

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def enter_netns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    nsfd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(nsfd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns " + name + ": " + os.strerror(err))
    os.close(nsfd)


def relay(tap_a, ns_b, tap_b, delay_ms):
    a = open_tap(tap_a)
    enter_netns(ns_b)
    b = open_tap(tap_b)
    delay = float(delay_ms) / 1000.0
    other = {a: b, b: a}
    held = deque()  # (release time, fd to write, frame), in arrival order
    print("relay up", flush=True)
    while True:
        timeout = None
        if held:
            timeout = max(0.0, held[0][0] - time.monotonic())
        ready, _, _ = select.select([a, b], [], [], timeout)
        now = time.monotonic()
        for fd in ready:
            while True:
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                held.append((now + delay, other[fd], frame))
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, fd, frame = held.popleft()
            try:
                os.write(fd, frame)
            except OSError:
                pass  # the other side is down: the frame is lost, as on a wire


# ---- holding the peer's ACKs (NFQUEUE) ----------------------------------------

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD = 1, 2, 10
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQNL_CFG_CMD_BIND, NFQNL_COPY_PACKET = 1, 2
NF_ACCEPT = 1


def nla(kind, payload):
    n = 4 + len(payload)
    return struct.pack("HH", n, kind) + payload + b"\0" * (-n % 4)


def nfq_send(sock, msg, queue, attrs):
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, queue) + b"".join(attrs)
    sock.send(struct.pack("IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, 1, 0, 0) + body)


def nfq_packets(sock):
    """(packet id, IP packet) of each packet one read of the queue gives."""
    data = sock.recv(262144)
    off = 0
    while off + 16 <= len(data):
        n, kind = struct.unpack("IH", data[off:off + 6])
        if n < 16:
            break
        msg = data[off + 20:off + n]      # after nlmsghdr and nfgenmsg
        off += (n + 3) & ~3
        if kind != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            continue
        attrs = {}
        i = 0
        while i + 4 <= len(msg):
            alen, akind = struct.unpack("HH", msg[i:i + 4])
            if alen < 4:
                break
            attrs[akind & 0x7FFF] = msg[i + 4:i + alen]
            i += (alen + 3) & ~3
        if NFQA_PACKET_HDR in attrs:
            yield struct.unpack("!I", attrs[NFQA_PACKET_HDR][:4])[0], attrs.get(NFQA_PAYLOAD, b"")


def hold(port, queue, spacing_ms):
    port, queue, spacing = int(port), int(queue), float(spacing_ms) / 1000.0
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    nfq_send(sock, NFQNL_MSG_CONFIG, queue, [nla(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0))])
    nfq_send(sock, NFQNL_MSG_CONFIG, queue, [nla(NFQA_CFG_PARAMS, struct.pack("!IB", 0xFFFF, NFQNL_COPY_PACKET))])

    def accept(pid):
        nfq_send(sock, NFQNL_MSG_VERDICT, queue, [nla(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, pid))])

    print("holding ready", flush=True)
    first = None
    held = []
    state = "wait"
    while True:
        for pid, ip in nfq_packets(sock):
            ihl = (ip[0] & 15) * 4
            tcp = ip[ihl:]
            dport, seq = struct.unpack("!HI", tcp[2:8])
            plen = struct.unpack("!H", ip[2:4])[0] - ihl - (tcp[12] >> 4) * 4
            if dport == port and plen > 0:          # the subject's data
                if state == "wait":
                    state, first = "hold", seq
                    print("holding from seq %u" % seq, flush=True)
                elif state == "hold" and seq == first:
                    for i, h in enumerate(held):
                        if i:
                            time.sleep(spacing)
                        accept(h)
                    print("released %d" % len(held), flush=True)
                    state, held = "done", []
            if dport != port and state == "hold":
                held.append(pid)
                continue
            if dport != port and state == "wait":
                time.sleep(spacing)             # the handshake's round trip
            accept(pid)


# ---- captures ---------------------------------------------------------------

FLAGS = [(0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x20, "U"), (0x40, "E"), (0x80, "W")]
OPT_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 8: "TS"}


class Seg:
    pass


def read_pcap(path):
    """The TCP/IPv4 segments of a pcap file, in order."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    else:
        end = ">"
        magic = struct.unpack(">I", data[:4])[0]
    frac = 1e9 if magic == 0xA1B23C4D else 1e6
    off = 24
    segs = []
    while off + 16 <= len(data):
        sec, sub, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 14 + 20 or struct.unpack("!H", pkt[12:14])[0] != 0x0800:
            continue
        ip = pkt[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6 or len(ip) < ihl + 20:
            continue
        tot = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:]
        doff = (tcp[12] >> 4) * 4
        g = Seg()
        g.t = sec + sub / frac
        g.tos = ip[1]
        g.src = socket.inet_ntoa(ip[12:16])
        g.dst = socket.inet_ntoa(ip[16:20])
        g.sport, g.dport, g.seq, g.ack = struct.unpack("!HHII", tcp[:12])
        g.flagbits = tcp[13]
        g.win = struct.unpack("!H", tcp[14:16])[0]
        g.len = tot - ihl - doff
        g.opts = []
        g.wscale = None
        g.tsval = None
        g.fo = None  # a fast open option's cookie length (0: a cookie request)
        o = tcp[20:min(doff, len(tcp))]
        i = 0
        while i < len(o):
            k = o[i]
            if k == 0:
                break
            if k == 1:
                g.opts.append("nop")
                i += 1
                continue
            if i + 1 >= len(o) or o[i + 1] < 2:
                break
            if k == 3:
                g.wscale = o[i + 2]
            if k == 8 and i + 6 <= len(o):
                g.tsval = struct.unpack("!I", o[i + 2:i + 6])[0]
            if k == 34:
                g.fo = o[i + 1] - 2
            g.opts.append(OPT_NAMES.get(k, str(k)))
            i += o[i + 1]
        segs.append(g)
    return segs


def flags(g):
    s = "".join(c for b, c in FLAGS if g.flagbits & b)
    return s + ("." if g.flagbits & 0x10 else "")


def is_syn(g):
    return bool(g.flagbits & 0x02)


def pure_ack(g):
    return g.len == 0 and not g.flagbits & 0x07


def after(a, b):
    return ((a - b) & 0xFFFFFFFF) < 0x80000000 and a != b


def show(path, subject):
    """Prints, for the segments SUBJECT sent: syn_* and synack_* (flags,
    options in order, window scale, window) of its first SYN and SYN-ACK;
    hs_ack_win (the window of its ACK of the SYN-ACK); psh (the
    lengths of its data segments, first transmissions, in order, a P after
    those with PSH); data_ms (when each of those left, in ms after the
    first); first_ack_ms (from the peer's first data segment to
    the subject's first ACK of it); fin_ack_ms (from the peer's FIN to the
    subject's first ACK of it); data_in (the peer's data segments),
    acks_out (the subject's pure ACKs); hs_rtt_ms (from the subject's SYN
    to its ACK of the SYN-ACK; hs_rtt_tsval_ms the same by its own clock),
    rto_ms (from its first data segment to the
    first retransmission of it); retrans (its retransmissions), rtx (each as
    MS@OFFSET: when, in ms after its first data segment, and from which
    byte of the data); rounds (how many of those data segments
    left in each burst, bursts apart by 30 ms or more, one of fewer than 5
    counted with the burst before); data_out, data_ect (its data segments with
    an ECT or CE codepoint), acks_ect (pure ACKs with one); after_rto (from
    its first resend of its first data segment on, its data segments as
    R@OFFSET for a resend, N@OFFSET for new data, and | for each pure ACK
    of the peer between them, up to the sixth ACK)."""
    segs = read_pcap(path)
    tsval = {}
    out = {}
    mine = [g for g in segs if g.src == subject]
    theirs = [g for g in segs if g.dst == subject]
    for g in mine:
        if is_syn(g):
            key = "synack" if g.flagbits & 0x10 else "syn"
            if key + "_flags" not in out:
                out[key + "_flags"] = flags(g)
                out[key + "_opts"] = ",".join(g.opts)
                out[key + "_wscale"] = g.wscale
                out[key + "_win"] = g.win
    # Data: first transmissions in order; retransmissions apart.
    high = {}
    psh = []
    sent_at = []
    first_data = None
    rto = None
    data_out = data_ect = acks_ect = acks_out = retrans = 0
    rtx_at = []
    for g in mine:
        if pure_ack(g):
            acks_out += 1
            if g.tos & 3:
                acks_ect += 1
            continue
        if g.len == 0:
            continue
        key = (g.sport, g.dport)
        end = (g.seq + g.len) & 0xFFFFFFFF
        if key in high and not after(end, high[key]):
            retrans += 1
            if first_data is not None:
                rtx_at.append("%d@%d" % (round((g.t - first_data.t) * 1000), (g.seq - first_data.seq) & 0xFFFFFFFF))
            if first_data is not None and rto is None and g.seq == first_data.seq:
                rto = (g.t - first_data.t) * 1000
                if g.tsval is not None and first_data.tsval is not None:
                    out["rto_tsval_ms"] = (g.tsval - first_data.tsval) & 0xFFFFFFFF
            continue
        high[key] = end
        data_out += 1
        if g.tos & 3:
            data_ect += 1
        if first_data is None:
            first_data = g
        psh.append("%d%s" % (g.len, "P" if g.flagbits & 0x08 else ""))
        sent_at.append(g.t)
    out["psh"] = " ".join(psh)
    out["data_ms"] = " ".join("%d" % round((t - sent_at[0]) * 1000) for t in sent_at)
    # Rounds: the first transmissions in each burst (a pause of 30 ms or
    # more, a third of the slow tests' round trip, starts the next); a
    # burst of fewer than 5 belongs to the one before (what a delayed ACK
    # let go late in the round trip).
    rounds = []
    for i, t in enumerate(sent_at):
        if i == 0 or t - sent_at[i - 1] >= 0.030:
            if len(rounds) > 1 and rounds[-1] < 5:
                tail = rounds.pop()
                rounds[-1] += tail
            rounds.append(0)
        rounds[-1] += 1
    if len(rounds) > 1 and rounds[-1] < 5:
        tail = rounds.pop()
        rounds[-1] += tail
    out["rounds"] = " ".join(str(n) for n in rounds)
    out["data_out"] = data_out
    out["retrans"] = retrans
    out["rtx"] = " ".join(rtx_at)
    out["data_ect"] = data_ect
    out["acks_out"] = acks_out
    out["acks_ect"] = acks_ect
    out["data_in"] = sum(1 for g in theirs if g.len > 0)
    out["bytes_in"] = sum(g.len for g in theirs)
    # The first ACK of the peer's first data.
    first_in = next((g for g in theirs if g.len > 0), None)
    if first_in is not None:
        end = (first_in.seq + first_in.len) & 0xFFFFFFFF
        for g in mine:
            if g.t >= first_in.t and g.flagbits & 0x10 and not after(end, g.ack):
                out["first_ack_ms"] = "%.1f" % ((g.t - first_in.t) * 1000)
                break
    # The handshake as the subject's SYN, its ACK of the SYN-ACK.
    syn = next((g for g in mine if is_syn(g) and not g.flagbits & 0x10), None)
    if syn is not None:
        ack = next((g for g in mine if g.t > syn.t and not is_syn(g) and g.flagbits & 0x10), None)
        if ack is not None:
            out["hs_ack_win"] = ack.win
            out["hs_rtt_ms"] = "%.1f" % ((ack.t - syn.t) * 1000)
            if ack.tsval is not None and syn.tsval is not None:
                out["hs_rtt_tsval_ms"] = (ack.tsval - syn.tsval) & 0xFFFFFFFF
    # The subject's first ACK of the peer's FIN.
    fin = next((g for g in theirs if g.flagbits & 0x01), None)
    if fin is not None:
        end = (fin.seq + fin.len + 1) & 0xFFFFFFFF
        for g in mine:
            if g.t >= fin.t and g.flagbits & 0x10 and not after(end, g.ack):
                out["fin_ack_ms"] = "%.1f" % ((g.t - fin.t) * 1000)
                break
    if rto is not None:
        out["rto_ms"] = "%.1f" % rto
    # What followed the timeout's resend of the first segment.
    if first_data is not None:
        events = []
        high_at = None
        started = False
        for g in segs:
            if g.src == subject and g.len > 0 and g.seq == first_data.seq and g is not first_data:
                started = True
            if not started:
                if g.src == subject and g.len > 0:
                    end = (g.seq + g.len) & 0xFFFFFFFF
                    if high_at is None or after(end, high_at):
                        high_at = end
                continue
            if g.src == subject and g.len > 0:
                end = (g.seq + g.len) & 0xFFFFFFFF
                new = after(end, high_at)
                if new:
                    high_at = end
                events.append("%s@%d" % ("N" if new else "R", (g.seq - first_data.seq) & 0xFFFFFFFF))
            elif g.dst == subject and pure_ack(g):
                if events.count("|") == 6:
                    break
                events.append("|")
        out["after_rto"] = " ".join(events)
    for k, v in out.items():
        print("%s=%s" % (k, "" if v is None else v))


def main():
    cmd = sys.argv[1]
    if cmd == "client":
        client(*sys.argv[2:5])
    elif cmd == "server":
        server(*sys.argv[2:4])
    elif cmd == "relay":
        relay(*sys.argv[2:6])
    elif cmd == "hold":
        hold(*sys.argv[2:5])
    elif cmd == "show":
        show(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
