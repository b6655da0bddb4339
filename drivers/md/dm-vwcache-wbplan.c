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

/*
 * The sort key of @v: with @t, the (vm, oblock) of cblock @v; else the
 * cblock cbs[@v].  One heapsort serves both orders a plan needs.
 */
static u64 vwc_wb_key(const struct vwc_blocks *t, const u32 *cbs, u32 v)
{
	return t ? vwc_wb_id(t, v) : cbs[v];
}

/* Restore the max-heap property of a[0..n), by vwc_wb_key(), below @i. */
static void vwc_wb_sift(const struct vwc_blocks *t, const u32 *cbs, u32 *a,
			u32 i, u32 n)
{
	u32 top = a[i];
	u64 key = vwc_wb_key(t, cbs, top);
	u32 child;

	while ((u64)i * 2 + 1 < n) {
		child = i * 2 + 1;
		if (child + 1 < n && vwc_wb_key(t, cbs, a[child + 1]) >
				     vwc_wb_key(t, cbs, a[child]))
			child++;
		if (vwc_wb_key(t, cbs, a[child]) <= key)
			break;
		a[i] = a[child];
		i = child;
	}
	a[i] = top;
}

/* Heapsort a[0..n) by vwc_wb_key(), ascending: no memory, no recursion. */
static void vwc_wb_heapsort(const struct vwc_blocks *t, const u32 *cbs,
			    u32 *a, u32 n)
{
	u32 i, tmp;

	for (i = n / 2; i > 0; i--)
		vwc_wb_sift(t, cbs, a, i - 1, n);
	for (i = n; i > 1; i--) {
		tmp = a[0];
		a[0] = a[i - 1];
		a[i - 1] = tmp;
		vwc_wb_sift(t, cbs, a, 0, i - 1);
	}
}

/*
 * The indexes 0..n) of @cbs in @order, by ascending cblock: the order in
 * which to read a plan's blocks from the cache device.
 */
void vwc_wb_read_order(const u32 *cbs, u32 n, u32 *order)
{
	u32 i;

	for (i = 0; i < n; i++)
		order[i] = i;
	vwc_wb_heapsort(NULL, cbs, order, n);
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

/* May @b be planned: dirty, mapped, not in writeback? */
static bool vwc_wb_eligible(const struct vwc_block *b)
{
	return (b->flags & (VWC_B_VALID | VWC_B_DIRTY | VWC_B_WB)) ==
	       (VWC_B_VALID | VWC_B_DIRTY);
}

/* Is @id in one of the @nr ranges planned so far? */
static bool vwc_wb_planned(const struct vwc_wb_run *ranges, u32 nr, u64 id)
{
	u32 i;

	for (i = 0; i < nr; i++)
		if (id - ranges[i].oblock < ranges[i].count)
			return true;
	return false;
}

/*
 * The next origin block of @id's VM in direction @dir (+1 or -1), if it
 * is a block that may be planned and is not yet: its cblock, else VWC_NIL.
 */
static u32 vwc_wb_neighbour(const struct vwc_blocks *t,
			    const struct vwc_wb_run *ranges, u32 nr, u64 id,
			    int dir)
{
	u64 oblock = id & VWC_KEY_OBLOCK_MASK;
	u32 cb;

	if (dir < 0 ? oblock == 0 : oblock == VWC_KEY_OBLOCK_MASK)
		return VWC_NIL;
	id = dir < 0 ? id - 1 : id + 1;
	cb = vwc_lookup(t, (u32)(id >> VWC_KEY_VM_SHIFT),
			id & VWC_KEY_OBLOCK_MASK);
	if (cb == VWC_NIL || !vwc_wb_eligible(vwc_block(t, cb)) ||
	    vwc_wb_planned(ranges, nr, id))
		return VWC_NIL;
	return cb;
}

/*
 * Plan @cb and the blocks next to it in origin order that may be planned
 * and are not yet, down then up, up to @max_run - 1 of them each way and
 * @room in all, into @cbs; their range of ids goes to ranges[nr].  Returns
 * how many were planned.
 */
static u32 vwc_wb_grow(const struct vwc_blocks *t, u32 cb, u32 room,
		       u32 max_run, u32 *cbs, struct vwc_wb_run *ranges,
		       u32 nr)
{
	u64 id = vwc_wb_id(t, cb), lo = id, hi = id;
	u32 n = 0, k;

	cbs[n++] = cb;
	for (k = 1; n < room && k < max_run; k++) {
		cb = vwc_wb_neighbour(t, ranges, nr, lo, -1);
		if (cb == VWC_NIL)
			break;
		cbs[n++] = cb;
		lo--;
	}
	for (k = 1; n < room && k < max_run; k++) {
		cb = vwc_wb_neighbour(t, ranges, nr, hi, 1);
		if (cb == VWC_NIL)
			break;
		cbs[n++] = cb;
		hi++;
	}
	ranges[nr].oblock = lo;
	ranges[nr].count = (u32)(hi - lo + 1);
	return n;
}

/*
 * Plan the writeback of up to @max_blocks dirty blocks not in writeback,
 * the oldest on @dirty first, each with the blocks next to it in origin
 * order that may be planned too (found in the index: random dirty data
 * merges, however old its neighbours): their cblocks in (vm, oblock) order
 * in @cbs, cut in *@nr_runs runs of consecutive origin blocks, at most
 * @max_run blocks each (0: no limit), in @runs.  Returns the number of
 * blocks planned.  Each block looks up its two neighbours and compares
 * its id with the ranges planned so far (one for each old block planned
 * that was not yet): O(max_blocks^2) at worst, for a small batch.
 *
 * The walk of @dirty starts at its head when the head may be planned (the
 * oldest first), else at *@from (a block on @dirty, or VWC_NIL for the
 * head): where the last walk stopped, past the blocks it planned, which
 * are in writeback now.  So batch after batch of a long flush costs a
 * walk of what each plans, not of every block in writeback before it.  It
 * goes on from the tail to the head, each block looked at once at most;
 * *@from is set to the block after the last looked at.
 */
u32 vwc_wb_plan_from(const struct vwc_blocks *t, const struct vwc_list *dirty,
		     u32 *from, u32 max_blocks, u32 max_run, u32 *cbs,
		     struct vwc_wb_run *runs, u32 *nr_runs)
{
	u32 cb = dirty->head, seen = 0, n = 0, nr = 0;
	const struct vwc_block *b;

	if (!max_run)
		max_run = U32_MAX;
	if (cb != VWC_NIL && !vwc_wb_eligible(vwc_block(t, cb)) &&
	    *from != VWC_NIL)
		cb = *from;
	/* runs[] holds the ranges planned until the runs are cut. */
	while (n < max_blocks && seen < dirty->count) {
		if (cb == VWC_NIL)
			cb = dirty->head;
		b = vwc_block(t, cb);
		seen++;
		if ((b->flags & (VWC_B_DIRTY | VWC_B_WB)) == VWC_B_DIRTY &&
		    !vwc_wb_planned(runs, nr, vwc_wb_id(t, cb))) {
			n += vwc_wb_grow(t, cb, max_blocks - n, max_run,
					 cbs + n, runs, nr);
			nr++;
		}
		cb = b->next;
	}
	*from = cb;
	vwc_wb_heapsort(t, NULL, cbs, n);
	*nr_runs = vwc_wb_runs(t, cbs, n, max_run, runs);
	return n;
}

/* vwc_wb_plan_from() from the head. */
u32 vwc_wb_plan(const struct vwc_blocks *t, const struct vwc_list *dirty,
		u32 max_blocks, u32 max_run, u32 *cbs,
		struct vwc_wb_run *runs, u32 *nr_runs)
{
	u32 from = VWC_NIL;

	return vwc_wb_plan_from(t, dirty, &from, max_blocks, max_run, cbs,
				runs, nr_runs);
}
