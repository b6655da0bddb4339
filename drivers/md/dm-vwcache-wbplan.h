/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache writeback planning: which dirty blocks of a VM to write back
 * next, and in what order.
 *
 * A VM's dirty blocks are on its dirty FIFO, oldest first (the caller
 * pushes a block at the tail when it first becomes dirty and leaves it
 * there while its writeback is in flight).  vwc_wb_plan() takes the
 * oldest blocks not already in writeback, each with the dirty blocks next
 * to it in origin order (looked up in the index, however young: random
 * dirty data merges as if the whole dirty set were sorted), sorts them by
 * origin block and cuts them into runs of consecutive origin blocks, so
 * that the writer can issue one sequential write per run.
 * vwc_wb_plan_from() goes on from where the caller's last plan stopped
 * while the oldest block is in writeback (a cursor the caller keeps and
 * checks: it must name a block still on the list, or VWC_NIL).
 *
 * Rules: planning is pure.  It changes no flag and no list (the caller
 * sets VWC_B_WB on what it issues), allocates nothing, recurses nowhere
 * (an in-place heapsort) and uses only the caller's arrays: cbs and runs
 * both of max_blocks entries.  It reads the list as it is, under the
 * caller's lock.  Origin blocks sort by (vm, oblock), and a run never
 * mixes VMs, so a list holding several VMs is still planned correctly
 * (a block's neighbours are looked up in its own VM).
 *
 * vwc_wb_read_order() gives the order in which to read the blocks of a
 * plan from the cache device: by cblock, so that blocks next to each other
 * there (written one after the other) are read in a row and merge into
 * few requests, whatever their origin order.
 */
#ifndef DM_VWCACHE_WBPLAN_H
#define DM_VWCACHE_WBPLAN_H

#include "dm-vwcache-blocks.h"

struct vwc_wb_run {
	u64 oblock;	/* the first origin block of the run */
	u32 first;	/* cbs[first..first + count) in oblock order */
	u32 count;
};

u32 vwc_wb_plan(const struct vwc_blocks *t, const struct vwc_list *dirty,
		u32 max_blocks, u32 max_run, u32 *cbs,
		struct vwc_wb_run *runs, u32 *nr_runs);
u32 vwc_wb_plan_from(const struct vwc_blocks *t, const struct vwc_list *dirty,
		     u32 *from, u32 max_blocks, u32 max_run, u32 *cbs,
		     struct vwc_wb_run *runs, u32 *nr_runs);
void vwc_wb_read_order(const u32 *cbs, u32 n, u32 *order);

#endif /* DM_VWCACHE_WBPLAN_H */
