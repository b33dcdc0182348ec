/*
 * spool - writing a message into incoming/ and committing it into the queue (see spool.h).
 *
 * Durability: the 250 reply may only follow (1) the file's data on disk (fsync), (2) the rename
 * into active/ (or hold/, quarantine/) and (3) an fsync of the destination and source
 * directories. Steps 1-3 run on one committer thread per process: it takes every commit queued
 * since its last round, fsyncs the files, renames them, then fsyncs each directory touched once,
 * so N concurrent sessions pay for one directory fsync per directory instead of N (group
 * commit). Results go back to the loop thread through a uv_async_t.
 *
 * Queue ids are 19 upper-case hex digits: seconds (8), microseconds (5), pid (6). They sort by
 * arrival time, are unique across the node's processes (the pid), and O_EXCL in incoming/ plus
 * RENAME_NOREPLACE at commit guard against the impossible.
 */
#include "queue/spool.h"

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "queue/envelope.h"
#include "queue/queue_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* Body bytes are gathered into writes of this size: large enough that a 10 MB message costs
 * ~160 write(2) calls, small enough to keep a few thousand sessions' buffers cheap. */
#define SPOOL_WBUF 65536
/* The envelope head: ENVELOPE_RCPTS_MAX addresses of at most 3x ENVELOPE_VALUE_MAX escaped. */
#define SPOOL_HEAD_MAX (16u * 1024 * 1024)
/* Trailer: 64 symbols of ~700 bytes escaped at most, plus the verdict and END. */
#define SPOOL_TRAILER_MAX (256u * 1024)
/* Attempts at a fresh id when O_EXCL finds the name taken (same microsecond). */
#define SPOOL_ID_TRIES 100

struct spool {
	struct queue *q;
	char id[QUEUE_ID_MAX];
	char path[PATH_MAX];
	int fd;
	int failed; /* a write error happened: only abort remains */
	uint64_t body_off, body_len;
	size_t wlen;
	char *wbuf;
};

struct commit_job {
	struct spool *s;
	enum queue_dir dir;
	char dst[PATH_MAX];
	int status;
	spool_commit_cb cb;
	void *arg;
	struct commit_job *next;
};

struct committer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct commit_job *todo, **todo_tail;
	struct commit_job *done, **done_tail;
	uv_loop_t *loop;
	uv_async_t async;
	int stop;
};

static void spool_free(struct spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->wbuf);
	free(s);
}

static void spool_make_id(char *out, size_t outsz)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(out, outsz, "%08llX%05lX%06X", (unsigned long long)tv.tv_sec & 0xffffffffULL,
	         (unsigned long)tv.tv_usec, (unsigned)getpid() & 0xffffff);
}

struct spool *spool_new(struct queue *q, const struct spool_envelope *env)
{
	struct spool *s = calloc(1, sizeof *s);
	struct envelope_head h = {0};
	struct timeval tv;
	struct buf b;
	int r;

	buf_init(&b, SPOOL_HEAD_MAX);
	if (s == NULL || (s->wbuf = malloc(SPOOL_WBUF)) == NULL) {
		log_error("spool: out of memory");
		goto fail;
	}
	s->q = q;
	s->fd = -1;
	for (int i = 0; i < SPOOL_ID_TRIES && s->fd < 0; i++) {
		spool_make_id(s->id, sizeof s->id);
		if (queue_path(q, QUEUE_INCOMING, s->id, s->path, sizeof s->path) < 0)
			goto fail;
		s->fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (s->fd < 0 && errno == ENOENT && queue_mkparent(s->path) == 0)
			s->fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (s->fd < 0 && errno != EEXIST) {
			log_error("spool: cannot create %s: %s", s->path, strerror(errno));
			goto fail;
		}
	}
	if (s->fd < 0) {
		log_error("spool: no free queue id");
		goto fail;
	}
	gettimeofday(&tv, NULL);
	h.arrival_sec = (uint64_t)tv.tv_sec;
	h.arrival_usec = (uint64_t)tv.tv_usec;
	h.tenant = env->tenant;
	h.client_ip = env->client_ip;
	h.client_host = env->client_host;
	h.helo = env->helo;
	h.proto = env->proto;
	h.sender = env->mail_from;
	h.ret = env->ret;
	h.envid = env->envid;
	h.smtputf8 = env->smtputf8;
	h.body_8bit = env->body_8bit;
	h.rcpts = env->rcpts;
	h.nrcpts = env->nrcpts;
	if ((r = envelope_head_encode(&b, &h)) < 0) {
		log_error("id=%s spool: cannot encode envelope: %s", s->id, strerror(-r));
		goto fail_unlink;
	}
	if ((r = fs_write_all(s->fd, b.p, b.len)) < 0) {
		log_error("id=%s spool: write: %s", s->id, strerror(-r));
		goto fail_unlink;
	}
	s->body_off = b.len;
	buf_free(&b);
	return s;
fail_unlink:
	unlink(s->path);
fail:
	buf_free(&b);
	if (s)
		spool_free(s);
	return NULL;
}

const char *spool_id(const struct spool *s)
{
	return s->id;
}

int spool_fd(const struct spool *s)
{
	return s->fd;
}

uint64_t spool_body_offset(const struct spool *s)
{
	return s->body_off;
}

uint64_t spool_body_length(const struct spool *s)
{
	return s->body_len;
}

static int spool_flush(struct spool *s)
{
	int r;

	if (s->wlen == 0)
		return 0;
	r = fs_write_all(s->fd, s->wbuf, s->wlen);
	s->wlen = 0;
	if (r < 0) {
		s->failed = 1;
		return r == -ENOSPC || r == -EDQUOT ? -ENOSPC : -EIO;
	}
	return 0;
}

int spool_write(struct spool *s, const void *p, size_t len)
{
	const char *c = p;
	int r;

	if (s->failed)
		return -EIO;
	if (s->q->max_size && s->body_len + len > s->q->max_size)
		return -EFBIG;
	s->body_len += len;
	while (len > 0) {
		size_t n = SPOOL_WBUF - s->wlen;

		if (n > len)
			n = len;
		memcpy(s->wbuf + s->wlen, c, n);
		s->wlen += n;
		c += n;
		len -= n;
		if (s->wlen == SPOOL_WBUF && (r = spool_flush(s)) < 0)
			return r;
	}
	return 0;
}

/*
 * The scanner reads the body through the fd, so it must be in the file; durability waits for
 * the commit's fsync (one fsync per message instead of two).
 */
int spool_end_body(struct spool *s)
{
	if (s->failed)
		return -EIO;
	return spool_flush(s);
}

void spool_abort(struct spool *s)
{
	if (s == NULL)
		return;
	unlink(s->path);
	spool_free(s);
}

/* Write the trailer and END after the body. */
static int spool_write_trailer(struct spool *s, const struct scan_result *verdict)
{
	struct buf b;
	int r;

	if (s->failed)
		return -EIO;
	if ((r = spool_flush(s)) < 0)
		return r;
	buf_init(&b, SPOOL_TRAILER_MAX);
	r = envelope_trailer_encode(&b, verdict, s->body_off + s->body_len);
	if (r == 0)
		r = fs_write_all(s->fd, b.p, b.len);
	buf_free(&b);
	return r;
}

/* fsync + rename; the directory fsyncs are the caller's. */
static int spool_sync_rename(struct spool *s, const char *dst)
{
	int r;

	if (fsync(s->fd) < 0)
		return -errno;
	r = renameat2(AT_FDCWD, s->path, AT_FDCWD, dst, RENAME_NOREPLACE);
	if (r < 0 && errno == ENOENT && queue_mkparent(dst) == 0)
		r = renameat2(AT_FDCWD, s->path, AT_FDCWD, dst, RENAME_NOREPLACE);
	return r < 0 ? -errno : 0;
}

int spool_commit_sync(struct spool *s, enum queue_dir dir, const struct scan_result *verdict)
{
	char dst[PATH_MAX];
	int r;

	if ((r = queue_path(s->q, dir, s->id, dst, sizeof dst)) < 0 ||
	    (r = spool_write_trailer(s, verdict)) < 0 || (r = spool_sync_rename(s, dst)) < 0)
		goto fail;
	if ((r = fs_fsync_parent(dst)) < 0) {
		unlink(dst);
		goto fail;
	}
	fs_fsync_parent(s->path);
	spool_free(s);
	return 0;
fail:
	log_error("id=%s spool: commit failed: %s", s->id, strerror(-r));
	spool_abort(s);
	return r;
}

/* ---- the committer thread ---- */

static int dir_of(const char *path, char *out, size_t outsz)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n == 0 || n >= outsz)
		return -ENAMETOOLONG;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

/*
 * A batch's fsyncs run side by side: on ext4 and xfs concurrent fsyncs share journal commits,
 * so N files cost little more than one, where one after another they cost N (~7 ms each on
 * this class of disk). Threads are made per batch: a few tens of microseconds against
 * milliseconds of sync.
 */
#define COMMIT_SYNC_THREADS 8

struct commit_par {
	size_t n, nthreads;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	size_t t;
};

static void *commit_par_run(void *arg)
{
	struct commit_par *p = arg;

	for (size_t i = p->t; i < p->n; i += p->nthreads)
		p->fn(p->ctx, i);
	return NULL;
}

/* fn(ctx, i) for every i < n, on up to COMMIT_SYNC_THREADS threads; inline if threads fail. */
static void commit_parallel(size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
	struct commit_par par[COMMIT_SYNC_THREADS];
	pthread_t th[COMMIT_SYNC_THREADS];
	int started[COMMIT_SYNC_THREADS] = {0};
	size_t nt = n < COMMIT_SYNC_THREADS ? n : COMMIT_SYNC_THREADS;

	if (nt <= 1) {
		for (size_t i = 0; i < n; i++)
			fn(ctx, i);
		return;
	}
	for (size_t t = 0; t < nt; t++) {
		par[t] = (struct commit_par){n, nt, fn, ctx, t};
		if (t > 0 && pthread_create(&th[t], NULL, commit_par_run, &par[t]) == 0)
			started[t] = 1;
	}
	commit_par_run(&par[0]);
	for (size_t t = 1; t < nt; t++) {
		if (started[t])
			pthread_join(th[t], NULL);
		else
			commit_par_run(&par[t]);
	}
}

static void commit_sync_one(void *ctx, size_t i)
{
	struct commit_job *j = ((struct commit_job **)ctx)[i];

	if (j->status == 0)
		j->status = spool_sync_rename(j->s, j->dst);
}

struct commit_dir {
	char path[PATH_MAX];
	int res;
};

static void commit_dir_sync_one(void *ctx, size_t i)
{
	struct commit_dir *d = &((struct commit_dir *)ctx)[i];

	d->res = fs_fsync_dir(d->path);
}

/*
 * Fsync each distinct destination directory of the batch once, side by side; fail the jobs
 * whose directory failed. Only the destination decides durability: the incoming/ entry that
 * the rename removed is not synced (if it comes back after a crash, start-up removes it).
 */
static void committer_sync_dirs(struct commit_job *batch, size_t njobs)
{
	struct commit_dir *dirs = calloc(njobs ? njobs : 1, sizeof *dirs);
	size_t nd = 0;

	for (struct commit_job *j = batch; j; j = j->next) {
		char d[PATH_MAX];
		size_t i;

		if (j->status < 0 || dir_of(j->dst, d, sizeof d) < 0)
			continue;
		if (dirs == NULL) {
			j->status = fs_fsync_dir(d); /* no memory for the table: one by one */
			continue;
		}
		for (i = 0; i < nd; i++)
			if (strcmp(dirs[i].path, d) == 0)
				break;
		if (i == nd)
			memcpy(dirs[nd++].path, d, strlen(d) + 1);
	}
	if (dirs)
		commit_parallel(nd, commit_dir_sync_one, dirs);
	for (struct commit_job *j = batch; j; j = j->next) {
		char d[PATH_MAX];

		if (j->status < 0 || dirs == NULL || dir_of(j->dst, d, sizeof d) < 0)
			continue;
		for (size_t i = 0; i < nd; i++)
			if (strcmp(dirs[i].path, d) == 0 && dirs[i].res < 0)
				j->status = dirs[i].res;
		if (j->status < 0)
			unlink(j->dst); /* not durable: the client gets 4xx and sends again */
	}
	free(dirs);
}

static void *committer_run(void *arg)
{
	struct committer *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct commit_job *batch;

		while (c->todo == NULL && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->todo == NULL && c->stop)
			break;
		batch = c->todo;
		c->todo = NULL;
		c->todo_tail = &c->todo;
		pthread_mutex_unlock(&c->mu);

		{
			size_t n = 0, k = 0;
			struct commit_job **arr;

			for (struct commit_job *j = batch; j; j = j->next)
				n++;
			arr = malloc(n * sizeof *arr);
			if (arr) {
				for (struct commit_job *j = batch; j; j = j->next)
					arr[k++] = j;
				commit_parallel(n, commit_sync_one, arr);
				free(arr);
			} else {
				for (struct commit_job *j = batch; j; j = j->next)
					if (j->status == 0)
						j->status = spool_sync_rename(j->s, j->dst);
			}
			committer_sync_dirs(batch, n);
		}

		pthread_mutex_lock(&c->mu);
		for (struct commit_job *j = batch; j;) {
			struct commit_job *next = j->next;

			j->next = NULL;
			*c->done_tail = j;
			c->done_tail = &j->next;
			j = next;
		}
		uv_async_send(&c->async);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void committer_done(uv_async_t *h)
{
	struct committer *c = h->data;
	struct commit_job *list;

	pthread_mutex_lock(&c->mu);
	list = c->done;
	c->done = NULL;
	c->done_tail = &c->done;
	pthread_mutex_unlock(&c->mu);
	while (list) {
		struct commit_job *j = list;

		list = j->next;
		if (j->status < 0) {
			log_error("id=%s spool: commit failed: %s", j->s->id, strerror(-j->status));
			unlink(j->s->path);
		}
		j->cb(j->arg, j->status);
		spool_free(j->s);
		free(j);
	}
}

static void committer_closed(uv_handle_t *h)
{
	free(h->data);
}

static struct committer *committer_get(struct queue *q, uv_loop_t *loop)
{
	struct committer *c = q->com;

	if (c != NULL)
		return c->loop == loop ? c : NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->todo_tail = &c->todo;
	c->done_tail = &c->done;
	c->loop = loop;
	if (uv_async_init(loop, &c->async, committer_done) < 0) {
		free(c);
		return NULL;
	}
	c->async.data = c;
	if (pthread_create(&c->th, NULL, committer_run, c) != 0) {
		uv_close((uv_handle_t *)&c->async, committer_closed);
		return NULL;
	}
	q->com = c;
	return c;
}

void spool_committer_stop(struct queue *q)
{
	struct committer *c = q->com;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
	committer_done(&c->async); /* deliver the last results */
	q->com = NULL;
	/* The handle is closed on the loop; memory is freed by the close callback. */
	uv_close((uv_handle_t *)&c->async, committer_closed);
}

int spool_commit(struct spool *s, uv_loop_t *loop, enum queue_dir dir,
                 const struct scan_result *verdict, spool_commit_cb cb, void *arg)
{
	struct committer *c;
	struct commit_job *j;
	int r;

	if (dir != QUEUE_ACTIVE && dir != QUEUE_HOLD && dir != QUEUE_QUARANTINE)
		return -EINVAL;
	c = committer_get(s->q, loop);
	j = calloc(1, sizeof *j);
	if (c == NULL || j == NULL) {
		free(j);
		return -ENOMEM;
	}
	j->s = s;
	j->dir = dir;
	j->cb = cb;
	j->arg = arg;
	if ((r = queue_path(s->q, dir, s->id, j->dst, sizeof j->dst)) < 0 ||
	    (r = spool_write_trailer(s, verdict)) < 0)
		j->status = r; /* reported through the callback like any other failure */
	pthread_mutex_lock(&c->mu);
	*c->todo_tail = j;
	c->todo_tail = &j->next;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return 0;
}
