/* Placeholder until UDP lands. */
#include "stack/udp.h"

#include <errno.h>

#include "stack/ip4.h"
#include "stack/stack.h"

int udp_init(struct stack *s) { (void)s; return 0; }
void udp_fini(struct stack *s) { (void)s; }
void udp_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now)
{
	(void)ih; (void)p; (void)len; (void)now;
	stack_drop(s, DROP_UDP_NO_SOCKET);
}
void udp_icmp_error(struct stack *s, const struct ip4_hdr *q, const uint8_t *qp, size_t qlen, int err)
{
	(void)s; (void)q; (void)qp; (void)qlen; (void)err;
}
struct udp_sock *udp_open(struct stack *s) { (void)s; return (struct udp_sock *)0; }
void udp_close(struct udp_sock *u) { (void)u; }
int udp_bind(struct udp_sock *u, const struct ip4_endpoint *l, unsigned f) { (void)u; (void)l; (void)f; return -ENOSYS; }
int udp_connect(struct udp_sock *u, const struct ip4_endpoint *p) { (void)u; (void)p; return -ENOSYS; }
long udp_sendto(struct udp_sock *u, const void *b, size_t n, const struct ip4_endpoint *d, uint64_t now)
{
	(void)u; (void)b; (void)n; (void)d; (void)now; return -ENOSYS;
}
long udp_recvfrom(struct udp_sock *u, void *b, size_t n, struct ip4_endpoint *src, size_t *full, unsigned f)
{
	(void)u; (void)b; (void)n; (void)src; (void)full; (void)f; return -ENOSYS;
}
unsigned udp_poll(const struct udp_sock *u) { (void)u; return 0; }
int udp_take_error(struct udp_sock *u) { (void)u; return 0; }
void udp_local(const struct udp_sock *u, struct ip4_endpoint *ep) { (void)u; ep->addr = 0; ep->port = 0; }
int udp_peer(const struct udp_sock *u, struct ip4_endpoint *ep) { (void)u; (void)ep; return -ENOTCONN; }
void udp_set_wakeup(struct udp_sock *u, const struct sock_wakeup *w) { (void)u; (void)w; }
void udp_set_rcvbuf(struct udp_sock *u, size_t b) { (void)u; (void)b; }
size_t udp_get_rcvbuf(const struct udp_sock *u) { (void)u; return 0; }
size_t udp_next_size(const struct udp_sock *u) { (void)u; return 0; }
void udp_set_tos(struct udp_sock *u, uint8_t tos) { (void)u; (void)tos; }
