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
 * thread's ppoll. The locking rules: stack/CONCURRENCY.md.
 */
#ifndef PSTACK_HOST_CTL_H
#define PSTACK_HOST_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl;
struct pollfd;
struct stack;

/* The one request a client sends. */
#define CTL_REQUEST "stat\n"
/* The fds ctl_collect() fills in at most: the listener and the clients. */
#define CTL_MAX_CLIENTS 4
#define CTL_NFDS (1 + CTL_MAX_CLIENTS)
/* A client's whole exchange, from accept to the last byte written. */
#define CTL_DEADLINE_US 2000000u
/* The largest snapshot: a stack with more sockets than fit is cut, and says so. */
#define CTL_REPLY_MAX (4u << 20)

/* What the runner knows of its stack beyond the core's view. */
struct ctl_host {
	const char *dev;            /* the device's name (the TAP) */
	long pid;                   /* the process that started the stack */
	uint64_t started;           /* runner_now() at its start */
	unsigned relays;            /* exposed sockets being relayed (stack/host/relay.h) */
};

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
/* Whom the stack answers: its own user and root. */
bool ctl_peer_allowed(uint32_t peer_uid, uint32_t self_uid);

/*
 * Opens the control socket dir/PID.sock (0600, after ctl_prepare_dir),
 * listening, non-blocking, its fd among the library's own (sys_fd_hide).
 * 0, or -errno after one line in err; the stack runs on without it.
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
