/*
 * heur - the scanner: runs the checks of heur_*.c over every decoded MIME leaf and every layer
 * libclamav unpacks, and turns findings into symbols. Any finding makes the verdict "suspect"
 * (policy: quarantine as "suspected new virus" by default). Each symbol is added once per
 * message, with the first place it was seen as its detail.
 */
#include "scan/heur.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A finding is worth this much score for display; the verdict, not the score, decides. */
#define HEUR_SCORE 5.0
/* Symbol detail room for a place ("clam.exe in clam.zip (layer 2)"). */
#define HEUR_WHERE 96

static int heur_ready;

static void heur_flag(struct scan_task *t, const char *sym, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void heur_flag(struct scan_task *t, const char *sym, const char *fmt, ...)
{
	char detail[SCAN_SYMBOL_DETAIL];
	va_list ap;

	scan_raise_verdict(t->res, VERDICT_SUSPECT);
	for (unsigned i = 0; i < t->res->nsym; i++)
		if (strcmp(t->res->sym[i].name, sym) == 0)
			return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	scan_add_symbol(t->res, sym, HEUR_SCORE, "%s", detail);
}

static void heur_check_name(struct scan_task *t, const char *name, const char *where)
{
	if (name == NULL || name[0] == '\0')
		return;
	if (heur_name_bidi(name))
		heur_flag(t, "HEUR_BIDI_NAME", "bidi override in file name%s", where);
	if (heur_name_double_ext(name))
		heur_flag(t, "HEUR_DOUBLE_EXT", "double extension %s%s", name, where);
	else if (heur_name_exec_ext(name))
		heur_flag(t, "HEUR_EXEC_NAME", "executable file name %s%s", name, where);
}

struct zip_ctx {
	struct scan_task *t;
	const char *zipname;
	const char *kind; /* "zip", "7z", "rar" */
};

static void heur_zip_entry(void *arg, const char *name, int encrypted)
{
	struct zip_ctx *z = arg;
	const char *base = strrchr(name, '/');
	char where[HEUR_WHERE];

	base = base ? base + 1 : name;
	snprintf(where, sizeof where, " in %s %s", z->kind, z->zipname ? z->zipname : "");
	if (strcasecmp(base, "vbaProject.bin") == 0)
		heur_flag(z->t, "HEUR_MACRO", "OOXML vbaProject.bin%s", where);
	if (encrypted && (heur_name_exec_ext(base) || heur_name_double_ext(base)))
		heur_flag(z->t, "HEUR_ENCRYPTED_EXEC", "encrypted %s%s", base, where);
	heur_check_name(z->t, base, where);
}

/* Declared types under which executable bytes are honest. */
static int declared_exec_ok(const char *declared)
{
	static const char *const ok[] = {
	    "application/octet-stream",
	    "application/x-msdownload",
	    "application/x-dosexec",
	    "application/x-msdos-program",
	    "application/x-executable",
	    "application/x-elf",
	    "application/x-ms-dos-executable",
	    "application/vnd.microsoft.portable-executable",
	    "application/x-sharedlib",
	    "application/x-mach-binary",
	    "application/x-sh",
	    "application/x-shellscript",
	    "text/x-shellscript",
	    "application/x-python",
	    NULL,
	};

	for (size_t i = 0; ok[i]; i++)
		if (strcasecmp(declared, ok[i]) == 0)
			return 1;
	return 0;
}

/* A file name someone chose: not absent, not libclamav's temporary name for a body, and not
 * one of the names libclamav's mail parser gives the parts that have none. */
static int heur_named(const char *name)
{
	static const char *const placeholders[] = {
	    "textportion", "mixedtextportion", "attachment", "unknown", NULL,
	};

	if (name == NULL || name[0] == '\0' || strncmp(name, "clamav-", 7) == 0)
		return 0;
	for (size_t i = 0; placeholders[i]; i++)
		if (strcmp(name, placeholders[i]) == 0)
			return 0;
	return 1;
}

/* text: the caller knows the bytes are text (libclamav typed the layer so). */
static void heur_check_bytes(struct scan_task *t, const char *name, const char *declared,
                             const unsigned char *p, size_t len, int text, const char *where)
{
	const char *exec, *arch;
	char what[96];

	if (p == NULL || len == 0)
		return;
	/* A script pasted into a mail body is everyday mail on developer lists; a script
	 * attached as a file, or packed in an archive, is how droppers travel. Unnamed, or named
	 * as a text document (notes.txt, signature.asc: opened, never run), libmagic is not even
	 * asked about text (it could only find a script, at 14 M instructions a call). */
	exec = heur_exec_classify(p, len, heur_named(name) && !heur_name_text_doc(name), text);
	if (exec && strncmp(exec, "script", 6) == 0 && !heur_named(name))
		exec = NULL;
	if (exec)
		heur_flag(t, "HEUR_EXECUTABLE", "%s %s%s", exec, name ? name : "(no name)", where);
	if (heur_ole_has_vba(p, len))
		heur_flag(t, "HEUR_MACRO", "VBA macros in %s%s", name ? name : "(no name)", where);
	arch = heur_archive_kind(p, len);
	if (arch && strcmp(arch, "zip") == 0) {
		struct zip_ctx z = {t, name, "zip"};

		heur_zip_walk(p, len, heur_zip_entry, &z);
	} else if (arch && (strcmp(arch, "7z") == 0 || strcmp(arch, "rar") == 0)) {
		struct zip_ctx z = {t, name, arch};
		int r = arch[0] == '7' ? heur_7z_walk(p, len, heur_zip_entry, &z)
		                       : heur_rar_walk(p, len, heur_zip_entry, &z);

		/* Nobody can see what is inside without the password (which travels in the mail
		 * body, if at all): the archive may hold anything, executables included. */
		if (r == -EACCES)
			heur_flag(t, "HEUR_ENCRYPTED_NAMES",
			          "%s %s with encrypted headers (names hidden)%s", arch,
			          name ? name : "(no name)", where);
	}
	if (declared && declared[0] && (exec || (arch && strcmp(arch, "ole") != 0))) {
		int bad;

		if (exec)
			bad = !declared_exec_ok(declared);
		else
			bad = strncasecmp(declared, "image/", 6) == 0 ||
			      strncasecmp(declared, "text/", 5) == 0 ||
			      strncasecmp(declared, "audio/", 6) == 0 ||
			      strncasecmp(declared, "video/", 6) == 0 ||
			      strcasecmp(declared, "application/pdf") == 0;
		if (bad)
			heur_flag(t, "HEUR_TYPE_MISMATCH", "declared %s but content is %s%s",
			          declared, exec ? exec : arch, where);
	}
	if ((declared && strcasecmp(declared, "text/html") == 0) ||
	    (name && (strcasestr(name, ".htm") != NULL)) ||
	    (len > 5 && (memmem(p, len < 1024 ? len : 1024, "<html", 5) ||
	                 memmem(p, len < 1024 ? len : 1024, "<HTML", 5)))) {
		if (heur_html_smuggling((const char *)p, len, what, sizeof what))
			heur_flag(t, "HEUR_HTML_SMUGGLING", "%s%s", what, where);
	}
}

void heur_layer(struct scan_task *t, const char *cltype, const char *name, const unsigned char *p,
                size_t len, unsigned depth, int decrypted)
{
	char where[HEUR_WHERE];

	int exec;

	if (!heur_ready)
		return;
	snprintf(where, sizeof where, " (layer %u%s)", depth, decrypted ? ", decrypted" : "");
	exec =
	    cltype && (strcmp(cltype, "CL_TYPE_MSEXE") == 0 || strcmp(cltype, "CL_TYPE_ELF") == 0 ||
	               strncmp(cltype, "CL_TYPE_MACHO", 13) == 0);
	if (exec)
		heur_flag(t, "HEUR_EXECUTABLE", "%s %s%s", cltype + 8, name ? name : "(no name)",
		          where);
	/* Layer 0 is the message itself: only "it is an executable, not mail" counts there. */
	if (depth == 0)
		return;
	heur_check_name(t, name, where);
	heur_check_bytes(t, name, NULL, p, len,
	                 cltype && (strncmp(cltype, "CL_TYPE_TEXT_", 13) == 0 ||
	                            strcmp(cltype, "CL_TYPE_HTML") == 0),
	                 where);
}

static int heur_scan(struct scan_task *t)
{
	char where[HEUR_WHERE], declared[128];

	if (t->mime == NULL)
		return 0;
	for (const struct mime_part *p = t->mime->root; p; p = mime_part_next(p)) {
		if (!mime_part_is_leaf(p))
			continue;
		snprintf(where, sizeof where, " (part %u)", p->index);
		snprintf(declared, sizeof declared, "%s/%s", p->type, p->subtype);
		heur_check_name(t, p->filename, where);
		/* The transfer-decoded bytes before any charset conversion: a payload in a part
		 * mislabelled text/... must be judged as sent, not as "converted" to UTF-8. */
		if (p->content)
			heur_check_bytes(t, p->filename, declared, p->content, p->content_len, 0,
			                 where);
		else
			heur_check_bytes(t, p->filename, declared, p->decoded, p->decoded_len, 0,
			                 where);
	}
	return 0;
}

static int heur_init(const struct config *cfg)
{
	/* Without libmagic the magic numbers still work; say so once. */
	heur_magic_open();
	heur_ready = 1;
	return 0;
}

static void heur_fini(void)
{
	heur_magic_close();
	heur_ready = 0;
}

const struct scanner_ops scanner_heur = {
    .name = "heur",
    .init = heur_init,
    .scan = heur_scan,
    .reload = NULL,
    .fini = heur_fini,
};
