/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_RULES_H
#define REBOUND_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/smtp_cmd.h"
#include "report/report.h"
#include "mail/taxonomy.h"

/*
 * rules - diagnostic patterns mapped to reasons, loaded from rule files.
 *
 * A rule file holds one rule per line (a line that starts with white
 * space continues the previous one; '#' starts a comment line):
 *
 *	ID  REASON  [NAME=VALUE ...]  [/REGEX/FLAGS]
 *
 * ID is a stable name ([A-Za-z0-9][A-Za-z0-9._-]*, at most 64 bytes),
 * REASON a taxonomy reason name, or "-" for a named regex that is not a
 * rule itself and only serves like=.  The conditions are status=, code=,
 * statusreason= (the reason RFC 3463 gives the status code), cmd=,
 * provider= (of the receiving side), reporter= (of the side that wrote
 * the report), type=, action= (comma lists; "none" matches an absent
 * value; a leading '!' negates the whole list; status and code take
 * '*' and '?' wildcards), field= (diagnostic, text or subject: what the
 * regex reads), like=ID (use the regex of an earlier rule) and
 * hard=yes|no (overrides the reason's hardness).  FLAGS
 * are PCRE2 options: i (caseless), m, s, x, u (UTF-8).  A rule needs a
 * regex or at least one condition.  rebound-rules(5) is the full
 * reference.
 *
 * Lines that start with '@' are directives: "@set NAME VALUES" names a
 * list of condition values that conditions use as "@NAME"; "@provider
 * NAME SUFFIX..." adds domain suffixes to the provider table; "@phrases
 * ID [FLAGS]" starts a named pattern made of the continuation lines after
 * it, one phrase (a regex piece) per line with "# its source" after it,
 * which rules use through like=.  like=, @NAME and provider names are
 * resolved by rules_finish() once every directory is loaded, so that a
 * site rule may use what the built-in files define.
 *
 * Rules are consulted in load order and the first that matches decides.
 * Directories are loaded in the order given (site rules first, then the
 * built-in ones), the *.rules files of a directory in name order.  A rule
 * whose id was already loaded from an earlier directory is dropped, so a
 * site can replace a built-in rule; a duplicate id within one directory
 * is an error.
 *
 * Loading parses and validates everything but the regex syntax, and is
 * cheap.  A regex is compiled only when a message first reaches its rule
 * and contains the literal text the regex requires (see litset.h); it is
 * JIT-compiled only after it has been run RULES_JIT_AFTER times or over
 * RULES_JIT_BYTES of text in all (rules_impl.h).  A @phrases list is
 * compiled and run a phrase at a time, only the phrases whose literals the
 * diagnostic holds, unless its phrases do not stand alone.  Every
 * match runs with LIMIT_REGEX_MATCH, LIMIT_REGEX_DEPTH and
 * LIMIT_REGEX_HEAP.  rules_check() compiles everything, for -n and tests.
 *
 * A struct rules is not thread-safe (compilation is lazy): use one per
 * thread.  Pure: no logging; errors come back as allocated strings that
 * name the file and line.
 */
struct rules;

/* What one recipient offers the rules. */
struct rule_input {
	const char *diagnostic;		/* may be NULL */
	const char *text;		/* the report's human-readable text, may be NULL */
	size_t text_len;
	const char *subject;		/* may be NULL */
	const char *status;		/* "5.1.1" or "" */
	const char *status_reason;	/* RFC 3463 reason of status, NULL if none */
	int reply_code;			/* 0 if none */
	enum smtp_cmd command;
	const char *provider;		/* provider of the receiving side, or NULL */
	const char *reporter;		/* provider that wrote the report, or NULL */
	const char *diag_type;		/* "smtp", "x-unix"..., or NULL */
	const char *action;		/* "failed"..., or NULL */
};

/* What the deciding rule says. */
struct rule_result {
	const char *id;			/* owned by the rule set */
	enum reason reason;
	int hard;			/* -1: the reason decides; 0 or 1 */
};

/* rules_create - an empty rule set */
struct rules *rules_create(void);

/*
 * rules_no_digest - take no digest of the rule texts loaded from now on,
 * for a caller that never asks for one (rebound-pipe --classify): each
 * text is dropped once parsed, and rules_digest() returns NULL.  By
 * default each text is summed as it is loaded.
 */
void rules_no_digest(struct rules *rs);

/* rules_free - release *rp and set it to NULL; accepts NULL */
void rules_free(struct rules **rp);

/* rules_load_dir - append the *.rules files of dir; -1 and *error_r on error */
int rules_load_dir(struct rules *rs, const char *dir, char **error_r);

/*
 * rules_load_text - append rules from text, named name in errors; the
 * text counts as a directory of its own
 */
int rules_load_text(struct rules *rs, const char *text, size_t len, const char *name,
		    char **error_r);

/*
 * rules_finish - resolve like=, @set names and provider names once every
 * directory is loaded; -1 and a "file:line: ..." error.  Loading more
 * afterwards needs another call.  rules_match() finishes an unfinished
 * set itself, keeping any error for rules_error().
 */
int rules_finish(struct rules *rs, char **error_r);

/* rules_check - finish, and compile every regex; -1 and a "file:line: ..." error */
int rules_check(struct rules *rs, char **error_r);

/* rules_match - the first rule that matches in; false if none */
bool rules_match(struct rules *rs, const struct rule_input *in, struct rule_result *out);

/* How one rule fared with one recipient, as rules_explain() tells it. */
enum rule_outcome {
	RULE_CONDITION,		/* a condition does not hold; detail names it */
	RULE_ABSENT,		/* the text holds none of the words the regex needs */
	RULE_NO_MATCH,		/* the regex was run and did not match */
	RULE_DECIDED,		/* it matched; detail is the text it matched */
};

struct rule_step {
	const char *id;
	const char *file;		/* "" for a built-in fallback (classify.h) */
	int line;
	enum reason reason;
	enum rule_outcome outcome;
	const char *detail;		/* valid during the call only */
	const char *phrase_file;	/* the phrase that matched, or NULL */
	int phrase_line;
};

typedef void rules_explain_fn(void *ctx, const struct rule_step *step);

/*
 * rules_explain - rules_match() that tells fn every rule it tries, in
 * order, and how each fared; named patterns are not rules and are not
 * told.  For a rule whose regex is a phrase list, the step that decides
 * names the phrase that matched (compiling phrases one by one: slow, for
 * --explain only).
 */
bool rules_explain(struct rules *rs, const struct rule_input *in, struct rule_result *out,
		   rules_explain_fn *fn, void *ctx);

/* rules_provider_of - the provider a host or domain belongs to, or NULL */
const char *rules_provider_of(const struct rules *rs, const char *host);

/*
 * rules_digest - hex SHA-256 (64 characters) of every rule text loaded, in
 * load order, each with its file name (not its directory) and each
 * directory's end marked: two sets with the same digest decide alike.
 * Valid until more rules are loaded or rs is freed; NULL after
 * rules_no_digest().
 */
const char *rules_digest(struct rules *rs);

/* rules_count - rules loaded and active */
size_t rules_count(const struct rules *rs);

/*
 * rules_get - id and reason of rule i, and whether it is only a named
 * pattern (reason "-"); false past the end
 */
bool rules_get(const struct rules *rs, size_t i, const char **id_r, enum reason *reason_r,
	       bool *pattern_only_r);

/* rules_compiled - how many regexes have been compiled so far */
size_t rules_compiled(const struct rules *rs);

/*
 * rules_error - the first error met while matching (a regex that did not
 * compile, a match that hit a limit), or NULL.  The rule is then skipped.
 */
const char *rules_error(const struct rules *rs);

#endif
