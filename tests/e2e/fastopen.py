#!/usr/bin/env python3
"""TCP fast open (RFC 7413) with the kernel as client, for 26-linux-wire.bats.

  fastopen.py server PORT N [KEY]
                                 a listener with TCP_FASTOPEN (queue 5): N
                                 connections, each one's first read echoed;
                                 KEY (as tcp_fastopen_key writes one): its own
                                 key, by TCP_FASTOPEN_KEY
  fastopen.py client HOST PORT N [connect]
                                 N connections, each sending "hello<i>" with
                                 MSG_FASTOPEN (the kernel asks for a cookie on
                                 the first, sends data in the SYN after); with
                                 connect: TCP_FASTOPEN_CONNECT, connect() and
                                 send() instead
  fastopen.py cookie KEY SRC DST the cookie Linux gives SRC for DST with
                                 tcp_fastopen_key KEY (SipHash-2-4), in hex
  fastopen.py syns PCAP SUBJECT  for each SYN to SUBJECT: its payload length
                                 and what the SYN-ACK acknowledged of it
  fastopen.py csyns PCAP SUBJECT for each SYN from SUBJECT: its payload length,
                                 its fast open option (none, req: a cookie
                                 request, cookieN: an N-byte cookie) and what
                                 the SYN-ACK acknowledged of it
"""
import socket
import struct
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "linux_wire", os.path.join(os.path.dirname(os.path.abspath(__file__)), "linux-wire.py"))
lw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lw)

TCP_FASTOPEN = 23
TCP_FASTOPEN_KEY = 33
TCP_FASTOPEN_CONNECT = 30
MSG_FASTOPEN = 0x20000000
M = (1 << 64) - 1


def server(port, n, key=None):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if key:
        # The sysctl's words, each little-endian in memory, as Linux keeps them.
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_KEY,
                     struct.pack("<4I", *[int(x, 16) for x in key.split("-")]))
    s.bind(("0.0.0.0", int(port)))
    s.listen(8)
    s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 5)
    print("listening", flush=True)
    for _ in range(int(n)):
        c, _a = s.accept()
        d = c.recv(100)
        print("got", d.decode(), flush=True)
        c.sendall(d)
        c.close()


def client(host, port, n, how="sendto"):
    for i in range(int(n)):
        s = socket.socket()
        msg = b"hello%d" % i
        if how == "connect":
            s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
            s.connect((host, int(port)))
            s.send(msg)
        else:
            s.sendto(msg, MSG_FASTOPEN, (host, int(port)))
        got = b""
        while len(got) < len(msg):
            d = s.recv(100)
            if not d:
                break
            got += d
        if got != msg:
            sys.exit("echo %r for %r" % (got, msg))
        s.close()


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M


def siphash24(k0, k1, data):
    v = [k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d, k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573]

    def rounds(r):
        for _ in range(r):
            v[0] = (v[0] + v[1]) & M
            v[1] = rotl(v[1], 13) ^ v[0]
            v[0] = rotl(v[0], 32)
            v[2] = (v[2] + v[3]) & M
            v[3] = rotl(v[3], 16) ^ v[2]
            v[0] = (v[0] + v[3]) & M
            v[3] = rotl(v[3], 21) ^ v[0]
            v[2] = (v[2] + v[1]) & M
            v[1] = rotl(v[1], 17) ^ v[2]
            v[2] = rotl(v[2], 32)

    tail = len(data) % 8
    for i in range(0, len(data) - tail, 8):
        m = struct.unpack("<Q", data[i:i + 8])[0]
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    b = (len(data) & 0xff) << 56
    for i, c in enumerate(data[len(data) - tail:]):
        b |= c << (8 * i)
    v[3] ^= b
    rounds(2)
    v[0] ^= b
    v[2] ^= 0xff
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def cookie(key, src, dst):
    w = [int(x, 16) for x in key.split("-")]
    h = siphash24(w[0] | w[1] << 32, w[2] | w[3] << 32, socket.inet_aton(src) + socket.inet_aton(dst))
    print(struct.pack("<Q", h).hex())


def syns(path, subject):
    segs = lw.read_pcap(path)
    for g in segs:
        if g.dst == subject and g.flagbits & 0x12 == 0x02:
            acked = None
            for r in segs:
                if r.src == subject and r.flagbits & 0x12 == 0x12 and r.dport == g.sport:
                    acked = (r.ack - g.seq - 1) & 0xFFFFFFFF
                    break
            print("syn_len=%d synack_acks=%s" % (g.len, acked))


def csyns(path, subject):
    segs = lw.read_pcap(path)
    for g in segs:
        if g.src == subject and g.flagbits & 0x12 == 0x02:
            acked = None
            for r in segs:
                if r.dst == subject and r.flagbits & 0x12 == 0x12 and r.dport == g.sport:
                    acked = (r.ack - g.seq - 1) & 0xFFFFFFFF
                    break
            fo = "none" if g.fo is None else "req" if g.fo == 0 else "cookie%d" % g.fo
            print("syn_len=%d fo=%s synack_acks=%s" % (g.len, fo, acked))


def main():
    cmd = sys.argv[1]
    if cmd == "server":
        server(*sys.argv[2:5])
    elif cmd == "client":
        client(*sys.argv[2:6])
    elif cmd == "cookie":
        cookie(*sys.argv[2:5])
    elif cmd == "syns":
        syns(*sys.argv[2:4])
    elif cmd == "csyns":
        csyns(*sys.argv[2:4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
