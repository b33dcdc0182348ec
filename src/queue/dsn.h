/*
 * dsn - delivery status notifications (RFC 3464): a multipart/report with a human part, a
 * message/delivery-status part and the original message's headers (text/rfc822-headers),
 * queued like any other mail from the null sender to the original sender.
 *
 * The null sender never gets one (RFC 5321 6.1: no loops). Whether the DSN can go anywhere is
 * qmgr's question like for any message: it is routed to the sender's domain's tenant, or waits
 * in deferred/ with a log line (we never send anywhere not configured).
 */
#ifndef MX_QUEUE_DSN_H
#define MX_QUEUE_DSN_H

#include "core/buf.h"
#include "core/config.h"
#include "queue/queue.h"

#include <stddef.h>

/* Original headers quoted in a DSN are cut at this size (RFC 3464 asks for headers only; a
 * hostile message can have megabytes of them). */
#define DSN_HEADERS_MAX (64 * 1024)

struct dsn_rcpt {
	const char *addr;
	const char *diag;   /* the server's reply or our reason, e.g. "550 5.1.1 no such user" */
	const char *remote; /* "host:port" of the route, or NULL */
	int expired;        /* gave up after queue.max_lifetime (status 4.4.7) */
};

/* "5.1.1" from "550 5.1.1 no", else the class default ("5.0.0" / "4.0.0"); 4.4.7 if expired. */
void dsn_status(const struct dsn_rcpt *r, char out[16]);

/*
 * Build the DSN message into b. headers/hlen: the original header section (may be cut).
 * hostname: our name (Reporting-MTA). now: the date to put in it.
 */
int dsn_build(struct buf *b, const char *hostname, const struct queue_msg *orig,
              const char *headers, size_t hlen, const struct dsn_rcpt *r, size_t n, time_t now);

/*
 * Build and queue a DSN for orig (fd open on its file, to quote its headers) into active/.
 * sender_tenant: the tenant owning the sender's domain, or "" (it will wait in deferred/).
 * 0 and the new id in dsn_id, -EPERM for the null sender (nothing queued), or -errno.
 */
int dsn_queue(struct queue *q, const struct config *cfg, const struct queue_msg *orig, int fd,
              const char *sender_tenant, const struct dsn_rcpt *r, size_t n, char *dsn_id,
              size_t idsz);

#endif
