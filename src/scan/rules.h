/*
 * rules - our own content rules: a name, a target, a regular expression, a score and a
 * description. The file format (docs/spam.md):
 *
 *     # comment
 *     rule   GTUBE
 *     target body
 *     match  /XJS\*C4JDBQADN1\.NSBN3\*2IDNEN\*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\*C\.34X/
 *     score  1000
 *     desc   Generic Test for Unsolicited Bulk Email
 *
 * Targets: header:NAME (each decoded value of that header), body (decoded text, HTML made
 * visible), rawbody (the message after its header block, as sent), uri (each URL, one per
 * line), full (the whole raw message). Flags after the closing slash: i (caseless), s (dot
 * matches newline), m (^ and $ at every line).
 *
 * Compilation (rules_compile.c): all rules of one target become one Hyperscan database scanned
 * in one pass; a pattern Hyperscan refuses (back-references, look-around...) runs through PCRE2
 * instead. Databases are cached in <home>/cache/ under a hash of their rules and of the
 * Hyperscan version, so a restart loads instead of compiling.
 *
 * Loading (rules.c): the shipped rules/ directory (found next to the binary, or
 * $MXTOWER_RULES_DIR) and then every <home>/rules/NAME.rules; a later rule with the same name replaces
 * an earlier one, so an operator overrides a shipped score with one file.
 */
#ifndef MX_SCAN_RULES_H
#define MX_SCAN_RULES_H

#include "scan/scan.h"

#include <stddef.h>
#include <stdint.h>

#define RULE_NAME_MAX SCAN_SYMBOL_NAME
#define RULE_DESC_MAX 128
#define RULE_HEADER_MAX 64
/* A single pattern longer than this is a mistake or an attack on the compiler. */
#define RULE_PATTERN_MAX 4096
/* Rule files are text written by people; 4 MiB is thousands of rules. */
#define RULES_FILE_MAX (4u * 1024 * 1024)
/* Rules in one set: keeps compile time and hit bitmaps bounded. */
#define RULES_MAX 8192
/* Scores outside this are typing errors (GTUBE's 1000 is the largest meaningful one). */
#define RULE_SCORE_MAX 10000.0
/* PCRE2 backtracking budget per match: a pathological pattern fails to match, it does not
 * stall the worker. */
#define RULE_PCRE_MATCH_LIMIT 200000

enum rule_target { RULE_T_HEADER, RULE_T_BODY, RULE_T_RAWBODY, RULE_T_URI, RULE_T_FULL };

enum {
	RULE_F_CASELESS = 1 << 0,
	RULE_F_DOTALL = 1 << 1,
	RULE_F_MULTILINE = 1 << 2,
};

struct rule {
	char name[RULE_NAME_MAX];
	enum rule_target target;
	char header[RULE_HEADER_MAX]; /* for RULE_T_HEADER, lowercased */
	char *pattern;                /* malloc'd, without slashes */
	unsigned flags;               /* RULE_F_* */
	double score;
	char desc[RULE_DESC_MAX];
	char file[256];
	unsigned line;
};

struct rule_list {
	struct rule *v;
	size_t n, cap;
};

void rule_list_free(struct rule_list *l);
/*
 * Parse one rule file's text and add its rules to l (a rule named like an existing one
 * replaces it). 0, or -EINVAL with "file:line: reason" in err; l keeps the rules before the
 * error.
 */
int rules_parse(struct rule_list *l, const char *text, size_t len, const char *fname, char *err,
		size_t errsz);
/* Read and parse a file. 0 or -errno/-EINVAL with err set. */
int rules_parse_file(struct rule_list *l, const char *path, char *err, size_t errsz);
const char *rule_target_name(enum rule_target t);

/* ---- compiled sets (rules_compile.c) ---- */

struct rule_set;

/*
 * Compile l (its rules are moved into the set; l is left empty). cache_dir may be NULL (no
 * cache). NULL on failure with err set: a pattern neither engine takes is named there.
 */
struct rule_set *rule_set_build(struct rule_list *l, const char *cache_dir, char *err,
				size_t errsz);
void rule_set_free(struct rule_set *s);
size_t rule_set_count(const struct rule_set *s);
/* Rules of the set that went to PCRE2 because Hyperscan refused them. */
size_t rule_set_pcre_count(const struct rule_set *s);
/* 1 when the last build loaded every database from the cache. */
int rule_set_from_cache(const struct rule_set *s);

/* What a message offers to the rules. Headers are (name, value) pairs, names any case. */
struct rule_input {
	const char *full;
	size_t full_len;
	const char *rawbody;
	size_t rawbody_len;
	const char *body;
	size_t body_len;
	const char *const *hname;
	const char *const *hvalue;
	size_t nheaders;
	const char *uris; /* URLs joined by "\n" */
	size_t uris_len;
};

/* Call hit(arg, rule) once for every rule that matches. 0 or -errno (scratch). */
int rule_set_match(struct rule_set *s, const struct rule_input *in,
		   void (*hit)(void *arg, const struct rule *r), void *arg);

extern const struct scanner_ops rules_scanner;

/* Load every rule file the scanner would (shipped dir, then <home>/rules); for `rules check`
 * and tests. 0 or -errno with err. */
int rules_load_all(const struct config *cfg, struct rule_list *l, char *err, size_t errsz);
/* The shipped rules directory: $MXTOWER_RULES_DIR, or rules/ next to the binary or up to two
 * levels above it. 0 or -ENOENT. */
int rules_shipped_dir(char *out, size_t outsz);

#endif
