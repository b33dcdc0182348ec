/*
 * cli common - helpers every command family shares.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int cli_wants_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 1;
		}
	return 0;
}

/* Remove argv[i] .. argv[i + n - 1], keeping the NULL at argv[argc]. */
static void cli_drop(int *argc, char **argv, int i, int n)
{
	memmove(&argv[i], &argv[i + n], (size_t)(*argc - i - n + 1) * sizeof argv[0]);
	*argc -= n;
}

int cli_take_flag(int *argc, char **argv, const char *flag)
{
	int seen = 0;

	for (int i = 1; i < *argc; i++)
		if (strcmp(argv[i], flag) == 0) {
			cli_drop(argc, argv, i--, 1);
			seen = 1;
		}
	return seen;
}

const char *cli_take_opt(int *argc, char **argv, const char *opt)
{
	const char *val = NULL;

	for (int i = 1; i + 1 < *argc; i++)
		if (strcmp(argv[i], opt) == 0) {
			val = argv[i + 1];
			cli_drop(argc, argv, i--, 2);
		}
	return val;
}
