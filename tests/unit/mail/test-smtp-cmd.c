/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-smtp-cmd - the SMTP command a diagnostic says it answered, in the
 * words of several MTAs, and the command names both ways.
 */
#include <string.h>

#include "mail/smtp_cmd.h"
#include "tap.h"

static const struct {
	const char *text;
	enum smtp_cmd cmd;
} cmd_cases[] = {
	{ "550 5.1.1 unknown (in reply to RCPT TO command)", CMD_RCPT },
	{ "SMTP error from remote mail server after MAIL FROM:<a@b.c> SIZE=1:", CMD_MAIL },
	{ "SMTP error from remote mail server after end of data:", CMD_DATA },
	{ ">>> RCPT To:<a@b.c>\n<<< 550 x\n>>> DATA\n<<< 554 y", CMD_DATA },
	{ "Connected to 192.0.2.1 but my name was rejected.", CMD_HELO },
	{ "550 User Unknown [RCPT_TO]", CMD_RCPT },
	{ "did not like our final DATA: 554", CMD_DATA },
	{ "550 no command named", CMD_NONE },
	/* The order of the lead-ins decides, not where they stand in the text. */
	{ "after DATA: 554 no (in reply to RCPT TO command)", CMD_RCPT },
	{ "after nothing known, after MAIL FROM:<a@b.c>", CMD_MAIL },
	{ "in reply to RCPT TO, not a command; after DATA", CMD_DATA },
	/* A strong phrase beats a transcript line, which beats a weak hint. */
	{ ">>> DATA\n<<< 550 sender was rejected", CMD_MAIL },
	{ "[RCPT_TO] 550\n>>> DATA\n<<< 554", CMD_DATA },
	{ "[DATA] 554 then [RCPT_TO]", CMD_RCPT },
	{ "SMTP command: QUIT", CMD_QUIT },
	{ "Remote host said: 550 (SMTP command RCPT TO)", CMD_RCPT },
	/* Phrases at the very end, in upper case, or cut by the end. */
	{ "550 User Unknown [rcpt_to]", CMD_RCPT },
	{ "550 5.1.1 UNKNOWN (IN REPLY TO RCPT TO COMMAND", CMD_RCPT },
	{ "550 5.1.1 unknown (in reply to RCPT TO comman", CMD_NONE },
	{ "550 rejected after ", CMD_NONE },
	{ "550 rejected after DATA", CMD_DATA },
	{ "550 rejected [MAIL_FROM", CMD_NONE },
	/* One lead-in a prefix of another: "SMTP command: " and "SMTP command ". */
	{ "SMTP command: RCPT TO", CMD_RCPT },
	/* A lead-in whose first place names no command; its second does. */
	{ "after all, after RCPT TO:<a@b.c>", CMD_RCPT },
	{ "in reply to end of DATA\nin reply to end of DATA command", CMD_DATA },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++)
		tap_is_str(smtp_cmd_name(smtp_cmd_find(cmd_cases[i].text, strlen(cmd_cases[i].text))),
			   smtp_cmd_name(cmd_cases[i].cmd), "command of case %zu", i);
	for (int c = CMD_NONE + 1; c < CMD_COUNT; c++) {
		const char *name = smtp_cmd_name((enum smtp_cmd)c);

		tap_is_int(smtp_cmd_from_name(name, strlen(name)), c, "%s names itself", name);
	}
	tap_is_int(smtp_cmd_from_name("rcpt", 4), CMD_RCPT, "a name in any case");
	tap_is_int(smtp_cmd_from_name("RCPTX", 5), CMD_COUNT, "an unknown name");
	tap_is_str(smtp_cmd_name(CMD_NONE), "", "no command has no name");
	return tap_done();
}
