/*
 * arena - a per-message (or per-session) bump allocator, freed at once.
 *
 * There are no per-object frees. Each arena has a byte cap set at creation: an allocation that
 * would pass it returns NULL (and sets arena->exhausted), which callers turn into a symbol or a
 * protocol error, never a crash. Owner: whoever called arena_new().
 */
#ifndef MX_CORE_ARENA_H
#define MX_CORE_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(size_t cap);
void arena_free(struct arena *a);
/* Drop everything allocated, keep the first block for reuse. */
void arena_reset(struct arena *a);
/* 16-byte aligned; NULL when the cap is reached or malloc fails. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *p, size_t n);
char *arena_strdup(struct arena *a, const char *s);
size_t arena_used(const struct arena *a);
int arena_exhausted(const struct arena *a);

#endif
