/*
 * datastream - the message bytes after DATA (dot-stuffed, ended by <CRLF>.<CRLF>) or inside
 * BDAT chunks (counted, no stuffing), decoded by one byte-level state machine that survives any
 * split of the input into reads.
 *
 * Smuggling rule: only <CRLF>.<CRLF> ends DATA. A bare LF, a bare CR or a NUL anywhere in the
 * message is a fatal protocol error (SMTP_DATA_BAD), never an end of data and never passed on:
 * a message that a later hop could read with a different end is not accepted at all. The same
 * check runs over BDAT chunks, because what we store is relayed later with DATA.
 *
 * Output is zero-copy where possible: runs of the input are handed to the emit callback, broken
 * only where a stuffed dot is removed. Lines longer than max_line (CRLF counted) are flagged,
 * not cut.
 */
#ifndef MX_SMTP_DATASTREAM_H
#define MX_SMTP_DATASTREAM_H

#include <stddef.h>
#include <stdint.h>

enum smtp_data_mode { SMTP_DATA_DOT, SMTP_DATA_CHUNK };

enum smtp_data_status {
	SMTP_DATA_MORE, /* all input consumed, the end not yet seen */
	SMTP_DATA_END,  /* <CRLF>.<CRLF> seen (DOT mode only); *consumed stops after it */
	SMTP_DATA_BAD,  /* bare CR, bare LF or NUL: see bad_byte */
};

/* Receives decoded message bytes. Returns nothing: the caller records write errors itself. */
typedef void (*smtp_data_emit)(void *arg, const char *p, size_t len);

struct smtp_data_decoder {
	enum smtp_data_mode mode;
	int state;
	size_t line_len, max_line;
	int line_too_long;  /* some line exceeded max_line */
	char bad_byte;      /* '\r', '\n' or '\0' after SMTP_DATA_BAD */
	uint64_t bytes_out; /* decoded bytes emitted */
};

void smtp_data_init(struct smtp_data_decoder *d, enum smtp_data_mode mode, size_t max_line);
/*
 * Decode p[0..len). Sets *consumed to the input bytes used (all of them unless END). After BAD,
 * the decoder must not be fed again.
 */
enum smtp_data_status smtp_data_decode(struct smtp_data_decoder *d, const char *p, size_t len,
                                       size_t *consumed, smtp_data_emit emit, void *arg);
/*
 * CHUNK mode, after the LAST chunk: a message ending in a dangling CR is BAD; one whose last
 * line lacks its CRLF gets one emitted (a later DATA relay needs it). SMTP_DATA_END or BAD.
 */
enum smtp_data_status smtp_data_finish(struct smtp_data_decoder *d, smtp_data_emit emit, void *arg);

#endif
