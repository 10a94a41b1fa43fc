/* PSTACK_PCAP: every frame in and out, as a pcap file tcpdump -r reads. */
#ifndef PSTACK_SYS_PCAP_H
#define PSTACK_SYS_PCAP_H

#include <stddef.h>
#include <stdint.h>

#include "stack/dev/netdev.h"

struct pcap_writer;

/* Opens (truncates) path and writes the global header (LINKTYPE_ETHERNET).
 * NULL with errno set on failure. */
struct pcap_writer *pcap_open(const char *path);
/* One record; ts is the stack's monotonic microseconds, mapped to wall-clock
 * time at open. Safe from several threads at once (one record at a time). */
void pcap_write(struct pcap_writer *w, const uint8_t *frame, size_t len, uint64_t ts_us);
void pcap_close(struct pcap_writer *w);

/*
 * A device wrapper that records every frame lower is given and every whole
 * frame it hands over, stamped with the `now` of the call (netdev.h: pcap
 * sits next to the real device). Owns lower, as every wrapper. NULL with
 * errno set when path cannot be opened or memory is short (lower untouched).
 */
struct netdev *pcap_dev_new(struct netdev *lower, const char *path);

#endif
