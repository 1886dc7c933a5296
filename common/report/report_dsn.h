/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_REPORT_DSN_H
#define REBOUND_REPORT_DSN_H

#include <stddef.h>

#include "report/report.h"

/*
 * report_dsn - a report's recipients from RFC 3464 delivery-status and
 * RFC 5965 feedback-report bodies, and what the returned headers name.
 */

/*
 * report_add_dsn - add the recipients of one message/delivery-status body
 * and take its per-message fields.  Returns the number of recipients added.
 */
size_t report_add_dsn(struct report *r, const char *text, size_t len);

/* report_add_arf - add the complaint of one message/feedback-report body */
size_t report_add_arf(struct report *r, const char *text, size_t len);

/* report_add_returned_headers - note what the returned headers identify */
void report_add_returned_headers(struct report *r, const char *text, size_t len);

#endif
