/*
 * finish - settling a message after a delivery round (on qmgr's loop thread):
 *
 *   recipients failed permanently (5xx)  -> one DSN for them, then their state byte becomes F
 *   recipients still pending, expired     -> one DSN (status 4.4.7), state byte X
 *   nothing pending                       -> the file is removed (the message's fate is logged
 *                                            and tracked)
 *   something pending                     -> attempts+1, next try after the backoff, moved to
 *                                            deferred/, and copied to the central location
 *                                            when it is stuck
 *
 * The DSN is committed before the state bytes change, so a crash in between repeats the DSN
 * rather than losing it.
 */
#include "queue/qmgr_int.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "core/stats.h"
#include "queue/backoff.h"
#include "queue/dsn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Copying a stuck message goes through a buffer of this size. */
#define QMGR_COPY_CHUNK 65536

static const char *sender_tenant(const struct qmgr *qm, const char *sender)
{
	const char *at = sender ? strrchr(sender, '@') : NULL;
	const struct tenant *t;

	if (at == NULL)
		return "";
	t = tenant_map_domain(qm->map, at + 1);
	return t ? t->name : "";
}

static int central_path(const struct qmgr *qm, const char *id, char *out, size_t outsz)
{
	char rel[64];

	snprintf(rel, sizeof rel, "central/%s", id);
	return config_path(&qm->cfg, rel, out, outsz);
}

/* Copy src to dst durably (tmp + fsync + rename + fsync dir). */
static int copy_file(const char *src, const char *dst)
{
	char tmp[PATH_MAX], *chunk = NULL;
	int in = -1, out = -1, r = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", dst) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		r = -errno;
		goto out;
	}
	if ((chunk = malloc(QMGR_COPY_CHUNK)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, chunk, QMGR_COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if ((r = fs_write_all(out, chunk, (size_t)n)) < 0)
			goto out;
	}
	if (fsync(out) < 0)
		r = -errno;
	else if (rename(tmp, dst) < 0)
		r = -errno;
	else
		r = fs_fsync_parent(dst);
out:
	free(chunk);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (r < 0)
		unlink(tmp);
	return r;
}

void qmgr_stuck_check(struct qmgr *qm, struct qmsg *msg, uint64_t now)
{
	char src[PATH_MAX], dst[PATH_MAX], dir[PATH_MAX];
	uint64_t age = now > msg->arrival ? now - msg->arrival : 0;
	int r;

	/* arrival 0: the envelope is not loaded yet, so its age is unknown, not 56 years (the
	 * relay benchmark found fresh mail copied to central/ this way). */
	if (msg->central || msg->arrival == 0)
		return;
	if (age < qm->cfg.queue.stuck_after && msg->attempts < qm->cfg.queue.stuck_attempts)
		return;
	if (central_path(qm, msg->id, dst, sizeof dst) < 0 ||
	    config_path(&qm->cfg, "central", dir, sizeof dir) < 0 ||
	    queue_path(qm->q, msg->dir, msg->id, src, sizeof src) < 0)
		return;
	msg->central = 1;
	if (access(dst, F_OK) == 0)
		return; /* copied before a restart */
	fs_mkdir_p(dir, 0700);
	r = copy_file(src, dst);
	if (r < 0) {
		log_warn("id=%s qmgr: stuck, but the copy to central/ failed: %s", msg->id,
		         strerror(-r));
		msg->central = 0;
		return;
	}
	log_warn("id=%s qmgr: stuck age=%llus attempts=%u, copied to central/", msg->id,
	         (unsigned long long)age, msg->attempts);
}

static const char *fate_of(const struct envelope *e, const char *st)
{
	size_t d = 0, f = 0, x = 0;

	for (size_t i = 0; i < e->nrcpts; i++) {
		d += st[i] == RCPT_DONE;
		f += st[i] == RCPT_FAILED;
		x += st[i] == RCPT_EXPIRED;
	}
	if (d == e->nrcpts)
		return "delivered";
	if (f == e->nrcpts)
		return "bounced";
	if (x == e->nrcpts)
		return "expired";
	return d > 0 ? "partial" : "bounced";
}

/* Queue one DSN for the newly failed/expired recipients; then record their states. */
static int bounce(struct qmgr *qm, struct qmsg *msg, const size_t *idx, size_t n)
{
	struct envelope *e = &msg->m.env;
	struct dsn_rcpt *dr = calloc(n, sizeof *dr);
	char dsn_id[QUEUE_ID_MAX] = "";
	int r;

	if (dr == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		size_t i = idx[k];

		dr[k].addr = e->rcpts[i].addr;
		dr[k].diag = msg->rdiag[i] ? msg->rdiag[i] : "delivery time expired";
		dr[k].remote = msg->rroute[i];
		dr[k].expired = msg->rstate[i] == RCPT_EXPIRED;
	}
	r = dsn_queue(qm->q, &qm->cfg, &msg->m, msg->fd, sender_tenant(qm, e->sender), dr, n,
	              dsn_id, sizeof dsn_id);
	free(dr);
	if (r == -EPERM) {
		log_info("id=%s qmgr: null sender, no DSN", msg->id);
	} else if (r < 0) {
		log_warn("id=%s qmgr: cannot queue DSN: %s; will retry", msg->id, strerror(-r));
		return r;
	} else {
		stats_inc(STAT_MSG_BOUNCED);
		queue_notify_qmgr(&qm->cfg, dsn_id);
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = idx[k];
		const char *what = msg->rstate[i] == RCPT_EXPIRED ? "expired" : "bounced";

		queue_rcpt_write_state(msg->fd, &e->rcpts[i], msg->rstate[i]);
		log_info("id=%s to=<%s> relay=%s status=%s dsn=%s (%s)", msg->id, e->rcpts[i].addr,
		         msg->rroute[i] ? msg->rroute[i] : "none", what,
		         dsn_id[0] ? dsn_id : "none",
		         msg->rdiag[i] ? msg->rdiag[i] : "delivery time expired");
		tracking_attempt(qm->trk, msg->id, e->rcpts[i].addr, msg->rroute[i], what,
		                 msg->rdiag[i]);
	}
	fdatasync(msg->fd);
	return 0;
}

void qmgr_msg_finish(struct qmgr *qm, struct qmsg *msg)
{
	struct envelope *e = &msg->m.env;
	uint64_t now = (uint64_t)time(NULL);
	int expired = now >= e->arrival_sec + qm->cfg.queue.max_lifetime;
	size_t *idx = calloc(e->nrcpts ? e->nrcpts : 1, sizeof *idx);
	size_t nb = 0, pending = 0;
	const char *last_err = NULL;
	int r;

	if (idx == NULL)
		log_fatal("qmgr: out of memory");
	for (size_t i = 0; i < e->nrcpts; i++) {
		if (e->rcpts[i].state != RCPT_PENDING)
			continue; /* settled in an earlier round */
		if (msg->rstate[i] == RCPT_FAILED) {
			idx[nb++] = i;
		} else if (msg->rstate[i] == RCPT_PENDING && expired) {
			msg->rstate[i] = RCPT_EXPIRED;
			idx[nb++] = i;
		}
	}
	if (nb > 0 && bounce(qm, msg, idx, nb) < 0) {
		for (size_t k = 0; k < nb; k++)
			msg->rstate[idx[k]] = RCPT_PENDING; /* try the DSN again next round */
	}
	free(idx);
	for (size_t i = 0; i < e->nrcpts; i++) {
		if (msg->rstate[i] == RCPT_PENDING) {
			pending++;
			if (msg->rdiag[i])
				last_err = msg->rdiag[i];
		}
	}
	if (pending == 0) {
		const char *fate = fate_of(e, msg->rstate);
		char cp[PATH_MAX];

		r = queue_msg_unlink(qm->q, msg->dir, msg->id);
		if (r < 0 && r != -ENOENT)
			log_warn("id=%s qmgr: cannot remove: %s", msg->id, strerror(-r));
		if (central_path(qm, msg->id, cp, sizeof cp) == 0 && unlink(cp) == 0)
			log_info("id=%s qmgr: removed central copy", msg->id);
		log_info("id=%s qmgr: removed fate=%s", msg->id, fate);
		tracking_fate(qm->trk, msg->id, fate);
		qmgr_msg_forget(qm, msg);
		return;
	}
	msg->attempts++;
	msg->next_try =
	    now + queue_backoff(msg->attempts, qm->cfg.queue.retry_min, qm->cfg.queue.retry_max);
	r = queue_msg_set_retry(msg->fd, e, msg->attempts, msg->next_try, last_err ? last_err : "");
	if (r < 0)
		log_warn("id=%s qmgr: cannot record retry: %s", msg->id, strerror(-r));
	if (msg->dir == QUEUE_ACTIVE) {
		r = queue_msg_move(qm->q, msg->id, QUEUE_ACTIVE, QUEUE_DEFERRED);
		if (r == 0) {
			msg->dir = QUEUE_DEFERRED;
		} else {
			/* Moved or deleted behind our back (queue hold/delete): let it go. */
			log_info("id=%s qmgr: not in active/ any more (%s), forgetting", msg->id,
			         strerror(-r));
			qmgr_msg_forget(qm, msg);
			return;
		}
	}
	stats_inc(STAT_MSG_DEFERRED);
	log_info("id=%s qmgr: deferred attempts=%u pending=%zu next_try=+%llus (%s)", msg->id,
	         msg->attempts, pending, (unsigned long long)(msg->next_try - now),
	         last_err ? last_err : "no reply");
	qmgr_msg_release_round(msg);
	msg->state = QM_WAITING;
	qmgr_stuck_check(qm, msg, now);
}
