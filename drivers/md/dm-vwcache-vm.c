// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache VM target, "vwcache": one VM disk on its origin, attached to
 * a pool.
 *
 *   <pool_dev> <origin_dev> <vm_id> <#feature args> [<key> <value>]...
 *
 * Until the cache core lands, I/O passes straight to the origin (the
 * effective mode reported by status is "passthrough"); the table line,
 * settings, messages and counters are the final interface.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dm-vwcache.h"

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
	free_percpu(vm->stats);
	kfree(vm);
}

static int vwc_vm_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct vwc_vm *vm;
	const char *error = NULL;
	int r;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (vm)
		vm->stats = alloc_percpu(struct vwc_vm_stats);
	if (!vm || !vm->stats) {
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
	r = vwc_pool_attach_vm(vm->pool, vm, &error);
	if (r)
		goto bad_origin;

	ti->private = vm;
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	return 0;

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

	vwc_pool_detach_vm(vm->pool, vm);
	dm_put_device(ti, vm->origin_dev);
	vwc_pool_put(vm->pool);
	dm_put_device(ti, vm->pool_dev);
	vwc_vm_free(vm);
}

static void vwc_vm_account(struct vwc_vm *vm, struct bio *bio)
{
	struct vwc_vm_stats *s;
	unsigned int bytes = bio->bi_iter.bi_size;

	if (!bytes || bio_op(bio) == REQ_OP_DISCARD)
		return;
	s = get_cpu_ptr(vm->stats);
	if (bio_data_dir(bio) == WRITE) {
		s->writes++;
		s->write_bytes += bytes;
	} else {
		s->reads++;
		s->read_bytes += bytes;
	}
	put_cpu_ptr(vm->stats);
}

static int vwc_vm_map(struct dm_target *ti, struct bio *bio)
{
	struct vwc_vm *vm = ti->private;

	vwc_vm_account(vm, bio);
	bio_set_dev(bio, vm->origin_dev->bdev);
	if (bio_sectors(bio) || bio_op(bio) == REQ_OP_ZONE_RESET)
		bio->bi_iter.bi_sector = dm_target_offset(ti,
							 bio->bi_iter.bi_sector);
	return DM_MAPIO_REMAPPED;
}

static void vwc_vm_sum_stats(struct vwc_vm *vm, struct vwc_vm_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct vwc_vm_stats *s = per_cpu_ptr(vm->stats, cpu);

		sum->reads += READ_ONCE(s->reads);
		sum->writes += READ_ONCE(s->writes);
		sum->read_bytes += READ_ONCE(s->read_bytes);
		sum->write_bytes += READ_ONCE(s->write_bytes);
	}
}

static void vwc_vm_clear_stats(struct vwc_vm *vm)
{
	int cpu;

	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(vm->stats, cpu), 0,
		       sizeof(struct vwc_vm_stats));
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

static void vwc_vm_status(struct dm_target *ti, status_type_t type,
			  unsigned int status_flags, char *result,
			  unsigned int maxlen)
{
	struct vwc_vm *vm = ti->private;
	struct vwc_vm_stats st;
	unsigned int sz = 0;

	mutex_lock(&vm->pool->lock);
	switch (type) {
	case STATUSTYPE_INFO:
		vwc_vm_sum_stats(vm, &st);
		/* Effective mode: no caching until the cache core lands. */
		DMEMIT("%s %s %u %u %llu %u %llu %u %u %u %u",
		       vwc_mode_name(VWC_MODE_PASSTHROUGH),
		       vwc_vm_state_names[vm->state], 0, 0,
		       st.reads, 0, st.writes, 0, 0, 0, 0);
		break;
	case STATUSTYPE_TABLE:
		vwc_vm_emit_table(vm, result, maxlen);
		break;
	default:
		if (maxlen)
			*result = '\0';
		break;
	}
	mutex_unlock(&vm->pool->lock);
}

/*
 * migrate_prepare: writethrough from now on, then flush.  With nothing
 * ever dirty (no caching yet), the VM is clean at once.
 */
static int vwc_vm_migrate_prepare(struct vwc_vm *vm)
{
	if (vm->state != VWC_VM_MIGRATING && vm->state != VWC_VM_CLEAN) {
		vm->mode_before_migrate = vm->settings.mode;
		if (vm->settings.mode == VWC_MODE_WRITEBACK)
			vm->settings.mode = VWC_MODE_WRITETHROUGH;
	}
	vm->state = VWC_VM_CLEAN;
	return 0;
}

static int vwc_vm_migrate_abort(struct vwc_vm *vm)
{
	if (vm->state != VWC_VM_MIGRATING && vm->state != VWC_VM_CLEAN)
		return -EINVAL;
	vm->settings.mode = vm->mode_before_migrate;
	vm->state = VWC_VM_OK;
	return 0;
}

static int vwc_vm_message(struct dm_target *ti, unsigned int argc,
			  char **argv, char *result, unsigned int maxlen)
{
	struct vwc_vm *vm = ti->private;
	const char *error = "unknown message";
	int r = -EINVAL;

	mutex_lock(&vm->pool->lock);
	if (argc == 1 && !strcmp(argv[0], "flush")) {
		r = 0;	/* nothing is dirty until caching lands */
	} else if (argc == 1 && !strcmp(argv[0], "migrate_prepare")) {
		r = vwc_vm_migrate_prepare(vm);
	} else if (argc == 1 && !strcmp(argv[0], "migrate_abort")) {
		r = vwc_vm_migrate_abort(vm);
		error = "no migration to abort";
	} else if (argc == 1 && !strcmp(argv[0], "clear_stats")) {
		vwc_vm_clear_stats(vm);
		r = 0;
	} else if (argc == 3 && !strcmp(argv[0], "set")) {
		r = vwc_vm_set(&vm->settings, argv[1], argv[2], &error);
	}
	mutex_unlock(&vm->pool->lock);
	if (r)
		DMWARN_LIMIT("%s: message refused: %s",
			     dm_device_name(vm->md), error);
	return r;
}

static int vwc_vm_iterate_devices(struct dm_target *ti,
				  iterate_devices_callout_fn fn, void *data)
{
	struct vwc_vm *vm = ti->private;

	return fn(ti, vm->origin_dev, 0, ti->len, data);
}

struct target_type vwc_vm_target = {
	.name = VWC_VM_TARGET_NAME,
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = vwc_vm_ctr,
	.dtr = vwc_vm_dtr,
	.map = vwc_vm_map,
	.status = vwc_vm_status,
	.message = vwc_vm_message,
	.iterate_devices = vwc_vm_iterate_devices,
};
