/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache accounting of a VM (and of a pool): counters, latency
 * histograms and rates over the last second.
 *
 * Counters and histograms are per CPU, in one block per VM: each event
 * of the I/O path bumps that block only, without a lock.  The per-CPU
 * values only grow (nothing zeroes them after alloc_percpu() did): they
 * are summed when read, and "clear_stats" of the VM keeps the sums of
 * that moment as its base, which what the VM shows is taken from.  So the
 * raw sums (vwc_acct_total()) never go backwards, and the pool's figures
 * are built from them: the sum over its VM slots' accountings, plus those
 * of the accountings freed, minus the pool's own base (dm-vwcache-pool.c,
 * vwc_pool_stats()).
 *
 * Rates come from samples of the VM's summed counters that the pool's
 * tick takes every 100 ms into a ring of VWC_RATE_SAMPLES: a rate is the
 * difference between now and the oldest sample (about one second ago),
 * over the time between them.  The ring and the base have their own
 * spinlock, taken by the tick, by readers and by a clear only.
 *
 * A VM's accounting belongs to its VM slot while a VM device is attached
 * to it, so a table reload keeps the counters; it goes when the last
 * VM device of the slot does.
 */
#ifndef DM_VWCACHE_STATS_H
#define DM_VWCACHE_STATS_H

#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#define VWC_LAT_BUCKETS		32	/* log2 of microseconds */
#define VWC_RATE_SAMPLES	11	/* 10 ticks of 100 ms: one second */

/* Per CPU; summed when read.  Only u64s: summed as an array. */
struct vwc_stats {
	u64 reads;
	u64 writes;
	u64 read_bytes;
	u64 write_bytes;
	u64 read_hits;
	u64 write_hits;
	u64 coalesced;
	u64 throttled;
	u64 sequential_bypassed;	/* bytes past sequential_cutoff */
	u64 lat[2][VWC_LAT_BUCKETS];	/* [write] by log2 of us */
	u64 lat_sum_ns[2];		/* [write] sum of the latencies */
};

enum vwc_rate {
	VWC_RATE_READS,
	VWC_RATE_WRITES,
	VWC_RATE_READ_BYTES,
	VWC_RATE_WRITE_BYTES,
	VWC_RATE_WB_BLOCKS,
	VWC_NR_RATES,
};

struct vwc_acct {
	struct vwc_stats __percpu *pcpu;
	spinlock_t lock;		/* base and the samples */
	struct vwc_stats base;		/* the sums at the last clear */
	unsigned int next;		/* the slot the next sample goes in */
	unsigned int count;		/* samples in the ring */
	u64 t[VWC_RATE_SAMPLES];	/* ns */
	u64 v[VWC_RATE_SAMPLES][VWC_NR_RATES];
};

void vwc_stats_add(struct vwc_stats *sum, const struct vwc_stats *add);
void vwc_stats_sub(struct vwc_stats *sum, const struct vwc_stats *sub);
void vwc_stats_latency(struct vwc_stats __percpu *stats, bool write, u64 ns,
		       u32 nr);
u64 vwc_lat_bucket_bound_us(unsigned int bucket);

struct vwc_acct *vwc_acct_alloc(void);
void vwc_acct_free(struct vwc_acct *a);
void vwc_acct_total(struct vwc_acct *a, struct vwc_stats *sum);
void vwc_acct_read(struct vwc_acct *a, struct vwc_stats *st);
void vwc_acct_clear(struct vwc_acct *a, u64 wb_blocks);
u64 vwc_acct_sample(struct vwc_acct *a, u64 wb_blocks);
void vwc_acct_rates(struct vwc_acct *a, u64 wb_blocks,
		    u64 rates[VWC_NR_RATES]);

#endif /* DM_VWCACHE_STATS_H */
