/*
 * PSTACK_LOG=trace: every frame in and out, decoded by the wire printer
 * (stack/wire/print.c), to the log.
 */
#include "stack/dev/trace.h"

#include <stdlib.h>

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

/* ---- the device wrapper ---- */

static int trace_dev_transmit(struct netdev *dev, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now)
{
	if (LOG_ON(LOG_TRACE))
		trace_frame(FRAME_OUT, frame, len);
	return dev->lower->ops->transmit(dev->lower, frame, len, gso_size, now);
}

/* Whole frames only: one of cap bytes or more is dropped by the caller. */
static long trace_dev_receive(struct netdev *dev, uint8_t *buf, size_t cap, unsigned *rx_flags, uint64_t now)
{
	long n = dev->lower->ops->receive(dev->lower, buf, cap, rx_flags, now);

	if (n > 0 && (size_t)n < cap && LOG_ON(LOG_TRACE))
		trace_frame(FRAME_IN, buf, (size_t)n);
	return n;
}

static void trace_dev_destroy(struct netdev *dev)
{
	free(dev);
}

static const struct netdev_ops trace_dev_ops = {
	.transmit = trace_dev_transmit,
	.receive = trace_dev_receive,
	.destroy = trace_dev_destroy,
};

struct netdev *trace_dev_new(struct netdev *lower)
{
	struct netdev *dev = calloc(1, sizeof(*dev));

	if (dev)
		netdev_wrap(dev, &trace_dev_ops, lower, NULL);
	return dev;
}
