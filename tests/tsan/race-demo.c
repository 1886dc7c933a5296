/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * race-demo - two deliberate data races between a "milter callback",
 * called from tests/tsan/fake-libmilter.c, and threads of the program
 * itself, as the milter's writer and suppression loader are.  Under
 * ThreadSanitizer with tests/tsan.supp both must be reported
 * (tests/tsan/supp.t): a suppression that hid them would hide the races
 * that matter in the milter.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

int mi_start_session(void (*callback)(void));

/* Written by the callback and by the writer: race one. */
static int records_queued;
/* Written by the loader, read by the callback: race two. */
static int list_generation;
static int seen_generation;

/* writer - stands for milter/writer.c's thread */
static void *
writer(void *arg)
{
	(void)arg;
	records_queued = 0;
	return NULL;
}

/* loader - stands for the suppression loader's thread */
static void *
loader(void *arg)
{
	(void)arg;
	list_generation = 2;
	return NULL;
}

/* rcpt_callback - stands for a libmilter callback of ours */
static void
rcpt_callback(void)
{
	records_queued++;
	seen_generation = list_generation;
}

int
main(void)
{
	pthread_t w, l;

	/*
	 * Neither thread is joined before the callback runs: nothing orders
	 * their accesses with its, which is what ThreadSanitizer reports.
	 * The sleep makes the order of events fixed, not synchronised.
	 */
	if (pthread_create(&w, NULL, writer, NULL) != 0 ||
	    pthread_create(&l, NULL, loader, NULL) != 0)
		return 1;
	usleep(100000);
	if (mi_start_session(rcpt_callback) != 0)
		return 1;
	pthread_join(w, NULL);
	pthread_join(l, NULL);
	printf("%d %d\n", records_queued, seen_generation);
	return 0;
}
