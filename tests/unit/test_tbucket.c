// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dm-vwcache-tbucket.c: over long simulated runs the bucket
 * gives out rate * T +- burst, never more; wait_ns() is exact; a rate
 * change applies at once; rate 0 is unlimited; extreme values neither
 * overflow nor hang (checked against 128-bit arithmetic, under UBSan).
 */
#include <stdlib.h>

#include "dm-vwcache-tbucket.h"
#include "unit.h"

typedef unsigned __int128 u128;

#define NS VWC_NSEC_PER_SEC

static u64 ref_mul_div(u64 a, u64 b, u64 c, bool up)
{
	u128 p = (u128)a * b, q;

	if (!c)
		return U64_MAX;
	q = p / c + (up && p % c);
	return q > U64_MAX ? U64_MAX : (u64)q;
}

static u64 pick(void)
{
	static const u64 edges[] = { 0, 1, 2, NS - 1, NS, NS + 1,
				     1ULL << 32, (1ULL << 32) - 1, 1ULL << 40,
				     1ULL << 63, U64_MAX, U64_MAX - 1 };

	switch (rnd() % 4) {
	case 0:
		return edges[rnd() % ARRAY_SIZE(edges)];
	case 1:
		return rnd() >> (rnd() % 64);
	default:
		return rnd();
	}
}

static void test_mul_div(void)
{
	unsigned int bad = 0, i;
	u64 a, b, c;

	for (i = 0; i < 200000; i++) {
		a = pick();
		b = pick();
		c = pick();
		if (vwc_mul_div(a, b, c, false) != ref_mul_div(a, b, c, false) ||
		    vwc_mul_div(a, b, c, true) != ref_mul_div(a, b, c, true))
			bad++;
	}
	CHECK(bad == 0);
	CHECK(vwc_mul_div(U64_MAX, U64_MAX, U64_MAX, false) == U64_MAX);
	CHECK(vwc_mul_div(U64_MAX, U64_MAX, 1, false) == U64_MAX);
	CHECK(vwc_mul_div(1ULL << 40, 1ULL << 63, NS, false) ==
	      ref_mul_div(1ULL << 40, 1ULL << 63, NS, false));
	CHECK(vwc_mul_div(7, 1, 2, true) == 4);
}

/*
 * A taker that waits as long as wait_ns() says (one nanosecond less is
 * too early), then takes; between takes it may idle.  Returns the tokens
 * taken in [*now, end).
 */
static u128 run(struct vwc_tbucket *tb, u64 *now, u64 end, u64 max_n,
		u64 max_idle, unsigned int *bad, unsigned int *steps)
{
	struct vwc_tbucket early;
	u128 total = 0;
	u64 n, w;

	while (*now < end) {
		n = 1 + rnd() % max_n;
		w = vwc_tb_wait_ns(tb, *now, n);
		if (w) {
			early = *tb;
			if (vwc_tb_take(&early, *now + w - 1, n))
				(*bad)++;
		}
		if (w >= end - *now)
			break;
		*now += w;
		if (!vwc_tb_take(tb, *now, n))
			(*bad)++;
		if (tb->tokens > tb->burst)
			(*bad)++;
		total += n;
		(*steps)++;
		if (max_idle)
			*now += rnd() % max_idle;
	}
	*now = end;
	return total;
}

static void check_rate(u64 rate, u64 burst, u64 max_n, u64 secs)
{
	unsigned int bad = 0, steps = 0;
	struct vwc_tbucket tb;
	u64 t0 = 1000, now = t0;
	u128 total, ideal, slack;

	/* Greedy: takes all it can.  rate * T + burst, less rounding. */
	vwc_tb_init(&tb, rate, burst, t0);
	total = run(&tb, &now, t0 + secs * NS, max_n, 0, &bad, &steps);
	ideal = (u128)rate * secs + burst;
	slack = max_n + (u128)steps * (rate / NS + 1);
	CHECK(bad == 0);
	CHECK(total <= ideal);
	CHECK(total + slack >= ideal);

	/* Idling at random: never more than rate * T + burst. */
	vwc_tb_init(&tb, rate, burst, t0);
	now = t0;
	total = run(&tb, &now, t0 + secs * NS, max_n, NS / 7, &bad, &steps);
	CHECK(bad == 0);
	CHECK(total <= ideal);
}

static void test_rates(void)
{
	check_rate(1, 1, 1, 100);
	check_rate(1000, 100, 10, 100);
	check_rate(123456789, 1000000, 65536, 100);
	check_rate(NS, NS / 100, 1 << 20, 100);
	check_rate(1ULL << 40, 1ULL << 36, 1ULL << 36, 100);
	check_rate(1ULL << 40, 1ULL << 40, 1ULL << 30, 10);
}

static void test_set_rate(void)
{
	unsigned int bad = 0, steps = 0;
	struct vwc_tbucket tb;
	u64 now = 0, burst = 1000;
	u128 total;

	/* 1 token/s, emptied; at 10^6/s, 1000 tokens take 1 ms, not 1000 s. */
	vwc_tb_init(&tb, 1, burst, 0);
	CHECK(vwc_tb_take(&tb, 0, burst));
	CHECK(!vwc_tb_take(&tb, 0, 1));
	CHECK(vwc_tb_wait_ns(&tb, 0, 1000) == 1000 * NS);
	vwc_tb_set_rate(&tb, 1000000, burst, 0);
	CHECK(vwc_tb_wait_ns(&tb, 0, 1000) == NS / 1000);
	CHECK(!vwc_tb_take(&tb, NS / 1000 - 1, 1000));
	CHECK(vwc_tb_take(&tb, NS / 1000, 1000));

	/* 10 s at 5000/s then 10 s at 100/s: the second phase at 100/s. */
	vwc_tb_init(&tb, 5000, burst, 0);
	now = 0;
	total = run(&tb, &now, 10 * NS, 50, 0, &bad, &steps);
	CHECK(total <= 5000 * 10 + burst && total + 50 + steps >= 5000 * 10);
	vwc_tb_set_rate(&tb, 100, burst, now);
	total = run(&tb, &now, 20 * NS, 50, 0, &bad, &steps);
	CHECK(total <= 100 * 10 + burst && total + 50 >= 100 * 10);
	CHECK(bad == 0);

	/* What was earned before the change is kept: at the old rate. */
	vwc_tb_init(&tb, 1000, 1000, 0);
	CHECK(vwc_tb_take(&tb, 0, 1000));
	vwc_tb_set_rate(&tb, 1, 1000, NS / 2);
	CHECK(tb.tokens == 500);
	CHECK(vwc_tb_take(&tb, NS / 2, 500));
	CHECK(!vwc_tb_take(&tb, NS / 2 + NS - 1, 1));
	CHECK(vwc_tb_take(&tb, NS / 2 + NS, 1));

	/* A part token earned at 1/s is not worth 900000 at 10^6/s. */
	vwc_tb_init(&tb, 1, 1000, 0);
	CHECK(vwc_tb_take(&tb, 0, 1000));
	vwc_tb_set_rate(&tb, 1000000, 1000, NS / 10 * 9);
	CHECK(tb.tokens == 0);
	CHECK(vwc_tb_wait_ns(&tb, NS / 10 * 9, 1) == 1000);

	/* A smaller burst clips what is there. */
	vwc_tb_init(&tb, 100, 1000, 0);
	vwc_tb_set_rate(&tb, 100, 10, 0);
	CHECK(tb.tokens == 10);
	CHECK(vwc_tb_take(&tb, 0, 6));
	CHECK(!vwc_tb_take(&tb, 0, 5));
}

static void test_unlimited_and_big(void)
{
	struct vwc_tbucket tb;
	u64 w;

	vwc_tb_init(&tb, 0, 0, 5);
	CHECK(tb.burst == 1);
	CHECK(vwc_tb_take(&tb, 0, U64_MAX));
	CHECK(vwc_tb_take(&tb, U64_MAX, U64_MAX));
	CHECK(vwc_tb_wait_ns(&tb, 0, U64_MAX) == 0);
	/* From unlimited to limited: a full bucket. */
	vwc_tb_set_rate(&tb, 10, 20, 100);
	CHECK(tb.tokens == 20);
	CHECK(vwc_tb_take(&tb, 100, 20));
	CHECK(!vwc_tb_take(&tb, 100, 1));
	/* And back. */
	vwc_tb_set_rate(&tb, 0, 20, 100);
	CHECK(vwc_tb_take(&tb, 100, 1000000));

	/* Larger than the burst: through when full, the rest owed. */
	vwc_tb_init(&tb, 100, 100, 0);
	CHECK(vwc_tb_wait_ns(&tb, 0, 1000) == 0);
	CHECK(vwc_tb_take(&tb, 0, 1000));
	w = vwc_tb_wait_ns(&tb, 0, 1);
	CHECK(w == 9 * NS + NS / 100);
	CHECK(!vwc_tb_take(&tb, w - 1, 1));
	CHECK(vwc_tb_take(&tb, w, 1));
	/* Not full: a big request waits until it is. */
	vwc_tb_init(&tb, 100, 100, 0);
	CHECK(vwc_tb_take(&tb, 0, 50));
	CHECK(!vwc_tb_take(&tb, 0, 1000));
	CHECK(vwc_tb_wait_ns(&tb, 0, 1000) == NS / 2);
	/* A deficit survives a rate change, at the new rate. */
	vwc_tb_init(&tb, 100, 100, 0);
	CHECK(vwc_tb_take(&tb, 0, 1100));	/* 10 s owed at 100/s */
	vwc_tb_set_rate(&tb, 1000, 100, 0);	/* 1 s at 1000/s */
	CHECK(vwc_tb_wait_ns(&tb, 0, 1) == NS + NS / 1000);
	/* The clock going back credits nothing and breaks nothing. */
	vwc_tb_init(&tb, 100, 100, 5 * NS);
	CHECK(vwc_tb_take(&tb, 5 * NS, 100));
	CHECK(!vwc_tb_take(&tb, NS, 1));
	CHECK(vwc_tb_wait_ns(&tb, NS, 1) == 4 * NS + NS / 100);
}

/*
 * Extreme values: clocks near 2^63 and beyond, rates to 2^64, bursts and
 * requests to 2^64.  The bucket never holds more than its burst and
 * never gives more than burst + rate * T (checked in 128 bits).
 */
static void test_extremes(void)
{
	static const u64 rates[] = { 1, 3, 1ULL << 20, NS, 1ULL << 40,
				     1ULL << 50, U64_MAX / 2, U64_MAX };
	unsigned int bad = 0, over = 0, i, k;
	struct vwc_tbucket tb;
	u64 now, t0, rate, burst, n;
	u128 total;

	for (k = 0; k < ARRAY_SIZE(rates) * 4; k++) {
		rate = rates[k % ARRAY_SIZE(rates)];
		burst = k & 1 ? U64_MAX : 1 + (rnd() >> (rnd() % 64));
		t0 = (1ULL << 63) - (rnd() >> 20);
		now = t0;
		total = 0;
		vwc_tb_init(&tb, rate, burst, now);
		for (i = 0; i < 3000; i++) {
			n = rnd() % 3 ? rnd() >> (rnd() % 64) : U64_MAX;
			if (vwc_tb_take(&tb, now, n))
				total += n;
			vwc_tb_wait_ns(&tb, now, rnd());
			if (tb.tokens > tb.burst)
				bad++;
			if (tb.last_ns <= now &&
			    total > (u128)burst + (u128)rate * (now - t0) / NS)
				over++;
			if (U64_MAX - now > (1ULL << 40))
				now += rnd() >> (24 + rnd() % 40);
		}
		vwc_tb_take(&tb, U64_MAX, U64_MAX);
		vwc_tb_wait_ns(&tb, U64_MAX, U64_MAX);
		vwc_tb_set_rate(&tb, rate / 2 + 1, burst, U64_MAX);
		if (tb.tokens > tb.burst)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(over == 0);
}

int main(void)
{
	unit_seed(0xdeadbeefcafef00dULL);
	test_mul_div();
	test_rates();
	test_set_rate();
	test_unlimited_and_big();
	test_extremes();
	return unit_report("test_tbucket");
}
