/*
 * decode - transfer decoders working on raw output memory (internal to src/mime).
 *
 * Each *_raw function decodes (p, len) into out, which the caller sized with the bound the
 * function documents, and returns the number of bytes written; *bad counts malformations.
 * Writing straight into the arena this way costs one pass and no intermediate buffer.
 */
#ifndef MX_MIME_DECODE_H
#define MX_MIME_DECODE_H

#include <stddef.h>

/* Output never exceeds len bytes (base64 shrinks by 3/4, qp never grows). */
size_t mime_base64_raw(const char *p, size_t len, unsigned char *out, unsigned *bad);
size_t mime_qp_raw(const char *p, size_t len, unsigned char *out, unsigned *bad);

/* uuencode / yEnc: one encoded file found inside a text body. */
struct mime_embedded {
	size_t start, end;     /* offsets of the whole block (begin line .. end line) in the text */
	size_t data, data_end; /* offsets of the encoded lines */
	const char *name;      /* file name as written (not NUL-terminated), may be empty */
	size_t name_len;
	int yenc; /* 0 uuencode, 1 yEnc */
};

/* Find the first uuencode or yEnc block at or after offset from; 1 when found, else 0. */
int mime_embedded_find(const char *p, size_t len, size_t from, struct mime_embedded *e);
/* Decode the encoded lines of a block; output never exceeds data_end - data bytes. */
size_t mime_uu_raw(const char *p, size_t len, unsigned char *out, unsigned *bad);
size_t mime_yenc_raw(const char *p, size_t len, unsigned char *out, unsigned *bad);

#endif
