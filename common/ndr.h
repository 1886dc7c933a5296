/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_NDR_H
#define REBOUND_NDR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "report.h"

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

/* ndr_html_to_text - append the visible text of HTML to out */
void ndr_html_to_text(const char *html, size_t len, struct buf *out);

/*
 * ndr_cut - length of the report part of text: everything before the
 * first line that introduces the returned message.  With fields, a line
 * that starts with a header field only a message has (Received:,
 * Return-Path:...) ends it too, for reports that paste the returned
 * message without a marker.
 */
size_t ndr_cut(const char *text, size_t len, bool fields);

/* ndr_is_bounce - whether the headers or the opening text say "bounce" */
bool ndr_is_bounce(const struct report *r, const char *text, size_t len);

/* ndr_is_delay - whether the text is a delay warning, not a failure */
bool ndr_is_delay(const struct report *r, const char *text, size_t len);

/*
 * ndr_dequote - when most lines of text start with '>' (a forwarded
 * bounce), a copy with one level of quoting removed, else NULL.
 */
char *ndr_dequote(const char *text, size_t len, size_t *len_r);

/*
 * ndr_addr_span - find the next plausible address in s[*pos..n): sets
 * *start and *alen and moves *pos past it.  Returns false when none.
 */
bool ndr_addr_span(const char *s, size_t n, size_t *pos, size_t *start, size_t *alen);

/* ndr_addr_copy - a lower-case copy of an address span */
char *ndr_addr_copy(const char *s, size_t n);

/* report_json_parse - read an Amazon SES notification; recipients added */
size_t report_json_parse(struct report *r, const char *text, size_t len);

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
