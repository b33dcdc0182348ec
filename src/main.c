/*
 * mxtower - one binary: `mxtower COMMAND ...`. This file only dispatches; each command family
 * lives in src/cli/.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"serve", cmd_serve, "run a node in the foreground"},
	{"tenant", cmd_tenant, "add|list|show|set|remove client companies"},
	{"queue", cmd_queue, "list|show|hold|release|delete|flush|stuck"},
	{"sink", cmd_sink, "capture SMTP server writing a Maildir (a client's server stand-in)"},
	{"scan", cmd_scan, "scan message files and print verdicts"},
	{"learn", cmd_learn, "train Bayes and fuzzy: --spam|--ham FILE|DIR..."},
	{"train-weights", cmd_train_weights, "fit the learned combination of symbols and Bayes"},
	{"rules", cmd_rules, "check a rule file"},
	{"sig", cmd_sig, "add|list analysts' signatures"},
	{"quarantine", cmd_quarantine, "list|show|release|delete quarantined mail"},
	{"suspect", cmd_suspect, "list|show|export suspected new viruses"},
	{"status", cmd_status, "towers, nodes, colour and why"},
	{"node", cmd_node, "maintenance on|off"},
	{"config", cmd_config, "show the config in effect"},
	{"token", cmd_token, "print the API token"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: mxtower COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nevery command takes --help; node commands take -c FILE, --home DIR and "
		     "-o section.key=value\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mxtower: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
