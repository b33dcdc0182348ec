/*
 * history - the seconds and minutes rings in a mapped file, the sampler that fills them from
 * the stats segment, and the derivation of the colour rules' input from them (see history.h).
 *
 * Limits: HIST_SECONDS + HIST_MINUTES samples of ~320 bytes (about 1.2 MB on disk), fixed at
 * compile time; a file of another layout (older version) is reset, not misread.
 */
#include "web/history.h"

#include "core/fsutil.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HIST_MAGIC 0x6d78686973743031ULL /* "mxhist01" */
#define HIST_VERSION 1

struct hist_file {
	uint64_t magic, version, sample_size, nsec, nmin, nev;
	uint64_t sec_head, min_head, ev_head; /* records ever written; slot = head % n */
	struct hist_sample sec[HIST_SECONDS];
	struct hist_sample min[HIST_MINUTES];
	struct hist_event ev[HIST_EVENTS];
};

struct history {
	struct hist_file *f;
	int writable;
	pthread_mutex_t mu;
};

static int history_layout_ok(const struct hist_file *f)
{
	return f->magic == HIST_MAGIC && f->version == HIST_VERSION &&
	       f->sample_size == sizeof(struct hist_sample) && f->nsec == HIST_SECONDS &&
	       f->nmin == HIST_MINUTES && f->nev == HIST_EVENTS;
}

struct history *history_open(const struct config *cfg, int writable)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH];
	struct history *h = NULL;
	struct hist_file *f;
	struct stat st;
	int fd;

	if (config_path(cfg, "db", dir, sizeof dir) < 0 ||
	    config_path(cfg, "db/history.ring", path, sizeof path) < 0)
		return NULL;
	if (writable && fs_mkdir_p(dir, 0750) < 0)
		return NULL;
	fd = open(path, writable ? O_RDWR | O_CREAT | O_CLOEXEC : O_RDONLY | O_CLOEXEC, 0640);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	if ((size_t)st.st_size != sizeof *f) {
		if (!writable || ftruncate(fd, 0) < 0 || ftruncate(fd, sizeof *f) < 0)
			goto fail;
	}
	f = mmap(NULL, sizeof *f, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED)
		goto fail;
	if (!history_layout_ok(f)) {
		if (!writable) {
			munmap(f, sizeof *f);
			goto fail;
		}
		if (f->magic != 0)
			log_warn("history: %s has another layout, starting it afresh", path);
		memset(f, 0, sizeof *f);
		f->version = HIST_VERSION;
		f->sample_size = sizeof(struct hist_sample);
		f->nsec = HIST_SECONDS;
		f->nmin = HIST_MINUTES;
		f->nev = HIST_EVENTS;
		f->magic = HIST_MAGIC;
	}
	h = calloc(1, sizeof *h);
	if (h == NULL) {
		munmap(f, sizeof *f);
		goto fail;
	}
	h->f = f;
	h->writable = writable;
	pthread_mutex_init(&h->mu, NULL);
	close(fd);
	return h;
fail:
	close(fd);
	return NULL;
}

void history_close(struct history *h)
{
	if (h == NULL)
		return;
	munmap(h->f, sizeof *h->f);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* Write a sample into a ring slot; its time goes last so a reader never takes a half sample. */
static void history_put(struct hist_sample *slot, const struct hist_sample *s)
{
	__atomic_store_n(&slot->t, 0, __ATOMIC_RELEASE);
	struct hist_sample copy = *s;
	uint64_t t = copy.t;
	copy.t = 0;
	memcpy(slot, &copy, sizeof copy);
	__atomic_store_n(&slot->t, t, __ATOMIC_RELEASE);
}

void history_record(struct history *h, const struct hist_sample *s)
{
	struct hist_file *f;

	if (h == NULL || !h->writable || s->t == 0)
		return;
	f = h->f;
	pthread_mutex_lock(&h->mu);
	history_put(&f->sec[f->sec_head % HIST_SECONDS], s);
	f->sec_head++;
	uint64_t last_min = 0;
	if (f->min_head > 0)
		last_min = f->min[(f->min_head - 1) % HIST_MINUTES].t / 60;
	if (f->min_head == 0 || s->t / 60 != last_min) {
		history_put(&f->min[f->min_head % HIST_MINUTES], s);
		f->min_head++;
	}
	pthread_mutex_unlock(&h->mu);
}

size_t history_get(struct history *h, int minutes, uint64_t since, struct hist_sample *out,
		   size_t max)
{
	size_t n = 0;

	if (h == NULL || max == 0)
		return 0;
	pthread_mutex_lock(&h->mu);
	struct hist_sample *ring = minutes ? h->f->min : h->f->sec;
	uint64_t size = minutes ? HIST_MINUTES : HIST_SECONDS;
	uint64_t head = minutes ? h->f->min_head : h->f->sec_head;
	uint64_t first = head > size ? head - size : 0;
	/* Skip ahead when the caller wants fewer than the ring holds: the newest matter. */
	if (head - first > max)
		first = head - max;
	for (uint64_t i = first; i < head && n < max; i++) {
		const struct hist_sample *s = &ring[i % size];
		uint64_t t = __atomic_load_n(&s->t, __ATOMIC_ACQUIRE);
		if (t == 0 || t < since)
			continue;
		out[n] = *s;
		if (__atomic_load_n(&s->t, __ATOMIC_ACQUIRE) != t) /* rewritten while we copied */
			continue;
		/* Time only moves forward in a ring; a clock step back would disorder graphs. */
		if (n > 0 && out[n].t <= out[n - 1].t)
			continue;
		n++;
	}
	pthread_mutex_unlock(&h->mu);
	return n;
}

void history_event_add(struct history *h, uint64_t t, const char *text)
{
	if (h == NULL || !h->writable)
		return;
	pthread_mutex_lock(&h->mu);
	struct hist_event *e = &h->f->ev[h->f->ev_head % HIST_EVENTS];
	e->t = t;
	snprintf(e->text, sizeof e->text, "%s", text);
	h->f->ev_head++;
	pthread_mutex_unlock(&h->mu);
}

size_t history_events(struct history *h, struct hist_event *out, size_t max)
{
	size_t n = 0;

	if (h == NULL)
		return 0;
	pthread_mutex_lock(&h->mu);
	uint64_t head = h->f->ev_head;
	for (uint64_t i = head; i > 0 && n < max && head - i < HIST_EVENTS; i--) {
		out[n] = h->f->ev[(i - 1) % HIST_EVENTS];
		out[n].text[HIST_EVENT_TEXT - 1] = '\0';
		n++;
	}
	pthread_mutex_unlock(&h->mu);
	return n;
}

int history_slot_live(const struct stat_slot *s)
{
	int32_t pid = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);

	if (s->kind[0] == '\0' || __atomic_load_n(&s->alive, __ATOMIC_ACQUIRE) == 0 || pid <= 0)
		return 0;
	return kill(pid, 0) == 0 || errno == EPERM;
}

void history_sample_take(const struct stat_segment *seg, uint64_t now, struct hist_sample *out)
{
	int have_master = 0, master_live = 0, any_live = 0;
	uint64_t newest_beat = 0;

	memset(out, 0, sizeof *out);
	out->t = now;
	if (seg == NULL)
		return;
	for (int i = 0; i < STAT_SLOTS; i++) {
		const struct stat_slot *s = &seg->slot[i];
		if (s->kind[0] == '\0')
			continue;
		int live = history_slot_live(s);
		for (int c = 0; c < STAT__COUNT; c++)
			out->counters[c] += __atomic_load_n(&s->counters[c], __ATOMIC_RELAXED);
		for (int b = 0; b < STAT_LAT_BUCKETS; b++)
			out->latency[b] += __atomic_load_n(&s->latency[b], __ATOMIC_RELAXED);
		out->latency_sum_us += __atomic_load_n(&s->latency_sum_us, __ATOMIC_RELAXED);
		uint64_t beat = __atomic_load_n(&s->heartbeat, __ATOMIC_RELAXED);
		if (beat > newest_beat)
			newest_beat = beat;
		int is_master = strncmp(s->kind, "master", STAT_KIND_MAX) == 0;
		have_master |= is_master;
		if (!live)
			continue;
		master_live |= is_master;
		any_live = 1;
		out->procs_live++;
		if (strncmp(s->kind, "scan", STAT_KIND_MAX) == 0)
			out->scan_live++;
		for (int g = 0; g < STAT__GAUGES; g++) {
			int64_t v = __atomic_load_n(&s->gauges[g], __ATOMIC_RELAXED);
			if (g == STAT_G_OLDEST_AGE || g == STAT_G_MAINTENANCE)
				out->gauges[g] = v > out->gauges[g] ? v : out->gauges[g];
			else
				out->gauges[g] += v;
		}
	}
	out->heartbeat = (have_master ? master_live : any_live) ? now : newest_beat;
}

uint64_t history_msgs(const struct hist_sample *s)
{
	return s->counters[STAT_MSG_ACCEPTED] + s->counters[STAT_MSG_REJECTED] +
	       s->counters[STAT_MSG_QUARANTINED];
}

uint64_t history_delta(uint64_t a, uint64_t b)
{
	return b >= a ? b - a : b;
}

static int64_t history_depth(const struct hist_sample *s)
{
	return s->gauges[STAT_G_QUEUE_ACTIVE] + s->gauges[STAT_G_QUEUE_DEFERRED];
}

void history_colour_input(struct colour_input *in, uint64_t now, const struct hist_sample *secs,
			  size_t nsecs, const struct hist_sample *mins, size_t nmins)
{
	in->now = now;
	in->last_report = 0;
	in->flow = 0;
	in->queue_grew_minutes = 0;
	in->crash_age = COLOUR_NEVER;
	in->unscanned = 0;
	in->scan_live = 0;
	in->oldest_age = 0;
	if (nsecs == 0)
		return;

	const struct hist_sample *last = &secs[nsecs - 1];
	in->last_report = last->heartbeat;
	in->unscanned = last->gauges[STAT_G_QUEUE_UNSCANNED];
	in->scan_live = last->scan_live;
	in->oldest_age = last->gauges[STAT_G_OLDEST_AGE];

	/* Flow: the newest sample against the newest one at least the window older. */
	for (size_t i = nsecs - 1; i-- > 0;) {
		if (last->t - secs[i].t >= COLOUR_FLOW_WINDOW || i == 0) {
			uint64_t dt = last->t - secs[i].t;
			if (dt > 0)
				in->flow = (double)history_delta(history_msgs(&secs[i]),
								 history_msgs(last)) /
					   (double)dt;
			break;
		}
	}

	/* The newest second in which the crash counter moved. */
	for (size_t i = nsecs - 1; i > 0; i--) {
		uint64_t a = secs[i - 1].counters[STAT_SCAN_CRASHES];
		uint64_t b = secs[i].counters[STAT_SCAN_CRASHES];
		if (b > a) {
			in->crash_age = now > secs[i].t ? now - secs[i].t : 0;
			break;
		}
	}

	/* Consecutive minutes of growth, ending with the newest second sample. */
	int64_t later = history_depth(last);
	uint64_t later_t = last->t;
	for (size_t i = nmins; i-- > 0;) {
		if (mins[i].t >= later_t)
			continue;
		if (history_depth(&mins[i]) >= later)
			break;
		in->queue_grew_minutes++;
		later = history_depth(&mins[i]);
		later_t = mins[i].t;
	}
}
