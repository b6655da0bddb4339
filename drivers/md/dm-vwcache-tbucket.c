// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache token bucket: see dm-vwcache-tbucket.h for the rules of this
 * file.
 */
#include "dm-vwcache-tbucket.h"

static u64 vwc_sat_add(u64 a, u64 b)
{
	return a + b < a ? U64_MAX : a + b;
}

/* The 128-bit product a * b, in two halves. */
static void vwc_mul128(u64 a, u64 b, u64 *hi, u64 *lo)
{
	u64 a0 = (u32)a, a1 = a >> 32, b0 = (u32)b, b1 = b >> 32;
	u64 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	u64 mid = (p00 >> 32) + (u32)p01 + (u32)p10;

	*lo = mid << 32 | (u32)p00;
	*hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/*
 * a * b / c, rounded down or up, without overflow: U64_MAX when the
 * quotient does not fit (or c is 0).  The 128-by-64 division is done bit
 * by bit, only when the product needs more than 64 bits.
 */
u64 vwc_mul_div(u64 a, u64 b, u64 c, bool round_up)
{
	u64 hi, lo, q = 0, rem;
	bool top;
	int i;

	if (!c)
		return U64_MAX;
	vwc_mul128(a, b, &hi, &lo);
	if (!hi) {
		q = lo / c;
		rem = lo % c;
	} else {
		if (hi >= c)
			return U64_MAX;
		rem = hi;
		for (i = 0; i < 64; i++) {
			top = rem >> 63;
			rem = rem << 1 | lo >> 63;
			lo <<= 1;
			q <<= 1;
			if (top || rem >= c) {
				rem -= c;
				q |= 1;
			}
		}
	}
	if (round_up && rem)
		return q == U64_MAX ? U64_MAX : q + 1;
	return q;
}

void vwc_tb_init(struct vwc_tbucket *tb, u64 rate_per_s, u64 burst,
		 u64 now_ns)
{
	tb->rate = rate_per_s;
	tb->burst = burst ? burst : 1;
	tb->tokens = tb->burst;
	tb->last_ns = now_ns;
}

/* Credit the whole tokens earned since last_ns; carry the part token. */
static void vwc_tb_refill(struct vwc_tbucket *tb, u64 now_ns)
{
	u64 add;

	if (now_ns <= tb->last_ns)
		return;
	add = vwc_mul_div(tb->rate, now_ns - tb->last_ns, VWC_NSEC_PER_SEC,
			  false);
	if (add >= tb->burst - tb->tokens) {
		tb->tokens = tb->burst;
		tb->last_ns = now_ns;
		return;
	}
	tb->tokens += add;
	tb->last_ns += vwc_mul_div(add, VWC_NSEC_PER_SEC, tb->rate, true);
}

/*
 * A new rate and burst, from now on: what was earned until now is
 * credited at the old rate, a deficit owed is carried over at the new
 * one, a part token is dropped.  To or from unlimited, the bucket is full.
 */
void vwc_tb_set_rate(struct vwc_tbucket *tb, u64 rate_per_s, u64 burst,
		     u64 now_ns)
{
	u64 owed;

	if (!burst)
		burst = 1;
	if (!tb->rate || !rate_per_s) {
		tb->tokens = burst;
		tb->last_ns = now_ns;
	} else {
		vwc_tb_refill(tb, now_ns);
		if (tb->last_ns > now_ns) {
			owed = vwc_mul_div(tb->last_ns - now_ns, tb->rate,
					   VWC_NSEC_PER_SEC, true);
			tb->last_ns = vwc_sat_add(now_ns,
						  vwc_mul_div(owed,
							      VWC_NSEC_PER_SEC,
							      rate_per_s, true));
		} else {
			tb->last_ns = now_ns;
		}
		if (tb->tokens > burst)
			tb->tokens = burst;
	}
	tb->rate = rate_per_s;
	tb->burst = burst;
}

/* Take @n tokens if they are there; rate 0 always succeeds. */
bool vwc_tb_take(struct vwc_tbucket *tb, u64 now_ns, u64 n)
{
	u64 owed;

	if (!tb->rate)
		return true;
	vwc_tb_refill(tb, now_ns);
	if (n <= tb->tokens) {
		tb->tokens -= n;
		return true;
	}
	if (n <= tb->burst || tb->tokens < tb->burst)
		return false;
	/* Larger than the bucket and it is full: charge the rest ahead. */
	owed = vwc_mul_div(n - tb->burst, VWC_NSEC_PER_SEC, tb->rate, true);
	tb->tokens = 0;
	tb->last_ns = vwc_sat_add(now_ns, owed);
	return true;
}

/*
 * How long from @now_ns until vwc_tb_take(@n) succeeds, if nothing else
 * takes tokens meanwhile; 0 when it would now.
 */
u64 vwc_tb_wait_ns(struct vwc_tbucket *tb, u64 now_ns, u64 n)
{
	u64 ready;

	if (!tb->rate)
		return 0;
	vwc_tb_refill(tb, now_ns);
	if (n > tb->burst)
		n = tb->burst;
	if (n <= tb->tokens)
		return 0;
	ready = vwc_sat_add(tb->last_ns,
			    vwc_mul_div(n - tb->tokens, VWC_NSEC_PER_SEC,
					tb->rate, true));
	return ready > now_ns ? ready - now_ns : 0;
}
