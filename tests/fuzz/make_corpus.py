#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_frame: small valid frames from the peer
(192.0.2.1, 02:00:00:00:02:01) to the stack (192.0.2.2, 00:00:5e:00:53:01),
with correct checksums. Run from anywhere: python3 tests/fuzz/make_corpus.py
(the files are committed; rerun only to change them)."""

import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
STACK_MAC = bytes.fromhex("00005e005301")
PEER_MAC = bytes.fromhex("020000000201")
BCAST = b"\xff" * 6
PEER_IP = bytes([192, 0, 2, 1])
STACK_IP = bytes([192, 0, 2, 2])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(payload, ethertype=0x0800, dst=STACK_MAC):
    return dst + PEER_MAC + struct.pack("!H", ethertype) + payload


def ip4(proto, payload, ident=1, frag=0, options=b"", src=PEER_IP, dst=STACK_IP, total=None):
    ihl = 5 + len(options) // 4
    total = total if total is not None else ihl * 4 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, ident, frag, 64, proto, 0, src, dst) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def pseudo(proto, length, src=PEER_IP, dst=STACK_IP):
    return src + dst + struct.pack("!BBH", 0, proto, length)


def udp(sport, dport, payload):
    h = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = csum(pseudo(17, 8 + len(payload)) + h + payload) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + payload


def tcp(sport, dport, seq, ack, flags, payload=b"", options=b"", window=64240):
    off = (20 + len(options)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, 0) + options
    c = csum(pseudo(6, len(h) + len(payload)) + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def icmp(typ, code, rest, payload):
    h = struct.pack("!BBH", typ, code, 0) + rest
    c = csum(h + payload)
    return h[:2] + struct.pack("!H", c) + h[4:] + payload


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
# What Linux offers on a SYN: MSS, SACK permitted, timestamps, window scale.
LINUX_SYN_OPTS = (bytes([2, 4, 0x05, 0xB4, 4, 2, 8, 10]) + struct.pack("!II", 12345, 0)
                  + bytes([1, 3, 3, 7]))

frames = {}
frames["arp_request"] = eth(struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + PEER_MAC + PEER_IP
                            + b"\0" * 6 + STACK_IP, 0x0806, BCAST)
frames["arp_reply"] = eth(struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + PEER_MAC + PEER_IP
                          + STACK_MAC + STACK_IP, 0x0806)
frames["icmp_echo"] = eth(ip4(1, icmp(8, 0, struct.pack("!HH", 0x1234, 1), bytes(range(56)))))
frames["icmp_port_unreach"] = eth(ip4(1, icmp(3, 3, b"\0" * 4,
                                              ip4(17, udp(7, 9999, b"x"), src=STACK_IP, dst=PEER_IP)[:28])))
frames["udp_port7"] = eth(ip4(17, udp(40000, 7, b"hello fuzz")))
frames["udp_closed_port"] = eth(ip4(17, udp(40000, 9, b"nobody home")))
frames["udp_zero_csum"] = eth(ip4(17, struct.pack("!HHHH", 40000, 7, 12, 0) + b"zero"))
frames["tcp_syn_port80"] = eth(ip4(6, tcp(40000, 80, 1000, 0, SYN, options=LINUX_SYN_OPTS)))
frames["tcp_ack_data"] = eth(ip4(6, tcp(40000, 80, 1001, 1, ACK | PSH, b"GET / HTTP/1.0\r\n\r\n")))
frames["tcp_fin"] = eth(ip4(6, tcp(40000, 80, 1019, 1, ACK | FIN)))
frames["tcp_rst"] = eth(ip4(6, tcp(40000, 80, 1001, 0, RST)))
frames["tcp_synack"] = eth(ip4(6, tcp(80, 49152, 5000, 1, SYN | ACK, options=LINUX_SYN_OPTS)))
# A UDP datagram of 3000 bytes in three fragments (offsets in 8-byte units).
big = udp(40001, 7, bytes(i & 0xFF for i in range(2992)))
frames["ip_frag_first"] = eth(ip4(17, big[:1480], ident=77, frag=0x2000))
frames["ip_frag_middle"] = eth(ip4(17, big[1480:2960], ident=77, frag=0x2000 | 185))
frames["ip_frag_last"] = eth(ip4(17, big[2960:], ident=77, frag=370))
frames["ip_options"] = eth(ip4(1, icmp(8, 0, struct.pack("!HH", 7, 7), b"opts"),
                               options=bytes([7, 7, 4, 0, 0, 0, 0, 1])))

os.makedirs(HERE, exist_ok=True)
for name, data in sorted(frames.items()):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
print("wrote %d frames to %s" % (len(frames), HERE))
