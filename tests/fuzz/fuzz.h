/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_FUZZ_H
#define REBOUND_FUZZ_H

/*
 * fuzz - the entry points every tests/fuzz/fuzz-*.c defines.  The same
 * object is linked two ways: with clang -fsanitize=fuzzer for `make fuzz`,
 * and with tests/fuzz/replay.c (a plain main) for `make check`, which
 * replays the inputs kept under tests/fuzz/regress/<target>/.
 */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
