/*
 * sink - `mxtower sink`: a capture SMTP server standing in for a client company's own server.
 * It runs the same session engine as smtpd over the Maildir backend (smtp/maildir.h), offers
 * PIPELINING, 8BITMIME, SMTPUTF8, CHUNKING and STARTTLS (an in-memory self-signed
 * certificate), logs one line per message on stderr and exits 0 on SIGTERM or SIGINT.
 */
#include "cli/cli.h"

#include "core/log.h"
#include "core/parse.h"
#include "smtp/maildir.h"
#include "smtp/server.h"
#include "smtp/tls.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static const char sink_usage[] =
    "usage: mxtower sink --listen ADDR:PORT --maildir DIR [--fail ADDR=REPLY]... "
    "[--fail-times N]\n"
    "\n"
    "A capture SMTP server: every message goes to DIR/new/ with X-Sink-Mail-From and\n"
    "X-Sink-Rcpt-To header lines prepended.\n"
    "  --fail ADDR='451 4.3.0 try later'  answer that reply to RCPT TO:<ADDR>\n"
    "  --fail-times N                     each --fail rule applies to its first N attempts\n";

/* The sink is a test peer: generous limits, so it never is the part that refuses. */
#define SINK_MAX_LINE 65536
#define SINK_MAX_MESSAGE (1024ULL * 1024 * 1024)
#define SINK_MAX_RCPTS 100000
#define SINK_MAX_ERRORS 1000
#define SINK_MAX_SESSIONS 100000
#define SINK_TIMEOUT_MS (300 * 1000)

struct sink {
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	struct smtp_server *srv;
};

static void sink_stop(uv_signal_t *h, int signum)
{
	struct sink *sk = h->data;

	log_info("sink: signal %d, exiting", signum);
	uv_stop(&sk->loop);
}

static int sink_args(int argc, char **argv, const char **listen, const char **maildir, char **fails,
                     size_t *nfails, unsigned long *times)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		uint64_t n;

		if (i + 1 >= argc) {
			fprintf(stderr, "mxtower sink: %s needs a value\n", a);
			return -1;
		}
		if (strcmp(a, "--listen") == 0) {
			*listen = argv[++i];
		} else if (strcmp(a, "--maildir") == 0) {
			*maildir = argv[++i];
		} else if (strcmp(a, "--fail") == 0) {
			fails[(*nfails)++] = argv[++i];
		} else if (strcmp(a, "--fail-times") == 0) {
			if (parse_u64(argv[++i], 1, 1000000, &n) < 0) {
				fprintf(stderr, "mxtower sink: bad --fail-times '%s'\n", argv[i]);
				return -1;
			}
			*times = (unsigned long)n;
		} else {
			fprintf(stderr, "mxtower sink: unknown option '%s'\n", a);
			return -1;
		}
	}
	if (*listen == NULL || *maildir == NULL) {
		fputs(sink_usage, stderr);
		return -1;
	}
	return 0;
}

int cmd_sink(int argc, char **argv)
{
	const char *listen = NULL, *maildir = NULL;
	char **fails = calloc((size_t)argc + 1, sizeof *fails), host[256];
	size_t nfails = 0;
	unsigned long times = 0;
	struct smtp_maildir *md = NULL;
	struct smtp_tls_ctx *tls = NULL;
	struct smtp_server_backend b;
	struct smtp_server_params p;
	struct sink sk;
	int fd = -1, status = 1;

	if (cli_wants_help(argc, argv, sink_usage)) {
		free(fails);
		return 0;
	}
	log_set_proc("sink");
	if (fails == NULL || sink_args(argc, argv, &listen, &maildir, fails, &nfails, &times) < 0) {
		free(fails);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((md = smtp_maildir_open(maildir)) == NULL)
		goto out;
	for (size_t i = 0; i < nfails; i++)
		if (smtp_maildir_add_fail(md, fails[i]) < 0) {
			fprintf(stderr, "mxtower sink: bad --fail '%s' (want ADDR='NNN text')\n",
			        fails[i]);
			status = 2;
			goto out;
		}
	smtp_maildir_set_fail_times(md, times);
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "sink");
	host[sizeof host - 1] = '\0';
	tls = smtp_tls_ctx_new("", "", NULL, host);
	if ((fd = smtp_listen_socket(listen)) < 0)
		goto out;
	memset(&p, 0, sizeof p);
	p.session.hostname = host;
	p.session.max_line = SINK_MAX_LINE;
	p.session.max_message_size = SINK_MAX_MESSAGE;
	p.session.max_recipients = SINK_MAX_RCPTS;
	p.session.max_errors = SINK_MAX_ERRORS;
	p.max_sessions = SINK_MAX_SESSIONS;
	p.max_sessions_per_ip = SINK_MAX_SESSIONS;
	p.cmd_timeout_ms = SINK_TIMEOUT_MS;
	p.data_timeout_ms = SINK_TIMEOUT_MS;
	p.xclient_networks = "";
	smtp_maildir_backend(md, &b);
	uv_loop_init(&sk.loop);
	sk.srv = smtp_server_new(&sk.loop, fd, &p, &b, tls);
	if (sk.srv == NULL) {
		uv_loop_close(&sk.loop);
		goto out;
	}
	fd = -1; /* the server's listener owns it now */
	uv_signal_init(&sk.loop, &sk.sigterm);
	uv_signal_init(&sk.loop, &sk.sigint);
	sk.sigterm.data = sk.sigint.data = &sk;
	uv_signal_start(&sk.sigterm, sink_stop, SIGTERM);
	uv_signal_start(&sk.sigint, sink_stop, SIGINT);
	log_info("sink: listening on %s, maildir %s%s", listen, maildir,
	         tls ? ", STARTTLS offered" : "");
	uv_run(&sk.loop, UV_RUN_DEFAULT);
	smtp_server_close(sk.srv);
	uv_close((uv_handle_t *)&sk.sigterm, NULL);
	uv_close((uv_handle_t *)&sk.sigint, NULL);
	uv_run(&sk.loop, UV_RUN_DEFAULT);
	smtp_server_free(sk.srv);
	uv_loop_close(&sk.loop);
	log_info("sink: stored %llu messages", smtp_maildir_count(md));
	status = 0;
out:
	if (fd >= 0)
		close(fd);
	smtp_tls_ctx_free(tls);
	smtp_maildir_close(md);
	free(fails);
	return status;
}
