/*
 * Packetdrill-like TCP tests on the unit harness.
 *
 *   ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
 *   ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
 *
 * Grammar: FLAGS START:END(LEN) [ack N] [win W] [urg U] [<options>] [ECN].
 * FLAGS are F S R P U E (ECE) W (CWR) in that order, then '.' for ACK
 * ('-' alone: none, as packetdrill writes a segment without flags); a
 * segment with U shows its urgent pointer (urg U). ECN is the IP header's
 * ECN field, [ect0], [ect1] or [ce] (nothing: not ECT), as packetdrill
 * writes it. Sequence numbers are relative: what the
 * peer sends to the peer's ISN (t->peer_isn), what the stack sends to the
 * stack's ISN, learned from its first SYN. TS val is absolute for the peer
 * and relative to the stack's first TS val for the stack; TS ecr the other
 * way round. SACK blocks are relative to the ISN of the side whose data they
 * cover. In expectations '*' matches any number. Injected payload bytes are
 * ts_byte(relative sequence number).
 */
#ifndef PSTACK_TEST_TCP_SCRIPT_H
#define PSTACK_TEST_TCP_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/tcp/tcp.h"
#include "tests/unit/support/harness.h"

#define TS_LOCAL_PORT 8080
#define TS_PEER_PORT 40000

struct tscript {
	struct harness *h;
	uint16_t local_port, peer_port;
	uint32_t peer_isn;
	uint32_t isn;           /* the stack's ISN, once seen */
	bool isn_known;
	uint32_t ts_base;       /* the stack's first TS val */
	bool ts_known;
	uint32_t last_tsval;    /* the stack's latest TS val (absolute) */
	uint8_t last_payload[65536];
	size_t last_len;
	uint16_t last_gso;      /* the last frame's TSO segment size (0: an ordinary frame) */
	uint8_t last_ip[128];   /* the start of the last frame's IP packet (for ICMP quotes) */
	size_t last_ip_len;
};

/* A harness with the peer's MAC learned, and a script on it. */
struct tscript *ts_new(uint32_t peer_isn);
/* Fails when the stack still has control blocks or sent frames not
 * expected; then frees everything (h_free checks packet buffers). */
void ts_free(struct tscript *t);

uint8_t ts_byte(uint32_t rel_seq);
void ts_inject(struct tscript *t, const char *spec);
/* ts_inject with the device's rx_flags (enum stack_rx_flag, stack_rx_gso). */
void ts_inject_rx(struct tscript *t, const char *spec, unsigned rx_flags);
/* ts_inject with a printf format. */
void ts_injectf(struct tscript *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The next frame the stack sent must match spec. */
void ts_expect(struct tscript *t, const char *spec);
/* Nothing was sent. */
void ts_expect_none(struct tscript *t);
/* The next frame the stack sent carries the data [start, end) (relative),
 * whatever its flags and options; returns whether it had PSH. */
bool ts_expect_data(struct tscript *t, unsigned start, unsigned end);
/* Whether a line ts_next gave matches spec ('*' as in ts_expect). */
bool ts_match(const char *spec, const char *line);
/* Renders the next sent frame (or "" when none) into out; returns false when none. */
bool ts_next(struct tscript *t, char *out, size_t cap);
void ts_advance_ms(struct tscript *t, uint64_t ms);
void ts_advance_us(struct tscript *t, uint64_t us);
/* Checks that buf holds the peer's bytes from relative sequence rel on. */
void ts_check_bytes(const uint8_t *buf, size_t n, uint32_t rel);

/* Handshakes with Linux's SYN options (mss 1460, sackOK, TS, wscale 7). */
struct tcp_conn *ts_listen(struct tscript *t, int backlog);
/* Passive open on listener l; returns the accepted connection. */
struct tcp_conn *ts_accept_one(struct tscript *t, struct tcp_conn *l);
/* The passive open of Linux's packetdrill selftests: the peer's SYN
 * announces MSS 1000 and window scale 7, SACK or not, no timestamps; its ACK
 * comes rtt_ms later with window win (scaled by 128). TSO on the link, as on
 * packetdrill's tun. The listener is closed; returns the connection. */
struct tcp_conn *ts_accept_mss1000(struct tscript *t, unsigned rtt_ms, unsigned win, bool sack);
/* c's congestion window in segments, as TCP_INFO's tcpi_snd_cwnd shows it now. */
uint32_t ts_cwnd(struct tscript *t, struct tcp_conn *c);
/* Active open to the peer, its SYN sent (and checked); returns the
 * connection in SYN-SENT. */
struct tcp_conn *ts_syn_sent(struct tscript *t);
/* Active open to the peer; returns the established connection. */
struct tcp_conn *ts_connect(struct tscript *t);

/* Forces c past quick-ACK mode, as after its first quick ACKs (Linux sends
 * up to 16 at the start of a connection): in-order data is ACKed every
 * second segment or after the delayed-ACK timeout again. For tests of
 * something else that were written against delayed ACKs. */
void ts_past_quickack(struct tcp_conn *c);

/* The next segments are another connection: a new peer port, ISNs and TS bases to learn. */
void ts_new_peer(struct tscript *t);
/* SO_LINGER 0 and close: the stack must send a reset. */
void ts_abort(struct tscript *t, struct tcp_conn *c);
/* The socket goes: a reset once synchronized (ts_abort), nothing from SYN_SENT. */
void ts_drop(struct tscript *t, struct tcp_conn *c);
/* A new socket on a new 4-tuple (ts_new_peer), bound to the next local
 * port, which the script then expects (a new script line's socket()). */
struct tcp_conn *ts_socket_next(struct tscript *t);

/* An ICMP "fragmentation needed" (RFC 1191 §4) from the peer with next-hop
 * MTU mtu, quoting the first 28 bytes of the last IP packet the stack sent. */
void ts_inject_frag_needed(struct tscript *t, uint16_t mtu);

/* A wakeup counter for readiness checks. */
struct ts_wake {
	int count;
};
void ts_watch(struct tcp_conn *c, struct ts_wake *w);

#endif
