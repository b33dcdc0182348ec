/*
 * queue - placeholder until its owner lands the command.
 */
#include "cli/cli.h"

#include <stdio.h>

int cmd_queue(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mxtower queue: not built yet\n");
	return 1;
}
