// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache pool target, "vwcache-pool": binds a cache device (the SSD)
 * into a pool that VM devices share.
 *
 *   <cache_dev> <block_size> <#feature args> [<key> <value>]...
 *
 * The pool's own dm device is a control device: it fails every bio, so
 * nothing can overwrite cache contents through it.  Its status, table and
 * messages are the pool's interface (Documentation/admin-guide/).
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dm-vwcache.h"
#include "dm-vwcache-cache.h"
#include "dm-vwcache-commit.h"
#include "dm-vwcache-io.h"
#include "dm-vwcache-metadata.h"
#include "dm-vwcache-writeback.h"

/* One table instance; several may share one pool across a reload. */
struct vwc_pool_c {
	struct dm_target *ti;
	struct vwc_pool *pool;
	struct dm_dev *cache_dev;
	struct vwc_pool_settings settings;	/* applied at first resume */
	bool applied;
};

static const char * const vwc_pool_state_names[] = {
	[VWC_POOL_OK] = "ok",
	[VWC_POOL_DEGRADED] = "degraded",
	[VWC_POOL_FAILED] = "failed",
};

static struct vwc_pool *vwc_pool_alloc(struct mapped_device *md, dev_t dev)
{
	struct vwc_pool *pool = kzalloc(sizeof(*pool), GFP_KERNEL);

	if (!pool)
		return NULL;
	pool->lock_counts = alloc_percpu(struct vwc_lock_counts);
	if (!pool->lock_counts) {
		kfree(pool);
		return NULL;
	}
	INIT_LIST_HEAD(&pool->list);
	INIT_LIST_HEAD(&pool->vms);
	mutex_init(&pool->lock);
	mutex_init(&pool->commit_lock);
	INIT_WORK(&pool->commit_work, vwc_commit_work);
	INIT_WORK(&pool->wb_work, vwc_wb_work);
	INIT_WORK(&pool->deferred_work, vwc_deferred_work);
	INIT_WORK(&pool->promote_work, vwc_promote_work);
	INIT_DELAYED_WORK(&pool->tick_work, vwc_tick_work);
	INIT_DELAYED_WORK(&pool->throttle_work, vwc_throttle_work);
	spin_lock_init(&pool->share_lock);
	INIT_LIST_HEAD(&pool->backlogged);
	vwc_share_init(&pool->share, 0, 0, ktime_get_ns());
	refcount_set(&pool->ref, 1);
	pool->md = md;
	pool->cache_dev = dev;
	pool->state = VWC_POOL_OK;
	return pool;
}

static void vwc_pool_free(struct vwc_pool *pool)
{
	mutex_destroy(&pool->commit_lock);
	mutex_destroy(&pool->lock);
	free_percpu(pool->lock_counts);
	kfree(pool);
}

/* Acquisitions of lock @id so far, all CPUs (sysfs locks/). */
u64 vwc_lock_count(struct vwc_pool *pool, enum vwc_lock_id id)
{
	u64 n = 0;
	int cpu;

	if (id == VWC_LOCK_WBBUF)
		return READ_ONCE(pool->wbbuf.acquired);
	for_each_possible_cpu(cpu)
		n += per_cpu_ptr(pool->lock_counts, cpu)->n[id];
	return n;
}

/*
 * The cache state and the workers, once the metadata is open; then a new
 * pool is formatted, so that a device refused for its size, or for the
 * RAM its pool needs, is refused with nothing written to it.
 */
static int vwc_pool_start(struct vwc_pool *pool, bool formatted,
			  const char **error)
{
	int r = vwc_cache_init(pool, error);

	if (r)
		return r;
	vwc_wb_init_slots(pool);
	if (!formatted) {
		r = vwc_cache_load(pool, error);
		if (r)
			goto bad;
	}
	r = vwc_commit_alloc(pool);
	if (r) {
		*error = "Cannot allocate the commit state";
		goto bad;
	}
	r = -ENOMEM;
	pool->io_client = dm_io_client_create();
	if (IS_ERR(pool->io_client)) {
		pool->io_client = NULL;
		*error = "Cannot create the writeback I/O client";
		goto bad;
	}
	pool->wq = alloc_workqueue("vwcache-%s", WQ_MEM_RECLAIM, 0,
				   dm_device_name(pool->md));
	if (!pool->wq) {
		*error = "Cannot create the pool's workqueue";
		goto bad_io;
	}
	if (formatted) {
		r = vwc_md_format(pool, error);
		if (r)
			goto bad_wq;
	}
	pool->last_commit = jiffies;
	queue_delayed_work(pool->wq, &pool->tick_work, HZ / 10);
	return 0;

bad_wq:
	destroy_workqueue(pool->wq);
bad_io:
	dm_io_client_destroy(pool->io_client);
bad:
	vwc_commit_free(pool);
	vwc_cache_exit(pool);
	return r;
}

/*
 * No writeback run or promotion copy in flight.  Read under cache_lock:
 * their completions drop the counts last, in a hold of that lock, so
 * after this sees zero none of them touches the pool again.
 */
static bool vwc_pool_io_idle(struct vwc_pool *pool)
{
	bool idle;

	vwc_cache_lock_irq(pool);
	idle = !pool->wb_unfinished && !pool->promotions;
	spin_unlock_irq(&pool->cache_lock);
	return idle;
}

static void vwc_pool_stop(struct vwc_pool *pool)
{
	WRITE_ONCE(pool->suspended, true);
	cancel_delayed_work_sync(&pool->tick_work);
	cancel_delayed_work_sync(&pool->throttle_work);
	flush_workqueue(pool->wq);
	wait_event(pool->wb_wait, vwc_pool_io_idle(pool));
	flush_workqueue(pool->wq);
}

/* Create the pool of @md on @dev: load its metadata or format it. */
static int vwc_pool_create(struct mapped_device *md, dev_t dev,
			   u32 block_size,
			   const struct vwc_pool_settings *settings,
			   struct vwc_pool **result, const char **error)
{
	struct vwc_pool *pool = vwc_pool_alloc(md, dev);
	bool formatted = false;
	int r;

	if (!pool) {
		*error = "Cannot allocate the pool";
		return -ENOMEM;
	}
	pool->settings = *settings;
	r = vwc_bdev_open(&pool->cache, dev);
	if (r) {
		*error = "Cannot open the cache device";
		goto bad;
	}
	r = vwc_md_open(pool, block_size, &formatted, error);
	if (r)
		goto bad_close;
	r = vwc_pool_start(pool, formatted, error);
	if (r)
		goto bad_md;
	*result = pool;
	return 0;

bad_md:
	vwc_md_close(pool);
bad_close:
	vwc_bdev_close(&pool->cache);
bad:
	vwc_pool_free(pool);
	return r;
}

/* The last reference is gone: commit and let go of the cache device. */
void vwc_pool_destroy(struct vwc_pool *pool)
{
	int r;

	WARN_ON(!list_empty(&pool->vms));
	vwc_sysfs_pool_del(pool);
	vwc_pool_stop(pool);
	r = vwc_commit(pool);
	if (r)
		DMERR("pool commit on removal failed: %d", r);
	destroy_workqueue(pool->wq);
	dm_io_client_destroy(pool->io_client);
	vwc_commit_free(pool);
	vwc_cache_exit(pool);
	vwc_md_close(pool);
	vwc_bdev_close(&pool->cache);
	vwc_pool_free(pool);
}

/*
 * Bind this table to the existing pool of its dm device on a reload
 * (which may not change the cache device or block size).  -ENOENT: there
 * is none, and @dev may take a new one.  Called with the registry lock
 * held.
 */
static int vwc_pool_bind_existing(struct vwc_pool_c *pc,
				  struct mapped_device *md, dev_t dev,
				  u32 block_size, const char **error)
{
	struct vwc_pool *pool;

	if (vwc_dev_is_vwcache(dev)) {
		*error = "Cache device is a vwcache device";
		return -EINVAL;
	}
	if (!vwc_pool_get_by_md(md, &pool)) {
		if (pool->cache_dev != dev ||
		    pool->sb.layout.block_size != block_size) {
			vwc_pool_put(pool);
			*error = "A reload cannot change the cache device or block size";
			return -EINVAL;
		}
		pc->pool = pool;
		return 0;
	}
	if (vwc_pool_find_by_cache_dev(dev) || vwc_pool_creating(dev)) {
		*error = "Cache device is already used by another pool";
		return -EBUSY;
	}
	return -ENOENT;
}

/*
 * Bind this table to the pool of its dm device: the existing one, or a
 * new one, created (formatted or loaded) outside the registry lock, its
 * cache device reserved meanwhile.
 */
static int vwc_pool_bind(struct vwc_pool_c *pc, u32 block_size,
			 const char **error)
{
	struct mapped_device *md = dm_table_get_md(pc->ti->table);
	dev_t dev = pc->cache_dev->bdev->bd_dev;
	struct vwc_pool_creating creating;
	struct vwc_pool *pool;
	int r;

	vwc_registry_lock();
	r = vwc_pool_bind_existing(pc, md, dev, block_size, error);
	if (r == -ENOENT)
		vwc_registry_reserve(&creating, dev);
	vwc_registry_unlock();
	if (r != -ENOENT)
		return r;
	r = vwc_pool_create(md, dev, block_size, &pc->settings, &pool, error);
	vwc_registry_lock();
	vwc_registry_unreserve(&creating);
	if (!r) {
		vwc_pool_register(pool);
		pc->pool = pool;
	}
	vwc_registry_unlock();
	return r;
}

static int vwc_pool_parse(struct vwc_pool_c *pc, unsigned int argc,
			  char **argv, u32 *block_size, const char **error)
{
	unsigned int nr_features;
	int r;

	if (argc < 3) {
		*error = "Not enough arguments: <cache_dev> <block_size> <#feature args> [<feature arg>...]";
		return -EINVAL;
	}
	if (vwc_parse_block_size(argv[1], block_size)) {
		*error = "Cache block size must be a power of two from 4096 to 65536";
		return -EINVAL;
	}
	r = vwc_parse_feature_count(argv[2], argc - 3, &nr_features, error);
	if (r)
		return r;
	vwc_pool_defaults(&pc->settings);
	r = vwc_parse_features(vwc_pool_keys, vwc_nr_pool_keys, &pc->settings,
			       nr_features, argv + 3, error);
	if (r)
		return r;
	return vwc_pool_check(&pc->settings, error);
}

static int vwc_pool_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct vwc_pool_c *pc;
	u32 block_size;
	const char *error = NULL;
	int r;

	pc = kzalloc(sizeof(*pc), GFP_KERNEL);
	if (!pc) {
		ti->error = "Cannot allocate pool context";
		return -ENOMEM;
	}
	pc->ti = ti;
	r = vwc_pool_parse(pc, argc, argv, &block_size, &error);
	if (r)
		goto bad;
	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table),
			  &pc->cache_dev);
	if (r) {
		error = "Cache device lookup failed";
		goto bad;
	}
	if (ti->len > bdev_nr_sectors(pc->cache_dev->bdev)) {
		error = "Target length exceeds the cache device size";
		r = -EINVAL;
		goto bad_put;
	}

	r = vwc_pool_bind(pc, block_size, &error);
	if (r)
		goto bad_put;

	ti->private = pc;
	ti->num_flush_bios = 0;
	ti->num_discard_bios = 0;
	return 0;

bad_put:
	dm_put_device(ti, pc->cache_dev);
bad:
	ti->error = (char *)error;
	kfree(pc);
	return r;
}

static void vwc_pool_dtr(struct dm_target *ti)
{
	struct vwc_pool_c *pc = ti->private;

	vwc_pool_lock(pc->pool);
	if (pc->pool->live_ti == ti)
		pc->pool->live_ti = NULL;
	mutex_unlock(&pc->pool->lock);
	vwc_pool_put(pc->pool);
	dm_put_device(ti, pc->cache_dev);
	kfree(pc);
}

/* The pool device is a control device: no I/O through it. */
static int vwc_pool_map(struct dm_target *ti, struct bio *bio)
{
	return DM_MAPIO_KILL;
}

static int vwc_pool_preresume(struct dm_target *ti)
{
	struct vwc_pool_c *pc = ti->private;

	return vwc_sysfs_pool_add(pc->pool);
}

/*
 * A table's settings take effect when it is first resumed; later changes
 * (messages, sysfs) live in the pool and outlast suspend and resume.
 */
static void vwc_pool_resume(struct dm_target *ti)
{
	struct vwc_pool_c *pc = ti->private;

	vwc_pool_lock(pc->pool);
	pc->pool->live_ti = ti;
	if (!pc->applied) {
		pc->pool->settings = pc->settings;
		pc->applied = true;
	}
	mutex_unlock(&pc->pool->lock);
	vwc_throttle_changed(pc->pool);
	vwc_kick_writeback(pc->pool);
}

static void vwc_pool_postsuspend(struct dm_target *ti)
{
	struct vwc_pool_c *pc = ti->private;
	int r = vwc_commit(pc->pool);

	if (r)
		DMERR("%s: metadata commit on suspend failed: %d",
		      dm_device_name(pc->pool->md), r);
}

/*
 * dm events: a change of the state that status shows (pool: ok, degraded,
 * failed; VM device: ok, flushing, migrating, clean, error) raises an
 * event on that device, for "dmsetup wait" and dmeventd (admin guide,
 * "Events").  The tick samples the states: they change under cache_lock
 * or in bio completion, and dm_table_event() sleeps.  A tick that finds
 * pool->lock taken leaves it to the next one.  The tables are valid
 * under pool->lock: their destructors take it to leave the pool; dm only
 * calls out for a table it has bound (live).
 */
void vwc_pool_raise_events(struct vwc_pool *pool)
{
	enum vwc_pool_state state = READ_ONCE(pool->state);
	struct vwc_vm *vm;

	if (!vwc_pool_trylock(pool))
		return;
	if (state != pool->event_state && pool->live_ti) {
		pool->event_state = state;
		dm_table_event(pool->live_ti->table);
	}
	list_for_each_entry(vm, &pool->vms, list) {
		enum vwc_vm_state vm_state;

		if (!READ_ONCE(vm->acct))	/* attaching */
			continue;
		vm_state = vwc_vm_state(vm);
		if (vm_state != vm->event_state) {
			vm->event_state = vm_state;
			dm_table_event(vm->ti->table);
		}
	}
	mutex_unlock(&pool->lock);
}

/*
 * Add to @st what every VM slot's accounting counted since it was
 * allocated, those freed included (pool->acct_retired).  Under
 * pool->lock, which a slot's accounting is set and taken away under
 * (dm-vwcache-vm.c, folding its sums into acct_retired): so the walk sees
 * each once and none is freed meanwhile.  No cache_lock: the walk may
 * sleep between slots (4096 at most, each a sum over the CPUs).
 */
static void vwc_pool_total(struct vwc_pool *pool, struct vwc_stats *st)
{
	u32 i;

	lockdep_assert_held(&pool->lock);
	*st = pool->acct_retired;
	for (i = 0; i < pool->sb.layout.max_vms; i++) {
		struct vwc_acct *a = pool->slots[i].acct;

		if (a)
			vwc_acct_total(a, st);
		if (i % 256 == 255)
			cond_resched();
	}
}

/*
 * The pool's figures: what all its VM devices counted since the pool was
 * loaded or its last clear_stats; a VM device's clear_stats or removal
 * takes nothing from them.  Under pool->lock.
 */
void vwc_pool_stats(struct vwc_pool *pool, struct vwc_stats *st)
{
	vwc_pool_total(pool, st);
	vwc_stats_sub(st, &pool->acct_base);
}

static void vwc_pool_emit_settings(const struct vwc_pool_settings *s,
				   char *result, unsigned int maxlen,
				   unsigned int *out)
{
	unsigned int sz = *out;
	unsigned int i, n = 0;

	for (i = 0; i < vwc_nr_pool_keys; i++)
		n += vwc_key_emitted(&vwc_pool_keys[i], s);
	DMEMIT(" %u", n * 2);
	for (i = 0; i < vwc_nr_pool_keys; i++)
		if (vwc_key_emitted(&vwc_pool_keys[i], s))
			DMEMIT(" %s %llu", vwc_pool_keys[i].name,
			       vwc_key_get(&vwc_pool_keys[i], s));
	*out = sz;
}

static void vwc_pool_status(struct dm_target *ti, status_type_t type,
			    unsigned int status_flags, char *result,
			    unsigned int maxlen)
{
	struct vwc_pool_c *pc = ti->private;
	struct vwc_pool *pool = pc->pool;
	const struct vwc_layout *l = &pool->sb.layout;
	struct vwc_stats st;
	unsigned int sz = 0, attached = 0, i;
	u32 valid, dirty;
	u64 wb;

	vwc_pool_lock(pool);
	switch (type) {
	case STATUSTYPE_INFO:
		vwc_pool_stats(pool, &st);
		vwc_cache_lock_irq(pool);
		valid = pool->nr_valid;
		dirty = pool->nr_dirty;
		wb = pool->wb_total;
		for (i = 0; i < l->max_vms; i++)
			attached += !!pool->slots[i].nr_attached;
		spin_unlock_irq(&pool->cache_lock);
		DMEMIT("%s %u %llu %llu %u %u %llu %llu %llu %llu %llu %llu",
		       vwc_pool_state_names[READ_ONCE(pool->state)],
		       l->block_size, l->nr_blocks, l->nr_blocks - valid,
		       dirty, attached, st.reads, st.read_hits, st.writes,
		       st.write_hits, wb, pool->commits);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %u", pc->cache_dev->name, l->block_size);
		vwc_pool_emit_settings(&pool->settings, result, maxlen, &sz);
		break;
	default:
		if (maxlen)
			*result = '\0';
		break;
	}
	mutex_unlock(&pool->lock);
}

const char *vwc_pool_state_name(enum vwc_pool_state state)
{
	return vwc_pool_state_names[state];
}

/*
 * set <key> <value>, from a message or sysfs: all or nothing, in force at
 * once.  Under pool->lock.
 */
int vwc_pool_set_locked(struct vwc_pool *pool, const char *key,
			const char *value, const char **error)
{
	struct vwc_pool_settings new = pool->settings;
	int r = vwc_pool_set(&new, key, value, error);

	if (r)
		return r;
	WRITE_ONCE(pool->settings.high_watermark, new.high_watermark);
	WRITE_ONCE(pool->settings.low_watermark, new.low_watermark);
	WRITE_ONCE(pool->settings.max_age, new.max_age);
	WRITE_ONCE(pool->settings.commit_interval, new.commit_interval);
	WRITE_ONCE(pool->settings.writeback_iops, new.writeback_iops);
	WRITE_ONCE(pool->settings.io_capacity_iops, new.io_capacity_iops);
	WRITE_ONCE(pool->settings.io_capacity_bw, new.io_capacity_bw);
	WRITE_ONCE(pool->settings.sequential_cutoff, new.sequential_cutoff);
	WRITE_ONCE(pool->settings.writeback_depth, new.writeback_depth);
	vwc_throttle_changed(pool);
	vwc_kick_writeback(pool);
	return 0;
}

/* "flush": every attached VM's dirty blocks, in the background. */
static void vwc_pool_flush_all(struct vwc_pool *pool)
{
	u32 i;

	vwc_cache_lock_irq(pool);
	for (i = 0; i < pool->sb.layout.max_vms; i++)
		if (pool->slots[i].nr_attached)
			vwc_flush_slot_locked(pool, i, false);
	spin_unlock_irq(&pool->cache_lock);
	vwc_kick_writeback(pool);
}

/*
 * drop_dirty <vm_id>: discard the blocks of a vm_id that has no VM device,
 * dirty ones included, so that it may attach to any origin.  Under
 * pool->lock; the caller commits.
 */
static int vwc_pool_drop_dirty_locked(struct vwc_pool *pool,
				      const char *vm_id, const char **error)
{
	struct vwc_vm *vm;
	u32 slot, dirty;
	int r;

	if (!vwc_vm_id_valid(vm_id)) {
		*error = "drop_dirty: invalid vm_id";
		return -EINVAL;
	}
	list_for_each_entry(vm, &pool->vms, list) {
		if (!strcmp(vm->vm_id, vm_id)) {
			*error = "drop_dirty: the vm_id is attached (remove its VM device first)";
			return -EBUSY;
		}
	}
	vwc_cache_lock_irq(pool);
	r = vwc_slot_find_locked(pool, vm_id, &slot);
	spin_unlock_irq(&pool->cache_lock);
	if (r) {
		*error = "drop_dirty: no such vm_id in the pool";
		return -EINVAL;
	}
	dirty = vwc_drop_slot(pool, slot);
	DMWARN("%s: drop_dirty: %u dirty blocks of vm_id %s discarded",
	       dm_device_name(pool->md), dirty, vm_id);
	return 0;
}

/* Messages: flush, set <key> <value>, clear_stats, drop_dirty <vm_id>. */
static int vwc_pool_message(struct dm_target *ti, unsigned int argc,
			    char **argv, char *result, unsigned int maxlen)
{
	struct vwc_pool_c *pc = ti->private;
	struct vwc_pool *pool = pc->pool;
	const char *error = NULL;
	bool commit = false;
	int r = -EINVAL;

	vwc_pool_lock(pool);
	if (argc == 1 && !strcmp(argv[0], "flush")) {
		vwc_pool_flush_all(pool);
		r = 0;
	} else if (argc == 1 && !strcmp(argv[0], "clear_stats")) {
		vwc_pool_total(pool, &pool->acct_base);
		vwc_cache_lock_irq(pool);
		pool->wb_total = 0;
		spin_unlock_irq(&pool->cache_lock);
		pool->commits = 0;
		r = 0;
	} else if (argc == 3 && !strcmp(argv[0], "set")) {
		r = vwc_pool_set_locked(pool, argv[1], argv[2], &error);
	} else if (argc == 2 && !strcmp(argv[0], "drop_dirty")) {
		r = vwc_pool_drop_dirty_locked(pool, argv[1], &error);
		commit = !r;
	} else {
		error = "unknown message";
	}
	mutex_unlock(&pool->lock);
	/* Durable before the message returns (commit_lock is outside). */
	if (commit) {
		r = vwc_commit(pool);
		if (r)
			error = "drop_dirty: blocks dropped, but the commit failed";
	}
	if (r)
		DMWARN_LIMIT("%s: message refused: %s", dm_device_name(pool->md),
			     error);
	return r;
}

static int vwc_pool_iterate_devices(struct dm_target *ti,
				    iterate_devices_callout_fn fn, void *data)
{
	struct vwc_pool_c *pc = ti->private;

	return fn(ti, pc->cache_dev, 0, ti->len, data);
}

struct target_type vwc_pool_target = {
	.name = VWC_POOL_TARGET_NAME,
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = vwc_pool_ctr,
	.dtr = vwc_pool_dtr,
	.map = vwc_pool_map,
	.postsuspend = vwc_pool_postsuspend,
	.preresume = vwc_pool_preresume,
	.resume = vwc_pool_resume,
	.status = vwc_pool_status,
	.message = vwc_pool_message,
	.iterate_devices = vwc_pool_iterate_devices,
};
