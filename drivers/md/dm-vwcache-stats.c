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

/* Add the sums over the CPUs of @stats to @sum. */
static void vwc_stats_add_pcpu(struct vwc_stats *sum,
			       struct vwc_stats __percpu *stats)
{
	u64 *out = (u64 *)sum;
	unsigned int i;
	int cpu;

	for_each_possible_cpu(cpu) {
		const u64 *in = (const u64 *)per_cpu_ptr(stats, cpu);

		for (i = 0; i < VWC_STATS_WORDS; i++)
			out[i] += READ_ONCE(in[i]);
	}
}

/* The sums over the CPUs of @stats, in @sum. */
static void vwc_stats_sum_pcpu(struct vwc_stats *sum,
			       struct vwc_stats __percpu *stats)
{
	memset(sum, 0, sizeof(*sum));
	vwc_stats_add_pcpu(sum, stats);
}

void vwc_stats_add(struct vwc_stats *sum, const struct vwc_stats *add)
{
	const u64 *in = (const u64 *)add;
	u64 *out = (u64 *)sum;
	unsigned int i;

	for (i = 0; i < VWC_STATS_WORDS; i++)
		out[i] += in[i];
}

/*
 * Take @sub from @sum, no word below 0: a sum read before a clear that
 * took a larger base shows 0, as if read after it.
 */
void vwc_stats_sub(struct vwc_stats *sum, const struct vwc_stats *sub)
{
	const u64 *in = (const u64 *)sub;
	u64 *out = (u64 *)sum;
	unsigned int i;

	for (i = 0; i < VWC_STATS_WORDS; i++)
		out[i] = out[i] > in[i] ? out[i] - in[i] : 0;
}

/*
 * Bucket 0 counts I/Os under 1 us, bucket k (k >= 1) those of 2^(k-1) us
 * up to 2^k us; the last bucket everything longer.  The sum of the
 * latencies in ns goes beside the buckets, in the same per-CPU block.
 */
/*
 * A bio took @ns: counted @nr times, once per cache block it touched, as
 * the reads and writes counters count it, so that the histogram's count
 * is theirs (the admin guide, "sysfs").
 */
void vwc_stats_latency(struct vwc_stats __percpu *stats, bool write, u64 ns,
		       u32 nr)
{
	u64 us = div_u64(ns, NSEC_PER_USEC);
	unsigned int b = us ? min_t(unsigned int, ilog2(us) + 1,
				    VWC_LAT_BUCKETS - 1) : 0;

	this_cpu_add(stats->lat[write][b], nr);
	this_cpu_add(stats->lat_sum_ns[write], ns * nr);
}

/* The upper bound of a bucket, in us: 1, 2, 4, ... */
u64 vwc_lat_bucket_bound_us(unsigned int bucket)
{
	return 1ULL << bucket;
}

/* Zeroed by the allocators: counters, base and ring (one sample of 0s). */
struct vwc_acct *vwc_acct_alloc(void)
{
	struct vwc_acct *a;

	BUILD_BUG_ON(sizeof(struct vwc_stats) % sizeof(u64));
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return NULL;
	a->pcpu = alloc_percpu(struct vwc_stats);
	if (!a->pcpu) {
		kfree(a);
		return NULL;
	}
	spin_lock_init(&a->lock);
	a->t[0] = ktime_get_ns();
	a->next = 1;
	a->count = 1;
	return a;
}

void vwc_acct_free(struct vwc_acct *a)
{
	if (!a)
		return;
	free_percpu(a->pcpu);
	kfree(a);
}

/*
 * Add to @sum what @a counted since it was allocated, clears ignored: it
 * never goes backwards (for the pool's figures).  No lock: the per-CPU
 * words only grow.
 */
void vwc_acct_total(struct vwc_acct *a, struct vwc_stats *sum)
{
	vwc_stats_add_pcpu(sum, a->pcpu);
}

/* The VM's figures: what @a counted since its last clear. */
void vwc_acct_read(struct vwc_acct *a, struct vwc_stats *st)
{
	unsigned long flags;

	vwc_stats_sum_pcpu(st, a->pcpu);
	spin_lock_irqsave(&a->lock, flags);
	vwc_stats_sub(st, &a->base);
	spin_unlock_irqrestore(&a->lock, flags);
}

static void vwc_acct_now(struct vwc_acct *a, u64 wb_blocks,
			 u64 v[VWC_NR_RATES])
{
	struct vwc_stats st;

	vwc_acct_read(a, &st);
	v[VWC_RATE_READS] = st.reads;
	v[VWC_RATE_WRITES] = st.writes;
	v[VWC_RATE_READ_BYTES] = st.read_bytes;
	v[VWC_RATE_WRITE_BYTES] = st.write_bytes;
	v[VWC_RATE_WB_BLOCKS] = wb_blocks;
}

/*
 * Zero the VM's figures: the sums of now become the base they are taken
 * from (the per-CPU counters are left as they are, for the pool's
 * figures); the ring restarts with one sample of zeros.
 */
void vwc_acct_clear(struct vwc_acct *a, u64 wb_blocks)
{
	unsigned long flags;

	spin_lock_irqsave(&a->lock, flags);
	vwc_stats_sum_pcpu(&a->base, a->pcpu);
	memset(a->v, 0, sizeof(a->v));
	a->v[0][VWC_RATE_WB_BLOCKS] = wb_blocks;
	a->t[0] = ktime_get_ns();
	a->next = 1;
	a->count = 1;
	spin_unlock_irqrestore(&a->lock, flags);
}

/*
 * The tick's sample (a second one within 50 ms is not taken); returns the
 * VM's reads and writes so far, for the pool's idle detector.
 */
u64 vwc_acct_sample(struct vwc_acct *a, u64 wb_blocks)
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
	return v[VWC_RATE_READS] + v[VWC_RATE_WRITES];
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
