// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache data path of VM devices: where each bio goes, and what its
 * completion changes.
 *
 * A bio may span several cache blocks (up to VWC_MAX_IO_SECTORS).  Its
 * first block decides what the bio does (a run: the kind of I/O, and the
 * cache block for a hit or a fill); the blocks after it join the run, in
 * the same hold of cache_lock, while each takes the same kind of I/O at
 * the next cache block with nothing to wait for.  Where the run stops the
 * bio is cut (dm_accept_partial_bio(), in dm's map only) and dm maps the
 * rest as a bio of its own.  So one remapped bio serves each run, and a
 * bio that waits (deferred or throttled) is cut to its first block
 * before: a bio mapped outside dm's map never spans two blocks.  Read
 * hits and in-place writes to dirty blocks are first tried without
 * cache_lock (vwc_map_quick(): the block pinned, then checked); what
 * that does not take, the locked path decides.
 *
 * The rules (Documentation/dev/design.rst, "I/O paths"):
 *  - a dirty hit is written in place (coalesced); a whole-block write in
 *    writeback mode gets a fresh block, mapped PENDING until its data is
 *    written (I4); anything else goes around to the origin and drops a
 *    clean copy;
 *  - in writethrough and passthrough modes, and when the pool is degraded
 *    or failed, no new dirty data is made: a whole-block write to a dirty
 *    block supersedes it (dropped, once no writeback of it is in flight);
 *    a partial one waits until its writeback is done, at most
 *    VWC_DRAIN_WAIT, then fails with EIO;
 *  - reads of a mapped block that is not PENDING come from the SSD, other
 *    reads from the origin; a whole-block read miss is copied into the
 *    pool (while free blocks are plenty, or when the filter finds it
 *    hot), in the promotion work, if no write touched it meanwhile and
 *    none is in flight to the origin (P1, design.rst);
 *  - FLUSH waits for a commit; a FUA write completes after one (I1).
 *
 * This file decides each bio's way from the state of its blocks and has
 * the cache carry it out: a block's state changes only in
 * dm-vwcache-cache.c (vwc_fill_begin_locked(), vwc_write_hit_locked(),
 * vwc_drop_block_locked() ...).
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dm-vwcache.h"
#include "dm-vwcache-cache.h"
#include "dm-vwcache-commit.h"
#include "dm-vwcache-io.h"
#include "dm-vwcache-writeback.h"

#define VWC_EVICT_BATCH		64	/* clean blocks evicted for a write */
/*
 * The longest a write waits for the writeback of a dirty block (then EIO):
 * the longest writeback backoff, so that a writeback failing meanwhile is
 * tried again at least once; and the default SCSI command timeout, which
 * guests already tolerate.  Documented in the admin guide.
 */
#define VWC_DRAIN_WAIT		(30 * HZ)

struct vwc_promote {
	struct vwc_pool *pool;
	u32 cb;
	void *buf;
};

static struct vwc_io *vwc_io_of(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct vwc_io));
}

static u64 vwc_bio_oblock(struct vwc_vm *vm, struct bio *bio)
{
	return dm_target_offset(vm->ti, bio->bi_iter.bi_sector) >>
	       vm->pool->block_shift;
}

static sector_t vwc_bio_offset(struct vwc_vm *vm, struct bio *bio)
{
	return dm_target_offset(vm->ti, bio->bi_iter.bi_sector) &
	       ((1U << vm->pool->block_shift) - 1);
}

/* The blocks @bio touches, from vwc_bio_oblock() on. */
static u32 vwc_bio_blocks(struct vwc_vm *vm, struct bio *bio)
{
	unsigned int shift = vm->pool->block_shift;

	return (vwc_bio_offset(vm, bio) + bio_sectors(bio) +
		(1U << shift) - 1) >> shift;
}

/*
 * The sub-blocks that an I/O from @off (in its first block) for @len
 * sectors touches of the @i-th block it touches; in *@whole those it
 * covers whole (pool->sub_full: the whole block).  A pool without
 * sub-blocks has one, the whole block.
 */
static u16 vwc_subs(struct vwc_pool *pool, sector_t off, sector_t len, u32 i,
		    u16 *whole)
{
	unsigned int shift = pool->sub_shift;
	sector_t lo = (sector_t)i << pool->block_shift;
	sector_t hi = lo + (1U << pool->block_shift);
	sector_t end = off + len;
	u32 first, last, wfirst, wend;

	off = max(off, lo) - lo;
	end = min(end, hi) - lo;
	first = off >> shift;
	last = (end - 1) >> shift;
	wfirst = (off + (1U << shift) - 1) >> shift;
	wend = end >> shift;
	*whole = wend > wfirst ? (u16)GENMASK(wend - 1, wfirst) : 0;
	return (u16)GENMASK(last, first);
}

static u16 vwc_bio_subs(struct vwc_vm *vm, struct bio *bio, u32 i,
			u16 *whole)
{
	return vwc_subs(vm->pool, vwc_bio_offset(vm, bio), bio_sectors(bio), i,
			whole);
}

/*
 * Keep the first @nr blocks of @bio; dm maps the rest as a bio of its
 * own.  In dm's map only (dm_accept_partial_bio()).
 */
static bool vwc_bio_cut(struct vwc_vm *vm, struct bio *bio, u32 nr)
{
	sector_t keep = ((sector_t)nr << vm->pool->block_shift) -
			vwc_bio_offset(vm, bio);

	if (keep >= bio_sectors(bio))
		return false;
	dm_accept_partial_bio(bio, keep);
	return true;
}

/* A bio about to be throttled, in dm's map: its first block only. */
void vwc_io_cut_block(struct vwc_vm *vm, struct bio *bio)
{
	vwc_bio_cut(vm, bio, 1);
}

static void vwc_remap_origin(struct vwc_vm *vm, struct bio *bio)
{
	bio_set_dev(bio, vm->origin_dev->bdev);
	bio->bi_iter.bi_sector = dm_target_offset(vm->ti, bio->bi_iter.bi_sector);
}

/* To cache block @cb, and the blocks after it for the rest of @bio. */
static void vwc_remap_cache(struct vwc_vm *vm, struct bio *bio, u32 cb)
{
	sector_t off = vwc_bio_offset(vm, bio);

	bio_set_dev(bio, vm->pool->cache.bdev);
	bio->bi_iter.bi_sector = vwc_cblock_sector(vm->pool, cb) + off;
}

static u32 vwc_epoch_slot(u32 slot, u64 oblock)
{
	return (u32)((oblock * 0x9e3779b97f4a7c15ULL) >> 40 ^ slot) &
	       (VWC_WRITE_EPOCHS - 1);
}

/*
 * A write around to the origin, from its mapping to its completion, is in
 * flight for each of its blocks (pool->write_inflight, by the epoch's
 * hash): a read miss of such a block may have read the origin before the
 * write landed, so no promotion takes it meanwhile (vwc_promote()), and
 * its completion moves the epoch on, so none mapped before takes it
 * after (I4 for clean blocks: a clean block equals the origin).
 */
static void vwc_write_around_start_locked(struct vwc_vm *vm,
					  struct vwc_io *io)
{
	u32 i;

	io->write_around = true;
	for (i = 0; i < io->nr; i++)
		vm->pool->write_inflight[vwc_epoch_slot(vm->slot,
							io->oblock + i)]++;
}

static void vwc_write_around_end_locked(struct vwc_vm *vm,
					struct vwc_io *io)
{
	u32 i, h;

	for (i = 0; i < io->nr; i++) {
		h = vwc_epoch_slot(vm->slot, io->oblock + i);
		vm->pool->write_epoch[h]++;
		if (io->write_around)
			vm->pool->write_inflight[h]--;
	}
	io->write_around = false;
}

static bool vwc_pool_ok(struct vwc_pool *pool)
{
	return READ_ONCE(pool->state) == VWC_POOL_OK;
}

/* May this write make new dirty data? */
static bool vwc_may_dirty(struct vwc_vm *vm)
{
	return READ_ONCE(vm->settings.mode) == VWC_MODE_WRITEBACK &&
	       vwc_pool_ok(vm->pool);
}

/*
 * Accounting: each event bumps the VM's per-CPU block only (the pool's
 * figures are summed from the VMs', vwc_pool_stats()), with this_cpu
 * operations: no lock, no preemption toggled.  A bio counts once per
 * block it touches, its bytes once (the admin guide, "Limits, weights
 * and quotas"); once, as cut (vwc_map_run_end_locked()).
 */
static void vwc_count(struct vwc_vm *vm, struct bio *bio, struct vwc_io *io)
{
	struct vwc_stats __percpu *s = vm->acct->pcpu;
	u32 nr = vwc_bio_blocks(vm, bio);

	if (io->counted)
		return;
	io->counted = true;
	if (io->write) {
		this_cpu_add(s->writes, nr);
		this_cpu_add(s->write_bytes, bio->bi_iter.bi_size);
	} else {
		this_cpu_add(s->reads, nr);
		this_cpu_add(s->read_bytes, bio->bi_iter.bi_size);
	}
}

static void vwc_count_hit(struct vwc_vm *vm, struct vwc_io *io)
{
	struct vwc_stats __percpu *s = vm->acct->pcpu;

	if (!io->write) {
		this_cpu_add(s->read_hits, io->nr);
		return;
	}
	this_cpu_add(s->write_hits, io->nr);
	if (io->coalesced)
		this_cpu_add(s->coalesced, io->nr);
}

/*
 * A bio completes: if counted, its latency from its arrival, in the VM's
 * histogram.  The second and last clock read of a bio (the first is
 * vwc_io_start()'s).
 */
static void vwc_count_done(struct vwc_vm *vm, struct vwc_io *io)
{
	if (!io->counted)
		return;
	vwc_stats_latency(vm->acct->pcpu, io->write,
			  ktime_get_ns() - io->start_ns, io->nr);
}

/*
 * Hold @bio until the block it waits for changes state.  A bio mapped in
 * dm's map is cut to that block first (vwc_map_run_end_locked()).
 */
static int vwc_defer_locked(struct vwc_pool *pool, struct bio *bio)
{
	bio_list_add(&pool->deferred, bio);
	return DM_MAPIO_SUBMITTED;
}

/*
 * The run of @bio is decided (@r: what its first block does, io->nr the
 * blocks that take part): cut after them, in dm's map, and counted, both
 * before cache_lock is dropped (a deferred bio is the worker's then).
 * A bio mapped outside dm's map spans one block (see the head of this
 * file), so it is never cut.
 */
static void vwc_map_run_end_locked(struct vwc_vm *vm, struct bio *bio,
				   struct vwc_io *io, int r)
{
	if (r != DM_MAPIO_REMAPPED)
		io->nr = 1;
	if (vwc_bio_cut(vm, bio, io->nr)) {
		vwc_bio_record(&io->rec, bio);
		if (io->seq_noted)
			vwc_seq_shorten(&vm->seq, bio_sectors(bio));
	}
	io->seq_noted = false;
	if (io->bypass && r == DM_MAPIO_REMAPPED && io->kind == VWC_IO_ORIGIN)
		this_cpu_add(vm->acct->pcpu->sequential_bypassed,
			     bio->bi_iter.bi_size);
	if (io->write && r == DM_MAPIO_REMAPPED && io->kind == VWC_IO_ORIGIN)
		vwc_write_around_start_locked(vm, io);
	vwc_count(vm, bio, io);
}

/*
 * A read of a dirty block that holds only some of the sub-blocks it
 * touches (@have): each run of sub-blocks goes to the device that holds
 * it, the SSD or the origin.  The runs but the last are split off and
 * chained to @bio, which completes (and unpins the block) after them
 * all; the last is @bio itself, remapped.
 */
static int vwc_map_read_split(struct vwc_vm *vm, struct bio *bio, u32 cb,
			      u16 have)
{
	struct vwc_pool *pool = vm->pool;
	unsigned int shift = pool->sub_shift;

	for (;;) {
		sector_t off = vwc_bio_offset(vm, bio);
		u32 i = off >> shift;
		bool cached = have & BIT(i);
		sector_t end;
		struct bio *split;

		while (i < VWC_SUBBLOCKS_MAX && !!(have & BIT(i)) == cached)
			i++;
		end = (sector_t)i << shift;
		if (end >= off + bio_sectors(bio))
			break;
		split = bio_split(bio, end - off, GFP_NOIO, &pool->split_bs);
		bio_chain(split, bio);
		if (cached)
			vwc_remap_cache(vm, split, cb);
		else
			vwc_remap_origin(vm, split);
		submit_bio_noacct(split);
	}
	if (have & BIT(vwc_bio_offset(vm, bio) >> shift))
		vwc_remap_cache(vm, bio, cb);
	else
		vwc_remap_origin(vm, bio);
	return DM_MAPIO_REMAPPED;
}

/*
 * The sub-blocks of @touched that a read may take from block @b; 0 when
 * it goes to the origin.  I4: a PENDING block's data is not written yet.
 * A clean STALE one was invalidated: the origin may be newer.  The
 * sub-blocks a block does not hold are the origin's, and a clean block's
 * others equal the origin's: a read a clean block holds in part goes to
 * the origin, one a dirty block holds in part to both
 * (vwc_map_read_split()).
 */
static u16 vwc_read_have(struct vwc_pool *pool, struct vwc_block *b,
			 u16 touched)
{
	u16 flags = READ_ONCE(b->flags);
	u16 have = touched & READ_ONCE(b->sub);

	if ((flags & VWC_B_PENDING) || !have)
		return 0;
	if (flags & VWC_B_DIRTY)
		return have;
	if (have != touched || !vwc_pool_ok(pool) || (flags & VWC_B_STALE))
		return 0;
	return have;
}

/*
 * Could block flags @flags serve @io without cache_lock at all?  Not
 * while filled (PENDING); a write only a dirty block not under writeback.
 * Asked before the pin too, so that a block that cannot serve is not
 * pinned (and the pin given back under cache_lock) for nothing.
 */
static bool vwc_quick_state(const struct vwc_io *io, u16 flags)
{
	if (flags & VWC_B_PENDING)
		return false;
	return !io->write || (flags & (VWC_B_DIRTY | VWC_B_WB)) == VWC_B_DIRTY;
}

/*
 * The hit paths without cache_lock.  A block found by vwc_lookup_quick()
 * is pinned, then checked: once pinned it is not released, so if it is
 * still the block of the oblock then, in a state the locked path would
 * have taken the same way, the bio may use it as that path would have.
 * A change after the check is one that came after the bio was mapped,
 * which the locked path meets too (a drop or an invalidate after a read
 * hit's map; a writeback that reads the block after an in-place write's
 * map, which its completion sees: vwc_hit_quiet()).
 *
 * A read: a hit of the whole of what it touches (vwc_read_have()).
 *
 * A write: to a dirty block not under writeback that holds every
 * sub-block it touches, in writeback mode: what vwc_write_lead_locked()
 * absorbs in place, except that a write under way to the block's
 * writeback (REDIRTY at its map) and one that grows the block's
 * sub-blocks take the locked path.  The locked path also bumps the
 * promotion guard of the oblock; a hit needs none: a promotion takes a
 * block only if none is mapped, and a dirty block was mapped by a write
 * that bumped it.  Not for a VM with a cache quota: writeback drops a
 * written-back block of a VM over its quota when only writeback pins it
 * (vwc_wb_done_block_locked()), which a write pinned later must not
 * land in: its smp_mb() between the quota it read under the lock and the
 * pins, and the pin's full barrier before this reads the quota, make one
 * of the two see the other.
 */
static bool vwc_quick_takes(struct vwc_vm *vm, struct bio *bio,
			    struct vwc_io *io, struct vwc_block *b, u32 i,
			    int clean)
{
	struct vwc_pool *pool = vm->pool;
	u16 whole, touched = vwc_bio_subs(vm, bio, i, &whole);
	u16 flags = READ_ONCE(b->flags);

	if (!vwc_block_is(b, vm->slot, io->oblock + i) ||
	    !vwc_quick_state(io, flags))
		return false;
	if (io->write)
		return !(touched & ~READ_ONCE(b->sub)) &&
		       !READ_ONCE(pool->slots[vm->slot].quota) &&
		       vwc_may_dirty(vm);
	return vwc_read_have(pool, b, touched) == touched &&
	       (!clean || (clean == 1) != !!(flags & VWC_B_DIRTY));
}

/*
 * The @i-th block of @bio, @cb if that is its block, pinned and checked
 * without cache_lock: @cb, or VWC_NIL (nothing held) when it is not that
 * block (or VWC_NIL) or may not be used so; for a read also when not of
 * the kind @clean says (0: the lead, any; 1: clean; 2: dirty).  A block
 * is mapped (VWC_B_VALID) for at most one key, and a key by at most one
 * block, so a block that says it holds the key is the one an index
 * lookup would find.
 */
static u32 vwc_pin_quick(struct vwc_vm *vm, struct bio *bio,
			 struct vwc_io *io, u32 i, int clean, u32 cb)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_block *b;
	bool pinned;

	if (cb >= pool->blocks.nr)
		return VWC_NIL;
	b = vwc_block(&pool->blocks, cb);
	if (!vwc_block_is(b, vm->slot, io->oblock + i) ||
	    !vwc_quick_state(io, READ_ONCE(b->flags)))
		return VWC_NIL;
	/* A read hit is the policy's hit too (dirty blocks have none). */
	pinned = io->write ? vwc_block_pin(b, VWC_PINS_MAX) :
		 vwc_block_pin_ref(b, VWC_PINS_MAX);
	if (!pinned)
		return VWC_NIL;
	if (vwc_quick_takes(vm, bio, io, b, i, clean))
		return cb;
	vwc_unpin_later(pool, cb, 1);
	return VWC_NIL;
}

/*
 * A read or write that hits without cache_lock: its first block, found in
 * the index, and the next ones as long as they follow it in the pool
 * (and, for a read, are of its kind), pinned by vwc_pin_quick(); the bio
 * is cut after them.  The next ones are looked for only where they would
 * have to be: block cb + i, checked, instead of an index lookup each.
 * False, and nothing done, when the first is not such a hit: the locked
 * path decides.  Not while the pool follows streams (sequential_cutoff),
 * whose table cache_lock guards.
 */
static bool vwc_map_quick(struct vwc_vm *vm, struct bio *bio,
			  struct vwc_io *io, u32 max)
{
	struct vwc_pool *pool = vm->pool;
	u32 cb;

	if (READ_ONCE(pool->settings.sequential_cutoff))
		return false;
	cb = vwc_pin_quick(vm, bio, io, 0, 0,
			   vwc_lookup_quick(&pool->blocks, vm->slot,
					    io->oblock));
	if (cb == VWC_NIL)
		return false;
	io->kind = VWC_IO_HIT;
	io->cb = cb;
	io->coalesced = io->write;
	io->clean_hit = !io->write &&
			!(READ_ONCE(vwc_block(&pool->blocks, cb)->flags) &
			  VWC_B_DIRTY);
	/* The run ends with the pool's blocks (no wrap past U32_MAX). */
	max = min(max, pool->blocks.nr - cb);
	while (io->nr < max &&
	       vwc_pin_quick(vm, bio, io, io->nr, io->clean_hit ? 1 : 2,
			     cb + io->nr) != VWC_NIL)
		io->nr++;
	if (vwc_bio_cut(vm, bio, io->nr))
		vwc_bio_record(&io->rec, bio);
	vwc_count(vm, bio, io);
	vwc_count_hit(vm, io);
	vwc_remap_cache(vm, bio, cb);
	return true;
}

/* May a read miss of a block it covers @whole be promoted? */
static bool vwc_read_may_promote(struct vwc_vm *vm, u16 whole)
{
	return READ_ONCE(vm->settings.mode) != VWC_MODE_PASSTHROUGH &&
	       vwc_pool_ok(vm->pool) && whole == vm->pool->sub_full;
}

/*
 * Free blocks to spare: above 1/16 of the pool (and an eviction batch)
 * every read miss is promoted, the first time; below, only those the
 * filter finds hot, so that a scan does not push out what is hot.
 */
static bool vwc_promote_room_locked(struct vwc_pool *pool)
{
	return pool->blocks.free.count >
	       (pool->blocks.nr >> 4) + VWC_EVICT_BATCH;
}

/*
 * The sequential cutoff (pool setting sequential_cutoff, bcache's idea):
 * a bio whose stream has run at least the cutoff, while the pool is
 * under pressure (free blocks down to the promotion reserve, or dirty
 * data at high_watermark), makes no new blocks: a write goes around (a
 * dirty block it meets is still written in place), a read is not
 * promoted.  A bio is noted once, at its first mapping, as cut
 * (vwc_map_run_end_locked() shortens it).  I/O the cache would not take
 * anyway (writes in writethrough or passthrough mode, reads in
 * passthrough mode) is not bypassed, hence not counted as such.
 */
static void vwc_seq_check_locked(struct vwc_vm *vm, struct bio *bio,
				 struct vwc_io *io)
{
	struct vwc_pool *pool = vm->pool;
	u64 cutoff = READ_ONCE(pool->settings.sequential_cutoff);
	u64 run;

	if (!cutoff || io->counted)
		return;
	io->seq_noted = true;
	run = vwc_seq_note(&vm->seq,
			   dm_target_offset(vm->ti, bio->bi_iter.bi_sector),
			   bio_sectors(bio));
	/* Only what the cache would take: not what goes around anyway. */
	io->bypass = run >= cutoff &&
		     (!vwc_promote_room_locked(pool) || pool->wb_high) &&
		     (io->write ? vwc_may_dirty(vm) :
		      vwc_read_may_promote(vm, pool->sub_full));
}

/*
 * The first block of a read: a hit (pinned; split between the devices
 * when a dirty block holds part of it), a promotion, or the origin.
 * Returns DM_MAPIO_SUBMITTED when the bio waits for an unpin.
 */
static int vwc_read_lead_locked(struct vwc_vm *vm, struct bio *bio,
				struct vwc_io *io, u16 *have)
{
	struct vwc_pool *pool = vm->pool;
	u16 whole, touched = vwc_bio_subs(vm, bio, 0, &whole);
	u32 cb = vwc_lookup(&pool->blocks, vm->slot, io->oblock);

	io->kind = VWC_IO_ORIGIN;
	if (cb != VWC_NIL) {
		struct vwc_block *b = vwc_block(&pool->blocks, cb);

		*have = vwc_read_have(pool, b, touched);
		if (!*have)
			return DM_MAPIO_REMAPPED;
		/*
		 * At the pin cap: wait for an unpin.  Not the origin, which
		 * may be older than a dirty block.
		 */
		if (!vwc_pin_locked(pool, cb))
			return vwc_defer_locked(pool, bio);
		if (b->flags & VWC_B_POLICY)
			vwc_policy_hit(&pool->policy, cb);
		io->clean_hit = !(b->flags & VWC_B_DIRTY);
		io->kind = VWC_IO_HIT;
		io->cb = cb;
		if (*have != touched)
			io->split = true;
		return DM_MAPIO_REMAPPED;
	}
	if (!vwc_read_may_promote(vm, whole) || io->bypass)
		return DM_MAPIO_REMAPPED;
	io->hot = vwc_filter_should_promote(&pool->filter, vm->slot,
					    io->oblock);
	if (io->hot || vwc_promote_room_locked(pool)) {
		io->kind = VWC_IO_PROMOTE;
		io->epoch = pool->write_epoch[vwc_epoch_slot(vm->slot,
							     io->oblock)];
	}
	return DM_MAPIO_REMAPPED;
}

/*
 * Does the @i-th block of read @bio join its run?  A hit run: a hit of
 * the same kind (clean or dirty, whole) at the next cache block, pinned
 * now.  An origin run: a block the read may not take from the SSD, which
 * a promotion would not take either.  Nothing is done to one that does
 * not join.
 */
static bool vwc_read_join_locked(struct vwc_vm *vm, struct bio *bio,
				 struct vwc_io *io, u32 i)
{
	struct vwc_pool *pool = vm->pool;
	u64 oblock = io->oblock + i;
	u16 whole, touched = vwc_bio_subs(vm, bio, i, &whole);
	u32 cb = vwc_lookup(&pool->blocks, vm->slot, oblock);
	struct vwc_block *b;

	if (cb == VWC_NIL)
		return io->kind == VWC_IO_ORIGIN &&
		       (!vwc_read_may_promote(vm, whole) || io->bypass ||
			(!vwc_promote_room_locked(pool) &&
			 vwc_filter_cold_miss(&pool->filter, vm->slot,
					      oblock)));
	b = vwc_block(&pool->blocks, cb);
	if (io->kind == VWC_IO_ORIGIN)
		return !vwc_read_have(pool, b, touched);
	if (cb != io->cb + i || vwc_read_have(pool, b, touched) != touched ||
	    io->clean_hit != !(b->flags & VWC_B_DIRTY) ||
	    !vwc_pin_locked(pool, cb))
		return false;
	if (b->flags & VWC_B_POLICY)
		vwc_policy_hit(&pool->policy, cb);
	return true;
}

static int vwc_map_read(struct vwc_vm *vm, struct bio *bio, struct vwc_io *io,
			u32 max)
{
	struct vwc_pool *pool = vm->pool;
	unsigned long flags;
	u16 have = 0;
	int r;

	io->oblock = vwc_bio_oblock(vm, bio);
	if (vwc_map_quick(vm, bio, io, max))
		return DM_MAPIO_REMAPPED;
	vwc_cache_lock_irqsave(pool, flags);
	vwc_seq_check_locked(vm, bio, io);
	r = vwc_read_lead_locked(vm, bio, io, &have);
	if (r == DM_MAPIO_REMAPPED && !io->split &&
	    io->kind != VWC_IO_PROMOTE)
		while (io->nr < max && vwc_read_join_locked(vm, bio, io, io->nr))
			io->nr++;
	vwc_map_run_end_locked(vm, bio, io, r);
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	if (r != DM_MAPIO_REMAPPED)
		return r;
	if (io->kind != VWC_IO_HIT) {
		vwc_remap_origin(vm, bio);
		return r;
	}
	vwc_count_hit(vm, io);
	if (io->split)
		return vwc_map_read_split(vm, bio, io->cb, have);
	vwc_remap_cache(vm, bio, io->cb);
	return r;
}

/*
 * A partial write to a dirty block that may not be absorbed waits for the
 * block's writeback, which may keep failing (an origin failing its writes,
 * an SSD that cannot read the block): past VWC_DRAIN_WAIT from its first
 * wait it fails with EIO.  The tick maps the deferred list again while
 * such a write waits (pool->drain_waiters), so the deadline fires even if
 * nothing else happens.  On a noflush suspend it is requeued at once: dm
 * holds it until resume, and suspend does not wait for it.
 */
static int vwc_drain_wait_locked(struct vwc_vm *vm, struct bio *bio,
				 struct vwc_io *io)
{
	struct vwc_pool *pool = vm->pool;
	u32 now = (u32)jiffies;

	if (!io->drain_wait) {
		io->drain_wait = true;
		io->drain_since = now;
	} else if (now - io->drain_since >= VWC_DRAIN_WAIT) {
		DMERR_LIMIT("%s: a write to block %llu of %s waited %u s for its writeback, which fails: EIO",
			    dm_device_name(vm->md), io->oblock, vm->vm_id,
			    VWC_DRAIN_WAIT / HZ);
		return DM_MAPIO_KILL;
	}
	if (dm_noflush_suspending(vm->ti))
		return DM_MAPIO_REQUEUE;
	pool->slots[vm->slot].drain = true;
	pool->drain_waiters = true;
	return vwc_defer_locked(pool, bio);
}

/*
 * Writes that make no new dirty data: around to the origin.  One that
 * covers a dirty block supersedes it: the block is dropped (its data is
 * all replaced) once no writeback write of it is in flight, which could
 * land on the origin after this one.  A partial one waits for the
 * block's writeback, at most VWC_DRAIN_WAIT.  @touched, @whole: the
 * sub-blocks of block @cb that the write touches, covers whole
 * (vwc_bio_subs()).
 */
static int vwc_map_write_around_locked(struct vwc_vm *vm, struct bio *bio,
				       struct vwc_io *io, u32 cb, u16 touched,
				       u16 whole)
{
	struct vwc_pool *pool = vm->pool;

	io->kind = VWC_IO_ORIGIN;
	if (cb != VWC_NIL) {
		struct vwc_block *b = vwc_block(&pool->blocks, cb);

		if (b->flags & VWC_B_PENDING)
			return vwc_defer_locked(pool, bio);
		/*
		 * Sub-blocks the block does not hold are the origin's, and
		 * its writeback writes only those it holds.
		 */
		if (!(touched & b->sub))
			return DM_MAPIO_REMAPPED;
		if (b->flags & VWC_B_DIRTY) {
			if (whole != pool->sub_full)
				return vwc_drain_wait_locked(vm, bio, io);
			if (b->flags & VWC_B_WB)
				return vwc_defer_locked(pool, bio);
		}
		/* A dirty block dropped: I5, a FUA write waits for a commit. */
		vwc_drop_block_locked(pool, cb);
	}
	return DM_MAPIO_REMAPPED;
}

/*
 * No free block for a write.  When clean blocks can be evicted (or freed
 * ones wait for a commit), evict a batch and wait for the commit that
 * makes them reusable (I2); when all is dirty, go around to the origin
 * rather than wait for writeback, and have writeback make room
 * (pool->all_dirty: only then, not while clean blocks can go).
 */
static int vwc_wait_space_locked(struct vwc_pool *pool, struct bio *bio,
				 struct vwc_io *io)
{
	pool->alloc_failed = true;
	vwc_evict_locked(pool, VWC_EVICT_BATCH);
	if (pool->blocks.free_pending.count || pool->blocks.committing.count) {
		io->wait_space = true;
		return vwc_defer_locked(pool, bio);
	}
	pool->all_dirty = true;
	io->kind = VWC_IO_ORIGIN;
	return DM_MAPIO_REMAPPED;
}

/* A dirty block a write in writeback mode overwrites in place? */
static bool vwc_write_dirty_hit(struct vwc_vm *vm, struct vwc_block *b)
{
	return b && (b->flags & VWC_B_DIRTY) && vwc_may_dirty(vm);
}

/*
 * The first block of a write decides the run: written in place (a dirty
 * hit), into a fresh block (a fill), or around to the origin; or the bio
 * waits (returns other than DM_MAPIO_REMAPPED).
 */
static int vwc_write_lead_locked(struct vwc_vm *vm, struct bio *bio,
				 struct vwc_io *io)
{
	struct vwc_pool *pool = vm->pool;
	u16 whole, touched = vwc_bio_subs(vm, bio, 0, &whole);
	u32 cb = vwc_lookup(&pool->blocks, vm->slot, io->oblock);
	struct vwc_block *b = cb == VWC_NIL ? NULL :
			      vwc_block(&pool->blocks, cb);

	pool->write_epoch[vwc_epoch_slot(vm->slot, io->oblock)]++;
	if (b && (b->flags & VWC_B_PENDING))
		return vwc_defer_locked(pool, bio);
	if (vwc_write_dirty_hit(vm, b)) {
		u16 grow = touched & ~b->sub;

		/*
		 * A sub-block the block does not hold, written in part:
		 * around if the write touches nothing the block holds,
		 * else it waits for the block's writeback.
		 */
		if (grow & ~whole)
			return vwc_map_write_around_locked(vm, bio, io, cb,
							   touched, whole);
		/*
		 * Absorbed in place (vwc_write_hit_locked()); at the pin cap
		 * it waits for an unpin.
		 */
		if (!vwc_write_hit_locked(pool, cb))
			return vwc_defer_locked(pool, bio);
		io->kind = VWC_IO_HIT;
		io->cb = cb;
		io->coalesced = true;
		return DM_MAPIO_REMAPPED;
	}
	if (!vwc_may_dirty(vm) || io->bypass || !whole || whole != touched)
		return vwc_map_write_around_locked(vm, bio, io, cb, touched,
						   whole);

	if (b)
		vwc_drop_block_locked(pool, cb);
	io->kind = VWC_IO_ORIGIN;
	if (!vwc_quota_room_locked(pool, vm->slot))
		return DM_MAPIO_REMAPPED;
	cb = vwc_alloc_locked(pool, vm->slot, io->oblock);
	if (cb == VWC_NIL)
		return vwc_wait_space_locked(pool, bio, io);
	vwc_fill_begin_locked(pool, cb, whole);
	io->kind = VWC_IO_FILL;
	io->cb = cb;
	return DM_MAPIO_REMAPPED;
}

/*
 * Does the @i-th block of write @bio join its run?  The same kind of I/O
 * as the first block's, at the next cache block for a hit or a fill,
 * with nothing to wait for.  Nothing is done to a block that does not
 * join (but drop a clean copy a fill replaces): the bio is cut before
 * it, and it leads a bio of its own.
 */
static bool vwc_write_join_locked(struct vwc_vm *vm, struct bio *bio,
				  struct vwc_io *io, u32 i)
{
	struct vwc_pool *pool = vm->pool;
	u64 oblock = io->oblock + i;
	u16 whole, touched = vwc_bio_subs(vm, bio, i, &whole);
	u32 cb = vwc_lookup(&pool->blocks, vm->slot, oblock);
	struct vwc_block *b = cb == VWC_NIL ? NULL :
			      vwc_block(&pool->blocks, cb);
	bool fill = vwc_may_dirty(vm) && !io->bypass && whole &&
		    whole == touched;

	if (b && (b->flags & VWC_B_PENDING))
		return false;
	switch (io->kind) {
	case VWC_IO_HIT:
		if (!vwc_write_dirty_hit(vm, b) || cb != io->cb + i ||
		    (touched & ~b->sub & ~whole) ||
		    !vwc_write_hit_locked(pool, cb))
			return false;
		break;
	case VWC_IO_FILL:
		if (vwc_write_dirty_hit(vm, b) || !fill ||
		    vwc_next_free(&pool->blocks) != io->cb + i)
			return false;
		/*
		 * The clean copy the write replaces goes first, as for the
		 * first block: the quota's evictions may pick it.  Dropped
		 * even if the block does not join: the write replaces it
		 * whichever way it goes.
		 */
		if (b)
			vwc_drop_block_locked(pool, cb);
		if (!vwc_quota_room_locked(pool, vm->slot))
			return false;
		cb = vwc_alloc_locked(pool, vm->slot, oblock);
		vwc_fill_begin_locked(pool, cb, whole);
		break;
	case VWC_IO_ORIGIN:
		/* Around without waiting (vwc_map_write_around_locked()). */
		if (vwc_write_dirty_hit(vm, b) || fill)
			return false;
		if (b && (touched & b->sub)) {
			if ((b->flags & VWC_B_DIRTY) &&
			    (whole != pool->sub_full || (b->flags & VWC_B_WB)))
				return false;
			vwc_drop_block_locked(pool, cb);
		}
		break;
	default:
		return false;
	}
	pool->write_epoch[vwc_epoch_slot(vm->slot, oblock)]++;
	return true;
}

static int vwc_map_write(struct vwc_vm *vm, struct bio *bio,
			 struct vwc_io *io, u32 max)
{
	struct vwc_pool *pool = vm->pool;
	unsigned long flags;
	bool wait_space;
	int r;

	io->oblock = vwc_bio_oblock(vm, bio);
	if (vwc_map_quick(vm, bio, io, max))
		return DM_MAPIO_REMAPPED;
	vwc_cache_lock_irqsave(pool, flags);
	vwc_seq_check_locked(vm, bio, io);
	r = vwc_write_lead_locked(vm, bio, io);
	if (r == DM_MAPIO_REMAPPED)
		while (io->nr < max &&
		       vwc_write_join_locked(vm, bio, io, io->nr))
			io->nr++;
	vwc_map_run_end_locked(vm, bio, io, r);
	/* A deferred bio is the worker's once the lock is dropped. */
	wait_space = io->wait_space;
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	if (wait_space)
		vwc_kick_commit(pool);
	if (r != DM_MAPIO_REMAPPED)
		return r;
	if (io->kind == VWC_IO_ORIGIN) {
		vwc_remap_origin(vm, bio);
		if (pool->all_dirty)
			vwc_kick_writeback(pool);
	} else {
		vwc_count_hit(vm, io);
		vwc_remap_cache(vm, bio, io->cb);
	}
	return r;
}

/* Drop every whole block a discard covers, then pass it on. */
static int vwc_map_discard(struct vwc_vm *vm, struct bio *bio,
			   struct vwc_io *io)
{
	struct vwc_pool *pool = vm->pool;
	sector_t start = dm_target_offset(vm->ti, bio->bi_iter.bi_sector);
	sector_t end = start + bio_sectors(bio);
	u64 first = DIV_ROUND_UP_SECTOR_T(start, 1U << pool->block_shift);
	u64 last = end >> pool->block_shift;
	unsigned long flags;
	u64 ob;

	vwc_cache_lock_irqsave(pool, flags);
	/*
	 * A block under writeback has an origin write in flight: dropping it
	 * now would let a later write to the origin race with that one.
	 */
	for (ob = first; ob < last; ob++) {
		u32 cb = vwc_lookup(&pool->blocks, vm->slot, ob);

		if (cb != VWC_NIL &&
		    (vwc_block(&pool->blocks, cb)->flags & VWC_B_WB)) {
			vwc_defer_locked(pool, bio);
			spin_unlock_irqrestore(&pool->cache_lock, flags);
			return DM_MAPIO_SUBMITTED;
		}
	}
	for (ob = first; ob < last; ob++) {
		u32 cb = vwc_lookup(&pool->blocks, vm->slot, ob);

		pool->write_epoch[vwc_epoch_slot(vm->slot, ob)]++;
		if (cb != VWC_NIL)
			vwc_drop_block_locked(pool, cb);
	}
	spin_unlock_irqrestore(&pool->cache_lock, flags);

	io->kind = VWC_IO_ORIGIN;
	if (!bdev_max_discard_sectors(vm->origin_dev->bdev)) {
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	vwc_remap_origin(vm, bio);
	return DM_MAPIO_REMAPPED;
}

/*
 * A FLUSH reaches the VM device as two empty flush bios (ti->num_flush_bios
 * is 2, as dm-cache does), completed together by dm: one waits for a
 * commit of the pool, this one flushes the origin, when a write around
 * completed since the last origin flush (or one is still in flight, so
 * that this FLUSH does not end before it).  Each VM's origin flush runs on
 * its own, beside the commit: a slow or failing origin holds up and fails
 * its own VM's FLUSH only.
 */
static int vwc_map_origin_flush(struct vwc_vm *vm, struct bio *bio,
				struct vwc_io *io)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s = &pool->slots[vm->slot];
	unsigned long flags;
	bool send;

	vwc_cache_lock_irqsave(pool, flags);
	send = s->origin_written || s->origin_flushes;
	if (send) {
		s->origin_written = false;
		s->origin_flushes++;
	}
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	if (!send) {
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	io->kind = VWC_IO_ORIGIN_FLUSH;
	bio_set_dev(bio, vm->origin_dev->bdev);
	return DM_MAPIO_REMAPPED;
}

/*
 * An origin flush ended (@in_flight: one of vwc_map_origin_flush); a
 * failed one leaves the origin written, for the next FLUSH to send again.
 */
static void vwc_origin_flush_done(struct vwc_vm *vm, bool in_flight, int r)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s = &pool->slots[vm->slot];
	unsigned long flags;

	vwc_cache_lock_irqsave(pool, flags);
	if (in_flight)
		s->origin_flushes--;
	if (r)
		s->origin_written = true;
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	if (r)
		DMERR_LIMIT("%s: flush of the origin of %s failed: %d",
			    dm_device_name(pool->md), vm->vm_id, r);
}

/*
 * Suspend: the writes around completed so far made durable on the origin
 * now, since the next FLUSH may go to another table's origin.
 */
int vwc_flush_origin(struct vwc_vm *vm)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s = &pool->slots[vm->slot];
	bool written;
	int r;

	vwc_cache_lock_irq(pool);
	written = s->origin_written;
	s->origin_written = false;
	spin_unlock_irq(&pool->cache_lock);
	if (!written)
		return 0;
	r = blkdev_issue_flush(vm->origin_dev->bdev);
	vwc_origin_flush_done(vm, false, r);
	return r;
}

/*
 * A bio arrives at the VM device: its per-bio data zeroed, the one time
 * (dm does not zero it), and stamped with the first of its two clock
 * reads (the other at completion, vwc_count_done()), which it returns
 * for the throttle.  All of it: a throttled bio reaches
 * vwc_map_and_submit, and may end, before vwc_map_bio set the rest.
 */
u64 vwc_io_start(struct vwc_vm *vm, struct bio *bio)
{
	struct vwc_io *io = vwc_io_of(bio);

	memset(io, 0, sizeof(*io));
	io->vm = vm;
	io->start_ns = ktime_get_ns();
	return io->start_ns;
}

/*
 * A FLUSH (its bio for the pool; the other goes to the origin): when a
 * commit would change nothing on disk, a flush of the SSD makes every
 * write completed before it durable, so it goes there, without the
 * commit worker's round trip (a FLUSH after rewrites of dirty blocks);
 * else it completes after the next commit.  Either way I1.
 */
static int vwc_map_flush(struct vwc_vm *vm, struct bio *bio,
			 struct vwc_io *io)
{
	struct vwc_pool *pool = vm->pool;
	unsigned long flags;
	bool idle;

	vwc_cache_lock_irqsave(pool, flags);
	idle = vwc_commit_idle_locked(pool);
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	if (idle) {
		io->kind = VWC_IO_SSD_FLUSH;
		bio_set_dev(bio, pool->cache.bdev);
		return DM_MAPIO_REMAPPED;
	}
	io->kind = VWC_IO_FLUSH;
	vwc_wait_commit(pool, bio);
	return DM_MAPIO_SUBMITTED;
}

/*
 * Map one bio, from dm's map or, @from, a worker: the throttle's (its
 * first mapping) or the deferred list's (again).  It is counted the first
 * time it is mapped (after any throttling).  The first mapping finds the
 * per-bio data as vwc_io_start() left it; one again zeroes what the last
 * one set, and keeps the arrival, the counting and the drain wait
 * (struct vwc_io).  Only dm's map may cut a bio into runs; bios mapped
 * in a worker were cut to one block before they waited.
 */
int vwc_map_bio(struct vwc_vm *vm, struct bio *bio, enum vwc_map_from from)
{
	struct vwc_io *io = vwc_io_of(bio);
	u32 max;

	/* I/O again: background writeback yields (vwc_sample_rates()). */
	if (unlikely(READ_ONCE(vm->pool->vm_idle)))
		WRITE_ONCE(vm->pool->vm_idle, false);
	if (from == VWC_MAP_DEFERRED)
		memset_startat(io, 0, oblock);
	io->cb = VWC_NIL;
	io->nr = 1;
	vwc_bio_record(&io->rec, bio);
	if (bio->bi_opf & REQ_PREFLUSH) {
		if (dm_bio_get_target_bio_nr(bio) == VWC_FLUSH_BIO_ORIGIN)
			return vwc_map_origin_flush(vm, bio, io);
		return vwc_map_flush(vm, bio, io);
	}
	if (bio_op(bio) == REQ_OP_DISCARD) {
		if (READ_ONCE(vm->pool->state) == VWC_POOL_FAILED)
			return DM_MAPIO_KILL;
		return vwc_map_discard(vm, bio, io);
	}
	io->write = op_is_write(bio_op(bio));
	io->fua = !!(bio->bi_opf & REQ_FUA);
	if (!bio_sectors(bio)) {
		io->kind = VWC_IO_ORIGIN;
		vwc_remap_origin(vm, bio);
		return DM_MAPIO_REMAPPED;
	}
	max = vwc_bio_blocks(vm, bio);
	if (from != VWC_MAP_DM && WARN_ON_ONCE(max > 1))
		return DM_MAPIO_KILL;
	/*
	 * A pool whose metadata cannot be committed takes no more writes: an
	 * origin moving ahead of blocks that durable metadata still calls
	 * dirty would serve stale data after recovery.
	 */
	if (io->write && READ_ONCE(vm->pool->state) == VWC_POOL_FAILED) {
		vwc_count(vm, bio, io);
		return DM_MAPIO_KILL;
	}
	if (io->write)
		return vwc_map_write(vm, bio, io, max);
	return vwc_map_read(vm, bio, io, max);
}

/*
 * The SSD failed this bio: send it, as it was mapped, to the origin.
 * Whole again: the devices below may have split it (its remaining count
 * is spent), advanced its iterator, freed their integrity payload.
 */
static void vwc_retry_at_origin(struct vwc_vm *vm, struct bio *bio)
{
	struct vwc_io *io = vwc_io_of(bio);

	vwc_bio_restore(&io->rec, bio);
	bio->bi_status = BLK_STS_OK;
	io->retry = false;
	io->kind = VWC_IO_ORIGIN;
	vwc_remap_origin(vm, bio);
	dm_submit_bio_remap(bio, NULL);
}

/*
 * Map @bio and send it on, in process context: for throttled bios and
 * for the deferred list (@from); or, for a completion held there (a
 * retry at the origin), carry it out.
 */
void vwc_map_and_submit(struct bio *bio, enum vwc_map_from from)
{
	struct vwc_io *io = vwc_io_of(bio);
	struct vwc_vm *vm = io->vm;

	if (io->retry) {
		vwc_retry_at_origin(vm, bio);
		return;
	}
	switch (vwc_map_bio(vm, bio, from)) {
	case DM_MAPIO_REMAPPED:
		dm_submit_bio_remap(bio, NULL);
		break;
	case DM_MAPIO_KILL:
		bio_io_error(bio);
		break;
	case DM_MAPIO_REQUEUE:
		bio->bi_status = BLK_STS_DM_REQUEUE;
		bio_endio(bio);
		break;
	default:
		break;
	}
}

/* Map again the bios that waited for a block, in process context. */
void vwc_deferred_work(struct work_struct *ws)
{
	struct vwc_pool *pool = container_of(ws, struct vwc_pool,
					     deferred_work);
	struct bio_list bios;
	struct bio *bio;

	vwc_cache_lock_irq(pool);
	bios = pool->deferred;
	bio_list_init(&pool->deferred);
	pool->drain_waiters = false;	/* set again by those that wait on */
	spin_unlock_irq(&pool->cache_lock);

	while ((bio = bio_list_pop(&bios)))
		vwc_map_and_submit(bio, VWC_MAP_DEFERRED);
}

/* ---- promotion of hot read misses ------------------------------------- */

static void vwc_promote_endio(unsigned long error, void *context)
{
	struct vwc_promote *p = context;
	struct vwc_pool *pool = p->pool;
	unsigned long flags;

	vwc_cache_lock_irqsave(pool, flags);
	vwc_fill_end_locked(pool, p->cb, !error, false);
	vwc_kick_deferred(pool);
	/* The last use of the pool: see vwc_pool_stop(). */
	pool->promotions--;
	wake_up_all(&pool->wb_wait);
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	kfree(p->buf);
	kfree(p);
}

static void vwc_promote_write(struct vwc_promote *p)
{
	struct vwc_pool *pool = p->pool;
	struct dm_io_region where = {
		.bdev = pool->cache.bdev,
		.sector = vwc_cblock_sector(pool, p->cb),
		.count = 1U << pool->block_shift,
	};
	struct dm_io_request req = {
		.bi_opf = REQ_OP_WRITE,
		.mem.type = DM_IO_KMEM,
		.mem.ptr.addr = p->buf,
		.notify.fn = vwc_promote_endio,
		.notify.context = p,
		.client = pool->io_client,
	};

	if (dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT))
		vwc_promote_endio(1, p);
}

/*
 * A whole-block read miss to promote completed, and waits in the pool's
 * promotion work (vwc_end_io()): copy it into a fresh block, PENDING, if
 * the pool may still take it (as vwc_read_lead_locked() found, and with
 * free blocks to spare unless the filter found it hot), none was mapped
 * meanwhile, and no write or discard touched the block since its read
 * was mapped or is in flight to the origin (whose data the read may not
 * have seen).  Returns the copy to write once the read is completed, or
 * NULL.  Nothing here waits: memory is taken without reclaim, and a
 * promotion is dropped rather than delay the read.
 */
static struct vwc_promote *vwc_promote(struct vwc_vm *vm, struct bio *bio,
				       struct vwc_io *io)
{
	struct vwc_pool *pool = vm->pool;
	u64 oblock = io->oblock;
	u32 h = vwc_epoch_slot(vm->slot, oblock);
	struct vwc_promote *p;
	struct bio_vec bv;
	struct bvec_iter iter;
	unsigned long flags;
	size_t off = 0;

	p = kmalloc(sizeof(*p), GFP_NOWAIT | __GFP_NOWARN);
	if (!p)
		return NULL;
	p->buf = kmalloc(1U << (pool->block_shift + SECTOR_SHIFT),
			 GFP_NOWAIT | __GFP_NOWARN);
	if (!p->buf)
		goto free;

	vwc_cache_lock_irqsave(pool, flags);
	if (io->epoch != pool->write_epoch[h] || pool->write_inflight[h] ||
	    !vwc_read_may_promote(vm, pool->sub_full) ||
	    (!io->hot && !vwc_promote_room_locked(pool)) ||
	    vwc_lookup(&pool->blocks, vm->slot, oblock) != VWC_NIL ||
	    !vwc_quota_room_locked(pool, vm->slot))
		p->cb = VWC_NIL;
	else
		p->cb = vwc_alloc_locked(pool, vm->slot, oblock);
	if (p->cb != VWC_NIL) {
		vwc_fill_begin_locked(pool, p->cb, pool->sub_full);
		pool->promotions++;
	}
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	if (p->cb == VWC_NIL)
		goto free;

	__bio_for_each_segment(bv, bio, iter, io->rec.bi_iter) {
		memcpy_from_bvec(p->buf + off, &bv);
		off += bv.bv_len;
	}
	p->pool = pool;
	return p;
free:
	kfree(p->buf);
	kfree(p);
	return NULL;
}

/*
 * The pool's promotion work: the read misses held for a copy (their own
 * list and work item, so that no other bio's mapping or submission holds
 * up a read), each copied, completed, then its copy written.
 */
void vwc_promote_work(struct work_struct *ws)
{
	struct vwc_pool *pool = container_of(ws, struct vwc_pool,
					     promote_work);
	struct bio_list bios;
	struct vwc_promote *p;
	struct bio *bio;

	vwc_cache_lock_irq(pool);
	bios = pool->promote_bios;
	bio_list_init(&pool->promote_bios);
	spin_unlock_irq(&pool->cache_lock);

	while ((bio = bio_list_pop(&bios))) {
		struct vwc_io *io = vwc_io_of(bio);

		p = vwc_promote(io->vm, bio, io);
		io->finished = true;
		bio_endio(bio);
		if (p)
			vwc_promote_write(p);
	}
}

/* Hold a completed read miss for vwc_promote_work(). */
static int vwc_hold_promotion(struct vwc_pool *pool, struct bio *bio)
{
	unsigned long flags;

	vwc_cache_lock_irqsave(pool, flags);
	bio_list_add(&pool->promote_bios, bio);
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	queue_work(pool->wq, &pool->promote_work);
	return DM_ENDIO_INCOMPLETE;
}

/* ---- completion -------------------------------------------------------- */

/* The fresh blocks of a write run are written: dirty, or dropped. */
static void vwc_fill_done(struct vwc_pool *pool, struct vwc_io *io, bool ok)
{
	unsigned long flags;
	u32 cb;

	vwc_cache_lock_irqsave(pool, flags);
	for (cb = io->cb; cb < io->cb + io->nr; cb++)
		vwc_fill_end_locked(pool, cb, ok, true);
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	vwc_kick_deferred(pool);
}

static void vwc_ssd_error(struct vwc_pool *pool, bool write)
{
	if (cmpxchg(&pool->state, VWC_POOL_OK, VWC_POOL_DEGRADED) ==
	    VWC_POOL_OK)
		DMERR_LIMIT("%s: SSD %s error: pool degraded, new data bypasses the cache",
			    dm_device_name(pool->md), write ? "write" : "read");
}

/* The sub-blocks the @i-th block of a hit run covers whole. */
static u16 vwc_hit_whole(struct vwc_vm *vm, struct vwc_io *io, u32 i)
{
	struct vwc_pool *pool = vm->pool;
	sector_t off = dm_target_offset(vm->ti, io->rec.bi_iter.bi_sector) &
		       ((1U << pool->block_shift) - 1);
	u16 whole;

	vwc_subs(pool, off, io->rec.bi_iter.bi_size >> SECTOR_SHIFT, i, &whole);
	return whole;
}

/*
 * Does a hit run that completed without error change nothing but its
 * pins (dm-vwcache-unpin.h: given back without cache_lock)?  A read
 * changes nothing.  An in-place write changes nothing if each block is
 * dirty, not under writeback, and already holds every sub-block it
 * wrote, or is unmapped (vwc_write_hit_done_locked() does nothing then).
 * Read without cache_lock, after the write completed: a writeback that
 * sets VWC_B_WB later reads this write's data, and one that set it
 * before (and may have read the old data) is seen, as its read was
 * submitted after that, under cache_lock.  Sub-blocks only grow while
 * the block is mapped, and it stays mapped while pinned.
 */
static bool vwc_hit_quiet(struct vwc_vm *vm, struct vwc_io *io)
{
	struct vwc_pool *pool = vm->pool;
	u32 i;

	if (!io->write)
		return true;
	for (i = 0; i < io->nr; i++) {
		struct vwc_block *b = vwc_block(&pool->blocks, io->cb + i);
		u16 flags = READ_ONCE(b->flags);

		if (!(flags & VWC_B_VALID))
			continue;
		if ((flags & (VWC_B_DIRTY | VWC_B_WB)) != VWC_B_DIRTY ||
		    (vwc_hit_whole(vm, io, i) & ~READ_ONCE(b->sub)))
			return false;
	}
	return true;
}

/* Drop @cb if it still holds clean data of (@slot, @oblock). */
static void vwc_drop_if_clean_locked(struct vwc_pool *pool, u32 cb, u32 slot,
				     u64 oblock)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);

	if ((b->flags & (VWC_B_VALID | VWC_B_DIRTY)) == VWC_B_VALID &&
	    vwc_block_vm(b) == slot && vwc_block_oblock(b) == oblock)
		vwc_drop_block_locked(pool, cb);
}

/*
 * Hold a completing bio for the deferred worker, which carries out what
 * its flags say (vwc_map_and_submit()) in process context.
 */
static int vwc_defer_completion(struct vwc_pool *pool, struct bio *bio)
{
	unsigned long flags;

	vwc_cache_lock_irqsave(pool, flags);
	bio_list_add(&pool->deferred, bio);
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	queue_work(pool->wq, &pool->deferred_work);
	return DM_ENDIO_INCOMPLETE;
}

/* Resubmit a bio the SSD failed to the origin, from process context. */
static int vwc_defer_retry(struct vwc_pool *pool, struct bio *bio,
			   blk_status_t *error)
{
	vwc_io_of(bio)->retry = true;
	*error = BLK_STS_OK;
	return vwc_defer_completion(pool, bio);
}

int vwc_end_io(struct vwc_vm *vm, struct bio *bio, blk_status_t *error)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_io *io = vwc_io_of(bio);
	bool wait_commit = false;
	unsigned long flags;
	u32 i;

	if (io->finished) {
		vwc_count_done(vm, io);
		return DM_ENDIO_DONE;
	}
	switch (io->kind) {
	case VWC_IO_FILL:
		if (*error)
			vwc_ssd_error(pool, true);
		vwc_fill_done(pool, io, !*error);
		if (*error)
			return vwc_defer_retry(pool, bio, error);
		break;
	case VWC_IO_HIT:
		if (!*error && vwc_hit_quiet(vm, io)) {
			vwc_unpin_later(pool, io->cb, io->nr);
			break;
		}
		if (*error)
			vwc_ssd_error(pool, io->write);
		vwc_cache_lock_irqsave(pool, flags);
		for (i = 0; i < io->nr; i++) {
			if (io->write)
				vwc_write_hit_done_locked(pool, io->cb + i,
							  vm->slot,
							  io->oblock + i,
							  vwc_hit_whole(vm, io, i),
							  !*error);
			if (*error && io->clean_hit)
				vwc_drop_if_clean_locked(pool, io->cb + i,
							 vm->slot,
							 io->oblock + i);
			vwc_unpin_locked(pool, io->cb + i);
		}
		spin_unlock_irqrestore(&pool->cache_lock, flags);
		if (*error && io->clean_hit)
			return vwc_defer_retry(pool, bio, error);
		break;
	case VWC_IO_PROMOTE:
		if (!*error)
			return vwc_hold_promotion(pool, bio);
		break;
	case VWC_IO_ORIGIN_FLUSH:
		vwc_origin_flush_done(vm, true, blk_status_to_errno(*error));
		break;
	case VWC_IO_SSD_FLUSH:
		/* The commit's own flush decides: it fails the pool. */
		if (*error) {
			*error = BLK_STS_OK;
			io->kind = VWC_IO_FLUSH;
			vwc_wait_commit(pool, bio);
			return DM_ENDIO_INCOMPLETE;
		}
		break;
	case VWC_IO_ORIGIN:
		if (io->write) {
			vwc_cache_lock_irqsave(pool, flags);
			pool->slots[vm->slot].origin_written = true;
			/* A read that overlapped this write may not promote. */
			vwc_write_around_end_locked(vm, io);
			/* I5: no dirty entry may come back over it. */
			wait_commit = vwc_undirtied_locked(pool, vm->slot);
			spin_unlock_irqrestore(&pool->cache_lock, flags);
		}
		break;
	default:
		break;
	}
	/*
	 * I1: a FUA write through the cache completes after a commit; so does
	 * one around it while a dirty block of its VM awaits a commit (I5).
	 */
	if (io->fua && !*error && (io->kind == VWC_IO_FILL ||
				   io->kind == VWC_IO_HIT || wait_commit)) {
		vwc_wait_commit(pool, bio);
		return DM_ENDIO_INCOMPLETE;
	}
	vwc_count_done(vm, io);
	return DM_ENDIO_DONE;
}
