/*
 * heur - unseen-malware heuristics, no signatures at all. Verdict "suspect" when a message
 * carries executable content (PE, ELF, Mach-O, scripts: judged by the bytes through magic
 * numbers and libmagic, not by the name), a double extension ("invoice.pdf.exe"), bidi
 * override characters in a file name, a declared type that the content contradicts, Office
 * macros (OLE VBA streams, OOXML vbaProject.bin), an encrypted archive holding executable
 * names, or HTML smuggling (data: URIs or script blobs that carry executables or archives).
 *
 * It looks at the MIME parser's decoded leaves, at the zip central directories in them, and at
 * every layer libclamav unpacks (heur_layer(), called from av): archives of every format
 * libclamav knows, packed executables, documents with embedded files.
 *
 * Files: heur.c (the scanner, symbols), heur_exec.c (content classification), heur_name.c (file
 * name tricks), heur_zip.c (zip central directory), heur_7z.c and heur_rar.c (7z and RAR
 * headers), heur_doc.c (OLE macros, HTML smuggling).
 */
#ifndef MX_SCAN_HEUR_H
#define MX_SCAN_HEUR_H

#include "scan/scan.h"

#include <stddef.h>
#include <stdint.h>

extern const struct scanner_ops scanner_heur;

/* One layer libclamav opened: cltype as libclamav names it ("CL_TYPE_MSEXE"), name (may be
 * NULL), its bytes (may be NULL), depth (0 = the whole message). */
void heur_layer(struct scan_task *t, const char *cltype, const char *name, const unsigned char *p,
                size_t len, unsigned depth, int decrypted);

/* heur_exec.c: what kind of executable the bytes are, or NULL. Magic numbers first, then
 * libmagic's description (when heur_magic_open() succeeded). */
const char *heur_exec_kind(const unsigned char *p, size_t len);
/* The same, asking libmagic only when its answer can matter: named = 0 (nobody named the file)
 * skips it for text (text = 1: the caller knows, e.g. libclamav typed the layer
 * CL_TYPE_TEXT_*; else judged from the bytes), where it could only find a script, which is no
 * finding unnamed; formats whose magic numbers say "image", "PDF", "archive" skip it always. */
const char *heur_exec_classify(const unsigned char *p, size_t len, int named, int text);
/* libmagic's MIME type of the bytes ("application/zip"), "" when unknown. Static storage. */
const char *heur_magic_mime(const unsigned char *p, size_t len);
int heur_magic_open(void);
void heur_magic_close(void);
/* Archive container by magic number ("zip", "7z", "rar", ...), or NULL. */
const char *heur_archive_kind(const unsigned char *p, size_t len);

/* heur_name.c: file name tricks. Each returns 1 and a reason (static) when the name is bad. */
int heur_name_exec_ext(const char *name);   /* .exe .scr .js .vbs ... */
int heur_name_double_ext(const char *name); /* invoice.pdf.exe, "doc.pdf      .exe" */
int heur_name_bidi(const char *name);       /* U+202E and the other bidi overrides */
/* 1 when the last extension is a text format that is opened, never run (.txt .asc .html
 * .diff ...): text under such a name is no script finding unless it starts with "#!". */
int heur_name_text_doc(const char *name);

/* heur_zip.c: walk a zip's central directory. For each entry cb(arg, name, encrypted);
 * returns the number of entries, or -EINVAL when it is no zip / is malformed. */
int heur_zip_walk(const unsigned char *p, size_t len,
                  void (*cb)(void *arg, const char *name, int encrypted), void *arg);

/* heur_7z.c and heur_rar.c (RAR 4 and 5): the same for 7z and RAR archives, from their
 * headers (a 7z header packed with LZMA is unpacked; no file is). -EACCES when the headers
 * themselves are encrypted, so that no name can be read (7z -mhe, rar -hp). */
int heur_7z_walk(const unsigned char *p, size_t len,
                 void (*cb)(void *arg, const char *name, int encrypted), void *arg);
int heur_rar_walk(const unsigned char *p, size_t len,
                  void (*cb)(void *arg, const char *name, int encrypted), void *arg);

/* heur_doc.c */
int heur_ole_has_vba(const unsigned char *p, size_t len); /* OLE2 with VBA storage */
/* HTML that builds a file from embedded base64: 1 and a description in what (whatsz). */
int heur_html_smuggling(const char *p, size_t len, char *what, size_t whatsz);

#endif
