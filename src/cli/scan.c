/*
 * scan - `mxtower scan [--json] [--ip A] [--helo H] [--from S] [--tenant NAME] FILE|DIR...`:
 * scan message files in this process (no node needed) with the signatures, rules and Bayes
 * data under <home>, and print one result per message. Directories are walked recursively in
 * name order. With --json, one object per line:
 * {"file","verdict","score","action","symbols":[{"name","score","detail"}],"virus"}.
 * Output is buffered as stdio does (line by line on a terminal, in blocks in a pipe).
 * Exit 0 when every file was scanned, 1 when a file could not be read.
 */
#include "cli/cli.h"

#include "core/config.h"
#include "core/log.h"
#include "scan/scan.h"
#include "store/tenant.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directory nesting we follow: corpora are a few levels deep; a symlink loop is not. */
#define SCAN_CLI_MAX_DEPTH 16
/* Files up to this size are read into one reused buffer; larger ones (no mail is: the SMTP
 * limit is 50 MiB by default) are mapped, so a stray huge file is not copied to the heap. */
#define SCAN_CLI_READ_MAX (64LL * 1024 * 1024)

static const char usage[] =
	"usage: mxtower scan [--json] [--ip A] [--helo H] [--from S] [--tenant NAME] FILE|DIR...\n"
	"  scan message files in this process and print one verdict per message\n"
	"  --json          one JSON object per line\n"
	"  --ip/--helo/--from  the SMTP envelope context of the files\n"
	"  --tenant NAME   apply that client's policy (default policy otherwise)\n"
	"  -c FILE, --home DIR, -o section.key=value as for serve\n";

struct scan_cli {
	int json;
	struct scan_envelope env;
	const struct tenant *tenant;
	int failed;
	char *buf; /* the file being scanned (scan_file_read) */
	size_t bufsz;
};

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void print_result(const struct scan_cli *c, const char *file, const struct scan_result *r)
{
	if (c->json) {
		printf("{\"file\":");
		json_str(stdout, file);
		printf(",\"verdict\":\"%s\",\"score\":%.2f,\"action\":\"%s\",\"symbols\":[",
		       scan_verdict_name(r->verdict), r->score, policy_action_name(r->action));
		for (unsigned i = 0; i < r->nsym; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, r->sym[i].name);
			printf(",\"score\":%.2f,\"detail\":", r->sym[i].score);
			json_str(stdout, r->sym[i].detail);
			printf("}");
		}
		printf("],\"virus\":");
		if (r->virus[0])
			json_str(stdout, r->virus);
		else
			printf("null");
		printf("}\n");
		return;
	}
	printf("%s: %s score=%.2f action=%s", file, scan_verdict_name(r->verdict), r->score,
	       policy_action_name(r->action));
	if (r->virus[0])
		printf(" virus=%s", r->virus);
	printf("\n");
	for (unsigned i = 0; i < r->nsym; i++)
		printf("  %-24s %6.2f  %s\n", r->sym[i].name, r->sym[i].score, r->sym[i].detail);
}

/* Read fd's st_size bytes into the CLI's one reusable buffer (grown as needed, kept until
 * exit). A file is read, not mapped: each munmap of a message's map is a TLB flush across the
 * machine's CPUs, and on this VM that flush cost more CPU than the MIME parse (perf over the
 * SpamAssassin corpus: 16% of the whole `scan` pass). NULL (and errno) on failure. */
static const char *scan_file_read(struct scan_cli *c, int fd, size_t size, size_t *got)
{
	size_t have = 0;

	if (size + 1 > c->bufsz) {
		char *nb = realloc(c->buf, size + 1);

		if (nb == NULL)
			return NULL;
		c->buf = nb;
		c->bufsz = size + 1;
	}
	while (have < size) {
		ssize_t n = read(fd, c->buf + have, size - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		if (n == 0)
			break; /* shrunk meanwhile: scan what is there */
		have += (size_t)n;
	}
	c->buf[have] = '\0';
	*got = have;
	return c->buf;
}

/* Scan the open file fd (st from its fstat); closes fd. */
static void scan_file(struct scan_cli *c, const char *path, int fd, const struct stat *st)
{
	struct scan_result res;
	void *map = NULL;
	const char *msg = "";
	size_t len = 0;

	if (st->st_size > SCAN_CLI_READ_MAX) {
		map = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		msg = map == MAP_FAILED ? NULL : map;
		len = (size_t)st->st_size;
	} else if (st->st_size > 0) {
		msg = scan_file_read(c, fd, (size_t)st->st_size, &len);
	}
	if (msg == NULL) {
		fprintf(stderr, "mxtower scan: %s: %s\n", path, strerror(errno));
		c->failed = 1;
		close(fd);
		return;
	}
	scan_message(msg, len, &c->env, c->tenant, &res);
	print_result(c, path, &res);
	if (map)
		munmap(map, len);
	close(fd);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_path(struct scan_cli *c, const char *path, int depth)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int fd;

	/* One open and one fstat per path, whether file or directory. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "mxtower scan: %s: %s\n", path, strerror(errno));
		c->failed = 1;
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		scan_file(c, path, fd, &st);
		return;
	}
	if (depth >= SCAN_CLI_MAX_DEPTH || (d = fdopendir(fd)) == NULL) {
		fprintf(stderr, "mxtower scan: %s: not followed\n", path);
		c->failed = 1;
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);

			if (nn == NULL)
				break;
			names = nn;
		}
		if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		scan_path(c, names[i], depth + 1);
		free(names[i]);
	}
	free(names);
}

static int opt_value(int argc, char **argv, int *i, const char *name, char *out, size_t outsz)
{
	if (strcmp(argv[*i], name) != 0)
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "mxtower scan: %s needs a value\n", name);
		return -1;
	}
	snprintf(out, outsz, "%s", argv[++*i]);
	return 1;
}

int cmd_scan(int argc, char **argv)
{
	struct scan_cli c;
	struct config cfg;
	struct tenant tenant;
	struct tenant_db *db = NULL;
	int nfiles = 0, have_tenant = 0, r;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	memset(&c, 0, sizeof c);
	memset(&tenant, 0, sizeof tenant);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c.json = 1;
			continue;
		}
		if ((r = opt_value(argc, argv, &i, "--ip", c.env.client_ip, sizeof c.env.client_ip)) ||
		    (r = opt_value(argc, argv, &i, "--helo", c.env.helo, sizeof c.env.helo)) ||
		    (r = opt_value(argc, argv, &i, "--from", c.env.mail_from, sizeof c.env.mail_from)) ||
		    (r = opt_value(argc, argv, &i, "--tenant", c.env.tenant, sizeof c.env.tenant))) {
			if (r < 0)
				return 2;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "mxtower scan: unknown option %s\n%s", argv[i], usage);
			return 2;
		}
		nfiles++;
	}
	if (nfiles == 0) {
		fputs(usage, stderr);
		return 2;
	}
	if (c.env.tenant[0]) {
		db = tenant_db_open(&cfg);
		if (db == NULL || tenant_get(db, c.env.tenant, &tenant) < 0) {
			fprintf(stderr, "mxtower scan: no tenant %s\n", c.env.tenant);
			tenant_db_close(db);
			return 1;
		}
		have_tenant = 1;
		c.tenant = &tenant;
	}
	log_set_proc("scan");
	log_set_level(getenv("MXTOWER_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	scan_scratch_private();
	scan_pipeline_init(&cfg);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (strcmp(argv[i], "--ip") == 0 || strcmp(argv[i], "--helo") == 0 ||
		    strcmp(argv[i], "--from") == 0 || strcmp(argv[i], "--tenant") == 0) {
			i++;
			continue;
		}
		scan_path(&c, argv[i], 0);
	}
	scan_pipeline_fini();
	scan_scratch_private_remove();
	free(c.buf);
	if (have_tenant)
		tenant_free(&tenant);
	tenant_db_close(db);
	return c.failed ? 1 : 0;
}
