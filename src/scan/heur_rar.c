/*
 * heur_rar - list a RAR archive's entries (name, encrypted flag) from the block headers,
 * unpacking nothing, for both formats RARLAB documents:
 *
 *   RAR 1.5-4.x ("Rar!\x1a\x07\x00"): blocks of HEAD_CRC(2) HEAD_TYPE(1) HEAD_FLAGS(2)
 *   HEAD_SIZE(2) [ADD_SIZE(4) when flags & 0x8000]; the archive header (0x73) has flag 0x0080
 *   when every later header is encrypted; a file header (0x74) has flag 0x0004 when its data
 *   is, then PACK_SIZE(4) UNP_SIZE(4) HOST_OS(1) FILE_CRC(4) FTIME(4) UNP_VER(1) METHOD(1)
 *   NAME_SIZE(2) ATTR(4) [HIGH_PACK_SIZE(4) HIGH_UNP_SIZE(4) when flags & 0x0100] FILE_NAME.
 *   A Unicode name (flag 0x0200) is "8-bit name\0packed UTF-16": the 8-bit part is used.
 *
 *   RAR 5 ("Rar!\x1a\x07\x01\x00"): blocks of CRC32(4) HeaderSize(vint) HeaderType(vint)
 *   HeaderFlags(vint) [ExtraSize(vint) when flags & 1] [DataSize(vint) when flags & 2], then
 *   the type's fields and the extra area; type 4 (archive encryption) means every later header
 *   is encrypted; a file header (2) is FileFlags UnpackedSize Attributes [MTime(4) when
 *   FileFlags & 2] [DataCRC(4) when FileFlags & 4] CompressionInfo HostOS NameLength Name
 *   (UTF-8), and its data is encrypted when the extra area holds a record of type 1.
 *
 * Returns the number of entries, -EACCES when the headers are encrypted (names hidden), or
 * -EINVAL when it is no RAR or the first header is broken. A broken later header ends the walk
 * (what was listed stands: like unrar, a damaged tail does not hide the head). Header CRCs are
 * not checked: a wrong CRC does not stop unrar from listing either.
 */
#include "scan/heur.h"

#include <errno.h>
#include <string.h>

#define HEUR_RAR_MAX_ENTRIES 10000
#define HEUR_RAR_NAME 512

static void rar_emit(const unsigned char *name, size_t n, void (*cb)(void *, const char *, int),
                     void *arg, int enc)
{
	char buf[HEUR_RAR_NAME + 1];

	if (n > HEUR_RAR_NAME)
		n = HEUR_RAR_NAME;
	for (size_t i = 0; i < n; i++)
		buf[i] = name[i] ? (char)name[i] : '_';
	buf[n] = '\0';
	/* RAR stores DOS-style paths as sent by Windows archivers ("dir\\file.exe"). */
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\\')
			buf[i] = '/';
	cb(arg, buf, enc);
}

static int rar4_walk(const unsigned char *p, size_t len, void (*cb)(void *, const char *, int),
                     void *arg)
{
	size_t pos = 7;
	int count = 0;

	while (pos + 7 <= len && count < HEUR_RAR_MAX_ENTRIES) {
		unsigned type = p[pos + 2], flags = (unsigned)(p[pos + 3] | p[pos + 4] << 8);
		size_t hsize = (size_t)(p[pos + 5] | p[pos + 6] << 8);
		uint64_t add = 0;

		if (hsize < 7 || hsize > len - pos)
			break;
		if ((flags & 0x8000) && hsize >= 11)
			add = (uint64_t)p[pos + 7] | (uint64_t)p[pos + 8] << 8 |
			      (uint64_t)p[pos + 9] << 16 | (uint64_t)p[pos + 10] << 24;
		if (type == 0x73 && (flags & 0x0080))
			return -EACCES;
		if (type == 0x74 && hsize >= 32) {
			size_t nlen = (size_t)(p[pos + 26] | p[pos + 27] << 8), noff = pos + 32;

			if (flags & 0x0100) {
				if (hsize < 40)
					break;
				add |= ((uint64_t)p[pos + 32] | (uint64_t)p[pos + 33] << 8 |
				        (uint64_t)p[pos + 34] << 16 | (uint64_t)p[pos + 35] << 24)
				       << 32;
				noff += 8;
			}
			if (noff + nlen > pos + hsize)
				break;
			if (flags & 0x0200) {
				const unsigned char *z = memchr(p + noff, 0, nlen);

				if (z)
					nlen = (size_t)(z - (p + noff));
			}
			/* directories ((flags & 0xe0) == 0xe0) are listed too: their names count */
			rar_emit(p + noff, nlen, cb, arg, (flags & 0x0004) != 0);
			count++;
		} else if (type == 0x7b) {
			break; /* end of archive */
		} else if (type < 0x72 || type > 0x7b) {
			if (count == 0 && pos == 7)
				return -EINVAL;
			break;
		}
		if (add > len - pos - hsize)
			break;
		pos += hsize + (size_t)add;
	}
	return count;
}

/* RAR 5 vint: 7 bits a byte, low first, high bit set on all but the last. 0 on overrun. */
static int vint(const unsigned char *p, size_t end, size_t *pos, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *pos < end; shift += 7) {
		unsigned char b = p[(*pos)++];

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 1;
	}
	return 0;
}

static int rar5_walk(const unsigned char *p, size_t len, void (*cb)(void *, const char *, int),
                     void *arg)
{
	size_t pos = 8;
	int count = 0;

	while (pos + 4 < len && count < HEUR_RAR_MAX_ENTRIES) {
		uint64_t hsize, type, hflags, extra = 0, data = 0;
		size_t q = pos + 4, hstart, hend;

		if (!vint(p, len, &q, &hsize) || hsize == 0 || hsize > len - q)
			break;
		hstart = q;
		hend = q + (size_t)hsize;
		if (!vint(p, hend, &q, &type) || !vint(p, hend, &q, &hflags))
			break;
		if ((hflags & 1) && !vint(p, hend, &q, &extra))
			break;
		if ((hflags & 2) && !vint(p, hend, &q, &data))
			break;
		if (extra > hend - hstart)
			break;
		if (type == 4)
			return -EACCES;
		if (type == 2) {
			uint64_t fflags, unp, attr, comp, host, nlen;
			int enc = 0;

			if (!vint(p, hend, &q, &fflags) || !vint(p, hend, &q, &unp) ||
			    !vint(p, hend, &q, &attr))
				break;
			if (fflags & 2)
				q += 4;
			if (fflags & 4)
				q += 4;
			if (q > hend || !vint(p, hend, &q, &comp) || !vint(p, hend, &q, &host) ||
			    !vint(p, hend, &q, &nlen) || nlen > hend - q)
				break;
			/* The extra area: records of Size(vint) Type(vint) data. */
			for (size_t e = hend - (size_t)extra; e < hend;) {
				uint64_t rsize, rtype;
				size_t r0;

				if (!vint(p, hend, &e, &rsize) || rsize == 0 || rsize > hend - e)
					break;
				r0 = e;
				if (!vint(p, r0 + (size_t)rsize, &e, &rtype))
					break;
				if (rtype == 1)
					enc = 1;
				e = r0 + (size_t)rsize;
			}
			rar_emit(p + q, (size_t)nlen, cb, arg, enc);
			count++;
		} else if (type == 5) {
			break; /* end of archive */
		} else if (type == 0 || type > 5) {
			if (count == 0 && pos == 8)
				return -EINVAL;
			break;
		}
		if (data > len - hend)
			break;
		pos = hend + (size_t)data;
	}
	return count;
}

int heur_rar_walk(const unsigned char *p, size_t len,
                  void (*cb)(void *arg, const char *name, int encrypted), void *arg)
{
	if (p == NULL || len < 8 || memcmp(p, "Rar!\x1a\x07", 6) != 0)
		return -EINVAL;
	if (p[6] == 0x00)
		return rar4_walk(p, len, cb, arg);
	if (p[6] == 0x01 && p[7] == 0x00)
		return rar5_walk(p, len, cb, arg);
	return -EINVAL;
}
