/*
 * The TAP device driver: /dev/net/tun with IFF_TAP | IFF_NO_PI, and
 * IFF_MULTI_QUEUE for more than one queue.
 */
#ifndef PSTACK_SYS_TAP_H
#define PSTACK_SYS_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/dev/netdev.h"

/* What the driver needs to know (the host fills it from its settings). */
struct tap_config {
	char name[16];          /* the device (PSTACK_TAP) */
	bool offload;           /* ask for checksum offload and TSO (IFF_VNET_HDR) */
	bool complete_partial;  /* complete even the partial checksums the stack would trust,
				 * so that a capture (pcap next to the TAP) shows valid ones */
	uint32_t addr;          /* the stack's address and prefix, and the gateway: the host */
	uint8_t prefix_len;     /* side of a device we create gets the gateway address, and */
	uint32_t gateway;       /* the advice on errors names them */
	unsigned queues;        /* TAP queues (IFF_MULTI_QUEUE when more than 1), 1 to TAP_QUEUES_MAX */
	bool queues_asked;      /* the user set them (PSTACK_QUEUES): on an existing single-queue
				 * device, an error instead of one queue */
};

#define TAP_QUEUES_MAX 16

/*
 * Attaches to cfg->name in the current network namespace. When the device does
 * not exist and we may create it, creates it (transient: it goes away with the
 * process), brings it up and gives the host side the gateway address with the
 * stack's prefix. 0 and *out set, or -errno with one line in err saying what
 * went wrong and what to run instead (e.g. `pstack tap add tap0 --user NAME`).
 */
int tap_open(const struct tap_config *cfg, struct netdev **out, char *err, size_t errlen);

/*
 * The device from the queues of another stack that held it (a handover:
 * stack/host/ctl.h), fds[0 .. n) attached to the device cfg names: adopted
 * when they are what tap_open would have attached for cfg (the name, the
 * virtio header as cfg->offload asks, the number of queues), so that the
 * device is neither detached nor attached again and the frames queued in it
 * are kept. 0, or -EINVAL when they do not fit, with every fd closed (the
 * caller then opens the device with tap_open), or another -errno.
 */
int tap_adopt(const struct tap_config *cfg, const int *fds, unsigned n, struct netdev **out);

/* The fds of dev's queues, up to max (none for a device that is not a TAP,
 * such as a wrapper); how many there are. */
unsigned tap_queue_fds(struct netdev *dev, int *fds, unsigned max);

/*
 * Multi-queue (cfg->queues > 1, or a device that exists with multi_queue):
 * one fd per queue, attached with IFF_MULTI_QUEUE. dev->tx_queues is their
 * number and transmit_queue writes on one of them; receive reads them in
 * turn (a queue until it is empty or gave TAP_RX_RUN frames in a row, then
 * the next), and pollfd is an epoll fd that holds them all, readable when any
 * is. The kernel puts a flow's frames on the queue where it last saw us
 * write that flow (tun_flow_update, tun_automq_select_queue), else on the
 * one its hash picks.
 *
 * tap_fds: every fd of dev (a TAP device: the queues', the epoll fd), up to
 * max into fds; how many there are. 0 for a device that is not a TAP.
 */
unsigned tap_fds(struct netdev *dev, int *fds, unsigned max);

/*
 * With offloads (PSTACK_OFFLOAD=1, the default), a received frame may carry
 * only a partial transport checksum (virtio_net_hdr flag NEEDS_CSUM): this
 * completes it in place over frame[csum_start..len), writing the result at
 * csum_start + csum_offset. False when those offsets do not fit the frame.
 */
bool tap_finish_csum(uint8_t flags, uint16_t csum_start, uint16_t csum_offset, uint8_t *frame, size_t len);

/*
 * True when a NEEDS_CSUM frame's partial checksum is the TCP or UDP checksum
 * of an unfragmented IPv4 datagram: such a frame is handed to the stack with
 * NETDEV_RX_CSUM_OK and its checksum left partial (not even summed), unless
 * cfg->complete_partial (PSTACK_PCAP is on), when it is completed so that the
 * capture shows a valid one.
 */
bool tap_partial_is_transport(uint16_t csum_start, uint16_t csum_offset, const uint8_t *frame, size_t len);

#endif
