#!/usr/bin/python3
"""Raw-frame differential test: crafted Ethernet/ARP/IPv4/ICMP/UDP/TCP frames
written onto a link, and what the subject sends back, one normalised line per
frame (tests/e2e/27-rawframes.bats runs every scenario with the kernel and
with pstack as the subject and compares the two outputs).

  rawframes.py serve
      the subject's program (run on the kernel, or under the preload): TCP
      listeners on port 7000 (accepts and reads), 7002 (never accepts), 7003
      (accepts and closes at once), 7004 (accepts, sends "hello\n" and keeps
      the connection), 7005 (accepts, sends 4000 bytes and keeps the
      connection), 7007 (accepts, reads, and closes once the peer has
      closed), 7008 (as 7005, with a backlog of 1), 7009 (as 7002, with a
      backlog of 1), 7012 (as 7000, with keep-alive after 1 s idle, one
      probe, and IP_TTL 33), 7013 (as 7003, with TCP_LINGER2 1 s and IP_TTL
      33), 7014 (as 7003, with IP_PMTUDISC_DONT), a UDP echo socket on 7001, and a UDP control socket on 7006 (see
      udp_control), unconnected UDP sockets on 7015 and 7016 (with
      IP_RECVERR) that send and read on request; prints "ready" once all
      are bound.
  rawframes.py run IFACE SUBJ_IP SUBJ_MAC [SCENARIO...]
      from the peer's side of the link (IFACE, an interface with no IPv4
      address, so that the peer's own kernel stays silent): the peer has
      MAC 02:00:00:00:00:01 and, scenario after scenario, the addresses
      192.0.2.100 to .131 in turn (PEER_POOL; ARP requests for them are
      answered from here, not printed); runs the named scenarios (default:
      all) and prints "== NAME" and then one line per frame the subject sent.
  rawframes.py list
      the scenarios' names, one a line.

Normalised: the IP ID is printed only as 0 or not ("id=0"/"id=x": each stack
picks its own, RFC 6864), the subject's initial sequence number is the origin
of its sequence numbers ("isn+N"; RFC 6528 makes it secret), the subject's
TSval is masked (RFC 7323 §5.4 allows any clock origin; only its presence and
the echo of ours, which is ours and so deterministic, are printed), the
timestamp reply's clock fields are printed only as "ms" when they are a
plausible time of day, and MAC addresses are names (subj, peer, bcast).
Everything else is printed as it is: every difference in those fields is
a difference between the stacks.

Synchronisation is by reply: each step waits for the frames it expects, up
to a bounded receive timeout; a step that expects nothing waits the (short)
timeout out, and every scenario ends with a short wait that catches frames
nobody expected.

Python 3 standard library only.
"""
import errno
import os
import selectors
import socket
import struct
import sys
import time

PEER_IP = "192.0.2.1"
# Each scenario comes from the next of these addresses (PEER_IP is set to
# it): ICMP errors are limited per destination (Linux's icmp_ratelimit,
# 6 at once then 1 a second; pstack alike), and no address meets that
# limit unless a scenario means it to (icmp_rate_limit_peer, from .250).
PEER_POOL = ["192.0.2.%d" % i for i in range(100, 132)]
# The path MTU scenarios' own addresses (pmtu_peer).
PMTU_PEERS = ["192.0.2.%d" % i for i in range(200, 218)]
PEERS = set(PEER_POOL) | set(PMTU_PEERS) | {PEER_IP, "192.0.2.250"}
PEER_MAC = bytes.fromhex("020000000001")
BCAST = b"\xff" * 6
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_VNET_HDR = 15
VNET_HLEN = 10          # struct virtio_net_hdr, ahead of every frame with PACKET_VNET_HDR
VIRTIO_NET_HDR_GSO_TCPV4 = 1
TP_STATUS_CSUMNOTREADY = 0x8

TCP_OPEN = 7000       # accepts and reads
UDP_OPEN = 7001       # echoes
TCP_NOACCEPT = 7002   # listens, never accepts
TCP_CLOSER = 7003     # accepts and closes at once
TCP_TALKER = 7004     # accepts, sends "hello\n", keeps the connection
TCP_BULK = 7005       # accepts, sends BULK bytes, keeps the connection
UDP_CONTROL = 7006    # connected UDP sockets on request (udp_control)
TCP_EOF_CLOSER = 7007  # accepts, reads, closes at the peer's FIN
TCP_BULK_BACKLOG1 = 7008  # as TCP_BULK, with a backlog of 1 (SYN cookies)
TCP_NOACCEPT_BACKLOG1 = 7009  # as TCP_NOACCEPT, with a backlog of 1
TCP_TOS_BACKLOG1 = 7010  # as TCP_OPEN, with a backlog of 1, IP_TOS 0x28 and IP_TTL 33
LISTENER_TOS = 0x28
TCP_NOACCEPT_BACKLOG1_B = 7011  # as TCP_NOACCEPT_BACKLOG1, for one scenario alone
TCP_KEEPALIVE = 7012  # as TCP_OPEN, with keep-alive after 1 s idle, one probe, and IP_TTL 33
LISTENER_TTL = 33
TCP_LINGER2_CLOSER = 7013  # as TCP_CLOSER, with TCP_LINGER2 1 s and IP_TTL 33
TCP_NODF_CLOSER = 7014  # as TCP_CLOSER, with IP_MTU_DISCOVER IP_PMTUDISC_DONT
IP_MTU_DISCOVER, IP_PMTUDISC_DONT = 10, 0
UDP_UNCONN = 7015     # unconnected, sends and reads on request (udp_control)
UDP_UNCONN_RECVERR = 7016  # the same with IP_RECVERR
IP_RECVERR = 11
BULK = 4000
CLOSED = 7999
PEER_ISN = 1000000
REPLY_WAIT = 0.5      # bound on the wait for one expected frame
QUIET_WAIT = 0.15     # how long "nothing comes back" is watched for

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128


# ---- the subject's program ---------------------------------------------------

def serve():
    sel = selectors.DefaultSelector()
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("0.0.0.0", TCP_OPEN))
    lst.listen(64)
    lst.setblocking(False)
    sel.register(lst, selectors.EVENT_READ, "listen")
    eof = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    eof.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    eof.bind(("0.0.0.0", TCP_EOF_CLOSER))
    eof.listen(64)
    eof.setblocking(False)
    sel.register(eof, selectors.EVENT_READ, "listen-eof")
    tos = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tos.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tos.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, LISTENER_TOS)
    tos.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, LISTENER_TTL)
    tos.bind(("0.0.0.0", TCP_TOS_BACKLOG1))
    tos.listen(1)
    tos.setblocking(False)
    sel.register(tos, selectors.EVENT_READ, "listen")
    # Keep-alive and IP_TTL set on the listener, inherited by what it
    # accepts (Linux: sock_copy, tcp_create_openreq_child).
    ka = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ka.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ka.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    ka.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    ka.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    ka.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 1)
    ka.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, LISTENER_TTL)
    ka.bind(("0.0.0.0", TCP_KEEPALIVE))
    ka.listen(64)
    ka.setblocking(False)
    sel.register(ka, selectors.EVENT_READ, "listen")
    idle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    idle.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    idle.bind(("0.0.0.0", TCP_NOACCEPT))
    # Every connection the scenarios make to it stays in its accept queue,
    # reset or not, until the end: room for all of them.
    idle.listen(512)
    full = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    full.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    full.bind(("0.0.0.0", TCP_NOACCEPT_BACKLOG1))
    full.listen(1)
    full_b = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    full_b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    full_b.bind(("0.0.0.0", TCP_NOACCEPT_BACKLOG1_B))
    full_b.listen(1)
    for port, tag, backlog in ((TCP_CLOSER, "closer", 64), (TCP_TALKER, "talker", 64), (TCP_BULK, "bulk", 64),
                               (TCP_BULK_BACKLOG1, "bulk", 1), (TCP_LINGER2_CLOSER, "closer", 64),
                               (TCP_NODF_CLOSER, "closer", 64)):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if port == TCP_LINGER2_CLOSER:
            ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_LINGER2, 1)
            ls.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, LISTENER_TTL)
        if port == TCP_NODF_CLOSER:
            ls.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        # CUBIC, pstack's congestion control, whatever the kernel's
        # default (this machine's is BBR): the senders' windows compare.
        ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
        ls.bind(("0.0.0.0", port))
        ls.listen(backlog)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, tag)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", UDP_OPEN))
    udp.setblocking(False)
    sel.register(udp, selectors.EVENT_READ, "udp")
    ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ctl.bind(("0.0.0.0", UDP_CONTROL))
    ctl.setblocking(False)
    sel.register(ctl, selectors.EVENT_READ, "control")
    conns = []
    connected = {}
    # Unconnected UDP sockets that send on request and are read only on
    # request (udp_control's usend, uerr): 7015 without IP_RECVERR, 7016
    # with it.
    for port, recverr in ((UDP_UNCONN, 0), (UDP_UNCONN_RECVERR, 1)):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.IPPROTO_IP, IP_RECVERR, recverr)
        u.bind(("0.0.0.0", port))
        u.setblocking(False)
        connected[("unconn", recverr)] = u
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data in ("closer", "talker", "bulk"):
                try:
                    c, addr = s.accept()
                except OSError:
                    continue
                if key.data == "closer":
                    c.close()
                else:
                    # The peer's address as accept() gave it: a scenario
                    # may reset the connection before getpeername() could
                    # ask (ENOTCONN), or before the send (ECONNRESET); the
                    # server goes on either way.
                    try:
                        c.sendall(b"hello\n" if key.data == "talker" else b"b" * BULK)
                    except OSError:
                        pass
                    conns.append(c)
                    if key.data == "bulk":
                        connected[("bulk", addr[0])] = c
            elif key.data == "control":
                udp_control(s, connected)
            elif key.data in ("listen", "listen-eof"):
                try:
                    c, _ = s.accept()
                except OSError:
                    continue
                c.setblocking(False)
                conns.append(c)
                sel.register(c, selectors.EVENT_READ, "conn" if key.data == "listen" else "conn-eof")
            elif key.data == "udp":
                try:
                    data, addr = s.recvfrom(65536)
                    s.sendto(data, addr)
                except OSError:
                    pass
            else:
                try:
                    d = s.recv(65536)
                except OSError:
                    d = b""
                if not d:
                    # Reset or closed by the peer: keep the socket (no FIN
                    # of ours to disturb later scenarios), stop watching it;
                    # on 7007, close it.
                    sel.unregister(s)
                    if key.data == "conn-eof":
                        conns.remove(s)
                        s.close()


def udp_control(ctl, connected):
    """One request to the control socket, from (ip, port): "connect P" opens
    a UDP socket connected to ip:P and sends "probe" on it; "recv" and
    "send" call recv (non-blocking) or send on the socket connected for ip
    and answer (from the control socket) what came of it: "ok" or the
    errno's name; "psend M N" sets IP_MTU_DISCOVER M on that socket, sends
    N bytes on it and answers alike. "usend K P" sends "probe" to ip:P
    from the unconnected socket K (0: 7015, 1: 7016, with IP_RECVERR);
    "uerr K" answers what that socket reports (unconn_errors). "tconnect L P" starts a TCP
    connection from the subject's port L to ip:P (not blocking); "tsend N" sends N bytes
    on it (with CUBIC); "tsmall N K" sends N writes of K bytes on it (with CUBIC
    and TCP_NODELAY); "terr" answers its SO_ERROR ("ok" for
    none, or the errno's name); "tinfo" answers TCP_INFO's ca_state,
    unacked, sacked, lost, retrans and reordering of the connection ip
    made to the bulk sender (7005)."""
    try:
        req, addr = ctl.recvfrom(100)
    except OSError:
        return
    words = req.decode(errors="replace").split()
    if not words:
        return
    if words[0] == "tconnect" and len(words) == 3:
        # A TCP connection of the subject's own: from its port L, not
        # blocking (the scenario plays the other end).
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.bind(("0.0.0.0", int(words[1])))
        c.setblocking(False)
        c.connect_ex((addr[0], int(words[2])))
        connected[("tcp", addr[0])] = c
        return
    if words[0] == "tsend" and len(words) == 2:
        # N bytes on that connection, sent with CUBIC (as the listeners
        # that send: this kernel's default is BBR).
        c = connected.get(("tcp", addr[0]))
        if c is None:
            return
        try:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
            c.send(b"t" * int(words[1]))
        except OSError:
            pass
        return
    if words[0] == "tsmall" and len(words) == 3:
        # N writes of K bytes on that connection, Nagle off: each its own
        # segment while the congestion window lets it go.
        c = connected.get(("tcp", addr[0]))
        if c is None:
            return
        try:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(int(words[1])):
                c.send(b"s" * int(words[2]))
        except OSError:
            pass
        return
    if words[0] == "terr":
        c = connected.get(("tcp", addr[0]))
        if c is None:
            return
        e = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        ctl.sendto((errno.errorcode.get(e, str(e)) if e else "ok").encode(), addr)
        return
    if words[0] == "tinfo":
        c = connected.get(("bulk", addr[0]))
        if c is None:
            return
        f = struct.unpack("8B24I", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104))
        # ca_state, then unacked sacked lost retrans, then reordering.
        ctl.sendto(("ca_state=%d unacked=%d sacked=%d lost=%d retrans=%d reordering=%d"
                    % (f[1], f[12], f[13], f[14], f[15], f[28])).encode(), addr)
        return
    if words[0] == "usend" and len(words) == 3:
        # The unconnected socket (1: with IP_RECVERR) sends to ip:P.
        try:
            connected[("unconn", int(words[1]))].sendto(b"probe", (addr[0], int(words[2])))
        except OSError:
            pass
        return
    if words[0] == "uerr" and len(words) == 2:
        ctl.sendto(unconn_errors(connected[("unconn", int(words[1]))], addr[0]).encode(), addr)
        return
    if words[0] == "connect" and len(words) == 2:
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.setblocking(False)
        c.connect((addr[0], int(words[1])))
        connected[addr[0]] = c
        try:
            c.send(b"probe")
        except OSError:
            pass
        return
    c = connected.get(addr[0])
    if c is None:
        return
    try:
        if words[0] == "recv":
            c.recv(100)
        elif words[0] == "psend" and len(words) == 3:
            c.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, int(words[1]))
            c.send(b"p" * int(words[2]))
        else:
            c.send(b"again")
        res = "ok"
    except OSError as e:
        res = errno.errorcode.get(e.errno, str(e.errno))
    ctl.sendto(res.encode(), addr)


def unconn_errors(u, peer):
    """What an unconnected UDP socket reports: a receive, the error queue
    (errno, origin, ICMP type and code, info, the offender: "peer" when
    it is the requester, the bytes quoted back), a receive again."""
    def recv():
        try:
            d = u.recv(100)
            return "data:%d" % len(d)
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno))
    out = ["recv=" + recv()]
    try:
        data, anc, _, _ = u.recvmsg(100, socket.CMSG_SPACE(64), socket.MSG_ERRQUEUE)
        q = "none"
        for lvl, typ, d in anc:
            if lvl == socket.IPPROTO_IP and typ == IP_RECVERR and len(d) >= 16:
                ee, origin, t, c, _, info, _ = struct.unpack_from("IBBBBII", d)
                off = socket.inet_ntoa(d[20:24]) if len(d) >= 24 else "-"
                q = "%s/origin=%d/type=%d/code=%d/info=%d/from=%s/data=%d" % (
                    errno.errorcode.get(ee, str(ee)), origin, t, c, info, "peer" if off == peer else off, len(data))
        out.append("errq=" + q)
    except OSError as e:
        out.append("errq=" + errno.errorcode.get(e.errno, str(e.errno)))
    out.append("recv=" + recv())
    return " ".join(out)


# ---- building frames ---------------------------------------------------------

def ip2b(a):
    return socket.inet_aton(a)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def eth(dst, src, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload


def arp(op, sha, spa, tha, tpa, htype=1, ptype=ETH_P_IP, hlen=6, plen=4):
    return struct.pack("!HHBBH", htype, ptype, hlen, plen, op) + sha + ip2b(spa) + tha + ip2b(tpa)


def ip4(src, dst, proto, payload, ttl=64, ident=0x1234, frag=0, opts=b"", tos=0,
        ihl=None, tot_len=None, version=4, bad_csum=False):
    if ihl is None:
        ihl = 5 + len(opts) // 4
    if tot_len is None:
        tot_len = 20 + len(opts) + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, tos, tot_len, ident, frag, ttl, proto, 0,
                    ip2b(src), ip2b(dst)) + opts
    c = csum(h[:max(ihl * 4, 20)] if ihl >= 5 else h)
    if bad_csum:
        c ^= 0x5555
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def icmp(typ, code, rest, data=b"", bad_csum=False):
    m = struct.pack("!BBH", typ, code, 0) + rest + data
    c = csum(m) ^ (0x5555 if bad_csum else 0)
    return m[:2] + struct.pack("!H", c) + m[4:]


def pseudo(src, dst, proto, length):
    return ip2b(src) + ip2b(dst) + struct.pack("!BBH", 0, proto, length)


def udp(src, dst, sport, dport, data, length=None, zero_csum=False, bad_csum=False):
    if length is None:
        length = 8 + len(data)
    h = struct.pack("!HHHH", sport, dport, length, 0)
    if zero_csum:
        return h + data
    c = csum(pseudo(src, dst, 17, 8 + len(data)) + h + data)
    if c == 0:
        c = 0xffff
    if bad_csum:
        c ^= 0x5555
    return h[:6] + struct.pack("!H", c) + data


def tcpseg(src, dst, sport, dport, seq, ack, flags, win=64240, opts=b"", data=b"", urp=0,
           doff=None, bad_csum=False):
    while len(opts) % 4:
        opts += b"\1"
    if doff is None:
        doff = 5 + len(opts) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff, doff << 4,
                    flags, win, 0, urp) + opts
    c = csum(pseudo(src, dst, 6, len(h) + len(data)) + h + data) ^ (0x5555 if bad_csum else 0)
    return h[:16] + struct.pack("!H", c) + h[18:] + data


def o_mss(v=1460):
    return struct.pack("!BBH", 2, 4, v)


def o_ws(v=7):
    return struct.pack("!BBB", 3, 3, v)


O_SACKOK = b"\x04\x02"


def o_ts(val, ecr=0):
    return struct.pack("!BBII", 8, 10, val, ecr)


def o_sack(*blocks):
    # Sequence numbers wrap (a block below an ISN near 0 is near 2^32).
    return struct.pack("!BB", 5, 2 + 8 * len(blocks)) + b"".join(
        struct.pack("!II", a & 0xFFFFFFFF, b & 0xFFFFFFFF) for a, b in blocks)


# ---- reading frames ------------------------------------------------------------

ICMP_NAMES = {0: "echo-reply", 3: "unreach", 4: "quench", 5: "redirect", 8: "echo", 11: "time-exceeded",
              12: "param-problem", 13: "timestamp", 14: "timestamp-reply"}


def tcp_opts(b, tsmask):
    out = []
    i = 0
    while i < len(b):
        k = b[i]
        if k == 0:
            out.append("eol")
            break
        if k == 1:
            out.append("nop")
            i += 1
            continue
        if i + 1 >= len(b) or b[i + 1] < 2 or i + b[i + 1] > len(b):
            out.append("bad:" + b[i:].hex())
            break
        n = b[i + 1]
        v = b[i + 2:i + n]
        if k == 2 and n == 4:
            out.append("mss:%d" % struct.unpack("!H", v))
        elif k == 3 and n == 3:
            out.append("ws:%d" % v[0])
        elif k == 4 and n == 2:
            out.append("sackOK")
        elif k == 5:
            out.append("sack:" + ",".join("%d-%d" % struct.unpack("!II", v[j:j + 8]) for j in range(0, len(v) - 7, 8)))
        elif k == 8 and n == 10:
            val, ecr = struct.unpack("!II", v)
            out.append("ts:%s/%d" % ("0" if val == 0 else "v", ecr))
        else:
            out.append("opt%d:%s" % (k, v.hex()))
        i += n
    return ",".join(out)


def unsegment(data):
    """The frames a TSO frame (virtio header, then the frame) is on the
    wire: its payload cut every gso_size bytes, each with the headers, the
    sequence number moved on, FIN and PSH on the last only, CWR on the
    first only, the IP length, ID and checksum of its own (the TCP
    checksum is left to the device, as the frame's is: not checked)."""
    _, gso_type, hdr_len, gso_size = struct.unpack_from("<BBHH", data)
    f = data[VNET_HLEN:]
    if gso_type != VIRTIO_NET_HDR_GSO_TCPV4 or not gso_size or len(f) < 14 + 40:
        return [f]
    ihl = (f[14] & 15) * 4
    th = 14 + ihl
    hl = th + (f[th + 12] >> 4) * 4
    if len(f) - hl <= gso_size:
        return [f]
    seq0 = struct.unpack_from("!I", f, th + 4)[0]
    ident = struct.unpack_from("!H", f, 18)[0]
    out = []
    offs = list(range(hl, len(f), gso_size))
    for i, o in enumerate(offs):
        chunk = f[o:o + gso_size]
        h = bytearray(f[:hl])
        struct.pack_into("!H", h, 16, hl - 14 + len(chunk))
        struct.pack_into("!H", h, 18, (ident + i) & 0xffff)
        struct.pack_into("!H", h, 24, 0)
        struct.pack_into("!H", h, 24, csum(bytes(h[14:14 + ihl])))
        struct.pack_into("!I", h, th + 4, (seq0 + (o - hl)) & 0xffffffff)
        if i < len(offs) - 1:
            h[th + 13] &= ~(FIN | PSH) & 0xff
        if i > 0:
            h[th + 13] &= ~CWR & 0xff
        out.append(bytes(h) + chunk)
    return out


class Run:
    def __init__(self, iface, subj_ip, subj_mac):
        self.iface = iface
        self.subj_ip = subj_ip
        self.subj_mac = bytes.fromhex(subj_mac.replace(":", ""))
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        # A subject with offloads hands the TAP TSO frames (up to 64 KB):
        # the virtio header says how the link would cut them (unsegment).
        self.s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        self.s.bind((iface, 0))
        self.s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.isn = {}       # (sport of subject, dport) -> subject's ISN
        self.sent_ip = b""  # the last IP packet sent, for the quotes of ICMP errors
        self.got_ip = []    # the IP packets the subject sent, for quotes of ours
        self.flush()
        # Teaches the subject the peer's address (as the first scenarios do)
        # so that any scenario run alone starts the same: the reply is not
        # printed.
        self.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, subj_ip)))
        self.s.settimeout(REPLY_WAIT)
        try:
            while True:
                f = self.s.recv(65536)[VNET_HLEN:]
                if f[6:12] == self.subj_mac and f[12:14] == b"\x08\x06" and f[20:22] == b"\0\2":
                    break
        except socket.timeout:
            pass

    def flush(self):
        self.s.setblocking(False)
        try:
            while True:
                self.s.recv(65536)
        except BlockingIOError:
            pass
        self.s.setblocking(True)

    def mac(self, m):
        if m == self.subj_mac:
            return "subj"
        if m == PEER_MAC:
            return "peer"
        if m == BCAST:
            return "bcast"
        if m == b"\0" * 6:
            return "zero"
        return m.hex(":")

    def send(self, frame):
        if len(frame) < 60:
            frame += b"\0" * (60 - len(frame))
        self.s.send(bytes(VNET_HLEN) + frame)

    def send_ip(self, pkt, dst_mac=None):
        self.sent_ip = pkt
        self.send(eth(dst_mac or self.subj_mac, PEER_MAC, ETH_P_IP, pkt))

    # Receives frames from the subject until n have been printed or the
    # timeout has run out (counted from the call, extended per frame).
    def expect(self, n=1, timeout=REPLY_WAIT):
        got = 0
        deadline = time.monotonic() + timeout
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.s.settimeout(left)
            try:
                data, anc, _, addr = self.s.recvmsg(65536, socket.CMSG_SPACE(20))
            except (socket.timeout, BlockingIOError):
                break
            if addr[2] == PACKET_OUTGOING:
                continue
            status = 0
            for lvl, typ, d in anc:
                if lvl == SOL_PACKET and typ == PACKET_AUXDATA:
                    status = struct.unpack_from("I", d)[0]
            for f in unsegment(data):
                line = self.describe(f, status & TP_STATUS_CSUMNOTREADY)
                if line is None:
                    continue
                print(line, flush=True)
                got += 1
            deadline = time.monotonic() + timeout
        return got

    def quiet(self, timeout=QUIET_WAIT):
        self.expect(n=1 << 30, timeout=timeout)

    def describe(self, f, csum_not_ready):
        if len(f) < 14:
            return None
        dst, src, et = f[:6], f[6:12], struct.unpack("!H", f[12:14])[0]
        if src != self.subj_mac:
            return None
        p = f[14:]
        if et == ETH_P_ARP:
            if len(p) < 28:
                return "arp short %d" % len(p)
            ht, pt, hl, pl, op = struct.unpack("!HHBBH", p[:8])
            sha, spa, tha, tpa = p[8:14], socket.inet_ntoa(p[14:18]), p[18:24], socket.inet_ntoa(p[24:28])
            if op == 1 and tpa in PEERS:
                # The subject resolving the peer: answered, not printed
                # (when it asks depends on its neighbour cache's timers).
                self.send(eth(sha, PEER_MAC, ETH_P_ARP, arp(2, PEER_MAC, PEER_IP, sha, spa)))
                return None
            return "arp %s eth %s>%s hw=%d/%d pro=%#x/%d sha=%s spa=%s tha=%s tpa=%s" % (
                {1: "request", 2: "reply"}.get(op, "op%d" % op), self.mac(src), self.mac(dst), ht, hl, pt, pl,
                self.mac(sha), spa, self.mac(tha), tpa)
        if et != ETH_P_IP:
            return None
        if len(p) < 20:
            return "ip short %d" % len(p)
        vihl, tos, tot, ident, frag, ttl, proto, _ = struct.unpack("!BBHHHBBH", p[:12])
        ihl = (vihl & 15) * 4
        src_ip, dst_ip = socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20])
        hdr = p[:ihl]
        self.got_ip.append(p[:tot])
        body = p[ihl:tot]
        # The ID of an atomic datagram (DF, not a fragment) means nothing
        # (RFC 6864 §4.1): Linux sends 0 on its SYN-ACKs and resets and a
        # counter on a connection's segments; masked. Otherwise only
        # whether it is 0 is printed (each stack has its own generator).
        if frag & 0x4000 and not frag & 0x3fff:
            idtxt = "-"
        else:
            idtxt = "0" if ident == 0 else "x"
        s = "ip %s>%s eth>%s tos=%#x ttl=%d id=%s%s%s len=%d" % (
            src_ip, dst_ip, self.mac(dst), tos, ttl, idtxt,
            " df" if frag & 0x4000 else "", " frag=%#x" % (frag & 0xbfff) if frag & 0xbfff else "", tot)
        if ihl > 20:
            s += " opts=" + hdr[20:].hex()
        if len(p) > tot and len(p) + 14 > 60:
            s += " trailing=%d" % (len(p) - tot)
        if csum(hdr) != 0:
            s += " BAD-IP-CSUM"
        if frag & 0x3fff:
            # Only a first fragment has the transport's header.
            s += " | fragment data=%d" % len(body)
        elif proto == 1:
            s += " | " + self.d_icmp(body)
        elif proto == 17:
            s += " | " + self.d_udp(src_ip, dst_ip, body, csum_not_ready)
        elif proto == 6:
            s += " | " + self.d_tcp(src_ip, dst_ip, body, csum_not_ready)
        else:
            s += " | proto %d" % proto
        return s

    def d_icmp(self, b):
        if len(b) < 8:
            return "icmp short %d" % len(b)
        t, c = b[0], b[1]
        s = "icmp %s code=%d" % (ICMP_NAMES.get(t, "type%d" % t), c)
        if csum(b) != 0:
            s += " BAD-CSUM"
        if t in (0, 8):
            ident, seq = struct.unpack("!HH", b[4:8])
            sent = self.sent_ip[(self.sent_ip[0] & 15) * 4 + 8:] if self.sent_ip else b""
            s += " id=%d seq=%d data=%d%s" % (ident, seq, len(b) - 8, " same" if b[8:] == sent else " differs")
        elif t in (13, 14):
            ident, seq, o, r, x = struct.unpack("!HHIII", b[4:20])

            def ms(v):
                return "ms" if v < 86400000 else "%#x" % v
            s += " id=%d seq=%d orig=%d rx=%s tx=%s len=%d" % (ident, seq, o, ms(r), ms(x), len(b))
        elif t in (3, 4, 5, 11, 12):
            rest = b[4:8]
            q = b[8:]
            s += " rest=%s quote=%d" % (rest.hex(), len(q))
            if self.sent_ip and q == self.sent_ip[:len(q)]:
                s += " =sent[:%d]" % len(q)
            else:
                s += " differs(sent %d: %s; quoted %s)" % (len(self.sent_ip), self.sent_ip[:28].hex(), q[:28].hex())
        return s

    def d_udp(self, src, dst, b, csum_not_ready):
        if len(b) < 8:
            return "udp short %d" % len(b)
        sp, dp, ln, c = struct.unpack("!HHHH", b[:8])
        # A port of the subject's choosing (an ephemeral one) is its own.
        s = "udp %s>%d len=%d data=%d" % ("eph" if sp >= 32768 else "%d" % sp, dp, ln, len(b) - 8)
        if sp == UDP_CONTROL:
            s += " text=" + b[8:].decode(errors="replace")
        if c == 0:
            s += " csum=0"
        elif not csum_not_ready and csum(pseudo(src, dst, 17, len(b)) + b) != 0:
            s += " BAD-CSUM"
        return s

    def d_tcp(self, src, dst, b, csum_not_ready):
        if len(b) < 20:
            return "tcp short %d" % len(b)
        sp, dp, seq, ack, off, fl, win, c, urp = struct.unpack("!HHIIBBHHH", b[:20])
        doff = (off >> 4) * 4
        key = (sp, dp)
        if fl & SYN:
            self.isn[key] = seq
        names = "".join(n for bit, n in ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "."),
                                           (URG, "U"), (ECE, "E"), (CWR, "W")) if fl & bit)
        if key in self.isn and not (fl & RST and seq == 0):
            sq = "isn+%d" % ((seq - self.isn[key]) & 0xffffffff)
        else:
            sq = "%d" % seq
        s = "tcp %d>%d %s seq=%s ack=%s win=%d" % (sp, dp, names or "none", sq,
                                                   ("%d" % ack) if fl & ACK else ("(%d)" % ack if ack else "0"),
                                                   win)
        if urp or fl & URG:
            s += " urp=%d" % urp
        if off & 15:
            s += " res=%#x" % (off & 15)
        if doff > 20:
            s += " opts=" + tcp_opts(b[20:doff], True)
        s += " len=%d" % (len(b) - doff)
        if not csum_not_ready and csum(pseudo(src, dst, 6, len(b)) + b) != 0:
            s += " BAD-CSUM"
        return s

    # ---- helpers for scenarios ----

    def ip(self, proto, payload, **kw):
        return ip4(PEER_IP, self.subj_ip, proto, payload, **kw)

    def tcp(self, sport, dport, seq, ack, flags, ipkw=None, **kw):
        self.send_ip(self.ip(6, tcpseg(PEER_IP, self.subj_ip, sport, dport, seq, ack, flags, **kw), **(ipkw or {})))

    def udp(self, sport, dport, data, ipkw=None, **kw):
        self.send_ip(self.ip(17, udp(PEER_IP, self.subj_ip, sport, dport, data, **kw), **(ipkw or {})))

    def echo(self, data=b"abcdefgh" * 7, ident=0x77, seq=1, ipkw=None, bad_csum=False):
        self.send_ip(self.ip(1, icmp(8, 0, struct.pack("!HH", ident, seq), data, bad_csum=bad_csum),
                             **(ipkw or {})))

    # A connection to the listener on port dport: SYN (options opts), the
    # SYN-ACK printed, the ACK. Returns the subject's ISN + 1.
    def connect(self, sport, dport=TCP_OPEN, opts=None, ts=None, settle=True):
        if opts is None:
            opts = o_mss() + O_SACKOK + (o_ts(ts) if ts else b"\1\1") + b"\1" + o_ws(7)
        self.tcp(sport, dport, PEER_ISN, 0, SYN, opts=opts)
        self.expect()
        isn = self.isn.get((dport, sport))
        if isn is None:
            return None
        tso = (b"\1\1" + o_ts(ts + 1, 0)) if ts else b""
        self.tcp(sport, dport, PEER_ISN + 1, isn + 1, ACK, win=502, opts=tso)
        if settle:
            self.quiet(0.05)
        return isn + 1

    def reset(self, sport, seq, dport=TCP_OPEN):
        """An exact RST that ends a connection of ours; nothing should come back."""
        self.tcp(sport, dport, seq, 0, RST)


# ---- scenarios ----------------------------------------------------------------

SCENARIOS = []


def scenario(f):
    SCENARIOS.append(f)
    return f


# ARP (RFC 826)


@scenario
def arp_request(r):
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip)))
    r.expect()


@scenario
def arp_request_unicast(r):
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip)))
    r.expect()


@scenario
def arp_request_other_ip(r):
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, "192.0.2.77")))
    r.quiet()


@scenario
def arp_gratuitous(r):
    # A gratuitous request and reply from another host: no answer.
    m = bytes.fromhex("020000000009")
    r.send(eth(BCAST, m, ETH_P_ARP, arp(1, m, "192.0.2.9", b"\0" * 6, "192.0.2.9")))
    r.send(eth(BCAST, m, ETH_P_ARP, arp(2, m, "192.0.2.9", BCAST, "192.0.2.9")))
    r.quiet()


@scenario
def arp_probe(r):
    # RFC 5227 probe for the subject's own address (sender 0.0.0.0): the
    # owner defends it with a reply.
    m = bytes.fromhex("020000000009")
    r.send(eth(BCAST, m, ETH_P_ARP, arp(1, m, "0.0.0.0", b"\0" * 6, r.subj_ip)))
    r.expect()


@scenario
def arp_htype_ieee802(r):
    # Hardware type 6 (IEEE 802): Linux's arp_process takes it on Ethernet.
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip, htype=6)))
    r.expect()


@scenario
def arp_bad_htype(r):
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip, htype=7)))
    r.quiet()


@scenario
def arp_bad_hlen(r):
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip, hlen=8)))
    r.quiet()


@scenario
def arp_bad_ptype(r):
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip, ptype=0x86dd)))
    r.quiet()


@scenario
def arp_bad_op(r):
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(9, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip)))
    r.quiet()


@scenario
def arp_multicast_sender(r):
    # A sender hardware address that is multicast: Linux's arp_process
    # drops it (a poisoning attempt).
    m = bytes.fromhex("010000000009")
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, m, PEER_IP, b"\0" * 6, r.subj_ip)))
    r.expect()
    # The peer's own address again, for the scenarios after this one.
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip)))
    r.expect()


# ICMP (RFC 792, RFC 1122 §3.2.2)


@scenario
def icmp_rate_limit_peer(r):
    # Ten datagrams to a closed port at once from one address: Linux sends
    # 6 port unreachables (icmp_ratelimit: a burst of 6, then 1 a second).
    global PEER_IP
    keep, PEER_IP = PEER_IP, "192.0.2.250"
    for i in range(10):
        r.udp(40650 + i, CLOSED, b"rate %d" % i)
    r.expect(n=10)
    PEER_IP = keep


@scenario
def icmp_echo(r):
    r.echo()
    r.expect()


@scenario
def icmp_echo_odd(r):
    r.echo(data=b"xyz" * 11)
    r.expect()


@scenario
def icmp_echo_empty(r):
    r.echo(data=b"")
    r.expect()


@scenario
def icmp_echo_big(r):
    r.echo(data=bytes(range(256)) * 5 + b"12345")
    r.expect()


@scenario
def icmp_echo_tos(r):
    r.echo(ipkw={"tos": 0xb8})
    r.expect()


@scenario
def icmp_echo_ttl0(r):
    r.echo(ipkw={"ttl": 0})
    r.expect()


@scenario
def icmp_echo_ttl1(r):
    r.echo(ipkw={"ttl": 1})
    r.expect()


@scenario
def icmp_echo_df(r):
    r.echo(ipkw={"frag": 0x4000})
    r.expect()


@scenario
def icmp_echo_opt_nop(r):
    r.echo(ipkw={"opts": b"\x01\x01\x01\x00"})
    r.expect()


@scenario
def icmp_echo_opt_rr(r):
    # Record route with room for two addresses.
    r.echo(ipkw={"opts": b"\x07\x0b\x04" + b"\0" * 8 + b"\0"})
    r.expect()


@scenario
def icmp_echo_opt_bad(r):
    # An option whose length runs past the header: Linux answers with a
    # parameter problem pointing at it (ip_options_compile).
    r.echo(ipkw={"opts": b"\x07\x09\x04\x00"})
    r.expect()


@scenario
def icmp_echo_opt_rr_one(r):
    # Record route with room for one address: the subject's, on input;
    # none left for the reply's.
    r.echo(ipkw={"opts": b"\x07\x07\x04" + b"\0" * 4 + b"\0"})
    r.expect()


@scenario
def icmp_echo_opt_rr_full(r):
    r.echo(ipkw={"opts": b"\x07\x07\x08\xc6\x33\x64\x01\0"})
    r.expect()


@scenario
def icmp_echo_opt_rr_bad_ptr(r):
    r.echo(ipkw={"opts": b"\x07\x07\x03" + b"\0" * 4 + b"\0"})
    r.expect()


@scenario
def icmp_echo_opt_two_rr(r):
    r.echo(ipkw={"opts": b"\x07\x03\x04\x07\x03\x04\0\0"})
    r.expect()


@scenario
def icmp_echo_opt_ts_prespec_other(r):
    # Timestamp, prespecified addresses that are not the subject's: left
    # as they are (no time of day in it, so the output is deterministic).
    r.echo(ipkw={"opts": b"\x44\x0c\x05\x03\xc6\x33\x64\x01\0\0\0\0"})
    r.expect()


@scenario
def icmp_echo_opt_ts_overflow(r):
    r.echo(ipkw={"opts": b"\x44\x08\x09\x10\0\0\0\x01"})
    r.expect()


@scenario
def icmp_echo_opt_ts_overflow_max(r):
    r.echo(ipkw={"opts": b"\x44\x08\x09\xf0\0\0\0\x01"})
    r.expect()


@scenario
def icmp_echo_opt_ts_short(r):
    r.echo(ipkw={"opts": b"\x44\x03\x05\0"})
    r.expect()


@scenario
def icmp_echo_opt_lsrr(r):
    # Loose source route: dropped (accept_source_route=0).
    r.echo(ipkw={"opts": b"\x83\x07\x04\xc0\x00\x02\x09\0"})
    r.quiet()


@scenario
def icmp_echo_opt_unknown(r):
    r.echo(ipkw={"opts": b"\x9e\x04\xab\xcd"})
    r.expect()


@scenario
def icmp_echo_opt_router_alert(r):
    r.echo(ipkw={"opts": b"\x94\x04\0\0"})
    r.expect()


@scenario
def icmp_echo_opt_cipso_short(r):
    # A CIPSO option (134) shorter than its 8 bytes: Linux built with
    # NetLabel (cipso_v4_validate) answers a parameter problem pointing at
    # its length, and echoes the option in it (ip_options_echo).
    r.echo(ipkw={"opts": b"\x86\x06\0\0\0\x01\0\0"})
    r.expect()


@scenario
def icmp_echo_opt_rr_cipso(r):
    # Record route, then a well-formed CIPSO option (DOI 1, a tag of 4
    # bytes): no DOI is configured, so a parameter problem pointing at the
    # DOI; it carries the record route (ours in it) and the CIPSO option,
    # and quotes the datagram with ours recorded.
    r.echo(ipkw={"opts": b"\x01\x07\x07\x04\0\0\0\0\x86\x0a\0\0\0\x01\x01\x04\0\0\0\0"})
    r.expect()


@scenario
def tcp_syn_listen_opt_cipso(r):
    # A SYN with a CIPSO option: the parameter problem, no SYN-ACK.
    r.tcp(45301, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss(), ipkw={"opts": b"\x86\x0a\0\0\0\x01\x01\x04\0\0\0\0"})
    r.expect()


@scenario
def icmp_echo_opt_len_one(r):
    r.echo(ipkw={"opts": b"\x01\x01\x44\x01"})
    r.expect()


@scenario
def udp_closed_opt_rr(r):
    r.udp(40612, CLOSED, b"rr", ipkw={"opts": b"\x07\x0b\x04" + b"\0" * 8 + b"\0"})
    r.expect()


@scenario
def udp_closed_opt_eol_garbage(r):
    # Bytes after an end-of-list option: Linux's ip_options_compile clears
    # them in the datagram (is_changed), and the port unreachable quotes
    # it so (its IP checksum the one sent).
    r.udp(45200, CLOSED, b"eol", ipkw={"opts": b"\x00\xaa\xbb\xcc"})
    r.expect()


@scenario
def udp_open_opt_bad(r):
    r.udp(40613, UDP_OPEN, b"bad opt", ipkw={"opts": b"\x07\x09\x04\0"})
    r.expect()


@scenario
def tcp_syn_closed_opt_rr(r):
    r.send_ip(r.ip(6, tcpseg(PEER_IP, r.subj_ip, 40713, CLOSED, 5000, 0, SYN),
                   opts=b"\x07\x0b\x04" + b"\0" * 8 + b"\0"))
    r.expect()


@scenario
def tcp_syn_listen_opt_rr(r):
    # A SYN carrying record route to the listener, the handshake's ACK and
    # data without it.
    rr = b"\x07\x0b\x04" + b"\0" * 8 + b"\0"
    r.send_ip(r.ip(6, tcpseg(PEER_IP, r.subj_ip, 40714, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss()), opts=rr))
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40714), 0)
    r.tcp(40714, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK)
    r.tcp(40714, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"hi")
    r.expect()
    r.reset(40714, PEER_ISN + 3, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def icmp_echo_bad_csum(r):
    r.echo(bad_csum=True)
    r.quiet()


@scenario
def icmp_echo_broadcast(r):
    # Linux ignores echo to broadcast (icmp_echo_ignore_broadcasts=1).
    r.send_ip(ip4(PEER_IP, "192.0.2.255", 1, icmp(8, 0, struct.pack("!HH", 1, 1), b"bcast")), BCAST)
    r.quiet()


@scenario
def icmp_echo_other_ip(r):
    r.send_ip(ip4(PEER_IP, "192.0.2.77", 1, icmp(8, 0, struct.pack("!HH", 1, 1), b"other")))
    r.quiet()


@scenario
def icmp_echo_padded(r):
    # A short echo in a frame padded to Ethernet's minimum, plus more
    # trailing bytes past the IP total length: trimmed, not echoed.
    pkt = r.ip(1, icmp(8, 0, struct.pack("!HH", 5, 5), b"ab"))
    r.sent_ip = pkt
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, pkt + b"\xee" * 40))
    r.expect()


@scenario
def icmp_echo_reply_unsolicited(r):
    r.send_ip(r.ip(1, icmp(0, 0, struct.pack("!HH", 9, 9), b"hello")))
    r.quiet()


@scenario
def icmp_timestamp(r):
    r.send_ip(r.ip(1, icmp(13, 0, struct.pack("!HHIII", 0x42, 7, 1234, 0, 0))))
    r.expect()


@scenario
def icmp_timestamp_short(r):
    r.send_ip(r.ip(1, icmp(13, 0, struct.pack("!HHI", 0x42, 8, 1234))))
    r.quiet()


@scenario
def icmp_info_request(r):
    r.send_ip(r.ip(1, icmp(15, 0, struct.pack("!HH", 1, 1))))
    r.quiet()


@scenario
def icmp_addrmask_request(r):
    r.send_ip(r.ip(1, icmp(17, 0, struct.pack("!HHI", 1, 1, 0))))
    r.quiet()


@scenario
def icmp_unknown_type(r):
    r.send_ip(r.ip(1, icmp(42, 0, b"\0\0\0\0")))
    r.quiet()


@scenario
def icmp_short(r):
    r.send_ip(r.ip(1, b"\x08\x00\xf7"))
    r.quiet()


# IPv4 (RFC 791, RFC 1122 §3.2.1)


@scenario
def ip_unknown_proto(r):
    r.send_ip(r.ip(253, b"payload!"))
    r.expect()


@scenario
def ip_unknown_proto_broadcast(r):
    r.send_ip(ip4(PEER_IP, "192.0.2.255", 253, b"payload!"), BCAST)
    r.quiet()


@scenario
def ip_bad_csum(r):
    r.echo(ipkw={"bad_csum": True})
    r.quiet()


@scenario
def ip_bad_version(r):
    r.echo(ipkw={"version": 6})
    r.quiet()


@scenario
def ip_ihl_short(r):
    r.echo(ipkw={"ihl": 4})
    r.quiet()


@scenario
def ip_ihl_past_length(r):
    # IHL 15 (60 bytes) in a datagram whose total length is 40.
    r.echo(data=b"", ipkw={"ihl": 15, "tot_len": 40})
    r.quiet()


@scenario
def ip_totlen_long(r):
    r.echo(ipkw={"tot_len": 200})
    r.quiet()


@scenario
def ip_totlen_short(r):
    r.echo(ipkw={"tot_len": 16})
    r.quiet()


@scenario
def ip_src_broadcast(r):
    r.send_ip(ip4("192.0.2.255", r.subj_ip, 1, icmp(8, 0, struct.pack("!HH", 1, 1), b"x")))
    r.quiet()


@scenario
def ip_src_self(r):
    r.send_ip(ip4(r.subj_ip, r.subj_ip, 1, icmp(8, 0, struct.pack("!HH", 1, 1), b"x")))
    r.quiet()


@scenario
def ip_src_loopback(r):
    r.send_ip(ip4("127.0.0.1", r.subj_ip, 1, icmp(8, 0, struct.pack("!HH", 1, 1), b"x")))
    r.quiet()


def frags(r, data, pieces, ident=0x4242):
    """An echo of data cut at the given (offset, length) pieces, sent in order."""
    m = icmp(8, 0, struct.pack("!HH", 0x66, 1), data)
    r.sent_ip = r.ip(1, m, ident=ident)
    for off, ln in pieces:
        more = 0x2000 if off + ln < len(m) else 0
        r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[off:off + ln], ident=ident, frag=more | (off // 8))))


DATA300 = bytes(range(256)) + b"0123456789" * 4 + b"abcd"   # 300 bytes: an echo of 308


@scenario
def frag_in_order(r):
    frags(r, DATA300, [(0, 104), (104, 104), (208, 100)])
    r.expect()


@scenario
def frag_out_of_order(r):
    frags(r, DATA300, [(208, 100), (0, 104), (104, 104)], ident=0x4243)
    r.expect()


@scenario
def frag_duplicate(r):
    frags(r, DATA300, [(0, 104), (0, 104), (104, 104), (208, 100)], ident=0x4244)
    r.expect()


@scenario
def frag_overlap(r):
    # RFC 5722's rule, which Linux applies to IPv4 too since 4.19
    # (ip_frag_queue: the whole datagram is dropped).
    frags(r, DATA300, [(0, 112), (104, 104), (208, 100)], ident=0x4245)
    r.quiet(0.3)


@scenario
def frag_last_twice_different_end(r):
    frags(r, DATA300, [(208, 100), (208, 92)], ident=0x4246)
    frags(r, DATA300, [(0, 104), (104, 104)], ident=0x4246)
    r.quiet(0.3)


@scenario
def frag_udp_closed(r):
    # A fragmented datagram to a closed port: the port unreachable quotes
    # the reassembled datagram's header.
    m = udp(PEER_IP, r.subj_ip, 40500, CLOSED, b"u" * 200)
    r.sent_ip = r.ip(17, m, ident=0x4247)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(17, m[:104], ident=0x4247, frag=0x2000)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(17, m[104:], ident=0x4247, frag=13)))
    r.expect()


# UDP (RFC 768, RFC 1122 §4.1)


@scenario
def udp_echo(r):
    r.udp(40600, UDP_OPEN, b"hello udp")
    r.expect()


@scenario
def udp_closed(r):
    r.udp(40601, CLOSED, b"hello closed")
    r.expect()


@scenario
def udp_closed_big(r):
    # The quote: Linux quotes as much as fits in 576 bytes.
    r.udp(40602, CLOSED, bytes(range(256)) * 4)
    r.expect()


@scenario
def udp_closed_broadcast(r):
    r.send_ip(ip4(PEER_IP, "192.0.2.255", 17, udp(PEER_IP, "192.0.2.255", 40603, CLOSED, b"b")), BCAST)
    r.quiet()


@scenario
def udp_zero_csum(r):
    r.udp(40604, UDP_OPEN, b"no checksum", zero_csum=True)
    r.expect()


@scenario
def udp_bad_csum(r):
    r.udp(40605, UDP_OPEN, b"bad checksum", bad_csum=True)
    r.quiet()


@scenario
def udp_bad_csum_closed(r):
    r.udp(40606, CLOSED, b"bad checksum", bad_csum=True)
    r.quiet()


@scenario
def udp_len_long(r):
    r.udp(40607, UDP_OPEN, b"too long", length=40)
    r.quiet()


@scenario
def udp_len_short(r):
    # The UDP length is shorter than the IP payload: the datagram is the
    # UDP length's worth (the checksum computed over that).
    data = b"shortened"
    full = udp(PEER_IP, r.subj_ip, 40608, UDP_OPEN, data[:5])
    pkt = full[:4] + struct.pack("!H", 13) + full[6:] + data[5:]
    r.send_ip(r.ip(17, pkt))
    r.expect()


@scenario
def udp_len_below_header(r):
    r.udp(40609, UDP_OPEN, b"tiny", length=6)
    r.quiet()


@scenario
def udp_header_truncated(r):
    r.send_ip(r.ip(17, b"\x9e\x39\x1b"))
    r.quiet()


@scenario
def udp_closed_tos_ef(r):
    r.udp(40611, CLOSED, b"x", ipkw={"tos": 0xb9})
    r.expect()


@scenario
def udp_closed_ttl1(r):
    r.udp(40610, CLOSED, b"x", ipkw={"ttl": 1, "tos": 0x10})
    r.expect()


# TCP: closed ports (RFC 9293 §3.10.7.1)


@scenario
def tcp_syn_closed(r):
    r.tcp(40700, CLOSED, 5000, 0, SYN, opts=o_mss())
    r.expect()


@scenario
def tcp_syn_data_closed(r):
    r.tcp(40701, CLOSED, 5000, 0, SYN, data=b"12345")
    r.expect()


@scenario
def tcp_ack_closed(r):
    r.tcp(40702, CLOSED, 5000, 777777, ACK)
    r.expect()


@scenario
def tcp_data_closed(r):
    r.tcp(40703, CLOSED, 5000, 0, PSH, data=b"abc")
    r.expect()


@scenario
def tcp_fin_closed(r):
    r.tcp(40704, CLOSED, 5000, 777777, FIN | ACK, data=b"abc")
    r.expect()


@scenario
def tcp_rst_closed(r):
    r.tcp(40705, CLOSED, 5000, 777777, RST | ACK)
    r.quiet()


@scenario
def tcp_null_closed(r):
    r.tcp(40706, CLOSED, 5000, 0, 0)
    r.expect()


@scenario
def tcp_synfin_closed(r):
    r.tcp(40707, CLOSED, 5000, 0, SYN | FIN)
    r.expect()


@scenario
def tcp_syn_closed_broadcast(r):
    r.send_ip(ip4(PEER_IP, "192.0.2.255", 6, tcpseg(PEER_IP, "192.0.2.255", 40708, CLOSED, 5000, 0, SYN)), BCAST)
    r.quiet()


@scenario
def tcp_bad_csum_closed(r):
    r.tcp(40709, CLOSED, 5000, 0, SYN, bad_csum=True)
    r.quiet()


@scenario
def tcp_doff_short(r):
    r.tcp(40710, CLOSED, 5000, 0, SYN, doff=4)
    r.quiet()


@scenario
def tcp_doff_long(r):
    r.tcp(40711, CLOSED, 5000, 0, SYN, doff=10)
    r.quiet()


@scenario
def tcp_header_truncated(r):
    r.send_ip(r.ip(6, tcpseg(PEER_IP, r.subj_ip, 40712, CLOSED, 5000, 0, SYN)[:12]))
    r.quiet()


# TCP: the listener's SYN-ACK (RFC 9293 §3.10.7.2, RFC 7323, RFC 2018)

def syn_listen(r, sport, opts, flags=SYN, data=b""):
    r.tcp(sport, TCP_OPEN, PEER_ISN, 0, flags, opts=opts, data=data)
    got = r.expect()
    if got:
        # Ends the half-open connection before its SYN-ACK is sent again.
        r.reset(sport, PEER_ISN + 1)
        r.quiet(0.05)


@scenario
def syn_no_options(r):
    syn_listen(r, 40800, b"")


@scenario
def syn_mss_only(r):
    syn_listen(r, 40801, o_mss(1400))


@scenario
def syn_mss_small(r):
    syn_listen(r, 40802, o_mss(100))


@scenario
def syn_linux_options(r):
    syn_listen(r, 40803, o_mss() + O_SACKOK + o_ts(4242) + b"\1" + o_ws(7))


@scenario
def syn_wscale_15(r):
    syn_listen(r, 40804, o_mss() + b"\1" + o_ws(15))


@scenario
def syn_sackok_only(r):
    syn_listen(r, 40805, O_SACKOK)


@scenario
def syn_ts_only(r):
    syn_listen(r, 40806, o_ts(99))


@scenario
def syn_ts_ws(r):
    syn_listen(r, 40807, b"\1\1" + o_ts(99) + b"\1" + o_ws(2))


@scenario
def syn_unknown_option(r):
    syn_listen(r, 40808, struct.pack("!BBH", 99, 4, 0xabcd) + o_mss() + O_SACKOK)


@scenario
def syn_option_len0(r):
    # A "silly" option length stops the parse (tcp_parse_options): the MSS
    # before it counts, the SACK-permitted after it does not.
    syn_listen(r, 40809, o_mss(1300) + b"\x63\x00" + O_SACKOK)


@scenario
def syn_option_past_end(r):
    syn_listen(r, 40810, o_mss(1300) + b"\x04\x02\x03\x08\x07")


@scenario
def syn_mss_bad_len(r):
    syn_listen(r, 40811, b"\x02\x03\x05" + b"\x04\x02")


@scenario
def syn_ws_bad_len(r):
    syn_listen(r, 40812, b"\x03\x04\x07\x00" + o_mss(1200))


@scenario
def syn_ts_bad_len(r):
    syn_listen(r, 40813, b"\x08\x08" + b"\0" * 6 + o_mss(1200))


@scenario
def syn_ecn(r):
    syn_listen(r, 40814, o_mss(), flags=SYN | ECE | CWR)


@scenario
def syn_with_data(r):
    syn_listen(r, 40815, o_mss(), data=b"data on a SYN")


@scenario
def syn_fin_listener(r):
    r.tcp(40816, TCP_OPEN, PEER_ISN, 0, SYN | FIN, opts=o_mss())
    r.quiet()


@scenario
def syn_rst_listener(r):
    r.tcp(40817, TCP_OPEN, PEER_ISN, 0, SYN | RST)
    r.quiet()


@scenario
def ack_listener(r):
    r.tcp(40818, TCP_OPEN, PEER_ISN, 123456, ACK)
    r.expect()


@scenario
def null_listener(r):
    r.tcp(40819, TCP_OPEN, PEER_ISN, 0, 0)
    r.quiet()


@scenario
def synack_listener(r):
    r.tcp(40820, TCP_OPEN, PEER_ISN, 4444, SYN | ACK)
    r.expect()


@scenario
def syn_urg(r):
    syn_listen(r, 40821, o_mss(), flags=SYN | URG)


@scenario
def syn_bad_csum_listener(r):
    r.tcp(40822, TCP_OPEN, PEER_ISN, 0, SYN, bad_csum=True)
    r.quiet()


@scenario
def syn_retransmitted(r):
    # The same SYN twice: the second gets the SYN-ACK again.
    r.tcp(40823, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    r.tcp(40823, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(40823, PEER_ISN + 1)
    r.quiet(0.05)


@scenario
def syn_retransmitted_other_options(r):
    # A SYN with every option, then one with the same ISN and only an MSS
    # of 1000 while the request waits: the SYN-ACK again, the request's
    # own (tcp_check_req: inet_rtx_syn_ack), not one for the new options.
    r.tcp(46100, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss() + O_SACKOK + o_ts(700) + b"\1" + o_ws(7))
    r.expect()
    r.tcp(46100, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss(1000))
    r.expect()
    r.reset(46100, PEER_ISN + 1)
    r.quiet(0.05)


# TCP: half-open connections (SYN-RECEIVED)


@scenario
def synrecv_data_no_ack(r):
    r.tcp(40900, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    r.tcp(40900, TCP_NOACCEPT, PEER_ISN + 1, 0, PSH, data=b"early")
    r.quiet()
    r.reset(40900, PEER_ISN + 1, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def synrecv_ack_data(r):
    r.tcp(40901, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40901), 0)
    r.tcp(40901, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"hello")
    r.expect()
    r.reset(40901, PEER_ISN + 6, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def synrecv_bad_ack(r):
    r.tcp(40902, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40902), 0)
    r.tcp(40902, TCP_NOACCEPT, PEER_ISN + 1, isn + 1000, ACK)
    r.expect()
    r.reset(40902, PEER_ISN + 1, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def synrecv_rst_wrong_seq(r):
    r.tcp(40903, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    r.tcp(40903, TCP_NOACCEPT, PEER_ISN + 100, 0, RST)
    r.quiet()
    r.reset(40903, PEER_ISN + 1, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def synrecv_syn_new_seq(r):
    # A SYN with another ISN on a half-open connection.
    r.tcp(40904, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    r.tcp(40904, TCP_NOACCEPT, PEER_ISN + 5000, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(40904, PEER_ISN + 1, TCP_NOACCEPT)
    r.quiet(0.05)


# TCP: established connections (RFC 9293 §3.10.7.4, RFC 5961)

# The established connections are the listener's on 7002, which never
# accepts: the data they get stays unread, so that the windows advertised
# do not depend on when the subject's program reads.
EST = TCP_NOACCEPT


def est(r, sport, **kw):
    isn1 = r.connect(sport, EST, **kw)
    return isn1 if isn1 is not None else 0


def done(r, sport, seq):
    r.reset(sport, seq, EST)
    r.quiet(0.05)


@scenario
def est_data(r):
    s = est(r, 41000)
    r.tcp(41000, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"hello")
    r.expect()
    done(r, 41000, PEER_ISN + 6)


@scenario
def est_data_opt_rr(r):
    # Data with record route on a connection whose SYN had no IP options:
    # its ACK carries none (the socket's options are the SYN's).
    s = est(r, 46101)
    r.send_ip(r.ip(6, tcpseg(PEER_IP, r.subj_ip, 46101, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"rr"),
                   opts=RR9))
    r.expect()
    done(r, 46101, PEER_ISN + 3)


@scenario
def est_data_opt_ts(r):
    # The same with an IP timestamp option (type 0, room for two).
    s = est(r, 46102)
    r.send_ip(r.ip(6, tcpseg(PEER_IP, r.subj_ip, 46102, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"ts"),
                   opts=b"\x44\x0c\x05\x00" + b"\0" * 8))
    r.expect()
    done(r, 46102, PEER_ISN + 3)


@scenario
def est_rst_exact(r):
    s = est(r, 41001)
    r.tcp(41001, EST, PEER_ISN + 1, 0, RST)
    r.quiet()
    # It is gone: an ACK now gets a reset.
    r.tcp(41001, EST, PEER_ISN + 1, s, ACK)
    r.expect()


@scenario
def est_rst_in_window(r):
    s = est(r, 41002)
    r.tcp(41002, EST, PEER_ISN + 100, 0, RST)
    r.expect()
    done(r, 41002, PEER_ISN + 1)
    del s


@scenario
def est_rst_twice(r):
    # The second challenge ACK within 500 ms is not sent (tcp_oow_rate_limited).
    est(r, 41003)
    r.tcp(41003, EST, PEER_ISN + 100, 0, RST)
    r.expect()
    r.tcp(41003, EST, PEER_ISN + 200, 0, RST)
    r.quiet()
    done(r, 41003, PEER_ISN + 1)


@scenario
def est_rst_out_of_window(r):
    est(r, 41004)
    r.tcp(41004, EST, PEER_ISN + 10000000, 0, RST)
    r.quiet()
    done(r, 41004, PEER_ISN + 1)


@scenario
def est_rst_ack(r):
    s = est(r, 41005)
    r.tcp(41005, EST, PEER_ISN + 1, s, RST | ACK)
    r.quiet()
    r.tcp(41005, EST, PEER_ISN + 1, s, ACK)
    r.expect()


@scenario
def est_syn(r):
    s = est(r, 41006)
    r.tcp(41006, EST, PEER_ISN + 1, 0, SYN, opts=o_mss())
    r.expect()
    done(r, 41006, PEER_ISN + 1)
    del s


@scenario
def est_syn_other_seq(r):
    s = est(r, 41007)
    r.tcp(41007, EST, PEER_ISN + 99999, 0, SYN, opts=o_mss())
    r.expect()
    done(r, 41007, PEER_ISN + 1)
    del s


@scenario
def est_ack_unsent(r):
    s = est(r, 41008)
    r.tcp(41008, EST, PEER_ISN + 1, s + 1000, ACK, win=502)
    r.expect()
    done(r, 41008, PEER_ISN + 1)


@scenario
def est_ack_old(r):
    # An ACK far below SND.UNA (RFC 5961 §5.2: a challenge ACK).
    s = est(r, 41009)
    r.tcp(41009, EST, PEER_ISN + 1, s - 200000, ACK, win=502)
    r.expect()
    done(r, 41009, PEER_ISN + 1)


@scenario
def est_seq_old(r):
    # A segment below RCV.NXT (a duplicate): a duplicate ACK.
    s = est(r, 41010)
    r.tcp(41010, EST, PEER_ISN - 100, s, ACK | PSH, win=502, data=b"old")
    r.expect()
    done(r, 41010, PEER_ISN + 1)


@scenario
def est_data_beyond_window(r):
    s = est(r, 41011)
    r.tcp(41011, EST, PEER_ISN + 1 + 10000000, s, ACK | PSH, win=502, data=b"far")
    r.expect()
    done(r, 41011, PEER_ISN + 1)


@scenario
def est_two_bad_acks(r):
    s = est(r, 41012)
    r.tcp(41012, EST, PEER_ISN + 1 + 10000000, s, ACK, win=502)
    r.expect()
    r.tcp(41012, EST, PEER_ISN + 1 + 10000000, s, ACK, win=502)
    r.quiet()
    done(r, 41012, PEER_ISN + 1)


@scenario
def est_out_of_order(r):
    s = est(r, 41013)
    r.tcp(41013, EST, PEER_ISN + 101, s, ACK | PSH, win=502, data=b"later")
    r.expect()
    r.tcp(41013, EST, PEER_ISN + 1, s, ACK, win=502, data=b"x" * 100)
    r.expect()
    done(r, 41013, PEER_ISN + 106)


@scenario
def est_synfin(r):
    s = est(r, 41014)
    r.tcp(41014, EST, PEER_ISN + 1, s, SYN | FIN | ACK, win=502)
    r.expect()
    done(r, 41014, PEER_ISN + 1)


@scenario
def est_null(r):
    s = est(r, 41015)
    r.tcp(41015, EST, PEER_ISN + 1, s, 0, win=502, data=b"nul")
    r.quiet()
    done(r, 41015, PEER_ISN + 1)


@scenario
def est_urg(r):
    s = est(r, 41016)
    r.tcp(41016, EST, PEER_ISN + 1, s, ACK | PSH | URG, win=502, data=b"urgent", urp=6)
    r.expect()
    done(r, 41016, PEER_ISN + 7)


@scenario
def est_bad_csum(r):
    s = est(r, 41017)
    r.tcp(41017, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"corrupt", bad_csum=True)
    r.quiet()
    done(r, 41017, PEER_ISN + 1)


@scenario
def est_no_ack_flag_data(r):
    s = est(r, 41018)
    r.tcp(41018, EST, PEER_ISN + 1, s, PSH, win=502, data=b"noack")
    r.quiet()
    done(r, 41018, PEER_ISN + 1)
    del s


@scenario
def est_ts(r):
    # Timestamps: data with a TS, then one with an older TSval (PAWS:
    # a duplicate ACK, the data not taken).
    s = est(r, 41019, ts=5000)
    r.tcp(41019, EST, PEER_ISN + 1, s, ACK | PSH, win=502, opts=b"\1\1" + o_ts(5010, 0), data=b"ts")
    r.expect()
    r.tcp(41019, EST, PEER_ISN + 3, s, ACK | PSH, win=502, opts=b"\1\1" + o_ts(10, 0), data=b"paws")
    r.expect()
    done(r, 41019, PEER_ISN + 3)


@scenario
def est_fin(r):
    s = est(r, 41020)
    r.tcp(41020, EST, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    done(r, 41020, PEER_ISN + 2)


@scenario
def est_window_probe(r):
    # A zero-length segment at RCV.NXT - 1 (a keep-alive): answered.
    s = est(r, 41021)
    r.tcp(41021, EST, PEER_ISN, s, ACK, win=502)
    r.expect()
    done(r, 41021, PEER_ISN + 1)


@scenario
def est_sack_in_ack(r):
    s = est(r, 41022)
    r.tcp(41022, EST, PEER_ISN + 1, s, ACK, win=502, opts=b"\1\1" + o_sack((s + 10, s + 20)))
    r.quiet()
    done(r, 41022, PEER_ISN + 1)


@scenario
def est_syn_no_options_peer(r):
    # A connection set up without any option: the subject's ACKs.
    s = est(r, 41023, opts=b"")
    r.tcp(41023, EST, PEER_ISN + 1, s, ACK | PSH, win=1000, data=b"q" * 700)
    r.expect()
    done(r, 41023, PEER_ISN + 701)


# Odd link-layer addressing, and more of each protocol


@scenario
def eth_other_mac(r):
    # An echo for our IP in a frame for another station: not ours.
    pkt = r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 7), b"otherhost"))
    r.sent_ip = pkt
    r.send(eth(bytes.fromhex("020000000077"), PEER_MAC, ETH_P_IP, pkt))
    r.quiet()


@scenario
def eth_bcast_mac_icmp(r):
    # Our IP in a link-layer broadcast: Linux answers the echo.
    r.send_ip(r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 8), b"l2bcast")), BCAST)
    r.expect()


@scenario
def eth_bcast_mac_tcp_syn(r):
    # TCP takes only frames for this host (tcp_v4_rcv: PACKET_HOST).
    r.send_ip(r.ip(6, tcpseg(PEER_IP, r.subj_ip, 40715, CLOSED, 5000, 0, SYN)), BCAST)
    r.quiet()


@scenario
def eth_mcast_mac_udp(r):
    r.send_ip(r.ip(17, udp(PEER_IP, r.subj_ip, 40614, UDP_OPEN, b"l2 multicast")), bytes.fromhex("01005e000001"))
    r.expect()


@scenario
def udp_broadcast_open(r):
    r.send_ip(ip4(PEER_IP, "192.0.2.255", 17, udp(PEER_IP, "192.0.2.255", 40615, UDP_OPEN, b"to all")), BCAST)
    r.expect()


@scenario
def udp_limited_broadcast_open(r):
    r.send_ip(ip4(PEER_IP, "255.255.255.255", 17, udp(PEER_IP, "255.255.255.255", 40616, UDP_OPEN, b"all")), BCAST)
    r.expect()


@scenario
def icmp_echo_code_nonzero(r):
    r.send_ip(r.ip(1, icmp(8, 5, struct.pack("!HH", 9, 1), b"code five")))
    r.expect()


@scenario
def icmp_echo_loopback_dst(r):
    r.send_ip(ip4(PEER_IP, "127.0.0.1", 1, icmp(8, 0, struct.pack("!HH", 9, 2), b"lo")))
    r.quiet()


@scenario
def icmp_echo_dst_zero(r):
    r.send_ip(ip4(PEER_IP, "0.0.0.0", 1, icmp(8, 0, struct.pack("!HH", 9, 3), b"zero")))
    r.quiet()


@scenario
def icmp_echo_src_zero(r):
    r.send_ip(ip4("0.0.0.0", r.subj_ip, 1, icmp(8, 0, struct.pack("!HH", 9, 4), b"zero")))
    r.quiet()


@scenario
def ip_evil_bit(r):
    # The reserved flag (RFC 3514): Linux takes the datagram anyway.
    r.echo(ipkw={"frag": 0x8000})
    r.expect()


@scenario
def frag_tiny(r):
    # 8-byte fragments.
    m = icmp(8, 0, struct.pack("!HH", 0x67, 1), b"0123456789abcdef01234567")
    r.sent_ip = r.ip(1, m, ident=0x4250)
    for off in range(0, len(m), 8):
        more = 0x2000 if off + 8 < len(m) else 0
        r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[off:off + 8], ident=0x4250, frag=more | (off // 8))))
    r.expect()


@scenario
def frag_too_big(r):
    # A last fragment ending past 65535 bytes: queued all the same (only
    # the reassembly refuses such a datagram: ip_frag_reasm), nothing sent.
    m = icmp(8, 0, struct.pack("!HH", 0x68, 1), b"x" * 96)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[:104], ident=0x4251, frag=0x2000)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, b"y" * 100, ident=0x4251, frag=8180)))
    # Then one overlapping the first ends whatever queue is left (RFC
    # 5722's rule): no time exceeded 30 s later, in another scenario.
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, b"z" * 200, ident=0x4251, frag=0x2000 | 1)))
    r.quiet()


@scenario
def frag_df_and_mf(r):
    # DF with MF: still a fragment (Linux reassembles).
    m = icmp(8, 0, struct.pack("!HH", 0x69, 1), DATA300)
    r.sent_ip = r.ip(1, m, ident=0x4252)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[:160], ident=0x4252, frag=0x6000)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[160:], ident=0x4252, frag=0x4000 | 20)))
    r.expect()


@scenario
def frag_udp_zero_csum(r):
    m = udp(PEER_IP, r.subj_ip, 40617, UDP_OPEN, b"z" * 150, zero_csum=True)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(17, m[:80], ident=0x4253, frag=0x2000)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(17, m[80:], ident=0x4253, frag=10)))
    r.expect()


@scenario
def syn_mss_zero(r):
    syn_listen(r, 40824, o_mss(0))


@scenario
def syn_window_zero(r):
    r.tcp(40825, TCP_OPEN, PEER_ISN, 0, SYN, win=0, opts=o_mss())
    got = r.expect()
    if got:
        r.reset(40825, PEER_ISN + 1)
        r.quiet(0.05)


@scenario
def syn_ts_ecr_nonzero(r):
    syn_listen(r, 40826, o_mss() + O_SACKOK + o_ts(77, 12345) + b"\1" + o_ws(7))


@scenario
def syn_doff_options_garbage(r):
    # Options after an EOL are not looked at.
    syn_listen(r, 40827, o_mss(1300) + b"\0" + b"\x03\x03\x07" + b"\x04\x02" + b"\0\0")


@scenario
def ecn_ce_data(r):
    # An ECN connection (SYN with ECE|CWR): data marked CE is acknowledged
    # with ECE.
    r.tcp(41024, EST, PEER_ISN, 0, SYN | ECE | CWR, opts=o_mss() + O_SACKOK + b"\1\1\1" + o_ws(7))
    r.expect()
    s = r.isn.get((EST, 41024), 0) + 1
    r.tcp(41024, EST, PEER_ISN + 1, s, ACK, win=502)
    ce = tcpseg(PEER_IP, r.subj_ip, 41024, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"congested")
    r.send_ip(r.ip(6, ce, tos=0x03))
    r.expect()
    r.tcp(41024, EST, PEER_ISN + 10, s, ACK | PSH | CWR, win=502, data=b"more")
    r.expect()
    done(r, 41024, PEER_ISN + 14)


@scenario
def est_data_zero_window_peer(r):
    # We advertise a zero window: the subject sends nothing but ACKs.
    s = est(r, 41025)
    r.tcp(41025, EST, PEER_ISN + 1, s, ACK | PSH, win=0, data=b"z")
    r.expect()
    done(r, 41025, PEER_ISN + 2)


# TCP: the subject closes first (FIN-WAIT, TIME-WAIT), the subject sends

def closed_by_subject(r, sport):
    """A connection to the closer: handshake, then the subject's FIN."""
    s = r.connect(sport, TCP_CLOSER, opts=o_mss() + O_SACKOK + b"\1" + o_ws(7), settle=False)
    r.expect()          # its FIN (acknowledged next, before it is sent again)
    return s if s is not None else 0


@scenario
def tw_fin_exchange(r):
    # Its FIN acknowledged, ours sent: it acknowledges (TIME-WAIT); our FIN
    # again: acknowledged again.
    s = closed_by_subject(r, 42000)
    r.tcp(42000, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK, win=502)
    r.quiet()
    r.tcp(42000, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()
    r.tcp(42000, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def tw_syn_new(r):
    # A SYN with a higher sequence number on a TIME-WAIT connection opens a
    # new one (RFC 9293 §3.10.7.4, Linux's tcp_timewait_state_process).
    s = closed_by_subject(r, 42001)
    r.tcp(42001, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()
    r.tcp(42001, TCP_CLOSER, PEER_ISN + 100000, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(42001, PEER_ISN + 100001, TCP_CLOSER)
    r.quiet(0.05)


@scenario
def tw_rst(r):
    # RST in TIME-WAIT: Linux (tcp_rfc1337=0) ends it; an ACK then meets
    # no connection.
    s = closed_by_subject(r, 42002)
    r.tcp(42002, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()
    r.tcp(42002, TCP_CLOSER, PEER_ISN + 2, 0, RST)
    r.quiet()
    r.tcp(42002, TCP_CLOSER, PEER_ISN + 2, s + 1, ACK, win=502)
    r.expect()


@scenario
def tw_old_ack(r):
    s = closed_by_subject(r, 42003)
    r.tcp(42003, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()
    r.tcp(42003, TCP_CLOSER, PEER_ISN - 5000, s + 1, ACK, win=502)
    r.expect()


@scenario
def finwait2_data(r):
    # Its FIN acknowledged (FIN-WAIT-2, the socket closed): data from us
    # gets a reset.
    s = closed_by_subject(r, 42004)
    r.tcp(42004, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK, win=502)
    r.quiet()
    r.tcp(42004, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK | PSH, win=502, data=b"late")
    r.expect()


@scenario
def finwait1_data(r):
    # Its FIN not acknowledged yet (FIN-WAIT-1): data from us, acknowledging
    # nothing, gets a reset too.
    s = closed_by_subject(r, 42005)
    r.tcp(42005, TCP_CLOSER, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"late")
    r.expect()


@scenario
def finwait_simultaneous_close(r):
    # Our FIN crosses its FIN (CLOSING): it acknowledges ours; our ACK of
    # its FIN then ends in TIME-WAIT.
    s = closed_by_subject(r, 42006)
    r.tcp(42006, TCP_CLOSER, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    r.tcp(42006, TCP_CLOSER, PEER_ISN + 2, s + 1, ACK, win=502)
    r.quiet()


@scenario
def talker_data(r):
    # The subject sends first: its data, our ACK, then a duplicate ACK and
    # an ACK of more than it sent.
    s = r.connect(42100, TCP_TALKER, opts=o_mss() + O_SACKOK + b"\1" + o_ws(7), settle=False)
    r.expect()          # "hello\n"
    s = s or 0
    r.tcp(42100, TCP_TALKER, PEER_ISN + 1, s + 6, ACK, win=502)
    r.quiet()
    r.tcp(42100, TCP_TALKER, PEER_ISN + 1, s + 6, ACK, win=502)
    r.quiet()
    r.tcp(42100, TCP_TALKER, PEER_ISN + 1, s + 600, ACK, win=502)
    r.expect()
    r.reset(42100, PEER_ISN + 1, TCP_TALKER)
    r.quiet(0.05)


@scenario
def talker_sack(r):
    # Data from us with a SACK of its data before acknowledging it.
    s = r.connect(42101, TCP_TALKER, opts=o_mss() + O_SACKOK + b"\1" + o_ws(7), settle=False)
    r.expect()
    s = s or 0
    r.tcp(42101, TCP_TALKER, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"ok",
          opts=b"\1\1" + o_sack((s + 3, s + 6)))
    r.expect()
    r.reset(42101, PEER_ISN + 3, TCP_TALKER)
    r.quiet(0.05)


# More of the link layer, IPv4 and its fragments

def vlan(vid, etype, payload):
    return struct.pack("!HH", vid, etype) + payload


@scenario
def eth_vlan_tagged(r):
    # An 802.1Q-tagged echo (VLAN 5) on a link with no VLAN of that id:
    # not for this host (Linux marks it PACKET_OTHERHOST).
    pkt = r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 9), b"tagged"))
    r.sent_ip = pkt
    r.send(eth(r.subj_mac, PEER_MAC, 0x8100, vlan(5, ETH_P_IP, pkt)))
    r.quiet()


@scenario
def eth_vlan_prio(r):
    # A priority-tagged echo (802.1Q, VLAN id 0).
    pkt = r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 10), b"prio tagged"))
    r.sent_ip = pkt
    r.send(eth(r.subj_mac, PEER_MAC, 0x8100, vlan(0xa000, ETH_P_IP, pkt)))
    r.expect()


@scenario
def eth_vlan_prio_arp(r):
    # An ARP request in a priority tag.
    r.send(eth(BCAST, PEER_MAC, 0x8100, vlan(0x6000, ETH_P_ARP,
                                             arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip))))
    r.expect()


@scenario
def eth_qinq_prio(r):
    # An 802.1ad (service) tag with VLAN id 0 is taken off the same way.
    pkt = r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 15), b"s-tag 0"))
    r.sent_ip = pkt
    r.send(eth(r.subj_mac, PEER_MAC, 0x88a8, vlan(0, ETH_P_IP, pkt)))
    r.expect()


@scenario
def eth_vlan_prio_then_tagged(r):
    # A priority tag outside a VLAN 5 tag: still VLAN 5's.
    pkt = r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 16), b"0 then 5"))
    r.sent_ip = pkt
    r.send(eth(r.subj_mac, PEER_MAC, 0x8100, vlan(0, 0x8100, vlan(5, ETH_P_IP, pkt))))
    r.quiet()


@scenario
def eth_vlan_prio_twice(r):
    pkt = r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 17), b"0 then 0"))
    r.sent_ip = pkt
    r.send(eth(r.subj_mac, PEER_MAC, 0x8100, vlan(0, 0x8100, vlan(0, ETH_P_IP, pkt))))
    r.expect()


@scenario
def eth_vlan_tagged_tcp_syn(r):
    r.send(eth(r.subj_mac, PEER_MAC, 0x8100, vlan(5, ETH_P_IP, r.ip(6, tcpseg(
        PEER_IP, r.subj_ip, 40721, CLOSED, 5000, 0, SYN)))))
    r.quiet()


@scenario
def eth_8023_length(r):
    # An IEEE 802.3 frame (a length where the type goes) carrying an echo.
    pkt = r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 11), b"802.3"))
    r.send(eth(r.subj_mac, PEER_MAC, len(pkt), pkt))
    r.quiet()


@scenario
def eth_mcast_mac_icmp(r):
    r.send_ip(r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 12), b"l2 multicast")), bytes.fromhex("01005e000001"))
    r.expect()


@scenario
def eth_mcast_mac_tcp_syn(r):
    r.send_ip(r.ip(6, tcpseg(PEER_IP, r.subj_ip, 40716, TCP_OPEN, 5000, 0, SYN, opts=o_mss())),
              bytes.fromhex("01005e000001"))
    r.quiet()


@scenario
def eth_bcast_mac_udp_closed(r):
    # No port unreachable for a frame that was not the host's alone
    # (__icmp_send: PACKET_HOST only).
    r.send_ip(r.ip(17, udp(PEER_IP, r.subj_ip, 40618, CLOSED, b"l2 bcast")), BCAST)
    r.quiet()


@scenario
def eth_bcast_mac_ip_unknown_proto(r):
    r.send_ip(r.ip(253, b"payload!"), BCAST)
    r.quiet()


@scenario
def eth_bcast_mac_bad_opt(r):
    # Nor a parameter problem.
    r.send_ip(r.ip(1, icmp(8, 0, struct.pack("!HH", 7, 18), b"bad opt"), opts=b"\x07\x09\x04\x00"), BCAST)
    r.quiet()


@scenario
def ip_mcast_allhosts_echo(r):
    # An echo to 224.0.0.1 (all hosts): ignored (icmp_echo_ignore_broadcasts).
    r.send_ip(ip4(PEER_IP, "224.0.0.1", 1, icmp(8, 0, struct.pack("!HH", 7, 13), b"mcast")),
              bytes.fromhex("01005e000001"))
    r.quiet()


@scenario
def ip_mcast_allhosts_udp(r):
    # A datagram to 224.0.0.1 for the wildcard-bound UDP socket: every
    # host is in that group, so the socket gets it.
    r.send_ip(ip4(PEER_IP, "224.0.0.1", 17, udp(PEER_IP, "224.0.0.1", 40619, UDP_OPEN, b"all hosts")),
              bytes.fromhex("01005e000001"))
    r.expect()


@scenario
def ip_mcast_other_group_udp(r):
    # A group nobody joined.
    r.send_ip(ip4(PEER_IP, "239.1.2.3", 17, udp(PEER_IP, "239.1.2.3", 40620, UDP_OPEN, b"no group")),
              bytes.fromhex("01005e010203"))
    r.quiet()


@scenario
def ip_src_multicast(r):
    r.send_ip(ip4("224.0.0.5", r.subj_ip, 1, icmp(8, 0, struct.pack("!HH", 7, 14), b"x")))
    r.quiet()


@scenario
def ip_totlen_below_ihl(r):
    # Total length 20 with an IHL of 6.
    r.echo(ipkw={"opts": b"\1\1\1\1", "tot_len": 20})
    r.quiet()


@scenario
def ip_ttl0_udp_closed(r):
    r.udp(40621, CLOSED, b"ttl0", ipkw={"ttl": 0})
    r.expect()


def frag_send(r, proto, m, pieces, ident, **kw):
    """The IP payload m cut at (offset, length) pieces (MF on all but the
    one that ends m), sent in order; r.sent_ip is the whole datagram."""
    r.sent_ip = r.ip(proto, m, ident=ident, **kw)
    for off, ln in pieces:
        more = 0x2000 if off + ln < len(m) else 0
        r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(proto, m[off:off + ln], ident=ident,
                                                          frag=more | (off // 8), **kw)))


@scenario
def frag_contained_dup(r):
    # A fragment wholly inside one already queued: a duplicate, dropped
    # alone (inet_frag_queue_insert: IPFRAG_DUP), the datagram completes.
    frags(r, DATA300, [(0, 104), (8, 40), (104, 104), (208, 100)], ident=0x4254)
    r.expect()


@scenario
def frag_zero_length(r):
    # An empty fragment (MF) in the middle: the queue is dropped
    # (ip_frag_queue: end == offset), and the fragments after it start a
    # queue that never completes.
    m = icmp(8, 0, struct.pack("!HH", 0x66, 1), DATA300)
    r.sent_ip = r.ip(1, m, ident=0x4255)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[:104], ident=0x4255, frag=0x2000)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, b"", ident=0x4255, frag=0x2000 | 13)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[104:208], ident=0x4255, frag=0x2000 | 13)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[208:], ident=0x4255, frag=26)))
    r.quiet(0.3)


@scenario
def frag_unaligned_middle(r):
    # A non-final fragment whose length is not a multiple of 8 is cut
    # down to one (ip_frag_queue: end &= ~7); the 8 bytes from 96 then
    # fill the hole.
    m = icmp(8, 0, struct.pack("!HH", 0x66, 1), DATA300)
    frag_send(r, 1, m, [(0, 100), (104, 104), (208, 100)], 0x4256)
    r.quiet(0.2)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[96:104], ident=0x4256, frag=0x2000 | 12)))
    r.expect()


@scenario
def frag_other_proto_same_id(r):
    # The same ID from the same source but another protocol: another
    # datagram (the queue's key has the protocol).
    m = icmp(8, 0, struct.pack("!HH", 0x66, 1), DATA300)
    r.sent_ip = r.ip(1, m, ident=0x4257)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[:104], ident=0x4257, frag=0x2000)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(17, m[104:], ident=0x4257, frag=13)))
    # (One overlapping the first ends the echo's queue: no time exceeded
    # 30 s later, in another scenario.)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, b"z" * 200, ident=0x4257, frag=0x2000 | 1)))
    r.quiet(0.3)


@scenario
def frag_tcp_syn(r):
    # A SYN cut into a tiny first fragment (8 bytes of the TCP header) and
    # the rest: reassembled, answered.
    seg = tcpseg(PEER_IP, r.subj_ip, 40828, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss() + O_SACKOK + b"\1" + o_ws(7))
    frag_send(r, 6, seg, [(0, 8), (8, len(seg) - 8)], 0x4258)
    got = r.expect()
    if got:
        r.reset(40828, PEER_ISN + 1)
        r.quiet(0.05)


@scenario
def frag_udp_echo_big(r):
    # A 3000-byte datagram in three fragments, echoed: the reply goes out
    # in fragments as well (MTU 1500).
    m = udp(PEER_IP, r.subj_ip, 40622, UDP_OPEN, bytes(range(250)) * 12)
    frag_send(r, 17, m, [(0, 1480), (1480, 1480), (2960, len(m) - 2960)], 0x4259)
    r.expect(n=3)


@scenario
def frag_icmp_echo_big(r):
    # An echo of 2000 bytes: the reply is fragmented too.
    m = icmp(8, 0, struct.pack("!HH", 0x6a, 1), bytes(range(200)) * 10)
    frag_send(r, 1, m, [(0, 1480), (1480, len(m) - 1480)], 0x425a)
    r.expect(n=2)


@scenario
def frag_udp_closed_not_first(r):
    # A datagram to a closed port cut in two: the unreachable quotes it
    # once reassembled; the same second fragment again later: nothing
    # (a queue with no first fragment sends no time exceeded either).
    m = udp(PEER_IP, r.subj_ip, 40623, CLOSED, b"v" * 200)
    frag_send(r, 17, m, [(104, len(m) - 104), (0, 104)], 0x425b)
    r.expect()


@scenario
def frag_ttl1(r):
    # Fragments with TTL 1: reassembled and answered all the same.
    m = icmp(8, 0, struct.pack("!HH", 0x66, 1), DATA300)
    frag_send(r, 1, m, [(0, 104), (104, 104), (208, 100)], 0x425c, ttl=1)
    r.expect()


# TCP: scans and odd flags


@scenario
def tcp_xmas_closed(r):
    r.tcp(40717, CLOSED, 5000, 0, FIN | PSH | URG, urp=0)
    r.expect()


@scenario
def tcp_fin_only_closed(r):
    r.tcp(40718, CLOSED, 5000, 0, FIN)
    r.expect()


@scenario
def tcp_all_flags_closed(r):
    r.tcp(40719, CLOSED, 5000, 777, 0xff)
    r.quiet()


@scenario
def tcp_closed_tos(r):
    # Resets answer segments with TOS bits (EF, ECT(1); CS1, CE): a
    # reset's TOS is the segment's without its ECN bits
    # (tcp_v4_send_reset: arg.tos, ip_send_unicast_reply).
    r.tcp(45030, CLOSED, PEER_ISN, 0, SYN, opts=o_mss(), ipkw={"tos": 0xb9})
    r.expect()
    r.tcp(45031, CLOSED, PEER_ISN, 5000, ACK, ipkw={"tos": 0x23})
    r.expect()
    r.tcp(45032, TCP_OPEN, PEER_ISN, 5000, ACK, ipkw={"tos": 0x28})
    r.expect()


@scenario
def syn_tos_listener(r):
    # A SYN with TOS bits: the SYN-ACK has the listener's (0;
    # tcp_reflect_tos is off), and so has the connection.
    r.tcp(45033, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss(), ipkw={"tos": 0xb8})
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 45033), 0)
    # An out-of-window ACK to the request: its ACK.
    r.tcp(45033, TCP_NOACCEPT, PEER_ISN + 100000, isn + 1, ACK, ipkw={"tos": 0xb8})
    r.expect()
    r.tcp(45033, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"tos", ipkw={"tos": 0xb8})
    r.expect()
    r.reset(45033, PEER_ISN + 4, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def est_tos_reset(r):
    # An established connection's answers carry its own TOS; a reset that
    # answers a segment, the segment's (tcp_v4_send_reset): text after
    # the listener's socket closed, on 7003.
    s = closed_by_subject(r, 45035)
    r.tcp(45035, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK | PSH, win=502, data=b"abc", ipkw={"tos": 0x28})
    r.expect()


@scenario
def tw_tos(r):
    # A TIME-WAIT connection answers with its socket's TOS (tw_tos), not
    # the segment's.
    s = closed_by_subject(r, 45034)
    r.tcp(45034, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502, ipkw={"tos": 0xb8})
    r.expect()
    r.tcp(45034, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502, ipkw={"tos": 0xb8})
    r.expect()
    r.tcp(45034, TCP_CLOSER, PEER_ISN + 2, s + 1, ACK | PSH, win=502, data=b"late", ipkw={"tos": 0x28})
    r.expect()


@scenario
def tcp_syn_ack_closed(r):
    r.tcp(40720, CLOSED, 5000, 777, SYN | ACK)
    r.expect()


@scenario
def xmas_listener(r):
    r.tcp(40829, TCP_OPEN, PEER_ISN, 0, FIN | PSH | URG)
    r.quiet()


@scenario
def fin_listener(r):
    r.tcp(40830, TCP_OPEN, PEER_ISN, 0, FIN)
    r.quiet()


@scenario
def finack_listener(r):
    r.tcp(40831, TCP_OPEN, PEER_ISN, 4444, FIN | ACK)
    r.expect()


@scenario
def rstack_listener(r):
    r.tcp(40832, TCP_OPEN, PEER_ISN, 4444, RST | ACK)
    r.quiet()


@scenario
def syn_reserved_bits(r):
    # The 4 bits between the data offset and the flags set on a SYN.
    seg = bytearray(tcpseg(PEER_IP, r.subj_ip, 40833, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss()))
    seg[12] |= 0x0f
    seg[16:18] = b"\0\0"
    seg[16:18] = struct.pack("!H", csum(pseudo(PEER_IP, r.subj_ip, 6, len(seg)) + bytes(seg)))
    r.send_ip(r.ip(6, bytes(seg)))
    if r.expect():
        r.reset(40833, PEER_ISN + 1)
        r.quiet(0.05)


@scenario
def syn_psh(r):
    syn_listen(r, 40834, o_mss(), flags=SYN | PSH)


@scenario
def syn_ece_only(r):
    syn_listen(r, 40835, o_mss(), flags=SYN | ECE)


@scenario
def syn_cwr_only(r):
    syn_listen(r, 40836, o_mss(), flags=SYN | CWR)


@scenario
def syn_ack_field_set(r):
    # An acknowledgment number without the ACK flag.
    r.tcp(40837, TCP_OPEN, PEER_ISN, 0xdeadbeef, SYN, opts=o_mss())
    if r.expect():
        r.reset(40837, PEER_ISN + 1)
        r.quiet(0.05)


@scenario
def syn_option_len1(r):
    syn_listen(r, 40838, o_mss(1300) + b"\x63\x01" + O_SACKOK)


@scenario
def syn_mss_twice(r):
    syn_listen(r, 40839, o_mss(1200) + o_mss(1300))


@scenario
def syn_ws_twice(r):
    syn_listen(r, 40840, o_mss() + b"\1" + o_ws(2) + b"\1" + o_ws(9))


@scenario
def syn_sackok_bad_len(r):
    syn_listen(r, 40841, o_mss() + b"\x04\x03\x00" + b"\1")


@scenario
def syn_eol_first(r):
    syn_listen(r, 40842, b"\0" + o_mss(1200)[1:] + O_SACKOK)


@scenario
def syn_options_40(r):
    # Forty bytes of options, the MSS last.
    syn_listen(r, 40843, b"\1" * 36 + o_mss(1234))


@scenario
def syn_ts_zero_val(r):
    syn_listen(r, 40844, o_mss() + O_SACKOK + o_ts(0) + b"\1" + o_ws(7))


@scenario
def syn_mss_huge(r):
    syn_listen(r, 40845, o_mss(65535))


@scenario
def syn_urg_data(r):
    syn_listen(r, 40846, o_mss(), flags=SYN | URG, data=b"urgent")


# TCP: odd options and flags on an established connection


@scenario
def est_mss_option(r):
    # An MSS option on a segment that is not a SYN: ignored.
    s = est(r, 41026)
    r.tcp(41026, EST, PEER_ISN + 1, s, ACK | PSH, win=502, opts=o_mss(100), data=b"m" * 300)
    r.expect()
    done(r, 41026, PEER_ISN + 301)


@scenario
def est_ws_option(r):
    s = est(r, 41027)
    r.tcp(41027, EST, PEER_ISN + 1, s, ACK | PSH, win=502, opts=b"\1" + o_ws(0), data=b"w")
    r.expect()
    done(r, 41027, PEER_ISN + 2)


@scenario
def est_option_len1(r):
    s = est(r, 41028)
    r.tcp(41028, EST, PEER_ISN + 1, s, ACK | PSH, win=502, opts=b"\x63\x01\1\1", data=b"o")
    r.expect()
    done(r, 41028, PEER_ISN + 2)


@scenario
def est_option_past_end(r):
    s = est(r, 41029)
    r.tcp(41029, EST, PEER_ISN + 1, s, ACK | PSH, win=502, opts=b"\1\1\x08\x0a", data=b"p")
    r.expect()
    done(r, 41029, PEER_ISN + 2)


@scenario
def est_ts_ecr_zero(r):
    # (A FIN, not data: the window after unread data is est_ts's allowed
    # difference.)
    s = est(r, 41030, ts=6000)
    r.tcp(41030, EST, PEER_ISN + 1, s, FIN | ACK, win=502, opts=b"\1\1" + o_ts(6010, 0))
    r.expect()
    done(r, 41030, PEER_ISN + 2)


@scenario
def est_ts_missing(r):
    # Timestamps agreed, then a segment without one.
    s = est(r, 41031, ts=7000)
    r.tcp(41031, EST, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    done(r, 41031, PEER_ISN + 2)


@scenario
def est_fin_data(r):
    s = est(r, 41032)
    r.tcp(41032, EST, PEER_ISN + 1, s, FIN | PSH | ACK, win=502, data=b"bye")
    r.expect()
    done(r, 41032, PEER_ISN + 5)


@scenario
def est_xmas(r):
    s = est(r, 41033)
    r.tcp(41033, EST, PEER_ISN + 1, s, FIN | PSH | URG | ACK, win=502, data=b"xmas", urp=4)
    r.expect()
    done(r, 41033, PEER_ISN + 6)


@scenario
def est_data_overlap_left(r):
    s = est(r, 41034)
    r.tcp(41034, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"abcd")
    r.expect()
    r.tcp(41034, EST, PEER_ISN + 3, s, ACK | PSH, win=502, data=b"cdefgh")
    r.expect()
    done(r, 41034, PEER_ISN + 9)


@scenario
def est_synack(r):
    s = est(r, 41035)
    r.tcp(41035, EST, PEER_ISN, s, SYN | ACK, win=502, opts=o_mss())
    r.expect()
    done(r, 41035, PEER_ISN + 1)


@scenario
def est_urg_zero_ptr(r):
    s = est(r, 41036)
    r.tcp(41036, EST, PEER_ISN + 1, s, ACK | PSH | URG, win=502, data=b"u0", urp=0)
    r.expect()
    done(r, 41036, PEER_ISN + 3)


@scenario
def est_rst_data(r):
    # A RST at RCV.NXT carrying data: it resets all the same.
    s = est(r, 41037)
    r.tcp(41037, EST, PEER_ISN + 1, 0, RST, data=b"diag")
    r.quiet()
    r.tcp(41037, EST, PEER_ISN + 1, s, ACK, win=502)
    r.expect()


# ICMP errors about a half-open connection (tcp_v4_err, tcp_req_err)


@scenario
def synrecv_icmp_unreach(r):
    # A port unreachable quoting the SYN-ACK (its sequence number the
    # ISN): not one of the errors that end a request (tcp_v4_err: net or
    # host unreachable, time exceeded, parameter problem): data after the
    # handshake's ACK is acknowledged.
    r.tcp(40905, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40905), 0)
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, TCP_NOACCEPT, 40905, isn, PEER_ISN + 1, SYN | ACK))
    r.send_ip(r.ip(1, icmp(3, 3, b"\0\0\0\0", q[:28])))
    r.quiet()
    r.tcp(40905, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"hi")
    r.expect()


@scenario
def synrecv_icmp_host_unreach(r):
    # A host unreachable quoting the SYN-ACK with the ISN ends the request
    # (tcp_req_err): the ACK with data then meets the listener: a reset.
    r.tcp(40910, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40910), 0)
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, TCP_NOACCEPT, 40910, isn, PEER_ISN + 1, SYN | ACK))
    r.send_ip(r.ip(1, icmp(3, 1, b"\0\0\0\0", q[:28])))
    r.quiet()
    r.tcp(40910, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"hi")
    r.expect()


@scenario
def synrecv_icmp_unreach_bad_seq(r):
    # The same with a sequence number that is not the ISN: ignored; the
    # ACK completes the handshake, data is acknowledged.
    r.tcp(40906, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40906), 0)
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, TCP_NOACCEPT, 40906, isn + 5, PEER_ISN + 1, SYN | ACK))
    r.send_ip(r.ip(1, icmp(3, 3, b"\0\0\0\0", q[:28])))
    r.quiet()
    r.tcp(40906, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK)
    r.tcp(40906, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"hi")
    r.expect()
    r.reset(40906, PEER_ISN + 3, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def est_icmp_port_unreach(r):
    # A hard error about an established connection is only noted
    # (sk_err_soft): data after it is acknowledged.
    s = est(r, 41038)
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, EST, 41038, s, PEER_ISN + 1, ACK))
    r.send_ip(r.ip(1, icmp(3, 3, b"\0\0\0\0", q[:28])))
    r.quiet()
    r.tcp(41038, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"still")
    r.expect()
    done(r, 41038, PEER_ISN + 6)


@scenario
def icmp_unreach_no_conn(r):
    # An error quoting a connection nobody has.
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, 7777, 41039, 1234, 0, SYN))
    r.send_ip(r.ip(1, icmp(3, 3, b"\0\0\0\0", q[:28])))
    r.quiet()


@scenario
def icmp_unreach_short_quote(r):
    # A quote too short for the transport's ports.
    q = ip4(r.subj_ip, PEER_IP, 17, udp(r.subj_ip, PEER_IP, UDP_OPEN, 40624, b"q"))
    r.send_ip(r.ip(1, icmp(3, 3, b"\0\0\0\0", q[:22])))
    r.quiet()


@scenario
def icmp_echo_net_addr(r):
    # 192.0.2.0, the subnet's own address, is not the host's: an echo to
    # it, a datagram to an open port, a SYN, all go unanswered.
    r.send_ip(ip4(PEER_IP, "192.0.2.0", 1, icmp(8, 0, struct.pack("!HH", 7, 19), b"net")))
    r.quiet()


@scenario
def udp_net_addr_open(r):
    r.send_ip(ip4(PEER_IP, "192.0.2.0", 17, udp(PEER_IP, "192.0.2.0", 40625, UDP_OPEN, b"to net")))
    r.quiet()


@scenario
def tcp_syn_net_addr(r):
    r.send_ip(ip4(PEER_IP, "192.0.2.0", 6, tcpseg(PEER_IP, "192.0.2.0", 40722, TCP_OPEN, 5000, 0, SYN)))
    r.quiet()


@scenario
def udp_to_port_zero(r):
    r.udp(40626, 0, b"port zero")
    r.expect()


@scenario
def udp_from_port_zero(r):
    # The echo cannot answer port 0 (udp_sendmsg: EINVAL).
    r.udp(0, UDP_OPEN, b"from zero")
    r.quiet()


@scenario
def tcp_syn_to_port_zero(r):
    r.tcp(40723, 0, 5000, 0, SYN)
    r.expect()


@scenario
def tcp_syn_from_port_zero(r):
    r.tcp(0, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())
    if r.expect():
        r.reset(0, PEER_ISN + 1)
        r.quiet(0.05)


@scenario
def icmp_timestamp_long(r):
    r.send_ip(r.ip(1, icmp(13, 0, struct.pack("!HHIII", 0x42, 9, 1234, 0, 0) + b"extra")))
    r.expect()


@scenario
def icmp_source_quench_tcp(r):
    s = est(r, 41040)
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, EST, 41040, s, PEER_ISN + 1, ACK))
    r.send_ip(r.ip(1, icmp(4, 0, b"\0\0\0\0", q[:28])))
    r.quiet()
    r.tcp(41040, EST, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    done(r, 41040, PEER_ISN + 2)


@scenario
def synrecv_rst_exact(r):
    r.tcp(40907, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40907), 0)
    r.tcp(40907, TCP_NOACCEPT, PEER_ISN + 1, 0, RST)
    r.quiet()
    r.tcp(40907, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK)
    r.expect()


@scenario
def synrecv_fin(r):
    r.tcp(40908, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40908), 0)
    r.tcp(40908, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, FIN | ACK)
    r.expect()
    r.reset(40908, PEER_ISN + 2, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def synrecv_synack_bad_ack(r):
    # A SYN-ACK acknowledging what was not sent, to a half-open connection:
    # the ACK is checked first (tcp_check_req), a reset from it; then an
    # ACK out of the window with a bad ACK: a reset too.
    r.tcp(40909, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40909), 0)
    r.tcp(40909, TCP_NOACCEPT, PEER_ISN, isn + 1000, SYN | ACK, opts=o_mss())
    r.expect()
    r.tcp(40909, TCP_NOACCEPT, PEER_ISN + 500000, isn + 1000, ACK)
    r.expect()
    r.reset(40909, PEER_ISN + 1, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def est_dsack(r):
    s = est(r, 41041)
    r.tcp(41041, EST, PEER_ISN + 1, s, ACK, win=502, opts=b"\1\1" + o_sack((s - 10, s)))
    r.quiet()
    r.tcp(41041, EST, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    done(r, 41041, PEER_ISN + 2)


@scenario
def icmp_redirect_host(r):
    # A redirect for a destination on the link: ignored.
    q = ip4(r.subj_ip, PEER_IP, 17, udp(r.subj_ip, PEER_IP, UDP_OPEN, 40627, b"q"))
    r.send_ip(r.ip(1, icmp(5, 1, ip2b("192.0.2.9"), q[:28])))
    r.quiet()
    r.echo()
    r.expect()


@scenario
def ip_ecn_ce_echo(r):
    r.echo(ipkw={"tos": 0x03})
    r.expect()


@scenario
def udp_closed_df(r):
    r.udp(40628, CLOSED, b"df", ipkw={"frag": 0x4000})
    r.expect()


@scenario
def udp_closed_frag_tiny_first(r):
    # Only the first 8 bytes (the UDP header) in the first fragment.
    m = udp(PEER_IP, r.subj_ip, 40629, CLOSED, b"w" * 40)
    frag_send(r, 17, m, [(0, 8), (8, len(m) - 8)], 0x425d)
    r.expect()


@scenario
def arp_sender_bcast_ip(r):
    # A request whose sender address is the subnet's broadcast: answered
    # (rp_filter 0: the route in is not checked against the source).
    m = bytes.fromhex("02000000000a")
    r.send(eth(BCAST, m, ETH_P_ARP, arp(1, m, "192.0.2.255", b"\0" * 6, r.subj_ip)))
    r.quiet()


@scenario
def arp_sender_is_subject(r):
    # Another station claims the subject's address and asks for it: no
    # answer (arp_process: the route in from that source fails, a martian).
    m = bytes.fromhex("02000000000b")
    r.send(eth(BCAST, m, ETH_P_ARP, arp(1, m, r.subj_ip, b"\0" * 6, r.subj_ip)))
    r.quiet()


@scenario
def arp_sender_loopback(r):
    m = bytes.fromhex("02000000000c")
    r.send(eth(BCAST, m, ETH_P_ARP, arp(1, m, "127.0.0.1", b"\0" * 6, r.subj_ip)))
    r.quiet()


@scenario
def arp_sender_multicast_ip(r):
    m = bytes.fromhex("02000000000d")
    r.send(eth(BCAST, m, ETH_P_ARP, arp(1, m, "224.0.0.9", b"\0" * 6, r.subj_ip)))
    r.quiet()


@scenario
def arp_sender_limited_bcast(r):
    m = bytes.fromhex("02000000000e")
    r.send(eth(BCAST, m, ETH_P_ARP, arp(1, m, "255.255.255.255", b"\0" * 6, r.subj_ip)))
    r.quiet()


@scenario
def arp_sender_zero_mac(r):
    # Answered, to the zero address, which both keep for the peer's
    # address (until their neighbour timers, which differ, resolve it
    # again): the peer's own address again, for the scenarios that come
    # from it later.
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, b"\0" * 6, PEER_IP, b"\0" * 6, r.subj_ip)))
    r.expect()
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip)))
    r.expect()


@scenario
def arp_request_long(r):
    # Trailing bytes past the ARP packet (and the frame past 60 bytes).
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip) + b"\xaa" * 40))
    r.expect()


@scenario
def arp_reply_unsolicited_unicast(r):
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_ARP, arp(2, PEER_MAC, PEER_IP, r.subj_mac, r.subj_ip)))
    r.quiet()


@scenario
def udp_empty_echo(r):
    r.udp(40651, UDP_OPEN, b"")
    r.expect()


@scenario
def udp_empty_closed(r):
    r.udp(40652, CLOSED, b"")
    r.expect()


@scenario
def syn_ts_max(r):
    syn_listen(r, 40847, o_mss() + O_SACKOK + o_ts(0xffffffff) + b"\1" + o_ws(7))


@scenario
def syn_mss_tiny(r):
    # MSS 1: the SYN-ACK is the same; what the subject would send is not
    # seen here.
    syn_listen(r, 40848, o_mss(1))


@scenario
def syn_cookies_backlog1(r):
    # A listener with a backlog of 1 keeps two requests (Linux 6.14's
    # inet_csk_reqsk_queue_is_full); with both half-open, a third SYN
    # gets a cookie: with timestamps, the options an ordinary SYN-ACK
    # has (what was agreed rides in the TSval, cookie_init_timestamp),
    # and its MSS of 1400 comes back from the cookie as 1300 (msstab),
    # so the 4000 bytes leave 1288 at a time; without timestamps, MSS
    # alone, and the connection has no SACK and no window scaling.
    port = TCP_BULK_BACKLOG1
    r.got_ip = []
    for sport in (45010, 45011):
        r.tcp(sport, port, PEER_ISN, 0, SYN, opts=o_mss() + O_SACKOK + o_ts(5000) + b"\1" + o_ws(7))
        r.expect()
    r.tcp(45012, port, PEER_ISN, 0, SYN, opts=o_mss(1400) + O_SACKOK + o_ts(5000) + b"\1" + o_ws(7))
    r.expect()
    isn = r.isn.get((port, 45012), 0)
    r.tcp(45012, port, PEER_ISN + 1, isn + 1, ACK, win=502, opts=b"\1\1" + o_ts(5001, ts_of(r.got_ip[-1])))
    r.expect(n=4)
    r.tcp(45013, port, PEER_ISN, 0, SYN, opts=o_mss() + O_SACKOK + b"\1\1\1" + o_ws(7))
    r.expect()
    isn = r.isn.get((port, 45013), 0)
    r.tcp(45013, port, PEER_ISN + 1, isn + 1, ACK, win=64000)
    r.expect(n=3)
    for sport in (45010, 45011, 45012, 45013):
        r.reset(sport, PEER_ISN + 1, port)
    r.quiet(0.05)


@scenario
def est_urg_ptr_beyond(r):
    s = est(r, 41042)
    r.tcp(41042, EST, PEER_ISN + 1, s, ACK | PSH | URG, win=502, data=b"u", urp=500)
    r.expect()
    done(r, 41042, PEER_ISN + 2)


@scenario
def est_data_at_window_edge(r):
    # One byte at RCV.NXT + 64000 (inside the window), then at + 70000
    # (past it).
    s = est(r, 41043)
    r.tcp(41043, EST, PEER_ISN + 1 + 64000, s, ACK | PSH, win=502, data=b"e")
    r.expect()
    r.tcp(41043, EST, PEER_ISN + 1 + 70000, s, ACK | PSH, win=502, data=b"f")
    r.expect()
    done(r, 41043, PEER_ISN + 1)


@scenario
def est_fin_out_of_order(r):
    # A FIN beyond a hole: held, SACKed (a block of its own), acknowledged
    # once the hole fills.
    s = est(r, 41044)
    r.tcp(41044, EST, PEER_ISN + 11, s, FIN | ACK, win=502)
    r.expect()
    r.tcp(41044, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"0123456789")
    r.expect()
    done(r, 41044, PEER_ISN + 12)


@scenario
def est_data_fin_out_of_order(r):
    # Data and FIN beyond a hole: the SACK block ends past the FIN.
    s = est(r, 41046)
    r.tcp(41046, EST, PEER_ISN + 11, s, FIN | PSH | ACK, win=502, data=b"tail")
    r.expect()
    r.tcp(41046, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"0123456789")
    r.expect()
    done(r, 41046, PEER_ISN + 16)


@scenario
def est_ack_with_wnd_zero(r):
    s = est(r, 41045)
    r.tcp(41045, EST, PEER_ISN + 1, s, ACK, win=0)
    r.quiet()
    r.tcp(41045, EST, PEER_ISN + 1, s, FIN | ACK, win=0)
    r.expect()
    done(r, 41045, PEER_ISN + 2)


@scenario
def frag_echo_with_opts(r):
    # A fragmented echo whose first fragment carries record route: the
    # option is the first fragment's only (RFC 791: RR is not copied).
    m = icmp(8, 0, struct.pack("!HH", 0x6b, 1), DATA300)
    rr = b"\x07\x0b\x04" + b"\0" * 8 + b"\0"
    r.sent_ip = r.ip(1, m, ident=0x425e, opts=rr)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[:104], ident=0x425e, frag=0x2000, opts=rr)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[104:], ident=0x425e, frag=13)))
    r.expect()


@scenario
def frag_echo_reply_rr(r):
    # An echo of 2000 bytes with record route (in its first fragment): the
    # reply's fragments after the first keep the header's length, the
    # option turned into no-operations and the end of list after it left
    # (Linux's ip_options_fragment; RR is not copied).
    m = icmp(8, 0, struct.pack("!HH", 0x6c, 1), bytes(range(200)) * 10)
    rr = b"\x07\x0b\x04" + b"\0" * 8 + b"\0"
    r.sent_ip = r.ip(1, m, ident=0x4260, opts=rr)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[:1464], ident=0x4260, frag=0x2000, opts=rr)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[1464:], ident=0x4260, frag=1464 // 8)))
    r.expect(n=2)


@scenario
def frag_first_twice_other_data(r):
    # The first fragment again with other bytes (an overlap of the same
    # range: a duplicate for Linux, the first copy kept).
    m = icmp(8, 0, struct.pack("!HH", 0x6c, 1), DATA300)
    r.sent_ip = r.ip(1, m, ident=0x425f)
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[:104], ident=0x425f, frag=0x2000)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[:8] + b"X" * 96, ident=0x425f, frag=0x2000)))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, r.ip(1, m[104:], ident=0x425f, frag=13)))
    r.expect()


@scenario
def ip_totlen_below_frame_tcp(r):
    # A SYN whose IP total length cuts its options off (the frame longer).
    seg = tcpseg(PEER_IP, r.subj_ip, 40849, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())
    pkt = r.ip(6, seg, tot_len=20 + 20)
    r.send_ip(pkt)
    r.quiet()


# ICMP errors delivered to sockets (RFC 1122 §3.2.2.1, §4.1.3.3, §4.2.3.9;
# Linux's __udp4_lib_err, tcp_v4_err), seen through what the subject does
# next.

def control(r, sport, req):
    r.udp(sport, UDP_CONTROL, req.encode())


def icmp_about(r, pkt, typ, code, rest=b"\0\0\0\0", qlen=28):
    """An ICMP error from the peer quoting pkt (an IP packet the subject sent)."""
    r.send_ip(r.ip(1, icmp(typ, code, rest, pkt[:qlen])))


def connected_probe(r, sport, port):
    """The subject's UDP socket connected to the peer's port, its "probe"
    datagram printed; returns that datagram (b"" if none came)."""
    r.got_ip = []
    control(r, sport, "connect %d" % port)
    r.expect()
    return r.got_ip[-1] if r.got_ip else b""


@scenario
def udp_connected_port_unreach(r):
    # A port unreachable about a connected socket's datagram: its next
    # receive fails with ECONNREFUSED, once.
    p = connected_probe(r, 40630, 40631)
    icmp_about(r, p, 3, 3)
    r.quiet()
    control(r, 40630, "recv")
    r.expect()
    control(r, 40630, "recv")
    r.expect()


@scenario
def udp_connected_port_unreach_send(r):
    # The error is reported by the next send as well.
    p = connected_probe(r, 40632, 40633)
    icmp_about(r, p, 3, 3)
    r.quiet()
    control(r, 40632, "send")
    r.expect()
    control(r, 40632, "send")
    r.expect(n=2)


@scenario
def udp_connected_host_unreach(r):
    p = connected_probe(r, 40634, 40635)
    icmp_about(r, p, 3, 1)
    r.quiet()
    control(r, 40634, "recv")
    r.expect()


@scenario
def udp_connected_net_unreach(r):
    p = connected_probe(r, 40636, 40637)
    icmp_about(r, p, 3, 0)
    r.quiet()
    control(r, 40636, "recv")
    r.expect()


@scenario
def udp_connected_admin_prohibited(r):
    p = connected_probe(r, 40638, 40639)
    icmp_about(r, p, 3, 13)
    r.quiet()
    control(r, 40638, "recv")
    r.expect()


@scenario
def udp_connected_frag_needed(r):
    # Fragmentation needed about a connected socket's datagram: EMSGSIZE
    # (its path MTU is discovered: IP_PMTUDISC_WANT). An address of its
    # own: the path MTU it teaches is the destination's for ten minutes
    # (udp_frag_needed_then_syn).
    pmtu_peer(11)
    p = connected_probe(r, 40640, 40641)
    icmp_about(r, p, 3, 4, struct.pack("!HH", 0, 1000))
    r.quiet()
    control(r, 40640, "recv")
    r.expect()


# IP_MTU_DISCOVER's modes: DONT, WANT, DO, PROBE, INTERFACE, OMIT. With each,
# what a datagram of 1300 bytes does on a path whose MTU is 1200 (Linux's
# ip_setup_cork: the path's MTU for DONT, WANT and DO, ip_sk_use_pmtu; the
# device's for the others), and what send() answers: DONT and WANT send two
# fragments without DF, DO fails with EMSGSIZE, PROBE sends it whole with
# DF, INTERFACE and OMIT whole without (the frames each draws, the answer's
# included).
PSEND_FRAMES = (3, 3, 1, 2, 2, 2)


@scenario
def udp_connected_frag_needed_modes(r):
    pmtu_peer(15)
    p = connected_probe(r, 40660, 40661)
    icmp_about(r, p, 3, 4, struct.pack("!HH", 0, 1200))
    r.quiet()
    control(r, 40660, "recv")
    r.expect()
    for mode, n in enumerate(PSEND_FRAMES):
        control(r, 40660, "psend %d 1300" % mode)
        r.expect(n=n)


@scenario
def udp_connected_frag_needed_locked_modes(r):
    # A path MTU reported below min_pmtu is 552, locked: WANT's datagrams
    # that fit leave without DF (ip_dont_fragment), DO's with it.
    pmtu_peer(16)
    p = connected_probe(r, 40662, 40663)
    icmp_about(r, p, 3, 4, struct.pack("!HH", 0, 400))
    r.quiet()
    control(r, 40662, "recv")
    r.expect()
    for mode in range(6):
        control(r, 40662, "psend %d 500" % mode)
        r.expect(n=2)
    control(r, 40662, "psend 1 1300")
    r.expect(n=4)


@scenario
def udp_connected_time_exceeded(r):
    # A soft error: not reported without IP_RECVERR.
    p = connected_probe(r, 40642, 40643)
    icmp_about(r, p, 11, 0)
    r.quiet()
    control(r, 40642, "recv")
    r.expect()


@scenario
def udp_connected_param_problem(r):
    p = connected_probe(r, 40644, 40645)
    icmp_about(r, p, 12, 0, b"\x14\0\0\0")
    r.quiet()
    control(r, 40644, "recv")
    r.expect()


@scenario
def udp_connected_unreach_other_port(r):
    # The quote names another destination port: not this socket's error.
    p = connected_probe(r, 40646, 40647)
    if p:
        q = bytearray(p[:28])
        q[22:24] = struct.pack("!H", 40699)
        icmp_about(r, bytes(q), 3, 3)
    r.quiet()
    control(r, 40646, "recv")
    r.expect()


@scenario
def udp_connected_unreach_quote_8(r):
    # A quote of the IP header and exactly the 8 bytes RFC 792 asks for.
    p = connected_probe(r, 40648, 40649)
    icmp_about(r, p, 3, 3, qlen=28)
    r.quiet()
    control(r, 40648, "recv")
    r.expect()


@scenario
def udp_connected_source_quench(r):
    # Source quench (deprecated, RFC 6633) about a connected socket's
    # datagram: no error.
    p = connected_probe(r, 40666, 40667)
    icmp_about(r, p, 4, 0)
    r.quiet()
    control(r, 40666, "recv")
    r.expect()


@scenario
def udp_connected_redirect(r):
    # A host redirect about a connected socket's datagram: no error.
    p = connected_probe(r, 40668, 40669)
    icmp_about(r, p, 5, 1, socket.inet_aton("192.0.2.3"))
    r.quiet()
    control(r, 40668, "recv")
    r.expect()


# Path MTU discovery on TCP (RFC 1191, RFC 5927; Linux's tcp_v4_err and
# tcp_v4_mtu_reduced). Each scenario comes from an address of its own
# (PMTU_PEERS): what a host learns about a path it keeps for ten minutes
# (net.ipv4.route.mtu_expires) and uses for every later connection there.

def pmtu_peer(n):
    global PEER_IP
    PEER_IP = PMTU_PEERS[n]


def bulk(r, sport):
    """A connection to the bulk sender (MSS 1460, no timestamps): the
    subject's three segments and its tail loss probe (the last one again,
    a few ms later: waited for, so that what follows does not race it)
    printed; returns (its ISN + 1, the data segments)."""
    r.got_ip = []
    s = r.connect(sport, TCP_BULK, opts=o_mss() + O_SACKOK + b"\1" + o_ws(7), settle=False)
    r.expect(n=4)
    return (s or 0), [p for p in r.got_ip if len(p) > 100]


def bulk_done(r, sport, s):
    r.tcp(sport, TCP_BULK, PEER_ISN + 1, s + BULK, ACK, win=502)
    r.quiet(0.1)
    r.reset(sport, PEER_ISN + 1, TCP_BULK)
    r.quiet(0.05)


def frag_needed(r, pkt, mtu, seq=None):
    q = bytearray(pkt[:28])
    if seq is not None:
        q[24:28] = struct.pack("!I", seq & 0xffffffff)
    r.send_ip(r.ip(1, icmp(3, 4, struct.pack("!HH", 0, mtu), bytes(q))))


@scenario
def tcp_frag_needed(r):
    # Fragmentation needed (MTU 1000) quoting the first segment: the MSS
    # drops to 960 and what is outstanding goes again at once in segments
    # that fit (tcp_simple_retransmit).
    pmtu_peer(0)
    s, segs = bulk(r, 42200)
    if segs:
        frag_needed(r, segs[0], 1000)
    r.expect(n=6)
    bulk_done(r, 42200, s)


@scenario
def tcp_frag_needed_below_min(r):
    # An MTU below net.ipv4.route.min_pmtu (552) is taken as 552, and the
    # path's MTU is locked there: segments of 512 go without DF
    # (ip_dont_fragment).
    pmtu_peer(1)
    s, segs = bulk(r, 42201)
    if segs:
        frag_needed(r, segs[0], 300)
    r.expect(n=9)
    bulk_done(r, 42201, s)


@scenario
def tcp_frag_needed_bigger(r):
    # An MTU above the one in use changes nothing.
    pmtu_peer(2)
    s, segs = bulk(r, 42202)
    if segs:
        frag_needed(r, segs[0], 1600)
    bulk_done(r, 42202, s)


@scenario
def tcp_frag_needed_seq_outside(r):
    # A quote whose sequence number is outside SND.UNA..SND.NXT: ignored
    # (tcp_v4_err: LINUX_MIB_OUTOFWINDOWICMPS).
    pmtu_peer(3)
    s, segs = bulk(r, 42203)
    if segs:
        frag_needed(r, segs[0], 1000, seq=s + 50000)
    bulk_done(r, 42203, s)


@scenario
def tcp_frag_needed_acked_seq(r):
    # The same about a segment already acknowledged (below SND.UNA).
    pmtu_peer(4)
    s, segs = bulk(r, 42204)
    r.tcp(42204, TCP_BULK, PEER_ISN + 1, s + 1460, ACK, win=502)
    if segs:
        frag_needed(r, segs[0], 1000)
    bulk_done(r, 42204, s)


@scenario
def tcp_port_unreach_est_bulk(r):
    # A port unreachable about a connection with data in flight: noted
    # only (sk_err_soft); nothing is sent again.
    pmtu_peer(5)
    s, segs = bulk(r, 42206)
    if segs:
        r.send_ip(r.ip(1, icmp(3, 3, b"\0\0\0\0", segs[0][:28])))
    bulk_done(r, 42206, s)


@scenario
def tcp_frag_needed_tail_fits(r):
    # MTU 1200: the two segments of 1460 go again as 1160 and 300; the
    # tail of 1080, which fits, does not (tcp_simple_retransmit:
    # tcp_skb_seglen > mss).
    pmtu_peer(6)
    s, segs = bulk(r, 42207)
    if segs:
        frag_needed(r, segs[0], 1200)
    r.expect(n=4)
    bulk_done(r, 42207, s)


@scenario
def est_keepalive_garbage(r):
    # A keep-alive with one byte of garbage at RCV.NXT - 1: acknowledged.
    s = est(r, 41047)
    r.tcp(41047, EST, PEER_ISN, s, ACK, win=502, data=b"\0")
    r.expect()
    done(r, 41047, PEER_ISN + 1)


@scenario
def synrecv_rstack_good(r):
    # RST|ACK with the right ACK on a half-open connection: it goes (the
    # ACK that follows meets the listener: a reset).
    r.tcp(40911, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40911), 0)
    r.tcp(40911, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, RST | ACK)
    r.quiet()
    r.tcp(40911, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"x")
    r.expect()


@scenario
def syn_data_fin_listener(r):
    syn_listen(r, 40850, o_mss(), flags=SYN | FIN, data=b"synfin")


@scenario
def tw_data(r):
    # Data on a TIME-WAIT connection: an ACK of what it had.
    s = closed_by_subject(r, 42007)
    r.tcp(42007, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()
    r.tcp(42007, TCP_CLOSER, PEER_ISN + 2, s + 1, ACK | PSH, win=502, data=b"late")
    r.expect()


@scenario
def bulk_sack_fast_retransmit(r):
    # The second and third segments SACKed, the first not: it is resent
    # (RACK: deemed lost once later data is delivered, after the
    # reordering window).
    pmtu_peer(7)
    s, segs = bulk(r, 42209)
    r.tcp(42209, TCP_BULK, PEER_ISN + 1, s, ACK, win=502, opts=b"\1\1" + o_sack((s + 1460, s + BULK)))
    r.expect()
    bulk_done(r, 42209, s)


@scenario
def bulk_sack_beyond_sent(r):
    # A SACK block past what was sent: ignored (tcp_sacktag_write_queue:
    # tcp_is_sackblock_valid).
    pmtu_peer(8)
    s, segs = bulk(r, 42210)
    r.tcp(42210, TCP_BULK, PEER_ISN + 1, s + BULK, ACK, win=502,
          opts=b"\1\1" + o_sack((s + BULK + 1000, s + BULK + 2000)))
    r.quiet()
    r.reset(42210, PEER_ISN + 1, TCP_BULK)
    r.quiet(0.05)


@scenario
def bulk_partial_ack_then_rst(r):
    pmtu_peer(9)
    s, segs = bulk(r, 42211)
    r.tcp(42211, TCP_BULK, PEER_ISN + 1, s + 1460, ACK, win=502)
    r.quiet()
    r.reset(42211, PEER_ISN + 1, TCP_BULK)
    r.quiet(0.05)


@scenario
def est_data_after_fin(r):
    # Our FIN taken (CLOSE-WAIT), then data beyond it: ignored
    # (tcp_rcv_state_process: nothing at or after RCV.NXT is queued).
    s = est(r, 41048)
    r.tcp(41048, EST, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    r.tcp(41048, EST, PEER_ISN + 2, s, ACK | PSH, win=502, data=b"after")
    r.quiet()
    done(r, 41048, PEER_ISN + 2)


@scenario
def est_fin_again_other_seq(r):
    # A second FIN at another place after the first was taken.
    s = est(r, 41049)
    r.tcp(41049, EST, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    r.tcp(41049, EST, PEER_ISN + 10, s, FIN | ACK, win=502)
    r.expect()
    done(r, 41049, PEER_ISN + 2)


@scenario
def udp_open_opt_rr(r):
    # Record route to the echo socket: its reply carries no options.
    r.udp(40653, UDP_OPEN, b"rr echo", ipkw={"opts": b"\x07\x0b\x04" + b"\0" * 8 + b"\0"})
    r.expect()


@scenario
def syn_ip_opt_unknown(r):
    seg = tcpseg(PEER_IP, r.subj_ip, 40851, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())
    r.send_ip(r.ip(6, seg, opts=b"\x9e\x04\xab\xcd"))
    if r.expect():
        r.reset(40851, PEER_ISN + 1)
        r.quiet(0.05)


@scenario
def est_rst_ack_old_ack(r):
    # RST|ACK at RCV.NXT with an old ACK field: the reset counts (RFC 5961
    # looks at the sequence number only).
    s = est(r, 41050)
    r.tcp(41050, EST, PEER_ISN + 1, s - 5000, RST | ACK)
    r.quiet()
    r.tcp(41050, EST, PEER_ISN + 1, s, ACK, win=502)
    r.expect()


@scenario
def est_ack_far_future(r):
    # An ACK far beyond SND.NXT with data: the data is not taken
    # (tcp_ack: an ACK of unsent data drops the segment after an ACK).
    s = est(r, 41051)
    r.tcp(41051, EST, PEER_ISN + 1, s + 100000, ACK | PSH, win=502, data=b"far")
    r.expect()
    done(r, 41051, PEER_ISN + 1)


@scenario
def est_fin_retransmitted(r):
    # The peer's FIN twice (SACK and timestamps agreed): the second is a
    # duplicate.
    s = est(r, 41052, ts=9000)
    r.tcp(41052, EST, PEER_ISN + 1, s, FIN | ACK, win=502, opts=b"\1\1" + o_ts(9010, 0))
    r.expect()
    r.tcp(41052, EST, PEER_ISN + 1, s, FIN | ACK, win=502, opts=b"\1\1" + o_ts(9020, 0))
    r.expect()
    done(r, 41052, PEER_ISN + 2)


@scenario
def est_data_retransmitted_sack(r):
    # Data twice: the duplicate draws a D-SACK (RFC 2883).
    s = est(r, 41053)
    r.tcp(41053, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"dup")
    r.expect()
    r.tcp(41053, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"dup")
    r.expect()
    done(r, 41053, PEER_ISN + 4)


@scenario
def syn_ecn_ect(r):
    # A SYN asking for ECN but itself marked ECT(0): ECN refused.
    seg = tcpseg(PEER_IP, r.subj_ip, 40852, TCP_OPEN, PEER_ISN, 0, SYN | ECE | CWR, opts=o_mss())
    r.send_ip(r.ip(6, seg, tos=0x02))
    if r.expect():
        r.reset(40852, PEER_ISN + 1)
        r.quiet(0.05)


@scenario
def syn_ce_marked(r):
    # A plain SYN marked CE.
    seg = tcpseg(PEER_IP, r.subj_ip, 40853, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())
    r.send_ip(r.ip(6, seg, tos=0x03))
    if r.expect():
        r.reset(40853, PEER_ISN + 1)
        r.quiet(0.05)


@scenario
def est_time_exceeded(r):
    # Time exceeded about an established connection: soft, noted only.
    s = est(r, 41055)
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, EST, 41055, s, PEER_ISN + 1, ACK))
    r.send_ip(r.ip(1, icmp(11, 0, b"\0\0\0\0", q[:28])))
    r.quiet()
    r.tcp(41055, EST, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    done(r, 41055, PEER_ISN + 2)


@scenario
def synrecv_frag_needed(r):
    # Fragmentation needed quoting the SYN-ACK: the request stays. (An
    # address of its own: the path MTU learned stays with it.)
    pmtu_peer(10)
    r.tcp(40912, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40912), 0)
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, TCP_NOACCEPT, 40912, isn, PEER_ISN + 1, SYN | ACK))
    r.send_ip(r.ip(1, icmp(3, 4, struct.pack("!HH", 0, 1000), q[:28])))
    r.quiet()
    r.tcp(40912, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"hi")
    r.expect()
    r.reset(40912, PEER_ISN + 3, TCP_NOACCEPT)
    r.quiet(0.05)


# TCP: a further sweep (data at both window edges, RST, SYN and PAWS in
# the closing states, persist probes, odd options), IP options, ICMP, ARP
# and link-layer odds.


@scenario
def est_data_past_right_edge(r):
    # Out of order, starting inside the window and ending past its right
    # edge: queued whole (tcp_data_queue_ofo trims nothing), SACKed whole.
    s = est(r, 41100)
    r.tcp(41100, EST, PEER_ISN + 1 + 64000, s, ACK | PSH, win=502, data=b"r" * 1000)
    r.expect()
    done(r, 41100, PEER_ISN + 1)


@scenario
def est_ooo_overlapping(r):
    # Out-of-order segments that overlap each other, then the hole filled.
    s = est(r, 41101)
    r.tcp(41101, EST, PEER_ISN + 101, s, ACK | PSH, win=502, data=b"a" * 10)
    r.expect()
    r.tcp(41101, EST, PEER_ISN + 106, s, ACK | PSH, win=502, data=b"b" * 10)
    r.expect()
    r.tcp(41101, EST, PEER_ISN + 96, s, ACK | PSH, win=502, data=b"c" * 10)
    r.expect()
    r.tcp(41101, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"d" * 100)
    r.expect()
    done(r, 41101, PEER_ISN + 116)


@scenario
def est_paws_rst(r):
    # An exact RST whose TSval went backwards: a reset is taken even when
    # it fails PAWS (tcp_validate_incoming).
    s = est(r, 41112, ts=5000)
    r.tcp(41112, EST, PEER_ISN + 1, 0, RST, opts=b"\1\1" + o_ts(100, 0))
    r.quiet()
    r.tcp(41112, EST, PEER_ISN + 1, s, ACK, win=502)
    r.expect()


@scenario
def est_paws_disordered_ack(r):
    # Pure ACKs whose TSval went backwards: one that changes nothing (at
    # RCV.NXT, acknowledging SND.UNA, the same window) is a reordered
    # duplicate, taken (tcp_disordered_ack_check); one that would update
    # the window fails PAWS and draws a duplicate ACK, and the next within
    # 500 ms draws nothing (tcp_validate_incoming: tcp_oow_rate_limited).
    s = est(r, 45004, ts=5000)
    r.tcp(45004, EST, PEER_ISN + 1, s, ACK, win=502, opts=b"\1\1" + o_ts(5100, 0))
    r.quiet()
    r.tcp(45004, EST, PEER_ISN + 1, s, ACK, win=502, opts=b"\1\1" + o_ts(5050, 0))
    r.quiet()
    r.tcp(45004, EST, PEER_ISN + 1, s, ACK, win=600, opts=b"\1\1" + o_ts(5050, 0))
    r.expect()
    r.tcp(45004, EST, PEER_ISN + 1, s, ACK, win=700, opts=b"\1\1" + o_ts(5050, 0))
    r.quiet()
    done(r, 45004, PEER_ISN + 1)


@scenario
def est_paws_syn_twice(r):
    # SYNs whose TSval went backwards: a challenge ACK, then nothing
    # within 500 ms (tcp_send_challenge_ack's per-connection limit).
    s = est(r, 45008, ts=5000)
    r.tcp(45008, EST, PEER_ISN + 50, 0, SYN, opts=o_mss() + O_SACKOK + o_ts(100) + b"\1" + o_ws(7))
    r.expect()
    r.tcp(45008, EST, PEER_ISN + 60, 0, SYN, opts=o_mss() + O_SACKOK + o_ts(100) + b"\1" + o_ws(7))
    r.quiet()
    done(r, 45008, PEER_ISN + 1)
    del s


@scenario
def synrecv_paws(r):
    # The handshake's ACK with a TSval older than the SYN's
    # (tcp_check_req: PAWS, the request's ACK, the request stays).
    r.tcp(40914, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss() + O_SACKOK + o_ts(5000) + b"\1" + o_ws(7))
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 40914), 0)
    r.tcp(40914, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK, opts=b"\1\1" + o_ts(100, 0))
    r.expect()
    # (A FIN, not data: the window after unread data is est_ts's allowed
    # difference.)
    r.tcp(40914, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, FIN | ACK, opts=b"\1\1" + o_ts(5010, 0))
    r.expect()
    r.reset(40914, PEER_ISN + 2, TCP_NOACCEPT)
    r.quiet(0.05)


def close_wait(r, sport, ts=None):
    """An established connection that our FIN has put in CLOSE-WAIT (the
    listener never accepts, so the subject never closes)."""
    s = est(r, sport, ts=ts)
    tso = (b"\1\1" + o_ts(ts + 10, 0)) if ts else b""
    r.tcp(sport, EST, PEER_ISN + 1, s, FIN | ACK, win=502, opts=tso)
    r.expect()
    return s


@scenario
def closewait_rst_in_window(r):
    close_wait(r, 41114)
    r.tcp(41114, EST, PEER_ISN + 100, 0, RST)
    r.expect()
    done(r, 41114, PEER_ISN + 2)


def last_ack(r, sport, ts=None):
    """A connection to the closer at the peer's FIN (7007) that our data
    and FIN put in CLOSE-WAIT: the program reads them and closes, its FIN
    carries the delayed ACK (LAST-ACK). Returns the subject's ISN + 1.
    (Not the closer on 7003 with our FIN on the handshake's ACK: there the
    ACK of a FIN on a connection without data waits one tick, which the
    program's close wins or not.)"""
    s = r.connect(sport, TCP_EOF_CLOSER, ts=ts) or 0
    tso = (b"\1\1" + o_ts(ts + 10, 0)) if ts else b""
    r.tcp(sport, TCP_EOF_CLOSER, PEER_ISN + 1, s, FIN | PSH | ACK, win=502, opts=tso, data=b"x")
    r.expect()
    return s


@scenario
def lastack_rst_in_window(r):
    s = last_ack(r, 42300)
    r.tcp(42300, TCP_EOF_CLOSER, PEER_ISN + 100, 0, RST)
    r.expect()
    r.tcp(42300, TCP_EOF_CLOSER, PEER_ISN + 3, s + 1, ACK, win=502)
    r.quiet()


@scenario
def finwait1_syn(r):
    s = closed_by_subject(r, 42305)
    r.tcp(42305, TCP_CLOSER, PEER_ISN + 1, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(42305, PEER_ISN + 1, TCP_CLOSER)
    r.quiet(0.05)
    del s


@scenario
def finwait2_rst_in_window(r):
    # An orphan in FIN-WAIT-2 (tcp_timewait_state_process's FIN_WAIT2
    # substate): any RST in the window ends it, no challenge.
    s = closed_by_subject(r, 42306)
    r.tcp(42306, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK, win=502)
    r.quiet()
    r.tcp(42306, TCP_CLOSER, PEER_ISN + 100, 0, RST)
    r.quiet()
    r.tcp(42306, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait2_syn(r):
    s = closed_by_subject(r, 42308)
    r.tcp(42308, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK, win=502)
    r.quiet()
    r.tcp(42308, TCP_CLOSER, PEER_ISN + 1, 0, SYN, opts=o_mss())
    r.expect()
    r.tcp(42308, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait2_rst_out_of_window(r):
    s = closed_by_subject(r, 42309)
    r.tcp(42309, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK, win=502)
    r.quiet()
    r.tcp(42309, TCP_CLOSER, PEER_ISN + 10000000, 0, RST)
    r.quiet()
    r.tcp(42309, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


def time_wait(r, sport, ts=None):
    """A connection to the closer taken to TIME-WAIT (its FIN and ours
    acknowledged)."""
    if ts:
        s = r.connect(sport, TCP_CLOSER, ts=ts, settle=False) or 0
        r.expect()
        r.tcp(sport, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502, opts=b"\1\1" + o_ts(ts + 10, 0))
    else:
        s = closed_by_subject(r, sport)
        r.tcp(sport, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()
    return s


@scenario
def tw_rst_in_window(r):
    # A RST not at RCV.NXT on a TIME-WAIT connection: dropped; it stays.
    s = time_wait(r, 42310)
    r.tcp(42310, TCP_CLOSER, PEER_ISN + 100, 0, RST)
    r.quiet()
    r.tcp(42310, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def tw_syn_old(r):
    # A SYN at or below RCV.NXT on a TIME-WAIT connection: an ACK.
    s = time_wait(r, 42312)
    r.tcp(42312, TCP_CLOSER, PEER_ISN + 2, 0, SYN, opts=o_mss())
    r.expect()
    del s


@scenario
def tw_paws(r):
    s = time_wait(r, 42313, ts=5000)
    r.tcp(42313, TCP_CLOSER, PEER_ISN + 2, s + 1, ACK, win=502, opts=b"\1\1" + o_ts(100, 0))
    r.expect()


@scenario
def tw_syn_newer_ts(r):
    # A SYN at a lower sequence number but a newer TSval reopens the
    # connection (tcp_timewait_state_process).
    time_wait(r, 42314, ts=5000)
    r.tcp(42314, TCP_CLOSER, PEER_ISN - 1000, 0, SYN, opts=o_mss() + O_SACKOK + o_ts(6000) + b"\1" + o_ws(7))
    if r.expect():
        r.reset(42314, PEER_ISN - 999, TCP_CLOSER)
        r.quiet(0.05)


@scenario
def talker_zero_window(r):
    # The handshake's ACK offers a zero window: the subject's "hello\n"
    # waits; its first zero-window probe (tcp_probe_timer, one RTO on:
    # tcp_xmit_probe_skb at SND.UNA - 1, no data); the window opened:
    # the data.
    r.tcp(42316, TCP_TALKER, PEER_ISN, 0, SYN, opts=o_mss() + O_SACKOK + b"\1" + o_ws(7))
    r.expect()
    s = r.isn.get((TCP_TALKER, 42316), 0) + 1
    r.tcp(42316, TCP_TALKER, PEER_ISN + 1, s, ACK, win=0)
    r.expect(timeout=1.0)
    r.tcp(42316, TCP_TALKER, PEER_ISN + 1, s, ACK, win=502)
    r.expect()
    r.reset(42316, PEER_ISN + 1, TCP_TALKER)
    r.quiet(0.05)


@scenario
def icmp_echo_opt_len_zero(r):
    r.echo(ipkw={"opts": b"\x07\x00\x04\x00"})
    r.expect()


@scenario
def icmp_echo_opt_stream_id(r):
    r.echo(ipkw={"opts": b"\x88\x04\x12\x34"})
    r.expect()


@scenario
def icmp_echo_opt_ra_bad_len(r):
    r.echo(ipkw={"opts": b"\x94\x03\0\x01"})
    r.expect()


@scenario
def frag_icmp_echo_4000(r):
    # An echo of 4000 bytes in three fragments: reassembled, answered in
    # three.
    m = icmp(8, 0, struct.pack("!HH", 0x6d, 1), bytes(range(250)) * 16)
    frag_send(r, 1, m, [(0, 1480), (1480, 1480), (2960, len(m) - 2960)], 0x4260)
    r.expect(n=3)


@scenario
def arp_probe_with_tha(r):
    # A probe (sender 0.0.0.0) whose target hardware address is set.
    m = bytes.fromhex("020000000010")
    r.send(eth(BCAST, m, ETH_P_ARP, arp(1, m, "0.0.0.0", r.subj_mac, r.subj_ip)))
    r.expect()


# Ethernet: IPv6 and its ethertype

ETH_P_IPV6 = 0x86dd


@scenario
def eth_ipv6_echo(r):
    # An ICMPv6 echo to fe80::200:5eff:fe00:5301 (pstack has no IPv6 on
    # the wire, the kernel's is disabled here): nothing.
    src = bytes.fromhex("fe800000000000000000000000000001")
    dst = bytes.fromhex("fe80000000000000020005effe005301")
    body = struct.pack("!BBHHH", 128, 0, 0, 1, 1) + b"v6"
    ph = src + dst + struct.pack("!IxxxB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(ph + body)) + body[4:]
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IPV6, struct.pack("!IHBB", 0x60000000, len(body), 58, 64) + src + dst + body))
    r.quiet()


@scenario
def udp_frag_needed_then_syn(r):
    # A SYN from the address udp_connected_frag_needed taught an MTU of
    # 1000 (ipv4_sk_update_pmtu): the SYN-ACK offers MSS 960.
    pmtu_peer(11)
    syn_listen(r, 40861, o_mss() + O_SACKOK + b"\1" + o_ws(7))


@scenario
def icmp_echo_frag_needed_path(r):
    # An echo of 1300 bytes from a peer whose path MTU is 1000 (the
    # address of udp_connected_frag_needed, whose fragmentation needed is
    # taught again here for a run of this scenario alone): Linux's ICMP
    # socket (IP_PMTUDISC_DONT: ip_sk_use_pmtu) cuts the reply at the
    # path's MTU, without DF.
    pmtu_peer(11)
    p = connected_probe(r, 40664, 40665)
    icmp_about(r, p, 3, 4, struct.pack("!HH", 0, 1000))
    r.quiet()
    r.echo(data=bytes(range(256)) * 5 + b"z" * 20, ident=0x79)
    r.expect(n=2)


@scenario
def tcp_frag_needed_then_syn(r):
    # A SYN from the address tcp_frag_needed taught an MTU of 1000: the
    # SYN-ACK offers MSS 960 (the route's, ipv4_default_advmss).
    pmtu_peer(0)
    syn_listen(r, 40862, o_mss() + O_SACKOK + b"\1" + o_ws(7))


@scenario
def tcp_frag_needed_mtu_zero(r):
    # Fragmentation needed without a next-hop MTU (an old router's): taken
    # as 0 (icmp_unreach), below min_pmtu, so 552, locked: segments of 512
    # without DF (no RFC 1191 section 7 plateau).
    pmtu_peer(12)
    s, segs = bulk(r, 42212)
    if segs:
        frag_needed(r, segs[0], 0)
    r.expect(n=9)
    bulk_done(r, 42212, s)


@scenario
def tw_rst_old_ts(r):
    # A RST at RCV.NXT whose TSval went backwards, on TIME-WAIT: it fails
    # PAWS (tcp_paws_reject lets a RST through only once TS.Recent is 60 s
    # old) and is ignored; the FIN again is ACKed.
    s = time_wait(r, 42336, ts=5000)
    r.tcp(42336, TCP_CLOSER, PEER_ISN + 2, 0, RST, opts=b"\1\1" + o_ts(100, 0))
    r.quiet()
    r.tcp(42336, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502, opts=b"\1\1" + o_ts(6000, 0))
    r.expect()


# The subject's own connections (its active open, RFC 9293 §3.10.7.3; Linux's
# tcp_rcv_synsent_state_process), asked for on the control socket: the
# scenario is the peer being connected to.

SYNACK_OPTS = o_mss() + O_SACKOK + b"\1" + o_ws(7)


def active(r, sport, lport, pport):
    """The subject's connect from its port lport to the peer's pport
    (asked from sport): its SYN printed; returns its ISN (None if no SYN
    came)."""
    r.got_ip = []
    control(r, sport, "tconnect %d %d" % (lport, pport))
    r.expect()
    return r.isn.get((lport, pport))


def terr(r, sport):
    """The SO_ERROR of the connection asked for from sport, printed."""
    control(r, sport, "terr")
    r.expect()


def quote_seq(pkt, seq):
    """pkt (an IP packet with a TCP header) with its sequence number seq."""
    q = bytearray(pkt)
    struct.pack_into("!I", q, (q[0] & 15) * 4 + 4, seq & 0xffffffff)
    return bytes(q)


@scenario
def synsent_synack(r):
    # The SYN-ACK to the subject's SYN: the ACK that completes it.
    i = active(r, 43000, 7100, 43001)
    if i is None:
        return
    r.tcp(43001, 7100, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    terr(r, 43000)
    r.tcp(43001, 7100, PEER_ISN + 1, 0, RST)


@scenario
def synsent_synack_data(r):
    # A SYN-ACK that carries data.
    i = active(r, 43002, 7101, 43003)
    if i is None:
        return
    r.tcp(43003, 7101, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS, data=b"early")
    r.expect()
    r.tcp(43003, 7101, PEER_ISN + 6, i + 1, ACK | PSH, data=b"more")
    r.expect()
    r.tcp(43003, 7101, PEER_ISN + 10, 0, RST)


@scenario
def synsent_simultaneous_open(r):
    # A SYN crosses the subject's (RFC 9293 §3.5 figure 7): it answers with
    # a SYN-ACK of the same ISN; then the peer's SYN-ACK, and data.
    i = active(r, 43004, 7102, 43005)
    if i is None:
        return
    r.tcp(43005, 7102, PEER_ISN, 0, SYN, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43005, 7102, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    terr(r, 43004)
    r.tcp(43005, 7102, PEER_ISN + 1, i + 1, ACK | PSH, data=b"simul")
    r.expect()
    r.tcp(43005, 7102, PEER_ISN + 6, 0, RST)


@scenario
def synsent_simultaneous_open_mss_only(r):
    # The same with a peer that offers only an MSS (no window scale, no
    # SACK): the ACK to its SYN-ACK is a plain duplicate.
    i = active(r, 43062, 7114, 43063)
    if i is None:
        return
    r.tcp(43063, 7114, PEER_ISN, 0, SYN, win=1000, opts=o_mss(1000))
    r.expect()
    r.tcp(43063, 7114, PEER_ISN, i + 1, SYN | ACK, win=1000)
    r.expect()
    r.tcp(43063, 7114, PEER_ISN + 1, 0, RST)


@scenario
def synsent_simultaneous_open_ack(r):
    # The same, the crossing SYN acknowledged by a plain ACK with data.
    i = active(r, 43006, 7103, 43007)
    if i is None:
        return
    r.tcp(43007, 7103, PEER_ISN, 0, SYN, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43007, 7103, PEER_ISN + 1, i + 1, ACK | PSH, data=b"simul")
    r.expect()
    terr(r, 43006)
    r.tcp(43007, 7103, PEER_ISN + 6, 0, RST)


@scenario
def synsent_rst_ack(r):
    # A RST that acknowledges the SYN: refused.
    i = active(r, 43008, 7104, 43009)
    if i is None:
        return
    r.tcp(43009, 7104, 0, i + 1, RST | ACK)
    terr(r, 43008)
    terr(r, 43008)


@scenario
def synsent_rst_bad_ack(r):
    # A RST whose ACK is not for the SYN: no RST for a RST, and the SYN
    # again at once (as for any unacceptable ACK before a retransmission:
    # tcp_rcv_synsent_state_process); the connection goes on.
    i = active(r, 43010, 7105, 43011)
    if i is None:
        return
    r.tcp(43011, 7105, 0, i + 100, RST | ACK)
    r.expect()
    terr(r, 43010)
    r.tcp(43011, 7105, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43011, 7105, PEER_ISN + 1, 0, RST)


@scenario
def synsent_rst_no_ack(r):
    # A RST without ACK in SYN-SENT is dropped (RFC 9293 §3.10.7.3).
    i = active(r, 43012, 7106, 43013)
    if i is None:
        return
    r.tcp(43013, 7106, PEER_ISN, 0, RST)
    terr(r, 43012)
    r.tcp(43013, 7106, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43013, 7106, PEER_ISN + 1, 0, RST)


@scenario
def synsent_synack_bad_ack(r):
    # A SYN-ACK that acknowledges what was not sent: a RST from its ACK
    # number, the SYN again at once, and the connection waits on for the
    # right one.
    i = active(r, 43014, 7107, 43015)
    if i is None:
        return
    r.tcp(43015, 7107, PEER_ISN, i + 100, SYN | ACK, opts=SYNACK_OPTS)
    r.expect(n=2)
    r.tcp(43015, 7107, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43015, 7107, PEER_ISN + 1, 0, RST)


@scenario
def synsent_ack_no_syn(r):
    # An ACK without SYN: a good one is dropped, a bad one reset (and the
    # SYN sent again at once).
    i = active(r, 43016, 7108, 43017)
    if i is None:
        return
    r.tcp(43017, 7108, PEER_ISN, i + 1, ACK)
    r.tcp(43017, 7108, PEER_ISN, i + 7, ACK)
    r.expect(n=2)
    terr(r, 43016)
    r.tcp(43017, 7108, 0, i + 1, RST | ACK)


@scenario
def synsent_icmp_port_unreach(r):
    # A port unreachable about the SYN (tcp_v4_err: in SYN-SENT every
    # error ends the attempt): ECONNREFUSED, and a SYN-ACK then finds
    # nothing.
    i = active(r, 43018, 7109, 43019)
    if i is None or not r.got_ip:
        return
    icmp_about(r, r.got_ip[-1], 3, 3)
    terr(r, 43018)
    r.tcp(43019, 7109, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()


@scenario
def synsent_icmp_host_unreach(r):
    # A host unreachable (RFC 1122 §4.2.3.9: a soft error).
    i = active(r, 43020, 7110, 43021)
    if i is None or not r.got_ip:
        return
    icmp_about(r, r.got_ip[-1], 3, 1)
    terr(r, 43020)
    r.tcp(43021, 7110, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43021, 7110, PEER_ISN + 1, 0, RST)


@scenario
def synsent_icmp_unreach_bad_seq(r):
    # A port unreachable quoting a sequence number the subject never sent
    # (past SND.NXT): ignored (tcp_v4_err, RFC 5927 §4.1).
    i = active(r, 43022, 7111, 43023)
    if i is None or not r.got_ip:
        return
    icmp_about(r, quote_seq(r.got_ip[-1], i + 5), 3, 3)
    terr(r, 43022)
    r.tcp(43023, 7111, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43023, 7111, PEER_ISN + 1, 0, RST)


@scenario
def synsent_synack_bad_tsecr(r):
    # A SYN-ACK echoing a timestamp none of the SYNs carried (RFC 7323
    # §5.2; Linux's PAWSActiveRejected): a RST from its ACK number, no
    # SYN again at once; then the right one.
    i = active(r, 43064, 7115, 43065)
    if i is None:
        return
    r.tcp(43065, 7115, PEER_ISN, i + 1, SYN | ACK,
          opts=o_mss() + O_SACKOK + o_ts(500, 12345) + b"\1" + o_ws(7))
    r.expect()
    r.tcp(43065, 7115, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43065, 7115, PEER_ISN + 1, 0, RST)


@scenario
def synsent_synack_fin(r):
    # A SYN-ACK with FIN.
    i = active(r, 43082, 7120, 43083)
    if i is None:
        return
    r.tcp(43083, 7120, PEER_ISN, i + 1, SYN | ACK | FIN, opts=SYNACK_OPTS)
    r.expect()
    terr(r, 43082)
    # An exact RST for either reading of the FIN.
    r.tcp(43083, 7120, PEER_ISN + 1, 0, RST)
    r.tcp(43083, 7120, PEER_ISN + 2, 0, RST)


@scenario
def synsent_synack_ws15(r):
    # A SYN-ACK with a window scale past 14 (RFC 7323 §2.3: taken as 14)
    # and a small MSS.
    i = active(r, 43088, 7123, 43089)
    if i is None:
        return
    r.tcp(43089, 7123, PEER_ISN, i + 1, SYN | ACK, win=1000, opts=o_mss(536) + b"\1" + o_ws(15))
    r.expect()
    r.tcp(43089, 7123, PEER_ISN + 1, 0, RST)


@scenario
def synsent_simultaneous_syn_data(r):
    # A crossing SYN with data: the SYN-ACK takes the SYN alone; the peer
    # sends its data again.
    i = active(r, 43084, 7121, 43085)
    if i is None:
        return
    r.tcp(43085, 7121, PEER_ISN, 0, SYN, opts=SYNACK_OPTS, data=b"crossing")
    r.expect()
    r.tcp(43085, 7121, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43085, 7121, PEER_ISN + 1, i + 1, ACK | PSH, data=b"again")
    r.expect()
    r.tcp(43085, 7121, PEER_ISN + 6, 0, RST)


@scenario
def synsent_simultaneous_bad_synack(r):
    # After a crossing SYN, a SYN-ACK acknowledging what was not sent: an
    # ACK; then the right ACK completes the connection.
    i = active(r, 43086, 7122, 43087)
    if i is None:
        return
    r.tcp(43087, 7122, PEER_ISN, 0, SYN, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43087, 7122, PEER_ISN, i + 9, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(43087, 7122, PEER_ISN + 1, i + 1, ACK)
    terr(r, 43086)
    r.tcp(43087, 7122, PEER_ISN + 1, 0, RST)


def synsent_icmp(r, sport, lport, typ, code):
    """An ICMP error of typ/code about the subject's SYN, then its
    SO_ERROR, and a SYN-ACK (answered by a RST if the attempt is over)."""
    i = active(r, sport, lport, sport + 1)
    if i is None or not r.got_ip:
        return
    icmp_about(r, r.got_ip[-1], typ, code)
    terr(r, sport)
    r.tcp(sport + 1, lport, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()
    r.tcp(sport + 1, lport, PEER_ISN + 1, 0, RST)


@scenario
def synsent_icmp_proto_unreach(r):
    synsent_icmp(r, 43066, 7116, 3, 2)


@scenario
def synsent_icmp_admin_prohibited(r):
    synsent_icmp(r, 43068, 7117, 3, 13)


@scenario
def synsent_icmp_time_exceeded(r):
    synsent_icmp(r, 43070, 7118, 11, 0)


@scenario
def synsent_icmp_param_problem(r):
    synsent_icmp(r, 43072, 7119, 12, 0)


@scenario
def synsent_icmp_source_route_failed(r):
    synsent_icmp(r, 43096, 7125, 3, 5)


@scenario
def synsent_icmp_source_quench(r):
    # Ignored (RFC 6633).
    synsent_icmp(r, 43098, 7126, 4, 0)


@scenario
def synsent_icmp_unreach_code_20(r):
    # An unreachable of a code past 15 (RFC 1812 §5.2.7.1's last): Linux's
    # tcp_v4_err ignores it.
    synsent_icmp(r, 43094, 7124, 3, 20)


@scenario
def udp_connected_unreach_code_20(r):
    # The same about a connected UDP socket's datagram: a soft error,
    # not reported (__udp4_lib_err).
    p = connected_probe(r, 43092, 43093)
    icmp_about(r, p, 3, 20)
    control(r, 43092, "recv")
    r.expect()


@scenario
def icmp_limited_broadcast(r):
    # An echo, an address mask request, and a datagram to a closed port,
    # to 255.255.255.255: nothing comes back.
    r.send_ip(ip4(PEER_IP, "255.255.255.255", 1, icmp(8, 0, struct.pack("!HH", 1, 1), b"lbcast")), BCAST)
    r.send_ip(ip4(PEER_IP, "255.255.255.255", 1, icmp(17, 0, struct.pack("!HH", 1, 1), b"\0\0\0\0")), BCAST)
    r.send_ip(ip4(PEER_IP, "255.255.255.255", 17, udp(PEER_IP, "255.255.255.255", 43090, CLOSED, b"x")), BCAST)
    r.quiet()


def active_est(r, sport, lport, pport):
    """The subject's connection, established (SYN-ACK answered): returns
    its ISN + 1 (None if it failed); r.got_ip[-1] is its ACK."""
    i = active(r, sport, lport, pport)
    if i is None:
        return None
    r.tcp(pport, lport, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    return i + 1 if r.expect() else None


@scenario
def est_active_icmp_port_unreach(r):
    # A port unreachable about an established connection: a soft error
    # (RFC 1122 §4.2.3.9), SO_ERROR reports it once, the connection lives.
    s = active_est(r, 43024, 7112, 43025)
    if s is None:
        return
    icmp_about(r, r.got_ip[-1], 3, 3)
    terr(r, 43024)
    terr(r, 43024)
    r.tcp(43025, 7112, PEER_ISN + 1, s, ACK | PSH, data=b"alive")
    r.expect()
    r.tcp(43025, 7112, PEER_ISN + 6, 0, RST)


@scenario
def est_active_icmp_host_unreach(r):
    s = active_est(r, 43026, 7113, 43027)
    if s is None:
        return
    icmp_about(r, r.got_ip[-1], 3, 1)
    terr(r, 43026)
    r.tcp(43027, 7113, PEER_ISN + 1, s, ACK | PSH, data=b"alive")
    r.expect()
    r.tcp(43027, 7113, PEER_ISN + 6, 0, RST)


@scenario
def est_active_rst(r):
    # An exact RST on the subject's connection: SO_ERROR says ECONNRESET,
    # once.
    s = active_est(r, 43100, 7127, 43101)
    if s is None:
        return
    r.tcp(43101, 7127, PEER_ISN + 1, 0, RST)
    terr(r, 43100)
    terr(r, 43100)


@scenario
def est_active_icmp_net_unreach(r):
    s = active_est(r, 43102, 7128, 43103)
    if s is None:
        return
    icmp_about(r, r.got_ip[-1], 3, 0)
    terr(r, 43102)
    r.tcp(43103, 7128, PEER_ISN + 1, 0, RST)


@scenario
def est_active_icmp_unreach_old_seq(r):
    # An error quoting a sequence number below SND.UNA: ignored
    # (tcp_v4_err: OutOfWindowIcmps).
    s = active_est(r, 43104, 7129, 43105)
    if s is None:
        return
    icmp_about(r, quote_seq(r.got_ip[-1], s - 1), 3, 3)
    terr(r, 43104)
    r.tcp(43105, 7129, PEER_ISN + 1, 0, RST)


@scenario
def est_active_fin_then_icmp(r):
    # The peer's FIN (CLOSE-WAIT), then a host unreachable about the ACK
    # of it: a soft error still.
    s = active_est(r, 43108, 7131, 43109)
    if s is None:
        return
    r.tcp(43109, 7131, PEER_ISN + 1, s, FIN | ACK)
    r.expect()
    icmp_about(r, r.got_ip[-1], 3, 1)
    terr(r, 43108)
    r.tcp(43109, 7131, PEER_ISN + 2, 0, RST)


@scenario
def synsent_icmp_unreach_seq_nxt(r):
    # A port unreachable quoting SND.NXT (the SYN's ISN + 1): still in
    # range for Linux's between(seq, snd_una, snd_nxt); the attempt ends.
    i = active(r, 43106, 7130, 43107)
    if i is None or not r.got_ip:
        return
    icmp_about(r, quote_seq(r.got_ip[-1], i + 1), 3, 3)
    terr(r, 43106)
    r.tcp(43107, 7130, PEER_ISN, i + 1, SYN | ACK, opts=SYNACK_OPTS)
    r.expect()


# Martian addresses on TCP and UDP (RFC 1122 §3.2.1.3; Linux's
# ip_route_input_slow and fib_validate_source drop before any transport).

# (Not the subnet's broadcast: ip_src_broadcast's allowed difference; Linux
# answers a SYN from it with a SYN-ACK to all, a datagram to a closed port
# with a port unreachable to all.)
MARTIAN_SRCS = ["0.0.0.0", "224.0.0.5", "255.255.255.255", "127.0.0.1"]


@scenario
def tcp_syn_martian_src(r):
    # SYNs to the listener from each, and one from the subject's own
    # address and port to itself (land).
    for i, a in enumerate(MARTIAN_SRCS):
        r.send_ip(ip4(a, r.subj_ip, 6, tcpseg(a, r.subj_ip, 43030 + i, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())))
    r.send_ip(ip4(r.subj_ip, r.subj_ip, 6, tcpseg(r.subj_ip, r.subj_ip, TCP_OPEN, TCP_OPEN, PEER_ISN, 0, SYN,
                                                   opts=o_mss())))
    r.quiet()


@scenario
def udp_closed_martian_src(r):
    for i, a in enumerate(MARTIAN_SRCS + [r.subj_ip]):
        r.send_ip(ip4(a, r.subj_ip, 17, udp(a, r.subj_ip, 43040 + i, CLOSED, b"martian")))
    r.quiet()


@scenario
def tcp_syn_mcast_dst(r):
    # SYNs to 224.0.0.1 (a group the subject is in), to the listener and
    # to a closed port: no SYN-ACK, no RST (tcp_v4_conn_request drops
    # RTCF_MULTICAST, tcp_v4_send_reset needs RTN_LOCAL).
    for port in (TCP_OPEN, CLOSED):
        r.send_ip(ip4(PEER_IP, "224.0.0.1", 6, tcpseg(PEER_IP, "224.0.0.1", 43050, port, PEER_ISN, 0, SYN)),
                  bytes.fromhex("01005e000001"))
    r.quiet()


# ICMP that must not be believed (RFC 1122 §3.2.2; Linux's icmp_rcv).


@scenario
def udp_connected_port_unreach_to_bcast(r):
    # A port unreachable sent to the subnet's broadcast address: icmp_rcv
    # takes only echo, timestamp and address mask so addressed.
    p = connected_probe(r, 43052, 43053)
    r.send_ip(ip4(PEER_IP, "192.0.2.255", 1, icmp(3, 3, b"\0\0\0\0", p[:28])), BCAST)
    control(r, 43052, "recv")
    r.expect()


@scenario
def udp_connected_unreach_quote_opts(r):
    # A quote whose IP header has options (IHL 6): the ports are found
    # past them.
    p = connected_probe(r, 43074, 43075)
    if len(p) < 28:
        return
    q = bytes([0x46]) + p[1:2] + struct.pack("!H", len(p) + 4) + p[4:20] + b"\1\1\1\0" + p[20:28]
    r.send_ip(r.ip(1, icmp(3, 3, b"\0\0\0\0", q)))
    control(r, 43074, "recv")
    r.expect()


@scenario
def udp_connected_port_unreach_bad_csum(r):
    p = connected_probe(r, 43054, 43055)
    r.send_ip(r.ip(1, icmp(3, 3, b"\0\0\0\0", p[:28], bad_csum=True)))
    control(r, 43054, "recv")
    r.expect()


@scenario
def icmp_timestamp_broadcast(r):
    # Ignored like an echo to broadcast (icmp_echo_ignore_broadcasts).
    r.send_ip(ip4(PEER_IP, "192.0.2.255", 1, icmp(13, 0, struct.pack("!HHIII", 5, 5, 1000, 0, 0))), BCAST)
    r.quiet()


# ARP entries the subject must not make (Linux's arp_process with
# arp_accept=0: neither a gratuitous ARP nor an unsolicited reply creates
# one): an echo from that host then makes the subject ask for it first.

def echo_from_new_host(r, ip, m, ident):
    r.send(eth(r.subj_mac, m, ETH_P_IP, ip4(ip, r.subj_ip, 1, icmp(8, 0, struct.pack("!HH", ident, 1), b"who"))))
    r.expect()
    r.send(eth(r.subj_mac, m, ETH_P_ARP, arp(2, m, ip, r.subj_mac, r.subj_ip)))
    r.expect()


@scenario
def arp_gratuitous_then_echo(r):
    m = bytes.fromhex("020000000011")
    r.send(eth(BCAST, m, ETH_P_ARP, arp(1, m, "192.0.2.11", b"\0" * 6, "192.0.2.11")))
    echo_from_new_host(r, "192.0.2.11", m, 0x11)


@scenario
def arp_reply_unsolicited_then_echo(r):
    m = bytes.fromhex("020000000012")
    r.send(eth(r.subj_mac, m, ETH_P_ARP, arp(2, m, "192.0.2.12", r.subj_mac, r.subj_ip)))
    echo_from_new_host(r, "192.0.2.12", m, 0x12)


# TCP: more flags and options on a connection.


@scenario
def est_syn_twice(r):
    # Two SYNs: one challenge ACK (RFC 5961 §4.2), the second within
    # tcp_invalid_ratelimit (500 ms, per socket) goes unanswered.
    s = est(r, 43056)
    r.tcp(43056, EST, PEER_ISN + 1, 0, SYN, opts=o_mss())
    r.expect()
    r.tcp(43056, EST, PEER_ISN + 1, 0, SYN, opts=o_mss())
    r.quiet()
    done(r, 43056, PEER_ISN + 1)
    del s


@scenario
def est_syn_rst_exact(r):
    # SYN+RST at RCV.NXT: the RST is checked first and resets.
    s = est(r, 43057)
    r.tcp(43057, EST, PEER_ISN + 1, 0, SYN | RST)
    r.tcp(43057, EST, PEER_ISN + 1, s, ACK)
    r.expect()


def o_md5():
    return b"\x13\x12" + bytes(range(16))


@scenario
def tcp_syn_md5(r):
    # SYNs signed with TCP MD5 (RFC 2385), to the listener, which has no
    # key, and to a closed port: Linux drops both (tcp_inbound_hash:
    # TCPMD5UNEXPECTED; tcp_v4_send_reset finds no key, sends no RST).
    r.tcp(43058, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss() + o_md5())
    r.tcp(43059, CLOSED, PEER_ISN, 0, SYN, opts=o_mss() + o_md5())
    r.quiet()


@scenario
def tw_fin_md5(r):
    # A signed FIN again on TIME-WAIT: acknowledged (Linux checks the
    # signature only past its TIME-WAIT handling).
    s = time_wait(r, 43080)
    r.tcp(43080, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502, opts=o_md5())
    r.expect()


@scenario
def est_data_md5(r):
    s = est(r, 43060)
    r.tcp(43060, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"sig", opts=o_md5())
    r.tcp(43060, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"plain")
    r.expect()
    done(r, 43060, PEER_ISN + 6)


# TCP: an orphan in FIN-WAIT-2 (Linux's FIN_WAIT2 substate) meets a FIN
# beyond RCV.NXT, and a FIN acknowledging what was never sent.

def fin_wait2(r, sport):
    s = closed_by_subject(r, sport)
    r.tcp(sport, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK, win=502)
    return s


@scenario
def finwait2_ack_unsent(r):
    # tcp_timewait_state_process's FIN_WAIT2 substate looks at no ACK
    # number: a bare ACK is a duplicate (dropped), a FIN moves on.
    s = fin_wait2(r, 44021)
    r.tcp(44021, TCP_CLOSER, PEER_ISN + 1, s + 1000, ACK, win=502)
    r.tcp(44021, TCP_CLOSER, PEER_ISN + 1, s + 1000, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait2_fin_out_of_order(r):
    # A FIN in the window past RCV.NXT: "new data or FIN" not at
    # RCV.NXT + 1 (tcp_timewait_state_process): a reset.
    s = fin_wait2(r, 44022)
    r.tcp(44022, TCP_CLOSER, PEER_ISN + 100, s + 1, FIN | ACK, win=502)
    r.expect()
    r.tcp(44022, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


# TCP: text or a FIN that nobody will read, after the subject closed or
# after the peer's FIN (Linux's TCPABORTONDATA): a reset.


@scenario
def finwait1_fin_out_of_order(r):
    s = closed_by_subject(r, 44016)
    r.tcp(44016, TCP_CLOSER, PEER_ISN + 100, s + 1, FIN | ACK, win=502)
    r.expect()
    r.reset(44016, PEER_ISN + 1, TCP_CLOSER)


@scenario
def finwait1_fin_out_of_order_no_ack(r):
    # The FIN beyond RCV.NXT, the subject's FIN not acknowledged.
    s = closed_by_subject(r, 44017)
    r.tcp(44017, TCP_CLOSER, PEER_ISN + 100, s, FIN | ACK, win=502)
    r.expect()
    r.tcp(44017, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def closewait_data_over_fin(r):
    # Text from below RCV.NXT to past the FIN.
    s = close_wait(r, 44046)
    r.tcp(44046, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"after")
    r.expect()
    r.tcp(44046, EST, PEER_ISN + 2, s, ACK, win=502)
    r.expect()

# TCP: fragmentation needed about a connection request or a TIME-WAIT
# connection: Linux's tcp_v4_err returns before the MTU for both, the
# destination's path stays (the next SYN-ACK to it shows it).


@scenario
def synrecv_frag_needed_mtu_zero(r):
    # Without a next-hop MTU (552 and locked, were it taken), about the
    # SYN-ACK: the request's ACK, then a SYN to the listener.
    pmtu_peer(13)
    r.tcp(44121, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 44121), 0)
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, TCP_NOACCEPT, 44121, isn, PEER_ISN + 1, SYN | ACK))
    r.send_ip(r.ip(1, icmp(3, 4, b"\0\0\0\0", q[:28])))
    r.tcp(44121, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"hi")
    r.expect()
    r.tcp(44122, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(44122, PEER_ISN + 1)
    r.reset(44121, PEER_ISN + 3, TCP_NOACCEPT)


@scenario
def tw_frag_needed(r):
    # The same about the ACK of our FIN in TIME-WAIT.
    pmtu_peer(14)
    r.got_ip = []
    time_wait(r, 44123)
    if r.got_ip:
        r.send_ip(r.ip(1, icmp(3, 4, b"\0\0\0\0", r.got_ip[-1][:28])))
    r.tcp(44124, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(44124, PEER_ISN + 1)



# A sixth sweep: each closing state hit with RSTs, SYNs and ACKs of every
# kind (RFC 9293 §3.10.7.4, RFC 5961), more options, link and IP corners.


@scenario
def synrecv_rst_out_of_window(r):
    # Out of the window: no ACK for a RST (tcp_check_req sends one only
    # for a segment without RST); the handshake then completes. (What
    # the RST drew would come before the data's ACK.)
    r.tcp(44000, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 44000), 0)
    r.tcp(44000, TCP_NOACCEPT, PEER_ISN + 10000000, 0, RST)
    r.tcp(44000, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"ok")
    r.expect()
    r.reset(44000, PEER_ISN + 3, TCP_NOACCEPT)


@scenario
def synrecv_data_beyond_window(r):
    r.tcp(44002, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 44002), 0)
    r.tcp(44002, TCP_NOACCEPT, PEER_ISN + 10000000, isn + 1, ACK | PSH, data=b"far")
    r.expect()
    r.reset(44002, PEER_ISN + 1, TCP_NOACCEPT)


@scenario
def finwait1_rst_exact(r):
    s = closed_by_subject(r, 44010)
    r.tcp(44010, TCP_CLOSER, PEER_ISN + 1, 0, RST)
    r.tcp(44010, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK, win=502)
    r.expect()


@scenario
def finwait1_rst_in_window(r):
    s = closed_by_subject(r, 44011)
    r.tcp(44011, TCP_CLOSER, PEER_ISN + 100, 0, RST)
    r.expect()
    r.reset(44011, PEER_ISN + 1, TCP_CLOSER)
    del s


@scenario
def finwait1_rst_out_of_window(r):
    s = closed_by_subject(r, 44012)
    r.tcp(44012, TCP_CLOSER, PEER_ISN + 10000000, 0, RST)
    r.tcp(44012, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait1_ack_unsent(r):
    s = closed_by_subject(r, 44013)
    r.tcp(44013, TCP_CLOSER, PEER_ISN + 1, s + 1000, ACK, win=502)
    r.expect()
    r.tcp(44013, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait1_ack_old(r):
    s = closed_by_subject(r, 44014)
    r.tcp(44014, TCP_CLOSER, PEER_ISN + 1, s - 200000, ACK, win=502)
    r.expect()
    r.tcp(44014, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait1_window_probe(r):
    s = closed_by_subject(r, 44015)
    r.tcp(44015, TCP_CLOSER, PEER_ISN, s, ACK, win=502)
    r.expect()
    r.tcp(44015, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait2_rst_exact(r):
    s = fin_wait2(r, 44020)
    r.tcp(44020, TCP_CLOSER, PEER_ISN + 1, 0, RST)
    r.tcp(44020, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait2_data_beyond_window(r):
    s = fin_wait2(r, 44023)
    r.tcp(44023, TCP_CLOSER, PEER_ISN + 10000000, s + 1, ACK | PSH, win=502, data=b"far")
    r.expect()
    r.tcp(44023, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait2_fin_data(r):
    # Data with the FIN after the subject's half close: a reset.
    s = fin_wait2(r, 44024)
    r.tcp(44024, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | PSH | ACK, win=502, data=b"bye")
    r.expect()


def closing(r, sport):
    """Our FIN crossing the subject's (CLOSING); returns its ISN + 1."""
    s = closed_by_subject(r, sport)
    r.tcp(sport, TCP_CLOSER, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    return s


@scenario
def closing_rst_in_window(r):
    s = closing(r, 44030)
    r.tcp(44030, TCP_CLOSER, PEER_ISN + 100, 0, RST)
    r.expect()
    r.reset(44030, PEER_ISN + 2, TCP_CLOSER)
    del s


@scenario
def closing_rst_exact(r):
    s = closing(r, 44031)
    r.tcp(44031, TCP_CLOSER, PEER_ISN + 2, 0, RST)
    r.tcp(44031, TCP_CLOSER, PEER_ISN + 2, s + 1, ACK, win=502)
    r.expect()


@scenario
def closing_syn(r):
    s = closing(r, 44032)
    r.tcp(44032, TCP_CLOSER, PEER_ISN + 50, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(44032, PEER_ISN + 2, TCP_CLOSER)
    del s


@scenario
def closing_fin_again(r):
    s = closing(r, 44033)
    r.tcp(44033, TCP_CLOSER, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    r.tcp(44033, TCP_CLOSER, PEER_ISN + 2, s + 1000, ACK, win=502)
    r.expect()
    r.reset(44033, PEER_ISN + 2, TCP_CLOSER)


@scenario
def closewait_rst_exact(r):
    s = close_wait(r, 44040)
    r.tcp(44040, EST, PEER_ISN + 2, 0, RST)
    r.tcp(44040, EST, PEER_ISN + 2, s, ACK, win=502)
    r.expect()


@scenario
def closewait_rst_out_of_window(r):
    s = close_wait(r, 44041)
    # (Our FIN again is always ACKed: what the RST drew would come first.)
    r.tcp(44041, EST, PEER_ISN + 10000000, 0, RST)
    r.tcp(44041, EST, PEER_ISN + 1, s, FIN | ACK, win=502)
    r.expect()
    r.reset(44041, PEER_ISN + 2, EST)


@scenario
def closewait_syn(r):
    close_wait(r, 44042)
    r.tcp(44042, EST, PEER_ISN + 2, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(44042, PEER_ISN + 2, EST)


@scenario
def closewait_ack_unsent(r):
    s = close_wait(r, 44043)
    r.tcp(44043, EST, PEER_ISN + 2, s + 1000, ACK, win=502)
    r.expect()
    r.reset(44043, PEER_ISN + 2, EST)


@scenario
def lastack_rst_exact(r):
    s = last_ack(r, 44050)
    r.tcp(44050, TCP_EOF_CLOSER, PEER_ISN + 3, 0, RST)
    r.tcp(44050, TCP_EOF_CLOSER, PEER_ISN + 3, s + 1, ACK, win=502)
    r.expect()


@scenario
def lastack_rst_out_of_window(r):
    s = last_ack(r, 44051)
    r.tcp(44051, TCP_EOF_CLOSER, PEER_ISN + 10000000, 0, RST)
    r.tcp(44051, TCP_EOF_CLOSER, PEER_ISN + 2, s, FIN | ACK, win=502)
    r.expect()
    r.reset(44051, PEER_ISN + 3, TCP_EOF_CLOSER)


@scenario
def lastack_syn(r):
    s = last_ack(r, 44052)
    r.tcp(44052, TCP_EOF_CLOSER, PEER_ISN + 3, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(44052, PEER_ISN + 3, TCP_EOF_CLOSER)


@scenario
def lastack_fin_again(r):
    s = last_ack(r, 44053)
    r.tcp(44053, TCP_EOF_CLOSER, PEER_ISN + 2, s, FIN | ACK, win=502)
    r.expect()
    r.reset(44053, PEER_ISN + 3, TCP_EOF_CLOSER)


@scenario
def lastack_ack_unsent(r):
    s = last_ack(r, 44054)
    r.tcp(44054, TCP_EOF_CLOSER, PEER_ISN + 3, s + 1000, ACK, win=502)
    r.expect()
    r.reset(44054, PEER_ISN + 3, TCP_EOF_CLOSER)


@scenario
def tw_ack_unsent(r):
    # A bare ACK at RCV.NXT on TIME-WAIT is taken whatever it acknowledges.
    s = time_wait(r, 44060)
    r.tcp(44060, TCP_CLOSER, PEER_ISN + 2, s + 1000, ACK, win=502)
    r.tcp(44060, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def tw_rst_out_of_window(r):
    s = time_wait(r, 44061)
    r.tcp(44061, TCP_CLOSER, PEER_ISN + 10000000, 0, RST)
    r.tcp(44061, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def tw_data_beyond_window(r):
    s = time_wait(r, 44062)
    r.tcp(44062, TCP_CLOSER, PEER_ISN + 10000000, s + 1, ACK | PSH, win=502, data=b"far")
    r.expect()


@scenario
def est_sackok_option(r):
    # SACK-permitted on data: ignored.
    s = est(r, 44070)
    r.tcp(44070, EST, PEER_ISN + 1, s, ACK | PSH, win=502, opts=b"\1\1" + O_SACKOK, data=b"sok")
    r.expect()
    r.reset(44070, PEER_ISN + 4, EST)


@scenario
def talker_sack_odd_blocks(r):
    # Its data acknowledged, with four SACK blocks: below SND.UNA, inside
    # what was acknowledged, across SND.UNA, past SND.NXT: all ignored.
    s = r.connect(44071, TCP_TALKER, opts=o_mss() + O_SACKOK + b"\1" + o_ws(7), settle=False)
    r.expect()
    s = s or 0
    r.tcp(44071, TCP_TALKER, PEER_ISN + 1, s + 6, ACK, win=502,
          opts=b"\1\1" + o_sack((s - 100, s - 50), (s + 1, s + 4), (s + 3, s + 9), (s + 100, s + 200)))
    r.quiet()
    r.reset(44071, PEER_ISN + 1, TCP_TALKER)


@scenario
def syn_ts_len9(r):
    syn_listen(r, 44073, o_mss(1300) + b"\x08\x09" + b"\0\0\0\5\0\0\0\0\1" + O_SACKOK)


@scenario
def syn_eol_middle_garbage(r):
    syn_listen(r, 44074, o_mss(1300) + b"\0" + b"\x03\x03\x0e\x04\x02")


@scenario
def syn_unknown_option_len40(r):
    syn_listen(r, 44075, b"\xfe\x28" + bytes(38))


@scenario
def eth_runt_14(r):
    # An Ethernet header alone (14 bytes, no padding), then an echo.
    r.s.send(bytes(VNET_HLEN) + eth(r.subj_mac, PEER_MAC, ETH_P_IP, b""))
    r.echo(ident=0x78)
    r.expect()


@scenario
def eth_unknown_ethertype(r):
    # An echo under ethertype 0x88b5 (local experimental), then a plain
    # one: only that one is answered.
    r.send(eth(r.subj_mac, PEER_MAC, 0x88b5, r.ip(1, icmp(8, 0, struct.pack("!HH", 0x79, 1), b"x" * 8))))
    r.echo(ident=0x7b)
    r.expect()


@scenario
def icmp_echo_opt_ssrr(r):
    # Strict source route: dropped (accept_source_route=0).
    # (A plain echo after it: only that one is answered.)
    r.echo(ipkw={"opts": b"\x89\x07\x04" + ip2b("192.0.2.3") + b"\0"})
    r.echo(ident=0x7a)
    r.expect()


@scenario
def frag_udp_echo_64_pieces(r):
    # A UDP datagram of 512 bytes in 64 fragments of 8.
    m = udp(PEER_IP, r.subj_ip, 44080, UDP_OPEN, bytes(range(252)) * 2)
    frag_send(r, 17, m, [(i * 8, 8) for i in range(64)], 0x6464)
    r.expect()


@scenario
def est_active_param_problem(r):
    s = active_est(r, 44082, 7140, 44083)
    if s is None:
        return
    icmp_about(r, r.got_ip[-1], 12, 0)
    terr(r, 44082)
    r.tcp(44083, 7140, PEER_ISN + 1, 0, RST)


@scenario
def est_active_source_quench(r):
    s = active_est(r, 44084, 7141, 44085)
    if s is None:
        return
    icmp_about(r, r.got_ip[-1], 4, 0)
    terr(r, 44084)
    r.tcp(44085, 7141, PEER_ISN + 1, 0, RST)


def synrecv_icmp(r, sport, typ, code):
    """An ICMP error of type typ and code quoting the SYN-ACK of a
    half-open connection to 7002, then the handshake's ACK with data."""
    r.tcp(sport, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, sport), 0)
    q = ip4(r.subj_ip, PEER_IP, 6, tcpseg(r.subj_ip, PEER_IP, TCP_NOACCEPT, sport, isn, PEER_ISN + 1, SYN | ACK))
    r.send_ip(r.ip(1, icmp(typ, code, b"\0\0\0\0", q[:28])))
    r.tcp(sport, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH, data=b"hi")
    r.expect()
    r.reset(sport, PEER_ISN + 3, TCP_NOACCEPT)


@scenario
def synrecv_icmp_time_exceeded(r):
    # Ends the request (tcp_req_err): the ACK meets the listener, a reset.
    synrecv_icmp(r, 44100, 11, 0)


@scenario
def tcp_synfin_data_closed(r):
    # SYN, FIN and 3 bytes to a closed port: the reset's ACK counts all.
    r.tcp(44105, CLOSED, 5000, 0, SYN | FIN, data=b"abc")
    r.expect()


@scenario
def syn_mss_len5(r):
    # An MSS option of length 5 (skipped whole), then SACK-permitted and
    # the window scale.
    syn_listen(r, 44106, b"\x02\x05\x05\xb4\x00" + O_SACKOK + b"\1" + o_ws(7))


@scenario
def lastack_data_over_fin(r):
    # Text from RCV.NXT - 1 (our FIN) on, its FIN not acknowledged (that
    # would end the connection first): a reset (TCPABORTONDATA).
    s = last_ack(r, 44108)
    r.tcp(44108, TCP_EOF_CLOSER, PEER_ISN + 2, s, ACK | PSH, win=502, data=b"after")
    r.expect()
    r.tcp(44108, TCP_EOF_CLOSER, PEER_ISN + 3, s + 1, ACK, win=502)
    r.expect()


@scenario
def closing_data_over_fin(r):
    s = closing(r, 44109)
    r.tcp(44109, TCP_CLOSER, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"after")
    r.expect()
    r.tcp(44109, TCP_CLOSER, PEER_ISN + 2, s + 1, ACK, win=502)
    r.expect()


@scenario
def synrecv_ack_data_fin(r):
    # The handshake's ACK with data and FIN: one ACK of both.
    r.tcp(44110, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 44110), 0)
    r.tcp(44110, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK | PSH | FIN, data=b"hello")
    r.expect()
    r.reset(44110, PEER_ISN + 7, TCP_NOACCEPT)


@scenario
def arp_request_bcast_target(r):
    # A request for the subnet's broadcast address: no reply (an echo
    # after it: only that one is answered).
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, "192.0.2.255")))
    r.echo(ident=0x7c)
    r.expect()


@scenario
def udp_closed_ttl0(r):
    # TTL 0 at its destination: delivered, a port unreachable.
    r.udp(44114, CLOSED, b"ttl0", ipkw={"ttl": 0})
    r.expect()


@scenario
def tw_syn_data(r):
    # A SYN with data reopening a TIME-WAIT connection: the SYN-ACK
    # acknowledges the SYN only.
    time_wait(r, 44116)
    r.tcp(44116, TCP_CLOSER, PEER_ISN + 100000, 0, SYN, opts=o_mss(), data=b"syndata")
    if r.expect():
        r.reset(44116, PEER_ISN + 100001, TCP_CLOSER)


@scenario
def finwait1_data_old(r):
    # Closed, in FIN-WAIT-1: text wholly below RCV.NXT is a duplicate
    # (ACKed, no reset); text across RCV.NXT is reset (finwait1_data_overlap).
    s = closed_by_subject(r, 44119)
    r.tcp(44119, TCP_CLOSER, PEER_ISN - 4, s, ACK | PSH, win=502, data=b"old")
    r.expect()
    r.tcp(44119, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def finwait1_data_overlap(r):
    s = closed_by_subject(r, 44120)
    r.tcp(44120, TCP_CLOSER, PEER_ISN - 2, s, ACK | PSH, win=502, data=b"old")
    r.expect()
    r.tcp(44120, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def est_ts_len9(r):
    # A timestamp option of length 9 on a connection with timestamps: no
    # timestamp (the FIN taken, the handshake's TSval echoed). (A FIN, not
    # data: the window after unread data is est_ts's allowed difference.)
    s = est(r, 44136, ts=5000)
    r.tcp(44136, EST, PEER_ISN + 1, s, FIN | ACK, win=502, opts=b"\1\x08\x09" + b"\0\0\x13\x92\0\0\0")
    r.expect()
    r.reset(44136, PEER_ISN + 2, EST)


# TCP: the ACKs Linux sends without a full socket (TIME-WAIT, a request:
# tcp_v4_send_ack) carry the IP options of the segment they answer back.

# Record route, two slots (the subject records itself in both).
RR9 = b"\x07\x0b\x04" + b"\0" * 8 + b"\0"


@scenario
def tw_fin_opt_rr(r):
    # Our FIN again, with record route, on TIME-WAIT; then without.
    s = time_wait(r, 44130)
    r.send_ip(r.ip(6, tcpseg(PEER_IP, r.subj_ip, 44130, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502),
                   opts=RR9))
    r.expect()
    r.tcp(44130, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def synrecv_oow_opt_rr(r):
    # Data out of a request's window, with record route: its ACK.
    r.tcp(44142, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 44142), 0)
    r.send_ip(r.ip(6, tcpseg(PEER_IP, r.subj_ip, 44142, TCP_NOACCEPT, PEER_ISN + 10000000, isn + 1, ACK | PSH,
                             data=b"far"), opts=RR9))
    r.expect()
    r.reset(44142, PEER_ISN + 1, TCP_NOACCEPT)


@scenario
def synrecv_oow_ttl(r):
    # A request of the listener with IP_TTL 33: its SYN-ACK (33), then the
    # ACK that data out of its window draws (tcp_v4_reqsk_send_ack: from
    # the control socket, the default TTL).
    r.tcp(45519, TCP_KEEPALIVE, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_KEEPALIVE, 45519), 0)
    r.tcp(45519, TCP_KEEPALIVE, PEER_ISN + 10000000, isn + 1, ACK | PSH, data=b"far")
    r.expect()
    r.reset(45519, PEER_ISN + 1, TCP_KEEPALIVE)
    r.quiet(0.05)


@scenario
def closer_ttl_fin_exchange(r):
    # The TTL listener that closes at once: its FIN (IP_TTL 33); ours
    # acknowledging it: its ACK, from the socket (tcp_fin: tcp_send_ack,
    # then tcp_time_wait); our FIN again: TIME_WAIT's ACK, sent without a
    # socket (tcp_v4_timewait_ack: ip_send_unicast_reply, the default TTL).
    port = TCP_LINGER2_CLOSER
    r.tcp(45522, port, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((port, 45522), 0) + 1
    r.tcp(45522, port, PEER_ISN + 1, s, ACK)
    r.expect()
    r.tcp(45522, port, PEER_ISN + 1, s + 1, ACK | FIN)
    r.expect()
    r.tcp(45522, port, PEER_ISN + 1, s + 1, ACK | FIN)
    r.expect()
    r.reset(45522, PEER_ISN + 2, port)
    r.quiet(0.05)


# TCP loss recovery and timers driven by the peer, on the bulk sender's
# three segments (1460, 1460 and 1080 bytes; MSS 1460): duplicate and
# partial ACKs with and without SACK (RFC 5681, RFC 6582 NewReno), the
# retransmission timeout and its backoff (RFC 6298), F-RTO and Eifel's
# undo (RFC 5682, RFC 3522: Linux's tcp_process_loss, tcp_try_undo_loss),
# D-SACK (RFC 2883), SACK reneging (tcp_check_sack_reneging), the tail
# loss probe (RFC 8985), and windows that close, shrink and open again
# (the persist timer, tcp_probe_timer). Only the order and count of what
# is sent are compared, never times: a timeout's resend is waited for
# with a bound well past it, and "at once" is a short wait well inside
# the next timeout (the RTO here is about 200 ms: tcp_rto_min).

PEER_TS = [5000]


def peer_ts():
    PEER_TS[0] += 10
    return PEER_TS[0]


def ts_of(p):
    """The TSval of an IP packet the subject sent (0 without one)."""
    if not p:
        return 0
    t = p[(p[0] & 15) * 4:]
    o = t[20:(t[12] >> 4) * 4]
    i = 0
    while i < len(o):
        if o[i] == 0:
            break
        if o[i] == 1:
            i += 1
            continue
        if i + 1 >= len(o) or o[i + 1] < 2:
            break
        if o[i] == 8 and o[i + 1] == 10:
            return struct.unpack("!I", o[i + 2:i + 6])[0]
        i += o[i + 1]
    return 0


def bulk_conn(r, sport, sack=True, ts=False, ws=True, win=502, mss=1460):
    """The bulk sender's connection: SACK, timestamps and window scaling
    as asked, the handshake's ACK offering win; the subject's first
    flight is left to the scenario. Returns its ISN + 1."""
    r.got_ip = []
    opts = o_mss(mss) + (O_SACKOK if sack else b"") + (o_ts(5000) if ts else b"") + (b"\1" + o_ws(7) if ws else b"")
    r.tcp(sport, TCP_BULK, PEER_ISN, 0, SYN, opts=opts)
    r.expect()
    isn = r.isn.get((TCP_BULK, sport))
    if isn is None:
        return 0
    PEER_TS[0] = 5000
    r.tcp(sport, TCP_BULK, PEER_ISN + 1, isn + 1, ACK, win=win,
          opts=(b"\1\1" + o_ts(peer_ts(), ts_of(r.got_ip[-1]))) if ts else b"")
    return isn + 1


def bulk_ack(r, sport, ack, win=502, ecr=None, sack=(), dsack=None):
    """An ACK from the peer; with ecr (a TSval of the subject's, or 0) a
    timestamp option; sack: SACK blocks, dsack: a D-SACK block first."""
    opts = b""
    if ecr is not None:
        opts += b"\1\1" + o_ts(peer_ts(), ecr)
    blocks = ([dsack] if dsack else []) + list(sack)
    if blocks:
        opts += b"\1\1" + o_sack(*blocks)
    r.tcp(sport, TCP_BULK, PEER_ISN + 1, ack, ACK, win=win, opts=opts)


def bulk_end(r, sport):
    r.quiet(0.05)
    r.reset(sport, PEER_ISN + 1, TCP_BULK)
    r.quiet(0.05)


def rto_resend(r):
    """Waits for the retransmission timeout's resend; returns its TSval."""
    n = len(r.got_ip)
    r.expect(timeout=2.0)
    return ts_of(r.got_ip[-1]) if len(r.got_ip) > n else 0


@scenario
def bulk_rto_variance_held(r):
    # Linux's RTT estimator (tcp_rtt_estimator) sets the variance term to
    # twice the first RTT and holds it for a round trip (mdev_max_us,
    # rtt_seq: it only falls once SND.UNA passes the end of the flight
    # that was out when it was last set), where RFC 6298 lowers it with
    # every sample. A handshake of 0.2 s (RTO 0.6 s), no SACK, MSS 536,
    # eight segments; 0.2 s later five ACKs, one a segment, each a sample
    # of 0.2 s: Linux's RTO stays 0.6 s (RFC 6298's would be 0.4 s, its
    # variance term at the 200 ms floor); the sixth is resent 0.6 s after
    # the last ACK, after the mark.
    sport = 45434
    r.got_ip = []
    r.tcp(sport, TCP_BULK, PEER_ISN, 0, SYN, opts=o_mss(536) + b"\1" + o_ws(7))
    r.expect()
    s = r.isn.get((TCP_BULK, sport), 0) + 1
    r.quiet(0.2)
    r.tcp(sport, TCP_BULK, PEER_ISN + 1, s, ACK, win=502)
    r.expect(n=8)
    r.quiet(0.2)
    for i in range(1, 6):
        bulk_ack(r, sport, s + 536 * i)
    r.expect(timeout=0.5)
    mark("0.5 s")
    r.expect(timeout=0.6)
    bulk_ack(r, sport, s + BULK)
    bulk_end(r, sport)


@scenario
def bulk_psh_forced_push(r):
    # The bulk sender's 4000 bytes (one write) to a peer whose window is
    # 1000: buffers of 500 (tcp_xmit_size_goal, and segments, bound to
    # half the largest window); Linux's forced push, asked each time a
    # buffer is full, marks PSH on one whose end is more than 500 past the
    # last mark, and moves the mark to that end (tcp_mark_push: pushed_seq
    # = write_seq): every second buffer, 1000, 2000, 3000, and the write's
    # end.
    r.tcp(45410, TCP_BULK, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((TCP_BULK, 45410), 0) + 1
    r.tcp(45410, TCP_BULK, PEER_ISN + 1, s, ACK, win=1000)
    for n in range(1, 4):
        r.expect(n=2)
        r.tcp(45410, TCP_BULK, PEER_ISN + 1, s + 1000 * n, ACK, win=1000)
    r.expect(n=2)
    r.tcp(45410, TCP_BULK, PEER_ISN + 1, s + 4000, ACK, win=1000)
    bulk_end(r, 45410)


@scenario
def bulk_psh_small_window(r):
    # The same to a peer whose window is 300: at most 536, the whole
    # window bounds the buffers (tcp_bound_to_half_wnd, for the size goal
    # as for the MSS), 300 each, and each one's end is more than 150 past
    # the last mark: PSH on every segment.
    r.tcp(45411, TCP_BULK, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((TCP_BULK, 45411), 0) + 1
    r.tcp(45411, TCP_BULK, PEER_ISN + 1, s, ACK, win=300)
    for n in range(1, 4):
        r.expect()
        r.tcp(45411, TCP_BULK, PEER_ISN + 1, s + 300 * n, ACK, win=300)
    r.expect()
    r.tcp(45411, TCP_BULK, PEER_ISN + 1, s + 1200, ACK, win=0)
    bulk_end(r, 45411)


@scenario
def bulk_rto_dupacks(r):
    # No SACK, no timestamps: the timeout's resend of the first segment;
    # two duplicate ACKs after it send nothing (tcp_process_loss: a
    # duplicate ACK counts only once new data went out after the timeout).
    s = bulk_conn(r, 42500, sack=False)
    r.expect(n=3)
    rto_resend(r)
    bulk_ack(r, 42500, s)
    bulk_ack(r, 42500, s)
    bulk_end(r, 42500)


@scenario
def bulk_dupacks_beyond_flight(r):
    # No SACK: three duplicate ACKs with only two segments in flight past
    # the first: nothing (tcp_limit_reno_sacked: no more can have been
    # received than were sent; taken for reordering, the threshold becomes
    # the segments in flight); the ACK of the first then sends nothing
    # either.
    s = bulk_conn(r, 42502, sack=False)
    r.expect(n=3)
    for _ in range(3):
        bulk_ack(r, 42502, s)
    r.expect(timeout=0.1)
    bulk_ack(r, 42502, s + 1460)
    r.expect(timeout=0.1)
    bulk_ack(r, 42502, s + BULK)
    bulk_end(r, 42502)


@scenario
def bulk_dupacks_newreno(r):
    # No SACK, MSS 536: eight segments. Three duplicate ACKs resend the
    # first (fast retransmit); the partial ACK of two resends the third
    # (RFC 6582 §3.2 step 5), that of five the sixth; then all acknowledged.
    s = bulk_conn(r, 42521, sack=False, mss=536)
    r.expect(n=8)
    for _ in range(3):
        bulk_ack(r, 42521, s)
    r.expect(timeout=0.1)
    bulk_ack(r, 42521, s + 2 * 536)
    r.expect(timeout=0.1)
    bulk_ack(r, 42521, s + 5 * 536)
    r.expect(timeout=0.1)
    bulk_ack(r, 42521, s + BULK)
    bulk_end(r, 42521)


@scenario
def bulk_rto_spurious_eifel(r):
    # SACK and timestamps (segments of 1448): after the tail loss probe and
    # the timeout's resend of the first segment, its ACK echoes the
    # original's TSval, not the resend's: a spurious timeout (RFC 3522;
    # tcp_packet_delayed, tcp_try_undo_loss): nothing resent at once, the
    # Open state's tail loss probe resends the last.
    s = bulk_conn(r, 42506, ts=True)
    r.expect(n=4)
    t0 = ts_of(r.got_ip[1])
    rto_resend(r)
    bulk_ack(r, 42506, s + 1448, ecr=t0)
    r.expect(timeout=0.1)
    bulk_ack(r, 42506, s + BULK, ecr=t0)
    bulk_end(r, 42506)


@scenario
def bulk_frto_new_data_sack(r):
    # SACK, no window scaling, a window of two segments: the third waits;
    # the tail loss probe resends the second (with its PSH), the timeout
    # the first. The ACK of the first (never sent again past it) opens the
    # window: F-RTO step 2b (RFC 5682 §3.1; tcp_process_loss: REXMIT_NEW)
    # sends the new segment, not the second again.
    s = bulk_conn(r, 42510, ws=False, win=2920)
    r.expect(n=3)
    rto_resend(r)
    bulk_ack(r, 42510, s + 1460, win=2920)
    r.expect(timeout=0.1)
    bulk_ack(r, 42510, s + BULK, win=2920)
    bulk_end(r, 42510)


@scenario
def bulk_tlp_dsack(r):
    # SACK: all acknowledged with a D-SACK of the tail loss probe's copy
    # (tcp_process_tlp_ack: the probe was needless): nothing more.
    s = bulk_conn(r, 42512)
    r.expect(n=4)
    bulk_ack(r, 42512, s + BULK, dsack=(s + 2920, s + BULK))
    bulk_end(r, 42512)


@scenario
def bulk_sack_reneging(r):
    # SACK: the second and third SACKed, the first resent (RACK); then the
    # first acknowledged with no SACK block (the receiver reneged on the
    # rest: tcp_check_sack_reneging): the second again after a short
    # delay.
    s = bulk_conn(r, 42513)
    r.expect(n=4)
    bulk_ack(r, 42513, s, sack=[(s + 1460, s + BULK)])
    r.expect()
    bulk_ack(r, 42513, s + 1460)
    r.expect(timeout=0.5)
    bulk_ack(r, 42513, s + BULK)
    bulk_end(r, 42513)


@scenario
def bulk_rto_backoff(r):
    # No SACK: the timeout's resend, unanswered, then the next (backed off
    # to twice the delay, RFC 6298 (5.5); only the order and count are
    # compared).
    s = bulk_conn(r, 42514, sack=False)
    r.expect(n=3)
    rto_resend(r)
    rto_resend(r)
    bulk_ack(r, 42514, s + BULK)
    bulk_end(r, 42514)


def shrunk_to_zero(r, sport, ecr):
    """No SACK, timestamps: the first segment acknowledged with a zero
    window, the rest in flight past it; the timeout resends the second as
    the probe (tcp_retransmit_timer: the receiver shrank its window),
    answered with the zero window; the window opens: nothing at once; the
    next timeout's resend, and its ACK. Every ACK echoes ecr(t, t0): t the
    TSval of the segment it answers, t0 the first flight's. (Echoing 0
    throughout, the kernel sends the third segment at once on that ACK:
    tcp_packet_delayed looks at a non-zero echo only; pstack too, not kept
    for time.)"""
    s = bulk_conn(r, sport, sack=False, ts=True)
    r.expect(n=3)
    t0 = ts_of(r.got_ip[1])
    bulk_ack(r, sport, s + 1448, win=0, ecr=ecr(t0, t0))
    t = rto_resend(r)
    bulk_ack(r, sport, s + 1448, win=0, ecr=ecr(t, t0))
    r.quiet(0.05)
    bulk_ack(r, sport, s + 1448, ecr=ecr(t, t0))
    r.expect(timeout=0.1)
    t = rto_resend(r)
    bulk_ack(r, sport, s + 2896, ecr=ecr(t, t0))
    r.expect(timeout=0.1)
    bulk_ack(r, sport, s + BULK, ecr=ecr(ts_of(r.got_ip[-1]), t0))
    bulk_end(r, sport)


@scenario
def bulk_window_shrunk_to_zero_ts_old_ecr(r):
    # Every ACK echoing the first flight's TSval, older than every
    # retransmission: the ACK of the last resend shows the timeout
    # spurious (RFC 3522; tcp_try_undo_loss): nothing at once.
    shrunk_to_zero(r, 42522, lambda t, t0: t0)


@scenario
def bulk_window_shrunk_below_snd_nxt(r):
    # No SACK: the first segment acknowledged with a window of 128 bytes,
    # the rest in flight past its right edge; the timeout's resend of the
    # second is cut to the window (__tcp_retransmit_skb: avail_wnd), and
    # so is the next after its ACK.
    s = bulk_conn(r, 42519, sack=False)
    r.expect(n=3)
    bulk_ack(r, 42519, s + 1460, win=1)
    rto_resend(r)
    bulk_ack(r, 42519, s + 1588, win=1)
    r.expect(timeout=0.1)
    bulk_ack(r, 42519, s + BULK)
    bulk_end(r, 42519)


# A seventh sweep: ARP opcodes and addressing, an echo at the MTU,
# duplicate options, PAWS on a FIN, the right edge of the window, the
# subnet's network address as a source, a reset with SYN, a full accept
# queue.


@scenario
def arp_op_rarp_request(r):
    # Opcode 3 (RARP request, RFC 903) in an ARP frame: not ARP's.
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(3, PEER_MAC, PEER_IP, PEER_MAC, r.subj_ip)))
    r.quiet()


@scenario
def arp_request_with_tha(r):
    # A request whose target hardware address is filled in (ignored).
    m = bytes.fromhex("02000000ab01")
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, PEER_MAC, PEER_IP, m, r.subj_ip)))
    r.expect()


@scenario
def icmp_echo_1472(r):
    # The largest echo that fits the link: a reply of 1500 bytes.
    r.echo(data=bytes(range(256)) * 5 + b"x" * 192)
    r.expect()


@scenario
def icmp_echo_1472_df(r):
    r.echo(data=bytes(range(256)) * 5 + b"y" * 192, ipkw={"frag": 0x4000})
    r.expect()


@scenario
def syn_ts_twice(r):
    # Two timestamp options: the last one counts (tcp_parse_options reads
    # them in order): the SYN-ACK echoes 200.
    syn_listen(r, 45000, o_mss() + O_SACKOK + b"\1\1" + o_ts(100) + b"\1\1" + o_ts(200) + b"\1" + o_ws(7))


@scenario
def syn_ts_after_eol(r):
    # A timestamp past the end-of-list option is not an option.
    syn_listen(r, 45001, o_mss() + b"\0\0\0\0" + o_ts(300))


@scenario
def syn_sackok_twice(r):
    syn_listen(r, 45002, o_mss() + O_SACKOK + O_SACKOK + b"\1\1" + o_ts(400) + b"\1" + o_ws(7))


@scenario
def est_ts_twice(r):
    # A FIN with two timestamps: TS.Recent is the last one's (the ACK
    # echoes 6000).
    s = est(r, 45003, ts=5000)
    r.tcp(45003, EST, PEER_ISN + 1, s, FIN | ACK, win=502, opts=b"\1\1" + o_ts(5500, 0) + b"\1\1" + o_ts(6000, 0))
    r.expect()
    done(r, 45003, PEER_ISN + 2)


@scenario
def est_paws_fin(r):
    # A FIN whose TSval went backwards: not taken (a duplicate ACK), and
    # not rate-limited (it occupies sequence space); then a good one.
    s = est(r, 45005, ts=5000)
    r.tcp(45005, EST, PEER_ISN + 1, s, FIN | ACK, win=502, opts=b"\1\1" + o_ts(100, 0))
    r.expect()
    r.tcp(45005, EST, PEER_ISN + 1, s, FIN | ACK, win=502, opts=b"\1\1" + o_ts(200, 0))
    r.expect()
    r.tcp(45005, EST, PEER_ISN + 1, s, FIN | ACK, win=502, opts=b"\1\1" + o_ts(5200, 0))
    r.expect()
    done(r, 45005, PEER_ISN + 2)


@scenario
def est_ts_wrap(r):
    # TSval across 2^32: newer by serial arithmetic (RFC 7323 §5.3), taken
    # and echoed; then one 2^31 + 16 further on is older: PAWS drops it,
    # its duplicate ACK echoes the last one taken and D-SACKs the FIN
    # (tcp_send_dupack). FINs, so that no unread text moves the window
    # (est_ts).
    s = est(r, 45509, ts=0xFFFFFFF0)
    r.tcp(45509, EST, PEER_ISN + 1, s, ACK | FIN, win=502, opts=b"\1\1" + o_ts(0x10, 0))
    r.expect()
    r.tcp(45509, EST, PEER_ISN + 1, s, ACK | FIN, win=502, opts=b"\1\1" + o_ts(0x80000020, 0))
    r.expect()
    done(r, 45509, PEER_ISN + 2)


@scenario
def est_data_right_edge_exact(r):
    # The window after the handshake is the SYN-ACK's 64240: a byte at
    # its last place is queued (SACKed); the ACK advertises 63 << 10
    # (64512), so the byte after it is queued too.
    s = est(r, 45006)
    r.tcp(45006, EST, PEER_ISN + 1 + 64239, s, ACK | PSH, win=502, data=b"l")
    r.expect()
    r.tcp(45006, EST, PEER_ISN + 1 + 64240, s, ACK | PSH, win=502, data=b"p")
    r.expect()
    done(r, 45006, PEER_ISN + 1)


@scenario
def ip_src_net_addr(r):
    # The subnet's network address as the source (not a martian to
    # Linux, whose fib has no broadcast route for it): an echo, a SYN to
    # the listener, a datagram to a closed port.
    a = "192.0.2.0"
    r.send_ip(ip4(a, r.subj_ip, 1, icmp(8, 0, struct.pack("!HH", 9, 5), b"net")))
    r.send_ip(ip4(a, r.subj_ip, 6, tcpseg(a, r.subj_ip, 45020, TCP_OPEN, PEER_ISN, 0, SYN, opts=o_mss())))
    r.send_ip(ip4(a, r.subj_ip, 17, udp(a, r.subj_ip, 45021, CLOSED, b"net")))
    # Answered after the subject's ARP request for it, which is answered.
    r.expect()
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_ARP, arp(2, PEER_MAC, a, r.subj_mac, r.subj_ip)))
    r.expect(n=3)
    r.send_ip(ip4(a, r.subj_ip, 6, tcpseg(a, r.subj_ip, 45020, TCP_OPEN, PEER_ISN + 1, 0, RST)))
    r.quiet(0.05)


@scenario
def arp_request_sha_differs(r):
    # A request whose sender hardware address is not the frame's source:
    # the reply goes to the sender hardware address (arp_process replies
    # to sha). From an address of its own (the peer's stays as it is).
    m = bytes.fromhex("02000000ab02")
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, m, "192.0.2.60", b"\0" * 6, r.subj_ip)))
    r.expect()


@scenario
def arp_request_mcast_mac(r):
    # A request in a link-layer multicast frame: answered.
    r.send(eth(bytes.fromhex("01005e000001"), PEER_MAC, ETH_P_ARP,
               arp(1, PEER_MAC, PEER_IP, b"\0" * 6, r.subj_ip)))
    r.expect()


@scenario
def arp_sender_mac_is_subject(r):
    # A request whose sender hardware address is the subject's own.
    r.send(eth(BCAST, PEER_MAC, ETH_P_ARP, arp(1, r.subj_mac, "192.0.2.61", b"\0" * 6, r.subj_ip)))
    r.expect()


@scenario
def est_synrst_exact(r):
    # SYN and RST together at RCV.NXT: the reset counts (RFC 9293's RST
    # step comes before the SYN's; tcp_validate_incoming); it is gone.
    s = est(r, 45040)
    r.tcp(45040, EST, PEER_ISN + 1, 0, SYN | RST)
    r.quiet()
    r.tcp(45040, EST, PEER_ISN + 1, s, ACK)
    r.expect()


@scenario
def syn_acceptq_full(r):
    # A listener with a backlog of 1 that never accepts: two connections
    # fill its accept queue (sk_acceptq_is_full: more than the backlog);
    # a third SYN is dropped without a cookie (tcp_conn_request:
    # ListenOverflows), an ACK with no request behind it still draws a
    # reset.
    port = TCP_NOACCEPT_BACKLOG1
    for sport in (45050, 45051):
        r.connect(sport, port, opts=o_mss())
    r.tcp(45052, port, PEER_ISN, 0, SYN, opts=o_mss() + O_SACKOK + o_ts(5000) + b"\1" + o_ws(7))
    r.quiet()
    r.tcp(45053, port, PEER_ISN, 777, ACK)
    r.expect()
    for sport in (45050, 45051):
        r.reset(sport, PEER_ISN + 1, port)
    r.quiet(0.05)


@scenario
def bulk_rto_partial_ack(r):
    # SACK and timestamps (segments of 1448): the timeout's resend of the
    # first segment, acknowledged 12 bytes in (its own TSval echoed: no
    # undo; no new data to send: F-RTO falls back, tcp_process_loss);
    # cwnd 1 with the resend still in flight: nothing at once. The next
    # timeout resends the rest of that segment, 1436 bytes, not a full
    # segment from SND.UNA (__tcp_retransmit_skb after tcp_trim_head:
    # the retransmission queue keeps the skb's boundaries).
    s = bulk_conn(r, 42530, ts=True)
    r.expect(n=4)
    t = rto_resend(r)
    bulk_ack(r, 42530, s + 12, ecr=t)
    r.expect(timeout=0.1)
    t = rto_resend(r)
    bulk_ack(r, 42530, s + BULK, ecr=t)
    bulk_end(r, 42530)

def tinfo(r, sport):
    """TCP_INFO of the bulk connection from the peer, printed (serve's
    tinfo request)."""
    control(r, sport, "tinfo")
    r.expect()


@scenario
def bulk_dupacks_tcp_info(r):
    # No SACK, MSS 536: eight segments; TCP_INFO after two duplicate ACKs
    # (Disorder) and after seven (Recovery, the first resent): tcpi_sacked
    # is the count of duplicate ACKs (Linux's tcp_add_reno_sack: sacked_out
    # stands for the segments they say arrived).
    s = bulk_conn(r, 42540, sack=False, mss=536)
    r.expect(n=8)
    for _ in range(2):
        bulk_ack(r, 42540, s)
    r.expect(timeout=0.1)
    tinfo(r, 42540)
    for _ in range(5):
        bulk_ack(r, 42540, s)
    r.expect(timeout=0.1)
    tinfo(r, 42540)
    bulk_ack(r, 42540, s + BULK)
    bulk_end(r, 42540)


@scenario
def bulk_newreno_partial_ack_holds_dupacks(r):
    # No SACK, MSS 536: eight segments; three duplicate ACKs (the first
    # resent), then an ACK of two: one of them was the hole, the other took
    # one duplicate ACK's place (Linux's tcp_remove_reno_sacks): tcpi_sacked
    # 2, not 1; the third resent; four more duplicate ACKs: six would be
    # more than the six segments out past the hole, held at five, and
    # reordering becomes six (tcp_limit_reno_sacked,
    # tcp_check_reno_reordering).
    s = bulk_conn(r, 42542, sack=False, mss=536)
    r.expect(n=8)
    for _ in range(3):
        bulk_ack(r, 42542, s)
    r.expect(timeout=0.1)
    bulk_ack(r, 42542, s + 2 * 536)
    r.expect(timeout=0.1)
    tinfo(r, 42542)
    for _ in range(4):
        bulk_ack(r, 42542, s + 2 * 536)
    r.expect(timeout=0.1)
    tinfo(r, 42542)
    bulk_ack(r, 42542, s + BULK)
    bulk_end(r, 42542)


@scenario
def bulk_newreno_partial_ack_reordering(r):
    # No SACK, MSS 536: seven duplicate ACKs for eight segments (Recovery,
    # the first resent), then an ACK of two: six duplicate ACKs would stand
    # for more than the six segments out past the hole: held at five, and
    # reordering becomes the segments out plus those acknowledged, eight
    # (tcp_check_reno_reordering on a cumulative ACK); an ACK of three more:
    # two, and reordering six.
    s = bulk_conn(r, 42544, sack=False, mss=536)
    r.expect(n=8)
    for _ in range(7):
        bulk_ack(r, 42544, s)
    r.expect(timeout=0.1)
    bulk_ack(r, 42544, s + 2 * 536)
    r.expect(timeout=0.1)
    tinfo(r, 42544)
    bulk_ack(r, 42544, s + 5 * 536)
    r.expect(timeout=0.1)
    tinfo(r, 42544)
    bulk_ack(r, 42544, s + BULK)
    bulk_end(r, 42544)


@scenario
def bulk_partial_undo_reordering(r):
    # SACK and timestamps, MSS 536 (segments of 524): eight segments and
    # the tail loss probe; the second to fourth SACKed: the first resent
    # (Recovery). Then the first four acknowledged with the echo of the
    # first flight's TSval: the original filled the hole, not the resend
    # (tcp_try_undo_partial, tcp_packet_delayed): the recovery undone, and
    # the reordering it shows, from the old SND.UNA to the highest SACKed,
    # taken (tcp_check_sack_reordering): tcpi_reordering 4.
    s = bulk_conn(r, 42562, mss=536, ts=True)
    r.expect(n=9, timeout=0.3)
    t0 = ts_of(r.got_ip[1])
    bulk_ack(r, 42562, s, sack=[(s + 524, s + 4 * 524)], ecr=t0)
    r.expect(timeout=0.1)
    tinfo(r, 42562)
    bulk_ack(r, 42562, s + 4 * 524, ecr=t0)
    r.expect(timeout=0.1)
    tinfo(r, 42562)
    bulk_ack(r, 42562, s + BULK, ecr=t0)
    bulk_end(r, 42562)


@scenario
def syn_cookie_listener_tos(r):
    # A listener with IP_TOS 0x28, IP_TTL 33 and a backlog of 1: its
    # SYN-ACKs carry its TOS and TTL (tcp_v4_send_synack: the listener's
    # inet->tos, ip_build_and_send_pkt: its TTL), the one with a cookie
    # too (the same function sends it, want_cookie), and so do the cookie
    # connection's segments (the child is the listener's clone); the SYNs'
    # own TOS (0xb8) is not reflected (tcp_reflect_tos is off).
    port = TCP_TOS_BACKLOG1
    for sport in (45060, 45061, 45062):
        r.tcp(sport, port, PEER_ISN, 0, SYN, opts=o_mss(), ipkw={"tos": 0xb8})
        r.expect()
    isn = r.isn.get((port, 45062), 0)
    r.tcp(45062, port, PEER_ISN + 1, isn + 1, ACK, win=502)
    r.tcp(45062, port, PEER_ISN + 1, isn + 1, ACK | PSH, win=502, data=b"tos")
    r.expect()
    for sport in (45060, 45061):
        r.reset(sport, PEER_ISN + 1, port)
    r.reset(45062, PEER_ISN + 4, port)
    r.quiet(0.05)


@scenario
def syn_acceptq_full_synack_resend(r):
    # A listener with a backlog of 1 that never accepts (its own: what
    # its accept queue holds stays there, reset or not): one connection
    # in its accept queue, a second request answered, a third connection
    # fills the queue (two, more than the backlog); the second request's
    # ACK then finds the queue full and is dropped, the request kept
    # (tcp_check_req's listen_overflow, tcp_abort_on_overflow 0: acked),
    # and its timer sends the SYN-ACK again a second after the first
    # (reqsk_timer_handler, TCP_TIMEOUT_INIT).
    port = TCP_NOACCEPT_BACKLOG1_B
    r.connect(45070, port, opts=o_mss())
    r.tcp(45071, port, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((port, 45071), 0)
    r.connect(45072, port, opts=o_mss())
    r.tcp(45071, port, PEER_ISN + 1, isn + 1, ACK)
    r.expect(timeout=1.5)
    for sport in (45070, 45071, 45072):
        r.reset(sport, PEER_ISN + 1, port)
    r.quiet(0.05)


def mark(text):
    """A line in the output between frames: what came before it came before
    the wait it names."""
    print("-- " + text, flush=True)


@scenario
def talker_window_one(r):
    # The talker's 6 bytes to a peer whose window is 1: a segment whose
    # piece does not fit the window waits (tcp_snd_wnd_test in
    # tcp_write_xmit) for the window probe timer, which sends the piece
    # that fits with PSH (tcp_write_wakeup); after its ACK, still a window
    # of 1, the next byte waits for the timer again.
    r.tcp(45420, TCP_TALKER, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((TCP_TALKER, 45420), 0) + 1
    r.tcp(45420, TCP_TALKER, PEER_ISN + 1, s, ACK, win=1)
    r.expect(timeout=0.1)
    mark("0.1 s")
    r.expect(timeout=1.0)
    r.tcp(45420, TCP_TALKER, PEER_ISN + 1, s + 1, ACK, win=1)
    r.expect(timeout=0.1)
    mark("0.1 s")
    r.expect(timeout=1.0)
    r.reset(45420, PEER_ISN + 1, TCP_TALKER)
    r.quiet(0.05)


@scenario
def bulk_window_probe_psh(r):
    # The bulk sender to a peer whose window is 1460: buffers and segments
    # of 730 (tcp_bound_to_half_wnd), two sent; their ACK closes the
    # window, then a window update opens 10 bytes: less than a segment,
    # the next waits for the probe timer, which sends the 10 that fit with
    # PSH (tcp_write_wakeup marks the buffer it cuts, [1461, 2191)); their
    # ACK opens 800: the next segment, 730 bytes, takes that buffer's end
    # and its PSH; the rest waits again.
    r.tcp(45421, TCP_BULK, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((TCP_BULK, 45421), 0) + 1
    r.tcp(45421, TCP_BULK, PEER_ISN + 1, s, ACK, win=1460)
    r.expect()
    r.tcp(45421, TCP_BULK, PEER_ISN + 1, s + 1460, ACK, win=0)
    r.tcp(45421, TCP_BULK, PEER_ISN + 1, s + 1460, ACK, win=10)
    r.expect(timeout=0.1)
    mark("0.1 s")
    r.expect(timeout=1.0)
    r.tcp(45421, TCP_BULK, PEER_ISN + 1, s + 1470, ACK, win=800)
    r.expect(timeout=0.1)
    mark("0.1 s")
    r.tcp(45421, TCP_BULK, PEER_ISN + 1, s + 2200, ACK, win=0)
    bulk_end(r, 45421)


@scenario
def bulk_window_probe_grow(r):
    # As bulk_window_probe_psh up to the probe's 10 bytes, which cut the
    # buffer [1461, 2191) of 730 (tcp_bound_to_half_wnd); their ACK then
    # opens the window wide. Linux 6.10+ grows the short head buffer from
    # the next before sending (tcp_grow_skb in tcp_write_xmit: what it
    # lacks of a segment, from one buffer): 720 + 730 = 1450 bytes, not a
    # full segment cut across the buffers' edge. Short, it holds the
    # last two buffers (1080 bytes, grown alike) back until its ACK
    # (Minshall's Nagle), and the timeout resends them as one segment.
    r.tcp(45425, TCP_BULK, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((TCP_BULK, 45425), 0) + 1
    r.tcp(45425, TCP_BULK, PEER_ISN + 1, s, ACK, win=1460)
    r.expect()
    r.tcp(45425, TCP_BULK, PEER_ISN + 1, s + 1460, ACK, win=0)
    r.tcp(45425, TCP_BULK, PEER_ISN + 1, s + 1460, ACK, win=10)
    r.expect(timeout=0.1)
    mark("0.1 s")
    r.expect(timeout=1.0)
    r.tcp(45425, TCP_BULK, PEER_ISN + 1, s + 1470, ACK, win=30000)
    r.expect()
    r.tcp(45425, TCP_BULK, PEER_ISN + 1, s + 2920, ACK, win=30000)
    r.expect(n=2)
    bulk_end(r, 45425)


@scenario
def bulk_rto_newreno_cwnd(r):
    # No SACK, no timestamps, MSS 100: ten segments, then the timeout's
    # resend of the first, and the next timeout's. The ACK of all ten
    # (no undo: without timestamps nothing tells the first transmission's
    # ACK from the resend's, tcp_try_undo_loss; F-RTO's 3.b undo needs
    # an ACK of data never resent, which without SACK a cumulative ACK
    # covering a resend is not, tcp_clean_rtx_queue) leaves CUBIC's
    # ssthresh, 7 segments, and slow start from cwnd 1 by the ten
    # acknowledged reaches it: seven new segments. (The kernel's default
    # here is BBR, whose ssthresh a timeout leaves infinite: eleven.)
    s = bulk_conn(r, 45422, sack=False, ws=False, win=64240, mss=100)
    r.expect(n=10)
    rto_resend(r)
    rto_resend(r)
    bulk_ack(r, 45422, s + 1000, win=64240)
    r.expect(n=100, timeout=0.1)
    mark("0.1 s")
    bulk_end(r, 45422)


@scenario
def bulk_rto_newreno_held_loss_dupacks(r):
    # As bulk_rto_newreno_cwnd: after the two timeouts the ACK of all ten
    # segments sent before them, the recovery point itself; seven new
    # segments. Three duplicate ACKs of it then: without SACK the Loss
    # state holds until an ACK above that point (tcp_process_loss: the
    # state recovered, tcp_try_undo_recovery's
    # tcp_is_non_sack_preventing_reopen; RFC 6582 §3.2 step 1), where a
    # duplicate ACK counts for nothing: no new segment (limited transmit),
    # no fast retransmit. The ACK of the first new one ends the state:
    # two duplicate ACKs of it then bring two new segments (limited
    # transmit, RFC 3042; Linux's tcp_add_reno_sack in the Disorder state).
    s = bulk_conn(r, 45423, sack=False, ws=False, win=64240, mss=100)
    r.expect(n=10)
    rto_resend(r)
    rto_resend(r)
    bulk_ack(r, 45423, s + 1000, win=64240)
    r.expect(n=100, timeout=0.1)
    for _ in range(3):
        bulk_ack(r, 45423, s + 1000, win=64240)
    r.expect(n=100, timeout=0.1)
    mark("0.1 s")
    # (What follows is over long before the retransmission timer.)
    bulk_ack(r, 45423, s + 1100, win=64240)
    r.expect(n=1, timeout=0.1)
    for _ in range(2):
        bulk_ack(r, 45423, s + 1100, win=64240)
    r.expect(n=2, timeout=0.1)
    mark("two")
    r.reset(45423, PEER_ISN + 1, TCP_BULK)
    r.quiet(0.05)


@scenario
def bulk_newreno_fast_retransmit_rearms_rto(r):
    # No SACK, MSS 536: eight segments. Three duplicate ACKs 0.15 s later
    # resend the first (fast retransmit), and the retransmission of the
    # first unacknowledged segment restarts the retransmission timer
    # (Linux's tcp_xmit_retransmit_queue: rtx_head resent, the timer
    # reset to the RTO from now): the timeout's resend comes an RTO after
    # the fast retransmission, not after the first transmission.
    s = bulk_conn(r, 45424, sack=False, mss=536)
    r.expect(n=8)
    r.quiet(0.15)
    for _ in range(3):
        bulk_ack(r, 45424, s)
    r.expect()
    r.expect(timeout=0.1)
    mark("0.1 s")
    r.expect(timeout=0.5)
    bulk_ack(r, 45424, s + BULK)
    bulk_end(r, 45424)


# Ninth sweep: the subject's own timers, urgent data, option edges, IP
# lengths and checksums.


@scenario
def keepalive_and_linger2_timers(r):
    # Two timers of the subject's own, run side by side (2 s rather than
    # 3.5). A connection to the listener with TCP_LINGER2 1 that closes
    # at once: its FIN acknowledged, not answered, it waits in FIN_WAIT_2
    # (Linux: the timewait substate for tcp_fin_time: max(linger2, 3.5
    # RTO)). A connection to the keep-alive listener (TCP_KEEPIDLE 1,
    # TCP_KEEPINTVL 1, TCP_KEEPCNT 1, IP_TTL 33, all inherited). Half a
    # second on, the first is there: an ACK again draws nothing (a closed
    # port's reset otherwise). A second on, the second's probe: SND.UNA - 1,
    # no data (tcp_write_wakeup, tcp_xmit_probe_skb). 1.5 s on, a FIN at
    # the first's RCV.NXT finds no connection: a reset (before its
    # timeout, an ACK and TIME_WAIT). 2 s on, the probe unanswered, the
    # reset that ends the second (tcp_keepalive_timer: icsk_probes_out
    # reached TCP_KEEPCNT), from the socket: TTL 33.
    port = TCP_LINGER2_CLOSER
    r.tcp(45501, port, PEER_ISN, 0, SYN, opts=o_mss() + O_SACKOK + b"\1" + o_ws(7))
    r.expect()
    s = r.isn.get((port, 45501), 0) + 1
    r.tcp(45501, port, PEER_ISN + 1, s, ACK, win=502)
    r.expect()
    r.tcp(45501, port, PEER_ISN + 1, s + 1, ACK, win=502)
    t0 = time.monotonic()
    r.connect(45500, TCP_KEEPALIVE, opts=o_mss() + O_SACKOK + b"\1" + o_ws(7))
    r.quiet(max(0.0, t0 + 0.5 - time.monotonic()))
    mark("0.5 s")
    r.tcp(45501, port, PEER_ISN + 1, s + 1, ACK, win=502)
    r.expect(timeout=1.0)
    r.quiet(max(0.0, t0 + 1.5 - time.monotonic()))
    mark("1.5 s")
    r.tcp(45501, port, PEER_ISN + 1, s + 1, ACK | FIN, win=502)
    r.expect()
    r.expect(timeout=1.0)


@scenario
def bulk_mss_one(r):
    # MSS 1 from the peer: Linux sends segments of TCP_MIN_SND_MSS (48).
    bulk_conn(r, 45502, mss=1)
    r.expect(n=11)
    bulk_end(r, 45502)


@scenario
def bulk_mss_zero(r):
    # MSS 0 is no MSS (tcp_parse_options takes only a nonzero one): 536.
    bulk_conn(r, 45503, mss=0)
    r.expect(n=9)
    bulk_end(r, 45503)


@scenario
def bulk_no_mss(r):
    # No MSS option: RFC 9293 §3.7.1's 536.
    r.got_ip = []
    r.tcp(45505, TCP_BULK, PEER_ISN, 0, SYN, opts=O_SACKOK + b"\1" + o_ws(7))
    r.expect()
    s = r.isn.get((TCP_BULK, 45505), 0) + 1
    r.tcp(45505, TCP_BULK, PEER_ISN + 1, s, ACK, win=502)
    r.expect(n=9)
    bulk_end(r, 45505)


@scenario
def syn_sack_block(r):
    # A SACK option on a SYN (meaningless there).
    syn_listen(r, 45506, o_mss() + O_SACKOK + b"\1\1" + o_sack((5000, 6000)))


@scenario
def syn_ts_val_zero(r):
    syn_listen(r, 45507, o_mss() + O_SACKOK + o_ts(0) + b"\1" + o_ws(7))


@scenario
def est_urg_past_segment(r):
    # The urgent pointer beyond the segment's text (the byte to come).
    s = est(r, 45510)
    r.tcp(45510, EST, PEER_ISN + 1, s, ACK | PSH | URG, win=502, data=b"abc", urp=100)
    r.expect()
    r.tcp(45510, EST, PEER_ISN + 4, s, ACK | PSH, win=502, data=b"def")
    r.expect()
    done(r, 45510, PEER_ISN + 7)


@scenario
def est_urg_zero_pointer(r):
    s = est(r, 45511)
    r.tcp(45511, EST, PEER_ISN + 1, s, ACK | PSH | URG, win=502, data=b"abc", urp=0)
    r.expect()
    done(r, 45511, PEER_ISN + 4)


@scenario
def est_urp_without_urg(r):
    s = est(r, 45512)
    r.tcp(45512, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"abc", urp=2)
    r.expect()
    done(r, 45512, PEER_ISN + 4)


@scenario
def est_ip_len_short_of_frame(r):
    # The IP total length ends the TCP text 4 bytes before the frame does
    # (the checksum covers what the IP length says): 2 bytes taken.
    s = est(r, 45513)
    seg = tcpseg(PEER_IP, r.subj_ip, 45513, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"ab")
    r.send_ip(r.ip(6, seg + b"cdef", tot_len=20 + len(seg)))
    r.expect()
    done(r, 45513, PEER_ISN + 3)


@scenario
def est_odd_len_padded(r):
    # One byte of text, the frame padded to 60 bytes with 0xff: the
    # checksum covers the odd length, not the padding.
    s = est(r, 45514)
    pkt = r.ip(6, tcpseg(PEER_IP, r.subj_ip, 45514, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"z"))
    r.send(eth(r.subj_mac, PEER_MAC, ETH_P_IP, pkt) + b"\xff" * 5)
    r.expect()
    done(r, 45514, PEER_ISN + 2)


@scenario
def est_odd_len_bad_csum(r):
    # Three bytes of text, the checksum computed as if the odd byte were
    # the high half of a word with 0x01 beside it (not zero): dropped.
    s = est(r, 45515)
    seg = bytearray(tcpseg(PEER_IP, r.subj_ip, 45515, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"xyz"))
    seg[16:18] = b"\0\0"
    c = csum(pseudo(PEER_IP, r.subj_ip, 6, len(seg)) + bytes(seg) + b"\x01")
    seg[16:18] = struct.pack("!H", c)
    r.send_ip(r.ip(6, bytes(seg)))
    r.quiet()
    done(r, 45515, PEER_ISN + 1)


@scenario
def ip_tcp_empty(r):
    # An IP datagram of protocol TCP with nothing after its header.
    r.send_ip(r.ip(6, b""))
    r.quiet()


@scenario
def bulk_mss_one_ts(r):
    # MSS 1 with timestamps: TCP_MIN_SND_MSS less the option's 12 bytes.
    bulk_conn(r, 45517, mss=1, ts=True)
    r.expect(n=11)
    bulk_end(r, 45517)


@scenario
def ack_listener_ttl(r):
    # The reset a listener with IP_TTL 33 draws.
    r.tcp(45518, TCP_KEEPALIVE, PEER_ISN, 123456, ACK)
    r.expect()


@scenario
def est_ttl_challenge_and_rst(r):
    # A connection of that listener: a SYN draws the challenge ACK (the
    # socket's: TTL 33); after the exact reset, text draws the reset of a
    # closed port (TTL 64).
    s = r.connect(45520, TCP_KEEPALIVE, opts=o_mss())
    r.tcp(45520, TCP_KEEPALIVE, PEER_ISN + 5, 0, SYN, opts=o_mss())
    r.expect()
    r.reset(45520, PEER_ISN + 1, TCP_KEEPALIVE)
    r.quiet(0.05)
    r.tcp(45520, TCP_KEEPALIVE, PEER_ISN + 1, (s or 0), ACK | PSH, data=b"late")
    r.expect()


@scenario
def est_doff_bad(r):
    # A data offset of 60 bytes in a 24-byte segment, then one of 16
    # (below the header's 20): both dropped.
    s = est(r, 45516)
    r.tcp(45516, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"abcd", doff=15)
    r.tcp(45516, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"abcd", doff=4)
    r.quiet()
    done(r, 45516, PEER_ISN + 1)


@scenario
def closer_ttl_data_after_close(r):
    # Text for it after its close, its FIN not yet acknowledged: the reset
    # (TCPABORTONDATA) answers the segment (tcp_v4_send_reset: the
    # default TTL).
    port = TCP_LINGER2_CLOSER
    r.tcp(45523, port, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((port, 45523), 0) + 1
    r.tcp(45523, port, PEER_ISN + 1, s, ACK)
    r.expect()
    r.tcp(45523, port, PEER_ISN + 1, s, ACK | PSH, data=b"late")
    r.expect()


@scenario
def nodf_closer_fin_exchange(r):
    # A listener with IP_PMTUDISC_DONT that closes at once: its SYN-ACK
    # with DF (ip_build_and_send_pkt: any packet of at most IPV4_MIN_MTU
    # bytes); its FIN and its ACK of ours without (the socket's); TIME_WAIT's
    # ACK to our FIN again with DF (the control socket's IP_PMTUDISC_DO).
    port = TCP_NODF_CLOSER
    r.tcp(45530, port, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((port, 45530), 0) + 1
    r.tcp(45530, port, PEER_ISN + 1, s, ACK)
    r.expect()
    r.tcp(45530, port, PEER_ISN + 1, s + 1, ACK | FIN)
    r.expect()
    r.tcp(45530, port, PEER_ISN + 1, s + 1, ACK | FIN)
    r.expect()
    r.reset(45530, PEER_ISN + 2, port)
    r.quiet(0.05)


@scenario
def nodf_synrecv_oow(r):
    # A request of that listener: the ACK that data out of its window draws
    # has DF (tcp_v4_reqsk_send_ack: the control socket).
    port = TCP_NODF_CLOSER
    r.tcp(45531, port, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((port, 45531), 0)
    r.tcp(45531, port, PEER_ISN + 10000000, isn + 1, ACK | PSH, data=b"far")
    r.expect()
    r.reset(45531, PEER_ISN + 1, port)
    r.quiet(0.05)


@scenario
def closer_ttl_finwait2_fin_exact(r):
    # The TTL listener that closes at once, its FIN acknowledged: an
    # orphan in FIN_WAIT_2 (Linux: the timewait substate, tw_rcv_wnd its
    # window then). Our FIN at RCV.NXT: TIME_WAIT's ACK, and again, from
    # the control socket (TTL 64), the window as it was (64240: the FIN
    # does not shrink it).
    port = TCP_LINGER2_CLOSER
    r.tcp(45533, port, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((port, 45533), 0) + 1
    r.tcp(45533, port, PEER_ISN + 1, s, ACK)
    r.expect()
    r.tcp(45533, port, PEER_ISN + 1, s + 1, ACK)
    r.quiet(0.05)
    r.tcp(45533, port, PEER_ISN + 1, s + 1, ACK | FIN)
    r.expect()
    r.tcp(45533, port, PEER_ISN + 1, s + 1, ACK | FIN)
    r.expect()
    r.reset(45533, PEER_ISN + 2, port)
    r.quiet(0.05)


@scenario
def nodf_finwait2_fin(r):
    # The same with the listener with IP_PMTUDISC_DONT: its FIN without
    # DF, the substate's ACK to our FIN and TIME_WAIT's to text with.
    port = TCP_NODF_CLOSER
    r.tcp(45534, port, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    s = r.isn.get((port, 45534), 0) + 1
    r.tcp(45534, port, PEER_ISN + 1, s, ACK)
    r.expect()
    r.tcp(45534, port, PEER_ISN + 1, s + 1, ACK)
    r.quiet(0.05)
    r.tcp(45534, port, PEER_ISN + 1, s + 1, ACK | FIN)
    r.expect()
    r.tcp(45534, port, PEER_ISN + 1, s + 1, ACK | PSH, data=b"zz")
    r.expect()


@scenario
def est_ts_truncated(r):
    # Timestamps on; a FIN whose timestamp option runs past the header
    # (kind 8, length 10, 6 bytes left): not parsed (tcp_parse_options:
    # "don't parse partial options"), so no TSval: taken all the same, the
    # ACK echoing the last TSval seen. A FIN, so that no unread text moves
    # the window (est_ts).
    est(r, 45540, ts=7000)
    s = r.isn.get((EST, 45540), 0) + 1
    r.tcp(45540, EST, PEER_ISN + 1, s, ACK | FIN, win=502, opts=b"\1\1\x08\x0a" + struct.pack("!I", 7005))
    r.expect()
    done(r, 45540, PEER_ISN + 2)


@scenario
def bulk_sack_fast_retransmit_rearms_rto(r):
    # As bulk_newreno_fast_retransmit_rearms_rto with SACK: eight
    # segments, the tail loss probe's copy of the last, then 0.15 s after
    # the first flight one ACK that SACKs three segments past the first:
    # RACK deems it lost at once (no reordering seen, three SACKed: no
    # reordering window) and it goes again; resending the first
    # unacknowledged segment restarts the retransmission timer (Linux's
    # tcp_xmit_retransmit_queue, RACK's reordering timer not pending):
    # the timeout's resend comes an RTO after the fast retransmission,
    # not an RTO after the probe; TCP_INFO then (Loss: the first and
    # what was not SACKed lost, the first resent).
    s = bulk_conn(r, 45426, mss=536)
    r.expect(n=8)
    r.quiet(0.15)
    bulk_ack(r, 45426, s, sack=[(s + 536, s + 2144)])
    r.expect()
    r.expect(timeout=0.1)
    mark("0.1 s")
    r.expect(timeout=0.5)
    tinfo(r, 45426)
    bulk_ack(r, 45426, s + BULK)
    bulk_end(r, 45426)


# An eleventh sweep: the send window's updates (SND.WL1/WL2, Linux's
# tcp_may_update_window).


@scenario
def bulk_window_dupack_shrink(r):
    # No window scaling: a window of 2920, two segments; the ACK of the
    # first keeps it: the third (1080 bytes, the last). A duplicate ACK
    # (the same SEQ and ACK) then offers 100: RFC 9293 §3.10.7.4 takes it
    # (SND.WL1 = SEG.SEQ, SND.WL2 =< SEG.ACK), Linux does not: from a
    # segment at SND.WL1 that acknowledges nothing new it takes a window
    # only when it grows or is zero (tcp_may_update_window): the timeout
    # resends the second segment whole, not cut to 100 bytes
    # (__tcp_retransmit_skb).
    s = bulk_conn(r, 46200, sack=False, ws=False, win=2920)
    r.expect(n=2)
    bulk_ack(r, 46200, s + 1460, win=2920)
    r.expect()
    bulk_ack(r, 46200, s + 1460, win=100)
    rto_resend(r)
    bulk_ack(r, 46200, s + BULK, win=8000)
    bulk_end(r, 46200)


@scenario
def bulk_window_dupack_zero(r):
    # A duplicate ACK that closes the window: taken by both rules (Linux
    # since 6.5: "|| !nwin"): the timeout's resend of the second segment
    # is the probe; then the window opens.
    s = bulk_conn(r, 46203, sack=False, ws=False, win=2920)
    r.expect(n=2)
    bulk_ack(r, 46203, s + 1460, win=2920)
    r.expect()
    bulk_ack(r, 46203, s + 1460, win=0)
    rto_resend(r)
    bulk_ack(r, 46203, s + BULK, win=8000)
    bulk_end(r, 46203)


@scenario
def bulk_window_old_ack_new_seq(r):
    # The same old ACK with a later SEQ (after data of ours): SEG.SEQ past
    # SND.WL1, which RFC 9293's rule would take as an update, but an ACK
    # below SND.UNA is not looked at for one (Linux's tcp_ack leaves at
    # old_ack): nothing sent.
    s = bulk_conn(r, 46205, sack=False, ws=False, win=1460)
    r.expect()
    bulk_ack(r, 46205, s + 1460, win=1460)
    r.expect()
    r.tcp(46205, TCP_BULK, PEER_ISN + 1, s + 1460, ACK | PSH, win=1460, data=b"abc")
    r.expect()
    r.tcp(46205, TCP_BULK, PEER_ISN + 4, s, ACK, win=8000)
    r.quiet()
    r.tcp(46205, TCP_BULK, PEER_ISN + 4, s + 2920, ACK, win=8000)
    r.expect()
    r.tcp(46205, TCP_BULK, PEER_ISN + 4, s + BULK, ACK, win=8000)
    r.quiet(0.05)
    r.reset(46205, PEER_ISN + 4, TCP_BULK)
    r.quiet(0.05)


@scenario
def bulk_window_data_shrink(r):
    # Data at SND.WL1 (the SEQ of the last ACK) with that ACK again and a
    # window of 100: Linux compares SEG.SEQ, not its end, so this too is
    # not an update; the timeout resends the second segment whole.
    s = bulk_conn(r, 46204, sack=False, ws=False, win=2920)
    r.expect(n=2)
    bulk_ack(r, 46204, s + 1460, win=2920)
    r.expect()
    r.tcp(46204, TCP_BULK, PEER_ISN + 1, s + 1460, ACK | PSH, win=100, data=b"datum")
    r.expect()
    rto_resend(r)
    r.tcp(46204, TCP_BULK, PEER_ISN + 6, s + BULK, ACK, win=8000)
    r.quiet(0.05)
    r.reset(46204, PEER_ISN + 6, TCP_BULK)
    r.quiet(0.05)


def window_cut_resend(r, port):
    # Data past SND.WL1 with the same ACK and a window of 100: an update
    # by both rules, the window short of SND.NXT now: the timeout's resend
    # is cut to it (__tcp_retransmit_skb: avail_wnd). Returns the ISN + 1.
    s = bulk_conn(r, port, sack=False, ws=False, win=2920)
    r.expect(n=2)
    bulk_ack(r, port, s + 1460, win=2920)
    r.expect()
    r.tcp(port, TCP_BULK, PEER_ISN + 1, s + 1460, ACK | PSH, win=2920, data=b"abc")
    r.expect()
    r.tcp(port, TCP_BULK, PEER_ISN + 4, s + 1460, ACK | PSH, win=100, data=b"de")
    r.expect()
    rto_resend(r)
    return s


@scenario
def bulk_window_data_shrink_later_seq(r):
    s = window_cut_resend(r, 46206)
    r.tcp(46206, TCP_BULK, PEER_ISN + 6, s + BULK, ACK, win=8000)
    r.quiet(0.05)
    r.reset(46206, PEER_ISN + 6, TCP_BULK)
    r.quiet(0.05)


@scenario
def bulk_rto_small_resend_acked(r):
    # As bulk_window_data_shrink_later_seq, the timeout's resend cut to
    # 100 bytes by the window; its ACK, the window open again, delivers
    # one segment: cwnd grows from 1 to 2, as Linux counts packets
    # (tcp_slow_start on the packets newly delivered, not the bytes), and
    # the rest of the flight goes at once, 1360 and 1080 bytes.
    s = window_cut_resend(r, 46207)
    r.tcp(46207, TCP_BULK, PEER_ISN + 6, s + 1560, ACK, win=8000)
    r.expect(n=2)
    r.tcp(46207, TCP_BULK, PEER_ISN + 6, s + BULK, ACK, win=8000)
    r.quiet(0.05)
    r.reset(46207, PEER_ISN + 6, TCP_BULK)
    r.quiet(0.05)


# ICMP errors about what an unconnected UDP socket sent (Linux's
# __udp4_lib_err): without IP_RECVERR nothing is reported; with it the
# error is queued (MSG_ERRQUEUE) and the next receive fails with it.


def unconn_probe(r, sport, recverr, port):
    """The unconnected socket's "probe" to the peer's port, printed;
    returns that datagram (b"" if none came)."""
    r.got_ip = []
    control(r, sport, "usend %d %d" % (recverr, port))
    r.expect()
    return r.got_ip[-1] if r.got_ip else b""


@scenario
def udp_unconn_errors(r):
    # Without IP_RECVERR, a port and a host unreachable about the
    # socket's datagram: nothing reported (only a connected socket hears
    # of hard errors).
    p = unconn_probe(r, 46230, 0, 46231)
    icmp_about(r, p, 3, 3, qlen=33)
    icmp_about(r, p, 3, 1, qlen=33)
    r.quiet()
    control(r, 46230, "uerr 0")
    r.expect()


@scenario
def udp_unconn_errors_recverr(r):
    # With IP_RECVERR, about the socket's datagram (the quote takes all of
    # it: its 5 bytes come back with each error): port and host
    # unreachable, fragmentation needed (the MTU, 1200, in ee_info: a
    # peer address of its own, pmtu_peer), time exceeded, a parameter
    # problem (its pointer, 1, in ee_info), source quench (not queued).
    # Read one at a time: the receive fails with the pending error, which
    # each read of the queue sets to the next one's (sock_dequeue_err_skb).
    pmtu_peer(17)
    p = unconn_probe(r, 46232, 1, 46233)
    z = b"\0\0\0\0"
    for typ, code, rest in ((3, 3, z), (3, 1, z), (3, 4, struct.pack("!HH", 0, 1200)), (11, 0, z),
                            (12, 0, b"\x01\0\0\0"), (4, 0, z)):
        icmp_about(r, p, typ, code, rest, qlen=33)
    r.quiet()
    for _ in range(5):
        control(r, 46232, "uerr 1")
        r.expect()


@scenario
def bulk_dupacks_shrinking_window(r):
    # No SACK, MSS 536: eight segments; three duplicate ACKs, each with
    # a window a unit smaller. RFC 5681 §2 counts an ACK as a duplicate
    # only when its window is unchanged; Linux counts every ACK that
    # neither acknowledges new data, carries data, nor updates the window
    # (tcp_ack: FLAG_NOT_DUP), and a smaller window at SND.WL1 is no
    # update (tcp_may_update_window): the third resends the first.
    s = bulk_conn(r, 46250, sack=False, mss=536)
    r.expect(n=8)
    for w in (501, 500, 499):
        bulk_ack(r, 46250, s, win=w)
    r.expect(timeout=0.1)
    bulk_ack(r, 46250, s + BULK)
    bulk_end(r, 46250)


@scenario
def bulk_dupacks_after_data(r):
    # No SACK, MSS 536: eight segments; data from the peer (acknowledged),
    # then ACKs of SND.UNA after it: the first one's SEQ is past SND.WL1,
    # a window update for Linux (FLAG_WIN_UPDATE), not a duplicate; the
    # next three are: the fourth resends the first.
    s = bulk_conn(r, 46251, sack=False, mss=536)
    r.expect(n=8)
    r.tcp(46251, TCP_BULK, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"abc")
    r.expect()
    for _ in range(3):
        r.tcp(46251, TCP_BULK, PEER_ISN + 4, s, ACK, win=502)
    r.expect(timeout=0.1)
    mark("0.1 s")
    r.tcp(46251, TCP_BULK, PEER_ISN + 4, s, ACK, win=502)
    r.expect(timeout=0.1)
    r.tcp(46251, TCP_BULK, PEER_ISN + 4, s + BULK, ACK, win=502)
    r.quiet(0.05)
    r.reset(46251, PEER_ISN + 4, TCP_BULK)
    r.quiet(0.05)


@scenario
def active_dupacks_first_is_window_update(r):
    # The subject's own connection (no SACK, MSS 536) sends 4000 bytes:
    # eight segments. Its SYN-SENT took SND.WL1 from the SYN-ACK (the
    # peer's ISN), so the first ACK from the peer after it, at ISN + 1,
    # is a window update for Linux (tcp_may_update_window: SEG.SEQ past
    # SND.WL1), not a duplicate: three ACKs of SND.UNA are two duplicates,
    # the fourth brings the fast retransmit.
    i = active(r, 46270, 7150, 46271)
    if i is None:
        return
    r.tcp(46271, 7150, PEER_ISN, i + 1, SYN | ACK, opts=o_mss(536) + b"\1" + o_ws(7))
    r.expect()
    control(r, 46270, "tsend 4000")
    r.expect(n=8)
    for _ in range(3):
        r.tcp(46271, 7150, PEER_ISN + 1, i + 1, ACK, win=502)
    r.expect(timeout=0.1)
    mark("0.1 s")
    r.tcp(46271, 7150, PEER_ISN + 1, i + 1, ACK, win=502)
    r.expect(timeout=0.1)
    r.tcp(46271, 7150, PEER_ISN + 1, i + 4001, ACK, win=502)
    r.quiet(0.05)
    r.tcp(46271, 7150, PEER_ISN + 1, 0, RST)
    r.quiet(0.05)


@scenario
def active_nodelay_small_writes_cwnd(r):
    # The subject's own connection (MSS 1000, SACK) writes 100 bytes 20
    # times, Nagle off: the congestion window (10) counts packets in
    # flight (Linux's tcp_cwnd_test on tcp_packets_in_flight), not bytes:
    # ten segments go, the other ten writes wait for an ACK. The ACK of
    # the ten (a flight that filled cwnd: tcp_cwnd_validate's
    # is_cwnd_limited, slow start to 20) lets their 1000 bytes go as one
    # segment. A handshake of 0.2 s, so that no loss probe (2 RTTs,
    # Linux's tcp_schedule_loss_probe; new data, cwnd or not) comes
    # within the scenario.
    i = active(r, 46272, 7151, 46273)
    if i is None:
        return
    r.quiet(0.2)
    r.tcp(46273, 7151, PEER_ISN, i + 1, SYN | ACK, opts=o_mss(1000) + O_SACKOK + b"\1" + o_ws(7))
    r.expect()
    control(r, 46272, "tsmall 20 100")
    r.expect(n=10)
    r.quiet(0.1)
    r.tcp(46273, 7151, PEER_ISN + 1, i + 1001, ACK, win=502)
    r.expect()
    r.tcp(46273, 7151, PEER_ISN + 1, i + 2001, ACK, win=502)
    r.quiet(0.05)
    r.tcp(46273, 7151, PEER_ISN + 1, 0, RST)
    r.quiet(0.05)


# IP options on a connection's segments and on UDP (ip_options_compile,
# ip_options_echo).


@scenario
def est_data_opt_bad_len(r):
    # Data whose record route runs past the header: the parameter problem
    # pointing at its length, the data not taken: sent again without the
    # option, it is acknowledged from RCV.NXT as before.
    s = est(r, 46260)
    seg = tcpseg(PEER_IP, r.subj_ip, 46260, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"bad")
    r.send_ip(r.ip(6, seg, opts=b"\x07\x09\x04\x00"))
    r.expect()
    r.tcp(46260, EST, PEER_ISN + 1, s, ACK | PSH, win=502, data=b"bad")
    r.expect()
    done(r, 46260, PEER_ISN + 4)


@scenario
def udp_open_opt_bad_ptr(r):
    # Record route whose pointer is below 4: a parameter problem at the
    # pointer, no echo.
    r.udp(46264, UDP_OPEN, b"bad ptr", ipkw={"opts": b"\x07\x07\x03" + b"\0" * 4 + b"\0"})
    r.expect()


@scenario
def udp_closed_opt_ts_prespec_other(r):
    # The port unreachable echoes a timestamp option whose prespecified
    # addresses are not the subject's (left as they are).
    r.udp(46265, CLOSED, b"ts", ipkw={"opts": b"\x44\x0c\x05\x03\xc6\x33\x64\x01\0\0\0\0"})
    r.expect()


# SYN with FIN or RST in each state (tcp_check_req for a half-open
# connection, tcp_validate_incoming, tcp_timewait_state_process).


@scenario
def synrecv_synfin(r):
    # SYN and FIN at RCV.NXT of a half-open connection: a SYN in the
    # window ends the request with a reset (tcp_check_req's
    # embryonic_reset, ACK of both flags); the ACK then meets the
    # listener: a reset.
    r.tcp(46210, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    isn = r.isn.get((TCP_NOACCEPT, 46210), 0)
    r.tcp(46210, TCP_NOACCEPT, PEER_ISN + 1, 0, SYN | FIN)
    r.expect()
    r.tcp(46210, TCP_NOACCEPT, PEER_ISN + 1, isn + 1, ACK)
    r.expect()


@scenario
def synrecv_synfin_isn(r):
    # SYN and FIN at the peer's ISN: tcp_check_req looks at RST, SYN and
    # ACK only, so a retransmitted SYN: the SYN-ACK again.
    r.tcp(46212, TCP_NOACCEPT, PEER_ISN, 0, SYN, opts=o_mss())
    r.expect()
    r.tcp(46212, TCP_NOACCEPT, PEER_ISN, 0, SYN | FIN, opts=o_mss())
    r.expect()
    r.reset(46212, PEER_ISN + 1, TCP_NOACCEPT)
    r.quiet(0.05)


@scenario
def finwait2_synfin(r):
    # An orphan in FIN-WAIT-2 (the timewait substate): SYN and FIN at
    # RCV.NXT draw a reset and end it (tcp_timewait_state_process: a SYN
    # at or past RCV.NXT); the FIN then draws a reset too.
    s = closed_by_subject(r, 46216)
    r.tcp(46216, TCP_CLOSER, PEER_ISN + 1, s + 1, ACK, win=502)
    r.quiet()
    r.tcp(46216, TCP_CLOSER, PEER_ISN + 1, s + 1, SYN | FIN | ACK, win=502)
    r.expect()
    r.tcp(46216, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


@scenario
def closewait_synfin(r):
    # SYN, FIN and ACK at RCV.NXT in CLOSE-WAIT: the challenge ACK.
    s = close_wait(r, 46218)
    r.tcp(46218, EST, PEER_ISN + 2, s, SYN | FIN | ACK, win=502)
    r.expect()
    done(r, 46218, PEER_ISN + 2)


@scenario
def tw_synfin_new(r):
    # TIME-WAIT and a SYN with FIN past RCV.NXT: Linux's
    # tcp_timewait_state_process takes SYN without ACK or RST as a new
    # connection (TCP_TW_SYN: the TIME-WAIT goes), and the listener then
    # drops a SYN with FIN (tcp_rcv_state_process); the old connection's
    # ACK then meets the listener: a reset.
    s = time_wait(r, 46222)
    r.tcp(46222, TCP_CLOSER, PEER_ISN + 100000, 0, SYN | FIN, opts=o_mss())
    r.quiet()
    r.tcp(46222, TCP_CLOSER, PEER_ISN + 2, s + 1, ACK, win=502)
    r.expect()


@scenario
def tw_synrst(r):
    # SYN and RST at RCV.NXT in TIME-WAIT: the reset ends it (rfc1337=0);
    # then a FIN meets the listener.
    s = time_wait(r, 46224)
    r.tcp(46224, TCP_CLOSER, PEER_ISN + 2, 0, SYN | RST)
    r.quiet()
    r.tcp(46224, TCP_CLOSER, PEER_ISN + 1, s + 1, FIN | ACK, win=502)
    r.expect()


def main(argv):
    if len(argv) >= 2 and argv[1] == "serve":
        serve()
        return 0
    if len(argv) >= 2 and argv[1] == "list":
        for f in SCENARIOS:
            print(f.__name__)
        return 0
    if len(argv) < 5 or argv[1] != "run":
        print(__doc__, file=sys.stderr)
        return 2
    r = Run(argv[2], argv[3], argv[4])
    names = argv[5:] or [f.__name__ for f in SCENARIOS]
    table = {f.__name__: f for f in SCENARIOS}
    for n in names:
        if n not in table:
            print("no scenario %s" % n, file=sys.stderr)
            return 2
    global PEER_IP
    for i, n in enumerate(names):
        print("== " + n, flush=True)
        PEER_IP = PEER_POOL[i % len(PEER_POOL)]
        table[n](r)
        r.quiet(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
