/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * callbacks - what rebound-milter does in each SMTP stage.
 *
 * MAIL pins the configuration snapshot for the transaction and decides
 * whether it is outbound (the sender's domain is in sender_domains).  RCPT
 * records Postfix's own rejections, guards the bounce domains against
 * forged and expired tokens, and refuses suppressed recipients.  The
 * headers yield X-Rebound-Tag values and the Message-ID.  EOM signs the
 * return path, rewrites the envelope sender and queues the message record.
 *
 * libmilter calls these on many threads at once; everything a transaction
 * owns hangs off its context (smfi_setpriv), and shared state is reached
 * only through snap_get(), suppress_lookup() and writer_commit().
 *
 * A callback that makes a record answers only once the record is durable
 * (writer_commit): Postfix must never hear "accepted" or "refused" for a
 * message or a recipient whose record a crash could still lose.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "util/caps.h"
#include "milter.h"
#include "util/msg.h"
#include "mtags.h"
#include "mail/return_path.h"
#include "mail/status.h"
#include "mail/taxonomy.h"
#include "util/xalloc.h"

#define RCPT_MAX	10000	/* recipients kept per message; Postfix allows 1000 */
#define ESMTP_ARG_MAX	128	/* RET= and ENVID= arguments kept, each */
#define QID_MAX		32

struct mconn {
	struct msnap *snap;		/* pinned at MAIL, released at the end */
	char qid[QID_MAX];		/* Postfix queue id, "" until known */
	bool outbound;			/* sender domain is one of ours */
	bool failed;			/* something internal failed */
	char sender[LIMIT_ADDRESS_LEN + 1];
	char args[ESMTP_ARG_MAX * 2 + 2];	/* RET= and ENVID=, space separated */
	char **rcpts;
	size_t nrcpt, rcpt_seen;
	struct mtags *tags;
	unsigned tag_headers, token_headers, verify_headers;
	unsigned tags_ignored;		/* X-Rebound-Tag headers refused */
	const char *tags_error;		/* why the first of them was (static) */
	char msgid[LIMIT_ADDRESS_LEN + 1];
	bool bounce_valid;		/* a RCPT carried a valid token */
	unsigned long noreply;		/* SMFIP_NR_* agreed for this connection */
};

/*
 * libmilter's prototypes predate const; these wrappers keep the casts in
 * one place.  libmilter does not write through the pointers.
 */
#define UNCONST(s) ((char *)(uintptr_t)(s))

static const char *
symval(SMFICTX *ctx, const char *name)
{
	return smfi_getsymval(ctx, UNCONST(name));
}

static void
setreply(SMFICTX *ctx, const char *code, const char *status, const char *text)
{
	if (smfi_setreply(ctx, UNCONST(code), UNCONST(status), UNCONST(text)) != MI_SUCCESS)
		msg_warn("smfi_setreply %s %s failed", code, status);
}

/*
 * mconn_reset - end the transaction.  The X-Rebound-Tag headers it
 * ignored are logged here in one line, however many there were: a
 * client must not be able to write a log line per header.
 */
static void
mconn_reset(struct mconn *c)
{
	unsigned long noreply = c->noreply;

	if (c->tags_ignored > 0)
		msg_warn("%s: X-Rebound-Tag ignored: %s (%u of %u header%s)",
			 c->qid[0] ? c->qid : "NOQUEUE", c->tags_error, c->tags_ignored,
			 c->tag_headers, c->tag_headers == 1 ? "" : "s");

	for (size_t i = 0; i < c->nrcpt; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	mtags_free(&c->tags);
	snap_put(&c->snap);
	memset(c, 0, sizeof(*c));
	c->noreply = noreply;
}

/*
 * reply_or_not - what a callback that always continues returns: nothing
 * at all when the MTA agreed not to wait for this stage's reply, which
 * saves Postfix a round trip per header and per MAIL.
 */
static sfsistat
reply_or_not(const struct mconn *c, unsigned long stage)
{
	return c != NULL && (c->noreply & stage) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static struct mconn *
mconn_get(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
			free(c);
			return NULL;
		}
	}
	return c;
}

void
milter_random_hex(char *out, size_t octets)
{
	unsigned char r[32];

	if (octets > sizeof(r))
		octets = sizeof(r);
	if (getrandom(r, octets, 0) != (ssize_t)octets)
		msg_fatal("getrandom failed");
	for (size_t i = 0; i < octets; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* mconn_qid - refresh the queue id from {i}; the id for log lines */
static const char *
mconn_qid(SMFICTX *ctx, struct mconn *c)
{
	const char *i = symval(ctx, "i");

	if (i != NULL && *i != '\0' && strlen(i) < sizeof(c->qid))
		strcpy(c->qid, i);
	return c->qid[0] != '\0' ? c->qid : "NOQUEUE";
}

/*
 * address_copy - the address inside argv's angle brackets (smtpd sends
 * them, the sendmail path does not; a client may send two pairs, which
 * Postfix takes), lower-cased when lower is set.  Returns false when it
 * does not fit.
 */
static bool
address_copy(const char *arg, char *out, size_t size, bool lower)
{
	size_t len;

	if (arg == NULL)
		return false;
	len = strlen(arg);
	while (len >= 2 && *arg == '<' && arg[len - 1] == '>')
		arg++, len -= 2;
	if (len >= size)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = lower ? (char)tolower((unsigned char)arg[i]) : arg[i];
	out[len] = '\0';
	return true;
}

/*
 * address_unroute - drop a source route ("@relay:user@domain"), which
 * Postfix ignores as RFC 5321 asks: the checks must see the address that
 * Postfix delivers to
 */
static void
address_unroute(char *addr)
{
	char *colon;

	if (*addr == '@' && (colon = strchr(addr, ':')) != NULL)
		memmove(addr, colon + 1, strlen(colon + 1) + 1);
}

static bool
domain_listed(char **list, const char *domain)
{
	for (; *list != NULL; list++)
		if (strcasecmp(*list, domain) == 0)
			return true;
	return false;
}

/* failure - apply milter_failure_action after an internal failure */
static sfsistat
failure(SMFICTX *ctx, struct mconn *c, const char *what)
{
	bool tempfail = c->snap != NULL &&
			c->snap->cfg->milter_failure_action == CFG_ACTION_TEMPFAIL;

	msg_error("%s: %s; %s", c->qid[0] ? c->qid : "NOQUEUE", what,
		  tempfail ? "tempfail" : "accepting unchanged");
	if (!tempfail)
		return SMFIS_ACCEPT;
	setreply(ctx, "451", "4.3.0", "Temporary local problem - please try again later");
	return SMFIS_TEMPFAIL;
}

/* record_event - queue a sync rejection for recipient */
static int
record_event(struct mconn *c, const char *rcpt, const char *status, const char *code,
	     const char *text, const char *rule, enum reason reason)
{
	struct mrec *rec = mrec_create('E');
	char key[7 + 32 + 1] = "milter:";

	milter_random_hex(key + 7, 16);
	mrec_add(rec, key);
	mrec_add(rec, rcpt);
	mrec_add(rec, status);
	mrec_add(rec, code);
	mrec_add(rec, text);
	mrec_add(rec, c->qid[0] ? c->qid : NULL);
	mrec_add(rec, rule);
	mrec_add(rec, reason_name(reason));
	mrec_add(rec, reason_category(reason));
	/*
	 * Hard only when the reason says the address is bad: a 5xx of our own
	 * MTA can be about the client (a blocklisted host, relaying denied),
	 * and a client we do not know must not condemn a recipient it names.
	 */
	mrec_add(rec, reason_is_hard(reason, status) ? "t" : "f");
	return writer_commit(rec, c->snap->cfg->milter_record_timeout,
			     c->qid[0] ? c->qid : "NOQUEUE");
}

/*
 * negotiate_macros - ask for the macros used here and no others: Postfix
 * formats, and libmilter parses, every macro it sends.  The queue id comes
 * with MAIL, RCPT and EOM; RCPT also needs what Postfix says of a
 * recipient it refused.  (Postfix takes an empty list as "the default", so
 * the stages we skip cannot be silenced this way.)  An MTA that cannot
 * take the lists sends its defaults, which is only slower.
 */
static void
negotiate_macros(SMFICTX *ctx)
{
	static const struct {
		int stage;
		const char *macros;
	} wanted[] = {
		{ SMFIM_ENVFROM, "i" },
		{ SMFIM_ENVRCPT, "i {rcpt_mailer} {rcpt_host} {rcpt_addr}" },
		{ SMFIM_EOM, "i" },
	};

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (smfi_setsymlist(ctx, wanted[i].stage, UNCONST(wanted[i].macros)) != MI_SUCCESS)
			msg_warn("cannot ask for the macros of milter stage %d", wanted[i].stage);
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	     unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	     unsigned long *pf3)
{
	unsigned long want = SMFIF_CHGFROM | SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	/*
	 * Every stage we do not need is skipped, and MAIL and the headers,
	 * which never change the SMTP reply, go unanswered: a milter round
	 * trip costs Postfix more CPU than anything done here.  RCPT and EOM
	 * must be answered.
	 */
	unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOUNKNOWN |
			     SMFIP_NODATA;
	unsigned long noreply = SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH;
	struct mconn *c;

	(void)f2, (void)f3;
	if ((f0 & want) != want) {
		msg_error("the MTA does not offer change-sender and header edits; not filtering");
		return SMFIS_REJECT;
	}
	if ((c = mconn_get(ctx)) == NULL)
		return SMFIS_REJECT;
	c->noreply = f1 & noreply;
	*pf0 = want | (f0 & SMFIF_SETSYMLIST);
	*pf1 = (f1 & skip) | (f1 & SMFIP_RCPT_REJ) | c->noreply;
	if (!(f1 & SMFIP_RCPT_REJ))
		msg_warn("the MTA does not offer rejected recipients; they are not recorded");
	if (f0 & SMFIF_SETSYMLIST)
		negotiate_macros(ctx);
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct mconn *c = mconn_get(ctx);
	const char *at;

	if (c == NULL)
		return SMFIS_ACCEPT;
	mconn_reset(c);
	c->snap = snap_get();
	(void)mconn_qid(ctx, c);
	if (!address_copy(argv[0], c->sender, sizeof(c->sender), false)) {
		msg_warn("%s: sender address too long; not rewriting", mconn_qid(ctx, c));
		c->sender[0] = '\0';
	}
	at = strrchr(c->sender, '@');
	c->outbound = at != NULL && c->snap->keys != NULL &&
		      domain_listed(c->snap->cfg->sender_domains, at + 1);
	for (char **a = argv + 1; *a != NULL; a++) {
		if ((strncasecmp(*a, "RET=", 4) != 0 && strncasecmp(*a, "ENVID=", 6) != 0) ||
		    strlen(*a) > ESMTP_ARG_MAX)
			continue;
		if (c->args[0] != '\0')
			strcat(c->args, " ");
		if (strlen(c->args) + strlen(*a) < sizeof(c->args))
			strcat(c->args, *a);
	}
	c->tags = mtags_create();
	return reply_or_not(c, SMFIP_NR_MAIL);
}

/* rcpt_postfix_rejected - record a recipient that Postfix refused */
static sfsistat
rcpt_postfix_rejected(SMFICTX *ctx, struct mconn *c, const char *rcpt)
{
	const char *status = symval(ctx, "{rcpt_host}");
	const char *text = symval(ctx, "{rcpt_addr}");
	const char *qid = mconn_qid(ctx, c);
	char st[STATUS_SIZE] = "";
	char diag[LIMIT_DIAGNOSTIC_LEN + 1];
	bool generic;
	enum reason reason = REASON_REJECTED;

	if (status != NULL && strlen(status) < sizeof(st) && isdigit((unsigned char)*status))
		strcpy(st, status);
	snprintf(diag, sizeof(diag), "%s", text != NULL ? text : "");
	if (st[0] != '\0') {
		enum reason r = status_reason(st, &generic);

		if (!generic && r != REASON_UNDEFINED)
			reason = r;
	}
	msg_info("%s: postfix rejected to=<%s> status=%s: %s", qid, rcpt, st[0] ? st : "?", diag);
	if (record_event(c, rcpt, st[0] ? st : NULL, NULL, diag, "postfix", reason) < 0)
		c->failed = true;
	return SMFIS_CONTINUE;
}

/*
 * Characters Postfix sites use as recipient_delimiter.  Postfix splits a
 * local part at any of them, so "bounces-<token>" reaches the bounce
 * transport as surely as "bounces+<token>" and must meet the same check.
 */
#define RECIPIENT_DELIMITERS "+-"

/*
 * bounce_judge - whether rcpt is one of our return paths, read as Postfix
 * reads it (angle brackets, source route, quoted local part, any case,
 * any usual recipient delimiter), and the verdict on its extension.
 */
static bool
bounce_judge(const struct msnap *snap, const char *rcpt, enum return_path_token *verdict_r,
	     bool *classic_r)
{
	const struct cfg *cfg = snap->cfg;
	size_t plen = strlen(cfg->return_path_prefix);
	char delims[3] = { cfg->verp_delimiters[0], cfg->verp_delimiters[1], '\0' };
	struct return_path rp = { 0 };
	bool ours;

	*verdict_r = RP_TOKEN_MALFORMED;
	*classic_r = false;
	for (int pass = 0; pass < 2; pass++) {
		/* Nothing we could have sent: no bounce is owed to it. */
		if (return_path_inspect(rcpt, delims, snap->keys, token_day(time(NULL)),
					cfg->token_lifetime / 86400, &rp) < 0)
			return true;
		ours = rp.extended && strcasecmp(rp.prefix, cfg->return_path_prefix) == 0;
		/* Split at another delimiter Postfix may use, and look again. */
		if (!ours && pass == 0 && !rp.extended && strlen(rp.prefix) > plen &&
		    strncasecmp(rp.prefix, cfg->return_path_prefix, plen) == 0 &&
		    strchr(RECIPIENT_DELIMITERS, rp.prefix[plen]) != NULL) {
			delims[0] = rp.prefix[plen];
			return_path_release(&rp);
			continue;
		}
		*verdict_r = rp.verdict;
		*classic_r = rp.verdict == RP_TOKEN_NONE && rp.recipient != NULL;
		return_path_release(&rp);
		return ours;
	}
	return false;
}

/*
 * rcpt_bounce - a recipient at one of the bounce domains.  Only
 * <prefix><delimiter><something> is ours (bounce_judge).  Its extension
 * is judged as rebound-pipe judges it (return_path.c): a token, alone or
 * followed by an XVERP recipient, must verify; classic VERP passes when
 * allowed.
 */
static sfsistat
rcpt_bounce(SMFICTX *ctx, struct mconn *c, const char *rcpt)
{
	enum return_path_token v;
	bool classic;
	char text[LIMIT_ADDRESS_LEN + 64];

	if (c->snap->keys == NULL || !bounce_judge(c->snap, rcpt, &v, &classic) ||
	    (classic && c->snap->cfg->bounce_classic_verp))
		return SMFIS_CONTINUE;
	if (v == RP_TOKEN_VALID) {
		c->bounce_valid = true;
		msg_info("%s: valid return path to=<%s>", mconn_qid(ctx, c), rcpt);
		return SMFIS_CONTINUE;
	}
	if (v == RP_TOKEN_NONE)
		v = RP_TOKEN_MALFORMED;
	msg_info("%s: reject to=<%s>: %s return path", mconn_qid(ctx, c), rcpt,
		 return_path_token_name(v));
	snprintf(text, sizeof(text), "<%s>: %s return path", rcpt, return_path_token_name(v));
	for (char *p = text; *p != '\0'; p++)
		if (*p == '%')
			*p = '?';
	setreply(ctx, "550", "5.1.1", text);
	return SMFIS_REJECT;
}

/* reply_expand - suppression_reply with %a, %r and %% replaced */
static void
reply_expand(const char *tmpl, const char *rcpt, const char *reason, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = tmpl; *p != '\0' && n + 1 < size; p++) {
		const char *add = NULL;

		if (*p == '%' && (p[1] == 'a' || p[1] == 'r'))
			add = *++p == 'a' ? rcpt : reason;
		else if (*p == '%' && p[1] == '%')
			p++;
		if (add == NULL) {
			out[n++] = *p;
			continue;
		}
		/* libmilter and Postfix read '%' in a reply as an escape. */
		for (; *add != '\0' && n + 1 < size; add++)
			out[n++] = *add == '%' ? '?' : *add;
	}
	out[n] = '\0';
}

/*
 * reply_escape - text as smfi_setreply() must be given it: libmilter and
 * Postfix read '%' as an escape and print "%%" as one '%', so every '%'
 * (only %% of suppression_reply makes one) is doubled.
 */
static void
reply_escape(const char *text, char *out, size_t size)
{
	size_t n = 0;

	for (; *text != '\0' && n + 2 < size; text++) {
		out[n++] = *text;
		if (*text == '%')
			out[n++] = '%';
	}
	out[n] = '\0';
}

/* rcpt_suppressed - refuse a suppressed recipient and record that */
static sfsistat
rcpt_suppressed(SMFICTX *ctx, struct mconn *c, const char *rcpt, const char *reason)
{
	char reply[512], wire[1024], code[4], status[STATUS_SIZE];
	const char *text, *sp;
	const char *qid = mconn_qid(ctx, c);

	reply_expand(c->snap->cfg->suppression_reply, rcpt, reason, reply, sizeof(reply));
	/* cfg checked the shape: "ddd x.y.z text". */
	memcpy(code, reply, 3);
	code[3] = '\0';
	sp = strchr(reply + 4, ' ');
	snprintf(status, sizeof(status), "%.*s", (int)(sp - (reply + 4)), reply + 4);
	text = sp + 1;
	msg_info("%s: reject to=<%s>: suppressed (%s)", qid, rcpt, reason);
	if (record_event(c, rcpt, status, code, text, "suppressed", REASON_SUPPRESSED) < 0)
		return failure(ctx, c, "cannot record a suppressed recipient");
	reply_escape(text, wire, sizeof(wire));
	setreply(ctx, code, status, wire);
	return code[0] == '5' ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mconn *c = smfi_getpriv(ctx);
	const char *mailer = symval(ctx, "{rcpt_mailer}");
	char rcpt[LIMIT_ADDRESS_LEN + 1], reason[SUPPSET_REASON_MAX + 1];
	const char *at;
	int r;

	if (c == NULL || c->snap == NULL)
		return SMFIS_CONTINUE;
	if (!address_copy(argv[0], rcpt, sizeof(rcpt), true)) {
		msg_warn("%s: recipient address too long; ignored", mconn_qid(ctx, c));
		return SMFIS_CONTINUE;
	}
	address_unroute(rcpt);
	if (mailer != NULL && strcmp(mailer, "error") == 0)
		return rcpt_postfix_rejected(ctx, c, rcpt);
	if ((at = strrchr(rcpt, '@')) != NULL && domain_listed(c->snap->cfg->bounce_domains, at + 1))
		return rcpt_bounce(ctx, c, rcpt);
	r = suppress_lookup(rcpt, reason);
	if (r > 0 && mailer == NULL) {
		/*
		 * No {rcpt_mailer}: a non_smtpd_milters submission, where
		 * Postfix treats a refused recipient as a configuration error.
		 */
		msg_info("%s: suppressed to=<%s> (%s) not refused: local submission",
			 mconn_qid(ctx, c), rcpt, reason);
	} else if (r > 0) {
		return rcpt_suppressed(ctx, c, rcpt, reason);
	} else if (r < 0 && c->snap->cfg->suppression_failure_action == CFG_ACTION_TEMPFAIL &&
		   mailer != NULL) {
		msg_warn("%s: defer to=<%s>: suppression list not loaded", mconn_qid(ctx, c), rcpt);
		setreply(ctx, "451", "4.3.0", "Suppression list unavailable - try again later");
		return SMFIS_TEMPFAIL;
	}
	c->rcpt_seen++;
	if (c->nrcpt < RCPT_MAX) {
		c->rcpts = xrealloc(c->rcpts, (c->nrcpt + 1) * sizeof(*c->rcpts));
		c->rcpts[c->nrcpt++] = xstrdup(rcpt);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct mconn *c = smfi_getpriv(ctx);
	const char *error;

	if (c == NULL || c->snap == NULL)
		return reply_or_not(c, SMFIP_NR_HDR);
	if (strcasecmp(name, "X-Rebound-Tag") == 0) {
		c->tag_headers++;
		if (c->outbound && mtags_parse(c->tags, value, &error) < 0 &&
		    c->tags_ignored++ == 0) {
			(void)mconn_qid(ctx, c);
			c->tags_error = error;
		}
	} else if (strcasecmp(name, "X-Rebound-Token") == 0) {
		c->token_headers++;
	} else if (strcasecmp(name, "X-Rebound-Verification") == 0) {
		c->verify_headers++;
	} else if (strcasecmp(name, "Message-ID") == 0 && c->msgid[0] == '\0') {
		while (isspace((unsigned char)*value))
			value++;
		if (!address_copy(value, c->msgid, sizeof(c->msgid), false))
			c->msgid[0] = '\0';
	}
	return reply_or_not(c, SMFIP_NR_HDR);
}

/*
 * cb_eoh - nothing to do at the end of the headers, but without this
 * callback libmilter answers EOH itself, and logs an error for each
 * message because it answers where the MTA agreed to expect no reply.
 */
static sfsistat
cb_eoh(SMFICTX *ctx)
{
	return reply_or_not(smfi_getpriv(ctx), SMFIP_NR_EOH);
}

/* header_remove - delete every instance of a header (last first) */
static int
header_remove(SMFICTX *ctx, const char *name, unsigned count)
{
	for (unsigned i = count; i > 0; i--)
		if (smfi_chgheader(ctx, UNCONST(name), (int)i, NULL) != MI_SUCCESS)
			return -1;
	return 0;
}

/* eom_record - the message record for the writer */
static struct mrec *
eom_record(struct mconn *c, const char *token)
{
	struct mrec *rec = mrec_create('M');
	char *tags = mtags_json(c->tags);

	mrec_add(rec, token);
	mrec_add(rec, c->qid[0] ? c->qid : NULL);
	mrec_add(rec, c->msgid[0] ? c->msgid : NULL);
	mrec_add(rec, c->sender);
	mrec_add(rec, tags);
	free(tags);
	for (size_t i = 0; i < c->nrcpt; i++)
		mrec_add(rec, c->rcpts[i]);
	return rec;
}

/* eom_outbound - sign and rewrite the return path */
static sfsistat
eom_outbound(SMFICTX *ctx, struct mconn *c)
{
	const struct cfg *cfg = c->snap->cfg;
	struct token_info info = { 0 };
	char token[TOKEN_CHARS + 1];
	char from[LIMIT_ADDRESS_LEN * 2];

	if (!writer_healthy())
		return failure(ctx, c, "the spool is not writable");
	while (info.message == 0)
		if (getrandom(&info.message, sizeof(info.message), 0) != sizeof(info.message))
			return failure(ctx, c, "getrandom failed");
	info.flags = c->rcpt_seen == 1 ? TOKEN_SINGLE_RECIPIENT : 0;
	info.last_day = token_day(time(NULL)) + cfg->token_lifetime / 86400;
	token_encode(c->snap->keys, &info, token);
	snprintf(from, sizeof(from), "%s%c%s@%s", cfg->return_path_prefix,
		 cfg->verp_delimiters[0], token, cfg->bounce_domains[0]);
	if (writer_commit(eom_record(c, token), cfg->milter_record_timeout,
			  c->qid[0] ? c->qid : "NOQUEUE") < 0)
		return failure(ctx, c, "cannot store or spool the message record");
	if (smfi_chgfrom(ctx, from, c->args[0] ? c->args : NULL) != MI_SUCCESS)
		return failure(ctx, c, "change of sender failed");
	if (header_remove(ctx, "X-Rebound-Tag", c->tag_headers) < 0)
		return failure(ctx, c, "removing X-Rebound-Tag failed");
	if (cfg->token_header &&
	    (header_remove(ctx, "X-Rebound-Token", c->token_headers) < 0 ||
	     smfi_addheader(ctx, UNCONST("X-Rebound-Token"), token) != MI_SUCCESS))
		return failure(ctx, c, "adding X-Rebound-Token failed");
	msg_info("%s: from=<%s> return-path=<%s> nrcpt=%zu tags=%zu", c->qid[0] ? c->qid : "NOQUEUE",
		 c->sender, from, c->rcpt_seen, mtags_count(c->tags));
	return SMFIS_CONTINUE;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);
	sfsistat ret = SMFIS_CONTINUE;

	if (c == NULL || c->snap == NULL)
		return SMFIS_CONTINUE;
	(void)mconn_qid(ctx, c);
	/* Only we say whether a token verified. */
	if (header_remove(ctx, "X-Rebound-Verification", c->verify_headers) < 0)
		ret = failure(ctx, c, "removing X-Rebound-Verification failed");
	else if (c->bounce_valid &&
		 smfi_addheader(ctx, UNCONST("X-Rebound-Verification"), UNCONST("valid")) != MI_SUCCESS)
		ret = failure(ctx, c, "adding X-Rebound-Verification failed");
	else if (c->failed)
		ret = failure(ctx, c, "a rejected recipient could not be recorded");
	else if (c->outbound && c->rcpt_seen > 0)
		ret = eom_outbound(ctx, c);
	mconn_reset(c);
	return ret;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c != NULL)
		mconn_reset(c);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c != NULL) {
		mconn_reset(c);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

int
callbacks_register(void)
{
	static struct smfiDesc desc = {
		.xxfi_name = UNCONST("rebound-milter"),
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_CHGFROM | SMFIF_ADDHDRS | SMFIF_CHGHDRS,
		.xxfi_envfrom = cb_envfrom,
		.xxfi_envrcpt = cb_envrcpt,
		.xxfi_header = cb_header,
		.xxfi_eoh = cb_eoh,
		.xxfi_eom = cb_eom,
		.xxfi_abort = cb_abort,
		.xxfi_close = cb_close,
		.xxfi_negotiate = cb_negotiate,
	};

	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
