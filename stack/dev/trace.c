/*
 * PSTACK_LOG=trace: every frame in and out, decoded by the wire printer
 * (stack/wire/print.c), to the log.
 */
#include "stack/dev/trace.h"

#include "stack/core/log.h"
#include "stack/wire/print.h"

void trace_frame(enum frame_dir dir, const uint8_t *frame, size_t len)
{
	/* log_printf keeps 2048 bytes per message: stay below it with its prefix. */
	char text[1900];

	if (!LOG_ON(LOG_TRACE))
		return;
	wire_print_frame(text, sizeof(text), dir == FRAME_IN ? "in" : "out", frame, len);
	log_printf(LOG_TRACE, "%s", text);
}
