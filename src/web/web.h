/*
 * web - the dashboard, JSON API and Prometheus metrics (libmicrohttpd) on an inherited listening
 * socket. Read-only over the stats segment and the store, except token-authenticated writes.
 * Returns the exit status.
 */
#ifndef MX_WEB_WEB_H
#define MX_WEB_WEB_H

#include "core/config.h"

int web_main(const struct config *cfg, int listen_fd);

#endif
