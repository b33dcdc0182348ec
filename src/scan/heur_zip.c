/*
 * heur_zip - list a zip's entries (name, encrypted flag) without unpacking anything: the
 * central directory when the end record is there, else the local headers one by one (a
 * truncated or deliberately broken zip still opens in many unzip tools).
 *
 * Limits: at most HEUR_ZIP_MAX_ENTRIES entries are listed; names are cut at HEUR_ZIP_NAME
 * bytes. Zip64 archives are listed through their local headers.
 */
#include "scan/heur.h"

#include <errno.h>
#include <string.h>

/* Past 10000 entries a zip is a bomb or a software distribution, not a mail attachment. */
#define HEUR_ZIP_MAX_ENTRIES 10000
/* Long enough for any real path; what is cut off cannot hide an extension we need. */
#define HEUR_ZIP_NAME 512
/* EOCD (22 bytes) plus the longest comment (65535). */
#define HEUR_ZIP_EOCD_SEARCH (22 + 65535)

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void zip_emit(const unsigned char *name, size_t n,
		     void (*cb)(void *, const char *, int), void *arg, int enc)
{
	char buf[HEUR_ZIP_NAME + 1];

	if (n > HEUR_ZIP_NAME)
		n = HEUR_ZIP_NAME;
	memcpy(buf, name, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = '_';
	cb(arg, buf, enc);
}

static int zip_central(const unsigned char *p, size_t len, void (*cb)(void *, const char *, int),
		       void *arg)
{
	size_t lo = len > HEUR_ZIP_EOCD_SEARCH ? len - HEUR_ZIP_EOCD_SEARCH : 0;
	size_t eocd = (size_t)-1;
	uint32_t cd_off, cd_size;
	unsigned total, count = 0;
	size_t pos, end;

	if (len < 22)
		return -EINVAL;
	for (size_t i = len - 22 + 1; i-- > lo;) {
		if (memcmp(p + i, "PK\5\6", 4) == 0) {
			eocd = i;
			break;
		}
	}
	if (eocd == (size_t)-1)
		return -EINVAL;
	total = le16(p + eocd + 10);
	cd_size = le32(p + eocd + 12);
	cd_off = le32(p + eocd + 16);
	if (cd_off == 0xffffffffu || (size_t)cd_off > len || cd_size > len - cd_off)
		return -EINVAL;
	pos = cd_off;
	end = (size_t)cd_off + cd_size;
	while (count < total && count < HEUR_ZIP_MAX_ENTRIES && pos + 46 <= end) {
		size_t nlen, xlen, clen;

		if (memcmp(p + pos, "PK\1\2", 4) != 0)
			return count ? (int)count : -EINVAL;
		nlen = le16(p + pos + 28);
		xlen = le16(p + pos + 30);
		clen = le16(p + pos + 32);
		if (pos + 46 + nlen > end)
			break;
		zip_emit(p + pos + 46, nlen, cb, arg, le16(p + pos + 8) & 1);
		count++;
		pos += 46 + nlen + xlen + clen;
	}
	return (int)count;
}

static int zip_local(const unsigned char *p, size_t len, void (*cb)(void *, const char *, int),
		     void *arg)
{
	unsigned count = 0;

	for (size_t i = 0; i + 30 <= len && count < HEUR_ZIP_MAX_ENTRIES; i++) {
		size_t nlen;

		if (memcmp(p + i, "PK\3\4", 4) != 0)
			continue;
		nlen = le16(p + i + 26);
		if (i + 30 + nlen > len)
			break;
		zip_emit(p + i + 30, nlen, cb, arg, le16(p + i + 6) & 1);
		count++;
		i += 29 + nlen;
	}
	return count ? (int)count : -EINVAL;
}

int heur_zip_walk(const unsigned char *p, size_t len,
		  void (*cb)(void *arg, const char *name, int encrypted), void *arg)
{
	int n;

	if (p == NULL || len < 4 || p[0] != 'P' || p[1] != 'K')
		return -EINVAL;
	n = zip_central(p, len, cb, arg);
	if (n > 0)
		return n;
	return zip_local(p, len, cb, arg);
}
