/*
 * fuzz_envelope - the queue file loader (envelope_parse) on arbitrary bytes: a file a crash or a
 * bad disk left behind must be refused or parsed, never crash or read out of bounds. A file
 * that parses must report offsets inside the input.
 */
#include "queue/envelope.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e;
	/* A private copy without slack after it, so any overread hits ASan's redzone. */
	char *p = malloc(size ? size : 1);

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	if (envelope_parse(p, size, &e) == 0) {
		if (e.body_off + e.body_len > size || e.q_off >= size || e.l_off >= size)
			abort();
		for (size_t i = 0; i < e.nrcpts; i++)
			if (e.rcpts[i].state_off >= size ||
			    p[e.rcpts[i].state_off] != e.rcpts[i].state)
				abort();
		envelope_free(&e);
	}
	free(p);
	return 0;
}
