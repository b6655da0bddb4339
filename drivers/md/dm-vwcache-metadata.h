/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache metadata I/O: load or format a pool's metadata on its cache
 * device, and commit it.  See dm-vwcache-metadata.c for the protocol.
 */
#ifndef DM_VWCACHE_METADATA_H
#define DM_VWCACHE_METADATA_H

#include <linux/dm-bufio.h>

#define VWC_MD_BLOCK_SIZE	4096

/*
 * Pages a commit holds at once (dm-vwcache-commit.c), and the buffers the
 * dm-bufio client reserves for it: one batch, and one more for the
 * superblock or a load's page.  With no memory to be had, dm-bufio gives
 * out reserved buffers and reuses released ones (writing them first if
 * dirty): holding at most the batch, the commit always goes on.
 */
#define VWC_COMMIT_BATCH	16
#define VWC_MD_RESERVE		(VWC_COMMIT_BATCH + 1)

struct vwc_pool;

int vwc_md_open(struct vwc_pool *pool, u32 block_size, bool *formatted,
		const char **error);
void vwc_md_close(struct vwc_pool *pool);
int vwc_md_format(struct vwc_pool *pool, const char **error);
int vwc_md_write_page(struct vwc_pool *pool, sector_t region, u32 index,
		      const void *in);
int vwc_md_read_page(struct vwc_pool *pool, sector_t region, u32 index,
		     void *out);
void *vwc_md_get_page(struct vwc_pool *pool, sector_t region, u32 index,
		      struct dm_buffer **bp);
void *vwc_md_new_page(struct vwc_pool *pool, sector_t region, u32 index,
		      struct dm_buffer **bp);
void vwc_md_put_page(struct dm_buffer *b, bool dirty);
int vwc_md_write_pages(struct vwc_pool *pool, bool flush);
int vwc_md_commit_sb(struct vwc_pool *pool, void *buf);

#endif /* DM_VWCACHE_METADATA_H */
