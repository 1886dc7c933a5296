/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_TAXONOMY_H
#define REBOUND_TAXONOMY_H

#include <stdbool.h>

/*
 * taxonomy - the fixed vocabulary of outcomes.
 *
 * A report kind says what a report is (a failure, a delay notice, a
 * complaint...); a reason says why, with Sisimai's names so that results
 * compare with the reference tool; a category is the coarse class users
 * group by.  Every name printed or stored comes from the tables here.
 */
enum report_kind {
	KIND_UNKNOWN,
	KIND_REJECTED,		/* refused in the SMTP dialogue (sync) */
	KIND_EXPIRED,		/* queue lifetime ran out */
	KIND_BOUNCED,		/* the remote accepted, then sent an NDR */
	KIND_DELAYED,		/* a delay warning: not a failure */
	KIND_COMPLAINT,		/* an ARF feedback report */
	KIND_AUTO_REPLY,	/* vacation, auto-responder, challenge */
	KIND_DELIVERED,		/* a success DSN */
	KIND_COUNT
};

enum reason {
	REASON_UNDEFINED,
	REASON_ONHOLD,
	REASON_AUTHFAILURE,
	REASON_BADREPUTATION,
	REASON_BLOCKED,
	REASON_CONTENTERROR,
	REASON_DELIVERED,
	REASON_EXCEEDLIMIT,
	REASON_EXPIRED,
	REASON_FAILEDSTARTTLS,
	REASON_FEEDBACK,
	REASON_FILTERED,
	REASON_HASMOVED,
	REASON_HOSTUNKNOWN,
	REASON_MAILBOXFULL,
	REASON_MAILERERROR,
	REASON_MESGTOOBIG,
	REASON_NETWORKERROR,
	REASON_NORELAYING,
	REASON_NOTACCEPT,
	REASON_NOTCOMPLIANTRFC,
	REASON_POLICYVIOLATION,
	REASON_REJECTED,
	REASON_REQUIREPTR,
	REASON_SECURITYERROR,
	REASON_SPAMDETECTED,
	REASON_SPEEDING,
	REASON_SUPPRESSED,
	REASON_SUSPEND,
	REASON_SYNTAXERROR,
	REASON_SYSTEMERROR,
	REASON_SYSTEMFULL,
	REASON_TOOMANYCONN,
	REASON_USERUNKNOWN,
	REASON_VACATION,
	REASON_VIRUSDETECTED,
	REASON_COUNT
};

const char *kind_name(enum report_kind kind);
const char *reason_name(enum reason reason);

/* reason_from_name - parse a reason name; -1 if unknown */
int reason_from_name(const char *name);

/* reason_category - the coarse category of a reason ("user_unknown"...) */
const char *reason_category(enum reason reason);

/* reason_is_hard - whether a failure means the address is bad for good */
bool reason_is_hard(enum reason reason, const char *status);

/* kind_is_failure - whether the kind counts as a delivery failure */
bool kind_is_failure(enum report_kind kind);

#endif
