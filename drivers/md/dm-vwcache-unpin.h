/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache deferred unpins: the completion of a read hit, or of an
 * in-place write that changes nothing but the block's pin, gives the pin
 * back without cache_lock.
 *
 * A completion that has nothing else to do records (cblock, count) in its
 * CPU's buffer, under the buffer's own spinlock (per CPU, so uncontended
 * but for a drain); the pins are given back, under cache_lock, when the
 * buffer is applied: by the completion that finds its buffer full (once
 * every VWC_UNPIN_RUNS completions of a CPU), by the tick (every 100 ms),
 * by each commit before it freezes, before a walk of a slot's blocks
 * (invalidate, drop, attach, detach), and wherever an exact pin count
 * matters (eviction that found nothing to evict, writeback dropping a
 * block for a quota).
 *
 * Until then a block keeps the pins it had: it is not evicted and, if
 * dropped meanwhile, released (ZOMBIE) or dropped as invalidated (STALE)
 * when the pin goes; nothing is reused early, only late.
 *
 * Lock order: cache_lock, then a buffer's lock; a buffer's lock is held
 * with interrupts off and around nothing else.
 */
#ifndef DM_VWCACHE_UNPIN_H
#define DM_VWCACHE_UNPIN_H

#include <linux/spinlock.h>
#include <linux/types.h>

/* Runs a CPU's buffer holds: the buffer is 256 bytes. */
#define VWC_UNPIN_RUNS		31

struct vwc_unpin_run {
	u32 cb;
	u32 nr;
};

struct vwc_unpins {
	spinlock_t lock;
	u32 nr;
	struct vwc_unpin_run run[VWC_UNPIN_RUNS];
};

struct vwc_pool;

int vwc_unpins_init(struct vwc_pool *pool);
void vwc_unpins_exit(struct vwc_pool *pool);
u64 vwc_unpins_bytes(void);
void vwc_unpin_later(struct vwc_pool *pool, u32 cb, u32 nr);
void vwc_unpins_apply_locked(struct vwc_pool *pool);

#endif
