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

size_t vwc_blocks_bytes(u32 nr)
{
	return (size_t)nr * sizeof(struct vwc_block) +
	       (size_t)vwc_nr_buckets(nr) * sizeof(u32);
}

/*
 * Kernel RAM per cache block, rounded up: the block array, the hash
 * buckets and the promotion filter, over nr_blocks.
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
	b->hnext = VWC_NIL;
	b->prev = VWC_NIL;
	b->next = VWC_NIL;
}

int vwc_blocks_init(struct vwc_blocks *t, u32 nr)
{
	u32 i, nb;

	memset(t, 0, sizeof(*t));
	if (!nr)
		return -EINVAL;
	if (nr > VWC_BLOCKS_MAX)
		return -EFBIG;

	nb = vwc_nr_buckets(nr);
	t->b = vwc_kvcalloc(nr, sizeof(*t->b));
	t->buckets = vwc_kvcalloc(nb, sizeof(*t->buckets));
	if (!t->b || !t->buckets) {
		vwc_blocks_exit(t);
		return -ENOMEM;
	}
	t->nr = nr;
	t->hash_mask = nb - 1;
	memset(t->buckets, 0xff, (size_t)nb * sizeof(*t->buckets));

	vwc_list_init(&t->free);
	vwc_list_init(&t->free_pending);
	vwc_list_init(&t->committing);
	for (i = 0; i < nr; i++) {
		vwc_block_reset(&t->b[i]);
		vwc_list_push_tail(t, &t->free, i);
	}
	return 0;
}

void vwc_blocks_exit(struct vwc_blocks *t)
{
	vwc_kvfree(t->b);
	vwc_kvfree(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* The block mapping (vm, oblock), or VWC_NIL. */
u32 vwc_lookup(const struct vwc_blocks *t, u32 vm, u64 oblock)
{
	u64 id = vwc_make_id(vm, oblock);
	u32 lo = (u32)id, hi = (u32)(id >> 32);
	u32 cb = t->buckets[vwc_hash(t, id)];

	while (cb != VWC_NIL) {
		const struct vwc_block *b = &t->b[cb];

		if (b->key_lo == lo && (b->key_hi & VWC_KEY_ID_HI_MASK) == hi)
			return cb;
		cb = b->hnext;
	}
	return VWC_NIL;
}

/*
 * Map an unmapped block to (vm, oblock), which nothing maps: insert it in
 * the hash table and set VWC_B_VALID.  Its policy level starts at 0.
 */
void vwc_map(struct vwc_blocks *t, u32 cb, u32 vm, u64 oblock)
{
	struct vwc_block *b = &t->b[cb];
	u64 id = vwc_make_id(vm, oblock);
	u32 h = vwc_hash(t, id);

	vwc_block_set_key(b, id);
	b->hnext = t->buckets[h];
	t->buckets[h] = cb;
	b->flags |= VWC_B_VALID;
}

/*
 * Take a mapped block out of the hash table.  Its contents are gone:
 * VWC_B_VALID, VWC_B_DIRTY and VWC_B_REDIRTY are cleared; lists and the
 * VWC_B_WB state are the caller's (take it off the policy first).
 */
void vwc_unmap(struct vwc_blocks *t, u32 cb)
{
	struct vwc_block *b = &t->b[cb];
	u32 *pp = &t->buckets[vwc_hash(t, vwc_block_key(b) & VWC_KEY_ID_MASK)];

	if (!(b->flags & VWC_B_VALID))
		return;
	while (*pp != cb && *pp != VWC_NIL)
		pp = &t->b[*pp].hnext;
	if (*pp == cb)
		*pp = b->hnext;
	b->hnext = VWC_NIL;
	b->flags &= ~(VWC_B_VALID | VWC_B_DIRTY | VWC_B_REDIRTY);
}

void vwc_list_push_tail(struct vwc_blocks *t, struct vwc_list *l, u32 cb)
{
	struct vwc_block *b = &t->b[cb];

	b->next = VWC_NIL;
	b->prev = l->tail;
	if (l->tail != VWC_NIL)
		t->b[l->tail].next = cb;
	else
		l->head = cb;
	l->tail = cb;
	l->count++;
}

void vwc_list_push_head(struct vwc_blocks *t, struct vwc_list *l, u32 cb)
{
	struct vwc_block *b = &t->b[cb];

	b->prev = VWC_NIL;
	b->next = l->head;
	if (l->head != VWC_NIL)
		t->b[l->head].prev = cb;
	else
		l->tail = cb;
	l->head = cb;
	l->count++;
}

void vwc_list_del(struct vwc_blocks *t, struct vwc_list *l, u32 cb)
{
	struct vwc_block *b = &t->b[cb];

	if (b->prev != VWC_NIL)
		t->b[b->prev].next = b->next;
	else
		l->head = b->next;
	if (b->next != VWC_NIL)
		t->b[b->next].prev = b->prev;
	else
		l->tail = b->prev;
	b->prev = VWC_NIL;
	b->next = VWC_NIL;
	l->count--;
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
		t->b[to->tail].next = from->head;
		t->b[from->head].prev = to->tail;
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
		if (cb >= t->nr || n >= t->nr || t->b[cb].prev != prev)
			return false;
		prev = cb;
		cb = t->b[cb].next;
		n++;
	}
	return l->tail == prev && l->count == n;
}

/* A free block, reset and on no list; VWC_NIL when there is none. */
u32 vwc_alloc(struct vwc_blocks *t)
{
	u32 cb = vwc_list_pop_head(t, &t->free);

	if (cb != VWC_NIL)
		vwc_block_reset(&t->b[cb]);
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
	b = &t->b[cb];
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
	struct vwc_block *b = &t->b[cb];

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
