/* SPDX-License-Identifier: BSD-2-Clause */
/* cli_args - table-driven option parsing for the rebound tool. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "util/msg.h"
#include "util/xalloc.h"

enum cli_opt_type {
	OPT_FLAG,
	OPT_STRING,
	OPT_UINT,
};

struct cli_opt {
	unsigned bit;
	const char *name;	/* long name */
	char short_name;	/* or 0 */
	enum cli_opt_type type;
	size_t offset;		/* field in struct cli_args */
	const char *usage;
};

#define O(bit, name, short_name, type, field, usage) \
	{ bit, name, short_name, type, offsetof(struct cli_args, field), usage }

static const struct cli_opt cli_opts[] = {
	O(CLI_OPT_CONFIG, "config", 'c', OPT_STRING, config, "-c FILE"),
	O(CLI_OPT_DATABASE, "database", 'd', OPT_STRING, database, "-d CONNINFO"),
	O(CLI_OPT_JSON, "json", 0, OPT_FLAG, json, "--json"),
	O(CLI_OPT_HELP, "help", 'h', OPT_FLAG, help, "-h"),
	O(CLI_OPT_DAYS, "days", 0, OPT_UINT, days, "--days N"),
	O(CLI_OPT_LIMIT, "limit", 'n', OPT_UINT, limit, "-n N"),
	O(CLI_OPT_REASON, "reason", 0, OPT_STRING, reason, "--reason WORD"),
	O(CLI_OPT_NOTE, "note", 0, OPT_STRING, note, "--note TEXT"),
	O(CLI_OPT_ACTOR, "actor", 0, OPT_STRING, actor, "--actor NAME"),
	O(CLI_OPT_CSV, "csv", 0, OPT_FLAG, csv, "--csv"),
	O(CLI_OPT_FOLLOW, "follow", 'f', OPT_FLAG, follow, "-f"),
	O(CLI_OPT_COUNT, "count", 0, OPT_UINT, count, "--count N"),
	O(CLI_OPT_DIR, "dir", 0, OPT_STRING, dir, "--dir DIR"),
	O(CLI_OPT_EXPLAIN, "explain", 0, OPT_FLAG, explain, "--explain"),
	O(CLI_OPT_SINCE, "since", 0, OPT_STRING, since, "--since DATE"),
	O(CLI_OPT_UNTIL, "until", 0, OPT_STRING, until, "--until DATE"),
	O(CLI_OPT_RULES, "rules", 0, OPT_STRING, rules, "--rules DIR"),
	O(CLI_OPT_DRY_RUN, "dry-run", 0, OPT_FLAG, dry_run, "--dry-run"),
	O(CLI_OPT_APPLY, "apply", 0, OPT_FLAG, apply, "--apply"),
	O(CLI_OPT_UNDO, "undo", 0, OPT_UINT, undo, "--undo RUN"),
	O(CLI_OPT_STATUS, "status", 0, OPT_STRING, status, "--status X.Y.Z"),
	O(CLI_OPT_CODE, "code", 0, OPT_UINT, code, "--code NNN"),
	O(CLI_OPT_REAL, "real", 0, OPT_FLAG, real, "--real"),
	O(CLI_OPT_SENDER_SIDE, "sender-side", 0, OPT_FLAG, sender_side, "--sender-side"),
};

#undef O

#define CLI_NOPTS (sizeof(cli_opts) / sizeof(cli_opts[0]))

const char *
cli_args_usage(unsigned bit)
{
	for (size_t i = 0; i < CLI_NOPTS; i++)
		if (cli_opts[i].bit == bit)
			return cli_opts[i].usage;
	return "";
}

/* cli_find_long - the option called name (name_len bytes), or NULL */
static const struct cli_opt *
cli_find_long(const char *name, size_t name_len)
{
	for (size_t i = 0; i < CLI_NOPTS; i++)
		if (strlen(cli_opts[i].name) == name_len &&
		    strncmp(cli_opts[i].name, name, name_len) == 0)
			return &cli_opts[i];
	return NULL;
}

static const struct cli_opt *
cli_find_short(char c)
{
	for (size_t i = 0; i < CLI_NOPTS; i++)
		if (cli_opts[i].short_name != 0 && cli_opts[i].short_name == c)
			return &cli_opts[i];
	return NULL;
}

/* cli_store - set the option's field from value; an error message or NULL */
static char *
cli_store(struct cli_args *args, const struct cli_opt *o, const char *shown, const char *value)
{
	void *field = (char *)args + o->offset;
	char *end;
	unsigned long n;

	args->seen |= o->bit;
	switch (o->type) {
	case OPT_FLAG:
		*(bool *)field = true;
		return NULL;
	case OPT_STRING:
		*(const char **)field = value;
		return NULL;
	case OPT_UINT:
		errno = 0;
		n = strtoul(value, &end, 10);
		if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 || n > 1000000)
			return xstrdup_printf("%s wants a whole number from 0 to 1000000, not \"%s\"",
					      shown, value);
		*(unsigned *)field = (unsigned)n;
		return NULL;
	}
	return NULL;
}

/* cli_option - parse the option at argv[*i]; advances *i past its value */
static char *
cli_option(int argc, char **argv, int *i, unsigned accept, struct cli_args *args)
{
	const char *arg = argv[*i], *value = NULL;
	const struct cli_opt *o;
	char shown[64];

	if (arg[1] == '-') {
		const char *eq = strchr(arg + 2, '=');
		size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

		o = cli_find_long(arg + 2, len);
		snprintf(shown, sizeof(shown), "--%.*s", (int)(len > 40 ? 40 : len), arg + 2);
		if (eq != NULL) {
			if (o != NULL && o->type == OPT_FLAG)
				return xstrdup_printf("%s takes no value", shown);
			value = eq + 1;
		}
	} else {
		if (arg[2] != '\0')
			return xstrdup_printf("unknown option \"%s\" (one letter per option)", arg);
		o = cli_find_short(arg[1]);
		snprintf(shown, sizeof(shown), "-%c", arg[1]);
	}
	if (o == NULL)
		return xstrdup_printf("unknown option \"%s\"", shown);
	if (!(o->bit & accept))
		return xstrdup_printf("%s does not apply here", shown);
	if (o->type != OPT_FLAG && value == NULL) {
		if (*i + 1 >= argc)
			return xstrdup_printf("%s needs a value", shown);
		value = argv[++*i];
	}
	return cli_store(args, o, shown, value);
}

int
cli_args_parse(int argc, char **argv, unsigned accept, bool stop_at_operand,
	       struct cli_args *args, int *nargs_r, char **error_r)
{
	int nargs = 0, i;

	accept |= CLI_OPT_GLOBAL;
	for (i = 0; i < argc; i++) {
		char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		/* "-" alone is an operand: standard input. */
		if (arg[0] != '-' || arg[1] == '\0') {
			if (stop_at_operand)
				break;
			argv[nargs++] = arg;
			continue;
		}
		if ((*error_r = cli_option(argc, argv, &i, accept, args)) != NULL)
			return -1;
	}
	if (stop_at_operand) {
		/* Leave the operand and the rest in place, at the front. */
		memmove(argv, argv + i, (size_t)(argc - i) * sizeof(*argv));
		*nargs_r = argc - i;
		return 0;
	}
	for (; i < argc; i++)
		argv[nargs++] = argv[i];
	*nargs_r = nargs;
	return 0;
}
