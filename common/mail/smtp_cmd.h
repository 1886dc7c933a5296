/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_SMTP_CMD_H
#define REBOUND_SMTP_CMD_H

#include <stddef.h>

/*
 * smtp_cmd - the SMTP command a failing reply answered: its name, and
 * where a diagnostic text says it.  Pure, no allocation.
 */

/* SMTP command a failure was a reply to, when the report says so. */
enum smtp_cmd {
	CMD_NONE,
	CMD_CONN,		/* greeting or connection */
	CMD_HELO,		/* HELO or EHLO */
	CMD_STARTTLS,
	CMD_AUTH,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,		/* DATA or end of data */
	CMD_QUIT,
	CMD_COUNT
};

/* smtp_cmd_name - "RCPT", "MAIL"...; "" for CMD_NONE */
const char *smtp_cmd_name(enum smtp_cmd cmd);

/* smtp_cmd_from_name - parse a command name (any case); CMD_COUNT if unknown */
enum smtp_cmd smtp_cmd_from_name(const char *name, size_t len);

/* smtp_cmd_find - the SMTP command a diagnostic text says it answered */
enum smtp_cmd smtp_cmd_find(const char *text, size_t len);

#endif
