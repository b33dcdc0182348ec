/*
 * rules_parse - the rule file format (see rules.h): "rule NAME" opens a rule, the lines after
 * it set its fields ("target", "match", "score", "desc"), the next "rule" or the end of the
 * file closes it. Every rule must have target, match and score; anything else is an error
 * with its file and line, so `mxtower rules check` can point at it.
 */
#include "scan/rules.h"

#include "core/fsutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A line longer than this in a rule file is not something a person wrote. */
#define RULES_LINE_MAX (RULE_PATTERN_MAX + 64)

const char *rule_target_name(enum rule_target t)
{
	switch (t) {
	case RULE_T_HEADER: return "header";
	case RULE_T_BODY: return "body";
	case RULE_T_RAWBODY: return "rawbody";
	case RULE_T_URI: return "uri";
	case RULE_T_FULL: return "full";
	}
	return "?";
}

void rule_list_free(struct rule_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].pattern);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int fail(char *err, size_t errsz, const char *fname, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errsz, const char *fname, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errsz, "%s:%u: ", fname, line);

	if (n >= 0 && (size_t)n < errsz) {
		va_start(ap, fmt);
		vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= RULE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* Fields of a rule being read; checked and added when it closes. */
struct pending {
	struct rule r;
	int open, has_target, has_match, has_score;
};

static int pending_close(struct rule_list *l, struct pending *p, char *err, size_t errsz)
{
	size_t i;

	if (!p->open)
		return 0;
	p->open = 0;
	if (!p->has_target || !p->has_match || !p->has_score) {
		free(p->r.pattern);
		return fail(err, errsz, p->r.file, p->r.line, "rule %s lacks %s", p->r.name,
			    !p->has_target ? "target" : !p->has_match ? "match" : "score");
	}
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, p->r.name) == 0)
			break;
	if (i < l->n) { /* a later definition replaces: operators override shipped rules */
		free(l->v[i].pattern);
		l->v[i] = p->r;
		return 0;
	}
	if (l->n >= RULES_MAX) {
		free(p->r.pattern);
		return fail(err, errsz, p->r.file, p->r.line, "more than %d rules", RULES_MAX);
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct rule *nv = realloc(l->v, nc * sizeof *nv);

		if (nv == NULL) {
			free(p->r.pattern);
			return -ENOMEM;
		}
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = p->r;
	return 0;
}

/* "/pattern/flags" into the rule. */
static int parse_match(struct pending *p, char *v, char *err, size_t errsz, const char *fname,
		       unsigned line)
{
	char *end = strrchr(v, '/');
	size_t plen;

	if (v[0] != '/' || end == NULL || end == v)
		return fail(err, errsz, fname, line, "match must be /pattern/flags");
	plen = (size_t)(end - v - 1);
	if (plen == 0 || plen > RULE_PATTERN_MAX)
		return fail(err, errsz, fname, line, "pattern empty or longer than %d",
			    RULE_PATTERN_MAX);
	p->r.flags = 0;
	for (const char *f = end + 1; *f; f++) {
		if (*f == 'i')
			p->r.flags |= RULE_F_CASELESS;
		else if (*f == 's')
			p->r.flags |= RULE_F_DOTALL;
		else if (*f == 'm')
			p->r.flags |= RULE_F_MULTILINE;
		else
			return fail(err, errsz, fname, line, "unknown flag '%c' (i, s, m)", *f);
	}
	free(p->r.pattern);
	p->r.pattern = strndup(v + 1, plen);
	if (p->r.pattern == NULL)
		return -ENOMEM;
	p->has_match = 1;
	return 0;
}

static int parse_target(struct pending *p, const char *v, char *err, size_t errsz,
			const char *fname, unsigned line)
{
	static const struct {
		const char *name;
		enum rule_target t;
	} plain[] = {{"body", RULE_T_BODY}, {"rawbody", RULE_T_RAWBODY}, {"uri", RULE_T_URI},
		     {"full", RULE_T_FULL}};

	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (strcmp(v, plain[i].name) == 0) {
			p->r.target = plain[i].t;
			p->has_target = 1;
			return 0;
		}
	if (strncmp(v, "header:", 7) == 0 && v[7] && strlen(v + 7) < RULE_HEADER_MAX) {
		size_t i;

		for (i = 0; v[7 + i]; i++) {
			char c = v[7 + i];

			if (c <= ' ' || c == ':' || c > '~')
				return fail(err, errsz, fname, line, "bad header name");
			p->r.header[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		p->r.header[i] = '\0';
		p->r.target = RULE_T_HEADER;
		p->has_target = 1;
		return 0;
	}
	return fail(err, errsz, fname, line, "unknown target '%s' (header:NAME, body, rawbody, uri, full)",
		    v);
}

static int parse_line(struct rule_list *l, struct pending *p, char *s, const char *fname,
		      unsigned line, char *err, size_t errsz)
{
	char *key, *v, *end;
	int r;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	if (*s == '\0' || *s == '#')
		return 0;
	key = s;
	v = s + strcspn(s, " \t");
	if (*v) {
		*v++ = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
	}
	if (strcmp(key, "rule") == 0) {
		if ((r = pending_close(l, p, err, errsz)) < 0)
			return r;
		if (!name_ok(v))
			return fail(err, errsz, fname, line,
				    "rule name must be A-Z, 0-9, _ and under %d characters", RULE_NAME_MAX);
		memset(p, 0, sizeof *p);
		p->open = 1;
		snprintf(p->r.name, sizeof p->r.name, "%s", v);
		snprintf(p->r.file, sizeof p->r.file, "%s", fname);
		p->r.line = line;
		return 0;
	}
	if (!p->open)
		return fail(err, errsz, fname, line, "'%s' outside a rule", key);
	if (*v == '\0')
		return fail(err, errsz, fname, line, "'%s' needs a value", key);
	if (strcmp(key, "target") == 0)
		return parse_target(p, v, err, errsz, fname, line);
	if (strcmp(key, "match") == 0)
		return parse_match(p, v, err, errsz, fname, line);
	if (strcmp(key, "score") == 0) {
		char *e;
		double d = strtod(v, &e);

		if (*e || e == v || !(d >= -RULE_SCORE_MAX && d <= RULE_SCORE_MAX))
			return fail(err, errsz, fname, line, "score must be a number within +-%g",
				    RULE_SCORE_MAX);
		p->r.score = d;
		p->has_score = 1;
		return 0;
	}
	if (strcmp(key, "desc") == 0 || strcmp(key, "describe") == 0) {
		snprintf(p->r.desc, sizeof p->r.desc, "%s", v);
		return 0;
	}
	return fail(err, errsz, fname, line, "unknown field '%s' (target, match, score, desc)", key);
}

int rules_parse(struct rule_list *l, const char *text, size_t len, const char *fname, char *err,
		size_t errsz)
{
	struct pending p;
	char *buf;
	unsigned line = 0;
	size_t i = 0;
	int r = 0;

	memset(&p, 0, sizeof p);
	buf = malloc(RULES_LINE_MAX + 1);
	if (buf == NULL)
		return -ENOMEM;
	while (i < len && r == 0) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (text + i)) : len - i;

		line++;
		if (ll > RULES_LINE_MAX) {
			r = fail(err, errsz, fname, line, "line longer than %d", RULES_LINE_MAX);
			break;
		}
		if (memchr(text + i, '\0', ll)) {
			r = fail(err, errsz, fname, line, "NUL byte");
			break;
		}
		memcpy(buf, text + i, ll);
		buf[ll] = '\0';
		r = parse_line(l, &p, buf, fname, line, err, errsz);
		i += ll + 1;
	}
	if (r == 0)
		r = pending_close(l, &p, err, errsz);
	else if (p.open)
		free(p.r.pattern);
	free(buf);
	return r;
}

int rules_parse_file(struct rule_list *l, const char *path, char *err, size_t errsz)
{
	size_t len;
	char *text = fs_read_file(path, RULES_FILE_MAX, &len);
	const char *base = strrchr(path, '/');
	int r;

	if (text == NULL) {
		r = -errno;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return r;
	}
	r = rules_parse(l, text, len, base ? base + 1 : path, err, errsz);
	free(text);
	return r;
}
