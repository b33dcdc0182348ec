/*
 * server - the SMTP server's connection layer on libuv: accepts on a listening socket, runs
 * one struct smtp_session per connection, moves bytes (through TLS after STARTTLS), runs the
 * greeting delay and the command/data timers, enforces the session limits (in total and per
 * client address) and drains on shutdown. It knows nothing about queues or Maildirs: a backend
 * (struct smtp_server_backend) gets a context per connection and the session's ops table.
 *
 * Timers: in command mode the timer restarts only when a whole command has been read, so a
 * client that dribbles one byte at a time (slowloris) still times out; in DATA every read
 * restarts it. While the backend works on a message no timer runs (the scan has its deadline).
 *
 * Limits are per process: with smtp.workers > 1 each worker enforces them on its own share.
 */
#ifndef MX_SMTP_SERVER_H
#define MX_SMTP_SERVER_H

#include "smtp/session.h"
#include "smtp/tls.h"

#include <stdint.h>
#include <uv.h>

/* Bytes read from a socket at once; one shared buffer per server (single-threaded loop). */
#define SMTP_READ_CHUNK (64 * 1024)
/* Replies queued to a peer that does not read: past this we stop reading its commands. */
#define SMTP_WRITE_QUEUE_MAX (1024 * 1024)
/* listen(2) backlog: bursts of new connections from the benchmark and from botnets. */
#define SMTP_LISTEN_BACKLOG 1024

struct smtp_server_backend {
	const struct smtp_session_ops *ops;
	/* A session was accepted (greeting 220): its backend context, or NULL to refuse (421). */
	void *(*conn_open)(void *arg, struct smtp_session *s);
	/*
	 * The connection is gone. The session has already been freed, and data_abort called for
	 * an open message; the context must not touch the session any more.
	 */
	void (*conn_close)(void *ctx);
	void *arg;
};

struct smtp_server_params {
	struct smtp_session_params session; /* flags are filled in per connection */
	uint64_t max_sessions, max_sessions_per_ip;
	uint64_t cmd_timeout_ms, data_timeout_ms;
	/* Wait this long before the greeting to catch early talkers; an address that waited is
	 * greeted at once for an hour after (see server.c). 0 = greet at once. */
	uint64_t pregreet_ms;
	const char *xclient_networks;
};

struct smtp_server_stats {
	uint64_t connections; /* accepted */
	uint64_t refused;     /* answered 421 at once (limits, draining) */
	uint64_t sessions;    /* open now */
	uint64_t pregreet;    /* early talkers */
};

struct smtp_server;

/*
 * Serve on listen_fd (already bound and listening or not: listen is called). tls may be NULL
 * (no STARTTLS); it stays owned by the caller. NULL with a log line on failure.
 */
struct smtp_server *smtp_server_new(uv_loop_t *loop, int listen_fd,
                                    const struct smtp_server_params *p,
                                    const struct smtp_server_backend *b, struct smtp_tls_ctx *tls);
/* Shutting down: 421 to new sessions and idle ones; done runs once no session is left. */
void smtp_server_drain(struct smtp_server *srv, void (*done)(void *arg), void *arg);
/* Close every handle; the loop must run once more to finish, then free. */
void smtp_server_close(struct smtp_server *srv);
void smtp_server_free(struct smtp_server *srv);
const struct smtp_server_stats *smtp_server_stats(const struct smtp_server *srv);

/* A bound, listening TCP socket for "host:port" (for the sink; serve makes its own). */
int smtp_listen_socket(const char *hostport);

#endif
