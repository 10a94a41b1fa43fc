/* What the host asks of a whole chain of devices (netdev.h). */
#include "stack/dev/netdev.h"

#include <string.h>

void netdev_wrap(struct netdev *dev, const struct netdev_ops *ops, struct netdev *lower, void *priv)
{
	dev->ops = ops;
	dev->lower = lower;
	memcpy(dev->name, lower->name, sizeof(dev->name));
	dev->mtu = lower->mtu;
	memcpy(dev->hwaddr, lower->hwaddr, sizeof(dev->hwaddr));
	dev->tso_max = lower->tso_max;
	dev->tx_queues = 1;     /* a wrapper writes through the lower device's transmit */
	dev->priv = priv;
}

int netdev_pollfd(struct netdev *dev)
{
	while (dev->lower)
		dev = dev->lower;
	return dev->ops->pollfd ? dev->ops->pollfd(dev) : -1;
}

uint64_t netdev_poll_at(struct netdev *dev)
{
	uint64_t t = STACK_NEVER;

	for (; dev; dev = dev->lower)
		if (dev->ops->poll_at) {
			uint64_t at = dev->ops->poll_at(dev);

			if (at < t)
				t = at;
		}
	return t;
}

void netdev_poll(struct netdev *dev, uint64_t now)
{
	for (; dev; dev = dev->lower)
		if (dev->ops->poll)
			dev->ops->poll(dev, now);
}

void netdev_count_drops(struct netdev *dev, struct stack *s)
{
	for (; dev; dev = dev->lower)
		if (dev->ops->take_drops) {
			uint64_t drops[DROP__COUNT] = { 0 };

			dev->ops->take_drops(dev, drops);
			for (int r = 0; r < DROP__COUNT; r++)
				if (drops[r])
					stack_count_drops(s, (enum drop_reason)r, drops[r]);
		}
}

struct netdev *netdev_find(const struct netdev *dev, const struct netdev_ops *ops)
{
	for (; dev; dev = dev->lower)
		if (dev->ops == ops)
			return (struct netdev *)dev;
	return NULL;
}

void netdev_destroy(struct netdev *dev)
{
	while (dev) {
		struct netdev *lower = dev->lower;

		dev->ops->destroy(dev);
		dev = lower;
	}
}
