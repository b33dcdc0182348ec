/*
 * log - see log.h. Writes whole lines with one write(2) so that lines of concurrent processes
 * sharing stderr never interleave mid-line (POSIX keeps writes below PIPE_BUF atomic on pipes).
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One log line; longer lines are cut. 2 KiB keeps a line atomic on a pipe (PIPE_BUF 4096). */
#define LOG_LINE_MAX 2048

static const char *log_proc = "mxtower";
static enum log_level log_min = LOG_LEVEL_INFO;

void log_set_proc(const char *name)
{
	log_proc = name;
}

void log_set_level(enum log_level lvl)
{
	log_min = lvl;
}

static void log_vwrite(const char *level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof line - n, ".%03ldZ %s %s[%d]: ", ts.tv_nsec / 1000000L, level,
		     log_proc, (int)getpid());
	if (r > 0)
		n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;
	r = vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof line - n ? (size_t)r : sizeof line - n - 1;
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* A short write of a log line is not worth a retry loop; stderr is a pipe or a file. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	va_list ap;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	log_vwrite(names[lvl], fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}

void log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("panic", fmt, ap);
	va_end(ap);
	abort();
}

const char *log_escape(char *out, size_t outsz, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outsz == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		size_t need = (c < 0x20 || c >= 0x7f || c == '\\' || c == '"') ? 4 : 1;

		if (o + need + 4 > outsz) {
			if (outsz >= 4) {
				while (o + 4 > outsz)
					o--;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 4) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}
