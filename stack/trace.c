/* Placeholder until the trace decoder lands. */
#include "stack/trace.h"

#include "stack/log.h"

size_t trace_format(char *out, size_t cap, enum frame_dir dir, const uint8_t *frame, size_t len)
{
	(void)dir; (void)frame; (void)len;
	if (cap)
		out[0] = 0;
	return 0;
}
void trace_frame(enum frame_dir dir, const uint8_t *frame, size_t len)
{
	log_trace("%s frame, %zu bytes", dir == FRAME_IN ? "in" : "out", len);
	(void)frame;
}
