/*
 * The device interface: what the stack needs from a link.
 *
 * Implementations: the TAP driver (stack/dev/tap.c), the in-memory link used
 * by unit tests (tests/unit/support/memlink.c). A device moves whole Ethernet
 * frames; it knows nothing of protocols.
 */
#ifndef PSTACK_NETDEV_H
#define PSTACK_NETDEV_H

#include <stddef.h>
#include <stdint.h>

struct netdev;

/* What a device knows about a received frame (receive's *rx_flags). */
enum netdev_rx_flag {
	/* The transport (TCP/UDP) checksum needs no check: the device verified
	 * it, or the frame never crossed a wire (the local kernel's frame with
	 * the checksum left to "hardware", Linux's CHECKSUM_UNNECESSARY and
	 * CHECKSUM_PARTIAL), so the field may even hold only a partial sum. */
	NETDEV_RX_CSUM_OK = 1u << 0,
};

struct netdev_ops {
	/* Sends one whole frame. 0, or -errno (-EAGAIN when the device queue is full). */
	int (*transmit)(struct netdev *dev, const uint8_t *frame, size_t len);
	/* Optional (NULL when the device cannot): sends one TCP/IPv4 frame of up
	 * to 64 KB whose TCP checksum field holds only the pseudo-header sum,
	 * for the device to cut into segments of gso_size payload bytes and
	 * checksum (TSO). 0 or -errno. */
	int (*transmit_gso)(struct netdev *dev, const uint8_t *frame, size_t len, uint16_t gso_size);
	/* Reads one frame into buf without blocking: its length, 0 when none is
	 * waiting, or -errno; *rx_flags gets its enum netdev_rx_flag bits. A
	 * frame longer than cap is dropped and counted by the caller. */
	long (*receive)(struct netdev *dev, uint8_t *buf, size_t cap, unsigned *rx_flags);
	/* The fd to poll for POLLIN, or -1 for a device without one. */
	int (*pollfd)(struct netdev *dev);
	void (*destroy)(struct netdev *dev);
};

struct netdev {
	const struct netdev_ops *ops;
	char name[16];
	uint32_t mtu;          /* IP MTU: largest IPv4 datagram without fragmenting */
	uint8_t hwaddr[6];     /* the device's own MAC (the stack's MAC comes from config) */
	uint32_t tso_max;      /* with transmit_gso: largest TCP payload per frame (0: no TSO) */
	void *priv;
};

#endif
