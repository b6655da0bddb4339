/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache block table and index: the in-RAM state of every cache block.
 *
 * A pool of nr cache blocks ("cblocks", 0..nr-1) has one struct vwc_block
 * each.  A valid block maps one origin block ("oblock") of one VM; the
 * index is a chained hash table of (vm, oblock) -> cblock whose chains
 * are threaded through the blocks themselves (hnext), so it costs one u32
 * bucket per 4/3 to 8/3 blocks and nothing per block.
 *
 * No array is one allocation (the kernel refuses kvmalloc() sizes above
 * INT_MAX, 76.7 M blocks in one array): the blocks are stored in chunks
 * of VWC_CHUNK_BLOCKS (64 Ki blocks, 2.5 MiB; the last one shorter), each
 * vmalloc'd on its own (whole pages, none wasted: kmalloc would round a
 * chunk up to a power of two), found through an array of chunk pointers;
 * the buckets in chunks of VWC_BUCKET_CHUNK (256 Ki buckets, 1 MiB).
 * vwc_block() is the two-level lookup, the only way to a block.  So a
 * table holds up to VWC_BLOCKS_MAX = 2^32 - 1 blocks, the most a u32
 * cblock can number with VWC_NIL (U32_MAX) left free to end lists and
 * chains: 16 TiB at 4 KiB blocks, 256 TiB at 64 KiB.  RAM is the limit
 * well before that (vwc_blocks_ram_per_block(), about 44 bytes a block).
 *
 * Every block is on at most one of these lists at a time, linked by
 * cblock index through its prev/next fields: a struct vwc_list is a head, a tail and a
 * count, nothing else, so lists cost no RAM per block either.  The lists
 * are: the free list; the blocks released since the last commit started
 * (free_pending); the blocks a commit in flight will free (committing);
 * the caller's per-VM dirty FIFOs; the policy's levels of clean blocks.
 *
 * Besides, every mapped block is on its VM's list of blocks, t->vms[vm],
 * through a second pair of links (vprev/vnext, 8 bytes a block): vwc_map()
 * adds it, vwc_unmap() takes it off.  So an operation on one VM's blocks
 * (drop its clean blocks at attach or detach, invalidate them, drop all of
 * them) visits that VM's blocks only, never the whole table, and nothing
 * else pays for it: the list changes only when a block is mapped or
 * unmapped, not on a hit, a policy move or a clean/dirty change, and the
 * policy's levels stay pool-wide (its behaviour is unchanged).  The
 * lists' heads are one fixed array of VWC_KEY_VM_MASK + 1 lists (48 KiB,
 * vwc_blocks_fixed_bytes()).  A walk that drops the caller's lock on the
 * way uses vwc_vm_rotate() (see there), which stays correct whatever is
 * mapped or unmapped meanwhile.
 * Kernel RAM per block, filter included: see vwc_blocks_ram_per_block().
 *
 * Rules and invariants:
 * - A block is in the hash table if and only if VWC_B_VALID is set, and
 *   (vm, oblock) is mapped by at most one block: vwc_map() requires that
 *   vwc_lookup() found nothing (the caller looks up first).
 * - A cache block is never reused while durable metadata still maps it.
 *   vwc_release() does not free a block: it goes on free_pending, and
 *   the caller marks its metadata entry free at the same time (under the
 *   same lock).  A commit calls vwc_commit_begin() when it takes the
 *   metadata it will write (this detaches the blocks pending at that
 *   instant, whose entries it holds) and vwc_commit_end() once the write
 *   is durable: only those blocks go to the free list, so a block
 *   released while the commit was in flight waits for the next one.
 *   vwc_commit_abort() if the write failed.  vwc_alloc() takes only from
 *   the free list.  Commits are serialised: one begin, then end or abort.
 * - A block is on t->vms[vm] if and only if VWC_B_VALID is set, vm being
 *   the VM in its key; the list's count is the VM's mapped blocks.
 * - At load, every block starts on the free list; vwc_claim() takes off
 *   it each block the metadata maps, before any alloc or release.
 * - List operations trust their caller: a block pushed must be on no
 *   list, a block deleted must be on the list given.  vwc_list_valid()
 *   checks a list from end to end, for tests and debugging.
 * - Nothing here sleeps except init/exit (allocation), nothing locks:
 *   the caller serialises every call on one table (one spinlock), except
 *   vwc_lookup_quick(), vwc_block_is() and the pin word's helpers, which
 *   are for readers without that lock (see the pin word below): the
 *   index's links and buckets are written with WRITE_ONCE for them, and
 *   the block array is never freed while the table lives.
 * - An unmapped block is dead (VWC_PIN_DEAD): at init, and from its
 *   release (the caller kills it first) until the caller revives it after
 *   mapping it again; vwc_alloc() and vwc_claim() leave it dead.
 *   vwc_blocks_init() that fails has freed whatever it allocated.
 */
#ifndef DM_VWCACHE_BLOCKS_H
#define DM_VWCACHE_BLOCKS_H

#include "dm-vwcache-core.h"

#define VWC_NIL			U32_MAX

/*
 * struct vwc_block.flags.  The core owns the low byte; the high byte is
 * the caller's, and vwc_release() and vwc_unmap() leave it alone (only
 * vwc_alloc() and vwc_claim() reset a block entirely).
 */
#define VWC_B_VALID		0x0001	/* mapped: in the hash table */
#define VWC_B_DIRTY		0x0002	/* newer than the origin */
#define VWC_B_WB		0x0004	/* writeback in flight */
#define VWC_B_REDIRTY		0x0008	/* written during writeback */
#define VWC_B_POLICY		0x0010	/* on a policy level (policy's own) */
#define VWC_B_CORE		0x00ff	/* the core's bits */

/* The key: oblock in bits 0-47, vm in 48-59, the policy's level in 60-62. */
#define VWC_KEY_OBLOCK_BITS	48
#define VWC_KEY_VM_SHIFT	48
#define VWC_KEY_VM_BITS		12
#define VWC_KEY_LEVEL_SHIFT	60
#define VWC_KEY_LEVEL_BITS	3
#define VWC_KEY_OBLOCK_MASK	((1ULL << VWC_KEY_OBLOCK_BITS) - 1)
#define VWC_KEY_VM_MASK		((1U << VWC_KEY_VM_BITS) - 1)
#define VWC_KEY_LEVEL_MASK	((1U << VWC_KEY_LEVEL_BITS) - 1)
#define VWC_KEY_ID_MASK		((1ULL << VWC_KEY_LEVEL_SHIFT) - 1)

/*
 * 40 bytes.  The 64-bit key is kept as two u32 halves so that the struct
 * is 4-byte aligned (a u64 member would pad it to 32 bytes); use the
 * accessors below.
 */
struct vwc_block {
	u32 key_lo;	/* key bits 0-31 */
	u32 key_hi;	/* key bits 32-63 */
	u32 hnext;	/* next cblock in the hash chain, VWC_NIL ends */
	u32 prev;	/* links of the one list the block is on */
	u32 next;
	u32 vprev;	/* links of its VM's list of mapped blocks */
	u32 vnext;
	u32 stamp;	/* dirty: time first dirtied (caller's unit); */
			/* clean: the policy's */
	u32 pins;	/* VWC_PIN_*: in-flight I/O using the block's data */
	u16 flags;	/* VWC_B_* */
	u16 sub;	/* the caller's: which sub-blocks hold data */
};

/* An intrusive doubly linked list over the block array, by cblock. */
struct vwc_list {
	u32 head;
	u32 tail;
	u32 count;
};

/* Blocks per chunk of the block array: 2.5 MiB of 40-byte blocks. */
#define VWC_CHUNK_SHIFT		16
#define VWC_CHUNK_BLOCKS	(1U << VWC_CHUNK_SHIFT)
#define VWC_CHUNK_MASK		(VWC_CHUNK_BLOCKS - 1)
/* Buckets per chunk of the hash table: 1 MiB. */
#define VWC_BUCKET_CHUNK_SHIFT	18
#define VWC_BUCKET_CHUNK	(1U << VWC_BUCKET_CHUNK_SHIFT)
#define VWC_BUCKET_CHUNK_MASK	(VWC_BUCKET_CHUNK - 1)

struct vwc_blocks {
	struct vwc_block **chunks;	/* nr_chunks chunks of blocks */
	u32 nr;
	u32 nr_chunks;
	u32 **buckets;			/* nr_bucket_chunks chunks */
	u32 nr_bucket_chunks;
	u32 hash_mask;
	struct vwc_list free;
	struct vwc_list free_pending;
	struct vwc_list committing;
	struct vwc_list *vms;		/* mapped blocks by VM, vprev/vnext */
	bool in_commit;
};

/* The VMs a key can name: one list of mapped blocks each. */
#define VWC_VMS			(VWC_KEY_VM_MASK + 1)

/*
 * The most blocks one table holds: cblocks are u32 and VWC_NIL is none of
 * them (nothing else caps it: see the chunks above).  A u64 block count
 * is checked against it before it is given to vwc_blocks_init().
 */
#define VWC_BLOCKS_MAX		((u64)VWC_NIL)

/* The largest power of two <= n (1 for n = 0), at most 2^31. */
static inline u32 vwc_pow2_below(u64 n)
{
	u32 p = 1;

	while ((u64)p * 2 <= n && p < 0x80000000U)
		p *= 2;
	return p;
}

int vwc_blocks_init(struct vwc_blocks *t, u32 nr);
void vwc_blocks_exit(struct vwc_blocks *t);
size_t vwc_blocks_bytes(u32 nr);
size_t vwc_blocks_ram_per_block(u32 nr_blocks);
size_t vwc_blocks_fixed_bytes(void);

/* Block @cb (< t->nr): its chunk, then its place in the chunk. */
static inline struct vwc_block *vwc_block(const struct vwc_blocks *t, u32 cb)
{
	return &t->chunks[cb >> VWC_CHUNK_SHIFT][cb & VWC_CHUNK_MASK];
}

static inline u64 vwc_block_key(const struct vwc_block *b)
{
	return (u64)b->key_hi << 32 | b->key_lo;
}

static inline void vwc_block_set_key(struct vwc_block *b, u64 key)
{
	b->key_lo = (u32)key;
	b->key_hi = (u32)(key >> 32);
}

static inline u64 vwc_block_oblock(const struct vwc_block *b)
{
	return vwc_block_key(b) & VWC_KEY_OBLOCK_MASK;
}

static inline u32 vwc_block_vm(const struct vwc_block *b)
{
	return (b->key_hi >> (VWC_KEY_VM_SHIFT - 32)) & VWC_KEY_VM_MASK;
}

static inline u32 vwc_block_level(const struct vwc_block *b)
{
	return (b->key_hi >> (VWC_KEY_LEVEL_SHIFT - 32)) & VWC_KEY_LEVEL_MASK;
}

static inline void vwc_block_set_level(struct vwc_block *b, u32 level)
{
	u32 shift = VWC_KEY_LEVEL_SHIFT - 32;

	b->key_hi = (b->key_hi & ~(VWC_KEY_LEVEL_MASK << shift)) |
		    (level & VWC_KEY_LEVEL_MASK) << shift;
}

/* Only for a block that is not mapped: the hash chains hold the key. */
static inline void vwc_block_set_id(struct vwc_block *b, u32 vm, u64 oblock)
{
	u64 key = vwc_block_key(b) & ~VWC_KEY_ID_MASK;

	key |= (u64)(vm & VWC_KEY_VM_MASK) << VWC_KEY_VM_SHIFT;
	vwc_block_set_key(b, key | (oblock & VWC_KEY_OBLOCK_MASK));
}

/*
 * The pin word: the pins (in-flight I/O using a block's data, which keeps
 * it from being released) in its low 16 bits, and two flags.  It is the
 * one field of a block changed without the caller's lock: a read hit
 * takes its pin with vwc_block_pin_ref() after vwc_lookup_quick(), so
 * every change of it is a compare-and-exchange (a full barrier).
 *  - VWC_PIN_DEAD: the block is not mapped (free, or released): no pin
 *    may be taken.  A block is released only once vwc_block_kill() set it
 *    (which fails while any pin is held), and mapped again with it set,
 *    until vwc_block_revive() once the block is ready to be seen (the
 *    caller's flags say what a reader may take from it).  So a reader
 *    that pinned a block it found without the lock holds a block that is
 *    not reused until that pin goes: it checks the block's key and flags
 *    after the pin, and gives the pin back if they are not what it
 *    looked up (a pin on a block unmapped meanwhile, released by the
 *    caller at its last unpin).
 *  - VWC_PIN_REF: a pin was taken by a read hit that did not move the
 *    block on the policy; the policy takes it (vwc_block_take_ref()) as
 *    the hit, when it next looks at the block.
 * Pins must not wrap: a block whose count went back to 0 could be evicted
 * and reused under the I/O.  The data path takes at most VWC_PINS_MAX of
 * them; the one above is kept for writeback, which pins a block once at
 * most (VWC_B_WB).
 */
#define VWC_PIN_COUNT		0xffffU
#define VWC_PIN_REF		0x10000U
#define VWC_PIN_DEAD		0x80000000U
#define VWC_PINS_MAX		(U16_MAX - 1)

static inline u32 vwc_block_pins(const struct vwc_block *b)
{
	return READ_ONCE(b->pins) & VWC_PIN_COUNT;
}

/*
 * Pin @b if it is not dead and has fewer than @max pins, setting @ref in
 * the word too; false, and nothing done, if not.  Any context, no lock.
 */
static inline bool vwc_block_pin_as(struct vwc_block *b, u16 max, u32 ref)
{
	u32 v = READ_ONCE(b->pins), old;

	for (;;) {
		if ((v & VWC_PIN_DEAD) || (v & VWC_PIN_COUNT) >= max)
			return false;
		old = vwc_cmpxchg32(&b->pins, v, (v + 1) | ref);
		if (old == v)
			return true;
		v = old;
	}
}

static inline bool vwc_block_pin(struct vwc_block *b, u16 max)
{
	return vwc_block_pin_as(b, max, 0);
}

/* A read hit's pin: the policy counts it as a hit later. */
static inline bool vwc_block_pin_ref(struct vwc_block *b, u16 max)
{
	return vwc_block_pin_as(b, max, VWC_PIN_REF);
}

/* Give back one pin of @b (which has one); returns the pins left. */
static inline u32 vwc_block_unpin(struct vwc_block *b)
{
	u32 v = READ_ONCE(b->pins), old;

	for (;;) {
		old = vwc_cmpxchg32(&b->pins, v, v - 1);
		if (old == v)
			return (v - 1) & VWC_PIN_COUNT;
		v = old;
	}
}

/* Make @b dead if it has no pin (true); false if it has one. */
static inline bool vwc_block_kill(struct vwc_block *b)
{
	u32 v = READ_ONCE(b->pins), old;

	for (;;) {
		if (v & VWC_PIN_COUNT)
			return false;
		if (v & VWC_PIN_DEAD)
			return true;
		old = vwc_cmpxchg32(&b->pins, v, VWC_PIN_DEAD);
		if (old == v)
			return true;
		v = old;
	}
}

/*
 * A dead block, mapped, may be pinned from now on: what it was set up
 * with before is seen by whoever pins it (release).  No one can have
 * changed the word of a dead block, so a store does.
 */
static inline void vwc_block_revive(struct vwc_block *b)
{
	/* Pairs with the pin's compare-and-exchange: the setup is seen. */
	smp_store_release(&b->pins, 0);
}

/* Was @b hit by a read since this was last asked?  Clears the mark. */
static inline bool vwc_block_take_ref(struct vwc_block *b)
{
	u32 v = READ_ONCE(b->pins), old;

	while (v & VWC_PIN_REF) {
		old = vwc_cmpxchg32(&b->pins, v, v & ~VWC_PIN_REF);
		if (old == v)
			return true;
		v = old;
	}
	return false;
}

u32 vwc_lookup(const struct vwc_blocks *t, u32 vm, u64 oblock);
u32 vwc_lookup_quick(const struct vwc_blocks *t, u32 vm, u64 oblock);
bool vwc_block_is(const struct vwc_block *b, u32 vm, u64 oblock);
void vwc_map(struct vwc_blocks *t, u32 cb, u32 vm, u64 oblock);
void vwc_unmap(struct vwc_blocks *t, u32 cb);

static inline void vwc_list_init(struct vwc_list *l)
{
	l->head = VWC_NIL;
	l->tail = VWC_NIL;
	l->count = 0;
}

static inline bool vwc_list_empty(const struct vwc_list *l)
{
	return l->head == VWC_NIL;
}

void vwc_list_push_tail(struct vwc_blocks *t, struct vwc_list *l, u32 cb);
void vwc_list_push_head(struct vwc_blocks *t, struct vwc_list *l, u32 cb);
void vwc_list_del(struct vwc_blocks *t, struct vwc_list *l, u32 cb);
/* The block vwc_alloc() would take next, VWC_NIL for none. */
static inline u32 vwc_next_free(const struct vwc_blocks *t)
{
	return t->free.head;
}

u32 vwc_list_pop_head(struct vwc_blocks *t, struct vwc_list *l);
void vwc_list_splice_tail(struct vwc_blocks *t, struct vwc_list *to,
			  struct vwc_list *from);
bool vwc_list_valid(const struct vwc_blocks *t, const struct vwc_list *l);

/* How many blocks VM @vm has mapped. */
static inline u32 vwc_vm_count(const struct vwc_blocks *t, u32 vm)
{
	return t->vms[vm & VWC_KEY_VM_MASK].count;
}

u32 vwc_vm_rotate(struct vwc_blocks *t, u32 vm);
bool vwc_vm_list_valid(const struct vwc_blocks *t, u32 vm);

u32 vwc_alloc(struct vwc_blocks *t);
int vwc_claim(struct vwc_blocks *t, u32 cb);
void vwc_release(struct vwc_blocks *t, u32 cb);
u32 vwc_commit_begin(struct vwc_blocks *t);
void vwc_commit_end(struct vwc_blocks *t);
void vwc_commit_abort(struct vwc_blocks *t);

#endif /* DM_VWCACHE_BLOCKS_H */
