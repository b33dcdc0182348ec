/*
 * sink - placeholder until its owner lands the command.
 */
#include "cli/cli.h"

#include <stdio.h>

int cmd_sink(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mxtower sink: not built yet\n");
	return 1;
}
