/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache data path: see dm-vwcache-io.c.
 */
#ifndef DM_VWCACHE_IO_H
#define DM_VWCACHE_IO_H

#include <linux/sizes.h>

struct vwc_vm;
struct bio;

/* A FLUSH is sent to a VM device as two flush bios: commit, origin. */
#define VWC_NR_FLUSH_BIOS	2
#define VWC_FLUSH_BIO_ORIGIN	1

struct work_struct;

/*
 * The most a VM device bio spans (dm_set_target_max_io_len), in sectors:
 * at least a cache block.  What one hold of cache_lock maps.
 */
#define VWC_MAX_IO_SECTORS	(SZ_1M >> SECTOR_SHIFT)

/* Where a bio is mapped from: dm's map, or a worker (vwc_map_bio()). */
enum vwc_map_from {
	VWC_MAP_DM,
	VWC_MAP_THROTTLED,
	VWC_MAP_DEFERRED,
};

u64 vwc_io_start(struct vwc_vm *vm, struct bio *bio);
void vwc_io_cut_block(struct vwc_vm *vm, struct bio *bio);
int vwc_map_bio(struct vwc_vm *vm, struct bio *bio, enum vwc_map_from from);
void vwc_map_and_submit(struct bio *bio, enum vwc_map_from from);
int vwc_end_io(struct vwc_vm *vm, struct bio *bio, blk_status_t *error);
int vwc_flush_origin(struct vwc_vm *vm);
void vwc_deferred_work(struct work_struct *ws);
void vwc_promote_work(struct work_struct *ws);

#endif /* DM_VWCACHE_IO_H */
