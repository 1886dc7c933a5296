/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_REPORT_DETECT_H
#define REBOUND_REPORT_DETECT_H

#include <stdbool.h>

#include "report/report.h"

/*
 * report_detect - messages at the bounce address that are no failure:
 * auto-replies, challenge-response requests, Hotmail-style complaints.
 */

/*
 * report_detect - classify a message that names no failed recipient:
 * auto-reply, challenge-response or complaint.  Adds the one recipient
 * (the sender of the reply) and sets the format; false when it is none.
 */
bool report_detect(struct report *r);

/*
 * report_challenge - when the report part text[0..len) or the subject
 * holds a phrase only challenge-response systems write, add the sender of
 * the request as report_detect() does and return true; a message with an
 * RFC 3464 report or X-Failed-Recipients is never one.
 */
bool report_challenge(struct report *r, const char *text, size_t len);

#endif
