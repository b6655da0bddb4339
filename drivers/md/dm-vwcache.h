/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache: the objects the kernel side shares between its files.
 *
 * A pool (struct vwc_pool) is created by the first vwcache-pool table of a
 * dm device and lives, reference counted, while any pool table of that
 * device or any VM device (struct vwc_vm) uses it; a table reload reuses
 * it.  VM devices reach their pool through the registry, by the pool's dm
 * device, and do their I/O through the pool object, never through the
 * pool's dm device (which fails every bio).
 *
 * Lock order (outermost first):
 *   vwc_registry_lock (mutex, dm-vwcache-registry.c)
 *     pool->lock (mutex): pool settings, VM list, metadata commits
 * Nothing here is taken on the I/O path except the per-VM counters, which
 * are lockless.
 */
#ifndef DM_VWCACHE_H
#define DM_VWCACHE_H

#include <linux/device-mapper.h>
#include <linux/dm-bufio.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/refcount.h>

#include "dm-vwcache-args.h"
#include "dm-vwcache-compat.h"
#include "dm-vwcache-format.h"

#define DM_MSG_PREFIX "vwcache"

enum vwc_pool_state {
	VWC_POOL_OK,
	VWC_POOL_DEGRADED,
	VWC_POOL_FAILED,
};

enum vwc_vm_state {
	VWC_VM_OK,
	VWC_VM_FLUSHING,
	VWC_VM_MIGRATING,
	VWC_VM_CLEAN,
	VWC_VM_ERROR,
};

struct vwc_pool {
	struct list_head list;		/* in the registry */
	refcount_t ref;
	struct mapped_device *md;	/* the pool's dm device: registry key */
	dev_t cache_dev;		/* registry key too */
	struct vwc_bdev_ref cache;	/* the pool's own open of it */
	struct dm_bufio_client *bufio;	/* superblock and metadata I/O */

	struct mutex lock;
	struct vwc_pool_settings settings;
	struct vwc_sb sb;		/* in memory copy of the newest */
	enum vwc_pool_state state;
	struct list_head vms;		/* struct vwc_vm, under lock */
	unsigned int nr_vms;
	u64 commits;
};

/* Per-CPU I/O counters of a VM device. */
struct vwc_vm_stats {
	u64 reads;
	u64 writes;
	u64 read_bytes;
	u64 write_bytes;
};

struct vwc_vm {
	struct list_head list;		/* in pool->vms, under pool->lock */
	struct vwc_pool *pool;
	struct dm_target *ti;
	struct mapped_device *md;
	struct dm_dev *pool_dev;
	struct dm_dev *origin_dev;
	char vm_id[VWC_VM_ID_MAX + 1];

	struct vwc_vm_settings settings;	/* under pool->lock */
	u64 mode_before_migrate;
	enum vwc_vm_state state;
	struct vwc_vm_stats __percpu *stats;
};

/* dm-vwcache-registry.c */
int vwc_pool_get_by_md(struct mapped_device *md, struct vwc_pool **pool);
struct vwc_pool *vwc_pool_find_by_cache_dev(dev_t dev);
bool vwc_dev_is_vwcache(dev_t dev);
void vwc_registry_lock(void);
void vwc_registry_unlock(void);
void vwc_pool_register(struct vwc_pool *pool);
void vwc_pool_put(struct vwc_pool *pool);
int vwc_pool_attach_vm(struct vwc_pool *pool, struct vwc_vm *vm,
		       const char **error);
void vwc_pool_detach_vm(struct vwc_pool *pool, struct vwc_vm *vm);

/* dm-vwcache-pool.c */
extern struct target_type vwc_pool_target;
void vwc_pool_destroy(struct vwc_pool *pool);

/* dm-vwcache-vm.c */
extern struct target_type vwc_vm_target;

#endif /* DM_VWCACHE_H */
