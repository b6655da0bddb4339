// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache accounting: see dm-vwcache-stats.h for the rules of this
 * file.
 */
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/slab.h>

#include "dm-vwcache-stats.h"

#define VWC_STATS_WORDS	(sizeof(struct vwc_stats) / sizeof(u64))

struct vwc_stats __percpu *vwc_stats_alloc(void)
{
	BUILD_BUG_ON(sizeof(struct vwc_stats) % sizeof(u64));
	return alloc_percpu(struct vwc_stats);
}

void vwc_stats_sum(struct vwc_stats __percpu *stats, struct vwc_stats *sum)
{
	u64 *out = (u64 *)sum;
	unsigned int i;
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const u64 *in = (const u64 *)per_cpu_ptr(stats, cpu);

		for (i = 0; i < VWC_STATS_WORDS; i++)
			out[i] += READ_ONCE(in[i]);
	}
}

void vwc_stats_clear(struct vwc_stats __percpu *stats)
{
	int cpu;

	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(stats, cpu), 0, sizeof(struct vwc_stats));
}

/*
 * Bucket 0 counts I/Os under 1 us, bucket k (k >= 1) those of 2^(k-1) us
 * up to 2^k us; the last bucket everything longer.  The sum of the
 * latencies in ns goes beside the buckets, in the same per-CPU block.
 */
void vwc_stats_latency(struct vwc_stats __percpu *stats, bool write, u64 ns)
{
	u64 us = div_u64(ns, NSEC_PER_USEC);
	unsigned int b = us ? min_t(unsigned int, ilog2(us) + 1,
				    VWC_LAT_BUCKETS - 1) : 0;

	this_cpu_inc(stats->lat[write][b]);
	this_cpu_add(stats->lat_sum_ns[write], ns);
}

/* The upper bound of a bucket, in us: 1, 2, 4, ... */
u64 vwc_lat_bucket_bound_us(unsigned int bucket)
{
	return 1ULL << bucket;
}

struct vwc_acct *vwc_acct_alloc(void)
{
	struct vwc_acct *a = kzalloc(sizeof(*a), GFP_KERNEL);

	if (!a)
		return NULL;
	a->pcpu = vwc_stats_alloc();
	if (!a->pcpu) {
		kfree(a);
		return NULL;
	}
	spin_lock_init(&a->lock);
	vwc_acct_clear(a, 0);
	return a;
}

void vwc_acct_free(struct vwc_acct *a)
{
	if (!a)
		return;
	free_percpu(a->pcpu);
	kfree(a);
}

static void vwc_acct_now(struct vwc_acct *a, u64 wb_blocks,
			 u64 v[VWC_NR_RATES])
{
	struct vwc_stats st;

	vwc_stats_sum(a->pcpu, &st);
	v[VWC_RATE_READS] = st.reads;
	v[VWC_RATE_WRITES] = st.writes;
	v[VWC_RATE_READ_BYTES] = st.read_bytes;
	v[VWC_RATE_WRITE_BYTES] = st.write_bytes;
	v[VWC_RATE_WB_BLOCKS] = wb_blocks;
}

/* Zero the counters; the ring restarts with one sample of zeros. */
void vwc_acct_clear(struct vwc_acct *a, u64 wb_blocks)
{
	unsigned long flags;

	vwc_stats_clear(a->pcpu);
	spin_lock_irqsave(&a->lock, flags);
	memset(a->v, 0, sizeof(a->v));
	a->v[0][VWC_RATE_WB_BLOCKS] = wb_blocks;
	a->t[0] = ktime_get_ns();
	a->next = 1;
	a->count = 1;
	spin_unlock_irqrestore(&a->lock, flags);
}

/* The tick's sample; a second one within 50 ms is not taken. */
void vwc_acct_sample(struct vwc_acct *a, u64 wb_blocks)
{
	unsigned int last = (a->next + VWC_RATE_SAMPLES - 1) %
			    VWC_RATE_SAMPLES;
	u64 v[VWC_NR_RATES], now = ktime_get_ns();
	unsigned long flags;

	vwc_acct_now(a, wb_blocks, v);
	spin_lock_irqsave(&a->lock, flags);
	if (now - a->t[last] >= 50 * NSEC_PER_MSEC) {
		a->t[a->next] = now;
		memcpy(a->v[a->next], v, sizeof(v));
		a->next = (a->next + 1) % VWC_RATE_SAMPLES;
		if (a->count < VWC_RATE_SAMPLES)
			a->count++;
	}
	spin_unlock_irqrestore(&a->lock, flags);
}

/* Per second, over the time since the oldest sample (about 1 s). */
void vwc_acct_rates(struct vwc_acct *a, u64 wb_blocks,
		    u64 rates[VWC_NR_RATES])
{
	u64 v[VWC_NR_RATES], base[VWC_NR_RATES], t0, now;
	unsigned long flags;
	unsigned int i, oldest;

	vwc_acct_now(a, wb_blocks, v);
	now = ktime_get_ns();
	spin_lock_irqsave(&a->lock, flags);
	oldest = (a->next + VWC_RATE_SAMPLES - a->count) % VWC_RATE_SAMPLES;
	t0 = a->t[oldest];
	memcpy(base, a->v[oldest], sizeof(base));
	spin_unlock_irqrestore(&a->lock, flags);
	for (i = 0; i < VWC_NR_RATES; i++) {
		if (now <= t0 || v[i] < base[i])
			rates[i] = 0;
		else
			rates[i] = mul_u64_u64_div_u64(v[i] - base[i],
						       NSEC_PER_SEC, now - t0);
	}
}
