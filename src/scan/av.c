/*
 * av - see av.h.
 *
 * The whole message goes to libclamav as one map with mail parsing on, so libclamav decodes
 * the MIME parts and unpacks archives itself (zip in zip, cab, 7z, packed executables...).
 * Then every leaf our MIME parser decoded is scanned on its own (mail parsing off): our parser
 * and libclamav's disagree on malformed mail in different ways, and malware hides in the gaps.
 *
 * Reload: the signature directory is fingerprinted (name, size, mtime, inode of each signature
 * file) once a tick; a different fingerprint builds a new engine, and only a compiled engine
 * replaces the old one. A fingerprint whose build failed is remembered, so a bad file costs
 * one log line, not one per second.
 */
#include "scan/av.h"

#include "core/arena.h"
#include "core/log.h"
#include "scan/heur.h"

#include <clamav.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Limits handed to libclamav. A message is at most smtp.max_message_size (50 MiB by default);
 * archives may unpack to more, but past 200 MiB of scanned data per message the cost is a
 * denial of service, not detection. 17 levels cover zip-in-zip-in-mail games; 10000 members
 * cover real archives. 30 s is the default scan deadline. */
#define AV_MAX_SCANSIZE (200ULL * 1024 * 1024)
#define AV_MAX_FILESIZE (100ULL * 1024 * 1024)
#define AV_MAX_RECURSION 17
#define AV_MAX_FILES 10000
#define AV_MAX_SCANTIME_MS 30000

const char *const av_sig_extensions[] = {
    ".hdb", ".hsb",  ".mdb", ".msb", ".ndb",  ".ldb", ".cdb",
    ".yar", ".yara", ".fp",  ".sfp", ".ign2", NULL,
};

static struct cl_engine *av_engine;
/* What the loaded signatures can use (AV_USES_*), decided when they are loaded. */
static unsigned av_engine_uses;
static unsigned av_nsigs;
static uint64_t av_fp_loaded, av_fp_failed;
static int av_initialised;

int av_sig_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.' || strchr(name, '/'))
		return 0;
	for (size_t i = 0; av_sig_extensions[i]; i++) {
		size_t e = strlen(av_sig_extensions[i]);

		if (n > e && strcmp(name + n - e, av_sig_extensions[i]) == 0)
			return 1;
	}
	return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Fingerprint of the signature files in dir; *count of them. 0 when dir cannot be read. */
static uint64_t av_dir_fingerprint(const char *dir, unsigned *count)
{
	uint64_t h = 1469598103934665603ULL, sum = 0;
	DIR *d = opendir(dir);
	struct dirent *de;

	*count = 0;
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		uint64_t e;

		if (!av_sig_name_ok(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		e = fnv(1469598103934665603ULL, de->d_name, strlen(de->d_name));
		e = fnv(e, &st.st_size, sizeof st.st_size);
		e = fnv(e, &st.st_mtim, sizeof st.st_mtim);
		e = fnv(e, &st.st_ino, sizeof st.st_ino);
		sum += e; /* order-independent: readdir order is not stable */
		(*count)++;
	}
	closedir(d);
	h = fnv(h, &sum, sizeof sum);
	return fnv(h, count, sizeof *count);
}

/* libclamav's own messages go to our log (its default is raw stderr). */
static void av_on_msg(enum cl_msg severity, const char *fullmsg, const char *msg, void *ctx)
{
	char esc[512];
	size_t n = strlen(msg);

	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	log_escape(esc, sizeof esc, msg, n);
	if (severity == CL_MSG_ERROR)
		log_warn("av: libclamav: %s", esc);
	else
		log_debug("av: libclamav: %s", esc);
}

static int av_lib_init(void)
{
	cl_error_t r;

	if (av_initialised)
		return 0;
	cl_set_clcb_msg(av_on_msg);
	r = cl_init(CL_INIT_DEFAULT);
	if (r != CL_SUCCESS) {
		log_warn("av: cl_init: %s", cl_strerror(r));
		return -EIO;
	}
	av_initialised = 1;
	return 0;
}

static cl_error_t av_on_layer(int fd, const char *type, const char **ancestors,
                              size_t parent_file_size, const char *file_name, size_t file_size,
                              const char *file_buffer, uint32_t recursion_level,
                              uint32_t layer_attributes, void *context)
{
	struct scan_task *t = context;

	log_debug("av: layer depth=%u type=%s name=%s size=%zu", recursion_level, type,
	          file_name ? file_name : "-", file_size);
	if (t)
		heur_layer(t, type, file_name, (const unsigned char *)file_buffer, file_size,
		           recursion_level, (layer_attributes & LAYER_ATTRIBUTES_DECRYPTED) != 0);
	return CL_CLEAN;
}

static struct cl_engine *av_engine_new(void)
{
	struct cl_engine *e = cl_engine_new();
	const char *tmp = scan_scratch_dir();

	if (e == NULL)
		return NULL;
	cl_engine_set_num(e, CL_ENGINE_MAX_SCANSIZE, (long long)AV_MAX_SCANSIZE);
	cl_engine_set_num(e, CL_ENGINE_MAX_FILESIZE, (long long)AV_MAX_FILESIZE);
	cl_engine_set_num(e, CL_ENGINE_MAX_RECURSION, AV_MAX_RECURSION);
	cl_engine_set_num(e, CL_ENGINE_MAX_FILES, AV_MAX_FILES);
	cl_engine_set_num(e, CL_ENGINE_MAX_SCANTIME, AV_MAX_SCANTIME_MS);
	/* libclamav skips layers it has seen clean before; the heuristics must see every one. */
	cl_engine_set_num(e, CL_ENGINE_DISABLE_CACHE, 1);
	if (tmp)
		cl_engine_set_str(e, CL_ENGINE_TMPDIR, tmp);
	cl_engine_set_clcb_file_inspection(e, av_on_layer);
	return e;
}

/* The signature set uses image fuzzy hashes: a logical signature (.ldb, the only format
 * that can carry one) with a fuzzy_img# subsignature. */
#define AV_USES_FUZZY_IMG 1u

/* 1 when the file holds needle (a line may be longer than the buffer: the tail of each read
 * is kept). 0 when not, or when it cannot be read (then the engine load fails anyway). */
static int av_file_has(int dirfd_, const char *name, const char *needle)
{
	char buf[65536];
	size_t keep = 0, nl = strlen(needle);
	int fd = openat(dirfd_, name, O_RDONLY | O_CLOEXEC), found = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while (!found && (n = read(fd, buf + keep, sizeof buf - keep)) > 0) {
		size_t have = keep + (size_t)n;

		found = memmem(buf, have, needle, nl) != NULL;
		keep = have < nl - 1 ? have : nl - 1;
		memmove(buf, buf + have - keep, keep);
	}
	close(fd);
	return found;
}

/* AV_USES_* of the signature files in dir. */
static unsigned av_dir_uses(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned uses = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (!av_sig_name_ok(de->d_name) || n < 4 || strcmp(de->d_name + n - 4, ".ldb") != 0)
			continue;
		if (av_file_has(dirfd(d), de->d_name, "fuzzy_img#"))
			uses |= AV_USES_FUZZY_IMG;
	}
	closedir(d);
	return uses;
}

/* Build and compile an engine from dir (which may hold no signatures at all). */
static struct cl_engine *av_engine_build(const char *dir, unsigned count, unsigned *nsigs)
{
	struct cl_engine *e = av_engine_new();
	unsigned signo = 0;
	cl_error_t r;

	if (e == NULL)
		return NULL;
	if (count > 0) {
		r = cl_load(dir, e, &signo, CL_DB_STDOPT);
		if (r != CL_SUCCESS) {
			log_warn("av: loading %s: %s", dir, cl_strerror(r));
			goto fail;
		}
	}
	r = cl_engine_compile(e);
	if (r != CL_SUCCESS) {
		log_warn("av: compiling signatures: %s", cl_strerror(r));
		goto fail;
	}
	*nsigs = signo;
	return e;
fail:
	cl_engine_free(e);
	return NULL;
}

/* Rebuilt after every engine swap (they depend on what the signatures use). */
static int av_opts_ready;

static int av_sigdir(const struct config *cfg, char *out, size_t outsz)
{
	return scan_home_path(cfg, "signatures", out, outsz);
}

static int av_reload(const struct config *cfg)
{
	char dir[CONFIG_PATH + 64];
	struct cl_engine *e;
	unsigned count, nsigs = 0;
	uint64_t fp;

	if (av_sigdir(cfg, dir, sizeof dir) < 0)
		return -ENAMETOOLONG;
	fp = av_dir_fingerprint(dir, &count);
	if (av_engine && (fp == av_fp_loaded || fp == av_fp_failed))
		return 0;
	e = av_engine_build(dir, count, &nsigs);
	if (e == NULL) {
		av_fp_failed = fp;
		return av_engine ? -EINVAL : -EIO;
	}
	if (av_engine)
		cl_engine_free(av_engine);
	av_engine = e;
	av_engine_uses = av_dir_uses(dir);
	av_opts_ready = 0;
	av_nsigs = nsigs;
	av_fp_loaded = fp;
	av_fp_failed = 0;
	log_info("av: engine ready files=%u sigs=%u", count, nsigs);
	return 0;
}

static int av_init(const struct config *cfg)
{
	int r = av_lib_init();

	if (r < 0)
		return r;
	return av_reload(cfg);
}

static void av_fini(void)
{
	if (av_engine)
		cl_engine_free(av_engine);
	av_engine = NULL;
	av_fp_loaded = av_fp_failed = 0;
}

unsigned av_sig_count(void)
{
	return av_engine ? av_nsigs : 0;
}

/* What libclamav is asked to do with a buffer. AV_ALL: everything, its own mail parser
 * included: for the whole message when our parse may disagree with libclamav's, and for each
 * decoded MIME leaf (archives, documents, packed executables are unpacked; an attached .eml
 * or TNEF winmail.dat needs the mail parser). AV_RAW: the whole message as bytes only
 * (signatures on the raw message, mail-target signatures), decoding and unpacking nothing:
 * its leaves are scanned on their own. */
enum av_mode { AV_ALL, AV_RAW, AV_NMODES };

static struct cl_scan_options av_opts[AV_NMODES];

/* Image fuzzy hashing (libclamav decodes every JPEG, PNG, GIF... and hashes its pixels: 5% of
 * the malware path's instructions on the SpamAssassin corpus) is done only when a loaded
 * signature can match its result: only a logical signature's fuzzy_img# subsignature reads
 * it. The image is still parsed and scanned with every other signature. */
static void av_opts_init(void)
{
	if (av_opts_ready)
		return;
	memset(av_opts, 0, sizeof av_opts);
	av_opts[AV_ALL].parse = ~0u;
	if (!(av_engine_uses & AV_USES_FUZZY_IMG))
		av_opts[AV_ALL].parse &= ~(unsigned)CL_SCAN_PARSE_IMAGE_FUZZY_HASH;
	av_opts[AV_RAW].parse = 0;
	av_opts_ready = 1;
}

/* Scan one buffer; context t (may be NULL) receives the layers. */
static int av_scan_map(const char *p, size_t len, const char *name, enum av_mode mode,
                       struct scan_task *t, const char **virname)
{
	unsigned long scanned = 0;
	cl_fmap_t *map;
	cl_error_t r;

	if (av_engine == NULL)
		return -ENOENT;
	av_opts_init();
	map = cl_fmap_open_memory(len ? p : "", len);
	if (map == NULL)
		return -ENOMEM;
	*virname = NULL;
	r = cl_scanmap_callback(map, name, virname, &scanned, av_engine, &av_opts[mode], t);
	cl_fmap_close(map);
	if (r == CL_VIRUS)
		return 1;
	if (r == CL_CLEAN || r == CL_BREAK)
		return 0;
	log_warn("av: scan error: %s", cl_strerror(r));
	return -EIO;
}

/* libclamav marks names from unsigned databases ".UNOFFICIAL"; ours are all unsigned. */
static void av_name(char *out, size_t outsz, const char *vn)
{
	size_t n;

	snprintf(out, outsz, "%s", vn ? vn : "unknown");
	n = strlen(out);
	if (n > 11 && strcmp(out + n - 11, ".UNOFFICIAL") == 0)
		out[n - 11] = '\0';
}

static void av_found(struct scan_task *t, const char *vn_raw, const char *where)
{
	char vn[SCAN_VIRUS_MAX];

	av_name(vn, sizeof vn, vn_raw);
	if (t->res->virus[0] == '\0')
		snprintf(t->res->virus, sizeof t->res->virus, "%s", vn);
	scan_raise_verdict(t->res, VERDICT_MALWARE);
	scan_add_symbol(t->res, "AV_VIRUS", 0, "%s in %s", vn, where);
}

/*
 * Malformations after which our MIME parser and libclamav's may see different parts: then the
 * whole message also goes through libclamav's mail parser. Charset trouble and 8-bit headers
 * are not among them: they change no part boundary and no transfer decoding.
 */
#define AV_MIME_DISAGREE                                                                           \
	(MIME_F_DEPTH_LIMIT | MIME_F_PARTS_LIMIT | MIME_F_DECODE_LIMIT | MIME_F_BAD_HEADER |       \
	 MIME_F_NO_BOUNDARY | MIME_F_UNCLOSED | MIME_F_BAD_ENCODING | MIME_F_TRUNCATED |           \
	 MIME_F_ARENA_FULL)

/* An HTML leaf whose bytes the raw scan of the message did not see as they are (it was base64
 * or quoted-printable): libclamav scans an HTML file only through its normalised, lower-cased
 * views (its default configuration skips the raw bytes of HTML), so a signature on the bytes as
 * written (EICAR's upper-case string, any binary pattern) would never meet them. Told the way
 * libclamav's type detection would: declared or named HTML, or an HTML tag in the first 4 KiB. */
static int av_leaf_html_unseen(const struct mime_part *p, const unsigned char *b, size_t len)
{
	static const char *const tags[] = {"<html", "<body", "<head", "<script", "<!doctype", NULL};
	size_t head = len < 4096 ? len : 4096;
	const char *dot;

	if (p->encoding == MIME_ENC_7BIT || p->encoding == MIME_ENC_8BIT ||
	    p->encoding == MIME_ENC_BINARY)
		return 0;
	if (strcasecmp(p->subtype, "html") == 0)
		return 1;
	dot = p->filename ? strrchr(p->filename, '.') : NULL;
	if (dot && (strcasecmp(dot, ".htm") == 0 || strcasecmp(dot, ".html") == 0))
		return 1;
	for (const unsigned char *q = memchr(b, '<', head); q;
	     q = memchr(q + 1, '<', head - (size_t)(q + 1 - b))) {
		for (size_t i = 0; tags[i]; i++) {
			size_t n = strlen(tags[i]);

			if ((size_t)(b + head - q) >= n &&
			    strncasecmp((const char *)q, tags[i], n) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * Well-formed mail (nearly all of it): the message is scanned as raw bytes and each decoded
 * leaf on its own, so every byte is decoded once, by our parser; libclamav's mail parser
 * (which writes each part to a temporary file and scans it again) would only repeat that.
 * Every leaf, plain text sent as it is included: its bytes are in the raw message, but
 * libclamav treats a leaf by its own type (a lower-cased, whitespace-folded view of text, on
 * which a lower-case pattern matches an upper-case body; an archive or a PE sent as 8bit or
 * binary "text/plain"; a pasted message, which its mail parser decodes) and by its own size
 * and offsets (hash signatures, anchored patterns), none of which the raw message scan does.
 * Mail our parser found malformed, or could not parse: libclamav's mail parser on the whole
 * message as well, since the two parsers then disagree, and malware hides in the gaps.
 * layers is what libclamav's layer callback hands the heuristics (NULL: nobody). 1 when a
 * signature matched (t->res has it), 0 when clean, -EIO when clean but a scan failed.
 */
static int av_scan_msg(struct scan_task *t, struct scan_task *layers)
{
	const char *vn = NULL;
	int r, full, err = 0;

	full = t->mime == NULL || (t->mime->flags & AV_MIME_DISAGREE) != 0;
	r = av_scan_map(t->msg, t->len, NULL, full ? AV_ALL : AV_RAW, layers, &vn);
	if (r == 1) {
		av_found(t, vn, "message");
		return 1;
	}
	if (r < 0) {
		scan_add_symbol(t->res, "AV_ERROR", 0, "libclamav could not scan the message");
		err = r;
	}
	if (t->mime == NULL)
		return err;
	for (const struct mime_part *p = t->mime->root; p; p = mime_part_next(p)) {
		/* The bytes as transfer-decoded, before any charset conversion: a payload in a
		 * part mislabelled text/... is scanned as sent. */
		const unsigned char *b = p->content ? p->content : p->decoded;
		size_t blen = p->content ? p->content_len : p->decoded_len;

		if (!mime_part_is_leaf(p) || b == NULL || blen == 0)
			continue;
		r = av_scan_map((const char *)b, blen, p->filename, AV_ALL, layers, &vn);
		if (r == 0 && av_leaf_html_unseen(p, b, blen))
			r = av_scan_map((const char *)b, blen, p->filename, AV_RAW, NULL, &vn);
		if (r == 1) {
			char where[64];

			snprintf(where, sizeof where, "part %u", p->index);
			av_found(t, vn, where);
			return 1;
		}
		if (r < 0)
			err = r;
	}
	return err;
}

static int av_scan(struct scan_task *t)
{
	if (av_engine == NULL) {
		scan_add_symbol(t->res, "AV_NO_ENGINE", 0, "no libclamav engine");
		return 0;
	}
	av_scan_msg(t, t);
	return 0;
}

/* The arena of one retro-scanned message: as the pipeline's (scan/pipeline.c), 64 MiB of
 * decoded bytes at most plus the tree of a 50 MiB message. */
#define AV_ARENA_CAP (192u * 1024 * 1024)

/*
 * Retro-scan: the same passes as a live scan (our MIME parse, the raw message, each decoded
 * leaf, the raw bytes of encoded HTML), so what a live scan would refuse a retro-scan moves;
 * the heuristics are not run (a retro-scan asks only about signatures).
 */
int av_scan_buffer(const char *p, size_t len, char *virus, size_t virussz)
{
	struct scan_result res;
	struct scan_task t;
	struct arena *a;
	int r;

	if (av_engine == NULL)
		return -ENOENT;
	a = arena_new(AV_ARENA_CAP);
	if (a == NULL)
		return -ENOMEM;
	memset(&res, 0, sizeof res);
	memset(&t, 0, sizeof t);
	t.msg = p;
	t.len = len;
	t.arena = a;
	t.res = &res;
	t.mime = mime_parse(a, p, len, &mime_limits_default);
	r = av_scan_msg(&t, NULL);
	arena_free(a);
	if (r == 1)
		snprintf(virus, virussz, "%s", res.virus);
	return r;
}

int av_sig_check(const char *path, unsigned *nsigs, char *err, size_t errsz)
{
	struct cl_engine *e;
	unsigned signo = 0;
	cl_error_t r;
	int ret = -EINVAL;

	*nsigs = 0;
	if (av_lib_init() < 0) {
		snprintf(err, errsz, "libclamav did not initialise");
		return -EIO;
	}
	e = cl_engine_new();
	if (e == NULL) {
		snprintf(err, errsz, "no memory");
		return -ENOMEM;
	}
	r = cl_load(path, e, &signo, CL_DB_STDOPT);
	if (r != CL_SUCCESS) {
		snprintf(err, errsz, "does not load: %s", cl_strerror(r));
		goto out;
	}
	if (signo == 0) {
		snprintf(err, errsz, "holds no signatures");
		goto out;
	}
	r = cl_engine_compile(e);
	if (r != CL_SUCCESS) {
		snprintf(err, errsz, "does not compile: %s", cl_strerror(r));
		goto out;
	}
	*nsigs = signo;
	ret = 0;
out:
	cl_engine_free(e);
	return ret;
}

const struct scanner_ops scanner_av = {
    .name = "av",
    .init = av_init,
    .scan = av_scan,
    .reload = av_reload,
    .fini = av_fini,
};
