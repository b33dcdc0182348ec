/*
 * test_queue_client - the delivery client against a scripted SMTP server on loopback:
 * per-recipient replies with and without PIPELINING, dot-stuffing and the final CRLF, the
 * prefix headers, two transactions on one connection, no DATA when every RCPT failed, and a
 * refused connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "smtp/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct server {
	int lfd;
	uint16_t port;
	int pipelining;
	pthread_t th;
	char data[8192]; /* the last message received, as on the wire */
	size_t data_len;
	int datas;    /* DATA commands seen */
	int messages; /* messages received */
};

static void say(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void *server_run(void *arg)
{
	struct server *sv = arg;
	int fd = accept(sv->lfd, NULL, NULL);
	FILE *in = fdopen(dup(fd), "r");
	char line[1024];
	int ok_rcpts = 0;

	say(fd, "220 test ESMTP\r\n");
	while (fgets(line, sizeof line, in)) {
		if (strncmp(line, "EHLO", 4) == 0) {
			say(fd, sv->pipelining ? "250-test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
			                       : "250-test\r\n250 8BITMIME\r\n");
		} else if (strncmp(line, "MAIL", 4) == 0) {
			ok_rcpts = 0;
			say(fd, "250 2.1.0 ok\r\n");
		} else if (strncmp(line, "RCPT", 4) == 0) {
			if (strstr(line, "bad"))
				say(fd, "550 5.1.1 no such user\r\n");
			else if (strstr(line, "tmp"))
				say(fd, "451 4.3.0 later\r\n");
			else {
				ok_rcpts++;
				say(fd, "250 2.1.5 ok\r\n");
			}
		} else if (strncmp(line, "DATA", 4) == 0) {
			sv->datas++;
			if (ok_rcpts == 0) {
				say(fd, "554 5.5.1 no valid recipients\r\n");
				continue;
			}
			say(fd, "354 go\r\n");
			sv->data_len = 0;
			while (fgets(line, sizeof line, in) && strcmp(line, ".\r\n") != 0) {
				size_t n = strlen(line);

				memcpy(sv->data + sv->data_len, line, n);
				sv->data_len += n;
			}
			sv->messages++;
			say(fd, "250 2.0.0 queued\r\n");
		} else if (strncmp(line, "RSET", 4) == 0) {
			say(fd, "250 ok\r\n");
		} else if (strncmp(line, "QUIT", 4) == 0) {
			say(fd, "221 bye\r\n");
			break;
		} else {
			say(fd, "500 what\r\n");
		}
	}
	fclose(in);
	close(fd);
	return NULL;
}

static void server_start(struct server *sv, int pipelining)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;

	memset(sv, 0, sizeof *sv);
	sv->pipelining = pipelining;
	sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(sv->lfd >= 0);
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(sv->lfd, 1), 0);
	assert_int_equal(getsockname(sv->lfd, (struct sockaddr *)&sa, &len), 0);
	sv->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&sv->th, NULL, server_run, sv), 0);
}

static void server_join(struct server *sv)
{
	pthread_join(sv->th, NULL);
	close(sv->lfd);
}

static int body_fd(const char *body)
{
	char tmpl[] = "/tmp/mxq-client-XXXXXX";
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	unlink(tmpl);
	assert_int_equal(write(fd, "JUNK", 4), 4); /* the body starts at an offset */
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	return fd;
}

static const struct smtp_client_opts opts = {.helo = "mx.test", .timeout_s = 10};

static void run_replies(int pipelining)
{
	static const char body[] = ".leading\r\n..double\r\nmiddle\r\nlast";
	static const char want[] = "X-P: 1\r\n..leading\r\n...double\r\nmiddle\r\nlast\r\n";
	const char *rcpts[] = {"good1@x", "bad@x", "tmp@x", "good2@x"};
	struct smtp_reply why, rr[4], final;
	struct smtp_client *c;
	struct server sv;
	uint64_t bytes = 0;
	int fd = body_fd(body);
	struct smtp_client_msg m = {
	    .from = "s@x",
	    .rcpts = rcpts,
	    .nrcpts = 4,
	    .prefix = "X-P: 1\r\n",
	    .prefix_len = 8,
	    .fd = fd,
	    .off = 4,
	    .len = strlen(body),
	};

	server_start(&sv, pipelining);
	c = smtp_client_connect("127.0.0.1", sv.port, &opts, &why);
	assert_non_null(c);
	assert_int_equal(smtp_client_send(c, &m, rr, &final, &bytes), 0);
	assert_int_equal(rr[0].code, 250);
	assert_int_equal(rr[1].code, 550);
	assert_string_equal(rr[1].text, "550 5.1.1 no such user");
	assert_int_equal(rr[2].code, 451);
	assert_int_equal(rr[3].code, 250);
	assert_int_equal(final.code, 250);
	assert_int_equal(sv.data_len, strlen(want));
	assert_memory_equal(sv.data, want, strlen(want));
	assert_int_equal(bytes, 8 + strlen(body));
	/* A second transaction on the same connection. */
	m.nrcpts = 1;
	assert_int_equal(smtp_client_send(c, &m, rr, &final, &bytes), 0);
	assert_int_equal(final.code, 250);
	assert_true(smtp_client_usable(c));
	/* Every recipient refused: no message is sent. */
	rcpts[0] = "bad@x";
	assert_int_equal(smtp_client_send(c, &m, rr, &final, &bytes), 0);
	assert_int_equal(rr[0].code, 550);
	assert_int_equal(final.code / 100, 5);
	assert_int_equal(sv.messages, 2);
	assert_true(smtp_client_usable(c));
	smtp_client_close(c);
	server_join(&sv);
	assert_int_equal(sv.datas, pipelining ? 3 : 2); /* without PIPELINING, no DATA at all */
	close(fd);
}

static void test_client_pipelining(void **state)
{
	(void)state;
	run_replies(1);
}

static void test_client_no_pipelining(void **state)
{
	(void)state;
	run_replies(0);
}

static void test_client_refused(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	struct smtp_reply why;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	(void)state;
	/* A port that was just free: bound, never listening. */
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	assert_null(smtp_client_connect("127.0.0.1", port, &opts, &why));
	assert_int_equal(why.code, 0);
	assert_non_null(strstr(why.text, "connect to 127.0.0.1"));
	close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_pipelining),
	    cmocka_unit_test(test_client_no_pipelining),
	    cmocka_unit_test(test_client_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
