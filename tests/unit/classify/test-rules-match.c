/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-rules-match - what rules_match.c does with a loaded rule set: the
 * field a regex reads (diagnostic, text, subject), reporter= and action=
 * conditions, a negated list with "none", the literal pre-check, the
 * bound on how much text a regex reads, the match limits (a regex that
 * backtracks without end fails with an error, it does not hang), the
 * same answers before and after a rule is JIT-compiled, a regex of
 * several alternatives of several pieces found exactly where PCRE2 alone
 * finds it, and a @phrases list run a phrase at a time answering as its
 * whole regex does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "classify/rules.h"
#include "tap.h"
#include "util/caps.h"
#include "util/xalloc.h"

static const char rules_text[] =
	"@provider microsoft outlook.com\n"
	"@provider google gmail.com\n"
	"subj.ooo      onhold        field=subject /out of office/i\n"
	"text.quota    mailboxfull   field=text /over quota/i\n"
	"ms.only       blocked       reporter=microsoft /block list/i\n"
	"act.delay     expired       action=delayed /later/\n"
	"no.ms         rejected      reporter=!microsoft,none /block list/i\n"
	"tail.word     toomanyconn   /TAILWORD/\n"
	"tail.text     toomanyconn   field=text /TAILTEXT/\n"
	"plain.user    userunknown   /no such user/\n";

/* match - the id of the rule that decides in, or "" */
static const char *
match(struct rules *rs, const struct rule_input *in)
{
	struct rule_result res;

	return rules_match(rs, in, &res) ? res.id : "";
}

/* check_fields - which text each rule reads, and the conditions */
static void
check_fields(struct rules *rs)
{
	static const char text[] = "The recipient is over quota.";
	struct rule_input in = { .status = "" };

	in.subject = "Out of Office: back soon";
	tap_is_str(match(rs, &in), "subj.ooo", "field=subject reads the subject");
	in.subject = NULL;
	in.diagnostic = "out of office";
	tap_is_str(match(rs, &in), "", "and not the diagnostic");
	in.diagnostic = NULL;
	in.text = text;
	in.text_len = strlen(text);
	tap_is_str(match(rs, &in), "text.quota", "field=text reads the report's text");
	in.text_len = 10;
	tap_is_str(match(rs, &in), "", "only text_len bytes of it");
	in.text = NULL;
	in.text_len = 0;

	in.diagnostic = "550 listed on our block list";
	in.reporter = "microsoft";
	tap_is_str(match(rs, &in), "ms.only", "reporter= holds");
	in.reporter = "google";
	tap_is_str(match(rs, &in), "no.ms", "a negated list admits another reporter");
	in.reporter = NULL;
	tap_is_str(match(rs, &in), "", "and not an absent one it names with none");

	in.diagnostic = "try again later";
	in.action = "delayed";
	tap_is_str(match(rs, &in), "act.delay", "action= holds");
	in.action = "failed";
	tap_is_str(match(rs, &in), "", "another action does not");
	in.action = NULL;

	in.diagnostic = "550 No Such User";
	tap_is_str(match(rs, &in), "", "a regex without the i flag keeps case");
	in.diagnostic = "550 no such user";
	tap_is_str(match(rs, &in), "plain.user", "and matches its own case");
}

/* check_bounds - the subject limit, the match limits, JIT */
static void
check_bounds(struct rules *rs)
{
	size_t n = LIMIT_RULE_SUBJECT + 100;
	char *long_diag = xmalloc(n + 1);
	struct rule_input in = { .status = "", .diagnostic = long_diag };
	struct rules *bad = rules_create();
	char *error = NULL;
	static const char evil[] = "evil  blocked  /^(a|aa)+$/\n";
	char *as = xmalloc(4001);
	bool same = true;

	memset(long_diag, 'x', n);
	memcpy(long_diag + n - 8, "TAILWORD", 8);
	long_diag[n] = '\0';
	tap_is_str(match(rs, &in), "", "a regex reads at most LIMIT_RULE_SUBJECT bytes");
	memcpy(long_diag + 10, "TAILWORD", 8);
	tap_is_str(match(rs, &in), "tail.word", "what lies within them it finds");
	/* The text is not pre-scanned for literals: the regex itself stops. */
	memcpy(long_diag + 10, "xxxxxxxx", 8);
	memcpy(long_diag + n - 8, "TAILTEXT", 8);
	in.diagnostic = NULL;
	in.text = long_diag;
	in.text_len = n;
	tap_is_str(match(rs, &in), "", "field=text too reads at most LIMIT_RULE_SUBJECT bytes");
	memcpy(long_diag + 10, "TAILTEXT", 8);
	tap_is_str(match(rs, &in), "tail.text", "and finds what lies within them");
	in.text = NULL;
	in.text_len = 0;

	/* Exponential backtracking: the match limit stops it with an error. */
	memset(as, 'a', 4000);
	as[3999] = 'b';
	as[4000] = '\0';
	tap_is_int(rules_load_text(bad, evil, strlen(evil), "evil.rules", &error), 0,
		   "a backtracking regex loads");
	in.diagnostic = as;
	tap_is_str(match(bad, &in), "", "a runaway match is no match");
	tap_ok(rules_error(bad) != NULL && strstr(rules_error(bad), "evil.rules:1") != NULL &&
		       strstr(rules_error(bad), "match failed") != NULL,
	       "and leaves an error naming the rule (%s)",
	       rules_error(bad) ? rules_error(bad) : "none");
	rules_free(&bad);

	/* Run one rule past RULES_JIT_AFTER: its answers stay the same. */
	for (int i = 0; i < 64; i++) {
		in.diagnostic = i % 2 ? "550 no such user" : "550 no such person";
		same = same && strcmp(match(rs, &in), i % 2 ? "plain.user" : "") == 0;
	}
	tap_ok(same, "answers do not change once a rule is JIT-compiled");
	free(as);
	free(long_diag);
}

/*
 * check_precheck - the literal pre-check passes every text the regex
 * matches: alternatives of one to three pieces, literals that hold one
 * another ("eta" in "zeta" and "theta"), against PCRE2 with no pre-check
 */
static void
check_precheck(void)
{
	static const char regex[] = "(?:alpha|beta) .*gamma|delta (?:epsilon|zeta).*eta|theta";
	static const char *const words[] = {
		"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "other",
	};
	char rule[128], *error = NULL, text[256] = "";
	struct rules *rs = rules_create();
	struct rule_input in = { .status = "", .diagnostic = text };
	pcre2_code *code;
	pcre2_match_data *md;
	int err, same = 0, matched = 0, tries = 4000;
	PCRE2_SIZE off;
	unsigned seed = 29;

	snprintf(rule, sizeof(rule), "multi.piece  blocked  /%s/\n", regex);
	tap_is_int(rules_load_text(rs, rule, strlen(rule), "m.rules", &error), 0,
		   "a regex of alternatives of several pieces loads (%s)", error ? error : "ok");
	code = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
	md = pcre2_match_data_create_from_pattern(code, NULL);
	for (int t = 0; t < tries; t++) {
		size_t len = 0;
		bool want;

		for (int w = (int)(rand_r(&seed) % 5) + 1; w > 0; w--) {
			const char *word = words[rand_r(&seed) % (sizeof(words) / sizeof(words[0]))];

			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s",
						len > 0 ? " " : "", word);
		}
		want = pcre2_match(code, (PCRE2_SPTR)text, len, 0, 0, md, NULL) >= 0;
		same += want == (strcmp(match(rs, &in), "multi.piece") == 0);
		matched += want;
	}
	tap_is_int(same, tries, "the pre-check keeps every text the regex matches, and no other");
	tap_ok(matched > tries / 10 && matched < tries - tries / 10,
	       "over texts that match and texts that do not (%d of %d match)", matched, tries);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	rules_free(&rs);
}

/*
 * Two lists: one that may be run a phrase at a time, and one whose first
 * phrase turns case-insensitivity off for the phrases after it, as the
 * whole regex has it, so that it must not be split.
 */
static const char phrases_text[] =
	"@phrases full.words i\n"
	"    mailbox (is |was )?full\n"
	"    over ?quota\n"
	"    quota (exceeded|full)\n"
	"    (insufficient|not enough) (disk |storage )?space\n"
	"    no such (user|mailbox)\n"
	"full.text      mailboxfull   like=full.words\n"
	"@phrases flip.words i\n"
	"    strict(?-i)Tail\n"
	"    loose words\n"
	"flip.text      blocked       like=flip.words\n";

/* ignore_step - a witness that only makes rules_explain() run the whole regex */
static void
ignore_step(void *ctx, const struct rule_step *step)
{
	(void)ctx;
	(void)step;
}

/* whole - the id rules_explain() gives in, which runs each whole regex */
static const char *
whole(struct rules *rs, const struct rule_input *in)
{
	struct rule_result res;

	return rules_explain(rs, in, &res, ignore_step, NULL) ? res.id : "";
}

/* check_phrases - a @phrases list, split and whole */
static void
check_phrases(void)
{
	static const char *const words[] = {
		"mailbox", "is", "was", "full", "over", "quota", "overquota", "exceeded",
		"insufficient", "not enough", "disk", "storage", "space", "no such", "user",
		"MAILBOX", "Quota", "SPACE", "strict", "STRICT", "tail", "Tail", "loose",
		"words", "LOOSE WORDS", "550", "5.2.2", "the", ":", ".",
	};
	struct rules *rs = rules_create();
	/*
	 * Zeroed: a JIT-compiled regex (the whole lists, once run often) reads
	 * ahead past the end of its text in aligned blocks, and valgrind
	 * would take the bytes it then ignores for a use of uninitialised
	 * memory.
	 */
	char *error = NULL, text[256] = "";
	struct rule_input in = { .status = "" };
	int same = 0, matched = 0, tries = 4000;
	unsigned seed = 17;

	tap_is_int(rules_load_text(rs, phrases_text, strlen(phrases_text), "p.rules", &error), 0,
		   "@phrases lists load (%s)", error ? error : "ok");
	in.diagnostic = "552 user is over quota";
	tap_is_str(match(rs, &in), "full.text", "a phrase of a list matches");
	tap_is_int((long long)rules_compiled(rs), 1,
		   "compiling only the phrase whose literals the text holds");
	in.diagnostic = "550 LOOSE WORDS";
	tap_is_str(match(rs, &in), "", "an option set in one phrase holds in those after it");
	in.diagnostic = "550 loose words";
	tap_is_str(match(rs, &in), "flip.text", "as in the whole regex");
	in.diagnostic = "550 STRICTTail";
	tap_is_str(match(rs, &in), "flip.text", "and not in those before it");
	/* Texts of the lists' words in any order: split and whole agree on each. */
	for (int t = 0; t < tries; t++) {
		size_t len = 0;
		const char *split;

		for (int w = (int)(rand_r(&seed) % 6) + 1; w > 0; w--) {
			const char *word = words[rand_r(&seed) % (sizeof(words) / sizeof(words[0]))];

			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s",
						len > 0 ? " " : "", word);
		}
		in.diagnostic = text;
		split = match(rs, &in);
		same += strcmp(split, whole(rs, &in)) == 0;
		matched += split[0] != '\0';
	}
	tap_is_int(same, tries, "run a phrase at a time, a list answers as its whole regex does");
	tap_ok(matched > tries / 10 && matched < tries - tries / 10,
	       "over texts that match and texts that do not (%d of %d match)", matched, tries);
	tap_ok(rules_error(rs) == NULL, "no run-time error in the lists");
	rules_free(&rs);
}

int
main(void)
{
	struct rules *rs = rules_create();
	char *error = NULL;
	struct rule_input in = { .status = "", .diagnostic = "nothing known here" };

	tap_is_int(rules_load_text(rs, rules_text, strlen(rules_text), "t.rules", &error), 0,
		   "the rules load (%s)", error ? error : "ok");
	tap_is_int(rules_finish(rs, &error), 0, "and their provider names resolve (%s)",
		   error ? error : "ok");
	tap_is_str(match(rs, &in), "", "a diagnostic without any rule's literal matches nothing");
	tap_is_int((long long)rules_compiled(rs), 0, "and compiles nothing");
	check_fields(rs);
	check_bounds(rs);
	check_precheck();
	check_phrases();
	tap_ok(rules_error(rs) == NULL, "no run-time error in the sound rules");
	rules_free(&rs);
	return tap_done();
}
