/*
 * auth_resolver - the process's c-ares channel pointed at dns.resolver only, a cache of raw
 * answer packets with their TTLs, and the per-message budget and query limit (auth_dns.h).
 *
 * Limits: RESOLVER_CACHE_SLOTS answers (a worker sees the same few sender domains and DNSBL
 * answers over and over; more slots buy little and cost memory per worker), answers up to
 * RESOLVER_PACKET_MAX bytes cached, negative answers kept RESOLVER_NEG_TTL seconds at most.
 */
#include "scan/auth_dns.h"

#include "core/log.h"
#include "core/parse.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RESOLVER_CACHE_SLOTS 512
#define RESOLVER_PACKET_MAX 4096
/* Negative answers are cached for at most 5 minutes (RFC 2308 lets the SOA say more). */
#define RESOLVER_NEG_TTL 300u
/* One query's timeout: a loopback or LAN resolver answers in milliseconds; c-ares doubles it
 * for the retry. */
#define RESOLVER_QUERY_TIMEOUT_MS 800
#define RESOLVER_TRIES 2
/* Datagram sockets c-ares may ask for at once (it normally uses one per server). */
#define RESOLVER_MAX_DUPS 8

struct cache_slot {
	char *key; /* "type/name", lowercased; NULL = empty */
	unsigned char *pkt;
	int len;
	time_t expires;
	uint64_t used; /* for eviction: the least recently used goes */
};

struct resolver {
	ares_channel ch;
	int pre_fd; /* UDP socket connected to the resolver, opened before the privilege drop */
	int dup_fds[RESOLVER_MAX_DUPS];
	uint64_t deadline_ns; /* this message's budget ends here */
	unsigned queries;     /* sent or answered from cache for this message */
	uint64_t sent, hits, tick;
	struct cache_slot cache[RESOLVER_CACHE_SLOTS];
};

static struct resolver *the_resolver;
static int resolver_tried;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- socket hooks: c-ares gets copies of the pre-connected socket ---- */

static int is_dup(struct resolver *r, ares_socket_t fd)
{
	for (int i = 0; i < RESOLVER_MAX_DUPS; i++)
		if (r->dup_fds[i] == fd)
			return 1;
	return 0;
}

static ares_socket_t hook_socket(int af, int type, int proto, void *ud)
{
	struct resolver *r = ud;

	if (type == SOCK_DGRAM && r->pre_fd >= 0) {
		for (int i = 0; i < RESOLVER_MAX_DUPS; i++) {
			if (r->dup_fds[i] >= 0)
				continue;
			int fd = fcntl(r->pre_fd, F_DUPFD_CLOEXEC, 3);
			if (fd < 0)
				return ARES_SOCKET_BAD;
			r->dup_fds[i] = fd;
			return fd;
		}
		errno = EMFILE;
		return ARES_SOCKET_BAD;
	}
	/* TCP (truncated answer): a new socket, refused inside a scan worker's sandbox. */
	return socket(af, type | SOCK_CLOEXEC, proto);
}

static int hook_close(ares_socket_t fd, void *ud)
{
	struct resolver *r = ud;

	for (int i = 0; i < RESOLVER_MAX_DUPS; i++)
		if (r->dup_fds[i] == fd)
			r->dup_fds[i] = -1;
	return close(fd);
}

static int hook_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *ud)
{
	/* The copies are already connected to the one configured server. */
	if (is_dup(ud, fd))
		return 0;
	return connect(fd, sa, len);
}

static ares_ssize_t hook_recvfrom(ares_socket_t fd, void *p, size_t n, int fl,
                                  struct sockaddr *from, ares_socklen_t *flen, void *ud)
{
	return recvfrom(fd, p, n, fl, from, flen);
}

static ares_ssize_t hook_sendv(ares_socket_t fd, const struct iovec *iov, int n, void *ud)
{
	return writev(fd, iov, n);
}

static const struct ares_socket_functions resolver_hooks = {
    hook_socket, hook_close, hook_connect, hook_recvfrom, hook_sendv,
};

/* ---- set-up ---- */

static struct resolver *resolver_new(const char *spec)
{
	char host[128], csv[180];
	uint16_t port;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct ares_options o;
	struct resolver *r;
	int mask, st;

	if (parse_hostport(spec, host, sizeof host, &port) != 0 || port == 0) {
		log_warn("dns: resolver=\"%s\" is not ADDR:PORT; DNS checks are off", spec);
		return NULL;
	}
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sl = sizeof(struct sockaddr_in);
		snprintf(csv, sizeof csv, "%s:%u", host, port);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		sl = sizeof(struct sockaddr_in6);
		snprintf(csv, sizeof csv, "[%s]:%u", host, port);
	} else {
		log_warn("dns: resolver address \"%s\" is not an IP address; DNS checks are off",
		         host);
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	for (int i = 0; i < RESOLVER_MAX_DUPS; i++)
		r->dup_fds[i] = -1;
	r->pre_fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->pre_fd < 0 || connect(r->pre_fd, (struct sockaddr *)&ss, sl) != 0) {
		log_warn("dns: cannot open a socket to %s: %s; DNS checks are off", spec,
		         strerror(errno));
		goto fail;
	}
	if ((st = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		log_warn("dns: c-ares: %s", ares_strerror(st));
		goto fail;
	}
	memset(&o, 0, sizeof o);
	/* No search list, no resolv.conf servers (ARES_OPT_SERVERS with none: the one server is
	 * set below), EDNS0 for long DKIM keys. */
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	o.timeout = RESOLVER_QUERY_TIMEOUT_MS;
	o.tries = RESOLVER_TRIES;
	o.ndomains = 0;
	o.nservers = 0;
	o.servers = NULL;
	o.ednspsz = 1232;
	o.lookups = (char *)"b";
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS |
	       ARES_OPT_SERVERS | ARES_OPT_EDNSPSZ | ARES_OPT_LOOKUPS;
	if ((st = ares_init_options(&r->ch, &o, mask)) != ARES_SUCCESS) {
		log_warn("dns: c-ares init: %s", ares_strerror(st));
		ares_library_cleanup();
		goto fail;
	}
	if ((st = ares_set_servers_ports_csv(r->ch, csv)) != ARES_SUCCESS) {
		log_warn("dns: c-ares server %s: %s", csv, ares_strerror(st));
		ares_destroy(r->ch);
		ares_library_cleanup();
		goto fail;
	}
	ares_set_socket_functions(r->ch, &resolver_hooks, r);
	log_info("dns: resolver=%s", csv);
	return r;
fail:
	if (r->pre_fd >= 0)
		close(r->pre_fd);
	free(r);
	return NULL;
}

struct resolver *resolver_get(const struct config *cfg)
{
	if (!resolver_tried && cfg && cfg->dns.resolver[0]) {
		resolver_tried = 1;
		the_resolver = resolver_new(cfg->dns.resolver);
	}
	return the_resolver;
}

void resolver_shutdown(void)
{
	struct resolver *r = the_resolver;

	resolver_tried = 0; /* a later resolver_get() tries again, even after a failed one */
	if (!r)
		return;
	ares_destroy(r->ch);
	ares_library_cleanup();
	for (int i = 0; i < RESOLVER_CACHE_SLOTS; i++) {
		free(r->cache[i].key);
		free(r->cache[i].pkt);
	}
	if (r->pre_fd >= 0)
		close(r->pre_fd);
	free(r);
	the_resolver = NULL;
}

void resolver_begin(struct resolver *r, uint64_t budget_ms)
{
	if (!r)
		return;
	r->deadline_ns = now_ns() + budget_ms * 1000000ull;
	r->queries = 0;
}

uint64_t resolver_sent(const struct resolver *r)
{
	return r ? r->sent : 0;
}
uint64_t resolver_cache_hits(const struct resolver *r)
{
	return r ? r->hits : 0;
}

/* ---- cache of raw packets ---- */

static void cache_key(char *out, size_t n, int type, const char *name)
{
	size_t i;
	int w = snprintf(out, n, "%d/", type);

	for (i = (size_t)w; *name && i + 1 < n; name++)
		out[i++] = (char)((*name >= 'A' && *name <= 'Z') ? *name + 32 : *name);
	if (i > (size_t)w && out[i - 1] == '.')
		i--;
	out[i] = '\0';
}

static struct cache_slot *cache_find(struct resolver *r, const char *key)
{
	time_t now = time(NULL);

	for (int i = 0; i < RESOLVER_CACHE_SLOTS; i++) {
		struct cache_slot *s = &r->cache[i];
		if (s->key && strcmp(s->key, key) == 0) {
			if (s->expires <= now)
				return NULL;
			s->used = ++r->tick;
			return s;
		}
	}
	return NULL;
}

static void cache_put(struct resolver *r, const char *key, const unsigned char *pkt, int len,
                      uint32_t ttl)
{
	struct cache_slot *s = NULL;

	if (ttl == 0 || len <= 0 || len > RESOLVER_PACKET_MAX)
		return;
	for (int i = 0; i < RESOLVER_CACHE_SLOTS && !s; i++)
		if (r->cache[i].key && strcmp(r->cache[i].key, key) == 0)
			s = &r->cache[i];
	for (int i = 0; i < RESOLVER_CACHE_SLOTS && !s; i++)
		if (!r->cache[i].key)
			s = &r->cache[i];
	if (!s) {
		s = &r->cache[0];
		for (int i = 1; i < RESOLVER_CACHE_SLOTS; i++)
			if (r->cache[i].used < s->used)
				s = &r->cache[i];
	}
	free(s->key);
	free(s->pkt);
	s->key = strdup(key);
	s->pkt = malloc((size_t)len);
	if (!s->key || !s->pkt) {
		free(s->key);
		free(s->pkt);
		s->key = NULL;
		s->pkt = NULL;
		return;
	}
	memcpy(s->pkt, pkt, (size_t)len);
	s->len = len;
	s->expires = time(NULL) + (time_t)ttl;
	s->used = ++r->tick;
}

/* ---- lookups ---- */

struct pending {
	struct resolver *r;
	struct dns_query *q;
	struct arena *a;
	int done;
};

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct pending *p = arg;
	char key[300];

	p->done = 1;
	if (status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA) {
		if (abuf && dns_answer_parse(p->q->type, abuf, alen, p->a, &p->q->ans) == 0) {
			uint32_t ttl = p->q->ans.ttl;
			if (p->q->ans.status != DNS_OK && ttl > RESOLVER_NEG_TTL)
				ttl = RESOLVER_NEG_TTL;
			if (p->q->ans.status != DNS_TEMPFAIL) {
				cache_key(key, sizeof key, p->q->type, p->q->name);
				cache_put(p->r, key, abuf, alen, ttl);
			}
			return;
		}
		if (!abuf)
			p->q->ans.status = status == ARES_ENOTFOUND ? DNS_NXDOMAIN : DNS_NODATA;
		return;
	}
	p->q->ans.status =
	    (status == ARES_ETIMEOUT || status == ARES_ECANCELLED || status == ARES_EDESTRUCTION)
	        ? DNS_TIMEOUT
	        : DNS_TEMPFAIL;
}

static int resolver_lookup(void *ctx, struct dns_query *q, size_t n, struct arena *a)
{
	struct resolver *r = ctx;
	struct pending *pend;
	size_t npend = 0;
	char key[300];

	pend = calloc(n ? n : 1, sizeof *pend);
	if (!pend)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct cache_slot *s;

		memset(&q[i].ans, 0, sizeof q[i].ans);
		q[i].ans.status = DNS_TEMPFAIL;
		cache_key(key, sizeof key, q[i].type, q[i].name);
		if ((s = cache_find(r, key)) != NULL) {
			r->hits++;
			dns_answer_parse(q[i].type, s->pkt, s->len, a, &q[i].ans);
			continue;
		}
		if (r->queries >= DNS_MAX_QUERIES_PER_MSG) {
			q[i].ans.status = DNS_LIMIT;
			continue;
		}
		if (now_ns() >= r->deadline_ns || strlen(q[i].name) > 253) {
			q[i].ans.status = now_ns() >= r->deadline_ns ? DNS_TIMEOUT : DNS_NXDOMAIN;
			continue;
		}
		r->queries++;
		r->sent++;
		pend[npend] = (struct pending){r, &q[i], a, 0};
		ares_query(r->ch, q[i].name, 1 /* C_IN */, q[i].type, on_answer, &pend[npend]);
		npend++;
	}
	for (;;) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval tv, *tvp, maxtv;
		int bits, np = 0, ms, left = 0;
		uint64_t now = now_ns();

		for (size_t i = 0; i < npend; i++)
			left += !pend[i].done;
		if (!left)
			break;
		if (now >= r->deadline_ns) {
			ares_cancel(r->ch); /* callbacks run now with ARES_ECANCELLED */
			continue;
		}
		bits = ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM);
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			/* c-ares's own bit macros shift a signed 1 into the sign bit (UB). */
			unsigned rd = ((unsigned)bits >> i) & 1u;
			unsigned wr = ((unsigned)bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u;
			if (!rd && !wr)
				continue;
			pfd[np].fd = socks[i];
			pfd[np].events = (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
			pfd[np].revents = 0;
			np++;
		}
		uint64_t left_ns = r->deadline_ns - now;
		maxtv.tv_sec = (time_t)(left_ns / 1000000000ull);
		maxtv.tv_usec = (suseconds_t)(left_ns % 1000000000ull / 1000);
		tvp = ares_timeout(r->ch, &maxtv, &tv);
		ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		if (poll(pfd, (nfds_t)np, ms) < 0 && errno != EINTR)
			break;
		if (np == 0) {
			ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		int any = 0;
		for (int i = 0; i < np; i++) {
			if (!pfd[i].revents)
				continue;
			any = 1;
			ares_process_fd(r->ch,
			                pfd[i].revents & (POLLIN | POLLERR | POLLHUP)
			                    ? pfd[i].fd
			                    : ARES_SOCKET_BAD,
			                pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
		}
		if (!any)
			ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
	ares_cancel(r->ch); /* nothing may call back into pend once it is freed */
	free(pend);
	return 0;
}

struct auth_dns resolver_dns(struct resolver *r)
{
	return (struct auth_dns){resolver_lookup, r};
}
