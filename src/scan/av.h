/*
 * av - the libclamav scanner: one engine per process, built from <home>/signatures/ (ClamAV
 * .hdb .hsb .ndb .ldb and friends, YARA .yar), rebuilt beside the old one when the directory
 * changes and swapped in between two scans.
 *
 * Besides its own verdict it offers libclamav's unpacking to the heuristics: every layer
 * libclamav opens (mail attachments, archive members, unpacked executables) is shown to
 * heur_layer() with its type, name and first bytes.
 */
#ifndef MX_SCAN_AV_H
#define MX_SCAN_AV_H

#include "core/config.h"
#include "scan/scan.h"

#include <stddef.h>

extern const struct scanner_ops scanner_av;

/* The file name extensions libclamav loads as signatures (".hdb", ...), NULL-terminated. */
extern const char *const av_sig_extensions[];
/* 1 if name ends in one of av_sig_extensions. */
int av_sig_name_ok(const char *name);
/*
 * Load one signature file into a fresh engine and compile it: what `sig add` checks before
 * installing. 0 and the number of signatures in *nsigs, or -EINVAL with libclamav's reason in
 * err.
 */
int av_sig_check(const char *path, unsigned *nsigs, char *err, size_t errsz);
/* Scan one whole message with the current engine as a live scan does (our MIME parse, the raw
 * message, every decoded leaf), the heuristics excepted: for retro-scan. 1 = virus (name
 * copied into virus), 0 = clean, -ENOENT when there is no engine, -ENOMEM, -EIO when nothing
 * matched but libclamav failed on some part. */
int av_scan_buffer(const char *p, size_t len, char *virus, size_t virussz);
/* Signatures in the engine now. */
unsigned av_sig_count(void);

#endif
