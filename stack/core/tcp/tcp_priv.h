/*
 * The TCP engine's internals, shared by its files: tcp_subr.c (the table,
 * a connection's life), tcp_usrreq.c (the calls of tcp.h), tcp_timer.c
 * (every timer and the timer pass), tcp_input.c (segment parsing and the
 * RFC 9293 §3.10.7 state machine) and tcp_output.c (segment building,
 * transmission, retransmission).
 * Nothing outside stack/core/tcp/ and the unit tests includes this.
 */
#ifndef PSTACK_TCP_PRIV_H
#define PSTACK_TCP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/inpcb.h"
#include "stack/core/sock.h"
#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_cc.h"
#include "stack/core/tcp/tcp_rack.h"
#include "stack/core/tcp/tcp_ring.h"
#include "stack/core/tcp/tcp_sack.h"
#include "stack/core/tcp/tcp_seq.h"
#include "stack/wire/tcp.h"

struct stack;

#define TCP_DEFAULT_MSS 536              /* RFC 9293 §3.7.1 */
/* A TSO frame's payload this long or longer stays in the send ring on its
 * way to a link that takes it so (stack_link's tx_ext): zero-copy transmit. */
#define TCP_ZC_MIN 4096
/* Zero-copy receive: in-order text of at least this many bytes, in a frame
 * whose buffer the stack may keep, is kept there (tcp_input.c, rcv_queue). */
#define TCP_RX_KEEP_MIN 16384
#define TCP_MIN_MSS 88                   /* Linux's TCP_MIN_MSS: TCP_MAXSEG's least, rcv_mss's floor */
/* Linux's tcp_min_snd_mss (TCP_MIN_SND_MSS): the least a segment carries,
 * options included, whatever MSS the peer announced (tcp_mtu_to_mss). */
#define TCP_MIN_SND_MSS 48
#define TCP_MAX_USER_MSS 32767           /* TCP_MAXSEG's bound (Linux's MAX_TCP_WINDOW) */
#define TCP_RTO_INIT_US 1000000u         /* RFC 6298 (2.1) */
#define TCP_RTO_FALLBACK_US 3000000u     /* RFC 6298 (5.7), Linux TCP_TIMEOUT_FALLBACK */
#define TCP_RTO_MIN_US 200000u           /* Linux TCP_RTO_MIN */
#define TCP_RTO_MAX_US 120000000u        /* Linux TCP_RTO_MAX */
#define TCP_DELACK_US 40000u             /* Linux TCP_DELACK_MIN (and TCP_ATO_MIN) */
#define TCP_MAX_QUICKACKS 16             /* Linux TCP_MAX_QUICKACKS */
#define TCP_TX_BURST 64                  /* segments per connection per turn */
#define TCP_APP_BURST 10                 /* segments sent in the application's own call (tcp_send) */
#define TCP_TX_ROUND 64                 /* segments per timer pass for connections waiting their turn */
#define TCP_ORPHAN_RETRIES 8             /* Linux: tcp_orphan_retries 0 means 8 while alive */
#define TCP_TIMEOUT_MIN_US 2000u         /* Linux TCP_TIMEOUT_MIN (2 jiffies) */
#define TCP_TICK_US 4000u                /* a Linux timer set for "now" fires at the next tick: HZ=250 here */
#define TCP_RESOURCE_PROBE_US 500000u    /* Linux TCP_RESOURCE_PROBE_INTERVAL */
#define TCP_FIN_TIMEOUT_MAX 120          /* TCP_LINGER2's bound, seconds (Linux's TCP_FIN_TIMEOUT_MAX) */
#define TCP_DELACK_MAX_US 200000u        /* Linux TCP_DELACK_MAX */
#define TCP_ATO_MAX_US 500000u           /* Linux's HZ / 2: tcp_send_delayed_ack's max_ato */
#define TCP_MIN_SNDBUF 4608              /* Linux SOCK_MIN_SNDBUF */
#define TCP_SNDBUF_QUEUE_FLOOR (256u << 10) /* tcp_sndbuf_expand: the least a queue-bound send buffer keeps */
#define TCP_SNDBUF_QUEUE_SHARE (1u << 20)   /* ... and what queue-bound senders share above that */
/* ... whose allocation comes down to a lower limit once the limit has
 * stayed below it this long (a limit that moves back and forth keeps it) */
#define TCP_SNDQ_FIT_US 1000000u
#define TCP_MIN_RCVBUF 2304              /* Linux SOCK_MIN_RCVBUF */
#define TCP_MAX_BUF (64u << 20)
#define TCP_DEFAULT_MEM (256u << 20)        /* PSTACK_TCP_MEM's default */
#define TCP_OFO_MAX_BLOCKS 1024          /* out-of-order segments held at most */
#define TCP_PSH_MARKS 16                 /* PSH marks on unsent data held at most (struct tcp_conn) */
#define TCP_EOR_MARKS 128                /* MSG_EOR record ends not yet acknowledged held at most */

/* MSG_EOR (Linux's TCP_SKB_CB(skb)->eor): where records end, in the order
 * written; no segment crosses one, first transmission or retransmission.
 * Allocated at the first such write. */
struct tcp_eor {
	tcp_seq end[TCP_EOR_MARKS];
	uint8_t head, n;
};
#define TCP_PSH_GOAL (65536u - 1 - 320)  /* Linux's size goal: GSO's 64 KiB less MAX_TCP_HEADER */
#define TCP_DUPTHRESH 3                  /* RFC 5681 §3.2, RFC 6675 */
#define TCP_COMP_SACK_NR 44              /* Linux's net.ipv4.tcp_comp_sack_nr */
#define TCP_COMP_SACK_DELAY_US 1000u     /* Linux's net.ipv4.tcp_comp_sack_delay_ns */
#define TCP_SACK_BLOCKS_EXPECTED 2       /* Linux's: SACK blocks an ACK is counted on to carry */
#define TCP_PAWS_24DAYS_MS (24u * 24 * 3600 * 1000)
#define TCP_PAWS_WINDOW 1                /* Linux's: TSval ticks behind TS.Recent that PAWS lets pass */
#define TCP_PAWS_MSL_MS 60000u           /* Linux's TCP_PAWS_MSL: a RST passes PAWS once TS.Recent is this old */

/* A received segment is a struct tcp_seg (stack/wire/tcp.h), checked and
 * decoded into host order (never the raw bytes). Its length in sequence space: */
static inline uint32_t tcp_seg_len(const struct tcp_seg *g)
{
	return g->len + !!(g->flags & TCP_SYN) + !!(g->flags & TCP_FIN);
}

/* One piece of out-of-order data, kept sorted by seq, never overlapping. */
struct tcp_ofo {
	struct tcp_ofo *next;
	tcp_seq seq;
	uint32_t len;
	bool charged;           /* charged to the budget (not covered by the ring's reservation) */
	uint8_t data[];
};

/* The congestion states, numbered as Linux's (TCP_INFO's tcpi_ca_state). */
enum tcp_ca_state {
	TCP_CA_OPEN = 0,
	TCP_CA_DISORDER = 1,                /* reported only (TCP_INFO): Open with SACKed, lost or resent data */
	TCP_CA_CWR = 2,                     /* the window comes down after an ECN echo (RFC 3168 §6.1.2) */
	TCP_CA_RECOVERY = 3,                /* fast recovery */
	TCP_CA_LOSS = 4,                    /* recovery after a retransmission timeout */
};

/*
 * A windowed minimum (Kathleen Nichols' algorithm, as Linux's lib/minmax.c
 * keeps tcp_min_rtt): the least value seen in the last `win` time units,
 * from the best three samples of the window's thirds. v 0: empty.
 */
struct tcp_minmax {
	struct {
		uint64_t t;
		uint32_t v;
	} s[3];
};
/* Takes sample v at time t; returns the window's minimum. */
uint32_t tcp_minmax_running_min(struct tcp_minmax *m, uint64_t win, uint64_t t, uint32_t v);
/* Linux's tcp_min_rtt_wlen (300 s): how long a least RTT stands. */
#define TCP_MIN_RTT_WLEN_US (300ull * 1000000)

struct tcp_conn {
	struct stack *s;
	enum tcp_state state;
	struct inpcb pcb;                   /* endpoints; links in the table's hashes */

	/* table links */
	struct tcp_conn *all_prev, *all_next;  /* in t->all, or in t->tw_head's list while in_tw */
	bool in_tw;
	struct tcp_conn *ackq_next;         /* owes an ACK at the end of this batch of frames */
	bool in_ackq;
	/* s->reads at the last read that took data: one while a batch's
	 * frames waited held them up (Linux's socket backlog; ack_soon). */
	uint64_t read_no;

	/* ownership */
	bool orphan;                        /* the application has closed it */
	unsigned shares;                    /* more holders than one (tcp_share): closes to absorb */
	struct sock_wakeup share_wake;      /* the other holder's events while shared (tcp_share) */
	bool was_connected;                 /* reached ESTABLISHED once */
	/* IP_TOS changed since the last segment went out: Linux's sk_dst_reset
	 * (__ip_sock_set_tos) leaves the socket no route until its next
	 * transmit looks one up (ip_queue_xmit): IP_MTU is ENOTCONN meanwhile. */
	bool dst_reset;
	bool port_locked;                   /* bind() named the port (Linux's SOCK_BINDPORT_LOCK) */
	bool active_open;
	struct tcp_conn *parent;            /* listener, while embryonic or in the accept queue */
	struct tcp_conn *qnext;             /* accept-queue / SYN-queue link */
	bool in_acceptq;
	/* RFC 7413 fast open, the server's side: a child the SYN's data made
	 * (Linux's fastopen_rsk), accepted and writable before the handshake
	 * ends; fo_listener counts it in its fast open queue until then. */
	bool tfo;
	bool syn_data_acked;                /* its SYN's data was taken (TCPI_OPT_SYN_DATA) */
	uint16_t syn_data;                  /* how many bytes that was */
	struct tcp_conn *fo_listener;
	/* The cookie the first SYN-ACK gives (fo_send_len 0: none); fo_exp: in
	 * the experimental option, as the SYN asked. */
	uint8_t fo_send_len;
	bool fo_exp;
	uint8_t fo_send[TCP_FASTOPEN_COOKIE_MAX];
	/* The client's side (Linux's fastopen_req, syn_fastopen): fo_syn_len
	 * is the option our first SYN carries (-1: none, 0: a cookie
	 * request, else the cookie fo_syn), in the experimental option with
	 * fo_syn_exp; fo_asked: our SYN carried one; fo_data: the bytes our
	 * first SYN carried; fo_defer: TCP_FASTOPEN_CONNECT's connect()
	 * holds the SYN for the first write. */
	int8_t fo_syn_len;
	bool fo_syn_exp, fo_asked, fo_asked_exp, fo_defer;
	uint16_t fo_data;
	uint8_t fo_syn[TCP_FASTOPEN_COOKIE_MAX];

	/* listener */
	int backlog;
	unsigned syn_count;                 /* children in SYN_RECEIVED */
	unsigned acc_count;
	unsigned fo_count;                  /* fast open children not yet established (tfo) */
	uint64_t acc_total;                 /* connections ever queued (tcp_rx_count) */
	struct tcp_conn *acc_head, *acc_tail;

	/* send sequence space (RFC 9293 §3.3.1) */
	tcp_seq iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
	uint32_t snd_wnd;                   /* scaled */
	uint32_t max_snd_wnd;
	tcp_seq snd_base;                   /* sequence number of sndq's first byte */
	tcp_seq snd_sml;                    /* end of the last new data sent in a short segment
					     * (Linux's snd_sml, for Minshall's Nagle check) */
	bool fin_queued;                    /* FIN after the queued data */
	/* What SIOCOUTQ and SIOCOUTQNSD still count once a reset or a
	 * timeout ended the connection (Linux's tcp_reset and tcp_write_err
	 * purge the write queue but leave write_seq, snd_una and snd_nxt). */
	uint32_t dead_outq, dead_nsd;
	/* Linux's max_window as tcp_disconnect finds it: kept across a
	 * disconnect (and each one moves write_seq on by it again). */
	uint32_t disc_wnd;
	/* And write_seq itself, which the next connect() takes as its ISN
	 * (tcp_v4_connect picks one only while write_seq is 0): snd_una kept
	 * across disconnects (disc_una) plus the gap (dead_outq). Used once. */
	tcp_seq disc_una, disc_seq;
	bool disc_seq_set;
	/* PSH as Linux sets it (tcp_output.c, tcp_psh_note_write): the unsent
	 * data as Linux's send buffers would hold it, each at most a size goal;
	 * the buffer that is the tail when a write ends carries PSH. The tail
	 * starts at psh_tail; psh_marks are the ends of the full buffers before
	 * it that carry PSH, oldest first. */
	tcp_seq psh_tail;
	tcp_seq psh_pushed;                 /* the last mark (Linux's pushed_seq) */
	bool psh_tail_marked;
	uint8_t psh_head, psh_n;
	tcp_seq psh_marks[TCP_PSH_MARKS];
	/* The head buffer of unsent data when it is off the size goal's grid
	 * (tcp_output.c, grow_head_limit): it ends at grow_head, the buffers
	 * after it were cut in steps of grow_goal. grow_on false: on the grid. */
	tcp_seq grow_head;
	uint32_t grow_goal;
	bool grow_on;
	struct tcp_eor *eor;                /* NULL: no MSG_EOR write yet */
	/* TCP_SAVE_SYN: the headers of the SYN that made this child (Linux's
	 * saved_syn), until TCP_SAVED_SYN reads them; NULL: none. */
	uint8_t *saved_syn;
	uint16_t saved_syn_len;
	/* The IP header of the SYN that made a passive connection, when it
	 * carried record route or timestamp options: like Linux's ireq_opt
	 * (tcp_v4_save_options), every segment of the connection carries
	 * them back (ip4_options_echo), ip_opts_len bytes, which each
	 * segment's payload leaves room for (icsk_ext_hdr_len). */
	uint8_t syn_iph[IP4_HLEN_MAX];
	uint8_t syn_iph_len, ip_opts_len;
	/* receive sequence space */
	tcp_seq irs, rcv_nxt, rcv_adv;      /* rcv_adv: right edge advertised */
	/* Linux's rcv_ssthresh: the most a window offers, whatever the room.
	 * It starts at our SYN's window and grows with the segments received
	 * (tcp_grow_window); 0: no such bound. */
	uint32_t rcv_ssthresh;
	/* Linux's window_clamp when the application set none: from the
	 * handshake's end (tcp_init_buffer_space) the buffer less one segment,
	 * then the buffer autotuning grows it to; 0: none yet. */
	uint32_t rcv_clamp;
	/* The receive buffer SO_RCVBUF had locked when the handshake ended
	 * (tcp_init_buffer_space took its window clamp from it; a size set
	 * later leaves that clamp alone); 0: none was locked then. */
	size_t rcvbuf_hs;
	/* A data segment of rcv_mss or more came: Linux measured its
	 * scaling ratio from it and set its window clamp again
	 * (tcp_measure_rcv_mss); before, TCP_WINDOW_CLAMP under SO_RCVBUF
	 * reads tcp_init_buffer_space's (rcvbuf_clamp). */
	bool rcv_ratio;
	tcp_seq rcv_wup;                    /* rcv_nxt in the last ACK sent */
	bool fin_rcvd;
	bool ofo_fin;
	tcp_seq ofo_fin_seq;

	/* negotiated */
	uint16_t mss;                       /* send MSS: payload per segment (tcp_sync_mss) */
	uint16_t mss_closed;                /* what TCP_MAXSEG says in CLOSE before any connection: a
					     * disconnect's predecessor's mss_cache (0: TCP_DEFAULT_MSS) */
	uint16_t mss_clamp;                 /* the peer's MSS, clamped by ours (0 before its SYN) */
	uint16_t pmtu;                      /* path MTU (RFC 1191), at most the link's */
	bool pmtu_locked;                   /* the route's MTU is locked (ip4_pmtu_locked): no DF */
	uint16_t advmss;                    /* ours */
	uint16_t rcv_mss;                   /* estimate of the peer's segment size */
	uint16_t last_seg_size;             /* the last short segment's size (icsk_ack.last_seg_size) */
	uint8_t snd_wscale, rcv_wscale;
	bool ws_ok, ts_ok, sack_ok;
	uint32_t ts_recent, ts_recent_ms;
	uint32_t ts_offset;
	uint32_t ts_last;                   /* the last TSval sent (ts_sent: one was): TSvals never go back */
	bool ts_sent;

	/* queues */
	struct tcp_ring sndq, rcvq;
	struct tcp_ofo *ofo;
	uint32_t ofo_bytes, ofo_count;
	/* The starts of the latest out-of-order arrivals, the most recent
	 * first (the SACK blocks go in this order, RFC 2018 §4); ofo_nlast
	 * of them are set. */
	tcp_seq ofo_last[TCP_SACK_BLOCKS];
	uint8_t ofo_nlast;
	bool dsack_on;                      /* a D-SACK block to report in the next ACK (RFC 2883) */
	tcp_seq dsack[2];

	/* RTT and RTO (RFC 6298), in microseconds */
	uint32_t srtt, rttvar, rto;
	/* Linux's tcp_rtt_estimator (tcp_update_rtt): mdev is 4 RTTVAR,
	 * rto_var the RTO's variance term, lowered once a round trip (when
	 * SND.UNA passes rto_var_seq) toward mdev_max, the round trip's
	 * largest mdev. */
	uint32_t mdev, mdev_max, rto_var;
	tcp_seq rto_var_seq;
	bool rtt_valid;
	bool rtt_timing;
	tcp_seq rtt_seq;
	uint64_t rtt_start;
	uint32_t min_rtt, last_rtt;         /* min_rtt: min_rtt_f's, over TCP_MIN_RTT_WLEN_US */
	struct tcp_minmax min_rtt_f;
	uint8_t retries;                    /* consecutive RTO expiries */
	uint8_t backoff;
	uint64_t first_rexmit_at;           /* Linux's retrans_stamp: when the first RTO resent (TCP_USER_TIMEOUT) */

	/* congestion control and recovery (tcp_rack.c) */
	struct tcp_cc cc;
	struct tcp_sb sb;                   /* the scoreboard of what is in flight */
	struct tcp_rack rack;
	struct tcp_prr prr;
	unsigned dupacks;                   /* without SACK: duplicate ACKs not yet covered (Linux's reno sacked_out) */
	bool in_recovery;
	tcp_seq recover;                    /* RFC 6582 recover, RFC 6675 RecoveryPoint - 1 */
	uint8_t ca_state;                   /* enum tcp_ca_state */
	/* The Open state is Linux's Disorder (TCP_INFO's ca_state 1): the
	 * last ACK left data SACKed or deemed lost, or a retransmission
	 * done (tcp_try_keep_open, on each ACK). */
	bool ca_disorder;
	/* Linux's undo of a recovery (tcp_may_undo): it was spurious when
	 * every retransmission of it is reported as a duplicate (D-SACK, RFC
	 * 3708), or an ACK echoes a timestamp older than its first
	 * retransmission (the original arrived: RFC 3522's test). Kept after
	 * the recovery ends, for D-SACKs that come later (tcp_try_undo_dsack
	 * in the Open state), until the next reduction. A timeout's Loss
	 * state is undone alike (tcp_try_undo_loss: RFC 3522's detection,
	 * RFC 4015's response). */
	bool undo_recovery;
	tcp_seq undo_marker;                /* SND.UNA when the recovery started */
	int32_t undo_retrans;               /* its retransmissions (segments) not D-SACKed yet; -1: none sent */
	bool retrans_stamped;               /* Linux's retrans_stamp as the undo reads it: the TS value ... */
	uint32_t retrans_tsval;             /* ... of the episode's first retransmission */
	bool sending_tlp;                   /* the tail loss probe goes out (no retransmission of the episode) */
	/* F-RTO (RFC 5682 §3.1, SACK-enhanced; Linux's tp->frto): the Loss
	 * state's timeout may yet prove spurious; frto_new: the ACK just taken
	 * lets new data go, not retransmissions (step 2.b, Linux's
	 * REXMIT_NEW), in the output that follows it. */
	bool frto, frto_new;
	uint32_t dsack_dups;                /* segments D-SACKed, ever (at most what was resent) */
	/* RFC 8985 §7 tail loss probe: rto_at holds the probe timeout (PTO)
	 * while pto_armed, RACK's reordering timer while reo_armed. One probe
	 * is outstanding at most (TLP.end_seq, §7.4). */
	bool pto_armed, reo_armed;
	bool tlp_out, tlp_is_retrans;
	tcp_seq tlp_end_seq;
	uint32_t tlp_probes, rto_count, fast_recoveries, persist_probes;
	uint32_t undo_cwnd, undo_ssthresh;
	uint32_t spurious_rtos, spurious_recoveries;
	/* ECN (RFC 3168; Linux's ecn_flags, tcp_rack.c and tcp_input.c) */
	bool ecn_ok;                        /* negotiated on the handshake */
	uint8_t handshake_ttl;              /* an accepted child's: the IP TTL of the segment that completed its handshake (0: not one) */
	uint8_t handshake_tos;              /* and that segment's TOS byte (Linux's rcv_tos) */
	bool ecn_syn;                       /* our SYN asks for it (PSTACK_TCP_ECN=1; not when resent) */
	bool ecn_seen;                      /* an ECT or CE mark came on data (TCP_ECN_SEEN) */
	bool ecn_demand_cwr;                /* a CE mark came: ECE on what we send until the peer's CWR */
	bool ecn_queue_cwr;                 /* the window came down: CWR on the next new data */
	tcp_seq cwr_high;                   /* CWR state ends once SND.UNA passes this (Linux's high_seq) */
	uint32_t ecn_reductions;            /* ECN echoes that reduced the window */
	uint64_t bytes_sent, bytes_retrans; /* data bytes, every transmission; those resent */

	/* delayed ACK and quick-ACK mode (Linux's icsk_ack, tcp_input.c) */
	bool ack_now;
	bool ack_nomem;                     /* text was dropped for want of room: the next ACK offers a zero window (ICSK_ACK_NOMEM) */
	bool ack_sched;                     /* data came that no ACK covered yet (inet_csk_ack_scheduled) */
	bool ack_pushed, ack_pushed2;       /* a segment shorter than rcv_mss came, once / twice (ICSK_ACK_PUSHED{,2}) */
	bool pingpong;                      /* interactive: our data answers the peer's, ACKs ride on it */
	uint8_t quick;                      /* ACKs still to send at once (icsk_ack.quick) */
	uint64_t lrcvtime;                  /* when data last came (0: never) */
	uint32_t ato;                       /* the delayed-ACK timeout, us (icsk_ack.ato; 0: no data yet) */
	/* SACK compression (Linux's __tcp_ack_snd_check): duplicate ACKs
	 * held back (compressed_ack), the ones sent at once for this RCV.NXT
	 * (dup_ack_counter, for compressed_ack_rcv_nxt), and comp_at, the
	 * timer that sends the one ACK for those held. */
	uint8_t comp_acks, comp_dups;
	tcp_seq comp_rcv_nxt;

	/* timers: absolute deadlines, STACK_NEVER when off */
	uint64_t rto_at, persist_at, delack_at, keep_at, tw_at, comp_at;
	uint64_t tw_since;                  /* when TIME_WAIT began (Linux's tw_entry_stamp: tcp_tw_reuse) */
	/* Its place in the table's timer heap (tcp_timer.c): the key it sits
	 * under (at most its earliest deadline; STACK_NEVER: not in the heap;
	 * 0: taken out by the running pass) and its index there. */
	uint64_t tmr_key;
	uint32_t tmr_idx;
	struct tcp_conn *tmr_due_next;      /* in the running pass's list of due connections */
	struct tcp_conn *txq_next;          /* in the table's queue of connections with more to send */
	bool in_txq;
	bool queue_bound;                   /* counted in tcp->queue_bound (tcp_sndbuf_expand) */
	uint64_t sndq_over_since;           /* since when sndq's allocation is above its limit's (0: it is not) */
	uint8_t probes;                     /* persist or keepalive probes unanswered */
	uint64_t probes_since;              /* first zero-window probe (Linux icsk_probes_tstamp), 0: none */
	uint64_t held_since;                /* first expiry with data a full link held back (the same), 0: none */
	uint64_t last_rcv_at, last_snd_at, last_ack_at;
	uint64_t last_oow_ack_at;           /* rate limit of ACKs to out-of-window ACKs */

	/* errors and shutdown */
	int err;                            /* pending error, negative errno */
	int soft_err;                       /* last ICMP error, reported if the connection times out */
	bool sws_override;                  /* the persist timer fired: send what the window allows */
	bool nagle_push;                    /* TCP_NODELAY was just set: what cork holds goes once (TCP_NAGLE_PUSH) */
	bool rd_shut, wr_shut;
	/* SHUT_RD (1) and SHUT_WR (2) that a shutdown() in CLOSE left: Linux's
	 * inet_shutdown answers ENOTCONN but sets sk_shutdown all the same,
	 * which connect() and listen() keep (an accepted child clones it) and
	 * only tcp_disconnect clears. A connection made with SHUT_RD reads
	 * 0 once its queue is empty, one with SHUT_WR cannot send (no FIN). */
	uint8_t shut_closed;

	/* urgent data (RFC 9293 §3.8.5, RFC 6093), as Linux keeps it */
	bool urg_mode;                      /* sending: snd_up is ahead of snd_una */
	tcp_seq snd_up;                     /* sending: one past the urgent byte */
	tcp_seq urg_seq;                    /* receiving: the urgent byte's sequence number */
	uint16_t urg_data;                  /* receiving: 0 or TCP_URG_* (with the byte when VALID) */

	struct sock_opts opt;               /* socket options (inherited from the listener) */
	bool more;                          /* MSG_MORE on the latest write: the partial tail waits */
	bool defer_acked;                   /* TCP_DEFER_ACCEPT: the handshake's bare ACK came (Linux's acked) */
	uint64_t rx_data_at;                /* when in-order data last came (receive timestamps), 0: never */
	/* The error queue (tcp_errq.c): the marks of send calls not yet
	 * reported, oldest first, and the entries to read. */
	struct tcp_txmark *marks, *marks_tail;
	uint32_t nmarks;
	struct tcp_errq_ent *errq, *errq_tail;
	uint32_t nerrq;
	/* receive buffer autotuning (Linux's tcp_rcv_space_adjust, rcvq_space) */
	uint64_t rcv_space_at;              /* start of the current measuring interval */
	uint32_t rcv_copied;                /* bytes the application read in it */
	uint32_t rcv_space;                 /* what it read in the last one that grew (tcpi_rcv_space) */
	/* The receiver's estimate of the round trip (Linux's rcv_rtt_est,
	 * tcp_input.c): eight times the least sample, 0: none yet; the
	 * measurement without timestamps under way (the sequence number that
	 * ends it, its start, 0: none); the last TSecr looked at. */
	uint32_t rcv_rtt8;
	tcp_seq rcv_rtt_seq;
	uint64_t rcv_rtt_at;
	uint32_t rcv_rtt_last_tsecr;

	struct sock_wakeup wake;

	/* counters for TCP_INFO (Linux's: bytes_acked counts the SYN and FIN
	 * acknowledged, bytes_received the FIN; segments count each MSS of a
	 * TSO frame) */
	uint64_t bytes_acked, bytes_received;
	uint32_t segs_in, segs_out, total_retrans;
	uint32_t data_segs_in, data_segs_out;
	uint32_t delivered, delivered_ce;   /* segments acknowledged or SACKed (the SYN's too) */
	uint32_t reord_seen, reordering;    /* reordering seen (ACKs), its largest extent (segments) */
	uint32_t rcv_ooopack;               /* segments received out of order */
	/* Linux's app_limited (tcp_rate.c): while set, segments sent are marked
	 * application-limited, until delivered passes it (~0 at the start);
	 * rate_app_limited: the last delivery sample's mark. */
	uint32_t app_limited;
	bool rate_app_limited;
	/* Linux's chrono (tcp_chrono_start/stop): what limits sending now,
	 * since chrono_at, and the time each has held (us); one at a time,
	 * the later in enum tcp_chrono winning. */
	uint8_t chrono;                     /* enum tcp_chrono */
	bool nospace;                       /* a send found the buffer full (Linux's SOCK_NOSPACE) */
	uint64_t chrono_at;
	uint64_t chrono_us[3];
	/* Linux's total_rto, total_rto_recoveries, total_rto_time: every
	 * retransmission timeout (the handshake's too), the runs of them
	 * (from the first to the ACK that ends it), their time; rto_stamp is
	 * the current run's start (0: none). */
	uint32_t rto_total, rto_recoveries;
	uint64_t rto_time_us, rto_stamp;
	/* Linux's timeout_rehash: the timeouts that did not end the
	 * connection and rethought its path (sk_rethink_txhash, which
	 * SO_TXREHASH 0 turns off). */
	uint32_t timeout_rehash;
	/* Linux's received_ce and received_ecn_bytes (AccECN's counters,
	 * which TCP_INFO shows in every ECN mode): the CE-marked segments and
	 * the payload bytes of each ECN codepoint (ECT(1), ECT(0), CE) that an
	 * established connection took past its sequence, RST and SYN checks. */
	uint32_t received_ce;
	uint32_t received_ecn_bytes[3];
};

/* Linux's tp->advmss once the handshake is done: the MSS we offered less
 * the timestamp option every segment then carries (what the peer's full
 * segments hold). */
/* Linux's tcp_skb_pcount(): the segments len bytes make, one at least (a
 * TSO frame counts each of its own). */
static inline uint32_t tcp_pcount(uint32_t len, uint32_t mss)
{
	return mss && len > mss ? (len + mss - 1) / mss : 1;
}

static inline uint16_t tcp_advmss_data(const struct tcp_conn *c)
{
	return (uint16_t)(c->advmss - (c->ts_ok ? 12 : 0));
}

/* urg_data (Linux's values): the byte in the low 8 bits once VALID. */
#define TCP_URG_VALID  0x0100
#define TCP_URG_NOTYET 0x0200   /* the pointer came, the byte not yet */
#define TCP_URG_READ   0x0400   /* read with MSG_OOB */

/* The sequence number of the next byte the application reads (Linux's
 * copied_seq): the receive ring holds the bytes up to RCV.NXT, before the FIN. */
static inline tcp_seq tcp_copied_seq(const struct tcp_conn *c)
{
	return c->rcv_nxt - (c->fin_rcvd ? 1u : 0u) - (uint32_t)c->rcvq.len;
}

static inline struct tcp_conn *tcp_conn_of(struct inpcb *p)
{
	return p ? (struct tcp_conn *)(void *)((char *)p - offsetof(struct tcp_conn, pcb)) : NULL;
}

/* A TIME_WAIT record waiting to become a connection (tcp_tw.c). */
struct tcp_tw_held {
	struct tcp_tw_rec rec;              /* as it came; its TS fields as of `at` */
	uint64_t at;                        /* when it was taken */
	uint64_t until;                     /* the end of its wait */
	bool gone;                          /* made a connection, or its wait ended */
};

struct tcp_tw_pending {
	struct tcp_tw_held *v;              /* in deadline order */
	uint32_t n, head, live;             /* head: none before it is live */
	uint64_t *ports;                    /* a bit per local port some live record holds */
};

/* A destination's fast open record (Linux's tcp_fastopen_metrics). */
#define TCP_FO_CACHE_MAX 16
struct tcp_fo_entry {
	uint32_t addr;                      /* 0: a free entry */
	uint64_t used;                      /* last looked up or set (LRU) */
	uint64_t last_syn_loss;             /* when a SYN with data was last lost */
	uint16_t mss;                       /* the MSS the server's SYN-ACK announced (0: none) */
	uint8_t syn_loss;                   /* SYNs with data lost in a row */
	uint8_t try_exp;                    /* 1: ask in the experimental option next, 2: not again */
	uint8_t len;                        /* the cookie's length (0: none) */
	bool exp;                           /* it came in the experimental option */
	uint8_t cookie[TCP_FASTOPEN_COOKIE_MAX];
};

struct tcp_table {
	struct inpcb_table pcbs;            /* demultiplexing, bound ports, listeners */
	struct tcp_conn *all;               /* every connection not in TIME_WAIT */
	/* Connections in TIME_WAIT, oldest first (all wait the same 2 MSL, so
	 * the list is in deadline order; a busy server that closes first holds
	 * tens of thousands). */
	struct tcp_conn *tw_head, *tw_tail;
	/* TIME_WAIT records taken over from the stack that held the device
	 * before (tcp_tw_adopt), kept as records until something looks at
	 * their ports: a process that starts with a thousand of them pays for
	 * none it does not touch (tcp_tw.c). */
	struct tcp_tw_pending tw_pend;
	/* The timer heap (tcp_timer.c): every connection with a timer armed,
	 * a 4-ary min-heap on tmr_key, so that a timer pass costs in the due
	 * connections (O(log n) each), never a walk over every connection.
	 * Each entry holds its key: a sift compares keys in the array, not in
	 * the connections (10,000 connections: a cache miss per comparison
	 * was a tenth of the stack's time). tmr_cap >= live: an insertion
	 * never allocates. */
	struct tcp_tmr_ent *tmr_heap;
	uint32_t tmr_n, tmr_cap;
	struct tcp_conn *tmr_due, *tmr_due_tail;  /* taken out of the heap by the running pass */
	uint64_t tmr_runs;                  /* connections whose timers a pass ran (tests) */
	/* Connections owing an ACK for frames of the current receive batch
	 * that waited while they were read (tcp_conn.read_batch): the next
	 * tcp_timers() sends each one ACK. */
	struct tcp_conn *ackq;
	/* Connections with data queued whose window is mostly queue: their
	 * send buffers share TCP_SNDBUF_QUEUE_SHARE (tcp_sndbuf_expand). */
	unsigned queue_bound;
	size_t live;
	uint64_t challenge_sec;             /* second of the current challenge-ACK budget, + 1 (0: none) */
	uint32_t challenge_count;           /* challenge ACKs left in it */
	uint64_t cookie_at;                 /* when a SYN cookie was last sent (0: never) */
	/* Connections that used their burst with more to send, served in turn
	 * by tcp_timers() (round robin), so that one connection cannot hold the
	 * stack thread away from its input (like Linux's TCP small queues). */
	struct tcp_conn *txq_head, *txq_tail;
	uint64_t segs_sent;
	struct tcp_mem mem;                 /* every ring and out-of-order block (PSTACK_TCP_MEM) */
	/* RFC 7413 §4.1.3: what servers said of fast open, per destination
	 * (Linux keeps it in tcp_metrics): bounded, the least recently used
	 * entry makes room. */
	struct tcp_fo_entry fo_cache[TCP_FO_CACHE_MAX];
};

/* ---- tcp_subr.c: the table and a connection's life ---- */
struct tcp_conn *tcp_conn_new(struct stack *s);
/* The one place state changes (tracing; moves c to or from the TIME_WAIT list). */
void tcp_set_state(struct tcp_conn *c, enum tcp_state st);
/* Connection reached CLOSED: leaves the tables; freed when the application
 * has let go (or never had it). Returns true when c was freed. */
bool tcp_done(struct tcp_conn *c);
/* What a connection in TIME_WAIT (or an orphan's FIN_WAIT_2) needs to go on
 * waiting elsewhere (tcp_tw_import). */
void tcp_tw_record(const struct tcp_conn *c, struct tcp_tw_rec *r, uint64_t now);
/* tcp_tw.c: may connect() take over w's 4-tuple, w waiting out TIME_WAIT
 * (or an orphan's FIN_WAIT_2)? port_named: bind() named the port, else
 * connect() picks it (net.ipv4.tcp_tw_reuse and its delay apply). The
 * second, on the endpoint table's entry: its tw_reusable. */
bool tcp_tw_reusable(const struct tcp_conn *w, bool port_named, uint64_t now);
bool tcp_tw_reusable_pcb(struct stack *s, const struct inpcb *p);
/* tcp_done() with a pending error (0: none). True when c was freed. */
bool tcp_abort(struct tcp_conn *c, int err);
void tcp_wake(struct tcp_conn *c);
struct tcp_conn *tcp_lookup(struct stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport);
struct tcp_conn *tcp_lookup_listener(struct stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport);
/* A TIME_WAIT connection whose 2 MSL restarted goes to the back of the list. */
void tcp_tw_requeue(struct tcp_conn *c);
/* tcp_tw.c, the records tcp_tw_adopt() took: inpcb's port_touch (the
 * live records on port become connections); the end of the records whose
 * wait is over; when the next one ends (STACK_NEVER: none); freed. */
void tcp_tw_pending_port(struct stack *s, uint16_t port);
void tcp_tw_pending_expire(struct stack *s, uint64_t now);
uint64_t tcp_tw_pending_at(const struct stack *s);
void tcp_tw_pending_free(struct tcp_table *t);
/* Takes c off listener l's accept queue. */
void tcp_acceptq_remove(struct tcp_conn *l, struct tcp_conn *c);
/* Moves an embryonic child to its listener's accept queue. */
void tcp_child_established(struct tcp_conn *c);
/* A fast open child is established or gone: it leaves its listener's fast
 * open queue (Linux's reqsk_fastopen_remove). */
void tcp_fastopen_release(struct tcp_conn *c);
/* ---- tcp_fastopen.c: the client's side of fast open ---- */
/* Linux's tcp_fastopen_cookie_check for c's SYN: sets c->fo_syn_len
 * (and the cookie) and returns whether the SYN may carry data; *mss the
 * MSS the server announced before, when cached. */
bool tcp_fo_client_check(struct tcp_conn *c, uint16_t *mss, uint64_t now);
/* Linux's tcp_rcv_fastopen_synack's record of the SYN-ACK g to c's SYN. */
void tcp_fo_synack(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now);
/* A listener stops: its accept queue is reset, its embryonic children go. */
void tcp_close_children(struct tcp_conn *l, uint64_t now);
/* RFC 7323 §5.4 / RFC 6191: the TS clock's offset for an address pair,
 * keyed with the stack's secret, so that TS values keep increasing across
 * successive connections between the same two hosts. */
uint32_t tcp_ts_offset(const struct stack *s, uint32_t laddr, uint32_t raddr);
/* Charges the receive ring for what it holds and what the advertised window
 * still promises (tcp_ring_reserve), after the window or the ring changed. */
void tcp_rcv_reserve(struct tcp_conn *c);
uint32_t tcp_rcv_space(const struct tcp_conn *c);
/* Linux 6.18's tcp_rcvbuf_grow (tcp_usrreq.c): the application read newval
 * bytes in the last measuring interval (tcpi_rcv_space); the buffer grows to
 * take twice that and its growth, and the out-of-order data's span. */
void tcp_rcvbuf_grow(struct tcp_conn *c, uint32_t newval);
uint32_t tcp_rcv_space_offer(const struct tcp_conn *c);
/*
 * The space a buffer the application sized with SO_RCVBUF gives a SYN's
 * window and the window scale: Linux's tcp_full_space() before any
 * segment has come, its sk_rcvbuf (twice the size set) at
 * TCP_DEFAULT_SCALING_RATIO, half of it for the buffers' overhead. The ring
 * holds the doubled size as payload; the window grows into it as segments
 * come (rcv_ssthresh, grow_window), as Linux's does once its scaling ratio
 * follows what its segments cost. 18980 offered for SO_RCVBUF 20000, as
 * Linux's selftests tcp_rcv_toobig_back_to_back.pkt and others expect.
 */
static inline uint32_t tcp_rcvbuf_full_space(size_t limit)
{
	return (uint32_t)(limit / 2 < UINT32_MAX ? limit / 2 : UINT32_MAX);
}
/* The window a SYN or SYN-ACK offers (Linux's tcp_select_initial_window):
 * the receive space rounded down to a multiple of mss, at most 65535. */
uint32_t tcp_initial_window(uint32_t space, uint32_t mss);
/* tcp_initial_window for the connection's SYN (synack false: the MSS we
 * announce; also our SYN-ACK in a simultaneous open, which Linux sends with
 * the window of its SYN) or a listener's child's SYN-ACK (synack true: less
 * the timestamp option when it is on). */
uint32_t tcp_syn_window(const struct tcp_conn *c, bool synack);
/* The window a SYN offered stands: the right edge at RCV.NXT + wnd, and
 * rcv_ssthresh from it (Linux: rcv_ssthresh = rcv_wnd). */
static inline void tcp_syn_window_set(struct tcp_conn *c, uint32_t wnd)
{
	c->rcv_adv = c->rcv_nxt + wnd;
	c->rcv_ssthresh = wnd;
}
/* The room the next window may offer before rounding (Linux's
 * __tcp_select_window): tcp_rcv_space_offer, at most rcv_ssthresh. */
uint32_t tcp_rcv_space_select(const struct tcp_conn *c);
/* The send MSS from the path MTU, the peer's MSS and the options in use. */
void tcp_sync_mss(struct tcp_conn *c);
/* Our window scale for a SYN (RFC 7323 §2.3), from the largest receive buffer. */
uint8_t tcp_pick_wscale(const struct tcp_conn *c);
/* Send buffer autotuning (Linux's tcp_sndbuf_expand), up to tcp_wmem[2]. */
void tcp_sndbuf_expand(struct tcp_conn *c);
/* Whether a writer may go on (Linux's __sk_stream_is_writeable with
 * wake): free space at least half the queued bytes, and under
 * TCP_NOTSENT_LOWAT twice the unsent bytes below the mark. */
bool tcp_sndbuf_writable(const struct tcp_conn *c);
/* Linux's tcp_check_space and sk_stream_write_space, after an ACK freed
 * room or new data went out: a writer that found no room (nospace) is
 * woken once it may go on, once. */
void tcp_check_space(struct tcp_conn *c, uint64_t now);
/* Counts c among the connections whose send buffers share
 * TCP_SNDBUF_QUEUE_SHARE, or not (false when its send queue goes). */
void tcp_set_queue_bound(struct tcp_conn *c, bool on);
void tcp_ofo_purge(struct tcp_conn *c);

/* ---- tcp_input.c ---- */
/* Linux's tcp_enter_quickack_mode(): the next ACKs (up to max) go at once. */
void tcp_enter_quickack_mode(struct tcp_conn *c, unsigned max);
int tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst, bool csum_ok, struct tcp_seg *g);
/* Frees one out-of-order block, giving its charge back. */
void tcp_ofo_free(struct tcp_conn *c, struct tcp_ofo *o);
/* The same after the application read, with the FIN it may complete and an ACK. */
void tcp_ofo_deliver(struct tcp_conn *c, uint64_t now);

/* ---- tcp_output.c ---- */
/* ECN codepoints (RFC 3168 §5), the IP header's two low TOS bits. */
#define TCP_ECN_NOT_ECT 0
#define TCP_ECN_ECT1 1
#define TCP_ECN_ECT0 2
#define TCP_ECN_CE 3
uint32_t tcp_ts_now(const struct tcp_conn *c, uint64_t now);
/* Linux's size goal (tcp_xmit_size_goal): the size of the send buffers a
 * write fills, whole segments, at most half the peer's largest window. */
uint32_t tcp_size_goal(const struct tcp_conn *c);
/* The application queued [start, end): where PSH goes (Linux's tcp_mark_push). */
void tcp_psh_note_write(struct tcp_conn *c, tcp_seq start, tcp_seq end);
/* Sends whatever the windows, Nagle and the queues allow (at most
 * TCP_TX_BURST segments; the rest waits its turn in the table's txq). */
void tcp_output(struct tcp_conn *c, uint64_t now);
/* The same with another burst size (TCP_APP_BURST from the application's
 * calls: the stack thread sends the rest, in parallel with the application). */
void tcp_output_burst(struct tcp_conn *c, uint64_t now, int budget);
void tcp_send_ack(struct tcp_conn *c, uint64_t now);
/* The ACK answering g without a full socket in Linux (TIME_WAIT, a request). */
void tcp_send_ack_answer(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now);
/* The index, among the SACK blocks the next ACK would report, of the one
 * an out-of-order [seq, end) joins, or their number for a new one. */
unsigned tcp_sack_block_of(const struct tcp_conn *c, tcp_seq seq, tcp_seq end);
void tcp_send_syn(struct tcp_conn *c, uint64_t now);
/* RST from a connection: <SEQ=SND.MAX><CTL=RST,ACK> (see acceptable_seq()). */
void tcp_send_rst(struct tcp_conn *c, uint64_t now);
/* RFC 9293 §3.10.7.1: the reset that answers seg when there is no connection. */
void tcp_send_rst_reply(struct stack *s, const struct tcp_seg *g, uint64_t now);
/* RFC 4987 §3.6: the stateless SYN-ACK to SYN g, with the cookie as our ISN
 * and rcvbuf (the listener's receive buffer) as the window; opts holds the
 * options (and ECE) it carries besides our MSS; tos and ttl (IP_TTL, 0 the
 * default) are the listener's. */
void tcp_send_cookie_synack(struct stack *s, const struct tcp_seg *g, tcp_seq cookie, size_t rcvbuf,
			    const struct tcp_seg *opts, uint8_t tos, uint8_t ttl, uint64_t now);
/* Retransmits one segment at seq (at most one MSS, within the window
 * unless it is the first unacknowledged one). false when nothing went out. */
bool tcp_retransmit_at(struct tcp_conn *c, tcp_seq seq, uint64_t now);
/* A window probe or keepalive: <SEQ=SND.UNA-1><CTL=ACK>, no data. */
void tcp_send_probe(struct tcp_conn *c, uint64_t now);
/* The probe timeout fired: sends the probe and arms the real RTO. */
void tcp_send_tlp(struct tcp_conn *c, uint64_t now);
/* End of queued data in sequence space (after the FIN when queued). */
static inline tcp_seq tcp_snd_end(const struct tcp_conn *c)
{
	return c->snd_base + (uint32_t)c->sndq.len;
}

/* ---- tcp_timer.c ---- */
/* Arms the retransmission timer (or the tail loss probe before it). */
/* TCP_INFO's busy_time, rwnd_limited and sndbuf_limited (Linux's enum
 * tcp_chrono): data queued and not yet all acknowledged; sending stopped
 * by the peer's window; the program stopped by a full send buffer. */
enum tcp_chrono { TCP_CHRONO_NONE, TCP_CHRONO_BUSY, TCP_CHRONO_RWND, TCP_CHRONO_SNDBUF };
void tcp_chrono_start(struct tcp_conn *c, enum tcp_chrono type, uint64_t now);
void tcp_chrono_stop(struct tcp_conn *c, enum tcp_chrono type, uint64_t now);
void tcp_rto_note(struct tcp_conn *c, uint64_t now);
void tcp_rto_done(struct tcp_conn *c, uint64_t now);
void tcp_arm_rto(struct tcp_conn *c, uint64_t now);
/* The RTO backed off by the timeouts in a row, at most TCP_RTO_MAX (Linux's icsk_rto). */
uint64_t tcp_backed_off_rto(const struct tcp_conn *c);
/* RFC 8985 §7.3: after a probe (or an attempt the window refused), the RTO itself. */
void tcp_arm_rto_after_probe(struct tcp_conn *c, uint64_t now);
/* After RACK's reordering timer fired (Linux's tcp_rearm_rto from
 * tcp_rack_reo_timeout): the RTO, no probe, counted from the first
 * unacknowledged segment's latest transmission. */
void tcp_rearm_rto_from_head(struct tcp_conn *c, uint64_t now);
/* After an ACK's recovery steps: a loss probe it armed where none is
 * allowed any more (Disorder, recovery) is the RTO; an RTO it armed where
 * a probe is allowed again (Open) is the probe. */
void tcp_recheck_tlp(struct tcp_conn *c, uint64_t now);
/* After new data went out: moves the tail loss probe to the latest transmission. */
void tcp_schedule_tlp(struct tcp_conn *c, uint64_t now);
/* RACK's reordering timer (RFC 8985 §6.2 step 5) in us, in place of the RTO. */
void tcp_arm_reo(struct tcp_conn *c, uint64_t now, uint32_t us);
/* The retransmission timer after a SACK reneging: half an RTT, 10 ms at least. */
void tcp_arm_rto_reneging(struct tcp_conn *c, uint64_t now);
/* Arms the persist timer at the backed-off RTO (RFC 9293 §3.8.6.1). */
void tcp_arm_persist(struct tcp_conn *c, uint64_t now);
/* Data waits, none in flight, and the link is full: the timer that ends
 * the connection at TCP_USER_TIMEOUT (set) all the same. */
void tcp_arm_held(struct tcp_conn *c, uint64_t now);
/* c owes an ACK: it goes out once the current receive batch ends. */
void tcp_ackq_add(struct tcp_conn *c);
void tcp_ackq_remove(struct tcp_conn *c);
/* c used its burst with more to send: the timer pass serves it in turn. */
void tcp_txq_add(struct tcp_conn *c);
void tcp_txq_remove(struct tcp_conn *c);
#define TCP_TMR_NONE UINT32_MAX           /* tmr_idx: not in the heap */
/* Puts c in the timer heap under key when, or moves it up to it (never
 * down: a later deadline is found when the earlier key comes due). */
void tcp_timer_sched(struct tcp_conn *c, uint64_t when);
/* The same with c's earliest deadline (after its timers or state changed). */
void tcp_timer_resched(struct tcp_conn *c);
struct tcp_tmr_ent {
	uint64_t key;           /* the connection's tmr_key */
	struct tcp_conn *c;
};
#define TCP_TMR_ARITY 4

/* Takes c out of the timer heap (it is being freed). */
void tcp_timer_unsched(struct tcp_conn *c);
/* Room in the heap for one more connection: 0 or -ENOMEM. */
int tcp_timer_reserve(struct tcp_table *t);
void tcp_timer_fini(struct tcp_table *t);
/* Arms one of c's timers; keeps c's place in the heap at most its deadline. */
static inline void tcp_timer_set(struct tcp_conn *c, uint64_t *field, uint64_t when)
{
	*field = when;
	if (when < c->tmr_key)
		tcp_timer_sched(c, when);
	if (field == &c->tw_at && c->in_tw)
		tcp_tw_requeue(c);
}

/* ---- tcp_errq.c: the error queue (tcp.h, tcp_mark_send) ---- */
#define TCP_MARKS_MAX 65536              /* send calls awaiting their report, at most */
#define TCP_ERRQ_MAX 1024                /* entries waiting to be read, at most (Linux: the receive buffer) */
/* [seq, seq + len) goes out for the first time at now. */
void tcp_errq_sent(struct tcp_conn *c, tcp_seq seq, uint32_t len, uint64_t now);
/* SND.UNA moved: the marks it passed report. */
void tcp_errq_acked(struct tcp_conn *c, uint64_t now);
/* The connection is over: pending zerocopy completions report (Linux frees
 * the buffers then), the timestamps never will. */
void tcp_errq_done(struct tcp_conn *c);
void tcp_errq_free(struct tcp_conn *c);

/* ---- tcp_timer.c (options) ---- */
/* How long an orphan stays in FIN_WAIT_2 (Linux's tcp_fin_time): TCP_LINGER2
 * or tcp_fin_timeout, at least 3.5 RTO. */
uint64_t tcp_fin_time(const struct tcp_conn *c);

/* For tests: live control blocks in this stack. */
size_t tcp_conn_count(const struct stack *s);

/* Linux's tp->bytes_acked: the sequence space acknowledged, our SYN on an
 * active open (a child's count starts after its SYN-ACK) and our FIN
 * included. */
static inline uint64_t tcp_seq_acked(const struct tcp_conn *c)
{
	return c->bytes_acked + (c->was_connected && c->active_open ? 1 : 0) +
	       (seq_gt(c->snd_una, c->snd_base) ? 1 : 0);
}

/* RFC 5961 §5.2: an ACK below SND.UNA - MAX.SND.WND acknowledges nothing
 * that may still be in flight; Linux's tcp_ack (since 6.7, "tcp: do not
 * accept ACK of bytes we never sent") also takes MAX.SND.WND no larger
 * than what was ever acknowledged, so that a young connection with a huge
 * scaled window does not take ACKs of data it never sent. */
static inline bool tcp_ack_too_old(const struct tcp_conn *c, tcp_seq ack)
{
	uint64_t acked = tcp_seq_acked(c);
	uint32_t max_wnd = acked < c->max_snd_wnd ? (uint32_t)acked : c->max_snd_wnd;

	return seq_lt(ack, c->snd_una - max_wnd);
}

/* The most the retransmission timer backs off to (Linux's tcp_rto_max):
 * TCP_RTO_MAX_MS, or the namespace's tcp_rto_max_ms (Linux copies it into
 * the socket at its creation, tcp_init_sock; a child has its listener's). */
static inline uint64_t tcp_rto_max_us(const struct tcp_conn *c)
{
	return (uint64_t)(c->opt.rto_max_ms ? c->opt.rto_max_ms : c->s->cfg.tcp_rto_max_ms) * 1000;
}

/* TCP_NOTSENT_LOWAT, or the namespace's tcp_notsent_lowat (0: no limit). */
static inline uint32_t tcp_notsent_lowat(const struct tcp_conn *c)
{
	return c->opt.notsent_lowat ? c->opt.notsent_lowat : c->s->cfg.tcp_notsent_lowat;
}

/* The keep-alive timers a connection runs on: its own (TCP_KEEPIDLE,
 * TCP_KEEPINTVL, TCP_KEEPCNT) or, unset, the stack's configuration's (the
 * namespace's tcp_keepalive_time, _intvl, _probes: Linux's keepalive_time_when
 * and its siblings). Seconds, and a count. */
static inline uint32_t tcp_keepidle_s(const struct tcp_conn *c)
{
	return c->opt.keepidle ? (uint32_t)c->opt.keepidle : c->s->cfg.tcp_keepalive_time_s;
}

static inline uint32_t tcp_keepintvl_s(const struct tcp_conn *c)
{
	return c->opt.keepintvl ? (uint32_t)c->opt.keepintvl : c->s->cfg.tcp_keepalive_intvl_s;
}

static inline uint32_t tcp_keepcnt(const struct tcp_conn *c)
{
	return c->opt.keepcnt ? (uint32_t)c->opt.keepcnt : c->s->cfg.tcp_keepalive_probes;
}

#endif
