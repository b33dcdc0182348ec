/*
 * mime - our own MIME parser: RFC 5322 headers, RFC 2045-2049 MIME, RFC 2231 parameters,
 * RFC 2047 encoded words; decoders (base64, quoted-printable, uuencode, yEnc); charsets to UTF-8;
 * URL extraction from text and HTML.
 *
 * Input is one message as (p, len), typically an mmap of the spool: raw slices point into it and
 * are never copied. Everything the parser makes (the part tree, decoded bodies, header values)
 * lives in the caller's arena and dies with it. Limits (parts, depth, decoded bytes) are never
 * fatal: hitting one sets a MIME_F_* flag on the message and parsing stops descending.
 * mime_parse() returns NULL only when the arena cannot hold even the root.
 */
#ifndef MX_MIME_MIME_H
#define MX_MIME_MIME_H

#include "core/arena.h"
#include "core/buf.h"

#include <stddef.h>

/* Malformations and limits: flags on a part or on the whole message. */
enum {
	MIME_F_DEPTH_LIMIT = 1u << 0,  /* nesting deeper than limits.max_depth */
	MIME_F_PARTS_LIMIT = 1u << 1,  /* more parts than limits.max_parts */
	MIME_F_DECODE_LIMIT = 1u << 2, /* decoded bytes over limits.max_decoded */
	MIME_F_BAD_HEADER = 1u << 3,   /* a header line with no colon, or 8-bit in names */
	MIME_F_NO_BOUNDARY = 1u << 4,  /* multipart without a usable boundary parameter */
	MIME_F_UNCLOSED = 1u << 5,     /* multipart with no closing delimiter */
	MIME_F_BAD_ENCODING = 1u << 6, /* invalid base64/qp/uu/yenc data */
	MIME_F_BAD_CHARSET = 1u << 7,  /* unknown charset or invalid bytes in it */
	MIME_F_8BIT_HEADER = 1u << 8,  /* raw 8-bit bytes in a header */
	MIME_F_TRUNCATED = 1u << 9,    /* headers never ended */
	MIME_F_ARENA_FULL = 1u << 10,  /* the arena's byte cap stopped the parse */
};

struct mime_limits {
	unsigned max_depth; /* multipart/message nesting; deeper parts are kept undecoded */
	unsigned max_parts; /* total parts */
	size_t max_decoded; /* total decoded bytes over all parts */
};
/* Defaults: depth 20, 1000 parts, 64 MiB decoded. */
extern const struct mime_limits mime_limits_default;

struct mime_header {
	struct slice name; /* as written, no colon */
	struct slice raw;  /* raw value, folded, as in the message */
	const char *value; /* unfolded, RFC 2047 decoded, UTF-8, NUL-terminated (arena) */
	struct mime_header *next;
};

enum mime_encoding {
	MIME_ENC_7BIT,
	MIME_ENC_8BIT,
	MIME_ENC_BINARY,
	MIME_ENC_BASE64,
	MIME_ENC_QP,
	MIME_ENC_UUENCODE,
	MIME_ENC_YENC,
	MIME_ENC_OTHER
};

struct mime_part {
	struct mime_part *parent, *children, *next; /* tree: first child and next sibling */
	unsigned depth;                             /* 0 for the root */
	unsigned index;                             /* pre-order position, 0 for the root */
	unsigned flags;                             /* MIME_F_* seen in this part */

	struct mime_header *headers; /* in order; NULL for none */
	struct slice raw_headers;    /* header block as in the message */
	struct slice raw_body;       /* body as in the message (still transfer-encoded) */

	/* From Content-Type / Content-Disposition, lowercased where case does not matter;
	 * never NULL (empty string when absent). type defaults to "text", subtype to "plain"
	 * (or "message/rfc822" inside multipart/digest). */
	const char *type, *subtype;
	const char *charset;     /* lowercased; "" when absent */
	const char *boundary;    /* multipart only */
	const char *filename;    /* disposition filename, else Content-Type name; RFC 2231/2047
	                            decoded, UTF-8 */
	const char *disposition; /* "inline", "attachment" or "" */
	enum mime_encoding encoding;

	/* Transfer-decoded content of a leaf (binary-safe, with a NUL after it). For text/... parts
	 * the bytes are converted to UTF-8 from charset. NULL for multiparts. For message/rfc822
	 * the enclosed message is parsed as the single child and decoded holds its raw bytes. */
	const unsigned char *decoded;
	size_t decoded_len;
	/* Leaves found by uudecode/yEnc inside a text body become extra children of that part
	 * with type "application", subtype "octet-stream" and their embedded file name. */

	/* Transfer-decoded bytes before any charset conversion (what GMime calls the content);
	 * the same pointer as decoded when no conversion was needed. NULL for containers. */
	const unsigned char *content;
	size_t content_len;
	/* What a reader sees of a text/plain or text/html leaf (UTF-8; HTML reduced to text),
	 * NUL-terminated; NULL for other parts. */
	const char *text;
	size_t text_len;
	int container; /* 1 when parsed into children: a split multipart or a parsed message */
	int embedded;  /* 1 for a leaf found by uudecode/yEnc inside a text body */
};

struct mime_url {
	const char *url;  /* as found, entities decoded, NUL-terminated */
	const char *host; /* lowercased host, no port; "" when none */
	const char *text; /* HTML anchor text it was the href of, or NULL */
	const struct mime_part *part;
	struct mime_url *next;
};

struct mime_msg {
	struct mime_part *root;
	unsigned nparts;
	unsigned flags;        /* union of all parts' flags plus message-level ones */
	struct mime_url *urls; /* in order of appearance, deduplicated by url string */
	unsigned nurls;
	/* All text/plain and text/html leaves as UTF-8, HTML reduced to visible text, joined with
	 * "\n": what content scanners (rules "body", bayes, fuzzy) read. */
	const char *text;
	size_t text_len;
};

struct mime_msg *mime_parse(struct arena *a, const char *p, size_t len,
                            const struct mime_limits *lim);

/* First header of that name (case-insensitive) in a part's header list; NULL if none. */
const struct mime_header *mime_header_find(const struct mime_part *part, const char *name);
/* Its decoded value, or NULL. */
const char *mime_header_get(const struct mime_part *part, const char *name);
/* Pre-order walk: the next part after cur (NULL at the end). Start with msg->root. */
const struct mime_part *mime_part_next(const struct mime_part *cur);
/* A leaf: neither multipart nor a parsed message/rfc822 container. */
int mime_part_is_leaf(const struct mime_part *part);

/* Decoders, usable alone (tests, fuzzing). Each appends decoded bytes to out and returns the
 * number of malformations seen (0 = clean); -ENOSPC when out's maximum is reached. */
int mime_decode_base64(const char *p, size_t len, struct buf *out);
int mime_decode_qp(const char *p, size_t len, struct buf *out);
/* Convert from a charset name to UTF-8 (iconv); unknown charsets copy bytes and return 1. */
int mime_charset_to_utf8(const char *charset, const char *p, size_t len, struct buf *out);
/* Decode RFC 2047 encoded words in a header value into UTF-8. */
int mime_decode_words(const char *p, size_t len, struct buf *out);

#endif
