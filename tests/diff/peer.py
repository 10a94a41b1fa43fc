#!/usr/bin/python3
"""The kernel-side peer of tests/diff/sockdiff.c (the differential harness).

Runs on the kernel's stack at 192.0.2.1, in the namespace the runner (tests/diff/run.sh)
gives it, and behaves the same whichever side the program is on (the kernel over a veth
pair, or pstack over the TAP). Every behaviour has its own port:

  TCP 7000  control: one line per command, answered "ok" once done
              "connect PORT MODE"  connect to 192.0.2.2:PORT, then MODE: hold (read until
                                   EOF), hello (send "hello world\\n", then hold), ttlhello
                                   (the same with IP TTL 33, the handshake's ACK having
                                   gone with 64), fin (close at once), rst (close with
                                   SO_LINGER 0)
              "udp PORT TEXT"      send the datagram TEXT to 192.0.2.2:PORT from port 7007
              "seen PORT"          7015's report of the connection from PORT (below),
                                   answered "ok eof N", "ok reset N" or "ok none"
              "send PORT TEXT"     send TEXT on 7015's connection from PORT, answered
                                   once the program's side acked it (TIOCOUTQ 0, within
                                   2 s; "fail" if not)
              "mcast GROUP PORT TEXT"  send the datagram TEXT to the multicast GROUP:PORT
                                   on the link (TTL 1), from port 7007
  TCP 7001  echo until EOF, then close
  TCP 7002  sink: read and discard until EOF, never write (a silent but live peer)
  TCP 7003  close at once (FIN); a later segment from the program gets a RST
  TCP 7004  reset (SO_LINGER 0) once the first byte from the program is in
  TCP 7005  stall: never read, hold the connection (the window fills)
  TCP 7006  send "ab", then "c" as urgent data (MSG_OOB), then sink
  UDP 7007  echo every datagram to its sender
  UDP 7008  bound, never answers
  TCP 7009, UDP 7019: closed (nothing listens: RST, ICMP port unreachable)
  TCP 7010  dropped by an iptables rule the runner adds (the SYN is never answered)
  TCP 7011  send "hello world\\n", then sink
  TCP 7012  urgent data report: reads the program's bytes until EOF, the urgent byte
            apart (recv MSG_OOB), then answers "data=BYTES oob=BYTES" and closes
  TCP 7013  TTL report: answers "ttl=N", the IP TTL of the program's SYN (an accepted
            socket's IP_MULTICAST_TTL is its SYN's TTL), and closes
  UDP 7014  TTL report: answers each datagram with "ttl=N tos=M", its IP TTL and TOS
  TCP 7015  close report: reads the program's bytes until EOF or an error, never writes;
            the control command "seen PORT" answers "ok eof N" or "ok reset N" (N the
            bytes read) for the connection from the program's port PORT, once it ended
            (within 2 s; "ok none" if it did not)

Prints "ready" once every port is open; runs until killed.
"""
import fcntl
import select
import socket
import struct
import sys
import termios
import threading
import time

HOST = "192.0.2.1"
PROG = "192.0.2.2"
HELLO = b"hello world\n"
held = []   # stalled connections stay referenced (and open) until the peer exits
seen = {}   # 7015's ended connections: the program's port -> "eof N" / "reset N"
seen_cv = threading.Condition()
reporting = {}  # 7015's open connections: the program's port -> the socket (under seen_cv)


def sink(c):
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()


def echo(c):
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    c.close()


def fin(c):
    c.close()


def rst(c):
    """Close with SO_LINGER 0: a RST at once."""
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def rst_on_data(c):
    """Reset once the program's first byte is in (never during its handshake)."""
    try:
        c.recv(1)
    except OSError:
        pass
    rst(c)


def stall(c):
    held.append(c)


def oob(c):
    c.sendall(b"ab")
    c.send(b"c", socket.MSG_OOB)
    sink(c)


def urgent_report(c):
    data, oob = [], []
    try:
        while True:
            r, _, x = select.select([c], [], [c], 5)
            if x:
                try:
                    oob.append(c.recv(1, socket.MSG_OOB))
                except OSError:
                    pass    # EAGAIN before the byte, EINVAL once read
                continue
            if not r:
                break
            b = c.recv(65536)
            if not b:
                break
            data.append(b)
        c.sendall(b"data=%s oob=%s" % (b"".join(data), b"".join(oob)))
    except OSError:
        pass
    c.close()


def close_report(c, port):
    """Reads until EOF or an error; what it saw, for the control's "seen"
    (PORT: the program's, from accept: a connection reset in the queue has
    no peer name any more)."""
    n, how = 0, "eof"
    with seen_cv:
        reporting[port] = c
        seen_cv.notify_all()
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
    except OSError:
        how = "reset"
    with seen_cv:
        reporting.pop(port, None)
        c.close()
        seen[port] = "%s %d" % (how, n)
        seen_cv.notify_all()


def report_send(port, text):
    """Sends text on 7015's connection from port; True once it is acked."""
    with seen_cv:
        seen_cv.wait_for(lambda: port in reporting, timeout=2)
        c = reporting.get(port)
        if c is None:
            return False
        c.sendall(text)
    for _ in range(400):
        with seen_cv:
            if reporting.get(port) is not c:
                return False
            if struct.unpack("i", fcntl.ioctl(c, termios.TIOCOUTQ, b"\0" * 4))[0] == 0:
                return True
        time.sleep(0.005)
    return False


def hello(c):
    c.sendall(HELLO)
    sink(c)


def ttl_hello(c):
    c.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 33)
    hello(c)


MODES = {"hold": sink, "hello": hello, "ttlhello": ttl_hello, "fin": fin, "rst": rst}


def control(c, udp):
    f = c.makefile("rb")
    for line in f:
        w = line.decode().split(None, 2)
        try:
            if w[0] == "connect":
                s = socket.create_connection((PROG, int(w[1])), timeout=5)
                s.settimeout(None)
                mode = MODES[w[2].strip()]
                if mode is sink or mode is hello or mode is ttl_hello:
                    if mode is ttl_hello:
                        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 33)
                    if mode is not sink:
                        s.sendall(HELLO)
                    threading.Thread(target=sink, args=(s,), daemon=True).start()
                else:
                    mode(s)
            elif w[0] == "seen":
                port = int(w[1])
                with seen_cv:
                    seen_cv.wait_for(lambda: port in seen, timeout=2)
                    what = seen.pop(port, "none")
                c.sendall(("ok %s\n" % what).encode())
                continue
            elif w[0] == "send":
                if not report_send(int(w[1]), w[2].rstrip("\n").encode()):
                    raise ValueError("not acked")
            elif w[0] == "udp":
                udp.sendto(w[2].rstrip("\n").encode(), (PROG, int(w[1])))
            elif w[0] == "mcast":
                port, text = w[2].split(None, 1)
                udp.sendto(text.rstrip("\n").encode(), (w[1], int(port)))
            else:
                raise ValueError(w[0])
            c.sendall(b"ok\n")
        except (OSError, ValueError, IndexError, KeyError) as e:
            c.sendall(("fail %s\n" % e).encode())
    c.close()


def serve_tcp(port, handler, *args):
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((HOST, port))
    l.listen(128)

    def loop():
        while True:
            c, a = l.accept()
            more = (a[1],) if handler is close_report else ()
            threading.Thread(target=handler, args=(c,) + more + args, daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def ttl_report(c):
    ttl = c.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL)
    c.sendall(b"ttl=%d\n" % ttl)
    c.close()


def udp_ttl_report(u):
    u.setsockopt(socket.IPPROTO_IP, 12, 1)     # IP_RECVTTL
    u.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
    while True:
        b, anc, _, src = u.recvmsg(70000, 256)
        ttl = tos = -1
        for level, kind, data in anc:
            if level == socket.IPPROTO_IP and kind == socket.IP_TTL:
                ttl = struct.unpack("i", data[:4])[0]
            elif level == socket.IPPROTO_IP and kind == socket.IP_TOS:
                tos = data[0]
        u.sendto(b"ttl=%d tos=%d" % (ttl, tos), src)


def udp_echo(u):
    while True:
        b, src = u.recvfrom(70000)
        u.sendto(b, src)


def main():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((HOST, 7007))
    # Multicast leaves on the link's interface (there is no route for it), TTL 1.
    u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(HOST))
    u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((HOST, 7008))
    serve_tcp(7000, control, u)
    serve_tcp(7001, echo)
    serve_tcp(7002, sink)
    serve_tcp(7003, fin)
    serve_tcp(7004, rst_on_data)
    serve_tcp(7005, stall)
    serve_tcp(7006, oob)
    serve_tcp(7011, hello)
    serve_tcp(7012, urgent_report)
    serve_tcp(7013, ttl_report)
    serve_tcp(7015, close_report)
    ur = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ur.bind((HOST, 7014))
    threading.Thread(target=udp_ttl_report, args=(ur,), daemon=True).start()
    print("ready", flush=True)
    udp_echo(u)


if __name__ == "__main__":
    sys.exit(main())
