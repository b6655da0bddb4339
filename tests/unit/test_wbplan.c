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

	/*
	 * Every block planned may be planned; the eligible blocks of the list
	 * are planned oldest first (a prefix of them, all of them when the
	 * plan is not full); every block planned is in a group of
	 * consecutive ids planned that holds one of that prefix (a neighbour
	 * of an old block, not a young block by itself).
	 */
	for (i = 0; i < n; i++)
		if ((vwc_block(t, cbs[i])->flags &
		     (VWC_B_VALID | VWC_B_DIRTY | VWC_B_WB)) !=
		    (VWC_B_VALID | VWC_B_DIRTY))
			bad++;
	if (n > max_blocks)
		bad++;
	memcpy(got, cbs, n * sizeof(u32));
	qsort(got, n, sizeof(u32), cmp_u32);
	for (i = 1; i < n; i++)
		if (got[i] == got[i - 1])
			bad++;
	for (cb = dirty->head; cb != VWC_NIL; cb = vwc_block(t, cb)->next) {
		if ((vwc_block(t, cb)->flags & (VWC_B_DIRTY | VWC_B_WB)) != VWC_B_DIRTY)
			continue;
		if (!bsearch(&cb, got, n, sizeof(u32), cmp_u32))
			break;
		want[w++] = cb;
	}
	if (cb != VWC_NIL && n < max_blocks)
		bad++;
	if (max_blocks && cb != VWC_NIL && !w)
		bad++;
	qsort(want, w, sizeof(u32), cmp_u32);
	for (i = 0; i < n;) {
		u32 j = i, seed = 0;

		while (j + 1 < n && id_of(t, cbs[j + 1]) == id_of(t, cbs[j]) + 1)
			j++;
		for (r = i; r <= j; r++)
			seed |= !!bsearch(&cbs[r], want, w, sizeof(u32), cmp_u32);
		bad += !seed;
		i = j + 1;
	}
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

/*
 * Random dirty data merges: an old block takes its young neighbours in
 * origin order along (found in the index, not on the list's head), in
 * its own VM only, never a block in writeback, and a young block already
 * planned as a neighbour is not planned twice.
 */
static void test_neighbours(void)
{
	/* List order (oldest first): vm, oblock. */
	static const u32 vms[] = { 7, 7, 7, 7, 7, 7, 8, 7, 7 };
	static const u64 obs[] = { 100, 500, 900, 101, 99, 102, 103, 103, 98 };
	struct vwc_wb_run runs[9];
	struct vwc_blocks t;
	struct vwc_list dirty;
	u32 cbs[9], cb, n, nr_runs, i;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	vwc_list_init(&dirty);
	for (i = 0; i < ARRAY_SIZE(obs); i++) {
		cb = vwc_alloc(&t);
		vwc_map(&t, cb, vms[i], obs[i]);
		vwc_block(&t, cb)->flags |= VWC_B_DIRTY;
		vwc_list_push_tail(&t, &dirty, cb);
	}
	/* 98..103 of vm 7 with the oldest, 100; not 500 (the next oldest). */
	n = vwc_wb_plan(&t, &dirty, 6, 0, cbs, runs, &nr_runs);
	CHECK(n == 6 && nr_runs == 1 && runs[0].oblock == 98 &&
	      runs[0].count == 6);
	CHECK(cbs[0] == 8 && cbs[1] == 4 && cbs[2] == 0 && cbs[3] == 3 &&
	      cbs[4] == 5 && cbs[5] == 7);
	/* Room for 3: 100 and 99, 98 first (down), then 101. */
	n = vwc_wb_plan(&t, &dirty, 3, 0, cbs, runs, &nr_runs);
	CHECK(n == 3 && nr_runs == 1 && runs[0].oblock == 98);
	/* max_run 2: one each way from 100: 99 100 101, cut 99 100 | 101. */
	n = vwc_wb_plan(&t, &dirty, 3, 2, cbs, runs, &nr_runs);
	CHECK(n == 3 && nr_runs == 2 && runs[0].oblock == 99 &&
	      runs[0].count == 2 && runs[1].oblock == 101);
	/* All of it, each block once: 98..103, 500, 900, vm 8's 103. */
	n = vwc_wb_plan(&t, &dirty, 9, 0, cbs, runs, &nr_runs);
	CHECK(n == 9 && nr_runs == 4);
	/* 101 in writeback: 98..100 with 100, 500, 900, then 102 (full). */
	vwc_block(&t, 3)->flags |= VWC_B_WB;
	n = vwc_wb_plan(&t, &dirty, 6, 0, cbs, runs, &nr_runs);
	CHECK(n == 6 && nr_runs == 4 && runs[0].oblock == 98 &&
	      runs[0].count == 3 && runs[1].oblock == 102 &&
	      runs[1].count == 1 && runs[2].oblock == 500 &&
	      runs[3].oblock == 900);
	vwc_blocks_exit(&t);
}

/* The read order: a permutation of the plan's indexes by cblock. */
static void test_read_order(void)
{
	static u32 cbs[NR], order[NR], seen[NR];
	unsigned int bad = 0, trials;
	u32 n, i;

	for (trials = 0; trials < 200; trials++) {
		n = rnd_below(NR + 1);
		for (i = 0; i < n; i++) {
			cbs[i] = rnd_below(4 * NR);
			seen[i] = 0;
		}
		vwc_wb_read_order(cbs, n, order);
		for (i = 0; i < n; i++) {
			if (order[i] >= n || seen[order[i]]++)
				bad++;
			if (i && order[i] < n && order[i - 1] < n &&
			    cbs[order[i - 1]] > cbs[order[i]])
				bad++;
		}
	}
	CHECK(bad == 0);
	cbs[0] = 30;
	cbs[1] = 10;
	cbs[2] = 20;
	vwc_wb_read_order(cbs, 3, order);
	CHECK(order[0] == 1 && order[1] == 2 && order[2] == 0);
}

/*
 * The cursor: batch after batch goes on past what the last one planned
 * (in writeback now), from the head again when the head may be planned,
 * round from the tail to the head, each block looked at once.
 */
static void test_from(void)
{
	struct vwc_wb_run runs[4];
	struct vwc_blocks t;
	struct vwc_list dirty;
	u32 cbs[4], cb, n, nr_runs, from = VWC_NIL, i;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	vwc_list_init(&dirty);
	/* 16 blocks of vm 7 at oblocks 0, 2, .. 30: no neighbours. */
	for (i = 0; i < 16; i++) {
		cb = vwc_alloc(&t);
		vwc_map(&t, cb, 7, 2 * i);
		vwc_block(&t, cb)->flags |= VWC_B_DIRTY;
		vwc_list_push_tail(&t, &dirty, cb);
	}
	n = vwc_wb_plan_from(&t, &dirty, &from, 4, 0, cbs, runs, &nr_runs);
	CHECK(n == 4 && cbs[0] == 0 && cbs[3] == 3 && from == 4);
	for (i = 0; i < n; i++)
		vwc_block(&t, cbs[i])->flags |= VWC_B_WB;
	n = vwc_wb_plan_from(&t, &dirty, &from, 4, 0, cbs, runs, &nr_runs);
	CHECK(n == 4 && cbs[0] == 4 && cbs[3] == 7 && from == 8);
	for (i = 0; i < n; i++)
		vwc_block(&t, cbs[i])->flags |= VWC_B_WB;
	/* The head may be planned again: the oldest first, then on. */
	vwc_block(&t, 0)->flags &= ~VWC_B_WB;
	n = vwc_wb_plan_from(&t, &dirty, &from, 4, 0, cbs, runs, &nr_runs);
	CHECK(n == 4 && cbs[0] == 0 && cbs[1] == 8 && cbs[3] == 10 &&
	      from == 11);
	/* Round from the tail: 14, 15 and the head in writeback. */
	for (cb = 0; cb < 16; cb++)
		vwc_block(&t, cb)->flags &= ~VWC_B_WB;
	vwc_block(&t, 0)->flags |= VWC_B_WB;
	vwc_block(&t, 14)->flags |= VWC_B_WB;
	vwc_block(&t, 15)->flags |= VWC_B_WB;
	from = 14;
	n = vwc_wb_plan_from(&t, &dirty, &from, 4, 0, cbs, runs, &nr_runs);
	CHECK(n == 4 && cbs[0] == 1 && cbs[3] == 4 && from == 5);
	/* All in writeback: nothing, every block looked at once. */
	for (cb = 0; cb < 16; cb++)
		vwc_block(&t, cb)->flags |= VWC_B_WB;
	n = vwc_wb_plan_from(&t, &dirty, &from, 4, 0, cbs, runs, &nr_runs);
	CHECK(n == 0 && nr_runs == 0 && from == 5);
	vwc_blocks_exit(&t);
}

int main(void)
{
	unit_seed(0x1234567887654321ULL);
	test_cases();
	test_neighbours();
	test_from();
	test_random();
	test_read_order();
	return unit_report("test_wbplan");
}
