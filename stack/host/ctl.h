/*
 * The control socket: the window on a running stack that `pstack stat`
 * reads (Onload's onload_stackdump, VMA's vma_stats).
 *
 * One filesystem Unix socket per stack, PID.sock in a per-user folder
 * ($XDG_RUNTIME_DIR/pstack when that folder is the user's, else
 * /tmp/pstack-UID), made 0700 by the stack and refused when it exists with
 * another owner, another mode or as a symlink; the socket is 0600 and goes
 * when the stack stops. A filesystem socket, not an abstract one: abstract
 * names belong to a network namespace, and `pstack stat` runs outside the
 * program's.
 *
 * Served by the stack thread (stack/host/runner.c), which belongs to the
 * runner and not to the program: its fds sit in the thread's ppoll next to
 * the TAP's. Each connection's peer credentials are checked (the same user,
 * or root; anyone else is closed without an answer); a connection carries
 * one request (the fixed word CTL_REQUEST), and gets one snapshot of the
 * stack as text (ctl_snapshot, built under the stack lock with no system
 * call), written without the lock, without blocking, and abandoned at a
 * deadline: a slow or hostile client costs the stack a bounded amount of
 * work per wakeup and never stalls it. Nobody asking costs one fd in the
 * thread's ppoll. A named stack (PSTACK_STACK) also serves joiners' requests
 * (below). The locking rules: stack/CONCURRENCY.md.
 */
#ifndef PSTACK_HOST_CTL_H
#define PSTACK_HOST_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "stack/core/sock.h"
#include "stack/core/stack.h"
#include "stack/host/config.h"

struct ctl;
struct pollfd;
struct relay_set;
struct stack;

/* The one request a client sends. */
#define CTL_REQUEST "stat\n"
/* The fds ctl_collect() fills in at most: the listeners (PID.sock, and
 * with PSTACK_STACK the name's two) and the clients. A joiner's connect
 * holds a client until the connection is made (and no fd meanwhile). */
#define CTL_MAX_CLIENTS 16
#define CTL_NLISTEN 4
#define CTL_NFDS (CTL_NLISTEN + CTL_MAX_CLIENTS)
/* A client's whole exchange, from accept to the last byte written. */
#define CTL_DEADLINE_US 2000000u
/* The largest snapshot: a stack with more sockets than fit is cut, and says so. */
#define CTL_REPLY_MAX (4u << 20)

/* What the runner knows of its stack beyond the core's view. */
#define CTL_HAND_FDS_MAX 16         /* TAP_QUEUES_MAX */

struct ctl_host {
	const char *dev;            /* the device's name (the TAP) */
	long pid;                   /* the process that started the stack */
	uint64_t started;           /* runner_now() at its start */
	unsigned relays;            /* exposed sockets being relayed (stack/host/relay.h) */
	/* PSTACK_STACK ("" for none): the name joiners find the stack by
	 * (below), and the relays their sockets get. */
	char stack_name[HOST_STACK_NAME_MAX + 1];
	struct relay_set *rset;
	/* The handover (below), set by the runner before each ctl_collect:
	 * the stack may hand over now (its program is gone and only TIME_WAIT
	 * or an orphan's FIN_WAIT_2 is left), or soon (its program is exiting
	 * with only those left: a request waits for it). */
	bool may_hand_over, hand_over_soon;
	/* When a stack that will not hand over yet lets go of the device at
	 * the latest (runner_now() time; 0: not known, a program runs it):
	 * its "busy" answer says so (CTL_HANDOVER_BUSY). */
	uint64_t hold_until;
	/* The device's queues, given with the answer (none: the device is
	 * let go first, and the next stack opens it). */
	int hand_fds[CTL_HAND_FDS_MAX];
	unsigned hand_nfds;
};

/*
 * Joiners (PSTACK_STACK=NAME, shim/join.c). The stack's first process owns
 * it; it also listens on DIR/NAME.NETNS.stack (ctl_stack_path, in the same
 * 0700 folder as PID.sock) and on the abstract name "\0pstack-stack/NAME"
 * (ctl_stack_abstract: one per network namespace, where the TAP is), which
 * serves only to tell another user that the name is taken and by whom: the
 * kernel gives the connecting side the listener's credentials. Another
 * process of the same user naming NAME connects to the path (or the
 * abstract name), checks the owner's uid, and sends one request per
 * connection: a struct ctl_join_req with one fd (SCM_RIGHTS), its end of
 * a socket pair whose other end is the program's socket fd from then on.
 * The stack makes the connection or the listener, with the options the
 * program set, and gives it and the pair's end to a relay (relay.h):
 * the joiner's socket is an exposed socket. The answer is a struct
 * ctl_join_reply on the same connection.
 *
 * LISTEN: the pair is a SOCK_SEQPACKET channel (the listener's relay sends
 * each connection over it); answered at once.
 * CONNECT: a SOCK_STREAM pair whose program end the joiner filled with
 * `filler` bytes (its send buffer made small): the program's fd is not
 * writable while connecting, as a connecting TCP socket is not. Answered
 * when the connection is made or has failed; when made, the stack reads
 * the filler (the program's fd becomes writable) before it relays. A
 * connection under way is announced first, at once: a reply whose err is
 * CTL_JOIN_PROGRESS with the local address and port the stack chose
 * (Linux's connect() chose them before it answered EINPROGRESS), then the
 * answer.
 * DGRAM: a UDP socket (AF_INET), bound to laddr:lport when `bound`, else
 * to a port the stack picks (Linux's autobind at the first send or
 * connect); the pair is a SOCK_SEQPACKET one, and the relay a framed one
 * (relay.h, struct relay_dgram_hdr: each datagram with its address), as a
 * fork child's copy of an unconnected UDP socket. Answered at once. The
 * association of a connect() stays with the joiner (shim/sock.c,
 * framed_connect).
 * Requests are taken from the stack's own user only (root included only
 * for stat).
 */
#define CTL_JOIN_WORD "pstack-join-1\n"
enum ctl_join_op { CTL_JOIN_LISTEN = 1, CTL_JOIN_CONNECT = 2, CTL_JOIN_DGRAM = 3 };
/* The most filler a request may announce. */
#define CTL_JOIN_FILLER_MAX (1u << 20)

struct ctl_join_req {
	char word[16];              /* CTL_JOIN_WORD, NUL-padded */
	uint32_t size;              /* sizeof(struct ctl_join_req): another build's layout is refused */
	uint32_t op;                /* enum ctl_join_op */
	uint32_t laddr, raddr;      /* host order; laddr:lport when bound */
	uint16_t lport, rport;
	uint32_t bound;             /* 1: bind() gave laddr:lport */
	int32_t backlog;            /* LISTEN */
	uint32_t filler;            /* CONNECT: bytes before the program's in the pair */
	struct sock_opts opts;      /* what the program set (setsockopt) */
	uint64_t inherit;           /* a fork child's socket its parent bound (shim_sock.fork_bound), 0 */
};

struct ctl_join_reply {
	char word[16];              /* CTL_JOIN_WORD */
	int32_t err;                /* 0, or -errno (connect's or listen's) */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	int32_t rcvbuf, sndbuf;
	uint32_t stack_addr;        /* DGRAM: the stack's address (its connect()'s source) */
};

/*
 * A failed CONNECT's error also reaches a process the program's socket was
 * passed to (SCM_RIGHTS), which has no request connection to read the
 * answer from: before the stack closes the pair's end, it binds it to the
 * abstract name "\0" CTL_JOIN_ERR_FMT (the end's inode, unique among live
 * sockets, and the errno), which the program end's getpeername() reads as
 * long as it lives (the kernel keeps a closed peer's address with it).
 */
#define CTL_JOIN_ERR_PREFIX "pstack-err/"
#define CTL_JOIN_ERR_FMT CTL_JOIN_ERR_PREFIX "%llx/%d"
/* Names fd, the stack's end of a pair, with err (-errno). */
void ctl_join_err_name(int fd, int err);
/* The error the stack named the peer of fd (the program's end) with: -errno,
 * or 0 when it named none. */
int ctl_join_err_of(int fd);

/* A CONNECT's first reply while the connection is being made. */
#define CTL_JOIN_PROGRESS (-EINPROGRESS)

/* A request with its word and size set, everything else zero. */
void ctl_join_req_init(struct ctl_join_req *r, enum ctl_join_op op);
/* Checks a received request (len bytes): 0, or -EINVAL (another word,
 * size or op, a filler beyond the limit, a listener with a filler). */
int ctl_join_req_check(const struct ctl_join_req *r, size_t len);
/* The same for an answer. */
int ctl_join_reply_check(const struct ctl_join_reply *r, size_t len);
/*
 * dir/NAME.NETNS.stack, NETNS the network namespace's inode number
 * (ctl_netns): the folder is the user's in every namespace, a TAP (and
 * with it a stack's name) belongs to one. 0, or -ENAMETOOLONG.
 */
int ctl_stack_path(char *buf, size_t n, const char *dir, const char *name, uint64_t netns);
/* The calling thread's network namespace (the inode of /proc/self/ns/net; 0
 * when /proc does not say). */
uint64_t ctl_netns(void);
/* The abstract address of NAME; its length for bind and connect. */
socklen_t ctl_stack_abstract(struct sockaddr_un *sa, const char *name);
/* Whom the stack takes joiners from: its own user only. */
bool ctl_join_allowed(uint32_t peer_uid, uint32_t self_uid);

/*
 * The handover (issue 14: TIME_WAIT outlives the program). A stack that
 * outlived its program (the stack process after the program's exit or
 * death, a keeper) holds the TAP while its connections wait out TIME_WAIT
 * (or an orphan's FIN_WAIT_2), bounded by PSTACK_LINGER_MS. A new program
 * does not wait for that: before it tries the TAP, it asks. Every stack
 * listens on the abstract name "\0pstack-tap/DEV" (ctl_tap_abstract: the
 * TAP's network namespace's, as the device name is), and the new stack, of
 * the same user only (both sides check), sends CTL_HANDOVER_REQUEST there.
 * A stack with nothing else left answers with a struct ctl_handover_hdr and
 * its records (struct tcp_tw_rec, tcp_tw_export) and, with the header's
 * first byte, the fds of the device's queues (SCM_RIGHTS, hdr.nfds of them),
 * then closes its own and ends (at SCHED_IDLE: its exit tears down the
 * program's address space, which must not hold up the program woken). The
 * answer also carries the old stack's ARP cache (struct stack_arp_rec,
 * hdr.arp_count of them, after the records): the new stack's first frames
 * need no request. The new stack adopts the queues (tap_adopt): the device is neither detached
 * (tun_detach's synchronize_net, 0.1 to 0.2 ms) nor attached and configured
 * again, and the frames queued in it meanwhile are read, not dropped. A
 * stack whose device is not a bare TAP (PSTACK_PCAP, PSTACK_FAULTS, trace
 * wrap it) lets go of it first and sends none; a new stack whose settings
 * want other queues closes them and opens the device. The records it takes
 * (tcp_tw_adopt: records until something looks at their ports), so the
 * 4-tuples stay protected and a retransmitted FIN is still acknowledged.
 * Any other stack answers CTL_HANDOVER_BUSY: the new program waits for the
 * device as before. A stack whose program is gone but which still has
 * data to deliver or closes to finish (a keeper, a killed program's stack
 * process) adds how long it may still hold the device at most, in ms
 * ("busy 8500\n": its PSTACK_LINGER_MS bound): the new program waits that
 * long for it, asking again, instead of giving up after a second (a server
 * stopped and started again at once, its clients still reading). Closes
 * alone (no relay) are waited for first, for at most 250 ms after the
 * program's end (RUNNER_HAND_SOON_US): a close takes a round trip, most
 * often, and the answer comes as soon as only TIME_WAIT is left.
 */
#define CTL_HANDOVER_REQUEST "handover\n"
#define CTL_HANDOVER_BUSY "busy\n"
#define CTL_HANDOVER_WORD "pstack-tw-2\n"
struct ctl_handover_hdr {
	char word[16];              /* CTL_HANDOVER_WORD, NUL-padded */
	uint32_t rec_size;          /* sizeof(struct tcp_tw_rec): another build's layout is refused */
	uint32_t count;             /* records that follow */
	uint32_t nfds;              /* the device's queues that came with the first byte */
	uint32_t arp_count;         /* ARP entries (struct stack_arp_rec) after the records */
	uint32_t addr;              /* the old stack's address and MAC: the kernel's side */
	uint8_t mac[6];             /* knows that pair, so its entries are good for the same */
	uint8_t pad[6];
};
#define CTL_HAND_ARP_MAX 256        /* ARP_CACHE_SIZE */
/* A handover's ARP cache, as the asker gets it. */
struct ctl_hand_arp {
	uint32_t addr;              /* the old stack's address (host order) and MAC */
	uint8_t mac[6];
	unsigned n;
	struct stack_arp_rec rec[CTL_HAND_ARP_MAX];
};
struct tcp_tw_rec;
/* The abstract address for device dev; its length. */
socklen_t ctl_tap_abstract(struct sockaddr_un *sa, const char *dev);
/*
 * The new stack's side (its start, lock held: start makes system calls):
 * asks the stack holding dev to hand it over, waiting at most wait_ms for
 * the answer. The count of records (*recs malloc'd, the caller frees it;
 * 0 with none), or -EBUSY (no stack of ours holds it or it will not hand
 * over), or another -errno. With an answer, fds[0 .. *nfds) are the
 * device's queues it gave (CTL_HAND_FDS_MAX room; *nfds 0: none, the
 * device was let go), the caller's to adopt or close, and *arp the old
 * stack's ARP cache, address and MAC (for stack_arp_import when both are
 * the same: the kernel side knows the pair then). *hold_ms: with -EBUSY
 * from a stack that said how long it may still hold the device, that
 * (ms, at least 1); else 0. meanwhile (NULL: none) is called with arg once
 * the request is sent, before the wait for its answer: the caller's own
 * work in the time the old stack takes to answer.
 */
long ctl_handover_ask(const char *dev, void (*meanwhile)(void *arg), void *arg, struct tcp_tw_rec **recs,
		      int *fds, unsigned *nfds, struct ctl_hand_arp *arp, unsigned wait_ms, unsigned *hold_ms);
/* Lock held: a handover's answer is built (by ctl_collect): the runner
 * writes it (ctl_flush), after it let go of the device unless the answer
 * gives the device's queues (ctl_handover_gives_fds: closed after it), and
 * the stack ends. */
bool ctl_handing_over(const struct ctl *c);
bool ctl_handover_gives_fds(const struct ctl *c);
/* A handover's answer is built: writes the answers still to write, each
 * within a short bound. No lock. */
void ctl_flush(struct ctl *c);

/*
 * The folder for uid's control sockets: $XDG_RUNTIME_DIR/pstack when xdg
 * (the variable's value, or NULL) is an absolute path to a folder owned by
 * uid, else /tmp/pstack-UID. 0, or -ENAMETOOLONG.
 */
int ctl_default_dir(char *buf, size_t n, const char *xdg, uint32_t uid);
/*
 * Makes dir (mode 0700) when missing, then checks it: a real folder (not a
 * symlink), owned by uid, mode 0700. 0, or -errno with one line in err.
 */
int ctl_prepare_dir(const char *dir, uint32_t uid, char *err, size_t errlen);
/*
 * The user's stack secret (stack_config.secret: ISNs, TS offsets, SYN
 * cookies), the same for every stack the user starts, as the kernel's is
 * for every socket until a reboot: dir/secret (n bytes, mode 0600, in a
 * folder ctl_prepare_dir checked), written from fresh by the first stack
 * that finds none. A program started again on a 4-tuple its peer still
 * holds in TIME_WAIT then sends a SYN above the old connection's sequence
 * numbers and timestamps, which the peer accepts (RFC 6191; Linux's
 * tcp_timewait_state_process), where a secret of its own made the SYN
 * land at random, refused three times in four (an ACK, our RST, and the
 * SYN again a second later). 0, or -errno (the caller keeps fresh).
 */
int ctl_user_secret(const char *dir, uint32_t uid, uint8_t *out, size_t n, const uint8_t *fresh);
/* Whom the stack answers: its own user and root. */
bool ctl_peer_allowed(uint32_t peer_uid, uint32_t self_uid);
/* Whether process peer, of another user, may join anyway: the stack is
 * root's (self_uid 0) and peer descends from its program (a fork child
 * that dropped root: vsftpd's session, which then makes its data
 * connections). Read from /proc/PID/status's PPid lines. */
bool ctl_child_allowed(pid_t peer, pid_t program, uint32_t self_uid);
/* Whether process pid is ancestor or descends from it (its parent's
 * parent's..., 64 generations at most), from /proc/PID/status. */
bool ctl_descends(pid_t pid, pid_t ancestor);
/* Whether process pid has CAP_NET_BIND_SERVICE in its effective set. */
bool ctl_cap_bind_low(pid_t pid);

/*
 * Opens the control socket dir/PID.sock (0600, after ctl_prepare_dir),
 * listening, non-blocking, its fd among the library's own (sys_fd_hide);
 * with host->stack_name, dir/NAME.stack (a stale file replaced) and the
 * abstract name too. 0, or -errno after one line in err; the stack runs
 * on without it.
 */
int ctl_open(const char *dir, const struct ctl_host *host, struct ctl **out, char *err, size_t errlen);
/*
 * The runner's way in: ctl_open in ctl_default_dir (from the environment
 * and the effective uid), host->pid set to the caller's. On failure, one
 * warning in the log and *out NULL: the stack runs on, unseen.
 */
void ctl_start(struct ctl_host *host, struct ctl **out);
/* The socket's path (for logs and tests). */
const char *ctl_path(const struct ctl *c);
/*
 * Lock held, by the serving thread before its wait: builds the snapshot
 * for a client whose request is in (one per call: *at becomes now when
 * another waits), and fills pfd (room for CTL_NFDS) with the fds to wait
 * on; the count. *at is lowered to the earliest client deadline. A NULL c
 * fills nothing.
 */
unsigned ctl_collect(struct ctl *c, struct stack *s, const struct ctl_host *host, struct pollfd *pfd,
		     uint64_t now, uint64_t *at);
/*
 * No lock, by the serving thread after its wait, with what ctl_collect
 * filled and the wait's answers (n 0: the wait failed; deadlines are
 * still enforced): accepts (credentials checked), reads requests, writes
 * answers, closes what is done or late. Never blocks.
 */
void ctl_io(struct ctl *c, struct pollfd *pfd, unsigned n, uint64_t now);
/* Closes every client and the listener, and removes the socket file. No lock. */
void ctl_close(struct ctl *c);
/* In a fork child: closes this copy's fds of the listener and the clients,
 * and leaves the socket file (the parent's). A child holding the listener
 * would keep a SIGKILLed parent's socket answering connect() and never
 * the request: `pstack stat` would wait for it instead of removing it. */
void ctl_fork_child(struct ctl *c);

/*
 * The snapshot (what `pstack stat` prints), lock held, no system call:
 * the stack's identity and uptime, its sockets like `ss -tni`, its
 * counters like `nstat -a`. A malloc'd text of *len bytes (at most
 * CTL_REPLY_MAX), or NULL when out of memory.
 */
char *ctl_snapshot(struct stack *s, const struct ctl_host *host, uint64_t now, size_t *len);

#endif
