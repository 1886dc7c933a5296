/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_NDR_H
#define REBOUND_NDR_H

#include "util/buf.h"
#include "report/report.h"

/*
 * ndr - recipients from the free text of a non-delivery report.
 *
 * Many MTAs send no RFC 3464 part, or a broken one: qmail, Exim, old
 * Sendmail, Exchange 2003, Gmail, Yahoo, Lotus Notes and a long tail of
 * filters and providers.  Their reports share a shape: a preamble, then
 * per recipient an address line followed by the reason, then a marker
 * line before the returned message.  ndr_parse() reads that shape in
 * general terms (address positions, marker phrases, transcript lines)
 * rather than per product; X-Failed-Recipients, DSN fields pasted into the
 * text and Amazon SES JSON notifications are read first because they are
 * exact.  When nothing names a recipient, ndr_parse() asks
 * report_detect() whether the message is an auto-reply, a challenge or a
 * Hotmail-style complaint.  Pure: no logging.
 */

/* ndr_parse - fill r's recipients from r->text and r's headers */
void ndr_parse(struct report *r, struct buf *scratch);

/*
 * ndr_enrich - complete the recipients of a machine-readable report from
 * its human-readable text: the SMTP command ("in reply to RCPT TO
 * command"), and the diagnostic, status and reply code when the report
 * part leaves them out.
 */
void ndr_enrich(struct report *r, struct buf *scratch);

#endif
