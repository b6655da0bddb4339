// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache writeback planning: see dm-vwcache-wbplan.h for the rules of
 * this file.
 */
#include "dm-vwcache-wbplan.h"

static u64 vwc_wb_id(const struct vwc_blocks *t, u32 cb)
{
	return vwc_block_key(vwc_block(t, cb)) & VWC_KEY_ID_MASK;
}

/* Restore the max-heap property of cbs[0..n) below @i. */
static void vwc_wb_sift(const struct vwc_blocks *t, u32 *cbs, u32 i, u32 n)
{
	u32 top = cbs[i];
	u64 id = vwc_wb_id(t, top);
	u32 child;

	while ((u64)i * 2 + 1 < n) {
		child = i * 2 + 1;
		if (child + 1 < n &&
		    vwc_wb_id(t, cbs[child + 1]) > vwc_wb_id(t, cbs[child]))
			child++;
		if (vwc_wb_id(t, cbs[child]) <= id)
			break;
		cbs[i] = cbs[child];
		i = child;
	}
	cbs[i] = top;
}

/* Heapsort cbs[0..n) by (vm, oblock), ascending. */
static void vwc_wb_sort(const struct vwc_blocks *t, u32 *cbs, u32 n)
{
	u32 i, tmp;

	for (i = n / 2; i > 0; i--)
		vwc_wb_sift(t, cbs, i - 1, n);
	for (i = n; i > 1; i--) {
		tmp = cbs[0];
		cbs[0] = cbs[i - 1];
		cbs[i - 1] = tmp;
		vwc_wb_sift(t, cbs, 0, i - 1);
	}
}

/* Cut the sorted cbs[0..n) into runs of at most max_run blocks. */
static u32 vwc_wb_runs(const struct vwc_blocks *t, const u32 *cbs, u32 n,
		       u32 max_run, struct vwc_wb_run *runs)
{
	struct vwc_wb_run *r = NULL;
	u64 id, last = 0;
	u32 i, nr = 0;

	for (i = 0; i < n; i++) {
		id = vwc_wb_id(t, cbs[i]);
		if (!r || id != last + 1 || r->count >= max_run ||
		    (id & VWC_KEY_OBLOCK_MASK) == 0) {
			r = &runs[nr++];
			r->oblock = id & VWC_KEY_OBLOCK_MASK;
			r->first = i;
			r->count = 0;
		}
		r->count++;
		last = id;
	}
	return nr;
}

/*
 * Plan the writeback of up to @max_blocks of the oldest blocks on @dirty
 * not in writeback: their cblocks in (vm, oblock) order in @cbs, cut in
 * *@nr_runs runs of consecutive origin blocks, at most @max_run blocks
 * each (0: no limit), in @runs.  Returns the number of blocks planned.
 */
u32 vwc_wb_plan(const struct vwc_blocks *t, const struct vwc_list *dirty,
		u32 max_blocks, u32 max_run, u32 *cbs,
		struct vwc_wb_run *runs, u32 *nr_runs)
{
	u32 cb = dirty->head, seen = 0, n = 0;
	const struct vwc_block *b;

	while (cb != VWC_NIL && n < max_blocks && seen++ < dirty->count) {
		b = vwc_block(t, cb);
		if ((b->flags & (VWC_B_DIRTY | VWC_B_WB)) == VWC_B_DIRTY)
			cbs[n++] = cb;
		cb = b->next;
	}
	vwc_wb_sort(t, cbs, n);
	*nr_runs = vwc_wb_runs(t, cbs, n, max_run ? max_run : U32_MAX, runs);
	return n;
}
