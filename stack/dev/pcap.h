/* PSTACK_PCAP: every frame in and out, as a pcap file tcpdump -r reads. */
#ifndef PSTACK_SYS_PCAP_H
#define PSTACK_SYS_PCAP_H

#include <stddef.h>
#include <stdint.h>

struct pcap_writer;

/* Opens (truncates) path and writes the global header (LINKTYPE_ETHERNET).
 * NULL with errno set on failure. */
struct pcap_writer *pcap_open(const char *path);
/* One record; ts is the stack's monotonic microseconds, mapped to wall-clock time at open. */
void pcap_write(struct pcap_writer *w, const uint8_t *frame, size_t len, uint64_t ts_us);
void pcap_close(struct pcap_writer *w);

#endif
