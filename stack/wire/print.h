/*
 * A frame decoded to text (smoltcp's PrettyPrinter): the decoder behind
 * PSTACK_LOG=trace (stack/dev/trace.c), the fuzzer and the tests.
 */
#ifndef PSTACK_WIRE_PRINT_H
#define PSTACK_WIRE_PRINT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the Ethernet frame at frame into text: a first line "DIR LEN bytes"
 * (dir is "in" or "out"), then one line per layer (Ethernet, ARP, IPv4, ICMP,
 * UDP, TCP with its options) and a hex dump of what is left. Never reads past
 * len. Returns the length written (truncated to cap-1, always NUL-terminated).
 */
size_t wire_print_frame(char *out, size_t cap, const char *dir, const uint8_t *frame, size_t len);

#endif
