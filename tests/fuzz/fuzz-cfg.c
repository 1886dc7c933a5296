/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz-cfg - a rebound.conf through cfg_parse(). */
#include <stdlib.h>

#include "mail/cfg.h"
#include "fuzz.h"
#include "util/msg.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	msg_open("fuzz-cfg", 0, MSG_TO_STDERR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *cfg = NULL;
	char *error = NULL;

	if (cfg_parse((const char *)data, size, "fuzz.conf", &cfg, &error) == 0)
		cfg_free(&cfg);
	free(error);
	return 0;
}
