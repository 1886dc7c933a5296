/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * null-milter - a milter that does nothing, for tests/bench-milter.sh.
 *
 * It negotiates the protocol rebound-milter does (the same stages, the
 * same replies skipped) and answers every stage with "continue", without
 * looking at anything.  What Postfix loses with it is what any milter in
 * that place costs, the floor under rebound-milter's own figure.  Given a
 * sender, it also asks for rebound-milter's actions (change of sender,
 * header edits) and changes every envelope sender to it at end of
 * message, as any milter that rewrites the return path must: that floor
 * includes what the change costs Postfix.  A run of X in the sender is
 * replaced by a different string in each message, because a return path
 * that identifies its message is new to every lookup Postfix makes.
 *
 *	null-milter inet:port@host [sender]
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>

#define UNCONST(s) ((char *)(uintptr_t)(s))

static char *new_sender;	/* change every envelope sender to this, or NULL */
static size_t unique_at, unique_len;	/* where its run of X is, and how long */
static atomic_ulong messages;	/* numbers the messages for the run of X */

static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	       unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	       unsigned long *pf3)
{
	unsigned long steps = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOUNKNOWN |
			      SMFIP_NODATA | SMFIP_RCPT_REJ | SMFIP_NR_MAIL | SMFIP_NR_HDR |
			      SMFIP_NR_EOH;

	(void)ctx, (void)f0, (void)f2, (void)f3;
	/* rebound-milter's actions: Postfix may do more work for each. */
	*pf0 = new_sender != NULL ? SMFIF_CHGFROM | SMFIF_ADDHDRS | SMFIF_CHGHDRS : 0;
	*pf1 = f1 & steps;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
null_noreply(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

static sfsistat
null_noreply_args(SMFICTX *ctx, char **argv)
{
	(void)ctx, (void)argv;
	return SMFIS_NOREPLY;
}

static sfsistat
null_continue_args(SMFICTX *ctx, char **argv)
{
	(void)ctx, (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx, (void)name, (void)value;
	return SMFIS_NOREPLY;
}

static sfsistat
null_eom(SMFICTX *ctx)
{
	char sender[256];
	unsigned long n = atomic_fetch_add(&messages, 1);

	if (new_sender == NULL)
		return SMFIS_CONTINUE;
	/* The message number in base 32, right-aligned in the run of X. */
	memcpy(sender, new_sender, strlen(new_sender) + 1);
	for (size_t i = unique_len; i > 0; i--, n /= 32)
		sender[unique_at + i - 1] = "abcdefghijklmnopqrstuvwxyz234567"[n % 32];
	if (smfi_chgfrom(ctx, sender, NULL) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

/* set_nodelay - as rebound-milter does: TCP_NODELAY on the listener */
static void
set_nodelay(void)
{
	for (int fd = 3; fd < 64; fd++) {
		int listening = 0, one = 1;
		socklen_t len = sizeof(listening);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc = {
		.xxfi_name = UNCONST("null-milter"),
		.xxfi_version = SMFI_VERSION,
		.xxfi_envfrom = null_noreply_args,
		.xxfi_envrcpt = null_continue_args,
		.xxfi_header = null_header,
		.xxfi_eoh = null_noreply,
		.xxfi_flags = SMFIF_CHGFROM | SMFIF_ADDHDRS | SMFIF_CHGHDRS,
		.xxfi_eom = null_eom,
		.xxfi_negotiate = null_negotiate,
	};

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: null-milter socket [sender]\n");
		return 2;
	}
	new_sender = argc == 3 ? argv[2] : NULL;
	if (new_sender != NULL && strlen(new_sender) >= 256) {
		fprintf(stderr, "null-milter: sender too long\n");
		return 2;
	}
	if (new_sender != NULL && strchr(new_sender, 'X') != NULL) {
		unique_at = (size_t)(strchr(new_sender, 'X') - new_sender);
		unique_len = strspn(new_sender + unique_at, "X");
	}
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "null-milter: cannot listen on %s\n", argv[1]);
		return 1;
	}
	set_nodelay();
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
