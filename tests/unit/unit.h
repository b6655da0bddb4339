/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A very small unit test harness: CHECK() records a failure with its line
 * and goes on; each test file ends with unit_report(), which prints
 * "<file>: N passed, N failed" and returns the exit status.  rnd() is a
 * repeatable random stream (unit_seed() picks it).  One test file per
 * program: this header defines vwc_alloc_fail_in.
 */
#ifndef VWC_UNIT_H
#define VWC_UNIT_H

#include <stdint.h>
#include <stdio.h>

static unsigned int unit_passed, unit_failed;

/*
 * Allocation failure injection (dm-vwcache-core.h, built with
 * -DVWC_ALLOC_FAIL): set to N, the Nth allocation from now fails.
 */
unsigned long vwc_alloc_fail_in;

/* xorshift64*: a repeatable random stream for randomized tests. */
static uint64_t unit_rng = 0x9e3779b97f4a7c15ULL;

static inline void unit_seed(uint64_t seed)
{
	unit_rng = seed ? seed : 1;
}

static inline uint64_t rnd(void)
{
	unit_rng ^= unit_rng >> 12;
	unit_rng ^= unit_rng << 25;
	unit_rng ^= unit_rng >> 27;
	return unit_rng * 0x2545f4914f6cdd1dULL;
}

static inline uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

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
