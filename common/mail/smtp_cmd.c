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

/*
 * smtp_cmd_word - the command named at p[0..rest), right after a lead-in
 * ("after RCPT TO"); with want_word, the command must be followed by
 * " command" ("in reply to RCPT TO command").
 */
static enum smtp_cmd
smtp_cmd_word(const char *p, size_t rest, bool want_word)
{
	for (const struct cmd_phrase *w = cmd_words; w->phrase != NULL; w++) {
		size_t k = strlen(w->phrase), tail;

		if (rest < k || memcmp(p, w->phrase, k) != 0)
			continue;
		tail = rest - k < 10 ? rest - k : 10;
		if (!want_word || memmem(p + k, tail, " command", 8) != NULL)
			return w->cmd;
	}
	return CMD_NONE;
}

/* smtp_cmd_at - whether the phrase occurs at s[i..n) */
static bool
smtp_cmd_at(const char *s, size_t n, size_t i, const char *phrase)
{
	size_t m = strlen(phrase);

	return s[i] == phrase[0] && n - i >= m && memcmp(s + i, phrase, m) == 0;
}

/* smtp_cmd_first - the command of the first phrase of table marked found */
static enum smtp_cmd
smtp_cmd_first(const struct cmd_phrase *table, const bool *found)
{
	for (size_t k = 0; table[k].phrase != NULL; k++)
		if (found[k])
			return table[k].cmd;
	return CMD_NONE;
}

#define CMD_LEADS (sizeof(cmd_leads) / sizeof(cmd_leads[0]))
#define CMD_STRONG (sizeof(cmd_strong) / sizeof(cmd_strong[0]) - 1)
#define CMD_WEAK (sizeof(cmd_weak) / sizeof(cmd_weak[0]) - 1)

/*
 * smtp_cmd_find - the SMTP command a diagnostic says it answered: the
 * first lead-in (in the order of cmd_leads) followed by a command, else
 * the first strong phrase, the last transcript line, the first weak
 * phrase.  One pass over the text finds every lead-in and phrase, where
 * a search for each read it a dozen times.
 */
enum smtp_cmd
smtp_cmd_find(const char *text, size_t len)
{
	enum smtp_cmd lead[CMD_LEADS] = { CMD_NONE }, c;
	bool strong[CMD_STRONG] = { false }, weak[CMD_WEAK] = { false };
	char lower[4096];
	size_t n = len < sizeof(lower) - 1 ? len : sizeof(lower) - 1;

	/* The command is named near the reply; the first 4 kB suffice. */
	for (size_t i = 0; i < n; i++)
		lower[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
	lower[n] = '\0';
	/* The strongest lead-in found ends the search: nothing can beat it. */
	for (size_t i = 0; i < n && lead[0] == CMD_NONE; i++) {
		/* Every lead-in and phrase starts with one of these. */
		if (lower[i] == '\0' || strchr("iadsbr[", lower[i]) == NULL)
			continue;
		for (size_t k = 0; k < CMD_LEADS; k++) {
			size_t m = strlen(cmd_leads[k].lead);

			if (lead[k] == CMD_NONE && smtp_cmd_at(lower, n, i, cmd_leads[k].lead))
				lead[k] = smtp_cmd_word(lower + i + m, n - i - m, cmd_leads[k].want_word);
		}
		for (size_t k = 0; k < CMD_STRONG; k++)
			strong[k] = strong[k] || smtp_cmd_at(lower, n, i, cmd_strong[k].phrase);
		for (size_t k = 0; k < CMD_WEAK; k++)
			weak[k] = weak[k] || smtp_cmd_at(lower, n, i, cmd_weak[k].phrase);
	}
	for (size_t k = 0; k < CMD_LEADS; k++)
		if (lead[k] != CMD_NONE)
			return lead[k];
	if ((c = smtp_cmd_first(cmd_strong, strong)) != CMD_NONE)
		return c;
	if ((c = smtp_cmd_transcript(text, n)) != CMD_NONE)
		return c;
	return smtp_cmd_first(cmd_weak, weak);
}
