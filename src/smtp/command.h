/*
 * command - one SMTP command line split into its verb and argument, and ESMTP parameter
 * iteration (RFC 5321 4.1.1, 4.1.2 esmtp-param). Pure functions over slices; no allocation.
 *
 * The verb table itself lives in session.c beside the handlers ({verb, check, proceed}); this
 * file only knows the lexical rules.
 */
#ifndef MX_SMTP_COMMAND_H
#define MX_SMTP_COMMAND_H

#include "core/buf.h"

/* Longest verb we know ("STARTTLS", "XCLIENT"). */
#define SMTP_VERB_MAX 8

/*
 * Split line (without its CRLF) at the first space: verb and the argument after the spaces.
 * 0, or -EINVAL when the line is empty, the verb is not letters, or the line holds a control
 * byte (CR, LF, NUL, ...); TAB is allowed in arguments as a separator.
 */
int smtp_cmd_split(struct slice line, struct slice *verb, struct slice *arg);

/*
 * "FROM:<a@b> SIZE=1" with keyword "FROM": skip the keyword, the colon and spaces; *rest gets
 * the path and what follows. 0 or -EINVAL.
 */
int smtp_cmd_keyword(struct slice arg, const char *keyword, struct slice *rest);

/*
 * Next ESMTP parameter "KEY[=VALUE]" from *params (space separated); advances *params. 1 with
 * key/value set (value.len == 0 when absent), 0 at the end, -EINVAL on malformed input
 * (empty key, key not alnum/'-', value with control bytes, space, or '=').
 */
int smtp_param_next(struct slice *params, struct slice *key, struct slice *value);

/* Decode an RFC 3461 xtext value ("+2B" escapes) in place over out (size outsz). 0 or -EINVAL. */
int smtp_xtext_decode(struct slice v, char *out, size_t outsz);

#endif
