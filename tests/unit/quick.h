/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's hit path without cache_lock (dm-vwcache-io.c,
 * vwc_map_quick()) on the portable core, for test_quick and bench_core:
 * look the block up without the table's lock, pin it (a read hit's pin),
 * check it is still the block of the key.  The pins given back go to a
 * per-thread buffer applied under the table's lock every QUICK_RUNS, as
 * dm-vwcache-unpin.c does per CPU.
 */
#ifndef QUICK_H
#define QUICK_H

#include <pthread.h>

#include "dm-vwcache-blocks.h"
#include "dm-vwcache-policy.h"

#define QUICK_RUNS	31

struct quick_table {
	struct vwc_blocks t;
	struct vwc_policy p;
	pthread_spinlock_t lock;	/* the kernel's cache_lock */
	u8 *zombie;			/* test_quick: dropped while pinned */
	void (*released)(struct quick_table *q, u32 cb);
};

/*
 * A block unmapped under the lock (the kernel's vwc_drop_block_locked()):
 * released now if it has no pin (killed first), else at its last unpin.
 */
static inline void quick_drop_locked(struct quick_table *q, u32 cb)
{
	vwc_policy_remove(&q->p, cb);
	vwc_unmap(&q->t, cb);
	if (!vwc_block_kill(vwc_block(&q->t, cb))) {
		q->zombie[cb] = 1;
		return;
	}
	q->released(q, cb);
	vwc_release(&q->t, cb);
}

struct quick_unpins {
	u32 nr;
	u32 cb[QUICK_RUNS];
};

/* Give back the buffer's pins, under the table's lock. */
static inline void quick_apply(struct quick_table *q, struct quick_unpins *u)
{
	u32 i;

	pthread_spin_lock(&q->lock);
	for (i = 0; i < u->nr; i++) {
		u32 cb = u->cb[i];

		if (vwc_block_unpin(vwc_block(&q->t, cb)) || !q->zombie ||
		    !q->zombie[cb] || !vwc_block_kill(vwc_block(&q->t, cb)))
			continue;
		q->zombie[cb] = 0;
		q->released(q, cb);
		vwc_release(&q->t, cb);
	}
	pthread_spin_unlock(&q->lock);
	u->nr = 0;
}

static inline void quick_unpin_later(struct quick_table *q,
				     struct quick_unpins *u, u32 cb)
{
	if (u->nr == QUICK_RUNS)
		quick_apply(q, u);
	u->cb[u->nr++] = cb;
}

/* The block of (@vm, @oblock), pinned, or VWC_NIL (no pin held). */
static inline u32 quick_pin(struct quick_table *q, struct quick_unpins *u,
			    u32 vm, u64 oblock)
{
	u32 cb = vwc_lookup_quick(&q->t, vm, oblock);
	struct vwc_block *b;

	if (cb == VWC_NIL)
		return cb;
	b = vwc_block(&q->t, cb);
	if (!vwc_block_pin_ref(b, VWC_PINS_MAX))
		return VWC_NIL;
	if (vwc_block_is(b, vm, oblock))
		return cb;
	quick_unpin_later(q, u, cb);
	return VWC_NIL;
}

#endif
