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
 *   vwc_sysfs_lock (mutex, dm-vwcache-sysfs.c): the sysfs directories
 *   and the VM device each VM directory shows
 *     pool->commit_lock (mutex): one metadata commit at a time
 *       pool->lock (mutex): pool settings, VM list, which accounting
 *       each slot has and the pool's figures; held by the tick
 *       while it raises dm events (dm core's table srcu and its event
 *       mutex, under which dm calls nothing of ours)
 *         pool->cache_lock (spinlock, irq safe): block table, lists,
 *         policy, slots, deferred bios; the only lock of the I/O path,
 *         never held across I/O or a sleeping allocation.  Read hits and
 *         in-place writes to dirty blocks take none: they pin the block
 *         through its pin word (dm-vwcache-blocks.h) and check it
 *         (vwc_map_quick(), Documentation/dev/design.rst)
 *           each CPU's buffer of pins given back later (spinlock, irq
 *           safe, dm-vwcache-unpin.h): also taken alone by completions
 * The pool's own asynchronous I/O (writeback runs, promotion copies) is
 * counted under cache_lock, and its completion touches the pool only
 * under cache_lock, in the same hold that drops the count:
 * vwc_pool_stop() reads the counts under cache_lock, so once they are
 * zero the pool may go.
 * A slot's owner (slot->vm: the resumed VM table, see vwc_vm_own_slot())
 * changes under cache_lock; writeback uses the owner's origin only (a
 * FLUSH flushes the origin of the table it reaches; commits none).
 * Releasing it (postsuspend) then waits for the slot's runs, with no
 * lock of ours held.
 * Leaves, under which no other lock of ours is taken: pool->share_lock
 * (spinlock, irq safe: throttling, dm-vwcache-throttle.c) and each
 * accounting's lock (its base and samples, dm-vwcache-stats.c).
 * Counters are per CPU and lockless, one block per VM slot (slot->acct).
 * A slot's accounting is set, and taken away with its sums folded into
 * pool->acct_retired, under pool->lock (and cache_lock): the pool's
 * figures walk the slots under pool->lock alone (vwc_pool_stats()).
 */
#ifndef DM_VWCACHE_H
#define DM_VWCACHE_H

#include <linux/device-mapper.h>
#include <linux/dm-bufio.h>
#include <linux/dm-io.h>
#include <linux/bio.h>
#include <linux/workqueue.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/refcount.h>
#include <linux/kobject.h>
#include <linux/completion.h>

#include "dm-vwcache-args.h"
#include "dm-vwcache-compat.h"
#include "dm-vwcache-format.h"
#include "dm-vwcache-origin.h"
#include "dm-vwcache-blocks.h"
#include "dm-vwcache-policy.h"
#include "dm-vwcache-seq.h"
#include "dm-vwcache-share.h"
#include "dm-vwcache-stats.h"
#include "dm-vwcache-tbucket.h"
#include "dm-vwcache-throttle.h"
#include "dm-vwcache-unpin.h"
#include "dm-vwcache-wbbuf.h"
#include "dm-vwcache-wbplan.h"

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

/*
 * Block flags of the kernel side, beside the core's VWC_B_* (see
 * dm-vwcache-blocks.h and Documentation/dev/design.rst).
 */
#define VWC_B_PENDING	0x0100	/* first data write in flight (I4) */
#define VWC_B_ZOMBIE	0x0200	/* unmapped while pinned: release at unpin */
#define VWC_B_META0	0x0400	/* entry to rewrite: changed in generation 0 */
#define VWC_B_META1	0x0800	/* ... in generation 1 (see the commit) */
#define VWC_B_META(gen)	(VWC_B_META0 << (gen))
#define VWC_B_STALE	0x1000	/* invalidated while pinned: no hit while */
				/* clean, dropped at the last unpin if clean */

/*
 * A VM slot: one record of the pool's VM table.  It outlives the VM
 * devices attached to it: dirty blocks of a removed VM device stay with
 * their slot until the vm_id attaches again.  Under pool->cache_lock.
 */
#define VWC_SLOT_BUCKETS	1024	/* vm_id hash buckets, power of 2 */
#define VWC_SLOT_NIL		U16_MAX

struct vwc_slot {
	char vm_id[VWC_VM_ID_MAX + 1];
	bool in_use;
	u16 hnext;			/* next in use in its vm_id bucket */
	bool meta;			/* record to rewrite at next commit */
	bool put_pending;		/* no blocks, no VM: free the record */
	bool put_frozen;		/* ... once the commit under way ends */
	struct list_head put_entry;	/* in pool->slots_put while either */
	u64 generation;
	struct vwc_vm *vm;		/* the resumed VM table, or NULL */
	unsigned int nr_attached;	/* >1 during a table reload */
	struct vwc_list dirty;		/* dirty blocks, oldest first */
	u64 dirty_subs;			/* ... their sub-blocks */
	u32 nr_cached;
	u32 flush_before;		/* flush: blocks dirtied before this */
	bool flushing;
	bool flush_all;			/* ... or until none is dirty */
	bool drain;			/* a write waits for a dirty block */
	bool origin_written;		/* written around: FLUSH flushes it */
	u32 origin_flushes;		/* ... FLUSHes of it in flight */
	u64 undirtied;			/* the freeze whose commit records */
					/* a dirty block gone clean or free */
	u32 wb_jobs;			/* writeback runs not finished */
	u32 wb_inflight;		/* ... of them reading or writing */
	u32 wb_from;			/* where its next plan goes on from */
	struct list_head wb_entry;	/* in pool->wb_slots, see */
					/* vwc_wb_enlist_locked() */
	struct list_head wb_to_write;	/* ... read, to write */
	struct work_struct wb_write_work; /* writes them: vwc_wb_write_work */
	struct list_head wb_to_flush;	/* ... written, buffer to free */
	struct list_head wb_written;	/* ... buffer freed, to flush */
	struct list_head wb_flushed;	/* ... covered by the flush in */
					/* flight (from pool->flush_bs) */
	bool wb_flush_busy;		/* ... in flight or not seen done */
	bool wb_flush_done;		/* ... completed, with: */
	blk_status_t wb_flush_status;
	struct work_struct wb_flush_work; /* does: vwc_wb_flush_work */
	struct vwc_pool *pool;		/* of the work items */
	unsigned long wb_retry_at;	/* jiffies: back off after errors */
	unsigned long wb_backoff;
	u64 wb_errors;
	u64 writeback_blocks;
	struct vwc_acct *acct;		/* accounting while attached: */
					/* changes under pool->lock too */
	dev_t origin;			/* clean blocks are copies of it */
	struct vwc_origin_id origin_id;	/* dirty blocks belong to it: the */
					/* record's, set at resume */
	struct vwc_attach_record *attach; /* how it was last attached, */
					/* NULL if not known */
	u64 quota;			/* cache_quota of the VM, 0 = none */
	bool quota_full;		/* at its quota: write back, drop */
};

/* A sysfs directory and what it waits for when it goes. */
struct vwc_kobj {
	struct kobject kobj;
	struct completion released;
};

struct vwc_wb_job;

struct vwc_pool {
	struct list_head list;		/* in the registry */
	refcount_t ref;
	struct mapped_device *md;	/* the pool's dm device: registry key */
	dev_t cache_dev;		/* registry key too */
	struct vwc_bdev_ref cache;	/* the pool's own open of it */
	struct dm_bufio_client *bufio;	/* superblock and metadata I/O */
	struct dm_io_client *io_client;	/* writeback copies */

	struct mutex lock;
	struct vwc_pool_settings settings;
	struct vwc_sb sb;		/* in memory copy of the newest */
	enum vwc_pool_state state;
	enum vwc_pool_state event_state; /* last raised, under lock */
	struct dm_target *live_ti;	/* resumed pool target, under lock */
	struct list_head vms;		/* struct vwc_vm, under lock */
	unsigned int nr_vms;
	u64 commits;

	/* Geometry, fixed once loaded. */
	sector_t data_start;
	unsigned int block_shift;	/* log2 of sectors per block */
	unsigned int sub_shift;		/* log2 of sectors per sub-block */
	u16 sub_full;			/* every sub-block of a block */
	u32 entries_per_page;		/* per 4 KiB entry page */
	u32 seed;			/* checksum seed of records */

	/* The cache state, under cache_lock (a spinlock, irq safe). */
	spinlock_t cache_lock;
	struct vwc_blocks blocks;
	struct vwc_unpins __percpu *unpins;	/* pins given back later */
	struct vwc_policy policy;
	struct vwc_filter filter;
	struct bio_set split_bs;	/* reads of partly cached blocks */
	struct bio_set flush_bs;	/* writeback's flushes of origins */
	struct vwc_slot *slots;
	u16 slot_hash[VWC_SLOT_BUCKETS];	/* in-use slots by vm_id */
	DECLARE_BITMAP(slots_used, VWC_MAX_VMS);	/* ... and by index */
	unsigned long *meta_pages[2];	/* entry pages with META blocks */
	unsigned long *vm_pages;	/* VM table pages to rewrite */
	unsigned long *attach_pages;	/* attachment table pages to rewrite */
	unsigned int meta_gen;		/* generation changes are marked in */
	u64 freezes;			/* commits frozen so far */
	u64 freezes_durable;		/* ... and made durable */
	u32 nr_meta_pages;
	u32 nr_dirty;
	u32 nr_valid;
	u32 wb_inflight;		/* writeback runs reading or writing: */
	u64 wb_inflight_bytes;		/* ... their bytes (buffers held) */
	u32 wb_unfinished;		/* ... and those awaiting a flush */
	u64 wb_unfinished_bytes;	/* ... all their bytes */
	struct vwc_wbbuf wbbuf;		/* ... their buffers' free pages */
	u32 wb_idle_ticks;		/* ticks with none in flight */
	u64 vm_ios;			/* VM bios counted, at the last tick */
	bool vm_idle;			/* none since: writeback at full pace */
	u32 promotions;			/* promotion copies in flight */
	struct list_head wb_slots;	/* slots that may want writeback, */
					/* the next to consider first */
	u32 nr_wb_slots;		/* ... how many */
	struct list_head slots_put;	/* slots put_pending or put_frozen */
	bool wb_high;			/* above high watermark: until low */
	bool meta_marked[2];		/* any META in that generation */
	u32 *wb_cbs;			/* writeback planning scratch */
	u16 *wb_subs;			/* ... their sub-blocks as planned */
	struct vwc_wb_run *wb_runs;
	u32 *wb_order;			/* ... their reads in cblock order */
	struct vwc_wb_job **wb_jobs;	/* ... the job of each run */
	struct vwc_tbucket wb_tb;	/* writeback_iops */
	wait_queue_head_t wb_wait;
	bool commit_failed;
	bool alloc_failed;		/* a write found no free block */
	bool all_dirty;			/* ... nor a clean one to evict */
	u32 *write_epoch;		/* promotion guard, by key hash */
	u32 *write_inflight;		/* ... writes around in flight */
	struct bio_list promote_bios;	/* read misses to copy, held */
	struct bio_list deferred;	/* bios to map again */
	bool drain_waiters;		/* ... one waits for a writeback: */
					/* the tick maps them again */
	struct bio_list commit_waiters;	/* bios completing after a commit */
	u64 wb_total;			/* blocks written back, for status */

	/*
	 * The pool's figures (vwc_pool_stats()), under lock: the sums of the
	 * slots' accountings freed so far, and those of all at the pool's
	 * last clear_stats.
	 */
	struct vwc_stats acct_retired;
	struct vwc_stats acct_base;

	/* Throttling (dm-vwcache-throttle.c), under share_lock. */
	spinlock_t share_lock;
	struct vwc_share share;
	struct list_head backlogged;	/* VMs with bios waiting */
	struct delayed_work throttle_work;

	struct vwc_kobj *kobj;		/* vwcache_pool/ in sysfs */

	struct workqueue_struct *wq;
	struct work_struct commit_work;
	struct work_struct wb_work;
	struct work_struct deferred_work;
	struct work_struct promote_work;
	struct delayed_work tick_work;	/* commit_interval, max_age */
	struct mutex commit_lock;	/* one commit at a time */
	struct vwc_commit *commit;	/* its state, under commit_lock */
	unsigned long last_commit;	/* jiffies */
	bool suspended;
	struct vwc_lock_counts __percpu *lock_counts;
};

/*
 * Acquisitions of the pool-wide locks, counted per CPU (no cache line
 * shared between CPUs to count them): the pool's sysfs locks/ (the admin
 * guide, "sysfs"), which make bench prints per I/O.  Every acquisition of
 * cache_lock, share_lock, pool->lock and commit_lock goes through the
 * helpers below (their release is the lock's own); the writeback buffers'
 * lock counts its own (dm-vwcache-wbbuf.h).
 */
enum vwc_lock_id {
	VWC_LOCK_CACHE,
	VWC_LOCK_SHARE,
	VWC_LOCK_POOL,
	VWC_LOCK_COMMIT,
	VWC_LOCKS,		/* counted per CPU: the above */
	VWC_LOCK_WBBUF = VWC_LOCKS,	/* counted under it: wbbuf.acquired */
};

struct vwc_lock_counts {
	u64 n[VWC_LOCKS];
};

static inline void vwc_lock_counted(struct vwc_pool *pool,
				    enum vwc_lock_id id)
{
	this_cpu_inc(pool->lock_counts->n[id]);
}

u64 vwc_lock_count(struct vwc_pool *pool, enum vwc_lock_id id);

#define vwc_cache_lock_irqsave(pool, flags)				\
	do {								\
		spin_lock_irqsave(&(pool)->cache_lock, flags);		\
		vwc_lock_counted(pool, VWC_LOCK_CACHE);			\
	} while (0)

#define vwc_share_lock_irqsave(pool, flags)				\
	do {								\
		spin_lock_irqsave(&(pool)->share_lock, flags);		\
		vwc_lock_counted(pool, VWC_LOCK_SHARE);			\
	} while (0)

static inline void vwc_cache_lock_irq(struct vwc_pool *pool)
	__acquires(&pool->cache_lock)
{
	spin_lock_irq(&pool->cache_lock);
	vwc_lock_counted(pool, VWC_LOCK_CACHE);
}

/* With interrupts already off. */
static inline void vwc_cache_lock(struct vwc_pool *pool)
	__acquires(&pool->cache_lock)
{
	spin_lock(&pool->cache_lock);
	vwc_lock_counted(pool, VWC_LOCK_CACHE);
}

static inline void vwc_share_lock_irq(struct vwc_pool *pool)
	__acquires(&pool->share_lock)
{
	spin_lock_irq(&pool->share_lock);
	vwc_lock_counted(pool, VWC_LOCK_SHARE);
}

static inline void vwc_pool_lock(struct vwc_pool *pool)
{
	mutex_lock(&pool->lock);
	vwc_lock_counted(pool, VWC_LOCK_POOL);
}

static inline bool vwc_pool_trylock(struct vwc_pool *pool)
{
	if (!mutex_trylock(&pool->lock))
		return false;
	vwc_lock_counted(pool, VWC_LOCK_POOL);
	return true;
}

static inline void vwc_commit_lock(struct vwc_pool *pool)
{
	mutex_lock(&pool->commit_lock);
	vwc_lock_counted(pool, VWC_LOCK_COMMIT);
}

struct vwc_vm_dir;

struct vwc_vm {
	struct list_head list;		/* in pool->vms, under pool->lock */
	struct vwc_pool *pool;
	struct dm_target *ti;
	struct mapped_device *md;
	struct dm_dev *pool_dev;
	struct dm_dev *origin_dev;
	struct vwc_origin origin;	/* its identity, read at ctr */
	char vm_id[VWC_VM_ID_MAX + 1];
	u32 slot;
	u32 wb_depth_auto;		/* origin's queue depth (blk-mq), */
					/* else 0: see vwc_wb_vm_depth() */

	struct vwc_vm_settings settings;	/* under pool->lock */
	u64 mode_before_migrate;
	enum vwc_vm_state state;
	enum vwc_vm_state event_state;	/* last raised, under pool->lock */
	struct vwc_acct *acct;		/* the slot's (shared on reload) */
	struct vwc_acct *acct_new;	/* ours until attached */
	struct vwc_attach_record attach;	/* how we attach: the slot's */
					/* attachment record, under pool->lock */
	struct vwc_attach_record *attach_new;	/* the slot's, if it has none */
	struct vwc_throttle throttle;
	struct vwc_seq seq;		/* its streams, under cache_lock */
	struct vwc_vm_dir *dir;		/* sysfs, once resumed */
};

struct vwc_commit;

/* Per bio data of VM devices: what end_io must finish. */
enum vwc_io_kind {
	VWC_IO_NONE,
	VWC_IO_ORIGIN,		/* remapped to the origin */
	VWC_IO_HIT,		/* read or write of a mapped block */
	VWC_IO_FILL,		/* first write of a PENDING block */
	VWC_IO_PROMOTE,		/* read miss to copy into the pool */
	VWC_IO_FLUSH,		/* waits for a commit */
	VWC_IO_SSD_FLUSH,	/* a FLUSH sent to the SSD alone */
	VWC_IO_ORIGIN_FLUSH,	/* a FLUSH's flush of the origin */
};

struct vwc_io {
	/* From its arrival to its completion (vwc_io_start()): */
	struct vwc_vm *vm;
	u64 start_ns;		/* arrival, for the latency */
	bool counted;		/* in the counters: once, when mapped */
	bool drain_wait;	/* waits for a writeback, since: */
	u32 drain_since;	/* ... jiffies (32 bits), VWC_DRAIN_WAIT */
	bool bypass;		/* sequential past the cutoff, under pressure */
	bool seq_noted;		/* noted in vm->seq by this mapping */
	/*
	 * Set by each mapping: rec whole, from oblock on zeroed again when
	 * the bio is mapped again (vwc_map_bio()).
	 */
	struct vwc_bio_details rec; /* as mapped: a retry, a promotion */
	u64 oblock;
	u32 cb;
	u32 epoch;		/* promotion guard */
	u32 nr;			/* blocks of the run, from cb (and oblock) */
	u8 kind;
	bool write;
	bool fua;
	bool clean_hit;		/* read of clean blocks: retry at origin */
	bool split;		/* read of a dirty block split by device */
	bool coalesced;
	bool retry;		/* resubmit to the origin (SSD failed) */
	bool wait_space;	/* deferred until a commit frees blocks */
	bool hot;		/* promoted because the filter found it hot */
	bool write_around;	/* counted in pool->write_inflight */
	bool finished;		/* its completion, held (a commit, a copy), is over */
};
/* dm-vwcache-registry.c */
int vwc_pool_get_by_md(struct mapped_device *md, struct vwc_pool **pool);
struct vwc_pool *vwc_pool_find_by_cache_dev(dev_t dev);
bool vwc_dev_is_vwcache(dev_t dev);
/* A pool being created outside the registry lock (dm-vwcache-registry.c). */
struct vwc_pool_creating {
	struct list_head list;
	dev_t cache_dev;
};

void vwc_registry_reserve(struct vwc_pool_creating *c, dev_t cache_dev);
void vwc_registry_unreserve(struct vwc_pool_creating *c);
bool vwc_pool_creating(dev_t cache_dev);
void vwc_registry_lock(void);
void vwc_registry_unlock(void);
void vwc_pool_register(struct vwc_pool *pool);
void vwc_pool_put(struct vwc_pool *pool);
int vwc_pool_attach_vm(struct vwc_pool *pool, struct vwc_vm *vm,
		       const char **error);
void vwc_pool_detach_vm(struct vwc_pool *pool, struct vwc_vm *vm);

/*
 * Waking the pool's work items: the one place, so that the files that
 * change state (cache, commit, writeback, the data path) wake the work
 * that waits for it without calling into each other's code.
 *  - deferred: bios that wait for a commit, a block's writeback or a pin
 *    (dm-vwcache-io.c); woken only when some wait;
 *  - writeback (dm-vwcache-writeback.c), commit (dm-vwcache-commit.c).
 */
static inline void vwc_kick_deferred(struct vwc_pool *pool)
{
	if (!bio_list_empty(&pool->deferred))
		queue_work(pool->wq, &pool->deferred_work);
}

static inline void vwc_kick_writeback(struct vwc_pool *pool)
{
	queue_work(pool->wq, &pool->wb_work);
}

static inline void vwc_kick_commit(struct vwc_pool *pool)
{
	queue_work(pool->wq, &pool->commit_work);
}

/* dm-vwcache-vm.c */
extern struct target_type vwc_vm_target;
enum vwc_vm_state vwc_vm_state(struct vwc_vm *vm);
const char *vwc_vm_state_name(enum vwc_vm_state state);
int vwc_vm_set_locked(struct vwc_vm *vm, const char *key, const char *value,
		      const char **error);

/* dm-vwcache-pool.c */
extern struct target_type vwc_pool_target;
void vwc_pool_destroy(struct vwc_pool *pool);
const char *vwc_pool_state_name(enum vwc_pool_state state);
void vwc_pool_raise_events(struct vwc_pool *pool);
void vwc_pool_stats(struct vwc_pool *pool, struct vwc_stats *st);
int vwc_pool_set_locked(struct vwc_pool *pool, const char *key,
			const char *value, const char **error);

/* dm-vwcache-sysfs.c */
int vwc_sysfs_vm_join(struct vwc_vm *vm);
void vwc_sysfs_vm_leave(struct vwc_vm *vm);
int vwc_sysfs_pool_add(struct vwc_pool *pool);
void vwc_sysfs_pool_del(struct vwc_pool *pool);

#endif /* DM_VWCACHE_H */
