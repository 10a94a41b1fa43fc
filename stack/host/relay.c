/*
 * The relay between an exposed socket's kernel fd and its stack connection
 * (relay.h). Every field below "the claimer's" is touched only by the thread
 * that holds the relay's claim: the stack thread (relay_collect under the
 * lock, relay_io without it), or a program's thread that pumps it
 * (relay_pump_begin under the lock, relay_pump_end without it); the others
 * are under the stack lock.
 */
#include "stack/host/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stack/core/log.h"
#include "stack/core/sock.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/dev/sysc.h"
#include "stack/host/sockaddr.h"

/* Bytes each way a TCP relay holds besides the socket pair's own buffers and
 * the connection's rings: one read of the fd, one read of the connection. */
#define RELAY_BUF (256 * 1024)
/* A UDP relay holds one datagram each way. */
#define RELAY_DGRAM 65536

/* A relay buffer, 64-byte aligned: the kernel copies between it and the
 * socket pair's buffers (page-aligned) with `rep movsb`, 15 times slower
 * on AMD's Zen 3 when the destination is 1 to 31 bytes past the source
 * modulo 64 (stack/core/copy.h); malloc's large blocks start 16 bytes into
 * a page. */
static char *relay_buf(size_t size)
{
	return aligned_alloc(64, (size + 63) & ~(size_t)63);  /* C11: a multiple of it */
}

/*
 * Whether no other process may hold a relay's program end: true until the
 * program makes a child or execs (relay_solo_end). Only then may one of its
 * threads move a relay's bytes (relay_pump_begin): a program killed by
 * SIGKILL just after such a write into the pair, before it counted it,
 * leaves the relay with bytes it would write again. Harmless while nobody
 * but the dead program could read them; a child still reading would get
 * them twice. The stack thread lives on in the stack process: its writes
 * are never cut in two.
 */
static atomic_bool relay_solo = true;
/* Pumps under way (claims held by program threads): a fork waits for none. */
static atomic_int relay_pumps;

struct relay {
	struct relay *next;
	struct relay *prev;         /* on the active list (the serving thread's) */
	struct relay_set *set;
	int fd;
	struct tcp_conn *tcp;
	struct udp_sock *udp;
	struct sock_wakeup wake;
	/* Under the lock. */
	const struct relay_cb *cb;
	void *ctx;
	bool armed;                 /* only watching the fd (relay_open) */
	bool framed;                /* an unconnected UDP socket's: struct relay_dgram_hdr first */
	bool woken;                 /* its connection had an event (relay_wake) */
	/* Under the lock: on set->woke_list (relay_wake). */
	bool on_woke;
	struct relay *woke_next;
	/* The stack thread's alone: the fd's and lo_fd's registrations in the
	 * set's epoll and what the last collect wants of them (poll events;
	 * -1: not registered), what the epoll reported since the last io, and
	 * the lists of relays to collect next and to serve in this io. */
	int ev_reg, ev_want, lo_reg, lo_want;
	short rev;
	bool on_visit, on_io;
	struct relay *visit_next, *io_next;
	/* A push's (relay_push_claim to relay_pump_add). */
	int push_ev;

	/* Who holds the fields below: 0 nobody, 1 the thread that claimed them
	 * (claim_try: the stack thread, or a pump). */
	atomic_int claim;

	/* The claimer's. */
	char *rx;                   /* from the connection, for the fd */
	size_t rx_len, rx_off;
	bool rx_have;               /* UDP: a datagram (maybe empty) waits in rx */
	bool rx_end;                /* the connection's stream ended */
	int rx_err;                 /* ... with this error (reset, timeout), or 0 */
	bool rx_shut;               /* the fd was shut down for it */
	bool rx_lost;               /* the program's end reads no more: TCP's bytes stay unread, datagrams go */
	bool rx_blocked;            /* the last write of rx into the fd left some: wait for POLLOUT */
	char *tx;                   /* from the fd, for the connection */
	size_t tx_len, tx_off;
	bool tx_have;               /* UDP: a datagram (maybe empty) waits in tx */
	bool tx_end;                /* the fd said end of file */
	bool tx_reset;              /* the program's end was closed with data unread */
	bool tx_dead;               /* the connection takes no more: discard */
	bool tx_refused;            /* the fd was shut down for reading for it */
	bool hup_seen;              /* the program's end is closed (data may remain) */
	bool hup;                   /* ... and everything from it was read */
	bool wr_shut;               /* the connection was shut down for writing */
	bool stop_seen;             /* the process exits: drain the fd, then finish */
	void *taken;                /* cb->exposed's answer, for cb_after without the lock */
	void (*cb_after)(void *taken);
	bool done;                  /* the connection is closed: the fd goes */
	bool connecting;            /* TCP still in its handshake: the fd waits (relay_share) */
	struct relay_share *share;  /* the other processes' view, or NULL (ours: freed at the end) */
	size_t filler;              /* bytes of share's filler still to read away from the fd */
	bool share_wake;            /* options applied: wake the askers (relay_io) */
	/* A release another process asked for (share_when) waits for the
	 * bytes it wrote before: seen by collect, then a read of the fd
	 * begun after that found it empty (io_tx). */
	bool push_seen, push_drained;
	unsigned push_late;         /* releases share_apply took and left (bits as share's push) */
	int cork_last, nodelay_last;        /* the values share_apply last applied (RELAY_OPT_NONE: none) */
	struct relay_share *spare_share;    /* a listener's: for its next connection */
	/* A framed relay's request (RELAY_DGRAM_REQ, the claimer's): the
	 * asker's pipe, taken with it from the fd (-1: none), and its result
	 * once applied (req_answer: relay_io writes it and closes req_fd). */
	int req_fd;
	int32_t req_res;
	bool req_answer;
	bool req_has_out;           /* req_out follows req_res (RELAY_REQ_GET_MSFILTER) */
	struct relay_dgram_req req_out;

	/* A listener's relay (the serving thread's): fd is the channel. */
	bool listener;
	int spare[2];               /* the next connection's pair (made without the lock), or -1 */
	int pend_fd;                /* the program's end of a connection to send, or -1 */
	struct relay_accept_note pend_note;
	bool chan_full;             /* the channel took no more: wait for POLLOUT */
	bool chan_sized;            /* its send buffer made small (io_listener) */
	int lo_fd;                  /* its loopback side (relay_listener_lo), or -1 */
	int lo_family;              /* lo_fd's (a framed UDP relay's: its sends to loopback) */
	short lo_rev;               /* what the epoll saw there (relay_io for io_listener) */
};

/*
 * The program's ends of the pairs a listener's relay makes (spare[0],
 * pend_fd) are created and closed under relay_fd_mu (a leaf lock, never
 * held with the stack lock by the serving thread), and fork() holds it
 * (relay_fork_prepare): a fork child never gets one of them that its
 * copy of the relays does not know, and closes them (relay_fork_child). A
 * stray copy in a child would keep the connection's last close from ever
 * being seen.
 */
static pthread_mutex_t relay_fd_mu = PTHREAD_MUTEX_INITIALIZER;

void relay_fork_prepare(void)
{
	pthread_mutex_lock(&relay_fd_mu);
}

void relay_fork_parent(void)
{
	pthread_mutex_unlock(&relay_fd_mu);
}

void relay_fork_child(struct relay_set *set)
{
	struct relay *lists[3] = { set ? set->incoming : NULL, set ? set->active : NULL, set ? set->dead : NULL };

	/* The relays are the parent's: their fds here are copies, closed
	 * (the memory stays, a frozen copy nobody uses). */
	for (int i = 0; i < 3; i++)
		for (struct relay *rl = lists[i]; rl; rl = rl->next) {
			int fds[5] = { rl->fd, rl->spare[0], rl->spare[1], rl->pend_fd, rl->lo_fd };

			for (int j = 0; j < 5; j++)
				if (fds[j] >= 0) {
					sys_fd_forget(fds[j]);
					(void)sys_close(fds[j]);
				}
		}
	if (set && set->ep >= 0) {
		sys_fd_forget(set->ep);
		(void)sys_close(set->ep);
	}
	/* Held since relay_fork_prepare, by this thread's copy: let go as the
	 * parent does (a new init would leave it held for the thread checker,
	 * and a second fork in the child would then see the locks' order
	 * inverted). */
	pthread_mutex_unlock(&relay_fd_mu);
}

/*
 * The region of relay_shares (relay.h). Mapped once (pthread_once, before
 * the first fork that exposes anything), never unmapped; its bounds are
 * read-only after that. Only the process that serves the relays (the
 * owner, then its keeper) hands shares out and takes them back: the free
 * list is its own memory, under relay_fd_mu.
 */
#define RELAY_SHARES 8192
static pthread_once_t share_once = PTHREAD_ONCE_INIT;
static struct relay_share *share_base;
/* After the shares in the region: a bit per share that has a request the
 * serving thread has not looked at (relay_share_want sets it), so that a
 * kick makes it look at those relays only. */
#define SHARE_WORDS ((RELAY_SHARES + 63) / 64)
static _Atomic uint64_t *share_asked;
/* The serving process's: the relay that holds each share (relay_collect's
 * way from a bit to its relay). */
static struct relay *share_relay[RELAY_SHARES];
static int share_kick = -1;             /* the eventfd: inherited, internal */
static unsigned share_used;             /* under relay_fd_mu */
static int32_t *share_next;             /* under relay_fd_mu: the free list's links */
static int32_t share_free_head;         /* under relay_fd_mu: 1 on, 0 none */
static uint64_t share_tag;              /* relay_share_tag: set with share_base */

static void share_region(void)
{
	size_t size = RELAY_SHARES * sizeof(struct relay_share) + SHARE_WORDS * sizeof(uint64_t);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	long efd;

	if (p == MAP_FAILED)
		return;
	share_next = calloc(RELAY_SHARES, sizeof(*share_next));
	efd = sys_eventfd2(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!share_next || efd < 0) {
		free(share_next);
		share_next = NULL;
		if (efd >= 0)
			(void)sys_close((int)efd);
		(void)munmap(p, size);
		return;
	}
	share_kick = sys_fd_hide((int)efd);
	/* Random where getrandom() answers; else this process and the
	 * clock, still unlike another region's of the moment. */
	if (sys_getrandom(&share_tag, sizeof(share_tag), GRND_NONBLOCK) != (long)sizeof(share_tag)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		share_tag = ((uint64_t)getpid() << 40) ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec;
	}
	share_tag |= 1;         /* never 0 */
	share_asked = (_Atomic uint64_t *)((struct relay_share *)p + RELAY_SHARES);
	share_base = p;
}

bool relay_share_init(void)
{
	pthread_once(&share_once, share_region);
	return share_base != NULL;
}

/* Under relay_fd_mu. */
static struct relay_share *share_take(void)
{
	struct relay_share *sh;
	int32_t i;

	if (!share_base)
		return NULL;
	if (share_free_head) {
		i = share_free_head;
		share_free_head = share_next[i - 1];
	} else if (share_used < RELAY_SHARES) {
		i = (int32_t)++share_used;
	} else {
		return NULL;    /* the region is full: no sharing for this one */
	}
	sh = &share_base[i - 1];
	sh->filler = 0;
	atomic_store(&sh->conn, 0);
	atomic_store(&sh->err, 0);
	for (int o = 0; o < RELAY_OPTS; o++)
		atomic_store(&sh->want[o], RELAY_OPT_NONE);
	atomic_store(&sh->req, 0);
	atomic_store(&sh->done, 0);
	atomic_store(&sh->sndbuf, 0);
	atomic_store(&sh->rcvbuf, 0);
	atomic_store(&sh->waiters, 0);
	atomic_store(&sh->push, 0);
	/* A framed UDP socket's association ended with the socket that had
	 * this share before. */
	atomic_store(&sh->dgram_peer, 0);
	atomic_store(&sh->dgram_src, 0);
	atomic_store(&sh->dgram_cmsgs, 0);
	atomic_store(&sh->dgram_opt_set, 0);
	atomic_store(&sh->info_want, 0);
	return sh;
}

/* Under relay_fd_mu. */
static void share_put(struct relay_share *sh)
{
	int32_t i = relay_share_index(sh);

	if (!i)
		return;
	share_next[i - 1] = share_free_head;
	share_free_head = i;
}

struct relay_share *relay_share_new(void)
{
	struct relay_share *sh;

	if (!relay_share_init())
		return NULL;
	pthread_mutex_lock(&relay_fd_mu);
	sh = share_take();
	pthread_mutex_unlock(&relay_fd_mu);
	return sh;
}

void relay_share_free(struct relay_share *sh)
{
	if (!sh)
		return;
	pthread_mutex_lock(&relay_fd_mu);
	share_put(sh);
	pthread_mutex_unlock(&relay_fd_mu);
}

uint64_t relay_share_tag(void)
{
	return share_base ? share_tag : 0;
}

int32_t relay_share_index(const struct relay_share *sh)
{
	if (!sh || !share_base || sh < share_base || sh >= share_base + RELAY_SHARES)
		return 0;
	return (int32_t)(sh - share_base) + 1;
}

struct relay_share *relay_share_at(int32_t index)
{
	if (!share_base || index <= 0 || index > RELAY_SHARES)
		return NULL;
	return &share_base[index - 1];
}

static bool share_releases(int o, int v)
{
	return (o == TCP_OPT_CORK && v == 0) || (o == TCP_OPT_NODELAY && v == 1);
}

void relay_share_want(struct relay_share *sh, int opt, int value)
{
	if (opt < 0 || opt >= RELAY_OPTS)
		return;
	int32_t i = relay_share_index(sh) - 1;
	int old = atomic_exchange(&sh->want[opt], value);

	/* A release the relay has not taken yet, replaced by a value that
	 * holds: what was written before it goes first all the same
	 * (share_apply). Only then: a push the relay finds is never one it
	 * has applied already (share_when). */
	if (share_releases(opt, old) && !share_releases(opt, value))
		atomic_fetch_or(&sh->push, 1u << opt);
	atomic_fetch_add(&sh->req, 1);
	if (i >= 0)
		atomic_fetch_or(&share_asked[i / 64], (uint64_t)1 << (i % 64));
}

/* The serving thread's: rl holds sh from now on (NULL: lets go of it). */
static void share_bind(struct relay *rl, struct relay_share *sh)
{
	int32_t i = relay_share_index(sh) - 1;

	if (i >= 0)
		share_relay[i] = rl;
}

/* At most this long for the relay to apply an option (it may be gone: the
 * owner killed, its keeper too). */
#define RELAY_SYNC_NS 1000000000L

void relay_share_sync(struct relay_share *sh)
{
	unsigned req = atomic_load(&sh->req);
	uint64_t one = 1;
	struct timespec t0, t;

	if ((int)(atomic_load(&sh->done) - req) >= 0)
		return;
	/* Counted before done is read again: the relay stores done, then
	 * reads waiters (io_one), so one of the two sees the other. */
	atomic_fetch_add(&sh->waiters, 1);
	(void)sys_write(share_kick, &one, sizeof(one));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		unsigned d = atomic_load(&sh->done);
		struct timespec wait = { 0, 50000000L };
		long ns;

		if ((int)(d - req) >= 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		ns = (t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec);
		if (ns >= RELAY_SYNC_NS)
			break;
		/* A futex on shared memory (not private): the relay is in
		 * another process. */
		(void)SYSC(SYS_futex, &sh->done, FUTEX_WAIT, d, &wait, NULL, 0);
	}
	atomic_fetch_sub(&sh->waiters, 1);
}

bool relay_share_info(struct relay_share *sh, struct tcp_conn_info *ci)
{
	int32_t i = relay_share_index(sh) - 1;
	unsigned req, s1, s2;

	if (i < 0)
		return false;
	atomic_store(&sh->info_want, 1);
	req = atomic_fetch_add(&sh->req, 1) + 1;
	atomic_fetch_or(&share_asked[i / 64], (uint64_t)1 << (i % 64));
	relay_share_sync(sh);
	if ((int)(atomic_load(&sh->done) - req) < 0)
		return false;
	/* Another asker's request may have the relay write it again
	 * meanwhile: a copy between two equal, even steps. */
	for (int tries = 0; tries < 1000; tries++) {
		s1 = atomic_load(&sh->info_seq);
		if (s1 & 1)
			continue;
		memcpy(ci, &sh->info, sizeof(*ci));
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load(&sh->info_seq);
		if (s1 == s2)
			return true;
	}
	return false;
}

_Static_assert(TCP_OPT_CORK < 32 && TCP_OPT_NODELAY < 32, "relay_share's push holds a bit per option");

void relay_share_nudge(struct relay_share *sh, int opt, int value)
{
	uint64_t one = 1;

	(void)sh;
	if (!((opt == TCP_OPT_CORK && value == 0) || (opt == TCP_OPT_NODELAY && value != 0)))
		return;         /* share_apply comes before the program's next bytes go */
	(void)sys_write(share_kick, &one, sizeof(one));
}

/* Lock held: the connection's buffer sizes (and that it is connected), for
 * the processes that ask without it. */
static void share_publish(struct relay *rl)
{
	int v;

	if (!rl->share || !rl->tcp)
		return;
	if (!rl->connecting && !atomic_load(&rl->share->conn))
		atomic_store(&rl->share->conn, 1);     /* connected (connect() again: EISCONN) */
	if (tcp_getopt(rl->tcp, TCP_OPT_SNDBUF, &v) == 0)
		atomic_store(&rl->share->sndbuf, v);
	if (tcp_getopt(rl->tcp, TCP_OPT_SO_RCVBUF, &v) == 0)
		atomic_store(&rl->share->rcvbuf, v);
}

/* Lock held: the options other processes asked for, applied; relay_io
 * wakes them. hold_only (share_when found no release): one asked since is
 * left for later (push_late), and true returned when one was (the request
 * is not done yet). */
static bool share_apply(struct relay *rl, bool *busy, uint64_t now, bool hold_only)
{
	struct relay_share *sh = rl->share;
	unsigned req, push;
	bool left = false;

	if (!sh || rl->listener)
		return false;
	req = atomic_load(&sh->req);
	if (req == atomic_load(&sh->done))
		return false;
	if (hold_only) {
		/* A release nudged after share_when looked: later. */
		push = 0;
		left = atomic_load(&sh->push) != 0;
	} else {
		push = atomic_exchange(&sh->push, 0) | rl->push_late;
		rl->push_late = 0;
	}
	for (int o = 0; o < RELAY_OPTS; o++) {
		int v = atomic_exchange(&sh->want[o], RELAY_OPT_NONE);

		if (hold_only && share_releases(o, v)) {
			/* Asked after share_when looked: the relay's, later. */
			rl->push_late |= 1u << o;
			left = true;
			continue;
		}

		/* A cork let go (or Nagle turned off) and taken again since:
		 * what was written before goes first (relay_share_nudge). */
		if ((push & (1u << o)) && rl->tcp) {
			int rel = o == TCP_OPT_CORK ? 0 : 1;

			if (v != rel)
				(void)tcp_setopt(rl->tcp, (enum tcp_option)o, rel);
			/* The value that replaced it, taken by an earlier
			 * hold_only pass: it stands after the push. */
			if (v == RELAY_OPT_NONE && o == TCP_OPT_CORK)
				v = rl->cork_last;
			else if (v == RELAY_OPT_NONE && o == TCP_OPT_NODELAY)
				v = rl->nodelay_last;
		}
		if (o == TCP_OPT_CORK && v != RELAY_OPT_NONE)
			rl->cork_last = v;
		else if (o == TCP_OPT_NODELAY && v != RELAY_OPT_NONE)
			rl->nodelay_last = v;
		/* The asker's placeholder took the value first: an error here
		 * is the engine's own (an option it keeps on the placeholder). */
		if (v != RELAY_OPT_NONE && rl->tcp)
			(void)tcp_setopt(rl->tcp, (enum tcp_option)o, v);
	}
	share_publish(rl);
	if (atomic_exchange(&sh->info_want, 0) && rl->tcp) {
		atomic_fetch_add(&sh->info_seq, 1);
		atomic_thread_fence(memory_order_release);
		tcp_get_info(rl->tcp, &sh->info, now);
		atomic_fetch_add(&sh->info_seq, 1);
	}
	*busy = true;
	if (left)
		return true;
	atomic_store(&sh->done, req);
	rl->share_wake = true;
	rl->push_seen = rl->push_drained = false;
	return false;
}

enum share_when {
	SHARE_ALL,      /* not a connection's relay: everything asked, now */
	SHARE_HOLDS,    /* no release asked: now, before the bytes (a release asked meanwhile waits) */
	SHARE_AFTER,    /* a release, and the fd read empty since: after the bytes */
	SHARE_WAIT      /* a release, and the fd not read empty since it was seen */
};

/*
 * Lock held: when collect applies the options other processes asked for.
 * A value that lets data go (TCP_CORK off, TCP_NODELAY on: relay_share_nudge)
 * is asked after the bytes the asker wrote before it, which may still be in
 * the socket pair: Linux's uncork sends every byte written before it, and a
 * release applied before they reached the connection sent a response's head
 * alone and left its tail to Nagle until the peer's delayed ACK (nginx's
 * workers with tcp_nopush: 236 bytes, then the last 33 some 40 ms later). So
 * a release waits (SHARE_WAIT) until a read of the fd begun after collect saw
 * it finds the pair empty (io_tx: push_drained), and is applied after those
 * bytes went to the connection (SHARE_AFTER, after collect_tcp). Deviation:
 * bytes written after the release and read with those go with them, pushed
 * too (a cork taken again applies after them).
 */
static enum share_when share_when(struct relay *rl)
{
	struct relay_share *sh = rl->share;
	unsigned push;
	bool release, cork;

	if (!sh || !rl->tcp || rl->listener || rl->armed || rl->connecting)
		return SHARE_ALL;
	push = atomic_load(&sh->push);
	if (!rl->push_late && atomic_load(&sh->req) == atomic_load(&sh->done)) {
		rl->push_seen = rl->push_drained = false;
		return SHARE_HOLDS;     /* nothing asked (share_apply does nothing) */
	}
	cork = ((push | rl->push_late) & (1u << TCP_OPT_CORK)) ||
	       share_releases(TCP_OPT_CORK, atomic_load(&sh->want[TCP_OPT_CORK]));
	release = cork || push || rl->push_late ||
		  share_releases(TCP_OPT_NODELAY, atomic_load(&sh->want[TCP_OPT_NODELAY]));
	if (!release)
		return SHARE_HOLDS;
	if (rl->push_drained || rl->tx_end || rl->tx_dead || rl->hup_seen || rl->stop_seen)
		return SHARE_AFTER;
	rl->push_seen = true;
	/* A cork let go: it was taken before the bytes still in the pair,
	 * though its value may never have reached the relay (TCP_CORK 1
	 * then 0 between two of its looks: nginx's every response). Those
	 * bytes are held as they would have been, until the release. */
	if (cork)
		(void)tcp_setopt(rl->tcp, TCP_OPT_CORK, 1);
	return SHARE_WAIT;
}

void relay_set_init(struct relay_set *set, void (*kick)(void *ctx), void (*woke)(void *ctx), void *ctx)
{
	long ep;

	memset(set, 0, sizeof(*set));
	set->kick_pidx = set->ep_pidx = -1;
	/* The epoll now, in the thread that starts the stack (inside the
	 * program's socket call), not at the serving thread's first round:
	 * made there, it held the lowest free number for a moment, which the
	 * program, closing an fd and opening the next, found taken (ENOTSOCK
	 * for a closed fd's number; fuzzseq -g 2 seeds 1368, 3856, 3905,
	 * 4403). relay_io makes it if this failed. */
	ep = SYSC(SYS_epoll_create1, EPOLL_CLOEXEC);
	set->ep = ep < 0 ? -1 : sys_fd_hide((int)ep);
	atomic_store(&set->look_all, true);     /* the first round looks at every relay */
	set->kick = kick;
	set->woke = woke;
	set->kick_ctx = ctx;
}

/* Lock held: rl is looked at in the serving thread's next collect. */
static void woke_add(struct relay_set *set, struct relay *rl)
{
	if (rl->on_woke)
		return;
	rl->on_woke = true;
	rl->woke_next = set->woke_list;
	set->woke_list = rl;
}

/* The serving thread's: rl is collected next round. */
static void visit_add(struct relay_set *set, struct relay *rl)
{
	if (rl->on_visit || rl->done)
		return;
	rl->on_visit = true;
	rl->visit_next = set->visit;
	set->visit = rl;
}

/* The serving thread's: rl is served in this round's io. */
static void io_add(struct relay_set *set, struct relay *rl)
{
	if (rl->on_io)
		return;
	rl->on_io = true;
	rl->io_next = set->io;
	set->io = rl;
}

/* The connection's callback (lock held, any thread): the serving thread
 * looks again, or the thread that woke it pumps the relay (relay.h). */
static void relay_wake(void *ctx)
{
	struct relay *rl = ctx;

	woke_add(rl->set, rl);
	rl->woken = true;
	if (rl->set->woke)
		rl->set->woke(rl->set->kick_ctx);
	else
		rl->set->kick(rl->set->kick_ctx);
}

static bool claim_try(struct relay *rl)
{
	int free_ = 0;

	return atomic_compare_exchange_strong_explicit(&rl->claim, &free_, 1, memory_order_acquire,
						       memory_order_relaxed);
}

static void claim_drop(struct relay *rl)
{
	atomic_store_explicit(&rl->claim, 0, memory_order_release);
}

/* The serving thread's claim: when a pump holds the relay, missed tells
 * the pump to kick the thread when it lets go (set before trying, so that
 * a pump letting go just after the try sees it). */
static bool claim_serve(struct relay_set *set, struct relay *rl)
{
	atomic_store_explicit(&set->missed, 1, memory_order_seq_cst);
	if (claim_try(rl))
		return true;
	set->skipped = true;
	return false;
}

struct relay *relay_open(struct relay_set *set, struct tcp_conn *tcp, struct udp_sock *udp, int fd, bool armed,
			 const struct relay_cb *cb, void *ctx)
{
	struct relay *rl = calloc(1, sizeof(*rl));

	/* The buffers come with the first bytes (an armed relay may never
	 * see any). */
	if (!rl)
		return NULL;
	rl->set = set;
	rl->fd = fd;
	rl->tcp = tcp;
	rl->udp = udp;
	rl->cb = cb;
	rl->ctx = ctx;
	rl->ev_reg = rl->ev_want = rl->lo_reg = rl->lo_want = -1;
	rl->cork_last = rl->nodelay_last = RELAY_OPT_NONE;
	rl->wake.fn = relay_wake;
	rl->wake.ctx = rl;
	rl->armed = true;
	rl->spare[0] = rl->spare[1] = rl->pend_fd = rl->lo_fd = rl->req_fd = -1;
	rl->listener = tcp && tcp_get_state(tcp) == TCP_STATE_LISTEN;
	{
		struct ip4_endpoint peer;

		rl->framed = udp && udp_peer(udp, &peer) != 0;
	}
	rl->connecting = tcp && (tcp_get_state(tcp) == TCP_STATE_SYN_SENT || tcp_get_state(tcp) == TCP_STATE_SYN_RECEIVED);
	if (cb && cb->share && (rl->share = cb->share(ctx))) {
		rl->filler = rl->share->filler;
		share_bind(rl, rl->share);
	}
	share_publish(rl);
	if (!armed || rl->listener)
		relay_expose(rl);
	rl->next = set->incoming;
	set->incoming = rl;
	set->kick(set->kick_ctx);
	log_debug("relay on fd %d: %s %s", fd, rl->listener ? "TCP listener" : tcp ? "TCP" : "UDP",
		  armed ? "armed" : "exposed");
	return rl;
}

void relay_listener_lo(struct relay *rl, int lo, int family)
{
	rl->lo_fd = lo;
	rl->lo_family = family;
	rl->set->nlo++;
	woke_add(rl->set, rl);
	rl->set->kick(rl->set->kick_ctx);
}

void relay_expose(struct relay *rl)
{
	if (!rl->armed)
		return;
	rl->armed = false;
	/* The connection's events come here now (the owner's waiters were
	 * woken by the owner, and pass through to the fd). */
	if (rl->tcp)
		tcp_set_wakeup(rl->tcp, &rl->wake);
	else if (rl->udp)
		udp_set_wakeup(rl->udp, &rl->wake);
	/* What the connection already holds made no wake-up. */
	woke_add(rl->set, rl);
	rl->set->kick(rl->set->kick_ctx);
}

void relay_forget(struct relay *rl)
{
	rl->cb = NULL;
	rl->ctx = NULL;
}

unsigned relay_pollfds(const struct relay_set *set)
{
	/* The epoll, and the share region's eventfd. */
	(void)set;
	return 2;
}

unsigned relay_count(const struct relay_set *set)
{
	unsigned n = set->nactive;

	for (const struct relay *rl = set->incoming; rl; rl = rl->next)
		n++;
	return n;
}

void relay_set_stop(struct relay_set *set)
{
	set->stopping = true;
	set->kick(set->kick_ctx);
}

bool relay_set_busy(const struct relay_set *set)
{
	return set->active || set->incoming;
}

/* Lock held: the connection is let go, as a kernel socket's last close lets
 * go of it; the owner hears of it. */
static void relay_close_conn(struct relay *rl, uint64_t now)
{
	static const struct sock_wakeup none = { 0 };

	if (rl->tcp) {
		/* Linux's tcp_close: a reset when data the program never read is
		 * discarded (the engine sees its own ring; the relay's buffer and
		 * the pair's count too). */
		if (rl->tx_reset || rl->rx_len > rl->rx_off)
			(void)tcp_setopt(rl->tcp, TCP_OPT_LINGER, 0);
		tcp_set_wakeup(rl->tcp, &none);
		tcp_close(rl->tcp, now);
		rl->tcp = NULL;
	}
	if (rl->udp) {
		udp_set_wakeup(rl->udp, &none);
		udp_close(rl->udp);
		rl->udp = NULL;
	}
	rl->done = true;
	log_debug("relay on fd %d: the program's end is gone; connection closed", rl->fd);
	if (rl->cb)
		rl->cb->gone(rl->ctx);
	relay_forget(rl);
}

/* Lock held: TCP's bytes between the buffers and the connection. */
static void collect_tcp(struct relay *rl, bool *busy, uint64_t now)
{
	struct tcp_conn *c = rl->tcp;

	if (rl->connecting) {
		enum tcp_state st = tcp_get_state(c);
		int err;

		if (rl->hup) {
			/* The program closed it before the handshake ended. */
			relay_close_conn(rl, now);
			return;
		}
		if (st == TCP_STATE_SYN_SENT || st == TCP_STATE_SYN_RECEIVED)
			return;     /* the connection's wake-up brings us back */
		/* Made, or failed (reset, timeout, ICMP): the fd becomes
		 * writable once the filler is read away (relay_io); the error
		 * is SO_ERROR's, in the parent as in a child (one socket). */
		rl->connecting = false;
		err = st == TCP_STATE_CLOSED ? tcp_take_error(c) : 0;
		if (st == TCP_STATE_CLOSED && !err)
			err = -ECONNREFUSED;
		if (rl->share) {
			atomic_store(&rl->share->err, err);
			atomic_store(&rl->share->conn, err ? err : 1);
		}
		*busy = true;
	}
	if (!rl->rx && !(rl->rx = relay_buf(RELAY_BUF)))
		*busy = true;   /* no memory now: the next round tries again */
	else if (rl->rx_len == rl->rx_off && !rl->rx_end && !rl->stop_seen && !rl->rx_lost) {
		long n = tcp_recv(c, rl->rx, RELAY_BUF, 0, now);

		rl->rx_off = rl->rx_len = 0;
		if (n > 0) {
			rl->rx_len = (size_t)n;
		} else if (n == 0) {
			rl->rx_end = true;
		} else if (n != -EAGAIN) {
			rl->rx_end = true;
			rl->rx_err = (int)n;
		}
	}
	while (rl->tx_off < rl->tx_len && !rl->tx_dead) {
		long n = tcp_send(c, rl->tx + rl->tx_off, rl->tx_len - rl->tx_off, now);

		if (n > 0)
			rl->tx_off += (size_t)n;
		else if (n == -EAGAIN)
			break;
		else
			rl->tx_dead = true;     /* reset, or shut: the program's writes fail (relay_io) */
	}
	if (rl->tx_dead || rl->tx_off == rl->tx_len)
		rl->tx_off = rl->tx_len = 0;
	if (rl->hup && !rl->tx_len) {
		/* The last close: FIN after the data, or a reset (relay_close_conn). */
		relay_close_conn(rl, now);
		return;
	}
	if (rl->tx_end && !rl->tx_len && !rl->wr_shut && !rl->tx_dead) {
		/* The program's shutdown(SHUT_WR): FIN after the data. */
		(void)tcp_shutdown(c, SHUT_WR, now);
		rl->wr_shut = true;
	}
}

/*
 * Lock held: a listener's next connection, when the channel has room and a
 * pair is ready for it (relay_io makes one), gets a relay of its own; the
 * program's end of the pair is sent by relay_io. Every holder gone (or the
 * process exiting): the listener is closed.
 */
static void collect_listener(struct relay *rl, bool *busy, uint64_t now)
{
	struct tcp_conn *c;
	struct relay *nrl;
	struct ip4_endpoint ep = { 0, 0 };
	int err = 0, v;

	if (rl->hup || rl->stop_seen) {
		relay_close_conn(rl, now);
		return;
	}
	if (rl->pend_fd >= 0 || rl->chan_full || rl->spare[0] < 0)
		return;
	c = tcp_accept(rl->tcp, &err);
	if (!c)
		return;
	memset(&rl->pend_note, 0, sizeof(rl->pend_note));
	tcp_local(c, &ep);
	rl->pend_note.laddr = ep.addr;
	rl->pend_note.lport = ep.port;
	if (tcp_peer(c, &ep) == 0) {
		rl->pend_note.paddr = ep.addr;
		rl->pend_note.pport = ep.port;
	}
	if (tcp_getopt(c, TCP_OPT_SO_RCVBUF, &v) == 0)
		rl->pend_note.rcvbuf = v;
	if (tcp_getopt(c, TCP_OPT_SNDBUF, &v) == 0)
		rl->pend_note.sndbuf = v;
	nrl = relay_open(rl->set, c, NULL, rl->spare[1], false, NULL, NULL);
	if (!nrl) {
		/* Deviation: out of memory, the connection is reset (Linux
		 * would leave it queued). */
		(void)tcp_setopt(c, TCP_OPT_LINGER, 0);
		tcp_close(c, now);
		return;
	}
	/* Whoever accepts it sets its options through this (relay.h). */
	nrl->share = rl->spare_share;
	share_bind(nrl, nrl->share);
	rl->spare_share = NULL;
	share_publish(nrl);
	rl->pend_note.share = relay_share_index(nrl->share);
	rl->pend_fd = rl->spare[0];
	rl->spare[0] = rl->spare[1] = -1;
	*busy = true;   /* relay_io sends it, and makes the next pair */
}

/* Lock held: a request (struct relay_dgram_req, len bytes of it) applied
 * to u: 0 or -errno, as the stack's setters answer; a read's answer in
 * *out, *has_out set. */
static int32_t dgram_req(struct udp_sock *u, const char *p, size_t len, uint64_t now, struct relay_dgram_req *out,
			 bool *has_out)
{
	struct relay_dgram_req q;
	uint8_t ttl;
	bool loop, include = false;
	int r;

	*has_out = false;
	if (len != sizeof(q))
		return -EINVAL;
	memcpy(&q, p, sizeof(q));
	switch (q.op) {
	case RELAY_REQ_GET_MSFILTER:
		memset(out, 0, sizeof(*out));
		_Static_assert(RELAY_REQ_SRC_MAX == UDP_MAX_MSF, "an answer carries a whole filter");
		r = udp_get_msfilter(u, q.group, &include, out->src, RELAY_REQ_SRC_MAX);
		if (r >= 0) {
			out->op = q.op;
			out->group = q.group;
			out->include = include;
			out->n = (uint16_t)(r < RELAY_REQ_SRC_MAX ? r : RELAY_REQ_SRC_MAX);
			*has_out = true;
		}
		return r;
	case RELAY_REQ_JOIN:
		return udp_join(u, q.group);
	case RELAY_REQ_LEAVE:
		return udp_leave(u, q.group);
	case RELAY_REQ_SOURCE:
		return udp_source_filter(u, q.group, q.src[0], q.include != 0, q.add != 0);
	case RELAY_REQ_MSFILTER:
		if (q.n > RELAY_REQ_SRC_MAX)
			return -ENOBUFS;
		return udp_set_msfilter(u, q.group, q.include != 0, q.src, q.n);
	case RELAY_REQ_OPT:
		break;
	default:
		return -EINVAL;
	}
	switch (q.opt) {
	case RELAY_UDP_BROADCAST:
		udp_set_broadcast(u, q.value != 0);
		break;
	case RELAY_UDP_REUSEADDR:
		udp_set_reuse(u, INPCB_REUSEADDR, q.value != 0);
		break;
	case RELAY_UDP_REUSEPORT:
		udp_set_reuse(u, INPCB_REUSEPORT, q.value != 0);
		break;
	case RELAY_UDP_DONTROUTE:
		udp_set_dontroute(u, q.value != 0);
		break;
	case RELAY_UDP_RCVBUF:
		udp_set_rcvbuf(u, (size_t)(q.value < 0 ? 0 : q.value) * 2);
		break;
	case RELAY_UDP_TOS:
		udp_set_tos(u, (uint8_t)q.value);
		break;
	case RELAY_UDP_TTL:
		udp_set_ttl(u, (uint8_t)q.value);
		break;
	case RELAY_UDP_PMTUDISC:
		udp_set_pmtudisc(u, (uint8_t)q.value);
		break;
	case RELAY_UDP_MC_TTL:
	case RELAY_UDP_MC_LOOP:
		udp_get_multicast(u, &ttl, &loop);
		if (q.opt == RELAY_UDP_MC_TTL)
			ttl = (uint8_t)q.value;
		else
			loop = q.value != 0;
		udp_set_multicast(u, ttl, loop);
		break;
	case RELAY_UDP_MC_ALL:
		udp_set_mc_all(u, q.value != 0);
		break;
	case RELAY_UDP_GSO:
		udp_set_gso(u, (uint16_t)q.value);
		break;
	case RELAY_UDP_CORK:
		udp_set_cork(u, q.value != 0, now);
		break;
	default:
		return -ENOPROTOOPT;
	}
	return 0;
}

/* Lock held: UDP's datagrams between the buffers and the socket. */
static void collect_udp(struct relay *rl, bool *busy, uint64_t now)
{
	struct udp_sock *u = rl->udp;

	size_t hl = rl->framed ? sizeof(struct relay_dgram_hdr) : 0;

	if (!rl->rx && !(rl->rx = relay_buf(RELAY_DGRAM + hl)))
		*busy = true;   /* no memory now: the next round tries again */
	else if (!rl->rx_have && !rl->stop_seen) {
		struct ip4_endpoint src;
		struct udp_rx_meta meta;
		bool have_meta = hl && udp_next_meta(u, &meta) == 0;
		size_t full = 0;
		long n = udp_recvfrom(u, rl->rx + hl, RELAY_DGRAM, &src, &full, 0);

		if (n >= 0 && !rl->rx_lost) {
			if (hl) {
				struct relay_dgram_hdr h = { src.addr, src.port, 0, 0, 0, 0, 0, 0 };

				if (have_meta) {
					h.flags = RELAY_DGRAM_META;
					h.dst = meta.dst;
					h.ttl = meta.ttl;
					h.tos = meta.tos;
					h.looped = meta.looped;
				}
				memcpy(rl->rx, &h, sizeof(h));
			}
			rl->rx_have = true;
			rl->rx_len = (size_t)n + hl;
			rl->rx_off = 0;
		} else if (n != -EAGAIN) {
			/* An ICMP error (a Unix socket cannot carry it), or nobody
			 * reads: the next one. */
			*busy = true;
		}
	}
	if (rl->tx_have && !rl->tx_dead && rl->framed) {
		struct relay_dgram_hdr h = { 0 };
		long n = 0;

		/* Deviation: what the kernel's sendto would refuse (an
		 * unreachable or broadcast address) is dropped here, after
		 * the program's call succeeded. Loopback is the kernel's: one
		 * for 127.0.0.0/8 left with io_lo_dgram, or is dropped. */
		if (rl->tx_len >= sizeof(h))
			memcpy(&h, rl->tx, sizeof(h));
		if (rl->tx_len >= sizeof(h) && (h.flags & RELAY_DGRAM_REQ)) {
			/* An option another process set (relay.h): the datagrams
			 * before it went first; its answer is relay_io's. */
			if (rl->req_fd >= 0 && !rl->req_answer) {
				rl->req_res = dgram_req(u, rl->tx + sizeof(h), rl->tx_len - sizeof(h), now, &rl->req_out,
							&rl->req_has_out);
				rl->req_answer = true;
				*busy = true;
			}
		} else if (rl->tx_len >= sizeof(h) && (h.addr >> 24) != 127) {
			struct ip4_endpoint dst = { h.addr, h.port };
			const struct udp_tx_opts more = { .tos = -1, .more = true };

			n = udp_sendmsg(u, rl->tx + sizeof(h), rl->tx_len - sizeof(h), &dst,
					(h.flags & RELAY_DGRAM_MORE) ? &more : NULL, now);
		}
		if (n != -EAGAIN)
			rl->tx_have = false;
	} else if (rl->tx_have && !rl->tx_dead) {
		long n = udp_sendmsg(u, rl->tx, rl->tx_len, NULL, NULL, now);

		if (n != -EAGAIN)
			rl->tx_have = false;    /* sent, or refused as a kernel socket would drop it */
	} else {
		rl->tx_have = false;
	}
	if (!rl->tx_have)
		rl->tx_len = 0;
	/* A datagram the send looped back to this very socket (to a group
	 * it joined, IP_MULTICAST_LOOP: udp_sendmsg delivers it at once):
	 * its wake-up came from the serving thread itself, which must take
	 * it next round rather than wait for another event. */
	if (rl->rx && !rl->rx_have && !rl->stop_seen && (udp_poll(u) & SOCK_POLLIN))
		*busy = true;
	if (rl->hup && !rl->tx_have)
		relay_close_conn(rl, now);
}

/*
 * Lock held, rl claimed by the serving thread: what relay_collect does for
 * one relay; what it waits for on its fd and its loopback side goes to
 * ev_want and lo_want (-1: not waited on). True when the relay is finished
 * (the caller moves it to the dead).
 */
static bool collect_one(struct relay_set *set, struct relay *rl, bool *busy, uint64_t now)
{
	bool rx_pending, tx_room;
	enum share_when when;

	if (set->stopping && !rl->stop_seen) {
		rl->stop_seen = true;
		*busy = true;   /* relay_io reads what the fd holds without waiting */
	}
	if (rl->armed && rl->tx_have && !rl->stop_seen) {
		/* The program wrote through the kernel fd: exposed. */
		log_debug("relay on fd %d: the program wrote through the kernel fd; the relay serves it now",
			  rl->fd);
		relay_expose(rl);
		if (rl->cb && rl->cb->exposed) {
			rl->taken = rl->cb->exposed(rl->ctx);
			rl->cb_after = rl->cb->after;
		}
	}
	when = share_when(rl);
	if (when == SHARE_ALL) {
		(void)share_apply(rl, busy, now, false);
	} else if (when == SHARE_HOLDS && share_apply(rl, busy, now, true)) {
		/* A release asked since share_when looked: as there. */
		rl->push_seen = true;
		when = SHARE_WAIT;
		if (rl->push_late & (1u << TCP_OPT_CORK))
			(void)tcp_setopt(rl->tcp, TCP_OPT_CORK, 1);
	}
	if (rl->listener) {
		collect_listener(rl, busy, now);
	} else if (rl->armed) {
		/* The owner serves the socket: only its end of file
		 * (relay_close_conn) and the fd's input matter here. */
		if (rl->hup)
			relay_close_conn(rl, now);
		rl->tx_have = false;
		rl->tx_len = 0;
	} else if (rl->tcp) {
		collect_tcp(rl, busy, now);
		if (when == SHARE_AFTER && !rl->done)
			(void)share_apply(rl, busy, now, false);
		/* With room in the buffer, relay_io reads the fd without
		 * waiting (an empty pair has no event to give); without,
		 * the connection's wake-up brings the relay back. */
		if (when == SHARE_WAIT && !rl->done && !rl->tx_len)
			*busy = true;
	} else if (rl->udp)
		collect_udp(rl, busy, now);
	else
		rl->done = true;
	if (rl->done)
		return true;
	rl->ev_want = rl->lo_want = -1;
	if (rl->listener) {
		if (rl->spare[0] < 0 || rl->pend_fd >= 0)
			*busy = true;   /* a pair to make, or one to send: relay_io */
		/* POLLHUP (every holder gone) comes unasked. */
		rl->ev_want = rl->chan_full ? POLLOUT : 0;
		/* A connection to localhost waits in the kernel's queue until
		 * the channel has room for it (io_listener accepts it). */
		if (rl->lo_fd >= 0 && rl->pend_fd < 0 && !rl->chan_full && !rl->hup)
			rl->lo_want = POLLIN;
		return false;
	}
	if (rl->taken)
		*busy = true;   /* cb->after, in relay_io */
	if (rl->connecting) {
		/* The handshake first: only the program's close matters. */
		rl->ev_want = 0;
		return false;
	}
	if (rl->filler)
		*busy = true;   /* relay_io reads it away */
	rx_pending = rl->tcp ? rl->rx_len > rl->rx_off : rl->rx_have;
	tx_room = rl->tcp ? rl->tx_len == 0 : !rl->tx_have;
	if (rx_pending && rl->rx_lost)
		rx_pending = false;
	if ((rl->rx_end && !rx_pending && !rl->rx_shut) || (rl->tx_dead && !rl->tx_refused))
		*busy = true;   /* a shutdown for relay_io to make */
	if (rl->stop_seen && tx_room && !rl->tx_end)
		*busy = true;   /* what the fd still holds, read without waiting */
	/* A closed program end is always readable (end of file): it is
	 * polled again only once there is room for what it still holds. */
	if (rl->hup_seen && !tx_room)
		return false;
	rl->ev_want = (rx_pending && rl->rx_blocked ? POLLOUT : 0) | (tx_room && !rl->tx_end ? POLLIN | POLLRDHUP : 0);
	if (rx_pending && !rl->rx_blocked)
		*busy = true;   /* relay_io writes it without waiting (io_rx) */
	/* A framed UDP relay's loopback side: a datagram from localhost is
	 * taken when the buffer for the program is free (io_lo_dgram). */
	if (rl->framed && rl->lo_fd >= 0 && !rl->rx_have && !rl->stop_seen)
		rl->lo_want = POLLIN;
	return false;
}

/* The serving thread's, lock held: rl leaves the active list for the dead. */
static void active_unlink(struct relay_set *set, struct relay *rl)
{
	if (rl->prev)
		rl->prev->next = rl->next;
	else
		set->active = rl->next;
	if (rl->next)
		rl->next->prev = rl->prev;
	rl->prev = NULL;
	set->nactive--;
	if (rl->lo_fd >= 0)
		set->nlo--;
	rl->next = set->dead;
	set->dead = rl;
}

unsigned relay_collect(struct relay_set *set, struct pollfd *pfd, bool *busy, uint64_t now)
{
	struct relay *list;
	unsigned n = 0;
	bool all = set->stopping || atomic_exchange_explicit(&set->look_all, false, memory_order_acq_rel);

	/* The new ones join the serving thread's list. */
	while (set->incoming) {
		struct relay *rl = set->incoming;

		set->incoming = rl->next;
		rl->prev = NULL;
		rl->next = set->active;
		if (set->active)
			set->active->prev = rl;
		set->active = rl;
		set->nactive++;
		visit_add(set, rl);
	}
	while (set->woke_list) {
		struct relay *rl = set->woke_list;

		set->woke_list = rl->woke_next;
		rl->on_woke = false;
		visit_add(set, rl);
	}
	if (all) {
		for (struct relay *rl = set->active; rl; rl = rl->next)
			visit_add(set, rl);
	}
	if (set->share_look && share_asked) {
		/* Another process asked for options (relay_share_want): the
		 * relays whose share has a request. */
		for (unsigned w = 0; w < SHARE_WORDS; w++) {
			uint64_t bits;

			if (!atomic_load_explicit(&share_asked[w], memory_order_relaxed))
				continue;
			bits = atomic_exchange(&share_asked[w], 0);
			while (bits) {
				unsigned b = (unsigned)__builtin_ctzll(bits);
				struct relay *rl = share_relay[w * 64 + b];

				bits &= bits - 1;
				if (rl && rl->set == set && !rl->done)
					visit_add(set, rl);
			}
		}
	}
	set->share_look = false;
	*busy = false;
	set->skipped = false;
	list = set->visit;
	set->visit = NULL;
	while (list) {
		struct relay *rl = list;
		bool done, b = false;

		list = rl->visit_next;
		rl->on_visit = false;
		if (rl->done)
			continue;       /* on its way to the dead (a pump's end saw it) */
		if (!claim_serve(set, rl)) {
			/* A pump moves its bytes: it kicks us when it lets go. */
			visit_add(set, rl);
			continue;
		}
		rl->woken = false;
		done = collect_one(set, rl, &b, now);
		claim_drop(rl);
		if (done) {
			active_unlink(set, rl);
			continue;
		}
		if (b || rl->ev_want != rl->ev_reg || rl->lo_want != rl->lo_reg) {
			*busy = true;
			io_add(set, rl);
		}
	}
	if (set->woke_list) {
		/* Woken while collected (a close in collect_one wakes its own
		 * relay): the dead ones leave the list. */
		struct relay **pp = &set->woke_list;

		while (*pp) {
			if ((*pp)->done) {
				(*pp)->on_woke = false;
				*pp = (*pp)->woke_next;
			} else {
				pp = &(*pp)->woke_next;
			}
		}
	}
	if (!set->skipped)
		atomic_store_explicit(&set->missed, 0, memory_order_seq_cst);
	set->ep_pidx = set->kick_pidx = -1;
	if (set->ep >= 0) {
		pfd[n].fd = set->ep;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		set->ep_pidx = (int)n++;
	} else if (set->active) {
		*busy = true;   /* relay_io makes it */
	}
	if (share_kick >= 0 && set->active) {
		/* Another process asked for options (relay_share_sync). */
		pfd[n].fd = share_kick;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		set->kick_pidx = (int)n++;
	}
	return n;
}

/* The fd's end for the connection's: what it read, then the shutdown its
 * end of stream asks for. */
static void io_rx(struct relay *rl, short rev)
{
	bool pending = rl->tcp || rl->udp ? (rl->rx_have || rl->rx_len > rl->rx_off) : false;

	/* Written at once, the pair's buffer most often has room; only a
	 * write that left some waits for the fd's POLLOUT (collect_one). */
	if (pending && !rl->rx_lost && ((rev & (POLLOUT | POLLERR | POLLHUP)) || !rl->rx_blocked)) {
		long n = sys_sendto(rl->fd, rl->rx + rl->rx_off, rl->rx_len - rl->rx_off,
				    MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);

		if (n >= 0) {
			rl->rx_off += (size_t)n;
			if (rl->rx_have || rl->rx_off == rl->rx_len) {
				rl->rx_off = rl->rx_len = 0;
				rl->rx_have = false;
			}
		} else if (n != -EAGAIN) {
			/* EPIPE: the program's end reads no more (shutdown, close).
			 * A connection's bytes stay unread, in the buffer and
			 * behind it in the connection (collect_tcp reads no
			 * more): Linux's socket after SHUT_RD queues what comes
			 * (tcp_data_queue), its window closing as it fills, and
			 * its close resets the connection when any is left
			 * (relay_close_conn). A datagram goes. */
			rl->rx_lost = true;
			if (!rl->tcp) {
				rl->rx_off = rl->rx_len = 0;
				rl->rx_have = false;
			}
		}
		rl->rx_blocked = (rl->rx_have || rl->rx_len > rl->rx_off) && !rl->rx_lost;
	}
	if (rl->rx_end && rl->rx_len == rl->rx_off && !rl->rx_shut) {
		/* End of file for the program; after a reset, writes fail too. */
		(void)sys_shutdown(rl->fd, rl->rx_err ? SHUT_RDWR : SHUT_WR);
		rl->rx_shut = true;
	}
}

/* The handshake over: the filler read away (ours, written before the
 * program had the fd: relay_share; all of it is in the pair already), so
 * the program's end polls writable. */
static void io_filler(struct relay *rl)
{
	while (rl->filler && !rl->connecting) {
		char junk[4096];
		long n = sys_recvfrom(rl->fd, junk, rl->filler < sizeof(junk) ? rl->filler : sizeof(junk),
				      MSG_DONTWAIT, NULL, NULL);

		if (n <= 0)
			break;
		rl->filler -= (size_t)n;
	}
}

/*
 * No lock: a framed relay's next message from the fd into tx, with the
 * pipe a request brings (relay.h, RELAY_DGRAM_REQ) kept in req_fd; an fd
 * that comes with anything else (a program's raw sendmsg) is closed.
 */
static long framed_read(struct relay *rl, size_t size)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cb;
	struct iovec v = { rl->tx, size };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = cb.buf, .msg_controllen = sizeof(cb.buf) };
	struct relay_dgram_hdr h;
	long n = sys_recvmsg(rl->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	bool req;

	/* An empty message is a datagram of no bytes (io_tx sends it on):
	 * the fds that came with it are ours to close as well. */
	if (n < 0 || m.msg_controllen == 0)
		return n;
	memset(&h, 0, sizeof(h));
	if ((size_t)n >= sizeof(h))
		memcpy(&h, rl->tx, sizeof(h));
	req = (size_t)n == sizeof(h) + sizeof(struct relay_dgram_req) && (h.flags & RELAY_DGRAM_REQ);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		int fds[4];
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(c), k * sizeof(int));
		for (size_t i = 0; i < k; i++) {
			if (req && rl->req_fd < 0) {
				rl->req_fd = sys_fd_hide(fds[i]);
				rl->req_answer = false;
			} else {
				(void)sys_close(fds[i]);
			}
		}
	}
	return n;
}

/* No lock: the answer to the request collect_udp applied, and the
 * asker's pipe closed. */
static void io_req_answer(struct relay *rl)
{
	if (rl->req_fd < 0 || !rl->req_answer)
		return;
	struct {
		int32_t res;
		struct relay_dgram_req out;
	} ans = { rl->req_res, rl->req_out };

	/* One write (less than PIPE_BUF): the asker reads it whole. */
	(void)sys_write(rl->req_fd, &ans, rl->req_has_out ? sizeof(ans) : sizeof(ans.res));
	sys_fd_forget(rl->req_fd);
	(void)sys_close(rl->req_fd);
	rl->req_fd = -1;
	rl->req_answer = false;
}

/* The program's end towards the connection. */
static void io_tx(struct relay *rl, short rev)
{
	bool room = rl->tx_len == 0 && !rl->tx_have;
	size_t size = rl->udp ? RELAY_DGRAM + (rl->framed ? sizeof(struct relay_dgram_hdr) : 0) : RELAY_BUF;

	if (rl->connecting) {
		if (rev & (POLLHUP | POLLERR))
			rl->hup_seen = rl->tx_end = rl->hup = true;
		return;
	}

	if (rl->tx_dead && !rl->tx_refused) {
		/* The connection takes no more (reset): the program's writes
		 * fail with EPIPE, as on a kernel socket after a reset. */
		(void)sys_shutdown(rl->fd, SHUT_RD);
		rl->tx_refused = true;
	}
	if (rev & POLLHUP)
		rl->hup_seen = true;
	if (!rl->tx && !(rl->tx = relay_buf(size)))
		room = false;   /* no memory now: the program's writes wait */
	if (room && !rl->tx_end && (rev & (POLLIN | POLLRDHUP | POLLHUP | POLLERR) || rl->stop_seen || rl->push_seen)) {
		long n = rl->framed ? framed_read(rl, size) : sys_recvfrom(rl->fd, rl->tx, size, MSG_DONTWAIT, NULL, NULL);

		/* A stream pair's read stops short only where the pair is
		 * empty: what was written before the release is all in. */
		if (rl->push_seen && (n == -EAGAIN || (n >= 0 && (size_t)n < size)))
			rl->push_drained = true;

		if (n > 0 || (n == 0 && rl->udp && !(rev & (POLLRDHUP | POLLHUP)) && !rl->stop_seen)) {
			rl->tx_len = (size_t)n;
			rl->tx_off = 0;
			rl->tx_have = rl->udp != NULL;
			if (rl->tx_dead) {
				rl->tx_len = 0, rl->tx_have = false;
				if (rl->req_fd >= 0 && !rl->req_answer) {
					/* Its asker reads end of file. */
					sys_fd_forget(rl->req_fd);
					(void)sys_close(rl->req_fd);
					rl->req_fd = -1;
				}
			}
		} else if (n == 0) {
			rl->tx_end = true;
		} else if (n == -EAGAIN) {
			if (rl->stop_seen)
				rl->tx_end = rl->hup_seen = true;   /* what the program wrote is in */
		} else {
			/* ECONNRESET: the program's end was closed with data unread. */
			rl->tx_end = rl->hup_seen = true;
			rl->tx_reset = n == -ECONNRESET;
		}
	}
	if (rl->hup_seen && rl->tx_end)
		rl->hup = true;
}

/* A listener's channel, without the lock: the connection taken sent over
 * it, the next pair made, every holder's close seen. */
static void io_listener(struct relay *rl, short rev)
{
	if (!rl->chan_sized) {
		/* A socket pair's messages are bounded by the sender's buffer
		 * alone (net.unix.max_dgram_qlen does not apply between the
		 * two ends of a pair): the smallest keeps a few connections in
		 * the channel, and the rest in the listener's accept queue,
		 * where its backlog applies as on the kernel. */
		int one = 1;

		(void)SYSC(SYS_setsockopt, rl->fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
		rl->chan_sized = true;
	}
	if (rev & POLLOUT)
		rl->chan_full = false;
	pthread_mutex_lock(&relay_fd_mu);
	if (rl->pend_fd < 0 && rl->lo_fd >= 0 && (rl->lo_rev & POLLIN) && !rl->chan_full && !rl->hup) {
		/* A connection to localhost (relay_listener_lo): the kernel's
		 * socket goes over the channel as it is, blocking (accept4's
		 * flags are the receiver's). */
		long a = SYSC(SYS_accept4, rl->lo_fd, NULL, NULL, SOCK_CLOEXEC);

		if (a >= 0) {
			memset(&rl->pend_note, 0, sizeof(rl->pend_note));
			rl->pend_note.flags = RELAY_NOTE_KERNEL;
			rl->pend_fd = sys_fd_hide((int)a);
		}
	}
	rl->lo_rev = 0;
	if (rl->pend_fd >= 0) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &rl->pend_note, sizeof(rl->pend_note) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		long r;

		memset(cbuf, 0, sizeof(cbuf));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &rl->pend_fd, sizeof(int));
		r = sys_sendmsg(rl->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r == -EAGAIN) {
			rl->chan_full = true;
		} else {
			/* Sent; or nobody holds the listener any more (EPIPE): the
			 * connection's relay sees its end of file and closes it. */
			sys_fd_forget(rl->pend_fd);
			(void)sys_close(rl->pend_fd);
			rl->pend_fd = -1;
			if (r < 0)
				rl->hup = true;
		}
	}
	if (!rl->spare_share && !rl->hup)
		rl->spare_share = share_take();
	if (rl->spare[0] < 0 && !rl->hup) {
		int sv[2];

		/* Kept high and out of the program's reach (close_range() of
		 * the program's fds leaves them), like every fd of ours. */
		if (sys_socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
			if (sys_fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0) {
				(void)sys_close(sv[0]);
				(void)sys_close(sv[1]);
			} else {
				rl->spare[0] = sys_fd_hide(sv[0]);
				rl->spare[1] = sys_fd_hide(sv[1]);
			}
		}
	}
	pthread_mutex_unlock(&relay_fd_mu);
	if (rev & (POLLHUP | POLLERR))
		rl->hup = true;
}

/* A finished relay's fds (no lock). */
static void relay_free(struct relay *rl)
{
	/* Out of the epoll before the close: a fork child's copy of the fd
	 * (until it closes it) would keep the registration, and its reports
	 * would name a relay that is gone. */
	if (rl->set->ep >= 0) {
		if (rl->ev_reg >= 0)
			(void)SYSC(SYS_epoll_ctl, rl->set->ep, EPOLL_CTL_DEL, rl->fd, NULL);
		if (rl->lo_reg >= 0 && rl->lo_fd >= 0)
			(void)SYSC(SYS_epoll_ctl, rl->set->ep, EPOLL_CTL_DEL, rl->lo_fd, NULL);
	}
	/* The program's end sees end of file and EPIPE, whoever else
	 * still holds this end (a fork child). */
	(void)sys_shutdown(rl->fd, SHUT_RDWR);
	sys_fd_forget(rl->fd);
	(void)sys_close(rl->fd);
	pthread_mutex_lock(&relay_fd_mu);
	share_bind(NULL, rl->share);
	share_put(rl->share);
	share_put(rl->spare_share);
	{
		int fds[5] = { rl->pend_fd, rl->spare[0], rl->spare[1], rl->lo_fd, rl->req_fd };

		for (int i = 0; i < 5; i++)
			if (fds[i] >= 0) {
				sys_fd_forget(fds[i]);
				(void)sys_close(fds[i]);
			}
	}
	pthread_mutex_unlock(&relay_fd_mu);
	free(rl->rx);
	free(rl->tx);
	free(rl);
}

/*
 * No lock: a framed UDP relay's loopback side (relay_listener_lo). A
 * datagram from localhost goes to the program framed with its source, as
 * the stack's do; one the program sends to 127.0.0.0/8 leaves from there.
 */
static void io_lo_dgram(struct relay *rl)
{
	const size_t hl = sizeof(struct relay_dgram_hdr);
	struct relay_dgram_hdr h;

	if ((rl->lo_rev & POLLIN) && !rl->rx_have && rl->rx && !rl->stop_seen) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		long n = SYSC(SYS_recvfrom, rl->lo_fd, rl->rx + hl, RELAY_DGRAM, MSG_DONTWAIT, &ss, &sl);

		if (n >= 0) {
			struct ip4_endpoint src = ip4_from_sockaddr(&ss);

			/* Over Linux's lo: to 127.0.0.1 as far as the relay
			 * knows (its loopback side does not ask for IP_PKTINFO). */
			h = (struct relay_dgram_hdr){ src.addr, src.port, RELAY_DGRAM_META, 0x7f000001u, 64, 0, 1, 0 };
			memcpy(rl->rx, &h, hl);
			rl->rx_have = true;
			rl->rx_len = (size_t)n + hl;
			rl->rx_off = 0;
		}
	}
	rl->lo_rev = 0;
	if (rl->tx_have && rl->tx_len >= hl) {
		memcpy(&h, rl->tx, hl);
		if ((h.addr >> 24) == 127) {
			struct ip4_endpoint dst = { h.addr, h.port };
			struct sockaddr_storage to;
			socklen_t tl = ip4_to_sockaddr(rl->lo_family, &dst, &to);

			/* Sent or not (a full buffer drops it, as a UDP socket's
			 * would), it is done. */
			(void)SYSC(SYS_sendto, rl->lo_fd, rl->tx + hl, rl->tx_len - hl, MSG_DONTWAIT, &to, tl);
			rl->tx_have = false;
			rl->tx_len = 0;
		}
	}
}

/* Claimed, no lock: relay_io's part for one relay. */
static void io_one(struct relay *rl, short rev)
{
	if (rl->share_wake) {
		rl->share_wake = false;
		if (atomic_load(&rl->share->waiters) > 0)
			(void)SYSC(SYS_futex, &rl->share->done, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	}
	if (rl->taken) {
		void *t = rl->taken;

		rl->taken = NULL;
		if (rl->cb_after)
			rl->cb_after(t);
	}
	if (rl->done)
		return;
	if (rl->listener) {
		io_listener(rl, rev);
		return;
	}
	io_filler(rl);
	io_rx(rl, rev);
	io_req_answer(rl);
	io_tx(rl, rev);
	if (rl->framed && rl->lo_fd >= 0)
		io_lo_dgram(rl);
}

/* The serving thread, no lock: fd's registration in the epoll from *reg to
 * want (poll events, -1: none), data the relay (tagged for its loopback side). */
static void ep_set(struct relay_set *set, int fd, int *reg, int want, uint64_t data)
{
	struct epoll_event ev = { .events = want > 0 ? (uint32_t)want : 0, .data.u64 = data };
	long r;

	if (*reg == want)
		return;
	if (want < 0)
		r = SYSC(SYS_epoll_ctl, set->ep, EPOLL_CTL_DEL, fd, NULL);
	else
		r = SYSC(SYS_epoll_ctl, set->ep, *reg < 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
	if (r < 0 && want >= 0 && *reg < 0 && r == -EEXIST)
		r = SYSC(SYS_epoll_ctl, set->ep, EPOLL_CTL_MOD, fd, &ev);
	if (r < 0 && want >= 0) {
		/* Out of memory (the fd cannot be gone: the relay owns it): the
		 * relay is served every round until it can be registered. */
		log_debug("relay on fd %d: epoll_ctl: %s", fd, strerror((int)-r));
		*reg = -1;
		visit_add(set, (struct relay *)(uintptr_t)(data & ~(uint64_t)1));
		return;
	}
	*reg = want;
	set->ep_changed = true;
}

/* The tag of a relay's loopback side in the epoll's data. */
#define RELAY_EP_LO 1u

void relay_io(struct relay_set *set, const struct pollfd *pfd, unsigned n)
{
	struct relay *list;

	while (set->dead) {
		struct relay *rl = set->dead;

		set->dead = rl->next;
		relay_free(rl);
	}
	if (set->kick_pidx >= 0 && (unsigned)set->kick_pidx < n && (pfd[set->kick_pidx].revents & POLLIN)) {
		uint64_t v;

		(void)sys_read(share_kick, &v, sizeof(v));
		set->share_look = true;
	}
	if (set->ep < 0) {
		long ep = SYSC(SYS_epoll_create1, EPOLL_CLOEXEC);

		if (ep < 0) {
			log_error("relays: epoll_create1: %s (exposed sockets wait)", strerror((int)-ep));
			return;
		}
		set->ep = sys_fd_hide((int)ep);
		atomic_store(&set->look_all, true);
	}
	set->ep_changed = false;
	/* What collect wants of the fds it looked at. */
	for (struct relay *rl = set->io; rl; rl = rl->io_next) {
		ep_set(set, rl->fd, &rl->ev_reg, rl->ev_want, (uint64_t)(uintptr_t)rl);
		if (rl->lo_fd >= 0)
			ep_set(set, rl->lo_fd, &rl->lo_reg, rl->lo_want, (uint64_t)(uintptr_t)rl | RELAY_EP_LO);
	}
	/* What the fds have for us: reported while the wait saw the epoll
	 * readable, or after a registration changed (the wait did not see
	 * that one). An epoll holding more than a batch stays readable. */
	if (set->ep_changed || (set->ep_pidx >= 0 && (unsigned)set->ep_pidx < n &&
				(pfd[set->ep_pidx].revents & (POLLIN | POLLERR)))) {
		struct epoll_event evs[256];
		long got = SYSC(SYS_epoll_wait, set->ep, evs, 256, 0);

		for (long i = 0; i < got; i++) {
			struct relay *rl = (struct relay *)(uintptr_t)(evs[i].data.u64 & ~(uint64_t)RELAY_EP_LO);

			if (evs[i].data.u64 & RELAY_EP_LO)
				rl->lo_rev |= (short)evs[i].events;
			else
				rl->rev |= (short)evs[i].events;
			io_add(set, rl);
		}
	}
	/* set->skipped as collect left it: a relay it left to a pump keeps
	 * missed set, for the pump's end to kick us. */
	list = set->io;
	set->io = NULL;
	while (list) {
		struct relay *rl = list;
		short rev = rl->rev;

		list = rl->io_next;
		rl->on_io = false;
		if (!claim_serve(set, rl)) {
			/* A pump has it: what the epoll saw is seen again (its
			 * wait is level-triggered), and it is collected again. */
			rl->rev = rl->lo_rev = 0;
			visit_add(set, rl);
			continue;
		}
		rl->rev = 0;
		io_one(rl, rev);
		claim_drop(rl);
		/* What it moved, the connection's side moves next round. */
		visit_add(set, rl);
	}
	/* Nothing left for a pump to kick us about: awake, we collect again
	 * before any wait. */
	if (!set->skipped)
		atomic_store_explicit(&set->missed, 0, memory_order_seq_cst);
}

/*
 * A plain TCP relay's wait, as relay_collect would set it (RELAY_EV_BUSY:
 * it would not wait at all). A pump that leaves it as it found it need not
 * wake the stack thread: its poll still asks for the right events.
 */
#define RELAY_EV_BUSY 0x10000

static int pump_events(const struct relay *rl)
{
	bool rx_pending = rl->rx_len > rl->rx_off && !rl->rx_lost, tx_room = rl->tx_len == 0;
	int ev = (rx_pending && rl->rx_blocked ? POLLOUT : 0) | (tx_room && !rl->tx_end ? POLLIN | POLLRDHUP : 0);

	if (rx_pending && !rl->rx_blocked)
		ev |= RELAY_EV_BUSY;

	if ((rl->rx_end && !rx_pending && !rl->rx_shut) || (rl->tx_dead && !rl->tx_refused))
		ev |= RELAY_EV_BUSY;
	return ev;
}

/* Claimed, lock held: a connected TCP relay with only bytes to move; all
 * else (handshake, hang-up, exit, options, the owner's callbacks) is the
 * stack thread's. */
static bool pumpable(const struct relay_set *set, const struct relay *rl)
{
	return !set->stopping && rl->tcp && !rl->listener && !rl->armed && !rl->connecting && !rl->filler &&
	       !rl->taken && !rl->stop_seen && !rl->hup_seen && !rl->done && !rl->share_wake && rl->rx;
}

/* Lock held, rl claimed by a pump: its connection's bytes into its buffer
 * and its buffer's into the connection (collect_tcp), and rl into p. */
static void pump_take(struct relay_set *set, struct relay_pump *p, struct relay *rl, int ev, uint64_t now)
{
	bool busy = false;

	rl->woken = false;
	set->pumped++;
	p->ev[p->n] = ev;
	/* Options asked without a wait (relay_share_nudge) before these
	 * bytes; the askers' wake-up, if any, is the stack thread's. */
	(void)share_apply(rl, &busy, now, false);
	collect_tcp(rl, &busy, now);
	/* More than the buffer holds, or more than bytes: the stack thread
	 * goes on with it. */
	if (busy || rl->done || (rl->tcp && tcp_inq(rl->tcp) > 0) || rl->tx_len || rl->tx_end)
		p->look = true;
	p->rl[p->n++] = rl;
}

bool relay_push_claim(struct relay_set *set, struct relay *rl)
{
	if (!atomic_load_explicit(&relay_solo, memory_order_acquire) || !claim_try(rl))
		return false;
	if (!pumpable(set, rl) || rl->tx_len || rl->tx_end) {
		claim_drop(rl);
		return false;
	}
	atomic_fetch_add_explicit(&relay_pumps, 1, memory_order_acq_rel);
	rl->push_ev = pump_events(rl);
	return true;
}

void relay_push_read(struct relay *rl)
{
	io_tx(rl, POLLIN);
}

void relay_pump_add(struct relay_set *set, struct relay_pump *p, struct relay *rl, uint64_t now)
{
	if (p->n == RELAY_PUMP_MAX) {
		relay_push_drop(set, rl);
		p->look = true;
		return;
	}
	pump_take(set, p, rl, rl->push_ev, now);
}

void relay_push_drop(struct relay_set *set, struct relay *rl)
{
	/* What the program wrote waits in the buffer: the serving thread's. */
	woke_add(set, rl);
	claim_drop(rl);
	atomic_fetch_sub_explicit(&relay_pumps, 1, memory_order_acq_rel);
}

long relay_recv_kept(struct relay *rl, void *buf, size_t len, unsigned flags, uint64_t now)
{
	long n = 0;

	if (!claim_try(rl))
		return -EAGAIN;
	if (rl->done || !rl->tcp || rl->listener || rl->armed || rl->connecting || rl->rx_shut || !len) {
		claim_drop(rl);
		return 0;
	}
	if (rl->rx_len > rl->rx_off) {
		/* Read from the connection before the program's end was shut,
		 * and kept (io_rx): the oldest bytes. */
		n = (long)(rl->rx_len - rl->rx_off < len ? rl->rx_len - rl->rx_off : len);
		if (!(flags & SOCK_DISCARD))
			memcpy(buf, rl->rx + rl->rx_off, (size_t)n);
		if (!(flags & SOCK_PEEK)) {
			rl->rx_off += (size_t)n;
			if (rl->rx_off == rl->rx_len)
				rl->rx_off = rl->rx_len = 0;
		}
	} else if (!rl->rx_end && !rl->stop_seen && tcp_inq(rl->tcp) > 0) {
		/* The connection's (collect_tcp reads no more of them once
		 * rx_lost): its window opens as they go, as Linux's does. Only
		 * bytes: its end or error stays for collect_tcp to see. */
		n = tcp_recv(rl->tcp, buf, len, flags & (SOCK_PEEK | SOCK_DISCARD), now);
		if (n < 0)
			n = 0;
	}
	claim_drop(rl);
	return n;
}

long relay_inq_kept(struct relay *rl)
{
	long n = 0;

	if (!claim_try(rl))
		return -EAGAIN;
	if (!rl->done && rl->tcp && !rl->listener && !rl->armed && !rl->connecting && !rl->rx_shut) {
		n = (long)(rl->rx_len - rl->rx_off);
		if (!rl->rx_end && !rl->stop_seen)
			n += (long)tcp_inq(rl->tcp);
	}
	claim_drop(rl);
	return n;
}

void relay_pump_begin(struct relay_set *set, struct relay_pump *p, uint64_t now)
{
	if (set->incoming)
		p->look = true;
	if (!atomic_load_explicit(&relay_solo, memory_order_acquire)) {
		p->look = true;
		return;
	}
	for (struct relay *rl = set->active; rl; rl = rl->next) {
		if (!rl->woken)
			continue;
		if (p->n == RELAY_PUMP_MAX || !claim_try(rl)) {
			p->look = true;         /* the stack thread's, as before */
			continue;
		}
		if (!pumpable(set, rl)) {
			claim_drop(rl);
			p->look = true;
			continue;
		}
		atomic_fetch_add_explicit(&relay_pumps, 1, memory_order_acq_rel);
		pump_take(set, p, rl, pump_events(rl), now);
	}
}

bool relay_pump_end(struct relay_set *set, struct relay_pump *p)
{
	bool look = p->look;

	if (!p->n)
		return look;
	for (unsigned i = 0; i < p->n; i++) {
		struct relay *rl = p->rl[i];

		io_rx(rl, POLLOUT);
		if (pump_events(rl) != p->ev[i])
			look = true;
		claim_drop(rl);
		atomic_fetch_sub_explicit(&relay_pumps, 1, memory_order_acq_rel);
	}
	p->n = 0;
	/* The stack thread found one of them claimed, and skipped it. */
	if (atomic_exchange_explicit(&set->missed, 0, memory_order_seq_cst))
		look = true;
	/* Which relays, the serving thread does not know (no lock here): it
	 * looks at all of them. */
	if (look)
		atomic_store_explicit(&set->look_all, true, memory_order_release);
	return look;
}

void relay_solo_end(void)
{
	struct timespec t0, t;

	if (!atomic_exchange_explicit(&relay_solo, false, memory_order_acq_rel))
		return;
	/* Pumps that began before let go first (they need no lock to finish),
	 * bounded: this thread may have interrupted its own (a fork from a
	 * signal handler). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (relay_pumping()) {
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > 10000000L)
			break;
	}
}

bool relay_solo_now(void)
{
	return atomic_load_explicit(&relay_solo, memory_order_acquire);
}

bool relay_pumping(void)
{
	return atomic_load_explicit(&relay_pumps, memory_order_acquire) > 0;
}

void relay_set_unclaim(struct relay_set *set)
{
	struct relay *lists[3] = { set->incoming, set->active, set->dead };

	for (int i = 0; i < 3; i++)
		for (struct relay *rl = lists[i]; rl; rl = rl->next)
			claim_drop(rl);
	atomic_store(&relay_pumps, 0);
	atomic_store(&set->missed, 0);
}

bool relay_set_held(const struct relay_set *set)
{
	const struct relay *lists[2] = { set->incoming, set->active };

	for (int i = 0; i < 2; i++)
		for (const struct relay *rl = lists[i]; rl; rl = rl->next) {
			struct pollfd p = { .fd = rl->fd, .events = POLLRDHUP };
			struct timespec zero = { 0, 0 };

			if (rl->done)
				continue;
			if (sys_ppoll(&p, 1, &zero, NULL) != 1 || !(p.revents & POLLHUP))
				return true;
		}
	return false;
}

unsigned relay_set_fds(const struct relay_set *set, int *fds, unsigned max)
{
	const struct relay *lists[3] = { set->incoming, set->active, set->dead };
	unsigned n = 0;

	/* The relays' epoll, kept with them (a keeper's later relays use it). */
	if (set->ep >= 0) {
		if (n < max)
			fds[n] = set->ep;
		n++;
	}
	for (int i = 0; i < 3; i++)
		for (const struct relay *rl = lists[i]; rl; rl = rl->next, n++)
			if (n < max)
				fds[n] = rl->fd;
	return n;
}

void relay_set_destroy(struct relay_set *set)
{
	struct relay *lists[3] = { set->incoming, set->active, set->dead };

	for (int i = 0; i < 3; i++) {
		while (lists[i]) {
			struct relay *rl = lists[i];

			lists[i] = rl->next;
			relay_free(rl);
		}
	}
	set->incoming = set->active = set->dead = NULL;
	set->woke_list = set->visit = set->io = NULL;
	set->nactive = 0;
	if (set->ep >= 0) {
		sys_fd_forget(set->ep);
		(void)sys_close(set->ep);
		set->ep = -1;
	}
}
