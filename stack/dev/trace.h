/* PSTACK_LOG=trace: a decoded dump of every frame in and out. */
#ifndef PSTACK_TRACE_H
#define PSTACK_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "stack/core/stack.h"
#include "stack/dev/netdev.h"

/* wire_print_frame() (Ethernet, ARP, IPv4, ICMP, UDP, TCP, then a hex dump of
 * what is left) to the log at trace level. */
void trace_frame(enum frame_dir dir, const uint8_t *frame, size_t len);
/* A device wrapper that traces (trace_frame) every frame lower is given and
 * every whole frame it hands over, while the log level is trace (netdev.h:
 * next to the stack). Owns lower, as every wrapper. NULL when out of memory. */
struct netdev *trace_dev_new(struct netdev *lower);

#endif
