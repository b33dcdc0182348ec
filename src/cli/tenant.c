/*
 * tenant - placeholder until its owner lands the command.
 */
#include "cli/cli.h"

#include <stdio.h>

int cmd_tenant(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mxtower tenant: not built yet\n");
	return 1;
}
