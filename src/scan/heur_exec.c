/*
 * heur_exec - decide from the bytes whether content is an executable, and what libmagic
 * thinks it is. Magic numbers are checked first (cheap, and they work on fragments); libmagic
 * then catches what they miss (scripts with odd headers, exotic formats).
 *
 * libmagic reads at most HEUR_MAGIC_BYTES of a buffer: file type detection looks at the head,
 * and a 50 MiB attachment must not cost 50 MiB of pattern matching.
 *
 * libmagic is also the costly part of the malware path (on plain text it runs its whole set of
 * text tests and regexes: 87% of the path's instructions on the SpamAssassin corpus before
 * heur_exec_classify existed). So heur_exec_classify asks it only when its answer can matter:
 * not for text nobody named (libmagic can only find a script there, and an unnamed script is
 * no finding), and not for the common non-executable formats told by their magic numbers.
 */
#include "scan/heur.h"

#include "core/log.h"

#include <magic.h>
#include <string.h>
#include <strings.h>

#define HEUR_MAGIC_BYTES (256 * 1024)
/* Of text, libmagic sees at most this much: the script rules look at the head of a file.
 * (Each call on text costs about 14 million instructions here, whatever its size: libmagic
 * compiles the regexes of its text rules on every call. Hence heur_exec_classify.) */
#define HEUR_MAGIC_TEXT_BYTES (16 * 1024)

/* Bytes that never occur in text: NUL and the C0 controls other than TAB LF VT FF CR and ESC
 * (ISO-2022-JP). Every executable format has NULs or such bytes in its header. */
static const unsigned char heur_not_text[256] = {
    [0] = 1,  [1] = 1,  [2] = 1,  [3] = 1,  [4] = 1,  [5] = 1,  [6] = 1,  [7] = 1,  [8] = 1,
    [14] = 1, [15] = 1, [16] = 1, [17] = 1, [18] = 1, [19] = 1, [20] = 1, [21] = 1, [22] = 1,
    [23] = 1, [24] = 1, [25] = 1, [26] = 1, [28] = 1, [29] = 1, [30] = 1, [31] = 1,
};

static magic_t magic_desc, magic_mime;

int heur_magic_open(void)
{
	if (magic_desc)
		return 0;
	/* CSV and JSON detection can only say "text": never a finding, always a cost. */
	magic_desc = magic_open(MAGIC_NONE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_CSV |
	                        MAGIC_NO_CHECK_JSON | MAGIC_ERROR);
	magic_mime = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
	if (magic_desc == NULL || magic_mime == NULL || magic_load(magic_desc, NULL) < 0 ||
	    magic_load(magic_mime, NULL) < 0) {
		heur_magic_close();
		return -1;
	}
	return 0;
}

void heur_magic_close(void)
{
	if (magic_desc)
		magic_close(magic_desc);
	if (magic_mime)
		magic_close(magic_mime);
	magic_desc = magic_mime = NULL;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* Text (in any 8-bit charset or UTF-8): the part libmagic would read holds no byte that text
 * never has. */
static int heur_is_text(const unsigned char *p, size_t len)
{
	size_t n = len > HEUR_MAGIC_BYTES ? HEUR_MAGIC_BYTES : len;

	for (size_t i = 0; i < n; i++)
		if (heur_not_text[p[i]])
			return 0;
	return 1;
}

/* Formats told by their magic numbers that libmagic never calls executable: images, PDF,
 * archives (their members are judged on their own, as MIME leaves or libclamav layers). OLE is
 * not here: MSI installers are OLE files, and libmagic tells them apart. */
static int heur_known_inert(const unsigned char *p, size_t len)
{
	static const struct {
		const char *magic;
		size_t len;
	} inert[] = {
	    {"\xff\xd8\xff", 3},      /* JPEG */
	    {"\x89PNG\r\n\x1a\n", 8}, /* PNG */
	    {"GIF87a", 6},
	    {"GIF89a", 6},
	    {"%PDF-", 5},
	    {"PK\3\4", 4},
	    {"PK\5\6", 4},   /* zip (and OOXML, jar: walked as zips) */
	    {"\x1f\x8b", 2}, /* gzip */
	    {"BZh", 3},
	    {"7z\xbc\xaf\x27\x1c", 6},
	    {"Rar!\x1a\x07", 6},
	    {"RIFF", 4}, /* WAV, AVI, WebP */
	    {"II*\0", 4},
	    {"MM\0*", 4}, /* TIFF */
	    {"{\\rtf", 5},
	};

	for (size_t i = 0; i < sizeof inert / sizeof inert[0]; i++)
		if (len >= inert[i].len && memcmp(p, inert[i].magic, inert[i].len) == 0)
			return 1;
	return 0;
}

const char *heur_exec_kind(const unsigned char *p, size_t len)
{
	return heur_exec_classify(p, len, 1, 0);
}

const char *heur_exec_classify(const unsigned char *p, size_t len, int named, int text)
{
	const char *d;

	if (p == NULL || len < 4)
		return NULL;
	if (p[0] == 'M' && p[1] == 'Z' && len >= 64) {
		uint32_t pe = le32(p + 0x3c);

		if (pe <= len - 4 && memcmp(p + pe, "PE\0\0", 4) == 0)
			return "PE executable";
		return "DOS/MZ executable";
	}
	if (memcmp(p,
	           "\x7f"
	           "ELF",
	           4) == 0)
		return "ELF executable";
	switch (be32(p)) {
	case 0xfeedface:
	case 0xcefaedfe:
	case 0xfeedfacf:
	case 0xcffaedfe:
		return "Mach-O executable";
	case 0xcafebabe:
		/* Also Java's class magic; a fat Mach-O has a small architecture count where a
		 * class file has its version (45 and up). */
		if (len >= 8 && be32(p + 4) > 0 && be32(p + 4) < 20)
			return "Mach-O universal binary";
		break;
	}
	if (p[0] == '#' && p[1] == '!')
		return "script (#!)";
	if (magic_desc == NULL || heur_known_inert(p, len))
		return NULL;
	if (text || heur_is_text(p, len)) {
		if (!named)
			return NULL;
		if (len > HEUR_MAGIC_TEXT_BYTES)
			len = HEUR_MAGIC_TEXT_BYTES;
	}
	d = magic_buffer(magic_desc, p, len > HEUR_MAGIC_BYTES ? HEUR_MAGIC_BYTES : len);
	log_debug("heur: libmagic on %zu bytes: %s", len, d ? d : "?");
	if (d == NULL)
		return NULL;
	if (strstr(d, "executable") && !strstr(d, "text"))
		return "executable (libmagic)";
	if (strstr(d, "script") && (strstr(d, "text") || strstr(d, "executable")))
		return "script (libmagic)";
	if (strstr(d, "MS Windows shortcut"))
		return "Windows shortcut";
	if (strstr(d, "Microsoft Installer"))
		return "Windows installer";
	return NULL;
}

const char *heur_magic_mime(const unsigned char *p, size_t len)
{
	const char *m;

	if (magic_mime == NULL || p == NULL || len == 0)
		return "";
	m = magic_buffer(magic_mime, p, len > HEUR_MAGIC_BYTES ? HEUR_MAGIC_BYTES : len);
	return m ? m : "";
}

const char *heur_archive_kind(const unsigned char *p, size_t len)
{
	if (p == NULL || len < 6)
		return NULL;
	if (memcmp(p, "PK\3\4", 4) == 0 || memcmp(p, "PK\5\6", 4) == 0)
		return "zip";
	if (memcmp(p, "7z\xbc\xaf\x27\x1c", 6) == 0)
		return "7z";
	if (memcmp(p, "Rar!\x1a\x07", 6) == 0)
		return "rar";
	if (memcmp(p, "MSCF", 4) == 0)
		return "cab";
	if (p[0] == 0x1f && p[1] == 0x8b)
		return "gzip";
	if (len > 262 && memcmp(p + 257, "ustar", 5) == 0)
		return "tar";
	if (memcmp(p, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 6) == 0)
		return "ole";
	return NULL;
}
