/*
 * maintenance - the operator's maintenance flag for this node: a small file
 * <home>/db/maintenance ("on UNIXTIME\n") whose presence means "in maintenance" (blue). Set by
 * `mxtower node maintenance on|off` or the token-protected API; read by the web sampler and
 * `mxtower status`. A file survives restarts of every process, which the flag must.
 */
#ifndef MX_WEB_MAINTENANCE_H
#define MX_WEB_MAINTENANCE_H

#include "core/config.h"

#include <stdint.h>

/* 1 in maintenance (since = when it was set, may be NULL), 0 not. */
int maintenance_get(const struct config *cfg, uint64_t *since);
/* Set or clear, durably. 0 or -errno. */
int maintenance_set(const struct config *cfg, int on);

#endif
