/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A very small unit test harness: CHECK() records a failure with its line
 * and goes on; each test file ends with unit_report(), which prints
 * "<file>: N passed, N failed" and returns the exit status.
 */
#ifndef VWC_UNIT_H
#define VWC_UNIT_H

#include <stdio.h>

static unsigned int unit_passed, unit_failed;

#define CHECK(expr) do { \
	if (expr) { \
		unit_passed++; \
	} else { \
		unit_failed++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", \
			__FILE__, __LINE__, #expr); \
	} \
} while (0)

static inline int unit_report(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
