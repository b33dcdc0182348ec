/*
 * notify - see notify.h.
 */
#include "queue/notify.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* One datagram carries this many bytes of ids at most (~200 ids): far below the socket's
 * buffer, so a datagram fails only for want of queue slots, never for its size. */
#define NOTIFY_DGRAM_MAX 4096
/* Pending ids beyond this are dropped (qmgr is away; its directory scan finds the mail). */
#define NOTIFY_PENDING_MAX (1024 * 1024)
/* When qmgr's queue is full, try again this soon. */
#define NOTIFY_RETRY_MS 5

struct qmgr_notifier {
	struct sockaddr_un sa;
	int fd;
	char *pend; /* "id\nid\n..." */
	size_t len, cap;
	uv_check_t check;
	uv_timer_t retry;
	int closing;
};

static int notify_addr(const struct config *cfg, struct sockaddr_un *sa)
{
	char path[PATH_MAX];

	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (config_path(cfg, "run/qmgr.sock", path, sizeof path) < 0 ||
	    strlen(path) >= sizeof sa->sun_path)
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

void queue_notify_qmgr(const struct config *cfg, const char *id)
{
	struct sockaddr_un sa;
	int fd;

	if (notify_addr(cfg, &sa) < 0)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, id, strlen(id), 0, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
}

/* Send pending ids in datagrams cut at id boundaries. 0 when all went or were given up,
 * -EAGAIN when qmgr's queue is full (the rest stays pending). */
static int notifier_send(struct qmgr_notifier *n)
{
	while (n->len > 0) {
		size_t cut = n->len;
		ssize_t r;

		if (cut > NOTIFY_DGRAM_MAX) {
			cut = NOTIFY_DGRAM_MAX;
			while (cut > 0 && n->pend[cut - 1] != '\n')
				cut--;
			if (cut == 0)
				cut = n->len; /* no id is that long; send as it is */
		}
		r = sendto(n->fd, n->pend, cut, 0, (struct sockaddr *)&n->sa, sizeof n->sa);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			return -EAGAIN;
		if (r < 0) {
			n->len = 0; /* qmgr not there: its start-up scan finds the mail */
			return 0;
		}
		memmove(n->pend, n->pend + cut, n->len - cut);
		n->len -= cut;
	}
	return 0;
}

static void on_retry(uv_timer_t *h);

/* Send what is pending; if qmgr's queue is full, try again in NOTIFY_RETRY_MS. */
static void notifier_flush(struct qmgr_notifier *n)
{
	if (n->len > 0 && notifier_send(n) == -EAGAIN && !uv_is_active((uv_handle_t *)&n->retry))
		uv_timer_start(&n->retry, on_retry, NOTIFY_RETRY_MS, 0);
}

static void on_retry(uv_timer_t *h)
{
	notifier_flush(h->data);
}

/* The end of every loop iteration: the iteration's ids leave together. */
static void on_check(uv_check_t *h)
{
	notifier_flush(h->data);
}

struct qmgr_notifier *qmgr_notifier_new(const struct config *cfg, uv_loop_t *loop)
{
	struct qmgr_notifier *n = calloc(1, sizeof *n);

	if (n == NULL)
		return NULL;
	if (notify_addr(cfg, &n->sa) < 0 ||
	    (n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		free(n);
		return NULL;
	}
	uv_check_init(loop, &n->check);
	uv_timer_init(loop, &n->retry);
	n->check.data = n->retry.data = n;
	uv_check_start(&n->check, on_check);
	uv_unref((uv_handle_t *)&n->check);
	uv_unref((uv_handle_t *)&n->retry);
	return n;
}

void qmgr_notifier_add(struct qmgr_notifier *n, const char *id)
{
	size_t l = strlen(id);

	if (n == NULL || n->closing || n->len + l + 1 > NOTIFY_PENDING_MAX)
		return;
	if (n->len + l + 1 > n->cap) {
		size_t ncap = n->cap ? n->cap * 2 : 4096;
		char *p;

		while (ncap < n->len + l + 1)
			ncap *= 2;
		if ((p = realloc(n->pend, ncap)) == NULL)
			return; /* the directory scan finds it */
		n->pend = p;
		n->cap = ncap;
	}
	memcpy(n->pend + n->len, id, l);
	n->pend[n->len + l] = '\n';
	n->len += l + 1;
}

static void on_closed(uv_handle_t *h)
{
	struct qmgr_notifier *n = h->data;

	if (--n->closing == 0) {
		free(n->pend);
		free(n);
	}
}

void qmgr_notifier_free(struct qmgr_notifier *n)
{
	if (n == NULL || n->closing)
		return;
	notifier_send(n);
	close(n->fd);
	n->closing = 2;
	uv_close((uv_handle_t *)&n->check, on_closed);
	uv_close((uv_handle_t *)&n->retry, on_closed);
}
