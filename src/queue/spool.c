/*
 * spool - writing a message into incoming/ and committing it into the queue (see spool.h).
 *
 * Durability: the 250 reply may only follow (1) the file's data on disk (fsync), (2) the rename
 * into active/ (or hold/, quarantine/) and (3) an fsync of the destination directory. Steps
 * 1-3 run off the event loop on a few committer threads, one commit each at a time, so the
 * fsyncs of concurrent sessions are in flight together and the file system's journal folds them
 * into one commit (group commit, as jbd2 and xfs's log do). The rename goes first so that the
 * file's fsync, which commits the journal, carries the directory entry too; the directory fsync
 * that follows then finds it on disk and costs a system call instead of a second journal
 * commit. A file renamed but not yet synced is not acknowledged: if the machine dies then, the
 * client sends again, and a copy missing its END record goes to corrupt/ at recovery, never to
 * delivery. Results go back to the loop thread through a uv_async_t.
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

/*
 * Commits run on this many threads, each taking one job at a time: the file system's journal
 * groups the fsyncs that are in flight together into one commit (group commit), and no commit
 * waits for a batch it did not belong to. 16 covers a few hundred sessions' worth of commits
 * in flight at a journal commit each.
 */
#define COMMIT_THREADS 16

struct committer {
	pthread_t th[COMMIT_THREADS];
	unsigned nth;
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

/* Move the file from incoming/ to dst (creating dst's directory when missing). */
static int spool_rename(struct spool *s, const char *dst)
{
	int r = renameat2(AT_FDCWD, s->path, AT_FDCWD, dst, RENAME_NOREPLACE);

	if (r < 0 && errno == ENOENT && queue_mkparent(dst) == 0)
		r = renameat2(AT_FDCWD, s->path, AT_FDCWD, dst, RENAME_NOREPLACE);
	return r < 0 ? -errno : 0;
}

/* fsync + rename; the directory fsyncs are the caller's. */
static int spool_sync_rename(struct spool *s, const char *dst)
{
	if (fsync(s->fd) < 0)
		return -errno;
	return spool_rename(s, dst);
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

/* ---- the committer threads ---- */

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
 * One commit: rename into dst, fsync the file, fsync dst's directory. Only the destination
 * decides durability: the incoming/ entry the rename removed is not synced (if it comes back
 * after a crash, start-up removes it). A failure after the rename removes the file from dst:
 * not durable, the client gets 4xx and sends again.
 */
static void commit_one(struct commit_job *j)
{
	char d[PATH_MAX];
	int r;

	if (j->status < 0)
		return;
	if ((r = spool_rename(j->s, j->dst)) < 0) {
		j->status = r;
		return;
	}
	if (fsync(j->s->fd) < 0)
		r = -errno;
	else if ((r = dir_of(j->dst, d, sizeof d)) == 0)
		r = fs_fsync_dir(d);
	if (r < 0) {
		j->status = r;
		unlink(j->dst);
	}
}

static void *committer_run(void *arg)
{
	struct committer *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct commit_job *j;

		while (c->todo == NULL && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->todo == NULL && c->stop)
			break;
		j = c->todo;
		c->todo = j->next;
		if (c->todo == NULL)
			c->todo_tail = &c->todo;
		j->next = NULL;
		pthread_mutex_unlock(&c->mu);

		commit_one(j);

		pthread_mutex_lock(&c->mu);
		*c->done_tail = j;
		c->done_tail = &j->next;
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

/* Join the threads that started; the caller has set c->stop or never queued work. */
static void committer_join(struct committer *c)
{
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (unsigned t = 0; t < c->nth; t++)
		pthread_join(c->th[t], NULL);
	c->nth = 0;
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
	for (unsigned t = 0; t < COMMIT_THREADS; t++)
		if (pthread_create(&c->th[c->nth], NULL, committer_run, c) == 0)
			c->nth++;
	if (c->nth == 0) {
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
	committer_join(c); /* the threads finish every queued job first */
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
