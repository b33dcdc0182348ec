/*
 * scan registry - the NULL-terminated static list of scanner ops tables (registry.c).
 */
#ifndef MX_SCAN_REGISTRY_H
#define MX_SCAN_REGISTRY_H

#include "scan/scan.h"

#include <stddef.h>

extern const struct scanner_ops *const scan_registry[];

#endif
