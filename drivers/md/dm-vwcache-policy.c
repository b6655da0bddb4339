// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache eviction policy and read promotion filter: see
 * dm-vwcache-policy.h for the rules of this file.
 */
#include "dm-vwcache-policy.h"

/* Demotions per level per insertion: enough to keep up, bounded work. */
#define VWC_POLICY_DEMOTE_BATCH	2
/* Level 0 should hold at least 1/4 of the blocks. */
#define VWC_POLICY_LEVEL0_SHARE	4
/* Idle for this many ages, a block drops a level whatever the pressure. */
#define VWC_POLICY_IDLE_AGES	8
/*
 * Marked blocks (VWC_PIN_REF) one victim search moves up, at most: past
 * that a mark is taken without the move, so that a search over a level of
 * blocks all read since it last looked stays short (it runs under the
 * caller's lock, interrupts off).
 */
#define VWC_POLICY_REF_BATCH	64

int vwc_policy_init(struct vwc_policy *p, struct vwc_blocks *t,
		    u32 nr_levels, u32 age)
{
	u32 l;

	if (nr_levels < 2 || nr_levels > VWC_POLICY_LEVELS_MAX)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->nr_levels = nr_levels;
	p->age = age ? age : t->nr;
	for (l = 0; l < VWC_POLICY_LEVELS_MAX; l++)
		vwc_list_init(&p->q[l]);
	return 0;
}

/* Forget every block (they stay valid and mapped). */
void vwc_policy_exit(struct vwc_policy *p)
{
	u32 l, cb;

	for (l = 0; l < p->nr_levels; l++)
		while ((cb = vwc_list_pop_head(p->t, &p->q[l])) != VWC_NIL)
			vwc_block(p->t, cb)->flags &= ~VWC_B_POLICY;
	p->count = 0;
}

static void vwc_policy_push(struct vwc_policy *p, u32 cb, u32 level)
{
	struct vwc_block *b = vwc_block(p->t, cb);

	vwc_block_set_level(b, level);
	b->stamp = p->now;
	vwc_list_push_tail(p->t, &p->q[level], cb);
}

/*
 * Is a block idle for @idle insertions due to drop a level?  After age
 * when level 0 is short of its share (new blocks need room to prove
 * themselves), after VWC_POLICY_IDLE_AGES * age in any case.
 */
static bool vwc_policy_due(const struct vwc_policy *p, u32 idle)
{
	if ((u64)idle >= (u64)p->age * VWC_POLICY_IDLE_AGES)
		return true;
	return idle >= p->age &&
	       p->q[0].count < p->count / VWC_POLICY_LEVEL0_SHARE;
}

/* Drop the blocks due for it one level, the oldest of each level first. */
static void vwc_policy_age(struct vwc_policy *p)
{
	struct vwc_blocks *t = p->t;
	u32 l, n, cb;

	for (l = 1; l < p->nr_levels; l++) {
		for (n = 0; n < VWC_POLICY_DEMOTE_BATCH; n++) {
			cb = p->q[l].head;
			if (cb == VWC_NIL ||
			    !vwc_policy_due(p, p->now - vwc_block(t, cb)->stamp))
				break;
			vwc_list_del(t, &p->q[l], cb);
			if (vwc_block_take_ref(vwc_block(t, cb)))
				vwc_policy_push(p, cb, l + 1 < p->nr_levels ?
						       l + 1 : l);
			else
				vwc_policy_push(p, cb, l - 1);
		}
	}
}

/* A block became clean and valid: it goes on the policy. */
void vwc_policy_add(struct vwc_policy *p, u32 cb)
{
	struct vwc_block *b = vwc_block(p->t, cb);
	u32 level = vwc_block_level(b);

	if (b->flags & VWC_B_POLICY)
		return;
	if (level >= p->nr_levels)
		level = p->nr_levels - 1;
	p->now++;
	b->flags |= VWC_B_POLICY;
	vwc_policy_push(p, cb, level);
	p->count++;
	vwc_policy_age(p);
}

void vwc_policy_hit(struct vwc_policy *p, u32 cb)
{
	struct vwc_block *b = vwc_block(p->t, cb);
	u32 level = vwc_block_level(b);

	if (!(b->flags & VWC_B_POLICY))
		return;
	vwc_list_del(p->t, &p->q[level], cb);
	if (level + 1 < p->nr_levels)
		level++;
	vwc_policy_push(p, cb, level);
}

/* Take a block off the policy; its level stays in its key. */
void vwc_policy_remove(struct vwc_policy *p, u32 cb)
{
	struct vwc_block *b = vwc_block(p->t, cb);

	if (!(b->flags & VWC_B_POLICY))
		return;
	vwc_list_del(p->t, &p->q[vwc_block_level(b)], cb);
	b->flags &= ~VWC_B_POLICY;
	p->count--;
}

static bool vwc_evictable(const struct vwc_block *b)
{
	return !vwc_block_pins(b) &&
	       (b->flags & (VWC_B_VALID | VWC_B_DIRTY | VWC_B_WB)) ==
	       VWC_B_VALID;
}

/*
 * The block to evict, taken off the policy: the oldest evictable block of
 * the lowest level that has one, or VWC_NIL.  Blocks passed over go to
 * the tail of their level, so the next call does not look at them first.
 */
u32 vwc_policy_victim(struct vwc_policy *p)
{
	struct vwc_blocks *t = p->t;
	u32 l, n, cb, refs = 0;

	for (l = 0; l < p->nr_levels; l++) {
		for (n = p->q[l].count; n; n--) {
			cb = p->q[l].head;
			if (vwc_block_take_ref(vwc_block(t, cb)) &&
			    refs++ < VWC_POLICY_REF_BATCH) {
				vwc_policy_hit(p, cb);
				continue;
			}
			if (vwc_evictable(vwc_block(t, cb))) {
				vwc_policy_remove(p, cb);
				return cb;
			}
			vwc_list_del(t, &p->q[l], cb);
			vwc_policy_push(p, cb, l);
		}
	}
	return VWC_NIL;
}

/*
 * The oldest evictable block of VM @vm among the first @scan blocks of
 * each level, lowest level first, taken off the policy; or VWC_NIL.  For
 * a VM at its cache quota: it evicts its own blocks, never another's.
 * Blocks passed over stay where they are, but the VM's own marked ones
 * (VWC_PIN_REF), which take the mark as their hit.
 */
u32 vwc_policy_victim_of(struct vwc_policy *p, u32 vm, u32 scan)
{
	struct vwc_blocks *t = p->t;
	u32 l, n, cb, next;

	for (l = 0; l < p->nr_levels; l++) {
		cb = p->q[l].head;
		for (n = 0; n < scan && cb != VWC_NIL; n++, cb = next) {
			struct vwc_block *b = vwc_block(t, cb);

			next = b->next;
			if (vwc_block_vm(b) != vm)
				continue;
			if (vwc_block_take_ref(b)) {
				vwc_policy_hit(p, cb);
				continue;
			}
			if (vwc_evictable(b)) {
				vwc_policy_remove(p, cb);
				return cb;
			}
		}
	}
	return VWC_NIL;
}

/* Every level is a sound list of blocks that say they are on it. O(n). */
bool vwc_policy_valid(const struct vwc_policy *p)
{
	const struct vwc_blocks *t = p->t;
	u32 l, cb, total = 0;

	for (l = 0; l < VWC_POLICY_LEVELS_MAX; l++) {
		if (!vwc_list_valid(t, &p->q[l]))
			return false;
		if (l >= p->nr_levels && !vwc_list_empty(&p->q[l]))
			return false;
		for (cb = p->q[l].head; cb != VWC_NIL; cb = vwc_block(t, cb)->next)
			if (!(vwc_block(t, cb)->flags & VWC_B_POLICY) ||
			    vwc_block_level(vwc_block(t, cb)) != l)
				return false;
		total += p->q[l].count;
	}
	return total == p->count;
}

/* The filter. */

static u32 vwc_filter_row(u32 nr_blocks)
{
	u32 r = vwc_pow2_below(nr_blocks);

	if (r > VWC_FILTER_MAX_ROW)
		return VWC_FILTER_MAX_ROW;
	return r < VWC_FILTER_MIN_ROW ? VWC_FILTER_MIN_ROW : r;
}

/* Two rows of R 4-bit counters: R bytes. */
size_t vwc_filter_bytes(u32 nr_blocks)
{
	return vwc_filter_row(nr_blocks);
}

int vwc_filter_init(struct vwc_filter *f, u32 nr_blocks)
{
	u32 r = vwc_filter_row(nr_blocks);

	memset(f, 0, sizeof(*f));
	f->nr_words = r / 8;
	f->w = vwc_kvcalloc(f->nr_words, sizeof(*f->w));
	if (!f->w)
		return -ENOMEM;
	f->row_mask = r - 1;
	f->threshold = VWC_FILTER_THRESHOLD;
	return 0;
}

void vwc_filter_exit(struct vwc_filter *f)
{
	vwc_kvfree(f->w);
	memset(f, 0, sizeof(*f));
}

static u32 vwc_filter_get(const struct vwc_filter *f, u32 i)
{
	return (f->w[i / 16] >> (i % 16 * 4)) & 0xf;
}

static void vwc_filter_set(struct vwc_filter *f, u32 i, u32 v)
{
	u32 shift = i % 16 * 4;

	f->w[i / 16] = (f->w[i / 16] & ~(0xfULL << shift)) |
		       (u64)v << shift;
}

/* Halve one word of counters every 8 observations: all of them every R. */
static void vwc_filter_age(struct vwc_filter *f)
{
	if (++f->tick < 8)
		return;
	f->tick = 0;
	f->w[f->cursor] = (f->w[f->cursor] >> 1) & 0x7777777777777777ULL;
	if (++f->cursor == f->nr_words)
		f->cursor = 0;
}

static u64 vwc_mix64(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * A read miss of (vm, oblock) is seen: count it, and say whether it has
 * now been seen at least f->threshold times recently (hot).  With
 * @hot_dry, a miss that would make the block hot is not counted: the
 * caller leaves that block to a bio of its own, which counts it.
 */
static bool vwc_filter_miss(struct vwc_filter *f, u32 vm, u64 oblock,
			    bool hot_dry)
{
	u32 i1, i2, c1, c2, m;

	vwc_filter_age(f);
	i1 = ((u32)oblock + vm * 0x9e3779b1U) & f->row_mask;
	i2 = f->row_mask + 1 +
	     ((u32)vwc_mix64(oblock ^ (u64)vm << 48 ^ 0x5bd1e995ULL) &
	      f->row_mask);
	c1 = vwc_filter_get(f, i1);
	c2 = vwc_filter_get(f, i2);
	m = c1 < c2 ? c1 : c2;
	if (hot_dry && (m < 15 ? m + 1 : m) >= f->threshold)
		return true;
	if (m < 15) {
		if (c1 == m)
			vwc_filter_set(f, i1, m + 1);
		if (c2 == m)
			vwc_filter_set(f, i2, m + 1);
		m++;
	}
	return m >= f->threshold;
}

/* A read miss: counted; true when the block is hot: promote it. */
bool vwc_filter_should_promote(struct vwc_filter *f, u32 vm, u64 oblock)
{
	return vwc_filter_miss(f, vm, oblock, false);
}

/*
 * A read miss of a block inside a longer read: counted and true when the
 * block stays cold; false, and not counted, when this miss would make it
 * hot (the read stops before it, vwc_filter_should_promote() decides).
 */
bool vwc_filter_cold_miss(struct vwc_filter *f, u32 vm, u64 oblock)
{
	return !vwc_filter_miss(f, vm, oblock, true);
}
