/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache background work: see dm-vwcache-writeback.c.
 */
#ifndef DM_VWCACHE_WRITEBACK_H
#define DM_VWCACHE_WRITEBACK_H

#define VWC_WB_BATCH		64	/* blocks planned per slot per round */

struct block_device;
struct vwc_pool;
struct vwc_slot;
struct vwc_vm;
struct work_struct;

u32 vwc_wb_origin_depth(struct block_device *origin);
u32 vwc_wb_vm_depth(const struct vwc_vm *vm);
void vwc_wb_work(struct work_struct *ws);
void vwc_wb_init_slots(struct vwc_pool *pool);
void vwc_tick_work(struct work_struct *ws);
void vwc_wb_wait_slot(struct vwc_pool *pool, u32 slot);
void vwc_flush_slot_locked(struct vwc_pool *pool, u32 slot, bool all);
void vwc_wb_enlist_locked(struct vwc_pool *pool, u32 slot);
void vwc_wb_slot_cleaned_locked(struct vwc_pool *pool, struct vwc_slot *s);

#endif /* DM_VWCACHE_WRITEBACK_H */
