// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache VM target, "vwcache": one VM disk on its origin, attached to
 * a pool.
 *
 *   <pool_dev> <origin_dev> <vm_id> <#feature args> [<key> <value>]...
 *
 * The data path is dm-vwcache-io.c; this file is the target's life cycle
 * (attach to a VM slot of the pool, detach), status and messages.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dm-vwcache.h"
#include "dm-vwcache-cache.h"
#include "dm-vwcache-commit.h"
#include "dm-vwcache-io.h"
#include "dm-vwcache-writeback.h"

static const char * const vwc_vm_state_names[] = {
	[VWC_VM_OK] = "ok",
	[VWC_VM_FLUSHING] = "flushing",
	[VWC_VM_MIGRATING] = "migrating",
	[VWC_VM_CLEAN] = "clean",
	[VWC_VM_ERROR] = "error",
};

static int vwc_vm_parse(struct vwc_vm *vm, unsigned int argc, char **argv,
			const char **error)
{
	unsigned int nr_features;
	int r;

	if (argc < 4) {
		*error = "Not enough arguments: <pool_dev> <origin_dev> <vm_id> <#feature args> [<feature arg>...]";
		return -EINVAL;
	}
	if (!vwc_vm_id_valid(argv[2])) {
		*error = "Invalid vm_id: use 1 to 64 characters of [A-Za-z0-9._:-]";
		return -EINVAL;
	}
	strscpy(vm->vm_id, argv[2], sizeof(vm->vm_id));
	r = vwc_parse_feature_count(argv[3], argc - 4, &nr_features, error);
	if (r)
		return r;
	vwc_vm_defaults(&vm->settings);
	r = vwc_parse_features(vwc_vm_keys, vwc_nr_vm_keys, &vm->settings,
			       nr_features, argv + 4, error);
	if (r)
		return r;
	return vwc_vm_check(&vm->settings, error);
}

/* Find the pool behind @pool_dev and take a reference to it. */
static int vwc_vm_get_pool(struct vwc_vm *vm, const char **error)
{
	struct mapped_device *pool_md;
	int r;

	pool_md = dm_get_md(vm->pool_dev->bdev->bd_dev);
	if (!pool_md) {
		*error = "Pool device is not a vwcache-pool device";
		return -EINVAL;
	}
	vwc_registry_lock();
	r = vwc_pool_get_by_md(pool_md, &vm->pool);
	vwc_registry_unlock();
	dm_put(pool_md);
	if (r) {
		*error = "Pool device is not a vwcache-pool device";
		return -EINVAL;
	}
	return 0;
}

static int vwc_vm_check_origin(struct vwc_vm *vm, const char **error)
{
	struct block_device *origin = vm->origin_dev->bdev;
	bool ours;

	if (origin->bd_dev == vm->pool->cache_dev) {
		*error = "Origin device is the pool's cache device";
		return -EINVAL;
	}
	vwc_registry_lock();
	ours = vwc_dev_is_vwcache(origin->bd_dev);
	vwc_registry_unlock();
	if (ours) {
		*error = "Origin device is a vwcache device";
		return -EINVAL;
	}
	if (vm->ti->len > bdev_nr_sectors(origin)) {
		*error = "Target length exceeds the origin device size";
		return -EINVAL;
	}
	return 0;
}

static void vwc_vm_free(struct vwc_vm *vm)
{
	kfree(vm->attach_new);
	vwc_acct_free(vm->acct_new);
	kfree(vm);
}

/*
 * Attach to the pool's VM slot of this vm_id (its dirty blocks, if it had
 * any, are ours again).  A fresh attach drops the slot's clean blocks:
 * the origin may have changed since they were cached.  A table reload
 * (the slot already attached) keeps everything, and changes nothing the
 * live table uses: the slot is owned (vwc_vm_own_slot()) by the resumed
 * table only.  A fresh attach to another origin than the one the slot's
 * dirty blocks belong to is refused before anything changes (a slot with
 * dirty blocks exists already, so vwc_slot_get_locked() changed nothing).
 */
static int vwc_vm_attach_slot(struct vwc_vm *vm, const char **error)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s;
	bool fresh;
	int r;

	/* pool->lock: the slot's accounting (vwc_pool_stats()). */
	vwc_pool_lock(pool);
	vwc_cache_lock_irq(pool);
	r = vwc_slot_get_locked(pool, vm->vm_id, &vm->slot);
	if (r) {
		spin_unlock_irq(&pool->cache_lock);
		mutex_unlock(&pool->lock);
		*error = "The pool's VM table is full";
		return r;
	}
	s = &pool->slots[vm->slot];
	fresh = !s->nr_attached;
	if (fresh && !vwc_list_empty(&s->dirty)) {
		r = vwc_origin_check(vm->vm_id, &s->origin_id, &vm->origin,
				     error);
		if (r) {
			spin_unlock_irq(&pool->cache_lock);
			mutex_unlock(&pool->lock);
			return r;
		}
	}
	if (fresh) {
		s->generation++;
		vwc_slot_mark_locked(pool, vm->slot);
		s->acct = vm->acct_new;
		vm->acct_new = NULL;
		s->acct->v[0][VWC_RATE_WB_BLOCKS] = s->writeback_blocks;
		s->origin = vm->origin_dev->bdev->bd_dev;
	}
	vm->acct = s->acct;
	s->nr_attached++;
	spin_unlock_irq(&pool->cache_lock);
	mutex_unlock(&pool->lock);
	if (fresh)
		vwc_drop_clean(pool, vm->slot);
	return 0;
}

/*
 * Under pool->lock and cache_lock, by the slot's owner: the slot's
 * attachment record says how @vm is attached now (its path last used,
 * mode and limits; the mode from before a migrate_prepare).  Marked for
 * the next commit if that changed it.
 */
static void vwc_vm_record_attach_locked(struct vwc_vm *vm)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s = &pool->slots[vm->slot];

	vm->attach.settings = vm->settings;
	if (vm->state == VWC_VM_MIGRATING || vm->state == VWC_VM_CLEAN)
		vm->attach.settings.mode = vm->mode_before_migrate;
	if (!s->attach)
		swap(s->attach, vm->attach_new);
	if (!s->attach || vwc_attach_equal(s->attach, &vm->attach))
		return;
	*s->attach = vm->attach;
	vwc_slot_mark_attach_locked(pool, vm->slot);
}

/*
 * Own the slot: from now on its writeback goes to our origin and our
 * cache_quota is the slot's, and its record names our origin (written by
 * the next commit, with the generation bumped at attach), its attachment
 * record our path and settings.  A table line that named the origin by
 * major:minor (a reload of "dmsetup table") keeps the path recorded for
 * the same origin.  At resume: a table only loaded (dmsetup reload, not
 * resumed) owns nothing.
 */
static void vwc_vm_own_slot(struct vwc_vm *vm)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s = &pool->slots[vm->slot];
	bool recorded = false;

	vwc_pool_lock(pool);
	vwc_cache_lock_irq(pool);
	WARN_ON_ONCE(s->vm && s->vm != vm);
	s->vm = vm;
	WRITE_ONCE(s->quota, vm->settings.cache_quota);
	s->quota_full = false;
	if (!vwc_origin_equal(&s->origin_id, &vm->origin.id)) {
		s->origin_id = vm->origin.id;
		vwc_slot_mark_locked(pool, vm->slot);
		recorded = true;
	} else if (!vm->origin.path_given && s->attach) {
		strscpy_pad(vm->attach.path, s->attach->path,
			    sizeof(vm->attach.path));
	}
	vwc_vm_record_attach_locked(vm);
	vwc_wb_enlist_locked(pool, vm->slot);
	spin_unlock_irq(&pool->cache_lock);
	mutex_unlock(&pool->lock);
	/* The record keeps a digest: the log keeps the string and the path. */
	if (recorded)
		DMINFO("vm_id %s: origin %s %s (%llu sectors) by %s recorded",
		       vm->vm_id, vwc_origin_kind_name(vm->origin.id.kind),
		       vwc_origin_name(&vm->origin),
		       (unsigned long long)vm->origin.id.sectors,
		       vm->origin.path);
	vwc_kick_writeback(pool);
}

/*
 * Let go of the slot, if we own it: no writeback of the slot starts from
 * now on (it waits for the next owner), and none of ours is left in
 * flight when this returns (commits touch no origin: nothing to wait for
 * there).  Bounded: only the runs already started are waited for.
 */
static void vwc_vm_release_slot(struct vwc_vm *vm)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s = &pool->slots[vm->slot];
	bool owner;

	vwc_cache_lock_irq(pool);
	owner = s->vm == vm;
	if (owner)
		s->vm = NULL;
	spin_unlock_irq(&pool->cache_lock);
	if (!owner)
		return;
	vwc_wb_wait_slot(pool, vm->slot);
}

/*
 * Let go of the slot.  The last VM device of a slot takes its clean
 * blocks with it, so a VM that comes back never reads them; its dirty
 * blocks stay, to be written back when it attaches again.
 */
static void vwc_vm_detach_slot(struct vwc_vm *vm)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s = &pool->slots[vm->slot];
	struct vwc_acct *unused;
	bool last;

	/*
	 * A table is suspended before its dtr, which released the slot: only
	 * a dtr without a suspend (a table never resumed) gets here, and it
	 * owns nothing.  So a dtr never waits for another table's writeback.
	 */
	vwc_vm_release_slot(vm);
	vwc_cache_lock_irq(pool);
	last = --s->nr_attached == 0;
	spin_unlock_irq(&pool->cache_lock);
	if (!last)
		return;
	vwc_drop_clean(pool, vm->slot);
	vwc_pool_lock(pool);
	vwc_cache_lock_irq(pool);
	s->flushing = false;
	s->flush_all = false;
	s->drain = false;
	WRITE_ONCE(s->quota, 0);
	s->quota_full = false;
	/*
	 * The slot's accounting goes with this VM device (the tick may still
	 * sample it until the device leaves pool->vms); the one allocated by
	 * our ctr was never used if we attached by a reload.  Its sums stay
	 * in the pool's figures: folded into acct_retired in the same
	 * pool->lock hold (no bio of the slot is left to count: its VM
	 * devices are gone).
	 */
	unused = vm->acct_new;
	vm->acct_new = s->acct;
	s->acct = NULL;
	vwc_slot_put_locked(pool, vm->slot);
	spin_unlock_irq(&pool->cache_lock);
	if (vm->acct_new)
		vwc_acct_total(vm->acct_new, &pool->acct_retired);
	mutex_unlock(&pool->lock);
	vwc_acct_free(unused);
}

static int vwc_vm_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct vwc_vm *vm;
	const char *error = NULL;
	int r;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (vm)
		vm->acct_new = vwc_acct_alloc();
	if (!vm || !vm->acct_new) {
		kfree(vm);
		ti->error = "Cannot allocate VM device context";
		return -ENOMEM;
	}
	vm->ti = ti;
	vm->md = dm_table_get_md(ti->table);
	vm->state = VWC_VM_OK;

	r = vwc_vm_parse(vm, argc, argv, &error);
	if (r)
		goto bad;
	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table),
			  &vm->pool_dev);
	if (r) {
		error = "Pool device lookup failed";
		goto bad;
	}
	r = vwc_vm_get_pool(vm, &error);
	if (r)
		goto bad_pool_dev;
	r = dm_get_device(ti, argv[1], dm_table_get_mode(ti->table),
			  &vm->origin_dev);
	if (r) {
		error = "Origin device lookup failed";
		goto bad_pool;
	}
	r = vwc_vm_check_origin(vm, &error);
	if (r)
		goto bad_origin;
	vwc_origin_identify(vm->origin_dev->bdev, argv[1], &vm->origin);
	vm->wb_depth_auto = vwc_wb_origin_depth(vm->origin_dev->bdev);
	strscpy_pad(vm->attach.vm_id, vm->vm_id, sizeof(vm->attach.vm_id));
	strscpy_pad(vm->attach.path, vm->origin.path, sizeof(vm->attach.path));
	vm->attach_new = kzalloc(sizeof(*vm->attach_new), GFP_KERNEL);
	if (!vm->attach_new) {
		error = "Cannot allocate VM device context";
		r = -ENOMEM;
		goto bad_origin;
	}
	r = dm_set_target_max_io_len(ti, max_t(u32, VWC_MAX_IO_SECTORS,
						1U << vm->pool->block_shift));
	if (r) {
		error = "Cannot set the target's I/O size";
		goto bad_origin;
	}
	vwc_throttle_init(vm);
	vwc_seq_init(&vm->seq);
	r = vwc_pool_attach_vm(vm->pool, vm, &error);
	if (r)
		goto bad_origin;
	r = vwc_vm_attach_slot(vm, &error);
	if (r)
		goto bad_attach;

	ti->private = vm;
	ti->num_flush_bios = VWC_NR_FLUSH_BIOS;
	ti->num_discard_bios = 1;
	ti->discards_supported = true;
	ti->flush_supported = true;
	ti->per_io_data_size = sizeof(struct vwc_io);
	ti->accounts_remapped_io = true;
	return 0;

bad_attach:
	vwc_pool_detach_vm(vm->pool, vm);

bad_origin:
	dm_put_device(ti, vm->origin_dev);
bad_pool:
	vwc_pool_put(vm->pool);
bad_pool_dev:
	dm_put_device(ti, vm->pool_dev);
bad:
	ti->error = (char *)error;
	vwc_vm_free(vm);
	return r;
}

static void vwc_vm_dtr(struct dm_target *ti)
{
	struct vwc_vm *vm = ti->private;

	vwc_sysfs_vm_leave(vm);
	WARN_ON_ONCE(!bio_list_empty(&vm->throttle.queue));
	vwc_vm_detach_slot(vm);
	vwc_pool_detach_vm(vm->pool, vm);
	dm_put_device(ti, vm->origin_dev);
	vwc_pool_put(vm->pool);
	dm_put_device(ti, vm->pool_dev);
	vwc_vm_free(vm);
}

static int vwc_vm_map(struct dm_target *ti, struct bio *bio)
{
	struct vwc_vm *vm = ti->private;
	u64 now = vwc_io_start(vm, bio);

	if (vwc_throttle_bio(vm, bio, now))
		return DM_MAPIO_SUBMITTED;
	return vwc_map_bio(vm, bio, VWC_MAP_DM);
}

static int vwc_vm_end_io(struct dm_target *ti, struct bio *bio,
			 blk_status_t *error)
{
	return vwc_end_io(ti->private, bio, error);
}

/*
 * Nothing waits for tokens while suspending; on a noflush suspend, nothing
 * waits for a writeback either: such writes are requeued (dm holds them
 * until resume), the deferred list mapped again for that.  A suspend that
 * flushes waits for them, VWC_DRAIN_WAIT at most (dm-vwcache-io.c).
 */
static void vwc_vm_presuspend(struct dm_target *ti)
{
	struct vwc_vm *vm = ti->private;

	vwc_throttle_drain(vm);
	if (dm_noflush_suspending(ti))
		vwc_kick_deferred(vm->pool);
}

/*
 * The suspend was cancelled after presuspend (a signal while dm waited for
 * the bios in flight, or the filesystem could not be frozen): throttled
 * again, as if presuspend had not run.  No other state changed: the slot
 * is released only at postsuspend.
 */
static void vwc_vm_presuspend_undo(struct dm_target *ti)
{
	vwc_throttle_undrain(ti->private);
}

/*
 * A reload onto another origin: the slot's clean blocks are copies of the
 * old one, so they go (its dirty blocks are the VM's data and stay).  At
 * preresume the old table is suspended, so no I/O of the slot is in
 * flight.
 */
static void vwc_vm_origin_changed(struct vwc_vm *vm)
{
	struct vwc_pool *pool = vm->pool;
	dev_t dev = vm->origin_dev->bdev->bd_dev;
	bool changed;

	vwc_cache_lock_irq(pool);
	changed = pool->slots[vm->slot].origin != dev;
	pool->slots[vm->slot].origin = dev;
	spin_unlock_irq(&pool->cache_lock);
	if (changed)
		vwc_drop_clean(pool, vm->slot);
}

/*
 * Throttling again, the clean blocks of an old origin gone, and the sysfs
 * directory (the disk exists by now).
 */
static int vwc_vm_preresume(struct dm_target *ti)
{
	struct vwc_vm *vm = ti->private;

	vwc_throttle_undrain(vm);
	vwc_vm_origin_changed(vm);
	return vwc_sysfs_vm_join(vm);
}

/*
 * Suspend makes everything written so far durable (the origin flushed if
 * written around, while we still own the slot, and a commit), then stops
 * our own I/O: no writeback reaches the origin until resume, which may be
 * another table's, on another origin (the operator may swap the devices
 * under a suspended one).
 */
static void vwc_vm_postsuspend(struct dm_target *ti)
{
	struct vwc_vm *vm = ti->private;
	int r;

	vwc_flush_origin(vm);
	r = vwc_commit(vm->pool);

	if (r)
		DMERR("%s: commit on suspend failed: %d",
		      dm_device_name(vm->md), r);
	vwc_vm_release_slot(vm);
}

/* Live: the slot is ours (after the old table's postsuspend, on reload). */
static void vwc_vm_resume(struct dm_target *ti)
{
	vwc_vm_own_slot(ti->private);
}

/*
 * The limits of both devices are stacked by now (vwc_vm_iterate_devices).
 * The block sizes of the SSD once more, from the pool's own open of it: a
 * cached block's I/O is remapped to it whatever the pool device's table,
 * and a bio smaller than its logical block must not reach it.
 */
#define VWC_DISCARD_BLOCKS	1024U	/* blocks one discard bio may cover */

static void vwc_vm_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct vwc_vm *vm = ti->private;
	struct block_device *ssd = vm->pool->cache.bdev;
	unsigned int block = 1U << (vm->pool->block_shift + SECTOR_SHIFT);
	unsigned int discard = VWC_DISCARD_BLOCKS << vm->pool->block_shift;

	limits->logical_block_size = max(limits->logical_block_size,
					 bdev_logical_block_size(ssd));
	limits->physical_block_size = max3(limits->physical_block_size,
					   limits->logical_block_size,
					   bdev_physical_block_size(ssd));
	limits->io_min = max3(limits->io_min, limits->physical_block_size,
			      bdev_io_min(ssd));
	limits->discard_granularity = block;
	/*
	 * A discard walks the blocks it covers under cache_lock, interrupts
	 * off: at most 1024 of them per bio.  The hardware limit too, which
	 * is the one 6.9+ kernels derive max_discard_sectors from.
	 */
	limits->max_hw_discard_sectors =
		min_not_zero(limits->max_hw_discard_sectors, discard);
	limits->max_discard_sectors =
		min_not_zero(limits->max_discard_sectors, discard);
}

static void vwc_vm_emit_table(struct vwc_vm *vm, char *result,
			      unsigned int maxlen)
{
	unsigned int sz = 0;
	unsigned int i;

	DMEMIT("%s %s %s %u", vm->pool_dev->name, vm->origin_dev->name,
	       vm->vm_id, vwc_nr_vm_keys * 2);
	for (i = 0; i < vwc_nr_vm_keys; i++) {
		const struct vwc_key *k = &vwc_vm_keys[i];
		u64 v = vwc_key_get(k, &vm->settings);

		if (k->is_mode)
			DMEMIT(" %s %s", k->name, vwc_mode_name(v));
		else
			DMEMIT(" %s %llu", k->name, v);
	}
}

/*
 * The state, from the slot: called with cache_lock held.  "error" while
 * the pool is failed or the slot's last writeback failed and dirty blocks
 * are left (they are retried, backing off; the kernel log says why).
 */
static enum vwc_vm_state vwc_vm_state_locked(struct vwc_vm *vm)
{
	struct vwc_slot *s = &vm->pool->slots[vm->slot];

	if (vm->state == VWC_VM_MIGRATING && vwc_list_empty(&s->dirty))
		vm->state = VWC_VM_CLEAN;
	if (vm->state == VWC_VM_OK &&
	    (READ_ONCE(vm->pool->state) == VWC_POOL_FAILED ||
	     (s->wb_backoff && !vwc_list_empty(&s->dirty))))
		return VWC_VM_ERROR;
	if (vm->state == VWC_VM_OK && s->flushing)
		return VWC_VM_FLUSHING;
	return vm->state;
}

enum vwc_vm_state vwc_vm_state(struct vwc_vm *vm)
{
	enum vwc_vm_state state;

	vwc_cache_lock_irq(vm->pool);
	state = vwc_vm_state_locked(vm);
	spin_unlock_irq(&vm->pool->cache_lock);
	return state;
}

const char *vwc_vm_state_name(enum vwc_vm_state state)
{
	return vwc_vm_state_names[state];
}

static void vwc_vm_status(struct dm_target *ti, status_type_t type,
			  unsigned int status_flags, char *result,
			  unsigned int maxlen)
{
	struct vwc_vm *vm = ti->private;
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s = &pool->slots[vm->slot];
	enum vwc_vm_state state;
	struct vwc_stats st;
	unsigned int sz = 0;
	u32 cached, dirty;
	u64 wb;

	vwc_pool_lock(pool);
	switch (type) {
	case STATUSTYPE_INFO:
		vwc_acct_read(vm->acct, &st);
		vwc_cache_lock_irq(pool);
		state = vwc_vm_state_locked(vm);
		cached = s->nr_cached;
		dirty = s->dirty.count;
		wb = s->writeback_blocks;
		spin_unlock_irq(&pool->cache_lock);
		DMEMIT("%s %s %u %u %llu %llu %llu %llu %llu %llu %llu",
		       vwc_mode_name(vm->settings.mode),
		       vwc_vm_state_names[state], cached, dirty, st.reads,
		       st.read_hits, st.writes, st.write_hits, st.coalesced,
		       wb, st.throttled);
		break;
	case STATUSTYPE_TABLE:
		vwc_vm_emit_table(vm, result, maxlen);
		break;
	default:
		if (maxlen)
			*result = '\0';
		break;
	}
	mutex_unlock(&pool->lock);
}

/* flush: this VM's dirty blocks, in the background; returns at once. */
static void vwc_vm_flush(struct vwc_vm *vm, bool all)
{
	struct vwc_pool *pool = vm->pool;

	vwc_cache_lock_irq(pool);
	vwc_flush_slot_locked(pool, vm->slot, all);
	spin_unlock_irq(&pool->cache_lock);
	vwc_kick_writeback(pool);
}

/*
 * migrate_prepare: writethrough from now on (no new dirty data, so the
 * dirty count only falls), and flush everything; "clean" once none is
 * left.  Again while migrating: nothing changes.
 */
static int vwc_vm_migrate_prepare(struct vwc_vm *vm)
{
	if (vm->state != VWC_VM_MIGRATING && vm->state != VWC_VM_CLEAN) {
		vm->mode_before_migrate = vm->settings.mode;
		if (vm->settings.mode == VWC_MODE_WRITEBACK)
			WRITE_ONCE(vm->settings.mode, VWC_MODE_WRITETHROUGH);
		vm->state = VWC_VM_MIGRATING;
	}
	vwc_vm_flush(vm, true);
	return 0;
}

static int vwc_vm_migrate_abort(struct vwc_vm *vm)
{
	if (vm->state != VWC_VM_MIGRATING && vm->state != VWC_VM_CLEAN)
		return -EINVAL;
	WRITE_ONCE(vm->settings.mode, vm->mode_before_migrate);
	vm->state = VWC_VM_OK;
	return 0;
}

/*
 * set <key> <value>, from a message or sysfs: all or nothing, in force
 * for the next bio (and for the bios waiting for tokens).  Under
 * pool->lock.
 */
int vwc_vm_set_locked(struct vwc_vm *vm, const char *key, const char *value,
		      const char **error)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_vm_settings new = vm->settings;
	int r;

	if (!strcmp(key, "mode") &&
	    (vm->state == VWC_VM_MIGRATING || vm->state == VWC_VM_CLEAN)) {
		*error = "mode cannot change during a migration: migrate_abort first";
		return -EINVAL;
	}
	r = vwc_vm_set(&new, key, value, error);
	if (r)
		return r;
	WRITE_ONCE(vm->settings.mode, new.mode);
	WRITE_ONCE(vm->settings.iops_limit, new.iops_limit);
	WRITE_ONCE(vm->settings.bw_limit, new.bw_limit);
	WRITE_ONCE(vm->settings.cache_quota, new.cache_quota);
	WRITE_ONCE(vm->settings.weight, new.weight);
	vwc_cache_lock_irq(pool);
	if (pool->slots[vm->slot].vm == vm) {
		WRITE_ONCE(pool->slots[vm->slot].quota, new.cache_quota);
		pool->slots[vm->slot].quota_full = false;
		vwc_vm_record_attach_locked(vm);
	}
	spin_unlock_irq(&pool->cache_lock);
	vwc_throttle_changed(pool);
	vwc_kick_writeback(pool);
	return 0;
}

static int vwc_vm_message(struct dm_target *ti, unsigned int argc,
			  char **argv, char *result, unsigned int maxlen)
{
	struct vwc_vm *vm = ti->private;
	const char *error = "unknown message";
	int r = -EINVAL;

	vwc_pool_lock(vm->pool);
	if (argc == 1 && !strcmp(argv[0], "flush")) {
		vwc_vm_flush(vm, false);
		r = 0;
	} else if (argc == 1 && !strcmp(argv[0], "migrate_prepare")) {
		r = vwc_vm_migrate_prepare(vm);
	} else if (argc == 1 && !strcmp(argv[0], "migrate_abort")) {
		r = vwc_vm_migrate_abort(vm);
		error = "no migration to abort";
	} else if (argc == 1 && !strcmp(argv[0], "invalidate")) {
		/* Safe while the device is live: vwc_invalidate_clean(). */
		vwc_invalidate_clean(vm->pool, vm->slot);
		r = 0;
	} else if (argc == 1 && !strcmp(argv[0], "clear_stats")) {
		vwc_cache_lock_irq(vm->pool);
		vm->pool->slots[vm->slot].writeback_blocks = 0;
		vm->pool->slots[vm->slot].wb_errors = 0;
		spin_unlock_irq(&vm->pool->cache_lock);
		vwc_acct_clear(vm->acct, 0);
		r = 0;
	} else if (argc == 3 && !strcmp(argv[0], "set")) {
		r = vwc_vm_set_locked(vm, argv[1], argv[2], &error);
	}
	mutex_unlock(&vm->pool->lock);
	if (r)
		DMWARN_LIMIT("%s: message refused: %s",
			     dm_device_name(vm->md), error);
	return r;
}

/*
 * A VM device's bios go to its origin or, for a cached block, to the pool's
 * SSD: both devices' limits are its own.  The pool device stands for the
 * SSD (its target reports the SSD), over its whole length, as dm-cache
 * reports its cache device.  So the VM device's logical block size is the
 * larger of the origin's and the SSD's, and a table whose length is not a
 * multiple of it is refused.
 */
static int vwc_vm_iterate_devices(struct dm_target *ti,
				  iterate_devices_callout_fn fn, void *data)
{
	struct vwc_vm *vm = ti->private;
	int r;

	r = fn(ti, vm->pool_dev, 0, bdev_nr_sectors(vm->pool_dev->bdev), data);
	if (!r)
		r = fn(ti, vm->origin_dev, 0, ti->len, data);
	return r;
}

struct target_type vwc_vm_target = {
	.name = VWC_VM_TARGET_NAME,
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = vwc_vm_ctr,
	.dtr = vwc_vm_dtr,
	.map = vwc_vm_map,
	.end_io = vwc_vm_end_io,
	.presuspend = vwc_vm_presuspend,
	.presuspend_undo = vwc_vm_presuspend_undo,
	.postsuspend = vwc_vm_postsuspend,
	.preresume = vwc_vm_preresume,
	.resume = vwc_vm_resume,
	.io_hints = vwc_vm_io_hints,
	.status = vwc_vm_status,
	.message = vwc_vm_message,
	.iterate_devices = vwc_vm_iterate_devices,
};
