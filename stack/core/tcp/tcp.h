/*
 * TCP: the engine's surface towards the IP layer and towards the socket shim.
 * The engine knows nothing of file descriptors: the shim holds a struct
 * tcp_conn per socket and calls these under the stack lock.
 *
 * RFCs: 9293 (core), 1122 §4.2, 5681/6582 (congestion control), 6298 (RTO),
 * 7323 (window scale, timestamps), 2018/6675 (SACK), 3042, 9438 (CUBIC),
 * 5961, 6528, 6056, 4987.
 */
#ifndef PSTACK_TCP_H
#define PSTACK_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/inpcb.h"
#include "stack/core/sock.h"

struct stack;
struct ip4_hdr;
struct tcp_conn;

enum tcp_state {
	TCP_STATE_CLOSED,
	TCP_STATE_LISTEN,
	TCP_STATE_SYN_SENT,
	TCP_STATE_SYN_RECEIVED,
	TCP_STATE_ESTABLISHED,
	TCP_STATE_FIN_WAIT_1,
	TCP_STATE_FIN_WAIT_2,
	TCP_STATE_CLOSE_WAIT,
	TCP_STATE_CLOSING,
	TCP_STATE_LAST_ACK,
	TCP_STATE_TIME_WAIT,
};

const char *tcp_state_name(enum tcp_state st);

/* ---- towards IP and the runner ---- */
int tcp_init(struct stack *s);
void tcp_fini(struct stack *s);
void tcp_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now);
/* An ICMP error about a segment we sent: quoted->raw is the whole quote, qp/qlen
 * the quoted TCP bytes (at least 8); err a negative errno; mtu for -EMSGSIZE;
 * ends_request: the error ends a connection request (a SYN-ACK's; Linux's
 * tcp_req_err: net or host unreachable, time exceeded, parameter problem). */
void tcp_icmp_error(struct stack *s, const struct ip4_hdr *quoted, const uint8_t *qp, size_t qlen,
		    int err, uint32_t mtu, bool ends_request);
void tcp_timers(struct stack *s, uint64_t now);
/* One log line: the stack-wide TCP memory budget's use, peak and limit. */
void tcp_log_stats(const struct stack *s, int level);
uint64_t tcp_timers_at(const struct stack *s);
/* Connections that still have data to send or a FIN exchange to finish
 * (the library's exit path waits for this to reach 0, bounded by a linger time). */
size_t tcp_pending_close(const struct stack *s);
/* Connections whose own FIN was acknowledged but that are not gone yet:
 * FIN_WAIT_2 (the peer's FIN to come) and TIME_WAIT. A keeper that carries
 * the stack on after its process waits for them too, bounded by its linger
 * time. */
size_t tcp_after_fin(const struct stack *s);

/*
 * TIME_WAIT handed from one stack to the next (stack/host/ctl.c's handover:
 * a stack that outlived its program gives the TAP to a new program on it,
 * and its connections waiting out TIME_WAIT, or an orphan's FIN_WAIT_2,
 * go with it, so that their 4-tuples stay protected and a retransmitted
 * FIN is still acknowledged). Times are relative (the two stacks' clocks
 * need not agree); every field in host order.
 */
struct tcp_tw_rec {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint8_t state;              /* TCP_STATE_TIME_WAIT or TCP_STATE_FIN_WAIT_2 */
	uint8_t ts_ok;              /* timestamps in use (RFC 7323) */
	uint8_t snd_wscale, rcv_wscale;
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_val;            /* our TS clock at export (it keeps running on import) */
	uint32_t ts_recent;         /* the peer's latest TS value */
	uint32_t ts_recent_age_ms;  /* how long ago it came */
	uint32_t left_ms;           /* what is left of the wait */
	uint32_t snd_wnd;           /* the peer's window (scaled) */
	uint32_t rcv_wnd;           /* the window we last offered (RCV.ADV - RCV.NXT) */
	/* The socket's SO_REUSEADDR / SO_REUSEPORT (INPCB_REUSE*: Linux's
	 * tw_reuse): a new listener with SO_REUSEADDR may bind its port; and
	 * INPCB_CONNECT_BIND, connect() picked the port (tw_connect_bind). */
	uint8_t reuse;
	uint8_t pad[3];
};
/* Every connection is one a handover may carry (TIME_WAIT, or FIN_WAIT_2
 * of a closed socket), and there is at least one. */
bool tcp_tw_only(const struct stack *s);
/* Fills up to max records, oldest first; how many there are. */
size_t tcp_tw_export(const struct stack *s, struct tcp_tw_rec *out, size_t max, uint64_t now);
/* A connection from a record, with its timer: 0, -EEXIST (the 4-tuple is
 * taken), -EINVAL (a bad record), -ENOMEM. */
int tcp_tw_import(struct stack *s, const struct tcp_tw_rec *r, uint64_t now);
/* Takes n records at once, as records: each becomes a connection
 * (tcp_tw_import) only when something looks at its local port (a segment
 * for it, bind(), connect()'s choice of a port) or at every connection
 * (tcp_tw_take_all), so that taking a thousand costs a copy, not a thousand
 * connections. Records for another local address, bad ones and ones whose
 * 4-tuple is taken are left out; how many were kept. Once. */
size_t tcp_tw_adopt(struct stack *s, const struct tcp_tw_rec *recs, size_t n, uint64_t now);
/* Every record tcp_tw_adopt() kept becomes a connection (a listing). */
void tcp_tw_take_all(struct stack *s, uint64_t now);

/* ---- towards the socket shim ---- */
#define TCP_BIND_REUSEADDR INPCB_REUSEADDR   /* SO_REUSEADDR */
#define TCP_BIND_REUSEPORT INPCB_REUSEPORT   /* SO_REUSEPORT */

struct tcp_conn *tcp_open(struct stack *s);
/* The counts Linux's tcp_disconnect leaves on the socket, from the
 * connection a disconnect replaces (old) to the fresh one (c): TCP_INFO's
 * retransmits (until the next connect) and rehash (for good). */
void tcp_disconnect_counts(struct tcp_conn *c, const struct tcp_conn *old);
/* port 0: an ephemeral port. -EINVAL if already bound, -EADDRINUSE, -EADDRNOTAVAIL.
 * With IP_BIND_ADDRESS_NO_PORT (TCP_OPT_BIND_NO_PORT) port 0 takes the
 * address only (inpcb_bind_addr): no port, and bind() may come again. */
int tcp_bind(struct tcp_conn *c, const struct ip4_endpoint *local, unsigned flags);
/* tcp_bind() of the endpoint a socket held before a disconnect that left
 * its binding alone; the port counts as bind()'s own (SOCK_BINDPORT_LOCK:
 * a later tcp_done keeps it) only when named says bind() named it. */
int tcp_bind_kept(struct tcp_conn *c, const struct ip4_endpoint *local, unsigned flags, bool named);
/* Whether bind() may take addr at all (inpcb_bind_addr_check), whatever
 * c's state: 0 or -EADDRNOTAVAIL. */
int tcp_bind_addr_check(const struct tcp_conn *c, uint32_t addr, unsigned flags);
/* listen()'s bind of a socket without a port (Linux's inet_csk_get_port
 * with 0): an ephemeral port on the address bind() gave, if any, whatever
 * IP_BIND_ADDRESS_NO_PORT says. -EINVAL if it has a port. */
int tcp_autobind(struct tcp_conn *c, unsigned flags);
/* bind() on a socket whose connection ended (tcp_ended): Linux gave its port
 * back then unless bind() had named it (-EINVAL then); one in TIME_WAIT
 * leaves the wait to an orphan record first. Otherwise as tcp_bind(). */
int tcp_rebind(struct tcp_conn *c, const struct ip4_endpoint *local, unsigned flags, uint64_t now);
/* The socket shows a port it no longer holds (Linux's inet_num 0): its
 * connection ended, or it listened and was shut down (tcp_shutdown), unless
 * bind() named the port. */
bool tcp_port_released(const struct tcp_conn *c);
/* An accepted connection's IP_MULTICAST_TTL as Linux sets it: the IP TTL
 * of the segment that completed its handshake (0 for a connection not
 * accepted). */
uint8_t tcp_handshake_ttl(const struct tcp_conn *c);
/* The TOS byte of that segment (Linux's rcv_tos of an accepted socket); 0 for others. */
uint8_t tcp_handshake_tos(const struct tcp_conn *c);
int tcp_listen(struct tcp_conn *c, int backlog);
/* Starts an active open: -EINPROGRESS when the SYN is on its way (completion
 * is seen through tcp_poll() and tcp_take_error()), -EALREADY while one is in
 * progress, -EISCONN once connected, or another -errno. Address 0 is this
 * host (ip4_this_host: the socket's own address, else 127.0.0.1, a
 * connection that stays in the stack). */
int tcp_connect(struct tcp_conn *c, const struct ip4_endpoint *peer, uint64_t now);
/*
 * RFC 7413 fast open, the client's side (Linux's tcp_sendmsg_fastopen):
 * the active open of sendto(MSG_FASTOPEN), or the first write after
 * tcp_connect_defer() held the SYN (peer is not read then). With a cookie
 * for the peer cached (or the client's no-cookie mode: TFO_CLIENT_NO_COOKIE,
 * TCP_FASTOPEN_NO_COOKIE) the SYN carries the start of the data, as much as
 * Linux's tcp_send_syn_data puts in one; without, it asks for a cookie and
 * carries none. all: the rest is queued too (a blocking call), to go when
 * the handshake is done. Returns the bytes taken with the SYN on its way
 * (completion as after tcp_connect), or -errno as tcp_connect, -EOPNOTSUPP
 * when the namespace's client side is off (TFO_CLIENT_ENABLE).
 */
long tcp_connect_fastopen(struct tcp_conn *c, const struct ip4_endpoint *peer, const struct sock_iov *v, int cnt,
			  bool all, uint64_t now);
/* Whether the namespace's fast open client side is on (TFO_CLIENT_ENABLE);
 * true for s NULL (no stack yet: whoever asks has the namespace's sysctl
 * to go by). */
bool tcp_fastopen_client_on(const struct stack *s);
/* connect() with TCP_FASTOPEN_CONNECT (Linux's tcp_fastopen_defer_connect):
 * with a cookie cached, 0 and no SYN yet (tcp_fastopen_deferred() until
 * the first write, which calls tcp_connect_fastopen); else a SYN asking
 * for a cookie, -EINPROGRESS, as tcp_connect. */
int tcp_connect_defer(struct tcp_conn *c, const struct ip4_endpoint *peer, uint64_t now);
bool tcp_fastopen_deferred(const struct tcp_conn *c);
/* A connection from the accept queue, or NULL with *err = -EAGAIN (empty) or
 * -EINVAL (not listening). The caller owns the returned connection. */
struct tcp_conn *tcp_accept(struct tcp_conn *listener, int *err);
/* Queues up to len bytes; returns how many (>0), -EAGAIN when the send buffer
 * is full, -EPIPE after shutdown(SHUT_WR) or the peer's reset on a closed
 * write side, -ENOTCONN before the connection exists, a pending error,
 * -EFAULT when the stack's copy failed (nothing queued). */
long tcp_send(struct tcp_conn *c, const void *buf, size_t len, uint64_t now);
/* tcp_send() with MSG_OOB (RFC 9293 §3.8.5, the Linux way): the last byte
 * queued is urgent; the segments up to it carry URG and the urgent pointer. */
long tcp_send_urg(struct tcp_conn *c, const void *buf, size_t len, uint64_t now);
/* The same over a socket call's buffers (tcp_sendv). */
long tcp_sendv_urg(struct tcp_conn *c, const struct sock_iov *v, int cnt, uint64_t now);
/* Copies up to len bytes; 0 at end of stream, -EAGAIN when none, -ENOTCONN,
 * -ECONNRESET, -ETIMEDOUT. flags: SOCK_PEEK, SOCK_DISCARD. With len 0, like
 * Linux's recv(): 0 when bytes (or the end) are there, else the same errors.
 * A read stops before the urgent byte, and skips it unless SO_OOBINLINE
 * (Linux's tcp_recvmsg). With SOCK_OOB: the urgent byte kept out of band (at
 * most 1 byte, never blocks): -EINVAL when there is none (or SO_OOBINLINE, or
 * it was read), -EAGAIN before it arrives, 0 after the end of the stream. */
long tcp_recv(struct tcp_conn *c, void *buf, size_t len, unsigned flags, uint64_t now);
/* The same over a socket call's buffers (writev, readv), copied with the
 * stack's copy (stack_set_copy): what one call moves is copied whole or not
 * at all, so -EFAULT leaves the queues as they were. */
long tcp_sendv(struct tcp_conn *c, const struct sock_iov *v, int cnt, uint64_t now);
/*
 * tcp_sendv in two steps, for a copy made without the stack lock (see
 * stack/CONCURRENCY.md): tcp_send_claim makes tcp_sendv's checks and lends
 * room for up to len bytes in the send queue (the bytes lent, or tcp_sendv's
 * errors); the caller copies into cl's ranges and tcp_send_commit queues
 * them (copy_err: the copy's -EFAULT, nothing queued) and pushes them, or
 * answers the error a reset or shutdown meanwhile left. len: the write's.
 */
struct tcp_ring_claim;
long tcp_send_claim(struct tcp_conn *c, size_t len, struct tcp_ring_claim *cl);
long tcp_send_commit(struct tcp_conn *c, struct tcp_ring_claim *cl, size_t len, int copy_err, uint64_t now);
/* Whether a send's claim is out (between tcp_send_claim and its commit):
 * the other writers of the connection wait for it. */
bool tcp_send_claimed(const struct tcp_conn *c);
/* MSG_EOR: the data written so far ends a record; what is written next never
 * shares a segment with it (Linux's eor skb). */
void tcp_mark_eor(struct tcp_conn *c);
long tcp_recvv(struct tcp_conn *c, const struct sock_iov *v, int cnt, unsigned flags, uint64_t now);
/* The same; with SOCK_PEEK, a peek that goes on past the `from` bytes an
 * earlier pass of the same call peeked (MSG_WAITALL, SO_RCVLOWAT), and
 * that answers 0 at the urgent mark (the call ends with what it has). */
long tcp_recvv_from(struct tcp_conn *c, const struct sock_iov *v, int cnt, unsigned flags, size_t from,
		    uint64_t now);
/* SIOCATMARK: the next byte to read is the urgent one. */
bool tcp_atmark(const struct tcp_conn *c);
/* how: 0 read, 1 write, 2 both (SHUT_RD/SHUT_WR/SHUT_RDWR). -ENOTCONN. */
int tcp_shutdown(struct tcp_conn *c, int how, uint64_t now);
/* The application lets go: the engine finishes the close on its own (FIN
 * after the queued data; RST when unread data is discarded or SO_LINGER is
 * on with 0 time), then frees the connection. c is not to be used again. */
void tcp_close(struct tcp_conn *c, uint64_t now);
/*
 * One more holder of c (a socket a process bound and a fork child then
 * listened on or connected from through a relay: one socket in two
 * processes, as the kernel's): each tcp_close before the last is absorbed,
 * and the connection goes on as the holder left it. The wake-up set now
 * (the first holder's) keeps its events beside the one the new holder sets
 * next (tcp_set_wakeup). A close is the new holder's when it cleared its
 * wake-up first (the relay's way); the first holder's close leaves it as
 * it is (its events then stop). One share at a time.
 */
void tcp_share(struct tcp_conn *c);
/* Shared (tcp_share) and not yet back to one holder. */
bool tcp_shared(const struct tcp_conn *c);
/*
 * The connection id names, when it is bound to local, in state CLOSED (or
 * LISTEN and not shared) and not closed by its holder: the socket a fork
 * child inherited bound (its parent's pointer, which the child has as a
 * number); NULL otherwise. id is only compared, never followed.
 */
struct tcp_conn *tcp_find_bound(struct stack *s, const struct ip4_endpoint *local, uint64_t id);
/*
 * SO_LINGER with a time (Linux's tcp_close: close() waits for the FIN's
 * acknowledgement, at most that long): the close's first half, the
 * connection still the application's: both directions shut and the FIN
 * queued after the data. True when close() is to wait now: the FIN is not
 * yet acknowledged (tcp_closing); false where tcp_close resets (unread
 * data) or the option is off or has no time, which tcp_close then does as
 * always. tcp_close follows, after the wait.
 */
bool tcp_close_linger(struct tcp_conn *c, uint64_t now);
/* The FIN sent and not yet acknowledged (FIN_WAIT_1, CLOSING, LAST_ACK). */
bool tcp_closing(const struct tcp_conn *c);
/* SOCK_POLL* bits (listeners: POLLIN when a connection waits to be accepted). */
unsigned tcp_poll(const struct tcp_conn *c);
/* poll, select or epoll found no room to send (Linux's tcp_poll sets
 * SOCK_NOSPACE): the wake-up comes when the room does (tcp_check_space). */
void tcp_note_nospace(struct tcp_conn *c);
/* SO_ERROR: the pending error as a negative errno (0 when none), cleared. */
int tcp_take_error(struct tcp_conn *c);
/* The soft error (an ICMP error about a synchronized connection, RFC 1122
 * §4.2.3.9; Linux's sk_err_soft) as a negative errno, 0 when none,
 * cleared: SO_ERROR reports it when no error is pending. */
int tcp_take_soft_error(struct tcp_conn *c);
enum tcp_state tcp_get_state(const struct tcp_conn *c);
/* Whether a program waits for the handshake to end before it may send (and
 * has no peer yet): SYN_SENT, or SYN_RECEIVED but for a fast open child. */
bool tcp_connecting(const struct tcp_conn *c);
void tcp_local(const struct tcp_conn *c, struct ip4_endpoint *ep);
/* -ENOTCONN when there is no peer. */
int tcp_peer(const struct tcp_conn *c, struct ip4_endpoint *ep);
void tcp_set_wakeup(struct tcp_conn *c, const struct sock_wakeup *w);
/* Bytes readable now (FIONREAD) and bytes not yet acknowledged (SIOCOUTQ). */
size_t tcp_inq(const struct tcp_conn *c);
/* The peer's address as Linux's inet_dport keeps it (SO_PEERNAME, IP_MTU):
 * from connect() on, SYN_SENT included, and still once the connection
 * ended (a reset, TIME_WAIT) or the attempt failed, until a disconnect or
 * a bind(); -ENOTCONN before and for a listener. */
int tcp_peer_kept(const struct tcp_conn *c, struct ip4_endpoint *ep);
/* The connection ended after it was established (reset, or both FINs
 * through: TIME_WAIT): to the program's socket, Linux's tcp_done. */
bool tcp_ended(const struct tcp_conn *c);
/* The peer's FIN came in (Linux's tcp_fin ran), whatever the program's own
 * shutdown(SHUT_RD) says of the stream. */
bool tcp_fin_received(const struct tcp_conn *c);
/* The socket has a route (Linux's sk_dst_cache, IP_MTU): from connect() on,
 * kept once the connection ended or the attempt failed, dropped by a
 * disconnect, an AF_INET bind(), and an IP_TOS change until the next
 * segment (dst_reset). */
bool tcp_route_kept(const struct tcp_conn *c);
/* The route is dropped until the next segment looks one up (Linux's
 * sk_dst_reset, as an IPV6_TCLASS change makes it). */
void tcp_route_reset(struct tcp_conn *c);
/* What shutdown() shut: 1 reading, 2 writing (Linux's sk_shutdown's
 * RCV_SHUTDOWN and SEND_SHUTDOWN), a close's included. */
unsigned tcp_shut_how(const struct tcp_conn *c);
size_t tcp_outq(const struct tcp_conn *c);
/* Of those, the bytes not sent yet (SIOCOUTQNSD). */
size_t tcp_outq_unsent(const struct tcp_conn *c);
/* What has arrived so far, a count that only grows: bytes for a connection,
 * connections queued for accept for a listener (the shim's O_ASYNC tells
 * an arrival from a wake-up for something else by it). */
uint64_t tcp_rx_count(const struct tcp_conn *c);

/* TCP_SAVED_SYN: the headers of the SYN that made this accepted connection
 * (TCP_SAVE_SYN on its listener), *len bytes; NULL when none (not saved, or
 * read already). tcp_saved_syn_drop lets them go (Linux frees them once
 * read). */
const uint8_t *tcp_saved_syn(const struct tcp_conn *c, unsigned *len);
void tcp_saved_syn_drop(struct tcp_conn *c);

/* The options of struct sock_opts, one at a time (setsockopt()'s values). */
enum tcp_option {
	TCP_OPT_NODELAY,        /* bool */
	TCP_OPT_KEEPALIVE,      /* bool */
	TCP_OPT_KEEPIDLE,       /* seconds */
	TCP_OPT_KEEPINTVL,      /* seconds */
	TCP_OPT_KEEPCNT,        /* count */
	TCP_OPT_SNDBUF,         /* bytes, as SO_SNDBUF sets it (the engine doubles like Linux) */
	TCP_OPT_RCVBUF,         /* bytes, as SO_RCVBUF sets it (the receive ring's limit) */
	TCP_OPT_LINGER,         /* -1 off, else seconds */
	TCP_OPT_TOS,            /* IP_TOS */
	TCP_OPT_TTL,            /* IP_TTL: 1..255, 0 (or -1) the default */
	TCP_OPT_PMTUDISC,       /* IP_MTU_DISCOVER: SOCK_PMTUDISC_* (DF on segments with DO and WANT) */
	TCP_OPT_RCVLOWAT,       /* SO_RCVLOWAT as the kernel keeps it (capped); below 1: 1 */
	TCP_OPT_MINTTL,         /* IP_MINTTL: 0..255 */
	TCP_OPT_DONTROUTE,      /* SO_DONTROUTE: bool */
	TCP_OPT_MAXSEG,         /* TCP_MAXSEG */
	TCP_OPT_USER_TIMEOUT,   /* milliseconds, TCP_USER_TIMEOUT */
	TCP_OPT_CONGESTION,     /* 0 CUBIC, 1 NewReno */
	TCP_OPT_REUSEADDR,      /* bool (bind() reads the value it is called with) */
	TCP_OPT_REUSEPORT,      /* bool */
	TCP_OPT_OOBINLINE,      /* bool, SO_OOBINLINE */
	TCP_OPT_CORK,           /* bool, TCP_CORK (uncorking sends what waits) */
	TCP_OPT_NOTSENT_LOWAT,  /* bytes, TCP_NOTSENT_LOWAT (taken as unsigned) */
	TCP_OPT_DEFER_ACCEPT,   /* seconds, TCP_DEFER_ACCEPT (getopt: Linux's rounding up) */
	TCP_OPT_SYNCNT,         /* count, TCP_SYNCNT (getopt: the default when unset) */
	TCP_OPT_LINGER2,        /* seconds, TCP_LINGER2 (getopt: the default when unset) */
	TCP_OPT_WINDOW_CLAMP,   /* bytes, TCP_WINDOW_CLAMP */
	TCP_OPT_TIMESTAMPING,   /* SO_TIMESTAMPING's flags */
	TCP_OPT_QUICKACK,       /* TCP_QUICKACK: 0 interactive (ACKs wait for a reply), else not and an ACK owed goes */
	TCP_OPT_FASTOPEN_QLEN,  /* TCP_FASTOPEN: the listener's fast open queue (at most somaxconn, 4096) */
	TCP_OPT_FASTOPEN_NO_COOKIE, /* bool, TCP_FASTOPEN_NO_COOKIE */
	TCP_OPT_PORT_RANGE,     /* IP_LOCAL_PORT_RANGE: Linux's u32, high << 16 | low (the caller checked it) */
	TCP_OPT_BIND_NO_PORT,   /* bool, IP_BIND_ADDRESS_NO_PORT (tcp_bind) */
	TCP_OPT_TXREHASH,       /* SO_TXREHASH as the kernel keeps it: 0 or 1 (-1: the stack's default) */
	TCP_OPT_PEEK_OFF,       /* SO_PEEK_OFF: bytes, -1 (any negative) off */
	TCP_OPT_SAVE_SYN,       /* TCP_SAVE_SYN: 0..2 */
	TCP_OPT_RTO_MAX,        /* TCP_RTO_MAX_MS: 1000..120000 (getopt: the namespace's tcp_rto_max_ms when unset) */
	TCP_OPT_SO_RCVBUF,      /* getopt only: what SO_RCVBUF reads (Linux's sk_rcvbuf, about twice the ring's data) */
};
/* Checks value and records it in o, the options of a socket whose
 * connection does not exist yet: 0, -EINVAL (out of range), -ENOPROTOOPT. */
int tcp_opts_set(struct sock_opts *o, enum tcp_option opt, int value);
/* Whether o holds only what sock_opts_default, tcp_opts_set and the shim's
 * setters leave in it (every bool 0 or 1, each value in its option's
 * range), for options that come from another process (a joiner's request,
 * stack/host/ctl.h): 0, or -EINVAL. */
int tcp_opts_check(const struct sock_opts *o);
/* An option's value as getsockopt() gives it, from o (Linux's conversions:
 * TCP_DEFER_ACCEPT in whole retransmission periods; for TCP_SYNCNT,
 * TCP_LINGER2 and the keep-alive timers o leaves unset, s's configuration's
 * defaults, or the built-in ones when s is NULL). -ENOPROTOOPT for the others. */
int tcp_opts_get(const struct stack *s, const struct sock_opts *o, enum tcp_option opt, int *value);
/* The same on a connection, with what the change does to it (Nagle off
 * sends, keep-alive arms its timer, the buffers take their new sizes). */
int tcp_setopt(struct tcp_conn *c, enum tcp_option opt, int value);
/* The same at now (what an option's change sends, it sends at now). */
int tcp_setopt_at(struct tcp_conn *c, enum tcp_option opt, int value, uint64_t now);
/* TCP_FASTOPEN_KEY (Linux's do_tcp_setsockopt): len 16, a primary key, or
 * 32, a primary and a backup; the listener's cookies come from them alone
 * from then on. Into o, or into c's options. */
void tcp_opts_fastopen_key(struct sock_opts *o, const uint8_t *key, size_t len);
void tcp_set_fastopen_key(struct tcp_conn *c, const uint8_t *key, size_t len);
/* Hands a new connection the options kept before it existed (one assignment). */
void tcp_set_opts(struct tcp_conn *c, const struct sock_opts *o);
/* The connection's options (an accepted one's are its listener's). */
const struct sock_opts *tcp_opts(const struct tcp_conn *c);
/* SNDBUF and RCVBUF answer the buffers' sizes now (receive autotuning
 * grows them), MAXSEG the MSS in use once connected. */
int tcp_getopt(const struct tcp_conn *c, enum tcp_option opt, int *value);

/* MSG_MORE (Linux's TCP_NAGLE_CORK for one call): true before the data of a
 * send that has it is queued, false before one that has not. The partial
 * segment at the end waits as with TCP_CORK, until a write without it, an
 * ACK that empties the flight, or the probe timer. */
void tcp_set_more(struct tcp_conn *c, bool more);
/* TCP_INQ's hint (Linux's tcp_inq_hint): the bytes left to read, the
 * peer's FIN counting one; 1 once the connection is over. */
size_t tcp_inq_hint(const struct tcp_conn *c);
/* The stack's time (us) of the latest in-order data received (0: none):
 * the receive timestamp (SO_TIMESTAMP, SO_TIMESTAMPING's RX_SOFTWARE). */
uint64_t tcp_rx_stamp(const struct tcp_conn *c);
/* SND.UNA, or the end of what is queued (with OPT_ID_TCP): the base of
 * SO_TIMESTAMPING's OPT_ID keys (Linux's sk_tskey). */
uint32_t tcp_tskey_base(const struct tcp_conn *c, bool write_seq);

/*
 * The error queue (Linux's sk_error_queue on a TCP socket): send timestamps
 * (SO_TIMESTAMPING's TX_SCHED, TX_SOFTWARE, TX_ACK) and MSG_ZEROCOPY
 * completions. A send call that asked for either marks its last byte
 * (tcp_mark_send, right after its data was queued); the engine queues a
 * timestamp when that byte is first sent (SCHED, then SND) and when it is
 * acknowledged (ACK), and a zerocopy completion when it is acknowledged
 * (or the connection ends). Consecutive zerocopy ranges merge while queued,
 * as Linux's do. POLLERR while the queue is not empty.
 */
#define TCP_TS_SCHED 0x1        /* SCM_TSTAMP_SCHED wanted */
#define TCP_TS_SND   0x2        /* SCM_TSTAMP_SND */
#define TCP_TS_ACK   0x4        /* SCM_TSTAMP_ACK */
enum tcp_err_kind { TCP_ERR_TSTAMP, TCP_ERR_ZEROCOPY };
struct tcp_err_info {
	enum tcp_err_kind kind;
	unsigned tstype;            /* TSTAMP: Linux's SCM_TSTAMP_SND 0, SCHED 1, ACK 2 */
	uint32_t key;               /* TSTAMP: the sequence number of the call's last byte */
	uint64_t at;                /* TSTAMP: the stack's time (us) */
	uint32_t lo, hi;            /* ZEROCOPY: the send calls completed (ids, inclusive) */
};
/* ts: TCP_TS_* wanted; zc: a zerocopy completion with id zc_id. -ENOBUFS
 * when too many are pending (Linux drops what its queue cannot hold). */
int tcp_mark_send(struct tcp_conn *c, unsigned ts, bool zc, uint32_t zc_id, uint64_t now);
/* The oldest entry, dequeued: 0, or -EAGAIN when the queue is empty. */
int tcp_recv_err(struct tcp_conn *c, struct tcp_err_info *e);
/* Entries wait (poll's POLLERR; not an error of the connection). */
bool tcp_err_pending(const struct tcp_conn *c);

/* What TCP_INFO reports (struct tcp_info's fields, in its units). */
struct tcp_conn_info {
	uint8_t state;          /* enum tcp_state mapped to Linux's TCP_* numbering by the shim */
	uint8_t ca_state;
	uint8_t retransmits;
	uint8_t backoff;
	uint8_t probes;         /* probes unanswered: zero window, keepalive, a full link's (icsk_probes_out) */
	uint8_t options;        /* TCPI_OPT_TIMESTAMPS 1, SACK 2, WSCALE 4, ECN 8, ECN_SEEN 16, SYN_DATA 32 */
	uint8_t snd_wscale, rcv_wscale;
	uint32_t rto_us, ato_us;
	uint32_t snd_mss, rcv_mss;
	uint32_t unacked, sacked, lost, retrans, fackets;
	uint32_t last_data_sent_ms, last_ack_recv_ms, last_data_recv_ms;
	uint32_t pmtu, rcv_ssthresh;
	uint32_t rtt_us, rttvar_us;
	uint32_t snd_ssthresh, snd_cwnd, advmss, reordering;
	uint32_t rcv_rtt_us, rcv_space;
	uint32_t total_retrans;
	uint64_t bytes_acked, bytes_received;
	uint32_t segs_out, segs_in;
	uint32_t snd_wnd;
	uint64_t delivery_rate;
	bool delivery_rate_app_limited;     /* the last delivery sample was (Linux's rate_app_limited) */
	uint32_t min_rtt_us;
	uint64_t pacing_rate, max_pacing_rate;      /* UINT64_MAX: none */
	uint32_t notsent_bytes;
	uint32_t data_segs_in, data_segs_out;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups;
	uint32_t rcv_wnd;                           /* the window last offered */
	uint32_t rehash;                            /* timeouts that rethought the path (Linux's timeout_rehash) */
	uint32_t total_rto, total_rto_recoveries;
	uint32_t total_rto_time_ms;
	uint32_t delivered, delivered_ce;
	uint32_t received_ce;                       /* CE-marked segments received */
	uint32_t received_e1_bytes, received_e0_bytes, received_ce_bytes;   /* payload by ECN codepoint */
	uint32_t reord_seen, rcv_ooopack;
	uint64_t busy_us, rwnd_limited_us, sndbuf_limited_us;   /* busy: all three together */
	/* ss -m's skmem (pstack stat): the memory the receive and send rings
	 * hold, allocation and kept frames (r, w), and their limits (rb, tb). */
	uint64_t rmem, rcvbuf, wmem, sndbuf;
};
void tcp_get_info(const struct tcp_conn *c, struct tcp_conn_info *info, uint64_t now);

/* Read-only walk of every connection, listeners and TIME_WAIT included,
 * for diagnostics (pstack stat, stack/host/ctl.c): the first (NULL: none),
 * then the one after c (NULL: c was the last). Lock held throughout. */
const struct tcp_conn *tcp_conn_first(const struct stack *s);
const struct tcp_conn *tcp_conn_next(const struct stack *s, const struct tcp_conn *c);
/* A listener's accept queue: connections waiting for accept(), and the
 * backlog it was given (what ss shows as a listener's Recv-Q and Send-Q). */
unsigned tcp_acceptq_len(const struct tcp_conn *l, int *backlog);

#endif
