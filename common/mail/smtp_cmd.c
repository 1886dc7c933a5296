/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * smtp_cmd - which SMTP command a failing reply answered.
 *
 * MTAs say it in many ways: Postfix "(in reply to RCPT TO command)", Exim
 * "after RCPT TO:<...>", Sendmail transcripts ">>> DATA", qmail "does not
 * like recipient", Yahoo "[RCPT_TO]", filters "SMTP command: DATA".  The command matters to the
 * classifier: a refusal at MAIL FROM is about the sender, one after DATA
 * about the content.  Pure, no allocation.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "mail/smtp_cmd.h"

static const char *const cmd_names[CMD_COUNT] = {
	[CMD_NONE] = "",	 [CMD_CONN] = "CONN", [CMD_HELO] = "HELO",
	[CMD_STARTTLS] = "STARTTLS", [CMD_AUTH] = "AUTH", [CMD_MAIL] = "MAIL",
	[CMD_RCPT] = "RCPT",	 [CMD_DATA] = "DATA", [CMD_QUIT] = "QUIT",
};

/*
 * Phrases that tie a reply to its command, strongest first: an explicit
 * "in reply to" or "after" beats a transcript line, which beats a hint.
 */
struct cmd_phrase {
	const char *phrase;
	enum smtp_cmd cmd;
};

/* Commands as they follow "in reply to ", "after " or "did not like our ". */
static const struct cmd_phrase cmd_words[] = {
	{ "rcpt to", CMD_RCPT },	  { "mail from", CMD_MAIL },
	{ "end of data", CMD_DATA },	  { "final data", CMD_DATA },
	{ "pipelined data", CMD_DATA },	  { "data", CMD_DATA },
	{ "initial connection", CMD_CONN }, { "helo", CMD_HELO },
	{ "ehlo", CMD_HELO },		  { "starttls", CMD_STARTTLS },
	{ "auth", CMD_AUTH },		  { "quit", CMD_QUIT },
	{ "rcpt command", CMD_RCPT },	  { NULL, CMD_NONE },
};

/* Whole phrases that name the command by what happened. */
static const struct cmd_phrase cmd_strong[] = {
	{ "does not like recipient", CMD_RCPT },
	{ "sender was rejected", CMD_MAIL },
	{ "but my name was rejected", CMD_HELO },
	{ "refused to talk to me", CMD_CONN },
	{ NULL, CMD_NONE },
};

/* Hints consulted when no transcript line names the command. */
static const struct cmd_phrase cmd_weak[] = {
	{ "[rcpt_to]", CMD_RCPT },
	{ "[mail_from]", CMD_MAIL },
	{ "[data]", CMD_DATA },
	{ "rcpt command", CMD_RCPT },
	{ NULL, CMD_NONE },
};

/* Lead-ins after which a command name follows, strongest first. */
static const struct {
	const char *lead;
	bool want_word;
} cmd_leads[] = { { "in reply to ", true }, { "after ", false }, { "did not like our ", false },
		  { "smtp command: ", false }, { "smtp command ", false } };

/* smtp_cmd_name - the name of a command */
const char *
smtp_cmd_name(enum smtp_cmd cmd)
{
	return cmd < CMD_COUNT ? cmd_names[cmd] : "";
}

/* smtp_cmd_from_name - a command by name */
enum smtp_cmd
smtp_cmd_from_name(const char *name, size_t len)
{
	for (int i = CMD_CONN; i < CMD_COUNT; i++)
		if (strlen(cmd_names[i]) == len && strncasecmp(cmd_names[i], name, len) == 0)
			return (enum smtp_cmd)i;
	if (len == 4 && strncasecmp(name, "EHLO", 4) == 0)
		return CMD_HELO;
	return CMD_COUNT;
}

/* smtp_cmd_transcript - the command of the last ">>> CMD" transcript line */
static enum smtp_cmd
smtp_cmd_transcript(const char *text, size_t len)
{
	enum smtp_cmd found = CMD_NONE;
	const char *p = text, *end = text + len;

	while (p < end && (p = memmem(p, (size_t)(end - p), ">>> ", 4)) != NULL) {
		size_t n = 0;
		enum smtp_cmd c;

		p += 4;
		while (p + n < end && n < 8 && p[n] >= 'A' && (p[n] | 0x20) <= 'z')
			n++;
		if ((c = smtp_cmd_from_name(p, n)) != CMD_COUNT)
			found = c;
		else if (n == 4 && strncasecmp(p, "EHLO", 4) == 0)
			found = CMD_HELO;
	}
	return found;
}

/* smtp_cmd_match - the command of the first phrase of table found in s */
static enum smtp_cmd
smtp_cmd_match(const struct cmd_phrase *table, const char *s, size_t n)
{
	for (; table->phrase != NULL; table++)
		if (memmem(s, n, table->phrase, strlen(table->phrase)) != NULL)
			return table->cmd;
	return CMD_NONE;
}

/*
 * smtp_cmd_after - the command named right after a lead-in ("after RCPT
 * TO"); with want_word, the command must be followed by " command"
 * ("in reply to RCPT TO command").
 */
static enum smtp_cmd
smtp_cmd_after(const char *s, size_t n, const char *lead, bool want_word)
{
	size_t m = strlen(lead);

	for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), lead, m)) != NULL;) {
		size_t rest;

		p += m;
		rest = (size_t)(s + n - p);
		for (const struct cmd_phrase *w = cmd_words; w->phrase != NULL; w++) {
			size_t k = strlen(w->phrase), tail;

			if (rest < k || memcmp(p, w->phrase, k) != 0)
				continue;
			tail = rest - k < 10 ? rest - k : 10;
			if (!want_word || memmem(p + k, tail, " command", 8) != NULL)
				return w->cmd;
		}
	}
	return CMD_NONE;
}

/* smtp_cmd_find - the SMTP command a diagnostic says it answered */
enum smtp_cmd
smtp_cmd_find(const char *text, size_t len)
{
	enum smtp_cmd c;
	char lower[4096];
	size_t n = len < sizeof(lower) - 1 ? len : sizeof(lower) - 1;

	/* The command is named near the reply; the first 4 kB suffice. */
	for (size_t i = 0; i < n; i++)
		lower[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
	lower[n] = '\0';
	for (size_t i = 0; i < sizeof(cmd_leads) / sizeof(cmd_leads[0]); i++)
		if ((c = smtp_cmd_after(lower, n, cmd_leads[i].lead, cmd_leads[i].want_word)) !=
		    CMD_NONE)
			return c;
	if ((c = smtp_cmd_match(cmd_strong, lower, n)) != CMD_NONE)
		return c;
	if ((c = smtp_cmd_transcript(text, n)) != CMD_NONE)
		return c;
	return smtp_cmd_match(cmd_weak, lower, n);
}
