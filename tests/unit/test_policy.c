// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dm-vwcache-policy.c: eviction order, scan resistance (a
 * hot set survives a long scan, where LRU loses it), cooling down, pinned
 * and dirty blocks never evicted; the promotion filter: a scan promotes
 * nothing, a block missed twice is promoted.
 */
#include <stdlib.h>

#include "dm-vwcache-policy.h"
#include "table.h"
#include "unit.h"

/* A cache of nr blocks for one VM, with the policy or with plain LRU. */
struct sim {
	struct vwc_blocks t;
	struct vwc_policy p;
	struct vwc_list lru;
	bool use_lru;
	unsigned int hits, misses;
};

static void sim_init(struct sim *s, u32 nr, bool use_lru)
{
	memset(s, 0, sizeof(*s));
	CHECK(vwc_blocks_init(&s->t, nr) == 0);
	CHECK(vwc_policy_init(&s->p, &s->t, 8, 0) == 0);
	vwc_list_init(&s->lru);
	s->use_lru = use_lru;
}

static void sim_exit(struct sim *s)
{
	vwc_policy_exit(&s->p);
	vwc_blocks_exit(&s->t);
}

static bool sim_access(struct sim *s, u64 oblock)
{
	u32 cb = vwc_lookup(&s->t, 0, oblock);

	if (cb != VWC_NIL) {
		s->hits++;
		if (s->use_lru) {
			vwc_list_del(&s->t, &s->lru, cb);
			vwc_list_push_tail(&s->t, &s->lru, cb);
		} else {
			vwc_policy_hit(&s->p, cb);
		}
		return true;
	}
	s->misses++;
	cb = vwc_alloc(&s->t);
	if (cb == VWC_NIL) {
		if (s->use_lru)
			cb = vwc_list_pop_head(&s->t, &s->lru);
		else
			cb = vwc_policy_victim(&s->p);
		vwc_unmap(&s->t, cb);
	}
	vwc_map(&s->t, cb, 0, oblock);
	if (s->use_lru)
		vwc_list_push_tail(&s->t, &s->lru, cb);
	else
		vwc_policy_add(&s->p, cb);
	return false;
}

static void test_order(void)
{
	struct vwc_blocks t;
	struct vwc_policy p;
	u32 i, cb;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	CHECK(vwc_policy_init(&p, &t, 1, 0) == -EINVAL);
	CHECK(vwc_policy_init(&p, &t, 9, 0) == -EINVAL);
	CHECK(vwc_policy_init(&p, &t, 4, 0) == 0);
	CHECK(p.age == 64);
	CHECK(vwc_policy_victim(&p) == VWC_NIL);
	for (i = 0; i < 10; i++) {
		cb = vwc_alloc(&t);
		vwc_map(&t, cb, 0, i);
		vwc_policy_add(&p, cb);
	}
	CHECK(p.count == 10);
	vwc_policy_hit(&p, 3);
	vwc_policy_hit(&p, 3);
	vwc_policy_hit(&p, 5);
	CHECK(vwc_block_level(vwc_block(&t, 3)) == 2);
	CHECK(vwc_block_level(vwc_block(&t, 5)) == 1);
	CHECK(vwc_policy_valid(&p));
	/* Level 0 first, oldest first; then level 1, then 2. */
	CHECK(vwc_policy_victim(&p) == 0);
	CHECK(vwc_policy_victim(&p) == 1);
	CHECK(vwc_policy_victim(&p) == 2);
	CHECK(vwc_policy_victim(&p) == 4);
	for (i = 0; i < 4; i++)
		vwc_policy_victim(&p);
	CHECK(vwc_policy_victim(&p) == 5);
	CHECK(vwc_policy_victim(&p) == 3);
	CHECK(vwc_policy_victim(&p) == VWC_NIL);
	CHECK(p.count == 0);
	CHECK(!(vwc_block(&t, 3)->flags & VWC_B_POLICY));
	/* The top level holds; a removed block keeps its level. */
	vwc_policy_add(&p, 3);
	CHECK(vwc_block_level(vwc_block(&t, 3)) == 2);
	for (i = 0; i < 10; i++)
		vwc_policy_hit(&p, 3);
	CHECK(vwc_block_level(vwc_block(&t, 3)) == 3);
	vwc_policy_remove(&p, 3);
	vwc_policy_remove(&p, 3);	/* no-op */
	vwc_policy_hit(&p, 3);		/* no-op */
	CHECK(p.count == 0);
	CHECK(vwc_policy_valid(&p));
	vwc_policy_exit(&p);
	vwc_blocks_exit(&t);
}

/*
 * A hot set of H blocks, each hit once per H * K scan blocks, during a
 * scan of 10x the cache: the policy keeps the hot set, LRU (whose reuse
 * distance H * (K + 1) exceeds the cache) loses every one of its hits.
 */
#define NR 1024
#define H 128
#define K 8

static void run_scan(struct sim *s, unsigned int *hot_hits,
		     unsigned int *hot_accesses, u32 *survivors)
{
	u64 scan = 1000000;
	u32 i, j = 0, round;

	for (round = 0; round < 4; round++)
		for (i = 0; i < H; i++)
			sim_access(s, i);
	*hot_hits = 0;
	*hot_accesses = 0;
	for (i = 0; i < 10 * NR; i++) {
		sim_access(s, scan++);
		if (i % K == K - 1) {
			*hot_hits += sim_access(s, j++ % H);
			(*hot_accesses)++;
		}
	}
	*survivors = 0;
	for (i = 0; i < H; i++)
		*survivors += vwc_lookup(&s->t, 0, i) != VWC_NIL;
}

static void test_scan_resistance(void)
{
	unsigned int hits[2], accesses[2];
	u32 survivors[2], i, cooled = 0;
	struct sim s[2];

	for (i = 0; i < 2; i++) {
		sim_init(&s[i], NR, i == 1);
		run_scan(&s[i], &hits[i], &accesses[i], &survivors[i]);
	}
	printf("test_policy: scan of 10x the cache, hot set of %u: policy %u/%u hot hits, %u/%u kept; LRU %u/%u hot hits\n",
	       H, hits[0], accesses[0], survivors[0], H, hits[1],
	       accesses[1]);
	CHECK(survivors[0] * 10 >= H * 9);
	CHECK(hits[0] * 10 >= accesses[0] * 9);
	CHECK(hits[1] * 10 < accesses[1]);
	CHECK(vwc_policy_valid(&s[0].p));

	/* Left alone, the hot set cools down and goes. */
	for (i = 0; i < (8 * 7 + 2) * NR; i++)
		sim_access(&s[0], 5000000 + i);
	for (i = 0; i < H; i++)
		cooled += vwc_lookup(&s[0].t, 0, i) == VWC_NIL;
	CHECK(cooled == H);
	CHECK(vwc_policy_valid(&s[0].p));
	for (i = 0; i < 2; i++)
		sim_exit(&s[i]);
}

/* A hot set untouched during a scan of 10x the cache is still there. */
static void test_pure_scan(void)
{
	u32 survivors[2] = { 0, 0 }, i, round, k;
	struct sim s[2];

	for (k = 0; k < 2; k++) {
		sim_init(&s[k], NR, k == 1);
		for (round = 0; round < 4; round++)
			for (i = 0; i < H; i++)
				sim_access(&s[k], i);
		for (i = 0; i < 10 * NR; i++)
			sim_access(&s[k], 1000000 + i);
		for (i = 0; i < H; i++)
			survivors[k] += vwc_lookup(&s[k].t, 0, i) != VWC_NIL;
		sim_exit(&s[k]);
	}
	printf("test_policy: hot set of %u untouched during a scan of 10x the cache: policy keeps %u, LRU %u\n",
	       H, survivors[0], survivors[1]);
	CHECK(survivors[0] == H);
	CHECK(survivors[1] == 0);
}

/*
 * A stale hot set gives way to a new one: 3/4 of the traffic goes to a
 * new working set of 60% of the cache, 1/4 is a scan.
 */
static void test_adapt(void)
{
	u32 i, hits = 0, win = 0, ws = NR * 6 / 10;
	u64 scan = 1ULL << 40;
	bool adapted = false;
	struct sim s;

	sim_init(&s, NR, false);
	for (i = 0; i < 200000; i++)
		sim_access(&s, i % 4 ? rnd_below(ws) : scan++);
	for (i = 0; i < 200000 && !adapted; i++) {
		if (i % 4 == 0) {
			sim_access(&s, scan++);
			continue;
		}
		hits += sim_access(&s, 100000 + rnd_below(ws));
		if (++win == 2000) {
			adapted = hits * 10 >= win * 9;
			hits = 0;
			win = 0;
		}
	}
	printf("test_policy: a new working set of 60%% of the cache hits 90%% after %u accesses\n",
	       i);
	CHECK(adapted && i < 40000);
	CHECK(vwc_policy_valid(&s.p));
	sim_exit(&s);
}

/* Random traffic with pins, dirty and writeback blocks on the policy. */
static void test_never_evicted(void)
{
	struct vwc_blocks t;
	struct vwc_policy p;
	u32 i, cb, v, victims = 0, bad = 0, nil = 0;

	CHECK(vwc_blocks_init(&t, 256) == 0);
	CHECK(vwc_policy_init(&p, &t, 8, 32) == 0);
	for (i = 0; i < 256; i++)
		CHECK(table_add_clean(&t, &p, 0, i) == i);
	for (i = 0; i < 100000; i++) {
		cb = rnd_below(256);
		switch (rnd_below(8)) {
		case 0:
			vwc_block(&t, cb)->pins ^= 1;
			break;
		case 1:
			vwc_block(&t, cb)->flags ^= rnd_below(2) ? VWC_B_DIRTY :
					 VWC_B_WB;
			break;
		case 2:
		case 3:
			vwc_policy_hit(&p, cb);
			break;
		case 4:
			vwc_policy_remove(&p, cb);
			break;
		case 5:
			vwc_policy_add(&p, cb);
			break;
		default:
			v = vwc_policy_victim(&p);
			if (v == VWC_NIL) {
				nil++;
				break;
			}
			victims++;
			if (vwc_block_pins(vwc_block(&t, v)) ||
			    (vwc_block(&t, v)->flags &
			    (VWC_B_DIRTY | VWC_B_WB | VWC_B_POLICY)))
				bad++;
			vwc_policy_add(&p, v);
		}
		if (i % 1000 == 0 && !vwc_policy_valid(&p))
			bad++;
	}
	CHECK(bad == 0);
	CHECK(victims > 10000);
	CHECK(vwc_policy_valid(&p));

	/* Nothing evictable: NIL, and nothing lost. */
	for (cb = 0; cb < 256; cb++) {
		vwc_policy_add(&p, cb);
		vwc_block(&t, cb)->flags &= ~(VWC_B_DIRTY | VWC_B_WB);
		vwc_block(&t, cb)->pins = cb % 2;
		if (!vwc_block(&t, cb)->pins)
			vwc_block(&t, cb)->flags |= VWC_B_DIRTY;
	}
	CHECK(vwc_policy_victim(&p) == VWC_NIL);
	CHECK(p.count == 256);
	CHECK(vwc_policy_valid(&p));
	vwc_block(&t, 77)->flags &= ~VWC_B_DIRTY;
	CHECK(vwc_policy_victim(&p) == VWC_NIL);	/* 77 is pinned */
	vwc_block(&t, 77)->pins = 0;
	CHECK(vwc_policy_victim(&p) == 77);
	vwc_policy_exit(&p);
	CHECK(p.count == 0);
	for (cb = 0, bad = 0; cb < 256; cb++)
		bad += !!(vwc_block(&t, cb)->flags & VWC_B_POLICY);
	CHECK(bad == 0);
	vwc_blocks_exit(&t);
}

static void test_filter(void)
{
	struct vwc_filter f;
	u32 nr = 4096, i, promoted = 0, v, hot_ok = 0, rand_promoted = 0;
	u32 tested = 0;
	u64 o;

	CHECK(vwc_filter_bytes(64) <= 64);
	CHECK(vwc_filter_bytes(1000) <= 1000);
	CHECK(vwc_filter_bytes(1 << 20) <= 1 << 20);

	/* One pass of a scan of 10x the cache promotes nothing. */
	CHECK(vwc_filter_init(&f, nr) == 0);
	for (o = 0; o < 10 * nr; o++)
		promoted += vwc_filter_should_promote(&f, 3, 123456 + o);
	CHECK(promoted == 0);
	/* Another VM's scan right after it: a few false promotions. */
	for (o = 0; o < 10 * nr; o++)
		promoted += vwc_filter_should_promote(&f, 4, 777 + o);
	printf("test_policy: filter: a second VM's scan after the first: %u of %u promoted\n",
	       promoted, 10 * nr);
	CHECK(promoted * 20 < 10 * nr);	/* < 5% */
	vwc_filter_exit(&f);

	/*
	 * A block missed twice is promoted, also in the middle of a scan;
	 * unless, rarely, aging halved a counter in between (at most 2 in
	 * R / 8 here).
	 */
	CHECK(vwc_filter_init(&f, nr) == 0);
	for (i = 0; i < 1000; i++) {
		o = rnd() & VWC_KEY_OBLOCK_MASK;
		v = rnd_below(4096);
		if (vwc_filter_should_promote(&f, v, o))
			continue;	/* a false positive: not our question */
		tested++;
		vwc_filter_should_promote(&f, 9, 1ULL << 40 | i * 2);
		vwc_filter_should_promote(&f, 9, 1ULL << 40 | (i * 2 + 1));
		hot_ok += vwc_filter_should_promote(&f, v, o);
	}
	printf("test_policy: filter: missed twice: %u of %u promoted\n", hot_ok,
	       tested);
	CHECK(tested > 900 && hot_ok >= tested - tested / 100);
	vwc_filter_exit(&f);

	/* Exactly the threshold: the first miss is not enough. */
	CHECK(vwc_filter_init(&f, nr) == 0);
	CHECK(!vwc_filter_should_promote(&f, 1, 42));
	CHECK(vwc_filter_should_promote(&f, 1, 42));
	CHECK(vwc_filter_should_promote(&f, 1, 42));
	/*
	 * Inside a longer read: a cold miss is counted, one that would make
	 * the block hot is not (the bio that stops before it counts it).
	 */
	CHECK(vwc_filter_cold_miss(&f, 2, 77));
	CHECK(!vwc_filter_cold_miss(&f, 2, 77));
	CHECK(!vwc_filter_cold_miss(&f, 2, 77));
	CHECK(vwc_filter_should_promote(&f, 2, 77));
	CHECK(!vwc_filter_cold_miss(&f, 1, 42));
	/* Forgotten once aged: miss, then 4R observations elsewhere. */
	CHECK(!vwc_filter_should_promote(&f, 1, 5000));
	for (i = 0; i < 4 * nr; i++)
		vwc_filter_should_promote(&f, 1, 5001);
	CHECK(!vwc_filter_should_promote(&f, 1, 5000));
	vwc_filter_exit(&f);

	/* Random one-touch misses: some false promotions, not most. */
	CHECK(vwc_filter_init(&f, nr) == 0);
	for (i = 0; i < 20 * nr; i++)
		rand_promoted += vwc_filter_should_promote(&f, rnd_below(8),
							   rnd() >> 16);
	printf("test_policy: filter: random one-touch misses: %.1f%% promoted\n",
	       100.0 * rand_promoted / (20 * nr));
	CHECK(rand_promoted < 20 * nr * 4 / 10);
	vwc_filter_exit(&f);
}

/* victim_of: only the asked VM's blocks, oldest first, within the scan. */
static void test_victim_of(void)
{
	struct vwc_blocks t;
	struct vwc_policy p;
	u32 i, cb, n = 0;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	CHECK(vwc_policy_init(&p, &t, 4, 0) == 0);
	/* 40 blocks: VM 1 holds every fourth, VM 0 the rest. */
	for (i = 0; i < 40; i++) {
		cb = vwc_alloc(&t);
		vwc_map(&t, cb, i % 4 == 3, i);
		vwc_policy_add(&p, cb);
	}
	vwc_block(&t, 3)->pins = 1;	/* in flight: not evictable */
	CHECK(vwc_policy_victim_of(&p, 2, 64) == VWC_NIL);
	CHECK(vwc_policy_victim_of(&p, 1, 3) == VWC_NIL);
	CHECK(vwc_policy_victim_of(&p, 1, 64) == 7);
	while ((cb = vwc_policy_victim_of(&p, 1, 64)) != VWC_NIL) {
		CHECK(vwc_block_vm(vwc_block(&t, cb)) == 1);
		n++;
	}
	CHECK(n == 8);
	CHECK(p.count == 31);
	CHECK(vwc_policy_valid(&p));
	vwc_policy_exit(&p);
	vwc_blocks_exit(&t);
}

/*
 * A read hit that took no lock marks the block (VWC_PIN_REF): the victim
 * search takes the mark as the hit, a CLOCK's second chance, so a marked
 * block is not evicted before unmarked ones of its level, and moves up.
 */
static void test_ref(void)
{
	struct vwc_blocks t;
	struct vwc_policy p;
	u32 i, cb;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	CHECK(vwc_policy_init(&p, &t, 4, 0) == 0);
	for (i = 0; i < 8; i++)
		CHECK(table_add_clean(&t, &p, 0, i) == i);
	/* 0 and 1 are the oldest: read, pinned and unpinned without lock. */
	for (i = 0; i < 2; i++) {
		CHECK(table_read_hit(&t, i));
	}
	CHECK(vwc_policy_victim(&p) == 2);
	CHECK(vwc_block_level(vwc_block(&t, 0)) == 1);
	CHECK(vwc_block_level(vwc_block(&t, 1)) == 1);
	CHECK(!(vwc_block(&t, 0)->pins & VWC_PIN_REF));
	/* victim_of takes the mark of its VM's block as a hit too. */
	CHECK(table_read_hit(&t, 3));
	CHECK(vwc_policy_victim_of(&p, 1, 64) == VWC_NIL);
	CHECK(vwc_block(&t, 3)->pins & VWC_PIN_REF);	/* not VM 1's */
	CHECK(vwc_policy_victim_of(&p, 0, 64) == 4);
	CHECK(!(vwc_block(&t, 3)->pins & VWC_PIN_REF));
	CHECK(vwc_block_level(vwc_block(&t, 3)) == 1);
	for (i = 0; i < 3; i++)
		CHECK(vwc_policy_victim(&p) == 5 + i);
	CHECK(vwc_policy_victim(&p) == 0);	/* level 1 after level 0 */
	CHECK(vwc_policy_valid(&p));
	vwc_policy_exit(&p);
	vwc_blocks_exit(&t);

	/*
	 * 100 blocks all marked: one search moves the first 64 up, then
	 * takes the 65th's mark without the move and evicts it (bounded).
	 */
	CHECK(vwc_blocks_init(&t, 128) == 0);
	CHECK(vwc_policy_init(&p, &t, 4, 0) == 0);
	for (i = 0; i < 100; i++) {
		cb = table_add_clean(&t, &p, 0, i);
		CHECK(table_read_hit(&t, cb));
	}
	CHECK(vwc_policy_victim(&p) == 64);
	CHECK(vwc_block_level(vwc_block(&t, 63)) == 1);
	CHECK(vwc_block_level(vwc_block(&t, 65)) == 0);
	CHECK(vwc_block(&t, 65)->pins & VWC_PIN_REF);
	CHECK(vwc_policy_valid(&p));
	vwc_policy_exit(&p);
	vwc_blocks_exit(&t);
}

int main(void)
{
	unit_seed(0x2545f4914f6cdd1dULL);
	test_order();
	test_scan_resistance();
	test_pure_scan();
	test_adapt();
	test_never_evicted();
	test_filter();
	test_victim_of();
	test_ref();
	return unit_report("test_policy");
}
