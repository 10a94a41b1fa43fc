/*
 * synflood: sends COUNT TCP SYNs as fast as it can (or at a given rate) to
 * DST:PORT, each from a random source port and a source address taken from a
 * range of unassigned documentation addresses, the way a SYN flood does.
 *
 *   synflood -d DST -p PORT [-n COUNT] [-T SECONDS] [-R PPS]
 *            [-s FIRST-LAST] [-i IFACE -m DSTMAC] [-O] [-S SEED]
 *
 *   -d DST          target address: must be inside 192.0.2.0/24 (refused otherwise)
 *   -p PORT         target port
 *   -n COUNT        SYNs to send (default 1000, at most 10,000,000)
 *   -T SECONDS      bound on the run (default 30)
 *   -R PPS          at most this many SYNs per second (default: no limit)
 *   -s FIRST-LAST   source addresses, e.g. 192.0.2.100-192.0.2.199 (the default);
 *                   both ends must be inside 192.0.2.0/24
 *   -i IFACE -m MAC send Ethernet frames on IFACE (AF_PACKET) to MAC; without -i
 *                   a raw IP socket (IPPROTO_RAW) and the kernel's routing and ARP
 *   -O              only an MSS option (default: MSS, SACK-permitted, timestamps
 *                   and window scale, the options Linux puts on its SYNs)
 *   -S SEED         seed of the random ports and sequence numbers (default 1)
 *
 * Needs CAP_NET_RAW. Prints "synflood: sent N SYNs in S.SSS s (R/s), E send errors".
 * Exit status 0 when all COUNT were sent, 1 otherwise, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The only network this tool will ever address: RFC 5737 TEST-NET-1. */
#define TESTNET     0xc0000200u
#define TESTNET_MASK 0xffffff00u

static int in_testnet(uint32_t host_order)
{
	return (host_order & TESTNET_MASK) == TESTNET;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int parse_ip(const char *s, uint32_t *host_order)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*host_order = ntohl(a.s_addr);
	return 0;
}

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: synflood -d DST -p PORT [-n COUNT] [-T SECONDS] [-R PPS] [-s FIRST-LAST] "
			"[-i IFACE -m DSTMAC] [-O] [-S SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *dst_arg = NULL;
	uint32_t dst = 0, src_lo = 0xc0000264u, src_hi = 0xc00002c7u; /* 192.0.2.100-199 */
	uint8_t dmac[6], smac[6] = { 0 }, frame[128];
	unsigned long count = 1000, sent = 0, errors = 0;
	double max_time = 30, pps = 0, t0, el;
	int have_mac = 0, mss_only = 0, opt, fd;
	long port = 0;
	struct sockaddr_ll sll;
	struct sockaddr_in sin;

	rng_state = 1;
	while ((opt = getopt(argc, argv, "d:p:n:T:R:s:i:m:OS:")) != -1) {
		switch (opt) {
		case 'd': dst_arg = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'T': max_time = strtod(optarg, NULL); break;
		case 'R': pps = strtod(optarg, NULL); break;
		case 's': {
			char lo[32], hi[32];

			if (sscanf(optarg, "%31[0-9.]-%31[0-9.]", lo, hi) != 2 || parse_ip(lo, &src_lo) ||
			    parse_ip(hi, &src_hi) || src_lo > src_hi) {
				fprintf(stderr, "synflood: bad source range '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'i': ifname = optarg; break;
		case 'm':
			if (parse_mac(optarg, dmac)) {
				fprintf(stderr, "synflood: bad MAC '%s'\n", optarg);
				return 2;
			}
			have_mac = 1;
			break;
		case 'O': mss_only = 1; break;
		case 'S': rng_state = strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ull + 1; break;
		default: usage();
		}
	}
	if (optind != argc || !dst_arg || port < 1 || port > 65535 || count < 1 || count > 10000000 ||
	    max_time <= 0 || max_time > 3600 || (ifname && !have_mac))
		usage();
	if (parse_ip(dst_arg, &dst)) {
		fprintf(stderr, "synflood: bad destination '%s'\n", dst_arg);
		return 2;
	}
	/* Hard limit: traffic only ever goes to, and claims to come from, TEST-NET-1. */
	if (!in_testnet(dst) || !in_testnet(src_lo) || !in_testnet(src_hi)) {
		fprintf(stderr, "synflood: refused: destination and sources must be inside 192.0.2.0/24\n");
		return 2;
	}

	if (ifname) {
		struct ifreq ifr;

		fd = socket(AF_PACKET, SOCK_RAW, 0);
		if (fd < 0) {
			perror("synflood: socket(AF_PACKET)");
			return 1;
		}
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
			fprintf(stderr, "synflood: no interface %s: %s\n", ifname, strerror(errno));
			return 1;
		}
		memset(&sll, 0, sizeof(sll));
		sll.sll_family = AF_PACKET;
		sll.sll_ifindex = ifr.ifr_ifindex;
		sll.sll_halen = 6;
		memcpy(sll.sll_addr, dmac, 6);
		if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
			memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	} else {
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		if (fd < 0) {
			perror("synflood: socket(IPPROTO_RAW)");
			return 1;
		}
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(dst);
	}

	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	/* The constant parts of the frame. */
	size_t l2 = ifname ? 14 : 0;
	size_t optlen = mss_only ? 4 : 20;
	size_t tcplen = 20 + optlen, iplen = 20 + tcplen, flen = l2 + iplen;
	uint8_t *ip = frame + l2, *tcp = ip + 20, *o = tcp + 20;

	memset(frame, 0, sizeof(frame));
	if (ifname) {
		memcpy(frame, dmac, 6);
		memcpy(frame + 6, smac, 6);
		put16(frame + 12, 0x0800);
	}
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)iplen);
	put16(ip + 6, 0x4000);          /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	put32(ip + 16, dst);
	put16(tcp + 2, (uint16_t)port);
	tcp[12] = (uint8_t)((tcplen / 4) << 4);
	tcp[13] = 0x02;                 /* SYN */
	put16(tcp + 14, 64240);
	/* MSS 1460 [, SACK-permitted, timestamps, NOP, window scale 7]: Linux's order. */
	o[0] = 2; o[1] = 4; put16(o + 2, 1460);
	if (!mss_only) {
		o[4] = 4; o[5] = 2;
		o[6] = 8; o[7] = 10;    /* TSval at o+8, TSecr 0 */
		o[16] = 1;
		o[17] = 3; o[18] = 3; o[19] = 7;
	}

	t0 = now_s();
	for (sent = 0; sent < count && !stopping;) {
		double el_now = now_s() - t0;

		if (el_now >= max_time)
			break;
		if (pps > 0 && sent >= (unsigned long)(el_now * pps) + 1) {
			usleep(200);
			continue;
		}
		uint32_t src = src_lo + rnd() % (src_hi - src_lo + 1);

		put16(ip + 4, (uint16_t)rnd());
		put32(ip + 12, src);
		put16(ip + 10, 0);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		put16(tcp, (uint16_t)(1024 + rnd() % 64512));
		put32(tcp + 4, rnd());
		if (!mss_only)
			put32(o + 8, rnd());
		put16(tcp + 16, 0);
		uint32_t ps = sum16(ip + 12, 8, 0) + IPPROTO_TCP + (uint32_t)tcplen;
		put16(tcp + 16, fold(sum16(tcp, tcplen, ps)));

		ssize_t n = ifname ? sendto(fd, frame, flen, 0, (struct sockaddr *)&sll, sizeof(sll))
				   : sendto(fd, frame, flen, 0, (struct sockaddr *)&sin, sizeof(sin));
		if (n == (ssize_t)flen) {
			sent++;
			continue;
		}
		errors++;
		if (errno == ENOBUFS || errno == EAGAIN) {
			/* The device's queue is full: let it drain. */
			usleep(100);
			continue;
		}
		if (errors > 1000) {
			perror("synflood: sendto");
			break;
		}
	}
	el = now_s() - t0;
	printf("synflood: sent %lu SYNs in %.3f s (%.0f/s), %lu send errors\n", sent, el, el > 0 ? sent / el : 0.0,
	       errors);
	close(fd);
	return sent == count ? 0 : 1;
}
