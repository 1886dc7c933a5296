/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_NDR_BLOCK_H
#define REBOUND_NDR_BLOCK_H

#include <stddef.h>

#include "util/buf.h"
#include "mail/smtp_cmd.h"
#include "report/ndr_lines.h"
#include "report/report.h"

/*
 * ndr_block - the reason text of each lead of a free-text report, and
 * what it says: the diagnostic, status, reply code and SMTP command.
 */

/* ndr_put - append s[0..n) and a space to b, white space collapsed */
void ndr_put(struct buf *b, const char *s, size_t n);

/* ndr_blocks - the reason texts of lead k and the later leads of its address */
void ndr_blocks(struct ndr *x, size_t k, struct buf *b);

/* ndr_command - the SMTP command named around the leads of lead k's address */
enum smtp_cmd ndr_command(struct ndr *x, size_t k, const char *diag, size_t n);

/* ndr_set_diag - set the diagnostic-derived fields of rc from d[0..n) */
void ndr_set_diag(struct report_rcpt *rc, const char *d, size_t n);

/* ndr_trimmed - length of b without trailing spaces */
size_t ndr_trimmed(const struct buf *b);

/* ndr_error_text - the report's reply lines and "Error:" lines, into b */
void ndr_error_text(struct ndr *x, struct buf *b);

/* ndr_error_lines - give the only recipient the report's reply lines */
void ndr_error_lines(struct ndr *x, struct report_rcpt *rc);

#endif
