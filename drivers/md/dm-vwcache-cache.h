/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache cache state: see dm-vwcache-cache.c.  Functions named
 * *_locked expect pool->cache_lock held.
 */
#ifndef DM_VWCACHE_CACHE_H
#define DM_VWCACHE_CACHE_H

#define VWC_WRITE_EPOCHS	4096	/* promotion guard slots, power of 2 */
#define VWC_QUOTA_SCAN		256	/* policy blocks looked at per level */
#define VWC_QUOTA_EVICT		8	/* own blocks evicted per allocation */

/* The refusal of a device with more than VWC_BLOCKS_MAX blocks. */
#define VWC_TOO_MANY_BLOCKS \
	"Cache device has more than 2^32 - 1 blocks of this size: use a larger block_size"

struct vwc_pool;
struct vwc_slot;

u32 vwc_now_s(void);
int vwc_cache_init(struct vwc_pool *pool, const char **error);
void vwc_cache_exit(struct vwc_pool *pool);
u64 vwc_cache_ram(struct vwc_pool *pool, bool per_block);
int vwc_cache_load(struct vwc_pool *pool, const char **error);
void vwc_slots_init(struct vwc_pool *pool);

sector_t vwc_cblock_sector(struct vwc_pool *pool, u32 cb);
void vwc_mark_meta_locked(struct vwc_pool *pool, u32 cb);
void vwc_drop_block_locked(struct vwc_pool *pool, u32 cb);
void vwc_mark_undirtied_locked(struct vwc_pool *pool, struct vwc_slot *slot);
bool vwc_undirtied_locked(struct vwc_pool *pool, u32 slot);
bool __must_check vwc_pin_locked(struct vwc_pool *pool, u32 cb);
void vwc_pin_new_locked(struct vwc_pool *pool, u32 cb);
void vwc_pin_wb_locked(struct vwc_pool *pool, u32 cb);
void vwc_unpin_locked(struct vwc_pool *pool, u32 cb);
void vwc_make_clean_locked(struct vwc_pool *pool, u32 cb);
void vwc_make_dirty_locked(struct vwc_pool *pool, u32 cb);
u32 vwc_alloc_locked(struct vwc_pool *pool, u32 slot, u64 oblock);
void vwc_fill_begin_locked(struct vwc_pool *pool, u32 cb, u16 sub);
void vwc_fill_end_locked(struct vwc_pool *pool, u32 cb, bool ok, bool dirty);
bool __must_check vwc_write_hit_locked(struct vwc_pool *pool, u32 cb);
void vwc_write_hit_done_locked(struct vwc_pool *pool, u32 cb, u32 slot,
			       u64 oblock, u16 whole, bool ok);
u32 vwc_evict_locked(struct vwc_pool *pool, u32 nr);
bool vwc_quota_room_locked(struct vwc_pool *pool, u32 slot);
u64 vwc_quota_low(const struct vwc_slot *s);
void vwc_drop_clean(struct vwc_pool *pool, u32 slot);
void vwc_invalidate_clean(struct vwc_pool *pool, u32 slot);
void vwc_slot_mark_locked(struct vwc_pool *pool, u32 slot);
void vwc_slot_mark_attach_locked(struct vwc_pool *pool, u32 slot);
int vwc_slot_get_locked(struct vwc_pool *pool, const char *vm_id, u32 *out);
int vwc_slot_find_locked(struct vwc_pool *pool, const char *vm_id, u32 *out);
u32 vwc_drop_slot(struct vwc_pool *pool, u32 slot);
void vwc_slot_put_locked(struct vwc_pool *pool, u32 slot);
void vwc_slots_freeze_locked(struct vwc_pool *pool);
void vwc_slots_reap_locked(struct vwc_pool *pool);

#endif /* DM_VWCACHE_CACHE_H */
