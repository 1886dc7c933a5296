/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_STATUS_H
#define REBOUND_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/taxonomy.h"

/*
 * status - RFC 3463 enhanced status codes and RFC 5321 reply codes.
 * Pure functions over text; nothing here allocates.
 */

/* Room for "5.123.123" and the terminator. */
#define STATUS_SIZE 12

/* status_valid - whether s is exactly class.subject.detail, class 2, 4 or 5 */
bool status_valid(const char *s);

/*
 * status_find - copy the first enhanced status code found in text[0..len)
 * into out.  A code must stand alone: not inside a longer run of digits
 * and dots such as an IP address or version.  Returns true if found.
 */
bool status_find(const char *text, size_t len, char out[STATUS_SIZE]);

/*
 * status_pick - the most telling enhanced status code in text[0..len),
 * copied into out: when a text carries several ("554 4.4.7 expired ...
 * <421 4.4.2 timed out>"), a specific code beats an x.0.0 one and the
 * ambiguous 4.4.7.  Returns true if any was found.
 */
bool status_pick(const char *text, size_t len, char out[STATUS_SIZE]);

/*
 * status_prefer - choose between the Status field and a code found in the
 * diagnostic, given the reply code (0 if none): the one whose class the
 * reply code confirms, else the more specific one.  Either may be "".
 * Returns a pointer to one of the two.
 */
const char *status_prefer(const char *field, const char *inmsg, int reply_code);

/*
 * reply_code_find - the SMTP reply code of a diagnostic: a 3-digit code
 * 2xx, 4xx or 5xx that opens the text or follows a separator and is itself
 * followed by a space, '-' or the end.  Returns 0 when there is none.
 */
int reply_code_find(const char *text, size_t len);

/*
 * status_reason - the reason RFC 3463 assigns to a status code.  *generic_r
 * is set when the code says too little to decide (X.0.0, 5.7.1, ...), so
 * that the diagnostic text should decide instead.
 */
enum reason status_reason(const char *status, bool *generic_r);

/* status_from_reply - "5.0.0"/"4.0.0"/"2.0.0" for a reply code; false if none */
bool status_from_reply(int reply_code, char out[STATUS_SIZE]);

#endif
