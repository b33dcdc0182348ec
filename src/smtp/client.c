/*
 * smtp client - see client.h. Blocking I/O on one socket with SO_RCVTIMEO/SO_SNDTIMEO, optionally
 * wrapped in an OpenSSL session after STARTTLS. Replies are read line by line from a small input
 * buffer; the message is streamed from the queue file through an output buffer, dot-stuffed.
 */
#include "smtp/client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Output is gathered into writes of this size; input is read in chunks of the same. */
#define SMTP_CLIENT_IO 16384

struct smtp_client {
	int fd;
	SSL *ssl;
	int broken;
	int pipelining, eightbit, starttls, smtputf8;
	char host[256];
	char in[SMTP_CLIENT_IO];
	size_t in_len, in_off;
	char out[SMTP_CLIENT_IO];
	size_t out_len;
};

static void reply_set(struct smtp_reply *r, int code, const char *text)
{
	size_t o = 0;

	r->code = code;
	for (size_t i = 0; text[i] && o + 1 < sizeof r->text; i++) {
		unsigned char ch = (unsigned char)text[i];

		/* Peer text ends up in logs and DSNs: keep printable ASCII only. */
		r->text[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	r->text[o] = '\0';
}

static int io_write(struct smtp_client *c, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w;

		if (c->ssl) {
			int n = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);

			w = n > 0 ? n : -1;
			if (n <= 0)
				errno = EIO;
		} else {
			w = send(c->fd, p, len, MSG_NOSIGNAL);
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			c->broken = 1;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int out_flush(struct smtp_client *c)
{
	int r = io_write(c, c->out, c->out_len);

	c->out_len = 0;
	return r;
}

static int out_put(struct smtp_client *c, const char *p, size_t len)
{
	while (len > 0) {
		size_t n = sizeof c->out - c->out_len;
		int r;

		if (n > len)
			n = len;
		memcpy(c->out + c->out_len, p, n);
		c->out_len += n;
		p += n;
		len -= n;
		if (c->out_len == sizeof c->out && (r = out_flush(c)) < 0)
			return r;
	}
	return 0;
}

static int out_printf(struct smtp_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int out_printf(struct smtp_client *c, const char *fmt, ...)
{
	char line[SMTP_CLIENT_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		return -EINVAL;
	return out_put(c, line, (size_t)n);
}

static int io_fill(struct smtp_client *c)
{
	ssize_t n;

	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_len == sizeof c->in)
		return -EPROTO;
	for (;;) {
		if (c->ssl) {
			int r =
			    SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof c->in - c->in_len));

			n = r > 0 ? r : -1;
			if (r <= 0)
				errno = SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : EIO;
			if (r <= 0 && errno == 0)
				n = 0;
		} else {
			n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n <= 0) {
		c->broken = 1;
		return n == 0 ? -ECONNRESET : (errno == EAGAIN ? -ETIMEDOUT : -errno);
	}
	c->in_len += (size_t)n;
	return 0;
}

/* One line (without CRLF) into line. */
static int read_line(struct smtp_client *c, char *line, size_t linesz)
{
	for (;;) {
		char *nl = memchr(c->in + c->in_off, '\n', c->in_len - c->in_off);
		int r;

		if (nl != NULL) {
			size_t n = (size_t)(nl - (c->in + c->in_off));

			if (n > 0 && c->in[c->in_off + n - 1] == '\r')
				n--;
			if (n >= linesz) {
				c->broken = 1;
				return -EPROTO;
			}
			memcpy(line, c->in + c->in_off, n);
			line[n] = '\0';
			c->in_off = (size_t)(nl - c->in) + 1;
			return 0;
		}
		if (c->in_len - c->in_off >= SMTP_CLIENT_LINE_MAX) {
			c->broken = 1;
			return -EPROTO;
		}
		if ((r = io_fill(c)) < 0)
			return r;
	}
}

/* Read one (possibly multi-line) reply. ehlo != NULL: note the extensions. */
static int read_reply(struct smtp_client *c, struct smtp_reply *rep, int ehlo)
{
	char line[SMTP_CLIENT_LINE_MAX];
	int first = 1;

	for (int i = 0; i < SMTP_CLIENT_REPLY_LINES; i++) {
		int r = read_line(c, line, sizeof line);
		int code;

		if (r < 0) {
			reply_set(rep, 0,
			          r == -ETIMEDOUT ? "timeout reading reply" : "connection lost");
			return r;
		}
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '9' || line[2] < '0' || line[2] > '9' ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
			c->broken = 1;
			reply_set(rep, 0, "malformed reply");
			return -EPROTO;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (first) {
			reply_set(rep, code, line);
			first = 0;
		}
		if (ehlo && i > 0) {
			const char *kw = line + 4;

			if (strncasecmp(kw, "PIPELINING", 10) == 0)
				c->pipelining = 1;
			else if (strncasecmp(kw, "8BITMIME", 8) == 0)
				c->eightbit = 1;
			else if (strncasecmp(kw, "STARTTLS", 8) == 0)
				c->starttls = 1;
			else if (strncasecmp(kw, "SMTPUTF8", 8) == 0)
				c->smtputf8 = 1;
		}
		if (line[3] != '-')
			return 0;
	}
	c->broken = 1;
	reply_set(rep, 0, "reply too long");
	return -EPROTO;
}

/* Send one command line (with its CRLF) and read the reply. */
static int command(struct smtp_client *c, struct smtp_reply *rep, int ehlo, const char *line)
{
	int r;

	if ((r = out_put(c, line, strlen(line))) < 0 || (r = out_flush(c)) < 0) {
		reply_set(rep, 0, "connection lost while sending");
		return r;
	}
	return read_reply(c, rep, ehlo);
}

static int say_hello(struct smtp_client *c, const char *helo, struct smtp_reply *rep)
{
	int r;

	char line[300];

	c->pipelining = c->eightbit = c->starttls = c->smtputf8 = 0;
	snprintf(line, sizeof line, "EHLO %.256s\r\n", helo);
	if ((r = command(c, rep, 1, line)) < 0)
		return r;
	if (rep->code / 100 == 2)
		return 0;
	line[0] = 'H';
	line[1] = 'E';
	if ((r = command(c, rep, 0, line)) < 0)
		return r;
	return rep->code / 100 == 2 ? 0 : -EPROTO;
}

static int dial(const char *host, uint16_t port, unsigned timeout_s)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	struct timeval tv = {.tv_sec = timeout_s ? timeout_s : 300};
	char ps[8];
	int fd = -1, err = EHOSTUNREACH;

	snprintf(ps, sizeof ps, "%u", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -EHOSTUNREACH;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		int one = 1;

		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : -err;
}

struct smtp_client *smtp_client_connect(const char *host, uint16_t port,
                                        const struct smtp_client_opts *opts, struct smtp_reply *why)
{
	struct smtp_client *c = calloc(1, sizeof *c);
	int fd;

	if (c == NULL) {
		reply_set(why, 0, "out of memory");
		return NULL;
	}
	c->fd = -1;
	snprintf(c->host, sizeof c->host, "%s", host);
	fd = dial(host, port, opts->timeout_s);
	if (fd < 0) {
		char msg[128];

		snprintf(msg, sizeof msg, "connect to %s:%u: %s", host, port, strerror(-fd));
		reply_set(why, 0, msg);
		goto fail;
	}
	c->fd = fd;
	if (read_reply(c, why, 0) < 0)
		goto fail;
	if (why->code != 220)
		goto quit;
	if (say_hello(c, opts->helo, why) < 0)
		goto quit;
	if (c->starttls && opts->tls) {
		struct smtp_reply tr;

		if (command(c, &tr, 0, "STARTTLS\r\n") < 0)
			goto fail_tls;
		if (tr.code == 220) {
			c->ssl = SSL_new(opts->tls);
			if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
				goto fail_tls;
			if (c->in_len > c->in_off)
				goto fail_tls; /* bytes after 220 would be a plaintext injection */
			SSL_set_tlsext_host_name(c->ssl, host);
			if (SSL_connect(c->ssl) != 1)
				goto fail_tls;
			if (say_hello(c, opts->helo, why) < 0)
				goto quit;
		}
		/* A refused STARTTLS: carry on in plain text (opportunistic). */
	}
	return c;
fail_tls:
	reply_set(why, 0, "STARTTLS failed");
	goto fail;
quit:
	if (why->code != 0)
		command(c, &(struct smtp_reply){0}, 0, "QUIT\r\n");
fail:
	smtp_client_close(c);
	return NULL;
}

int smtp_client_tls(const struct smtp_client *c)
{
	return c->ssl != NULL;
}

int smtp_client_usable(const struct smtp_client *c)
{
	return c != NULL && !c->broken;
}

void smtp_client_close(struct smtp_client *c)
{
	if (c == NULL)
		return;
	if (!c->broken && c->fd >= 0) {
		struct smtp_reply r;

		command(c, &r, 0, "QUIT\r\n");
	}
	if (c->ssl) {
		if (!c->broken)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* Stream the body dot-stuffed: a '.' at the start of a line is doubled. */
static int send_body(struct smtp_client *c, const struct smtp_client_msg *m, uint64_t *bytes)
{
	char chunk[SMTP_CLIENT_IO];
	int bol = 1, r;
	char last = '\n';
	uint64_t off = m->off, left = m->len;

	for (int part = 0; part < 2; part++) {
		const char *p = NULL;
		size_t n = 0;

		if (part == 0) {
			p = m->prefix;
			n = m->prefix_len;
		}
		for (;;) {
			if (part == 1) {
				ssize_t got;

				if (left == 0)
					break;
				got = pread(m->fd, chunk,
				            left < sizeof chunk ? (size_t)left : sizeof chunk,
				            (off_t)off);
				if (got < 0 && errno == EINTR)
					continue;
				if (got <= 0)
					return got < 0 ? -errno : -EIO;
				p = chunk;
				n = (size_t)got;
				off += (uint64_t)got;
				left -= (uint64_t)got;
			}
			for (size_t i = 0, start = 0; i <= n; i++) {
				if (i == n || (bol && p[i] == '.')) {
					if (i > start && (r = out_put(c, p + start, i - start)) < 0)
						return r;
					if (i < n && (r = out_put(c, ".", 1)) < 0)
						return r;
					start = i;
					if (i == n)
						break;
				}
				bol = p[i] == '\n';
			}
			if (n > 0)
				last = p[n - 1];
			*bytes += n;
			if (part == 0)
				break;
		}
	}
	if (last != '\n' && (r = out_put(c, "\r\n", 2)) < 0)
		return r;
	if ((r = out_put(c, ".\r\n", 3)) < 0)
		return r;
	return out_flush(c);
}

int smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *m,
                     struct smtp_reply *rcpt_replies, struct smtp_reply *final, uint64_t *bytes_out)
{
	struct smtp_reply mail, data;
	size_t accepted = 0;
	int r;

	for (size_t i = 0; i < m->nrcpts; i++)
		reply_set(&rcpt_replies[i], 0, "not attempted");
	reply_set(final, 0, "not attempted");
	if (c->broken)
		return -ENOTCONN;
	if ((r = out_printf(c, "MAIL FROM:<%s>", m->from)) < 0 ||
	    (m->body_8bit && c->eightbit && (r = out_put(c, " BODY=8BITMIME", 14)) < 0) ||
	    (m->smtputf8 && c->smtputf8 && (r = out_put(c, " SMTPUTF8", 9)) < 0) ||
	    (r = out_put(c, "\r\n", 2)) < 0)
		goto lost;
	if (!c->pipelining) {
		if ((r = out_flush(c)) < 0 || (r = read_reply(c, &mail, 0)) < 0)
			goto lost;
		if (mail.code / 100 != 2) {
			*final = mail;
			command(c, &data, 0, "RSET\r\n");
			return c->broken ? -EPROTO : 0;
		}
	}
	for (size_t i = 0; i < m->nrcpts; i++) {
		if ((r = out_printf(c, "RCPT TO:<%s>\r\n", m->rcpts[i])) < 0)
			goto lost;
		if (!c->pipelining) {
			if ((r = out_flush(c)) < 0 || (r = read_reply(c, &rcpt_replies[i], 0)) < 0)
				goto lost;
			accepted += rcpt_replies[i].code / 100 == 2;
		}
	}
	if (c->pipelining) {
		if ((r = out_put(c, "DATA\r\n", 6)) < 0 || (r = out_flush(c)) < 0 ||
		    (r = read_reply(c, &mail, 0)) < 0)
			goto lost;
		for (size_t i = 0; i < m->nrcpts; i++) {
			if ((r = read_reply(c, &rcpt_replies[i], 0)) < 0)
				goto lost;
			accepted += rcpt_replies[i].code / 100 == 2;
		}
		if ((r = read_reply(c, &data, 0)) < 0)
			goto lost;
		if (mail.code / 100 != 2) {
			*final = mail;
			if (data.code == 354) /* a server that took DATA anyway: end it empty */
				command(c, &data, 0, ".\r\n");
			command(c, &data, 0, "RSET\r\n");
			return c->broken ? -EPROTO : 0;
		}
	} else {
		if (accepted == 0) {
			reply_set(final, 554, "554 no valid recipients");
			command(c, &data, 0, "RSET\r\n");
			return c->broken ? -EPROTO : 0;
		}
		if ((r = command(c, &data, 0, "DATA\r\n")) < 0)
			goto lost;
	}
	if (data.code != 354) {
		*final = data;
		if (accepted > 0 || data.code / 100 != 5)
			command(c, &data, 0, "RSET\r\n");
		return c->broken ? -EPROTO : 0;
	}
	if (accepted == 0) {
		/* Pipelined DATA accepted although every RCPT failed: send an empty message. */
		reply_set(final, 554, "554 no valid recipients");
		if ((r = command(c, &data, 0, ".\r\n")) < 0)
			goto lost;
		return 0;
	}
	if ((r = send_body(c, m, bytes_out)) < 0)
		goto lost;
	if ((r = read_reply(c, final, 0)) < 0)
		goto lost;
	return 0;
lost:
	c->broken = 1;
	if (final->code == 0)
		reply_set(final, 0, r == -ETIMEDOUT ? "timeout" : "connection lost");
	return r < 0 ? r : -EIO;
}
