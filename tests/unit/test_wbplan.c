// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dm-vwcache-wbplan.c: the plan takes the oldest dirty
 * blocks not in writeback, at most max_blocks, sorted by origin block,
 * cut into maximal runs of consecutive blocks of at most max_run, and
 * changes nothing.
 */
#include <stdlib.h>

#include "dm-vwcache-wbplan.h"
#include "unit.h"

#define NR 4096

static u64 id_of(const struct vwc_blocks *t, u32 cb)
{
	return (u64)vwc_block_vm(vwc_block(t, cb)) << 48 | vwc_block_oblock(vwc_block(t, cb));
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Check one plan against the list it was made from; returns the number of
 * broken rules.
 */
static unsigned int check_plan(const struct vwc_blocks *t,
			       const struct vwc_list *dirty, u32 max_blocks,
			       u32 max_run, const u32 *cbs, u32 n,
			       const struct vwc_wb_run *runs, u32 nr_runs)
{
	static u32 want[NR], got[NR];
	unsigned int bad = 0;
	u32 cb, i, w = 0, r, covered = 0;

	/* The oldest eligible blocks, max_blocks of them at most. */
	for (cb = dirty->head; cb != VWC_NIL && w < max_blocks;
	     cb = vwc_block(t, cb)->next)
		if ((vwc_block(t, cb)->flags & (VWC_B_DIRTY | VWC_B_WB)) == VWC_B_DIRTY)
			want[w++] = cb;
	if (n != w)
		return 1;
	memcpy(got, cbs, n * sizeof(u32));
	qsort(want, w, sizeof(u32), cmp_u32);
	qsort(got, n, sizeof(u32), cmp_u32);
	if (memcmp(want, got, n * sizeof(u32)))
		bad++;
	/* Sorted by (vm, oblock). */
	for (i = 1; i < n; i++)
		if (id_of(t, cbs[i - 1]) >= id_of(t, cbs[i]))
			bad++;
	/* Runs: in order, covering cbs, consecutive, bounded, maximal. */
	for (r = 0; r < nr_runs; r++) {
		const struct vwc_wb_run *run = &runs[r];

		if (run->first != covered || !run->count ||
		    (max_run && run->count > max_run) ||
		    run->oblock != vwc_block_oblock(vwc_block(t, cbs[run->first])))
			bad++;
		for (i = run->first + 1; i < run->first + run->count; i++)
			if (id_of(t, cbs[i]) != id_of(t, cbs[i - 1]) + 1 ||
			    vwc_block_vm(vwc_block(t, cbs[i])) !=
			    vwc_block_vm(vwc_block(t, cbs[i - 1])))
				bad++;
		if (r > 0 && runs[r - 1].count != max_run &&
		    id_of(t, cbs[run->first]) ==
		    id_of(t, cbs[run->first - 1]) + 1 &&
		    vwc_block_vm(vwc_block(t, cbs[run->first])) ==
		    vwc_block_vm(vwc_block(t, cbs[run->first - 1])))
			bad++;
		covered += run->count;
	}
	return bad + (covered != n);
}

/* A dirty list of nr blocks: runs of neighbours, random gaps, some WB. */
static void make_dirty(struct vwc_blocks *t, struct vwc_list *dirty, u32 nr,
		       u32 nr_vms)
{
	u64 ob = rnd_below(1000);
	u32 i, cb, order[NR];

	CHECK(vwc_blocks_init(t, NR) == 0);
	vwc_list_init(dirty);
	/* Shuffled, so that list order is not oblock order. */
	for (i = 0; i < nr; i++)
		order[i] = i;
	for (i = nr; i > 1; i--) {
		u32 j = rnd_below(i), x = order[i - 1];

		order[i - 1] = order[j];
		order[j] = x;
	}
	for (i = 0; i < nr; i++) {
		cb = vwc_alloc(t);
		ob += rnd_below(4) ? 1 : 1 + rnd_below(50);
		vwc_map(t, cb, rnd_below(nr_vms), ob);
		vwc_block(t, cb)->flags |= VWC_B_DIRTY;
		if (!rnd_below(6))
			vwc_block(t, cb)->flags |= VWC_B_WB;
	}
	for (i = 0; i < nr; i++)
		vwc_list_push_tail(t, dirty, order[i]);
}

static void test_random(void)
{
	static u32 cbs[NR];
	static struct vwc_wb_run runs[NR];
	static u16 flags[NR];
	unsigned int bad = 0, changed = 0, trials, total_runs = 0;
	u32 n, nr_runs, max_blocks, max_run, nr, i;
	struct vwc_blocks t;
	struct vwc_list dirty;

	for (trials = 0; trials < 300; trials++) {
		nr = 1 + rnd_below(NR);
		make_dirty(&t, &dirty, nr, trials % 3 ? 1 : 3);
		max_blocks = rnd_below(3) ? 1 + rnd_below(nr + 10) : nr;
		max_run = rnd_below(4) ? 1 + rnd_below(64) : 0;
		for (i = 0; i < nr; i++)
			flags[i] = vwc_block(&t, i)->flags;
		n = vwc_wb_plan(&t, &dirty, max_blocks, max_run, cbs, runs,
				&nr_runs);
		bad += check_plan(&t, &dirty, max_blocks, max_run, cbs, n,
				  runs, nr_runs);
		total_runs += nr_runs;
		for (i = 0; i < nr; i++)
			changed += flags[i] != vwc_block(&t, i)->flags;
		if (!vwc_list_valid(&t, &dirty) || dirty.count != nr)
			changed++;
		vwc_blocks_exit(&t);
	}
	CHECK(bad == 0);
	CHECK(changed == 0);
	CHECK(total_runs > 300);
}

static void test_cases(void)
{
	static const u64 obs[] = { 10, 12, 11, 13, 14, 20, 21, 5 };
	struct vwc_wb_run runs[8];
	struct vwc_blocks t;
	struct vwc_list dirty;
	u32 cbs[8], cb, n, nr_runs = 99, i;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	vwc_list_init(&dirty);
	n = vwc_wb_plan(&t, &dirty, 8, 4, cbs, runs, &nr_runs);
	CHECK(n == 0 && nr_runs == 0);
	for (i = 0; i < ARRAY_SIZE(obs); i++) {
		cb = vwc_alloc(&t);
		vwc_map(&t, cb, 7, obs[i]);
		vwc_block(&t, cb)->flags |= VWC_B_DIRTY;
		vwc_list_push_tail(&t, &dirty, cb);
	}
	/* 5 | 10 11 12 | 13 14 | 20 21 with max_run 3. */
	n = vwc_wb_plan(&t, &dirty, 8, 3, cbs, runs, &nr_runs);
	CHECK(n == 8 && nr_runs == 4);
	CHECK(runs[0].oblock == 5 && runs[0].count == 1);
	CHECK(runs[1].oblock == 10 && runs[1].count == 3 && runs[1].first == 1);
	CHECK(runs[2].oblock == 13 && runs[2].count == 2);
	CHECK(runs[3].oblock == 20 && runs[3].count == 2 && runs[3].first == 6);
	CHECK(cbs[0] == 7 && cbs[1] == 0 && cbs[2] == 2 && cbs[3] == 1);
	/* No limit: 5 | 10..14 | 20 21. */
	n = vwc_wb_plan(&t, &dirty, 8, 0, cbs, runs, &nr_runs);
	CHECK(n == 8 && nr_runs == 3 && runs[1].count == 5);
	/* The oldest 3 only: 10 11 12. */
	n = vwc_wb_plan(&t, &dirty, 3, 8, cbs, runs, &nr_runs);
	CHECK(n == 3 && nr_runs == 1 && runs[0].oblock == 10 &&
	      runs[0].count == 3);
	/* 11 in writeback: the oldest 3 others are 10 12 13. */
	vwc_block(&t, 2)->flags |= VWC_B_WB;
	n = vwc_wb_plan(&t, &dirty, 3, 8, cbs, runs, &nr_runs);
	CHECK(n == 3 && nr_runs == 2 && cbs[0] == 0 && cbs[1] == 1 &&
	      cbs[2] == 3 && runs[1].oblock == 12 && runs[1].count == 2);
	n = vwc_wb_plan(&t, &dirty, 0, 8, cbs, runs, &nr_runs);
	CHECK(n == 0 && nr_runs == 0);
	vwc_blocks_exit(&t);

	/* The last oblock of one VM and the first of the next: two runs. */
	CHECK(vwc_blocks_init(&t, 64) == 0);
	vwc_list_init(&dirty);
	vwc_map(&t, vwc_alloc(&t), 1, VWC_KEY_OBLOCK_MASK);
	vwc_map(&t, vwc_alloc(&t), 2, 0);
	for (cb = 0; cb < 2; cb++) {
		vwc_block(&t, cb)->flags |= VWC_B_DIRTY;
		vwc_list_push_tail(&t, &dirty, cb);
	}
	n = vwc_wb_plan(&t, &dirty, 8, 8, cbs, runs, &nr_runs);
	CHECK(n == 2 && nr_runs == 2);
	vwc_blocks_exit(&t);
}

int main(void)
{
	unit_seed(0x1234567887654321ULL);
	test_cases();
	test_random();
	return unit_report("test_wbplan");
}
