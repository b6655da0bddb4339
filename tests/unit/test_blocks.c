// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dm-vwcache-blocks.c: the index against a reference model
 * over random operations, the lists against a reference deque, the
 * alloc/release/commit cycle (no block reused while metadata may still
 * map it) and the RAM budget per block.
 */
#include <stdlib.h>

#include "dm-vwcache-blocks.h"
#include "dm-vwcache-policy.h"
#include "unit.h"

/*
 * What vwc_blocks_init(nr) allocates, counted independently: whole pages
 * for each chunk of blocks, the buckets, the two arrays of chunk pointers.
 */
static size_t expect_bytes(u32 nr, u32 nb)
{
	u64 full = nr / VWC_CHUNK_BLOCKS, rest = nr % VWC_CHUNK_BLOCKS;
	u64 chunks = full + !!rest;
	u64 bucket_chunks = nb > VWC_BUCKET_CHUNK ? nb / VWC_BUCKET_CHUNK : 1;

	return full * (VWC_CHUNK_BLOCKS * 40) + round_up(rest * 40, 4096) +
	       chunks * sizeof(void *) + (u64)nb * 4 +
	       bucket_chunks * sizeof(void *);
}

static void test_sizes(void)
{
	static const u32 nrs[] = { 64, 1000, 1 << 20, 3 * (1 << 20) + 17 };
	u32 i, nr, bad = 0;
	struct vwc_blocks t;
	u64 n;

	CHECK(sizeof(struct vwc_block) == 40);
	CHECK(vwc_blocks_fixed_bytes() == 4096 * 12);
	CHECK(VWC_BLOCKS_MAX == U32_MAX);
	for (i = 0; i < ARRAY_SIZE(nrs); i++)
		printf("test_blocks: %u blocks: %zu bytes of RAM per block\n",
		       nrs[i], vwc_blocks_ram_per_block(nrs[i]));
	/*
	 * At most 44 bytes a block, and a fixed cost under 4 KiB beside
	 * (the last chunk of blocks rounded up to a whole page), which is
	 * within the 44 bytes from a full chunk (64 Ki blocks) up; the VMs'
	 * list heads (vwc_blocks_fixed_bytes()) are apart.
	 */
	for (nr = VWC_MIN_BLOCKS; nr < 140000; nr++)
		if ((nr >= VWC_CHUNK_BLOCKS &&
		     vwc_blocks_ram_per_block(nr) > 44) ||
		    vwc_blocks_bytes(nr) + vwc_filter_bytes(nr) >
		    (size_t)nr * 44 + 4096)
			bad++;
	/* The worst cases, up to the most blocks a table holds. */
	for (i = 16; i <= 32; i++) {
		n = 1ULL << i;
		if (vwc_blocks_ram_per_block(n - 1) > 44 ||
		    (n <= U32_MAX && vwc_blocks_ram_per_block(n) > 44) ||
		    vwc_blocks_ram_per_block(n / 3 * 4 > U32_MAX ?
					     U32_MAX : n / 3 * 4) > 44 ||
		    (n < U32_MAX && vwc_blocks_ram_per_block(n + 1) > 44))
			bad++;
	}
	CHECK(bad == 0);
	printf("test_blocks: %u blocks (the most): %zu bytes of RAM per block, %zu MiB\n",
	       U32_MAX, vwc_blocks_ram_per_block(U32_MAX),
	       (vwc_blocks_bytes(U32_MAX) + vwc_filter_bytes(U32_MAX)) >> 20);
	/* Every allocation within kvmalloc()'s INT_MAX, at the most blocks. */
	CHECK(vwc_filter_bytes(U32_MAX) <= 0x7fffffff);
	CHECK((size_t)VWC_CHUNK_BLOCKS * sizeof(struct vwc_block) <= 4 << 20);
	CHECK(vwc_blocks_bytes(U32_MAX) ==
	      expect_bytes(U32_MAX, 1U << 31));

	/* The sizes are those init allocates. */
	for (i = 0; i < ARRAY_SIZE(nrs); i++) {
		CHECK(vwc_blocks_init(&t, nrs[i]) == 0);
		CHECK(vwc_blocks_bytes(nrs[i]) ==
		      expect_bytes(nrs[i], t.hash_mask + 1));
		CHECK(t.nr_chunks == DIV_ROUND_UP(nrs[i], VWC_CHUNK_BLOCKS));
		CHECK(is_power_of_2(t.hash_mask + 1));
		CHECK(t.hash_mask + 1 <= nrs[i]);
		CHECK(t.free.count == nrs[i]);
		CHECK(vwc_list_valid(&t, &t.free));
		vwc_blocks_exit(&t);
	}
	CHECK(vwc_blocks_init(&t, 0) == -EINVAL);
}

static void test_keys(void)
{
	struct vwc_blocks t;
	struct vwc_block *b;
	u32 cb;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	cb = vwc_alloc(&t);
	b = vwc_block(&t, cb);
	vwc_map(&t, cb, VWC_KEY_VM_MASK, VWC_KEY_OBLOCK_MASK);
	CHECK(vwc_block_vm(b) == 4095);
	CHECK(vwc_block_oblock(b) == (1ULL << 48) - 1);
	CHECK(vwc_block_level(b) == 0);
	CHECK(b->flags == VWC_B_VALID);
	vwc_block_set_level(b, 7);
	CHECK(vwc_block_level(b) == 7);
	CHECK(vwc_block_vm(b) == 4095);
	CHECK(vwc_block_oblock(b) == (1ULL << 48) - 1);
	/* The level does not disturb the index. */
	CHECK(vwc_lookup(&t, 4095, (1ULL << 48) - 1) == cb);
	CHECK(vwc_lookup(&t, 4094, (1ULL << 48) - 1) == VWC_NIL);
	CHECK(vwc_lookup(&t, 4095, (1ULL << 48) - 2) == VWC_NIL);
	vwc_block_set_level(b, 3);
	CHECK(vwc_block_level(b) == 3);
	CHECK(vwc_lookup(&t, 4095, (1ULL << 48) - 1) == cb);
	vwc_unmap(&t, cb);
	CHECK(vwc_lookup(&t, 4095, (1ULL << 48) - 1) == VWC_NIL);
	CHECK(!(b->flags & VWC_B_VALID));
	vwc_blocks_exit(&t);
}

/*
 * The lists against a reference deque: random pushes at either end,
 * deletes anywhere, pops and splices over three lists.
 */
#define LNR 200

struct deque {
	u32 v[LNR];
	u32 n;
};

static bool same(const struct vwc_blocks *t, const struct vwc_list *l,
		 const struct deque *d)
{
	u32 cb = l->head, i = 0;

	if (!vwc_list_valid(t, l) || l->count != d->n)
		return false;
	for (; cb != VWC_NIL; cb = vwc_block(t, cb)->next, i++)
		if (i >= d->n || d->v[i] != cb)
			return false;
	return i == d->n;
}

static void dq_del(struct deque *d, u32 i)
{
	memmove(&d->v[i], &d->v[i + 1], (d->n - i - 1) * sizeof(u32));
	d->n--;
}

static void test_lists(void)
{
	static struct deque d[3];
	struct vwc_list l[3];
	struct vwc_blocks t;
	u32 where[LNR], i, cb, x, y, op, bad = 0, bad_pop = 0;

	CHECK(vwc_blocks_init(&t, LNR) == 0);
	for (i = 0; i < LNR; i++) {
		CHECK(vwc_alloc(&t) == i);
		where[i] = 3;	/* on no list */
	}
	CHECK(vwc_alloc(&t) == VWC_NIL);
	for (i = 0; i < 3; i++) {
		vwc_list_init(&l[i]);
		d[i].n = 0;
		CHECK(vwc_list_empty(&l[i]));
		CHECK(vwc_list_pop_head(&t, &l[i]) == VWC_NIL);
	}
	for (i = 0; i < 20000; i++) {
		op = rnd_below(10);
		cb = rnd_below(LNR);
		x = rnd_below(3);
		if (op < 3 && where[cb] == 3) {
			vwc_list_push_tail(&t, &l[x], cb);
			d[x].v[d[x].n++] = cb;
			where[cb] = x;
		} else if (op < 5 && where[cb] == 3) {
			vwc_list_push_head(&t, &l[x], cb);
			memmove(&d[x].v[1], &d[x].v[0], d[x].n * sizeof(u32));
			d[x].v[0] = cb;
			d[x].n++;
			where[cb] = x;
		} else if (op < 8 && where[cb] != 3) {
			x = where[cb];
			vwc_list_del(&t, &l[x], cb);
			for (y = 0; d[x].v[y] != cb; y++)
				;
			dq_del(&d[x], y);
			where[cb] = 3;
		} else if (op < 9) {
			y = vwc_list_pop_head(&t, &l[x]);
			if (d[x].n) {
				if (y != d[x].v[0])
					bad_pop++;
				dq_del(&d[x], 0);
				where[y] = 3;
			} else if (y != VWC_NIL) {
				bad_pop++;
			}
		} else if (rnd_below(20) == 0) {
			y = (x + 1) % 3;
			vwc_list_splice_tail(&t, &l[x], &l[y]);
			memcpy(&d[x].v[d[x].n], d[y].v, d[y].n * sizeof(u32));
			d[x].n += d[y].n;
			for (cb = 0; cb < d[y].n; cb++)
				where[d[y].v[cb]] = x;
			d[y].n = 0;
		}
		for (x = 0; x < 3; x++)
			if (!same(&t, &l[x], &d[x]))
				bad++;
	}
	CHECK(bad == 0);
	CHECK(bad_pop == 0);
	/* A broken link is noticed. */
	if (l[0].count >= 2) {
		cb = vwc_block(&t, l[0].head)->next;
		vwc_block(&t, cb)->prev = VWC_NIL;
		CHECK(!vwc_list_valid(&t, &l[0]));
	}
	vwc_blocks_exit(&t);
}

/*
 * The index and the free lists against a reference model: 10^5 random
 * map/unmap/lookup/release/commit operations.
 */
#define INR 1000
#define KEYS 512
#define VMS 4

enum { S_FREE, S_USED, S_PENDING, S_COMMITTING };

static const u32 vm_ids[VMS] = { 0, 1, 4094, 4095 };

/* Key index -> oblock: injective, and uses the high bits too. */
static u64 key_oblock(u32 k)
{
	return (u64)k << 35 | k;
}

struct model {
	u32 map[VMS][KEYS];	/* cblock + 1, 0 = unmapped */
	u32 key[INR];		/* vm * KEYS + k while mapped */
	u8 state[INR];
	u32 nr_free;
	u32 nr_mapped;
};

static void check_model(const struct vwc_blocks *t, const struct model *m,
			unsigned int *bad)
{
	u32 cb, v, mapped = 0, n[4] = { 0 };

	/* Each VM's list holds its mapped blocks, all of them. */
	for (v = 0; v < VMS; v++) {
		if (!vwc_vm_list_valid(t, vm_ids[v]))
			(*bad)++;
		mapped += vwc_vm_count(t, vm_ids[v]);
	}
	if (mapped != m->nr_mapped || vwc_vm_count(t, 2))
		(*bad)++;
	if (!vwc_list_valid(t, &t->free) ||
	    !vwc_list_valid(t, &t->free_pending) ||
	    !vwc_list_valid(t, &t->committing))
		(*bad)++;
	for (cb = t->free.head; cb != VWC_NIL; cb = vwc_block(t, cb)->next)
		n[0] += m->state[cb] == S_FREE;
	for (cb = t->free_pending.head; cb != VWC_NIL; cb = vwc_block(t, cb)->next)
		n[2] += m->state[cb] == S_PENDING;
	for (cb = t->committing.head; cb != VWC_NIL; cb = vwc_block(t, cb)->next)
		n[3] += m->state[cb] == S_COMMITTING;
	if (n[0] != t->free.count || n[0] != m->nr_free ||
	    n[2] != t->free_pending.count || n[3] != t->committing.count)
		(*bad)++;
	/* Every mapped block is found under its own key. */
	for (cb = 0; cb < INR; cb++) {
		const struct vwc_block *b = vwc_block(t, cb);

		if (m->state[cb] == S_USED && m->key[cb] != U32_MAX) {
			if (vwc_lookup(t, vwc_block_vm(b),
				       vwc_block_oblock(b)) != cb ||
			    !(b->flags & VWC_B_VALID))
				(*bad)++;
		} else if (b->flags & VWC_B_VALID) {
			(*bad)++;
		}
	}
}

static void model_unmap(struct vwc_blocks *t, struct model *m, u32 cb)
{
	u32 key = m->key[cb];

	vwc_unmap(t, cb);
	m->map[key / KEYS][key % KEYS] = 0;
	m->key[cb] = U32_MAX;
	m->nr_mapped--;
}

static void test_index_random(void)
{
	static struct model m;
	struct vwc_blocks t;
	unsigned int bad = 0, bad_lookup = 0, bad_alloc = 0, lookups = 0;
	unsigned int hits = 0, ops, pending_freed = 0, full = 0;
	u32 i, cb, v, k, op;

	memset(&m, 0, sizeof(m));
	CHECK(vwc_blocks_init(&t, INR) == 0);
	for (i = 0; i < INR; i++)
		m.key[i] = U32_MAX;
	m.nr_free = INR;

	for (ops = 0; ops < 100000; ops++) {
		op = rnd_below(100);
		v = rnd_below(VMS);
		k = rnd_below(KEYS);
		if (op < 35) {
			/* A miss maps a block, if it can get one. */
			cb = vwc_lookup(&t, vm_ids[v], key_oblock(k));
			if (cb != (m.map[v][k] ? m.map[v][k] - 1 : VWC_NIL))
				bad_lookup++;
			if (cb != VWC_NIL)
				continue;
			cb = vwc_alloc(&t);
			if (cb == VWC_NIL) {
				if (m.nr_free)
					bad_alloc++;
				full++;
				continue;
			}
			if (cb >= INR || m.state[cb] != S_FREE)
				bad_alloc++;
			m.state[cb] = S_USED;
			m.nr_free--;
			vwc_map(&t, cb, vm_ids[v], key_oblock(k));
			m.map[v][k] = cb + 1;
			m.key[cb] = v * KEYS + k;
			m.nr_mapped++;
		} else if (op < 75) {
			cb = vwc_lookup(&t, vm_ids[v], key_oblock(k));
			lookups++;
			hits += cb != VWC_NIL;
			if (cb != (m.map[v][k] ? m.map[v][k] - 1 : VWC_NIL))
				bad_lookup++;
		} else if (op < 92) {
			/* Evict or discard: unmap, and usually release. */
			cb = rnd_below(INR);
			if (m.state[cb] != S_USED)
				continue;
			if (m.key[cb] != U32_MAX)
				model_unmap(&t, &m, cb);
			if (rnd_below(4)) {
				vwc_release(&t, cb);
				m.state[cb] = S_PENDING;
			}
		} else if (op < 96) {
			if (!t.in_commit) {
				u32 n = 0;

				for (cb = 0; cb < INR; cb++)
					if (m.state[cb] == S_PENDING) {
						m.state[cb] = S_COMMITTING;
						n++;
					}
				if (vwc_commit_begin(&t) != n)
					bad++;
			}
		} else if (op < 99) {
			if (t.in_commit) {
				for (cb = 0; cb < INR; cb++)
					if (m.state[cb] == S_COMMITTING) {
						m.state[cb] = S_FREE;
						m.nr_free++;
					}
				vwc_commit_end(&t);
			}
		} else if (t.in_commit) {
			for (cb = 0; cb < INR; cb++)
				if (m.state[cb] == S_COMMITTING)
					m.state[cb] = S_PENDING;
			vwc_commit_abort(&t);
		}
		/* Blocks released mid-commit are not freed by it. */
		for (cb = t.free.head; cb != VWC_NIL && ops % 97 == 0;
		     cb = vwc_block(&t, cb)->next)
			pending_freed += m.state[cb] != S_FREE;
		if (ops % 997 == 0)
			check_model(&t, &m, &bad);
	}
	check_model(&t, &m, &bad);
	CHECK(bad == 0);
	CHECK(bad_lookup == 0);
	CHECK(bad_alloc == 0);
	CHECK(pending_freed == 0);
	/* The run did what it meant to: hits, misses, a full table. */
	CHECK(hits > lookups / 20 && hits < lookups);
	CHECK(full > 0);
	printf("test_blocks: index: %u lookups, %u hits, %u allocs refused\n",
	       lookups, hits, full);
	vwc_blocks_exit(&t);
}

/* The commit protocol, step by step. */
static void test_commit(void)
{
	struct vwc_blocks t;
	u32 a, b, c, d, cb, i;
	bool reused = false;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	a = vwc_alloc(&t);
	b = vwc_alloc(&t);
	c = vwc_alloc(&t);
	d = vwc_alloc(&t);
	vwc_map(&t, a, 1, 100);
	vwc_map(&t, b, 1, 101);
	vwc_release(&t, a);	/* unmaps too */
	vwc_release(&t, b);
	CHECK(vwc_lookup(&t, 1, 100) == VWC_NIL);
	CHECK(t.free_pending.count == 2);
	CHECK(vwc_commit_begin(&t) == 2);
	vwc_release(&t, c);		/* during the commit */
	CHECK(vwc_commit_begin(&t) == 2);	/* a second begin adds nothing */
	/* Nothing pending is handed out, however much is allocated. */
	while ((cb = vwc_alloc(&t)) != VWC_NIL)
		if (cb == a || cb == b || cb == c)
			reused = true;
	CHECK(!reused);
	vwc_commit_end(&t);
	CHECK(t.free.count == 2);
	CHECK(t.free.head == a && vwc_block(&t, a)->next == b);
	CHECK(t.free_pending.count == 1 && t.free_pending.head == c);
	cb = vwc_alloc(&t);
	CHECK(cb == a);
	CHECK(vwc_alloc(&t) == b);
	CHECK(vwc_alloc(&t) == VWC_NIL);	/* c waits */

	/* A failed commit puts its blocks back first in line. */
	CHECK(vwc_commit_begin(&t) == 1);
	vwc_release(&t, d);
	vwc_commit_abort(&t);
	CHECK(!t.in_commit);
	CHECK(t.free_pending.count == 2 && t.free_pending.head == c &&
	      t.free_pending.tail == d);
	CHECK(vwc_list_valid(&t, &t.free_pending));
	CHECK(vwc_commit_begin(&t) == 2);
	vwc_commit_end(&t);
	CHECK(vwc_alloc(&t) == c);
	CHECK(vwc_alloc(&t) == d);
	/* An empty commit is fine. */
	CHECK(vwc_commit_begin(&t) == 0);
	vwc_commit_end(&t);
	CHECK(vwc_list_valid(&t, &t.free));
	for (cb = 0, i = 0; i < 64; i++)
		cb += !!(vwc_block(&t, i)->flags & VWC_B_VALID);
	CHECK(cb == 0);		/* nothing was left mapped */
	vwc_blocks_exit(&t);
}

/* Release clears the core's flags and keeps the caller's. */
static void test_caller_flags(void)
{
	struct vwc_blocks t;
	u32 cb;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	cb = vwc_alloc(&t);
	vwc_map(&t, cb, 3, 33);
	vwc_block(&t, cb)->flags |= VWC_B_DIRTY | VWC_B_REDIRTY | VWC_B_WB | 0x0500;
	vwc_unmap(&t, cb);
	CHECK(vwc_block(&t, cb)->flags == (VWC_B_WB | 0x0500));
	vwc_release(&t, cb);
	CHECK(vwc_block(&t, cb)->flags == 0x0500);
	CHECK(vwc_lookup(&t, 3, 33) == VWC_NIL);
	CHECK(vwc_commit_begin(&t) == 1);
	vwc_commit_end(&t);
	while (t.free.head != cb)
		vwc_alloc(&t);
	CHECK(vwc_alloc(&t) == cb);
	CHECK(vwc_block(&t, cb)->flags == 0);	/* alloc resets everything */
	vwc_blocks_exit(&t);
}

/*
 * Pins never wrap (issue 15 item 11a): the data path stops at
 * VWC_PINS_MAX, writeback gets the one pin above it, and a block at
 * U16_MAX takes no more pins of either kind.  A block not mapped is dead
 * and takes none; it dies only without pins (issue 18: read hits pin
 * without the lock).
 */
static void test_pins(void)
{
	struct vwc_blocks t;
	u32 cb, i, refused = 0;
	struct vwc_block *b;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	CHECK(vwc_block(&t, 5)->pins == VWC_PIN_DEAD);	/* free: dead */
	cb = vwc_alloc(&t);
	b = vwc_block(&t, cb);
	CHECK(b->pins == VWC_PIN_DEAD);
	CHECK(!vwc_block_pin(b, VWC_PINS_MAX));
	CHECK(!vwc_block_pin_ref(b, VWC_PINS_MAX));
	vwc_map(&t, cb, 1, 7);
	vwc_block_revive(b);
	CHECK(b->pins == 0 && vwc_block_pins(b) == 0);
	for (i = 0; i < 70000; i++)
		if (!vwc_block_pin(b, VWC_PINS_MAX))
			refused++;
	CHECK(vwc_block_pins(b) == VWC_PINS_MAX);
	CHECK(refused == 70000 - VWC_PINS_MAX);
	CHECK(vwc_block_pin(b, U16_MAX));	/* writeback's */
	CHECK(vwc_block_pins(b) == U16_MAX);
	CHECK(!vwc_block_pin(b, U16_MAX));
	CHECK(!vwc_block_pin(b, VWC_PINS_MAX));
	CHECK(vwc_block_pins(b) == U16_MAX);
	CHECK(!(b->pins & VWC_PIN_DEAD));
	CHECK(vwc_block_unpin(b) == U16_MAX - 1);	/* one I/O ends */
	CHECK(!vwc_block_pin(b, VWC_PINS_MAX));	/* writeback still holds one */
	CHECK(vwc_block_unpin(b) == U16_MAX - 2);
	CHECK(vwc_block_pin(b, VWC_PINS_MAX));
	CHECK(vwc_block_pins(b) == VWC_PINS_MAX);
	CHECK(!vwc_block_kill(b));		/* pinned: it lives */
	for (i = 0; i < VWC_PINS_MAX; i++)
		vwc_block_unpin(b);
	CHECK(b->pins == 0);
	/* A read hit's pin marks the block for the policy, once. */
	CHECK(!vwc_block_take_ref(b));
	CHECK(vwc_block_pin_ref(b, VWC_PINS_MAX));
	CHECK(vwc_block_pins(b) == 1 && (b->pins & VWC_PIN_REF));
	CHECK(vwc_block_unpin(b) == 0);
	CHECK(vwc_block_take_ref(b));
	CHECK(!vwc_block_take_ref(b) && b->pins == 0);
	CHECK(vwc_block_kill(b));
	CHECK(b->pins == VWC_PIN_DEAD && vwc_block_kill(b));
	CHECK(!vwc_block_pin(b, U16_MAX));	/* dead: no pin */
	CHECK(sizeof(b->pins) == 4 && sizeof(*b) == 40);
	vwc_blocks_exit(&t);
}

/*
 * The lookup for readers without the lock finds what vwc_lookup() finds
 * in a table that does not change, and vwc_block_is() tells a block's
 * key and validity.
 */
static void test_lookup_quick(void)
{
	struct vwc_blocks t;
	u32 i, cb, bad = 0;

	CHECK(vwc_blocks_init(&t, 1024) == 0);
	for (i = 0; i < 1000; i++) {
		cb = vwc_alloc(&t);
		vwc_map(&t, cb, i % 3, i * 7);
	}
	for (i = 0; i < 1000; i++) {
		cb = vwc_lookup(&t, i % 3, i * 7);
		if (vwc_lookup_quick(&t, i % 3, i * 7) != cb ||
		    !vwc_block_is(vwc_block(&t, cb), i % 3, i * 7) ||
		    vwc_block_is(vwc_block(&t, cb), i % 3 + 1, i * 7))
			bad++;
		if (vwc_lookup_quick(&t, 5, i) != VWC_NIL)
			bad++;
	}
	CHECK(bad == 0);
	cb = vwc_lookup(&t, 1, 7);
	vwc_unmap(&t, cb);
	CHECK(vwc_lookup_quick(&t, 1, 7) == VWC_NIL);
	CHECK(!vwc_block_is(vwc_block(&t, cb), 1, 7));
	vwc_blocks_exit(&t);
}

/* Load: the blocks the metadata maps are claimed, the rest stay free. */
static void test_claim(void)
{
	struct vwc_blocks t;
	u32 cb, seen = 0;

	CHECK(vwc_blocks_init(&t, 64) == 0);
	CHECK(vwc_claim(&t, 0) == 0);	/* the head */
	CHECK(vwc_claim(&t, 63) == 0);	/* the tail */
	CHECK(vwc_claim(&t, 30) == 0);
	vwc_map(&t, 30, 2, 77);
	CHECK(vwc_claim(&t, 30) == -EINVAL);	/* mapped */
	CHECK(vwc_claim(&t, 0) == -EINVAL);	/* claimed, unmapped */
	CHECK(vwc_claim(&t, 64) == -EINVAL);
	CHECK(t.free.count == 61 && vwc_list_valid(&t, &t.free));
	while ((cb = vwc_alloc(&t)) != VWC_NIL)
		seen += cb == 0 || cb == 30 || cb == 63;
	CHECK(seen == 0);
	CHECK(vwc_lookup(&t, 2, 77) == 30);
	vwc_blocks_exit(&t);
}

/*
 * The chunked table: blocks, lists and hash chains across chunk
 * boundaries, on a table of 11 chunks of blocks (the last one short) and
 * 2 chunks of buckets.
 */
#define CNR (10 * VWC_CHUNK_BLOCKS + 44000)

static u32 chunk_of(u32 cb)
{
	return cb >> VWC_CHUNK_SHIFT;
}

static void test_chunks(void)
{
	static const u32 edge[] = {
		0, VWC_CHUNK_BLOCKS - 1, VWC_CHUNK_BLOCKS,
		2 * VWC_CHUNK_BLOCKS - 1, 2 * VWC_CHUNK_BLOCKS,
		10 * VWC_CHUNK_BLOCKS - 1, 10 * VWC_CHUNK_BLOCKS, CNR - 1,
	};
	struct vwc_list l, m;
	struct vwc_blocks t;
	u32 cb, i, n, bad = 0, crossing = 0, chains = 0;

	CHECK(vwc_blocks_init(&t, CNR) == 0);
	CHECK(t.nr_chunks == 11);
	CHECK(t.hash_mask + 1 == 1U << 19);
	CHECK(t.nr_bucket_chunks == 2);
	/* Each block its own, in its chunk, contiguous within a chunk. */
	for (cb = 1; cb < CNR; cb++) {
		const struct vwc_block *a = vwc_block(&t, cb - 1);
		const struct vwc_block *b = vwc_block(&t, cb);

		if (chunk_of(cb) == chunk_of(cb - 1) ? b != a + 1 :
		    b != t.chunks[chunk_of(cb)])
			bad++;
	}
	CHECK(bad == 0);
	/* The free list runs 0..nr-1 through every chunk. */
	CHECK(vwc_list_valid(&t, &t.free));
	CHECK(t.free.head == 0 && t.free.tail == CNR - 1);
	for (cb = t.free.head, n = 0; cb != VWC_NIL; cb = vwc_block(&t, cb)->next)
		bad += cb != n++;
	CHECK(bad == 0 && n == CNR);
	CHECK(vwc_claim(&t, VWC_CHUNK_BLOCKS) == 0);
	CHECK(vwc_claim(&t, VWC_CHUNK_BLOCKS) == -EINVAL);
	CHECK(vwc_block(&t, VWC_CHUNK_BLOCKS - 1)->next ==
	      VWC_CHUNK_BLOCKS + 1);
	CHECK(vwc_block(&t, VWC_CHUNK_BLOCKS + 1)->prev ==
	      VWC_CHUNK_BLOCKS - 1);
	CHECK(vwc_list_valid(&t, &t.free) && t.free.count == CNR - 1);
	vwc_blocks_exit(&t);

	/* Lists made of blocks at the chunk edges, in a mixed order. */
	CHECK(vwc_blocks_init(&t, CNR) == 0);
	vwc_list_init(&l);
	vwc_list_init(&m);
	for (i = 0; i < ARRAY_SIZE(edge); i++) {
		vwc_list_del(&t, &t.free, edge[i]);
		if (i % 2)
			vwc_list_push_head(&t, &l, edge[i]);
		else
			vwc_list_push_tail(&t, &l, edge[i]);
	}
	CHECK(vwc_list_valid(&t, &l) && l.count == ARRAY_SIZE(edge));
	CHECK(vwc_list_valid(&t, &t.free) &&
	      t.free.count == CNR - ARRAY_SIZE(edge));
	/* Head: the odd ones, last first; then the even ones, in order. */
	CHECK(l.head == edge[7] && l.tail == edge[6]);
	CHECK(vwc_block(&t, edge[1])->next == edge[0]);
	CHECK(vwc_block(&t, edge[0])->prev == edge[1]);
	CHECK(vwc_block(&t, edge[0])->next == edge[2]);
	vwc_list_del(&t, &l, edge[0]);
	CHECK(vwc_block(&t, edge[1])->next == edge[2]);
	CHECK(vwc_block(&t, edge[2])->prev == edge[1]);
	CHECK(vwc_list_pop_head(&t, &l) == edge[7]);
	vwc_list_push_tail(&t, &m, edge[0]);
	vwc_list_push_tail(&t, &m, edge[7]);
	vwc_list_splice_tail(&t, &m, &l);
	CHECK(vwc_list_empty(&l) && vwc_list_valid(&t, &m));
	CHECK(m.count == ARRAY_SIZE(edge) && m.head == edge[0] &&
	      m.tail == edge[6]);
	CHECK(vwc_block(&t, edge[7])->next == edge[5]);
	CHECK(vwc_block(&t, edge[5])->prev == edge[7]);
	vwc_blocks_exit(&t);

	/*
	 * Hash chains: every block mapped (about 1.5 blocks a chain, from
	 * any chunks), all found, half unmapped, the rest still found.
	 */
	CHECK(vwc_blocks_init(&t, CNR) == 0);
	for (cb = 0; cb < CNR; cb++) {
		bad += vwc_alloc(&t) != cb;
		vwc_map(&t, cb, cb % 4096, key_oblock(cb));
	}
	for (i = 0; i <= t.hash_mask; i++) {
		u32 c = t.buckets[i >> VWC_BUCKET_CHUNK_SHIFT]
				 [i & VWC_BUCKET_CHUNK_MASK];
		u32 next;

		for (; c != VWC_NIL; c = next) {
			next = vwc_block(&t, c)->hnext;
			chains += next == VWC_NIL;
			crossing += next != VWC_NIL &&
				    chunk_of(next) != chunk_of(c);
		}
	}
	CHECK(chains > (1U << 19) / 2 && crossing > 1000);
	for (cb = 0; cb < CNR; cb++)
		bad += vwc_lookup(&t, cb % 4096, key_oblock(cb)) != cb;
	for (cb = 0; cb < CNR; cb += 2)
		vwc_unmap(&t, cb);
	for (cb = 0; cb < CNR; cb++)
		bad += vwc_lookup(&t, cb % 4096, key_oblock(cb)) !=
		       (cb % 2 ? cb : VWC_NIL);
	CHECK(bad == 0);
	printf("test_blocks: %u blocks in %u chunks: %u chains, %u links across chunks\n",
	       CNR, t.nr_chunks, chains, crossing);
	vwc_blocks_exit(&t);
}

/*
 * Every allocation of vwc_blocks_init() failing in turn: -ENOMEM, the
 * table zeroed, nothing leaked (LeakSanitizer checks at exit).
 */
static void test_init_unwind(void)
{
	struct vwc_blocks t, zero;
	u32 k, bad = 0;
	int r;

	memset(&zero, 0, sizeof(zero));
	for (k = 1; k < 100; k++) {
		vwc_alloc_fail_in = k;
		r = vwc_blocks_init(&t, CNR);
		if (!r)
			break;
		bad += r != -ENOMEM || memcmp(&t, &zero, sizeof(t));
	}
	vwc_alloc_fail_in = 0;
	/*
	 * 2 pointer arrays, the VMs' list heads, 11 chunks of blocks, 2 of
	 * buckets.
	 */
	CHECK(!r && k == 17 && bad == 0);
	CHECK(vwc_list_valid(&t, &t.free) && t.free.count == CNR);
	vwc_blocks_exit(&t);
	vwc_blocks_exit(&t);	/* on an exited table: nothing */
}

/*
 * The walk of a VM's blocks with vwc_vm_rotate(), blocks mapped and
 * unmapped between its steps (the caller drops its lock): every block
 * mapped when it starts and still mapped is returned, each before any
 * block is returned twice; only the VM's own blocks are; the lists stay
 * sound.  As vwc_drop_clean() does, the walk unmaps some of the blocks it
 * is given (clean ones) and leaves the rest (dirty ones).
 */
#define WNR 3000

struct walk_state {
	struct vwc_blocks t;
	u64 next_oblock;
	u8 start[WNR];		/* mapped to the VM when the walk started */
	u8 seen[WNR];		/* returned by this walk */
};

static void walk_map(struct walk_state *w, u32 vm)
{
	u32 cb = vwc_alloc(&w->t);

	if (cb == VWC_NIL) {
		vwc_commit_begin(&w->t);
		vwc_commit_end(&w->t);
		cb = vwc_alloc(&w->t);
	}
	if (cb != VWC_NIL)
		vwc_map(&w->t, cb, vm, w->next_oblock++);
}

static void walk_unmap_any(struct walk_state *w)
{
	u32 cb = rnd_below(WNR);

	if (vwc_block(&w->t, cb)->flags & VWC_B_VALID)
		vwc_release(&w->t, cb);
}

static void test_vm_walk(void)
{
	static struct walk_state w;
	u32 vm = 7, other = 4095, round, i, n, cb, left, mutations = 0;
	u32 bad = 0, missed = 0, early_repeat = 0, foreign = 0, repeats = 0;

	memset(&w, 0, sizeof(w));
	CHECK(vwc_blocks_init(&w.t, WNR) == 0);
	for (i = 0; i < 1200; i++)
		walk_map(&w, vm);
	for (i = 0; i < 800; i++)
		walk_map(&w, other);
	CHECK(vwc_vm_count(&w.t, vm) == 1200 && vwc_vm_count(&w.t, other) == 800);
	CHECK(vwc_vm_list_valid(&w.t, vm) && vwc_vm_list_valid(&w.t, other));

	for (round = 0; round < 200; round++) {
		left = 0;
		for (cb = 0; cb < WNR; cb++) {
			const struct vwc_block *b = vwc_block(&w.t, cb);

			w.start[cb] = (b->flags & VWC_B_VALID) &&
				      vwc_block_vm(b) == vm;
			w.seen[cb] = 0;
			left += w.start[cb];
		}
		n = vwc_vm_count(&w.t, vm);
		if (n != left)
			bad++;
		for (i = 0; i < n; i++) {
			cb = vwc_vm_rotate(&w.t, vm);
			if (cb == VWC_NIL)
				break;
			if (vwc_block_vm(vwc_block(&w.t, cb)) != vm ||
			    !(vwc_block(&w.t, cb)->flags & VWC_B_VALID))
				foreign++;
			if (w.seen[cb]) {
				repeats++;
				/* No repeat while a starting block is due. */
				for (left = 0; left < WNR; left++)
					if (w.start[left] && !w.seen[left] &&
					    (vwc_block(&w.t, left)->flags & VWC_B_VALID) &&
					    vwc_block_vm(vwc_block(&w.t, left)) == vm)
						early_repeat++;
			}
			w.seen[cb] = 1;
			if (rnd_below(2))	/* a clean block: dropped */
				vwc_release(&w.t, cb);
			if (rnd_below(8))
				continue;
			/* The lock is dropped: the table changes. */
			mutations++;
			switch (rnd_below(4)) {
			case 0:
				walk_map(&w, vm);
				break;
			case 1:
				walk_map(&w, other);
				break;
			default:
				walk_unmap_any(&w);
				break;
			}
		}
		for (cb = 0; cb < WNR; cb++)
			if (w.start[cb] && !w.seen[cb] &&
			    (vwc_block(&w.t, cb)->flags & VWC_B_VALID) &&
			    vwc_block_vm(vwc_block(&w.t, cb)) == vm)
				missed++;
		if (!vwc_vm_list_valid(&w.t, vm) ||
		    !vwc_vm_list_valid(&w.t, other))
			bad++;
		/* Refill, so every round has blocks to walk. */
		while (vwc_vm_count(&w.t, vm) < 1000)
			walk_map(&w, vm);
	}
	CHECK(bad == 0);
	CHECK(missed == 0);
	CHECK(early_repeat == 0);
	CHECK(foreign == 0);
	CHECK(mutations > 1000);
	CHECK(repeats > 0);	/* the case that needs the rule did occur */
	printf("test_blocks: VM walk: 200 walks, %u changes meanwhile, %u blocks returned twice\n",
	       mutations, repeats);
	vwc_blocks_exit(&w.t);
}

int main(void)
{
	unit_seed(0x9e3779b97f4a7c15ULL);
	test_sizes();
	test_keys();
	test_lists();
	test_index_random();
	test_commit();
	test_caller_flags();
	test_claim();
	test_pins();
	test_lookup_quick();
	test_chunks();
	test_init_unwind();
	test_vm_walk();
	return unit_report("test_blocks");
}
