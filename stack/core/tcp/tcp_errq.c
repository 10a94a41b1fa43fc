/*
 * TCP's error queue, as Linux keeps sk_error_queue on a TCP socket: the send
 * timestamps of SO_TIMESTAMPING (Documentation/networking/timestamping.rst:
 * SCM_TSTAMP_SCHED and SCM_TSTAMP_SND when the last byte of a send call
 * first leaves, SCM_TSTAMP_ACK when it is acknowledged) and the completions
 * of MSG_ZEROCOPY sends (msg_zerocopy.rst: a range of send calls whose
 * buffers the kernel no longer needs, once their data is acknowledged).
 *
 * A send call that wants either marks its last byte (tcp_mark_send). The
 * marks wait in sequence order; output reports the first transmission of a
 * marked byte (tcp_errq_sent), input the acknowledgment (tcp_errq_acked).
 * The shim reads the entries (tcp_recv_err) and turns them into the control
 * messages of recvmsg(MSG_ERRQUEUE).
 */
#include "stack/core/tcp/tcp.h"

#include <errno.h>
#include <stdlib.h>

#include "stack/core/lockcheck.h"
#include "stack/core/tcp/tcp_priv.h"

/* A send call's last byte, waiting for its reports. */
struct tcp_txmark {
	struct tcp_txmark *next;
	tcp_seq key;                /* the last byte's sequence number */
	unsigned ts;                /* TCP_TS_* still to report */
	bool zc;                    /* a zerocopy completion for ids [zc_lo, zc_hi] */
	uint32_t zc_lo, zc_hi;
};

struct tcp_errq_ent {
	struct tcp_errq_ent *next;
	struct tcp_err_info e;
};

static void errq_push(struct tcp_conn *c, const struct tcp_err_info *e)
{
	struct tcp_errq_ent *q;

	/* Linux's skb_zerocopy_notify_extend(): a completion that continues
	 * the one at the tail of the queue (not read yet) extends it. */
	if (e->kind == TCP_ERR_ZEROCOPY && c->errq_tail && c->errq_tail->e.kind == TCP_ERR_ZEROCOPY &&
	    c->errq_tail->e.hi + 1 == e->lo) {
		c->errq_tail->e.hi = e->hi;
		return;
	}
	/* Linux drops what the socket's receive buffer cannot hold (sock_queue_err_skb). */
	if (c->nerrq >= TCP_ERRQ_MAX)
		return;
	q = malloc(sizeof(*q));
	if (!q)
		return;
	q->e = *e;
	q->next = NULL;
	if (c->errq_tail)
		c->errq_tail->next = q;
	else
		c->errq = q;
	c->errq_tail = q;
	c->nerrq++;
	tcp_wake(c);
}

static void push_tstamp(struct tcp_conn *c, const struct tcp_txmark *m, unsigned tstype, uint64_t at)
{
	struct tcp_err_info e = { .kind = TCP_ERR_TSTAMP, .tstype = tstype, .key = m->key, .at = at };

	errq_push(c, &e);
}

static void push_zc(struct tcp_conn *c, const struct tcp_txmark *m)
{
	struct tcp_err_info e = { .kind = TCP_ERR_ZEROCOPY, .lo = m->zc_lo, .hi = m->zc_hi };

	errq_push(c, &e);
}

/* The first transmission of m's byte, at `at`: SCHED (the stack has no
 * queueing discipline: the same moment), then SND, Linux's order. */
static void report_sent(struct tcp_conn *c, struct tcp_txmark *m, uint64_t at)
{
	if (m->ts & TCP_TS_SCHED)
		push_tstamp(c, m, 1, at);
	if (m->ts & TCP_TS_SND)
		push_tstamp(c, m, 0, at);
	m->ts &= ~(unsigned)(TCP_TS_SCHED | TCP_TS_SND);
}

int tcp_mark_send(struct tcp_conn *c, unsigned ts, bool zc, uint32_t zc_id, uint64_t now)
{
	tcp_seq end = tcp_snd_end(c);
	struct tcp_txmark *m, *t = c->marks_tail;

	stack_assert_locked();
	/* The caller queued the call's bytes just now: the last one is in the ring. */
	if ((!ts && !zc) || !c->sndq.len)
		return 0;
	/* A zerocopy-only call right after another whose byte has not left
	 * yet joins it (Linux's msg_zerocopy_realloc() extends the tail
	 * buffer's range), so a burst of small sends costs one mark. */
	if (!ts && t && !t->ts && t->zc && t->zc_hi + 1 == zc_id && seq_geq(t->key, c->snd_max)) {
		t->key = end - 1;
		t->zc_hi = zc_id;
		return 0;
	}
	if (c->nmarks >= TCP_MARKS_MAX)
		return -ENOBUFS;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOBUFS;
	m->key = end - 1;
	m->ts = ts;
	m->zc = zc;
	m->zc_lo = m->zc_hi = zc_id;
	/* Sent already (tcp_send transmits at once): its time is the
	 * scoreboard's record of that transmission. */
	if (seq_lt(m->key, c->snd_max)) {
		uint32_t i = tcp_sb_find(&c->sb, m->key);

		report_sent(c, m, i < c->sb.n ? tcp_sb_at(&c->sb, i)->xmit_at : now);
	}
	if (t)
		t->next = m;
	else
		c->marks = m;
	c->marks_tail = m;
	c->nmarks++;
	return 0;
}

void tcp_errq_sent(struct tcp_conn *c, tcp_seq seq, uint32_t len, uint64_t now)
{
	tcp_seq end = seq + len;

	for (struct tcp_txmark *m = c->marks; m && seq_lt(m->key, end); m = m->next) {
		if (seq_geq(m->key, seq) && seq_geq(m->key, c->snd_max) && (m->ts & (TCP_TS_SCHED | TCP_TS_SND)))
			report_sent(c, m, now);
	}
}

/* Takes the first mark off the list. */
static struct tcp_txmark *pop_mark(struct tcp_conn *c)
{
	struct tcp_txmark *m = c->marks;

	c->marks = m->next;
	if (!c->marks)
		c->marks_tail = NULL;
	c->nmarks--;
	return m;
}

void tcp_errq_acked(struct tcp_conn *c, uint64_t now)
{
	while (c->marks && seq_lt(c->marks->key, c->snd_una)) {
		struct tcp_txmark *m = pop_mark(c);

		/* A first transmission that went unreported (none should)
		 * is reported now, rather than never. */
		report_sent(c, m, now);
		if (m->ts & TCP_TS_ACK)
			push_tstamp(c, m, 2, now);
		if (m->zc)
			push_zc(c, m);
		free(m);
	}
}

void tcp_errq_done(struct tcp_conn *c)
{
	while (c->marks) {
		struct tcp_txmark *m = pop_mark(c);

		if (m->zc)
			push_zc(c, m);
		free(m);
	}
}

void tcp_errq_free(struct tcp_conn *c)
{
	while (c->marks)
		free(pop_mark(c));
	while (c->errq) {
		struct tcp_errq_ent *q = c->errq;

		c->errq = q->next;
		free(q);
	}
	c->errq_tail = NULL;
	c->nerrq = 0;
}

int tcp_recv_err(struct tcp_conn *c, struct tcp_err_info *e)
{
	struct tcp_errq_ent *q = c->errq;

	stack_assert_locked();
	if (!q)
		return -EAGAIN;
	c->errq = q->next;
	if (!c->errq)
		c->errq_tail = NULL;
	c->nerrq--;
	*e = q->e;
	free(q);
	return 0;
}
