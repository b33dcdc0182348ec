/*
 * fuzz_heur - the heuristics' own parsers of attachment bytes: the zip directory walk, the 7z
 * header walk (LZMA-packed headers unpacked through liblzma), the RAR 4 and RAR 5 block walk, the OLE
 * VBA probe, the HTML smuggling finder, magic-number classification and the file name checks,
 * on arbitrary bytes. Each must stay inside the buffer and return.
 */
#include "scan/heur.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void on_entry(void *arg, const char *name, int encrypted)
{
	size_t *n = arg;

	*n += strlen(name) + (size_t)encrypted;
	heur_name_double_ext(name);
	heur_name_bidi(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char what[128];
	size_t total = 0;
	char *name;

	heur_zip_walk(data, size, on_entry, &total);
	heur_7z_walk(data, size, on_entry, &total);
	heur_rar_walk(data, size, on_entry, &total);
	heur_ole_has_vba(data, size);
	heur_html_smuggling((const char *)data, size, what, sizeof what);
	heur_exec_kind(data, size);
	heur_archive_kind(data, size);
	name = malloc(size + 1);
	if (name == NULL)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	heur_name_exec_ext(name);
	heur_name_double_ext(name);
	heur_name_bidi(name);
	free(name);
	return 0;
}
