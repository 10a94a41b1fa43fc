/* Placeholder until the TCP engine lands: every segment is dropped. */
#include "stack/tcp.h"

#include <errno.h>

#include "stack/ip4.h"
#include "stack/stack.h"

const char *tcp_state_name(enum tcp_state st) { (void)st; return "CLOSED"; }
int tcp_init(struct stack *s) { (void)s; return 0; }
void tcp_fini(struct stack *s) { (void)s; }
void tcp_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now)
{
	(void)ih; (void)p; (void)len; (void)now;
	stack_drop(s, DROP_TCP_NO_SOCKET);
}
void tcp_icmp_error(struct stack *s, const struct ip4_hdr *q, const uint8_t *qp, size_t qlen, int err, uint32_t mtu)
{
	(void)s; (void)q; (void)qp; (void)qlen; (void)err; (void)mtu;
}
void tcp_timers(struct stack *s, uint64_t now) { (void)s; (void)now; }
uint64_t tcp_timers_at(const struct stack *s) { (void)s; return STACK_NEVER; }
size_t tcp_pending_close(const struct stack *s) { (void)s; return 0; }
struct tcp_conn *tcp_open(struct stack *s) { (void)s; return (struct tcp_conn *)0; }
int tcp_bind(struct tcp_conn *c, const struct ip4_endpoint *l, unsigned f) { (void)c; (void)l; (void)f; return -ENOSYS; }
int tcp_listen(struct tcp_conn *c, int b) { (void)c; (void)b; return -ENOSYS; }
int tcp_connect(struct tcp_conn *c, const struct ip4_endpoint *p, uint64_t now) { (void)c; (void)p; (void)now; return -ENOSYS; }
struct tcp_conn *tcp_accept(struct tcp_conn *l, int *err) { (void)l; *err = -ENOSYS; return (struct tcp_conn *)0; }
long tcp_send(struct tcp_conn *c, const void *b, size_t n, uint64_t now) { (void)c; (void)b; (void)n; (void)now; return -ENOSYS; }
long tcp_recv(struct tcp_conn *c, void *b, size_t n, unsigned f, uint64_t now) { (void)c; (void)b; (void)n; (void)f; (void)now; return -ENOSYS; }
int tcp_shutdown(struct tcp_conn *c, int how, uint64_t now) { (void)c; (void)how; (void)now; return -ENOSYS; }
void tcp_close(struct tcp_conn *c, uint64_t now) { (void)c; (void)now; }
unsigned tcp_poll(const struct tcp_conn *c) { (void)c; return 0; }
int tcp_take_error(struct tcp_conn *c) { (void)c; return 0; }
enum tcp_state tcp_get_state(const struct tcp_conn *c) { (void)c; return TCP_STATE_CLOSED; }
void tcp_local(const struct tcp_conn *c, struct ip4_endpoint *ep) { (void)c; ep->addr = 0; ep->port = 0; }
int tcp_peer(const struct tcp_conn *c, struct ip4_endpoint *ep) { (void)c; (void)ep; return -ENOTCONN; }
void tcp_set_wakeup(struct tcp_conn *c, const struct sock_wakeup *w) { (void)c; (void)w; }
size_t tcp_inq(const struct tcp_conn *c) { (void)c; return 0; }
size_t tcp_outq(const struct tcp_conn *c) { (void)c; return 0; }
int tcp_setopt(struct tcp_conn *c, enum tcp_option o, int v) { (void)c; (void)o; (void)v; return -ENOPROTOOPT; }
int tcp_getopt(const struct tcp_conn *c, enum tcp_option o, int *v) { (void)c; (void)o; (void)v; return -ENOPROTOOPT; }
void tcp_get_info(const struct tcp_conn *c, struct tcp_conn_info *i, uint64_t now) { (void)c; (void)i; (void)now; }
