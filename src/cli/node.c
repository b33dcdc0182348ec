/*
 * node - `mxtower node maintenance on|off`: the operator takes this node out of (or back into)
 * service on the dashboard. The flag is a file under <home>/db (web/maintenance.h), so it
 * survives restarts; the node shows blue while it is set. Without on|off, prints the state.
 */
#include "cli/cli.h"

#include "core/config.h"
#include "web/maintenance.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char node_usage[] =
	"usage: mxtower node maintenance [on|off] [-c FILE] [--home DIR] [-o section.key=value]\n"
	"\n"
	"Set or clear maintenance (blue on the dashboard), or print it.\n";

int cmd_node(int argc, char **argv)
{
	struct config cfg;
	uint64_t since = 0;

	if (cli_wants_help(argc, argv, node_usage))
		return 0;
	config_defaults(&cfg);
	if (config_from_args(&cfg, &argc, argv) < 0)
		return 2;
	if (argc < 2 || strcmp(argv[1], "maintenance") != 0 || argc > 3) {
		fputs(node_usage, stderr);
		return 2;
	}
	if (argc == 2) {
		int on = maintenance_get(&cfg, &since);
		if (on)
			printf("maintenance on since %" PRIu64 "\n", since);
		else
			printf("maintenance off\n");
		return 0;
	}
	int want;
	if (strcmp(argv[2], "on") == 0)
		want = 1;
	else if (strcmp(argv[2], "off") == 0)
		want = 0;
	else {
		fputs(node_usage, stderr);
		return 2;
	}
	int rc = maintenance_set(&cfg, want);
	if (rc < 0) {
		fprintf(stderr, "mxtower node: cannot %s maintenance: %s\n", want ? "set" : "clear",
			strerror(-rc));
		return 1;
	}
	printf("maintenance %s\n", want ? "on" : "off");
	return 0;
}
