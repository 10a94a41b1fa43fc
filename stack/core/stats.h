/*
 * Per-stack counters and drop reasons.
 *
 * Every dropped frame or segment increments exactly one drop reason (Linux's
 * skb_drop_reason, OpenBSD's tcpstat) and is logged at debug level only.
 * Add a reason here, in the X-list, when a new check needs one.
 */
#ifndef PSTACK_STATS_H
#define PSTACK_STATS_H

#include <stdint.h>

#define DROP_REASONS(X)                                                         \
	X(FRAME_TOO_LONG, "frame longer than the receive buffer")               \
	X(ETH_TRUNCATED, "Ethernet frame shorter than its header")               \
	X(ETH_NOT_FOR_US, "Ethernet destination is not ours")                    \
	X(ETH_UNKNOWN_TYPE, "unhandled EtherType")                               \
	X(ETH_OTHER_VLAN, "802.1Q-tagged for a VLAN this host is not on")        \
	X(ARP_TRUNCATED, "ARP packet truncated")                                 \
	X(ARP_UNSUPPORTED, "ARP for another hardware or protocol type")          \
	X(ARP_BAD_OP, "ARP operation neither request nor reply")                 \
	X(ARP_NOT_FOR_US, "ARP target is not our address")                       \
	X(ARP_BAD_SENDER, "ARP request from an address no host has")             \
	X(ARP_QUEUE_FULL, "packet dropped: ARP resolution queue full")           \
	X(ARP_UNRESOLVED, "packet dropped: ARP resolution failed")               \
	X(IP_TRUNCATED, "IPv4 packet shorter than its header")                   \
	X(IP_BAD_VERSION, "IP version is not 4")                                 \
	X(IP_BAD_IHL, "IPv4 header length invalid")                              \
	X(IP_BAD_LENGTH, "IPv4 total length disagrees with the frame")           \
	X(IP_BAD_CSUM, "IPv4 header checksum wrong")                             \
	X(IP_NOT_FOR_US, "IPv4 destination is not ours")                         \
	X(IP_BAD_SOURCE, "IPv4 source is broadcast, multicast or ours")          \
	X(IP_UNKNOWN_PROTO, "unhandled IP protocol")                             \
	X(IP_BAD_OPTIONS, "IPv4 options malformed (parameter problem sent)")     \
	X(IP_SOURCE_ROUTE, "IPv4 source-routed datagram refused")                \
	X(IP_FRAG_OVERLAP, "overlapping IPv4 fragment")                          \
	X(IP_FRAG_TOO_BIG, "reassembled datagram would exceed 65535 bytes")      \
	X(IP_FRAG_NO_MEMORY, "reassembly memory bound reached")                  \
	X(IP_FRAG_TIMEOUT, "reassembly timed out")                               \
	X(IP_FRAG_DUP, "duplicate IPv4 fragment")                                \
	X(IP_FRAG_EMPTY, "IPv4 fragment with no data (ends its datagram)")       \
	X(IP_NO_ROUTE, "no route to destination")                                \
	X(IP_NO_MEMORY, "no memory for an IPv4 packet")                          \
	X(ICMP_TRUNCATED, "ICMP message truncated")                              \
	X(ICMP_BAD_CSUM, "ICMP checksum wrong")                                  \
	X(ICMP_UNHANDLED, "ICMP type not handled")                               \
	X(ICMP_RATE_LIMITED, "ICMP error suppressed by rate limit")              \
	X(ICMP_TO_GROUP, "ICMP error to a broadcast or multicast address")      \
	X(UDP_TRUNCATED, "UDP datagram truncated")                               \
	X(UDP_BAD_LENGTH, "UDP length disagrees with the IP payload")            \
	X(UDP_BAD_CSUM, "UDP checksum wrong")                                    \
	X(UDP_NO_SOCKET, "UDP to a port nobody listens on")                      \
	X(UDP_RCVBUF_FULL, "UDP receive buffer full")                            \
	X(UDP_FILTERED, "UDP datagram a socket filter dropped")                  \
	X(UDP_COPY_FAULT, "UDP datagram the program's buffer could not take")   \
	X(TCP_TRUNCATED, "TCP segment truncated")                                \
	X(TCP_BAD_OFFSET, "TCP data offset invalid")                             \
	X(TCP_BAD_CSUM, "TCP checksum wrong")                                    \
	X(TCP_TOO_LONG, "TCP segment longer than 65535 bytes")                   \
	X(TCP_BAD_OPTIONS, "TCP options malformed")                              \
	X(TCP_NO_SOCKET, "TCP to a port nobody listens on")                      \
	X(TCP_OUT_OF_WINDOW, "TCP segment outside the receive window")           \
	X(TCP_PAWS, "TCP segment failed PAWS")                                   \
	X(TCP_PAWS_ACTIVE, "TCP SYN-ACK echoes none of our SYNs' timestamps")     \
	X(TCP_PAWS_OLD_ACK, "TCP old pure ACK failed PAWS")                      \
	X(TCP_BAD_ACK, "TCP ACK not acceptable")                                 \
	X(TCP_BAD_FLAGS, "TCP flags invalid for the state")                      \
	X(TCP_OFO_FULL, "TCP out-of-order queue full")                           \
	X(TCP_RCVBUF_FULL, "TCP receive buffer full")                            \
	X(TCP_LISTEN_OVERFLOW, "TCP accept queue full")                          \
	X(TCP_BAD_COOKIE, "TCP SYN cookie invalid")                              \
	X(TCP_MINTTL, "TCP segment below the socket's IP_MINTTL")               \
	X(TCP_MD5_UNEXPECTED, "TCP segment signed with MD5, no key")             \
	X(TCP_NO_MEMORY, "no memory for a TCP segment")                          \
	X(TCP_MEM, "TCP data dropped: stack-wide buffer budget (PSTACK_TCP_MEM) reached") \
	X(FAULT_INJECTED, "dropped by the fault-injecting link")                 \
	X(DEV_TX_ERROR, "device refused a frame")

enum drop_reason {
#define DROP_ENUM(name, text) DROP_##name,
	DROP_REASONS(DROP_ENUM)
#undef DROP_ENUM
	DROP__COUNT
};

struct stack_stats {
	uint64_t frames_in, frames_out;
	uint64_t arp_in, arp_out;
	uint64_t ip_in, ip_out, ip_frag_out, ip_reassembled;
	uint64_t icmp_in, icmp_out;
	uint64_t udp_in, udp_out;
	uint64_t tcp_in, tcp_out, tcp_retransmits;
	/* Linux's TcpActiveOpens (SYNs of connect()), TcpPassiveOpens
	 * (handshakes completed on a listener) and TcpExtTCPTimeouts
	 * (retransmission timer expiries that resent): pstack stat. */
	uint64_t tcp_active_opens, tcp_passive_opens, tcp_timeouts;
	/* Linux's TcpExtTCPHystartTrainDetect, ...TrainCwnd, ...DelayDetect,
	 * ...DelayCwnd: slow starts HyStart ended, and the windows (segments)
	 * they ended at, summed. */
	uint64_t tcp_hystart_train, tcp_hystart_train_cwnd, tcp_hystart_delay, tcp_hystart_delay_cwnd;
	/* Linux's TcpExtTCPFullUndo, ...PartialUndo, ...DSACKUndo, ...LossUndo:
	 * reductions undone because the recovery proved spurious, at its end
	 * or on a partial ACK by a timestamp echo, by D-SACKs, after a timeout. */
	uint64_t tcp_full_undo, tcp_partial_undo, tcp_dsack_undo, tcp_loss_undo;
	/* Linux's TcpExtTCPSpuriousRTOs: timeouts F-RTO showed spurious (also
	 * counted in tcp_loss_undo, as Linux's tcp_try_undo_loss counts both). */
	uint64_t tcp_spurious_rtos;
	/* Frames whose TCP payload the receive queue kept in their buffer
	 * (zero-copy receive: tcp_ring_adopt), not copied. */
	uint64_t tcp_rx_kept;
	uint64_t drops[DROP__COUNT];
};

/* "bad checksum"-style text and the short identifier ("IP_BAD_CSUM") of a reason. */
const char *drop_reason_text(enum drop_reason r);
const char *drop_reason_name(enum drop_reason r);

#endif
