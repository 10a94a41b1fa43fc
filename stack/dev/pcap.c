/*
 * PSTACK_PCAP: the classic libpcap file format (tcpdump's savefile: a 24-byte
 * global header, then a 16-byte header before each captured frame), in host
 * byte order as every reader expects from the magic number.
 *
 * Every record goes to the kernel at once with a single writev(): no user
 * space buffer to flush, so a process killed right after a frame still leaves
 * a file that `tcpdump -r` reads to its last frame. Frames come from the
 * threads that read and write the device, outside the stack's lock: a mutex
 * of the writer's own keeps records whole and the first timestamp one.
 */
#include "stack/dev/pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "stack/core/log.h"
#include "stack/dev/sysc.h"

#define PCAP_MAGIC 0xa1b2c3d4u      /* microsecond timestamps */
#define PCAP_SNAPLEN 262144u
#define PCAP_LINKTYPE_ETHERNET 1u

struct pcap_writer {
	pthread_mutex_t mu;     /* over everything below */
	int fd;
	bool failed;            /* a write failed: stop, after one warning */
	bool have_first;
	uint64_t wall_open_us;  /* CLOCK_REALTIME at open */
	uint64_t first_ts;      /* the stack's first timestamp */
};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* Writes all of iov or fails; a short write is continued. */
static long write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		long rc = sys_writev(fd, iov, n);

		if (rc == -EINTR)
			continue;
		if (rc < 0)
			return rc;
		while (n > 0 && (size_t)rc >= iov->iov_len) {
			rc -= (long)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + rc;
			iov->iov_len -= (size_t)rc;
		}
	}
	return 0;
}

struct pcap_writer *pcap_open(const char *path)
{
	struct pcap_writer *w;
	struct timespec ts;
	uint8_t hdr[24];
	struct iovec iov = { hdr, sizeof(hdr) };
	long fd, rc;

	fd = sys_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		errno = (int)-fd;
		return NULL;
	}
	put32(hdr, PCAP_MAGIC);
	put16(hdr + 4, 2);      /* version 2.4 */
	put16(hdr + 6, 4);
	put32(hdr + 8, 0);      /* thiszone: timestamps are UTC */
	put32(hdr + 12, 0);     /* sigfigs */
	put32(hdr + 16, PCAP_SNAPLEN);
	put32(hdr + 20, PCAP_LINKTYPE_ETHERNET);
	rc = write_all((int)fd, &iov, 1);
	w = rc ? NULL : calloc(1, sizeof(*w));
	if (!w) {
		sys_close((int)fd);
		errno = rc ? (int)-rc : ENOMEM;
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_init(&w->mu, NULL);
	w->fd = sys_fd_hide((int)fd);
	w->wall_open_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	return w;
}

void pcap_write(struct pcap_writer *w, const uint8_t *frame, size_t len, uint64_t ts_us)
{
	uint8_t rec[16];
	struct iovec iov[2];
	uint32_t caplen = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : (uint32_t)len;
	uint64_t t;
	long rc;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->failed) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	if (!w->have_first) {
		w->have_first = true;
		w->first_ts = ts_us;
	}
	/* A timestamp before the first (frames from two threads may pass each other) maps to the first. */
	t = w->wall_open_us + (ts_us > w->first_ts ? ts_us - w->first_ts : 0);
	put32(rec, (uint32_t)(t / 1000000u));
	put32(rec + 4, (uint32_t)(t % 1000000u));
	put32(rec + 8, caplen);
	put32(rec + 12, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
	iov[0].iov_base = rec;
	iov[0].iov_len = sizeof(rec);
	iov[1].iov_base = (void *)frame;
	iov[1].iov_len = caplen;
	rc = write_all(w->fd, iov, 2);
	if (rc)
		w->failed = true;
	pthread_mutex_unlock(&w->mu);
	if (rc)
		log_warn("pcap: writing failed (%s): no more frames are captured", strerror((int)-rc));
}

void pcap_close(struct pcap_writer *w)
{
	if (!w)
		return;
	sys_fd_forget(w->fd);
	sys_close(w->fd);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* ---- the device wrapper ---- */

/* Recorded before it goes, as the device is given it (a refused frame too). */
static int pcap_dev_transmit(struct netdev *dev, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now)
{
	pcap_write(dev->priv, frame, len, now);
	return dev->lower->ops->transmit(dev->lower, frame, len, gso_size, now);
}

/* Whole frames only: one of cap bytes or more is dropped by the caller. */
static long pcap_dev_receive(struct netdev *dev, uint8_t *buf, size_t cap, unsigned *rx_flags, uint64_t now)
{
	long n = dev->lower->ops->receive(dev->lower, buf, cap, rx_flags, now);

	if (n > 0 && (size_t)n < cap)
		pcap_write(dev->priv, buf, (size_t)n, now);
	return n;
}

static void pcap_dev_destroy(struct netdev *dev)
{
	pcap_close(dev->priv);
	free(dev);
}

static const struct netdev_ops pcap_dev_ops = {
	.transmit = pcap_dev_transmit,
	.receive = pcap_dev_receive,
	.destroy = pcap_dev_destroy,
};

struct netdev *pcap_dev_new(struct netdev *lower, const char *path)
{
	struct netdev *dev = calloc(1, sizeof(*dev));
	struct pcap_writer *w;

	if (!dev)
		return NULL;
	w = pcap_open(path);
	if (!w) {
		free(dev);
		return NULL;
	}
	netdev_wrap(dev, &pcap_dev_ops, lower, w);
	return dev;
}
