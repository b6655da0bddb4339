// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache sysfs: /sys/block/dm-N/vwcache/ for a VM device and
 * /sys/block/dm-P/vwcache_pool/ for a pool (Documentation/admin-guide/
 * dm-vwcache.rst lists every file, its unit and whether it is writable).
 *
 * A VM device's directory belongs to its dm device, not to one table: a
 * table reload shows the new table in the same directory.  It appears
 * when the first vwcache table of the device resumes (the disk is in
 * sysfs by then) and goes with the last vwcache table of the device.
 * Each file shows the VM device of the table resumed last (dir->vm),
 * read under vwc_sysfs_lock, which a leaving table takes to let go of it.
 *
 * A pool's directory appears when its first table resumes and goes with
 * the pool object (vwc_pool_destroy), which outlives the reads of it:
 * removal waits for them (kobject_del drains active readers).
 *
 * Writes: root only (mode 0644); the value is parsed like a message's
 * ("set <key> <value>"), all or nothing, -EINVAL and nothing changed on a
 * bad one, in force at once.
 *
 * Lock order: vwc_registry_lock (a pool's last put), then vwc_sysfs_lock,
 * then pool->lock, then pool->cache_lock; no lock is held while a
 * directory is removed.
 */
#include <linux/blkdev.h>
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "dm-vwcache.h"
#include "dm-vwcache-cache.h"
#include "dm-vwcache-writeback.h"

#define VWC_SYSFS_VALUE_MAX	32

struct vwc_vm_dir {
	struct vwc_kobj k;		/* "vwcache" under the disk */
	struct list_head list;		/* in vwc_vm_dirs */
	struct mapped_device *md;
	struct vwc_vm *vm;		/* shown; under vwc_sysfs_lock */
	unsigned int refs;		/* tables joined */
};

static LIST_HEAD(vwc_vm_dirs);
static DEFINE_MUTEX(vwc_sysfs_lock);

/* ---- the kobject, for both kinds of directory ------------------------- */

static void vwc_kobj_release(struct kobject *kobj)
{
	complete(&container_of(kobj, struct vwc_kobj, kobj)->released);
}

static int vwc_kobj_add(struct vwc_kobj *k, const struct kobj_type *type,
			struct mapped_device *md, const char *name)
{
	struct kobject *parent = &disk_to_dev(dm_disk(md))->kobj;
	int r;

	init_completion(&k->released);
	r = kobject_init_and_add(&k->kobj, type, parent,
				 "%s", name);
	if (r) {
		kobject_put(&k->kobj);
		wait_for_completion(&k->released);
	}
	return r;
}

/* Remove it and wait until no reader is left: then it may be freed. */
static void vwc_kobj_del(struct vwc_kobj *k)
{
	kobject_del(&k->kobj);
	kobject_put(&k->kobj);
	wait_for_completion(&k->released);
}

/* A written value without its newline, or -EINVAL. */
static int vwc_sysfs_value(const char *buf, size_t len, char *out)
{
	if (len && buf[len - 1] == '\n')
		len--;
	if (!len || len >= VWC_SYSFS_VALUE_MAX || memchr(buf, '\0', len))
		return -EINVAL;
	memcpy(out, buf, len);
	out[len] = '\0';
	return 0;
}

/* ---- VM devices -------------------------------------------------------- */

enum vwc_vm_field {
	VWC_F_VM_ID, VWC_F_POOL, VWC_F_MODE, VWC_F_STATE,
	VWC_F_CACHED, VWC_F_DIRTY, VWC_F_DIRTY_BYTES, VWC_F_FLUSH_ETA,
	VWC_F_READS, VWC_F_WRITES, VWC_F_READ_BYTES, VWC_F_WRITE_BYTES,
	VWC_F_READ_HITS, VWC_F_WRITE_HITS, VWC_F_COALESCED, VWC_F_WB_BLOCKS,
	VWC_F_THROTTLED, VWC_F_READ_IOPS, VWC_F_WRITE_IOPS, VWC_F_READ_BW,
	VWC_F_WRITE_BW, VWC_F_READ_LAT, VWC_F_WRITE_LAT, VWC_F_WB_ERRORS,
	VWC_F_READ_LAT_SUM, VWC_F_WRITE_LAT_SUM, VWC_F_SEQ_BYPASSED,
	VWC_F_WB_DEPTH,
	VWC_F_LIMIT,	/* limits/: the key is the file's name */
};

struct vwc_vm_attr {
	struct attribute attr;
	enum vwc_vm_field field;
};

/* What the VM's numbers are now. */
struct vwc_vm_snap {
	struct vwc_stats st;
	u64 rates[VWC_NR_RATES];
	u64 cached, dirty, dirty_subs, wb_blocks, wb_errors;
	enum vwc_vm_state state;
};

static void vwc_vm_snap(struct vwc_vm *vm, struct vwc_vm_snap *sn)
{
	struct vwc_pool *pool = vm->pool;
	struct vwc_slot *s = &pool->slots[vm->slot];

	vwc_cache_lock_irq(pool);
	sn->cached = s->nr_cached;
	sn->dirty = s->dirty.count;
	sn->dirty_subs = s->dirty_subs;
	sn->wb_blocks = s->writeback_blocks;
	sn->wb_errors = s->wb_errors;
	spin_unlock_irq(&pool->cache_lock);
	sn->state = vwc_vm_state(vm);
	vwc_acct_read(vm->acct, &sn->st);
	vwc_acct_rates(vm->acct, sn->wb_blocks, sn->rates);
}

/*
 * Milliseconds until the dirty data is written back at the rate of the
 * last second; 0 when clean, -1 when nothing was written back lately.
 */
static s64 vwc_flush_eta_ms(struct vwc_vm *vm, const struct vwc_vm_snap *sn)
{
	unsigned int shift = vm->pool->block_shift + SECTOR_SHIFT;
	u64 rate = sn->rates[VWC_RATE_WB_BLOCKS] << shift;

	if (!sn->dirty)
		return 0;
	if (!rate)
		return -1;
	return div64_u64((sn->dirty << shift) * MSEC_PER_SEC, rate);
}

/* The dm name of @md (as under /dev/mapper). */
static ssize_t vwc_show_dm_name(struct mapped_device *md, char *buf)
{
	char name[DM_NAME_LEN];

	if (dm_copy_name_and_uuid(md, name, NULL))
		return -ENODEV;
	return sysfs_emit(buf, "%s\n", name);
}

static ssize_t vwc_show_latency(const struct vwc_stats *st, bool write,
				char *buf)
{
	ssize_t n = 0;
	unsigned int b;

	for (b = 0; b < VWC_LAT_BUCKETS; b++)
		n += sysfs_emit_at(buf, n, "%llu %llu\n",
				   vwc_lat_bucket_bound_us(b),
				   st->lat[write][b]);
	return n;
}

static ssize_t vwc_vm_show_field(struct vwc_vm *vm, enum vwc_vm_field f,
				 const char *name, char *buf)
{
	unsigned int shift = vm->pool->sub_shift + SECTOR_SHIFT;
	struct vwc_vm_snap sn;
	const struct vwc_key *key;
	u64 v;

	switch (f) {
	case VWC_F_VM_ID:
		return sysfs_emit(buf, "%s\n", vm->vm_id);
	case VWC_F_POOL:
		return vwc_show_dm_name(vm->pool->md, buf);
	case VWC_F_MODE:
		return sysfs_emit(buf, "%s\n",
				  vwc_mode_name(READ_ONCE(vm->settings.mode)));
	case VWC_F_WB_DEPTH:
		return sysfs_emit(buf, "%u\n", vwc_wb_vm_depth(vm));
	case VWC_F_LIMIT:
		key = vwc_find_key(vwc_vm_keys, vwc_nr_vm_keys, name);
		vwc_pool_lock(vm->pool);
		v = vwc_key_get(key, &vm->settings);
		mutex_unlock(&vm->pool->lock);
		return sysfs_emit(buf, "%llu\n", v);
	default:
		break;
	}
	vwc_vm_snap(vm, &sn);
	switch (f) {
	case VWC_F_STATE:
		return sysfs_emit(buf, "%s\n", vwc_vm_state_name(sn.state));
	case VWC_F_FLUSH_ETA:
		return sysfs_emit(buf, "%lld\n", vwc_flush_eta_ms(vm, &sn));
	case VWC_F_READ_LAT:
	case VWC_F_WRITE_LAT:
		return vwc_show_latency(&sn.st, f == VWC_F_WRITE_LAT, buf);
	case VWC_F_READ_LAT_SUM:
		return sysfs_emit(buf, "%llu\n", sn.st.lat_sum_ns[0]);
	case VWC_F_WRITE_LAT_SUM:
		return sysfs_emit(buf, "%llu\n", sn.st.lat_sum_ns[1]);
	default:
		break;
	}
	{
		const u64 num[] = {
			[VWC_F_CACHED] = sn.cached,
			[VWC_F_DIRTY] = sn.dirty,
			[VWC_F_DIRTY_BYTES] = sn.dirty_subs << shift,
			[VWC_F_READS] = sn.st.reads,
			[VWC_F_WRITES] = sn.st.writes,
			[VWC_F_READ_BYTES] = sn.st.read_bytes,
			[VWC_F_WRITE_BYTES] = sn.st.write_bytes,
			[VWC_F_READ_HITS] = sn.st.read_hits,
			[VWC_F_WRITE_HITS] = sn.st.write_hits,
			[VWC_F_COALESCED] = sn.st.coalesced,
			[VWC_F_WB_BLOCKS] = sn.wb_blocks,
			[VWC_F_WB_ERRORS] = sn.wb_errors,
			[VWC_F_THROTTLED] = sn.st.throttled,
			[VWC_F_SEQ_BYPASSED] = sn.st.sequential_bypassed,
			[VWC_F_READ_IOPS] = sn.rates[VWC_RATE_READS],
			[VWC_F_WRITE_IOPS] = sn.rates[VWC_RATE_WRITES],
			[VWC_F_READ_BW] = sn.rates[VWC_RATE_READ_BYTES],
			[VWC_F_WRITE_BW] = sn.rates[VWC_RATE_WRITE_BYTES],
		};

		if (f >= ARRAY_SIZE(num))
			return -EIO;
		v = num[f];
	}
	return sysfs_emit(buf, "%llu\n", v);
}

static struct vwc_vm_dir *vwc_vm_dir_of(struct kobject *kobj)
{
	return container_of(kobj, struct vwc_vm_dir, k.kobj);
}

static ssize_t vwc_vm_attr_show(struct kobject *kobj, struct attribute *attr,
				char *buf)
{
	struct vwc_vm_dir *dir = vwc_vm_dir_of(kobj);
	struct vwc_vm_attr *a = container_of(attr, struct vwc_vm_attr, attr);
	ssize_t r = -ENODEV;

	mutex_lock(&vwc_sysfs_lock);
	if (dir->vm)
		r = vwc_vm_show_field(dir->vm, a->field, attr->name, buf);
	mutex_unlock(&vwc_sysfs_lock);
	return r;
}

static ssize_t vwc_vm_attr_store(struct kobject *kobj, struct attribute *attr,
				 const char *buf, size_t len)
{
	struct vwc_vm_dir *dir = vwc_vm_dir_of(kobj);
	struct vwc_vm_attr *a = container_of(attr, struct vwc_vm_attr, attr);
	char value[VWC_SYSFS_VALUE_MAX];
	const char *error = NULL;
	int r;

	if (a->field != VWC_F_LIMIT)
		return -EPERM;
	r = vwc_sysfs_value(buf, len, value);
	if (r)
		return r;
	mutex_lock(&vwc_sysfs_lock);
	r = -ENODEV;
	if (dir->vm) {
		vwc_pool_lock(dir->vm->pool);
		r = vwc_vm_set_locked(dir->vm, attr->name, value, &error);
		mutex_unlock(&dir->vm->pool->lock);
	}
	mutex_unlock(&vwc_sysfs_lock);
	if (r == -EINVAL)
		DMWARN_LIMIT("sysfs write of %s refused: %s", attr->name, error);
	return r ? r : len;
}

static const struct sysfs_ops vwc_vm_sysfs_ops = {
	.show = vwc_vm_attr_show,
	.store = vwc_vm_attr_store,
};

#define VWC_VM_ATTR(_name, _field, _mode)				\
	static struct vwc_vm_attr vwc_vm_attr_##_name = {		\
		.attr = { .name = #_name, .mode = _mode },		\
		.field = _field,					\
	}
#define VWC_VM_RO(_name, _field) VWC_VM_ATTR(_name, _field, 0444)

VWC_VM_RO(vm_id, VWC_F_VM_ID);
VWC_VM_RO(pool, VWC_F_POOL);
VWC_VM_RO(mode, VWC_F_MODE);
VWC_VM_RO(state, VWC_F_STATE);
VWC_VM_RO(cached_blocks, VWC_F_CACHED);
VWC_VM_RO(dirty_blocks, VWC_F_DIRTY);
VWC_VM_RO(dirty_bytes, VWC_F_DIRTY_BYTES);
VWC_VM_RO(flush_eta_ms, VWC_F_FLUSH_ETA);
VWC_VM_RO(writeback_depth, VWC_F_WB_DEPTH);

static struct attribute *vwc_vm_attrs[] = {
	&vwc_vm_attr_vm_id.attr, &vwc_vm_attr_pool.attr,
	&vwc_vm_attr_mode.attr, &vwc_vm_attr_state.attr,
	&vwc_vm_attr_cached_blocks.attr, &vwc_vm_attr_dirty_blocks.attr,
	&vwc_vm_attr_dirty_bytes.attr, &vwc_vm_attr_flush_eta_ms.attr,
	&vwc_vm_attr_writeback_depth.attr,
	NULL,
};

static const struct attribute_group vwc_vm_group = {
	.attrs = vwc_vm_attrs,
};

VWC_VM_RO(reads, VWC_F_READS);
VWC_VM_RO(writes, VWC_F_WRITES);
VWC_VM_RO(read_bytes, VWC_F_READ_BYTES);
VWC_VM_RO(write_bytes, VWC_F_WRITE_BYTES);
VWC_VM_RO(read_hits, VWC_F_READ_HITS);
VWC_VM_RO(write_hits, VWC_F_WRITE_HITS);
VWC_VM_RO(coalesced, VWC_F_COALESCED);
VWC_VM_RO(writeback_blocks, VWC_F_WB_BLOCKS);
VWC_VM_RO(writeback_errors, VWC_F_WB_ERRORS);
VWC_VM_RO(throttled, VWC_F_THROTTLED);
VWC_VM_RO(read_iops, VWC_F_READ_IOPS);
VWC_VM_RO(write_iops, VWC_F_WRITE_IOPS);
VWC_VM_RO(read_bw, VWC_F_READ_BW);
VWC_VM_RO(write_bw, VWC_F_WRITE_BW);
VWC_VM_RO(read_latency_us, VWC_F_READ_LAT);
VWC_VM_RO(write_latency_us, VWC_F_WRITE_LAT);
VWC_VM_RO(read_latency_sum_ns, VWC_F_READ_LAT_SUM);
VWC_VM_RO(write_latency_sum_ns, VWC_F_WRITE_LAT_SUM);
VWC_VM_RO(sequential_bypassed_bytes, VWC_F_SEQ_BYPASSED);

static struct attribute *vwc_vm_stats_attrs[] = {
	&vwc_vm_attr_reads.attr, &vwc_vm_attr_writes.attr,
	&vwc_vm_attr_read_bytes.attr, &vwc_vm_attr_write_bytes.attr,
	&vwc_vm_attr_read_hits.attr, &vwc_vm_attr_write_hits.attr,
	&vwc_vm_attr_coalesced.attr, &vwc_vm_attr_writeback_blocks.attr,
	&vwc_vm_attr_throttled.attr, &vwc_vm_attr_read_iops.attr,
	&vwc_vm_attr_write_iops.attr, &vwc_vm_attr_read_bw.attr,
	&vwc_vm_attr_write_bw.attr, &vwc_vm_attr_read_latency_us.attr,
	&vwc_vm_attr_write_latency_us.attr, &vwc_vm_attr_writeback_errors.attr,
	&vwc_vm_attr_read_latency_sum_ns.attr,
	&vwc_vm_attr_write_latency_sum_ns.attr,
	&vwc_vm_attr_sequential_bypassed_bytes.attr,
	NULL,
};

static const struct attribute_group vwc_vm_stats_group = {
	.name = "stats",
	.attrs = vwc_vm_stats_attrs,
};

#define VWC_VM_LIMIT(_name) VWC_VM_ATTR(_name, VWC_F_LIMIT, 0644)

VWC_VM_LIMIT(iops_limit);
VWC_VM_LIMIT(bw_limit);
VWC_VM_LIMIT(cache_quota);
VWC_VM_LIMIT(weight);

static struct attribute *vwc_vm_limits_attrs[] = {
	&vwc_vm_attr_iops_limit.attr, &vwc_vm_attr_bw_limit.attr,
	&vwc_vm_attr_cache_quota.attr, &vwc_vm_attr_weight.attr,
	NULL,
};

static const struct attribute_group vwc_vm_limits_group = {
	.name = "limits",
	.attrs = vwc_vm_limits_attrs,
};

static const struct attribute_group *vwc_vm_groups[] = {
	&vwc_vm_group, &vwc_vm_stats_group, &vwc_vm_limits_group, NULL,
};

static const struct kobj_type vwc_vm_ktype = {
	.sysfs_ops = &vwc_vm_sysfs_ops,
	.default_groups = vwc_vm_groups,
	.release = vwc_kobj_release,
};

static struct vwc_vm_dir *vwc_vm_dir_find(struct mapped_device *md)
{
	struct vwc_vm_dir *dir;

	list_for_each_entry(dir, &vwc_vm_dirs, list)
		if (dir->md == md)
			return dir;
	return NULL;
}

/*
 * @vm's table resumes: its dm device's directory shows it from now on
 * (created with the first table resumed).
 */
int vwc_sysfs_vm_join(struct vwc_vm *vm)
{
	struct vwc_vm_dir *dir;
	int r;

	mutex_lock(&vwc_sysfs_lock);
	dir = vwc_vm_dir_find(vm->md);
	if (!dir) {
		dir = kzalloc(sizeof(*dir), GFP_KERNEL);
		r = -ENOMEM;
		if (!dir)
			goto out;
		r = vwc_kobj_add(&dir->k, &vwc_vm_ktype, vm->md, "vwcache");
		if (r) {
			kfree(dir);
			goto out;
		}
		dir->md = vm->md;
		list_add(&dir->list, &vwc_vm_dirs);
	}
	if (!vm->dir) {
		vm->dir = dir;
		dir->refs++;
	}
	dir->vm = vm;
	r = 0;
out:
	mutex_unlock(&vwc_sysfs_lock);
	if (r)
		DMERR("%s: cannot create the sysfs directory: %d",
		      dm_device_name(vm->md), r);
	return r;
}

/* @vm's table goes: the last one of its dm device takes the directory. */
void vwc_sysfs_vm_leave(struct vwc_vm *vm)
{
	struct vwc_vm_dir *dir = vm->dir;
	bool last;

	if (!dir)
		return;
	mutex_lock(&vwc_sysfs_lock);
	if (dir->vm == vm)
		dir->vm = NULL;
	last = --dir->refs == 0;
	if (last)
		list_del(&dir->list);
	mutex_unlock(&vwc_sysfs_lock);
	vm->dir = NULL;
	if (last) {
		vwc_kobj_del(&dir->k);
		kfree(dir);
	}
}

/* ---- pools -------------------------------------------------------------- */

enum vwc_pool_field {
	VWC_P_STATE, VWC_P_BLOCK_SIZE, VWC_P_TOTAL, VWC_P_FREE, VWC_P_DIRTY,
	VWC_P_RAM_FIXED, VWC_P_RAM_BLOCKS,
	VWC_P_SETTING,	/* writable: the key is the file's name */
	VWC_P_LOCK,	/* locks/: acquisitions of lock @lock */
};

struct vwc_pool_attr {
	struct attribute attr;
	enum vwc_pool_field field;
	enum vwc_lock_id lock;
};

struct vwc_pool_dir {
	struct vwc_kobj k;
	struct vwc_pool *pool;
};

static struct vwc_pool *vwc_pool_of(struct kobject *kobj)
{
	return container_of(kobj, struct vwc_pool_dir, k.kobj)->pool;
}

/*
 * The vm_ids of the VM devices attached, one a line.  A binary attribute,
 * read at any offset: the listing of up to VWC_MAX_VMS vm_ids outgrows the
 * one page a show() fills.  Each read walks the slots again and copies the
 * part of the listing in [off, off + count).
 */
static ssize_t vwc_pool_read_vms(struct file *file, struct kobject *kobj,
				 struct bin_attribute *attr, char *buf,
				 loff_t off, size_t count)
{
	struct vwc_pool *pool = vwc_pool_of(kobj);
	char line[VWC_VM_ID_MAX + 2];
	loff_t pos = 0;
	size_t n = 0;
	u32 i;

	vwc_pool_lock(pool);
	vwc_cache_lock_irq(pool);
	for (i = 0; i < pool->sb.layout.max_vms && n < count; i++) {
		size_t len, from, take;

		if (!pool->slots[i].nr_attached)
			continue;
		len = scnprintf(line, sizeof(line), "%s\n",
				pool->slots[i].vm_id);
		if (pos + len > off) {
			from = off > pos ? off - pos : 0;
			take = min(len - from, count - n);
			memcpy(buf + n, line + from, take);
			n += take;
		}
		pos += len;
	}
	spin_unlock_irq(&pool->cache_lock);
	mutex_unlock(&pool->lock);
	return n;
}

static ssize_t vwc_pool_attr_show(struct kobject *kobj,
				  struct attribute *attr, char *buf)
{
	struct vwc_pool *pool = vwc_pool_of(kobj);
	struct vwc_pool_attr *a = container_of(attr, struct vwc_pool_attr,
					       attr);
	const struct vwc_key *key;
	u64 v;

	switch (a->field) {
	case VWC_P_STATE:
		return sysfs_emit(buf, "%s\n",
				  vwc_pool_state_name(READ_ONCE(pool->state)));
	case VWC_P_RAM_FIXED:
		return sysfs_emit(buf, "%llu\n", vwc_cache_ram(pool, false));
	case VWC_P_RAM_BLOCKS:
		return sysfs_emit(buf, "%llu\n", vwc_cache_ram(pool, true));
	case VWC_P_SETTING:
		key = vwc_find_key(vwc_pool_keys, vwc_nr_pool_keys,
				   attr->name);
		vwc_pool_lock(pool);
		v = vwc_key_get(key, &pool->settings);
		mutex_unlock(&pool->lock);
		return sysfs_emit(buf, "%llu\n", v);
	case VWC_P_LOCK:
		return sysfs_emit(buf, "%llu\n", vwc_lock_count(pool, a->lock));
	default:
		break;
	}
	vwc_cache_lock_irq(pool);
	if (a->field == VWC_P_BLOCK_SIZE)
		v = pool->sb.layout.block_size;
	else if (a->field == VWC_P_TOTAL)
		v = pool->sb.layout.nr_blocks;
	else if (a->field == VWC_P_FREE)
		v = pool->sb.layout.nr_blocks - pool->nr_valid;
	else
		v = pool->nr_dirty;
	spin_unlock_irq(&pool->cache_lock);
	return sysfs_emit(buf, "%llu\n", v);
}

static ssize_t vwc_pool_attr_store(struct kobject *kobj,
				   struct attribute *attr, const char *buf,
				   size_t len)
{
	struct vwc_pool *pool = vwc_pool_of(kobj);
	struct vwc_pool_attr *a = container_of(attr, struct vwc_pool_attr,
					       attr);
	char value[VWC_SYSFS_VALUE_MAX];
	const char *error = NULL;
	int r;

	if (a->field != VWC_P_SETTING)
		return -EPERM;
	r = vwc_sysfs_value(buf, len, value);
	if (r)
		return r;
	vwc_pool_lock(pool);
	r = vwc_pool_set_locked(pool, attr->name, value, &error);
	mutex_unlock(&pool->lock);
	if (r)
		DMWARN_LIMIT("%s: sysfs write of %s refused: %s",
			     dm_device_name(pool->md), attr->name, error);
	return r ? r : len;
}

static const struct sysfs_ops vwc_pool_sysfs_ops = {
	.show = vwc_pool_attr_show,
	.store = vwc_pool_attr_store,
};

#define VWC_POOL_ATTR(_name, _field, _mode)				\
	static struct vwc_pool_attr vwc_pool_attr_##_name = {		\
		.attr = { .name = #_name, .mode = _mode },		\
		.field = _field,					\
	}
#define VWC_POOL_SETTING(_name) VWC_POOL_ATTR(_name, VWC_P_SETTING, 0644)

VWC_POOL_ATTR(state, VWC_P_STATE, 0444);
VWC_POOL_ATTR(block_size, VWC_P_BLOCK_SIZE, 0444);
VWC_POOL_ATTR(total_blocks, VWC_P_TOTAL, 0444);
VWC_POOL_ATTR(free_blocks, VWC_P_FREE, 0444);
VWC_POOL_ATTR(dirty_blocks, VWC_P_DIRTY, 0444);
VWC_POOL_ATTR(ram_fixed_bytes, VWC_P_RAM_FIXED, 0444);
VWC_POOL_ATTR(ram_block_bytes, VWC_P_RAM_BLOCKS, 0444);
VWC_POOL_SETTING(high_watermark);
VWC_POOL_SETTING(low_watermark);
VWC_POOL_SETTING(max_age);
VWC_POOL_SETTING(commit_interval);
VWC_POOL_SETTING(writeback_iops);
VWC_POOL_SETTING(io_capacity_iops);
VWC_POOL_SETTING(io_capacity_bw);
VWC_POOL_SETTING(sequential_cutoff);
VWC_POOL_SETTING(writeback_depth);

static struct attribute *vwc_pool_attrs[] = {
	&vwc_pool_attr_state.attr, &vwc_pool_attr_block_size.attr,
	&vwc_pool_attr_total_blocks.attr, &vwc_pool_attr_free_blocks.attr,
	&vwc_pool_attr_dirty_blocks.attr,
	&vwc_pool_attr_ram_fixed_bytes.attr, &vwc_pool_attr_ram_block_bytes.attr,
	&vwc_pool_attr_high_watermark.attr, &vwc_pool_attr_low_watermark.attr,
	&vwc_pool_attr_max_age.attr, &vwc_pool_attr_commit_interval.attr,
	&vwc_pool_attr_writeback_iops.attr,
	&vwc_pool_attr_io_capacity_iops.attr,
	&vwc_pool_attr_io_capacity_bw.attr,
	&vwc_pool_attr_sequential_cutoff.attr,
	&vwc_pool_attr_writeback_depth.attr,
	NULL,
};

static struct bin_attribute vwc_pool_attr_vms = {
	.attr = { .name = "vms", .mode = 0444 },
	.read = vwc_pool_read_vms,
};

static struct bin_attribute *vwc_pool_bin_attrs[] = {
	&vwc_pool_attr_vms, NULL,
};

static const struct attribute_group vwc_pool_group = {
	.attrs = vwc_pool_attrs,
	.bin_attrs = vwc_pool_bin_attrs,
};

#define VWC_POOL_LOCK(_name, _id)					\
	static struct vwc_pool_attr vwc_pool_attr_##_name = {		\
		.attr = { .name = #_name, .mode = 0444 },		\
		.field = VWC_P_LOCK,					\
		.lock = _id,						\
	}

VWC_POOL_LOCK(cache_lock, VWC_LOCK_CACHE);
VWC_POOL_LOCK(share_lock, VWC_LOCK_SHARE);
VWC_POOL_LOCK(pool_lock, VWC_LOCK_POOL);
VWC_POOL_LOCK(commit_lock, VWC_LOCK_COMMIT);
VWC_POOL_LOCK(wbbuf_lock, VWC_LOCK_WBBUF);

static struct attribute *vwc_pool_lock_attrs[] = {
	&vwc_pool_attr_cache_lock.attr, &vwc_pool_attr_share_lock.attr,
	&vwc_pool_attr_pool_lock.attr, &vwc_pool_attr_commit_lock.attr,
	&vwc_pool_attr_wbbuf_lock.attr,
	NULL,
};

static const struct attribute_group vwc_pool_lock_group = {
	.name = "locks",
	.attrs = vwc_pool_lock_attrs,
};

static const struct attribute_group *vwc_pool_groups[] = {
	&vwc_pool_group, &vwc_pool_lock_group, NULL,
};

static const struct kobj_type vwc_pool_ktype = {
	.sysfs_ops = &vwc_pool_sysfs_ops,
	.default_groups = vwc_pool_groups,
	.release = vwc_kobj_release,
};

/* The pool's directory, when its first table resumes. */
int vwc_sysfs_pool_add(struct vwc_pool *pool)
{
	struct vwc_pool_dir *dir;
	int r = 0;

	mutex_lock(&vwc_sysfs_lock);
	if (pool->kobj)
		goto out;
	r = -ENOMEM;
	dir = kzalloc(sizeof(*dir), GFP_KERNEL);
	if (!dir)
		goto out;
	dir->pool = pool;
	r = vwc_kobj_add(&dir->k, &vwc_pool_ktype, pool->md, "vwcache_pool");
	if (r) {
		kfree(dir);
		goto out;
	}
	pool->kobj = &dir->k;
out:
	mutex_unlock(&vwc_sysfs_lock);
	if (r)
		DMERR("%s: cannot create the sysfs directory: %d",
		      dm_device_name(pool->md), r);
	return r;
}

void vwc_sysfs_pool_del(struct vwc_pool *pool)
{
	struct vwc_kobj *k;

	mutex_lock(&vwc_sysfs_lock);
	k = pool->kobj;
	pool->kobj = NULL;
	mutex_unlock(&vwc_sysfs_lock);
	if (!k)
		return;
	vwc_kobj_del(k);
	kfree(container_of(k, struct vwc_pool_dir, k));
}
