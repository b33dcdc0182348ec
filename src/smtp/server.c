/*
 * server - see server.h. One struct conn per TCP connection, on one libuv loop, no threads.
 *
 * Byte path: socket -> (TLS) -> smtp_session_feed(); what the session does not take (it waits
 * for its backend) is held in conn->pending and reading stops until the backend answers and
 * the session's wakeup pumps it again. Replies go out through uv_write (copied per write).
 * A connection is freed only in the close callback of its last handle.
 */
#include "smtp/server.h"

#include "core/log.h"
#include "core/parse.h"
#include "smtp/netlist.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Plaintext held while the backend works: a few reads' worth; more means a broken peer. */
#define SMTP_PENDING_MAX (4 * SMTP_READ_CHUNK)
/* Buckets of the per-address session table; chains stay short below 10,000 sessions. */
#define IPTAB_SIZE 1024
/*
 * Addresses that waited for the greeting are greeted at once for an hour (postscreen's "pass"
 * cache): a known client sending a message per connection does not pay the wait each time.
 * At most SMTP_PASS_MAX remembered; when full, the cache starts over.
 */
#define SMTP_PASS_TTL_MS (3600 * 1000)
#define SMTP_PASS_MAX 65536

struct pass {
	struct pass *next;
	uint64_t until; /* uv_now() milliseconds */
	char ip[SMTP_IP_MAX];
};

struct ipcount {
	struct ipcount *next;
	uint64_t n;
	char ip[SMTP_IP_MAX];
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct smtp_server *srv;
	struct smtp_session *sess;
	void *ctx;
	struct smtp_tls *tls;
	struct buf pending;
	char ip[SMTP_IP_MAX];
	int handles, counted, closing, reading, shutdown_sent, in_pregreet, write_blocked;
	uint64_t last_progress;
	enum smtp_phase last_phase;
	struct conn *prev, *next;
};

struct smtp_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	struct smtp_server_params p;
	struct smtp_server_backend b;
	struct smtp_tls_ctx *tls;
	struct netlist xclient;
	struct smtp_server_stats stats;
	struct ipcount *iptab[IPTAB_SIZE];
	struct pass *passtab[IPTAB_SIZE];
	size_t npass;
	struct conn *conns;
	int draining, listener_closed;
	void (*drained)(void *arg);
	void *drained_arg;
	char rbuf[SMTP_READ_CHUNK]; /* shared: libuv reads one socket at a time */
	char plain[SMTP_READ_CHUNK];
};

struct wreq {
	uv_write_t req;
	struct conn *c;
	char data[];
};

static void conn_pump(struct conn *c);
static void on_timer(uv_timer_t *t);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

/* ---- per-address counts ---- */

static uint32_t ip_hash(const char *ip);

static struct ipcount **ip_slot(struct smtp_server *srv, const char *ip)
{
	struct ipcount **pp;

	for (pp = &srv->iptab[ip_hash(ip)]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->ip, ip) == 0)
			break;
	return pp;
}

static uint64_t ip_count(struct smtp_server *srv, const char *ip)
{
	struct ipcount **pp = ip_slot(srv, ip);

	return *pp ? (*pp)->n : 0;
}

static int ip_inc(struct smtp_server *srv, const char *ip)
{
	struct ipcount **pp = ip_slot(srv, ip);

	if (*pp == NULL) {
		if ((*pp = calloc(1, sizeof **pp)) == NULL)
			return -ENOMEM;
		snprintf((*pp)->ip, sizeof(*pp)->ip, "%s", ip);
	}
	(*pp)->n++;
	return 0;
}

static void ip_dec(struct smtp_server *srv, const char *ip)
{
	struct ipcount **pp = ip_slot(srv, ip), *e = *pp;

	if (e && --e->n == 0) {
		*pp = e->next;
		free(e);
	}
}

/* ---- the pregreet pass cache ---- */

static uint32_t ip_hash(const char *ip)
{
	uint32_t h = 2166136261u;

	for (const char *p = ip; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % IPTAB_SIZE;
}

static void pass_clear(struct smtp_server *srv)
{
	for (size_t i = 0; i < IPTAB_SIZE; i++)
		while (srv->passtab[i]) {
			struct pass *n = srv->passtab[i]->next;

			free(srv->passtab[i]);
			srv->passtab[i] = n;
		}
	srv->npass = 0;
}

static struct pass **pass_slot(struct smtp_server *srv, const char *ip)
{
	struct pass **pp;

	for (pp = &srv->passtab[ip_hash(ip)]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->ip, ip) == 0)
			break;
	return pp;
}

static int pass_known(struct smtp_server *srv, const char *ip)
{
	struct pass **pp = pass_slot(srv, ip);

	return *pp && (*pp)->until > uv_now(srv->loop);
}

/* ok: the address waited for its greeting (remember it); else it talked early (forget it). */
static void pass_note(struct smtp_server *srv, const char *ip, int ok)
{
	struct pass **pp = pass_slot(srv, ip), *e = *pp;

	if (!ok) {
		if (e) {
			*pp = e->next;
			free(e);
			srv->npass--;
		}
		return;
	}
	if (e == NULL) {
		if (srv->npass >= SMTP_PASS_MAX) {
			pass_clear(srv);
			pp = pass_slot(srv, ip);
		}
		if ((e = calloc(1, sizeof *e)) == NULL)
			return;
		snprintf(e->ip, sizeof e->ip, "%s", ip);
		*pp = e;
		srv->npass++;
	}
	e->until = uv_now(srv->loop) + SMTP_PASS_TTL_MS;
}

/* ---- closing ---- */

static void check_drained(struct smtp_server *srv)
{
	void (*done)(void *) = srv->drained;

	if (srv->draining && srv->stats.sessions == 0 && done) {
		srv->drained = NULL;
		done(srv->drained_arg);
	}
}

static void on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles == 0)
		free(c);
}

static void conn_close(struct conn *c)
{
	struct smtp_server *srv = c->srv;

	if (c->closing)
		return;
	c->closing = 1;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* The session first: it aborts an open message through the backend context. */
	smtp_session_free(c->sess);
	c->sess = NULL;
	if (c->ctx && srv->b.conn_close)
		srv->b.conn_close(c->ctx);
	c->ctx = NULL;
	smtp_tls_free(c->tls);
	c->tls = NULL;
	buf_free(&c->pending);
	if (c->counted) {
		srv->stats.sessions--;
		ip_dec(srv, c->ip);
	}
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
	check_drained(srv);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;

	free(req);
	conn_close(c);
}

/* Everything is written: half-close, then close once the peer has had the last reply. */
static void conn_shutdown(struct conn *c)
{
	uv_shutdown_t *req;

	if (c->shutdown_sent || c->closing)
		return;
	c->shutdown_sent = 1;
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
	/* If the peer never reads our last reply, the timer (see on_timer) still ends it. */
	uv_timer_start(&c->timer, on_timer, c->srv->p.cmd_timeout_ms, 0);
	req = malloc(sizeof *req);
	if (req == NULL) {
		conn_close(c);
		return;
	}
	req->data = c;
	if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
		free(req);
		conn_close(c);
	}
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->c;

	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->write_blocked &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < SMTP_WRITE_QUEUE_MAX / 2) {
		c->write_blocked = 0;
		conn_pump(c);
	}
}

static void conn_write(struct conn *c, const char *p, size_t len)
{
	struct wreq *w;
	uv_buf_t b;

	if (len == 0 || c->closing)
		return;
	w = malloc(sizeof *w + len);
	if (w == NULL) {
		conn_close(c);
		return;
	}
	w->c = c;
	memcpy(w->data, p, len);
	b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
		free(w);
		conn_close(c);
		return;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > SMTP_WRITE_QUEUE_MAX)
		c->write_blocked = 1;
}

/* Send the session's replies: in clear, or through TLS once it is set up. */
static void conn_flush(struct conn *c)
{
	struct buf *out;
	char cipher[16 * 1024];
	size_t n;

	if (c->closing)
		return;
	out = smtp_session_output(c->sess);
	if (out->len) {
		if (c->tls) {
			if (smtp_tls_write(c->tls, out->p, out->len) < 0) {
				conn_close(c);
				return;
			}
		} else {
			conn_write(c, out->p, out->len);
		}
		buf_reset(out);
	}
	while (c->tls && !c->closing && (n = smtp_tls_take(c->tls, cipher, sizeof cipher)) > 0)
		conn_write(c, cipher, n);
}

/* ---- the byte pump ---- */

static void conn_hold(struct conn *c, const char *p, size_t len)
{
	if (len && buf_append(&c->pending, p, len) < 0) {
		log_warn("smtp: client=%s too much pipelined input while busy, closing", c->ip);
		conn_close(c);
	}
}

static void conn_feed(struct conn *c, const char *p, size_t len)
{
	size_t used = smtp_session_feed(c->sess, p, len);

	conn_hold(c, p + used, len - used);
}

static uint64_t phase_timeout(struct conn *c, enum smtp_phase ph)
{
	return ph == SMTP_PHASE_DATA ? c->srv->p.data_timeout_ms : c->srv->p.cmd_timeout_ms;
}

/* Reading on or off, the timer restarted on progress, the close or TLS switch carried out. */
static void conn_after(struct conn *c)
{
	unsigned w;
	enum smtp_phase ph;
	uint64_t prog;
	int want_read;

	if (c->closing || c->shutdown_sent)
		return;
	w = smtp_session_wants(c->sess);
	if (w & SMTP_WANT_CLOSE) {
		conn_shutdown(c);
		return;
	}
	want_read = !(w & SMTP_WANT_WAIT) && !c->write_blocked;
	if (want_read && !c->reading) {
		c->reading = 1;
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
			c->reading = 0;
	} else if (!want_read && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
	if (c->in_pregreet)
		return;
	ph = smtp_session_phase(c->sess);
	prog = smtp_session_progress(c->sess);
	if (ph == SMTP_PHASE_WAIT) {
		uv_timer_stop(&c->timer);
	} else if (prog != c->last_progress || ph != c->last_phase ||
	           !uv_is_active((uv_handle_t *)&c->timer)) {
		uv_timer_start(&c->timer, on_timer, phase_timeout(c, ph), 0);
	}
	c->last_progress = prog;
	c->last_phase = ph;
}

static void conn_tls_begin(struct conn *c)
{
	conn_flush(c);          /* the 220 goes out in clear */
	buf_reset(&c->pending); /* plaintext after STARTTLS is an injection; never run it */
	c->tls = smtp_tls_new(c->srv->tls);
	if (c->tls == NULL)
		conn_close(c);
}

static void conn_pump(struct conn *c)
{
	struct smtp_server *srv = c->srv;
	int n;

	while (!c->closing) {
		unsigned w = smtp_session_wants(c->sess);

		if (w & (SMTP_WANT_CLOSE | SMTP_WANT_WAIT))
			break;
		if (c->write_blocked)
			break;
		if (w & SMTP_WANT_TLS) {
			if (c->tls == NULL) {
				conn_tls_begin(c);
				continue;
			}
			n = smtp_tls_read(c->tls, srv->plain, sizeof srv->plain);
			if (n < 0) {
				conn_close(c);
				return;
			}
			if (!smtp_tls_established(c->tls))
				break;
			{
				char desc[96];

				smtp_tls_describe(c->tls, desc, sizeof desc);
				log_debug("smtp: client=%s TLS established: %s", c->ip, desc);
				smtp_session_tls_started(c->sess, desc);
			}
			conn_hold(c, srv->plain, (size_t)n);
			continue;
		}
		if (c->pending.len) {
			size_t used = smtp_session_feed(c->sess, c->pending.p, c->pending.len);

			if (used == 0)
				break;
			buf_consume(&c->pending, used);
			continue;
		}
		if (c->tls) {
			n = smtp_tls_read(c->tls, srv->plain, sizeof srv->plain);
			if (n < 0) {
				conn_close(c);
				return;
			}
			if (n == 0)
				break;
			conn_feed(c, srv->plain, (size_t)n);
			continue;
		}
		break;
	}
	conn_flush(c);
	conn_after(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct conn *c = h->data;

	*b = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = st->data;

	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (c->tls) {
		if (smtp_tls_feed(c->tls, b->base, (size_t)nread) < 0) {
			conn_close(c);
			return;
		}
	} else if (c->pending.len || (smtp_session_wants(c->sess) & SMTP_WANT_WAIT)) {
		conn_hold(c, b->base, (size_t)nread);
	} else {
		conn_feed(c, b->base, (size_t)nread);
	}
	if (!c->closing)
		conn_pump(c);
}

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;

	if (c->closing)
		return;
	if (c->shutdown_sent || (c->tls && !smtp_tls_established(c->tls))) {
		conn_close(c);
		return;
	}
	if (c->in_pregreet) {
		c->in_pregreet = 0;
		smtp_session_greet(c->sess, c->srv->draining ? SMTP_GREET_DRAINING : SMTP_GREET_OK);
		if (smtp_session_early_talker(c->sess))
			c->srv->stats.pregreet++;
		pass_note(c->srv, c->ip, !smtp_session_early_talker(c->sess));
	} else {
		smtp_session_timeout(c->sess);
	}
	conn_pump(c);
}

static void on_wakeup(void *arg)
{
	conn_pump(arg);
}

/* ---- accepting ---- */

static void peer_ip(uv_tcp_t *tcp, char *ip, size_t sz)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;

	snprintf(ip, sz, "unknown");
	if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)&ss, ip, sz);
	else if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sz);
	if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip, '.'))
		memmove(ip, ip + 7, strlen(ip + 7) + 1);
}

static void on_connection(uv_stream_t *ls, int status)
{
	struct smtp_server *srv = ls->data;
	struct smtp_session_params sp = srv->p.session;
	enum smtp_greet kind = SMTP_GREET_OK;
	struct conn *c;

	if (status < 0) {
		log_warn("smtp: accept: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL)
		return;
	c->srv = srv;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles = 2;
	buf_init(&c->pending, SMTP_PENDING_MAX);
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		c->closing = 1;
		buf_free(&c->pending);
		uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
		uv_close((uv_handle_t *)&c->timer, on_conn_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	peer_ip(&c->tcp, c->ip, sizeof c->ip);
	sp.flags = (srv->tls ? SMTP_OFFER_STARTTLS : 0) |
	           (netlist_match(&srv->xclient, c->ip) ? SMTP_ALLOW_XCLIENT : 0);
	c->sess = smtp_session_new(&sp, c->ip, "");
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	if (c->sess == NULL) {
		conn_close(c);
		return;
	}
	srv->stats.connections++;
	if (srv->draining)
		kind = SMTP_GREET_DRAINING;
	else if (srv->stats.sessions >= srv->p.max_sessions)
		kind = SMTP_GREET_BUSY;
	else if (ip_count(srv, c->ip) >= srv->p.max_sessions_per_ip)
		kind = SMTP_GREET_PER_IP;
	else if (srv->b.conn_open && (c->ctx = srv->b.conn_open(srv->b.arg, c->sess)) == NULL)
		kind = SMTP_GREET_BUSY;
	if (kind != SMTP_GREET_OK) {
		srv->stats.refused++;
		log_info("smtp: client=%s refused: %s", c->ip,
		         kind == SMTP_GREET_DRAINING ? "shutting down"
		         : kind == SMTP_GREET_PER_IP ? "too many sessions from this address"
		                                     : "too many sessions");
		smtp_session_greet(c->sess, kind);
		conn_pump(c);
		return;
	}
	if (ip_inc(srv, c->ip) < 0) {
		conn_close(c);
		return;
	}
	c->counted = 1;
	srv->stats.sessions++;
	smtp_session_set_backend(c->sess, srv->b.ops, c->ctx);
	smtp_session_set_wakeup(c->sess, on_wakeup, c);
	log_debug("smtp: connect from client=%s", c->ip);
	c->reading = 1;
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (srv->p.pregreet_ms && !pass_known(srv, c->ip)) {
		c->in_pregreet = 1;
		uv_timer_start(&c->timer, on_timer, srv->p.pregreet_ms, 0);
		return;
	}
	smtp_session_greet(c->sess, SMTP_GREET_OK);
	conn_pump(c);
}

struct smtp_server *smtp_server_new(uv_loop_t *loop, int listen_fd,
                                    const struct smtp_server_params *p,
                                    const struct smtp_server_backend *b, struct smtp_tls_ctx *tls)
{
	struct smtp_server *srv = calloc(1, sizeof *srv);
	int r;

	if (srv == NULL)
		return NULL;
	srv->loop = loop;
	srv->p = *p;
	srv->b = *b;
	srv->tls = tls;
	if (netlist_parse(&srv->xclient, p->xclient_networks ? p->xclient_networks : "") < 0)
		log_warn("smtp: bad smtp.xclient_networks '%s': XCLIENT allowed from nowhere",
		         p->xclient_networks);
	uv_tcp_init(loop, &srv->listener);
	srv->listener.data = srv;
	if ((r = uv_tcp_open(&srv->listener, listen_fd)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&srv->listener, SMTP_LISTEN_BACKLOG, on_connection)) !=
	        0) {
		log_error("smtp: cannot listen on fd %d: %s", listen_fd, uv_strerror(r));
		srv->listener_closed = 1;
		uv_close((uv_handle_t *)&srv->listener, NULL);
		uv_run(loop, UV_RUN_NOWAIT);
		free(srv);
		return NULL;
	}
	return srv;
}

void smtp_server_drain(struct smtp_server *srv, void (*done)(void *arg), void *arg)
{
	struct conn *c, *next;

	srv->draining = 1;
	srv->drained = done;
	srv->drained_arg = arg;
	for (c = srv->conns; c; c = next) {
		next = c->next;
		if (c->in_pregreet) {
			uv_timer_stop(&c->timer);
			c->in_pregreet = 0;
			smtp_session_greet(c->sess, SMTP_GREET_DRAINING);
		} else if (!c->shutdown_sent && c->sess) {
			smtp_session_drain(c->sess);
		}
		conn_pump(c);
	}
	check_drained(srv);
}

void smtp_server_close(struct smtp_server *srv)
{
	while (srv->conns)
		conn_close(srv->conns);
	if (!srv->listener_closed) {
		srv->listener_closed = 1;
		uv_close((uv_handle_t *)&srv->listener, NULL);
	}
}

void smtp_server_free(struct smtp_server *srv)
{
	if (srv == NULL)
		return;
	pass_clear(srv);
	for (size_t i = 0; i < IPTAB_SIZE; i++)
		while (srv->iptab[i]) {
			struct ipcount *n = srv->iptab[i]->next;

			free(srv->iptab[i]);
			srv->iptab[i] = n;
		}
	free(srv);
}

const struct smtp_server_stats *smtp_server_stats(const struct smtp_server *srv)
{
	return &srv->stats;
}

int smtp_listen_socket(const char *hostport)
{
	char host[256], port[8];
	uint16_t portnum;
	struct addrinfo hints = {0}, *res = NULL;
	int fd = -1, one = 1, r;

	if (parse_hostport(hostport, host, sizeof host, &portnum) < 0)
		return -EINVAL;
	snprintf(port, sizeof port, "%u", portnum);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		log_error("smtp: cannot resolve %s: %s", hostport, gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, SMTP_LISTEN_BACKLOG) < 0)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	r = -errno;
	log_error("smtp: cannot listen on %s: %s", hostport, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return r;
}
