/*
 * The TAP device driver (Linux Documentation/networking/tuntap.rst).
 *
 * /dev/net/tun with TUNSETIFF(IFF_TAP | IFF_NO_PI): one read() is one whole
 * Ethernet frame, one write() sends one. Every call is a raw system call
 * (stack/dev/sysc.h): inside libpstack.so, libc's socket(), ioctl(), read(),
 * write() and close() are our own interposed wrappers.
 *
 * A device that exists (made persistent by `pstack tap add` or `ip tuntap
 * add`) is only attached to: its addresses are the administrator's. A device
 * we create is transient (no TUNSETPERSIST: it vanishes when our fd closes),
 * so we also bring it up and give the host side the gateway address, which
 * makes the kernel a peer on the stack's subnet.
 *
 * With more than one queue (PSTACK_QUEUES), the device is attached with
 * IFF_MULTI_QUEUE once per queue: each fd is a queue of its own, written by
 * its own thread while others write theirs (tap.h).
 */
#include "stack/dev/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <time.h>

#include "stack/core/lockcheck.h"
#include "stack/core/log.h"
#include "stack/dev/sysc.h"
#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"
#include "stack/wire/wire.h"

/* Frames receive reads from one queue in a row before it looks at the next
 * (tap.h): a queue that never empties must not starve the others. */
#define TAP_RX_RUN 64

struct tap_dev {
	struct netdev dev;
	int fd;                 /* queue 0's */
	int fds[TAP_QUEUES_MAX]; /* every queue's (fds[0] == fd) */
	unsigned nq;
	int epfd;               /* nq > 1: an epoll fd holding every queue's fd (pollfd); else -1 */
	/* receive's turn: the queue it reads, and how many frames in a row it
	 * gave. One reader at a time (the runner's rx_busy); atomics only so
	 * that a hand-over between readers is no data race. */
	atomic_uint rx_q, rx_run;
	/* With IFF_VNET_HDR every frame carries a struct virtio_net_hdr in
	 * front (0: plain frames). */
	size_t vnet_hdr_len;
	/* PSTACK_PCAP is on: complete partial checksums even where the stack
	 * would trust them, so the capture shows valid ones. */
	bool complete_partial;
};

/* One frame behind its virtio header, in one system call. */
static int tap_write_vnet(int fd, struct virtio_net_hdr *vh, const uint8_t *frame, size_t len)
{
	struct iovec iov[2];
	long rc;

	iov[0].iov_base = vh;
	iov[0].iov_len = sizeof(*vh);
	iov[1].iov_base = (void *)frame;
	iov[1].iov_len = len;
	rc = sys_writev(fd, iov, 2);
	if (rc < 0)
		return (int)rc;
	/* The driver takes a frame whole or not at all. */
	return (size_t)rc == len + sizeof(*vh) ? 0 : -EIO;
}

/* The same, a frame in pieces (tap_transmit_ext): its len bytes at frame,
 * then the tail's ranges. */
static int tap_write_vnet_ext(int fd, struct virtio_net_hdr *vh, const uint8_t *frame, size_t len,
			      const struct pkb_ext *tail)
{
	struct iovec iov[4];
	size_t total = sizeof(*vh) + len + tail->n[0] + tail->n[1];
	int n = 3;
	long rc;

	iov[0].iov_base = vh;
	iov[0].iov_len = sizeof(*vh);
	iov[1].iov_base = (void *)frame;
	iov[1].iov_len = len;
	iov[2].iov_base = (void *)tail->p[0];
	iov[2].iov_len = tail->n[0];
	if (tail->n[1]) {
		iov[3].iov_base = (void *)tail->p[1];
		iov[3].iov_len = tail->n[1];
		n = 4;
	}
	rc = sys_writev(fd, iov, n);
	if (rc < 0)
		return (int)rc;
	return (size_t)rc == total ? 0 : -EIO;
}

/*
 * TSO (transmit with gso_size): a TCP/IPv4 frame of up to 64 KB that the
 * kernel cuts into segments of gso_size payload bytes, filling in each one's
 * checksums. The TCP checksum field holds the pseudo-header sum over the
 * whole frame's TCP length, the form the kernel's segmentation expects
 * (CHECKSUM_PARTIAL).
 */
static int tap_transmit_gso(struct tap_dev *t, int fd, const uint8_t *frame, size_t len,
			    const struct pkb_ext *tail, uint16_t gso_size)
{
	size_t total = len + (tail ? tail->n[0] + tail->n[1] : 0);
	struct virtio_net_hdr vh;
	struct ip4_hdr ih;
	struct tcp_seg g;

	/* The stack builds these frames itself; still, never describe a frame
	 * wrongly. Every header is in the len bytes at frame. */
	if (!t->vnet_hdr_len || len < ETH_HLEN + IP4_HLEN ||
	    ip4_hdr_parse(frame + ETH_HLEN, total - ETH_HLEN, &ih) != WIRE_OK || (size_t)ETH_HLEN + ih.ihl + TCP_HLEN > len ||
	    tcp_seg_parse(frame + ETH_HLEN + ih.ihl, ih.total_len - ih.ihl, ih.src, ih.dst, &g) != WIRE_OK ||
	    (size_t)ETH_HLEN + ih.ihl + g.hlen > len)
		return -EINVAL;
	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.hdr_len = (uint16_t)(ETH_HLEN + ih.ihl + g.hlen);
	vh.gso_size = gso_size;
	vh.csum_start = (uint16_t)(ETH_HLEN + ih.ihl);
	vh.csum_offset = TCP_CSUM_OFF;
	if (!tail)
		return tap_write_vnet(fd, &vh, frame, len);
	/*
	 * The kernel copies hdr_len bytes into the buffer's head and the rest
	 * into pages, from their start: with the payload bytes that precede a
	 * 64-byte line of the tail in the head too, the pages' copy runs
	 * between aligned addresses (pkb.h's PKB_ALIGN; the stack put them
	 * with the headers).
	 */
	vh.hdr_len = (uint16_t)len;
	return tap_write_vnet_ext(fd, &vh, frame, len, tail);
}

/* One frame on the queue whose fd is fd. */
static int tap_transmit_fd(struct tap_dev *t, int fd, const uint8_t *frame, size_t len, uint16_t gso_size)
{
	struct virtio_net_hdr vh;
	long rc;

	stack_assert_unlocked();    /* no device I/O under the stack lock (stack/CONCURRENCY.md) */
	if (gso_size)
		return tap_transmit_gso(t, fd, frame, len, NULL, gso_size);
	if (!t->vnet_hdr_len) {
		rc = sys_write(fd, frame, len);
		if (rc < 0)
			return (int)rc;
		return (size_t)rc == len ? 0 : -EIO;
	}
	/* The stack's frames are complete (checksums filled in, no GSO): an all-zero header. */
	memset(&vh, 0, sizeof(vh));
	return tap_write_vnet(fd, &vh, frame, len);
}

static int tap_transmit(struct netdev *dev, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now)
{
	struct tap_dev *t = dev->priv;

	(void)now;
	return tap_transmit_fd(t, t->fd, frame, len, gso_size);
}

static int tap_transmit_ext(struct netdev *dev, unsigned queue, const uint8_t *frame, size_t len,
			    const struct pkb_ext *tail, uint16_t gso_size, uint64_t now)
{
	struct tap_dev *t = dev->priv;

	(void)now;
	stack_assert_unlocked();
	if (!gso_size)
		return -EINVAL;     /* only TSO frames come in pieces */
	return tap_transmit_gso(t, t->nq > 1 && queue < t->nq ? t->fds[queue] : t->fd, frame, len, tail, gso_size);
}

static int tap_transmit_queue(struct netdev *dev, unsigned queue, const uint8_t *frame, size_t len,
			      uint16_t gso_size, uint64_t now)
{
	struct tap_dev *t = dev->priv;

	(void)now;
	return tap_transmit_fd(t, t->fds[queue < t->nq ? queue : 0], frame, len, gso_size);
}

/*
 * The kernel may hand us a frame whose transport checksum is only partial
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM: the field holds the pseudo-header sum, the
 * rest is left to the "hardware") and, with TSO, a TCP segment of up to 64 KB
 * that the kernel never split (gso_type TCPV4). The stack takes both as they
 * are if the checksum is complete, so the driver finishes it here, acting as
 * the device's checksum engine.
 */
bool tap_finish_csum(uint8_t flags, uint16_t csum_start, uint16_t csum_offset, uint8_t *frame, size_t len)
{
	size_t start, at;

	if (!(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return true;
	start = csum_start;
	at = start + csum_offset;
	if (start >= len || at + 2 > len)
		return false;
	/* The field already holds the pseudo-header sum: summing over it completes it. */
	wr16(frame + at, csum_fold(csum_partial(frame + start, len - start, 0)));
	return true;
}

/*
 * A NEEDS_CSUM frame whose partial checksum is the TCP or UDP one of an
 * IPv4 datagram (csum_start at the transport header, csum_offset at its
 * checksum field): one the stack may take as it is, with NETDEV_RX_CSUM_OK.
 * The frame came from the local kernel and was never on a wire, so there is
 * nothing to verify: Linux likewise trusts CHECKSUM_PARTIAL on receive.
 */
bool tap_partial_is_transport(uint16_t csum_start, uint16_t csum_offset, const uint8_t *frame, size_t len)
{
	struct eth_hdr e;
	struct ip4_hdr ih;
	size_t tlen;

	if (eth_hdr_parse(frame, len, &e) != WIRE_OK || e.type != ETH_TYPE_IP4 ||
	    ip4_hdr_parse(frame + ETH_HLEN, len - ETH_HLEN, &ih) != WIRE_OK)
		return false;
	if (csum_start != ETH_HLEN + ih.ihl || ih.mf || ih.frag_off)
		return false;   /* not at the transport header, or a fragment */
	tlen = (size_t)ih.total_len - ih.ihl;
	switch (ih.proto) {
	case IP_PROTO_TCP:
		return csum_offset == TCP_CSUM_OFF && tlen >= TCP_HLEN;
	case IP_PROTO_UDP:
		return csum_offset == UDP_CSUM_OFF && tlen >= UDP_HLEN;
	default:
		return false;
	}
}

/* One frame from the queue whose fd is fd (receive's contract). */
static long tap_receive_fd(struct tap_dev *t, int fd, uint8_t *buf, size_t cap, unsigned *rx_flags)
{
	struct virtio_net_hdr vh;
	struct iovec iov[2];
	long rc;

	*rx_flags = 0;
	if (!t->vnet_hdr_len) {
		rc = sys_read(fd, buf, cap);
		return rc == -EAGAIN || rc == -EINTR ? 0 : rc;
	}
	iov[0].iov_base = &vh;
	iov[0].iov_len = sizeof(vh);
	iov[1].iov_base = buf;
	iov[1].iov_len = cap;
	for (;;) {
		rc = SYSC(SYS_readv, fd, iov, 2);
		if (rc == -EAGAIN || rc == -EINTR)
			return 0;
		if (rc < 0)
			return rc;
		if ((size_t)rc < sizeof(vh))
			continue;       /* cannot happen with a TAP; skip rather than misparse */
		rc -= (long)sizeof(vh);
		/* A TCP frame of several segments the kernel never split: their
		 * size goes to TCP (stack_rx_gso), as Linux keeps it in the
		 * skb's gso_size for tcp_measure_rcv_mss. */
		if ((vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_TCPV4 && vh.gso_size)
			*rx_flags |= stack_rx_gso(vh.gso_size);
		if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			/*
			 * Trusted as it is, the transport checksum is never summed
			 * at all (64 KB per TSO frame, the largest cost on the
			 * receive path). Completed only for a capture, since pcap
			 * readers should see valid checksums, and for anything the
			 * stack would check itself.
			 */
			bool trust = tap_partial_is_transport(vh.csum_start, vh.csum_offset, buf, (size_t)rc);

			if ((!trust || t->complete_partial) &&
			    !tap_finish_csum(vh.flags, vh.csum_start, vh.csum_offset, buf, (size_t)rc))
				continue;       /* an inconsistent header: the frame is dropped by the device */
			if (trust)
				*rx_flags |= NETDEV_RX_CSUM_OK;
		} else if (vh.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
			/* The kernel verified it already (CHECKSUM_UNNECESSARY). */
			*rx_flags |= NETDEV_RX_CSUM_OK;
		}
		return rc;
	}
}

/*
 * Every queue in turn (tap.h): the one read last until it is empty or gave
 * TAP_RX_RUN frames in a row, then the next. A flow's frames all come on one
 * queue, so each keeps its order; frames of different flows need none.
 * Costs one empty read per queue when all are drained (the batch's end).
 */
static long tap_receive(struct netdev *dev, uint8_t *buf, size_t cap, unsigned *rx_flags, uint64_t now)
{
	struct tap_dev *t = dev->priv;
	unsigned q, run;

	(void)now;
	stack_assert_unlocked();
	if (t->nq == 1)
		return tap_receive_fd(t, t->fd, buf, cap, rx_flags);
	q = atomic_load_explicit(&t->rx_q, memory_order_relaxed);
	run = atomic_load_explicit(&t->rx_run, memory_order_relaxed);
	if (run >= TAP_RX_RUN) {
		q = (q + 1) % t->nq;
		run = 0;
	}
	for (unsigned i = 0; i < t->nq; i++, q = (q + 1) % t->nq, run = 0) {
		long rc = tap_receive_fd(t, t->fds[q], buf, cap, rx_flags);

		if (rc != 0) {
			atomic_store_explicit(&t->rx_q, q, memory_order_relaxed);
			atomic_store_explicit(&t->rx_run, run + 1, memory_order_relaxed);
			return rc;
		}
	}
	atomic_store_explicit(&t->rx_run, 0, memory_order_relaxed);
	return 0;
}

static int tap_pollfd(struct netdev *dev)
{
	struct tap_dev *t = dev->priv;

	return t->nq > 1 ? t->epfd : t->fd;
}

/* Closes what tap_open opened of t (fds[0 .. nq), the epoll fd) and frees it. */
static void tap_free(struct tap_dev *t)
{
	for (unsigned q = 0; q < t->nq; q++) {
		sys_fd_forget(t->fds[q]);
		sys_close(t->fds[q]);
	}
	if (t->epfd >= 0) {
		sys_fd_forget(t->epfd);
		sys_close(t->epfd);
	}
	free(t);
}

static void tap_destroy(struct netdev *dev)
{
	log_debug("device %s closed", dev->name);
	tap_free(dev->priv);
}

static const struct netdev_ops tap_ops = {
	.transmit = tap_transmit,
	.receive = tap_receive,
	.pollfd = tap_pollfd,
	.destroy = tap_destroy,
	.transmit_queue = tap_transmit_queue,
	.transmit_ext = tap_transmit_ext,
};

/* dev's fds (the queues', then with epoll its epoll fd) into fds, up to
 * max; how many there are. */
static unsigned tap_list_fds(struct netdev *dev, int *fds, unsigned max, bool epoll)
{
	struct tap_dev *t;
	unsigned n = 0;

	if (!dev || dev->ops != &tap_ops)
		return 0;
	t = dev->priv;
	for (unsigned q = 0; q < t->nq; q++, n++)
		if (n < max)
			fds[n] = t->fds[q];
	if (epoll && t->epfd >= 0) {
		if (n < max)
			fds[n] = t->epfd;
		n++;
	}
	return n;
}

unsigned tap_fds(struct netdev *dev, int *fds, unsigned max)
{
	return tap_list_fds(dev, fds, max, true);
}

unsigned tap_queue_fds(struct netdev *dev, int *fds, unsigned max)
{
	return tap_list_fds(dev, fds, max, false);
}

/* Who to name in "create it for your user": $USER when it looks like a name, else the uid. */
static void user_name(char *buf, size_t n)
{
	const char *u = getenv("USER");
	bool ok = u && *u && strlen(u) < 32;

	for (const char *p = u; ok && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.'))
			ok = false;
	if (ok)
		snprintf(buf, n, "%s", u);
	else
		snprintf(buf, n, "%u", (unsigned)getuid());
}

/* The "what to run instead" part: create the device as root, for this user. */
static void advice(char *buf, size_t n, const struct tap_config *cfg)
{
	char user[40], gw[16];
	uint32_t g = cfg->gateway ? cfg->gateway : cfg->addr + 1;

	user_name(user, sizeof(user));
	snprintf(gw, sizeof(gw), "%u.%u.%u.%u", g >> 24, (g >> 16) & 255, (g >> 8) & 255, g & 255);
	snprintf(buf, n, "pstack tap add %s --user %s (or: ip tuntap add dev %s mode tap user %s && "
		 "ip link set %s up && ip addr add %s/%u dev %s)",
		 cfg->name, user, cfg->name, user, cfg->name, gw, cfg->prefix_len, cfg->name);
}

static void set_ifname(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(addr);
	memcpy(sa, &sin, sizeof(sin));
}

/* Brings the device up; when `address`, also gives the host side the gateway address. */
static int configure_host_side(int ctl, const struct tap_config *cfg, bool address)
{
	struct ifreq ifr;
	long rc;

	if (address && cfg->gateway) {
		set_ifname(&ifr, cfg->name);
		set_sin(&ifr.ifr_addr, cfg->gateway);
		if ((rc = sys_ioctl(ctl, SIOCSIFADDR, &ifr)) < 0)
			return (int)rc;
		set_ifname(&ifr, cfg->name);
		set_sin(&ifr.ifr_netmask, cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0);
		if ((rc = sys_ioctl(ctl, SIOCSIFNETMASK, &ifr)) < 0)
			return (int)rc;
	}
	set_ifname(&ifr, cfg->name);
	if ((rc = sys_ioctl(ctl, SIOCGIFFLAGS, &ifr)) < 0)
		return (int)rc;
	/* Administratively up is all it needs. IFF_RUNNING follows the
	 * operational state, which the kernel updates after we attach (its
	 * link watch, asynchronously): an up device may not show it yet, and
	 * only root could set IFF_UP again to no effect. */
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	rc = sys_ioctl(ctl, SIOCSIFFLAGS, &ifr);
	return rc < 0 ? (int)rc : 0;
}

/*
 * The host side's transmit queue (the frames the kernel sends us, waiting
 * for our reads: the TAP's ring, as long as txqueuelen) of a device we
 * create, raised from the kernel's 1000 to TAP_TXQLEN. Many connections'
 * frames arrive in bursts longer than one stack thread's read loop keeps
 * up with: at 1000 connections, 1000 frames overflowed (tx_dropped) by
 * thousands a second, SYNs among them (a second each, the SYN's
 * retransmission) and requests (an RTO each); 4096 dropped none there.
 * At 10,000 connections one round of an echo (a request on each) is a
 * burst of 10,000 frames: 4096 dropped 230,000 frames in 5 s and the p99
 * round trip was 540 ms (the RTOs); 16384 dropped about 800 and the p99
 * went to 112 ms (the kernel's own over a veth pair: 123-175 ms).
 * The queue holds pointers; the frames are the kernel's memory either way.
 */
#define TAP_TXQLEN 16384
static void raise_txqlen(int ctl, const char *name)
{
	struct ifreq ifr;

	set_ifname(&ifr, name);
	if (sys_ioctl(ctl, SIOCGIFTXQLEN, &ifr) < 0 || ifr.ifr_qlen >= TAP_TXQLEN)
		return;
	set_ifname(&ifr, name);
	ifr.ifr_qlen = TAP_TXQLEN;
	if (sys_ioctl(ctl, SIOCSIFTXQLEN, &ifr) < 0)
		log_debug("TAP device %s: cannot raise txqueuelen to %d", name, TAP_TXQLEN);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether a link notification says the device is running (nl: one read of
 * the RTMGRP_LINK socket). */
static bool nl_says_running(const char *buf, long n, int ifindex)
{
	for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, (unsigned long)n); h = NLMSG_NEXT(h, n)) {
		const struct ifinfomsg *ifi = NLMSG_DATA(h);

		if (h->nlmsg_type == RTM_NEWLINK && h->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifi)) &&
		    ifi->ifi_index == ifindex && (ifi->ifi_flags & IFF_RUNNING))
			return true;
	}
	return false;
}

/*
 * Waits (at most TAP_LINK_WAIT_MS) until the kernel runs the device's link.
 * Attaching gives the TAP its carrier, but the kernel's side starts sending
 * through it only once its link watcher has run (linkwatch_do_dev:
 * dev_activate, then the RTM_NEWLINK notification), which it delays up to
 * a second after the previous run: until then the kernel's answers to us
 * are dropped (noop qdisc). A program started right after another one
 * detached lost the kernel's ARP reply that way, and waited a second for
 * its first connection (ARP's retransmission).
 */
#define TAP_LINK_WAIT_MS 2000
static void wait_link_running(int ctl, const char *name)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct ifreq ifr;
	int64_t end = mono_ms() + TAP_LINK_WAIT_MS, left;
	int ifindex;
	long nl;

	/* Subscribed before the flags are read: no notification falls between. */
	nl = sys_socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (nl < 0)
		return;
	if (sys_bind((int)nl, &sa, sizeof(sa)) < 0)
		goto out;
	set_ifname(&ifr, name);
	if (sys_ioctl(ctl, SIOCGIFINDEX, &ifr) < 0)
		goto out;
	ifindex = ifr.ifr_ifindex;
	set_ifname(&ifr, name);
	if (sys_ioctl(ctl, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP) || (ifr.ifr_flags & IFF_RUNNING))
		goto out;
	while ((left = end - mono_ms()) > 0) {
		struct pollfd p = { .fd = (int)nl, .events = POLLIN };
		struct timespec ts = { left / 1000, (left % 1000) * 1000000 };
		char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
		long n;

		if (sys_ppoll(&p, 1, &ts, NULL) <= 0)
			break;
		while ((n = sys_read((int)nl, buf, sizeof(buf))) > 0)
			if (nl_says_running(buf, n, ifindex))
				goto out;
		if (n < 0 && n != -EAGAIN)
			break;
	}
	log_debug("TAP device %s: the kernel's side of the link is not running after %d ms", name,
		  TAP_LINK_WAIT_MS);
out:
	sys_close((int)nl);
}

/*
 * How many queues of the multi-queue device ifindex are attached (the tun
 * driver's IFLA_TUN_NUM_QUEUES, what `ip -d link` shows as numqueues), or
 * -errno. A single-queue device refuses a second process (EBUSY); a
 * multi-queue one takes it as one more queue, and the kernel would then
 * share the flows between two stacks: tap_open counts the queues after it
 * attached its own.
 */
static long tap_attached_queues(int ifindex)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.i = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	long nl, n, found = -ENOENT;

	nl = sys_socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl < 0)
		return nl;
	if ((n = sys_sendto((int)nl, &req, sizeof(req), 0, NULL, 0)) < 0 ||
	    (n = sys_recvfrom((int)nl, buf, sizeof(buf), 0, NULL, NULL)) < 0) {
		sys_close((int)nl);
		return n;
	}
	sys_close((int)nl);
	for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, (unsigned long)n); h = NLMSG_NEXT(h, n)) {
		const struct ifinfomsg *ifi = NLMSG_DATA(h);
		const struct rtattr *a;
		int alen;

		if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || ifi->ifi_index != ifindex)
			continue;
		alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
		/* IFLA_LINKINFO, then its IFLA_INFO_DATA, then IFLA_TUN_NUM_QUEUES. */
		for (a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
			const struct rtattr *b;
			int blen = (int)RTA_PAYLOAD(a);

			if (a->rta_type != IFLA_LINKINFO)
				continue;
			for (b = RTA_DATA(a); RTA_OK(b, blen); b = RTA_NEXT(b, blen)) {
				const struct rtattr *c;
				int clen = (int)RTA_PAYLOAD(b);

				if (b->rta_type != IFLA_INFO_DATA)
					continue;
				for (c = RTA_DATA(b); RTA_OK(c, clen); c = RTA_NEXT(c, clen))
					if (c->rta_type == IFLA_TUN_NUM_QUEUES && RTA_PAYLOAD(c) >= sizeof(uint32_t)) {
						uint32_t v;

						memcpy(&v, RTA_DATA(c), sizeof(v));
						found = v;
					}
			}
		}
	}
	return found;
}

/* Attaches fd to the device named in ifr as another queue of it (flags as
 * the first queue's): 0 or -errno. */
static long tap_attach(long fd, const char *name, short flags)
{
	struct ifreq ifr;

	set_ifname(&ifr, name);
	ifr.ifr_flags = flags;
	return sys_ioctl((int)fd, TUNSETIFF, &ifr);
}

/*
 * Queues 1 to want - 1 of t, once queue 0 is attached with flags: as many as
 * the device takes (an existing multi-queue device may refuse more, E2BIG at
 * 256), each told about its virtio header as queue 0 was; then the epoll fd
 * that the stack thread and a driving application thread poll. With fewer
 * than asked for, the stack uses those it got and says so.
 */
static void tap_poll_queues(struct tap_dev *t);

static void tap_open_queues(struct tap_dev *t, unsigned want, short flags)
{
	long fd, rc = 0;

	for (; t->nq < want; t->nq++) {
		fd = sys_openat(AT_FDCWD, "/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
		if (fd < 0) {
			rc = fd;
			break;
		}
		if ((rc = tap_attach(fd, t->dev.name, flags)) < 0) {
			sys_close((int)fd);
			break;
		}
		t->fds[t->nq] = sys_fd_hide((int)fd);
	}
	if (t->nq < want)
		log_warn("TAP device %s: %u of the %u queues asked for (PSTACK_QUEUES) could be attached (%s); "
			 "using %u", t->dev.name, t->nq, want, strerror((int)-rc), t->nq);
	tap_poll_queues(t);
}

/* With more than one queue, the epoll fd that the stack thread and a driving
 * application thread poll (one queue without it). */
static void tap_poll_queues(struct tap_dev *t)
{
	long rc, ep;

	if (t->nq == 1)
		return;
	ep = SYSC(SYS_epoll_create1, EPOLL_CLOEXEC);
	for (unsigned q = 0; ep >= 0 && q < t->nq; q++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = q };

		if ((rc = SYSC(SYS_epoll_ctl, (int)ep, EPOLL_CTL_ADD, t->fds[q], &ev)) < 0) {
			sys_close((int)ep);
			ep = rc;
		}
	}
	if (ep < 0) {
		/* Without it nobody would wait for queues 1 and up: one queue. */
		log_warn("TAP device %s: cannot poll its queues together (epoll: %s); using one queue",
			 t->dev.name, strerror((int)-ep));
		while (t->nq > 1) {
			t->nq--;
			sys_fd_forget(t->fds[t->nq]);
			sys_close(t->fds[t->nq]);
		}
		return;
	}
	t->epfd = sys_fd_hide((int)ep);
}

/* The queues cfg asks for (PSTACK_QUEUES), within 1 to TAP_QUEUES_MAX. */
static unsigned queues_wanted(const struct tap_config *cfg)
{
	return cfg->queues < 1 ? 1 : cfg->queues > TAP_QUEUES_MAX ? TAP_QUEUES_MAX : cfg->queues;
}

/* Checksum offload and TSO asked of t's device (attached with IFF_VNET_HDR). */
static void tap_offloads(struct tap_dev *t)
{
	int hdr = (int)sizeof(struct virtio_net_hdr);

	t->vnet_hdr_len = sizeof(struct virtio_net_hdr);
	if (sys_ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    sys_ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0)
		log_info("TAP device %s refused offloads: plain frames", t->dev.name);
	else
		/* Our TSO frames: an IPv4 datagram of at most 64 KB with a
		 * 20-byte IP header and up to 60 bytes of TCP header. */
		t->dev.tso_max = 65535 - 20 - 60;
}

/* The device's MTU and MAC address, through ctl (an AF_INET socket). */
static void tap_read_link(struct tap_dev *t, int ctl)
{
	struct ifreq ifr;

	set_ifname(&ifr, t->dev.name);
	if (sys_ioctl(ctl, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		t->dev.mtu = (uint32_t)ifr.ifr_mtu;
	else
		t->dev.mtu = 1500;
	set_ifname(&ifr, t->dev.name);
	if (sys_ioctl(ctl, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(t->dev.hwaddr, ifr.ifr_hwaddr.sa_data, 6);
}

int tap_adopt(const struct tap_config *cfg, const int *fds, unsigned n, struct netdev **out)
{
	unsigned queues = queues_wanted(cfg);
	struct tap_dev *t = NULL;
	struct ifreq ifr;
	long ctl = -1;
	bool fits;
	int rc = -EINVAL;

	*out = NULL;
	memset(&ifr, 0, sizeof(ifr));
	fits = n >= 1 && n <= TAP_QUEUES_MAX && sys_ioctl(fds[0], TUNGETIFF, &ifr) == 0 &&
	       strncmp(ifr.ifr_name, cfg->name, sizeof(ifr.ifr_name)) == 0 &&
	       (ifr.ifr_flags & (IFF_TAP | IFF_NO_PI)) == (IFF_TAP | IFF_NO_PI) &&
	       !(ifr.ifr_flags & IFF_VNET_HDR) == !cfg->offload;
	/* The queues tap_open would attach: as many as asked for, or one of a
	 * single-queue device when the user did not ask for more. */
	fits = fits && (n == queues || (n == 1 && !(ifr.ifr_flags & IFF_MULTI_QUEUE) && !cfg->queues_asked));
	for (unsigned q = 1; fits && q < n; q++) {
		struct ifreq qi;

		memset(&qi, 0, sizeof(qi));
		fits = sys_ioctl(fds[q], TUNGETIFF, &qi) == 0 && strncmp(qi.ifr_name, ifr.ifr_name, sizeof(qi.ifr_name)) == 0;
	}
	if (fits && (ctl = sys_socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		rc = (int)ctl;
	if (fits && ctl >= 0 && !(t = calloc(1, sizeof(*t))))
		rc = -ENOMEM;
	if (!t) {
		if (ctl >= 0)
			sys_close((int)ctl);
		for (unsigned q = 0; q < n; q++)
			sys_close(fds[q]);
		return rc;
	}
	for (unsigned q = 0; q < n; q++)
		t->fds[q] = sys_fd_hide(fds[q]);
	t->fd = t->fds[0];
	t->nq = n;
	t->epfd = -1;
	snprintf(t->dev.name, sizeof(t->dev.name), "%s", ifr.ifr_name);
	t->complete_partial = cfg->complete_partial;
	if (ifr.ifr_flags & IFF_VNET_HDR)
		tap_offloads(t);
	t->dev.ops = &tap_ops;
	t->dev.priv = t;
	tap_poll_queues(t);
	t->dev.tx_queues = t->nq;
	tap_read_link(t, (int)ctl);
	sys_close((int)ctl);
	log_debug("device %s registered (handed over, mtu %u, %s, %u queue%s)", t->dev.name, t->dev.mtu,
		  t->vnet_hdr_len ? "offloads: checksum, TSO4 in" : "no offloads", t->nq, t->nq > 1 ? "s" : "");
	*out = &t->dev;
	return 0;
}

int tap_open(const struct tap_config *cfg, struct netdev **out, char *err, size_t errlen)
{
	char how[400];
	struct tap_dev *t;
	struct ifreq ifr;
	bool existed, offload, mq;
	short flags;
	unsigned queues = queues_wanted(cfg);
	long fd, ctl, rc;

	if (err && errlen)
		err[0] = 0;
	*out = NULL;
	/* A control socket for the SIOC* requests (an AF_INET one, for the addresses). */
	ctl = sys_socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0) {
		snprintf(err, errlen, "cannot attach to TAP device '%s': socket(AF_INET): %s", cfg->name,
			 strerror((int)-ctl));
		return (int)ctl;
	}
	set_ifname(&ifr, cfg->name);
	existed = sys_ioctl(ctl, SIOCGIFINDEX, &ifr) == 0;

	fd = sys_openat(AT_FDCWD, "/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0) {
		advice(how, sizeof(how), cfg);
		if (fd == -ENOENT || fd == -ENODEV || fd == -ENXIO)
			snprintf(err, errlen, "cannot attach to TAP device '%s': /dev/net/tun: %s; this kernel or "
				 "container has no TUN/TAP support: as root, run modprobe tun (or mknod /dev/net/tun c 10 200), "
				 "or run pstack where /dev/net/tun exists", cfg->name, strerror((int)-fd));
		else if (fd == -EACCES || fd == -EPERM)
			snprintf(err, errlen, "cannot attach to TAP device '%s': cannot open /dev/net/tun: %s; "
				 "as root, allow it (chmod 0666 /dev/net/tun) and create the device for you: %s",
				 cfg->name, strerror((int)-fd), how);
		else
			snprintf(err, errlen, "cannot attach to TAP device '%s': cannot open /dev/net/tun: %s",
				 cfg->name, strerror((int)-fd));
		sys_close((int)ctl);
		return (int)fd;
	}

	set_ifname(&ifr, cfg->name);
	offload = cfg->offload;
	mq = queues > 1;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0) | (mq ? IFF_MULTI_QUEUE : 0);
	rc = sys_ioctl(fd, TUNSETIFF, &ifr);
	if (rc == -EINVAL && existed) {
		/*
		 * A device that exists is single-queue or multi-queue for good
		 * (`ip tuntap add ... multi_queue`), and the kernel refuses the
		 * other kind of attach (EINVAL): try that one. One queue of a
		 * multi-queue device is today's single queue; a single-queue
		 * device gives one queue, unless the user asked for more.
		 */
		ifr.ifr_flags ^= IFF_MULTI_QUEUE;
		rc = sys_ioctl(fd, TUNSETIFF, &ifr);
		if (rc == 0 && mq && cfg->queues_asked) {
			snprintf(err, errlen, "cannot attach to TAP device '%s' with %u queues (PSTACK_QUEUES=%u): "
				 "it exists as a single-queue device; recreate it as root with multi_queue "
				 "(ip link del %s && ip tuntap add dev %s mode tap multi_queue ...), or set PSTACK_QUEUES=1",
				 cfg->name, queues, queues, cfg->name, cfg->name);
			sys_close((int)fd);
			sys_close((int)ctl);
			return -EINVAL;
		}
		if (rc == 0 && mq)
			log_debug("TAP device %s exists with a single queue: one queue (PSTACK_QUEUES is unset)",
				  cfg->name);
		if (rc == 0) {
			mq = !mq;
			if (!mq)
				queues = 1;
		} else if (rc == -EINVAL) {
			ifr.ifr_flags ^= IFF_MULTI_QUEUE;   /* neither kind: the error below names the first */
		}
	}
	if (rc < 0) {
		advice(how, sizeof(how), cfg);
		if (rc == -EPERM || rc == -EACCES) {
			if (existed)
				snprintf(err, errlen, "cannot attach to TAP device '%s': %s (it belongs to another user); "
					 "recreate it for your user as root: %s", cfg->name, strerror((int)-rc), how);
			else
				snprintf(err, errlen, "cannot attach to TAP device '%s': %s; create it as root first: %s",
					 cfg->name, strerror((int)-rc), how);
		} else if (rc == -EBUSY) {
			snprintf(err, errlen, "cannot attach to TAP device '%s': %s; another process is attached to it "
				 "(one process per TAP device): stop it, or use another device with PSTACK_TAP",
				 cfg->name, strerror((int)-rc));
		} else if (rc == -EINVAL && existed) {
			snprintf(err, errlen, "cannot attach to TAP device '%s': %s; '%s' exists but is not a "
				 "TAP device: delete it (ip link del %s) or choose another name with PSTACK_TAP",
				 cfg->name, strerror((int)-rc), cfg->name, cfg->name);
		} else {
			snprintf(err, errlen, "cannot attach to TAP device '%s': TUNSETIFF: %s", cfg->name,
				 strerror((int)-rc));
		}
		sys_close((int)fd);
		sys_close((int)ctl);
		return (int)rc;
	}

	flags = ifr.ifr_flags;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "cannot attach to TAP device '%s': out of memory", cfg->name);
		sys_close((int)fd);
		sys_close((int)ctl);
		return -ENOMEM;
	}
	t->fd = t->fds[0] = sys_fd_hide((int)fd);
	t->nq = 1;
	t->epfd = -1;
	snprintf(t->dev.name, sizeof(t->dev.name), "%s", ifr.ifr_name);
	t->complete_partial = cfg->complete_partial;
	if (offload) {
		/*
		 * Checksum offload and TSO for IPv4 towards us: the kernel then
		 * sends up to 64 KB per frame instead of one MTU, which is what
		 * makes a TAP fast (one system call per 64 KB). Without them
		 * the header stays, all zero, and frames are plain.
		 */
		tap_offloads(t);
	}
	t->dev.ops = &tap_ops;
	t->dev.priv = t;
	if (mq) {
		long attached;

		tap_open_queues(t, queues, flags);
		set_ifname(&ifr, t->dev.name);
		attached = sys_ioctl(ctl, SIOCGIFINDEX, &ifr) < 0 ? -ENODEV : tap_attached_queues(ifr.ifr_ifindex);
		if (attached > t->nq) {
			snprintf(err, errlen, "cannot attach to TAP device '%s': %s; another process is attached to it "
				 "(one process per TAP device): stop it, or use another device with PSTACK_TAP",
				 cfg->name, strerror(EBUSY));
			tap_free(t);
			sys_close((int)ctl);
			return -EBUSY;
		}
		if (attached < 0)
			log_debug("TAP device %s: cannot count its queues (%s): another process attached to it "
				  "would go unnoticed", t->dev.name, strerror((int)-attached));
	}
	t->dev.tx_queues = t->nq;

	/* A device we created is ours to configure; an existing one only needs to be up. */
	if (!existed)
		raise_txqlen((int)ctl, t->dev.name);
	rc = configure_host_side((int)ctl, cfg, !existed);
	if (rc < 0) {
		if (existed)
			log_warn("TAP device %s is down and cannot be brought up (%s): as root, run ip link set %s up",
				 t->dev.name, strerror((int)-rc), t->dev.name);
		else
			log_warn("TAP device %s: configuring the host side failed: %s", t->dev.name,
				 strerror((int)-rc));
	}

	tap_read_link(t, (int)ctl);
	wait_link_running((int)ctl, t->dev.name);
	sys_close((int)ctl);

	log_debug("device %s registered (%s, mtu %u, %s, %u queue%s)", t->dev.name,
		  existed ? "existing device" : "created, transient", t->dev.mtu,
		  t->vnet_hdr_len ? "offloads: checksum, TSO4 in" : "no offloads", t->nq, t->nq > 1 ? "s" : "");
	*out = &t->dev;
	return 0;
}
