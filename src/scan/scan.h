/*
 * scan - the content-scanning pipeline: a static list of scanner ops tables run over one parsed
 * message held in a per-message arena, collecting symbols (name, score, detail). The result,
 * with the client's policy, gives a verdict and an action.
 *
 * A scanner never crashes the pipeline on bad input: hostile content is its daily bread. A
 * scanner that cannot run (no engine, limit hit) adds a symbol saying so and returns 0.
 */
#ifndef MX_SCAN_SCAN_H
#define MX_SCAN_SCAN_H

#include "core/arena.h"
#include "core/config.h"
#include "mime/mime.h"
#include "store/tenant.h"

#include <stddef.h>
#include <stdint.h>

#define SCAN_MAX_SYMBOLS 64
#define SCAN_SYMBOL_NAME 48
#define SCAN_SYMBOL_DETAIL 160
#define SCAN_VIRUS_MAX 128

enum scan_verdict { VERDICT_CLEAN, VERDICT_SPAM, VERDICT_PHISH, VERDICT_MALWARE, VERDICT_SUSPECT };

struct scan_symbol {
	char name[SCAN_SYMBOL_NAME];
	double score;
	char detail[SCAN_SYMBOL_DETAIL];
};

/* A plain value (no pointers): it crosses the worker socket and goes into the queue file. */
struct scan_result {
	enum scan_verdict verdict;
	enum policy_action action;
	double score;
	int unscanned;  /* no scanner answered in time: scan again before delivery */
	char virus[SCAN_VIRUS_MAX];
	unsigned nsym;
	struct scan_symbol sym[SCAN_MAX_SYMBOLS];
};

/* SMTP context of the message, for auth/phish/policy. Strings, NUL-terminated. */
struct scan_envelope {
	char client_ip[64];
	char helo[256];
	char mail_from[512];
	char rcpt[512];     /* first recipient (the tenant is chosen by it) */
	char tenant[TENANT_NAME_MAX]; /* "" when unknown (mxtower scan on a file) */
	char queue_id[32];  /* for the worker's log lines; "" when unknown */
};

struct tok_words;

struct scan_task {
	const char *msg;    /* whole message, e.g. mmap of the spool body */
	size_t len;
	struct mime_msg *mime;
	struct arena *arena;
	const struct scan_envelope *env;
	const struct tenant *tenant; /* NULL when unknown: defaults apply */
	struct scan_result *res;
	/* The body text's word hashes once the bayes scanner split it (scan/tokenize.h), for
	 * fuzzy's shingles; NULL until then. In the arena. */
	const struct tok_words *words;
};

struct scanner_ops {
	const char *name;
	/* Once per process; 0 or -errno (the scanner is then skipped, with a log line). */
	int (*init)(const struct config *cfg);
	/* Add symbols to t->res; may set t->res->virus. 0, or -errno (logged, scan continues). */
	int (*scan)(struct scan_task *t);
	/* Signatures/rules changed on disk: rebuild beside the old data and swap. May be NULL.
	 * A worker calls it about once a second and on SIGHUP, so a scanner first checks cheaply
	 * (mtimes) whether its files changed and returns 0 at once when not. In a worker it runs
	 * after the privilege drop: open files under <home> through scan_home_path(). */
	int (*reload)(const struct config *cfg);
	void (*fini)(void);
};

/* Set up every registered scanner for this process. */
int scan_pipeline_init(const struct config *cfg);
void scan_pipeline_fini(void);
/* Call every scanner's reload. */
void scan_pipeline_reload(const struct config *cfg);
/*
 * Parse msg into an arena of its own, run every scanner, then apply the tenant's policy
 * (defaults when tenant is NULL) to fill verdict and action. Never fails: trouble becomes
 * symbols.
 */
void scan_message(const char *msg, size_t len, const struct scan_envelope *env,
		  const struct tenant *tenant, struct scan_result *res);

/*
 * Autolearn (bayes.autolearn, off by default; scan/autolearn.h): scan_message decides whether
 * the message it judged is to be learned; call this after answering, with the same bytes, to
 * learn it off the reply path. Returns 1 when learned, 0 when nothing was due, -errno.
 */
int scan_autolearn_run(const char *msg, size_t len);

/* Add a symbol (printf detail). Silently drops past SCAN_MAX_SYMBOLS. */
void scan_add_symbol(struct scan_result *res, const char *name, double score, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));
const char *scan_verdict_name(enum scan_verdict v);
/*
 * Raise the verdict to v if v is more severe (clean < spam < phish < suspect < malware).
 * Scanners call it: av for malware, heur for suspect, phish for phish. The pipeline sets spam
 * from the score once all scanners ran.
 */
void scan_raise_verdict(struct scan_result *res, enum scan_verdict v);
/*
 * "<home>/<rel>" as this process can open it. In a scan worker, which dropped privileges and
 * may not traverse <home> itself, paths under signatures/, rules/ and db/ (and the scratch
 * directory) go through a directory fd opened before the drop ("/proc/self/fd/N/..."); those
 * directories and their files must be readable by the worker's user. 0 or -ENAMETOOLONG.
 */
int scan_home_path(const struct config *cfg, const char *rel, char *out, size_t outsz);
/* The worker's scratch directory (for temporary files), or NULL outside a worker. */
const char *scan_scratch_dir(void);
/*
 * Outside a worker (`mxtower scan`): a private scratch directory
 * /dev/shm/mxtower-scan.PID.XXXXXX (mode 0700) when /dev/shm is a writable tmpfs and the
 * operator set no TMPDIR, so that libclamav's directory per scan call costs what it costs in a
 * worker. Such directories of ours whose PID is gone (a killed scan) are removed first. Call
 * before scan_pipeline_init(). 0 when made, -errno when not (then libclamav's default applies).
 */
int scan_scratch_private(void);
/* Remove what scan_scratch_private() made, with anything left inside it. */
void scan_scratch_private_remove(void);
/* Worker start-up, before the drop: pin signatures/, rules/, db/ (creating signatures/). */
int scan_home_pin(const struct config *cfg);
/* Pin one more directory under <home>. 0 or -errno. */
int scan_home_pin_dir(const struct config *cfg, const char *rel);

#endif
