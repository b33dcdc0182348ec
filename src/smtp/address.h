/*
 * address - the paths of MAIL FROM and RCPT TO (RFC 5321 4.1.2), parsed strictly.
 *
 * The parser accepts the RFC grammar (Dot-string or Quoted-string local part, domain or
 * address literal, optional source route) and reports, as flags, every form that is legal
 * syntax but a relay trick when it names a recipient: a source route, '%' or '!' in the local
 * part, an '@' inside a quoted local part, an address literal, a missing domain. The session
 * decides what each flag means for MAIL and RCPT; this file chooses no reply codes.
 *
 * Limits: a path is at most SMTP_PATH_MAX octets with its brackets (RFC 5321 4.5.3.1.3).
 */
#ifndef MX_SMTP_ADDRESS_H
#define MX_SMTP_ADDRESS_H

#include "core/buf.h"

#include <stddef.h>

/* RFC 5321 4.5.3.1.3: 256 octets for a path including the angle brackets. */
#define SMTP_PATH_MAX 256
/* RFC 5321 4.5.3.1.1/2: 64 for the local part, 255 for the domain. */
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255

enum smtp_addr_flag {
	SMTP_ADDR_ROUTE = 1 << 0,     /* "<@a,@b:user@c>" */
	SMTP_ADDR_PERCENT = 1 << 1,   /* "user%other@dom" */
	SMTP_ADDR_BANG = 1 << 2,      /* "host!user@dom" */
	SMTP_ADDR_QUOTED_AT = 1 << 3, /* "\"a@b\"@dom" */
	SMTP_ADDR_LITERAL = 1 << 4,   /* "user@[192.0.2.1]" */
	SMTP_ADDR_NODOMAIN = 1 << 5,  /* "<user>", "<postmaster>" */
	SMTP_ADDR_UTF8 = 1 << 6,      /* non-ASCII (RFC 6531), needs SMTPUTF8 */
	SMTP_ADDR_QUOTED = 1 << 7,    /* quoted local part */
	SMTP_ADDR_NULL = 1 << 8,      /* "<>" */
};

struct smtp_addr {
	char addr[SMTP_PATH_MAX]; /* "local@domain" without route or brackets; "" for <> */
	size_t local_len;         /* bytes of the local part in addr */
	const char *domain;       /* points into addr after '@', or "" */
	unsigned flags;           /* enum smtp_addr_flag */
};

/*
 * Parse a path at the start of s ("<...>", leading spaces allowed). On success *rest is the text
 * after '>' (the ESMTP parameters). 0, or -EINVAL (syntax), -ENAMETOOLONG (a limit above).
 */
int smtp_addr_parse(struct slice s, struct smtp_addr *a, struct slice *rest);

/* Is p[0..len) well-formed UTF-8 with no overlongs or surrogates? 1 or 0. */
int smtp_utf8_valid(const char *p, size_t len);

#endif
