/*
 * envelope - the queue file format: encoding the records smtpd writes and parsing a whole file
 * back. Pure functions over memory (no I/O), so the loader can be fuzzed and unit-tested.
 *
 * A queue file (version 1) is, in order (docs/queue.md has the full description):
 *
 *   MXQ 1\n                          magic and version
 *   A <sec>.<usec>\n                 arrival time
 *   T C N H P F V Z <value>\n        tenant, client ip, client host, helo, proto, sender,
 *                                    DSN RET, DSN ENVID (percent-encoded values)
 *   O <smtputf8> <8bit>\n
 *   Q <attempts:10> <next_try:20>\n  fixed width, rewritten in place by qmgr
 *   L <last error, padded>\n         fixed width (ENVELOPE_ERR_WIDTH), rewritten in place
 *   R <state> <address>\n            one per recipient; the state byte is rewritten in place
 *   M\n                              the message follows, byte for byte
 *   <message>
 *   W <verdict> <action> <score> <unscanned>\n    trailer: the verdict
 *   G <virus>\n                      optional
 *   Y <name> <score> <detail>\n      one per symbol
 *   END <trailer offset:20>\n        the closing record; a file without it is never delivered
 *
 * The END record has a fixed size and sits at the very end, so the loader finds the trailer
 * without reading the message. Limits: values are capped at ENVELOPE_VALUE_MAX bytes, the number
 * of recipients at ENVELOPE_RCPTS_MAX.
 */
#ifndef MX_QUEUE_ENVELOPE_H
#define MX_QUEUE_ENVELOPE_H

#include "core/buf.h"
#include "scan/scan.h"

#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_MAGIC "MXQ 1\n"
#define ENVELOPE_VERSION 1
/* An SMTP path is at most 256 octets (RFC 5321 4.5.3.1.3); 1 KiB leaves room for escaping and
 * for HELO names and client host names, which are shorter still. */
#define ENVELOPE_VALUE_MAX 1024
/* The config allows up to 100000 recipients per message (smtp.max_recipients). */
#define ENVELOPE_RCPTS_MAX 100000
/* Room for the last delivery error (one SMTP reply line is at most 512 octets; we keep the
 * first part, which carries the code and the reason). */
#define ENVELOPE_ERR_WIDTH 200
/* "END " + 20 digits + "\n". */
#define ENVELOPE_END_LEN 25

/* Per-recipient state: one byte in the file. */
#define RCPT_PENDING 'P' /* not yet delivered */
#define RCPT_DONE 'D'    /* accepted by the route's server */
#define RCPT_FAILED 'F'  /* permanent failure; its DSN has been queued */
#define RCPT_EXPIRED 'X' /* max_lifetime passed; its DSN has been queued */

struct envelope_rcpt {
	char *addr;
	char state;
	uint64_t state_off; /* file offset of the state byte */
};

/* A parsed queue file. Strings are malloc'd and NUL-terminated; free with envelope_free(). */
struct envelope {
	int version;
	uint64_t arrival_sec, arrival_usec;
	char *tenant, *client_ip, *client_host, *helo, *proto, *sender, *ret, *envid;
	int smtputf8, body_8bit;
	uint32_t attempts;
	uint64_t next_try; /* unix time; 0 = now */
	uint64_t q_off;    /* file offset of the Q record's value (attempts) */
	char last_error[ENVELOPE_ERR_WIDTH + 1];
	uint64_t l_off; /* file offset of the L record's value */
	struct envelope_rcpt *rcpts;
	size_t nrcpts;
	uint64_t body_off, body_len;
	uint64_t file_size;
	struct scan_result verdict;
};

/* The head, as smtpd knows it at MAIL/RCPT time. */
struct envelope_head {
	uint64_t arrival_sec, arrival_usec;
	const char *tenant, *client_ip, *client_host, *helo, *proto, *sender, *ret, *envid;
	int smtputf8, body_8bit;
	const char *const *rcpts;
	size_t nrcpts;
};

/* Append the head records (through "M\n") to b. 0, -EINVAL (too long / too many), -ENOSPC. */
int envelope_head_encode(struct buf *b, const struct envelope_head *h);
/* Append the trailer and the END record; trailer_off is the file offset the trailer starts at. */
int envelope_trailer_encode(struct buf *b, const struct scan_result *v, uint64_t trailer_off);
/* The Q record value (exactly ENVELOPE_Q_WIDTH bytes) for in-place rewriting. */
#define ENVELOPE_Q_WIDTH 31
void envelope_q_format(char out[ENVELOPE_Q_WIDTH + 1], uint32_t attempts, uint64_t next_try);
/* The L record value (exactly ENVELOPE_ERR_WIDTH bytes, padded with spaces). */
void envelope_l_format(char out[ENVELOPE_ERR_WIDTH + 1], const char *err);

/*
 * Parse a whole file image. 0; -EBADMSG when the END record is missing or points nowhere (the
 * file is incomplete: never deliver it); -EINVAL for any other malformation; -ENOMEM.
 * On error *e is left freed (envelope_free is safe to call again).
 */
int envelope_parse(const char *p, size_t len, struct envelope *e);
/* True when the file image ends with a well-formed END record (cheap check). */
int envelope_has_end(const char *p, size_t len);
void envelope_free(struct envelope *e);

const char *envelope_verdict_name(enum scan_verdict v);
const char *envelope_action_name(enum policy_action a);

#endif
