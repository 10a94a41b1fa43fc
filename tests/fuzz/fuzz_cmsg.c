/*
 * libFuzzer target: the control messages of sendmsg() and recvmsg(), the
 * program's own bytes that the shim reads (tx_cmsgs_parse in shim/sock.c:
 * SOL_SOCKET's SO_TIMESTAMPING, SO_MARK, SO_PRIORITY; SOL_IP's IP_PKTINFO,
 * IP_TTL, IP_TOS, IP_PROTOCOL, IP_RETOPTS; SOL_UDP's UDP_SEGMENT; SOL_IPV6's
 * IPV6_PKTINFO) and writes (put_cmsg: the receive options' messages into a
 * buffer of the program's size).
 *
 * The whole shim runs on the unit tests' fake host (an in-memory link, the
 * stack lock with its checks, a libc table that aborts on a system call
 * made under the lock), one fresh stack per input. Each input is:
 *
 *   byte 0   the socket: bits 0-1 UDP over AF_INET, UDP over AF_INET6,
 *            TCP over AF_INET, TCP over AF_INET6; bit 2 connect the UDP
 *            socket first; bit 3 no destination in the msghdr; bit 4 the
 *            datagram to the subnet's broadcast address (SO_BROADCAST on)
 *   byte 1   the send's flags, each bit one of send_flags[]
 *   byte 2   the receive options turned on, each bit one of rx_opts[]
 *   byte 3   the receive's control buffer size (0: none)
 *   then     the send's control buffer, exactly these bytes (heap: ASan
 *            sees a read past its end)
 *
 * A non-blocking socket (nothing may wait: the fake host has no other
 * thread) sends one datagram or a TCP send with those control messages:
 * the answer is its length or an errno a sendmsg can give; then a UDP
 * socket receives a datagram from the link with its options' control
 * messages in a buffer of byte 3's size: what recvmsg answers must fit
 * (msg_controllen no more than given, every message whole and inside it,
 * MSG_CTRUNC when one was cut), and once the stack is gone no packet buffer
 * or fd may be left.
 *
 *   build/fuzz/fuzz_cmsg -max_total_time=60 build/fuzz/corpus-fuzz_cmsg tests/fuzz/corpus-fuzz_cmsg
 *
 * The seeds (FUZZ_CMSG_SEEDS=DIR build/fuzz/fuzz_cmsg writes them) are the
 * messages as programs write them: IP_TTL, IP_TOS in one byte and in an
 * int, IP_PKTINFO, two in a row, SO_TIMESTAMPING, UDP_SEGMENT, IPV6_PKTINFO
 * with a mapped address, a header cut short, a cmsg_len past the buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim/shim.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/unit/support/fake_host.h"
#include "tests/unit/support/harness.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define HEAD 4
#define PORT 7

static const int send_flags[8] = { MSG_MORE, MSG_CONFIRM, MSG_OOB, MSG_NOSIGNAL,
				   MSG_EOR, MSG_TRUNC, MSG_ERRQUEUE, MSG_PROXY /* MSG_PROBE */ };

static const struct {
	int level, name, val;
} rx_opts[8] = {
	{ IPPROTO_IP, IP_PKTINFO, 1 },
	{ IPPROTO_IP, IP_RECVTTL, 1 },
	{ IPPROTO_IP, IP_RECVTOS, 1 },
	{ SOL_SOCKET, SO_TIMESTAMP, 1 },
	{ SOL_SOCKET, SO_TIMESTAMPNS, 1 },
	{ IPPROTO_IP, IP_RECVORIGDSTADDR, 1 },
	{ IPPROTO_IP, IP_RECVERR, 1 },
	{ SOL_SOCKET, SO_TIMESTAMPING, SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE },
};

/* What a sendmsg() may answer besides a count. */
static bool send_errno_ok(long r)
{
	switch (-r) {
	case EINVAL: case ENOBUFS: case EFAULT: case EMSGSIZE: case EOPNOTSUPP: case EPIPE:
	case ENOTCONN: case EDESTADDRREQ: case EAGAIN: case EISCONN: case ENETUNREACH:
	case EAFNOSUPPORT: case EACCES: case EPERM: case EINPROGRESS: case EHOSTUNREACH:
	case EADDRNOTAVAIL: case ECONNREFUSED: case EALREADY: case ENOMEM:
		return true;
	default:
		return false;
	}
}

static void addr_of(int fam, uint32_t ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(ip);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (ip) {
			a->sin6_addr.s6_addr[10] = 0xff;
			a->sin6_addr.s6_addr[11] = 0xff;
			a->sin6_addr.s6_addr32[3] = htonl(ip);
		}
		*len = sizeof(*a);
	}
}

/* What recvmsg wrote into a control buffer of cap bytes. */
static void check_rx_control(const struct msghdr *m, size_t cap)
{
	const uint8_t *p = m->msg_control;
	size_t len = m->msg_controllen, off = 0;

	if (len > cap)
		abort();
	while (off + sizeof(struct cmsghdr) <= len) {
		struct cmsghdr h;

		memcpy(&h, p + off, sizeof(h));
		if (h.cmsg_len < sizeof(struct cmsghdr) || h.cmsg_len > len - off)
			abort();        /* a message cut without being said so, or past the buffer */
		off += CMSG_ALIGN(h.cmsg_len);
	}
}

static void receive(int fd, size_t cap)
{
	static const char text[] = "a datagram";
	uint8_t *ctl = cap ? malloc(cap) : NULL;
	char buf[64];
	struct iovec v = { buf, sizeof(buf) };
	struct msghdr m;
	long r;

	if (cap && !ctl)
		abort();
	stack_lock(&fh.lock);
	fh_deliver_udp(PORT, text);
	stack_unlock(&fh.lock);
	memset(&m, 0, sizeof(m));
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	m.msg_control = ctl;
	m.msg_controllen = cap;
	r = shim_recvmsg(fd, &m, MSG_DONTWAIT);
	if (r >= 0) {
		if ((size_t)r != sizeof(text) - 1 || memcmp(buf, text, sizeof(text) - 1))
			abort();
		check_rx_control(&m, cap);
	} else if (r != -EAGAIN) {
		abort();        /* the datagram came from the link to the socket's port */
	}
	/* The error queue too, read with the same buffer. */
	m.msg_controllen = cap;
	r = shim_recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (r >= 0)
		check_rx_control(&m, cap);
	free(ctl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char payload[] = "x";
	unsigned fds_before = fuzz_count_fds();
	struct sockaddr_storage to, any;
	socklen_t tolen, anylen;
	struct shim_host host;
	struct harness *h;
	struct iovec v = { (void *)payload, 1 };
	struct msghdr m;
	uint8_t *ctl;
	size_t clen;
	int fam, type, fd, flags = MSG_DONTWAIT;
	long r;

	if (size < HEAD)
		return 0;
	fam = data[0] & 1 ? AF_INET6 : AF_INET;
	type = data[0] & 2 ? SOCK_STREAM : SOCK_DGRAM;
	for (int i = 0; i < 8; i++)
		if (data[1] & 1u << i)
			flags |= send_flags[i];
	clen = size - HEAD;
	ctl = malloc(clen ? clen : 1);
	if (!ctl)
		abort();
	memcpy(ctl, data + HEAD, clen);

	h = h_new(NULL, false);
	h_learn_peer(h);
	h_set_output(h, fuzz_output_drop, NULL);
	fh_setup(h, shim_wake_flush);
	fh_host(&host);
	fh_init_shim(&host, NULL);

	fd = shim_socket(fam, type | SOCK_NONBLOCK, 0);
	if (fd < 0)
		abort();
	addr_of(fam, 0, PORT, &any, &anylen);
	if (shim_bind(fd, (struct sockaddr *)&any, anylen))
		abort();
	if (data[0] & 16) {
		int one = 1;

		(void)shim_setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
		addr_of(fam, H_STACK_IP | 0xffu, 9, &to, &tolen);
	} else {
		addr_of(fam, H_PEER_IP, 9, &to, &tolen);
	}
	if (type == SOCK_DGRAM) {
		for (int i = 0; i < 8; i++)
			if (data[2] & 1u << i)
				(void)shim_setsockopt(fd, rx_opts[i].level, rx_opts[i].name, &rx_opts[i].val,
						      sizeof(rx_opts[i].val));
		if (data[0] & 4)
			(void)shim_connect(fd, (struct sockaddr *)&to, tolen);
	}

	memset(&m, 0, sizeof(m));
	if (!(data[0] & 8)) {
		m.msg_name = &to;
		m.msg_namelen = tolen;
	}
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	m.msg_control = clen ? ctl : NULL;
	m.msg_controllen = clen;
	r = shim_sendmsg(fd, &m, flags);
	if (r > 1 || (r < 0 && !send_errno_ok(r)))
		abort();
	/* A datagram corked by MSG_MORE leaves with the next send, or the close. */
	if (type == SOCK_DGRAM)
		receive(fd, data[3]);

	if (shim_close(fd))
		abort();
	fh_teardown();
	h_drain_tx(h);
	h_free(h);
	free(ctl);
	if (fuzz_count_fds() != fds_before)
		abort();
	return 0;
}

static void write_seed(const char *dir, const char *name, uint8_t sock, uint8_t sflags, uint8_t rxo, uint8_t rxcap,
		       const void *ctl, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputc(sock, f);
	fputc(sflags, f);
	fputc(rxo, f);
	fputc(rxcap, f);
	if (len)
		fwrite(ctl, 1, len, f);
	fclose(f);
}

/* One control message of level/type carrying len bytes of data, at buf;
 * returns its aligned size. */
static size_t put(uint8_t *buf, int level, int type, const void *val, size_t len)
{
	struct cmsghdr h = { .cmsg_len = CMSG_LEN(len), .cmsg_level = level, .cmsg_type = type };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + CMSG_LEN(0), val, len);
	return CMSG_SPACE(len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_CMSG_SEEDS");
	uint8_t b[256];
	size_t n;
	int ttl = 9, tos = 0x10, segment;
	uint8_t tos1 = 0x20;
	uint32_t ts = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_SCHED;
	uint16_t gso = 500;
	struct in_pktinfo pi;
	struct in6_pktinfo pi6;
	struct cmsghdr big;

	(void)argc;
	(void)argv;
	/* A TCP send on an unconnected socket raises SIGPIPE, as the kernel's. */
	signal(SIGPIPE, SIG_IGN);
	if (!dir)
		return 0;
	memset(b, 0, sizeof(b));
	memset(&pi, 0, sizeof(pi));
	pi.ipi_spec_dst.s_addr = htonl(H_STACK_IP);
	memset(&pi6, 0, sizeof(pi6));
	pi6.ipi6_addr.s6_addr[10] = 0xff;
	pi6.ipi6_addr.s6_addr[11] = 0xff;
	pi6.ipi6_addr.s6_addr32[3] = htonl(H_STACK_IP);

	n = put(b, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	write_seed(dir, "ip_ttl", 0, 0, 0x03, 64, b, n);
	n = put(b, IPPROTO_IP, IP_TOS, &tos1, sizeof(tos1));
	write_seed(dir, "ip_tos_byte", 0, 0, 0x04, 32, b, n);
	n = put(b, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	write_seed(dir, "ip_tos_int", 4, 0, 0x04, 8, b, n);
	n = put(b, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	write_seed(dir, "ip_pktinfo", 0, 0, 0x21, 128, b, n);
	n = put(b, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	n += put(b + n, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	write_seed(dir, "ttl_and_pktinfo", 0, 1, 0x3f, 255, b, n);
	n = put(b, SOL_SOCKET, SO_TIMESTAMPING, &ts, sizeof(ts));
	write_seed(dir, "so_timestamping", 2, 0, 0x80, 200, b, n);
	n = put(b, SOL_UDP, UDP_SEGMENT, &gso, sizeof(gso));
	write_seed(dir, "udp_segment", 0, 0, 0x18, 40, b, n);
	n = put(b, IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6));
	write_seed(dir, "ipv6_pktinfo_mapped", 1, 0, 0x01, 100, b, n);
	segment = 7;
	n = put(b, IPPROTO_IP, IP_TTL, &segment, sizeof(segment));
	write_seed(dir, "header_cut", 0, 0, 0, 0, b, sizeof(struct cmsghdr) - 4);
	big = (struct cmsghdr){ .cmsg_len = 4096, .cmsg_level = IPPROTO_IP, .cmsg_type = IP_TTL };
	memcpy(b, &big, sizeof(big));
	write_seed(dir, "len_past_end", 0, 0, 0x40, 16, b, sizeof(big) + 4);
	exit(0);
}
