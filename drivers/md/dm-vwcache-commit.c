// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache commit: makes the pool's cache state durable.
 *
 * One commit at a time (pool->commit_lock).  Every change to a block's
 * durable state is marked META in the current generation (pool->meta_gen)
 * under cache_lock.  A commit:
 *
 *  1. freezes: flips the generation, takes the waiting bios, detaches the
 *     free_pending blocks (vwc_commit_begin) and the slots put so far;
 *  2. takes the entry pages marked in the frozen generation (no new mark
 *     can appear in it, so this set is final), then the VM table pages and
 *     the attachment table pages marked so far (pool->vm_pages,
 *     pool->attach_pages: a slot's record is rewritten where it changed,
 *     no scan of the slots), VWC_COMMIT_BATCH pages at a time: it holds (reads
 *     through dm-bufio) a batch, encodes it under one hold of cache_lock
 *     and releases it dirty, so a commit never holds more than the batch
 *     its dm-bufio client reserves (VWC_MD_RESERVE): it cannot wait for
 *     memory it holds itself, however many pages it changes, and no hold
 *     of cache_lock encodes more than one batch;
 *  3. encoding a block writes its current state with sequence seq + 1.
 *     The commit rule: an entry is rewritten only when its meaning changes
 *     (vwc_entry_update): a block marked but saying what its committed
 *     entry says (a dirty block rewritten during its writeback, say) keeps
 *     that entry, bytes and sequence, so this commit cannot destroy it.
 *     A block's state at its batch's encode may be newer than the freeze;
 *     that is safe for every block on its own (see below), and a block
 *     allocated after the freeze is never written by this commit (free
 *     blocks carry no mark; I2 keeps blocks freed since from reuse), so
 *     which batch a block falls in does not matter
 *     (tests/unit/test_commit_sim.c runs I/O between every two pages);
 *     An entry page at or above the pool's watermark of initialised
 *     pages (VWC_FEATURE_INCOMPAT_LAZY_ENTRIES: the format does not zero
 *     the entries) is written whole, with the pages below it up to the
 *     watermark, which the superblock of step 5 raises past it: a page
 *     is read only once a durable commit wrote it whole;
 *  4. writes the pages;
 *  5. writes the superblock, seq + 1, over its older copy, in one request
 *     that flushes the SSD first (the pages and data writes durable
 *     before it) and is durable itself when it completes (REQ_PREFLUSH |
 *     REQ_FUA, vwc_md_commit_sb(): I1), unless no page changed (no
 *     record's meaning did, no page was zeroed): the durable metadata
 *     says already what the freeze does, so the commit is a flush of
 *     the SSD alone, which makes the data durable (a FLUSH after rewrites
 *     of dirty blocks costs one);
 *  6. gives the detached blocks to the free list (I2), frees the put slots
 *     and completes the waiting bios.
 *
 * No commit touches an origin: no metadata depends on one (writeback
 * writes are flushed before their blocks are clean, I3, and a write
 * around never replaces a dirty block),
 * and a VM device's FLUSH flushes its own origin beside the commit (its
 * second flush bio, dm-vwcache-io.c), so a slow, hung or failing origin
 * holds up and fails its own VM's FLUSH only, never the pool's commits.
 *
 * A crash anywhere before 5 leaves the previous commit in force: records
 * written with seq + 1 are ignored by recovery, as free blocks.  That is
 * safe because of the commit rule: an entry changes only from a state
 * whose loss costs nothing acknowledged (free or clean: the origin has
 * the data; dirty to clean: written back and flushed before; dirty to free:
 * discarded or dropped on purpose; a block new since the last commit has
 * no acknowledged FLUSH yet).  Load scrubs such entries to free under the
 * durable sequence (vwc_entry_scrub) before any new commit, since the
 * next commit reuses seq + 1 and a later superblock would otherwise make
 * them committed.  A failure puts the pool in
 * state "failed": no new dirty data, waiting bios get -EIO.  Only the SSD
 * can fail a commit.
 */
#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "dm-vwcache.h"
#include "dm-vwcache-cache.h"
#include "dm-vwcache-commit.h"
#include "dm-vwcache-metadata.h"

struct vwc_held {
	u32 index;
	struct dm_buffer *b;
	void *data;
	bool changed;			/* to write: some record changed */
};

#define VWC_VM_PAGES		(VWC_MAX_VMS / VWC_VMS_PER_PAGE)
#define VWC_ATTACH_PAGES	(VWC_MAX_VMS / VWC_ATTACH_PER_PAGE)

/* What a batch of held pages holds. */
enum vwc_region {
	VWC_REGION_ENTRIES,
	VWC_REGION_VMS,
	VWC_REGION_ATTACH,
};

struct vwc_commit {
	unsigned int gen;
	u64 freeze;			/* its number: pool->freezes */
	u64 seq;
	struct vwc_held held[VWC_COMMIT_BATCH];	/* the batch held */
	u32 nr_held;
	bool wrote;			/* a page changed: step 5 is due */
	DECLARE_BITMAP(vm_pages, VWC_VM_PAGES);		/* taken marks */
	DECLARE_BITMAP(attach_pages, VWC_ATTACH_PAGES);
	u64 entries_init;		/* the superblock's watermark to be */
	void *sb_buf;			/* the superblock's page */
	void *zero;			/* a page of zeros */
	struct bio_list waiters;
};

static void vwc_commit_freeze(struct vwc_pool *pool, struct vwc_commit *c)
{
	vwc_cache_lock_irq(pool);
	/* Blocks dropped while pinned are released in this commit. */
	vwc_unpins_apply_locked(pool);
	c->gen = pool->meta_gen;
	c->freeze = ++pool->freezes;
	pool->meta_gen ^= 1;
	pool->meta_marked[c->gen] = false;
	bio_list_merge(&c->waiters, &pool->commit_waiters);
	bio_list_init(&pool->commit_waiters);
	vwc_commit_begin(&pool->blocks);
	vwc_slots_freeze_locked(pool);
	spin_unlock_irq(&pool->cache_lock);
}

/* Hold page @index of @region as the next page of the batch. */
/*
 * Hold page @index of @region as the next page of the batch: as it is on
 * disk, or, @fresh, zeroed without being read (and to be written).
 */
static int vwc_hold(struct vwc_pool *pool, struct vwc_commit *c,
		    sector_t region, u32 index, bool fresh)
{
	struct vwc_held *h = &c->held[c->nr_held];
	void *data = fresh ? vwc_md_new_page(pool, region, index, &h->b) :
		     vwc_md_get_page(pool, region, index, &h->b);

	if (IS_ERR(data))
		return PTR_ERR(data);
	if (fresh)
		memset(data, 0, VWC_MD_BLOCK_SIZE);
	h->index = index;
	h->data = data;
	h->changed = fresh;
	c->nr_held++;
	return 0;
}

/* Release the batch, dirty where a record changed (unless @write is false). */
static void vwc_release_held(struct vwc_commit *c, bool write)
{
	u32 i;

	for (i = 0; i < c->nr_held; i++) {
		bool dirty = write && c->held[i].changed;

		vwc_md_put_page(c->held[i].b, dirty);
		c->wrote |= dirty;
	}
	c->nr_held = 0;
}

static void vwc_encode_entry_page(struct vwc_pool *pool, struct vwc_commit *c,
				  struct vwc_held *h)
{
	const struct vwc_layout *l = &pool->sb.layout;
	u32 epp = pool->entries_per_page;
	u32 first = h->index * epp;
	u32 i;

	for (i = 0; i < epp && first + i < pool->blocks.nr; i++) {
		struct vwc_block *b = vwc_block(&pool->blocks, first + i);
		struct vwc_entry e = { 0 };

		if (!(b->flags & VWC_B_META(c->gen)))
			continue;
		b->flags &= ~VWC_B_META(c->gen);
		/* I4: a block is valid on disk only once its data is written. */
		if ((b->flags & (VWC_B_VALID | VWC_B_PENDING)) == VWC_B_VALID) {
			e.valid = true;
			e.dirty = !!(b->flags & VWC_B_DIRTY);
			e.oblock = vwc_block_oblock(b);
			e.vm = vwc_block_vm(b);
			e.map = b->sub;
		}
		h->changed |= vwc_entry_update(l, vwc_entry_ptr(l, h->data, i),
					       first + i, &e, c->seq,
					       pool->seed);
	}
}

static void vwc_encode_vm_page(struct vwc_pool *pool, struct vwc_commit *c,
			       struct vwc_held *h)
{
	struct vwc_disk_vm *d = h->data;
	u32 i;

	for (i = 0; i < VWC_VMS_PER_PAGE; i++) {
		u32 n = h->index * VWC_VMS_PER_PAGE + i;
		struct vwc_slot *s = &pool->slots[n];
		struct vwc_vm_record rec = { 0 };

		if (!s->meta)
			continue;
		s->meta = false;
		if (s->in_use) {
			rec.in_use = true;
			rec.generation = s->generation;
			rec.origin = s->origin_id;
			strscpy(rec.vm_id, s->vm_id, sizeof(rec.vm_id));
		}
		vwc_vm_encode(&d[i], n, &rec, c->seq, pool->seed);
		h->changed = true;
	}
}

/* The records of the slots of page @h: what the slot says now. */
static void vwc_encode_attach_page(struct vwc_pool *pool, struct vwc_commit *c,
				   struct vwc_held *h)
{
	struct vwc_disk_attach *d = h->data;
	u32 i;

	for (i = 0; i < VWC_ATTACH_PER_PAGE; i++) {
		u32 n = h->index * VWC_ATTACH_PER_PAGE + i;
		const struct vwc_slot *s = &pool->slots[n];

		h->changed |= vwc_attach_update(&d[i], n,
						s->in_use ? s->attach : NULL,
						c->seq, pool->seed);
	}
}

/* Encode the batch held, under one hold of cache_lock, and release it. */
static void vwc_encode_batch(struct vwc_pool *pool, struct vwc_commit *c,
			     enum vwc_region region)
{
	u32 i;

	vwc_cache_lock_irq(pool);
	for (i = 0; i < c->nr_held; i++) {
		switch (region) {
		case VWC_REGION_VMS:
			vwc_encode_vm_page(pool, c, &c->held[i]);
			break;
		case VWC_REGION_ATTACH:
			vwc_encode_attach_page(pool, c, &c->held[i]);
			break;
		default:
			vwc_encode_entry_page(pool, c, &c->held[i]);
			__clear_bit(c->held[i].index, pool->meta_pages[c->gen]);
			break;
		}
	}
	spin_unlock_irq(&pool->cache_lock);
	vwc_release_held(c, true);
	cond_resched();
}

/*
 * Hold entry page @index as the next page of the batch.  A page at or above
 * the watermark (VWC_FEATURE_INCOMPAT_LAZY_ENTRIES) was never written whole
 * by a durable commit, and may hold anything: the pages from the watermark
 * up to it, which no block of this commit is on (marked pages come in
 * ascending order), are written as zeros, it is held zeroed without being
 * read, and the watermark of this commit's superblock rises past it.
 */
static int vwc_hold_entry_page(struct vwc_pool *pool, struct vwc_commit *c,
			       u32 index)
{
	sector_t start = pool->sb.layout.entries_start;
	int r;

	if (index < c->entries_init)
		return vwc_hold(pool, c, start, index, false);
	for (; c->entries_init < index; c->entries_init++) {
		r = vwc_md_write_page(pool, start, c->entries_init, c->zero);
		if (r)
			return r;
		c->wrote = true;
		cond_resched();
	}
	r = vwc_hold(pool, c, start, index, true);
	if (!r)
		c->entries_init = index + 1;
	return r;
}

/* The entry pages marked in the frozen generation, a batch at a time. */
static int vwc_commit_entries(struct vwc_pool *pool, struct vwc_commit *c)
{
	const unsigned long *bits = pool->meta_pages[c->gen];
	unsigned int i;
	int r;

	c->entries_init = vwc_sb_entry_pages_read(&pool->sb);
	for_each_set_bit(i, bits, pool->nr_meta_pages) {
		r = vwc_hold_entry_page(pool, c, i);
		if (r)
			return r;
		if (c->nr_held == VWC_COMMIT_BATCH)
			vwc_encode_batch(pool, c, VWC_REGION_ENTRIES);
	}
	if (c->nr_held)
		vwc_encode_batch(pool, c, VWC_REGION_ENTRIES);
	return 0;
}

/*
 * The pages of @region marked so far (@marks, taken and cleared here), a
 * batch at a time.  A slot marked after the marks are taken marks its
 * page again: the next commit rewrites it if this one did not.
 */
static int vwc_commit_slot_pages(struct vwc_pool *pool, struct vwc_commit *c,
				 enum vwc_region region, unsigned long *marks,
				 unsigned long *taken, unsigned int nr_pages,
				 sector_t start)
{
	unsigned int page;
	int r;

	vwc_cache_lock_irq(pool);
	bitmap_copy(taken, marks, nr_pages);
	bitmap_zero(marks, nr_pages);
	spin_unlock_irq(&pool->cache_lock);
	for_each_set_bit(page, taken, nr_pages) {
		r = vwc_hold(pool, c, start, page, false);
		if (r)
			return r;
		if (c->nr_held == VWC_COMMIT_BATCH)
			vwc_encode_batch(pool, c, region);
	}
	if (c->nr_held)
		vwc_encode_batch(pool, c, region);
	return 0;
}

/* The VM table pages, then the attachment table pages, of changed slots. */
static int vwc_commit_slots(struct vwc_pool *pool, struct vwc_commit *c)
{
	const struct vwc_layout *l = &pool->sb.layout;
	int r;

	r = vwc_commit_slot_pages(pool, c, VWC_REGION_VMS, pool->vm_pages,
				  c->vm_pages, VWC_VM_PAGES, l->vm_table_start);
	if (r || !l->attach_start)
		return r;
	return vwc_commit_slot_pages(pool, c, VWC_REGION_ATTACH,
				     pool->attach_pages, c->attach_pages,
				     VWC_ATTACH_PAGES, l->attach_start);
}

static void vwc_commit_finish(struct vwc_pool *pool, struct vwc_commit *c,
			      int r)
{
	struct bio *bio;

	vwc_cache_lock_irq(pool);
	if (r) {
		vwc_commit_abort(&pool->blocks);
		pool->commit_failed = true;
		pool->state = VWC_POOL_FAILED;
	} else {
		vwc_commit_end(&pool->blocks);
		pool->freezes_durable = c->freeze;	/* I5 */
		pool->commits++;
	}
	vwc_slots_reap_locked(pool);
	pool->last_commit = jiffies;
	spin_unlock_irq(&pool->cache_lock);

	while ((bio = bio_list_pop(&c->waiters))) {
		struct vwc_io *io = dm_per_bio_data(bio, sizeof(struct vwc_io));

		io->finished = true;
		if (r)
			bio->bi_status = BLK_STS_IOERR;
		bio_endio(bio);
	}
}

int vwc_commit_alloc(struct vwc_pool *pool)
{
	struct vwc_commit *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return -ENOMEM;
	c->sb_buf = kmalloc(VWC_MD_BLOCK_SIZE, GFP_KERNEL);
	c->zero = kzalloc(VWC_MD_BLOCK_SIZE, GFP_KERNEL);
	if (!c->sb_buf || !c->zero) {
		kfree(c->zero);
		kfree(c->sb_buf);
		kfree(c);
		return -ENOMEM;
	}
	pool->commit = c;
	return 0;
}

/* Kernel RAM of a pool's commit state (vwc_commit_alloc()). */
size_t vwc_commit_bytes(void)
{
	return sizeof(struct vwc_commit) + 2 * VWC_MD_BLOCK_SIZE;
}

void vwc_commit_free(struct vwc_pool *pool)
{
	if (!pool->commit)
		return;
	kfree(pool->commit->zero);
	kfree(pool->commit->sb_buf);
	kfree(pool->commit);
	pool->commit = NULL;
}

/* Make everything changed so far durable; see the protocol above. */
int vwc_commit(struct vwc_pool *pool)
{
	struct vwc_commit *c = pool->commit;
	int r;

	vwc_commit_lock(pool);
	c->nr_held = 0;
	c->wrote = false;
	bio_list_init(&c->waiters);
	vwc_commit_freeze(pool, c);
	c->seq = pool->sb.seq + 1;
	r = pool->commit_failed ? -EIO : 0;
	if (!r && vwc_seq_exhausted(pool->sb.seq)) {
		DMERR("%s: commit sequence exhausted", dm_device_name(pool->md));
		r = -EOVERFLOW;
	}
	if (!r)
		r = vwc_commit_entries(pool, c);
	if (!r)
		r = vwc_commit_slots(pool, c);
	vwc_release_held(c, false);	/* what a failed hold left */
	/* With a superblock to write, its flush is the pages' (step 5). */
	if (!r)
		r = vwc_md_write_pages(pool, !c->wrote);
	/* Nothing changed on disk: the flush made the freeze durable. */
	if (!r && c->wrote) {
		if (pool->sb.incompat & VWC_FEATURE_INCOMPAT_LAZY_ENTRIES)
			pool->sb.entries_init = c->entries_init;
		r = vwc_md_commit_sb(pool, c->sb_buf);
	}
	if (r)
		DMERR_LIMIT("%s: metadata commit failed: %d",
			    dm_device_name(pool->md), r);
	vwc_commit_finish(pool, c, r);
	mutex_unlock(&pool->commit_lock);
	return r;
}

void vwc_commit_work(struct work_struct *ws)
{
	struct vwc_pool *pool = container_of(ws, struct vwc_pool, commit_work);

	vwc_commit(pool);
	vwc_kick_deferred(pool);
}

/*
 * Would a commit now change nothing on disk, and is none under way?  No
 * block, VM record or attachment record marked since the last commit
 * began, no block waiting to be freed or being freed, no slot put, no
 * commit frozen and not yet durable, none failed.  Then the durable
 * metadata says what RAM says of every write completed so far, and a
 * flush of the SSD alone makes them durable (I1): a FLUSH takes that
 * shorter way (dm-vwcache-io.c).  Under cache_lock, which every mark and
 * every freeze takes.
 */
bool vwc_commit_idle_locked(struct vwc_pool *pool)
{
	return !pool->meta_marked[pool->meta_gen] &&
	       pool->freezes == pool->freezes_durable &&
	       !pool->commit_failed &&
	       !pool->blocks.free_pending.count &&
	       !pool->blocks.committing.count &&
	       list_empty(&pool->slots_put) &&
	       bio_list_empty(&pool->commit_waiters) &&
	       bitmap_empty(pool->vm_pages, VWC_VM_PAGES) &&
	       bitmap_empty(pool->attach_pages, VWC_ATTACH_PAGES);
}

/* Queue @bio to complete after the next commit, and ask for one. */
void vwc_wait_commit(struct vwc_pool *pool, struct bio *bio)
{
	unsigned long flags;

	vwc_cache_lock_irqsave(pool, flags);
	bio_list_add(&pool->commit_waiters, bio);
	spin_unlock_irqrestore(&pool->cache_lock, flags);
	vwc_kick_commit(pool);
}
