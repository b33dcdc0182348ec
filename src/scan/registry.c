/*
 * scan registry - the one static list of scanners, in the order the pipeline runs them.
 *
 * Adding a scanner is one extern line and one array line here. Order matters only for cost:
 * cheap scanners whose verdict makes the rest moot (av) come first; every scanner still runs,
 * so the symbols tell the whole story.
 */
#include "scan/registry.h"

#include "scan/av.h"
#include "scan/heur.h"

extern const struct scanner_ops rules_scanner;
extern const struct scanner_ops bayes_scanner;
extern const struct scanner_ops fuzzy_scanner;
extern const struct scanner_ops phish_scanner;
extern const struct scanner_ops auth_scanner;
extern const struct scanner_ops dnsbl_scanner;

const struct scanner_ops *const scan_registry[] = {
	&scanner_av,
	&scanner_heur,
	&rules_scanner,
	&bayes_scanner,
	&fuzzy_scanner,
	&phish_scanner,
	&auth_scanner,
	&dnsbl_scanner,
	NULL,
};
