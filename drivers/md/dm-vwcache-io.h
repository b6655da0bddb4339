/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache data path: see dm-vwcache-io.c.
 */
#ifndef DM_VWCACHE_IO_H
#define DM_VWCACHE_IO_H

struct vwc_vm;
struct bio;

/* A FLUSH is sent to a VM device as two flush bios: commit, origin. */
#define VWC_NR_FLUSH_BIOS	2
#define VWC_FLUSH_BIO_ORIGIN	1

struct work_struct;

u64 vwc_io_start(struct vwc_vm *vm, struct bio *bio);
int vwc_map_bio(struct vwc_vm *vm, struct bio *bio, bool again);
void vwc_map_and_submit(struct bio *bio, bool again);
int vwc_end_io(struct vwc_vm *vm, struct bio *bio, blk_status_t *error);
int vwc_flush_origin(struct vwc_vm *vm);
void vwc_deferred_work(struct work_struct *ws);

#endif /* DM_VWCACHE_IO_H */
