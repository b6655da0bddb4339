/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache writeback buffers: the pages a writeback run reads its
 * blocks into and writes to the origin from, as a dm-io page list.
 *
 * Pages come from a per-pool cache of free pages and go back to it,
 * allocated only when the cache has too few: a fresh page costs its
 * zeroing where the kernel initialises memory on allocation (Debian's
 * kernels do: init_on_alloc), and writeback of a stream would zero
 * every byte it writes back.  The cache holds at most @max pages and is
 * emptied by vwc_wbbuf_trim() once writeback has been idle a while.
 *
 * Rules: its own spinlock, taken with interrupts saved and never held
 * around anything else (it nests inside no lock and holds none); no
 * allocation under it.
 */
#ifndef DM_VWCACHE_WBBUF_H
#define DM_VWCACHE_WBBUF_H

#include <linux/dm-io.h>
#include <linux/list.h>
#include <linux/spinlock.h>

struct vwc_wbbuf {
	spinlock_t lock;
	struct list_head free;		/* pages, linked by page->lru */
	u32 nr_free;
	u32 max;
	u64 acquired;			/* times the lock was taken */
};

void vwc_wbbuf_init(struct vwc_wbbuf *wb, u32 max);
int vwc_wbbuf_get(struct vwc_wbbuf *wb, struct page_list *pl, u32 nr);
void vwc_wbbuf_put(struct vwc_wbbuf *wb, struct page_list *pl, u32 nr);
void vwc_wbbuf_trim(struct vwc_wbbuf *wb);
struct dm_io_memory vwc_wbbuf_mem(struct page_list *pl, size_t offset);

#endif
