/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_LMTP_H
#define REBOUND_LMTP_H

#include <stddef.h>

#include "classify/classifier.h"
#include "mail/cfg.h"

/*
 * lmtp - rebound-pipe as an LMTP server (RFC 2033) for Postfix's lmtp(8)
 * client, one connection per process: spawn(8) starts it with the
 * connection on stdin and stdout.  Every bounce of the connection is
 * delivered as pipe(8) mode delivers one (deliver_bounce()), over one
 * database connection and with one classifier, so that the cost of a
 * process, of loading libpq and of a new PostgreSQL backend is paid once
 * per connection, which Postfix keeps and reuses, not once per bounce.
 *
 * Each recipient gets its own reply after the data: "250 2.0.0" once its
 * events are durably committed, "451 4.x.x" on any transient failure, so
 * that Postfix keeps that recipient queued.  Nothing is refused for good:
 * a bounce that bounces is lost.
 *
 * How the report reached us is told by Postfix's XFORWARD (ADDR: the SMTP
 * client; none for a report that Postfix wrote itself), believed only from
 * a Unix-domain peer running as root or as lmtp_postfix_user.
 */

/*
 * lmtp_serve - serve the connection on in_fd and out_fd until QUIT, end
 * of file, an idle timeout or too many errors; a sysexits status.
 */
int lmtp_serve(const struct cfg *cfg, struct classifier *clf, int in_fd, int out_fd);

/*
 * lmtp_received_id - the queue id in the first Received: header of
 * data when that header is one Postfix wrote ("by HOST (Postfix...) ...
 * id QUEUEID"), copied into out; 0, or -1 when there is none.  Pure.
 */
int lmtp_received_id(const char *data, size_t len, char *out, size_t size);

/*
 * lmtp_path - the address of an SMTP path ("<...>" and what follows),
 * in Postfix's internal form: a quoted local part unquoted.  NULL when
 * the path is malformed or empty; the caller frees.  Pure.
 */
char *lmtp_path(const char *text, size_t max);

/*
 * lmtp_xtext - decode RFC 3461 xtext ("+2B" for '+') of text into out;
 * -1 when malformed or longer than size - 1.  Pure.
 */
int lmtp_xtext(const char *text, size_t len, char *out, size_t size);

#endif
