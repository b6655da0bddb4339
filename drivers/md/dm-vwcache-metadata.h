/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache metadata I/O: load or format a pool's metadata on its cache
 * device, and commit it.  See dm-vwcache-metadata.c for the protocol.
 */
#ifndef DM_VWCACHE_METADATA_H
#define DM_VWCACHE_METADATA_H

struct vwc_pool;

int vwc_md_open(struct vwc_pool *pool, u32 block_size, const char **error);
void vwc_md_close(struct vwc_pool *pool);
int vwc_md_commit(struct vwc_pool *pool);

#endif /* DM_VWCACHE_METADATA_H */
