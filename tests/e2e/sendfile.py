#!/usr/bin/env python3
"""sendfile(2) from a regular file into a TCP connection, for 32-sendfile.bats.

  sendfile.py serve PORT FILE offsets START END CHUNK
      blocking: os.sendfile with an offset, CHUNK bytes a call, [START, END)
      of FILE; checks each call's count and that the file position stays 0.
  sendfile.py serve PORT FILE nonblock
      non-blocking socket: each call asks for the rest of FILE; EAGAIN waits
      in select(); counts the short counts and the EAGAINs.
  sendfile.py serve PORT FILE position
      blocking, no offset (the file position), whole calls of the rest of
      the file until sendfile says 0 (the end, wherever it is by then).
  sendfile.py fetch HOST PORT OUT [PATH AT CUT]
      (the peer) connects, reads to the end into OUT; with PATH, once AT
      bytes are in, cuts file PATH to CUT bytes (os.truncate) and reads on.

serve prints "listening" once it listens, and at the end one line:
"sent N calls C short S eagain E" (then exits 0), or an error (exit 1).
"""
import os
import select
import socket
import sys


def serve(port, path, mode, args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    print("listening", flush=True)
    conn, _ = ls.accept()
    fd = os.open(path, os.O_RDONLY)
    sent = calls = short = eagain = 0
    if mode == "offsets":
        start, end, chunk = (int(a) for a in args)
        off = start
        while off < end:
            want = min(chunk, end - off)
            n = os.sendfile(conn.fileno(), fd, off, want)
            calls += 1
            if n <= 0 or n > want:
                raise SystemExit(f"sendfile at {off} asked {want}: {n}")
            short += n < want
            off += n
            sent += n
        if os.lseek(fd, 0, os.SEEK_CUR) != 0:
            raise SystemExit("the file position moved (an offset was given)")
    elif mode == "nonblock":
        size = os.fstat(fd).st_size
        conn.setblocking(False)
        while sent < size:
            want = size - sent
            try:
                n = os.sendfile(conn.fileno(), fd, sent, want)
            except BlockingIOError:
                eagain += 1
                select.select([], [conn], [])
                continue
            calls += 1
            if n <= 0 or n > want:
                raise SystemExit(f"sendfile at {sent} asked {want}: {n}")
            short += n < want
            sent += n
        conn.setblocking(True)
    elif mode == "position":
        size = os.fstat(fd).st_size
        while True:
            n = os.sendfile(conn.fileno(), fd, None, size)
            calls += 1
            if n == 0:
                break
            short += n < size - sent
            sent += n
            if os.lseek(fd, 0, os.SEEK_CUR) != sent:
                raise SystemExit(f"file position {os.lseek(fd, 0, os.SEEK_CUR)} after {sent} bytes")
    else:
        raise SystemExit(f"unknown mode {mode}")
    conn.shutdown(socket.SHUT_WR)
    while conn.recv(65536):
        pass
    conn.close()
    print(f"sent {sent} calls {calls} short {short} eagain {eagain}", flush=True)


def fetch(host, port, out, trunc):
    s = socket.create_connection((host, port))
    got = 0
    with open(out, "wb") as f:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            f.write(b)
            got += len(b)
            if trunc and got >= trunc[1]:
                os.truncate(trunc[0], trunc[2])
                trunc = None
    s.close()


def main():
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:])
    elif sys.argv[1] == "fetch":
        t = sys.argv[5:]
        fetch(sys.argv[2], int(sys.argv[3]), sys.argv[4], (t[0], int(t[1]), int(t[2])) if t else None)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
