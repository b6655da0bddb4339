/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache eviction policy for clean blocks, and the read promotion
 * filter.
 *
 * The policy is a multiqueue in the spirit of dm-cache's smq: nr_levels
 * lists of clean blocks, each in order of last use (head oldest).  A
 * block becoming clean enters at the level remembered in its key, 0 for
 * a block newly mapped; a hit moves it up one level, to the tail.  The
 * victim is the oldest evictable block of the lowest non-empty level, so
 * blocks used once (a scan) are evicted among themselves and never push
 * out blocks that were hit.  Hot blocks cool down: the policy's clock
 * counts insertions (vwc_policy_add), and a block left unhit at a level
 * above 0 drops one level (to that level's tail, its idle time starting
 * again) once idle for "age" insertions if level 0 holds less than a
 * quarter of the blocks (new blocks are short of room to prove
 * themselves), or once idle for 8 * age insertions in any case.  So a
 * scan alone, however long, cools a hot set only slowly, while a new
 * working set displaces a stale one within a few ages; a block that is
 * no longer used falls to level 0 within 8 * (nr_levels - 1) * age
 * insertions and is evicted.
 *
 * The levels are the pool's, shared by every VM, so that eviction sees
 * every clean block in one order (scan resistance, and a quota evicting a
 * VM's own blocks, work across VMs).  What is done to all of one VM's
 * blocks (drop its clean ones at attach or detach, invalidate, drop_dirty)
 * does not search the levels: it walks the VM's own list of mapped blocks
 * in the block table (dm-vwcache-blocks.h; 8 bytes a block, changed only
 * when a block is mapped or unmapped, so a hit costs what it did) and
 * takes each clean block off its level with vwc_policy_remove(), O(1).
 *
 * Rules and invariants:
 * - Only clean blocks are on the policy: valid, not dirty, not in
 *   writeback.  A block on it has VWC_B_POLICY set, sits on the list of
 *   the level in its key and its stamp is the clock at its last move.
 *   The policy uses the block's prev/next links, stamp and level bits,
 *   and nothing else per block.
 * - vwc_policy_victim() never returns a pinned, dirty, in-writeback or
 *   invalid block: it moves such a block to the tail of its level and
 *   goes on (a marked one, VWC_PIN_REF, to the tail of the level above,
 *   within the batch below).  The victim is taken off the policy, ready
 *   to be released.
 * - vwc_policy_victim_of() returns only a block of the VM it is asked
 *   for, looking at a bounded number of blocks per level (a cache quota
 *   evicts a VM's own blocks and no other's).
 * - A hit is either vwc_policy_hit() (the caller holds the lock) or the
 *   block's VWC_PIN_REF, set by a read hit that took no lock
 *   (dm-vwcache-blocks.h): the policy takes the mark as the hit when it
 *   next looks at the block, as a CLOCK's second chance: the victim
 *   search moves a marked block up a level instead of evicting it (so
 *   does vwc_policy_victim_of() for its VM's blocks), and aging moves it
 *   up instead of down.  One victim search moves at most 64 marked blocks
 *   (VWC_POLICY_REF_BATCH): past that it takes marks without moving the
 *   blocks, so its time under the lock stays bounded.
 * - vwc_policy_hit() and vwc_policy_remove() are no-ops on a block that
 *   is not on the policy (a dirty one, say), so callers need not check.
 * - The filter answers "has this read miss been seen at least threshold
 *   (2) times recently?" from two rows of 4-bit counters, R of each, R
 *   the largest power of two <= nr_blocks (at least 64, at most 2^30):
 *   R bytes in all, at most one byte per cache block.  Row 1 is indexed by oblock plus a
 *   per-VM offset, so R consecutive blocks of a VM have R different
 *   counters; row 2 by a hash of (vm, oblock).  The estimate is the
 *   smaller counter; only the smaller ones are incremented.  Aging halves
 *   every counter once per R observations, one 16-counter word every 8
 *   observations, so there is no pause.  Hence a sequential pass of one
 *   VM, however long, promotes nothing by itself: it touches a row 1
 *   counter again only R observations later, after that counter has
 *   been halved back to 0.  Other traffic can add false promotions; for
 *   random misses their rate is about the square of the counters' fill.
 * - No locks, no sleeping except in init (allocation): the caller
 *   serialises all calls on one policy, one filter and their table.
 */
#ifndef DM_VWCACHE_POLICY_H
#define DM_VWCACHE_POLICY_H

#include "dm-vwcache-blocks.h"

#define VWC_POLICY_LEVELS_MAX	(1U << VWC_KEY_LEVEL_BITS)

struct vwc_policy {
	struct vwc_blocks *t;
	struct vwc_list q[VWC_POLICY_LEVELS_MAX];
	u32 nr_levels;
	u32 count;	/* blocks on the policy */
	u32 now;	/* the clock: insertions so far */
	u32 age;	/* insertions a block may stay unhit at its level */
};

int vwc_policy_init(struct vwc_policy *p, struct vwc_blocks *t,
		    u32 nr_levels, u32 age);
void vwc_policy_exit(struct vwc_policy *p);
void vwc_policy_add(struct vwc_policy *p, u32 cb);
void vwc_policy_hit(struct vwc_policy *p, u32 cb);
void vwc_policy_remove(struct vwc_policy *p, u32 cb);
u32 vwc_policy_victim(struct vwc_policy *p);
u32 vwc_policy_victim_of(struct vwc_policy *p, u32 vm, u32 scan);
bool vwc_policy_valid(const struct vwc_policy *p);

#define VWC_FILTER_THRESHOLD	2
#define VWC_FILTER_MIN_ROW	64
/* 1 GiB of counters at most: one kvmalloc() (<= INT_MAX bytes). */
#define VWC_FILTER_MAX_ROW	(1U << 30)

struct vwc_filter {
	u64 *w;		/* 4-bit counters, 16 per word: row 1 then row 2 */
	u32 row_mask;	/* R - 1 */
	u32 nr_words;	/* 2R / 16 */
	u32 cursor;	/* the next word to halve */
	u32 tick;	/* observations since the last halving */
	u32 threshold;	/* promote at this estimate */
};

size_t vwc_filter_bytes(u32 nr_blocks);
int vwc_filter_init(struct vwc_filter *f, u32 nr_blocks);
void vwc_filter_exit(struct vwc_filter *f);
bool vwc_filter_should_promote(struct vwc_filter *f, u32 vm, u64 oblock);
bool vwc_filter_cold_miss(struct vwc_filter *f, u32 vm, u64 oblock);

#endif /* DM_VWCACHE_POLICY_H */
