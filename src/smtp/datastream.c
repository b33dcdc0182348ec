/*
 * datastream - see datastream.h. States name what the decoder has seen of the current line.
 */
#include "smtp/datastream.h"

#include <string.h>

enum {
	ST_BOL,    /* at the beginning of a line (also right after DATA) */
	ST_DOT,    /* a '.' at the beginning of a line, held back */
	ST_DOT_CR, /* ".\r" at the beginning of a line */
	ST_MID,    /* inside a line */
	ST_CR,     /* after a CR (emitted already; only LF may follow) */
};

void smtp_data_init(struct smtp_data_decoder *d, enum smtp_data_mode mode, size_t max_line)
{
	d->mode = mode;
	d->state = ST_BOL;
	d->line_len = 0;
	d->max_line = max_line;
	d->line_too_long = 0;
	d->bad_byte = 0;
	d->bytes_out = 0;
}

static void flush(struct smtp_data_decoder *d, const char *from, const char *to,
                  smtp_data_emit emit, void *arg)
{
	if (to > from) {
		emit(arg, from, (size_t)(to - from));
		d->bytes_out += (uint64_t)(to - from);
	}
}

enum smtp_data_status smtp_data_decode(struct smtp_data_decoder *d, const char *p, size_t len,
                                       size_t *consumed, smtp_data_emit emit, void *arg)
{
	const char *q = p, *end = p + len, *run = p;
	enum smtp_data_status st = SMTP_DATA_MORE;
	char ch = 0;

	while (q < end) {
		if (d->state == ST_MID) {
			/* Inside a line only CR, LF and NUL matter: skip to the first of them with
			 * memchr (each pass is vectorised), then let the switch take that byte. */
			const char *cr = memchr(q, '\r', (size_t)(end - q));
			size_t span = (size_t)((cr ? cr : end) - q);
			const char *lf = span ? memchr(q, '\n', span) : NULL;

			if (lf)
				span = (size_t)(lf - q);
			if (span > 0 && (lf = memchr(q, '\0', span)) != NULL)
				span = (size_t)(lf - q);
			if (span > 0) {
				d->line_len += span;
				if (d->line_len > d->max_line)
					d->line_too_long = 1;
				q += span;
				continue;
			}
		}
		ch = *q;

		if (++d->line_len > d->max_line)
			d->line_too_long = 1;
		switch (d->state) {
		case ST_BOL:
		case ST_MID:
			if (ch == '.' && d->state == ST_BOL && d->mode == SMTP_DATA_DOT) {
				flush(d, run, q, emit, arg);
				run = q + 1; /* the dot is held back */
				d->state = ST_DOT;
			} else if (ch == '\r') {
				d->state = ST_CR;
			} else if (ch == '\n' || ch == '\0') {
				goto bad;
			} else {
				d->state = ST_MID;
			}
			break;
		case ST_DOT:
			if (ch == '\r') {
				d->state = ST_DOT_CR;
				run = q + 1;
			} else if (ch == '\n' || ch == '\0') {
				goto bad;
			} else {
				/* RFC 5321 4.5.2: drop the first dot; ".." keeps one. */
				d->state = ST_MID;
			}
			break;
		case ST_DOT_CR:
			if (ch != '\n')
				goto bad;
			q++;
			st = SMTP_DATA_END;
			run = q;
			goto out;
		case ST_CR:
			if (ch != '\n')
				goto bad;
			d->state = ST_BOL;
			d->line_len = 0;
			break;
		}
		q++;
	}
out:
	flush(d, run, q, emit, arg);
	*consumed = (size_t)(q - p);
	return st;
bad:
	/* Nothing of the bad line past the last good byte is emitted; the message is void anyway.
	 */
	d->bad_byte = ch;
	if (d->state == ST_CR || d->state == ST_DOT_CR)
		d->bad_byte = '\r';
	*consumed = (size_t)(q - p) + 1;
	return SMTP_DATA_BAD;
}

enum smtp_data_status smtp_data_finish(struct smtp_data_decoder *d, smtp_data_emit emit, void *arg)
{
	if (d->state == ST_CR) {
		d->bad_byte = '\r';
		return SMTP_DATA_BAD;
	}
	if (d->state == ST_MID) {
		emit(arg, "\r\n", 2);
		d->bytes_out += 2;
		d->state = ST_BOL;
	}
	return SMTP_DATA_END;
}
