// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache metadata I/O: reads, formats and commits the pool's metadata
 * on the cache device through dm-bufio.  What the bytes mean is
 * dm-vwcache-format.c's business; this file only moves them.
 *
 * Commit protocol (superblock part): metadata blocks are written and
 * flushed first; then the superblock, with the next sequence number, is
 * written over the older of its two copies and flushed.  The copy with the
 * higher valid sequence is the pool's state, so a torn superblock write
 * falls back to the previous commit.
 *
 * Called with pool->lock held, or before the pool is registered.
 */
#include <linux/random.h>
#include <linux/slab.h>

#include "dm-vwcache.h"
#include "dm-vwcache-metadata.h"

#define VWC_MD_BLOCK	4096
#define VWC_MD_SHIFT	3	/* sectors per metadata block, log2 */

static int vwc_md_read(struct vwc_pool *pool, sector_t block, void *out)
{
	struct dm_buffer *b;
	void *data = dm_bufio_read(pool->bufio, block, &b);

	if (IS_ERR(data))
		return PTR_ERR(data);
	memcpy(out, data, VWC_MD_BLOCK);
	dm_bufio_release(b);
	return 0;
}

static int vwc_md_write(struct vwc_pool *pool, sector_t block,
			const void *in)
{
	struct dm_buffer *b;
	void *data = dm_bufio_new(pool->bufio, block, &b);

	if (IS_ERR(data))
		return PTR_ERR(data);
	memcpy(data, in, VWC_MD_BLOCK);
	dm_bufio_mark_buffer_dirty(b);
	dm_bufio_release(b);
	return 0;
}

/* Write the superblock as commit sb.seq + 1, over the older copy. */
static int vwc_md_write_sb(struct vwc_pool *pool, void *buf)
{
	int r;

	pool->sb.seq++;
	pool->sb.copy = pool->sb.seq & 1;
	vwc_sb_encode(&pool->sb, buf);
	r = vwc_md_write(pool, pool->sb.copy, buf);
	if (!r)
		r = dm_bufio_write_dirty_buffers(pool->bufio);
	if (!r)
		r = dm_bufio_issue_flush(pool->bufio);
	if (!r)
		pool->commits++;
	return r;
}

int vwc_md_commit(struct vwc_pool *pool)
{
	void *buf = kmalloc(VWC_MD_BLOCK, GFP_KERNEL);
	int r;

	if (!buf)
		return -ENOMEM;
	r = dm_bufio_write_dirty_buffers(pool->bufio);
	if (!r)
		r = dm_bufio_issue_flush(pool->bufio);
	if (!r)
		r = vwc_md_write_sb(pool, buf);
	kfree(buf);
	return r;
}

/*
 * A blank device: zero the VM table and the entries, then write both
 * superblock copies (copy 1 as commit 1, copy 0 as commit 2).
 */
static int vwc_md_format(struct vwc_pool *pool, u32 block_size, void *buf,
			 const char **error)
{
	struct block_device *bdev = pool->cache.bdev;
	struct vwc_layout l;
	u8 uuid[16];
	int r;

	r = vwc_layout_compute(bdev_nr_sectors(bdev), block_size, &l);
	if (r) {
		*error = r == -EFBIG ? "Cache device is too large" :
			 "Cache device is too small for a pool of this block size";
		return -EINVAL;
	}
	get_random_bytes(uuid, sizeof(uuid));
	vwc_sb_init(&pool->sb, &l, uuid);
	pool->sb.seq = 0;

	r = blkdev_issue_zeroout(bdev, l.vm_table_start,
				 l.data_start - l.vm_table_start, GFP_KERNEL, 0);
	if (!r)
		r = vwc_md_write_sb(pool, buf);
	if (!r)
		r = vwc_md_write_sb(pool, buf);
	if (r)
		*error = "Cannot format the cache device: I/O error";
	return r;
}

/* Refuse a pool whose VM table holds a damaged record. */
static int vwc_md_check_vm_table(struct vwc_pool *pool, void *buf,
				 const char **error)
{
	const struct vwc_layout *l = &pool->sb.layout;
	u32 seed = vwc_uuid_seed(pool->sb.uuid);
	struct vwc_vm_record rec;
	u32 i;
	int r;

	for (i = 0; i < l->max_vms; i++) {
		const struct vwc_disk_vm *d;

		if (i % VWC_VMS_PER_PAGE == 0) {
			r = vwc_md_read(pool, (l->vm_table_start >> VWC_MD_SHIFT) +
					i / VWC_VMS_PER_PAGE, buf);
			if (r) {
				*error = "Cannot read the pool's VM table";
				return r;
			}
		}
		d = (const struct vwc_disk_vm *)buf + i % VWC_VMS_PER_PAGE;
		if (vwc_vm_decode(d, i, pool->sb.seq, seed, &rec) ==
		    VWC_REC_CORRUPT) {
			*error = "Pool VM table is damaged";
			return -EINVAL;
		}
	}
	return 0;
}

static int vwc_md_load(struct vwc_pool *pool, u32 block_size, void *buf,
		       const char **error)
{
	const struct vwc_layout *l = &pool->sb.layout;

	if (l->block_size != block_size) {
		*error = "Cache block size does not match the pool on the cache device";
		return -EINVAL;
	}
	if (l->dev_sectors > bdev_nr_sectors(pool->cache.bdev)) {
		*error = "Cache device is smaller than the pool it holds";
		return -EINVAL;
	}
	return vwc_md_check_vm_table(pool, buf, error);
}

/* Load the pool on the cache device, or format a blank one. */
int vwc_md_open(struct vwc_pool *pool, u32 block_size, const char **error)
{
	void *buf;
	int r;

	pool->bufio = dm_bufio_client_create(pool->cache.bdev, VWC_MD_BLOCK,
					     1, 0, NULL, NULL, 0);
	if (IS_ERR(pool->bufio)) {
		r = PTR_ERR(pool->bufio);
		pool->bufio = NULL;
		*error = "Cannot create the metadata I/O client";
		return r;
	}

	buf = kmalloc(2 * VWC_MD_BLOCK, GFP_KERNEL);
	if (!buf) {
		r = -ENOMEM;
		*error = "Cannot allocate metadata buffers";
		goto out;
	}
	r = vwc_md_read(pool, 0, buf);
	if (!r)
		r = vwc_md_read(pool, 1, buf + VWC_MD_BLOCK);
	if (r) {
		*error = "Cannot read the pool superblock";
		goto out;
	}
	r = vwc_sb_choose(buf, buf + VWC_MD_BLOCK, &pool->sb, error);
	if (r == -ENODATA)
		r = vwc_md_format(pool, block_size, buf, error);
	else if (!r)
		r = vwc_md_load(pool, block_size, buf, error);
out:
	kfree(buf);
	if (r)
		vwc_md_close(pool);
	return r;
}

void vwc_md_close(struct vwc_pool *pool)
{
	if (pool->bufio)
		dm_bufio_client_destroy(pool->bufio);
	pool->bufio = NULL;
}
