/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-mime - one message through the MIME scanner, the DSN/ARF/NDR
 * parsers and the classifier, the way batch mode (--classify) and
 * rebound-pipe call them: classifier_run() on the raw bytes, then the
 * JSON printer of batch mode over the result.
 */
#include <stdio.h>
#include <stdlib.h>

#include "classify/batch.h"
#include "mail/cfg.h"
#include "classify/classifier.h"
#include "fuzz.h"
#include "util/msg.h"
#include "report/report.h"

/* The classifier borrows the configuration: both live for the process. */
static struct cfg *cfg;
static struct classifier *clf;
static FILE *sink;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char conf[] = "builtin_rules_directory = " REBOUND_SRCDIR "/rules\n"
				   "rules_directory =\n";
	char *error = NULL;

	(void)argc;
	(void)argv;
	msg_open("fuzz-mime", 0, MSG_TO_STDERR);
	if (cfg_parse(conf, sizeof(conf) - 1, "fuzz", &cfg, &error) < 0 ||
	    classifier_create(cfg, &clf, &error) < 0) {
		fprintf(stderr, "fuzz-mime: %s\n", error);
		exit(1);
	}
	if ((sink = fopen("/dev/null", "w")) == NULL)
		exit(1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report *r = classifier_run(clf, (const char *)data, size);

	batch_print(sink, "fuzz", r);
	report_free(&r);
	return 0;
}
