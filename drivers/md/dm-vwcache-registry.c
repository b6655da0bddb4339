// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache registry: every live pool, found by its dm device or by its
 * cache device, and the VM devices attached to each.
 *
 * Lock order: vwc_registry_lock, then pool->lock.  Pools are reference
 * counted; the last put removes a pool from the registry under the
 * registry lock, so a lookup never returns a pool being destroyed.
 *
 * A pool is created (its cache device formatted or its metadata read: I/O
 * that grows with the pool) outside the registry lock, so that it holds
 * up no other pool or VM device.  Meanwhile its cache device is reserved
 * here (vwc_registry_reserve()): no other pool takes it.  Its dm device
 * needs no reservation: device-mapper serialises the table loads of one
 * dm device (its type lock), and a dm device gets its block device only
 * after its first table load, so no VM device can name it meanwhile.
 */
#include <linux/blkdev.h>
#include <linux/module.h>

#include "dm-vwcache.h"

static DEFINE_MUTEX(vwc_registry_mutex);
static LIST_HEAD(vwc_pools);
static LIST_HEAD(vwc_creating);		/* struct vwc_pool_creating */

void vwc_registry_lock(void)
{
	mutex_lock(&vwc_registry_mutex);
}

void vwc_registry_unlock(void)
{
	mutex_unlock(&vwc_registry_mutex);
}

/* Called with the registry lock held. */
int vwc_pool_get_by_md(struct mapped_device *md, struct vwc_pool **pool)
{
	struct vwc_pool *p;

	lockdep_assert_held(&vwc_registry_mutex);
	list_for_each_entry(p, &vwc_pools, list) {
		if (p->md == md) {
			refcount_inc(&p->ref);
			*pool = p;
			return 0;
		}
	}
	return -ENOENT;
}

/* Called with the registry lock held; takes no reference. */
struct vwc_pool *vwc_pool_find_by_cache_dev(dev_t dev)
{
	struct vwc_pool *p;

	lockdep_assert_held(&vwc_registry_mutex);
	list_for_each_entry(p, &vwc_pools, list)
		if (p->cache_dev == dev)
			return p;
	return NULL;
}

static bool vwc_md_is(struct mapped_device *md, dev_t dev)
{
	return md && disk_devt(dm_disk(md)) == dev;
}

/* Called with the registry lock held: @c stays reserved until unreserved. */
void vwc_registry_reserve(struct vwc_pool_creating *c, dev_t cache_dev)
{
	lockdep_assert_held(&vwc_registry_mutex);
	c->cache_dev = cache_dev;
	list_add(&c->list, &vwc_creating);
}

/* Called with the registry lock held. */
void vwc_registry_unreserve(struct vwc_pool_creating *c)
{
	lockdep_assert_held(&vwc_registry_mutex);
	list_del(&c->list);
}

/* Is a pool being created on @cache_dev?  Called with the registry lock held. */
bool vwc_pool_creating(dev_t cache_dev)
{
	struct vwc_pool_creating *c;

	lockdep_assert_held(&vwc_registry_mutex);
	list_for_each_entry(c, &vwc_creating, list)
		if (c->cache_dev == cache_dev)
			return true;
	return false;
}

/*
 * Is @dev a pool or a VM device of ours?  Such a device may be neither a
 * cache device nor an origin: that would loop I/O through the pool.
 * Called with the registry lock held.
 */
bool vwc_dev_is_vwcache(dev_t dev)
{
	struct vwc_pool *p;
	struct vwc_vm *vm;
	bool found = false;

	lockdep_assert_held(&vwc_registry_mutex);
	list_for_each_entry(p, &vwc_pools, list) {
		if (vwc_md_is(p->md, dev))
			return true;
		vwc_pool_lock(p);
		list_for_each_entry(vm, &p->vms, list)
			if (vwc_md_is(vm->md, dev))
				found = true;
		mutex_unlock(&p->lock);
		if (found)
			return true;
	}
	return false;
}

/* Called with the registry lock held; the caller's reference is the first. */
void vwc_pool_register(struct vwc_pool *pool)
{
	lockdep_assert_held(&vwc_registry_mutex);
	list_add(&pool->list, &vwc_pools);
}

void vwc_pool_put(struct vwc_pool *pool)
{
	if (!refcount_dec_and_mutex_lock(&pool->ref, &vwc_registry_mutex))
		return;
	list_del(&pool->list);
	mutex_unlock(&vwc_registry_mutex);
	vwc_pool_destroy(pool);
}

/*
 * Add @vm to @pool.  A vm_id is unique among the VM devices of a pool; the
 * one exception is a table reload, where the new table of the same dm
 * device briefly coexists with the old one.
 */
int vwc_pool_attach_vm(struct vwc_pool *pool, struct vwc_vm *vm,
		       const char **error)
{
	struct vwc_vm *other;
	int r = 0;

	vwc_pool_lock(pool);
	list_for_each_entry(other, &pool->vms, list) {
		if (!strcmp(other->vm_id, vm->vm_id) && other->md != vm->md) {
			*error = "vm_id is already attached to this pool";
			r = -EBUSY;
			goto out;
		}
	}
	list_add_tail(&vm->list, &pool->vms);
	pool->nr_vms++;
out:
	mutex_unlock(&pool->lock);
	return r;
}

void vwc_pool_detach_vm(struct vwc_pool *pool, struct vwc_vm *vm)
{
	vwc_pool_lock(pool);
	list_del(&vm->list);
	pool->nr_vms--;
	mutex_unlock(&pool->lock);
}
