/*
 * scan client - see client.h. One SOCK_SEQPACKET connection per in-flight request: connect,
 * send the request with the spool fd (SCM_RIGHTS), wait for one reply. A connection is cheap on
 * a Unix socket, and it makes a crashed worker visible at once (EOF) instead of leaving a shared
 * channel in an unknown state.
 *
 * Nothing here blocks: the socket is non-blocking, readiness comes from a uv_poll, and a
 * deadline timer turns silence into "unscanned". When every worker is busy, connections wait in
 * the listen backlog; when the backlog is full, connect() says EAGAIN and we retry every
 * SCAN_CONNECT_RETRY_MS until the deadline.
 */
#include "scan/client.h"

#include "core/log.h"
#include "scan/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* 20 ms: a full backlog drains at scan speed (milliseconds per message). */
#define SCAN_CONNECT_RETRY_MS 20

struct scan_req {
	struct scan_client *c;
	struct scan_req *prev, *next;
	uv_timer_t deadline, retry;
	uv_poll_t poll;
	int poll_init; /* poll was initialised on sock */
	int sock;      /* -1 until connected */
	int fd;        /* our dup of the spool fd, -1 once sent */
	int closing;   /* handles still to close */
	struct scan_wire_req wire;
	scan_client_cb cb;
	void *arg;
	const char *fail; /* reason for an immediate unscanned result */
};

struct scan_client {
	uv_loop_t *loop;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t deadline_ms;
	int no_workers;
	struct scan_req *head;
};

struct scan_client *scan_client_new(uv_loop_t *loop, const struct config *cfg)
{
	struct scan_client *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	if (config_path(cfg, "run/scan.sock", c->path, sizeof c->path) < 0) {
		log_warn("scan client: socket path too long under %s", cfg->home);
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->deadline_ms = cfg->scan.deadline_ms;
	c->no_workers = cfg->scan.workers == 0;
	return c;
}

static void req_unlink(struct scan_req *r)
{
	struct scan_client *c = r->c;

	if (c == NULL)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	r->c = NULL;
}

static void req_handle_closed(uv_handle_t *h)
{
	struct scan_req *r = h->data;

	if (--r->closing > 0)
		return;
	if (r->sock >= 0)
		close(r->sock);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

/* Drop the request: no callback. Its memory goes when libuv has closed its handles. */
static void req_destroy(struct scan_req *r)
{
	req_unlink(r);
	r->closing = 2 + (r->poll_init ? 1 : 0);
	uv_close((uv_handle_t *)&r->deadline, req_handle_closed);
	uv_close((uv_handle_t *)&r->retry, req_handle_closed);
	if (r->poll_init)
		uv_close((uv_handle_t *)&r->poll, req_handle_closed);
}

static void req_finish(struct scan_req *r, const struct scan_result *res)
{
	scan_client_cb cb = r->cb;
	void *arg = r->arg;

	req_destroy(r);
	cb(arg, res);
}

static void req_unscanned(struct scan_req *r, const char *why)
{
	struct scan_result res;

	memset(&res, 0, sizeof res);
	res.unscanned = 1;
	res.verdict = VERDICT_CLEAN;
	res.action = POLICY_DELIVER;
	scan_add_symbol(&res, "SCAN_UNSCANNED", 0, "%s", why);
	req_finish(r, &res);
}

static void req_on_deadline(uv_timer_t *t)
{
	struct scan_req *r = t->data;

	req_unscanned(r, r->fail ? r->fail : "no scan worker answered in time");
}

static void req_on_io(uv_poll_t *p, int status, int events);

static int req_send(struct scan_req *r)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&r->wire, sizeof r->wire};
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&mh, 0, sizeof mh);
	memset(cbuf, 0, sizeof cbuf);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &r->fd, sizeof(int));
	do
		n = sendmsg(r->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	close(r->fd);
	r->fd = -1;
	return 0;
}

static void req_on_io(uv_poll_t *p, int status, int events)
{
	struct scan_req *r = p->data;
	struct scan_wire_rep rep;
	ssize_t n;
	int e;

	if (status < 0) {
		req_unscanned(r, "scan worker connection failed");
		return;
	}
	if (r->fd >= 0) {
		if (!(events & UV_WRITABLE))
			return;
		e = req_send(r);
		if (e == -EAGAIN)
			return;
		if (e < 0) {
			req_unscanned(r, "scan worker connection failed");
			return;
		}
		uv_poll_start(&r->poll, UV_READABLE, req_on_io);
		return;
	}
	if (!(events & UV_READABLE))
		return;
	do
		n = recv(r->sock, &rep, sizeof rep, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n == 0 || n < 0) {
		req_unscanned(r, "scanner crashed");
		return;
	}
	if ((size_t)n != sizeof rep || rep.magic != SCAN_WIRE_MAGIC ||
	    rep.version != SCAN_WIRE_VERSION || rep.res.nsym > SCAN_MAX_SYMBOLS) {
		log_warn("scan client: malformed reply from a scan worker (%zd bytes)", n);
		req_unscanned(r, "malformed reply from a scan worker");
		return;
	}
	rep.res.virus[sizeof rep.res.virus - 1] = '\0';
	for (unsigned i = 0; i < rep.res.nsym; i++) {
		rep.res.sym[i].name[SCAN_SYMBOL_NAME - 1] = '\0';
		rep.res.sym[i].detail[SCAN_SYMBOL_DETAIL - 1] = '\0';
	}
	req_finish(r, &rep.res);
}

/* One connection attempt. 0 = connected and sending; -EAGAIN = retry later; else fatal. */
static int req_connect(struct scan_req *r)
{
	struct sockaddr_un sa;
	int s, e;

	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, r->c->path, sizeof sa.sun_path);
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		e = -errno;
		close(s);
		if (e == -EINPROGRESS)
			e = -EAGAIN;
		return e;
	}
	r->sock = s;
	if (uv_poll_init(r->c->loop, &r->poll, s) < 0)
		return -EIO;
	r->poll_init = 1;
	r->poll.data = r;
	e = req_send(r);
	if (e == -EAGAIN) {
		uv_poll_start(&r->poll, UV_WRITABLE, req_on_io);
		return 0;
	}
	if (e < 0)
		return e;
	uv_poll_start(&r->poll, UV_READABLE, req_on_io);
	return 0;
}

static void req_on_retry(uv_timer_t *t)
{
	struct scan_req *r = t->data;
	int e = req_connect(r);

	if (e == -EAGAIN) {
		uv_timer_start(&r->retry, req_on_retry, SCAN_CONNECT_RETRY_MS, 0);
		return;
	}
	if (e < 0)
		req_unscanned(r, "no scan worker (socket unavailable)");
}

int scan_client_submit(struct scan_client *c, int fd, uint64_t off, uint64_t len,
		       const struct scan_envelope *env, scan_client_cb cb, void *arg)
{
	struct scan_req *r;
	int e;

	r = calloc(1, sizeof *r);
	if (r == NULL)
		return -ENOMEM;
	r->sock = -1;
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (r->fd < 0) {
		e = -errno;
		free(r);
		return e;
	}
	r->wire.magic = SCAN_WIRE_MAGIC;
	r->wire.version = SCAN_WIRE_VERSION;
	r->wire.off = off;
	r->wire.len = len;
	if (env)
		r->wire.env = *env;
	r->cb = cb;
	r->arg = arg;
	r->c = c;
	uv_timer_init(c->loop, &r->deadline);
	uv_timer_init(c->loop, &r->retry);
	r->deadline.data = r->retry.data = r;
	r->next = c->head;
	if (c->head)
		c->head->prev = r;
	c->head = r;

	if (c->no_workers) {
		/* No worker will ever answer: say so on the next loop turn, not from here. */
		r->fail = "no scan workers configured";
		uv_timer_start(&r->deadline, req_on_deadline, 0, 0);
		return 0;
	}
	uv_timer_start(&r->deadline, req_on_deadline, c->deadline_ms, 0);
	e = req_connect(r);
	if (e == -EAGAIN) {
		uv_timer_start(&r->retry, req_on_retry, SCAN_CONNECT_RETRY_MS, 0);
	} else if (e < 0) {
		r->fail = "no scan worker (socket unavailable)";
		uv_timer_start(&r->deadline, req_on_deadline, 0, 0);
	}
	return 0;
}

void scan_client_cancel(struct scan_client *c, void *arg)
{
	struct scan_req *r = c->head, *n;

	for (; r; r = n) {
		n = r->next;
		if (r->arg == arg)
			req_destroy(r);
	}
}

void scan_client_free(struct scan_client *c)
{
	if (c == NULL)
		return;
	while (c->head)
		req_destroy(c->head);
	free(c);
}
