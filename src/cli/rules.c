/*
 * rules - `mxtower rules check FILE...` validates rule files (syntax, then compiles every
 * pattern with PCRE2 and Hyperscan exactly as the scanner would); `mxtower rules list` shows
 * the rules a node loads (shipped rules/ plus <home>/rules/NAME.rules) with score and target.
 * A running node picks up changed rule files by itself within about a second.
 */
#include "cli/cli.h"

#include "core/config.h"
#include "scan/rules.h"

#include <stdio.h>
#include <string.h>

static const char rules_usage[] =
	"usage: mxtower rules check FILE...\n"
	"       mxtower rules list\n"
	"check: parse FILEs and compile every pattern (PCRE2, then Hyperscan where it can);\n"
	"       prints the rule count and exits 1 naming the first bad rule.\n"
	"list:  the rules a node loads: the shipped rules/ directory, then <home>/rules/NAME.rules\n"
	"       (a rule of the same name there replaces the shipped one).\n"
	"Common options: -c FILE, --home DIR, -o section.key=value.\n";

static int rules_check(int argc, char **argv)
{
	struct rule_list l = {NULL, 0, 0};
	struct rule_set *s;
	char err[512];

	for (int i = 2; i < argc; i++)
		if (rules_parse_file(&l, argv[i], err, sizeof err) < 0) {
			fprintf(stderr, "mxtower rules check: %s\n", err);
			rule_list_free(&l);
			return 1;
		}
	s = rule_set_build(&l, NULL, err, sizeof err);
	rule_list_free(&l);
	if (s == NULL) {
		fprintf(stderr, "mxtower rules check: %s\n", err);
		return 1;
	}
	printf("ok: %zu rules (%zu need PCRE2)\n", rule_set_count(s), rule_set_pcre_count(s));
	rule_set_free(s);
	return 0;
}

static int rules_list(const struct config *cfg)
{
	struct rule_list l = {NULL, 0, 0};
	char err[512];

	if (rules_load_all(cfg, &l, err, sizeof err) < 0) {
		fprintf(stderr, "mxtower rules list: %s\n", err);
		rule_list_free(&l);
		return 1;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct rule *r = &l.v[i];
		char target[RULE_HEADER_MAX + 8];

		if (r->target == RULE_T_HEADER)
			snprintf(target, sizeof target, "header:%s", r->header);
		else
			snprintf(target, sizeof target, "%s", rule_target_name(r->target));
		printf("%-32s %8.3f  %-20s %s\n", r->name, r->score, target, r->desc);
	}
	rule_list_free(&l);
	return 0;
}

int cmd_rules(int argc, char **argv)
{
	struct config cfg;

	if (cli_wants_help(argc, argv, rules_usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	if (argc >= 3 && strcmp(argv[1], "check") == 0)
		return rules_check(argc, argv);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return rules_list(&cfg);
	fputs(rules_usage, stderr);
	return 2;
}
