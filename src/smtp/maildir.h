/*
 * maildir - the sink's backend: every accepted message becomes one file in a Maildir
 * (DIR/tmp/NAME, then rename into DIR/new/NAME), with the envelope prepended as header lines
 * "X-Sink-Mail-From: <addr>" and one "X-Sink-Rcpt-To: <addr>" per accepted recipient.
 * Failure rules (--fail ADDR=REPLY) answer a chosen reply to RCPT of an address, optionally
 * only for its first N attempts (--fail-times N).
 *
 * No fsync: the sink stands in for a client's server in tests and benchmarks, where speed
 * matters and a crash loses nothing anyone cares about.
 */
#ifndef MX_SMTP_MAILDIR_H
#define MX_SMTP_MAILDIR_H

#include "smtp/server.h"

/* Failure rules a sink takes: plenty for any test. */
#define MAILDIR_FAIL_MAX 64

struct smtp_maildir;

/* Create DIR/{tmp,new,cur} as needed. NULL with a log line. */
struct smtp_maildir *smtp_maildir_open(const char *dir);
void smtp_maildir_close(struct smtp_maildir *md);
/* "user@x=451 4.3.0 try later". 0 or -EINVAL (bad spec), -ENOSPC (too many rules). */
int smtp_maildir_add_fail(struct smtp_maildir *md, const char *spec);
/* Each rule applies to its first n attempts only; 0 (the default) = always. */
void smtp_maildir_set_fail_times(struct smtp_maildir *md, unsigned long n);
/* Fill in a server backend storing into md (md must outlive the server). */
void smtp_maildir_backend(struct smtp_maildir *md, struct smtp_server_backend *b);
/* Messages stored so far. */
unsigned long long smtp_maildir_count(const struct smtp_maildir *md);

#endif
