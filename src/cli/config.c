/*
 * config, token - `mxtower config show` prints the config in effect (no secrets);
 * `mxtower token` prints the API token, making it at first use.
 */
#include "cli/cli.h"

#include "core/config.h"
#include "core/token.h"

#include <stdio.h>
#include <string.h>

int cmd_config(int argc, char **argv)
{
	static const char usage[] = "usage: mxtower config show [-c FILE] [--home DIR] [-o k=v]\n"
				    "Print the configuration in effect; secrets print as (set).\n";
	struct config cfg;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	if (argc != 2 || strcmp(argv[1], "show") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	config_print(&cfg, stdout);
	return 0;
}

int cmd_token(int argc, char **argv)
{
	static const char usage[] = "usage: mxtower token [-c FILE] [--home DIR]\n"
				    "Print the node's API token (made at first start in "
				    "<home>/api.token, mode 0600).\n";
	struct config cfg;
	char tok[TOKEN_LEN + 1];

	if (cli_wants_help(argc, argv, usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	if (argc != 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (token_ensure(&cfg, tok) < 0) {
		fprintf(stderr, "mxtower token: cannot read or create %s/api.token\n", cfg.home);
		return 1;
	}
	printf("%s\n", tok);
	return 0;
}
