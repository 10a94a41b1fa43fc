#!/usr/bin/python3
"""slow_reader: an HTTP/1.0 client that stops reading in the middle.

    slow_reader.py HOST PORT PATH FIRST_BYTES STALL_SECONDS OUT [TIMEOUT]

Sends "GET PATH HTTP/1.0", reads FIRST_BYTES of the response, then reads
nothing for STALL_SECONDS (its receive window fills and closes: the server
sees a zero window and has to probe it), then reads the rest until the server
closes and writes the body (after the headers) to OUT. Every blocking call is
bounded by TIMEOUT seconds (default 120). Prints one line per phase, e.g.
"slow_reader: stalled with 1048576 bytes read", "slow_reader: done, N body bytes".
Exit 0 when the response was 200 and complete, 1 otherwise.
Kernel-side (never preloaded); a small receive buffer makes the window close fast.
"""
import socket
import sys
import time


def main():
    if len(sys.argv) not in (7, 8):
        print(__doc__, file=sys.stderr)
        return 2
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    first, stall, out = int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
    timeout = float(sys.argv[7]) if len(sys.argv) == 8 else 120.0
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(timeout)
    s.connect((host, port))
    s.sendall(b"GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path.encode(), host.encode()))
    data = bytearray()
    while len(data) < first:
        chunk = s.recv(min(65536, first - len(data)))
        if not chunk:
            break
        data += chunk
    print("slow_reader: stalled with %d bytes read" % len(data), flush=True)
    time.sleep(stall)
    print("slow_reader: reading again", flush=True)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, sep, body = bytes(data).partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.1 200"):
        print("slow_reader: bad response: %r" % head[:100], file=sys.stderr)
        return 1
    length = None
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    with open(out, "wb") as f:
        f.write(body)
    print("slow_reader: done, %d body bytes" % len(body), flush=True)
    if length is not None and length != len(body):
        print("slow_reader: Content-Length %d, got %d" % (length, len(body)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print("slow_reader: %s" % e, file=sys.stderr)
        sys.exit(1)
