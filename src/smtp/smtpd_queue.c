/*
 * smtpd_queue - see smtpd_queue.h. One message's way: data_open (spool_new + Received:),
 * data_write (spool_write), data_close (spool_end_body, scan_client_submit), the verdict
 * (reject: 550 and spool_abort; otherwise spool_commit into active/ or quarantine/), the commit
 * callback (250 ... queued as ID, or 452 4.3.1). SMTP reply codes are chosen here and in
 * session*.c only.
 */
#include "smtp/smtpd_queue.h"

#include "core/log.h"
#include "core/stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum qstate { Q_IDLE, Q_WRITING, Q_SCANNING, Q_COMMITTING };

struct qconn {
	struct smtpd *d;
	struct smtp_session *s;
	enum qstate state;
	int orphan; /* the connection is gone while the commit runs */
	struct spool *sp;
	char id[QUEUE_ID_MAX];
	char tenant[TENANT_NAME_MAX];
	uint64_t bytes;
	struct scan_result *verdict; /* kept for the commit, which may read it on its thread */
	char mail_from[SMTP_PATH_MAX];
	size_t nrcpts;
	struct timespec t0, t_end, t_verdict; /* DATA opened, body ended, verdict in */
};

static void q_txn_reset(void *ctx)
{
	struct qconn *qc = ctx;

	qc->tenant[0] = '\0';
}

static int q_rcpt(void *ctx, const struct smtp_txn *t, const struct smtp_addr *a,
                  struct smtp_reply *r)
{
	struct qconn *qc = ctx;
	const struct tenant *tn = NULL;
	int rc;

	if (qc->d->map == NULL) {
		smtp_reply_set(r, 451, "4.3.0 <%s>: Temporary lookup failure", a->addr);
		return -EAGAIN;
	}
	rc = tenant_map_rcpt(qc->d->map, a->addr, &tn);
	if (rc == -ENOENT) {
		smtp_reply_set(r, 550, "5.7.1 <%s>: Relay access denied", a->addr);
		return rc;
	}
	if (rc == -ESRCH) {
		smtp_reply_set(r, 550, "5.1.1 <%s>: Recipient address rejected: User unknown",
		               a->addr);
		return rc;
	}
	if (rc < 0 || tn == NULL) {
		smtp_reply_set(r, 451, "4.3.0 <%s>: Temporary lookup failure", a->addr);
		return rc < 0 ? rc : -EIO;
	}
	if (t->nrcpts == 0) {
		snprintf(qc->tenant, sizeof qc->tenant, "%s", tn->name);
	} else if (strcmp(qc->tenant, tn->name) != 0) {
		/* One queue file has one tenant (route, policy): the client retries the rest in a
		 * new transaction, as it does after any 452 to RCPT. */
		smtp_reply_set(r, 452, "4.5.3 <%s>: Another client's recipient: send it separately",
		               a->addr);
		return -EXDEV;
	}
	return 0;
}

/* RFC 5321 4.4 trace header, first line of the stored message. */
static int q_received(struct qconn *qc, const struct smtp_txn *t)
{
	char date[64], hdr[2048];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	n = snprintf(
	    hdr, sizeof hdr,
	    "Received: from %s (%s [%s])\r\n%s%s%s\tby %s (mxtower) with %s id %s%s%s%s;\r\n"
	    "\t%s\r\n",
	    t->helo, t->client_host[0] ? t->client_host : "unknown", t->client_ip,
	    t->tls ? "\t(using " : "", t->tls ? t->tls_info : "", t->tls ? ")\r\n" : "",
	    qc->d->cfg->smtp.hostname, t->proto, qc->id, t->nrcpts == 1 ? "\r\n\tfor <" : "",
	    t->nrcpts == 1 ? t->rcpts[0] : "", t->nrcpts == 1 ? ">" : "", date);
	if (n < 0 || (size_t)n >= sizeof hdr)
		return -EINVAL;
	return spool_write(qc->sp, hdr, (size_t)n);
}

static int q_data_open(void *ctx, const struct smtp_txn *t, struct smtp_reply *r)
{
	struct qconn *qc = ctx;
	struct spool_envelope env = {
	    .tenant = qc->tenant,
	    .client_ip = t->client_ip,
	    .client_host = t->client_host,
	    .helo = t->helo,
	    .proto = t->proto,
	    .mail_from = t->mail_from,
	    .rcpts = (const char *const *)t->rcpts,
	    .nrcpts = t->nrcpts,
	    .ret = "",
	    .envid = "",
	    .smtputf8 = t->smtputf8,
	    .body_8bit = t->body_8bit,
	};
	int rc;

	qc->sp = spool_new(qc->d->queue, &env);
	if (qc->sp == NULL) {
		/* spool.c logged why; nearly always the queue's file system. */
		qc->d->tempfail++;
		smtp_reply_set(r, 452, "4.3.1 Error: insufficient system storage");
		return -EIO;
	}
	snprintf(qc->id, sizeof qc->id, "%s", spool_id(qc->sp));
	if ((rc = q_received(qc, t)) < 0) {
		log_warn("id=%s cannot write the Received header: %s", qc->id, strerror(-rc));
		spool_abort(qc->sp);
		qc->sp = NULL;
		qc->d->tempfail++;
		smtp_reply_set(r, 452, "4.3.1 Error: insufficient system storage");
		return rc;
	}
	qc->state = Q_WRITING;
	qc->bytes = 0;
	clock_gettime(CLOCK_MONOTONIC, &qc->t0);
	return 0;
}

static int q_data_write(void *ctx, const char *p, size_t len)
{
	struct qconn *qc = ctx;
	int rc = spool_write(qc->sp, p, len);

	if (rc == 0)
		qc->bytes += len;
	return rc;
}

/* The message's fate is decided: answer the client. */
static void q_finish(struct qconn *qc, const struct smtp_reply *r)
{
	qc->state = Q_IDLE;
	qc->sp = NULL;
	free(qc->verdict);
	qc->verdict = NULL;
	smtp_session_data_done(qc->s, r);
}

#define Q_FINISH(qc, ...)                                                                          \
	do {                                                                                       \
		struct smtp_reply r_;                                                              \
		smtp_reply_set(&r_, __VA_ARGS__);                                                  \
		q_finish((qc), &r_);                                                               \
	} while (0)

static double q_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static void q_on_commit(void *arg, int status)
{
	struct qconn *qc = arg;
	const struct scan_result *v = qc->verdict;
	int quarantined = v && v->action == POLICY_QUARANTINE && !v->unscanned;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	qc->sp = NULL; /* freed by the queue after this callback */
	if (status < 0) {
		log_warn("id=%s commit failed: %s; answered 452", qc->id, strerror(-status));
		qc->d->tempfail++;
	} else {
		log_info(
		    "id=%s accepted from=<%s> nrcpt=%zu size=%llu tenant=%s verdict=%s "
		    "score=%.1f action=%s%s dir=%s ms=%.1f delays=%.1f/%.1f/%.1f%s",
		    qc->id, qc->mail_from, qc->nrcpts, (unsigned long long)qc->bytes, qc->tenant,
		    v && v->unscanned ? "unscanned"
		    : v               ? scan_verdict_name(v->verdict)
		                      : "?",
		    v ? v->score : 0.0, v ? policy_action_name(v->action) : "?",
		    v && v->unscanned ? " unscanned" : "", quarantined ? "quarantine" : "active",
		    q_ms(&qc->t0, &now), q_ms(&qc->t0, &qc->t_end), q_ms(&qc->t_end, &qc->t_verdict),
		    q_ms(&qc->t_verdict, &now), qc->orphan ? " (client gone before the reply)" : "");
		stats_inc(STAT_MSG_ACCEPTED);
		stats_add(STAT_BYTES_IN, qc->bytes);
		qc->d->accepted++;
		if (v && v->unscanned) {
			stats_inc(STAT_MSG_UNSCANNED);
			qc->d->unscanned++;
		}
		if (quarantined) {
			stats_inc(STAT_MSG_QUARANTINED);
			qc->d->quarantined++;
		} else {
			qmgr_notifier_add(qc->d->notifier, qc->id);
		}
	}
	if (qc->orphan) {
		free(qc->verdict);
		free(qc);
		return;
	}
	if (status < 0)
		Q_FINISH(qc, 452, "4.3.1 Error: insufficient system storage");
	else
		Q_FINISH(qc, 250, "2.0.0 Ok: queued as %s", qc->id);
}

static void q_on_verdict(void *arg, const struct scan_result *res)
{
	struct qconn *qc = arg;
	enum queue_dir dir = QUEUE_ACTIVE;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &qc->t_verdict);
	if (res->action == POLICY_REJECT && !res->unscanned) {
		char esc[SCAN_VIRUS_MAX * 4];

		log_info("id=%s rejected from=<%s> nrcpt=%zu size=%llu tenant=%s verdict=%s "
		         "score=%.1f virus=\"%s\"",
		         qc->id, qc->mail_from, qc->nrcpts, (unsigned long long)qc->bytes,
		         qc->tenant, scan_verdict_name(res->verdict), res->score,
		         log_escape(esc, sizeof esc, res->virus,
		                    strnlen(res->virus, sizeof res->virus)));
		spool_abort(qc->sp);
		stats_inc(STAT_MSG_REJECTED);
		qc->d->rejected++;
		if (res->virus[0])
			Q_FINISH(qc, 550, "5.7.1 Message content rejected: virus found: %s", esc);
		else
			Q_FINISH(qc, 550, "5.7.1 Message content rejected");
		return;
	}
	if (res->action == POLICY_QUARANTINE && !res->unscanned)
		dir = QUEUE_QUARANTINE;
	if (qc->verdict == NULL && (qc->verdict = malloc(sizeof *qc->verdict)) == NULL) {
		spool_abort(qc->sp);
		Q_FINISH(qc, 451, "4.3.0 Error: out of memory");
		return;
	}
	*qc->verdict = *res;
	qc->state = Q_COMMITTING;
	rc = spool_commit(qc->sp, qc->d->loop, dir, qc->verdict, q_on_commit, qc);
	if (rc < 0) {
		log_warn("id=%s cannot commit: %s; answered 452", qc->id, strerror(-rc));
		spool_abort(qc->sp);
		qc->d->tempfail++;
		Q_FINISH(qc, 452, "4.3.1 Error: insufficient system storage");
	}
}

static void q_data_close(void *ctx, const struct smtp_txn *t)
{
	struct qconn *qc = ctx;
	struct scan_envelope env;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &qc->t_end);
	snprintf(qc->mail_from, sizeof qc->mail_from, "%s", t->mail_from);
	qc->nrcpts = t->nrcpts;
	if ((rc = spool_end_body(qc->sp)) < 0) {
		log_warn("id=%s cannot finish the body: %s", qc->id, strerror(-rc));
		spool_abort(qc->sp);
		qc->d->tempfail++;
		Q_FINISH(qc, 452, "4.3.1 Error: insufficient system storage");
		return;
	}
	memset(&env, 0, sizeof env);
	snprintf(env.client_ip, sizeof env.client_ip, "%s", t->client_ip);
	snprintf(env.helo, sizeof env.helo, "%s", t->helo);
	snprintf(env.mail_from, sizeof env.mail_from, "%s", t->mail_from);
	snprintf(env.rcpt, sizeof env.rcpt, "%s", t->nrcpts ? t->rcpts[0] : "");
	snprintf(env.tenant, sizeof env.tenant, "%s", qc->tenant);
	qc->state = Q_SCANNING;
	rc = qc->d->scan
	         ? scan_client_submit(qc->d->scan, spool_fd(qc->sp), spool_body_offset(qc->sp),
	                              spool_body_length(qc->sp), &env, q_on_verdict, qc)
	         : -ENOTCONN;
	if (rc < 0) {
		/* No scanner reachable: commit unscanned, qmgr scans before delivery. */
		struct scan_result res;

		memset(&res, 0, sizeof res);
		res.unscanned = 1;
		q_on_verdict(qc, &res);
	}
}

static void q_data_abort(void *ctx)
{
	struct qconn *qc = ctx;

	switch (qc->state) {
	case Q_IDLE:
		return;
	case Q_SCANNING:
		scan_client_cancel(qc->d->scan, qc);
		/* fall through */
	case Q_WRITING:
		spool_abort(qc->sp);
		qc->sp = NULL;
		qc->state = Q_IDLE;
		return;
	case Q_COMMITTING:
		qc->orphan = 1; /* q_on_commit frees it */
		return;
	}
}

static const struct smtp_session_ops q_ops = {
    .txn_reset = q_txn_reset,
    .rcpt = q_rcpt,
    .data_open = q_data_open,
    .data_write = q_data_write,
    .data_close = q_data_close,
    .data_abort = q_data_abort,
};

static void *q_conn_open(void *arg, struct smtp_session *s)
{
	struct qconn *qc = calloc(1, sizeof *qc);

	if (qc == NULL)
		return NULL;
	qc->d = arg;
	qc->s = s;
	return qc;
}

static void q_conn_close(void *ctx)
{
	struct qconn *qc = ctx;

	q_data_abort(qc);
	if (qc->orphan)
		return;
	free(qc->verdict);
	free(qc);
}

void smtpd_queue_backend(struct smtpd *d, struct smtp_server_backend *b)
{
	b->ops = &q_ops;
	b->conn_open = q_conn_open;
	b->conn_close = q_conn_close;
	b->arg = d;
}
