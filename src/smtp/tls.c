/*
 * tls - see tls.h.
 */
#include "smtp/tls.h"

#include "core/fsutil.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* <dir>/.lock where dir already fit a 4096-byte path buffer. */
#define TLS_LOCKPATH_MAX (4096 + 8)

struct smtp_tls_ctx {
	SSL_CTX *ssl;
};

struct smtp_tls {
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	int established;
};

static void tls_log_errors(const char *what)
{
	unsigned long e;
	char msg[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, msg, sizeof msg);
		log_warn("tls: %s: %s", what, msg);
	}
}

/* A self-signed P-256 certificate for hostname. 0 or -1 (logged). */
static int tls_selfsign(const char *hostname, EVP_PKEY **keyp, X509 **certp)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	int ok = 0;

	if (key == NULL || x == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), (long)SMTP_TLS_SELFSIGNED_DAYS * 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"mxtower", -1,
	                           -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1,
	                           -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto out;
	ok = 1;
out:
	if (!ok) {
		tls_log_errors("self-signed certificate");
		EVP_PKEY_free(key);
		X509_free(x);
		return -1;
	}
	*keyp = key;
	*certp = x;
	return 0;
}

/* PEM of a key or certificate into a malloc'd buffer. */
static char *tls_pem(EVP_PKEY *key, X509 *cert, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *copy = NULL;
	long n;

	if (b == NULL)
		return NULL;
	if ((key && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) ||
	    (cert && PEM_write_bio_X509(b, cert))) {
		n = BIO_get_mem_data(b, &data);
		if (n > 0 && (copy = malloc((size_t)n)) != NULL) {
			memcpy(copy, data, (size_t)n);
			*len = (size_t)n;
		}
	}
	BIO_free(b);
	return copy;
}

/* Make <dir>/cert.pem and key.pem unless both exist. 0 or -1 (logged). */
static int tls_ensure_files(const char *dir, const char *hostname, char *cert, char *key, size_t sz)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	char *pem = NULL;
	size_t len = 0;
	int r = -1, lockfd = -1;

	if ((size_t)snprintf(cert, sz, "%s/cert.pem", dir) >= sz ||
	    (size_t)snprintf(key, sz, "%s/key.pem", dir) >= sz)
		return -1;
	if (access(cert, R_OK) == 0 && access(key, R_OK) == 0)
		return 0;
	if (fs_mkdir_p(dir, 0700) < 0) {
		log_warn("tls: cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	/* Several smtpd workers start at once: one makes the pair, the others wait and use it
	 * (two makers could leave one's key beside the other's certificate). */
	{
		char lockpath[TLS_LOCKPATH_MAX];

		snprintf(lockpath, sizeof lockpath, "%s/.lock", dir);
		lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lockfd >= 0)
			flock(lockfd, LOCK_EX);
	}
	if (access(cert, R_OK) == 0 && access(key, R_OK) == 0) {
		r = 0;
		goto out;
	}
	if (tls_selfsign(hostname, &pk, &x) < 0)
		goto out;
	if ((pem = tls_pem(pk, NULL, &len)) == NULL || fs_write_atomic(key, pem, len, 0600) < 0)
		goto out;
	free(pem);
	if ((pem = tls_pem(NULL, x, &len)) == NULL || fs_write_atomic(cert, pem, len, 0644) < 0)
		goto out;
	log_info("tls: made a self-signed certificate for %s in %s", hostname, dir);
	r = 0;
out:
	if (r < 0)
		log_warn("tls: cannot write the certificate into %s", dir);
	if (lockfd >= 0)
		close(lockfd); /* releases the lock */
	free(pem);
	EVP_PKEY_free(pk);
	X509_free(x);
	return r;
}

struct smtp_tls_ctx *smtp_tls_ctx_new(const char *cert, const char *key, const char *gen_dir,
                                      const char *hostname)
{
	struct smtp_tls_ctx *c = calloc(1, sizeof *c);
	char certpath[4096], keypath[4096];

	if (c == NULL)
		return NULL;
	c->ssl = SSL_CTX_new(TLS_server_method());
	if (c->ssl == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION);
	SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Thousands of idle sessions: give the 34 KiB of record buffers back between records. */
	SSL_CTX_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
	if (cert[0] || key[0]) {
		if (SSL_CTX_use_certificate_chain_file(c->ssl, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM) != 1)
			goto fail;
	} else if (gen_dir) {
		if (tls_ensure_files(gen_dir, hostname, certpath, keypath, sizeof certpath) < 0)
			goto fail;
		if (SSL_CTX_use_certificate_chain_file(c->ssl, certpath) != 1 ||
		    SSL_CTX_use_PrivateKey_file(c->ssl, keypath, SSL_FILETYPE_PEM) != 1)
			goto fail;
	} else {
		EVP_PKEY *pk;
		X509 *x;
		int ok;

		if (tls_selfsign(hostname, &pk, &x) < 0)
			goto fail;
		ok = SSL_CTX_use_certificate(c->ssl, x) == 1 &&
		     SSL_CTX_use_PrivateKey(c->ssl, pk) == 1;
		EVP_PKEY_free(pk);
		X509_free(x);
		if (!ok)
			goto fail;
	}
	if (SSL_CTX_check_private_key(c->ssl) != 1)
		goto fail;
	return c;
fail:
	tls_log_errors("context");
	log_warn("tls: no TLS context (cert '%s'); STARTTLS is not offered", cert);
	smtp_tls_ctx_free(c);
	return NULL;
}

void smtp_tls_ctx_free(struct smtp_tls_ctx *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ssl);
	free(c);
}

struct smtp_tls *smtp_tls_new(struct smtp_tls_ctx *c)
{
	struct smtp_tls *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	t->ssl = SSL_new(c->ssl);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_accept_state(t->ssl);
	return t;
}

void smtp_tls_free(struct smtp_tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

int smtp_tls_feed(struct smtp_tls *t, const char *p, size_t len)
{
	while (len) {
		int n = BIO_write(t->rbio, p, len > INT32_MAX ? INT32_MAX : (int)len);

		if (n <= 0)
			return -ENOMEM;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int smtp_tls_read(struct smtp_tls *t, char *out, size_t outsz)
{
	int n, err;

	if (!t->established) {
		n = SSL_do_handshake(t->ssl);
		if (n == 1) {
			t->established = 1;
		} else {
			err = SSL_get_error(t->ssl, n);
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				return 0;
			tls_log_errors("handshake");
			return -EPROTO;
		}
	}
	n = SSL_read(t->ssl, out, outsz > INT32_MAX ? INT32_MAX : (int)outsz);
	if (n > 0)
		return n;
	err = SSL_get_error(t->ssl, n);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return 0;
	if (err == SSL_ERROR_ZERO_RETURN)
		return -ECONNRESET;
	tls_log_errors("read");
	return -EPROTO;
}

int smtp_tls_write(struct smtp_tls *t, const char *p, size_t len)
{
	while (len) {
		int n = SSL_write(t->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);

		if (n <= 0) {
			tls_log_errors("write");
			return -EPROTO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

size_t smtp_tls_take(struct smtp_tls *t, char *out, size_t outsz)
{
	int n = BIO_read(t->wbio, out, outsz > INT32_MAX ? INT32_MAX : (int)outsz);

	return n > 0 ? (size_t)n : 0;
}

int smtp_tls_established(const struct smtp_tls *t)
{
	return t->established;
}

const char *smtp_tls_describe(const struct smtp_tls *t, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
	return out;
}
