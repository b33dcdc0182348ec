/*
 * rescan - see rescan.h. The rewrite copies the head and body into "<path>.rescan" beside the
 * file, appends the new trailer and END, fsyncs and renames it over the original: at every
 * moment the queue holds either the old complete file or the new complete file.
 */
#include "queue/rescan.h"

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/stats.h"
#include "queue/qmgr_int.h"
#include "scan/client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Scan requests qmgr keeps in flight per scan worker. smtpd's live sessions come first; and a
 * flood of requests that time out would keep the workers busy with answers nobody waits for. */
#define RESCAN_PER_WORKER 2
/* qmgr has no client waiting on the line, so it waits for a verdict much longer than smtpd. */
#define RESCAN_DEADLINE_MS 60000
/*
 * A message on which the scanner died this many times is a poison message: a parser bug it
 * triggers would otherwise kill every scan worker once a second, stalling everyone's mail. It
 * goes to hold/ for the analysts (`mxtower queue show|release|delete`); three, so that an
 * unrelated worker crash or two during its scan does not hold an innocent message.
 */
#define RESCAN_POISON_CRASHES 3
/* Trailer size bound, as in spool.c. */
#define RESCAN_TRAILER_MAX (256u * 1024)
#define RESCAN_CHUNK 65536

static struct qmgr *rescan_qm; /* the one qmgr of this process, for the scan callback */

static void defer_unscanned(struct qmgr *qm, struct qmsg *msg, const char *why)
{
	uint64_t now = (uint64_t)time(NULL);

	msg->next_try = now + qm->cfg.queue.retry_min;
	if (msg->dir == QUEUE_ACTIVE &&
	    queue_msg_move(qm->q, msg->id, QUEUE_ACTIVE, QUEUE_DEFERRED) == 0)
		msg->dir = QUEUE_DEFERRED;
	log_warn("id=%s qmgr: still unscanned (%s), scan again in %llus", msg->id, why,
	         (unsigned long long)qm->cfg.queue.retry_min);
	qmgr_msg_release_round(msg);
	msg->state = QM_WAITING;
}

static int rewrite(struct qmgr *qm, struct qmsg *msg, const struct scan_result *res)
{
	const struct envelope *e = &msg->m.env;
	uint64_t end = e->body_off + e->body_len, off = 0;
	char path[PATH_MAX], tmp[PATH_MAX + 8], *chunk = NULL;
	struct buf b;
	int out = -1, r = 0;

	buf_init(&b, RESCAN_TRAILER_MAX);
	if (queue_path(qm->q, msg->dir, msg->id, path, sizeof path) < 0)
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof tmp, "%s.rescan", path);
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -errno;
	if ((chunk = malloc(RESCAN_CHUNK)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	while (off < end) {
		size_t want = end - off < RESCAN_CHUNK ? (size_t)(end - off) : RESCAN_CHUNK;
		ssize_t n = pread(msg->fd, chunk, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out;
		}
		if ((r = fs_write_all(out, chunk, (size_t)n)) < 0)
			goto out;
		off += (uint64_t)n;
	}
	if ((r = envelope_trailer_encode(&b, res, end)) < 0 ||
	    (r = fs_write_all(out, b.p, b.len)) < 0)
		goto out;
	if (fsync(out) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		goto out;
	}
	r = fs_fsync_parent(path);
out:
	free(chunk);
	buf_free(&b);
	close(out);
	if (r < 0)
		unlink(tmp);
	return r;
}

static void rescan_submit(struct qmgr *qm, struct qmsg *msg);
static void on_verdict(struct qmgr *qm, struct qmsg *msg, const struct scan_result *res);

static unsigned rescan_limit(const struct qmgr *qm)
{
	uint64_t w = qm->cfg.scan.workers ? qm->cfg.scan.workers : 1;

	return (unsigned)(w * RESCAN_PER_WORKER);
}

/* A slot freed: submit the next waiting message. */
static void rescan_next(struct qmgr *qm)
{
	while (qm->scan_wait_head && qm->scans_inflight < rescan_limit(qm)) {
		struct qmsg *msg = qm->scan_wait_head;

		qm->scan_wait_head = msg->scan_next;
		if (qm->scan_wait_head == NULL)
			qm->scan_wait_tail = &qm->scan_wait_head;
		msg->scan_next = NULL;
		rescan_submit(qm, msg);
	}
}

static void on_scanned(void *arg, const struct scan_result *res)
{
	struct qmsg *msg = arg;
	struct qmgr *qm = rescan_qm;

	qm->scans_inflight--;
	on_verdict(qm, msg, res);
	rescan_next(qm);
}

/* The scan client says "scanner crashed" when the worker died holding this request. */
static int scan_result_crashed(const struct scan_result *res)
{
	for (unsigned i = 0; i < res->nsym && i < SCAN_MAX_SYMBOLS; i++)
		if (strcmp(res->sym[i].name, "SCAN_UNSCANNED") == 0 &&
		    strcmp(res->sym[i].detail, "scanner crashed") == 0)
			return 1;
	return 0;
}

static void on_verdict(struct qmgr *qm, struct qmsg *msg, const struct scan_result *res)
{
	int r;

	if (res->unscanned) {
		if (scan_result_crashed(res) && ++msg->scan_crashes >= RESCAN_POISON_CRASHES &&
		    queue_msg_move(qm->q, msg->id, msg->dir, QUEUE_HOLD) == 0) {
			log_warn("id=%s qmgr: held: the scanner crashed on it %u times (poison "
				 "message); see mxtower queue show %s",
				 msg->id, msg->scan_crashes, msg->id);
			tracking_fate(qm->trk, msg->id, "held");
			qmgr_msg_forget(qm, msg);
			return;
		}
		defer_unscanned(qm, msg, "no scanner answered");
		return;
	}
	log_info("id=%s qmgr: scanned verdict=%s action=%s score=%.2f", msg->id,
	         envelope_verdict_name(res->verdict), envelope_action_name(res->action),
	         res->score);
	if (res->action == POLICY_QUARANTINE) {
		r = queue_msg_move(qm->q, msg->id, msg->dir, QUEUE_QUARANTINE);
		log_info("id=%s qmgr: quarantined%s", msg->id, r < 0 ? " (move failed)" : "");
		if (r == 0) {
			stats_inc(STAT_MSG_QUARANTINED);
			tracking_fate(qm->trk, msg->id, "quarantined");
			qmgr_msg_forget(qm, msg);
			return;
		}
		defer_unscanned(qm, msg, "cannot move to quarantine/");
		return;
	}
	if (res->action == POLICY_REJECT) {
		char diag[128];

		snprintf(diag, sizeof diag, "550 5.7.1 message refused by the content filter (%s)",
		         envelope_verdict_name(res->verdict));
		for (size_t i = 0; i < msg->m.env.nrcpts; i++) {
			if (msg->m.env.rcpts[i].state != RCPT_PENDING)
				continue;
			msg->rstate[i] = RCPT_FAILED;
			free(msg->rdiag[i]);
			msg->rdiag[i] = strdup(diag);
		}
		msg->state = QM_BUSY;
		qmgr_msg_finish(qm, msg);
		return;
	}
	r = rewrite(qm, msg, res);
	if (r < 0) {
		log_warn("id=%s qmgr: cannot record the verdict: %s", msg->id, strerror(-r));
		defer_unscanned(qm, msg, "verdict not recorded");
		return;
	}
	qmgr_msg_start_again(qm, msg);
}

static void rescan_submit(struct qmgr *qm, struct qmsg *msg)
{
	const struct envelope *e = &msg->m.env;
	struct scan_envelope env;
	int r;

	memset(&env, 0, sizeof env);
	snprintf(env.client_ip, sizeof env.client_ip, "%s", e->client_ip ? e->client_ip : "");
	snprintf(env.helo, sizeof env.helo, "%s", e->helo ? e->helo : "");
	snprintf(env.mail_from, sizeof env.mail_from, "%s", e->sender ? e->sender : "");
	snprintf(env.rcpt, sizeof env.rcpt, "%s", e->nrcpts ? e->rcpts[0].addr : "");
	snprintf(env.tenant, sizeof env.tenant, "%s", e->tenant ? e->tenant : "");
	r = scan_client_submit(qm->scan, msg->fd, e->body_off, e->body_len, &env, on_scanned, msg);
	if (r < 0)
		defer_unscanned(qm, msg, strerror(-r));
	else
		qm->scans_inflight++;
}

void qmgr_rescan_start(struct qmgr *qm, struct qmsg *msg)
{
	rescan_qm = qm;
	if (qm->scan == NULL) {
		struct config c = qm->cfg;

		if (c.scan.deadline_ms < RESCAN_DEADLINE_MS)
			c.scan.deadline_ms = RESCAN_DEADLINE_MS;
		qm->scan = scan_client_new(qm->loop, &c);
		qm->scan_wait_tail = &qm->scan_wait_head;
	}
	if (qm->scan == NULL) {
		defer_unscanned(qm, msg, "no scan client");
		return;
	}
	msg->scan_next = NULL;
	*qm->scan_wait_tail = msg;
	qm->scan_wait_tail = &msg->scan_next;
	rescan_next(qm);
}

void qmgr_rescan_fini(struct qmgr *qm)
{
	scan_client_free(qm->scan);
	qm->scan = NULL;
	qm->scan_wait_head = NULL;
	qm->scan_wait_tail = &qm->scan_wait_head;
	qm->scans_inflight = 0;
}
