/*
 * pipeline - runs every registered scanner over one message and applies the client's policy.
 *
 * Each message gets its own arena (capped at SCAN_ARENA_CAP) holding the MIME tree and every
 * decoded part; it is freed at once when the verdict is made. A scanner whose init failed is
 * skipped for the life of the process (its absence is a symbol on every message, so the
 * verdict says it was not consulted). The pipeline itself never fails: trouble becomes symbols.
 */
#include "scan/scan.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "scan/autolearn.h"
#include "scan/combine.h"
#include "scan/policy.h"
#include "scan/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * 192 MiB: the MIME parser decodes at most 64 MiB (mime_limits_default), the tree and header
 * values of a 50 MiB message take a fraction of that again, and scanners' own scratch (archive
 * members, URL lists) fits in the rest. Past the cap the parse stops with MIME_F_ARENA_FULL.
 */
#define SCAN_ARENA_CAP (192u * 1024 * 1024)
#define SCAN_MAX_SCANNERS 32
/* 30 s between init retries of a scanner that failed: its data may appear (a first `learn`,
 * a first rules file), but a broken one must not fill the log every second. */
#define SCAN_INIT_RETRY_S 30

static int scanner_ok[SCAN_MAX_SCANNERS]; /* init succeeded */
static int scanner_on[SCAN_MAX_SCANNERS]; /* selected by scan.scanners */
static time_t init_retry_at[SCAN_MAX_SCANNERS];
static int pipeline_ready;

const char *scan_verdict_name(enum scan_verdict v)
{
	switch (v) {
	case VERDICT_CLEAN: return "clean";
	case VERDICT_SPAM: return "spam";
	case VERDICT_PHISH: return "phish";
	case VERDICT_MALWARE: return "malware";
	case VERDICT_SUSPECT: return "suspect";
	}
	return "clean";
}

static int verdict_rank(enum scan_verdict v)
{
	switch (v) {
	case VERDICT_CLEAN: return 0;
	case VERDICT_SPAM: return 1;
	case VERDICT_PHISH: return 2;
	case VERDICT_SUSPECT: return 3;
	case VERDICT_MALWARE: return 4;
	}
	return 0;
}

void scan_raise_verdict(struct scan_result *res, enum scan_verdict v)
{
	if (verdict_rank(v) > verdict_rank(res->verdict))
		res->verdict = v;
}

void scan_add_symbol(struct scan_result *res, const char *name, double score, const char *fmt, ...)
{
	struct scan_symbol *s;
	va_list ap;

	if (res->nsym >= SCAN_MAX_SYMBOLS)
		return;
	s = &res->sym[res->nsym++];
	snprintf(s->name, sizeof s->name, "%s", name);
	s->score = score;
	s->detail[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(s->detail, sizeof s->detail, fmt, ap);
		va_end(ap);
	}
	res->score += score;
}

/*
 * Directories under <home> a worker may need after dropping privileges. <home> itself may be
 * mode 0700 (a temporary home, say), so an unprivileged process cannot traverse it; a
 * directory fd opened before the drop, reached as /proc/self/fd/N, skips that traversal. Each
 * pinned directory must itself be readable by the worker's user.
 */
static const char *const pin_dirs[] = {"signatures", "rules", "db"};
#define PIN_MAX 8

static struct {
	char rel[64];
	int fd;
} pins[PIN_MAX];
static unsigned npins;

int scan_home_pin_dir(const struct config *cfg, const char *rel)
{
	char path[CONFIG_PATH + 64];
	int fd;

	if (npins >= PIN_MAX || strlen(rel) >= sizeof pins[0].rel ||
	    config_path(cfg, rel, path, sizeof path) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(pins[npins].rel, sizeof pins[npins].rel, "%s", rel);
	pins[npins].fd = fd;
	npins++;
	return 0;
}

int scan_home_pin(const struct config *cfg)
{
	char path[CONFIG_PATH + 64];

	/* The signature directory must exist for the pin to see files added later. */
	if (config_path(cfg, "signatures", path, sizeof path) == 0)
		fs_mkdir_p(path, 0755);
	for (size_t i = 0; i < sizeof pin_dirs / sizeof pin_dirs[0]; i++)
		scan_home_pin_dir(cfg, pin_dirs[i]);
	return 0;
}

int scan_home_path(const struct config *cfg, const char *rel, char *out, size_t outsz)
{
	int n = -1;

	for (unsigned i = 0; i < npins; i++) {
		size_t pl = strlen(pins[i].rel);

		if (strncmp(rel, pins[i].rel, pl) != 0 || (rel[pl] != '\0' && rel[pl] != '/'))
			continue;
		n = snprintf(out, outsz, "/proc/self/fd/%d%s", pins[i].fd, rel + pl);
		break;
	}
	if (n < 0)
		n = snprintf(out, outsz, "%s/%s", cfg->home, rel);
	if (n < 0 || (size_t)n >= outsz)
		return -ENAMETOOLONG;
	return 0;
}

/* scan.scanners: "all", "none", or a comma-separated list of names. */
static int scanner_selected(const struct config *cfg, const char *name)
{
	const char *s = cfg->scan.scanners;
	size_t n = strlen(name);

	if (s[0] == '\0' || strcmp(s, "all") == 0)
		return 1;
	while (*s) {
		size_t len = strcspn(s, ", ");

		if (len == n && strncmp(s, name, n) == 0)
			return 1;
		s += len;
		s += strspn(s, ", ");
	}
	return 0;
}

int scan_pipeline_init(const struct config *cfg)
{
	for (size_t i = 0; scan_registry[i] && i < SCAN_MAX_SCANNERS; i++) {
		const struct scanner_ops *op = scan_registry[i];
		int r;

		scanner_on[i] = scanner_selected(cfg, op->name);
		if (!scanner_on[i])
			continue;
		r = op->init ? op->init(cfg) : 0;

		scanner_ok[i] = r == 0;
		if (r < 0)
			log_warn("scanner=%s init failed: %s (skipped)", op->name, strerror(-r));
	}
	autolearn_configure(cfg);
	combine_init(cfg);
	pipeline_ready = 1;
	return 0;
}

void scan_pipeline_fini(void)
{
	if (!pipeline_ready)
		return;
	for (size_t i = 0; scan_registry[i] && i < SCAN_MAX_SCANNERS; i++)
		if (scanner_ok[i] && scan_registry[i]->fini)
			scan_registry[i]->fini();
	memset(scanner_ok, 0, sizeof scanner_ok);
	combine_fini();
	pipeline_ready = 0;
}

void scan_pipeline_reload(const struct config *cfg)
{
	for (size_t i = 0; scan_registry[i] && i < SCAN_MAX_SCANNERS; i++) {
		const struct scanner_ops *op = scan_registry[i];
		int r;

		if (!op->reload || !scanner_on[i])
			continue;
		if (!scanner_ok[i]) {
			/* A scanner whose files were missing at start may come alive now; ask
			 * every SCAN_INIT_RETRY_S, not every tick (a failing init logs). */
			time_t now = time(NULL);

			if (now < init_retry_at[i])
				continue;
			init_retry_at[i] = now + SCAN_INIT_RETRY_S;
			if (op->init && op->init(cfg) == 0)
				scanner_ok[i] = 1;
			continue;
		}
		r = op->reload(cfg);
		if (r < 0)
			log_warn("scanner=%s reload failed: %s (old data kept)", op->name, strerror(-r));
	}
	combine_reload(cfg);
}

/* The parser's malformation flags as symbols. Small scores: malformed mail leans spammy, but
 * plenty of legitimate software writes it. */
static const struct {
	unsigned flag;
	const char *name;
	double score;
} mime_flag_symbols[] = {
	{MIME_F_DEPTH_LIMIT, "MIME_DEPTH_LIMIT", 2.0},
	{MIME_F_PARTS_LIMIT, "MIME_PARTS_LIMIT", 2.0},
	{MIME_F_DECODE_LIMIT, "MIME_DECODE_LIMIT", 1.0},
	{MIME_F_BAD_HEADER, "MIME_BAD_HEADER", 0.5},
	{MIME_F_NO_BOUNDARY, "MIME_NO_BOUNDARY", 1.0},
	{MIME_F_UNCLOSED, "MIME_UNCLOSED", 0.5},
	{MIME_F_BAD_ENCODING, "MIME_BAD_ENCODING", 0.5},
	{MIME_F_BAD_CHARSET, "MIME_BAD_CHARSET", 0.2},
	{MIME_F_8BIT_HEADER, "MIME_8BIT_HEADER", 0.2},
	{MIME_F_TRUNCATED, "MIME_TRUNCATED", 1.0},
	{MIME_F_ARENA_FULL, "MIME_ARENA_FULL", 1.0},
};

static void scan_mime_flags(struct scan_result *res, unsigned flags)
{
	for (size_t i = 0; i < sizeof mime_flag_symbols / sizeof mime_flag_symbols[0]; i++)
		if (flags & mime_flag_symbols[i].flag)
			scan_add_symbol(res, mime_flag_symbols[i].name, mime_flag_symbols[i].score,
					NULL);
}

void scan_message(const char *msg, size_t len, const struct scan_envelope *env,
		  const struct tenant *tenant, struct scan_result *res)
{
	struct scan_task t;
	struct arena *a;
	unsigned bayes_first = 0, bayes_end = 0, agreeing = 0;

	memset(res, 0, sizeof *res);
	a = arena_new(SCAN_ARENA_CAP);
	if (a == NULL) {
		scan_add_symbol(res, "SCAN_NO_MEMORY", 0, "no memory for the message arena");
		goto policy;
	}
	memset(&t, 0, sizeof t);
	t.msg = msg;
	t.len = len;
	t.mime = mime_parse(a, msg, len, &mime_limits_default);
	if (t.mime == NULL)
		scan_add_symbol(res, "MIME_UNPARSED", 1.0, "the message did not fit the arena");
	else
		scan_mime_flags(res, t.mime->flags);
	t.arena = a;
	t.env = env;
	t.tenant = tenant;
	t.res = res;
	for (size_t i = 0; scan_registry[i] && i < SCAN_MAX_SCANNERS; i++) {
		const struct scanner_ops *op = scan_registry[i];
		int r;

		if (!scanner_on[i])
			continue;
		if (!pipeline_ready || !scanner_ok[i]) {
			scan_add_symbol(res, "SCANNER_DOWN", 0, "%s not available", op->name);
			continue;
		}
		unsigned first = res->nsym;
		double added = 0;

		r = op->scan(&t);
		if (r < 0)
			scan_add_symbol(res, "SCANNER_ERROR", 0, "%s: %s", op->name, strerror(-r));
		/* for autolearn: which symbols are Bayes's own, how many others vote spam */
		for (unsigned k = first; k < res->nsym; k++)
			added += res->sym[k].score;
		if (strcmp(op->name, "bayes") == 0) {
			bayes_first = first;
			bayes_end = res->nsym;
		} else if (added >= AUTOLEARN_SCANNER_MIN) {
			agreeing++;
		}
	}
	arena_free(a);
	/* the learned combination (db/combine.model, when trained) replaces the hand-set sum */
	combine_run(res);
policy:
	policy_apply(tenant, env, res);
	autolearn_judge(res, env, tenant, bayes_first, bayes_end, agreeing);
}
