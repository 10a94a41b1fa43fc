/* Placeholder until the OS-side work lands: no pcap support yet. */
#include "stack/sys/pcap.h"

#include <errno.h>

struct pcap_writer *pcap_open(const char *path)
{
	(void)path;
	errno = ENOSYS;
	return (struct pcap_writer *)0;
}
void pcap_write(struct pcap_writer *w, const uint8_t *frame, size_t len, uint64_t ts_us)
{
	(void)w; (void)frame; (void)len; (void)ts_us;
}
void pcap_close(struct pcap_writer *w) { (void)w; }
