/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fake-libmilter - a stand-in for libmilter in tests/tsan/supp.t.
 *
 * Built, like Debian's libmilter, without ThreadSanitizer and as
 * libmilter.so.1, it calls a function of the program from a thread it
 * starts itself, through an exported mi_engine(), which is how libmilter
 * calls every milter callback.  A race in such a callback therefore has
 * libmilter's frames in its stacks, as the milter's races do.
 */
#include <pthread.h>
#include <stddef.h>

void mi_engine(void (*callback)(void));
int mi_start_session(void (*callback)(void));

/* mi_engine - the session loop: here, one callback */
void
mi_engine(void (*callback)(void))
{
	callback();
}

/* session_thread - one SMTP session's thread */
static void *
session_thread(void *arg)
{
	void (*callback)(void);

	*(void **)&callback = arg;
	mi_engine(callback);
	return NULL;
}

/* mi_start_session - run callback on a new thread and wait for it */
int
mi_start_session(void (*callback)(void))
{
	pthread_t t;
	void *arg;

	*(void (**)(void))&arg = callback;
	if (pthread_create(&t, NULL, session_thread, arg) != 0)
		return -1;
	return pthread_join(t, NULL);
}
