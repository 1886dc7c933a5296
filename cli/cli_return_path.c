/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_return_path - "rebound return-path check": what rebound-milter and
 * rebound-pipe would make of a bounce address, for an operator asking why
 * a bounce was refused at RCPT or left unlinked.  It reads the key files
 * of rebound.conf and nothing else.
 */
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "util/msg.h"
#include "mail/return_path.h"

/* cli_return_path_day - a token day as YYYY-MM-DD */
static void
cli_return_path_day(unsigned day, char out[16])
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

int
cli_return_path_check(struct cli *cli, int argc, char **argv)
{
	struct token_keys *keys = NULL;
	char *error = NULL;
	int status, invalid = 0;

	if (argc == 0)
		return cli_usage(cli->cmd, "name at least one address");
	if ((status = cli_config(cli)) != 0)
		return status;
	if (cli->cfg->token_key_file[0] != '\0' &&
	    token_keys_load(cli->cfg->token_key_file, cli->cfg->token_previous_key_file, &keys,
			    &error) < 0) {
		msg_error("%s", error);
		free(error);
		return EX_CONFIG;
	}
	for (int i = 0; i < argc; i++) {
		struct return_path rp;
		char hex[17], day[16];

		if (return_path_inspect(argv[i], cli->cfg->verp_delimiters, keys,
					token_day(time(NULL)), cli->cfg->token_lifetime / 86400,
					&rp) < 0) {
			fprintf(cli->out, "%s: not an address\n", argv[i]);
			invalid = 1;
			continue;
		}
		fprintf(cli->out, "%s: token=%s", argv[i], return_path_token_name(rp.verdict));
		if (rp.verdict == RP_TOKEN_VALID || rp.verdict == RP_TOKEN_EXPIRED) {
			token_message_hex(rp.info.message, hex);
			cli_return_path_day(rp.info.last_day, day);
			fprintf(cli->out, " message=%s last_day=%s%s", hex, day,
				(rp.info.flags & TOKEN_SINGLE_RECIPIENT) ? " single_recipient" : "");
		}
		if (rp.recipient != NULL)
			fprintf(cli->out, " recipient=%s", rp.recipient);
		fputc('\n', cli->out);
		if (rp.verdict == RP_TOKEN_FORGED || rp.verdict == RP_TOKEN_EXPIRED ||
		    rp.verdict == RP_TOKEN_MALFORMED)
			invalid = 1;
		return_path_release(&rp);
	}
	token_keys_free(&keys);
	return invalid ? CLI_NOT_FOUND : 0;
}
