/*
 * mimedump - print our MIME parser's part tree, one line per part, for the differential test
 * against GMime (tests/tools/mimedump_gmime.c prints the same format).
 *
 *   mimedump [-g] [-v] [-a ARENA_BYTES] [-l DEPTH,PARTS,DECODED] FILE...
 *
 * For each file: "== FILE", then per part in pre-order "DEPTH TYPE/SUBTYPE" and, for a leaf,
 * " LEN SHA256" of its transfer-decoded bytes (before charset conversion). -g leaves out what
 * GMime cannot produce (leaves found by uudecode/yEnc inside text). -v adds flags, charset,
 * filename, the UTF-8 text's hash, and the URLs. -a and -l shrink the arena cap and the parser
 * limits, so the corpus test can drive every limit path. Files are mapped, never copied.
 */
#include "core/arena.h"
#include "mime/mime.h"

#include <fcntl.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Per-message arena cap for the tool: above any corpus message decoded several times over. */
#define MIMEDUMP_ARENA_CAP (512u * 1024 * 1024)

static void sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	int i;

	EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void dump_part(const struct mime_part *pt, int verbose)
{
	char hex[65];

	printf("%u %s/%s", pt->depth, pt->type, pt->subtype);
	if (mime_part_is_leaf(pt)) {
		sha256_hex(pt->content ? (const void *)pt->content : "", pt->content_len, hex);
		printf(" %zu %s", pt->content_len, hex);
	}
	if (verbose) {
		printf(" flags=%#x charset=\"%s\" filename=\"%s\" disp=\"%s\"", pt->flags,
		       pt->charset, pt->filename, pt->disposition);
		if (pt->text) {
			sha256_hex(pt->text, pt->text_len, hex);
			printf(" text=%zu:%.16s", pt->text_len, hex);
		}
	}
	printf("\n");
}

static size_t arena_cap = MIMEDUMP_ARENA_CAP;
static struct mime_limits limits;

static int dump_file(const char *path, int gmime_mode, int verbose)
{
	struct arena *a = NULL;
	const struct mime_part *pt;
	struct mime_msg *msg;
	const struct mime_url *u;
	const char *p = "";
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			perror(path);
			close(fd);
			return 1;
		}
	}
	a = arena_new(arena_cap);
	printf("== %s\n", path);
	msg = a ? mime_parse(a, p, (size_t)st.st_size, &limits) : NULL;
	if (msg == NULL) {
		printf("unparsable\n");
		rc = 1;
		goto out;
	}
	for (pt = msg->root; pt; pt = mime_part_next(pt)) {
		if (gmime_mode && pt->embedded)
			continue;
		dump_part(pt, verbose);
	}
	if (verbose) {
		char hex[65];

		sha256_hex(msg->text, msg->text_len, hex);
		printf("msg flags=%#x parts=%u text=%zu:%.16s urls=%u\n", msg->flags, msg->nparts,
		       msg->text_len, hex, msg->nurls);
		for (u = msg->urls; u; u = u->next)
			printf("url %s host=%s%s%s\n", u->url, u->host, u->text ? " text=" : "",
			       u->text ? u->text : "");
	}
out:
	arena_free(a);
	if (st.st_size > 0)
		munmap((void *)p, (size_t)st.st_size);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	int i, gmime_mode = 0, verbose = 0, rc = 0;

	limits = mime_limits_default;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "-g") == 0) {
			gmime_mode = 1;
		} else if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
		} else if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
			arena_cap = (size_t)strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc &&
		           sscanf(argv[i + 1], "%u,%u,%zu", &limits.max_depth, &limits.max_parts,
		                  &limits.max_decoded) == 3) {
			i++;
		} else {
			fprintf(stderr, "usage: mimedump [-g] [-v] [-a ARENA_BYTES] "
			                "[-l DEPTH,PARTS,DECODED] FILE...\n");
			return 2;
		}
	}
	for (; i < argc; i++)
		rc |= dump_file(argv[i], gmime_mode, verbose);
	return rc;
}
