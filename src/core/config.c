/*
 * config - see config.h. The table below is the single list of keys.
 */
#include "core/config.h"

#include "core/parse.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum config_kind { CK_STR, CK_PATH, CK_U64, CK_SIZE, CK_DURATION };

struct config_key {
	const char *name; /* section.key */
	enum config_kind kind;
	size_t off;
	uint64_t min, max; /* for numbers */
	int secret;
};

#define S(sec, key) #sec "." #key, CK_STR, offsetof(struct config, sec.key), 0, 0
#define P(sec, key) #sec "." #key, CK_PATH, offsetof(struct config, sec.key), 0, 0
#define N(sec, key, lo, hi) #sec "." #key, CK_U64, offsetof(struct config, sec.key), lo, hi
#define Z(sec, key, lo, hi) #sec "." #key, CK_SIZE, offsetof(struct config, sec.key), lo, hi
#define D(sec, key, lo, hi) #sec "." #key, CK_DURATION, offsetof(struct config, sec.key), lo, hi

static const struct config_key config_keys[] = {
	{S(node, name), 0},
	{S(node, tower), 0},
	{S(node, datacentre), 0},
	{N(node, spec_msgs, 1, 10000000), 0},
	{N(node, yellow_at, 1, 100), 0},
	{S(smtp, listen), 0},
	{S(smtp, hostname), 0},
	/* 1 KiB minimum: RFC 5321 4.5.3.1.7 wants at least 64 KiB, but tests set small limits. */
	{Z(smtp, max_message_size, 1024, 1ULL << 32), 0},
	/* RFC 5321 4.5.3.1.8: a server must accept at least 100; lower is allowed for tests. */
	{N(smtp, max_recipients, 1, 100000), 0},
	/* RFC 5321 4.5.3.1.4/6: 512 for commands, 1000 for text lines, both counting CRLF. */
	{N(smtp, max_line, 512, 65536), 0},
	{N(smtp, max_sessions, 1, 100000), 0},
	{N(smtp, max_sessions_per_ip, 1, 100000), 0},
	{N(smtp, max_errors, 1, 1000), 0},
	{D(smtp, cmd_timeout, 1, 3600), 0},
	{D(smtp, data_timeout, 1, 3600), 0},
	{N(smtp, workers, 1, 64), 0},
	{S(smtp, xclient_networks), 0},
	{P(smtp, tls_cert), 0},
	{P(smtp, tls_key), 0},
	{S(http, listen), 0},
	{N(queue, hash_depth, 1, 3), 0},
	{N(queue, hash_width, 1, 2), 0},
	{D(queue, stuck_after, 1, 365 * 86400ULL), 0},
	{N(queue, stuck_attempts, 1, 10000), 0},
	{D(queue, max_lifetime, 1, 365 * 86400ULL), 0},
	{D(queue, retry_min, 1, 86400), 0},
	{D(queue, retry_max, 1, 7 * 86400), 0},
	{N(queue, dest_concurrency, 1, 1000), 0},
	{D(queue, delay_red, 1, 365 * 86400ULL), 0},
	{N(scan, workers, 0, 64), 0},
	{N(scan, deadline_ms, 10, 600000), 0},
	{S(scan, scanners), 0},
	{N(bayes, autolearn, 0, 1), 0},
	/* Margins in score points (docs/spam.md, "Autolearn"); 100 is past any useful policy. */
	{N(bayes, autolearn_spam_margin, 0, 100), 0},
	{N(bayes, autolearn_ham_margin, 0, 100), 0},
	{S(dns, resolver), 0},
	{N(dns, budget_ms, 10, 600000), 0},
	{S(dnsbl, zones), 0},
	{S(dnsbl, domain_zones), 0},
	{S(cluster, redis), 0},
	{S(cluster, redis_password), 1},
};

#define NKEYS (sizeof config_keys / sizeof config_keys[0])

void config_defaults(struct config *c)
{
	char host[CONFIG_STR];

	memset(c, 0, sizeof *c);
	snprintf(c->home, sizeof c->home, "./mxtower-home");
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(c->node.name, sizeof c->node.name, "%s", host);
	snprintf(c->node.tower, sizeof c->node.tower, "tower1");
	snprintf(c->node.datacentre, sizeof c->node.datacentre, "dc1");
	c->node.spec_msgs = 1000;
	c->node.yellow_at = 80;
	snprintf(c->smtp.listen, sizeof c->smtp.listen, "127.0.0.1:2525");
	snprintf(c->smtp.hostname, sizeof c->smtp.hostname, "%s", host);
	c->smtp.max_message_size = 50ULL * 1024 * 1024;
	c->smtp.max_recipients = 1000;
	c->smtp.max_line = 1000;
	c->smtp.max_sessions = 2000;
	c->smtp.max_sessions_per_ip = 50;
	c->smtp.max_errors = 10;
	c->smtp.cmd_timeout = 300; /* RFC 5321 4.5.3.2.7: server timeout 5 minutes */
	c->smtp.data_timeout = 600;
	c->smtp.workers = 1;
	/* XCLIENT lets a client claim another address: nobody, until the operator names its
	 * proxies (Postfix's smtpd_authorized_xclient_hosts is empty by default too). */
	c->smtp.xclient_networks[0] = '\0';
	snprintf(c->http.listen, sizeof c->http.listen, "127.0.0.1:8025");
	c->queue.hash_depth = 1;
	c->queue.hash_width = 2;
	c->queue.stuck_after = 3600;
	c->queue.stuck_attempts = 10;
	c->queue.max_lifetime = 5 * 86400; /* Postfix maximal_queue_lifetime */
	c->queue.retry_min = 60;
	c->queue.retry_max = 4000;
	c->queue.dest_concurrency = 20;
	c->queue.delay_red = 1800;
	c->scan.workers = 2;
	c->scan.deadline_ms = 30000;
	snprintf(c->scan.scanners, sizeof c->scan.scanners, "all");
	/* Off: a filter that teaches itself from its own verdicts can drift. When on, spam only
	 * 5 points past reject (20 with the default policy), ham only 5 below tag (0 or less). */
	c->bayes.autolearn = 0;
	c->bayes.autolearn_spam_margin = 5;
	c->bayes.autolearn_ham_margin = 5;
	c->dns.budget_ms = 2000;
}

static const struct config_key *config_find(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, key) == 0)
			return &config_keys[i];
	return NULL;
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t errsz)
{
	const struct config_key *k;
	char *field;
	uint64_t v;
	int r;

	if (strcmp(key, "node.home") == 0 || strcmp(key, "home") == 0) {
		if (strlen(value) >= sizeof c->home)
			goto toolong;
		snprintf(c->home, sizeof c->home, "%s", value);
		return 0;
	}
	k = config_find(key);
	if (k == NULL) {
		snprintf(err, errsz, "unknown config key '%s'", key);
		return -1;
	}
	field = (char *)c + k->off;
	switch (k->kind) {
	case CK_STR:
	case CK_PATH: {
		size_t sz = k->kind == CK_STR ? CONFIG_STR : CONFIG_PATH;

		if (strlen(value) >= sz)
			goto toolong;
		snprintf(field, sz, "%s", value);
		return 0;
	}
	case CK_U64:
		r = parse_u64(value, k->min, k->max, &v);
		break;
	case CK_SIZE:
		r = parse_size(value, &v);
		if (r == 0 && (v < k->min || v > k->max))
			r = -ERANGE;
		break;
	case CK_DURATION:
		r = parse_duration(value, &v);
		if (r == 0 && (v < k->min || v > k->max))
			r = -ERANGE;
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0) {
		snprintf(err, errsz, "bad value for %s: '%s' (want a number from %llu to %llu)", key,
			 value, (unsigned long long)k->min, (unsigned long long)k->max);
		return -1;
	}
	memcpy(field, &v, sizeof v);
	return 0;
toolong:
	snprintf(err, errsz, "value for %s is too long", key);
	return -1;
}

struct config_ini_ctx {
	struct config *c;
	char *err;
	size_t errsz;
	int failed;
};

static int config_ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct config_ini_ctx *x = user;
	char key[CONFIG_STR];

	if (x->failed)
		return 0;
	snprintf(key, sizeof key, "%s.%s", section, name);
	if (config_set(x->c, key, value, x->err, x->errsz) < 0) {
		x->failed = 1;
		return 0;
	}
	return 1;
}

int config_load(struct config *c, const char *path, char *err, size_t errsz)
{
	struct config_ini_ctx x = {c, err, errsz, 0};
	int r = ini_parse(path, config_ini_cb, &x);

	if (r == -1) {
		snprintf(err, errsz, "cannot open config file %s", path);
		return -1;
	}
	if (x.failed) {
		size_t n = strlen(err);

		snprintf(err + n, errsz - n, " (in %s)", path);
		return -1;
	}
	if (r != 0) {
		snprintf(err, errsz, "%s: syntax error on line %d", path, r);
		return -1;
	}
	return 0;
}

int config_load_string(struct config *c, const char *text, const char *name, char *err,
		       size_t errsz)
{
	struct config_ini_ctx x = {c, err, errsz, 0};
	int r = ini_parse_string(text, config_ini_cb, &x);

	if (x.failed) {
		size_t n = strlen(err);

		snprintf(err + n, errsz - n, " (in %s)", name);
		return -1;
	}
	if (r != 0) {
		snprintf(err, errsz, "%s: syntax error on line %d", name, r);
		return -1;
	}
	return 0;
}

void config_print(const struct config *c, FILE *out)
{
	fprintf(out, "home = %s\n", c->home);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const char *field = (const char *)c + k->off;
		uint64_t v;

		if (k->secret) {
			fprintf(out, "%s = %s\n", k->name, field[0] ? "(set)" : "(unset)");
			continue;
		}
		switch (k->kind) {
		case CK_STR:
		case CK_PATH:
			fprintf(out, "%s = %s\n", k->name, field);
			break;
		default:
			memcpy(&v, field, sizeof v);
			fprintf(out, "%s = %llu\n", k->name, (unsigned long long)v);
		}
	}
}

int config_path(const struct config *c, const char *rel, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s", c->home, rel);

	return (n < 0 || (size_t)n >= outsz) ? -ENAMETOOLONG : 0;
}

static void config_argv_remove(int *argc, char **argv, int i, int n)
{
	for (int j = i; j + n <= *argc; j++)
		argv[j] = argv[j + n];
	*argc -= n;
}

int config_from_args(struct config *c, int *argc, char **argv)
{
	char err[512];
	const char *file = NULL;
	int i;

	/* The file first, so that flags and -o win over it wherever they stand. */
	for (i = 1; i < *argc; i++)
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < *argc)
			file = argv[i + 1];
	if (file == NULL && access("mxtower.ini", R_OK) == 0)
		file = "mxtower.ini";
	if (file && config_load(c, file, err, sizeof err) < 0) {
		fprintf(stderr, "mxtower: %s\n", err);
		return -1;
	}
	for (i = 1; i < *argc;) {
		const char *a = argv[i], *v = i + 1 < *argc ? argv[i + 1] : NULL;
		const char *key = NULL;
		char kbuf[CONFIG_STR];

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			config_argv_remove(argc, argv, i, v ? 2 : 1);
			continue;
		}
		if (strcmp(a, "--home") == 0)
			key = "home";
		else if (strcmp(a, "--smtp") == 0)
			key = "smtp.listen";
		else if (strcmp(a, "--http") == 0)
			key = "http.listen";
		else if (strcmp(a, "-o") == 0 && v) {
			const char *eq = strchr(v, '=');

			if (eq == NULL || (size_t)(eq - v) >= sizeof kbuf) {
				fprintf(stderr, "mxtower: -o wants section.key=value, got '%s'\n", v);
				return -1;
			}
			memcpy(kbuf, v, (size_t)(eq - v));
			kbuf[eq - v] = '\0';
			if (config_set(c, kbuf, eq + 1, err, sizeof err) < 0) {
				fprintf(stderr, "mxtower: %s\n", err);
				return -1;
			}
			config_argv_remove(argc, argv, i, 2);
			continue;
		}
		if (key == NULL) {
			i++;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "mxtower: %s needs a value\n", a);
			return -1;
		}
		if (config_set(c, key, v, err, sizeof err) < 0) {
			fprintf(stderr, "mxtower: %s\n", err);
			return -1;
		}
		config_argv_remove(argc, argv, i, 2);
	}
	return 0;
}
