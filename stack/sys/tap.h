/*
 * The TAP device driver: /dev/net/tun with IFF_TAP | IFF_NO_PI.
 */
#ifndef PSTACK_SYS_TAP_H
#define PSTACK_SYS_TAP_H

#include <stddef.h>

#include "stack/config.h"
#include "stack/netdev.h"

/*
 * Attaches to cfg->tap in the current network namespace. When the device does
 * not exist and we may create it, creates it (transient: it goes away with the
 * process), brings it up and gives the host side the gateway address with the
 * stack's prefix. 0 and *out set, or -errno with one line in err saying what
 * went wrong and what to run instead (e.g. `pstack tap add tap0 --user NAME`).
 */
int tap_open(const struct stack_config *cfg, struct netdev **out, char *err, size_t errlen);

#endif
