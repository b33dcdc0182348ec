/*
 * test_heur - the heuristics without signatures: file name tricks, executables by their bytes,
 * the zip directory walk (with the encrypted flag and a truncated zip), OLE VBA, HTML smuggling,
 * and whole messages through the pipeline with only heur running.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/config.h"
#include "scan/heur.h"
#include "scan/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_names(void **state)
{
	static const struct {
		const char *name;
		int exec, dbl, bidi;
	} cases[] = {
		{"invoice.pdf", 0, 0, 0},
		{"invoice.exe", 1, 0, 0},
		{"invoice.pdf.exe", 1, 1, 0},
		{"INVOICE.PDF.EXE", 1, 1, 0},
		{"invoice.pdf        .exe", 1, 1, 0},
		{"report.docx.js", 1, 1, 0},
		{"setup.exe.", 1, 0, 0},
		{"archive.tar.gz", 0, 0, 0},
		{"photo.jpg.scr", 1, 1, 0},
		{"my.holiday.exe", 1, 0, 0},
		{"readme", 0, 0, 0},
		{".exe", 0, 0, 0},
		{"invoice\xe2\x80\xae" "fdp.exe", 1, 0, 1},
		{"a\xe2\x81\xa6" "b.txt", 0, 0, 1},
		{"caf\xc3\xa9.txt", 0, 0, 0},
	};
	static const char *const text_doc[] = {"notes.txt", "signature.asc", "a.HTML", "fix.diff."};
	static const char *const not_text_doc[] = {"tool", "run.sh", "notes.txt.js", "x.py"};

	for (size_t i = 0; i < 4; i++) {
		assert_true(heur_name_text_doc(text_doc[i]));
		assert_false(heur_name_text_doc(not_text_doc[i]));
	}

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (heur_name_exec_ext(cases[i].name) != cases[i].exec ||
		    heur_name_double_ext(cases[i].name) != cases[i].dbl ||
		    heur_name_bidi(cases[i].name) != cases[i].bidi)
			fail_msg("case %zu (%s): exec %d dbl %d bidi %d", i, cases[i].name,
				 heur_name_exec_ext(cases[i].name), heur_name_double_ext(cases[i].name),
				 heur_name_bidi(cases[i].name));
	}
}

static void test_exec_kind(void **state)
{
	unsigned char pe[256] = "MZ", elf[64] = "\x7f" "ELF\x02\x01\x01", macho[64] =
		"\xcf\xfa\xed\xfe", fat[64] = "\xca\xfe\xba\xbe\x00\x00\x00\x02",
		java[64] = "\xca\xfe\xba\xbe\x00\x00\x00\x34", text[] = "Hello, this is just text.\n";

	pe[0x3c] = 0x80;
	memcpy(pe + 0x80, "PE\0\0", 4);
	heur_magic_open();
	assert_string_equal(heur_exec_kind(pe, sizeof pe), "PE executable");
	assert_string_equal(heur_exec_kind(elf, sizeof elf), "ELF executable");
	assert_string_equal(heur_exec_kind(macho, sizeof macho), "Mach-O executable");
	assert_string_equal(heur_exec_kind(fat, sizeof fat), "Mach-O universal binary");
	assert_null(heur_exec_kind(java, sizeof java));
	assert_string_equal(heur_exec_kind((const unsigned char *)"#!/bin/sh\necho hi\n", 18),
			    "script (#!)");
	assert_null(heur_exec_kind(text, sizeof text - 1));
	assert_null(heur_exec_kind((const unsigned char *)"MZ", 2));
	assert_string_equal(heur_archive_kind((const unsigned char *)"PK\3\4xxxxxxxx", 12), "zip");
	assert_string_equal(heur_magic_mime(text, sizeof text - 1), "text/plain");
	heur_magic_close();
}

/* libmagic is asked only when its answer can matter: a script without #! in text is found when
 * the file was named, never when nobody named it; text libclamav typed as text counts as text
 * whatever its bytes; executables by magic number are found either way; images are never
 * handed to libmagic. */
static void test_exec_classify(void **state)
{
	static const unsigned char py[] = "import os\nimport sys\n\ndef main():\n    pass\n";
	static const unsigned char py16[] = {0xff, 0xfe, 'i', 0, 'm', 0, 'p', 0, 'o', 0, 'r', 0,
					     't', 0, ' ', 0, 'o', 0, 's', 0, '\n', 0};
	unsigned char pe[256] = "MZ", png[64] = "\x89PNG\r\n\x1a\n";
	const char *k;

	pe[0x3c] = 0x80;
	memcpy(pe + 0x80, "PE\0\0", 4);
	heur_magic_open();
	k = heur_exec_classify(py, sizeof py - 1, 1, 0);
	assert_non_null(k);
	assert_string_equal(k, "script (libmagic)");
	assert_null(heur_exec_classify(py, sizeof py - 1, 0, 0));
	assert_null(heur_exec_classify(py16, sizeof py16, 0, 1));
	assert_string_equal(heur_exec_classify(pe, sizeof pe, 0, 0), "PE executable");
	assert_string_equal(heur_exec_classify(pe, sizeof pe, 0, 1), "PE executable");
	assert_string_equal(heur_exec_classify((const unsigned char *)"#!/bin/sh\nrm x\n", 15, 0,
					       0),
			    "script (#!)");
	assert_null(heur_exec_classify(png, sizeof png, 1, 0));
	heur_magic_close();
}

/* A zip with stored entries (no data), the way zip(1) lays out headers. */
static size_t make_zip(unsigned char *out, const char *const *names, const int *enc, int n,
		       int with_central)
{
	size_t pos = 0, cd_start, offs[8];

	for (int i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);

		offs[i] = pos;
		memset(out + pos, 0, 30);
		memcpy(out + pos, "PK\3\4", 4);
		out[pos + 6] = (unsigned char)(enc[i] ? 1 : 0);
		out[pos + 26] = (unsigned char)nl;
		memcpy(out + pos + 30, names[i], nl);
		pos += 30 + nl;
	}
	if (!with_central)
		return pos;
	cd_start = pos;
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);

		memset(out + pos, 0, 46);
		memcpy(out + pos, "PK\1\2", 4);
		out[pos + 8] = (unsigned char)(enc[i] ? 1 : 0);
		out[pos + 28] = (unsigned char)nl;
		out[pos + 42] = (unsigned char)offs[i];
		memcpy(out + pos + 46, names[i], nl);
		pos += 46 + nl;
	}
	memset(out + pos, 0, 22);
	memcpy(out + pos, "PK\5\6", 4);
	out[pos + 8] = out[pos + 10] = (unsigned char)n;
	out[pos + 12] = (unsigned char)(pos - cd_start);
	out[pos + 16] = (unsigned char)cd_start;
	return pos + 22;
}

struct seen {
	char names[8][64];
	int enc[8];
	int n;
};

static void on_entry(void *arg, const char *name, int encrypted)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
		s->enc[s->n++] = encrypted;
	}
}

static void test_zip_walk(void **state)
{
	static const char *const names[] = {"docs/readme.txt", "payload.exe", "word/vbaProject.bin"};
	static const int enc[] = {0, 1, 0};
	unsigned char z[1024];
	struct seen s;
	size_t n;

	for (int central = 1; central >= 0; central--) {
		memset(&s, 0, sizeof s);
		n = make_zip(z, names, enc, 3, central);
		assert_int_equal(heur_zip_walk(z, n, on_entry, &s), 3);
		assert_string_equal(s.names[1], "payload.exe");
		assert_int_equal(s.enc[1], 1);
		assert_int_equal(s.enc[0], 0);
		assert_string_equal(s.names[2], "word/vbaProject.bin");
	}
	/* Truncated in the middle of a name: what is whole is listed, nothing is overread. */
	memset(&s, 0, sizeof s);
	n = make_zip(z, names, enc, 3, 0);
	assert_int_equal(heur_zip_walk(z, n - 5, on_entry, &s), 2);
	assert_int_equal(heur_zip_walk((const unsigned char *)"not a zip", 9, on_entry, &s), -22);
}

static void test_ole_and_html(void **state)
{
	static const char vba[] = "_\0V\0B\0A\0_\0P\0R\0O\0J\0E\0C\0T\0";
	unsigned char ole[2048];
	char what[128];
	char html[4096];
	int n;

	memset(ole, 0, sizeof ole);
	memcpy(ole, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
	assert_int_equal(heur_ole_has_vba(ole, sizeof ole), 0);
	memcpy(ole + 1024, vba, sizeof vba - 1);
	assert_int_equal(heur_ole_has_vba(ole, sizeof ole), 1);

	/* "TVqQAAMAAAAEAAAA//8AALgA" is the base64 of a PE's first bytes (MZ...). */
	n = snprintf(html, sizeof html, "<html><a href=\"data:application/octet-stream;base64,"
		     "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACAAAAA"
		     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\" "
		     "download=\"x.exe\">get</a></html>");
	assert_int_equal(heur_html_smuggling(html, (size_t)n, what, sizeof what), 1);
	assert_non_null(strstr(what, "data: URI"));

	n = snprintf(html, sizeof html, "<html><script>var b = \"");
	for (int i = 0; i < 100; i++)
		n += snprintf(html + n, sizeof html - (size_t)n, "UEsDBBQAAAAI");
	n += snprintf(html + n, sizeof html - (size_t)n,
		      "\"; var blob = new Blob([atob(b)]);</script></html>");
	assert_int_equal(heur_html_smuggling(html, (size_t)n, what, sizeof what), 1);
	assert_non_null(strstr(what, "script blob carrying zip"));

	/* A page with an inline PNG is not smuggling. */
	n = snprintf(html, sizeof html, "<html><img src=\"data:image/png;base64,"
		     "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\"></html>");
	assert_int_equal(heur_html_smuggling(html, (size_t)n, what, sizeof what), 0);
}

static void scan_text(const char *msg, struct scan_result *res)
{
	scan_message(msg, strlen(msg), NULL, NULL, res);
}

static int has_symbol(const struct scan_result *r, const char *name)
{
	for (unsigned i = 0; i < r->nsym; i++)
		if (strcmp(r->sym[i].name, name) == 0)
			return 1;
	return 0;
}

static void test_messages(void **state)
{
	struct config cfg;
	struct scan_result res;

	config_defaults(&cfg);
	snprintf(cfg.scan.scanners, sizeof cfg.scan.scanners, "heur");
	snprintf(cfg.home, sizeof cfg.home, "/nonexistent-mxtower-home");
	assert_int_equal(scan_pipeline_init(&cfg), 0);

	scan_text("From: a@b.test\r\nSubject: hi\r\n\r\nplain text, nothing attached\r\n", &res);
	assert_int_equal(res.verdict, VERDICT_CLEAN);
	assert_int_equal(res.action, POLICY_DELIVER);

	scan_text("From: a@b.test\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
		  "Content-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
		  "Content-Type: application/pdf; name=\"invoice.pdf.exe\"\r\n"
		  "Content-Disposition: attachment; filename=\"invoice.pdf.exe\"\r\n"
		  "Content-Transfer-Encoding: base64\r\n\r\n"
		  "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACAAAAA\r\n"
		  "--XX--\r\n", &res);
	assert_int_equal(res.verdict, VERDICT_SUSPECT);
	assert_int_equal(res.action, POLICY_QUARANTINE);
	assert_true(has_symbol(&res, "HEUR_DOUBLE_EXT"));
	assert_true(has_symbol(&res, "HEUR_EXECUTABLE"));
	assert_true(has_symbol(&res, "HEUR_TYPE_MISMATCH"));

	scan_text("From: a@b.test\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
		  "Content-Type: text/plain; name=\"=?UTF-8?B?cmVwb3J0LeKArmZkcC5zY3I=?=\"\r\n\r\nx\r\n"
		  "--XX--\r\n", &res);
	assert_int_equal(res.verdict, VERDICT_SUSPECT);
	assert_true(has_symbol(&res, "HEUR_BIDI_NAME"));

	/* A script without #! attached under a text document's name is opened, not run: no
	 * finding (libmagic is not asked). The same bytes under a name with no extension are a
	 * script attached as a file; with #! even notes.txt is flagged. */
	{
		static const char fmt[] =
			"From: a@b.test\r\nMIME-Version: 1.0\r\n"
			"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
			"Content-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
			"Content-Type: text/plain; name=\"%s\"\r\n"
			"Content-Disposition: attachment; filename=\"%s\"\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--XX--\r\n";
		/* "import os\nimport sys\n\ndef main():\n    pass\n", then with a #! line first
		 * (base64 keeps the LF line ends libmagic's Python rule needs). */
		static const char py[] = "aW1wb3J0IG9zCmltcG9ydCBzeXMKCmRlZiBtYWluKCk6CiAgICBwYXNzCg==";
		static const char py_bang[] = "IyEvdXNyL2Jpbi9weXRob24zCmltcG9ydCBvcwppbXBvcnQgc3lzCgpkZWYgbWFpbigpOgogICAgcGFzcwo=";
		char msg[1024];

		snprintf(msg, sizeof msg, fmt, "notes.txt", "notes.txt", py);
		scan_text(msg, &res);
		assert_int_equal(res.verdict, VERDICT_CLEAN);
		snprintf(msg, sizeof msg, fmt, "tool", "tool", py);
		scan_text(msg, &res);
		assert_int_equal(res.verdict, VERDICT_SUSPECT);
		assert_true(has_symbol(&res, "HEUR_EXECUTABLE"));
		snprintf(msg, sizeof msg, fmt, "notes.txt", "notes.txt", py_bang);
		scan_text(msg, &res);
		assert_int_equal(res.verdict, VERDICT_SUSPECT);
		assert_true(has_symbol(&res, "HEUR_EXECUTABLE"));
	}

	/* A PE in a part mislabelled text/plain in Latin-1: converted to UTF-8 its header would
	 * move (every byte >= 0x80 doubles); heur judges the bytes as sent. */
	{
		static const char b64[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		unsigned char pe[240];
		char msg[1024], *o;

		memset(pe, 0xe9, sizeof pe);
		memcpy(pe, "MZ", 2);
		pe[0x3c] = 0x80;
		pe[0x3d] = pe[0x3e] = pe[0x3f] = 0;
		memcpy(pe + 0x80, "PE\0\0", 4);
		o = msg + snprintf(msg, sizeof msg,
				   "From: a@b.test\r\nMIME-Version: 1.0\r\n"
				   "Content-Type: text/plain; charset=iso-8859-1\r\n"
				   "Content-Transfer-Encoding: base64\r\n\r\n");
		for (size_t i = 0; i < sizeof pe; i += 3) {
			unsigned v = (unsigned)pe[i] << 16 | (unsigned)pe[i + 1] << 8 | pe[i + 2];

			*o++ = b64[v >> 18 & 63];
			*o++ = b64[v >> 12 & 63];
			*o++ = b64[v >> 6 & 63];
			*o++ = b64[v & 63];
		}
		memcpy(o, "\r\n", 3);
		scan_text(msg, &res);
		assert_int_equal(res.verdict, VERDICT_SUSPECT);
		for (unsigned i = 0; i < res.nsym; i++)
			if (strcmp(res.sym[i].name, "HEUR_EXECUTABLE") == 0)
				assert_non_null(strstr(res.sym[i].detail, "PE executable"));
		assert_true(has_symbol(&res, "HEUR_EXECUTABLE"));
		assert_true(has_symbol(&res, "HEUR_TYPE_MISMATCH"));
	}
	scan_pipeline_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_exec_kind),
		cmocka_unit_test(test_exec_classify),
		cmocka_unit_test(test_zip_walk),
		cmocka_unit_test(test_ole_and_html),
		cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
