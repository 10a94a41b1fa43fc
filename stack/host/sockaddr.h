/*
 * An IPv4 endpoint as the kernel's socket calls write it, and back: a
 * sockaddr_in, or on an AF_INET6 socket a sockaddr_in6 with the address
 * IPv4-mapped (::ffff:a.b.c.d; 0.0.0.0 is ::, as Linux shows an unbound
 * dual-stack socket). Used where the host and the shim meet the kernel's
 * sockets (a loopback side, the relays).
 */
#ifndef PSTACK_HOST_SOCKADDR_H
#define PSTACK_HOST_SOCKADDR_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "stack/core/sock.h"

/* ep in family's form; the length written. */
static inline socklen_t ip4_to_sockaddr(int family, const struct ip4_endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		uint8_t *a = s6->sin6_addr.s6_addr;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep->port);
		if (ep->addr) {
			a[10] = a[11] = 0xff;
			a[12] = (uint8_t)(ep->addr >> 24);
			a[13] = (uint8_t)(ep->addr >> 16);
			a[14] = (uint8_t)(ep->addr >> 8);
			a[15] = (uint8_t)ep->addr;
		}
		return sizeof(*s6);
	}
	((struct sockaddr_in *)ss)->sin_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_port = htons(ep->port);
	((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(ep->addr);
	return sizeof(struct sockaddr_in);
}

/* The IPv4 endpoint of a sockaddr_in, or of a sockaddr_in6's last four
 * bytes (IPv4-mapped); 0.0.0.0:0 for another family. */
static inline struct ip4_endpoint ip4_from_sockaddr(const struct sockaddr_storage *ss)
{
	struct ip4_endpoint ep = { 0, 0 };

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		ep.addr = ntohl(s4->sin_addr.s_addr);
		ep.port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		const uint8_t *a = s6->sin6_addr.s6_addr;

		ep.addr = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
		ep.port = ntohs(s6->sin6_port);
	}
	return ep;
}

#endif
