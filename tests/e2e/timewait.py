#!/usr/bin/python3
"""Helper of tests/e2e/90-timewait.bats: the kernel's side of a connection
that the program under the preload closes first, and a look at what the
stack answers once the program is gone.

    timewait.py serve IFACE PORT GO_FILE

Listens on PORT (the kernel's stack), accepts one connection, sends "hello",
reads until the client's FIN, then closes (its own FIN), while it captures
the TAP's frames (AF_PACKET on IFACE, the kernel's side). Prints "closed"
once its FIN was acknowledged. Then waits for GO_FILE to exist (the test
makes it once the program has exited); a connect() to a port where nothing
listens prints "refused" (the stack's RST) or "no-rst" (no answer within
2 s). Then it sends the captured FIN again, as
the kernel would retransmit it had the ACK been lost (checksum recomputed:
an outgoing frame is captured before the device completes it), and prints
"fin-acked" when the stack answers with an ACK of it (RFC 9293 §3.10.7.4,
Linux's tcp_timewait_state_process), else "no-answer" after 3 s. (The
kernel, whose socket is gone, answers that ACK with a reset, which ends the
TIME_WAIT as it would end Linux's: net.ipv4.tcp_rfc1337=0.)
"""
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def parse(frame):
    """(src, dst, sport, dport, seq, ack, flags, ip_off, tcp_off, tcp_len) of a TCP/IPv4 frame, or None."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 15) * 4
    tot = struct.unpack("!H", frame[16:18])[0]
    t = 14 + ihl
    sport, dport, seq, ack = struct.unpack("!HHII", frame[t:t + 12])
    return (frame[26:30], frame[30:34], sport, dport, seq, ack, frame[t + 13], 14, t, tot - ihl)


def fix_tcp_csum(frame):
    f = bytearray(frame)
    _, _, _, _, _, _, _, ip, t, tlen = parse(frame)
    f[t + 16:t + 18] = b"\0\0"
    pseudo = bytes(f[ip + 12:ip + 20]) + struct.pack("!BBH", 0, 6, tlen)
    f[t + 16:t + 18] = struct.pack("!H", csum(pseudo + bytes(f[t:t + tlen])))
    return bytes(f[:14 + struct.unpack("!H", frame[16:18])[0]])


def main():
    iface, port, go = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    here = socket.inet_aton("192.0.2.1")
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    cap.bind((iface, 0))
    cap.setblocking(False)
    frames = []

    def drain(until):
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([cap], [], [], left)
            if not r:
                return
            while True:
                try:
                    frames.append(cap.recv(70000))
                except BlockingIOError:
                    break
            return

    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("192.0.2.1", port))
    l.listen(1)
    print("listening", flush=True)
    c, peer = l.accept()
    c.sendall(b"hello")
    while c.recv(4096):
        pass
    c.close()
    # Our FIN and the stack's ACK of it.
    fin = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        drain(time.monotonic() + 0.05)
        for f in frames:
            p = parse(f)
            if p and p[0] == here and p[3] == peer[1] and p[6] & 0x01:
                fin = (f, p)
        if fin and any((lambda q: q and q[1] == here and q[2] == peer[1] and q[6] & 0x10 and
                        q[5] == fin[1][4] + 1)(parse(f)) for f in frames):
            break
    else:
        print("no-fin-ack" if fin else "no-fin", flush=True)
        return 1
    print("closed", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("192.0.2.2", 9))
        print("connected?", flush=True)
    except ConnectionRefusedError:
        print("refused", flush=True)
    except OSError:
        print("no-rst", flush=True)
    frames.clear()
    cap.send(fix_tcp_csum(fin[0]))
    answer = "no-answer"
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and answer == "no-answer":
        drain(deadline)
        for f in frames:
            q = parse(f)
            if q and q[1] == here and q[2] == peer[1] and q[3] == port and q[6] & 0x10 and \
               not q[6] & 0x04 and q[5] == fin[1][4] + 1:
                answer = "fin-acked"
    print(answer, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
