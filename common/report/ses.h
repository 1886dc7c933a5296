/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_SES_H
#define REBOUND_SES_H

#include <stddef.h>

#include "report/report.h"

/*
 * ses - Amazon SES notifications sent as e-mail: a JSON document, bare or
 * in an SNS envelope.  Pure: no logging.
 */

/* ses_parse - read an Amazon SES notification; recipients added */
size_t ses_parse(struct report *r, const char *text, size_t len);

#endif
