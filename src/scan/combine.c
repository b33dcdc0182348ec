/*
 * combine - the learned combination layer at scan time: the model file's format, the features
 * of a scan result, and the rewrite of the scores (see combine.h; the fit is combine_fit.c).
 *
 * Model file (text, one item a line, '#' comments):
 *
 *   mxtower-combine 1
 *   hand   0.9
 *   bias   -3.2
 *   z0     1.7
 *   lambda 1
 *   bayes  0.81 4.5 -2.0 0.3
 *   w      RULE_NAME 1.25
 *
 * Why each symbol's correction is on its presence (1 when it fired) while the hand-set total
 * is a feature of its own: a rule's score is a constant, so presence carries the same
 * information, and a 0-score symbol (an auth result) still gets a say.
 */
#include "scan/combine.h"

#include "core/fsutil.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Indicator clamped before the logit: Bayes prints 4 decimals, so 1.0000 is common. */
#define COMBINE_P_EPS 1e-4
/* The logit feature is divided by this to sit in about [-1, 1], as the other features do. */
#define COMBINE_LOGIT_DIV 10.0

int combine_symbol_excluded(const char *name)
{
	return strncmp(name, "FUZZY_", 6) == 0 || strcmp(name, "SCANNER_DOWN") == 0 ||
	       strcmp(name, "SCANNER_ERROR") == 0 || strcmp(name, "SCAN_NO_MEMORY") == 0 ||
	       strcmp(name, "COMBINE") == 0 || strncmp(name, "BAYES_", 6) == 0;
}

double combine_bayes_prob(const struct scan_result *res, unsigned *clues)
{
	if (clues)
		*clues = 0;
	for (unsigned i = 0; i < res->nsym; i++) {
		const struct scan_symbol *s = &res->sym[i];
		const char *p;

		if (strcmp(s->name, "BAYES_SPAM") != 0 && strcmp(s->name, "BAYES_HAM") != 0)
			continue;
		p = strstr(s->detail, "prob=");
		if (p == NULL)
			return -1;
		char *end;
		double v = strtod(p + 5, &end);

		if (end == p + 5 || !(v >= 0.0 && v <= 1.0))
			return -1;
		if (clues && (p = strstr(s->detail, "clues=")) != NULL) {
			unsigned long c = strtoul(p + 6, &end, 10);

			*clues = end != p + 6 && c < 100000 ? (unsigned)c : 0;
		}
		return v;
	}
	return -1;
}

void combine_bayes_features(double p, unsigned clues, double out[COMBINE_BAYES_FEATURES])
{
	double q;

	if (p < 0) {
		memset(out, 0, COMBINE_BAYES_FEATURES * sizeof *out);
		return;
	}
	q = p < COMBINE_P_EPS ? COMBINE_P_EPS : p > 1 - COMBINE_P_EPS ? 1 - COMBINE_P_EPS : p;
	out[0] = log(q / (1 - q)) / COMBINE_LOGIT_DIV;
	out[1] = p > 0.5 ? 2 * p - 1 : 0; /* the hand-set BAYES_SPAM's shape */
	out[2] = p < 0.5 ? 1 - 2 * p : 0; /* BAYES_HAM's */
	/* how much evidence: ln(1 + clues) / ln(151), 0..1; the scale of the 150 clues Bayes took
	 * until 2026-11-29, kept so that a model file's weight keeps its meaning (with
	 * BAYES_MAX_CLUES at 60 the feature ends at 0.82) */
	out[3] = log1p((double)clues) / log(151.0);
}

/* Index of name in the model, -1 when unknown. Linear: a message has at most 64 symbols and a
 * model a few hundred names, all short compares of distinct prefixes. */
static int model_index(const struct combine_model *m, const char *name)
{
	for (unsigned i = 0; i < m->n; i++)
		if (strcmp(m->name[i], name) == 0)
			return (int)i;
	return -1;
}

/* Whether symbol k of res is the first of its name (a name counts once, as presence). */
static int first_of_name(const struct scan_result *res, unsigned k)
{
	for (unsigned j = 0; j < k; j++)
		if (strcmp(res->sym[j].name, res->sym[k].name) == 0)
			return 0;
	return 1;
}

static double bayes_part(const struct combine_model *m, const struct scan_result *res)
{
	double f[COMBINE_BAYES_FEATURES], z = 0, p;
	unsigned clues;

	p = combine_bayes_prob(res, &clues);
	combine_bayes_features(p, clues, f);
	for (unsigned j = 0; j < COMBINE_BAYES_FEATURES; j++)
		z += m->wb[j] * f[j];
	return z;
}

static int is_bayes(const char *name)
{
	return strcmp(name, "BAYES_SPAM") == 0 || strcmp(name, "BAYES_HAM") == 0;
}

/* What symbol k adds to the logit under m. */
static double contribution(const struct combine_model *m, const struct scan_result *res,
			   unsigned k, double bayes)
{
	const struct scan_symbol *s = &res->sym[k];
	int i;

	if (strcmp(s->name, "COMBINE") == 0)
		return 0;
	if (is_bayes(s->name))
		return m->whand * s->score + bayes;
	if (!combine_symbol_excluded(s->name) && (i = model_index(m, s->name)) >= 0 &&
	    first_of_name(res, k))
		return m->whand * s->score + m->w[i];
	return m->whand * s->score;
}

double combine_logit(const struct combine_model *m, const struct scan_result *res)
{
	double b = bayes_part(m, res), z = m->bias;

	for (unsigned k = 0; k < res->nsym; k++)
		z += contribution(m, res, k, b);
	return z;
}

void combine_apply(const struct combine_model *m, struct scan_result *res)
{
	double b = bayes_part(m, res), hand = res->score, z = m->bias;

	for (unsigned k = 0; k < res->nsym; k++) {
		res->sym[k].score = contribution(m, res, k, b);
		z += res->sym[k].score;
	}
	res->score = z - m->bias;
	/* the intercept and the threshold: what puts the chosen logit at the tag score */
	if (res->nsym >= SCAN_MAX_SYMBOLS) /* the table is full: the sum must still be right */
		res->score += COMBINE_TAG_SCORE + m->bias - m->z0;
	scan_add_symbol(res, "COMBINE", COMBINE_TAG_SCORE + m->bias - m->z0,
			"learned combination: logit %.2f, threshold %.2f (hand-set sum %.2f)", z, m->z0,
			hand);
}

/* One line of a model file into m. 0 or -EINVAL. */
static int parse_line(char *s, struct combine_model *m, int *have_magic)
{
	char key[16], name[SCAN_SYMBOL_NAME + 1];
	double a;
	int used = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	if (!*have_magic) {
		if (strcmp(s, "mxtower-combine 1") != 0)
			return -EINVAL;
		*have_magic = 1;
		return 0;
	}
	if (sscanf(s, "%15s%n", key, &used) != 1)
		return -EINVAL;
	s += used;
	if (strcmp(key, "w") == 0) {
		if (sscanf(s, "%48s %lf %n", name, &a, &used) != 2 || s[used] != '\0' ||
		    strlen(name) >= SCAN_SYMBOL_NAME || m->n >= COMBINE_MAX_FEATURES ||
		    !(fabs(a) <= COMBINE_MAX_ABS))
			return -EINVAL;
		memcpy(m->name[m->n], name, strlen(name) + 1);
		m->w[m->n++] = a;
		return 0;
	}
	if (strcmp(key, "bayes") == 0) {
		for (unsigned j = 0; j < COMBINE_BAYES_FEATURES; j++) {
			if (sscanf(s, "%lf%n", &a, &used) != 1 || !(fabs(a) <= COMBINE_MAX_ABS))
				return -EINVAL;
			m->wb[j] = a;
			s += used;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		return *s == '\0' ? 0 : -EINVAL;
	}
	if (sscanf(s, "%lf %n", &a, &used) != 1 || s[used] != '\0' ||
	    !(fabs(a) <= COMBINE_MAX_ABS))
		return -EINVAL;
	if (strcmp(key, "bias") == 0)
		m->bias = a;
	else if (strcmp(key, "hand") == 0 && a >= COMBINE_MIN_HAND_WEIGHT)
		m->whand = a;
	else if (strcmp(key, "z0") == 0)
		m->z0 = a;
	else if (strcmp(key, "lambda") == 0)
		m->lambda = a;
	else
		return -EINVAL;
	return 0;
}

int combine_model_parse(const char *text, size_t len, struct combine_model *m, unsigned *line)
{
	char buf[256];
	size_t i = 0;
	unsigned ln = 0;
	int have_magic = 0;

	memset(m, 0, sizeof *m);
	m->whand = 1.0; /* absent: the hand-set scores as they are */
	if (len > COMBINE_FILE_MAX)
		return -EINVAL;
	while (i < len) {
		size_t e = i;

		while (e < len && text[e] != '\n')
			e++;
		ln++;
		size_t n = e - i;

		if (n > 0 && text[i + n - 1] == '\r')
			n--;
		if (n >= sizeof buf || memchr(text + i, '\0', n) != NULL ||
		    (memcpy(buf, text + i, n), buf[n] = '\0', parse_line(buf, m, &have_magic) < 0)) {
			if (line)
				*line = ln;
			return -EINVAL;
		}
		i = e + 1;
	}
	if (!have_magic) {
		if (line)
			*line = ln ? ln : 1;
		return -EINVAL;
	}
	return 0;
}

int combine_model_save(const struct combine_model *m, const char *path)
{
	char tmp[CONFIG_PATH + 16];
	FILE *f;
	int r = 0;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	fprintf(f, "mxtower-combine 1\n# written by mxtower train-weights (docs/spam.md)\n");
	fprintf(f, "hand %.17g\n", m->whand);
	fprintf(f, "bias %.17g\nz0 %.17g\nlambda %.17g\nbayes", m->bias, m->z0, m->lambda);
	for (unsigned j = 0; j < COMBINE_BAYES_FEATURES; j++)
		fprintf(f, " %.17g", m->wb[j]);
	fputc('\n', f);
	for (unsigned i = 0; i < m->n; i++)
		fprintf(f, "w %s %.17g\n", m->name[i], m->w[i]);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* ---- the process's model ---- */

static struct combine_model *cur;
static struct stat cur_st;
static int have_st, disabled;

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

void combine_reload(const struct config *cfg)
{
	char path[CONFIG_PATH + 64];
	struct stat st;
	struct combine_model *m;
	char *text;
	size_t len;
	unsigned line = 0;

	if (disabled || scan_home_path(cfg, COMBINE_MODEL_FILE, path, sizeof path) < 0)
		return;
	if (stat(path, &st) < 0) {
		if (cur)
			log_info("combine: %s removed: hand-set scores from now on", COMBINE_MODEL_FILE);
		free(cur);
		cur = NULL;
		have_st = 0;
		return;
	}
	if (have_st && same_file(&st, &cur_st))
		return;
	cur_st = st;
	have_st = 1;
	text = fs_read_file(path, COMBINE_FILE_MAX, &len);
	m = malloc(sizeof *m);
	if (text == NULL || m == NULL || combine_model_parse(text, len, m, &line) < 0) {
		log_warn("combine: %s unusable (line %u): %s model kept", COMBINE_MODEL_FILE, line,
			 cur ? "previous" : "no");
		free(m);
		free(text);
		return;
	}
	free(text);
	free(cur);
	cur = m;
}

void combine_init(const struct config *cfg)
{
	combine_reload(cfg);
}

void combine_fini(void)
{
	free(cur);
	cur = NULL;
	have_st = 0;
}

void combine_run(struct scan_result *res)
{
	if (cur && !disabled)
		combine_apply(cur, res);
}

void combine_disable(void)
{
	disabled = 1;
	combine_fini();
}
