/*
 * log - one line per event on stderr: "TIME LEVEL PROC[PID]: key=value ...".
 *
 * Every line about a message carries its queue id (callers put "id=..." first). Bytes that came
 * from a peer go through log_escape() first, so a peer can never forge a log line or a terminal
 * escape. log_fatal() exits the process (environment broken); log_panic() aborts (our own
 * invariant broken, core dump wanted).
 */
#ifndef MX_CORE_LOG_H
#define MX_CORE_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Name this process in every line ("smtpd", "qmgr", ...). The string must outlive the process. */
void log_set_proc(const char *name);
void log_set_level(enum log_level lvl);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy at most len bytes of peer data into out (size outsz, always NUL-terminated) with
 * non-printable bytes, backslash and '"' escaped as \xHH. Truncates with "..." when out is full.
 * Returns out, so it can sit inside a log_info() argument list.
 */
const char *log_escape(char *out, size_t outsz, const char *p, size_t len);

#endif
