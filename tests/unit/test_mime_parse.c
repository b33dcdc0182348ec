/*
 * test_mime_parse - the MIME parser on small messages: part trees (nesting, digests, broken
 * delimiters, message/rfc822), header fields and RFC 2231/2047 parameters, limits that turn
 * into flags, HTML to text, URL extraction, and uuencode/yEnc children.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "mime/mime.h"
#include "mime/html.h"

#define ARENA_CAP (16u * 1024 * 1024)

/* "depth:type/subtype[decoded]" per part, pre-order, joined with " | "; containers have no []. */
static void tree_str(const struct mime_msg *m, char *out, size_t outsz)
{
	const struct mime_part *pt;
	size_t off = 0;

	out[0] = '\0';
	for (pt = m->root; pt; pt = mime_part_next(pt)) {
		int n = snprintf(out + off, outsz - off, "%s%u:%s/%s", off ? " | " : "", pt->depth,
		                 pt->type, pt->subtype);

		off += (size_t)n;
		if (mime_part_is_leaf(pt)) {
			n = snprintf(out + off, outsz - off, "[%.*s]", (int)pt->decoded_len,
			             (const char *)pt->decoded);
			off += (size_t)n;
		}
	}
}

static void test_trees(void **state)
{
	static const struct {
		const char *msg, *want;
	} cases[] = {
	    {"Subject: x\n\nhello\n", "0:text/plain[hello\n]"},
	    {"Subject: x\r\n\r\nhello\r\n", "0:text/plain[hello\r\n]"},
	    /* mbox envelope line */
	    {"From a@b Mon Jan 1 00:00:00 2024\nContent-Type: text/html\n\n<b>x</b>",
	     "0:text/html[<b>x</b>]"},
	    /* multipart: preamble and epilogue are not parts; the break before a delimiter
	     * belongs to it */
	    {"Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\none\n--b\n"
	     "Content-Type: text/html\n\ntwo\n--b--\nepi\n",
	     "0:multipart/mixed | 1:text/plain[one] | 1:text/html[two]"},
	    /* transport padding after delimiters */
	    {"Content-Type: multipart/mixed; boundary=b\n\n--b  \n\none\n--b-- \t\n",
	     "0:multipart/mixed | 1:text/plain[one]"},
	    /* a line that only starts with the boundary is no delimiter */
	    {"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bc\n--b--\n",
	     "0:multipart/mixed | 1:text/plain[--bc]"},
	    /* nested, with the inner one unclosed: the outer delimiter ends it */
	    {"Content-Type: multipart/mixed; boundary=x\n\n--x\n"
	     "Content-Type: multipart/alternative; boundary=y\n\n--y\n\nin\n--x\n\nout\n--x--\n",
	     "0:multipart/mixed | 1:multipart/alternative | 2:text/plain[in] | 1:text/plain[out]"},
	    /* a child reusing its parent's boundary takes delimiters to its own close */
	    {"Content-Type: multipart/mixed; boundary=x\n\n--x\n"
	     "Content-Type: multipart/alternative; boundary=x\n\n--x\n\na\n--x\n\nb\n--x--\n"
	     "--x\n\nc\n--x--\n",
	     "0:multipart/mixed | 1:multipart/alternative | 2:text/plain[a] | 2:text/plain[b] | "
	     "1:text/plain[c]"},
	    /* nothing between two delimiters is no part */
	    {"Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nz\n--b--\n",
	     "0:multipart/mixed | 1:text/plain[z]"},
	    /* unclosed at end of input: the last part runs to the end */
	    {"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nlast\n",
	     "0:multipart/mixed | 1:text/plain[last\n]"},
	    /* no boundary: the body stays readable as text (RFC 2045 5.2) */
	    {"Content-Type: multipart/mixed\n\n--b\n\nx\n", "0:text/plain[--b\n\nx\n]"},
	    /* digest children default to message/rfc822 */
	    {"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: s\n\nbody\n--d--\n",
	     "0:multipart/digest | 1:message/rfc822 | 2:text/plain[body]"},
	    /* message/rfc822 is parsed; base64-encoded ones too */
	    {"Content-Type: message/rfc822\n\nContent-Type: text/html\n\n<p>x",
	     "0:message/rfc822 | 1:text/html[<p>x]"},
	    {"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
	     "U3ViamVjdDogaQoKYm9keQo=\n",
	     "0:message/rfc822 | 1:text/plain[body\n]"},
	    /* transfer encodings, case-insensitive */
	    {"Content-Transfer-Encoding: BASE64\n\naGk=\n", "0:text/plain[hi]"},
	    {"Content-Transfer-Encoding: Quoted-Printable\n\nh=C3=A9=\n!\n",
	     "0:text/plain[h\xc3\xa9!\n]"},
	    /* charsets to UTF-8 */
	    {"Content-Type: text/plain; charset=\"ISO-8859-1\"\n\ncaf\xe9",
	     "0:text/plain[caf\xc3\xa9]"},
	    /* invalid Content-Type: the default (RFC 2045 5.2) */
	    {"Content-Type: text\n\nx", "0:text/plain[x]"},
	    {"Content-Type: (c) multipart /(c) mixed ; boundary = \"q r\"\n\n--q r\n\nx\n--q r--",
	     "0:multipart/mixed | 1:text/plain[x]"},
	    /* headers: continuation of a quoted boundary, a garbage line skipped */
	    {"Content-Type: multipart/mixed; boundary=\"a\n b\"\nthis is no header\n\n--a b\n\nx\n"
	     "--a b--\n",
	     "0:multipart/mixed | 1:text/plain[x]"},
	    /* the first of two Content-Types counts */
	    {"Content-Type: text/html\nContent-Type: text/plain\n\nx", "0:text/html[x]"},
	    /* headers that never end: no body */
	    {"Subject: a\nX: b", "0:text/plain[]"},
	    {"", "0:text/plain[]"},
	};
	char got[4096];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct arena *a = arena_new(ARENA_CAP);
		struct mime_msg *m = mime_parse(a, cases[i].msg, strlen(cases[i].msg), NULL);

		assert_non_null(m);
		tree_str(m, got, sizeof got);
		if (strcmp(got, cases[i].want) != 0)
			print_error("case %zu:\n got  %s\n want %s\n", i, got, cases[i].want);
		assert_string_equal(got, cases[i].want);
		arena_free(a);
	}
}

static void test_fields(void **state)
{
	static const char msg[] =
	    "Subject: =?utf-8?B?w6k=?= and\n =?iso-8859-1?Q?caf=E9?=\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n"
	    "Content-Type: application/pdf; name=\"=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?=\"\n"
	    "Content-Disposition: ATTACHMENT;\n filename*0*=iso-8859-1'fr'r%E9;\n"
	    " filename*1=\"sum \\\"1\\\"\";\n filename*2*=%2Epdf\n\n%PDF\n"
	    "--b\n"
	    "Content-Type: text/plain; charset=UTF-8; name*=utf-8''%E2%82%AC.txt\n"
	    "Content-Disposition: weird\n\nx\n"
	    "--b\n"
	    "Content-Type: image/png; name=plain.png\n"
	    "Content-Disposition: inline\n\n.\n"
	    "--b--\n";
	struct arena *a = arena_new(ARENA_CAP);
	struct mime_msg *m = mime_parse(a, msg, sizeof msg - 1, NULL);
	const struct mime_part *p1, *p2, *p3;

	(void)state;
	assert_non_null(m);
	assert_string_equal(mime_header_get(m->root, "SUBJECT"), "\xc3\xa9 and caf\xc3\xa9");
	assert_null(mime_header_get(m->root, "X-None"));
	assert_string_equal(m->root->boundary, "b");
	p1 = m->root->children;
	p2 = p1->next;
	p3 = p2->next;
	assert_string_equal(p1->type, "application");
	assert_string_equal(p1->subtype, "pdf");
	/* RFC 2231 continuations win over the 2047-encoded name, charset from segment 0 */
	assert_string_equal(p1->filename, "r\xc3\xa9sum \"1\".pdf");
	assert_string_equal(p1->disposition, "attachment");
	assert_string_equal(p2->charset, "utf-8");
	assert_string_equal(p2->filename, "\xe2\x82\xac.txt");
	assert_string_equal(p2->disposition, "attachment"); /* RFC 2183 2.8 */
	assert_string_equal(p3->filename, "plain.png");
	assert_string_equal(p3->disposition, "inline");
	assert_null(p3->next);
	assert_int_equal(m->nparts, 4);
	assert_int_equal(p3->index, 3);
	arena_free(a);
}

/* A message nested n deep: multipart inside multipart, each with its own boundary. */
static char *nested(unsigned n)
{
	size_t cap = 200 + n * 120, off = 0;
	char *s = malloc(cap);
	unsigned i;

	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off,
		                        "Content-Type: multipart/mixed; boundary=b%u\n\n--b%u\n", i,
		                        i);
	off += (size_t)snprintf(s + off, cap - off, "\ndeep\n");
	return s;
}

static void test_limits(void **state)
{
	struct mime_limits lim = mime_limits_default;
	const struct mime_part *pt;
	struct arena *a;
	struct mime_msg *m;
	char *s;
	unsigned maxd = 0;

	(void)state;
	/* depth: past the limit a multipart stays a leaf, flagged */
	s = nested(50);
	a = arena_new(ARENA_CAP);
	m = mime_parse(a, s, strlen(s), NULL);
	assert_non_null(m);
	assert_true(m->flags & MIME_F_DEPTH_LIMIT);
	for (pt = m->root; pt; pt = mime_part_next(pt))
		if (pt->depth > maxd)
			maxd = pt->depth;
	assert_int_equal(maxd, mime_limits_default.max_depth);
	arena_free(a);

	/* a caller's absurd depth is still bounded (the stack is at stake) */
	lim.max_depth = 1000000;
	free(s);
	s = nested(3000);
	a = arena_new(256u * 1024 * 1024);
	m = mime_parse(a, s, strlen(s), &lim);
	assert_non_null(m);
	assert_true(m->flags & MIME_F_DEPTH_LIMIT);
	arena_free(a);
	free(s);

	/* parts */
	{
		static const char msg[] = "Content-Type: multipart/mixed; boundary=b\n\n"
		                          "--b\n\n1\n--b\n\n2\n--b\n\n3\n--b\n\n4\n--b--\n";

		lim = mime_limits_default;
		lim.max_parts = 3;
		a = arena_new(ARENA_CAP);
		m = mime_parse(a, msg, sizeof msg - 1, &lim);
		assert_non_null(m);
		assert_int_equal(m->nparts, 3);
		assert_true(m->flags & MIME_F_PARTS_LIMIT);
		arena_free(a);
	}
	/* decoded bytes: cut and flagged */
	{
		static const char msg[] = "Content-Transfer-Encoding: base64\n\n"
		                          "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n";

		lim = mime_limits_default;
		lim.max_decoded = 10;
		a = arena_new(ARENA_CAP);
		m = mime_parse(a, msg, sizeof msg - 1, &lim);
		assert_non_null(m);
		assert_true(m->root->decoded_len <= 10);
		assert_true(m->flags & MIME_F_DECODE_LIMIT);
		arena_free(a);
	}
	/* arena cap: a flag, never a crash; NULL only when not even the root fits */
	{
		static char big[300000];

		memset(big, 'A', sizeof big);
		memcpy(big, "Content-Transfer-Encoding: base64\n\n", 35);
		a = arena_new(200000);
		m = mime_parse(a, big, sizeof big, NULL);
		assert_non_null(m);
		assert_true(m->flags & MIME_F_ARENA_FULL);
		arena_free(a);
		a = arena_new(16);
		assert_null(mime_parse(a, big, sizeof big, NULL));
		arena_free(a);
	}
}

static void test_malformed(void **state)
{
	static const struct {
		const char *msg;
		unsigned flag;
	} cases[] = {
	    {"Content-Type: multipart/mixed\n\nx", MIME_F_NO_BOUNDARY},
	    {"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n", MIME_F_UNCLOSED},
	    {"Content-Transfer-Encoding: base64\n\n!!!!\n", MIME_F_BAD_ENCODING},
	    {"Content-Type: text/plain; charset=utf-8\n\n\xff\xfe", MIME_F_BAD_CHARSET},
	    {"Content-Type: text/plain; charset=x-nonesuch\n\nabc", MIME_F_BAD_CHARSET},
	    {"Subject: caf\xe9\n\nx", MIME_F_8BIT_HEADER},
	    {"Subject: a\nno colon here\n\nx", MIME_F_BAD_HEADER},
	    {"Subject: a", MIME_F_TRUNCATED},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct arena *a = arena_new(ARENA_CAP);
		struct mime_msg *m = mime_parse(a, cases[i].msg, strlen(cases[i].msg), NULL);

		assert_non_null(m);
		if (!(m->flags & cases[i].flag))
			print_error("case %zu: flags %#x lack %#x\n", i, m->flags, cases[i].flag);
		assert_true(m->flags & cases[i].flag);
		arena_free(a);
	}
}

static void test_html_urls(void **state)
{
	static const char msg[] =
	    "Content-Type: multipart/alternative; boundary=b\n\n"
	    "--b\n\nSee http://Example.COM/a?b=1. and www.test.org/x, or ftp://f.net\n"
	    "--b\nContent-Type: text/html; charset=utf-8\n\n"
	    "<html><head><style>p{}</style><script>var u='http://js.example/';</script></head>"
	    "<body><p>Hello&nbsp;&amp;&#32;&#x41;&eacute;!</p><!-- http://comment.example/ -->"
	    "<a href=\"https://evil.example/login?a=1&amp;b=2\">https://bank.example</a>\n"
	    "<img src='http://img.example/p.gif'> "
	    "<a href=\"http://Example.COM/a?b=1\">again</a> "
	    "<a href=\"https:/\\\\slash.example/\">x</a></body></html>\n"
	    "--b--\n";
	struct arena *a = arena_new(ARENA_CAP);
	struct mime_msg *m = mime_parse(a, msg, sizeof msg - 1, NULL);
	static const struct {
		const char *url, *host, *text;
	} want[] = {
	    {"http://Example.COM/a?b=1", "example.com", "again"},
	    {"www.test.org/x", "www.test.org", NULL},
	    {"ftp://f.net", "f.net", NULL},
	    {"https://evil.example/login?a=1&b=2", "evil.example", "https://bank.example"},
	    {"http://img.example/p.gif", "img.example", NULL},
	    {"https:/\\\\slash.example/", "slash.example", "x"},
	    {"https://bank.example", "bank.example", NULL},
	};
	const struct mime_url *u;
	const struct mime_part *html;
	size_t i = 0;

	(void)state;
	assert_non_null(m);
	html = m->root->children->next;
	assert_string_equal(html->text, "Hello & A\xc3\xa9!\nhttps://bank.example again x");
	assert_non_null(strstr(m->text, "See http://Example.COM"));
	assert_non_null(strstr(m->text, "\nHello & A"));
	assert_null(strstr(m->text, "js.example"));
	for (u = m->urls; u; u = u->next, i++) {
		assert_true(i < sizeof want / sizeof want[0]);
		if (strcmp(u->url, want[i].url) != 0)
			print_error("url %zu: got %s want %s\n", i, u->url, want[i].url);
		assert_string_equal(u->url, want[i].url);
		assert_string_equal(u->host, want[i].host);
		if (want[i].text)
			assert_string_equal(u->text, want[i].text);
		else
			assert_null(u->text);
	}
	assert_int_equal(i, sizeof want / sizeof want[0]);
	assert_int_equal(m->nurls, i);
	arena_free(a);
}

/* Where a tag ends: at its first '>' outside a quoted attribute value; a quote counts only
 * when it opens a value (after '=' or a blank); a value left open ends the text. */
static int tag_link(void *arg, const char *url, size_t ulen, const char *text, size_t tlen)
{
	struct buf *b = arg;

	(void)text;
	(void)tlen;
	return buf_append(b, url, ulen) < 0 || buf_append(b, "|", 1) < 0 ? -1 : 0;
}

static void test_html_tag_ends(void **state)
{
	static const struct {
		const char *html, *text, *links;
	} cases[] = {
	    {"a<b title=\"x>y\">c</b>d", "acd", ""},
	    {"a<b x'y>c", "ac", ""},
	    {"a<b x='1' y=\"2>3\">c", "ac", ""},
	    {"a<b t=\"it's>\">c", "ac", ""},
	    {"a<b t='say \"hi>\"'>c", "ac", ""},
	    {"a<b x=\"1>c", "a", ""},
	    {"a<b t=\"x\"", "a", ""},
	    {"a<b t= \"x>y\" u=\"z\">c<i q=a\"b>d", "acd", ""},
	    {"<a href='http://h.example/a>b'>t</a> <img src=\"http://i.example/\">",
	     "t", "http://h.example/a>b|http://i.example/|"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf out, links;

		buf_init(&out, 1 << 16);
		buf_init(&links, 1 << 16);
		assert_int_equal(mime_html_to_text(cases[i].html, strlen(cases[i].html), &out,
						   tag_link, &links),
				 0);
		if (strcmp(out.p ? out.p : "", cases[i].text) != 0)
			print_error("case %zu: text [%s]\n", i, out.p ? out.p : "");
		assert_string_equal(out.p ? out.p : "", cases[i].text);
		assert_string_equal(links.p ? links.p : "", cases[i].links);
		buf_free(&out);
		buf_free(&links);
	}
}

static void test_embedded(void **state)
{
	static const char msg[] = "Content-Type: text/plain\n\nHere it is:\n"
	                          "begin 644 hello.txt\n,:&5L;&\\@=V]R;&0*\n`\nend\nbye\n";
	struct arena *a = arena_new(ARENA_CAP);
	struct mime_msg *m = mime_parse(a, msg, sizeof msg - 1, NULL);
	const struct mime_part *c;

	(void)state;
	assert_non_null(m);
	c = m->root->children;
	assert_non_null(c);
	assert_int_equal(c->embedded, 1);
	assert_string_equal(c->filename, "hello.txt");
	assert_string_equal(c->type, "application");
	assert_int_equal(c->decoded_len, 12);
	assert_memory_equal(c->decoded, "hello world\n", 12);
	assert_int_equal(m->nparts, 2);
	assert_true(mime_part_is_leaf(m->root));
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trees),     cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_limits),    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_html_urls), cmocka_unit_test(test_embedded),
	    cmocka_unit_test(test_html_tag_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
