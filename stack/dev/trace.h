/* PSTACK_LOG=trace: a decoded dump of every frame in and out. */
#ifndef PSTACK_TRACE_H
#define PSTACK_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "stack/core/stack.h"

/* wire_print_frame() (Ethernet, ARP, IPv4, ICMP, UDP, TCP, then a hex dump of
 * what is left) to the log at trace level. */
void trace_frame(enum frame_dir dir, const uint8_t *frame, size_t len);

#endif
