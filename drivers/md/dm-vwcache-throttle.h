/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache throttling of VM bios: see dm-vwcache-throttle.c.
 */
#ifndef DM_VWCACHE_THROTTLE_H
#define DM_VWCACHE_THROTTLE_H

#include <linux/bio.h>
#include <linux/list.h>

#include "dm-vwcache-share.h"

struct vwc_pool;
struct vwc_vm;
struct work_struct;

/* The throttle state of one VM device, under pool->share_lock. */
struct vwc_throttle {
	struct vwc_share_client client;
	struct bio_list queue;		/* delayed bios, oldest first */
	struct list_head node;		/* in pool->backlogged while queued */
	bool draining;			/* suspending: nothing is delayed */
};

void vwc_throttle_init(struct vwc_vm *vm);
bool vwc_throttle_bio(struct vwc_vm *vm, struct bio *bio, u64 now);
void vwc_throttle_drain(struct vwc_vm *vm);
void vwc_throttle_undrain(struct vwc_vm *vm);
void vwc_throttle_changed(struct vwc_pool *pool);
void vwc_throttle_work(struct work_struct *ws);

#endif /* DM_VWCACHE_THROTTLE_H */
