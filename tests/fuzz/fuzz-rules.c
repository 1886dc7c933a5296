/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-rules - a rule file through the loader, then a fixed diagnostic
 * through the loaded rules, which compiles (and limits) whatever regex
 * the diagnostic reaches.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util/msg.h"
#include "classify/rules.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	msg_open("fuzz-rules", 0, MSG_TO_STDERR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char diag[] = "550 5.1.1 <bob@example.com>: Recipient address rejected: "
				   "User unknown in virtual mailbox table aaaaaaaaaaaaaaaaaaaaaaaab";
	struct rule_input in = {
		.diagnostic = diag,
		.text = diag,
		.text_len = sizeof(diag) - 1,
		.subject = "Undelivered Mail Returned to Sender",
		.status = "5.1.1",
		.reply_code = 550,
		.diag_type = "smtp",
		.action = "failed",
	};
	struct rules *rs = rules_create();
	struct rule_result res;
	char *error = NULL;

	if (rules_load_text(rs, (const char *)data, size, "fuzz.rules", &error) == 0)
		(void)rules_match(rs, &in, &res);
	free(error);
	rules_free(&rs);
	return 0;
}
