#!/bin/sh
# Placeholder launcher until issue 4's lands.
export LD_PRELOAD="@LIBDIR@/libpstack.so${LD_PRELOAD:+:$LD_PRELOAD}"
exec "$@"
