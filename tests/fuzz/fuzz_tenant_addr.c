/*
 * fuzz_tenant_addr - the path of MAIL FROM / RCPT TO (smtp_addr_parse) on arbitrary bytes, and
 * what the session does next with an accepted recipient: the tenant lookup by its domain
 * (tenant_map_rcpt) against a map of two clients, one that lists its recipients and one that
 * takes any local part. fuzz_smtp reaches the parser only behind a command line; here every
 * byte goes to it.
 *
 * Invariants: a path is accepted or refused with -EINVAL or -ENAMETOOLONG; an accepted one has
 * a NUL-terminated addr within SMTP_PATH_MAX, a local part of at most SMTP_LOCAL_MAX, a domain
 * that points into addr right after its '@' (or at its end with SMTP_ADDR_NODOMAIN), <> only
 * with SMTP_ADDR_NULL, valid UTF-8 whenever SMTP_ADDR_UTF8, and the rest inside the input. The
 * tenant lookup answers 0, -ENOENT or -ESRCH, names a tenant exactly when the domain is a
 * client's, and never takes a domain that is not one.
 */
#include "core/config.h"
#include "core/log.h"
#include "smtp/address.h"
#include "store/tenant.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct config fz_cfg;
static struct tenant_map *fz_map;

static int fz_rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void fz_cleanup(void)
{
	if (fz_map != NULL)
		tenant_map_free(fz_map);
	fz_map = NULL;
	nftw(fz_cfg.home, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int fz_add(struct tenant_db *db, const char *name, char **domains, size_t nd, char **rcpts,
		  size_t nr)
{
	struct tenant t;

	memset(&t, 0, sizeof t);
	snprintf(t.name, sizeof t.name, "%s", name);
	snprintf(t.route, sizeof t.route, "127.0.0.1:25");
	t.domains = domains;
	t.ndomains = nd;
	t.recipients = rcpts;
	t.nrecipients = nr;
	tenant_policy_defaults(&t.policy);
	return tenant_add(db, &t);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	static char *d1[] = {"example.com", "xn--bcher-kva.example"};
	static char *d2[] = {"lists.test"};
	static char *r2[] = {"alice@lists.test", "\"quoted user\"@lists.test"};
	struct tenant_db *db;
	char tmpl[256];

	(void)argc;
	(void)argv;
	snprintf(tmpl, sizeof tmpl, "%s/fuzz_tenant_addr.XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		perror("fuzz_tenant_addr: mkdtemp");
		exit(1);
	}
	config_defaults(&fz_cfg);
	snprintf(fz_cfg.home, sizeof fz_cfg.home, "%s", tmpl);
	atexit(fz_cleanup);
	log_set_level(LOG_LEVEL_ERROR);
	db = tenant_db_open(&fz_cfg);
	if (db == NULL || fz_add(db, "open", d1, 2, NULL, 0) < 0 ||
	    fz_add(db, "listed", d2, 1, r2, 2) < 0 || (fz_map = tenant_map_load(db)) == NULL) {
		fprintf(stderr, "fuzz_tenant_addr: cannot set up tenants in %s\n", tmpl);
		exit(1);
	}
	tenant_db_close(db);
	return 0;
}

static void fz_check(const char *in, size_t size, int rc, const struct smtp_addr *a,
		     const struct slice *rest)
{
	size_t len;

	if (rc == -EINVAL || rc == -ENAMETOOLONG)
		return;
	if (rc != 0)
		abort();
	len = strnlen(a->addr, sizeof a->addr);
	if (len >= sizeof a->addr || a->local_len > SMTP_LOCAL_MAX || a->local_len > len)
		abort();
	if (rest->p < in || rest->p > in + size || rest->p + rest->len != in + size)
		abort();
	if (rest->p == in || rest->p[-1] != '>')
		abort(); /* the path ends at its '>' */
	if ((len == 0) != ((a->flags & SMTP_ADDR_NULL) != 0) && !(a->flags & SMTP_ADDR_QUOTED))
		abort();
	if (a->flags & (SMTP_ADDR_NODOMAIN | SMTP_ADDR_NULL)) {
		if (a->domain != a->addr + len)
			abort();
	} else if (a->domain != a->addr + a->local_len + 1 || a->addr[a->local_len] != '@' ||
		   strlen(a->domain) > SMTP_DOMAIN_MAX) {
		abort();
	}
	if ((a->flags & SMTP_ADDR_UTF8) && !smtp_utf8_valid(a->addr, len))
		abort();
}

static void fz_tenant(const struct smtp_addr *a)
{
	const struct tenant *t = NULL;
	int rc;

	if (a->flags & (SMTP_ADDR_NULL | SMTP_ADDR_NODOMAIN))
		return;
	rc = tenant_map_rcpt(fz_map, a->addr, &t);
	if (rc != 0 && rc != -ENOENT && rc != -ESRCH)
		abort();
	if ((rc == -ENOENT) != (t == NULL))
		abort(); /* a tenant is named exactly when the domain matched */
	if (t != NULL) {
		size_t i;

		for (i = 0; i < t->ndomains; i++)
			if (strcasecmp(t->domains[i], a->domain) == 0)
				break;
		if (i == t->ndomains)
			abort(); /* took a domain that is not the client's */
		if (tenant_map_domain(fz_map, a->domain) != t)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy without slack after it, so any overread hits ASan's redzone. */
	char *in = malloc(size ? size : 1);
	struct smtp_addr a;
	struct slice rest = {NULL, 0};
	int rc;

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	rc = smtp_addr_parse((struct slice){in, size}, &a, &rest);
	fz_check(in, size, rc, &a, &rest);
	if (rc == 0)
		fz_tenant(&a);
	(void)smtp_utf8_valid(in, size);
	free(in);
	return 0;
}
