// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache background work: writeback of dirty blocks to their origins,
 * reclaim of clean blocks, and the periodic tick that drives both and the
 * commit interval.
 *
 * Writeback rules:
 *  - per VM slot, oldest dirty blocks first, each with its dirty
 *    neighbours in origin order, sorted by origin block and merged into
 *    runs of up to 1 MiB (dm-vwcache-wbplan.c);
 *  - a slot is written back when the pool is above high_watermark (until
 *    it is down to low_watermark), when its oldest dirty block is older
 *    than max_age, when it flushes (flush, migrate_prepare) or drains (a
 *    write waits for one of its dirty blocks), and while every block of
 *    the pool is dirty (a write found none free or clean to evict: not
 *    merely none free);
 *  - only attached slots: the origin of a removed VM device is unknown;
 *  - the slots considered are those on pool->wb_slots, round robin: never
 *    a walk of every slot of the pool (vwc_wb_enlist_locked());
 *  - in flight (reading or writing, a buffer held): up to
 *    VWC_WB_MAX_JOBS runs and VWC_WB_MAX_BYTES when something waits on it
 *    (a slow origin needs many writes in flight: random dirty blocks make
 *    one-block runs); above the high watermark alone, a share of
 *    VWC_WB_MAX_BYTES that grows with the dirty share (writeback keeps
 *    pace with the writes, vwc_wb_high_bound_locked()); else one run (it
 *    yields to VM I/O); for the watermarks all of VWC_WB_MAX_BYTES while
 *    the pool is idle (vwc_sample_rates()), and never more than the dirty
 *    data above the low mark (vwc_wb_above_low_locked()); per origin, at
 *    most writeback_depth runs, or its request queue's depth
 *    (vwc_wb_vm_depth(): one slow origin does not hold all the pool's
 *    runs in flight);
 *    writeback_iops caps the rate.  A run written
 *    leaves that bound (its buffer's pages go back to the pool's cache,
 *    dm-vwcache-wbbuf.h) while it waits for its flush, so writes go on
 *    during a flush;
 *  - a run reads the sub-blocks its blocks hold (as planned:
 *    pool->wb_subs) from the SSD (a batch's reads in cblock order, all
 *    its runs allocated first, a read per stretch next to each other on
 *    the SSD and in the run's buffer, and neighbours merge under the
 *    plug), writes them to its origin (a write per
 *    stretch of them in a row, across blocks), and
 *    is finished (its blocks clean) once a flush of the origin issued
 *    after its write completed; the writes of a slot's runs are submitted
 *    by the slot's work item (wb_write_work: an origin that makes
 *    submission wait holds up its own VM only), under a plug, and the
 *    runs written are flushed and finished by another of the slot's
 *    (wb_flush_work, which never waits for I/O: the flush is a bio whose
 *    completion queues it again): each takes every run ready, so the
 *    workers are bounded by the VMs writing back, not the runs in flight;
 *  - a block written during its writeback (REDIRTY) stays dirty; a failed
 *    read or write keeps it dirty and the slot backs off, up to 30 s.
 * I3, writeback before clean: a run's blocks become clean in RAM only
 * after a flush of its origin that followed its write completed (one flush
 * at a time per slot, for every run of the slot written before it was
 * issued, not a FUA write per run), so their data is durable on the
 * origin; the next commit records them clean.  No commit waits for an
 * origin flush, so an origin that fails its writes or flushes fails the
 * writeback of its own VM only.
 */
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "dm-vwcache.h"
#include "dm-vwcache-cache.h"
#include "dm-vwcache-commit.h"
#include "dm-vwcache-wbplan.h"
#include "dm-vwcache-wbbuf.h"
#include "dm-vwcache-writeback.h"

#define VWC_WB_MAX_JOBS		VWC_WB_DEPTH_MAX
#define VWC_WB_MAX_BYTES	(16U << 20)
#define VWC_WB_RUN_BYTES	(1U << 20)
#define VWC_WB_MIN_ROOM		(VWC_WB_BATCH / 2)
#define VWC_WB_BACKOFF_MAX	(30 * HZ)
#define VWC_TICK		(HZ / 10)
#define VWC_WBBUF_IDLE		10	/* ticks: free the buffers' pages */

struct vwc_wb_job {
	struct vwc_pool *pool;
	u32 slot;
	struct block_device *origin;
	u64 oblock;
	u32 count;
	u32 nr_pages;			/* its buffer's, 0 once given back */
	struct page_list *pages;	/* its buffer (dm-vwcache-wbbuf.h) */
	atomic_t reads;
	atomic_t writes;
	unsigned long error;
	u16 *subs;			/* sub-blocks of each block, as planned */
	struct list_head list;		/* in its slot's wb_to_write, or in
					 * its wb_to_flush
					 */
	u32 cbs[];
};

static bool vwc_slot_expired_locked(struct vwc_pool *pool,
				    struct vwc_slot *s)
{
	u64 max_age_s = pool->settings.max_age / 1000;
	struct vwc_block *head;

	if (!pool->settings.max_age || vwc_list_empty(&s->dirty))
		return false;
	head = vwc_block(&pool->blocks, s->dirty.head);
	return (u32)(vwc_now_s() - head->stamp) >= max_t(u64, max_age_s, 1);
}

static void vwc_update_high_locked(struct vwc_pool *pool)
{
	u64 pct = div_u64((u64)pool->nr_dirty * 100, pool->blocks.nr);

	if (pct >= pool->settings.high_watermark)
		pool->wb_high = true;
	else if (pct <= pool->settings.low_watermark)
		pool->wb_high = false;
}

/*
 * A slot at its cache quota with no clean block of its own to evict
 * writes back, until it is below the quota's low mark again.
 */
static bool vwc_slot_quota_wb_locked(struct vwc_slot *s)
{
	if (s->quota_full && (!s->quota || s->nr_cached <= vwc_quota_low(s) ||
			      vwc_list_empty(&s->dirty)))
		s->quota_full = false;
	return s->quota_full;
}

/* Flushing ends when no block dirtied before the flush is left. */
static void vwc_slot_check_flushed_locked(struct vwc_pool *pool,
					  struct vwc_slot *s)
{
	struct vwc_block *head;

	if (!s->flushing)
		return;
	if (!vwc_list_empty(&s->dirty)) {
		if (s->flush_all)
			return;
		head = vwc_block(&pool->blocks, s->dirty.head);
		if ((s32)(head->stamp - s->flush_before) < 0)
			return;
	}
	s->flushing = false;
	s->flush_all = false;
}

/*
 * A dirty block of @s went clean or away.  A slot left with nothing dirty
 * (its blocks written back, or discarded while it backed off) has no
 * failed writeback to retry and no flush to finish: both end now, owned
 * or not (a slot off the writeback list is never looked at by it).
 */
void vwc_wb_slot_cleaned_locked(struct vwc_pool *pool, struct vwc_slot *s)
{
	if (!vwc_list_empty(&s->dirty))
		return;
	s->wb_backoff = 0;
	vwc_slot_check_flushed_locked(pool, s);
}

/* @pct per cent of the pool's blocks (a watermark) in blocks. */
static u64 vwc_wb_mark_blocks(const struct vwc_pool *pool, u32 pct)
{
	return div_u64((u64)pool->blocks.nr * pct, 100);
}

/*
 * Above the high watermark, and nothing else asks for haste: the bytes of
 * writeback in flight grow with the dirty share, from one run (0) at the
 * high watermark to VWC_WB_MAX_BYTES with every block dirty.  So
 * writeback keeps pace with the writes that dirty the pool without
 * taking the SSD and the origin from them while clean room is left (a
 * stream that rewrites what was just written back would otherwise have
 * its data written back over and over).
 */
static u64 vwc_wb_high_bound_locked(struct vwc_pool *pool)
{
	u64 high = vwc_wb_mark_blocks(pool, pool->settings.high_watermark);

	if (pool->nr_dirty <= high || pool->blocks.nr <= high)
		return 0;
	return div64_u64((u64)(pool->nr_dirty - high) * VWC_WB_MAX_BYTES,
			 pool->blocks.nr - high);
}

/*
 * Writeback that runs for the watermarks has no more than the dirty data
 * above low_watermark under way at once, so that it stops near the low
 * mark, not a whole bound below it: the bytes that may be in flight are
 * those above the mark less those written and waiting for their flush
 * (still dirty, no longer in flight).
 */
static u64 vwc_wb_above_low_locked(struct vwc_pool *pool)
{
	u64 low = vwc_wb_mark_blocks(pool, pool->settings.low_watermark);
	u64 above, waiting;

	if (pool->nr_dirty <= low)
		return 0;
	above = (u64)(pool->nr_dirty - low) << (pool->block_shift +
						SECTOR_SHIFT);
	waiting = pool->wb_unfinished_bytes - pool->wb_inflight_bytes;
	return above > waiting ? above - waiting : 0;
}

/*
 * Should @s be written back now, and how much of it may be in flight
 * (*@bound bytes: 0 for one run at a time, background writeback that
 * yields to VM I/O)?  All of VWC_WB_MAX_BYTES when something waits for
 * it, or while no VM device of the pool does I/O (vwc_sample_rates()).
 */
static bool vwc_slot_wants_wb_locked(struct vwc_pool *pool,
				     struct vwc_slot *s, u64 *bound)
{
	bool urgent, expired;

	if (vwc_list_empty(&s->dirty)) {
		vwc_wb_slot_cleaned_locked(pool, s);
		return false;
	}
	if (!s->vm || time_before(jiffies, s->wb_retry_at))
		return false;
	/* Not in writeback mode: nothing new gets dirty, drain what is. */
	urgent = s->flushing || s->drain || pool->all_dirty ||
		 vwc_slot_quota_wb_locked(s) ||
		 READ_ONCE(s->vm->settings.mode) != VWC_MODE_WRITEBACK;
	if (urgent) {
		*bound = VWC_WB_MAX_BYTES;
		return true;
	}
	expired = vwc_slot_expired_locked(pool, s);
	if (!pool->wb_high && !expired)
		return false;
	/* max_age alone stays a trickle: one run at a time. */
	*bound = READ_ONCE(pool->vm_idle) && !expired ? VWC_WB_MAX_BYTES :
		 vwc_wb_high_bound_locked(pool);
	if (!expired)
		*bound = min(*bound, vwc_wb_above_low_locked(pool));
	return true;
}

/*
 * A block is written back: clean now, or gone when its slot is over the
 * low mark of its cache quota (it makes room for the slot's own writes).
 * Not gone while other I/O uses it (a pin besides the writeback's own):
 * an in-place write mapped before the writeback read the block ends
 * after this, and must land in a mapped block, which it makes dirty again.
 * (Pins given back later are given back first: dm-vwcache-unpin.h.)
 */
static void vwc_wb_done_block_locked(struct vwc_pool *pool,
				     struct vwc_slot *s, u32 cb)
{
	bool drop = s->quota && s->nr_cached > vwc_quota_low(s);

	if (drop) {
		/*
		 * The quota, then the pins: an in-place write pinning
		 * without cache_lock reads the quota after its pin
		 * (vwc_quick_takes()): one of the two sees the other.
		 */
		smp_mb();
	}
	if (drop && vwc_block_pins(vwc_block(&pool->blocks, cb)) > 1)
		vwc_unpins_apply_locked(pool);
	if (drop && vwc_block_pins(vwc_block(&pool->blocks, cb)) == 1)
		vwc_drop_block_locked(pool, cb);
	else
		vwc_make_clean_locked(pool, cb);
	s->writeback_blocks++;
	pool->wb_total++;
}

static u64 vwc_wb_run_bytes(struct vwc_pool *pool,
			    const struct vwc_wb_run *run)
{
	return (u64)run->count << (pool->block_shift + SECTOR_SHIFT);
}

static u64 vwc_wb_job_bytes(const struct vwc_wb_job *job)
{
	return (u64)job->count << (job->pool->block_shift + SECTOR_SHIFT);
}

/*
 * Count a run about to start, before cache_lock is dropped to allocate its
 * job: a VM device detaching waits for the slot's jobs, and the pool's
 * teardown for the pool's (see vwc_pool_stop()), so both must see it,
 * until it is finished.  It is in flight (the bound on writeback I/O and
 * buffers) until its write completes.
 */
static void vwc_wb_reserve_locked(struct vwc_pool *pool, u32 slot, u64 bytes)
{
	pool->wb_inflight++;
	pool->wb_inflight_bytes += bytes;
	pool->wb_unfinished++;
	pool->wb_unfinished_bytes += bytes;
	pool->slots[slot].wb_jobs++;
	pool->slots[slot].wb_inflight++;
}

/* A run is no longer in flight: its write is done, its buffer freed. */
static void vwc_wb_landed_locked(struct vwc_pool *pool, u32 slot, u64 bytes)
{
	pool->wb_inflight--;
	pool->wb_inflight_bytes -= bytes;
	pool->slots[slot].wb_inflight--;
}

static void vwc_wb_unreserve_locked(struct vwc_pool *pool, u32 slot,
				    u64 bytes)
{
	pool->wb_unfinished--;
	pool->wb_unfinished_bytes -= bytes;
	pool->slots[slot].wb_jobs--;
	wake_up_all(&pool->wb_wait);
}

static void vwc_wb_finish(struct vwc_wb_job *job)
{
	struct vwc_pool *pool = job->pool;
	struct vwc_slot *s = &pool->slots[job->slot];
	bool held = job->nr_pages;
	unsigned long flags;
	u32 i;

	/* Before the unreserve below: after it the pool may be gone. */
	vwc_wbbuf_put(&pool->wbbuf, job->pages, job->nr_pages);
	vwc_cache_lock_irqsave(pool, flags);
	for (i = 0; i < job->count; i++) {
		u32 cb = job->cbs[i];
		struct vwc_block *b = vwc_block(&pool->blocks, cb);
		bool ours = (b->flags & (VWC_B_VALID | VWC_B_DIRTY)) ==
			    (VWC_B_VALID | VWC_B_DIRTY) &&
			    vwc_block_vm(b) == job->slot &&
			    vwc_block_oblock(b) == job->oblock + i;

		b->flags &= ~VWC_B_WB;
		if (ours && !job->error) {
			if (b->flags & VWC_B_REDIRTY) {
				b->flags &= ~VWC_B_REDIRTY;
				vwc_make_dirty_locked(pool, cb);
			} else {
				vwc_wb_done_block_locked(pool, s, cb);
			}
		} else if (ours) {
			b->flags &= ~VWC_B_REDIRTY;
		}
		vwc_unpin_locked(pool, cb);
	}
	if (job->error) {
		/*
		 * Back off twice as long as last time, once per round: the
		 * other runs of the round that fail meanwhile do not count.
		 */
		if (!s->wb_backoff || !time_before(jiffies, s->wb_retry_at)) {
			s->wb_backoff = min_t(unsigned long,
					      max_t(unsigned long,
						    s->wb_backoff * 2, HZ / 10),
					      VWC_WB_BACKOFF_MAX);
			s->wb_retry_at = jiffies + s->wb_backoff;
		}
		s->wb_errors++;
	} else {
		s->wb_backoff = 0;
	}
	s->drain = false;
	vwc_slot_check_flushed_locked(pool, s);
	vwc_update_high_locked(pool);
	if (job->error)
		DMERR_LIMIT("%s: writeback of %u blocks of %s failed; kept dirty",
			    dm_device_name(pool->md), job->count, s->vm_id);
	vwc_kick_deferred(pool);
	vwc_kick_writeback(pool);
	/* A run that failed before its write still holds its buffer. */
	if (held)
		vwc_wb_landed_locked(pool, job->slot, vwc_wb_job_bytes(job));
	/* The last use of the pool: see vwc_pool_stop(). */
	vwc_wb_unreserve_locked(pool, job->slot, vwc_wb_job_bytes(job));
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	kfree(job);
}

/*
 * Hand @job over to @work through @list.  Under cache_lock, as every
 * completion that touches the pool: the job cannot finish, nor the pool go
 * (vwc_pool_stop() waits for the runs unfinished under this lock), before
 * the work is queued.  May run in interrupt context, or inside the block
 * layer's flush sequence (a FUA write on a device that emulates FUA) with
 * interrupts off: the job's buffer is freed by the work, in process
 * context.
 */
static void vwc_wb_pass_on(struct vwc_wb_job *job, struct list_head *list,
			   struct work_struct *work)
{
	struct vwc_pool *pool = job->pool;
	unsigned long flags;

	vwc_cache_lock_irqsave(pool, flags);
	list_add_tail(&job->list, list);
	queue_work(pool->wq, work);
	spin_unlock_irqrestore(&pool->cache_lock, flags);
}

/* Take every job on @list (under cache_lock) into @jobs. */
static void vwc_wb_take(struct vwc_pool *pool, struct list_head *list,
			struct list_head *jobs)
{
	vwc_cache_lock_irq(pool);
	list_splice_init(list, jobs);
	spin_unlock_irq(&pool->cache_lock);
}

/*
 * The runs of @jobs are written: free their buffers and take them out of
 * the in-flight bound, so that more runs start while they wait for their
 * flush.  The runs whose write failed go to @failed (no flush makes them
 * clean), the others to the slot's wb_written.  In process context.
 */
static void vwc_wb_landed(struct vwc_slot *s, struct list_head *jobs,
			  struct list_head *failed)
{
	struct vwc_pool *pool = s->pool;
	struct vwc_wb_job *job, *next;

	if (list_empty(jobs))
		return;
	list_for_each_entry(job, jobs, list) {
		vwc_wbbuf_put(&pool->wbbuf, job->pages, job->nr_pages);
		job->nr_pages = 0;
	}
	vwc_cache_lock_irq(pool);
	list_for_each_entry_safe(job, next, jobs, list) {
		vwc_wb_landed_locked(pool, job->slot, vwc_wb_job_bytes(job));
		list_move_tail(&job->list, job->error ? failed : &s->wb_written);
	}
	vwc_kick_writeback(pool);
	spin_unlock_irq(&pool->cache_lock);
}

/* The runs the flush covered hold the pool: its bio goes back first. */
static void vwc_wb_flush_end(struct bio *bio)
{
	struct vwc_slot *s = bio->bi_private;
	blk_status_t status = bio->bi_status;
	unsigned long flags;

	bio_put(bio);
	vwc_cache_lock_irqsave(s->pool, flags);
	s->wb_flush_status = status;
	s->wb_flush_done = true;
	queue_work(s->pool->wq, &s->wb_flush_work);
	spin_unlock_irqrestore(&s->pool->cache_lock, flags);
}

/*
 * The flush of @s completed: its runs go to @done, failed if it failed
 * (their blocks stay dirty).
 */
static void vwc_wb_flush_reap_locked(struct vwc_slot *s,
				     struct list_head *done)
{
	struct vwc_wb_job *job;

	if (!s->wb_flush_done)
		return;
	if (s->wb_flush_status)
		list_for_each_entry(job, &s->wb_flushed, list)
			job->error |= 1;
	list_splice_tail_init(&s->wb_flushed, done);
	s->wb_flush_done = false;
	s->wb_flush_busy = false;
}

/*
 * If no flush of @s is in flight, the next one covers the runs written
 * so far to the origin of the first (a VM device reloaded onto another
 * origin may have runs on both: the others wait for the next flush).
 * Returns that origin, or NULL if no flush is to start.
 */
static struct block_device *vwc_wb_flush_next_locked(struct vwc_slot *s)
{
	struct vwc_wb_job *job, *next;
	struct block_device *origin;

	if (s->wb_flush_busy || list_empty(&s->wb_written))
		return NULL;
	origin = list_first_entry(&s->wb_written, struct vwc_wb_job,
				  list)->origin;
	list_for_each_entry_safe(job, next, &s->wb_written, list)
		if (job->origin == origin)
			list_move_tail(&job->list, &s->wb_flushed);
	s->wb_flush_busy = true;
	return origin;
}

static void vwc_wb_flush_submit(struct vwc_slot *s,
				struct block_device *origin)
{
	struct bio *bio = bio_alloc_bioset(origin, 0,
					   REQ_OP_WRITE | REQ_PREFLUSH,
					   GFP_NOIO, &s->pool->flush_bs);

	bio->bi_end_io = vwc_wb_flush_end;
	bio->bi_private = s;
	submit_bio(bio);
}

/*
 * I3: the runs of a slot written so far are made durable on their origin by
 * one flush, an empty REQ_PREFLUSH bio, then finished.  One flush of a
 * slot at a time: runs written while it is in flight wait for the next,
 * which its completion starts (it queues this work again), so the flushes
 * follow one another while the other runs go on, and no worker waits for
 * an origin (one that hangs holds its own runs only).  A failed flush
 * fails the runs it covered: their blocks stay dirty.  The slot's
 * wb_flush_work; a job finished may be the pool's last use
 * (vwc_pool_stop()): nothing of the slot is touched after the first is
 * finished (a flush started is submitted before: its runs hold the pool).
 */
static void vwc_wb_flush_work(struct work_struct *ws)
{
	struct vwc_slot *s = container_of(ws, struct vwc_slot, wb_flush_work);
	struct vwc_pool *pool = s->pool;
	struct vwc_wb_job *job, *next;
	struct block_device *origin;
	LIST_HEAD(written);
	LIST_HEAD(done);

	vwc_wb_take(pool, &s->wb_to_flush, &written);
	vwc_wb_landed(s, &written, &done);
	vwc_cache_lock_irq(pool);
	vwc_wb_flush_reap_locked(s, &done);
	origin = vwc_wb_flush_next_locked(s);
	spin_unlock_irq(&pool->cache_lock);
	if (origin)
		vwc_wb_flush_submit(s, origin);
	list_for_each_entry_safe(job, next, &done, list)
		vwc_wb_finish(job);
}

static void vwc_wb_write_done(unsigned long error, void *context)
{
	struct vwc_wb_job *job = context;
	struct vwc_slot *s = &job->pool->slots[job->slot];

	if (error)
		set_bit(0, &job->error);
	if (atomic_dec_and_test(&job->writes))
		vwc_wb_pass_on(job, &s->wb_to_flush, &s->wb_flush_work);
}

/* Is sub-block @i of the run (its blocks' sub-blocks in a row) planned? */
static bool vwc_wb_sub_planned(const struct vwc_wb_job *job, u32 per, u32 i)
{
	return job->subs[i / per] & BIT(i % per);
}

/*
 * The next stretch of planned sub-blocks in a row, [*@a, *@b), that starts
 * at or after *@b and ends at @end at the latest; false if there is none.
 * Start with *@b at the first sub-block to look at.
 */
static bool vwc_wb_stretch(const struct vwc_wb_job *job, u32 per, u32 end,
			   u32 *a, u32 *b)
{
	u32 i = *b;

	while (i < end && !vwc_wb_sub_planned(job, per, i))
		i++;
	if (i == end)
		return false;
	*a = i;
	while (i < end && vwc_wb_sub_planned(job, per, i))
		i++;
	*b = i;
	return true;
}

/*
 * Write the run's planned sub-blocks to the origin: one write for each
 * stretch of them in a row, across its blocks (a run of whole blocks is
 * one write).
 */
static void vwc_wb_write(struct vwc_wb_job *job)
{
	struct vwc_pool *pool = job->pool;
	unsigned int shift = pool->sub_shift;
	u32 per = 1U << (pool->block_shift - shift), a, b = 0;
	sector_t start = job->oblock << pool->block_shift;
	sector_t size = bdev_nr_sectors(job->origin);

	if (job->error || start >= size) {
		job->error |= 1;
		vwc_wb_finish(job);
		return;
	}
	atomic_set(&job->writes, 1);
	while (vwc_wb_stretch(job, per, job->count * per, &a, &b)) {
		struct dm_io_region where = {
			.bdev = job->origin,
			.sector = start + ((sector_t)a << shift),
			.count = (sector_t)(b - a) << shift,
		};
		struct dm_io_request req = {
			.bi_opf = REQ_OP_WRITE,	/* I3: flushed before clean */
			.mem = vwc_wbbuf_mem(job->pages,
					     (size_t)a << (shift + SECTOR_SHIFT)),
			.notify.fn = vwc_wb_write_done,
			.notify.context = job,
			.client = pool->io_client,
		};

		/* The origin may end inside the last block. */
		if (where.sector >= size)
			break;
		where.count = min(where.count, size - where.sector);
		atomic_inc(&job->writes);
		if (dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT))
			vwc_wb_write_done(1, job);
	}
	vwc_wb_write_done(0, job);
}

/* Write every run of a slot read, under one plug; its wb_write_work. */
static void vwc_wb_write_work(struct work_struct *ws)
{
	struct vwc_slot *s = container_of(ws, struct vwc_slot, wb_write_work);
	struct vwc_wb_job *job, *next;
	struct blk_plug plug;
	LIST_HEAD(jobs);

	vwc_wb_take(s->pool, &s->wb_to_write, &jobs);
	blk_start_plug(&plug);
	/* A job may be finished (freed) once its write is submitted. */
	list_for_each_entry_safe(job, next, &jobs, list) {
		list_del(&job->list);
		vwc_wb_write(job);
	}
	blk_finish_plug(&plug);
}

static void vwc_wb_read_done(unsigned long error, void *context)
{
	struct vwc_wb_job *job = context;

	if (error)
		set_bit(0, &job->error);
	if (atomic_dec_and_test(&job->reads)) {
		struct vwc_slot *s = &job->pool->slots[job->slot];

		vwc_wb_pass_on(job, &s->wb_to_write, &s->wb_write_work);
	}
}

/*
 * A read from the SSD into a run's buffer, grown while the stretches that
 * follow are next to it both on the SSD and in the buffer (the blocks of
 * a stream are often written back from cache blocks in a row): one dm-io
 * request for them, not one per block.
 */
struct vwc_wb_read {
	struct vwc_wb_job *job;		/* NULL: none pending */
	sector_t sector;		/* on the SSD */
	sector_t count;
	size_t offset;			/* in the job's buffer */
};

static void vwc_wb_read_submit(struct vwc_wb_read *rd)
{
	struct vwc_wb_job *job = rd->job;
	struct dm_io_region where = {
		.bdev = job->pool->cache.bdev,
		.sector = rd->sector,
		.count = rd->count,
	};
	struct dm_io_request req = {
		.bi_opf = REQ_OP_READ,
		.mem = vwc_wbbuf_mem(job->pages, rd->offset),
		.notify.fn = vwc_wb_read_done,
		.notify.context = job,
		.client = job->pool->io_client,
	};

	rd->job = NULL;
	atomic_inc(&job->reads);
	if (dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT))
		vwc_wb_read_done(1, job);
}

/*
 * Add block @i of the run's planned sub-blocks to the reads: a stretch
 * at a time, each joining the pending read if it continues it.
 */
static void vwc_wb_read_block(struct vwc_wb_read *rd, struct vwc_wb_job *job,
			      u32 i)
{
	struct vwc_pool *pool = job->pool;
	unsigned int shift = pool->sub_shift;
	u32 per = 1U << (pool->block_shift - shift), a, b = i * per;
	sector_t first = vwc_cblock_sector(pool, job->cbs[i]);

	while (vwc_wb_stretch(job, per, (i + 1) * per, &a, &b)) {
		sector_t sector = first + ((sector_t)(a - i * per) << shift);
		sector_t count = (sector_t)(b - a) << shift;
		size_t offset = (size_t)a << (shift + SECTOR_SHIFT);

		if (rd->job == job && rd->sector + rd->count == sector &&
		    rd->offset + (rd->count << SECTOR_SHIFT) == offset) {
			rd->count += count;
			continue;
		}
		if (rd->job)
			vwc_wb_read_submit(rd);
		rd->job = job;
		rd->sector = sector;
		rd->count = count;
		rd->offset = offset;
	}
}

/* The run of @nr_runs (cut from the plan in order) that holds block @p. */
static u32 vwc_wb_run_of(const struct vwc_wb_run *runs, u32 nr_runs, u32 p)
{
	u32 lo = 0, hi = nr_runs;

	while (hi - lo > 1) {
		u32 mid = lo + (hi - lo) / 2;

		if (runs[mid].first <= p)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Read the blocks of the runs started from a plan of @planned blocks cut
 * in @nr_runs runs (pool->wb_jobs[]: NULL for a run not started) from the
 * SSD, in cblock order, so that blocks written one after the other are
 * read in a row and merge into few requests under the caller's plug.  A
 * job goes on to its write once all its reads are done, not before all
 * are submitted.  The pool's writeback work: its scratch arrays.
 */
static void vwc_wb_read_batch(struct vwc_pool *pool, u32 planned,
			      u32 nr_runs)
{
	struct vwc_wb_read rd = { .job = NULL };
	struct vwc_wb_job *job;
	u32 i, p, r;

	for (r = 0; r < nr_runs; r++) {
		job = pool->wb_jobs[r];
		if (job)
			atomic_set(&job->reads, 1);
	}
	vwc_wb_read_order(pool->wb_cbs, planned, pool->wb_order);
	for (i = 0; i < planned; i++) {
		p = pool->wb_order[i];
		r = vwc_wb_run_of(pool->wb_runs, nr_runs, p);
		job = pool->wb_jobs[r];
		if (job)
			vwc_wb_read_block(&rd, job,
					  p - pool->wb_runs[r].first);
	}
	if (rd.job)
		vwc_wb_read_submit(&rd);
	for (r = 0; r < nr_runs; r++)
		if (pool->wb_jobs[r])
			vwc_wb_read_done(0, pool->wb_jobs[r]);
}

void vwc_wb_init_slots(struct vwc_pool *pool)
{
	u32 i;

	INIT_LIST_HEAD(&pool->wb_slots);
	vwc_wbbuf_init(&pool->wbbuf, VWC_WB_MAX_BYTES >> PAGE_SHIFT);
	for (i = 0; i < pool->sb.layout.max_vms; i++) {
		struct vwc_slot *s = &pool->slots[i];

		s->pool = pool;
		s->wb_from = VWC_NIL;
		INIT_LIST_HEAD(&s->wb_entry);
		INIT_LIST_HEAD(&s->wb_to_write);
		INIT_WORK(&s->wb_write_work, vwc_wb_write_work);
		INIT_LIST_HEAD(&s->wb_to_flush);
		INIT_LIST_HEAD(&s->wb_written);
		INIT_LIST_HEAD(&s->wb_flushed);
		INIT_WORK(&s->wb_flush_work, vwc_wb_flush_work);
	}
}

/*
 * The writeback list, pool->wb_slots, holds every slot that may want
 * writeback: a slot with a VM device (an owner) and dirty blocks or a
 * flush under way is on it.  It joins where it gains one of these (its
 * first dirty block, a flush, an owner: callers call this then), and
 * leaves when vwc_wb_work() finds it has none left, so writeback
 * considers only these slots, never every slot of the pool.  A slot
 * without an owner is not written back (its origin is unknown) and
 * stays off the list while it waits, however much it holds dirty.
 */
void vwc_wb_enlist_locked(struct vwc_pool *pool, u32 slot)
{
	struct vwc_slot *s = &pool->slots[slot];

	if (!list_empty(&s->wb_entry) || !s->vm ||
	    (!s->flushing && vwc_list_empty(&s->dirty)))
		return;
	list_add_tail(&s->wb_entry, &pool->wb_slots);
	pool->nr_wb_slots++;
}

/* @s leaves the writeback list if it has no reason left to be on it. */
static void vwc_wb_delist_locked(struct vwc_pool *pool, struct vwc_slot *s)
{
	if (s->vm && (s->flushing || !vwc_list_empty(&s->dirty)))
		return;
	list_del_init(&s->wb_entry);
	pool->nr_wb_slots--;
}

/* Undo the marks of a run that could not start. */
static void vwc_wb_unplan_locked(struct vwc_pool *pool, const u32 *cbs,
				 u32 count)
{
	u32 i;

	for (i = 0; i < count; i++) {
		vwc_block(&pool->blocks, cbs[i])->flags &= ~VWC_B_WB;
		vwc_unpin_locked(pool, cbs[i]);
	}
}

static struct vwc_wb_job *vwc_wb_job_alloc(struct vwc_pool *pool, u32 slot,
					   struct block_device *origin,
					   const struct vwc_wb_run *run,
					   const u32 *cbs)
{
	u32 nr_pages = DIV_ROUND_UP(vwc_wb_run_bytes(pool, run), PAGE_SIZE);
	struct vwc_wb_job *job;
	size_t subs_at = struct_size(job, cbs, run->count);
	size_t pages_at = ALIGN(subs_at + run->count * sizeof(u16),
				__alignof__(struct page_list));

	job = kmalloc(pages_at + nr_pages * sizeof(struct page_list),
		      GFP_NOIO);
	if (!job)
		return NULL;
	memset(job, 0, sizeof(*job));
	job->subs = (u16 *)((char *)job + subs_at);
	job->pages = (struct page_list *)((char *)job + pages_at);
	if (vwc_wbbuf_get(&pool->wbbuf, job->pages, nr_pages)) {
		kfree(job);
		return NULL;
	}
	job->nr_pages = nr_pages;
	job->pool = pool;
	job->slot = slot;
	job->origin = origin;
	job->oblock = run->oblock;
	job->count = run->count;
	memcpy(job->cbs, cbs + run->first, run->count * sizeof(u32));
	memcpy(job->subs, pool->wb_subs + run->first,
	       run->count * sizeof(u16));
	INIT_LIST_HEAD(&job->list);
	return job;
}

/*
 * Plan one batch of @slot and start its runs; returns how many started.
 * Called with cache_lock held; drops and retakes it around allocation
 * and around the reads, issued once every run of the batch has its job.
 * The origin is the one of the slot's VM device at the time, read under
 * cache_lock with the run counted: the device cannot go before the run
 * completes.  A slot whose VM device went meanwhile starts nothing.
 */
static u32 vwc_wb_start_slot_locked(struct vwc_pool *pool, u32 slot,
				    u32 budget, u64 bound)
{
	struct vwc_slot *s = &pool->slots[slot];
	u32 max_run = VWC_WB_RUN_BYTES >> (pool->block_shift + SECTOR_SHIFT);
	u32 nr_runs = 0, planned, i, started = 0;

	if (!s->vm)
		return 0;
	/* The cursor, if its block is still on the slot's dirty list. */
	if (s->wb_from != VWC_NIL) {
		struct vwc_block *b = vwc_block(&pool->blocks, s->wb_from);

		if (!(b->flags & VWC_B_DIRTY) || vwc_block_vm(b) != slot)
			s->wb_from = VWC_NIL;
	}
	planned = vwc_wb_plan_from(&pool->blocks, &s->dirty, &s->wb_from,
				   VWC_WB_BATCH, max_run, pool->wb_cbs,
				   pool->wb_runs, &nr_runs);
	if (!planned)
		return 0;
	for (i = 0; i < planned; i++) {
		struct vwc_block *b = vwc_block(&pool->blocks, pool->wb_cbs[i]);

		b->flags |= VWC_B_WB;
		pool->wb_subs[i] = b->sub;
		vwc_pin_wb_locked(pool, pool->wb_cbs[i]);
	}
	for (i = 0; i < nr_runs; i++) {
		const struct vwc_wb_run *run = &pool->wb_runs[i];
		u64 bytes = vwc_wb_run_bytes(pool, run);
		struct block_device *origin;
		struct vwc_wb_job *job;

		pool->wb_jobs[i] = NULL;
		/* No @bound (one run at a time): @budget is at most 1. */
		if (!s->vm || started >= budget ||
		    (bound && pool->wb_inflight_bytes &&
		     pool->wb_inflight_bytes + bytes > bound)) {
			vwc_wb_unplan_locked(pool, pool->wb_cbs + run->first,
					     run->count);
			continue;
		}
		origin = s->vm->origin_dev->bdev;
		vwc_wb_reserve_locked(pool, slot, bytes);
		spin_unlock_irq(&pool->cache_lock);
		job = vwc_wb_job_alloc(pool, slot, origin, run, pool->wb_cbs);
		vwc_cache_lock_irq(pool);
		if (!job) {
			vwc_wb_unplan_locked(pool, pool->wb_cbs + run->first,
					     run->count);
			vwc_wb_landed_locked(pool, slot, bytes);
			vwc_wb_unreserve_locked(pool, slot, bytes);
			continue;
		}
		pool->wb_jobs[i] = job;
		started++;
	}
	if (started) {
		spin_unlock_irq(&pool->cache_lock);
		vwc_wb_read_batch(pool, planned, nr_runs);
		vwc_cache_lock_irq(pool);
	}
	return started;
}

/*
 * What @origin takes at once before submission waits: the depth of its
 * request queue if it is a blk-mq device; 0 (no bound of its own) for a
 * bio-based one (dm, md), whose queue says nothing of the devices below.
 * Read at a VM device's ctr (writeback_depth 0 uses it).
 */
u32 vwc_wb_origin_depth(struct block_device *origin)
{
	struct request_queue *q = bdev_get_queue(origin);

	if (!queue_is_mq(q))
		return 0;
	return clamp_t(unsigned long, q->nr_requests, 1, VWC_WB_MAX_JOBS);
}

/*
 * The most writeback runs in flight at once to @vm's origin: the pool's
 * writeback_depth, or if that is 0 the depth of the origin's request
 * queue (a blk-mq device: what it takes before submission waits for a
 * tag), or if the origin has none (a dm or md device) 0: no bound of its
 * own.  Any context.
 */
u32 vwc_wb_vm_depth(const struct vwc_vm *vm)
{
	u64 depth = READ_ONCE(vm->pool->settings.writeback_depth);

	return depth ? (u32)depth : vm->wb_depth_auto;
}

static u32 vwc_wb_depth(struct vwc_slot *s)
{
	return s->vm ? vwc_wb_vm_depth(s->vm) : 0;
}

/*
 * The runs of @s that may start now: one at a time, unless @bound bytes
 * may be in flight (vwc_slot_wants_wb_locked()): then up to
 * VWC_WB_MAX_JOBS in the pool and the depth of @s's origin, but only once
 * there is room for VWC_WB_MIN_ROOM of them (or half the depth), or none
 * is in flight (a batch costs its planning, a sort of VWC_WB_BATCH
 * blocks, however few runs it starts; every run that completes asks
 * again).  So one slow origin cannot hold every run the pool allows.
 */
static u32 vwc_wb_room_locked(struct vwc_pool *pool, struct vwc_slot *s,
			      u64 bound)
{
	u32 limit = bound ? VWC_WB_MAX_JOBS : 1;
	u32 room = limit > pool->wb_inflight ? limit - pool->wb_inflight : 0;
	u32 depth = vwc_wb_depth(s);

	if (bound && pool->wb_inflight &&
	    (room < VWC_WB_MIN_ROOM || pool->wb_inflight_bytes >= bound))
		return 0;
	if (!depth)
		return room;
	if (s->wb_inflight >= depth)
		return 0;
	if (bound && s->wb_inflight &&
	    depth - s->wb_inflight < min_t(u32, VWC_WB_MIN_ROOM,
					   DIV_ROUND_UP(depth, 2)))
		return 0;
	return min(room, depth - s->wb_inflight);
}

static bool vwc_wb_take_tokens(struct vwc_pool *pool)
{
	u64 rate = READ_ONCE(pool->settings.writeback_iops);
	u64 now = ktime_get_ns();

	if (pool->wb_tb.rate != rate)
		vwc_tb_set_rate(&pool->wb_tb, rate, max_t(u64, rate / 10,
							  VWC_WB_BATCH), now);
	return vwc_tb_take(&pool->wb_tb, now, VWC_WB_BATCH / 4);
}

/*
 * Start writeback where it is wanted, round robin over the writeback
 * list, within the in-flight bound; a slot with urgent writeback plans
 * batch after batch while there is room.  Each slot on the list is
 * considered once a pass (its head is the next to consider: a slot
 * considered goes to the tail, one that gets more goes back to the head),
 * so a pass costs O(slots on the list).  The pool's writeback work item;
 * it is never run twice at once, which the scratch arrays rely on, and
 * it is the only one to take slots off the list: the slots still to
 * consider stay at its head while cache_lock is dropped.  The reads of the
 * runs started go to the SSD under one plug.
 */
void vwc_wb_work(struct work_struct *ws)
{
	struct vwc_pool *pool = container_of(ws, struct vwc_pool, wb_work);
	struct blk_plug plug;
	u32 left;

	blk_start_plug(&plug);
	vwc_cache_lock_irq(pool);
	vwc_update_high_locked(pool);
	left = pool->nr_wb_slots;
	while (left && pool->wb_inflight < VWC_WB_MAX_JOBS &&
	       !pool->suspended) {
		struct vwc_slot *s = list_first_entry(&pool->wb_slots,
						      struct vwc_slot,
						      wb_entry);
		u32 slot = s - pool->slots;
		u64 bound = 0;

		list_move_tail(&s->wb_entry, &pool->wb_slots);
		left--;
		if (!vwc_slot_wants_wb_locked(pool, s, &bound)) {
			vwc_wb_delist_locked(pool, s);
			continue;
		}
		if (!vwc_wb_room_locked(pool, s, bound))
			continue;
		spin_unlock_irq(&pool->cache_lock);
		if (!vwc_wb_take_tokens(pool)) {
			vwc_cache_lock_irq(pool);
			break;
		}
		vwc_cache_lock_irq(pool);
		if (vwc_wb_start_slot_locked(pool, slot,
					     vwc_wb_room_locked(pool, s, bound),
					     bound) &&
		    bound && pool->wb_inflight_bytes < bound) {
			list_move(&s->wb_entry, &pool->wb_slots); /* more */
			left++;
		}
	}
	spin_unlock_irq(&pool->cache_lock);
	blk_finish_plug(&plug);
}

/* Blocks evicted per hold of cache_lock by the tick's reclaim. */
#define VWC_RECLAIM_BATCH	256

static u32 vwc_reclaim_have_locked(struct vwc_pool *pool)
{
	return pool->blocks.free.count + pool->blocks.free_pending.count +
	       pool->blocks.committing.count;
}

/*
 * Keep some blocks allocatable: evict clean ones to free_pending, and ask
 * for the commit that makes them reusable (I2).  Up to nr/16 blocks, so
 * in batches: interrupts are off while cache_lock is held.
 */
static bool vwc_reclaim(struct vwc_pool *pool)
{
	u32 reserve = max_t(u32, pool->blocks.nr / 32, 8);
	u32 have, n;
	bool commit;

	vwc_cache_lock_irq(pool);
	have = vwc_reclaim_have_locked(pool);
	if (have >= reserve && !pool->alloc_failed) {
		commit = pool->blocks.free_pending.count &&
			 pool->blocks.free.count < reserve / 2;
		spin_unlock_irq(&pool->cache_lock);
		return commit;
	}
	while (have < 2 * reserve) {
		n = min_t(u32, 2 * reserve - have, VWC_RECLAIM_BATCH);
		if (vwc_evict_locked(pool, n) < n)
			break;
		spin_unlock_irq(&pool->cache_lock);
		cond_resched();
		vwc_cache_lock_irq(pool);
		have = vwc_reclaim_have_locked(pool);
	}
	pool->alloc_failed = false;
	pool->all_dirty = false;
	commit = pool->blocks.free_pending.count > 0;
	spin_unlock_irq(&pool->cache_lock);
	return commit;
}

static bool vwc_commit_due_locked(struct vwc_pool *pool)
{
	unsigned long interval =
		msecs_to_jiffies(pool->settings.commit_interval);

	if (time_before(jiffies, pool->last_commit + interval))
		return false;
	return pool->meta_marked[pool->meta_gen] ||
	       pool->blocks.free_pending.count ||
	       !bio_list_empty(&pool->commit_waiters);
}

/*
 * Samples for the rates of every VM device (skipped when busy), and the
 * idle detector: the pool is idle (pool->vm_idle) when its VM devices
 * counted no bio from one tick to the next, about 100 ms; the first bio
 * mapped ends it (vwc_map_bio()).  While idle, writeback that runs for
 * the watermarks (above high_watermark, or on its way down to
 * low_watermark) has all of VWC_WB_MAX_BYTES in flight: nothing to
 * yield to.  Writeback for max_age stays one run at a time.
 */
static void vwc_sample_rates(struct vwc_pool *pool)
{
	struct vwc_vm *vm;
	u64 ios = 0;

	if (!vwc_pool_trylock(pool))
		return;
	list_for_each_entry(vm, &pool->vms, list) {
		struct vwc_acct *a = READ_ONCE(vm->acct); /* NULL: attaching */

		if (a)
			ios += vwc_acct_sample(a, READ_ONCE(pool->slots[vm->slot].writeback_blocks));
	}
	WRITE_ONCE(pool->vm_idle, ios == pool->vm_ios);
	pool->vm_ios = ios;
	mutex_unlock(&pool->lock);
}

void vwc_tick_work(struct work_struct *ws)
{
	struct vwc_pool *pool = container_of(to_delayed_work(ws),
					     struct vwc_pool, tick_work);
	bool commit, trim;

	vwc_sample_rates(pool);
	vwc_pool_raise_events(pool);
	commit = vwc_reclaim(pool);
	vwc_cache_lock_irq(pool);
	vwc_unpins_apply_locked(pool);
	commit = commit || vwc_commit_due_locked(pool);
	pool->wb_idle_ticks = pool->wb_inflight ? 0 : pool->wb_idle_ticks + 1;
	trim = pool->wb_idle_ticks == VWC_WBBUF_IDLE;
	/* A write that waits for a writeback fails at its deadline. */
	if (pool->drain_waiters)
		vwc_kick_deferred(pool);
	spin_unlock_irq(&pool->cache_lock);
	if (trim)
		vwc_wbbuf_trim(&pool->wbbuf);
	if (commit)
		vwc_kick_commit(pool);
	vwc_kick_writeback(pool);
	if (!READ_ONCE(pool->suspended))
		queue_delayed_work(pool->wq, &pool->tick_work, VWC_TICK);
}

/* Wait until no writeback of @slot is in flight. */
void vwc_wb_wait_slot(struct vwc_pool *pool, u32 slot)
{
	wait_event(pool->wb_wait, !READ_ONCE(pool->slots[slot].wb_jobs));
}

/* Ask @slot to be written back until what is dirty now is clean. */
void vwc_flush_slot_locked(struct vwc_pool *pool, u32 slot, bool all)
{
	struct vwc_slot *s = &pool->slots[slot];

	s->flushing = true;
	s->flush_all |= all;
	s->flush_before = vwc_now_s() + 1;
	vwc_slot_check_flushed_locked(pool, s);
	vwc_wb_enlist_locked(pool, slot);
}
