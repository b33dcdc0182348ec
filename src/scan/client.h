/*
 * scan client - how smtpd (and qmgr) ask a scan worker for a verdict, on a libuv loop.
 *
 * The message is not copied: the spool's fd is passed over the worker's Unix socket
 * (<home>/run/scan.sock) with the byte range of the message in it. If no worker answers within
 * the deadline (none running, crashed, hung), the callback gets a result with unscanned = 1 and
 * an empty verdict: the caller commits the message unscanned, and qmgr scans it before delivery.
 */
#ifndef MX_SCAN_CLIENT_H
#define MX_SCAN_CLIENT_H

#include "core/config.h"
#include "scan/scan.h"

#include <stdint.h>
#include <uv.h>

struct scan_client;

struct scan_client *scan_client_new(uv_loop_t *loop, const struct config *cfg);
void scan_client_free(struct scan_client *c);

typedef void (*scan_client_cb)(void *arg, const struct scan_result *res);

/*
 * Ask for a verdict on bytes [off, off+len) of fd. fd is duplicated as needed; the caller may
 * close its own copy after the callback. The callback runs exactly once, on the loop, unless
 * scan_client_cancel() was called for arg first. 0, or -errno (then no callback).
 */
int scan_client_submit(struct scan_client *c, int fd, uint64_t off, uint64_t len,
		       const struct scan_envelope *env, scan_client_cb cb, void *arg);
/* The session went away: drop its pending request (the callback will not run). */
void scan_client_cancel(struct scan_client *c, void *arg);

#endif
