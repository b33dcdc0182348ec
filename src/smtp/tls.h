/*
 * tls - STARTTLS for the SMTP server through OpenSSL memory BIOs: the connection layer owns
 * the socket and moves ciphertext; OpenSSL never sees a file descriptor. One context per
 * process (certificate and key), one struct smtp_tls per connection.
 *
 * Certificate: smtp.tls_cert/smtp.tls_key when configured; otherwise a self-signed P-256
 * certificate for the host name, made at first start and kept in <home>/tls/ (the key 0600)
 * so restarts present the same one; without a directory (the sink) it lives in memory only.
 */
#ifndef MX_SMTP_TLS_H
#define MX_SMTP_TLS_H

#include <stddef.h>

/* Self-signed certificates are valid this long: long enough never to expire under a test. */
#define SMTP_TLS_SELFSIGNED_DAYS 3650

struct smtp_tls_ctx;
struct smtp_tls;

/*
 * cert and key: PEM files, or both "" to use <gen_dir>/cert.pem and key.pem (made when missing)
 * or, with gen_dir NULL, an in-memory certificate. NULL with a log line on failure.
 */
struct smtp_tls_ctx *smtp_tls_ctx_new(const char *cert, const char *key, const char *gen_dir,
                                      const char *hostname);
void smtp_tls_ctx_free(struct smtp_tls_ctx *c);

/* A server-side TLS session in accept state; NULL on allocation failure. */
struct smtp_tls *smtp_tls_new(struct smtp_tls_ctx *c);
void smtp_tls_free(struct smtp_tls *t);
/* Ciphertext from the peer. 0 or -ENOMEM. */
int smtp_tls_feed(struct smtp_tls *t, const char *p, size_t len);
/*
 * Advance the handshake and decrypt: plaintext into out. Returns bytes (> 0), 0 when more
 * ciphertext is needed, -ECONNRESET when the peer closed TLS, -EPROTO on a TLS error.
 */
int smtp_tls_read(struct smtp_tls *t, char *out, size_t outsz);
/* Encrypt plaintext for the peer. 0 or -EPROTO. */
int smtp_tls_write(struct smtp_tls *t, const char *p, size_t len);
/* Move up to outsz bytes of ciphertext for the peer into out; returns how many (0 = none). */
size_t smtp_tls_take(struct smtp_tls *t, char *out, size_t outsz);
int smtp_tls_established(const struct smtp_tls *t);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for the Received header and logs. */
const char *smtp_tls_describe(const struct smtp_tls *t, char *out, size_t outsz);

#endif
