/*
 * smtpd_queue - smtpd's backend for the session engine: recipients checked against the tenant
 * map (no open relay), the message spooled into queue/incoming while it arrives, scanned by a
 * scan worker, then committed and only then acknowledged.
 *
 * Owner: smtpd.c owns struct smtpd and everything in it; this file owns one struct qconn per
 * connection (server.h's backend context). A qconn whose commit is in flight when its client
 * goes away lives on until the commit callback, which then frees it (the message is queued
 * but the client never saw 250: at-least-once, as every MTA).
 */
#ifndef MX_SMTP_SMTPD_QUEUE_H
#define MX_SMTP_SMTPD_QUEUE_H

#include "core/config.h"
#include "queue/spool.h"
#include "scan/client.h"
#include "smtp/server.h"
#include "store/tenant.h"

#include <uv.h>

struct smtpd {
	const struct config *cfg;
	uv_loop_t *loop;
	struct queue *queue;
	struct scan_client *scan;
	struct qmgr_notifier *notifier; /* tells qmgr of committed mail, once per loop turn */
	struct tenant_db *tdb;
	struct tenant_map *map; /* replaced by the refresh timer; never cached by a connection */
	unsigned long long accepted, rejected, quarantined, unscanned, tempfail;
};

/* Fill in the server backend for d. */
void smtpd_queue_backend(struct smtpd *d, struct smtp_server_backend *b);

#endif
