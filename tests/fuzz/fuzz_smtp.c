/*
 * fuzz_smtp - the SMTP session engine fed arbitrary bytes: commands, DATA, BDAT, XCLIENT,
 * STARTTLS, with the input cut into reads where the data says (the first byte seeds the cut
 * sizes), and a backend that answers some messages at once and some later. Invariants checked:
 * every message opened is closed or aborted exactly once, and every reply line is CRLF-ended
 * with a three-digit code.
 */
#include "smtp/session.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fz {
	struct smtp_session *s;
	int open, opens, ends, later;
};

static int fz_rcpt(void *ctx, const struct smtp_txn *t, const struct smtp_addr *a,
                   struct smtp_reply *r)
{
	if (a->addr[0] == 'x') {
		smtp_reply_set(r, 550, "5.7.1 no");
		return -1;
	}
	return 0;
}

static int fz_open(void *ctx, const struct smtp_txn *t, struct smtp_reply *r)
{
	struct fz *f = ctx;

	if (f->open)
		abort(); /* two messages open on one session */
	f->open = 1;
	f->opens++;
	return 0;
}

static int fz_write(void *ctx, const char *p, size_t len)
{
	struct fz *f = ctx;

	if (!f->open)
		abort();
	return len > 0 && p[0] == 'E' ? -28 /* ENOSPC */ : 0;
}

static void fz_close(void *ctx, const struct smtp_txn *t)
{
	struct fz *f = ctx;
	struct smtp_reply r;

	f->open = 0;
	f->ends++;
	if (t->nrcpts % 2) {
		f->later = 1; /* answered after the feed returns */
		return;
	}
	smtp_reply_set(&r, 250, "2.0.0 Ok");
	smtp_session_data_done(f->s, &r);
}

static void fz_abort(void *ctx)
{
	struct fz *f = ctx;

	if (!f->open && !f->later)
		abort();
	f->open = 0;
	f->later = 0;
	f->ends++;
}

static const struct smtp_session_ops fz_ops = {
    .rcpt = fz_rcpt,
    .data_open = fz_open,
    .data_write = fz_write,
    .data_close = fz_close,
    .data_abort = fz_abort,
};

static void check_output(struct buf *out)
{
	const char *p = out->p ? out->p : "", *end = p + out->len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL || eol - p < 5 || eol[-1] != '\r' || p[0] < '2' || p[0] > '5' ||
		    (p[3] != ' ' && p[3] != '-'))
			abort();
		p = eol + 1;
	}
	buf_reset(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_session_params p = {
	    .hostname = "fuzz.test",
	    .max_line = 512,
	    .max_message_size = 4096,
	    .max_recipients = 4,
	    .max_errors = 20,
	    .flags = SMTP_OFFER_STARTTLS | SMTP_ALLOW_XCLIENT,
	};
	struct fz f = {0};
	size_t off = 1, seed;

	if (size == 0)
		return 0;
	seed = data[0];
	f.s = smtp_session_new(&p, "192.0.2.1", "");
	if (f.s == NULL)
		return 0;
	smtp_session_set_backend(f.s, &fz_ops, &f);
	smtp_session_greet(f.s, SMTP_GREET_OK);
	while (off < size) {
		size_t n = 1 + (seed % 64), used;
		unsigned w;

		seed = seed * 1103515245u + 12345u;
		if (n > size - off)
			n = size - off;
		used = smtp_session_feed(f.s, (const char *)data + off, n);
		check_output(smtp_session_output(f.s));
		w = smtp_session_wants(f.s);
		if (w & SMTP_WANT_CLOSE)
			break;
		if (w & SMTP_WANT_TLS) {
			smtp_session_tls_started(f.s, "TLSv1.3 FUZZ");
			used = n;
		}
		if (w & SMTP_WANT_WAIT) {
			struct smtp_reply r;

			f.later = 0;
			smtp_reply_set(&r, 451, "4.3.0 later");
			smtp_session_data_done(f.s, &r);
			check_output(smtp_session_output(f.s));
		}
		if (used > n)
			abort();
		off += used;
	}
	smtp_session_free(f.s);
	if (f.opens != f.ends)
		abort();
	return 0;
}
