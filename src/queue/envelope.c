/*
 * envelope - encoder and loader of the queue file format (see envelope.h and docs/queue.md).
 *
 * The loader treats the file as hostile-ish: a disk can hand back a truncated or garbled file
 * after a crash, and the fuzzer hands back anything. Every record is bounded, every number is
 * parsed with parse_u64, and nothing is trusted about offsets until checked against the length.
 */
#include "queue/envelope.h"

#include "core/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const verdict_names[] = {"clean", "spam", "phish", "malware", "suspect"};
static const char *const action_names[] = {"deliver", "tag", "quarantine", "reject"};

const char *envelope_verdict_name(enum scan_verdict v)
{
	if ((unsigned)v < sizeof verdict_names / sizeof verdict_names[0])
		return verdict_names[v];
	return "unknown";
}

const char *envelope_action_name(enum policy_action a)
{
	if ((unsigned)a < sizeof action_names / sizeof action_names[0])
		return action_names[a];
	return "unknown";
}

/* Percent-encode control bytes, '%' and (if nospace) ' ' so a value stays on one line. */
static int enc(struct buf *b, const char *s, int nospace)
{
	size_t n = strlen(s);

	if (n > ENVELOPE_VALUE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int r;

		if (c < 0x20 || c == 0x7f || c == '%' || (nospace && c == ' '))
			r = buf_printf(b, "%%%02X", c);
		else
			r = buf_append(b, &s[i], 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static int rec(struct buf *b, char key, const char *v)
{
	int r;

	if (buf_printf(b, "%c ", key) < 0)
		return -ENOSPC;
	if ((r = enc(b, v ? v : "", 0)) < 0)
		return r;
	return buf_puts(b, "\n");
}

void envelope_q_format(char out[ENVELOPE_Q_WIDTH + 1], uint32_t attempts, uint64_t next_try)
{
	snprintf(out, ENVELOPE_Q_WIDTH + 1, "%010u %020llu", (unsigned)attempts,
	         (unsigned long long)next_try);
}

void envelope_l_format(char out[ENVELOPE_ERR_WIDTH + 1], const char *err)
{
	size_t o = 0;

	for (size_t i = 0; err && err[i] && o < ENVELOPE_ERR_WIDTH; i++) {
		unsigned char c = (unsigned char)err[i];

		if (c < 0x20 || c == 0x7f || c == '%') {
			if (o + 3 > ENVELOPE_ERR_WIDTH)
				break;
			snprintf(out + o, 4, "%%%02X", c);
			o += 3;
		} else {
			out[o++] = (char)c;
		}
	}
	memset(out + o, ' ', ENVELOPE_ERR_WIDTH - o);
	out[ENVELOPE_ERR_WIDTH] = '\0';
}

int envelope_head_encode(struct buf *b, const struct envelope_head *h)
{
	char q[ENVELOPE_Q_WIDTH + 1], l[ENVELOPE_ERR_WIDTH + 1];
	int r;

	if (h->nrcpts == 0 || h->nrcpts > ENVELOPE_RCPTS_MAX)
		return -EINVAL;
	envelope_q_format(q, 0, 0);
	envelope_l_format(l, "");
	if (buf_puts(b, ENVELOPE_MAGIC) < 0 ||
	    buf_printf(b, "A %llu.%06llu\n", (unsigned long long)h->arrival_sec,
	               (unsigned long long)h->arrival_usec) < 0)
		return -ENOSPC;
	if ((r = rec(b, 'T', h->tenant)) < 0 || (r = rec(b, 'C', h->client_ip)) < 0 ||
	    (r = rec(b, 'N', h->client_host)) < 0 || (r = rec(b, 'H', h->helo)) < 0 ||
	    (r = rec(b, 'P', h->proto)) < 0 || (r = rec(b, 'F', h->sender)) < 0 ||
	    (r = rec(b, 'V', h->ret)) < 0 || (r = rec(b, 'Z', h->envid)) < 0)
		return r;
	if (buf_printf(b, "O %d %d\nQ %s\nL %s\n", h->smtputf8 ? 1 : 0, h->body_8bit ? 1 : 0, q,
	               l) < 0)
		return -ENOSPC;
	for (size_t i = 0; i < h->nrcpts; i++) {
		if (buf_printf(b, "R %c ", RCPT_PENDING) < 0)
			return -ENOSPC;
		if ((r = enc(b, h->rcpts[i], 1)) < 0)
			return r;
		if (buf_puts(b, "\n") < 0)
			return -ENOSPC;
	}
	return buf_puts(b, "M\n") < 0 ? -ENOSPC : 0;
}

int envelope_trailer_encode(struct buf *b, const struct scan_result *v, uint64_t trailer_off)
{
	int r;

	if (buf_printf(b, "W %d %d %.6f %d\n", (int)v->verdict, (int)v->action, v->score,
	               v->unscanned ? 1 : 0) < 0)
		return -ENOSPC;
	if (v->virus[0]) {
		if (buf_puts(b, "G ") < 0)
			return -ENOSPC;
		if ((r = enc(b, v->virus, 0)) < 0 || (r = buf_puts(b, "\n")) < 0)
			return r;
	}
	for (unsigned i = 0; i < v->nsym && i < SCAN_MAX_SYMBOLS; i++) {
		if (buf_puts(b, "Y ") < 0)
			return -ENOSPC;
		if ((r = enc(b, v->sym[i].name, 1)) < 0)
			return r;
		if (buf_printf(b, " %.6f ", v->sym[i].score) < 0)
			return -ENOSPC;
		if ((r = enc(b, v->sym[i].detail, 0)) < 0 || (r = buf_puts(b, "\n")) < 0)
			return r;
	}
	return buf_printf(b, "END %020llu\n", (unsigned long long)trailer_off) < 0 ? -ENOSPC : 0;
}

/* ---- loader ---- */

struct cursor {
	const char *p;
	size_t len, off;
};

/* The next line (without "\n") as a slice; -EINVAL if no newline before end. */
static int next_line(struct cursor *c, size_t end, struct slice *line)
{
	const char *nl;

	if (c->off >= end)
		return -EINVAL;
	nl = memchr(c->p + c->off, '\n', end - c->off);
	if (nl == NULL)
		return -EINVAL;
	line->p = c->p + c->off;
	line->len = (size_t)(nl - line->p);
	c->off += line->len + 1;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode a percent-encoded value into dst (dstsz incl. NUL). */
static int dec_into(const char *p, size_t len, char *dst, size_t dstsz)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -EINVAL;
			hi = hexval(p[i + 1]);
			lo = hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= dstsz)
			return -EINVAL;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

static int dec_dup(const char *p, size_t len, char **out)
{
	char *s;

	if (len > 3 * ENVELOPE_VALUE_MAX)
		return -EINVAL;
	s = malloc(len + 1);
	if (s == NULL)
		return -ENOMEM;
	if (dec_into(p, len, s, len + 1) < 0) {
		free(s);
		return -EINVAL;
	}
	free(*out);
	*out = s;
	return 0;
}

/* Split off the next space-separated field of s. */
static struct slice field(struct slice *s)
{
	struct slice f = {s->p, 0};

	while (f.len < s->len && s->p[f.len] != ' ')
		f.len++;
	s->p += f.len;
	s->len -= f.len;
	if (s->len > 0) {
		s->p++;
		s->len--;
	}
	return f;
}

static int parse_double(struct slice f, double *out)
{
	char tmp[64];
	char *endp;

	if (f.len == 0 || f.len >= sizeof tmp)
		return -EINVAL;
	memcpy(tmp, f.p, f.len);
	tmp[f.len] = '\0';
	*out = strtod(tmp, &endp);
	if (*endp != '\0' || *out != *out)
		return -EINVAL;
	return 0;
}

int envelope_has_end(const char *p, size_t len)
{
	const char *e;

	if (len < ENVELOPE_END_LEN)
		return 0;
	e = p + len - ENVELOPE_END_LEN;
	if (memcmp(e, "END ", 4) != 0 || e[ENVELOPE_END_LEN - 1] != '\n')
		return 0;
	for (int i = 4; i < ENVELOPE_END_LEN - 1; i++)
		if (e[i] < '0' || e[i] > '9')
			return 0;
	return 1;
}

void envelope_free(struct envelope *e)
{
	char **strs[] = {&e->tenant, &e->client_ip, &e->client_host, &e->helo,
	                 &e->proto,  &e->sender,    &e->ret,         &e->envid};

	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < e->nrcpts; i++)
		free(e->rcpts[i].addr);
	free(e->rcpts);
	e->rcpts = NULL;
	e->nrcpts = 0;
}

static int parse_head(struct cursor *c, size_t end, struct envelope *e)
{
	struct slice line;
	size_t cap = 0;
	int r;

	if (end < sizeof ENVELOPE_MAGIC - 1 || memcmp(c->p, ENVELOPE_MAGIC, 6) != 0)
		return -EINVAL;
	c->off = sizeof ENVELOPE_MAGIC - 1;
	e->version = ENVELOPE_VERSION;
	for (;;) {
		struct slice v;
		char **dst = NULL;

		if ((r = next_line(c, end, &line)) < 0)
			return r;
		if (line.len == 1 && line.p[0] == 'M')
			break;
		if (line.len < 2 || line.p[1] != ' ')
			return -EINVAL;
		v = (struct slice){line.p + 2, line.len - 2};
		switch (line.p[0]) {
		case 'A': {
			struct slice s = v;
			const char *dot = memchr(s.p, '.', s.len);

			if (dot == NULL)
				return -EINVAL;
			if (parse_u64_n(s.p, (size_t)(dot - s.p), 0, UINT64_MAX / 2,
			                &e->arrival_sec) < 0 ||
			    parse_u64_n(dot + 1, s.len - (size_t)(dot - s.p) - 1, 0, 999999,
			                &e->arrival_usec) < 0)
				return -EINVAL;
			break;
		}
		case 'T':
			dst = &e->tenant;
			break;
		case 'C':
			dst = &e->client_ip;
			break;
		case 'N':
			dst = &e->client_host;
			break;
		case 'H':
			dst = &e->helo;
			break;
		case 'P':
			dst = &e->proto;
			break;
		case 'F':
			dst = &e->sender;
			break;
		case 'V':
			dst = &e->ret;
			break;
		case 'Z':
			dst = &e->envid;
			break;
		case 'O': {
			struct slice a = field(&v), b = v;
			uint64_t x, y;

			if (parse_u64_n(a.p, a.len, 0, 1, &x) < 0 ||
			    parse_u64_n(b.p, b.len, 0, 1, &y) < 0)
				return -EINVAL;
			e->smtputf8 = (int)x;
			e->body_8bit = (int)y;
			break;
		}
		case 'Q': {
			struct slice a, b;
			uint64_t x;

			if (v.len != ENVELOPE_Q_WIDTH)
				return -EINVAL;
			e->q_off = (uint64_t)(v.p - c->p);
			a = field(&v);
			b = v;
			if (parse_u64_n(a.p, a.len, 0, UINT32_MAX, &x) < 0 ||
			    parse_u64_n(b.p, b.len, 0, UINT64_MAX, &e->next_try) < 0)
				return -EINVAL;
			e->attempts = (uint32_t)x;
			break;
		}
		case 'L': {
			size_t n = v.len;

			if (v.len != ENVELOPE_ERR_WIDTH)
				return -EINVAL;
			e->l_off = (uint64_t)(v.p - c->p);
			while (n > 0 && v.p[n - 1] == ' ')
				n--;
			/* A truncated escape at the end of the field is dropped, not an error. */
			if (dec_into(v.p, n, e->last_error, sizeof e->last_error) < 0)
				e->last_error[0] = '\0';
			break;
		}
		case 'R': {
			struct envelope_rcpt *rc;
			char st;

			if (v.len < 3 || v.p[1] != ' ')
				return -EINVAL;
			st = v.p[0];
			if (st != RCPT_PENDING && st != RCPT_DONE && st != RCPT_FAILED &&
			    st != RCPT_EXPIRED)
				return -EINVAL;
			if (e->nrcpts >= ENVELOPE_RCPTS_MAX)
				return -EINVAL;
			if (e->nrcpts == cap) {
				size_t ncap = cap ? cap * 2 : 4;
				void *np = realloc(e->rcpts, ncap * sizeof *e->rcpts);

				if (np == NULL)
					return -ENOMEM;
				e->rcpts = np;
				cap = ncap;
			}
			rc = &e->rcpts[e->nrcpts];
			rc->addr = NULL;
			rc->state = st;
			rc->state_off = (uint64_t)(v.p - c->p);
			if ((r = dec_dup(v.p + 2, v.len - 2, &rc->addr)) < 0)
				return r;
			e->nrcpts++;
			break;
		}
		default:
			return -EINVAL; /* unknown record in a version we wrote ourselves */
		}
		if (dst != NULL && (r = dec_dup(v.p, v.len, dst)) < 0)
			return r;
	}
	if (e->nrcpts == 0 || e->sender == NULL || e->q_off == 0 || e->l_off == 0)
		return -EINVAL;
	return 0;
}

static int parse_trailer(struct cursor *c, size_t end, struct envelope *e)
{
	struct scan_result *v = &e->verdict;
	struct slice line;
	int r, seen_w = 0;

	while (c->off < end) {
		struct slice s;

		if ((r = next_line(c, end, &line)) < 0)
			return r;
		if (line.len < 2 || line.p[1] != ' ')
			return -EINVAL;
		s = (struct slice){line.p + 2, line.len - 2};
		switch (line.p[0]) {
		case 'W': {
			struct slice a = field(&s), b = field(&s), d = field(&s), u = s;
			uint64_t x, y, z;

			if (parse_u64_n(a.p, a.len, 0, VERDICT_SUSPECT, &x) < 0 ||
			    parse_u64_n(b.p, b.len, 0, POLICY_REJECT, &y) < 0 ||
			    parse_double(d, &v->score) < 0 || parse_u64_n(u.p, u.len, 0, 1, &z) < 0)
				return -EINVAL;
			v->verdict = (enum scan_verdict)x;
			v->action = (enum policy_action)y;
			v->unscanned = (int)z;
			seen_w = 1;
			break;
		}
		case 'G':
			if (dec_into(s.p, s.len, v->virus, sizeof v->virus) < 0)
				return -EINVAL;
			break;
		case 'Y': {
			struct slice n = field(&s), sc = field(&s);
			struct scan_symbol *sym;

			if (v->nsym >= SCAN_MAX_SYMBOLS)
				return -EINVAL;
			sym = &v->sym[v->nsym];
			if (dec_into(n.p, n.len, sym->name, sizeof sym->name) < 0 ||
			    parse_double(sc, &sym->score) < 0 ||
			    dec_into(s.p, s.len, sym->detail, sizeof sym->detail) < 0)
				return -EINVAL;
			v->nsym++;
			break;
		}
		default:
			return -EINVAL;
		}
	}
	return seen_w ? 0 : -EINVAL;
}

int envelope_parse(const char *p, size_t len, struct envelope *e)
{
	struct cursor c = {p, len, 0};
	uint64_t toff;
	size_t end;
	int r;

	memset(e, 0, sizeof *e);
	e->file_size = len;
	if (!envelope_has_end(p, len)) {
		r = -EBADMSG;
		goto fail;
	}
	end = len - ENVELOPE_END_LEN;
	if (parse_u64_n(p + end + 4, 20, 0, end, &toff) < 0) {
		r = -EBADMSG;
		goto fail;
	}
	if ((r = parse_head(&c, (size_t)toff, e)) < 0)
		goto fail;
	e->body_off = c.off;
	e->body_len = toff - c.off;
	c.off = (size_t)toff;
	if ((r = parse_trailer(&c, end, e)) < 0)
		goto fail;
	return 0;
fail:
	envelope_free(e);
	return r;
}
