/*
 * dsn - see dsn.h. The report follows RFC 3464 (fields) and RFC 6522 (multipart/report); the
 * boundary is made from the queue id, which never appears in the quoted headers' structure.
 */
#include "queue/dsn.h"

#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The DSN as written is small: headers cut at DSN_HEADERS_MAX plus one block per recipient. */
#define DSN_MSG_MAX (DSN_HEADERS_MAX + 4 * 1024 * 1024)

void dsn_status(const struct dsn_rcpt *r, char out[16])
{
	const char *d = r->diag ? r->diag : "";
	int cls = r->expired ? 4 : 5;

	if (r->expired) {
		snprintf(out, 16, "4.4.7");
		return;
	}
	if (strlen(d) >= 3 && (d[0] == '4' || d[0] == '5'))
		cls = d[0] - '0';
	/* "550 5.1.1 text": an enhanced code (RFC 3463: class "." 1-3 digits "." 1-3 digits). */
	if (strlen(d) > 4 && d[3] == ' ' && (d[4] == '4' || d[4] == '5') && d[5] == '.') {
		const char *p = d + 6;
		int ok = 1;

		for (int part = 0; part < 2 && ok; part++) {
			int n = 0;

			while (p[n] >= '0' && p[n] <= '9')
				n++;
			ok = n >= 1 && n <= 3 &&
			     (part == 0 ? p[n] == '.' : (p[n] == ' ' || p[n] == '\0'));
			p += n + 1;
		}
		if (ok) {
			snprintf(out, 16, "%.*s", (int)(p - 1 - (d + 4)), d + 4);
			return;
		}
	}
	snprintf(out, 16, "%d.0.0", cls);
}

static void rfc5322_date(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outsz, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

int dsn_build(struct buf *b, const char *hostname, const struct queue_msg *orig,
              const char *headers, size_t hlen, const struct dsn_rcpt *r, size_t n, time_t now)
{
	const struct envelope *e = &orig->env;
	char date[64], arrival[64], st[16];
	int expired = 0;

	for (size_t i = 0; i < n; i++)
		expired |= r[i].expired;
	rfc5322_date(now, date, sizeof date);
	rfc5322_date((time_t)e->arrival_sec, arrival, sizeof arrival);
	buf_printf(b,
	           "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	           "To: <%s>\r\n"
	           "Subject: %s\r\n"
	           "Date: %s\r\n"
	           "Message-ID: <%s.dsn@%s>\r\n"
	           "Auto-Submitted: auto-replied\r\n"
	           "MIME-Version: 1.0\r\n"
	           "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	           "\tboundary=\"%s.mxtower-dsn\"\r\n"
	           "\r\n"
	           "This is a MIME-encapsulated message.\r\n"
	           "\r\n"
	           "--%s.mxtower-dsn\r\n"
	           "Content-Type: text/plain; charset=us-ascii\r\n"
	           "\r\n"
	           "This is the mail system at host %s.\r\n"
	           "\r\n"
	           "Your message could not be delivered to one or more recipients%s.\r\n"
	           "\r\n",
	           hostname, e->sender,
	           expired ? "Delayed Mail (delivery expired)"
	                   : "Undelivered Mail Returned to Sender",
	           date, orig->id, hostname, orig->id, orig->id, hostname,
	           expired ? " in the time allowed" : "");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "<%s>: %s\r\n", r[i].addr, r[i].diag ? r[i].diag : "failed");
	buf_printf(b,
	           "\r\n--%s.mxtower-dsn\r\n"
	           "Content-Type: message/delivery-status\r\n"
	           "\r\n"
	           "Reporting-MTA: dns; %s\r\n"
	           "X-MXTower-Queue-ID: %s\r\n"
	           "Arrival-Date: %s\r\n",
	           orig->id, hostname, orig->id, arrival);
	if (e->envid && e->envid[0])
		buf_printf(b, "Original-Envelope-Id: %s\r\n", e->envid);
	for (size_t i = 0; i < n; i++) {
		dsn_status(&r[i], st);
		buf_printf(b, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n",
		           r[i].addr, st);
		if (r[i].remote && r[i].remote[0])
			buf_printf(b, "Remote-MTA: dns; %s\r\n", r[i].remote);
		if (r[i].diag && r[i].diag[0])
			buf_printf(b, "Diagnostic-Code: smtp; %s\r\n", r[i].diag);
		buf_printf(b, "Last-Attempt-Date: %s\r\n", date);
	}
	buf_printf(b, "\r\n--%s.mxtower-dsn\r\nContent-Type: text/rfc822-headers\r\n\r\n",
	           orig->id);
	buf_append(b, headers, hlen);
	if (hlen > 0 && headers[hlen - 1] != '\n')
		buf_puts(b, "\r\n");
	if (buf_printf(b, "\r\n--%s.mxtower-dsn--\r\n", orig->id) < 0)
		return -ENOSPC;
	return 0;
}

/* Read the original header section (up to the empty line), cut at DSN_HEADERS_MAX. */
static size_t read_headers(int fd, const struct envelope *e, char *out, size_t outsz)
{
	size_t want = e->body_len < outsz ? (size_t)e->body_len : outsz;
	ssize_t got = pread(fd, out, want, (off_t)e->body_off);
	size_t n;

	if (got <= 0)
		return 0;
	n = (size_t)got;
	for (size_t i = 0; i + 1 < n; i++) {
		if (out[i] == '\n' &&
		    (out[i + 1] == '\n' || (out[i + 1] == '\r' && i + 2 < n && out[i + 2] == '\n')))
			return i + 1;
	}
	/* Cut at the last complete line. */
	while (n > 0 && out[n - 1] != '\n')
		n--;
	return n;
}

int dsn_queue(struct queue *q, const struct config *cfg, const struct queue_msg *orig, int fd,
              const char *sender_tenant, const struct dsn_rcpt *r, size_t n, char *dsn_id,
              size_t idsz)
{
	const struct envelope *e = &orig->env;
	const char *rcpts[1] = {e->sender};
	struct spool_envelope env = {
	    .tenant = sender_tenant,
	    .client_ip = "127.0.0.1",
	    .client_host = "localhost",
	    .helo = cfg->smtp.hostname,
	    .proto = "DSN",
	    .mail_from = "",
	    .rcpts = rcpts,
	    .nrcpts = 1,
	    .ret = "",
	    .envid = "",
	};
	struct scan_result clean = {0};
	struct spool *s;
	char *hdrs;
	size_t hlen;
	struct buf b;
	int ret;

	if (e->sender == NULL || e->sender[0] == '\0')
		return -EPERM;
	hdrs = malloc(DSN_HEADERS_MAX);
	if (hdrs == NULL)
		return -ENOMEM;
	hlen = read_headers(fd, e, hdrs, DSN_HEADERS_MAX);
	buf_init(&b, DSN_MSG_MAX);
	ret = dsn_build(&b, cfg->smtp.hostname, orig, hdrs, hlen, r, n, time(NULL));
	free(hdrs);
	if (ret < 0)
		goto out;
	s = spool_new(q, &env);
	if (s == NULL) {
		ret = -EIO;
		goto out;
	}
	snprintf(dsn_id, idsz, "%s", spool_id(s));
	if ((ret = spool_write(s, b.p, b.len)) < 0) {
		spool_abort(s);
		goto out;
	}
	clean.verdict = VERDICT_CLEAN;
	clean.action = POLICY_DELIVER;
	ret = spool_commit_sync(s, QUEUE_ACTIVE, &clean);
	if (ret == 0)
		log_info("id=%s dsn: queued id=%s to=<%s> recipients=%zu", orig->id, dsn_id,
		         e->sender, n);
out:
	buf_free(&b);
	return ret;
}
