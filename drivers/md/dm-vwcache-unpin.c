// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache deferred unpins (the rules: dm-vwcache-unpin.h).
 */
#include <linux/percpu.h>

#include "dm-vwcache.h"
#include "dm-vwcache-cache.h"
#include "dm-vwcache-unpin.h"

int vwc_unpins_init(struct vwc_pool *pool)
{
	int cpu;

	pool->unpins = alloc_percpu(struct vwc_unpins);
	if (!pool->unpins)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct vwc_unpins *u = per_cpu_ptr(pool->unpins, cpu);

		spin_lock_init(&u->lock);
		u->nr = 0;
	}
	return 0;
}

void vwc_unpins_exit(struct vwc_pool *pool)
{
	free_percpu(pool->unpins);
	pool->unpins = NULL;
}

/* The pool's RAM for them (counted in ram_fixed_bytes). */
u64 vwc_unpins_bytes(void)
{
	return (u64)num_possible_cpus() * sizeof(struct vwc_unpins);
}

static void vwc_unpin_run_locked(struct vwc_pool *pool, u32 cb, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++)
		vwc_unpin_locked(pool, cb + i);
}

/*
 * Give back the pins @u holds; cache_lock held, interrupts off.  An empty
 * buffer is passed over without its lock (a commit applies every CPU's):
 * a pin recorded before what made the caller apply (a completion the
 * caller waited for) is seen, as its record was released by the buffer's
 * lock before that completion; one recorded meanwhile waits for the next
 * apply, as it would have if recorded just after this one.
 */
static void vwc_unpins_apply_one_locked(struct vwc_pool *pool,
					struct vwc_unpins *u)
{
	u32 i;

	if (!READ_ONCE(u->nr))
		return;
	spin_lock(&u->lock);
	for (i = 0; i < u->nr; i++)
		vwc_unpin_run_locked(pool, u->run[i].cb, u->run[i].nr);
	WRITE_ONCE(u->nr, 0);
	spin_unlock(&u->lock);
}

/* Give back every pin recorded on any CPU. */
void vwc_unpins_apply_locked(struct vwc_pool *pool)
{
	int cpu;

	lockdep_assert_held(&pool->cache_lock);
	for_each_possible_cpu(cpu)
		vwc_unpins_apply_one_locked(pool,
					    per_cpu_ptr(pool->unpins, cpu));
}

/*
 * Give back one pin of each of the @nr blocks from @cb, later: recorded in
 * this CPU's buffer, or, when it is full, with the buffer's under
 * cache_lock now.  Any context.
 */
void vwc_unpin_later(struct vwc_pool *pool, u32 cb, u32 nr)
{
	struct vwc_unpins *u;
	unsigned long flags;

	local_irq_save(flags);
	u = this_cpu_ptr(pool->unpins);
	spin_lock(&u->lock);
	if (u->nr < VWC_UNPIN_RUNS) {
		u->run[u->nr].cb = cb;
		u->run[u->nr].nr = nr;
		WRITE_ONCE(u->nr, u->nr + 1);
		spin_unlock(&u->lock);
		local_irq_restore(flags);
		return;
	}
	spin_unlock(&u->lock);
	vwc_cache_lock(pool);
	vwc_unpins_apply_one_locked(pool, u);
	vwc_unpin_run_locked(pool, cb, nr);
	spin_unlock(&pool->cache_lock);
	local_irq_restore(flags);
}
