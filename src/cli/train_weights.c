/*
 * train_weights - `mxtower train-weights --spam DIR... --ham DIR...`: fit the learned
 * combination layer (scan/combine.h) on labelled mail and write <home>/db/combine.model, which
 * every scan process loads (and reloads when it changes).
 *
 * Each message goes through the scan pipeline with the node's config, except that fuzzy does
 * not run (its symbols stay outside the model: a learned message always matches its own
 * campaign) and Bayes classifies a message it learned as if it had not (leave-one-out:
 * unlearn, classify, learn back; bayes.h). The regularisation weight and the operating
 * threshold are chosen by K-fold cross-validation over these messages only (folds by the
 * first byte of the message digest), and the table is printed. Give it the mail Bayes was
 * trained on: then nothing outside the training mail is read.
 *
 * `--show` prints the model in force; `--remove` deletes it (hand-set scores again).
 */
#include "cli/cli.h"

#include "core/config.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "scan/bayes.h"
#include "scan/combine.h"
#include "scan/combine_fit.h"
#include "scan/registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* As `mxtower learn`: larger files are not mail. */
#define TW_MAX_MESSAGE (64u * 1024 * 1024)
/* Weights printed by --show and after a fit: the strongest ones each way. */
#define TW_SHOW_WEIGHTS 12

static const char tw_usage[] =
	"usage: mxtower train-weights --spam DIR|FILE... --ham DIR|FILE... [--folds K] [--fp RATE]\n"
	"                             [--dry-run]\n"
	"       mxtower train-weights --show | --remove\n"
	"Fit the learned combination of the scanners' symbols and Bayes's indicator (logistic\n"
	"regression) on labelled mail, choose its regularisation and threshold by K-fold\n"
	"cross-validation (default 4 folds, threshold at --fp 0.001 of held-out ham), and write\n"
	"<home>/db/combine.model. Give it the mail Bayes learned (each learned message is judged\n"
	"leave-one-out). --dry-run prints the cross-validation without writing.\n"
	"Common options: -c FILE, --home DIR, -o section.key=value.\n";

struct tw_ctx {
	struct combine_data data;
	int spam;
	unsigned folds;
	unsigned long files, failed;
};

static void tw_file(struct tw_ctx *c, const char *path)
{
	static const struct scan_envelope env;
	struct scan_result *res;
	uint8_t digest[BAYES_DIGEST_LEN];
	size_t len;
	char *msg = fs_read_file(path, TW_MAX_MESSAGE, &len);

	if (msg == NULL) {
		fprintf(stderr, "mxtower train-weights: %s: %s\n", path, strerror(errno));
		c->failed++;
		return;
	}
	res = malloc(sizeof *res);
	if (res == NULL) {
		free(msg);
		c->failed++;
		return;
	}
	scan_message(msg, len, &env, NULL, res);
	bayes_message_digest(msg, len, digest);
	if (combine_data_add(&c->data, res, c->spam, digest[0] % c->folds) < 0)
		c->failed++;
	else
		c->files++;
	free(res);
	free(msg);
}

static void tw_one(void *ctx, const char *path)
{
	tw_file(ctx, path);
}

/* The node's scanner selection without fuzzy (see the top of the file). */
static void tw_scanners(struct config *cfg)
{
	char out[sizeof cfg->scan.scanners] = "";
	const char *sel = cfg->scan.scanners;
	int all = sel[0] == '\0' || strcmp(sel, "all") == 0;

	for (size_t i = 0; scan_registry[i]; i++) {
		const char *n = scan_registry[i]->name;
		size_t nl = strlen(n), used = strlen(out);
		const char *p = sel;
		int on = all;

		while (!on && *p) {
			size_t l = strcspn(p, ", ");

			on = l == nl && strncmp(p, n, nl) == 0;
			p += l;
			p += strspn(p, ", ");
		}
		if (on && strcmp(n, "fuzzy") != 0 && used + nl + 2 < sizeof out)
			snprintf(out + used, sizeof out - used, "%s%s", used ? "," : "", n);
	}
	snprintf(cfg->scan.scanners, sizeof cfg->scan.scanners, "%s", out[0] ? out : "none");
}

static void tw_print_model(const struct combine_model *m)
{
	unsigned shown[TW_SHOW_WEIGHTS * 2], ns = 0;

	printf("model: %u symbols, lambda %g, %.3f log-odds per hand-set point, intercept %.3f, "
	       "threshold (logit) %.3f\n", m->n, m->lambda, m->whand, m->bias, m->z0);
	printf("bayes: logit/10 %.3f, spam side %.3f, ham side %.3f, clues %.3f\n", m->wb[0],
	       m->wb[1], m->wb[2], m->wb[3]);
	for (int side = 1; side >= -1; side -= 2) {
		for (unsigned k = 0; k < TW_SHOW_WEIGHTS; k++) {
			int best = -1;

			for (unsigned i = 0; i < m->n; i++) {
				int taken = 0;

				for (unsigned j = 0; j < ns; j++)
					taken |= shown[j] == i;
				if (!taken && side * m->w[i] > 0 &&
				    (best < 0 || side * m->w[i] > side * m->w[best]))
					best = (int)i;
			}
			if (best < 0)
				break;
			shown[ns++] = (unsigned)best;
			printf("  %-40s %+.3f\n", m->name[best], m->w[best]);
		}
	}
}

static int tw_show(const struct config *cfg, int remove_it)
{
	char path[CONFIG_PATH + 64];
	struct combine_model *m;
	size_t len;
	char *text;
	unsigned line = 0;
	int r;

	if (config_path(cfg, COMBINE_MODEL_FILE, path, sizeof path) < 0)
		return 1;
	if (remove_it) {
		if (unlink(path) < 0 && errno != ENOENT) {
			fprintf(stderr, "mxtower train-weights: %s: %s\n", path, strerror(errno));
			return 1;
		}
		printf("removed %s: hand-set scores from the next scan on\n", path);
		return 0;
	}
	text = fs_read_file(path, COMBINE_FILE_MAX, &len);
	if (text == NULL) {
		printf("no model (%s): hand-set scores\n", path);
		return 0;
	}
	m = malloc(sizeof *m);
	r = m ? combine_model_parse(text, len, m, &line) : -ENOMEM;
	if (r < 0)
		fprintf(stderr, "mxtower train-weights: %s: bad model (line %u)\n", path, line);
	else
		tw_print_model(m);
	free(m);
	free(text);
	return r < 0 ? 1 : 0;
}

int cmd_train_weights(int argc, char **argv)
{
	struct config cfg;
	struct tw_ctx c;
	struct combine_fit_opts o;
	struct combine_cv_row rows[COMBINE_MAX_LAMBDAS];
	struct combine_model *m = NULL;
	char path[CONFIG_PATH + 64];
	unsigned chosen = 0;
	int dry = 0, show = 0, rm = 0, nspam = 0, nham = 0, status = 1, r;

	if (cli_wants_help(argc, argv, tw_usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	combine_fit_opts_default(&o);
	memset(&c, 0, sizeof c);
	for (int i = 1, cls = -1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--spam") == 0 || strcmp(argv[i], "--ham") == 0) {
			cls = argv[i][2] == 's';
		} else if (strcmp(argv[i], "--folds") == 0 && i + 1 < argc) {
			unsigned long k = strtoul(argv[++i], &end, 10);

			if (*end || k < 2 || k > 16) {
				fputs("mxtower train-weights: --folds takes 2..16\n", stderr);
				return 2;
			}
			o.folds = (unsigned)k;
		} else if (strcmp(argv[i], "--fp") == 0 && i + 1 < argc) {
			o.fp_target = strtod(argv[++i], &end);
			if (*end || !(o.fp_target >= 0 && o.fp_target < 0.5)) {
				fputs("mxtower train-weights: --fp takes a rate, e.g. 0.001\n", stderr);
				return 2;
			}
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry = 1;
		} else if (strcmp(argv[i], "--show") == 0) {
			show = 1;
		} else if (strcmp(argv[i], "--remove") == 0) {
			rm = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "mxtower train-weights: unknown option %s\n%s", argv[i], tw_usage);
			return 2;
		} else if (cls < 0) {
			fputs(tw_usage, stderr);
			return 2;
		} else {
			nspam += cls == 1;
			nham += cls == 0;
		}
	}
	if (show || rm)
		return tw_show(&cfg, rm);
	if (nspam == 0 || nham == 0) {
		fputs(tw_usage, stderr);
		return 2;
	}
	log_set_proc("train-weights");
	log_set_level(getenv("MXTOWER_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	tw_scanners(&cfg);
	bayes_hold_out_learned(1);
	combine_disable();
	scan_pipeline_init(&cfg);
	c.folds = o.folds;
	for (int i = 1, cls = -1; i < argc; i++) {
		if (strcmp(argv[i], "--spam") == 0 || strcmp(argv[i], "--ham") == 0) {
			cls = argv[i][2] == 's';
		} else if (strcmp(argv[i], "--folds") == 0 || strcmp(argv[i], "--fp") == 0) {
			i++;
		} else if (!(argv[i][0] == '-' && argv[i][1])) {
			c.spam = cls;
			c.failed += cli_walk_files("train-weights", argv[i], tw_one, &c);
		}
	}
	scan_pipeline_fini();
	printf("scanned %lu messages (%lu failed), %u symbol names\n", c.files, c.failed,
	       c.data.nnames);
	m = malloc(sizeof *m);
	if (m == NULL)
		goto out;
	if ((r = combine_fit(&c.data, &o, m, rows, &chosen)) < 0) {
		fprintf(stderr, "mxtower train-weights: fit failed: %s\n",
			r == -EINVAL ? "need spam and ham" :
			r == -EDOM ? "the hand-set scores got (almost) no weight; model not written" :
			strerror(-r));
		goto out;
	}
	printf("%u-fold cross-validation, threshold at %.3g%% of held-out ham:\n", o.folds,
	       100 * o.fp_target);
	printf("  %-8s %-10s %-8s %-10s %-9s\n", "lambda", "caught%", "fp%", "1-ROCA%", "logloss");
	for (unsigned l = 0; l < o.nlambda; l++)
		printf("  %-8g %-10.2f %-8.3f %-10.4f %-9.4f%s\n", rows[l].lambda, rows[l].caught_pct,
		       rows[l].fp_pct, rows[l].one_minus_roca_pct, rows[l].logloss,
		       l == chosen ? "  <- chosen" : "");
	tw_print_model(m);
	status = 0;
	if (dry)
		goto out;
	if (config_path(&cfg, COMBINE_MODEL_FILE, path, sizeof path) < 0 ||
	    (r = combine_model_save(m, path)) < 0) {
		fprintf(stderr, "mxtower train-weights: cannot write the model under %s\n", cfg.home);
		status = 1;
		goto out;
	}
	printf("written: %s\n", path);
out:
	free(m);
	combine_data_free(&c.data);
	return status;
}
