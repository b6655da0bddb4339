// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache writeback buffers: page lists from a per-pool cache of free
 * pages (rules in dm-vwcache-wbbuf.h).
 */
#include <linux/gfp.h>
#include <linux/mm.h>

#include "dm-vwcache-wbbuf.h"

void vwc_wbbuf_init(struct vwc_wbbuf *wb, u32 max)
{
	spin_lock_init(&wb->lock);
	INIT_LIST_HEAD(&wb->free);
	wb->nr_free = 0;
	wb->max = max;
	wb->acquired = 0;
}

/* Link @pl[0..@nr) in order, so that dm-io walks them as one buffer. */
static void vwc_wbbuf_link(struct page_list *pl, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++)
		pl[i].next = i + 1 < nr ? &pl[i + 1] : NULL;
}

/*
 * Fill @pl[0..@nr) with pages, cached ones first; -ENOMEM (and nothing
 * taken) if the rest cannot be allocated.  May sleep (GFP_NOIO).
 */
int vwc_wbbuf_get(struct vwc_wbbuf *wb, struct page_list *pl, u32 nr)
{
	unsigned long flags;
	u32 i = 0;

	spin_lock_irqsave(&wb->lock, flags);
	WRITE_ONCE(wb->acquired, wb->acquired + 1);
	while (i < nr && wb->nr_free) {
		struct page *page = list_first_entry(&wb->free, struct page,
						     lru);

		list_del(&page->lru);
		wb->nr_free--;
		pl[i++].page = page;
	}
	spin_unlock_irqrestore(&wb->lock, flags);
	for (; i < nr; i++) {
		pl[i].page = alloc_page(GFP_NOIO);
		if (!pl[i].page) {
			vwc_wbbuf_put(wb, pl, i);
			return -ENOMEM;
		}
	}
	vwc_wbbuf_link(pl, nr);
	return 0;
}

/* Give back the pages of @pl[0..@nr): to the cache while it has room. */
void vwc_wbbuf_put(struct vwc_wbbuf *wb, struct page_list *pl, u32 nr)
{
	unsigned long flags;
	u32 i = 0;

	spin_lock_irqsave(&wb->lock, flags);
	WRITE_ONCE(wb->acquired, wb->acquired + 1);
	for (; i < nr && wb->nr_free < wb->max; i++) {
		list_add(&pl[i].page->lru, &wb->free);
		wb->nr_free++;
	}
	spin_unlock_irqrestore(&wb->lock, flags);
	for (; i < nr; i++)
		__free_page(pl[i].page);
}

/* Free every cached page. */
void vwc_wbbuf_trim(struct vwc_wbbuf *wb)
{
	struct page *page, *next;
	unsigned long flags;
	LIST_HEAD(pages);

	spin_lock_irqsave(&wb->lock, flags);
	WRITE_ONCE(wb->acquired, wb->acquired + 1);
	list_splice_init(&wb->free, &pages);
	wb->nr_free = 0;
	spin_unlock_irqrestore(&wb->lock, flags);
	list_for_each_entry_safe(page, next, &pages, lru)
		__free_page(page);
}

/* dm-io's view of the buffer @pl from byte @offset on. */
struct dm_io_memory vwc_wbbuf_mem(struct page_list *pl, size_t offset)
{
	struct dm_io_memory mem = {
		.type = DM_IO_PAGE_LIST,
		.ptr.pl = pl + (offset >> PAGE_SHIFT),
		.offset = offset & ~PAGE_MASK,
	};

	return mem;
}
