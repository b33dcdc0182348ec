/*
 * torture_parsers - fail the Nth allocation, for every N, while each parser of outside input runs
 * (in the manner of curl's torture tests). For each parser and each N until a run completes with
 * no failed allocation: nothing may crash, the parser must report an error or a flagged result,
 * and every allocation it made must be freed again (live count back to its baseline).
 *
 * Built without sanitizers (they own malloc): malloc/calloc/realloc/free are interposed here and
 * forward to glibc's __libc_* functions. Prints one line per parser; exit 0 when all held.
 */
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "mime/mime.h"
#include "queue/envelope.h"

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

			/* Where the failed allocation came from, for the engineer chasing a leak. */
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

static int torture_run(const char *name, int (*once)(void))
{
	long base, n, runs = 0, leaks = 0;

	once(); /* warm-up: caches (iconv descriptors, libc locale) fill now */
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
			once();
			torture_countdown = -1;
		}
		runs++;
		if (torture_live != base) {
			fprintf(stdout, "torture %s: failing allocation %ld leaked %ld blocks\n", name,
				n, torture_live - base);
			leaks++;
		}
		if (torture_failed == 0)
			break; /* the parser made fewer than n + 1 allocations: all covered */
	}
	printf("torture %-10s %ld allocation points failed in turn, %ld leaks\n", name, runs - 1,
	       leaks);
	return leaks == 0 ? 0 : 1;
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
	printf("torture %s\n", bad ? "FAILED" : "ok");
	return bad;
}
