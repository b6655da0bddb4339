/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit test helpers over the block table and the policy, as the kernel's
 * cache layer uses them (dm-vwcache-cache.c): a clean block mapped and
 * given to the policy, and a read hit's pin taken and given back.
 */
#ifndef VWC_TEST_TABLE_H
#define VWC_TEST_TABLE_H

#include "dm-vwcache-blocks.h"
#include "dm-vwcache-policy.h"

/*
 * A free block mapped to (@vm, @key), live (pins may be taken) and on
 * @p's queues: the cblock, or VWC_NIL when none is free.
 */
static inline u32 table_add_clean(struct vwc_blocks *t, struct vwc_policy *p,
				  u32 vm, u64 key)
{
	u32 cb = vwc_alloc(t);

	if (cb == VWC_NIL)
		return cb;
	vwc_map(t, cb, vm, key);
	vwc_block_revive(vwc_block(t, cb));
	vwc_policy_add(p, cb);
	return cb;
}

/* A read hit of @cb without the lock, done: 1 if its pin was taken. */
static inline int table_read_hit(struct vwc_blocks *t, u32 cb)
{
	struct vwc_block *b = vwc_block(t, cb);

	if (!vwc_block_pin_ref(b, VWC_PINS_MAX))
		return 0;
	return vwc_block_unpin(b) == 0;
}

#endif
