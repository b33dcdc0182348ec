/*
 * scan registry - the one static list of scanners, in the order the pipeline runs them.
 *
 * Adding a scanner is one extern line and one array line here. Order matters only for cost:
 * cheap scanners whose verdict makes the rest moot (av) come first; every scanner still runs,
 * so the symbols tell the whole story.
 */
#include "scan/registry.h"

const struct scanner_ops *const scan_registry[] = {
	NULL,
};
