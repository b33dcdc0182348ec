/*
 * learn - placeholder until its owner lands the command.
 */
#include "cli/cli.h"

#include <stdio.h>

int cmd_learn(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mxtower learn: not built yet\n");
	return 1;
}
