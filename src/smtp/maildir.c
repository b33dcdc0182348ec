/*
 * maildir - see maildir.h. Writes go through a per-message buffer so that a message costs a
 * handful of system calls: open, write(s), close, rename.
 */
#include "smtp/maildir.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "core/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

/* Bytes buffered before a write(2): most test messages fit in one. */
#define MAILDIR_WBUF (64 * 1024)

struct fail_rule {
	char addr[SMTP_PATH_MAX];
	struct smtp_reply reply;
	unsigned long hits;
};

struct smtp_maildir {
	char dir[PATH_MAX];
	char host[64];
	struct fail_rule rules[MAILDIR_FAIL_MAX];
	size_t nrules;
	unsigned long fail_times;
	unsigned long long seq, stored;
};

struct mdconn {
	struct smtp_maildir *md;
	struct smtp_session *s;
	int fd;
	int failed;
	char name[128];
	char tmp[PATH_MAX + 160];
	size_t wlen;
	unsigned long long size;
	char *wbuf; /* MAILDIR_WBUF bytes while a message is open */
};

struct smtp_maildir *smtp_maildir_open(const char *dir)
{
	static const char *const subs[] = {"tmp", "new", "cur"};
	struct smtp_maildir *md = calloc(1, sizeof *md);
	char path[PATH_MAX + 8];

	if (md == NULL)
		return NULL;
	if (strlen(dir) >= sizeof md->dir) {
		log_error("sink: maildir path too long");
		goto fail;
	}
	snprintf(md->dir, sizeof md->dir, "%s", dir);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
		if (fs_mkdir_p(path, 0755) < 0) {
			log_error("sink: cannot create %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	if (gethostname(md->host, sizeof md->host) != 0)
		snprintf(md->host, sizeof md->host, "sink");
	md->host[sizeof md->host - 1] = '\0';
	/* Maildir names must not hold '/' or ':' */
	for (char *p = md->host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	return md;
fail:
	free(md);
	return NULL;
}

void smtp_maildir_close(struct smtp_maildir *md)
{
	free(md);
}

int smtp_maildir_add_fail(struct smtp_maildir *md, const char *spec)
{
	const char *eq;
	struct fail_rule *r;
	uint64_t code;
	size_t alen;

	/* split at the '=' before the reply code: the address itself may hold '=' */
	for (eq = strchr(spec, '='); eq && !(eq[1] >= '2' && eq[1] <= '5');
	     eq = strchr(eq + 1, '='))
		;
	if (eq == NULL || (alen = (size_t)(eq - spec)) == 0 || alen >= sizeof r->addr)
		return -EINVAL;
	if (md->nrules == MAILDIR_FAIL_MAX)
		return -ENOSPC;
	r = &md->rules[md->nrules];
	memset(r, 0, sizeof *r);
	memcpy(r->addr, spec, alen);
	if (strlen(eq + 1) < 3 || parse_u64_n(eq + 1, 3, 200, 599, &code) < 0 ||
	    (eq[4] != ' ' && eq[4] != '\0'))
		return -EINVAL;
	smtp_reply_set(&r->reply, (int)code, "%s", eq[4] ? eq + 5 : "");
	md->nrules++;
	return 0;
}

void smtp_maildir_set_fail_times(struct smtp_maildir *md, unsigned long n)
{
	md->fail_times = n;
}

unsigned long long smtp_maildir_count(const struct smtp_maildir *md)
{
	return md->stored;
}

static int md_rcpt(void *ctx, const struct smtp_txn *t, const struct smtp_addr *a,
                   struct smtp_reply *r)
{
	struct mdconn *mc = ctx;
	struct smtp_maildir *md = mc->md;

	for (size_t i = 0; i < md->nrules; i++) {
		struct fail_rule *f = &md->rules[i];

		if (strcasecmp(f->addr, a->addr) != 0)
			continue;
		if (md->fail_times && f->hits >= md->fail_times)
			return 0;
		f->hits++;
		*r = f->reply;
		return r->code >= 400 ? -EPERM : 0;
	}
	return 0;
}

static int md_flush(struct mdconn *mc)
{
	int r;

	if (mc->wlen == 0)
		return 0;
	r = fs_write_all(mc->fd, mc->wbuf, mc->wlen);
	mc->wlen = 0;
	return r;
}

static int md_write(void *ctx, const char *p, size_t len)
{
	struct mdconn *mc = ctx;
	int r;

	if (mc->fd < 0)
		return -EIO;
	mc->size += len;
	if (mc->wlen + len > MAILDIR_WBUF) {
		if ((r = md_flush(mc)) < 0)
			return r;
		if (len > MAILDIR_WBUF)
			return fs_write_all(mc->fd, p, len);
	}
	memcpy(mc->wbuf + mc->wlen, p, len);
	mc->wlen += len;
	return 0;
}

static int md_header(struct mdconn *mc, const char *name, const char *addr)
{
	char line[SMTP_PATH_MAX + 32];
	int n = snprintf(line, sizeof line, "%s: <%s>\r\n", name, addr);

	return md_write(mc, line, (size_t)n);
}

static int md_open(void *ctx, const struct smtp_txn *t, struct smtp_reply *r)
{
	struct mdconn *mc = ctx;
	struct smtp_maildir *md = mc->md;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(mc->name, sizeof mc->name, "%lld.M%06ldP%dQ%llu.%s", (long long)tv.tv_sec,
	         (long)tv.tv_usec, (int)getpid(), ++md->seq, md->host);
	snprintf(mc->tmp, sizeof mc->tmp, "%s/tmp/%s", md->dir, mc->name);
	if (mc->wbuf == NULL && (mc->wbuf = malloc(MAILDIR_WBUF)) == NULL) {
		smtp_reply_set(r, 451, "4.3.0 Error: out of memory");
		return -ENOMEM;
	}
	mc->fd = open(mc->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (mc->fd < 0) {
		log_warn("sink: cannot create %s: %s", mc->tmp, strerror(errno));
		smtp_reply_set(r, 451, "4.3.0 Error: cannot store the message");
		return -errno;
	}
	mc->wlen = 0;
	mc->size = 0;
	if (md_header(mc, "X-Sink-Mail-From", t->mail_from) < 0)
		goto fail;
	for (size_t i = 0; i < t->nrcpts; i++)
		if (md_header(mc, "X-Sink-Rcpt-To", t->rcpts[i]) < 0)
			goto fail;
	mc->size = 0;
	return 0;
fail:
	close(mc->fd);
	mc->fd = -1;
	unlink(mc->tmp);
	smtp_reply_set(r, 451, "4.3.0 Error: cannot store the message");
	return -EIO;
}

static void md_abort(void *ctx)
{
	struct mdconn *mc = ctx;

	if (mc->fd < 0)
		return;
	close(mc->fd);
	mc->fd = -1;
	unlink(mc->tmp);
}

static void md_close(void *ctx, const struct smtp_txn *t)
{
	struct mdconn *mc = ctx;
	struct smtp_maildir *md = mc->md;
	struct smtp_reply r;
	char final[PATH_MAX + 160], esc[SMTP_PATH_MAX * 4];
	int ok = md_flush(mc) == 0;

	if (close(mc->fd) != 0)
		ok = 0;
	mc->fd = -1;
	snprintf(final, sizeof final, "%s/new/%s", md->dir, mc->name);
	if (ok && rename(mc->tmp, final) != 0)
		ok = 0;
	if (!ok) {
		log_warn("sink: cannot store %s: %s", mc->tmp, strerror(errno));
		unlink(mc->tmp);
		smtp_reply_set(&r, 451, "4.3.0 Error: cannot store the message");
	} else {
		md->stored++;
		log_info("sink: id=%s from=<%s> nrcpt=%zu size=%llu proto=%s client=%s", mc->name,
		         log_escape(esc, sizeof esc, t->mail_from, strlen(t->mail_from)), t->nrcpts,
		         mc->size, t->proto, t->client_ip);
		smtp_reply_set(&r, 250, "2.0.0 Ok: queued as %s", mc->name);
	}
	smtp_session_data_done(mc->s, &r);
}

static const struct smtp_session_ops md_ops = {
    .rcpt = md_rcpt,
    .data_open = md_open,
    .data_write = md_write,
    .data_close = md_close,
    .data_abort = md_abort,
};

static void *md_conn_open(void *arg, struct smtp_session *s)
{
	struct mdconn *mc = malloc(sizeof *mc);

	if (mc == NULL)
		return NULL;
	mc->md = arg;
	mc->s = s;
	mc->fd = -1;
	mc->wlen = 0;
	mc->wbuf = NULL;
	return mc;
}

static void md_conn_close(void *ctx)
{
	struct mdconn *mc = ctx;

	md_abort(mc);
	free(mc->wbuf);
	free(mc);
}

void smtp_maildir_backend(struct smtp_maildir *md, struct smtp_server_backend *b)
{
	b->ops = &md_ops;
	b->conn_open = md_conn_open;
	b->conn_close = md_conn_close;
	b->arg = md;
}
