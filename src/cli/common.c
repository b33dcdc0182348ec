/*
 * cli common - helpers every command family shares.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

static unsigned walk(const char *cmd, const char *path, int depth,
		     void (*fn)(void *ctx, const char *file), void *ctx)
{
	struct stat st;
	struct dirent *de;
	unsigned failed = 0;
	DIR *d;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "mxtower %s: %s: %s\n", cmd, path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fn(ctx, path);
		return 0;
	}
	if (depth >= CLI_WALK_MAX_DEPTH || (d = opendir(path)) == NULL) {
		fprintf(stderr, "mxtower %s: %s: %s\n", cmd, path,
			depth >= CLI_WALK_MAX_DEPTH ? "too deep" : strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= sizeof sub) {
			fprintf(stderr, "mxtower %s: %s/%s: path too long\n", cmd, path, de->d_name);
			failed++;
			continue;
		}
		failed += walk(cmd, sub, depth + 1, fn, ctx);
	}
	closedir(d);
	return failed;
}

unsigned cli_walk_files(const char *cmd, const char *path, void (*fn)(void *ctx, const char *file),
			void *ctx)
{
	return walk(cmd, path, 0, fn, ctx);
}
