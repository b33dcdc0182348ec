/*
 * arena - see arena.h. Blocks of at least ARENA_BLOCK bytes in a singly linked list.
 */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 64 KiB: most messages' parse trees fit in one block. */
#define ARENA_BLOCK (64 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	max_align_t data[];
};

struct arena {
	struct arena_block *head;
	size_t cap, total;
	int exhausted;
};

struct arena *arena_new(size_t cap)
{
	struct arena *a = calloc(1, sizeof *a);

	if (a)
		a->cap = cap;
	return a;
}

void arena_free(struct arena *a)
{
	struct arena_block *b, *n;

	if (a == NULL)
		return;
	for (b = a->head; b; b = n) {
		n = b->next;
		free(b);
	}
	free(a);
}

void arena_reset(struct arena *a)
{
	struct arena_block *b = a->head, *n;

	if (b == NULL)
		return;
	for (n = b->next; n;) {
		struct arena_block *nn = n->next;

		free(n);
		n = nn;
	}
	b->next = NULL;
	b->used = 0;
	a->total = b->size;
	a->exhausted = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (need < n)
		goto full;
	if (b == NULL || b->size - b->used < need) {
		size_t sz = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		if (a->total + sz > a->cap || a->total + sz < a->total)
			goto full;
		b = malloc(sizeof *b + sz);
		if (b == NULL)
			goto full;
		b->size = sz;
		b->used = 0;
		/* Keep the block with room at the head; a big one-off goes behind it. */
		if (a->head && sz == need && a->head->size - a->head->used > 0) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
		a->total += sz;
	}
	p = (char *)b->data + b->used;
	b->used += need;
	return p;
full:
	a->exhausted = 1;
	return NULL;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	if (p)
		memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}

int arena_exhausted(const struct arena *a)
{
	return a->exhausted;
}
