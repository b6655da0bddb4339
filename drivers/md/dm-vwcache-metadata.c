// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache metadata I/O: reads, formats and writes the pool's metadata
 * on the cache device through dm-bufio, in 4 KiB pages.  What the bytes
 * mean is dm-vwcache-format.c's business, and when to write them is
 * dm-vwcache-commit.c's; this file only moves them.
 *
 * Superblock rule: the superblock, with the next sequence number, is
 * written over the older of its two copies, after every other metadata
 * page of the commit is durable, and flushed.  The copy with the higher
 * valid sequence is the pool's state, so a torn superblock write falls
 * back to the previous commit.
 *
 * Called under pool->commit_lock, or before the pool is registered.
 */
#include <linux/random.h>
#include <linux/slab.h>

#include "dm-vwcache.h"
#include "dm-vwcache-cache.h"
#include "dm-vwcache-metadata.h"

#define VWC_MD_SHIFT	3	/* sectors per metadata page, log2 */

static int vwc_md_read(struct vwc_pool *pool, sector_t block, void *out)
{
	struct dm_buffer *b;
	void *data = dm_bufio_read(pool->bufio, block, &b);

	if (IS_ERR(data))
		return PTR_ERR(data);
	memcpy(out, data, VWC_MD_BLOCK_SIZE);
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
	memcpy(data, in, VWC_MD_BLOCK_SIZE);
	dm_bufio_mark_buffer_dirty(b);
	dm_bufio_release(b);
	return 0;
}

/*
 * Write the superblock page @buf as metadata page @block in one request:
 * a flush first (REQ_PREFLUSH: every write completed before it, the
 * commit's pages and the data, is durable before the page is written),
 * then the page, durable when the request completes (REQ_FUA), as jbd2
 * writes its commit block.  One wait instead of three (flush, write,
 * flush); a device without FUA gets the flush after the write from the
 * block layer.  Not through dm-bufio, which has no such flags: its copy
 * of the page, if it holds one, is forgotten first.
 */
static int vwc_md_write_sb(struct vwc_pool *pool, sector_t block, void *buf)
{
	struct dm_io_region where = {
		.bdev = pool->cache.bdev,
		.sector = block << VWC_MD_SHIFT,
		.count = VWC_MD_BLOCK_SIZE >> SECTOR_SHIFT,
	};
	struct dm_io_request req = {
		.bi_opf = REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA | REQ_SYNC,
		.mem.type = DM_IO_KMEM,
		.mem.ptr.addr = buf,
		.client = pool->io_client,
	};

	dm_bufio_forget(pool->bufio, block);
	return dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT);
}

/*
 * Commit the superblock as commit sb.seq + 1, over the older copy (see the
 * superblock rule above), encoded in @buf: a page of the caller's, so the
 * commit path allocates nothing.  The commit's pages must be written
 * (vwc_md_write_pages(), with or without its flush): this write's flush
 * makes them durable before the superblock.
 */
int vwc_md_commit_sb(struct vwc_pool *pool, void *buf)
{
	pool->sb.seq++;
	pool->sb.copy = pool->sb.seq & 1;
	vwc_sb_encode(&pool->sb, buf);
	return vwc_md_write_sb(pool, pool->sb.copy, buf);
}

/*
 * Write every dirty metadata page; with @flush, make them (and data)
 * durable too.  Without: the superblock's write does (vwc_md_commit_sb()).
 */
int vwc_md_write_pages(struct vwc_pool *pool, bool flush)
{
	int r = dm_bufio_write_dirty_buffers(pool->bufio);

	if (!r && flush)
		r = dm_bufio_issue_flush(pool->bufio);
	return r;
}

static sector_t vwc_md_page_block(sector_t region, u32 index)
{
	return (region >> VWC_MD_SHIFT) + index;
}

/* Copy page @index of the region starting at sector @region into @out. */
int vwc_md_read_page(struct vwc_pool *pool, sector_t region, u32 index,
		     void *out)
{
	return vwc_md_read(pool, vwc_md_page_block(region, index), out);
}

/* Write @in as page @index of the region starting at sector @region. */
int vwc_md_write_page(struct vwc_pool *pool, sector_t region, u32 index,
		      const void *in)
{
	return vwc_md_write(pool, vwc_md_page_block(region, index), in);
}

/* Hold page @index of a region; release with vwc_md_put_page(). */
void *vwc_md_get_page(struct vwc_pool *pool, sector_t region, u32 index,
		      struct dm_buffer **bp)
{
	return dm_bufio_read(pool->bufio, vwc_md_page_block(region, index), bp);
}

/*
 * Hold page @index of a region to be written whole (no read): its
 * contents are undefined until the caller fills them.
 */
void *vwc_md_new_page(struct vwc_pool *pool, sector_t region, u32 index,
		      struct dm_buffer **bp)
{
	return dm_bufio_new(pool->bufio, vwc_md_page_block(region, index), bp);
}

void vwc_md_put_page(struct dm_buffer *b, bool dirty)
{
	if (dirty)
		dm_bufio_mark_buffer_dirty(b);
	dm_bufio_release(b);
}

/*
 * A blank device: lay out its pool, in RAM only.  Every refusal of the
 * device happens here or before vwc_md_format() writes (the block table
 * allocated first, see vwc_pool_start()): a refused device is untouched.
 */
static int vwc_md_prepare_format(struct vwc_pool *pool, u32 block_size,
				 const char **error)
{
	struct vwc_layout l;
	u8 uuid[16];
	int r;

	r = vwc_layout_compute(bdev_nr_sectors(pool->cache.bdev), block_size,
			       VWC_FORMAT_INCOMPAT, &l);
	if (r) {
		*error = r == -EFBIG ? "Cache device is too large" :
			 "Cache device is too small for a pool of this block size";
		return -EINVAL;
	}
	if (l.nr_blocks > VWC_BLOCKS_MAX) {
		*error = VWC_TOO_MANY_BLOCKS;
		return -EINVAL;
	}
	get_random_bytes(uuid, sizeof(uuid));
	vwc_sb_init(&pool->sb, &l, uuid);
	vwc_sb_set_lazy(&pool->sb);
	pool->sb.seq = 0;
	return 0;
}

/*
 * Format the blank device vwc_md_open() laid out: zero the VM table and
 * the attachment table, then write both superblock copies (copy 1 as
 * commit 1, copy 0 as commit 2).  The entries are not zeroed
 * (VWC_FEATURE_INCOMPAT_LAZY_ENTRIES: none is initialised yet, commits
 * write their pages whole as they reach them), so formatting takes the
 * same time whatever the size of the device.
 */
int vwc_md_format(struct vwc_pool *pool, const char **error)
{
	const struct vwc_layout *l = &pool->sb.layout;
	void *buf = kmalloc(VWC_MD_BLOCK_SIZE, GFP_KERNEL);
	int r;

	if (!buf) {
		*error = "Cannot allocate metadata buffers";
		return -ENOMEM;
	}
	r = blkdev_issue_zeroout(pool->cache.bdev, l->vm_table_start,
				 l->entries_start - l->vm_table_start,
				 GFP_KERNEL, 0);
	/* The zeroes are durable before the first superblock: its flush. */
	if (!r)
		r = vwc_md_commit_sb(pool, buf);
	if (!r)
		r = vwc_md_commit_sb(pool, buf);
	if (r)
		*error = "Cannot format the cache device: I/O error";
	kfree(buf);
	return r;
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
	/*
	 * A pool from before the origin identity (its records say "not
	 * known"): it has the feature from the next commit on.
	 */
	pool->sb.compat |= VWC_FEATURE_COMPAT_ORIGIN_ID;
	return 0;
}

/*
 * Load the pool on the cache device, or lay out a new one on a blank
 * device (*formatted): vwc_md_format() writes it, once the pool's RAM is
 * allocated.
 */
int vwc_md_open(struct vwc_pool *pool, u32 block_size, bool *formatted,
		const char **error)
{
	void *buf;
	int r;

	pool->bufio = dm_bufio_client_create(pool->cache.bdev, VWC_MD_BLOCK_SIZE,
					     VWC_MD_RESERVE, 0, NULL, NULL, 0);
	if (IS_ERR(pool->bufio)) {
		r = PTR_ERR(pool->bufio);
		pool->bufio = NULL;
		*error = "Cannot create the metadata I/O client";
		return r;
	}

	buf = kmalloc(2 * VWC_MD_BLOCK_SIZE, GFP_KERNEL);
	if (!buf) {
		r = -ENOMEM;
		*error = "Cannot allocate metadata buffers";
		goto out;
	}
	r = vwc_md_read(pool, 0, buf);
	if (!r)
		r = vwc_md_read(pool, 1, buf + VWC_MD_BLOCK_SIZE);
	if (r) {
		*error = "Cannot read the pool superblock";
		goto out;
	}
	r = vwc_sb_choose(buf, buf + VWC_MD_BLOCK_SIZE, &pool->sb, error);
	if (r == -ENODATA) {
		r = vwc_md_prepare_format(pool, block_size, error);
		*formatted = true;
	} else if (!r) {
		r = vwc_md_load(pool, block_size, buf, error);
	}
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
