/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache token bucket: a rate limit of "rate" tokens per second with
 * bursts of up to "burst" tokens (bytes, I/Os, whatever the caller
 * counts), against a clock in nanoseconds that the caller passes in.
 *
 * Rules and invariants:
 * - Integer arithmetic only, exact to the nanosecond: a refill credits
 *   floor(rate * elapsed / 1e9) whole tokens and moves last_ns on by the
 *   time those tokens took, rounded up, so what is left of a part token
 *   is carried, never credited twice.  Over any period T the bucket
 *   gives out rate * T +- burst tokens (less at most rate * 1 ns per
 *   refill to rounding).  Products are computed in 128 bits, quotients
 *   saturate: no overflow for any u64 rate, burst and clock.
 * - tokens <= burst always; burst >= 1 (0 is taken as 1).  A bucket
 *   starts full.  rate 0 means unlimited: take always succeeds.
 * - A request larger than the burst cannot wait for tokens that never
 *   fit: it goes through once the bucket is full, and the deficit is
 *   charged by putting last_ns in the future (no refill until then).
 * - The clock should not go backwards; if it does, nothing is credited
 *   until it is past last_ns again.
 * - No locks: the caller serialises the calls on one bucket.
 */
#ifndef DM_VWCACHE_TBUCKET_H
#define DM_VWCACHE_TBUCKET_H

#include "dm-vwcache-core.h"

#define VWC_NSEC_PER_SEC	1000000000ULL

struct vwc_tbucket {
	u64 rate;	/* tokens per second; 0 = unlimited */
	u64 burst;	/* most tokens the bucket holds */
	u64 tokens;
	u64 last_ns;	/* the time tokens were last brought up to date */
};

void vwc_tb_init(struct vwc_tbucket *tb, u64 rate_per_s, u64 burst,
		 u64 now_ns);
void vwc_tb_set_rate(struct vwc_tbucket *tb, u64 rate_per_s, u64 burst,
		     u64 now_ns);
bool vwc_tb_take(struct vwc_tbucket *tb, u64 now_ns, u64 n);
u64 vwc_tb_wait_ns(struct vwc_tbucket *tb, u64 now_ns, u64 n);
u64 vwc_mul_div(u64 a, u64 b, u64 c, bool round_up);

#endif /* DM_VWCACHE_TBUCKET_H */
