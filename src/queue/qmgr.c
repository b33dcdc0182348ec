/*
 * qmgr - the queue manager process (see qmgr.h): a libuv loop that knows every message in
 * active/ and deferred/, hands deliveries to pool threads with per-destination concurrency and
 * connection reuse, and settles each round (finish.c).
 *
 * It learns of mail from datagrams on <home>/run/qmgr.sock (an id, or "FLUSH") and from a scan
 * of active/ every QMGR_SCAN_ACTIVE ticks and of deferred/ every QMGR_SCAN_DEFERRED ticks, so
 * a lost datagram only delays. On start it resumes whatever active/ and deferred/ hold; the
 * recipients already done are marked in the files, so they are never sent again.
 *
 * State machine of one message (docs/queue.md):
 *   WAITING (in active/ due now, or in deferred/ until next_try)
 *     -> [deferred/ -> active/] -> load -> corrupt?            -> corrupt/
 *                                       -> unscanned? SCANNING -> rescan.c
 *                                       -> BUSY (jobs)         -> finish.c
 */
#include "queue/qmgr.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/stats.h"
#include "queue/qmgr_int.h"
#include "queue/queue_int.h"
#include "queue/rescan.h"
#include "scan/quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define QMGR_TICK_MS 1000
#define QMGR_SCAN_ACTIVE 5    /* ticks between scans of active/ (datagrams may be lost) */
#define QMGR_SCAN_DEFERRED 30 /* ticks between scans of deferred/ (others may add mail) */
#define QMGR_SCAN_OTHER 10    /* ticks between counts of hold/ and quarantine/ (gauges) */
#define QMGR_REAP_INCOMING 60 /* ticks between sweeps of incoming/ for dead writers */
/* Quarantine retention is counted in days; a sweep every 10 minutes is prompt enough, and the
 * scan workers cannot do it (they run unprivileged). */
#define QMGR_QUARANTINE_EXPIRE 600
/* Pool threads: each delivery job blocks one for the length of an SMTP transaction. */
#define QMGR_THREADS "64"
/* Messages loaded at once (each holds an fd and its envelope). */
#define QMGR_BUSY_MAX 1000
/* A drain (SIGTERM) waits this long for transactions in flight, then exits anyway: the
 * queue files are consistent at every moment, so an abrupt exit only repeats work. */
#define QMGR_DRAIN_MS 20000
#define QMGR_BUCKETS 65536

static struct qmgr *the_qm; /* for the signal handlers' data pointer only */

/* ---- the table of known messages ---- */

static size_t bucket(const struct qmgr *qm, const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % qm->nbuckets;
}

static struct qmsg *msg_find(struct qmgr *qm, const char *id)
{
	for (struct qmsg *m = qm->table[bucket(qm, id)]; m; m = m->hnext)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

static struct qmsg *msg_add(struct qmgr *qm, const char *id, enum queue_dir d)
{
	struct qmsg *m = calloc(1, sizeof *m);
	size_t b = bucket(qm, id);

	if (m == NULL)
		log_fatal("qmgr: out of memory");
	snprintf(m->id, sizeof m->id, "%s", id);
	m->dir = d;
	m->fd = -1;
	m->state = QM_WAITING;
	m->hnext = qm->table[b];
	qm->table[b] = m;
	qm->nmsgs++;
	return m;
}

void qmgr_msg_release_round(struct qmsg *msg)
{
	if (msg->fd >= 0) {
		close(msg->fd);
		msg->fd = -1;
		the_qm->busy_msgs--;
	}
	if (msg->rdiag)
		for (size_t i = 0; i < msg->m.env.nrcpts; i++)
			free(msg->rdiag[i]);
	free(msg->rdiag);
	free(msg->rroute);
	free(msg->rstate);
	free(msg->prefix);
	msg->rdiag = NULL;
	msg->rroute = NULL;
	msg->rstate = NULL;
	msg->prefix = NULL;
	queue_msg_free(&msg->m);
	memset(&msg->m.env, 0, sizeof msg->m.env);
}

void qmgr_msg_forget(struct qmgr *qm, struct qmsg *msg)
{
	struct qmsg **pp = &qm->table[bucket(qm, msg->id)];

	while (*pp && *pp != msg)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = msg->hnext;
	qm->nmsgs--;
	qmgr_msg_release_round(msg);
	free(msg);
}

/* ---- destinations ---- */

static struct qdest *dest_get(struct qmgr *qm, const char *route)
{
	struct qdest *d;

	for (d = qm->dests; d; d = d->next)
		if (strcmp(d->route, route) == 0)
			return d;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		log_fatal("qmgr: out of memory");
	snprintf(d->route, sizeof d->route, "%s", route);
	if (parse_hostport(route, d->host, sizeof d->host, &d->port) < 0) {
		snprintf(d->host, sizeof d->host, "%s", route);
		d->port = 25;
	}
	d->wait_tail = &d->wait_head;
	d->next = qm->dests;
	qm->dests = d;
	return d;
}

static void job_done(uv_work_t *w, int status);
static void drain_check(struct qmgr *qm);

static void dest_pump(struct qmgr *qm, struct qdest *d)
{
	while (!qm->draining && d->wait_head && d->active < qm->cfg.queue.dest_concurrency) {
		struct qjob *j = d->wait_head;

		d->wait_head = j->next;
		if (d->wait_head == NULL)
			d->wait_tail = &d->wait_head;
		j->next = NULL;
		if (d->nidle > 0)
			j->conn = d->idle[--d->nidle];
		d->active++;
		qm->jobs_running++;
		j->work.data = j;
		if (uv_queue_work(qm->loop, &j->work, qmgr_job_work, job_done) < 0)
			log_panic("qmgr: uv_queue_work failed");
	}
}

static void conn_close_work(uv_work_t *w)
{
	smtp_client_close(w->data);
}

static void conn_close_done(uv_work_t *w, int status)
{
	(void)status;
	the_qm->jobs_running--;
	free(w);
	drain_check(the_qm);
}

/* QUIT blocks on the peer: do it on a pool thread. */
static void conn_close_async(struct qmgr *qm, struct smtp_client *c)
{
	uv_work_t *w = malloc(sizeof *w);

	if (w == NULL) {
		smtp_client_close(c);
		return;
	}
	w->data = c;
	qm->jobs_running++;
	uv_queue_work(qm->loop, w, conn_close_work, conn_close_done);
}

static void dest_expire_idle(struct qmgr *qm, uint64_t now, int all)
{
	for (struct qdest *d = qm->dests; d; d = d->next) {
		unsigned keep = 0;

		for (unsigned i = 0; i < d->nidle; i++) {
			if (all || now - d->idle_since[i] >= QMGR_IDLE_SECONDS) {
				conn_close_async(qm, d->idle[i]);
			} else {
				d->idle[keep] = d->idle[i];
				d->idle_since[keep++] = d->idle_since[i];
			}
		}
		d->nidle = keep;
	}
}

/* ---- one delivery round ---- */

static void job_free(struct qjob *j)
{
	free(j->idx);
	free(j->rcpts);
	free(j->replies);
	free(j);
}

static void job_done(uv_work_t *w, int status)
{
	struct qjob *j = w->data;
	struct qmgr *qm = j->qm;
	struct qmsg *msg = j->msg;
	struct qdest *d = j->dest;
	const struct envelope *e = &msg->m.env;
	int delivered = 0;

	(void)status;
	qm->jobs_running--;
	d->active--;
	if (j->conn != NULL) {
		if (d->nidle < QMGR_IDLE_PER_DEST && !qm->draining) {
			d->idle_since[d->nidle] = (uint64_t)time(NULL);
			d->idle[d->nidle++] = j->conn;
		} else {
			conn_close_async(qm, j->conn);
		}
	}
	for (size_t k = 0; k < j->n; k++) {
		size_t i = j->idx[k];
		const struct smtp_reply *rr = &j->replies[k];
		const struct smtp_reply *eff =
		    rr->code / 100 == 4 || rr->code / 100 == 5 ? rr : &j->final;
		const char *result;

		if (j->rc == 0 && rr->code / 100 == 2 && j->final.code / 100 == 2) {
			msg->rstate[i] = RCPT_DONE;
			result = "delivered";
			delivered++;
		} else if (eff->code / 100 == 5) {
			msg->rstate[i] = RCPT_FAILED;
			result = "failed";
		} else {
			msg->rstate[i] = RCPT_PENDING;
			result = "deferred";
		}
		free(msg->rdiag[i]);
		msg->rdiag[i] =
		    strdup(result[0] == 'd' && result[2] == 'l' ? j->final.text : eff->text);
		msg->rroute[i] = d->route;
		log_info("id=%s to=<%s> relay=%s tls=%s status=%s (%s)", msg->id, e->rcpts[i].addr,
		         d->route, j->tls ? "yes" : "no",
		         result[0] == 'f' ? "bounce-pending" : result,
		         msg->rdiag[i] ? msg->rdiag[i] : "");
		if (result[0] != 'f') /* bounces are tracked when their DSN is queued */
			tracking_attempt(qm->trk, msg->id, e->rcpts[i].addr, d->route, result,
			                 msg->rdiag[i]);
	}
	if (delivered) {
		stats_inc(STAT_MSG_DELIVERED);
		stats_add(STAT_BYTES_OUT, j->bytes);
	}
	job_free(j);
	if (--msg->jobs == 0)
		qmgr_msg_finish(qm, msg);
	dest_pump(qm, d);
	drain_check(qm);
}

static struct qjob *job_new(struct qmgr *qm, struct qmsg *msg, struct qdest *d, size_t cap)
{
	struct qjob *j = calloc(1, sizeof *j);

	if (j == NULL || (j->idx = calloc(cap, sizeof *j->idx)) == NULL ||
	    (j->rcpts = calloc(cap, sizeof *j->rcpts)) == NULL ||
	    (j->replies = calloc(cap, sizeof *j->replies)) == NULL)
		log_fatal("qmgr: out of memory");
	j->qm = qm;
	j->msg = msg;
	j->dest = d;
	return j;
}

void qmgr_msg_dispatch(struct qmgr *qm, struct qmsg *msg)
{
	struct envelope *e = &msg->m.env;
	struct qjob **jobs = calloc(e->nrcpts, sizeof *jobs);
	size_t njobs = 0;

	if (jobs == NULL)
		log_fatal("qmgr: out of memory");
	msg->prefix = qmgr_delivery_headers(qm, msg, &msg->prefix_len);
	for (size_t i = 0; i < e->nrcpts; i++) {
		const struct tenant *t = NULL;
		struct qjob *j = NULL;

		if (e->rcpts[i].state != RCPT_PENDING)
			continue;
		tenant_map_rcpt(qm->map, e->rcpts[i].addr, &t);
		if (t == NULL || t->route[0] == '\0') {
			/* We never send anywhere not configured: wait for a tenant to appear. */
			log_warn("id=%s to=<%s> qmgr: no tenant route for this domain, kept",
			         msg->id, e->rcpts[i].addr);
			msg->rdiag[i] = strdup("451 4.4.0 no route configured for this domain");
			continue;
		}
		for (size_t k = 0; k < njobs; k++)
			if (strcmp(jobs[k]->dest->route, t->route) == 0)
				j = jobs[k];
		if (j == NULL) {
			j = job_new(qm, msg, dest_get(qm, t->route), e->nrcpts);
			jobs[njobs++] = j;
		}
		j->idx[j->n] = i;
		j->rcpts[j->n++] = e->rcpts[i].addr;
	}
	if (njobs == 1) {
		size_t pending = 0;

		for (size_t i = 0; i < e->nrcpts; i++)
			pending += e->rcpts[i].state == RCPT_PENDING;
		jobs[0]->whole = pending == jobs[0]->n;
	}
	msg->state = QM_BUSY;
	msg->jobs = (int)njobs;
	for (size_t k = 0; k < njobs; k++) {
		struct qdest *d = jobs[k]->dest;

		*d->wait_tail = jobs[k];
		d->wait_tail = &jobs[k]->next;
	}
	for (size_t k = 0; k < njobs; k++)
		dest_pump(qm, jobs[k]->dest);
	free(jobs);
	if (njobs == 0)
		qmgr_msg_finish(qm, msg);
}

/* Load msg and start its round. */
static void msg_start(struct qmgr *qm, struct qmsg *msg)
{
	char path[PATH_MAX];
	int r;

	if (msg->dir == QUEUE_DEFERRED) {
		r = queue_msg_move(qm->q, msg->id, QUEUE_DEFERRED, QUEUE_ACTIVE);
		if (r < 0) {
			log_info("id=%s qmgr: gone from deferred/ (%s), forgetting", msg->id,
			         strerror(-r));
			qmgr_msg_forget(qm, msg);
			return;
		}
		msg->dir = QUEUE_ACTIVE;
	}
	if (queue_path(qm->q, msg->dir, msg->id, path, sizeof path) < 0 ||
	    (msg->fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		qmgr_msg_forget(qm, msg);
		return;
	}
	qm->busy_msgs++;
	r = queue_msg_load_fd(msg->fd, msg->id, msg->dir, &msg->m);
	if (r == -EBADMSG || r == -EINVAL) {
		int mr = queue_msg_move(qm->q, msg->id, msg->dir, QUEUE_CORRUPT);

		log_error("id=%s qmgr: %s, moved to corrupt/%s", msg->id,
		          r == -EBADMSG ? "no END record (incomplete file)"
		                        : "malformed queue file",
		          mr < 0 ? " failed" : "");
		qmgr_msg_forget(qm, msg);
		return;
	}
	if (r < 0) {
		log_warn("id=%s qmgr: cannot load: %s", msg->id, strerror(-r));
		qmgr_msg_forget(qm, msg);
		return;
	}
	msg->arrival = msg->m.env.arrival_sec;
	msg->attempts = msg->m.env.attempts;
	msg->unscanned = msg->m.env.verdict.unscanned;
	msg->rstate = malloc(msg->m.env.nrcpts);
	msg->rdiag = calloc(msg->m.env.nrcpts, sizeof *msg->rdiag);
	msg->rroute = calloc(msg->m.env.nrcpts, sizeof *msg->rroute);
	if (msg->rstate == NULL || msg->rdiag == NULL || msg->rroute == NULL)
		log_fatal("qmgr: out of memory");
	for (size_t i = 0; i < msg->m.env.nrcpts; i++)
		msg->rstate[i] = msg->m.env.rcpts[i].state;
	if (msg->attempts == 0)
		tracking_received(qm->trk, msg->id, &msg->m.env);
	if (msg->unscanned) {
		msg->state = QM_SCANNING;
		qmgr_rescan_start(qm, msg);
		return;
	}
	qmgr_msg_dispatch(qm, msg);
}

void qmgr_msg_start_again(struct qmgr *qm, struct qmsg *msg)
{
	qmgr_msg_release_round(msg);
	msg->state = QM_WAITING;
	msg->next_try = 0;
	msg_start(qm, msg);
}

/* Start every message that is due, as capacity allows. */
static void start_due(struct qmgr *qm, uint64_t now)
{
	for (size_t b = 0; b < qm->nbuckets && !qm->draining; b++) {
		struct qmsg *m = qm->table[b];

		while (m) {
			struct qmsg *next = m->hnext;

			if (qm->busy_msgs >= qm->busy_max)
				return;
			if (m->state == QM_WAITING && m->next_try <= now)
				msg_start(qm, m);
			m = next;
		}
	}
}

/* ---- discovery: directory scans and datagrams ---- */

static int on_active_file(void *arg, const char *id)
{
	struct qmgr *qm = arg;
	struct qmsg *m = msg_find(qm, id);

	if (m == NULL)
		m = msg_add(qm, id, QUEUE_ACTIVE);
	else if (m->state == QM_WAITING && m->dir == QUEUE_DEFERRED) {
		m->dir = QUEUE_ACTIVE; /* released or flushed behind our back */
		m->next_try = 0;
	}
	return 0;
}

static int on_deferred_file(void *arg, const char *id)
{
	struct qmgr *qm = arg;
	struct queue_msg qmm;
	struct qmsg *m;

	if (msg_find(qm, id) != NULL)
		return 0;
	if (queue_msg_load(qm->q, QUEUE_DEFERRED, id, &qmm) < 0) {
		/* Let msg_start deal with (and log) a broken file. */
		msg_add(qm, id, QUEUE_DEFERRED);
		return 0;
	}
	m = msg_add(qm, id, QUEUE_DEFERRED);
	m->arrival = qmm.env.arrival_sec;
	m->attempts = qmm.env.attempts;
	m->next_try = qmm.env.next_try;
	queue_msg_free(&qmm);
	return 0;
}

static void notify_one(struct qmgr *qm, const char *text)
{
	struct qmsg *m;
	enum queue_dir d;

	if (strcmp(text, "FLUSH") == 0) {
		queue_dir_foreach(qm->q, QUEUE_DEFERRED, on_deferred_file, qm);
		for (size_t b = 0; b < qm->nbuckets; b++)
			for (m = qm->table[b]; m; m = m->hnext)
				if (m->state == QM_WAITING)
					m->next_try = 0;
		log_info("qmgr: flush requested");
		return;
	}
	if (!queue_id_valid(text))
		return;
	m = msg_find(qm, text);
	if (m == NULL) {
		if (queue_msg_find(qm->q, text, &d) < 0 ||
		    (d != QUEUE_ACTIVE && d != QUEUE_DEFERRED))
			return;
		m = msg_add(qm, text, d);
	} else if (m->state == QM_WAITING && queue_msg_find(qm->q, text, &d) == 0) {
		m->dir = d;
	}
	if (m->state == QM_WAITING && m->dir == QUEUE_ACTIVE)
		m->next_try = 0;
	if (m->state == QM_WAITING && m->next_try <= (uint64_t)time(NULL) &&
	    qm->busy_msgs < qm->busy_max && !qm->draining)
		msg_start(qm, m);
}

static void on_notify(uv_poll_t *h, int status, int events)
{
	struct qmgr *qm = h->data;
	char buf[8192];

	(void)events;
	if (status < 0)
		return;
	for (;;) {
		ssize_t n = recv(qm->notify_fd, buf, sizeof buf - 1, 0);
		char *line, *save = NULL;

		if (n < 0)
			break;
		buf[n] = '\0';
		/* One or more ids (or FLUSH), one per line: see queue/notify.h. */
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			notify_one(qm, line);
	}
}

static int notify_open(struct qmgr *qm)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[PATH_MAX], dir[PATH_MAX];
	int fd;

	if (config_path(&qm->cfg, "run", dir, sizeof dir) < 0 ||
	    config_path(&qm->cfg, "run/qmgr.sock", path, sizeof path) < 0 ||
	    strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	fs_mkdir_p(dir, 0700);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	qm->notify_fd = fd;
	uv_poll_init(qm->loop, &qm->notify, fd);
	qm->notify.data = qm;
	uv_poll_start(&qm->notify, UV_READABLE, on_notify);
	return 0;
}

/* ---- the tick ---- */

static void gauges(struct qmgr *qm, uint64_t now)
{
	int64_t active = 0, deferred = 0, unscanned = 0;
	uint64_t oldest = now;

	for (size_t b = 0; b < qm->nbuckets; b++)
		for (struct qmsg *m = qm->table[b]; m; m = m->hnext) {
			if (m->dir == QUEUE_ACTIVE)
				active++;
			else
				deferred++;
			unscanned += m->unscanned;
			if (m->arrival && m->arrival < oldest)
				oldest = m->arrival;
		}
	stats_gauge(STAT_G_QUEUE_ACTIVE, active);
	stats_gauge(STAT_G_QUEUE_DEFERRED, deferred);
	stats_gauge(STAT_G_QUEUE_UNSCANNED, unscanned);
	stats_gauge(STAT_G_OLDEST_AGE, (int64_t)(now - oldest));
	if (qm->ticks % QMGR_SCAN_OTHER == 0) {
		stats_gauge(STAT_G_QUEUE_HOLD, queue_dir_count(qm->q, QUEUE_HOLD));
		stats_gauge(STAT_G_QUEUE_QUARANTINE, queue_dir_count(qm->q, QUEUE_QUARANTINE));
	}
}

static void drain_check(struct qmgr *qm)
{
	if (qm->draining && qm->jobs_running == 0)
		uv_stop(qm->loop);
}

static void on_tick(uv_timer_t *t)
{
	struct qmgr *qm = t->data;
	uint64_t now = (uint64_t)time(NULL);

	qm->ticks++;
	stats_heartbeat();
	if (qm->draining) {
		if (qm->jobs_running > 0 && qm->ticks >= QMGR_DRAIN_MS / QMGR_TICK_MS) {
			log_warn("qmgr: drain timed out with %u transactions in flight",
			         qm->jobs_running);
			_exit(0);
		}
		drain_check(qm);
		return;
	}
	qm->map = tenant_map_refresh(qm->tdb, qm->map);
	if (qm->ticks % QMGR_SCAN_ACTIVE == 0)
		queue_dir_foreach(qm->q, QUEUE_ACTIVE, on_active_file, qm);
	if (qm->ticks % QMGR_SCAN_DEFERRED == 0)
		queue_dir_foreach(qm->q, QUEUE_DEFERRED, on_deferred_file, qm);
	if (qm->ticks % QMGR_REAP_INCOMING == 0)
		queue_reap_incoming(qm->q);
	if (qm->ticks % QMGR_QUARANTINE_EXPIRE == 1) {
		int n = quarantine_expire(&qm->cfg, qm->q, (time_t)now);

		if (n > 0)
			log_info("qmgr: %d quarantined messages past their client's retention removed",
				 n);
	}
	if (qm->ticks % QMGR_SCAN_OTHER == 0)
		for (size_t b = 0; b < qm->nbuckets; b++)
			for (struct qmsg *m = qm->table[b]; m; m = m->hnext)
				if (m->state == QM_WAITING)
					qmgr_stuck_check(qm, m, now);
	start_due(qm, now);
	dest_expire_idle(qm, now, 0);
	gauges(qm, now);
}

static void on_signal(uv_signal_t *h, int sig)
{
	struct qmgr *qm = h->data;

	if (sig == SIGHUP) {
		qm->map = tenant_map_refresh(qm->tdb, qm->map);
		log_info("qmgr: reload");
		return;
	}
	if (!qm->draining) {
		log_info("qmgr: draining, %u transactions in flight", qm->jobs_running);
		qm->draining = 1;
		qm->ticks = 0;
		uv_poll_stop(&qm->notify);
		dest_expire_idle(qm, 0, 1);
	}
	drain_check(qm);
}

/* ---- start and stop ---- */

static void close_cb(uv_handle_t *h)
{
	(void)h;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, close_cb);
}

static void qmgr_free(struct qmgr *qm)
{
	if (qm->scan)
		qmgr_rescan_fini(qm); /* first: it holds pointers to messages being scanned */
	for (size_t b = 0; b < qm->nbuckets; b++)
		while (qm->table[b])
			qmgr_msg_forget(qm, qm->table[b]);
	free(qm->table);
	while (qm->dests) {
		struct qdest *d = qm->dests;

		qm->dests = d->next;
		for (unsigned i = 0; i < d->nidle; i++)
			smtp_client_close(d->idle[i]);
		for (struct qjob *j = d->wait_head; j;) {
			struct qjob *next = j->next;

			job_free(j);
			j = next;
		}
		free(d);
	}
	if (qm->notify_fd >= 0)
		close(qm->notify_fd);
	tracking_close(qm->trk);
	tenant_map_free(qm->map);
	tenant_db_close(qm->tdb);
	queue_close(qm->q);
	SSL_CTX_free(qm->tls);
}

/* A rescan interrupted by a crash leaves "<id>.rescan" beside the (intact) original. */
static int sweep_rescan(void *arg, const char *dir, const char *name)
{
	const char *dot = strrchr(name, '.');
	char path[PATH_MAX];

	(void)arg;
	if (dot && strcmp(dot, ".rescan") == 0 &&
	    snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path && unlink(path) == 0)
		log_info("qmgr: removed leftover %s", name);
	return 0;
}

/* After each loop iteration: commit the iteration's tracking records in one transaction. */
static void on_loop_end(uv_check_t *h)
{
	struct qmgr *qm = h->data;

	tracking_flush(qm->trk);
}

static void raise_fd_limit(struct qmgr *qm)
{
	struct rlimit rl;

	qm->busy_max = QMGR_BUSY_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		/* Half the descriptors for queue files, the rest for connections and the like. */
		if (rl.rlim_cur / 2 < qm->busy_max)
			qm->busy_max = (unsigned)(rl.rlim_cur / 2);
	}
}

int qmgr_main(const struct config *cfg)
{
	struct qmgr *qm = calloc(1, sizeof *qm);
	struct stat_segment *seg;
	uv_loop_t loop;
	int r, ret = 1;

	log_set_proc("qmgr");
	if (qm == NULL)
		return 1;
	/* Before any uv_queue_work: libuv sizes its pool once per process. */
	setenv("UV_THREADPOOL_SIZE", QMGR_THREADS, 1);
	qm->cfg = *cfg;
	qm->notify_fd = -1;
	the_qm = qm;
	if ((seg = stats_map(cfg, 0)) != NULL)
		stats_claim(seg, "qmgr", 0);
	raise_fd_limit(qm);
	if (uv_loop_init(&loop) < 0)
		return 1;
	qm->loop = &loop;
	qm->nbuckets = QMGR_BUCKETS;
	qm->table = calloc(qm->nbuckets, sizeof *qm->table);
	qm->q = queue_open(cfg);
	qm->tdb = tenant_db_open(cfg);
	qm->map = qm->tdb ? tenant_map_load(qm->tdb) : NULL;
	qm->trk = tracking_open(cfg);
	tracking_batch(qm->trk, 1);
	qm->tls = SSL_CTX_new(TLS_client_method());
	if (qm->table == NULL || qm->q == NULL || qm->tdb == NULL || qm->map == NULL ||
	    qm->tls == NULL) {
		log_error("qmgr: cannot start (queue, tenant database or TLS)");
		goto out;
	}
	/* Opportunistic: no verification, see smtp/client.h. */
	SSL_CTX_set_verify(qm->tls, SSL_VERIFY_NONE, NULL);
	if ((r = notify_open(qm)) < 0)
		log_warn("qmgr: no notify socket (%s); relying on directory scans", strerror(-r));
	queue_walk(qm->q, QUEUE_ACTIVE, sweep_rescan, NULL);
	queue_walk(qm->q, QUEUE_DEFERRED, sweep_rescan, NULL);
	r = queue_reap_incoming(qm->q);
	queue_dir_foreach(qm->q, QUEUE_ACTIVE, on_active_file, qm);
	queue_dir_foreach(qm->q, QUEUE_DEFERRED, on_deferred_file, qm);
	log_info("qmgr: started, resuming %zu messages (removed %d incoming leftovers)", qm->nmsgs,
	         r);
	uv_check_init(&loop, &qm->trk_flush);
	qm->trk_flush.data = qm;
	uv_check_start(&qm->trk_flush, on_loop_end);
	uv_timer_init(&loop, &qm->tick);
	qm->tick.data = qm;
	uv_timer_start(&qm->tick, on_tick, QMGR_TICK_MS, QMGR_TICK_MS);
	uv_signal_init(&loop, &qm->sigterm);
	uv_signal_init(&loop, &qm->sighup);
	qm->sigterm.data = qm->sighup.data = qm;
	uv_signal_start(&qm->sigterm, on_signal, SIGTERM);
	uv_signal_start(&qm->sighup, on_signal, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	start_due(qm, (uint64_t)time(NULL));
	uv_run(&loop, UV_RUN_DEFAULT);
	log_info("qmgr: stopped");
	ret = 0;
out:
	qmgr_free(qm);
	uv_walk(&loop, close_walk, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	free(qm);
	the_qm = NULL;
	return ret;
}
