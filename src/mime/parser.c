/*
 * parser - one message into a tree of parts (RFC 2045-2049), in a single pass over the input.
 *
 * The input is never copied as a whole: headers and raw bodies are slices into it. Each entity
 * is its header block plus body; a multipart body is split at its delimiter lines (RFC 2046
 * section 5.1.1: "--boundary" at a line start, optional "--" to close, then only blanks; the
 * line break before a delimiter belongs to the delimiter), a message/rfc822 body is parsed as
 * the one child, and a leaf is transfer-decoded into the arena (a NUL after it), then text is
 * converted to UTF-8, HTML reduced to text, URLs collected, and uuencode/yEnc blocks in plain
 * text turned into child leaves.
 *
 * Limits never abort: past max_depth a container stays an undecoded-structure leaf, past
 * max_parts no more parts are made, past max_decoded leaves are cut, and a full arena stops the
 * parse where it is. Each sets its MIME_F_* flag. The parse recurses once per nesting level,
 * so the stack is bounded by MIME_DEPTH_HARD_MAX whatever limits the caller passes.
 */
#include "mime/charset.h"
#include "mime/decode.h"
#include "mime/header.h"
#include "mime/html.h"
#include "mime/mime.h"
#include "mime/url.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* Recursion bound whatever the caller's limits say: about 1 KiB of stack per level. */
#define MIME_DEPTH_HARD_MAX 200
/* Scratch for charset conversion and HTML text; a text part can't produce more than this much
 * UTF-8 (three bytes per input byte at worst) before it is cut and flagged. */
#define MIME_TEXT_MAX (64u * 1024 * 1024)

const struct mime_limits mime_limits_default = {
    .max_depth = 20,                 /* real mail nests under 10; bombs nest thousands */
    .max_parts = 1000,               /* mailing-list digests reach a few hundred */
    .max_decoded = 64 * 1024 * 1024, /* above the largest message we accept, decoded */
};

struct mime_parser {
	struct arena *a;
	struct mime_msg *msg;
	struct mime_limits lim;
	size_t decoded_total;
	struct buf scratch;
	struct mime_urls urls;
	int full; /* the arena ran out: make nothing more */
};

static void parser_full(struct mime_parser *ps, struct mime_part *part)
{
	ps->full = 1;
	ps->msg->flags |= MIME_F_ARENA_FULL;
	if (part)
		part->flags |= MIME_F_ARENA_FULL;
}

static int streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static enum mime_encoding encoding_of(const char *s)
{
	if (s[0] == '\0' || streq(s, "7bit"))
		return MIME_ENC_7BIT;
	if (streq(s, "8bit"))
		return MIME_ENC_8BIT;
	if (streq(s, "binary"))
		return MIME_ENC_BINARY;
	if (streq(s, "base64"))
		return MIME_ENC_BASE64;
	if (streq(s, "quoted-printable"))
		return MIME_ENC_QP;
	if (streq(s, "x-uuencode") || streq(s, "uuencode") || streq(s, "x-uue") ||
	    streq(s, "x-uudecode"))
		return MIME_ENC_UUENCODE;
	if (streq(s, "x-yenc") || streq(s, "yenc"))
		return MIME_ENC_YENC;
	return MIME_ENC_OTHER;
}

/* Content-Type, Content-Disposition and Content-Transfer-Encoding into the part's fields. */
static int part_fields(struct mime_parser *ps, struct mime_part *part, int in_digest)
{
	const struct mime_header *ct = mime_header_find(part, "content-type");
	const struct mime_header *cd = mime_header_find(part, "content-disposition");
	const struct mime_header *cte = mime_header_find(part, "content-transfer-encoding");
	char *type = NULL, *subtype = NULL, *tok;
	const char *v;

	if (ct && mime_value_token(ps->a, ct->raw, &type, &subtype) < 0)
		return -ENOMEM;
	/* RFC 2045 section 5.2: a missing or unusable Content-Type means the default. */
	if (type == NULL || subtype == NULL || type[0] == '\0' || subtype[0] == '\0') {
		type = in_digest ? "message" : "text";
		subtype = in_digest ? "rfc822" : "plain";
		ct = NULL;
	}
	part->type = type;
	part->subtype = subtype;
	part->charset = "";
	part->boundary = NULL;
	part->filename = "";
	part->disposition = "";
	if (ct) {
		if ((v = mime_param_get(ps->a, ct->raw, "charset")) != NULL) {
			char *c = arena_strdup(ps->a, v), *q;

			if (c == NULL)
				return -ENOMEM;
			for (q = c; *q; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q + 32);
			part->charset = c;
		}
		if (streq(type, "multipart"))
			part->boundary = mime_param_get(ps->a, ct->raw, "boundary");
	}
	if (cd) {
		if (mime_value_token(ps->a, cd->raw, &tok, NULL) < 0)
			return -ENOMEM;
		/* RFC 2183 section 2.8: an unknown disposition is treated as attachment. */
		part->disposition = tok[0] == '\0'         ? ""
		                    : streq(tok, "inline") ? "inline"
		                                           : "attachment";
		if ((v = mime_param_get(ps->a, cd->raw, "filename")) != NULL)
			part->filename = v;
	}
	if (part->filename[0] == '\0' && ct && (v = mime_param_get(ps->a, ct->raw, "name")) != NULL)
		part->filename = v;
	part->encoding = MIME_ENC_7BIT;
	if (cte) {
		if (mime_value_token(ps->a, cte->raw, &tok, NULL) < 0)
			return -ENOMEM;
		part->encoding = encoding_of(tok);
	}
	return 0;
}

/* The boundaries in force at a point of the parse, innermost first. */
struct bstack {
	const char *b;
	size_t len;
	const struct bstack *up;
};

struct delim {
	const char *line;           /* start of the delimiter line */
	const char *next;           /* start of the line after it */
	const struct bstack *which; /* whose boundary it is */
	int close;                  /* "--boundary--" */
};

static const char *entity_parse(struct mime_parser *ps, struct mime_part *parent, const char *p,
                                const char *e, unsigned depth, int in_digest,
                                const struct bstack *stk, struct mime_part **out);

static void child_append(struct mime_part *parent, struct mime_part **tail, struct mime_part *c)
{
	c->parent = parent;
	if (*tail)
		(*tail)->next = c;
	else
		parent->children = c;
	*tail = c;
}

/* Is the line at s a delimiter for boundary b? 0 no, 1 delimiter, 2 close-delimiter. */
static int delimiter_kind(const char *s, const char *e, const char *b, size_t bl)
{
	int kind = 1;

	if ((size_t)(e - s) < bl + 2 || memcmp(s + 2, b, bl) != 0)
		return 0;
	s += bl + 2;
	if (e - s >= 2 && s[0] == '-' && s[1] == '-') {
		kind = 2;
		s += 2;
	}
	for (; s < e && *s != '\n'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r')
			return 0;
	return kind;
}

/* Is the line at s a delimiter of a boundary in the stack (innermost first)? */
static int delim_at(const char *line, const char *e, const struct bstack *stk, struct delim *d)
{
	const struct bstack *k;
	const char *le;

	if (e - line < 2 || line[0] != '-' || line[1] != '-')
		return 0;
	le = memchr(line, '\n', (size_t)(e - line));
	le = le ? le + 1 : e;
	for (k = stk; k; k = k->up) {
		int kind = delimiter_kind(line, le, k->b, k->len);

		if (kind) {
			d->line = line;
			d->next = le;
			d->which = k;
			d->close = kind == 2;
			return 1;
		}
	}
	return 0;
}

/* The first delimiter line of any boundary in the stack at or after s (a line start); 0 when
 * there is none before e. */
static int delim_find(const char *s, const char *e, const struct bstack *stk, struct delim *d)
{
	const char *line = s;

	if (stk == NULL)
		return 0;
	/* Search for '-' (memchr is vectorised; base64 holds none) and look at line starts only:
	 * a dash inside a line costs one jump to that line's end. */
	while (line < e) {
		const char *dash;

		if (delim_at(line, e, stk, d))
			return 1;
		dash = memchr(line, '-', (size_t)(e - line));
		if (dash == NULL)
			return 0;
		if (dash > line && dash[-1] == '\n') {
			line = dash;
			continue;
		}
		line = memchr(dash, '\n', (size_t)(e - dash));
		if (line == NULL)
			return 0;
		line++;
	}
	return 0;
}

/*
 * The body of a multipart from s: preamble, then parts at each of its delimiters. Returns
 * where the multipart ended: after its close-delimiter line, at an enclosing boundary's
 * delimiter (unclosed), or at e. A child multipart that reuses this boundary (invalid, RFC 2046
 * section 5.1.1, but Outlook Express wrote it) takes the delimiters until its own close, which
 * is how GMime and MUAs read it.
 */
static const char *multipart_body(struct mime_parser *ps, struct mime_part *part, const char *s,
                                  const char *e, const struct bstack *own)
{
	struct mime_part *tail = NULL;
	int in_digest = streq(part->subtype, "digest");
	struct delim d, nd;

	for (;;) {
		struct mime_part *c = NULL;
		const char *end;

		if (ps->full)
			return e;
		if (!delim_find(s, e, own, &d)) {
			part->flags |= MIME_F_UNCLOSED;
			return e;
		}
		if (d.which != own) {
			part->flags |= MIME_F_UNCLOSED;
			return d.line;
		}
		if (d.close)
			return d.next;
		/* Nothing at all between two delimiter lines (or before the end) is no part, as
		 * GMime reads it: there is no header block, not even the empty line of one. */
		if (d.next == e || delim_at(d.next, e, own, &nd)) {
			s = d.next;
			continue;
		}
		end = entity_parse(ps, part, d.next, e, part->depth + 1, in_digest, own, &c);
		if (c)
			child_append(part, &tail, c);
		s = end > d.next ? end : d.next;
	}
}

/* Reserve decode room, honouring max_decoded; returns the input length to decode. */
static size_t decode_budget(struct mime_parser *ps, struct mime_part *part, size_t in_len,
                            int base64)
{
	size_t left = ps->lim.max_decoded - ps->decoded_total;
	size_t out_bound = base64 ? in_len / 4 * 3 + 3 : in_len;

	if (out_bound <= left)
		return in_len;
	part->flags |= MIME_F_DECODE_LIMIT;
	ps->msg->flags |= MIME_F_DECODE_LIMIT;
	return base64 ? left / 3 * 4 : left;
}

static int link_cb(void *arg, const char *url, size_t ulen, const char *text, size_t tlen);

struct link_ctx {
	struct mime_parser *ps;
	struct mime_part *part;
};

static int link_cb(void *arg, const char *url, size_t ulen, const char *text, size_t tlen)
{
	struct link_ctx *lc = arg;

	return mime_urls_add(&lc->ps->urls, url, ulen, text, tlen, lc->part);
}

/* uuencode/yEnc blocks in a plain text body become child leaves. */
static void embedded_extract(struct mime_parser *ps, struct mime_part *part)
{
	const char *p = (const char *)part->content;
	size_t len = part->content_len, from = 0;
	struct mime_part *tail = NULL;
	struct mime_embedded em;

	while (!ps->full && mime_embedded_find(p, len, from, &em)) {
		struct mime_part *c;
		unsigned bad = 0;
		unsigned char *out;
		size_t in = em.data_end - em.data, n;

		from = em.end > from ? em.end : from + 1;
		if (ps->msg->nparts >= ps->lim.max_parts) {
			part->flags |= MIME_F_PARTS_LIMIT;
			ps->msg->flags |= MIME_F_PARTS_LIMIT;
			return;
		}
		c = arena_zalloc(ps->a, sizeof *c);
		in = decode_budget(ps, part, in, 0);
		out = c ? arena_alloc(ps->a, in + 1) : NULL;
		if (out == NULL ||
		    (c->filename = arena_strndup(ps->a, em.name, em.name_len)) == NULL) {
			parser_full(ps, part);
			return;
		}
		n = em.yenc ? mime_yenc_raw(p + em.data, in, out, &bad)
		            : mime_uu_raw(p + em.data, in, out, &bad);
		out[n] = '\0';
		ps->decoded_total += n;
		c->depth = part->depth + 1;
		c->index = ps->msg->nparts++;
		c->raw_body = (struct slice){p + em.start, em.end - em.start};
		c->raw_headers = (struct slice){p + em.start, 0};
		c->type = "application";
		c->subtype = "octet-stream";
		c->charset = "";
		c->disposition = "attachment";
		c->encoding = em.yenc ? MIME_ENC_YENC : MIME_ENC_UUENCODE;
		c->decoded = c->content = out;
		c->decoded_len = c->content_len = n;
		c->embedded = 1;
		if (bad || em.data_end == em.end)
			c->flags |= MIME_F_BAD_ENCODING;
		child_append(part, &tail, c);
	}
}

/* Transfer-decode a leaf, then the text work for text parts. */
static void leaf_decode(struct mime_parser *ps, struct mime_part *part)
{
	const char *in = part->raw_body.p;
	size_t in_len = part->raw_body.len, n;
	unsigned bad = 0;
	unsigned char *out;
	int r;

	switch (part->encoding) {
	case MIME_ENC_BASE64:
		in_len = decode_budget(ps, part, in_len, 1);
		out = arena_alloc(ps->a, in_len / 4 * 3 + 4);
		if (out == NULL)
			goto full;
		n = mime_base64_raw(in, in_len, out, &bad);
		break;
	case MIME_ENC_QP:
		in_len = decode_budget(ps, part, in_len, 0);
		out = arena_alloc(ps->a, in_len + 1);
		if (out == NULL)
			goto full;
		n = mime_qp_raw(in, in_len, out, &bad);
		break;
	case MIME_ENC_UUENCODE:
	case MIME_ENC_YENC: {
		struct mime_embedded em;

		/* The body is one block; without a begin line, all of it is data. */
		if (mime_embedded_find(in, in_len, 0, &em)) {
			in += em.data;
			in_len = em.data_end - em.data;
		}
		in_len = decode_budget(ps, part, in_len, 0);
		out = arena_alloc(ps->a, in_len + 1);
		if (out == NULL)
			goto full;
		n = part->encoding == MIME_ENC_YENC ? mime_yenc_raw(in, in_len, out, &bad)
		                                    : mime_uu_raw(in, in_len, out, &bad);
		break;
	}
	default:
		in_len = decode_budget(ps, part, in_len, 0);
		out = arena_alloc(ps->a, in_len + 1);
		if (out == NULL)
			goto full;
		memcpy(out, in, in_len);
		n = in_len;
		break;
	}
	if (n > ps->lim.max_decoded - ps->decoded_total) {
		n = ps->lim.max_decoded - ps->decoded_total;
		part->flags |= MIME_F_DECODE_LIMIT;
	}
	out[n] = '\0';
	ps->decoded_total += n;
	if (bad)
		part->flags |= MIME_F_BAD_ENCODING;
	part->content = part->decoded = out;
	part->content_len = part->decoded_len = n;

	if (!streq(part->type, "text"))
		return;
	/* Charset to UTF-8, unless the bytes already are. */
	if (!(mime_charset_is_utf8ish(part->charset) && mime_utf8_valid((const char *)out, n))) {
		buf_reset(&ps->scratch);
		r = mime_charset_to_utf8(part->charset, (const char *)out, n, &ps->scratch);
		if (r != 0)
			part->flags |= MIME_F_BAD_CHARSET;
		if (r >= 0) {
			unsigned char *u = (unsigned char *)arena_strndup(
			    ps->a, ps->scratch.p ? ps->scratch.p : "", ps->scratch.len);

			if (u == NULL)
				goto full;
			part->decoded = u;
			part->decoded_len = ps->scratch.len;
		}
	}
	if (streq(part->subtype, "html")) {
		struct link_ctx lc = {ps, part};

		buf_reset(&ps->scratch);
		r = mime_html_to_text((const char *)part->decoded, part->decoded_len, &ps->scratch,
		                      link_cb, &lc);
		if (r == -ENOMEM && ps->urls.full)
			goto full;
		part->text =
		    arena_strndup(ps->a, ps->scratch.p ? ps->scratch.p : "", ps->scratch.len);
		if (part->text == NULL)
			goto full;
		part->text_len = ps->scratch.len;
		if (mime_urls_scan(&ps->urls, part->text, part->text_len, part) < 0)
			goto full;
	} else if (streq(part->subtype, "plain")) {
		part->text = (const char *)part->decoded;
		part->text_len = part->decoded_len;
		if (mime_urls_scan(&ps->urls, part->text, part->text_len, part) < 0)
			goto full;
		if (part->encoding != MIME_ENC_UUENCODE && part->encoding != MIME_ENC_YENC)
			embedded_extract(ps, part);
	}
	return;
full:
	parser_full(ps, part);
}

/* message/rfc822 and kin: the body (transfer-decoded if a sender encoded it) is one message. */
static int is_message(const struct mime_part *part)
{
	return streq(part->type, "message") &&
	       (streq(part->subtype, "rfc822") || streq(part->subtype, "news") ||
	        streq(part->subtype, "global"));
}

/*
 * One entity from p: headers, then its body up to the next delimiter of a boundary in stk (or
 * e). *out gets the part (NULL past the parts limit or when the arena is full). Returns where
 * the entity ended, so the enclosing multipart goes on from there.
 */
static const char *entity_parse(struct mime_parser *ps, struct mime_part *parent, const char *p,
                                const char *e, unsigned depth, int in_digest,
                                const struct bstack *stk, struct mime_part **out)
{
	struct mime_part *part = NULL;
	const char *le, *body, *be;
	size_t body_off, raw_len;
	struct delim d;

	*out = NULL;
	le = delim_find(p, e, stk, &d) ? d.line : e;
	if (ps->full)
		return e;
	if (ps->msg->nparts >= ps->lim.max_parts) {
		ps->msg->flags |= MIME_F_PARTS_LIMIT;
		if (parent)
			parent->flags |= MIME_F_PARTS_LIMIT;
		return le;
	}
	part = arena_zalloc(ps->a, sizeof *part);
	if (part == NULL)
		goto full;
	*out = part;
	part->parent = parent;
	part->depth = depth;
	part->index = ps->msg->nparts++;
	/* An mbox "From " envelope line before the headers is not a header. */
	if (depth == 0 && le - p >= 5 && memcmp(p, "From ", 5) == 0) {
		const char *nl = memchr(p, '\n', (size_t)(le - p));

		p = nl ? nl + 1 : le;
	}
	body_off =
	    mime_headers_parse(ps->a, p, (size_t)(le - p), &part->headers, &raw_len, &part->flags);
	if (body_off == (size_t)-1)
		goto full;
	body = p + body_off;
	part->raw_headers = (struct slice){p, raw_len};
	if (part_fields(ps, part, in_digest) < 0)
		goto full;

	if (streq(part->type, "multipart")) {
		if (part->boundary == NULL || part->boundary[0] == '\0') {
			/* RFC 2045 section 5.2: an unusable Content-Type means text/plain, which
			 * keeps the bytes in front of the content scanners. */
			part->flags |= MIME_F_NO_BOUNDARY;
			part->type = "text";
			part->subtype = "plain";
		} else if (depth >= ps->lim.max_depth) {
			part->flags |= MIME_F_DEPTH_LIMIT;
		} else {
			struct bstack own = {part->boundary, strlen(part->boundary), stk};
			const char *end;

			part->container = 1;
			end = multipart_body(ps, part, body, e, &own);
			part->raw_body = (struct slice){body, (size_t)(end - body)};
			return end;
		}
	}
	/* The line break before a delimiter belongs to the delimiter (RFC 2046 5.1.1). */
	be = le;
	if (le < e) {
		if (be > body && be[-1] == '\n')
			be--;
		if (be > body && be[-1] == '\r')
			be--;
	}
	part->raw_body = (struct slice){body, (size_t)(be - body)};
	if (is_message(part) && depth < ps->lim.max_depth) {
		struct mime_part *c = NULL;

		leaf_decode(ps, part);
		if (ps->full)
			return e;
		part->container = 1;
		entity_parse(ps, part, (const char *)part->content,
		             (const char *)part->content + part->content_len, depth + 1, 0, NULL,
		             &c);
		part->children = c;
		part->content = NULL;
		part->content_len = 0;
		return le;
	}
	if (is_message(part))
		part->flags |= MIME_F_DEPTH_LIMIT;
	leaf_decode(ps, part);
	return le;
full:
	parser_full(ps, part);
	return e;
}

/* Flags of every part into the message; all text leaves joined into msg->text. */
static void msg_finish(struct mime_parser *ps)
{
	struct mime_msg *msg = ps->msg;
	const struct mime_part *pt;
	size_t total = 0, off = 0;
	char *t;

	for (pt = msg->root; pt; pt = mime_part_next(pt)) {
		msg->flags |= pt->flags;
		if (pt->text && !pt->embedded)
			total += pt->text_len + 1;
	}
	msg->urls = ps->urls.head;
	msg->nurls = ps->urls.n;
	if (ps->urls.full)
		msg->flags |= MIME_F_ARENA_FULL;
	t = arena_alloc(ps->a, total + 1);
	if (t == NULL) {
		msg->flags |= MIME_F_ARENA_FULL;
		msg->text = "";
		msg->text_len = 0;
		return;
	}
	for (pt = msg->root; pt; pt = mime_part_next(pt)) {
		if (pt->text == NULL || pt->embedded)
			continue;
		if (off)
			t[off++] = '\n';
		memcpy(t + off, pt->text, pt->text_len);
		off += pt->text_len;
	}
	t[off] = '\0';
	msg->text = t;
	msg->text_len = off;
}

/*
 * mime.h promises that a part's type, subtype, charset, filename and disposition are never
 * NULL. When the arena's cap stops the parse half-way through a part, some were never set:
 * give them the documented defaults, so no scanner dereferences NULL on hostile input (found by
 * fuzz_mime on a 64 KiB prefix of a corpus message with tiny limits; input in tests/data).
 */
static void parts_fill_defaults(struct mime_msg *msg)
{
	for (struct mime_part *pt = msg->root; pt;
	     pt = (struct mime_part *)mime_part_next(pt)) {
		if (pt->type == NULL)
			pt->type = "text";
		if (pt->subtype == NULL)
			pt->subtype = "plain";
		if (pt->charset == NULL)
			pt->charset = "";
		if (pt->filename == NULL)
			pt->filename = "";
		if (pt->disposition == NULL)
			pt->disposition = "";
	}
}

struct mime_msg *mime_parse(struct arena *a, const char *p, size_t len,
                            const struct mime_limits *lim)
{
	struct mime_parser ps;
	struct mime_msg *msg = arena_zalloc(a, sizeof *msg);

	if (msg == NULL)
		return NULL;
	memset(&ps, 0, sizeof ps);
	ps.a = a;
	ps.msg = msg;
	ps.lim = lim ? *lim : mime_limits_default;
	if (ps.lim.max_depth > MIME_DEPTH_HARD_MAX)
		ps.lim.max_depth = MIME_DEPTH_HARD_MAX;
	buf_init(&ps.scratch, MIME_TEXT_MAX);
	mime_urls_init(&ps.urls, a);
	entity_parse(&ps, NULL, p, p + len, 0, 0, NULL, &msg->root);
	if (msg->root == NULL) {
		buf_free(&ps.scratch);
		return NULL;
	}
	parts_fill_defaults(msg);
	msg_finish(&ps);
	buf_free(&ps.scratch);
	return msg;
}
