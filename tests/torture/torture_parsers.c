/*
 * torture_parsers - fail the Nth allocation, for every N, while each parser of outside input runs
 * (in the manner of curl's torture tests). For each parser and each N until a run completes with
 * no failed allocation: nothing may crash, the parser must report an error or a flagged result,
 * and every allocation it made must be freed again (live count back to its baseline).
 *
 * The SMTP session engine is driven through a whole conversation (EHLO, MAIL with parameters,
 * ten RCPTs, DATA with dot-stuffing, BDAT chunks, RSET, a bad command, a too-long line, QUIT)
 * with an allocation-free backend; besides no crash and no leak, the reply codes must match the
 * undisturbed run's up to the first difference, and that difference must be an error reply
 * (4xx/5xx) or the session closing: a failed allocation is never answered with success.
 *
 * Built without sanitizers (they own malloc): malloc/calloc/realloc/free are interposed here and
 * forward to glibc's __libc_* functions. Prints one line per parser; exit 0 when all held.
 */
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "mime/mime.h"
#include "queue/envelope.h"
#include "smtp/session.h"

#include <errno.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static long torture_countdown = -1; /* fail when it reaches 0; -1 = never */
static long torture_failed;         /* allocations refused in this run */
static long torture_live;           /* outstanding allocations */
static long torture_trace = -1;     /* TORTURE_TRACE=N: print a backtrace where N fails */
static long torture_n;              /* which allocation point this run fails */

static int torture_should_fail(void)
{
	if (torture_countdown < 0)
		return 0;
	if (torture_countdown-- == 0) {
		torture_failed++;
		if (torture_n == torture_trace) {
			void *frames[16];

			/* Where the failed allocation came from, for the engineer chasing a leak.
			 */
			backtrace_symbols_fd(frames, backtrace(frames, 16), 2);
		}
		return 1;
	}
	return 0;
}

void *malloc(size_t n)
{
	void *p;

	if (torture_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_malloc(n);
	if (p)
		torture_live++;
	return p;
}

void *calloc(size_t a, size_t b)
{
	void *p;

	if (torture_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_calloc(a, b);
	if (p)
		torture_live++;
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p;

	if (torture_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_realloc(old, n);
	if (p && old == NULL)
		torture_live++;
	return p;
}

void free(void *p)
{
	if (p)
		torture_live--;
	__libc_free(p);
}

static const char torture_mime[] =
    "From: =?utf-8?B?QsOkcmJlbA==?= <b@example.test>\r\n"
    "To: a@example.test\r\n"
    "Subject: =?iso-8859-1?Q?caf=E9?= menu\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=inner\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Caf=E9 http://example.test/menu =\r\n"
    "soft break\r\n"
    "--inner\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>Hi &amp; welcome <a href=\"http://evil.test/x\">http://bank.test/</a></p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream; name*0=\"re\"; name*1=\"port.pdf\"\r\n"
    "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.exe\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "begin 644 a.txt\r\n"
    "#86)C\r\n"
    "`\r\n"
    "end\r\n"
    "--outer--\r\n";

/* 1 when the parser returned normally (any result). */
static int torture_mime_once(void)
{
	struct arena *a = arena_new(16 * 1024 * 1024);
	struct mime_msg *m;

	if (a == NULL)
		return 1;
	m = mime_parse(a, torture_mime, sizeof torture_mime - 1, &mime_limits_default);
	(void)m;
	arena_free(a);
	return 1;
}

static char *torture_envelope_img;
static size_t torture_envelope_len;

static int torture_envelope_once(void)
{
	struct envelope e;

	if (envelope_parse(torture_envelope_img, torture_envelope_len, &e) == 0)
		envelope_free(&e);
	return 1;
}

static int torture_config_once(void)
{
	static const char ini[] = "[node]\nname = n1\n[smtp]\nmax_message_size = 10M\n"
	                          "listen = 127.0.0.1:2525\n[queue]\nmax_lifetime = 2d\n";
	struct config c;
	char err[256];

	config_defaults(&c);
	config_load_string(&c, ini, "torture", err, sizeof err);
	return 1;
}

static int torture_build_envelope(void)
{
	static const char *rcpts[] = {"a@example.test", "b@example.test"};
	struct envelope_head h;
	struct scan_result v;
	struct buf b;
	static const char body[] = "Subject: x\r\n\r\nbody\r\n";

	memset(&h, 0, sizeof h);
	memset(&v, 0, sizeof v);
	buf_init(&b, 1 << 20);
	h.arrival_sec = 1795000000;
	h.tenant = "acme";
	h.client_ip = "127.0.0.1";
	h.client_host = "";
	h.helo = "client.test";
	h.proto = "ESMTP";
	h.sender = "s@sender.test";
	h.rcpts = rcpts;
	h.nrcpts = 2;
	h.ret = "";
	h.envid = "";
	if (envelope_head_encode(&b, &h) < 0 || buf_append(&b, body, sizeof body - 1) < 0)
		return -1;
	v.nsym = 1;
	snprintf(v.sym[0].name, sizeof v.sym[0].name, "TEST");
	if (envelope_trailer_encode(&b, &v, b.len) < 0)
		return -1;
	torture_envelope_img = b.p;
	torture_envelope_len = b.len;
	return 0;
}

/* The SMTP backend: stores nothing on the heap, so every counted allocation is the engine's. */
static struct smtp_session *torture_smtp_s;
static size_t torture_smtp_bytes, torture_smtp_msgs;

static int torture_smtp_rcpt(void *ctx, const struct smtp_txn *t, const struct smtp_addr *a,
                             struct smtp_reply *r)
{
	if (strcmp(a->domain, "client.example") != 0) {
		smtp_reply_set(r, 550, "5.7.1 <%s>: Relay access denied", a->addr);
		return -1;
	}
	return 0;
}

static int torture_smtp_write(void *ctx, const char *p, size_t len)
{
	torture_smtp_bytes += len;
	return 0;
}

static void torture_smtp_close(void *ctx, const struct smtp_txn *t)
{
	struct smtp_reply r;

	smtp_reply_set(&r, 250, "2.0.0 Ok: queued as T%zu", ++torture_smtp_msgs);
	smtp_session_data_done(torture_smtp_s, &r);
}

static const struct smtp_session_ops torture_smtp_ops = {
    .rcpt = torture_smtp_rcpt,
    .data_write = torture_smtp_write,
    .data_close = torture_smtp_close,
};

#define TORTURE_RCPT(n) "RCPT TO:<r" #n "@client.example>\r\n"
static const char torture_smtp_in[] =
    "EHLO c.example\r\n"
    "MAIL FROM:<s@sender.example> SIZE=100 BODY=8BITMIME\r\n" TORTURE_RCPT(1) TORTURE_RCPT(2)
        TORTURE_RCPT(3) TORTURE_RCPT(4) TORTURE_RCPT(5) TORTURE_RCPT(6) TORTURE_RCPT(7)
            TORTURE_RCPT(8) TORTURE_RCPT(9) TORTURE_RCPT(
                10) "DATA\r\n"
                    "Subject: t\r\n\r\nhi\r\n..dot\r\n.\r\n"
                    "MAIL FROM:<>\r\n"
                    "RCPT TO:<a@client.example>\r\n"
                    "RCPT TO:<b@client.example>\r\n"
                    "BDAT 5\r\nhelloBDAT 6 LAST\r\n world"
                    "RSET\r\n"
                    "FOO bar\r\n"
                    "NOOP 0123456789012345678901234567890123456789012345678901234567890123456789"
                    "0123456789012345678901234567890123456789\r\n"
                    "MAIL FROM:<x@sender.example>\r\n"
                    "RCPT TO:<x@other.example>\r\n"
                    "QUIT\r\n";
/* What the undisturbed run answers: greeting, EHLO, MAIL, 10 x RCPT, 354, 250, MAIL, 2 x RCPT,
 * 2 x BDAT, RSET, 500 unknown, 500 too long, MAIL, 550 relay, 221. */
static const char torture_smtp_expect[] = "220 250 250 250 250 250 250 250 250 250 250 250 250 "
                                          "354 250 250 250 250 250 250 250 500 500 250 550 221";

static char torture_smtp_codes[512];
static char torture_smtp_out[8192];      /* every reply byte of this run */
static char torture_smtp_good_out[8192]; /* ... and of the undisturbed run */
static int torture_smtp_closed;

/* Move the session's output to torture_smtp_out, noting each final reply's code (no allocation). */
static void torture_smtp_collect(struct buf *out)
{
	const char *p = out->p ? out->p : "", *end = p + out->len;
	size_t n = strlen(torture_smtp_codes), o = strlen(torture_smtp_out);

	snprintf(torture_smtp_out + o, sizeof torture_smtp_out - o, "%s", p);
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			break;
		if (eol - p >= 4 && p[3] == ' ' && n + 5 < sizeof torture_smtp_codes)
			n += (size_t)snprintf(torture_smtp_codes + n, sizeof torture_smtp_codes - n,
			                      "%s%.3s", n ? " " : "", p);
		p = eol + 1;
	}
	buf_reset(out);
}

/*
 * 1 when the failure was answered as a temporary error: the reply bytes agree with the
 * undisturbed run's up to the first line that differs, which is a 4xx (a failed allocation is
 * our trouble, not the client's: a 5xx would make it bounce the mail), or the bytes stop at a
 * line's start because the session closed (a reply it could not even buffer). A multi-line
 * reply missing a line in its middle differs at a 250 line and fails.
 */
static int torture_smtp_judge(void)
{
	const char *a = torture_smtp_out, *e = torture_smtp_good_out;
	size_t k = 0;

	while (a[k] && a[k] == e[k])
		k++;
	if (a[k] == '\0' && e[k] == '\0')
		return 1;
	while (k > 0 && a[k - 1] != '\n')
		k--; /* back to the start of the line that differs */
	if (a[k] == '\0')
		return torture_smtp_closed;
	return a[k] == '4';
}

static int torture_smtp_once(void)
{
	static const struct smtp_session_params prm = {
	    .hostname = "mx.test",
	    .max_line = 100,
	    .max_message_size = 1000,
	    .max_recipients = 20,
	    .max_errors = 20,
	};
	const char *in = torture_smtp_in;
	size_t off = 0, len = sizeof torture_smtp_in - 1;

	torture_smtp_codes[0] = '\0';
	torture_smtp_out[0] = '\0';
	torture_smtp_closed = 0;
	torture_smtp_msgs = 0;
	torture_smtp_bytes = 0;
	torture_smtp_s = smtp_session_new(&prm, "192.0.2.9", "");
	if (torture_smtp_s == NULL)
		return torture_failed > 0 ? 1 : -1;
	smtp_session_set_backend(torture_smtp_s, &torture_smtp_ops, NULL);
	smtp_session_greet(torture_smtp_s, SMTP_GREET_OK);
	torture_smtp_collect(smtp_session_output(torture_smtp_s));
	while (off < len) {
		/* A few bytes at a time: the line buffer grows and resets many times. */
		size_t n = len - off < 37 ? len - off : 37;

		off += smtp_session_feed(torture_smtp_s, in + off, n);
		torture_smtp_collect(smtp_session_output(torture_smtp_s));
		if (smtp_session_wants(torture_smtp_s) & (SMTP_WANT_CLOSE | SMTP_WANT_WAIT)) {
			torture_smtp_closed = 1;
			break;
		}
	}
	smtp_session_free(torture_smtp_s);
	torture_smtp_s = NULL;
	if (torture_failed == 0 &&
	    (strcmp(torture_smtp_codes, torture_smtp_expect) != 0 || torture_smtp_msgs != 2)) {
		printf("torture smtp: undisturbed run answered \"%s\" (%zu messages)\n",
		       torture_smtp_codes, torture_smtp_msgs);
		return -1;
	}
	if (torture_smtp_good_out[0] == '\0')
		memcpy(torture_smtp_good_out, torture_smtp_out, sizeof torture_smtp_out);
	if (!torture_smtp_judge()) {
		printf("torture smtp: failing allocation %ld answered \"%s\"\n", torture_n,
		       torture_smtp_codes);
		return -1;
	}
	return 1;
}

static int torture_run(const char *name, int (*once)(void))
{
	long base, n, runs = 0, leaks = 0, wrong = 0;

	torture_n = -1;
	if (once() < 0)
		wrong++; /* warm-up: caches (iconv descriptors, libc locale) fill now */
	for (n = 0;; n++) {
		/*
		 * Each point runs twice and only the second run is measured: a failure may send
		 * the parser down a path that fills a process-wide cache (an iconv descriptor for
		 * a charset the good run never needed) once. A real leak leaks every time.
		 */
		for (int pass = 0; pass < 2; pass++) {
			base = torture_live;
			torture_failed = 0;
			torture_countdown = n;
			torture_n = n;
			if (once() < 0 && pass == 1)
				wrong++;
			torture_countdown = -1;
		}
		runs++;
		if (torture_live != base) {
			fprintf(stdout, "torture %s: failing allocation %ld leaked %ld blocks\n",
			        name, n, torture_live - base);
			leaks++;
		}
		if (torture_failed == 0)
			break; /* the parser made fewer than n + 1 allocations: all covered */
	}
	printf("torture %-10s %ld allocation points failed in turn, %ld leaks\n", name, runs - 1,
	       leaks);
	if (wrong)
		printf("torture %-10s %ld runs answered a failure as success\n", name, wrong);
	return leaks == 0 && wrong == 0 ? 0 : 1;
}

int main(void)
{
	int bad = 0;

	if (getenv("TORTURE_TRACE")) {
		void *frames[4];

		torture_trace = atol(getenv("TORTURE_TRACE"));
		backtrace(frames, 4); /* loads libgcc now, outside any counted run */
	}
	if (torture_build_envelope() < 0) {
		printf("torture: cannot build the envelope image\n");
		return 2;
	}
	bad |= torture_run("mime", torture_mime_once);
	bad |= torture_run("envelope", torture_envelope_once);
	bad |= torture_run("config", torture_config_once);
	bad |= torture_run("smtp", torture_smtp_once);
	printf("torture %s\n", bad ? "FAILED" : "ok");
	return bad;
}
