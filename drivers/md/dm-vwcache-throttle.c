// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache throttling of VM bios: the per-VM limits (iops_limit,
 * bw_limit) and the pool's capacity shared by weight (io_capacity_iops,
 * io_capacity_bw), by the rules of dm-vwcache-share.h.
 *
 * A read or write bio goes on at once when its VM has nothing waiting and
 * the tokens are there; otherwise it waits on its VM's queue, counted as
 * throttled, and the pool's throttle work sends the queued bios on in
 * the order vwc_share_pick() gives, re-arming itself for the time the
 * next one has to wait.  Bios are delayed, never failed.
 *
 * Rules:
 * - Empty flushes and discards are never delayed: a FLUSH does not wait
 *   behind throttled writes (the block layer promises nothing about
 *   writes that have not completed, and those have not).
 * - Limits are read from the settings at every decision, so a change
 *   applies to the next bio; vwc_throttle_changed() also re-runs the
 *   work, so bios already waiting see it at once.
 * - A VM device being suspended (presuspend) sends everything waiting on
 *   and delays nothing until it resumes, so suspend never waits for
 *   tokens.
 * - pool->share_lock (a spinlock, irq safe) guards the share, every VM's
 *   throttle state and pool->backlogged; it is never held with any other
 *   lock, nor across the mapping of a bio.
 * - With no limit and no capacity set, bios do not take the lock.
 */
#include <linux/ktime.h>
#include <linux/workqueue.h>

#include "dm-vwcache.h"
#include "dm-vwcache-io.h"
#include "dm-vwcache-stats.h"
#include "dm-vwcache-throttle.h"

#define VWC_PICK_MAX	64	/* VMs considered in one pass of the work */
#define VWC_SEND_MAX	256	/* bios sent by one pass */

void vwc_throttle_init(struct vwc_vm *vm)
{
	struct vwc_throttle *t = &vm->throttle;

	vwc_share_client_init(&t->client, vm->settings.iops_limit,
			      vm->settings.bw_limit, vm->settings.weight,
			      ktime_get_ns());
	bio_list_init(&t->queue);
	INIT_LIST_HEAD(&t->node);
}

static bool vwc_throttle_off(struct vwc_vm *vm)
{
	struct vwc_pool *pool = vm->pool;

	return !READ_ONCE(vm->settings.iops_limit) &&
	       !READ_ONCE(vm->settings.bw_limit) &&
	       !READ_ONCE(pool->settings.io_capacity_iops) &&
	       !READ_ONCE(pool->settings.io_capacity_bw);
}

/* Bring the buckets up to the settings.  Under share_lock. */
static void vwc_throttle_sync(struct vwc_pool *pool, struct vwc_vm *vm,
			      u64 now)
{
	vwc_share_set_capacity(&pool->share,
			       READ_ONCE(pool->settings.io_capacity_iops),
			       READ_ONCE(pool->settings.io_capacity_bw), now);
	if (vm)
		vwc_share_client_set(&vm->throttle.client,
				     READ_ONCE(vm->settings.iops_limit),
				     READ_ONCE(vm->settings.bw_limit),
				     READ_ONCE(vm->settings.weight), now);
}

/* Run the work in @wait_ns (U64_MAX: not at all).  Under share_lock. */
static void vwc_throttle_arm(struct vwc_pool *pool, u64 wait_ns)
{
	unsigned long delay = wait_ns == U64_MAX ? 0 :
			      max_t(unsigned long, nsecs_to_jiffies(wait_ns), 1);

	if (delay)
		mod_delayed_work(pool->wq, &pool->throttle_work, delay);
}

/*
 * Delay @bio if its VM is over a limit or the pool over its capacity.
 * Returns true when the bio was queued (the caller returns
 * DM_MAPIO_SUBMITTED), false when it goes on now.  @now is the bio's
 * arrival (vwc_io_start()), not read again: another CPU may have taken
 * the lock with a later time meanwhile, which the buckets tolerate (a
 * time before their last refill earns nothing).
 */
bool vwc_throttle_bio(struct vwc_vm *vm, struct bio *bio, u64 now)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_throttle *t = &vm->throttle;
	unsigned long flags;
	u64 bytes;

	if (!bio_sectors(bio) || (bio_op(bio) != REQ_OP_READ &&
				  bio_op(bio) != REQ_OP_WRITE))
		return false;
	if (vwc_throttle_off(vm) && !READ_ONCE(t->client.backlogged))
		return false;
	/*
	 * Limits count a bio once per cache block it touches (the admin
	 * guide), and one that waits is mapped in a worker: one block each.
	 */
	vwc_io_cut_block(vm, bio);
	bytes = bio->bi_iter.bi_size;

	vwc_share_lock_irqsave(pool, flags);
	vwc_throttle_sync(pool, vm, now);
	if (t->draining || vwc_share_admit(&pool->share, &t->client, now,
					   bytes)) {
		spin_unlock_irqrestore(&pool->share_lock, flags);
		return false;
	}
	bio_list_add(&t->queue, bio);
	if (!t->client.backlogged) {
		vwc_share_backlog(&pool->share, &t->client, bytes);
		list_add_tail(&t->node, &pool->backlogged);
		vwc_throttle_arm(pool, 1);
	}
	spin_unlock_irqrestore(&pool->share_lock, flags);
	this_cpu_inc(vm->acct->pcpu->throttled);
	return true;
}

/* The oldest bio of @vm leaves its queue.  Under share_lock. */
static struct bio *vwc_throttle_pop(struct vwc_vm *vm)
{
	struct vwc_throttle *t = &vm->throttle;
	struct bio *bio = bio_list_pop(&t->queue);

	if (bio_list_empty(&t->queue)) {
		t->client.backlogged = false;
		list_del_init(&t->node);
	} else {
		t->client.head_bytes = bio_list_peek(&t->queue)->bi_iter.bi_size;
	}
	return bio;
}

static void vwc_throttle_send(struct bio_list *bios)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios)))
		vwc_map_and_submit(bio, VWC_MAP_THROTTLED);
}

/*
 * Pick up to VWC_SEND_MAX bios from the backlogged VMs (the first
 * VWC_PICK_MAX of the list, which rotates so that all get looked at).
 * Under share_lock; returns the wait before the next may go.
 */
static u64 vwc_throttle_pick_locked(struct vwc_pool *pool,
				    struct bio_list *out)
{
	struct vwc_share_client *clients[VWC_PICK_MAX];
	struct vwc_vm *vms[VWC_PICK_MAX];
	struct vwc_throttle *t;
	u64 now = ktime_get_ns(), wait = U64_MAX;
	unsigned int n = 0, sent = 0;
	int i;

	vwc_throttle_sync(pool, NULL, now);
	list_for_each_entry(t, &pool->backlogged, node) {
		struct vwc_vm *vm = container_of(t, struct vwc_vm, throttle);

		vwc_throttle_sync(pool, vm, now);
		clients[n] = &t->client;
		vms[n++] = vm;
		if (n == VWC_PICK_MAX)
			break;
	}
	if (n == VWC_PICK_MAX)
		list_rotate_left(&pool->backlogged);
	while (sent < VWC_SEND_MAX) {
		i = vwc_share_pick(&pool->share, clients, n, now, &wait);
		if (i < 0)
			break;
		bio_list_add(out, vwc_throttle_pop(vms[i]));
		sent++;
	}
	if (sent == VWC_SEND_MAX || n == VWC_PICK_MAX)
		wait = 1;
	return list_empty(&pool->backlogged) ? U64_MAX : wait;
}

/* The pool's throttle work: send on what may go, re-arm for the rest. */
void vwc_throttle_work(struct work_struct *ws)
{
	struct vwc_pool *pool = container_of(to_delayed_work(ws),
					     struct vwc_pool, throttle_work);
	struct bio_list out = BIO_EMPTY_LIST;
	u64 wait;

	vwc_share_lock_irq(pool);
	wait = vwc_throttle_pick_locked(pool, &out);
	vwc_throttle_arm(pool, wait);
	spin_unlock_irq(&pool->share_lock);
	vwc_throttle_send(&out);
}

/* Suspending: send everything waiting, delay nothing until resume. */
void vwc_throttle_drain(struct vwc_vm *vm)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_throttle *t = &vm->throttle;
	struct bio_list out = BIO_EMPTY_LIST;

	vwc_share_lock_irq(pool);
	t->draining = true;
	while (!bio_list_empty(&t->queue))
		bio_list_add(&out, vwc_throttle_pop(vm));
	spin_unlock_irq(&pool->share_lock);
	vwc_throttle_send(&out);
}

void vwc_throttle_undrain(struct vwc_vm *vm)
{
	vwc_share_lock_irq(vm->pool);
	vm->throttle.draining = false;
	spin_unlock_irq(&vm->pool->share_lock);
}

/* A limit or the capacity changed: waiting bios see it now. */
void vwc_throttle_changed(struct vwc_pool *pool)
{
	mod_delayed_work(pool->wq, &pool->throttle_work, 0);
}
