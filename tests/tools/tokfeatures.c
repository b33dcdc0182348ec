/*
 * tokfeatures - read message paths (one per line) on stdin and print, for each, the Bayes
 * features the scanner would look up, as one line on stdout:
 *
 *   PATH <TAB> header feature hashes <TAB> body feature hashes
 *
 * hashes in lower-case hex, space-separated, sorted and deduplicated as tok_sink_finish leaves
 * them (the split into header and body is the one the clue selection caps). An unreadable file
 * prints PATH <TAB> ERR. For bench/eval-cv, which cross-validates Bayes's parameters inside
 * the training split without a home per fold; nothing here is used by the product.
 */
#include "core/arena.h"
#include "core/fsutil.h"
#include "mime/mime.h"
#include "scan/tokenize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest message read: bench/eval's corpora hold nothing near it. */
#define TOKFEATURES_MSG_MAX (64u << 20)

static uint64_t hdr[TOK_MAX_FEATURES], body[TOK_MAX_FEATURES];

static void put_hashes(const struct tok_sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		printf("%s%llx", i ? " " : "", (unsigned long long)s->h[i]);
}

int main(void)
{
	char path[4096];
	struct arena *a = arena_new(192u * 1024 * 1024);

	if (a == NULL)
		return 1;
	while (fgets(path, sizeof path, stdin)) {
		size_t len;
		char *msg;

		path[strcspn(path, "\n")] = '\0';
		if (path[0] == '\0')
			continue;
		msg = fs_read_file(path, TOKFEATURES_MSG_MAX, &len);
		if (msg == NULL) {
			printf("%s\tERR\n", path);
			continue;
		}
		arena_reset(a);
		struct mime_msg *m = mime_parse(a, msg, len, &mime_limits_default);
		struct tok_sink h = {hdr, 0, TOK_MAX_FEATURES}, b = {body, 0, TOK_MAX_FEATURES};

		tokenize_message(&h, &b, m, msg, len);
		tok_sink_finish(&h);
		tok_sink_finish(&b);
		printf("%s\t", path);
		put_hashes(&h);
		putchar('\t');
		put_hashes(&b);
		putchar('\n');
		free(msg);
	}
	arena_free(a);
	return 0;
}
