/*
 * What the stack's sockets (UDP and TCP) share with the layer above.
 */
#ifndef PSTACK_SOCK_H
#define PSTACK_SOCK_H

#include <stdint.h>

/* Host-order IPv4 address and port. */
struct ip4_endpoint {
	uint32_t addr;
	uint16_t port;
};

/*
 * Called by the stack, with the stack lock held, whenever a socket's readiness
 * may have changed (data or a connection arrived, buffer space freed, an error
 * or end of stream). The callee must not call back into the stack, nor make a
 * system call; the shim queues wake-ups for its waiters, who then re-check
 * the socket under the lock (stack/CONCURRENCY.md).
 */
struct sock_wakeup {
	void (*fn)(void *ctx);
	void *ctx;
};

static inline void sock_wake(const struct sock_wakeup *w)
{
	if (w->fn)
		w->fn(w->ctx);
}

/* Readiness bits returned by udp_poll() and tcp_poll(); the same values as poll(2)'s. */
#define SOCK_POLLIN    0x001
#define SOCK_POLLPRI   0x002
#define SOCK_POLLOUT   0x004
#define SOCK_POLLERR   0x008
#define SOCK_POLLHUP   0x010
#define SOCK_POLLRDHUP 0x2000

/* Flags for receive calls. */
#define SOCK_PEEK 0x1

#endif
