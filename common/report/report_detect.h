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

#endif
