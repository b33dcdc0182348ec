/*
 * test_smtp_maildir - the sink's backend under the real session engine, no sockets: messages
 * land in new/ with the X-Sink envelope lines, nothing is left in tmp/, --fail rules answer
 * their reply for the first N attempts, bad rule specs are refused.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/fsutil.h"
#include "smtp/maildir.h"
#include "smtp/session.h"

struct env {
	char dir[64];
	struct smtp_maildir *md;
	struct smtp_server_backend b;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);

	snprintf(e->dir, sizeof e->dir, "/tmp/mxmaildir-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->md = smtp_maildir_open(e->dir);
	assert_non_null(e->md);
	smtp_maildir_backend(e->md, &e->b);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	smtp_maildir_close(e->md);
	snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

/* Run one conversation through a session backed by the Maildir; returns the replies. */
static char *converse(struct env *e, const char *in)
{
	struct smtp_session_params p = {
	    .hostname = "sink.test",
	    .max_line = 1000,
	    .max_message_size = 1 << 20,
	    .max_recipients = 100,
	    .max_errors = 100,
	};
	struct smtp_session *s = smtp_session_new(&p, "192.0.2.1", "");
	void *ctx = e->b.conn_open(e->b.arg, s);
	char *out;

	smtp_session_set_backend(s, e->b.ops, ctx);
	smtp_session_greet(s, SMTP_GREET_OK);
	smtp_session_feed(s, in, strlen(in));
	out = strdup(smtp_session_output(s)->p);
	smtp_session_free(s);
	e->b.conn_close(ctx);
	return out;
}

static size_t count_files(const char *dir, const char *sub, char *first, size_t firstsz)
{
	char path[128];
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	snprintf(path, sizeof path, "%s/%s", dir, sub);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0 && first)
			snprintf(first, firstsz, "%s/%s", path, de->d_name);
	}
	closedir(d);
	return n;
}

static void test_message_stored(void **state)
{
	struct env *e = *state;
	char *out, first[512], *data;
	size_t len;

	out = converse(e, "EHLO c\r\nMAIL FROM:<s@sender.test>\r\nRCPT TO:<a@client.test>\r\n"
	                  "RCPT TO:<b@client.test>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\n"
	                  "QUIT\r\n");
	assert_non_null(strstr(out, "250 2.0.0 Ok: queued as "));
	free(out);
	assert_int_equal(count_files(e->dir, "new", first, sizeof first), 1);
	assert_int_equal(count_files(e->dir, "tmp", NULL, 0), 0);
	assert_int_equal(smtp_maildir_count(e->md), 1);
	data = fs_read_file(first, 1 << 20, &len);
	assert_non_null(data);
	assert_string_equal(data, "X-Sink-Mail-From: <s@sender.test>\r\n"
	                          "X-Sink-Rcpt-To: <a@client.test>\r\n"
	                          "X-Sink-Rcpt-To: <b@client.test>\r\n"
	                          "Subject: x\r\n\r\n.dot\r\n");
	free(data);
}

static void test_aborted_message_leaves_nothing(void **state)
{
	struct env *e = *state;
	char *out = converse(e, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@client.test>\r\nDATA\r\n"
	                        "half a message");

	free(out);
	assert_int_equal(count_files(e->dir, "new", NULL, 0), 0);
	assert_int_equal(count_files(e->dir, "tmp", NULL, 0), 0);
}

static void test_fail_rules(void **state)
{
	struct env *e = *state;
	char *out;

	assert_int_equal(smtp_maildir_add_fail(e->md, "busy@client.test=451 4.3.0 try later"), 0);
	assert_int_equal(smtp_maildir_add_fail(e->md, "a=b@client.test=550 5.1.1 gone"), 0);
	assert_int_equal(smtp_maildir_add_fail(e->md, "nocode@client.test"), -EINVAL);
	assert_int_equal(smtp_maildir_add_fail(e->md, "=451 x"), -EINVAL);
	assert_int_equal(smtp_maildir_add_fail(e->md, "x@y=4511 x"), -EINVAL);
	assert_int_equal(smtp_maildir_add_fail(e->md, "x@y=999 x"), -EINVAL);
	smtp_maildir_set_fail_times(e->md, 2);
	for (int i = 0; i < 3; i++) {
		out = converse(e, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<BUSY@client.test>\r\n"
		                  "RCPT TO:<a=b@client.test>\r\n");
		if (i < 2)
			assert_non_null(strstr(out, "451 4.3.0 try later\r\n"));
		else
			assert_null(strstr(out, "451"));
		assert_non_null(strstr(out, i < 2 ? "550 5.1.1 gone\r\n" : "250 2.1.5"));
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_message_stored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_aborted_message_leaves_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fail_rules, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
