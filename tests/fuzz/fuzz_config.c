/*
 * fuzz_config - the INI config loader (libinih + our key table and value parsers) on arbitrary
 * text: every input is either accepted or refused with a message, never a crash.
 */
#include "core/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512];
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(&c);
	if (config_load_string(&c, text, "fuzz", err, sizeof err) < 0 && err[0] == '\0')
		abort(); /* a refusal always says why */
	free(text);
	return 0;
}
