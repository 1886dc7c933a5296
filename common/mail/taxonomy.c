/* SPDX-License-Identifier: BSD-2-Clause */
/* taxonomy - names of kinds, reasons and categories. */
#include <string.h>

#include "mail/taxonomy.h"

static const char *const kind_names[KIND_COUNT] = {
	[KIND_UNKNOWN] = "unknown",	  [KIND_REJECTED] = "rejected",
	[KIND_EXPIRED] = "expired",	  [KIND_BOUNCED] = "bounced",
	[KIND_DELAYED] = "delayed",	  [KIND_COMPLAINT] = "complaint",
	[KIND_AUTO_REPLY] = "auto_reply", [KIND_DELIVERED] = "delivered",
};

static const struct {
	const char *name;
	const char *category;
} reasons[REASON_COUNT] = {
	[REASON_UNDEFINED] = { "undefined", "other" },
	[REASON_ONHOLD] = { "onhold", "other" },
	[REASON_AUTHFAILURE] = { "authfailure", "policy_blocked" },
	[REASON_BADREPUTATION] = { "badreputation", "policy_blocked" },
	[REASON_BLOCKED] = { "blocked", "policy_blocked" },
	[REASON_CONTENTERROR] = { "contenterror", "content" },
	[REASON_DELIVERED] = { "delivered", "delivered" },
	[REASON_EXCEEDLIMIT] = { "exceedlimit", "content" },
	[REASON_EXPIRED] = { "expired", "expired" },
	[REASON_FAILEDSTARTTLS] = { "failedstarttls", "policy_blocked" },
	[REASON_FEEDBACK] = { "feedback", "feedback_complaint" },
	[REASON_FILTERED] = { "filtered", "policy_blocked" },
	[REASON_HASMOVED] = { "hasmoved", "user_unknown" },
	[REASON_HOSTUNKNOWN] = { "hostunknown", "domain_unknown" },
	[REASON_MAILBOXFULL] = { "mailboxfull", "mailbox_full" },
	[REASON_MAILERERROR] = { "mailererror", "host_network" },
	[REASON_MESGTOOBIG] = { "mesgtoobig", "content" },
	[REASON_NETWORKERROR] = { "networkerror", "host_network" },
	[REASON_NORELAYING] = { "norelaying", "relay_denied" },
	[REASON_NOTACCEPT] = { "notaccept", "domain_unknown" },
	[REASON_NOTCOMPLIANTRFC] = { "notcompliantrfc", "content" },
	[REASON_POLICYVIOLATION] = { "policyviolation", "policy_blocked" },
	[REASON_REJECTED] = { "rejected", "policy_blocked" },
	[REASON_REQUIREPTR] = { "requireptr", "policy_blocked" },
	[REASON_SECURITYERROR] = { "securityerror", "policy_blocked" },
	[REASON_SPAMDETECTED] = { "spamdetected", "spam" },
	[REASON_SPEEDING] = { "speeding", "host_network" },
	[REASON_SUPPRESSED] = { "suppressed", "policy_blocked" },
	[REASON_SUSPEND] = { "suspend", "suspended_inactive" },
	[REASON_SYNTAXERROR] = { "syntaxerror", "other" },
	[REASON_SYSTEMERROR] = { "systemerror", "host_network" },
	[REASON_SYSTEMFULL] = { "systemfull", "host_network" },
	[REASON_TOOMANYCONN] = { "toomanyconn", "host_network" },
	[REASON_USERUNKNOWN] = { "userunknown", "user_unknown" },
	[REASON_VACATION] = { "vacation", "auto_reply" },
	[REASON_VIRUSDETECTED] = { "virusdetected", "content" },
};

const char *
kind_name(enum report_kind kind)
{
	return kind < KIND_COUNT ? kind_names[kind] : "unknown";
}

const char *
reason_name(enum reason reason)
{
	return reason < REASON_COUNT ? reasons[reason].name : "undefined";
}

int
reason_from_name(const char *name)
{
	/* The first letter first: rule files name a reason thousands of times. */
	for (int i = 0; i < REASON_COUNT; i++)
		if (reasons[i].name[0] == name[0] && strcmp(reasons[i].name, name) == 0)
			return i;
	return -1;
}

const char *
reason_category(enum reason reason)
{
	return reason < REASON_COUNT ? reasons[reason].category : "other";
}

bool
reason_is_hard(enum reason reason, const char *status)
{
	/* A temporary status never condemns an address, whatever the text. */
	if (status != NULL && status[0] != '\0' && status[0] != '5')
		return false;
	switch (reason) {
	case REASON_USERUNKNOWN:
	case REASON_HOSTUNKNOWN:
	case REASON_HASMOVED:
		return true;
	case REASON_NOTACCEPT:
		return status != NULL && status[0] == '5';
	default:
		return false;
	}
}

bool
kind_is_failure(enum report_kind kind)
{
	return kind == KIND_REJECTED || kind == KIND_EXPIRED || kind == KIND_BOUNCED;
}
