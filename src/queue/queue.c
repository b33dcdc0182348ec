/*
 * queue - the split directories: opening the queue, paths and hashing, incoming/ recovery,
 * iteration, loading, moving and deleting messages, in-place state updates, and the datagram
 * that wakes qmgr. See queue.h and spool.h; the committer (group commit) lives in spool.c.
 *
 * Split directories: <home>/queue/<dir>/<h1>[/<h2>[/<h3>]]/<id>, where h1.. are hash_width hex
 * digits each of an FNV-1a hash of the id, hash_depth levels. Ids are time-ordered, so hashing
 * (not the id's prefix) is what spreads a burst over the directories.
 */
#include "queue/queue.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "queue/notify.h"
#include "queue/queue_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Split directories are created up front when there are at most this many per queue directory
 * (depth 1 or 2 with width 1-2); deeper trees are created on demand. */
#define QUEUE_PRECREATE_MAX 4096

static const char *const dir_names[QUEUE_NDIRS] = {"incoming", "active",     "deferred",
                                                   "hold",     "quarantine", "corrupt"};

const char *queue_dir_name(enum queue_dir d)
{
	return (unsigned)d < QUEUE_NDIRS ? dir_names[d] : "?";
}

int queue_dir_parse(const char *name)
{
	for (int i = 0; i < QUEUE_NDIRS; i++)
		if (strcmp(name, dir_names[i]) == 0)
			return i;
	return -1;
}

int queue_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= QUEUE_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z')))
			return 0;
	return 1;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

void queue_hash_dir(const struct queue *q, const char *id, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	uint32_t h = fnv1a(id);
	size_t o = 0;

	for (unsigned lvl = 0; lvl < q->depth; lvl++) {
		if (lvl > 0 && o + 1 < outsz)
			out[o++] = '/';
		for (unsigned w = 0; w < q->width; w++) {
			if (o + 1 < outsz)
				out[o++] = hex[h & 0xf];
			h >>= 4;
		}
	}
	out[o < outsz ? o : outsz - 1] = '\0';
}

int queue_path(const struct queue *q, enum queue_dir d, const char *id, char *out, size_t outsz)
{
	char h[16];
	int n;

	queue_hash_dir(q, id, h, sizeof h);
	n = snprintf(out, outsz, "%s/%s/%s/%s", q->root, dir_names[d], h, id);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

/* Create every split directory below root/name for the levels left. */
static int precreate(char *path, size_t len, unsigned levels, unsigned width)
{
	unsigned n = 1u << (4 * width);

	if (levels == 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		int w = snprintf(path + len, PATH_MAX - len, "/%0*X", (int)width, i);
		int r;

		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		if ((r = precreate(path, len + (size_t)w, levels - 1, width)) < 0)
			return r;
	}
	path[len] = '\0';
	return 0;
}

struct queue *queue_open(const struct config *cfg)
{
	struct queue *q = calloc(1, sizeof *q);
	unsigned long long total;
	char path[PATH_MAX];
	int r;

	if (q == NULL)
		return NULL;
	q->depth = (unsigned)cfg->queue.hash_depth;
	q->width = (unsigned)cfg->queue.hash_width;
	q->max_size = cfg->smtp.max_message_size;
	if (q->depth < 1 || q->depth > 3 || q->width < 1 || q->width > 2)
		goto bad;
	if (config_path(cfg, "queue", q->root, sizeof q->root) < 0)
		goto bad;
	total = 1;
	for (unsigned i = 0; i < q->depth; i++)
		total <<= 4 * q->width;
	q->lazy_dirs = total > QUEUE_PRECREATE_MAX;
	for (int d = 0; d < QUEUE_NDIRS; d++) {
		int n = snprintf(path, sizeof path, "%s/%s", q->root, dir_names[d]);

		if ((r = fs_mkdir_p(path, 0700)) < 0) {
			log_error("queue: cannot create %s: %s", path, strerror(-r));
			goto fail;
		}
		if (!q->lazy_dirs && (r = precreate(path, (size_t)n, q->depth, q->width)) < 0) {
			log_error("queue: cannot create split dirs in %s: %s", path, strerror(-r));
			goto fail;
		}
	}
	return q;
bad:
	log_error("queue: bad queue settings (hash_depth=%u hash_width=%u)", q->depth, q->width);
fail:
	free(q);
	return NULL;
}

void queue_close(struct queue *q)
{
	if (q == NULL)
		return;
	spool_committer_stop(q);
	free(q);
}

int queue_mkparent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int r;

	if (slash == NULL || (n = (size_t)(slash - path)) >= sizeof dir)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	if ((r = fs_mkdir_p(dir, 0700)) < 0)
		return r;
	return fs_fsync_parent(dir);
}

/* Walk the split directories of one queue dir, calling fn for every regular entry. */
static int walk(char *path, size_t len, unsigned levels,
                int (*fn)(void *, const char *, const char *), void *arg)
{
	DIR *dp = opendir(path);
	struct dirent *de;
	int r = 0;

	if (dp == NULL)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (levels > 0) {
			int w = snprintf(path + len, PATH_MAX - len, "/%s", de->d_name);

			if (w < 0 || (size_t)w >= PATH_MAX - len)
				continue;
			r = walk(path, len + (size_t)w, levels - 1, fn, arg);
			path[len] = '\0';
		} else {
			r = fn(arg, path, de->d_name);
		}
	}
	closedir(dp);
	return r;
}

int queue_walk(struct queue *q, enum queue_dir d, int (*fn)(void *, const char *, const char *),
               void *arg)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "%s/%s", q->root, dir_names[d]);

	return walk(path, (size_t)n, q->depth, fn, arg);
}

struct foreach_ctx {
	int (*cb)(void *, const char *);
	void *arg;
	int64_t count;
};

static int foreach_fn(void *arg, const char *dir, const char *name)
{
	struct foreach_ctx *c = arg;

	(void)dir;
	if (!queue_id_valid(name))
		return 0; /* temporary files carry a suffix */
	c->count++;
	return c->cb ? c->cb(c->arg, name) : 0;
}

int queue_dir_foreach(struct queue *q, enum queue_dir d, int (*cb)(void *arg, const char *id),
                      void *arg)
{
	struct foreach_ctx c = {cb, arg, 0};

	return queue_walk(q, d, foreach_fn, &c);
}

int64_t queue_dir_count(struct queue *q, enum queue_dir d)
{
	struct foreach_ctx c = {NULL, NULL, 0};

	if (queue_walk(q, d, foreach_fn, &c) < 0)
		return -1;
	return c.count;
}

static int recover_fn(void *arg, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int *n = arg;

	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return 0;
	if (unlink(path) == 0) {
		log_info("id=%s queue: removed unacknowledged incoming file", name);
		(*n)++;
	}
	return 0;
}

int queue_recover_incoming(struct queue *q)
{
	int n = 0;

	queue_walk(q, QUEUE_INCOMING, recover_fn, &n);
	return n;
}

static int reap_fn(void *arg, const char *dir, const char *name)
{
	size_t n = strlen(name);
	unsigned long pid;
	char *end;

	/* Ids end in 6 hex digits of the writer's pid (spool.c). */
	if (!queue_id_valid(name) || n < 6)
		return 0;
	pid = strtoul(name + n - 6, &end, 16);
	if (*end != '\0' || pid == 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;
	return recover_fn(arg, dir, name);
}

int queue_reap_incoming(struct queue *q)
{
	int n = 0;

	queue_walk(q, QUEUE_INCOMING, reap_fn, &n);
	return n;
}

int queue_msg_find(struct queue *q, const char *id, enum queue_dir *d)
{
	char path[PATH_MAX];

	if (!queue_id_valid(id))
		return -EINVAL;
	for (int i = QUEUE_ACTIVE; i < QUEUE_NDIRS; i++) {
		if (queue_path(q, (enum queue_dir)i, id, path, sizeof path) < 0)
			continue;
		if (access(path, F_OK) == 0) {
			*d = (enum queue_dir)i;
			return 0;
		}
	}
	return -ENOENT;
}

int queue_msg_open(struct queue *q, enum queue_dir d, const char *id)
{
	char path[PATH_MAX];
	int fd, r;

	if (!queue_id_valid(id))
		return -EINVAL;
	if ((r = queue_path(q, d, id, path, sizeof path)) < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int queue_msg_load_fd(int fd, const char *id, enum queue_dir d, struct queue_msg *m)
{
	struct stat st;
	void *p;
	int r;

	memset(m, 0, sizeof *m);
	snprintf(m->id, sizeof m->id, "%s", id);
	m->dir = d;
	if (fstat(fd, &st) < 0)
		return -errno;
	m->mtime = st.st_mtime;
	if (st.st_size == 0)
		return -EBADMSG;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r = envelope_parse(p, (size_t)st.st_size, &m->env);
	munmap(p, (size_t)st.st_size);
	return r;
}

int queue_msg_load(struct queue *q, enum queue_dir d, const char *id, struct queue_msg *m)
{
	int fd = queue_msg_open(q, d, id);
	int r;

	if (fd < 0) {
		memset(m, 0, sizeof *m);
		return fd;
	}
	r = queue_msg_load_fd(fd, id, d, m);
	close(fd);
	return r;
}

int queue_msg_load_path(const char *path, const char *id, struct queue_msg *m)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0) {
		memset(m, 0, sizeof *m);
		return -errno;
	}
	r = queue_msg_load_fd(fd, id, QUEUE_DEFERRED, m);
	close(fd);
	return r;
}

void queue_msg_free(struct queue_msg *m)
{
	envelope_free(&m->env);
}

int queue_msg_move(struct queue *q, const char *id, enum queue_dir from, enum queue_dir to)
{
	char src[PATH_MAX], dst[PATH_MAX];
	int r;

	if (!queue_id_valid(id))
		return -EINVAL;
	if (queue_path(q, from, id, src, sizeof src) < 0 ||
	    queue_path(q, to, id, dst, sizeof dst) < 0)
		return -ENAMETOOLONG;
	r = renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE);
	if (r < 0 && errno == ENOENT && access(src, F_OK) == 0) {
		if ((r = queue_mkparent(dst)) < 0)
			return r;
		r = renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE);
	}
	if (r < 0)
		return -errno;
	if ((r = fs_fsync_parent(dst)) < 0)
		return r;
	return fs_fsync_parent(src);
}

int queue_msg_release(const struct config *cfg, struct queue *q, const char *id,
                      enum queue_dir from)
{
	int r = queue_msg_move(q, id, from, QUEUE_ACTIVE);

	if (r == 0) {
		log_info("id=%s queue: released from %s", id, queue_dir_name(from));
		queue_notify_qmgr(cfg, id);
	}
	return r;
}

int queue_msg_unlink(struct queue *q, enum queue_dir d, const char *id)
{
	char path[PATH_MAX];

	if (!queue_id_valid(id))
		return -EINVAL;
	if (queue_path(q, d, id, path, sizeof path) < 0)
		return -ENAMETOOLONG;
	return unlink(path) < 0 ? -errno : 0;
}

int queue_msg_delete(struct queue *q, enum queue_dir d, const char *id)
{
	char path[PATH_MAX];

	if (!queue_id_valid(id))
		return -EINVAL;
	if (queue_path(q, d, id, path, sizeof path) < 0)
		return -ENAMETOOLONG;
	if (unlink(path) < 0)
		return -errno;
	return fs_fsync_parent(path);
}

static int pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
	const char *c = p;

	while (len > 0) {
		ssize_t w = pwrite(fd, c, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		c += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int queue_rcpt_write_state(int fd, const struct envelope_rcpt *r, char state)
{
	return pwrite_all(fd, &state, 1, r->state_off);
}

int queue_rcpt_set_state(int fd, const struct envelope_rcpt *r, char state)
{
	int e = pwrite_all(fd, &state, 1, r->state_off);

	if (e == 0 && fdatasync(fd) < 0)
		e = -errno;
	return e;
}

int queue_msg_set_retry(int fd, const struct envelope *e, uint32_t attempts, uint64_t next_try,
                        const char *last_error)
{
	char qv[ENVELOPE_Q_WIDTH + 1], lv[ENVELOPE_ERR_WIDTH + 1];
	int r;

	envelope_q_format(qv, attempts, next_try);
	if ((r = pwrite_all(fd, qv, ENVELOPE_Q_WIDTH, e->q_off)) < 0)
		return r;
	if (last_error != NULL) {
		envelope_l_format(lv, last_error);
		if ((r = pwrite_all(fd, lv, ENVELOPE_ERR_WIDTH, e->l_off)) < 0)
			return r;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}
