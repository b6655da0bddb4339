// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache block table and index: see dm-vwcache-blocks.h for the rules
 * of this file.
 */
#include "dm-vwcache-blocks.h"
#include "dm-vwcache-policy.h"

#define VWC_KEY_ID_HI_MASK	((u32)(VWC_KEY_ID_MASK >> 32))

/* Buckets: a power of two <= 3/4 nr, so chains hold 4/3 to 8/3 blocks. */
static u32 vwc_nr_buckets(u32 nr)
{
	u64 want = (u64)nr * 3 / 4;

	return vwc_pow2_below(want ? want : 1);
}

/* Chunks of blocks for @nr blocks, and the blocks in chunk @i. */
static u32 vwc_nr_chunks(u32 nr)
{
	return (u32)DIV_ROUND_UP((u64)nr, VWC_CHUNK_BLOCKS);
}

static u32 vwc_chunk_blocks(u32 nr, u32 i)
{
	return i + 1 < vwc_nr_chunks(nr) ? VWC_CHUNK_BLOCKS :
	       nr - i * VWC_CHUNK_BLOCKS;
}

/* Buckets in each chunk of @nb, a power of two. */
static u32 vwc_bucket_chunk(u32 nb)
{
	return nb < VWC_BUCKET_CHUNK ? nb : VWC_BUCKET_CHUNK;
}

/*
 * The RAM vwc_blocks_init(nr) allocates: the chunks of blocks, whole
 * pages each (vmalloc), the buckets, and both arrays of chunk pointers.
 */
size_t vwc_blocks_bytes(u32 nr)
{
	u32 nc = vwc_nr_chunks(nr), nb = vwc_nr_buckets(nr);
	size_t chunk = VWC_CHUNK_BLOCKS * sizeof(struct vwc_block);
	size_t last;

	if (!nr)
		return 0;
	last = (size_t)vwc_chunk_blocks(nr, nc - 1) * sizeof(struct vwc_block);
	return (size_t)(nc - 1) * PAGE_ALIGN(chunk) + PAGE_ALIGN(last) +
	       (size_t)nc * sizeof(struct vwc_block *) +
	       (size_t)nb * sizeof(u32) +
	       (size_t)(nb / vwc_bucket_chunk(nb)) * sizeof(u32 *);
}

/* The RAM vwc_blocks_init() allocates whatever nr: the VMs' list heads. */
size_t vwc_blocks_fixed_bytes(void)
{
	return VWC_VMS * sizeof(struct vwc_list);
}

/*
 * Kernel RAM per cache block, rounded up: the block table (blocks, hash
 * buckets, chunk pointers) and the promotion filter, over nr_blocks.
 */
size_t vwc_blocks_ram_per_block(u32 nr_blocks)
{
	size_t bytes;

	if (!nr_blocks)
		return 0;
	bytes = vwc_blocks_bytes(nr_blocks) + vwc_filter_bytes(nr_blocks);
	return DIV_ROUND_UP(bytes, (size_t)nr_blocks);
}

/* murmur3's 64-bit finaliser: every input bit moves every output bit. */
static u32 vwc_hash(const struct vwc_blocks *t, u64 id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	id *= 0xc4ceb9fe1a85ec53ULL;
	id ^= id >> 33;
	return (u32)id & t->hash_mask;
}

static u64 vwc_make_id(u32 vm, u64 oblock)
{
	return (u64)(vm & VWC_KEY_VM_MASK) << VWC_KEY_VM_SHIFT |
	       (oblock & VWC_KEY_OBLOCK_MASK);
}

static void vwc_block_reset(struct vwc_block *b)
{
	memset(b, 0, sizeof(*b));
	b->pins = VWC_PIN_DEAD;
	b->hnext = VWC_NIL;
	b->prev = VWC_NIL;
	b->next = VWC_NIL;
	b->vprev = VWC_NIL;
	b->vnext = VWC_NIL;
}

static u32 *vwc_bucket(const struct vwc_blocks *t, u32 h)
{
	return &t->buckets[h >> VWC_BUCKET_CHUNK_SHIFT][h & VWC_BUCKET_CHUNK_MASK];
}

/*
 * Chunk @i of blocks, every block reset and linked to its neighbours: all
 * of them on the free list, in order.
 */
static int vwc_chunk_init(struct vwc_blocks *t, u32 i)
{
	u32 n = vwc_chunk_blocks(t->nr, i), first = i * VWC_CHUNK_BLOCKS, j;
	struct vwc_block *c = vwc_vmalloc((size_t)n * sizeof(*c));

	if (!c)
		return -ENOMEM;
	for (j = 0; j < n; j++) {
		u32 cb = first + j;

		memset(&c[j], 0, sizeof(c[j]));
		c[j].pins = VWC_PIN_DEAD;
		c[j].hnext = VWC_NIL;
		c[j].prev = cb ? cb - 1 : VWC_NIL;
		c[j].next = cb + 1 < t->nr ? cb + 1 : VWC_NIL;
		c[j].vprev = VWC_NIL;
		c[j].vnext = VWC_NIL;
	}
	t->chunks[i] = c;
	return 0;
}

/*
 * A table of @nr blocks, all free, none mapped.  -ENOMEM, with nothing
 * left allocated, if any chunk cannot be had.
 */
int vwc_blocks_init(struct vwc_blocks *t, u32 nr)
{
	u32 nb, per, vm;

	memset(t, 0, sizeof(*t));
	if (!nr)
		return -EINVAL;

	nb = vwc_nr_buckets(nr);
	per = vwc_bucket_chunk(nb);
	t->nr = nr;
	t->hash_mask = nb - 1;
	t->chunks = vwc_kvcalloc(vwc_nr_chunks(nr), sizeof(*t->chunks));
	t->buckets = vwc_kvcalloc(nb / per, sizeof(*t->buckets));
	t->vms = vwc_kvcalloc(VWC_VMS, sizeof(*t->vms));
	if (!t->chunks || !t->buckets || !t->vms)
		goto nomem;
	for (vm = 0; vm < VWC_VMS; vm++)
		vwc_list_init(&t->vms[vm]);
	for (; t->nr_chunks < vwc_nr_chunks(nr); t->nr_chunks++) {
		if (vwc_chunk_init(t, t->nr_chunks))
			goto nomem;
		vwc_cond_resched();
	}
	for (; t->nr_bucket_chunks < nb / per; t->nr_bucket_chunks++) {
		u32 *c = vwc_kvcalloc(per, sizeof(*c));

		if (!c)
			goto nomem;
		memset(c, 0xff, (size_t)per * sizeof(*c));	/* VWC_NIL */
		t->buckets[t->nr_bucket_chunks] = c;
	}

	t->free.head = 0;
	t->free.tail = nr - 1;
	t->free.count = nr;
	vwc_list_init(&t->free_pending);
	vwc_list_init(&t->committing);
	return 0;

nomem:
	vwc_blocks_exit(t);
	return -ENOMEM;
}

/* Free what init allocated, all of it or as far as it went. */
void vwc_blocks_exit(struct vwc_blocks *t)
{
	u32 i;

	for (i = 0; i < t->nr_chunks; i++)
		vwc_vfree(t->chunks[i]);
	for (i = 0; i < t->nr_bucket_chunks; i++)
		vwc_kvfree(t->buckets[i]);
	vwc_kvfree(t->chunks);
	vwc_kvfree(t->buckets);
	vwc_kvfree(t->vms);
	memset(t, 0, sizeof(*t));
}

/* The block mapping (vm, oblock), or VWC_NIL. */
u32 vwc_lookup(const struct vwc_blocks *t, u32 vm, u64 oblock)
{
	u64 id = vwc_make_id(vm, oblock);
	u32 lo = (u32)id, hi = (u32)(id >> 32);
	u32 cb = *vwc_bucket(t, vwc_hash(t, id));

	while (cb != VWC_NIL) {
		const struct vwc_block *b = vwc_block(t, cb);

		if (b->key_lo == lo && (b->key_hi & VWC_KEY_ID_HI_MASK) == hi)
			return cb;
		cb = b->hnext;
	}
	return VWC_NIL;
}

/*
 * vwc_lookup() without the table's lock: the block that mapped (@vm,
 * @oblock) when its chain was walked, or VWC_NIL, which is no answer (a
 * chain changed under the walk; the caller looks again under the lock).
 * The walk is bounded: a chain followed into a block moved to another
 * chain may not end.  The caller pins the block (vwc_block_pin_ref())
 * and then checks with vwc_block_is() that it still is that block.
 */
#define VWC_QUICK_STEPS		16

u32 vwc_lookup_quick(const struct vwc_blocks *t, u32 vm, u64 oblock)
{
	u64 id = vwc_make_id(vm, oblock);
	u32 cb = READ_ONCE(*vwc_bucket(t, vwc_hash(t, id)));
	u32 n;

	for (n = 0; cb < t->nr && n < VWC_QUICK_STEPS; n++) {
		const struct vwc_block *b = vwc_block(t, cb);

		if (vwc_block_is(b, vm, oblock))
			return cb;
		cb = READ_ONCE(b->hnext);
	}
	return VWC_NIL;
}

/* Is @b mapped for (@vm, @oblock)?  Safe without the lock (a snapshot). */
bool vwc_block_is(const struct vwc_block *b, u32 vm, u64 oblock)
{
	u64 id = vwc_make_id(vm, oblock);

	return (READ_ONCE(b->flags) & VWC_B_VALID) &&
	       READ_ONCE(b->key_lo) == (u32)id &&
	       (READ_ONCE(b->key_hi) & VWC_KEY_ID_HI_MASK) == (u32)(id >> 32);
}

/*
 * A block is on two lists at once, each through its own pair of links:
 * prev/next (the one list of its state: free, dirty, a policy queue...)
 * and vprev/vnext (its VM's list of mapped blocks).  The list code below
 * serves both, given the offset of the pair's first link.
 */
#define VWC_LINKS	offsetof(struct vwc_block, prev)
#define VWC_VM_LINKS	offsetof(struct vwc_block, vprev)
static_assert(offsetof(struct vwc_block, next) == VWC_LINKS + 4);
static_assert(offsetof(struct vwc_block, vnext) == VWC_VM_LINKS + 4);

/* The pair of links at @off in block @cb: [0] towards the head, [1] on. */
static u32 *vwc_links(struct vwc_blocks *t, u32 cb, size_t off)
{
	return (u32 *)((char *)vwc_block(t, cb) + off);
}

static void vwc_links_push_tail(struct vwc_blocks *t, struct vwc_list *l,
				u32 cb, size_t off)
{
	u32 *lk = vwc_links(t, cb, off);

	lk[1] = VWC_NIL;
	lk[0] = l->tail;
	if (l->tail != VWC_NIL)
		vwc_links(t, l->tail, off)[1] = cb;
	else
		l->head = cb;
	l->tail = cb;
	l->count++;
}

static void vwc_links_del(struct vwc_blocks *t, struct vwc_list *l, u32 cb,
			  size_t off)
{
	u32 *lk = vwc_links(t, cb, off);

	if (lk[0] != VWC_NIL)
		vwc_links(t, lk[0], off)[1] = lk[1];
	else
		l->head = lk[1];
	if (lk[1] != VWC_NIL)
		vwc_links(t, lk[1], off)[0] = lk[0];
	else
		l->tail = lk[0];
	lk[0] = VWC_NIL;
	lk[1] = VWC_NIL;
	l->count--;
}

static struct vwc_list *vwc_vm_list(struct vwc_blocks *t, u32 cb)
{
	return &t->vms[vwc_block_vm(vwc_block(t, cb))];
}

/*
 * The block at the head of VM @vm's list, moved to its tail; VWC_NIL if
 * the VM has none.  The walk of a VM's blocks: called vwc_vm_count() times
 * (the count when the walk starts), it returns every block mapped then and
 * still mapped, each before any block it returns a second time, whatever
 * blocks are mapped or unmapped between calls (the caller may drop its
 * lock): the blocks not returned yet stay at the head, in order, while the
 * ones returned and the ones mapped since go to the tail.  Blocks mapped
 * since may be returned too, and blocks returned may be again once those
 * not returned yet were unmapped meanwhile.
 */
u32 vwc_vm_rotate(struct vwc_blocks *t, u32 vm)
{
	u32 cb = t->vms[vm & VWC_KEY_VM_MASK].head;

	if (cb != VWC_NIL) {
		vwc_links_del(t, vwc_vm_list(t, cb), cb, VWC_VM_LINKS);
		vwc_links_push_tail(t, vwc_vm_list(t, cb), cb, VWC_VM_LINKS);
	}
	return cb;
}

/*
 * VM @vm's list: links both ways, ends and count agree, no cycle, and
 * every block on it is mapped, to @vm.  O(count).
 */
bool vwc_vm_list_valid(const struct vwc_blocks *t, u32 vm)
{
	const struct vwc_list *l = &t->vms[vm & VWC_KEY_VM_MASK];
	u32 cb = l->head, prev = VWC_NIL, n = 0;

	while (cb != VWC_NIL) {
		const struct vwc_block *b;

		if (cb >= t->nr || n >= t->nr)
			return false;
		b = vwc_block(t, cb);
		if (b->vprev != prev || !(b->flags & VWC_B_VALID) ||
		    vwc_block_vm(b) != (vm & VWC_KEY_VM_MASK))
			return false;
		prev = cb;
		cb = b->vnext;
		n++;
	}
	return l->tail == prev && l->count == n;
}

/*
 * Map an unmapped block to (vm, oblock), which nothing maps: insert it in
 * the hash table and its VM's list, and set VWC_B_VALID.  Its policy level
 * starts at 0.
 */
void vwc_map(struct vwc_blocks *t, u32 cb, u32 vm, u64 oblock)
{
	struct vwc_block *b = vwc_block(t, cb);
	u64 id = vwc_make_id(vm, oblock);
	u32 h = vwc_hash(t, id);

	vwc_block_set_key(b, id);
	b->flags |= VWC_B_VALID;
	WRITE_ONCE(b->hnext, *vwc_bucket(t, h));
	WRITE_ONCE(*vwc_bucket(t, h), cb);
	vwc_links_push_tail(t, vwc_vm_list(t, cb), cb, VWC_VM_LINKS);
}

/*
 * Take a mapped block out of the hash table and its VM's list.  Its
 * contents are gone:
 * VWC_B_VALID, VWC_B_DIRTY and VWC_B_REDIRTY are cleared; lists and the
 * VWC_B_WB state are the caller's (take it off the policy first).
 */
void vwc_unmap(struct vwc_blocks *t, u32 cb)
{
	struct vwc_block *b = vwc_block(t, cb);
	u32 *pp = vwc_bucket(t, vwc_hash(t, vwc_block_key(b) & VWC_KEY_ID_MASK));

	if (!(b->flags & VWC_B_VALID))
		return;
	while (*pp != cb && *pp != VWC_NIL)
		pp = &vwc_block(t, *pp)->hnext;
	if (*pp == cb)
		WRITE_ONCE(*pp, b->hnext);
	WRITE_ONCE(b->hnext, VWC_NIL);
	vwc_links_del(t, vwc_vm_list(t, cb), cb, VWC_VM_LINKS);
	b->flags &= ~(VWC_B_VALID | VWC_B_DIRTY | VWC_B_REDIRTY);
}

void vwc_list_push_tail(struct vwc_blocks *t, struct vwc_list *l, u32 cb)
{
	vwc_links_push_tail(t, l, cb, VWC_LINKS);
}

void vwc_list_push_head(struct vwc_blocks *t, struct vwc_list *l, u32 cb)
{
	struct vwc_block *b = vwc_block(t, cb);

	b->prev = VWC_NIL;
	b->next = l->head;
	if (l->head != VWC_NIL)
		vwc_block(t, l->head)->prev = cb;
	else
		l->tail = cb;
	l->head = cb;
	l->count++;
}

void vwc_list_del(struct vwc_blocks *t, struct vwc_list *l, u32 cb)
{
	vwc_links_del(t, l, cb, VWC_LINKS);
}

u32 vwc_list_pop_head(struct vwc_blocks *t, struct vwc_list *l)
{
	u32 cb = l->head;

	if (cb != VWC_NIL)
		vwc_list_del(t, l, cb);
	return cb;
}

/* Move all of @from to the tail of @to, in order; @from ends empty. */
void vwc_list_splice_tail(struct vwc_blocks *t, struct vwc_list *to,
			  struct vwc_list *from)
{
	if (vwc_list_empty(from))
		return;
	if (vwc_list_empty(to)) {
		*to = *from;
	} else {
		vwc_block(t, to->tail)->next = from->head;
		vwc_block(t, from->head)->prev = to->tail;
		to->tail = from->tail;
		to->count += from->count;
	}
	vwc_list_init(from);
}

/* Walk @l: links both ways, ends and count agree; no cycle.  O(count). */
bool vwc_list_valid(const struct vwc_blocks *t, const struct vwc_list *l)
{
	u32 cb = l->head, prev = VWC_NIL, n = 0;

	while (cb != VWC_NIL) {
		if (cb >= t->nr || n >= t->nr || vwc_block(t, cb)->prev != prev)
			return false;
		prev = cb;
		cb = vwc_block(t, cb)->next;
		n++;
	}
	return l->tail == prev && l->count == n;
}

/* A free block, reset and on no list; VWC_NIL when there is none. */
u32 vwc_alloc(struct vwc_blocks *t)
{
	u32 cb = vwc_list_pop_head(t, &t->free);

	if (cb != VWC_NIL)
		vwc_block_reset(vwc_block(t, cb));
	return cb;
}

/*
 * Take block @cb off the free list, reset, as vwc_alloc() would: at load,
 * for each block the metadata maps, before mapping it.  Only while no
 * block has been released: then every block not claimed yet is on the
 * free list, and -EINVAL says exactly that @cb was claimed already.
 */
int vwc_claim(struct vwc_blocks *t, u32 cb)
{
	struct vwc_block *b;

	if (cb >= t->nr)
		return -EINVAL;
	b = vwc_block(t, cb);
	if ((b->flags & VWC_B_CORE) ||
	    (b->prev == VWC_NIL && t->free.head != cb))
		return -EINVAL;
	vwc_list_del(t, &t->free, cb);
	vwc_block_reset(b);
	return 0;
}

/*
 * Give back a block that is on no list and has no I/O: it is unmapped if
 * need be and waits on free_pending until a commit records it free.  The
 * core's flags are cleared, the caller's kept (a commit may need them).
 */
void vwc_release(struct vwc_blocks *t, u32 cb)
{
	struct vwc_block *b = vwc_block(t, cb);

	vwc_unmap(t, cb);
	b->flags &= ~VWC_B_CORE;
	vwc_list_push_tail(t, &t->free_pending, cb);
}

/*
 * A commit starts: the blocks pending now are the ones it will free.
 * Returns how many.  Called again before the end, it adds nothing.
 */
u32 vwc_commit_begin(struct vwc_blocks *t)
{
	if (!t->in_commit) {
		t->committing = t->free_pending;
		vwc_list_init(&t->free_pending);
		t->in_commit = true;
	}
	return t->committing.count;
}

/* The commit is durable: its blocks are free for reuse. */
void vwc_commit_end(struct vwc_blocks *t)
{
	vwc_list_splice_tail(t, &t->free, &t->committing);
	t->in_commit = false;
}

/* The commit failed: its blocks wait for the next one, first in line. */
void vwc_commit_abort(struct vwc_blocks *t)
{
	vwc_list_splice_tail(t, &t->committing, &t->free_pending);
	t->free_pending = t->committing;
	vwc_list_init(&t->committing);
	t->in_commit = false;
}
