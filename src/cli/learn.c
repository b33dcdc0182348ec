/*
 * learn - `mxtower learn --spam|--ham [--relearn] FILE|DIR...` and `learn --unlearn`: teach
 * the Bayes counts (db/bayes.lmdb) and the fuzzy campaigns (db/fuzzy.lmdb) what a message is.
 *
 * Each message is named by a digest (Message-ID and body), so learning it twice is a no-op,
 * learning it as the other class moves it (a reported mistake is corrected, not doubled), and
 * --unlearn takes back exactly what was learned. A running node sees the change at its next
 * scan. Directories are walked recursively; names starting with "." are skipped.
 */
#include "cli/cli.h"

#include "core/arena.h"
#include "core/config.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "scan/bayes.h"
#include "scan/fuzzy.h"
#include "scan/tokenize.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Larger files are not mail we would accept (smtp.max_message_size is far below). */
#define LEARN_MAX_MESSAGE (64u * 1024 * 1024)
/* The message arena: as the scan pipeline's, the MIME tree and decoded parts of one message. */
#define LEARN_ARENA_CAP (192u * 1024 * 1024)

static const char learn_usage[] =
	"usage: mxtower learn --spam|--ham [--relearn] FILE|DIR...\n"
	"       mxtower learn --unlearn FILE|DIR...\n"
	"       mxtower learn --stats\n"
	"Teach the Bayes filter and the fuzzy campaign store what these messages are.\n"
	"A message learned before as the other class is moved (--relearn says so explicitly);\n"
	"--unlearn forgets it. Directories are read recursively.\n"
	"Common options: -c FILE, --home DIR, -o section.key=value.\n";

struct learn_ctx {
	struct bayes_db *bayes;
	struct fuzzy_db *fuzzy;
	enum bayes_class cls; /* BAYES_CLASS_NONE = unlearn */
	uint64_t *tok;
	struct arena *arena;
	unsigned long learned, known, moved, forgotten, failed;
	int quiet;
};

static void fuzzy_apply(struct learn_ctx *lc, const struct mime_msg *m, const char *msg,
			size_t len, enum bayes_class cls, int delta)
{
	struct fuzzy_sig sig;
	uint64_t att[FUZZY_MAX_ATTACH];
	size_t natt = 0;
	int spam = cls == BAYES_CLASS_SPAM;

	if (fuzzy_message_sigs(m, msg, len, &sig, att, &natt) == 0)
		fuzzy_db_learn_text(lc->fuzzy, &sig, spam, delta);
	for (size_t i = 0; i < natt; i++)
		fuzzy_db_learn_attach(lc->fuzzy, att[i], spam, delta);
}

static void learn_file(struct learn_ctx *lc, const char *path)
{
	struct tok_sink s = {lc->tok, 0, TOK_MAX_FEATURES};
	uint8_t digest[BAYES_DIGEST_LEN];
	enum bayes_class prev = BAYES_CLASS_NONE;
	size_t len;
	char *msg = fs_read_file(path, LEARN_MAX_MESSAGE, &len);
	struct mime_msg *m;
	int r;

	if (msg == NULL) {
		fprintf(stderr, "mxtower learn: %s: %s\n", path, strerror(errno));
		lc->failed++;
		return;
	}
	arena_reset(lc->arena);
	m = mime_parse(lc->arena, msg, len, &mime_limits_default);
	tokenize_message(&s, &s, m, msg, len);
	tok_sink_finish(&s);
	bayes_message_digest(msg, len, digest);
	r = bayes_db_learn(lc->bayes, digest, s.h, s.n, lc->cls, &prev);
	if (r < 0) {
		fprintf(stderr, "mxtower learn: %s: %s\n", path, strerror(-r));
		lc->failed++;
	} else if (r == 1) {
		lc->known++;
	} else {
		if (prev != BAYES_CLASS_NONE)
			fuzzy_apply(lc, m, msg, len, prev, -1);
		if (lc->cls != BAYES_CLASS_NONE)
			fuzzy_apply(lc, m, msg, len, lc->cls, +1);
		if (lc->cls == BAYES_CLASS_NONE)
			lc->forgotten++;
		else if (prev != BAYES_CLASS_NONE)
			lc->moved++;
		else
			lc->learned++;
	}
	free(msg);
}

static void learn_one(void *ctx, const char *path)
{
	learn_file(ctx, path);
}

static int learn_open(const struct config *cfg, struct learn_ctx *lc)
{
	char dir[CONFIG_PATH], bpath[CONFIG_PATH], fpath[CONFIG_PATH];
	int r;

	if (config_path(cfg, "db", dir, sizeof dir) < 0 ||
	    config_path(cfg, "db/bayes.lmdb", bpath, sizeof bpath) < 0 ||
	    config_path(cfg, "db/fuzzy.lmdb", fpath, sizeof fpath) < 0) {
		fprintf(stderr, "mxtower learn: home path too long\n");
		return -1;
	}
	if ((r = fs_mkdir_p(dir, 0755)) < 0) {
		fprintf(stderr, "mxtower learn: %s: %s\n", dir, strerror(-r));
		return -1;
	}
	lc->bayes = bayes_db_open(bpath, BAYES_DB_BULK);
	lc->fuzzy = lc->bayes ? fuzzy_db_open(fpath, 0) : NULL;
	if (lc->fuzzy == NULL) {
		fprintf(stderr, "mxtower learn: cannot open the databases under %s\n", dir);
		bayes_db_close(lc->bayes);
		return -1;
	}
	return 0;
}

int cmd_learn(int argc, char **argv)
{
	struct config cfg;
	struct learn_ctx lc;
	int have_cls = 0, stats = 0, first = 0, status = 0;
	uint64_t nspam = 0, nham = 0;

	if (cli_wants_help(argc, argv, learn_usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	memset(&lc, 0, sizeof lc);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--spam") == 0 || strcmp(argv[i], "--ham") == 0 ||
		    strcmp(argv[i], "--unlearn") == 0) {
			if (have_cls++) {
				fputs(learn_usage, stderr);
				return 2;
			}
			lc.cls = argv[i][2] == 's' ? BAYES_CLASS_SPAM :
				 argv[i][2] == 'h' ? BAYES_CLASS_HAM : BAYES_CLASS_NONE;
		} else if (strcmp(argv[i], "--relearn") == 0) {
			/* learning already moves a message between classes; the flag is for intent */
		} else if (strcmp(argv[i], "--stats") == 0) {
			stats = 1;
		} else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			lc.quiet = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "mxtower learn: unknown option %s\n", argv[i]);
			return 2;
		} else if (!first) {
			first = i;
		}
	}
	if ((!stats && (!have_cls || !first)) || (stats && have_cls)) {
		fputs(learn_usage, stderr);
		return 2;
	}
	if (learn_open(&cfg, &lc) < 0)
		return 1;
	if (!stats) {
		lc.tok = malloc(TOK_MAX_FEATURES * sizeof *lc.tok);
		lc.arena = arena_new(LEARN_ARENA_CAP);
		if (lc.tok == NULL || lc.arena == NULL) {
			status = 1;
			goto out;
		}
		for (int i = first; i < argc; i++)
			if (!(argv[i][0] == '-' && argv[i][1]))
				lc.failed += cli_walk_files("learn", argv[i], learn_one, &lc);
		if (!lc.quiet)
			printf("learned %lu, moved %lu, forgotten %lu, already known %lu, failed %lu\n",
			       lc.learned, lc.moved, lc.forgotten, lc.known, lc.failed);
		if (lc.failed)
			status = 1;
	}
	if (bayes_db_counts(lc.bayes, &nspam, &nham) == 0 && (stats || !lc.quiet))
		printf("bayes: %" PRIu64 " spam, %" PRIu64 " ham learned\n", nspam, nham);
out:
	free(lc.tok);
	arena_free(lc.arena);
	bayes_db_close(lc.bayes);
	fuzzy_db_close(lc.fuzzy);
	return status;
}
