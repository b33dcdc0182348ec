/*
 * colour - the colour rules as one pure function (see colour.h for the precedence and limits).
 *
 * Reasons are short English phrases with the numbers that triggered them ("scan worker crashed
 * 4 s ago", "12.0 msg/s >= 80% of spec 15"), joined by "; " when several apply.
 */
#include "web/colour.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const colour_names[] = {
	[COLOUR_GREEN] = "green", [COLOUR_YELLOW] = "yellow", [COLOUR_RED] = "red",
	[COLOUR_PURPLE] = "purple", [COLOUR_BLUE] = "blue",
};

const char *colour_name(enum colour c)
{
	if ((unsigned)c >= sizeof colour_names / sizeof colour_names[0])
		return "unknown";
	return colour_names[c];
}

/* Append one reason; a reason that does not fit is cut, never overflows. */
static void colour_reason_add(struct colour_result *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void colour_reason_add(struct colour_result *out, const char *fmt, ...)
{
	size_t len = strlen(out->reason);
	va_list ap;

	if (len > 0 && len + 2 < sizeof out->reason) {
		memcpy(out->reason + len, "; ", 3);
		len += 2;
	}
	if (len + 1 >= sizeof out->reason)
		return;
	va_start(ap, fmt);
	vsnprintf(out->reason + len, sizeof out->reason - len, fmt, ap);
	va_end(ap);
}

static uint64_t colour_report_age(const struct colour_input *in)
{
	if (in->last_report == 0)
		return COLOUR_NEVER;
	return in->now > in->last_report ? in->now - in->last_report : 0;
}

static int colour_is_red(const struct colour_input *in, struct colour_result *out)
{
	uint64_t age = colour_report_age(in);

	if (age >= COLOUR_SILENT_AFTER)
		colour_reason_add(out, "stopped reporting %" PRIu64 " s ago", age);
	if (in->crash_age != COLOUR_NEVER && in->crash_age < COLOUR_CRASH_WINDOW)
		colour_reason_add(out, "scan worker crashed %" PRIu64 " s ago", in->crash_age);
	if (in->unscanned > 0)
		colour_reason_add(out, "%" PRId64 " message%s waiting unscanned", in->unscanned,
				  in->unscanned == 1 ? "" : "s");
	if (in->scan_configured > 0 && in->scan_live == 0)
		colour_reason_add(out, "no live scan worker (0 of %" PRIu64 ")",
				  in->scan_configured);
	if (in->delay_red > 0 && in->oldest_age > 0 && (uint64_t)in->oldest_age > in->delay_red)
		colour_reason_add(out, "oldest queued message %" PRId64 " s old > %" PRIu64 " s",
				  in->oldest_age, in->delay_red);
	return out->reason[0] != '\0';
}

static int colour_is_yellow(const struct colour_input *in, struct colour_result *out)
{
	if (in->spec_msgs > 0 && in->yellow_at > 0) {
		double limit = (double)in->spec_msgs * (double)in->yellow_at / 100.0;
		if (in->flow >= limit)
			colour_reason_add(out,
					  "mail flow %.1f msg/s >= %" PRIu64 "%% of spec %" PRIu64
					  " msg/s",
					  in->flow, in->yellow_at, in->spec_msgs);
	}
	if (in->queue_grew_minutes >= COLOUR_GROWTH_MINUTES)
		colour_reason_add(out, "queue grew for %" PRIu64 " minutes", in->queue_grew_minutes);
	return out->reason[0] != '\0';
}

void colour_decide(const struct colour_input *in, struct colour_result *out)
{
	uint64_t age = colour_report_age(in);

	out->reason[0] = '\0';
	if (in->maintenance) {
		out->colour = COLOUR_BLUE;
		colour_reason_add(out, "maintenance set by the operator");
		return;
	}
	if (age == COLOUR_NEVER) {
		out->colour = COLOUR_PURPLE;
		colour_reason_add(out, "never reported");
		return;
	}
	if (age > COLOUR_STALE_AFTER) {
		out->colour = COLOUR_PURPLE;
		colour_reason_add(out, "no report for %" PRIu64 " s (stale after %d s)", age,
				  COLOUR_STALE_AFTER);
		return;
	}
	if (colour_is_red(in, out)) {
		out->colour = COLOUR_RED;
		return;
	}
	if (colour_is_yellow(in, out)) {
		out->colour = COLOUR_YELLOW;
		return;
	}
	out->colour = COLOUR_GREEN;
	snprintf(out->reason, sizeof out->reason, "healthy");
}
