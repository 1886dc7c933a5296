/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replay - run a fuzz target's entry point over files, without libFuzzer.
 *
 * Linked with one tests/fuzz/fuzz-*.o in the normal (and sanitizer) build,
 * so that `make check` replays the inputs kept under
 * tests/fuzz/regress/<target>/ and the seed fixtures.  Each argument is a
 * file or a directory of files.  Each file is read into a buffer of its
 * exact size, so that a sanitizer build catches reads past the end.  A bug
 * shows as a crash or a sanitizer report; on success it prints the number
 * of inputs run and exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "util/xalloc.h"

static size_t replayed;

/* replay_file - one input through the target; 0 or -1 if unreadable */
static int
replay_file(const char *path)
{
	struct stat st;
	unsigned char *data;
	size_t len = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	data = xmalloc((size_t)st.st_size);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	replayed++;
	return 0;
}

/* replay_path - a file, or every regular file of a directory */
static int
replay_path(const char *path)
{
	struct dirent **names;
	int n, ret = 0;

	if ((n = scandir(path, &names, NULL, alphasort)) < 0)
		return errno == ENOTDIR ? replay_file(path) : -1;
	for (int i = 0; i < n; i++) {
		char *full;
		struct stat st;
		size_t size = strlen(path) + strlen(names[i]->d_name) + 2;

		full = xmalloc(size);
		snprintf(full, size, "%s/%s", path, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
		    replay_file(full) < 0)
			ret = -1;
		free(full);
		free(names[i]);
	}
	free(names);
	return ret;
}

int
main(int argc, char **argv)
{
	int ret = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (replay_path(argv[i]) < 0) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			ret = 1;
		}
	}
	printf("%zu\n", replayed);
	return ret;
}
