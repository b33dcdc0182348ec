/*
 * quarantine - placeholder until its owner lands the command.
 */
#include "cli/cli.h"

#include <stdio.h>

int cmd_quarantine(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mxtower quarantine: not built yet\n");
	return 1;
}
