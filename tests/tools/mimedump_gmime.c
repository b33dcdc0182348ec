/*
 * mimedump_gmime - GMime's view of a message in mimedump's format (see tests/tools/mimedump.c):
 * the reference side of the differential test. GMime is used here only, never in src/.
 *
 *   mimedump_gmime FILE...
 */
#include <gmime/gmime.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	int i;

	EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void print_type(GMimeObject *obj, unsigned depth)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *t = ct ? g_mime_content_type_get_media_type(ct) : NULL;
	const char *s = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	char *lt = g_ascii_strdown(t ? t : "", -1), *ls = g_ascii_strdown(s ? s : "", -1);

	printf("%u %s/%s", depth, lt, ls);
	g_free(lt);
	g_free(ls);
}

static void dump_object(GMimeObject *obj, unsigned depth)
{
	print_type(obj, depth);
	if (GMIME_IS_MULTIPART(obj)) {
		int i, n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		printf("\n");
		for (i = 0; i < n; i++)
			dump_object(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		printf("\n");
		if (m && g_mime_message_get_mime_part(m))
			dump_object(g_mime_message_get_mime_part(m), depth + 1);
	} else if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
		GMimeStream *ms = g_mime_stream_mem_new();
		GByteArray *ba;
		char hex[65];

		if (w)
			g_mime_data_wrapper_write_to_stream(w, ms);
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
		sha256_hex(ba->len ? (const void *)ba->data : "", ba->len, hex);
		printf(" %u %s\n", ba->len, hex);
		g_object_unref(ms);
	} else {
		printf(" ?\n");
	}
}

static int dump_file(const char *path)
{
	GMimeStream *fs;
	GMimeParser *parser;
	GMimeMessage *msg;
	GMimeObject *root;

	printf("== %s\n", path);
	fs = g_mime_stream_file_open(path, "rb", NULL);
	if (fs == NULL) {
		printf("unparsable\n");
		return 1;
	}
	parser = g_mime_parser_new_with_stream(fs);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, NULL);
	root = msg ? g_mime_message_get_mime_part(msg) : NULL;
	if (root)
		dump_object(root, 0);
	else
		printf("unparsable\n");
	if (msg)
		g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(fs);
	return 0;
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	g_mime_init();
	for (i = 1; i < argc; i++)
		rc |= dump_file(argv[i]);
	g_mime_shutdown();
	return rc;
}
