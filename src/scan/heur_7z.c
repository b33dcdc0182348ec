/*
 * heur_7z - list a 7z archive's entries (name, encrypted flag) without unpacking any file,
 * from the published format (7-Zip's 7zFormat.txt): the signature header points at the
 * archive header; that header is usually itself packed ("encoded header") with LZMA, and then
 * is unpacked with liblzma (it is names and sizes, at most HEUR_7Z_HEADER_MAX bytes). An
 * encoded header whose coders include AES (7z a -mhe=on) hides every name: -EACCES.
 *
 * A file is encrypted when the folder (solid block) holding its data has an AES coder; files
 * without data (empty, directories) are never encrypted. Names are UTF-16LE in the archive,
 * UTF-8 here (unpaired surrogates become U+FFFD).
 *
 * Limits: HEUR_7Z_MAX_FILES entries, HEUR_7Z_MAX_FOLDERS folders, HEUR_7Z_HEADER_MAX bytes of
 * header; past them, or on anything malformed, -EINVAL (what was read so far is not reported:
 * a header is consistent or it is not).
 */
#include "scan/heur.h"

#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#define HEUR_7Z_MAX_FILES 10000
#define HEUR_7Z_MAX_FOLDERS 10000
/* 10000 names of 260 UTF-16 units plus sizes, times, attributes fit in far less. */
#define HEUR_7Z_HEADER_MAX (16u * 1024 * 1024)
#define HEUR_7Z_NAME 512
/* Coders per folder, streams per coder: 7-Zip writes at most 4 coders (BCJ2 + 3 LZMA). */
#define HEUR_7Z_MAX_CODERS 32

enum {
	K_END = 0x00,
	K_HEADER = 0x01,
	K_ARCHIVE_PROPERTIES = 0x02,
	K_ADDITIONAL_STREAMS = 0x03,
	K_MAIN_STREAMS = 0x04,
	K_FILES_INFO = 0x05,
	K_PACK_INFO = 0x06,
	K_UNPACK_INFO = 0x07,
	K_SUBSTREAMS_INFO = 0x08,
	K_SIZE = 0x09,
	K_CRC = 0x0a,
	K_FOLDER = 0x0b,
	K_CODERS_UNPACK_SIZE = 0x0c,
	K_NUM_UNPACK_STREAM = 0x0d,
	K_EMPTY_STREAM = 0x0e,
	K_NAME = 0x11,
	K_ENCODED_HEADER = 0x17,
};

struct rd {
	const unsigned char *p;
	size_t len, pos;
	int bad;
};

struct folder {
	int encrypted;
	uint64_t unpack_size; /* of the folder's final output */
	uint64_t nsub;        /* files' streams in it (SubStreamsInfo; 1 by default) */
	unsigned char method[4];
	size_t method_len;
	unsigned char props[8];
	size_t props_len;
	int ncoders;
};

struct streams {
	uint64_t pack_pos;
	uint64_t npack;
	uint64_t first_pack_size;
	size_t nfolders;
	struct folder *folders;
};

static int rd_byte(struct rd *r)
{
	if (r->pos >= r->len) {
		r->bad = 1;
		return 0;
	}
	return r->p[r->pos++];
}

/* 7z NUMBER: the first byte's leading one bits say how many little-endian bytes follow. */
static uint64_t rd_num(struct rd *r)
{
	int first = rd_byte(r), mask = 0x80;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		if (!(first & mask)) {
			uint64_t high = (uint64_t)(first & (mask - 1));

			return v | (i < 8 ? high << (8 * i) : 0);
		}
		v |= (uint64_t)rd_byte(r) << (8 * i);
		mask >>= 1;
	}
	return v;
}

static void rd_skip(struct rd *r, uint64_t n)
{
	if (n > r->len - r->pos) {
		r->bad = 1;
		r->pos = r->len;
		return;
	}
	r->pos += (size_t)n;
}

/* Digests: all-defined byte or a bit vector, then a CRC32 per defined item. */
static void rd_digests(struct rd *r, uint64_t n)
{
	uint64_t defined = 0;

	if (rd_byte(r)) {
		defined = n;
	} else {
		int b = 0, mask = 0;

		for (uint64_t i = 0; i < n && !r->bad; i++) {
			if (mask == 0) {
				b = rd_byte(r);
				mask = 0x80;
			}
			defined += (b & mask) != 0;
			mask >>= 1;
		}
	}
	if (defined > (r->len - r->pos) / 4)
		r->bad = 1;
	else
		rd_skip(r, defined * 4);
}

static void rd_pack_info(struct rd *r, struct streams *s)
{
	int id;

	s->pack_pos = rd_num(r);
	s->npack = rd_num(r);
	if (s->npack > r->len)
		r->bad = 1;
	while (!r->bad && (id = rd_byte(r)) != K_END) {
		if (id == K_SIZE) {
			for (uint64_t i = 0; i < s->npack && !r->bad; i++) {
				uint64_t v = rd_num(r);

				if (i == 0)
					s->first_pack_size = v;
			}
		} else if (id == K_CRC) {
			rd_digests(r, s->npack);
		} else {
			rd_skip(r, rd_num(r));
		}
	}
}

/* One folder: its coders (AES among them?), bind pairs, packed stream indices. Returns the
 * number of output streams (each has an unpack size in kCodersUnPackSize). */
static uint64_t rd_folder(struct rd *r, struct folder *f)
{
	uint64_t ncoders = rd_num(r), nin = 0, nout = 0;

	if (ncoders == 0 || ncoders > HEUR_7Z_MAX_CODERS) {
		r->bad = 1;
		return 0;
	}
	f->ncoders = (int)ncoders;
	for (uint64_t c = 0; c < ncoders && !r->bad; c++) {
		int flags = rd_byte(r);
		size_t idlen = (size_t)(flags & 0x0f);
		const unsigned char *id = r->p + r->pos;
		uint64_t cin = 1, cout = 1;

		if (flags & 0x80) { /* alternative methods: not in any 7-Zip release */
			r->bad = 1;
			return 0;
		}
		rd_skip(r, idlen);
		if (r->bad)
			return 0;
		if (idlen == 4 && memcmp(id, "\x06\xf1\x07\x01", 4) == 0)
			f->encrypted = 1;
		if (c == 0 && idlen <= sizeof f->method) {
			memcpy(f->method, id, idlen);
			f->method_len = idlen;
		}
		if (flags & 0x10) {
			cin = rd_num(r);
			cout = rd_num(r);
			if (cin > HEUR_7Z_MAX_CODERS || cout > HEUR_7Z_MAX_CODERS) {
				r->bad = 1;
				return 0;
			}
		}
		nin += cin;
		nout += cout;
		if (flags & 0x20) {
			uint64_t plen = rd_num(r);

			if (c == 0 && plen <= sizeof f->props && plen <= r->len - r->pos) {
				memcpy(f->props, r->p + r->pos, (size_t)plen);
				f->props_len = (size_t)plen;
			}
			rd_skip(r, plen);
		}
	}
	if (r->bad || nout == 0 || nin < nout - 1) {
		r->bad = 1;
		return 0;
	}
	for (uint64_t b = 0; b < nout - 1 && !r->bad; b++) {
		rd_num(r);
		rd_num(r);
	}
	if (nin - (nout - 1) > 1)
		for (uint64_t k = 0; k < nin - (nout - 1) && !r->bad; k++)
			rd_num(r);
	return nout;
}

static void rd_unpack_info(struct rd *r, struct streams *s)
{
	uint64_t n, *nout;
	int id;

	if (rd_byte(r) != K_FOLDER) {
		r->bad = 1;
		return;
	}
	n = rd_num(r);
	if (n == 0 || n > HEUR_7Z_MAX_FOLDERS || n > r->len || rd_byte(r) != 0 || s->folders) {
		r->bad = 1; /* "external" folders (in another stream): never written by 7-Zip */
		return;
	}
	s->folders = calloc((size_t)n, sizeof *s->folders);
	nout = calloc((size_t)n, sizeof *nout);
	if (s->folders == NULL || nout == NULL) {
		free(nout);
		r->bad = 1;
		return;
	}
	s->nfolders = (size_t)n;
	for (size_t i = 0; i < s->nfolders && !r->bad; i++) {
		nout[i] = rd_folder(r, &s->folders[i]);
		s->folders[i].nsub = 1;
	}
	if (!r->bad && rd_byte(r) != K_CODERS_UNPACK_SIZE)
		r->bad = 1;
	/* The folder's final output is its first coder's (the main one's) first out stream. */
	for (size_t i = 0; i < s->nfolders && !r->bad; i++)
		for (uint64_t o = 0; o < nout[i] && !r->bad; o++) {
			uint64_t v = rd_num(r);

			if (o == 0)
				s->folders[i].unpack_size = v;
		}
	free(nout);
	while (!r->bad && (id = rd_byte(r)) != K_END) {
		if (id == K_CRC)
			rd_digests(r, s->nfolders);
		else
			rd_skip(r, rd_num(r));
	}
}

static void rd_substreams(struct rd *r, struct streams *s)
{
	int id = rd_byte(r);
	uint64_t total = 0;

	if (id == K_NUM_UNPACK_STREAM) {
		for (size_t i = 0; i < s->nfolders && !r->bad; i++) {
			s->folders[i].nsub = rd_num(r);
			if (s->folders[i].nsub > HEUR_7Z_MAX_FILES)
				r->bad = 1;
		}
		id = rd_byte(r);
	}
	if (id == K_SIZE) {
		for (size_t i = 0; i < s->nfolders && !r->bad; i++)
			for (uint64_t k = 1; k < s->folders[i].nsub && !r->bad; k++)
				rd_num(r);
		id = rd_byte(r);
	}
	for (size_t i = 0; i < s->nfolders; i++)
		total += s->folders[i].nsub;
	while (!r->bad && id != K_END) {
		if (id == K_CRC)
			rd_digests(r, total); /* an over-count only makes a short header bad */
		else
			rd_skip(r, rd_num(r));
		id = rd_byte(r);
	}
}

/* StreamsInfo: PackInfo, UnPackInfo (folders), SubStreamsInfo, each optional, then kEnd. */
static void rd_streams(struct rd *r, struct streams *s)
{
	int id;

	while (!r->bad && (id = rd_byte(r)) != K_END) {
		if (id == K_PACK_INFO)
			rd_pack_info(r, s);
		else if (id == K_UNPACK_INFO)
			rd_unpack_info(r, s);
		else if (id == K_SUBSTREAMS_INFO && s->folders)
			rd_substreams(r, s);
		else
			r->bad = 1;
	}
}

/* UTF-16LE (to its NUL) to UTF-8, cut at HEUR_7Z_NAME bytes; NULs never reach out. */
static size_t utf16_name(const unsigned char *p, size_t units, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < units; i++) {
		uint32_t c = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8);

		if (c >= 0xd800 && c < 0xdc00 && i + 1 < units) {
			uint32_t lo = (uint32_t)(p[2 * i + 2] | p[2 * i + 3] << 8);

			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				c = 0xfffd;
			}
		} else if (c >= 0xd800 && c < 0xe000) {
			c = 0xfffd;
		}
		if (o + 4 > HEUR_7Z_NAME)
			break;
		if (c < 0x80) {
			out[o++] = c ? (char)c : '_';
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | (c >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | c >> 18);
			out[o++] = (char)(0x80 | (c >> 12 & 0x3f));
			out[o++] = (char)(0x80 | (c >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = '\0';
	return o;
}

/* FilesInfo: the empty-stream bits and the names; then cb per file, with the encrypted flag of
 * the folder its stream is in. */
static int rd_files(struct rd *r, const struct streams *s, void (*cb)(void *, const char *, int),
                    void *arg)
{
	uint64_t nfiles = rd_num(r);
	const unsigned char *empty = NULL, *names = NULL;
	size_t empty_len = 0, names_len = 0;
	int id;

	if (r->bad || nfiles > HEUR_7Z_MAX_FILES)
		return -EINVAL;
	while (!r->bad && (id = rd_byte(r)) != K_END) {
		uint64_t size = rd_num(r);

		if (size > r->len - r->pos)
			return -EINVAL;
		if (id == K_EMPTY_STREAM) {
			empty = r->p + r->pos;
			empty_len = (size_t)size;
		} else if (id == K_NAME && size >= 1) {
			if (r->p[r->pos] != 0)
				return -EINVAL; /* names elsewhere: never written by 7-Zip */
			names = r->p + r->pos + 1;
			names_len = (size_t)size - 1;
		}
		rd_skip(r, size);
	}
	if (r->bad || names == NULL)
		return -EINVAL;
	{
		size_t folder = 0, npos = 0;
		uint64_t used = 0;
		unsigned count = 0;

		for (uint64_t f = 0; f < nfiles; f++) {
			char name[HEUR_7Z_NAME + 1];
			size_t units = 0;
			int has_stream = 1, enc = 0;

			while (npos + 2 * units + 1 < names_len &&
			       (names[npos + 2 * units] | names[npos + 2 * units + 1]))
				units++;
			if (npos + 2 * units + 1 >= names_len)
				return -EINVAL; /* no terminating NUL */
			if (empty && f / 8 < empty_len && (empty[f / 8] & (0x80 >> (f % 8))))
				has_stream = 0;
			if (has_stream) {
				while (folder < s->nfolders && used >= s->folders[folder].nsub) {
					folder++;
					used = 0;
				}
				if (folder < s->nfolders) {
					enc = s->folders[folder].encrypted;
					used++;
				}
			}
			utf16_name(names + npos, units, name);
			npos += 2 * units + 2;
			cb(arg, name, enc);
			count++;
		}
		return (int)count;
	}
}

/* Unpack an encoded header packed with LZMA or LZMA2 alone (what 7-Zip writes). */
static unsigned char *unpack_header(const struct folder *f, const unsigned char *src, size_t slen,
                                    size_t *outlen)
{
	lzma_filter filters[2] = {{LZMA_VLI_UNKNOWN, NULL}, {LZMA_VLI_UNKNOWN, NULL}};
	lzma_stream zs = LZMA_STREAM_INIT;
	unsigned char *out;
	lzma_ret lr;

	if (f->ncoders != 1 || f->unpack_size == 0 || f->unpack_size > HEUR_7Z_HEADER_MAX)
		return NULL;
	if (f->method_len == 3 && memcmp(f->method, "\x03\x01\x01", 3) == 0)
		filters[0].id = LZMA_FILTER_LZMA1;
	else if (f->method_len == 1 && f->method[0] == 0x21)
		filters[0].id = LZMA_FILTER_LZMA2;
	else
		return NULL;
	if (lzma_properties_decode(&filters[0], NULL, f->props, f->props_len) != LZMA_OK)
		return NULL;
	/* liblzma allocates the whole dictionary the properties ask for (up to 4 GiB); no match
	 * can reach back past the start of the output, so its size is enough. */
	{
		lzma_options_lzma *o = filters[0].options;

		if (o->dict_size > f->unpack_size)
			o->dict_size = f->unpack_size < LZMA_DICT_SIZE_MIN
			                   ? LZMA_DICT_SIZE_MIN
			                   : (uint32_t)f->unpack_size;
	}
	out = malloc((size_t)f->unpack_size);
	if (out == NULL || lzma_raw_decoder(&zs, filters) != LZMA_OK) {
		free(out);
		free(filters[0].options);
		return NULL;
	}
	zs.next_in = src;
	zs.avail_in = slen;
	zs.next_out = out;
	zs.avail_out = (size_t)f->unpack_size;
	do
		lr = lzma_code(&zs, LZMA_RUN);
	while (lr == LZMA_OK && zs.avail_out > 0 && zs.avail_in > 0);
	if (lr == LZMA_OK && zs.avail_out > 0)
		lr = lzma_code(&zs, LZMA_FINISH);
	*outlen = (size_t)f->unpack_size - zs.avail_out;
	lzma_end(&zs);
	free(filters[0].options);
	if ((lr != LZMA_OK && lr != LZMA_STREAM_END) || *outlen != f->unpack_size) {
		free(out);
		return NULL;
	}
	return out;
}

/* The plain header (kHeader already read). */
static int rd_header(struct rd *r, void (*cb)(void *, const char *, int), void *arg)
{
	struct streams s;
	int id, n = 0;

	memset(&s, 0, sizeof s);
	while (!r->bad && (id = rd_byte(r)) != K_END) {
		if (id == K_ARCHIVE_PROPERTIES) {
			while (!r->bad && rd_byte(r) != 0)
				rd_skip(r, rd_num(r));
		} else if (id == K_ADDITIONAL_STREAMS) {
			struct streams extra;

			memset(&extra, 0, sizeof extra);
			rd_streams(r, &extra);
			free(extra.folders);
		} else if (id == K_MAIN_STREAMS) {
			rd_streams(r, &s);
		} else if (id == K_FILES_INFO) {
			n = rd_files(r, &s, cb, arg);
			break;
		} else {
			r->bad = 1;
		}
	}
	free(s.folders);
	if (r->bad || n < 0)
		return -EINVAL;
	return n;
}

int heur_7z_walk(const unsigned char *p, size_t len,
                 void (*cb)(void *arg, const char *name, int encrypted), void *arg)
{
	uint64_t off, size;
	struct rd r;
	int n;

	if (p == NULL || len < 32 || memcmp(p, "7z\xbc\xaf\x27\x1c", 6) != 0)
		return -EINVAL;
	off = (uint64_t)p[12] | (uint64_t)p[13] << 8 | (uint64_t)p[14] << 16 |
	      (uint64_t)p[15] << 24 | (uint64_t)p[16] << 32 | (uint64_t)p[17] << 40 |
	      (uint64_t)p[18] << 48 | (uint64_t)p[19] << 56;
	size = (uint64_t)p[20] | (uint64_t)p[21] << 8 | (uint64_t)p[22] << 16 |
	       (uint64_t)p[23] << 24 | (uint64_t)p[24] << 32 | (uint64_t)p[25] << 40 |
	       (uint64_t)p[26] << 48 | (uint64_t)p[27] << 56;
	if (off > len - 32 || size == 0 || size > len - 32 - off)
		return -EINVAL;
	r.p = p + 32 + off;
	r.len = (size_t)size;
	r.pos = 0;
	r.bad = 0;
	switch (rd_byte(&r)) {
	case K_HEADER:
		return rd_header(&r, cb, arg);
	case K_ENCODED_HEADER: {
		struct streams s;
		unsigned char *h = NULL;
		size_t hlen = 0;

		memset(&s, 0, sizeof s);
		rd_streams(&r, &s);
		if (r.bad || s.nfolders != 1) {
			free(s.folders);
			return -EINVAL;
		}
		if (s.folders[0].encrypted) {
			free(s.folders);
			return -EACCES; /* the names are encrypted */
		}
		if (s.pack_pos <= len - 32 && s.first_pack_size <= len - 32 - s.pack_pos)
			h = unpack_header(&s.folders[0], p + 32 + s.pack_pos,
			                  (size_t)s.first_pack_size, &hlen);
		free(s.folders);
		if (h == NULL)
			return -EINVAL;
		r.p = h;
		r.len = hlen;
		r.pos = 0;
		r.bad = 0;
		n = rd_byte(&r) == K_HEADER ? rd_header(&r, cb, arg) : -EINVAL;
		free(h);
		return n;
	}
	default:
		return -EINVAL;
	}
}
