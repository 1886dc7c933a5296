/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-rules - rule file syntax, errors with file and line, conditions,
 * precedence, site overrides, the @set, @phrases and @provider lines,
 * --explain's witness, and the built-in rule files of this tree.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/rules.h"
#include "tap.h"

#define RULES_DIR REBOUND_SRCDIR "/rules"

/* Malformed rule files and the error each must give. */
static const struct {
	const char *text;
	const char *error;
} bad_cases[] = {
	{ "ok userunknown /x/\nbad-reason frobnicated /x/\n",
	  "t.rules:2: unknown reason \"frobnicated\"" },
	{ "\n\n# comment\n-bad userunknown /x/\n", "t.rules:4: bad rule id \"-bad\"" },
	{ "a userunknown /unterminated\n", "t.rules:1: rule a: regex without a closing '/'" },
	{ "a userunknown /x/q\n", "t.rules:1: rule a: unknown regex flag" },
	{ "a userunknown\n", "t.rules:1: rule a: rule has neither a regex nor a condition" },
	{ "a userunknown colour=red /x/\n", "t.rules:1: rule a: unknown condition" },
	{ "a userunknown cmd=FROB /x/\n", "t.rules:1: rule a: unknown SMTP command" },
	{ "a userunknown provider=nowhere /x/\n",
	  "t.rules:1: rule a: names a provider no @provider line defines" },
	{ "a userunknown provider=Big /x/\n", "t.rules:1: rule a: bad value" },
	{ "a userunknown statusreason=nonsense /x/\n", "t.rules:1: rule a: bad value" },
	{ "a userunknown hard=maybe /x/\n", "t.rules:1: rule a: want yes or no" },
	{ "a userunknown like=nothing\n", "t.rules:1: rule a: like= names no rule or pattern" },
	{ "a userunknown like=b\nb blocked like=a\n", "t.rules:1: rule a: like= goes round" },
	{ "a userunknown like=b /x/\n", "t.rules:1: rule a: a rule has one regex" },
	{ "a userunknown statusreason=@weak /x/\n", "t.rules:1: rule a: names an unknown @set" },
	{ "@set weak none,undefined\n@set weak onhold\n",
	  "t.rules:2: duplicate set \"weak\" (first at t.rules:1)" },
	{ "@set weak !none\n", "t.rules:1: @set weak: want one comma list" },
	{ "@set weak\n", "t.rules:1: @set weak: want one comma list" },
	{ "@set w none\na userunknown statusreason=@w,frob /x/\n", "t.rules:2: rule a: bad value" },
	{ "@set w none\na userunknown statusreason=+@w /x/\n",
	  "t.rules:2: rule a: '@' may only begin an item that names a @set" },
	{ "@set w @w\na userunknown statusreason=@w /x/\n",
	  "t.rules:1: @set w: want one comma list of plain values" },
	{ "@frob x\n", "t.rules:1: unknown directive \"@frob x\"" },
	{ "@provider big\n", "t.rules:1: @provider big: no domain suffix" },
	{ "@provider big exa$mple.com\n", "t.rules:1: @provider big: bad name or suffix" },
	{ "@phrases p i\n", "t.rules:1: @phrases p has no phrase" },
	{ "@phrases p q\n    x\n", "t.rules:1: @phrases wants an id and regex flags" },
	{ "@phrases p i more\n    x\n", "t.rules:1: @phrases wants an id and regex flags" },
	{ "@phrases\n    x\n", "t.rules:1: @phrases wants an id and regex flags" },
	{ "@phrases p i\n    one\n    two|three   # two wordings\n",
	  "t.rules:3: one phrase per line" },
	{ "@phrases p i\n    (one\n", "t.rules:2: phrase has an unbalanced '('" },
	{ "@phrases p i\n    one)\n", "t.rules:2: phrase has an unbalanced ')'" },
	{ "@phrases p i\n    [one\n", "t.rules:2: phrase has an unclosed '['" },
	{ "@phrases p i\n    one\n@phrases p i\n    two\n",
	  "t.rules:3: duplicate rule id \"p\" (first at t.rules:1)" },
	{ "a userunknown /x/\nb mailboxfull /y/\na hostunknown /z/\n",
	  "t.rules:3: duplicate rule id \"a\" (first at t.rules:1)" },
	{ "   continued /x/\n", "t.rules:1: continuation line without a rule" },
	{ "p - status=5.1.1\n", "t.rules:1: pattern p has no regex" },
	{ "a userunknown status=5.1.1,,5.2.2 /x/\n", "t.rules:1: rule a: bad value" },
	{ "a userunknown status=,5.1.1 /x/\n", "t.rules:1: rule a: bad value" },
	{ "a userunknown status=, /x/\n", "t.rules:1: rule a: bad value" },
	{ "a userunknown status=5.1.1,, /x/\n", "t.rules:1: rule a: bad value" },
	{ "a userunknown status=! /x/\n", "t.rules:1: rule a: empty list" },
	{ "a userunknown status=5.1.1 code=550,x /x/\n", "t.rules:1: rule a: bad value" },
	{ "a userunknown /x/iq   \n", "t.rules:1: rule a: unknown regex flag" },
	{ "a userunknown /x\n", "t.rules:1: rule a: regex without a closing '/'" },
	{ "a userunknown //i\n", "t.rules:1: rule a: empty regex" },
	{ "@phrases p i\tx\n    one\n", "t.rules:1: @phrases wants an id and regex flags" },
	{ "@phrases p iiiiiiiiiiiiiiii\n    one\n",
	  "t.rules:1: @phrases wants an id and regex flags" },
};

/* Rules and the reason each input must get (or "" for no match). */
static const char match_rules[] =
	"# site-style rules used by the match cases\n"
	"@provider google google.com\n"
	"full.text      mailboxfull   /mailbox (is )?full/i\n"
	"user.status    userunknown   statusreason=userunknown\n"
	"spam.data      spamdetected  cmd=DATA /spam/i\n"
	"spam.except    blocked       cmd=!DATA,none /spam/i\n"
	"big            mesgtoobig    status=5.3.* code=55?\n"
	"nostatus       onhold        status=none /hold/\n"
	"google.only    blocked       provider=google /rate/\n"
	"long.rule      policyviolation\n"
	"    /policy\\s\n"
	"     violation/x\n"
	"word.list      -             /\\b(?:unrouteable|unroutable)\\b/i\n"
	"host.words     hostunknown   like=word.list hard=no\n"
	"quota.two      mailboxfull   status=5.2.2, status=4.2.2,5.2.1 /quota/\n"
	"tabbed\tblocked\tcode=571\t/\tdenied/   \n"
	"@phrases p.tab\ti\n"
	"    refused by (policy|filter)\n"
	"refused        blocked       like=p.tab\n";

static const struct {
	const char *diagnostic;
	const char *status;
	enum smtp_cmd cmd;
	const char *provider;
	int code;
	const char *reason;	/* "" for no match */
	int hard;		/* expected override, -1 none */
} match_cases[] = {
	{ "552 Mailbox is FULL", "5.1.1", CMD_RCPT, NULL, 552, "mailboxfull", -1 },
	{ "550 no such user", "5.1.1", CMD_RCPT, NULL, 550, "userunknown", -1 },
	{ "554 spam detected", "", CMD_DATA, NULL, 554, "spamdetected", -1 },
	{ "554 spam detected", "", CMD_MAIL, NULL, 554, "blocked", -1 },
	{ "554 spam detected", "", CMD_NONE, NULL, 554, "", -1 },
	{ "message too big", "5.3.4", CMD_DATA, NULL, 552, "mesgtoobig", -1 },
	{ "message too big", "5.3.4", CMD_DATA, NULL, 521, "", -1 },
	{ "on hold", "", CMD_NONE, NULL, 0, "onhold", -1 },
	{ "on hold", "5.0.0", CMD_NONE, NULL, 0, "", -1 },
	{ "rate limited", "", CMD_NONE, "google", 0, "blocked", -1 },
	{ "rate limited", "", CMD_NONE, "yahoo", 0, "", -1 },
	{ "this is a policy violation", "", CMD_NONE, NULL, 0, "policyviolation", -1 },
	{ "unrouteable address", "", CMD_NONE, NULL, 0, "hostunknown", 0 },
	{ "over quota", "4.2.2", CMD_NONE, NULL, 0, "mailboxfull", -1 },
	{ "over quota", "5.2.2", CMD_NONE, NULL, 0, "mailboxfull", -1 },
	{ "over quota", "5.2.1", CMD_NONE, NULL, 0, "mailboxfull", -1 },
	{ "over quota", "5.2.3", CMD_NONE, NULL, 0, "", -1 },
	{ "access\tdenied", "", CMD_NONE, NULL, 571, "blocked", -1 },
	{ "access denied", "", CMD_NONE, NULL, 571, "", -1 },
	{ "REFUSED by filter", "", CMD_NONE, NULL, 0, "blocked", -1 },
	{ "", "", CMD_NONE, NULL, 0, "", -1 },
};

/* check_bad - every malformed file fails with its file:line error */
static void
check_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct rules *rs = rules_create();
		char *error = NULL;
		int ret = rules_load_text(rs, bad_cases[i].text, strlen(bad_cases[i].text),
					  "t.rules", &error);

		/* References to other rules, sets and providers are read last. */
		if (ret == 0)
			ret = rules_finish(rs, &error);

		tap_is_int(ret, -1, "malformed case %zu is refused", i);
		tap_ok(error != NULL && strstr(error, bad_cases[i].error) != NULL,
		       "case %zu error \"%s\" names \"%s\"", i, error ? error : "(none)",
		       bad_cases[i].error);
		free(error);
		rules_free(&rs);
		tap_ok(rs == NULL, "rules_free clears the pointer");
	}
}

/* check_nul - a NUL byte in a rule file is an error on its own line */
static void
check_nul(void)
{
	static const char text[] = "a userunknown /x/\n# fine\nb blocked /y\0z/\nc blocked /w/\n";
	static const char first[] = "\0a userunknown /x/\n";
	struct rules *rs = rules_create();
	char *error = NULL;

	tap_is_int(rules_load_text(rs, text, sizeof(text) - 1, "t.rules", &error), -1,
		   "a NUL byte inside a rule is refused");
	tap_ok(error != NULL && strcmp(error, "t.rules:3: NUL byte") == 0,
	       "the error names the NUL byte's line: %s", error ? error : "(none)");
	free(error);
	error = NULL;
	rules_free(&rs);
	rs = rules_create();
	tap_is_int(rules_load_text(rs, first, sizeof(first) - 1, "t.rules", &error), -1,
		   "a NUL byte that opens the file is refused");
	tap_ok(error != NULL && strcmp(error, "t.rules:1: NUL byte") == 0,
	       "the error names line 1: %s", error ? error : "(none)");
	free(error);
	rules_free(&rs);
}

/* check_regex_error - a regex that does not compile is reported with file:line */
static void
check_regex_error(void)
{
	static const char text[] = "good userunknown /fine/\n\nbroken blocked /(unclosed/\n";
	struct rules *rs = rules_create();
	struct rule_input in = { .diagnostic = "unclosed and fine", .status = "" };
	struct rule_result res;
	char *error = NULL;

	tap_is_int(rules_load_text(rs, text, strlen(text), "r.rules", &error), 0,
		   "regex syntax is not checked at load");
	tap_is_int((long long)rules_compiled(rs), 0, "nothing compiled at load");
	tap_is_int(rules_check(rs, &error), -1, "rules_check compiles everything");
	tap_ok(error != NULL && strncmp(error, "r.rules:3: rule broken: regex error", 35) == 0,
	       "compile error names r.rules:3 (%s)", error ? error : "(none)");
	free(error);
	rules_free(&rs);

	rs = rules_create();
	(void)rules_load_text(rs, text + 24, strlen(text + 24), "r.rules", &error);
	tap_ok(!rules_match(rs, &in, &res), "a broken rule never matches");
	tap_ok(rules_error(rs) != NULL && strstr(rules_error(rs), "r.rules:2") != NULL,
	       "and the run-time error is kept");
	rules_free(&rs);
}

/* check_match - conditions, order, literal pre-check and lazy compilation */
static void
check_match(void)
{
	struct rules *rs = rules_create();
	char *error = NULL;

	tap_is_int(rules_load_text(rs, match_rules, strlen(match_rules), "m.rules", &error), 0,
		   "match rules load");
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		struct rule_input in = {
			.diagnostic = match_cases[i].diagnostic,
			.status = match_cases[i].status,
			.command = match_cases[i].cmd,
			.provider = match_cases[i].provider,
			.reply_code = match_cases[i].code,
		};
		struct rule_result res;
		bool generic;
		enum reason sr = status_reason(in.status, &generic);
		bool hit;

		in.status_reason = in.status[0] ? reason_name(sr) : NULL;
		hit = rules_match(rs, &in, &res);
		tap_is_str(hit ? reason_name(res.reason) : "", match_cases[i].reason,
			   "match case %zu (\"%s\")", i, match_cases[i].diagnostic);
		if (hit)
			tap_is_int(res.hard, match_cases[i].hard, "hardness override %zu", i);
	}
	/* Only the regexes of rules whose literal occurred were compiled. */
	tap_ok(rules_compiled(rs) < rules_count(rs), "compilation is lazy (%zu of %zu)",
	       rules_compiled(rs), rules_count(rs));
	tap_is_int(rules_check(rs, &error), 0, "all match rules compile");
	rules_free(&rs);
}

/* check_override - a site rule with a built-in rule's id replaces it */
static void
check_override(void)
{
	static const char site[] = "full.text blocked /mailbox full/\n";
	static const char builtin[] = "full.text mailboxfull /mailbox full/\nother userunknown /x/\n";
	struct rules *rs = rules_create();
	struct rule_input in = { .diagnostic = "mailbox full", .status = "" };
	struct rule_result res;
	char *error = NULL;

	tap_is_int(rules_load_text(rs, site, strlen(site), "site.rules", &error), 0, "site");
	(void)rules_load_dir(rs, "/nonexistent/rebound-test", &error);
	tap_ok(error != NULL && strstr(error, "/nonexistent/rebound-test") != NULL,
	       "a missing directory is an error");
	free(error);
	error = NULL;
	tap_is_int(rules_load_text(rs, builtin, strlen(builtin), "builtin.rules", &error), 0,
		   "a later directory may repeat an id");
	tap_is_int((long long)rules_count(rs), 2, "the repeated id is dropped");
	tap_ok(rules_match(rs, &in, &res) && res.reason == REASON_BLOCKED,
	       "the site rule decides");
	rules_free(&rs);
}

/* Site rules that use what only the built-in text below defines. */
static const char site_directives[] =
	"@set weak none,undefined\n"
	"site.full        mailboxfull   statusreason=@weak like=full.words\n"
	"site.provider    blocked       provider=bigmail /throttled/\n"
	"@provider bigmail mx.example.org\n";

static const char builtin_directives[] =
	"@set weak onhold\n"
	"@provider bigmail bigmail.example\n"
	"@phrases full.words i\n"
	"    mailbox (is )?full       # several MTAs\n"
	"    # a comment line inside the list\n"
	"    over ?quota              # Exim, Dovecot\n"
	"    quota \\# exceeded        # a literal hash\n"
	"user.status      userunknown   statusreason=!@weak,mailboxfull status=5.*\n"
	"full.other       mailboxfull   like=full.words\n";

/* check_directives - @set, @phrases and @provider, and sites that use them */
static void
check_directives(void)
{
	static const struct {
		const char *diagnostic, *status, *provider, *reason, *id;
	} cases[] = {
		{ "mailbox is full", "", NULL, "mailboxfull", "site.full" },
		{ "user over quota", "5.0.0", NULL, "mailboxfull", "site.full" },
		{ "quota # exceeded", "", NULL, "mailboxfull", "site.full" },
		/* The site's @set replaced the built-in one: onhold is not weak. */
		{ "mailbox full", "", NULL, "mailboxfull", "site.full" },
		/* A negated list with a set: 5.2.1 (filtered) is not in it. */
		{ "mailbox full", "5.2.1", NULL, "userunknown", "user.status" },
		{ "no such user", "5.1.1", NULL, "userunknown", "user.status" },
		{ "mailbox full", "5.2.2", NULL, "mailboxfull", "full.other" },
		{ "throttled", "", "bigmail", "blocked", "site.provider" },
	};
	struct rules *rs = rules_create();
	char *error = NULL;

	tap_is_int(rules_load_text(rs, site_directives, strlen(site_directives), "site.rules",
				   &error), 0, "site text loads (%s)", error ? error : "ok");
	tap_is_int(rules_load_text(rs, builtin_directives, strlen(builtin_directives),
				   "builtin.rules", &error), 0, "built-in text loads (%s)",
		   error ? error : "ok");
	tap_is_int(rules_finish(rs, &error), 0, "references resolve (%s)", error ? error : "ok");
	tap_is_int(rules_check(rs, &error), 0, "every phrase compiles (%s)", error ? error : "ok");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool generic;
		struct rule_input in = { .diagnostic = cases[i].diagnostic, .status = cases[i].status,
					 .provider = cases[i].provider };
		struct rule_result res;
		enum reason sr = status_reason(in.status, &generic);
		bool hit;

		in.status_reason = in.status[0] ? reason_name(sr) : NULL;
		hit = rules_match(rs, &in, &res);
		tap_is_str(hit ? res.id : "", cases[i].id, "directive case %zu decided by", i);
		tap_is_str(hit ? reason_name(res.reason) : "", cases[i].reason,
			   "directive case %zu reason", i);
	}
	tap_is_str(rules_provider_of(rs, "MX.Example.Org."), "bigmail",
		   "a site @provider suffix counts, in any case");
	tap_is_str(rules_provider_of(rs, "in.bigmail.example"), "bigmail",
		   "and so does the built-in one");
	tap_ok(rules_provider_of(rs, "notbigmail.example") == NULL,
	       "a suffix matches whole labels only");
	free(error);
	rules_free(&rs);
}

struct explain_log {
	char text[4096];
	size_t len;
	int steps;
	const char *decided;
	int phrase_line;
};

/* explain_note - an explain callback that writes one line per step */
static void
explain_note(void *ctx, const struct rule_step *step)
{
	static const char *const names[] = { "condition", "absent", "nomatch", "decided" };
	struct explain_log *log = ctx;
	int n = snprintf(log->text + log->len, sizeof(log->text) - log->len, "%s %s %s\n",
			 step->id, names[step->outcome], step->detail);

	if (n > 0 && (size_t)n < sizeof(log->text) - log->len)
		log->len += (size_t)n;
	log->steps++;
	if (step->outcome == RULE_DECIDED) {
		log->decided = step->id;
		log->phrase_line = step->phrase_file != NULL ? step->phrase_line : 0;
	}
}

/* check_explain - every rule tried is told, with why it did not decide */
static void
check_explain(void)
{
	static const char text[] =
		"@phrases full.words i\n"
		"    mailbox (is )?full       # several MTAs\n"
		"    over ?quota              # Exim, Dovecot\n"
		"by.cmd       rejected      cmd=MAIL\n"
		"by.status    mailboxfull   status=4.2.2\n"
		"by.absent    blocked       /blocklisted/i\n"
		"by.nomatch   blocked       /user.{0,3}quota/i\n"
		"by.phrase    mailboxfull   like=full.words\n"
		"never        userunknown   /quota/i\n";
	struct rules *rs = rules_create();
	struct rule_input in = { .diagnostic = "552 user is over quota", .status = "5.2.2",
				 .command = CMD_RCPT };
	struct rule_result res;
	struct explain_log log = { .len = 0 };
	char *error = NULL;

	tap_is_int(rules_load_text(rs, text, strlen(text), "e.rules", &error), 0, "explain rules");
	tap_ok(rules_explain(rs, &in, &res, explain_note, &log), "a rule decides");
	tap_is_int(log.steps, 5, "five rules told, the pattern and the rule after not");
	tap_is_str(log.decided, "by.phrase", "the deciding step is the last");
	tap_is_int(log.phrase_line, 3, "and names the phrase on line 3");
	tap_ok(strstr(log.text, "by.cmd condition cmd=MAIL\n") != NULL, "a failed command is told");
	tap_ok(strstr(log.text, "by.status condition status=4.2.2\n") != NULL,
	       "a failed status is told");
	tap_ok(strstr(log.text, "by.absent absent") != NULL, "a missing literal is told");
	tap_ok(strstr(log.text, "by.nomatch nomatch") != NULL, "a regex that ran is told");
	tap_ok(strstr(log.text, "by.phrase decided over quota\n") != NULL,
	       "the matched text is told (%s)", log.text);
	free(error);
	rules_free(&rs);
}

/* check_builtin_text - every reason written in the shipped files is a taxonomy name */
static void
check_builtin_text(void)
{
	DIR *d = opendir(RULES_DIR);
	struct dirent *de;
	int files = 0, bad = 0, rules = 0;

	if (!tap_ok(d != NULL, "open %s", RULES_DIR))
		return;
	while ((de = readdir(d)) != NULL) {
		char path[1024], line[8192], id[128], reason[128];
		FILE *fp;

		if (strstr(de->d_name, ".rules") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", RULES_DIR, de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		files++;
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (line[0] == '#' || line[0] == ' ' || line[0] == '\t' || line[0] == '\n' ||
			    line[0] == '@')
				continue;
			if (sscanf(line, "%127s %127s", id, reason) != 2)
				continue;
			rules++;
			if (strcmp(reason, "-") != 0 && reason_from_name(reason) < 0) {
				tap_diag("%s: rule %s has reason \"%s\"", path, id, reason);
				bad++;
			}
		}
		fclose(fp);
	}
	closedir(d);
	tap_ok(files > 0 && rules > 50, "read %d rules in %d files", rules, files);
	tap_is_int(bad, 0, "every reason in the rule files is a taxonomy name");
}

/* check_builtin - the shipped rules load, compile, and emit valid reasons */
static void
check_builtin(void)
{
	struct rules *rs = rules_create();
	char *error = NULL;
	const char *id;
	enum reason reason;
	bool pattern_only;
	size_t invalid = 0;

	tap_is_int(rules_load_dir(rs, RULES_DIR, &error), 0, "built-in rules load (%s)",
		   error ? error : "ok");
	tap_is_int(rules_check(rs, &error), 0, "built-in rules compile (%s)", error ? error : "ok");
	for (size_t i = 0; rules_get(rs, i, &id, &reason, &pattern_only); i++)
		if (!pattern_only && (reason_from_name(reason_name(reason)) != (int)reason ||
				      reason == REASON_UNDEFINED))
			invalid++;
	tap_is_int((long long)invalid, 0, "every built-in rule emits a taxonomy reason");
	free(error);
	rules_free(&rs);
	check_builtin_text();
}

/* digest_of - the digest of texts loaded as files named names, one directory each */
static void
digest_of(const char *const *names, const char *const *texts, size_t n, char out[65])
{
	struct rules *rs = rules_create();
	char *error = NULL;

	for (size_t i = 0; i < n; i++)
		(void)rules_load_text(rs, texts[i], strlen(texts[i]), names[i], &error);
	free(error);
	snprintf(out, 65, "%s", rules_digest(rs));
	rules_free(&rs);
}

/* check_digest_midway - a digest asked for between two loads does not change the last */
static void
check_digest_midway(const char *const *names, const char *const *texts, const char *whole)
{
	struct rules *rs = rules_create();
	char *error = NULL, first[65];

	(void)rules_load_text(rs, texts[0], strlen(texts[0]), names[0], &error);
	snprintf(first, sizeof(first), "%s", rules_digest(rs));
	(void)rules_load_text(rs, texts[1], strlen(texts[1]), names[1], &error);
	tap_ok(strcmp(first, rules_digest(rs)) != 0, "a file loaded after a digest: another digest");
	tap_is_str(rules_digest(rs), whole, "and the same as when nothing was asked between");
	free(error);
	rules_free(&rs);
}

/* check_no_digest - a set loaded without a digest has none, and matches the same */
static void
check_no_digest(void)
{
	static const char text[] = "full mailboxfull /mailbox (is )?full/i\n";
	struct rule_input in = { .diagnostic = "552 Mailbox is full", .status = "" };
	struct rule_result out;
	struct rules *rs = rules_create();
	char *error = NULL;

	rules_no_digest(rs);
	tap_is_int(rules_load_text(rs, text, strlen(text), "t.rules", &error), 0,
		   "a set without a digest loads");
	tap_ok(rules_finish(rs, &error) == 0 && rules_match(rs, &in, &out) &&
		       out.reason == REASON_MAILBOXFULL,
	       "and matches");
	tap_ok(rules_digest(rs) == NULL, "and has no digest");
	free(error);
	rules_free(&rs);
}

/* check_digest - the same rules, the same digest; any change of text, name or order, another */
static void
check_digest(void)
{
	const char *names[] = { "/etc/site/a.rules", "/usr/share/b.rules" };
	const char *other_dirs[] = { "/srv/a.rules", "/opt/b.rules" };
	const char *renamed[] = { "/etc/site/c.rules", "/usr/share/b.rules" };
	const char *texts[] = { "x.one userunknown /no such user/\n",
				"y.two mailboxfull /mailbox full/\n" };
	const char *edited[] = { "x.one userunknown /no such user/i\n",
				 "y.two mailboxfull /mailbox full/\n" };
	const char *swapped[] = { texts[1], texts[0] };
	char d1[65], d2[65];

	digest_of(names, texts, 2, d1);
	tap_is_int((long long)strlen(d1), 64, "the digest is a SHA-256 in hex");
	digest_of(other_dirs, texts, 2, d2);
	tap_is_str(d1, d2, "the same files installed elsewhere: the same digest");
	digest_of(names, edited, 2, d2);
	tap_ok(strcmp(d1, d2) != 0, "a rule edited: another digest");
	digest_of(renamed, texts, 2, d2);
	tap_ok(strcmp(d1, d2) != 0, "a file renamed: another digest");
	digest_of(names, swapped, 2, d2);
	tap_ok(strcmp(d1, d2) != 0, "the texts in another order: another digest");
	digest_of(names, texts, 1, d2);
	tap_ok(strcmp(d1, d2) != 0, "a file fewer: another digest");
	/*
	 * The value itself, worked out apart (Python's hashlib) from what the
	 * digest reads: for each file "7 33\n", its base name, its text, and
	 * "end of directory\n".  The digest reads the texts only when asked,
	 * so this pins the order and bytes it reads them in.
	 */
	tap_is_str(d1, "90c7137e2387a5816515380a3f1344e057f610a382241388152d92b578469310",
		   "the digest of two files has its documented value");
	check_digest_midway(names, texts, d1);
	check_no_digest();
}

int
main(void)
{
	check_bad();
	check_nul();
	check_digest();
	check_regex_error();
	check_match();
	check_override();
	check_directives();
	check_explain();
	check_builtin();
	return tap_done();
}
