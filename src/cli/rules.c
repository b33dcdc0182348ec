/*
 * rules - placeholder until its owner lands the command.
 */
#include "cli/cli.h"

#include <stdio.h>

int cmd_rules(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mxtower rules: not built yet\n");
	return 1;
}
