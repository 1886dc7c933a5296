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
#include "util/phrase.h"

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

/*
 * smtp_cmd_transcript - the command a ">>> CMD" transcript line names,
 * with off just past the ">>> "; CMD_NONE when it names none
 */
static enum smtp_cmd
smtp_cmd_transcript(const char *text, size_t len, size_t off)
{
	const char *p = text + off, *end = text + len;
	size_t n = 0;
	enum smtp_cmd c;

	while (p + n < end && n < 8 && p[n] >= 'A' && (p[n] | 0x20) <= 'z')
		n++;
	if ((c = smtp_cmd_from_name(p, n)) != CMD_COUNT)
		return c;
	if (n == 4 && strncasecmp(p, "EHLO", 4) == 0)
		return CMD_HELO;
	return CMD_NONE;
}

/* How many phrases of each kind smtp_cmd_find() looks for. */
#define CMD_LEADS (sizeof(cmd_leads) / sizeof(cmd_leads[0]))
#define CMD_STRONG (sizeof(cmd_strong) / sizeof(cmd_strong[0]) - 1)
#define CMD_WEAK (sizeof(cmd_weak) / sizeof(cmd_weak[0]) - 1)
#define CMD_TELLS (CMD_LEADS + CMD_STRONG + CMD_WEAK)

/* A transcript line, looked for with the phrases, is the last of the list. */
#define CMD_TRANSCRIPT CMD_TELLS

_Static_assert(CMD_TELLS + 1 <= PHRASE_MAX, "the phrases fit one phrase_each() list");

/*
 * What one walk over a diagnostic found: for each phrase (lead-ins, then
 * strong, then weak phrases, each kind strongest first), the command it
 * names, CMD_NONE while none; and what the last ">>> CMD" line names.
 */
struct cmd_scan {
	const char *text;
	size_t n;
	enum smtp_cmd found[CMD_TELLS];
	enum smtp_cmd transcript;	/* of the last transcript line naming one */
};

/*
 * smtp_cmd_word - the command named at text[off..n) right after a lead-in;
 * with want_word, the command must be followed by " command" within 10
 * bytes ("in reply to RCPT TO command")
 */
static enum smtp_cmd
smtp_cmd_word(const char *text, size_t n, size_t off, bool want_word)
{
	for (const struct cmd_phrase *w = cmd_words; w->phrase != NULL; w++) {
		size_t k = strlen(w->phrase), tail;

		if (!phrase_at(text, n, off, w->phrase, k))
			continue;
		if (!want_word)
			return w->cmd;
		tail = n - off - k < 10 ? n - off - k : 10;
		for (size_t j = 0; j + 8 <= tail; j++)
			if (phrase_at(text, off + k + tail, off + k + j, " command", 8))
				return w->cmd;
	}
	return CMD_NONE;
}

/*
 * smtp_cmd_seen - a phrase_each() callback: note the command that the
 * phrase found at off names.  A lead-in counts only where a command name
 * follows it, and only its first such place; a transcript line counts
 * where it names a command, the last one winning.  The strongest lead-in
 * settles the question, so the walk stops there.
 */
static bool
smtp_cmd_seen(void *ctx, size_t index, size_t off)
{
	struct cmd_scan *scan = ctx;

	if (index == CMD_TRANSCRIPT) {
		enum smtp_cmd c = smtp_cmd_transcript(scan->text, scan->n, off + 4);

		if (c != CMD_NONE)
			scan->transcript = c;
		return true;
	}
	if (scan->found[index] != CMD_NONE)
		return true;
	if (index < CMD_LEADS)
		scan->found[index] =
			smtp_cmd_word(scan->text, scan->n, off + strlen(cmd_leads[index].lead),
				      cmd_leads[index].want_word);
	else if (index < CMD_LEADS + CMD_STRONG)
		scan->found[index] = cmd_strong[index - CMD_LEADS].cmd;
	else
		scan->found[index] = cmd_weak[index - CMD_LEADS - CMD_STRONG].cmd;
	return scan->found[0] == CMD_NONE;
}

/* smtp_cmd_find - the SMTP command a diagnostic says it answered */
enum smtp_cmd
smtp_cmd_find(const char *text, size_t len)
{
	struct cmd_scan scan = { .text = text };
	const char *list[CMD_TELLS + 1];
	size_t i = 0;

	/* The command is named near the reply; the first 4 kB suffice. */
	scan.n = len < 4095 ? len : 4095;
	for (size_t j = 0; j < CMD_LEADS; j++)
		list[i++] = cmd_leads[j].lead;
	for (size_t j = 0; j < CMD_STRONG; j++)
		list[i++] = cmd_strong[j].phrase;
	for (size_t j = 0; j < CMD_WEAK; j++)
		list[i++] = cmd_weak[j].phrase;
	list[CMD_TRANSCRIPT] = ">>> ";
	/*
	 * One walk finds every phrase; one memmem() per phrase read the text
	 * a dozen times.  Lead-ins, strong phrases, the last transcript line
	 * and weak hints decide in that order.
	 */
	phrase_each(text, scan.n, list, CMD_TELLS + 1, smtp_cmd_seen, &scan);
	for (i = 0; i < CMD_LEADS + CMD_STRONG; i++)
		if (scan.found[i] != CMD_NONE)
			return scan.found[i];
	if (scan.transcript != CMD_NONE)
		return scan.transcript;
	for (; i < CMD_TELLS; i++)
		if (scan.found[i] != CMD_NONE)
			return scan.found[i];
	return CMD_NONE;
}
