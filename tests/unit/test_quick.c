// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pin word's protocol under real concurrency (dm-vwcache-blocks.h):
 * two reader threads take hits without the table's lock, as the kernel's
 * vwc_map_quick() does (quick.h), while a third, under the lock, drops
 * blocks (killed, or ZOMBIE until their last unpin), recycles them
 * through a commit and maps them again for other keys, as fast as it
 * can.  Each block carries the key it was filled for, written before it
 * is revived and poisoned once released: a reader that holds a checked
 * pin must see its own key there, every time.  At the end every pin is
 * given back, every ZOMBIE released, and the lists and policy are sound.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "unit.h"
#include "quick.h"

#define NR		2048		/* blocks */
#define KEYS		3072		/* keys: more than blocks */
#define MUTATIONS	400000
#define POISON		UINT64_MAX

static struct quick_table q;
static u64 data[NR];
static u8 zombie[NR];
static atomic_int done, started;
static atomic_ulong hits, misses, wrong;

static void released(struct quick_table *qt, u32 cb)
{
	WRITE_ONCE(data[cb], POISON);
}

static u64 xs(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void *reader(void *arg)
{
	struct quick_unpins u = { 0 };
	u64 s = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	unsigned long h = 0, m = 0, bad = 0;

	atomic_fetch_add(&started, 1);
	while (!atomic_load(&done)) {
		u64 k = xs(&s) % KEYS;
		u32 cb = quick_pin(&q, &u, 0, k);

		if (cb == VWC_NIL) {
			m++;
			continue;
		}
		h++;
		/* Pinned and checked: the block holds k's data. */
		if (READ_ONCE(data[cb]) != k)
			bad++;
		quick_unpin_later(&q, &u, cb);
	}
	quick_apply(&q, &u);
	atomic_fetch_add(&hits, h);
	atomic_fetch_add(&misses, m);
	atomic_fetch_add(&wrong, bad);
	return NULL;
}

/* Under the lock: map key @k to a free block, filled first. */
static void map_locked(u64 k)
{
	u32 cb = vwc_alloc(&q.t);

	if (cb == VWC_NIL)
		return;
	WRITE_ONCE(data[cb], k);
	vwc_map(&q.t, cb, 0, k);
	vwc_block_revive(vwc_block(&q.t, cb));
	vwc_policy_add(&q.p, cb);
}

static void mutate(void)
{
	u64 s = 12345;
	u32 i;

	for (i = 0; i < MUTATIONS; i++) {
		u64 k = xs(&s) % KEYS;
		u32 cb;

		pthread_spin_lock(&q.lock);
		cb = vwc_lookup(&q.t, 0, k);
		if (cb != VWC_NIL)
			quick_drop_locked(&q, cb);
		else
			map_locked(k);
		/* Evict too, so that blocks are reused at once. */
		if (i % 3 == 0) {
			cb = vwc_policy_victim(&q.p);
			if (cb != VWC_NIL)
				quick_drop_locked(&q, cb);
		}
		if (i % 16 == 0) {
			vwc_commit_begin(&q.t);
			vwc_commit_end(&q.t);
		}
		pthread_spin_unlock(&q.lock);
	}
}

int main(void)
{
	pthread_t r[2];
	u32 cb, pinned = 0, zombies = 0, dead_free = 0;
	u64 k;

	CHECK(vwc_blocks_init(&q.t, NR) == 0);
	CHECK(vwc_policy_init(&q.p, &q.t, 8, 0) == 0);
	pthread_spin_init(&q.lock, PTHREAD_PROCESS_PRIVATE);
	q.zombie = zombie;
	q.released = released;
	for (cb = 0; cb < NR; cb++)
		data[cb] = POISON;
	for (k = 0; k < NR / 2; k++)
		map_locked(k);
	CHECK(pthread_create(&r[0], NULL, reader, (void *)1) == 0);
	CHECK(pthread_create(&r[1], NULL, reader, (void *)2) == 0);
	/* The readers run all along the mutations. */
	while (atomic_load(&started) < 2)
		sched_yield();
	mutate();
	atomic_store(&done, 1);
	pthread_join(r[0], NULL);
	pthread_join(r[1], NULL);

	printf("test_quick: %lu hits, %lu misses or stale, %lu wrong data\n",
	       atomic_load(&hits), atomic_load(&misses), atomic_load(&wrong));
	CHECK(atomic_load(&wrong) == 0);
	CHECK(atomic_load(&hits) > 1000);
	for (cb = 0; cb < NR; cb++) {
		struct vwc_block *b = vwc_block(&q.t, cb);

		pinned += vwc_block_pins(b) != 0;
		zombies += zombie[cb];
		if (!(b->flags & VWC_B_VALID) && !(b->pins & VWC_PIN_DEAD))
			dead_free++;
		if ((b->flags & VWC_B_VALID) && data[cb] != vwc_block_oblock(b))
			wrong++;
	}
	CHECK(pinned == 0);
	CHECK(zombies == 0);
	CHECK(dead_free == 0);		/* every block not mapped is dead */
	CHECK(atomic_load(&wrong) == 0);
	CHECK(vwc_list_valid(&q.t, &q.t.free));
	CHECK(vwc_list_valid(&q.t, &q.t.free_pending));
	CHECK(vwc_policy_valid(&q.p));
	CHECK(q.t.free.count + q.t.free_pending.count + q.p.count == NR);
	vwc_policy_exit(&q.p);
	vwc_blocks_exit(&q.t);
	return unit_report("test_quick");
}
