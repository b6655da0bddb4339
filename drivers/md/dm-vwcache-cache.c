// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache cache state: the pool's block table, policy, filter and VM
 * slots in RAM, built at load from the on-disk records (recovery), and the
 * small operations the I/O path, writeback and commit share on them.
 *
 * Everything here that touches the cache state expects pool->cache_lock
 * held (the *_locked functions) unless it says otherwise; see
 * Documentation/dev/design.rst for the block states and invariants I1-I4.
 */
#include <linux/bitmap.h>
#include <linux/jhash.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dm-vwcache.h"
#include "dm-vwcache-cache.h"
#include "dm-vwcache-commit.h"
#include "dm-vwcache-metadata.h"
#include "dm-vwcache-writeback.h"

#define VWC_POLICY_LEVELS	8

u32 vwc_now_s(void)
{
	return (u32)(jiffies / HZ);
}

/*
 * Kernel RAM that grows with the @nr blocks of a pool: the block table
 * and its hash buckets, the promotion filter and the commit's two
 * generations of entry page marks.
 */
static u64 vwc_cache_block_bytes(const struct vwc_layout *l, u32 nr)
{
	return (u64)vwc_blocks_bytes(nr) + vwc_filter_bytes(nr) +
	       2 * BITS_TO_LONGS(DIV_ROUND_UP(nr, vwc_entries_per_page(l))) *
	       sizeof(unsigned long);
}

/*
 * The pool's cache state, from its layout (loaded, or laid out and not
 * written yet).  A device with more blocks than a table holds, or whose
 * table would take more than all the machine's RAM, is refused before
 * anything is allocated; a table that cannot be allocated is refused
 * too (no OOM kill, see vwc_kvcalloc()).
 */
int vwc_cache_init(struct vwc_pool *pool, const char **error)
{
	const struct vwc_layout *l = &pool->sb.layout;
	u32 nr = (u32)l->nr_blocks;
	int r;

	if (l->nr_blocks > VWC_BLOCKS_MAX) {
		*error = VWC_TOO_MANY_BLOCKS;
		return -EFBIG;
	}
	if (vwc_cache_block_bytes(l, nr) > (u64)totalram_pages() << PAGE_SHIFT) {
		*error = "Cache device needs more RAM for its block table than the machine has: use a larger block_size";
		return -ENOMEM;
	}
	*error = "Cannot allocate the pool's cache state";

	spin_lock_init(&pool->cache_lock);
	bio_list_init(&pool->deferred);
	bio_list_init(&pool->commit_waiters);
	pool->data_start = l->data_start;
	pool->block_shift = ilog2(l->block_size >> SECTOR_SHIFT);
	pool->seed = vwc_uuid_seed(pool->sb.uuid);
	r = vwc_blocks_init(&pool->blocks, nr);
	if (r)
		return r;
	r = vwc_policy_init(&pool->policy, &pool->blocks, VWC_POLICY_LEVELS,
			    max(nr / 2, 64U));
	if (r)
		goto bad_policy;
	r = vwc_filter_init(&pool->filter, nr);
	if (r)
		goto bad_filter;
	r = -ENOMEM;
	pool->slots = kvcalloc(l->max_vms, sizeof(*pool->slots), GFP_KERNEL);
	if (!pool->slots)
		goto bad_slots;
	pool->entries_per_page = vwc_entries_per_page(l);
	pool->sub_full = vwc_sub_full(l);
	pool->sub_shift = ilog2(l->block_size / l->subblocks) - SECTOR_SHIFT;
	pool->nr_meta_pages = DIV_ROUND_UP(nr, pool->entries_per_page);
	pool->meta_pages[0] = kvcalloc(BITS_TO_LONGS(pool->nr_meta_pages),
				       sizeof(unsigned long), GFP_KERNEL);
	pool->meta_pages[1] = kvcalloc(BITS_TO_LONGS(pool->nr_meta_pages),
				       sizeof(unsigned long), GFP_KERNEL);
	pool->vm_pages = bitmap_zalloc(VWC_MAX_VMS / VWC_VMS_PER_PAGE,
				       GFP_KERNEL);
	pool->attach_pages = bitmap_zalloc(VWC_MAX_VMS / VWC_ATTACH_PER_PAGE,
					   GFP_KERNEL);
	if (!pool->meta_pages[0] || !pool->meta_pages[1] || !pool->vm_pages ||
	    !pool->attach_pages)
		goto bad_meta;
	/* The epochs, then the writes in flight to the origin, by hash. */
	pool->write_epoch = kcalloc(2 * VWC_WRITE_EPOCHS, sizeof(u32),
				    GFP_KERNEL);
	pool->write_inflight = pool->write_epoch + VWC_WRITE_EPOCHS;
	pool->wb_cbs = kcalloc(VWC_WB_BATCH, sizeof(u32), GFP_KERNEL);
	pool->wb_subs = kcalloc(VWC_WB_BATCH, sizeof(u16), GFP_KERNEL);
	pool->wb_runs = kcalloc(VWC_WB_BATCH, sizeof(*pool->wb_runs),
				GFP_KERNEL);
	pool->wb_order = kcalloc(VWC_WB_BATCH, sizeof(u32), GFP_KERNEL);
	pool->wb_jobs = kcalloc(VWC_WB_BATCH, sizeof(*pool->wb_jobs),
				GFP_KERNEL);
	if (!pool->write_epoch || !pool->wb_cbs || !pool->wb_subs ||
	    !pool->wb_runs || !pool->wb_order || !pool->wb_jobs ||
	    bioset_init(&pool->split_bs, BIO_POOL_SIZE, 0, 0))
		goto bad_scratch;
	if (bioset_init(&pool->flush_bs, BIO_POOL_SIZE, 0, 0))
		goto bad_flush_bs;
	if (vwc_unpins_init(pool))
		goto bad_unpins;
	init_waitqueue_head(&pool->wb_wait);
	vwc_slots_init(pool);
	return 0;

bad_unpins:
	bioset_exit(&pool->flush_bs);
bad_flush_bs:
	bioset_exit(&pool->split_bs);
bad_scratch:
	kfree(pool->write_epoch);
	kfree(pool->wb_cbs);
	kfree(pool->wb_subs);
	kfree(pool->wb_runs);
	kfree(pool->wb_order);
	kfree(pool->wb_jobs);
bad_meta:
	bitmap_free(pool->vm_pages);
	bitmap_free(pool->attach_pages);
	kvfree(pool->meta_pages[0]);
	kvfree(pool->meta_pages[1]);
	kvfree(pool->slots);
bad_slots:
	vwc_filter_exit(&pool->filter);
bad_filter:
	vwc_policy_exit(&pool->policy);
bad_policy:
	vwc_blocks_exit(&pool->blocks);
	return r;
}

/*
 * The kernel RAM of @pool (sysfs ram_block_bytes and ram_fixed_bytes, see
 * the admin guide): with @per_block, what grows with the number of blocks
 * (the block table and its hash buckets, the promotion filter, the commit's
 * page marks); else the rest, the same for any pool: the pool and its VM
 * slots (the pool's counters among them), the heads of the VMs' lists of
 * blocks, their attachment records, the write guards, writeback scratch,
 * the commit's state and the metadata pages dm-bufio reserves for it.
 * VM devices' own state (their per-CPU counters) is theirs, not the
 * pool's.
 */
u64 vwc_cache_ram(struct vwc_pool *pool, bool per_block)
{
	u32 nr = pool->blocks.nr, i, attached = 0;
	u64 bytes;

	if (per_block)
		return vwc_cache_block_bytes(&pool->sb.layout, nr);
	vwc_cache_lock_irq(pool);
	for (i = 0; i < pool->sb.layout.max_vms; i++)
		attached += !!pool->slots[i].attach;
	spin_unlock_irq(&pool->cache_lock);
	bytes = sizeof(*pool) +
		(u64)pool->sb.layout.max_vms * sizeof(*pool->slots) +
		(u64)attached * sizeof(*pool->slots[0].attach) +
		vwc_blocks_fixed_bytes() +
		BITS_TO_LONGS(VWC_MAX_VMS / VWC_VMS_PER_PAGE) *
		sizeof(unsigned long) +
		BITS_TO_LONGS(VWC_MAX_VMS / VWC_ATTACH_PER_PAGE) *
		sizeof(unsigned long) +
		2 * VWC_WRITE_EPOCHS * sizeof(u32) +
		VWC_WB_BATCH * (2 * sizeof(u32) + sizeof(u16) +
				sizeof(*pool->wb_runs) +
				sizeof(*pool->wb_jobs)) +
		2 * BIO_POOL_SIZE * sizeof(struct bio) +
		vwc_commit_bytes() + VWC_MD_RESERVE * VWC_MD_BLOCK_SIZE +
		vwc_unpins_bytes() +
		(u64)num_possible_cpus() * sizeof(struct vwc_lock_counts);
	return bytes;
}

void vwc_cache_exit(struct vwc_pool *pool)
{
	u32 i;

	for (i = 0; i < pool->sb.layout.max_vms; i++)
		kfree(pool->slots[i].attach);
	bitmap_free(pool->vm_pages);
	bitmap_free(pool->attach_pages);
	kfree(pool->write_epoch);
	kfree(pool->wb_cbs);
	kfree(pool->wb_subs);
	kfree(pool->wb_runs);
	kfree(pool->wb_order);
	kfree(pool->wb_jobs);
	vwc_wbbuf_trim(&pool->wbbuf);
	vwc_unpins_exit(pool);
	bioset_exit(&pool->split_bs);
	bioset_exit(&pool->flush_bs);
	kvfree(pool->meta_pages[0]);
	kvfree(pool->meta_pages[1]);
	kvfree(pool->slots);
	vwc_filter_exit(&pool->filter);
	vwc_policy_exit(&pool->policy);
	vwc_blocks_exit(&pool->blocks);
}

void vwc_slots_init(struct vwc_pool *pool)
{
	u32 i;

	INIT_LIST_HEAD(&pool->slots_put);
	for (i = 0; i < VWC_SLOT_BUCKETS; i++)
		pool->slot_hash[i] = VWC_SLOT_NIL;
	bitmap_zero(pool->slots_used, VWC_MAX_VMS);
	for (i = 0; i < pool->sb.layout.max_vms; i++) {
		vwc_list_init(&pool->slots[i].dirty);
		INIT_LIST_HEAD(&pool->slots[i].put_entry);
		pool->slots[i].hnext = VWC_SLOT_NIL;
	}
}

/*
 * The slots in use are found by vm_id through a chained hash table
 * (pool->slot_hash, chained through the slots' hnext) and a free one
 * through a bitmap (pool->slots_used), so attaching a vm_id costs O(1),
 * not a walk of the 4096 slots under cache_lock.  A vm_id may be in two
 * slots only while a load sorts out a crash's leftovers
 * (vwc_load_dedup_slots()).
 */
static u16 *vwc_slot_bucket(struct vwc_pool *pool, const char *vm_id)
{
	return &pool->slot_hash[jhash(vm_id, strlen(vm_id), 0) &
				(VWC_SLOT_BUCKETS - 1)];
}

/* @slot holds @vm_id from now on. */
static void vwc_slot_use_locked(struct vwc_pool *pool, u32 slot,
				const char *vm_id)
{
	struct vwc_slot *s = &pool->slots[slot];
	u16 *head;

	strscpy(s->vm_id, vm_id, sizeof(s->vm_id));
	s->in_use = true;
	head = vwc_slot_bucket(pool, s->vm_id);
	s->hnext = *head;
	*head = slot;
	__set_bit(slot, pool->slots_used);
}

/* @slot holds no vm_id any more. */
static void vwc_slot_unuse_locked(struct vwc_pool *pool, u32 slot)
{
	struct vwc_slot *s = &pool->slots[slot];
	u16 *p = vwc_slot_bucket(pool, s->vm_id);

	while (*p != VWC_SLOT_NIL && *p != slot)
		p = &pool->slots[*p].hnext;
	if (!WARN_ON_ONCE(*p == VWC_SLOT_NIL))
		*p = s->hnext;
	s->hnext = VWC_SLOT_NIL;
	s->in_use = false;
	s->vm_id[0] = '\0';
	__clear_bit(slot, pool->slots_used);
}

/* The slot in use holding @vm_id after @after (VWC_SLOT_NIL: the first). */
static u32 vwc_slot_lookup_locked(struct vwc_pool *pool, const char *vm_id,
				  u32 after)
{
	u16 i = after == VWC_SLOT_NIL ? *vwc_slot_bucket(pool, vm_id) :
		pool->slots[after].hnext;

	for (; i != VWC_SLOT_NIL; i = pool->slots[i].hnext)
		if (!strcmp(pool->slots[i].vm_id, vm_id))
			return i;
	return VWC_SLOT_NIL;
}

/*
 * The entry of @cb must be rewritten: it is marked in the current
 * generation, and written by the commit that freezes that generation
 * (with the block's state at its encode: see dm-vwcache-commit.c).
 */
void vwc_mark_meta_locked(struct vwc_pool *pool, u32 cb)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);

	b->flags |= VWC_B_META(pool->meta_gen);
	pool->meta_marked[pool->meta_gen] = true;
	__set_bit(cb / pool->entries_per_page,
		  pool->meta_pages[pool->meta_gen]);
}

/*
 * I5: a block of @slot stops being dirty (written back, or dropped) in the
 * current generation, but its durable entry may still say dirty until the
 * commit of that generation ends.  Until then a write around the cache to
 * the origin could be undone after a crash by the old dirty block coming
 * back and being written back over it, so such a FUA write completes only
 * after a commit (vwc_undirtied_locked; a FLUSH waits for one anyway).
 * The change is in the current generation, which the next commit to
 * freeze (number pool->freezes + 1) writes.
 */
void vwc_mark_undirtied_locked(struct vwc_pool *pool, struct vwc_slot *slot)
{
	slot->undirtied = pool->freezes + 1;
}

/* Must a FUA write around of @slot wait for a commit (I5)? */
bool vwc_undirtied_locked(struct vwc_pool *pool, u32 slot)
{
	return pool->slots[slot].undirtied > pool->freezes_durable;
}

sector_t vwc_cblock_sector(struct vwc_pool *pool, u32 cb)
{
	return pool->data_start + ((sector_t)cb << pool->block_shift);
}

/*
 * Take @cb off whatever it is on (dirty FIFO or policy queue) and out of
 * the index, and give it back: to free_pending at once when unpinned (I2:
 * a commit must record it free before reuse), else when the last pin goes
 * (ZOMBIE).  Its entry is rewritten as free at the next commit.
 */
void vwc_drop_block_locked(struct vwc_pool *pool, u32 cb)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);
	struct vwc_slot *slot = &pool->slots[vwc_block_vm(b)];

	if (b->flags & VWC_B_DIRTY) {
		vwc_list_del(&pool->blocks, &slot->dirty, cb);
		slot->dirty_subs -= hweight16(b->sub);
		pool->nr_dirty--;
		vwc_mark_undirtied_locked(pool, slot);
		vwc_wb_slot_cleaned_locked(pool, slot);
	} else if (b->flags & VWC_B_POLICY) {
		vwc_policy_remove(&pool->policy, cb);
	}
	if (b->flags & VWC_B_VALID) {
		vwc_unmap(&pool->blocks, cb);
		pool->nr_valid--;
		slot->nr_cached--;
	}
	b->flags &= ~(VWC_B_DIRTY | VWC_B_REDIRTY | VWC_B_PENDING |
		      VWC_B_STALE);
	vwc_mark_meta_locked(pool, cb);
	/* A read hit may pin it without the lock until it is dead. */
	if (!vwc_block_kill(b)) {
		b->flags |= VWC_B_ZOMBIE;
		return;
	}
	vwc_release(&pool->blocks, cb);
}

/*
 * Pin @cb for a bio of the data path.  False when it has VWC_PINS_MAX pins
 * already: the caller defers the bio (vwc_unpin_locked() kicks the
 * deferred list when a block at the cap loses a pin).
 */
bool vwc_pin_locked(struct vwc_pool *pool, u32 cb)
{
	return vwc_block_pin(vwc_block(&pool->blocks, cb), VWC_PINS_MAX);
}

/*
 * Pin a block just allocated, which no I/O uses yet: but a read hit
 * without the lock may have pinned it since vwc_alloc_locked() revived
 * it (found PENDING, that pin is given back).
 */
void vwc_pin_new_locked(struct vwc_pool *pool, u32 cb)
{
	WARN_ON_ONCE(!vwc_block_pin(vwc_block(&pool->blocks, cb),
				    VWC_PINS_MAX));
}

/* Writeback's pin: one at most per block (VWC_B_WB), above VWC_PINS_MAX. */
void vwc_pin_wb_locked(struct vwc_pool *pool, u32 cb)
{
	WARN_ON_ONCE(!vwc_block_pin(vwc_block(&pool->blocks, cb), U16_MAX));
}

void vwc_unpin_locked(struct vwc_pool *pool, u32 cb)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);
	u32 pins = vwc_block_pins(b);

	if (WARN_ON_ONCE(!pins))
		return;
	if (pins >= VWC_PINS_MAX)
		vwc_kick_deferred(pool);
	if (vwc_block_unpin(b))
		return;
	if (b->flags & VWC_B_ZOMBIE) {
		/*
		 * Pinned again meanwhile by a read hit without the lock (which
		 * finds it unmapped): that pin's unpin releases it.
		 */
		if (!vwc_block_kill(b))
			return;
		b->flags &= ~VWC_B_ZOMBIE;
		vwc_release(&pool->blocks, cb);
	} else if (b->flags & VWC_B_STALE) {
		/* Invalidated while in use (vwc_invalidate_clean()). */
		b->flags &= ~VWC_B_STALE;
		if ((b->flags & (VWC_B_VALID | VWC_B_DIRTY | VWC_B_PENDING)) ==
		    VWC_B_VALID)
			vwc_drop_block_locked(pool, cb);
	}
}

/* A clean, valid block joins the policy. */
void vwc_make_clean_locked(struct vwc_pool *pool, u32 cb)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);
	struct vwc_slot *slot = &pool->slots[vwc_block_vm(b)];

	if (b->flags & VWC_B_DIRTY) {
		vwc_list_del(&pool->blocks, &slot->dirty, cb);
		slot->dirty_subs -= hweight16(b->sub);
		pool->nr_dirty--;
		b->flags &= ~VWC_B_DIRTY;
		vwc_mark_undirtied_locked(pool, slot);
		vwc_wb_slot_cleaned_locked(pool, slot);
	}
	vwc_policy_add(&pool->policy, cb);
	vwc_mark_meta_locked(pool, cb);
}

/* A valid block becomes dirty: to the tail of its slot's FIFO. */
void vwc_make_dirty_locked(struct vwc_pool *pool, u32 cb)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);
	struct vwc_slot *slot = &pool->slots[vwc_block_vm(b)];

	if (b->flags & VWC_B_POLICY)
		vwc_policy_remove(&pool->policy, cb);
	if (!(b->flags & VWC_B_DIRTY)) {
		b->flags |= VWC_B_DIRTY;
		slot->dirty_subs += hweight16(b->sub);
		pool->nr_dirty++;
	} else {
		vwc_list_del(&pool->blocks, &slot->dirty, cb);
	}
	b->stamp = vwc_now_s();
	vwc_list_push_tail(&pool->blocks, &slot->dirty, cb);
	vwc_mark_meta_locked(pool, cb);
	vwc_wb_enlist_locked(pool, vwc_block_vm(b));
}

/*
 * A fresh block is to be filled with @sub (a whole write's sub-blocks, or
 * all of them for a promotion): PENDING, so no other I/O uses it until
 * its data is written (I4), and pinned by the filler.
 */
void vwc_fill_begin_locked(struct vwc_pool *pool, u32 cb, u16 sub)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);

	b->flags |= VWC_B_PENDING;
	b->sub = sub;
	vwc_pin_new_locked(pool, cb);
}

/*
 * Its fill is done: if the block is still mapped, dirty (a write's) or
 * clean (a promotion's) when @ok, dropped when not; the filler's pin
 * given back.
 */
void vwc_fill_end_locked(struct vwc_pool *pool, u32 cb, bool ok, bool dirty)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);

	b->flags &= ~VWC_B_PENDING;
	if (b->flags & VWC_B_VALID) {
		if (!ok)
			vwc_drop_block_locked(pool, cb);
		else if (dirty)
			vwc_make_dirty_locked(pool, cb);
		else
			vwc_make_clean_locked(pool, cb);
	}
	vwc_unpin_locked(pool, cb);
}

/*
 * A write absorbed in place by dirty block @cb: pinned (false at the pin
 * cap: the caller waits for an unpin), and a writeback in flight, which
 * may have read the old data, must leave it dirty (REDIRTY).  The
 * sub-blocks it covers are the block's once written
 * (vwc_write_hit_done_locked()): I4.
 */
bool vwc_write_hit_locked(struct vwc_pool *pool, u32 cb)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);

	if (!vwc_pin_locked(pool, cb))
		return false;
	if (b->flags & VWC_B_WB)
		b->flags |= VWC_B_REDIRTY;
	return true;
}

/*
 * An in-place write to block @cb, mapped for (@slot, @oblock) when the
 * write was, completed (@ok: without error); @whole: the sub-blocks it
 * covered whole.  A writeback that read the block before this write
 * landed must not leave it clean: if one is in flight the block stays
 * dirty after it (REDIRTY), and if one already finished it becomes dirty
 * again.  (The write's pin kept it from being evicted meanwhile.)  The
 * sub-blocks it covered that the block did not hold are the block's now,
 * if written: all dirty, as every sub-block of a dirty block.  (It
 * touched in part only sub-blocks the block held.)  Nothing for a block
 * no longer mapped there.
 */
void vwc_write_hit_done_locked(struct vwc_pool *pool, u32 cb, u32 slot,
			       u64 oblock, u16 whole, bool ok)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);
	u16 grow;

	if (!(b->flags & VWC_B_VALID) || vwc_block_vm(b) != slot ||
	    vwc_block_oblock(b) != oblock)
		return;
	grow = whole & ~b->sub;
	if (ok && grow) {
		if (b->flags & VWC_B_DIRTY)
			pool->slots[slot].dirty_subs += hweight16(grow);
		b->sub |= grow;
		vwc_mark_meta_locked(pool, cb);
	}
	if (b->flags & VWC_B_WB)
		b->flags |= VWC_B_REDIRTY;
	else if (!(b->flags & VWC_B_DIRTY))
		vwc_make_dirty_locked(pool, cb);
}

/* Map a fresh block for (slot, oblock); returns VWC_NIL when none free. */
u32 vwc_alloc_locked(struct vwc_pool *pool, u32 slot, u64 oblock)
{
	u32 cb = vwc_alloc(&pool->blocks);
	struct vwc_block *b;

	if (cb == VWC_NIL)
		return cb;
	b = vwc_block(&pool->blocks, cb);
	/* Not to be read until filled (vwc_fill_begin_locked()): I4. */
	b->flags = VWC_B_PENDING;
	b->sub = pool->sub_full;
	vwc_map(&pool->blocks, cb, slot, oblock);
	vwc_block_revive(b);
	pool->nr_valid++;
	pool->slots[slot].nr_cached++;
	return cb;
}

#define VWC_ANY_SLOT	U32_MAX

/*
 * The policy's next victim, of @slot or of any (VWC_ANY_SLOT); if it has
 * none, the first time (*@applied false), the pins given back later are
 * applied (maybe only they hold the blocks) and it is asked once more.
 */
static u32 vwc_victim_locked(struct vwc_pool *pool, u32 slot, bool *applied)
{
	u32 cb;

	for (;;) {
		cb = slot == VWC_ANY_SLOT ?
		     vwc_policy_victim(&pool->policy) :
		     vwc_policy_victim_of(&pool->policy, slot, VWC_QUOTA_SCAN);
		if (cb != VWC_NIL || *applied)
			return cb;
		vwc_unpins_apply_locked(pool);
		*applied = true;
	}
}

/*
 * Room for one more block of @slot within its cache quota.  At the quota,
 * some of the slot's own clean blocks are evicted, never another slot's.
 * False when that is not enough: the slot's writeback then runs urgently
 * (quota_full) and drops its blocks as it writes them back.
 */
bool vwc_quota_room_locked(struct vwc_pool *pool, u32 slot)
{
	struct vwc_slot *s = &pool->slots[slot];
	bool applied = false;
	unsigned int n;
	u32 cb;

	if (!s->quota)
		return true;
	for (n = 0; s->nr_cached >= s->quota && n < VWC_QUOTA_EVICT; n++) {
		cb = vwc_victim_locked(pool, slot, &applied);
		if (cb == VWC_NIL)
			break;
		vwc_drop_block_locked(pool, cb);
	}
	if (s->nr_cached < s->quota)
		return true;
	s->quota_full = true;
	return false;
}

/* Below this, a slot at its quota has room again (hysteresis). */
u64 vwc_quota_low(const struct vwc_slot *s)
{
	return s->quota - max_t(u64, s->quota / 16, 1);
}

/*
 * Evict up to @nr clean blocks to free_pending; returns how many.  They
 * become allocatable after the next commit (I2).
 */
u32 vwc_evict_locked(struct vwc_pool *pool, u32 nr)
{
	bool applied = false;
	u32 done;

	for (done = 0; done < nr; done++) {
		u32 cb = vwc_victim_locked(pool, VWC_ANY_SLOT, &applied);

		if (cb == VWC_NIL)
			break;
		vwc_drop_block_locked(pool, cb);
	}
	return done;
}

/* Blocks visited per hold of cache_lock by vwc_walk_slot(). */
#define VWC_WALK_CHUNK		4096

typedef u32 (*vwc_walk_fn)(struct vwc_pool *pool, u32 cb);

/*
 * Call @fn on every block of @slot mapped when the walk starts (and maybe
 * on some mapped since, or twice on one: @fn must not mind), under
 * cache_lock, taken in chunks of VWC_WALK_CHUNK blocks (a few microseconds
 * each, interrupts off).  O(the slot's blocks), not O(the pool's): the
 * slot's list of mapped blocks (vwc_vm_rotate() keeps the walk correct
 * across the lock drops).  Returns the sum of what @fn returned.
 */
static u32 vwc_walk_slot(struct vwc_pool *pool, u32 slot, vwc_walk_fn fn)
{
	struct vwc_blocks *t = &pool->blocks;
	u32 n, i, cb, sum = 0;

	vwc_cache_lock_irq(pool);
	/* What completed before the walk holds no pin in it. */
	vwc_unpins_apply_locked(pool);
	n = vwc_vm_count(t, slot);
	for (i = 0; i < n; i++) {
		cb = vwc_vm_rotate(t, slot);
		if (cb == VWC_NIL)
			break;
		sum += fn(pool, cb);
		if (i % VWC_WALK_CHUNK == VWC_WALK_CHUNK - 1) {
			spin_unlock_irq(&pool->cache_lock);
			cond_resched();
			vwc_cache_lock_irq(pool);
		}
	}
	spin_unlock_irq(&pool->cache_lock);
	return sum;
}

static u32 vwc_drop_clean_block_locked(struct vwc_pool *pool, u32 cb)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);

	if ((b->flags & (VWC_B_VALID | VWC_B_DIRTY)) == VWC_B_VALID)
		vwc_drop_block_locked(pool, cb);
	return 0;
}

/*
 * Drop every clean block of @slot (on a fresh attach the origin may have
 * changed behind them; on detach they are not needed), promotions still
 * being copied in included.  Only while no VM device of the slot does
 * I/O (a first write in flight is PENDING and not yet dirty).  At attach,
 * detach, load and an origin change; O(the slot's blocks), cache_lock
 * taken in chunks (vwc_walk_slot()).
 */
void vwc_drop_clean(struct vwc_pool *pool, u32 slot)
{
	vwc_walk_slot(pool, slot, vwc_drop_clean_block_locked);
}

/*
 * Invalidate one block of the slot being invalidated, if clean.  An
 * unpinned clean block has no I/O on it: dropped at once.  A pinned clean
 * one (or a PENDING one, which is pinned) may be:
 *  - a read hit in flight: it read the SSD before the invalidate returned,
 *    which is allowed, but the block must not serve later reads;
 *  - a promotion copy in flight (PENDING): a copy of what the origin held
 *    before the invalidate, so it must never become a clean block;
 *  - a first write in flight (PENDING): it becomes dirty at completion
 *    and must stay;
 *  - an in-place write in flight to a block whose writeback completed
 *    meanwhile: it makes the block dirty again at completion, so dropping
 *    it now would lose that write (the reason vwc_drop_clean() needs a
 *    quiet slot).
 * Telling these apart needs the completion, so the block is marked STALE:
 * no read hits it while it is clean (vwc_map_read() goes to the origin),
 * and the last unpin drops it unless it is dirty by then.  Dirty blocks,
 * and blocks under writeback (dirty), are left alone.
 */
static u32 vwc_invalidate_block_locked(struct vwc_pool *pool, u32 cb)
{
	struct vwc_block *b = vwc_block(&pool->blocks, cb);

	if (b->flags & VWC_B_DIRTY)
		return 0;
	if (vwc_block_pins(b))
		b->flags |= VWC_B_STALE;
	else
		vwc_drop_block_locked(pool, cb);
	return 0;
}

/*
 * The VM message "invalidate": drop every clean block of @slot while its
 * VM device is live; dirty blocks stay.  Promotions whose origin read was
 * mapped before this call are cancelled by bumping every promotion guard
 * (a promotion checks its guard before it takes a block; other VMs lose
 * at most the promotions in flight, which the filter redoes).  Blocks
 * cached after a chunk was walked were read from the origin after the
 * invalidate began, so they are current (the walk may invalidate some
 * of them too, which costs a block, not correctness).  O(the slot's
 * blocks), cache_lock taken in chunks (vwc_walk_slot()).
 */
void vwc_invalidate_clean(struct vwc_pool *pool, u32 slot)
{
	u32 i;

	vwc_cache_lock_irq(pool);
	for (i = 0; i < VWC_WRITE_EPOCHS; i++)
		pool->write_epoch[i]++;
	spin_unlock_irq(&pool->cache_lock);
	vwc_walk_slot(pool, slot, vwc_invalidate_block_locked);
}

/* The next commit rewrites the VM record of @slot. */
void vwc_slot_mark_locked(struct vwc_pool *pool, u32 slot)
{
	pool->slots[slot].meta = true;
	__set_bit(slot / VWC_VMS_PER_PAGE, pool->vm_pages);
}

/* ... and its attachment record, if the pool has the table. */
void vwc_slot_mark_attach_locked(struct vwc_pool *pool, u32 slot)
{
	if (pool->sb.layout.attach_start)
		__set_bit(slot / VWC_ATTACH_PER_PAGE, pool->attach_pages);
}

/* @slot is free: no vm_id, no origin, no attachment (marked for commit). */
static void vwc_slot_forget_locked(struct vwc_pool *pool, u32 slot)
{
	struct vwc_slot *s = &pool->slots[slot];

	vwc_slot_unuse_locked(pool, slot);
	memset(&s->origin_id, 0, sizeof(s->origin_id));
	kfree(s->attach);
	s->attach = NULL;
	vwc_slot_mark_locked(pool, slot);
	vwc_slot_mark_attach_locked(pool, slot);
}

/* Find the slot of @vm_id, or take a free one; -ENOSPC when full. */
int vwc_slot_get_locked(struct vwc_pool *pool, const char *vm_id, u32 *out)
{
	u32 i = vwc_slot_lookup_locked(pool, vm_id, VWC_SLOT_NIL), free;

	if (i != VWC_SLOT_NIL) {
		pool->slots[i].put_pending = false;
		pool->slots[i].put_frozen = false;
		*out = i;
		return 0;
	}
	free = find_first_zero_bit(pool->slots_used, pool->sb.layout.max_vms);
	if (free >= pool->sb.layout.max_vms)
		return -ENOSPC;
	vwc_slot_use_locked(pool, free, vm_id);
	vwc_slot_mark_locked(pool, free);
	*out = free;
	return 0;
}

/* The slot of @vm_id, if the pool has one. */
int vwc_slot_find_locked(struct vwc_pool *pool, const char *vm_id, u32 *out)
{
	u32 i = vwc_slot_lookup_locked(pool, vm_id, VWC_SLOT_NIL);

	if (i == VWC_SLOT_NIL)
		return -ENOENT;
	*out = i;
	return 0;
}

/* Drop @cb, dirty or not; 1 if it was dirty. */
static u32 vwc_drop_any_block_locked(struct vwc_pool *pool, u32 cb)
{
	u32 dirty = !!(vwc_block(&pool->blocks, cb)->flags & VWC_B_DIRTY);

	vwc_drop_block_locked(pool, cb);
	return dirty;
}

/*
 * The pool message drop_dirty: every block of @slot goes, dirty ones too
 * (the operator discards that data on purpose), and the slot after them
 * (vwc_slot_put_locked()), its origin forgotten.  The slot has no VM
 * device and gets none meanwhile: the caller holds pool->lock, which a VM
 * device takes to join the pool before it attaches to its slot.  Returns
 * the number of dirty blocks dropped.
 */
u32 vwc_drop_slot(struct vwc_pool *pool, u32 slot)
{
	u32 dirty = vwc_walk_slot(pool, slot, vwc_drop_any_block_locked);

	vwc_cache_lock_irq(pool);
	memset(&pool->slots[slot].origin_id, 0,
	       sizeof(pool->slots[slot].origin_id));
	vwc_slot_mark_locked(pool, slot);
	vwc_slot_put_locked(pool, slot);
	spin_unlock_irq(&pool->cache_lock);
	return dirty;
}

/*
 * A slot with no blocks and no VM device is given back, but only after a
 * commit has recorded its blocks free: a durable entry must never name an
 * unused slot.  The commit that ends next frees it (vwc_slots_reap).
 * Every slot put_pending or put_frozen is on pool->slots_put, so a commit
 * visits those only, never every slot; one taken again meanwhile
 * (vwc_slot_get_locked() clears both) leaves the list at the next visit.
 */
void vwc_slot_put_locked(struct vwc_pool *pool, u32 slot)
{
	struct vwc_slot *s = &pool->slots[slot];

	if (s->nr_attached || s->nr_cached || !s->in_use)
		return;
	s->put_pending = true;
	if (list_empty(&s->put_entry))
		list_add_tail(&s->put_entry, &pool->slots_put);
}

/* Off pool->slots_put once neither put_pending nor put_frozen. */
static void vwc_slot_unput_locked(struct vwc_slot *s)
{
	if (!s->put_pending && !s->put_frozen)
		list_del_init(&s->put_entry);
}

/* A commit starts: the slots put so far are freed when it ends. */
void vwc_slots_freeze_locked(struct vwc_pool *pool)
{
	struct vwc_slot *s, *next;

	list_for_each_entry_safe(s, next, &pool->slots_put, put_entry) {
		s->put_frozen = s->put_pending;
		s->put_pending = false;
		vwc_slot_unput_locked(s);
	}
}

/* A commit ended: free the slots put before it began and still unused. */
void vwc_slots_reap_locked(struct vwc_pool *pool)
{
	struct vwc_slot *s, *next;

	list_for_each_entry_safe(s, next, &pool->slots_put, put_entry) {
		if (!s->put_frozen) {
			vwc_slot_unput_locked(s);
			continue;
		}
		s->put_frozen = false;
		vwc_slot_unput_locked(s);
		if (s->nr_attached || s->nr_cached)
			continue;
		vwc_slot_forget_locked(pool, s - pool->slots);
	}
}

/* ---- recovery ---------------------------------------------------------- */

static int vwc_load_slots(struct vwc_pool *pool, void *page, const char **error)
{
	const struct vwc_layout *l = &pool->sb.layout;
	struct vwc_vm_record rec;
	u32 i;
	int r;

	for (i = 0; i < l->max_vms; i++) {
		const struct vwc_disk_vm *d;
		struct vwc_slot *s = &pool->slots[i];

		if (i % VWC_VMS_PER_PAGE == 0) {
			r = vwc_md_read_page(pool, l->vm_table_start,
					     i / VWC_VMS_PER_PAGE, page);
			if (r) {
				*error = "Cannot read the pool's VM table";
				return r;
			}
		}
		d = (const struct vwc_disk_vm *)page + i % VWC_VMS_PER_PAGE;
		/*
		 * A VM record is taken whatever commit wrote it: seen early or
		 * late, every change of a record is safe (a slot is freed only
		 * by a commit after the one that freed its last block, and
		 * reused only after that), while ignoring a rewritten record
		 * would orphan the committed blocks of its slot.
		 */
		switch (vwc_vm_decode(d, i, U64_MAX, pool->seed, &rec)) {
		case VWC_REC_CORRUPT:
			*error = "Pool VM table is damaged";
			return -EINVAL;
		case VWC_REC_OK:
			if (rec.in_use) {
				vwc_slot_use_locked(pool, i, rec.vm_id);
				s->generation = rec.generation;
				s->origin_id = rec.origin;
			}
			break;
		default:
			break;
		}
	}
	return 0;
}

/*
 * The attachment records of the slots in use (VWC_FEATURE_INCOMPAT_ATTACH).
 * Taken whatever commit wrote them, like VM records; one of another vm_id
 * than its slot's (a commit torn between the two tables, or a free slot's
 * record not yet rewritten) is stale and ignored, a damaged one refuses
 * the load.
 */
static int vwc_load_attach(struct vwc_pool *pool, void *page,
			   const char **error)
{
	const struct vwc_layout *l = &pool->sb.layout;
	struct vwc_attach_record *rec;
	u32 i;
	int r = 0;

	if (!l->attach_start)
		return 0;
	rec = kmalloc(sizeof(*rec), GFP_KERNEL);
	if (!rec)
		goto no_memory;
	for (i = 0; i < l->max_vms; i++) {
		const struct vwc_disk_attach *d;
		struct vwc_slot *s = &pool->slots[i];

		if (i % VWC_ATTACH_PER_PAGE == 0) {
			r = vwc_md_read_page(pool, l->attach_start,
					     i / VWC_ATTACH_PER_PAGE, page);
			if (r) {
				*error = "Cannot read the pool's attachment table";
				goto out;
			}
		}
		d = (const struct vwc_disk_attach *)page + i % VWC_ATTACH_PER_PAGE;
		switch (vwc_attach_decode(d, i, U64_MAX, pool->seed, rec)) {
		case VWC_REC_CORRUPT:
			*error = "Pool attachment table is damaged";
			r = -EINVAL;
			goto out;
		case VWC_REC_OK:
			if (!s->in_use || strcmp(s->vm_id, rec->vm_id))
				break;
			s->attach = rec;
			rec = kmalloc(sizeof(*rec), GFP_KERNEL);
			if (!rec)
				goto no_memory;
			break;
		default:
			break;
		}
	}
out:
	kfree(rec);
	return r;
no_memory:
	*error = "Cannot allocate the pool's attachment records";
	return -ENOMEM;
}

/* Map one committed valid entry; refuses what cannot be trusted. */
static int vwc_load_entry(struct vwc_pool *pool, u32 cb,
			  const struct vwc_entry *e, const char **error)
{
	struct vwc_slot *s = &pool->slots[e->vm];
	struct vwc_block *b;
	u32 other;

	if (!s->in_use) {
		*error = "Pool metadata entry names an unused VM slot";
		return -EINVAL;
	}
	other = vwc_lookup(&pool->blocks, e->vm, e->oblock);
	if (other != VWC_NIL) {
		DMERR("entries %u and %u both claim block %llu of VM slot %u",
		      other, cb, e->oblock, e->vm);
		*error = "Two pool metadata entries claim one block";
		return -EINVAL;
	}
	vwc_list_del(&pool->blocks, &pool->blocks.free, cb);
	b = vwc_block(&pool->blocks, cb);
	b->flags = 0;
	b->sub = e->map;
	vwc_map(&pool->blocks, cb, e->vm, e->oblock);
	vwc_block_revive(b);
	pool->nr_valid++;
	s->nr_cached++;
	if (e->dirty) {
		b->flags |= VWC_B_DIRTY;
		s->dirty_subs += hweight16(b->sub);
		b->stamp = vwc_now_s();
		vwc_list_push_tail(&pool->blocks, &s->dirty, cb);
		pool->nr_dirty++;
	} else {
		vwc_policy_add(&pool->policy, cb);
	}
	return 0;
}

/*
 * Entries of a torn commit (sequence above the superblock's) on page
 * @index are rewritten as free under the durable sequence, and written
 * back: the next commit reuses that sequence + 1 (see the commit rule in
 * dm-vwcache-commit.c).  Returns how many, or a negative error.
 */
static int vwc_scrub_entry_page(struct vwc_pool *pool, u32 index, void *page)
{
	const struct vwc_layout *l = &pool->sb.layout;
	u32 first = index * pool->entries_per_page;
	int i, n = 0;

	for (i = 0; i < pool->entries_per_page && first + i < l->nr_blocks; i++)
		n += vwc_entry_scrub(l, vwc_entry_ptr(l, page, i), first + i,
				     pool->sb.seq, pool->seed);
	if (n) {
		int r = vwc_md_write_page(pool, l->entries_start, index, page);

		if (r)
			return r;
	}
	return n;
}

static int vwc_load_entries(struct vwc_pool *pool, void *page,
			    const char **error)
{
	const struct vwc_layout *l = &pool->sb.layout;
	u32 epp = pool->entries_per_page;
	u64 end = min_t(u64, l->nr_blocks,
			vwc_sb_entry_pages_read(&pool->sb) * epp);
	struct vwc_entry e;
	u32 cb, scrubbed = 0;
	int r;

	/* The blocks on entry pages never initialised are free. */
	for (cb = 0; cb < end; cb++) {
		const void *d;

		if (cb % epp == 0) {
			u32 index = cb / epp;

			r = vwc_md_read_page(pool, l->entries_start, index,
					     page);
			if (!r)
				r = vwc_scrub_entry_page(pool, index, page);
			if (r < 0) {
				*error = "Cannot read the pool's metadata entries";
				return r;
			}
			scrubbed += r;
			cond_resched();
		}
		d = vwc_entry_ptr(l, page, cb % epp);
		switch (vwc_entry_decode(l, d, cb, pool->sb.seq, pool->seed, &e)) {
		case VWC_REC_CORRUPT:
			*error = "Pool metadata entry is damaged";
			return -EINVAL;
		case VWC_REC_OK:
			if (e.valid) {
				r = vwc_load_entry(pool, cb, &e, error);
				if (r)
					return r;
			}
			break;
		default:
			break;
		}
	}
	if (!scrubbed)
		return 0;
	/* Durable before any commit can reuse their sequence. */
	r = vwc_md_write_pages(pool, true);
	if (r) {
		*error = "Cannot write the pool's metadata entries";
		return r;
	}
	DMINFO("%s: %u entries of an unfinished commit recorded free or as their last commit left them",
	       dm_device_name(pool->md), scrubbed);
	return 0;
}

/*
 * Rebuild the cache state from the committed records: every VM's dirty
 * data is kept.  Called before the pool is registered.
 */
/*
 * Two in-use records of one vm_id: a crash can leave a freed record (no
 * blocks) beside the vm_id's new one, since records are written whatever
 * the commit.  The one without blocks is freed; two with blocks refuse the
 * load (whose data would the vm_id see?).
 */
static int vwc_load_dedup_slots(struct vwc_pool *pool, const char **error)
{
	u32 i, j, next, max = pool->sb.layout.max_vms;

	for (i = 0; i < max; i++) {
		const char *vm_id = pool->slots[i].vm_id;

		if (!pool->slots[i].in_use)
			continue;
		for (j = vwc_slot_lookup_locked(pool, vm_id, VWC_SLOT_NIL);
		     j != VWC_SLOT_NIL && pool->slots[i].in_use; j = next) {
			struct vwc_slot *a = &pool->slots[i];
			struct vwc_slot *b = &pool->slots[j];

			next = vwc_slot_lookup_locked(pool, vm_id, j);
			if (j == i)
				continue;
			if (a->nr_cached && b->nr_cached) {
				DMERR("VM slots %u and %u both hold blocks of %s",
				      i, j, a->vm_id);
				*error = "Pool VM table has two records of one vm_id";
				return -EINVAL;
			}
			if (!a->nr_cached)
				swap(a, b);
			vwc_slot_forget_locked(pool, b - pool->slots);
		}
	}
	return 0;
}

int vwc_cache_load(struct vwc_pool *pool, const char **error)
{
	void *page = kmalloc(VWC_MD_BLOCK_SIZE, GFP_KERNEL);
	u32 i;
	int r;

	if (!page) {
		*error = "Cannot allocate a metadata buffer";
		return -ENOMEM;
	}
	r = vwc_load_slots(pool, page, error);
	if (!r)
		r = vwc_load_attach(pool, page, error);
	if (!r)
		r = vwc_load_entries(pool, page, error);
	if (!r)
		r = vwc_load_dedup_slots(pool, error);
	kfree(page);
	if (r)
		return r;
	/* Clean blocks of detached VMs cannot be trusted: drop them. */
	for (i = 0; i < pool->sb.layout.max_vms; i++) {
		if (!pool->slots[i].in_use)
			continue;
		vwc_drop_clean(pool, i);
		vwc_cache_lock_irq(pool);
		vwc_slot_put_locked(pool, i);
		spin_unlock_irq(&pool->cache_lock);
	}
	return 0;
}
