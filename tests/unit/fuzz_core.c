// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the block table, the policy and writeback planning
 * driven by arbitrary sequences of cache events (read, write, hit, pin,
 * writeback issue and completion, eviction, discard, commits), the way
 * the kernel side uses them, against a model of where every block is.
 * Any broken invariant aborts.
 */
#include <stdlib.h>

#include "dm-vwcache-policy.h"
#include "dm-vwcache-wbplan.h"

#define VMS	2
#define KEYS	96
#define MAXNR	80

enum where { W_FREE, W_PENDING, W_COMMITTING, W_POLICY, W_DIRTY, W_NONE };

struct fz {
	struct vwc_blocks t;
	struct vwc_policy p;
	struct vwc_list dirty[VMS];
	u32 from[VMS];			/* writeback cursors, as the kernel's */
	u32 map[VMS][KEYS];		/* cblock + 1 */
	u8 where[MAXNR];
	u32 nr;
};

#define ASSERT(x) do { if (!(x)) abort(); } while (0)

static u32 look(struct fz *f, u32 vm, u32 k)
{
	u32 cb = vwc_lookup(&f->t, vm, k * 0x10001ULL);
	u32 quick = vwc_lookup_quick(&f->t, vm, k * 0x10001ULL);

	/* Without concurrent changes: the same block, or no answer. */
	ASSERT(quick == cb || quick == VWC_NIL);
	ASSERT(cb == (f->map[vm][k] ? f->map[vm][k] - 1 : VWC_NIL));
	return cb;
}

static void forget(struct fz *f, u32 cb)
{
	struct vwc_block *b = vwc_block(&f->t, cb);

	f->map[vwc_block_vm(b)][vwc_block_oblock(b) / 0x10001ULL] = 0;
	ASSERT(vwc_block_kill(b));
	vwc_release(&f->t, cb);
	f->where[cb] = W_PENDING;
}

static void evict(struct fz *f)
{
	u32 cb = vwc_policy_victim(&f->p);
	struct vwc_block *b;

	if (cb == VWC_NIL)
		return;
	b = vwc_block(&f->t, cb);
	ASSERT(f->where[cb] == W_POLICY);
	ASSERT(!vwc_block_pins(b) && b->flags == VWC_B_VALID);
	forget(f, cb);
}

static u32 get_block(struct fz *f, u32 vm, u32 k)
{
	u32 cb = vwc_alloc(&f->t);

	if (cb == VWC_NIL) {
		ASSERT(f->t.free.count == 0);
		return VWC_NIL;
	}
	ASSERT(f->where[cb] == W_FREE);
	vwc_map(&f->t, cb, vm, k * 0x10001ULL);
	vwc_block_revive(vwc_block(&f->t, cb));
	f->map[vm][k] = cb + 1;
	return cb;
}

static void make_dirty(struct fz *f, u32 cb, u32 vm)
{
	struct vwc_block *b = vwc_block(&f->t, cb);

	if (f->where[cb] == W_DIRTY) {
		if (b->flags & VWC_B_WB)
			b->flags |= VWC_B_REDIRTY;
		return;
	}
	vwc_policy_remove(&f->p, cb);
	b->flags |= VWC_B_DIRTY;
	vwc_list_push_tail(&f->t, &f->dirty[vm], cb);
	f->where[cb] = W_DIRTY;
}

static void wb_issue(struct fz *f, u32 vm, u32 max_blocks, u32 max_run)
{
	u32 cbs[MAXNR], n, nr_runs, i, r;
	struct vwc_wb_run runs[MAXNR];
	u64 id, prev = 0;

	/* The kernel's check of its cursor (vwc_wb_start_slot_locked()). */
	if (f->from[vm] != VWC_NIL &&
	    (!(vwc_block(&f->t, f->from[vm])->flags & VWC_B_DIRTY) ||
	     vwc_block_vm(vwc_block(&f->t, f->from[vm])) != vm))
		f->from[vm] = VWC_NIL;
	n = vwc_wb_plan_from(&f->t, &f->dirty[vm], &f->from[vm], max_blocks,
			     max_run, cbs, runs, &nr_runs);
	ASSERT(f->from[vm] == VWC_NIL ||
	       f->where[f->from[vm]] == W_DIRTY);
	ASSERT(n <= max_blocks && nr_runs <= n);
	for (i = 0; i < n; i++) {
		struct vwc_block *b = vwc_block(&f->t, cbs[i]);

		id = vwc_block_key(b) & VWC_KEY_ID_MASK;
		ASSERT(f->where[cbs[i]] == W_DIRTY);
		ASSERT((b->flags & (VWC_B_DIRTY | VWC_B_WB)) == VWC_B_DIRTY);
		ASSERT(i == 0 || id > prev);
		prev = id;
	}
	for (r = 0, i = 0; r < nr_runs; i += runs[r].count, r++)
		ASSERT(runs[r].first == i && runs[r].count &&
		       (!max_run || runs[r].count <= max_run));
	ASSERT(i == n);
	for (i = 0; i < n; i++)
		vwc_block(&f->t, cbs[i])->flags |= VWC_B_WB;
}

static void wb_done(struct fz *f, u32 vm)
{
	u32 cb;
	struct vwc_block *b;

	for (cb = f->dirty[vm].head; cb != VWC_NIL; cb = vwc_block(&f->t, cb)->next)
		if (vwc_block(&f->t, cb)->flags & VWC_B_WB)
			break;
	if (cb == VWC_NIL)
		return;
	b = vwc_block(&f->t, cb);
	vwc_list_del(&f->t, &f->dirty[vm], cb);
	if (b->flags & VWC_B_REDIRTY) {
		b->flags &= ~(VWC_B_WB | VWC_B_REDIRTY);
		vwc_list_push_tail(&f->t, &f->dirty[vm], cb);
		return;
	}
	b->flags &= ~(VWC_B_WB | VWC_B_DIRTY);
	vwc_policy_add(&f->p, cb);
	f->where[cb] = W_POLICY;
}

static void discard(struct fz *f, u32 vm, u32 k)
{
	u32 cb = look(f, vm, k);
	struct vwc_block *b;

	if (cb == VWC_NIL)
		return;
	b = vwc_block(&f->t, cb);
	if (vwc_block_pins(b) || (b->flags & VWC_B_WB))
		return;
	if (f->where[cb] == W_DIRTY)
		vwc_list_del(&f->t, &f->dirty[vm], cb);
	else
		vwc_policy_remove(&f->p, cb);
	forget(f, cb);
}

static void check_all(struct fz *f)
{
	u32 cb, vm, n[W_NONE] = { 0 }, of_vm[VMS] = { 0 };

	ASSERT(vwc_policy_valid(&f->p));
	ASSERT(vwc_list_valid(&f->t, &f->t.free));
	ASSERT(vwc_list_valid(&f->t, &f->t.free_pending));
	ASSERT(vwc_list_valid(&f->t, &f->t.committing));
	for (vm = 0; vm < VMS; vm++) {
		ASSERT(vwc_list_valid(&f->t, &f->dirty[vm]));
		for (cb = f->dirty[vm].head; cb != VWC_NIL;
		     cb = vwc_block(&f->t, cb)->next)
			ASSERT(f->where[cb] == W_DIRTY &&
			       vwc_block_vm(vwc_block(&f->t, cb)) == vm);
	}
	for (cb = f->t.free.head; cb != VWC_NIL; cb = vwc_block(&f->t, cb)->next)
		ASSERT(f->where[cb] == W_FREE);
	for (cb = f->t.free_pending.head; cb != VWC_NIL; cb = vwc_block(&f->t, cb)->next)
		ASSERT(f->where[cb] == W_PENDING);
	for (cb = f->t.committing.head; cb != VWC_NIL; cb = vwc_block(&f->t, cb)->next)
		ASSERT(f->where[cb] == W_COMMITTING);
	for (cb = 0; cb < f->nr; cb++) {
		struct vwc_block *b = vwc_block(&f->t, cb);
		bool mapped = f->where[cb] == W_POLICY ||
			      f->where[cb] == W_DIRTY;

		n[f->where[cb]]++;
		ASSERT(!!(b->flags & VWC_B_VALID) == mapped);
		ASSERT(!!(b->flags & VWC_B_POLICY) ==
		       (f->where[cb] == W_POLICY));
		ASSERT(!!(b->flags & VWC_B_DIRTY) == (f->where[cb] == W_DIRTY));
		if (mapped) {
			ASSERT(vwc_lookup(&f->t, vwc_block_vm(b),
					  vwc_block_oblock(b)) == cb);
			of_vm[vwc_block_vm(b)]++;
		}
	}
	/* Each VM's list of blocks holds exactly its mapped blocks. */
	for (vm = 0; vm < VMS; vm++)
		ASSERT(vwc_vm_list_valid(&f->t, vm) &&
		       vwc_vm_count(&f->t, vm) == of_vm[vm]);
	ASSERT(n[W_FREE] == f->t.free.count);
	ASSERT(n[W_PENDING] == f->t.free_pending.count);
	ASSERT(n[W_COMMITTING] == f->t.committing.count);
	ASSERT(n[W_POLICY] == f->p.count);
}

static void step(struct fz *f, u8 op, u8 arg, u8 arg2)
{
	u32 vm = arg & 1, k = (arg >> 1) % KEYS, cb;

	switch (op % 14) {
	case 0:		/* read */
	case 1:
		cb = look(f, vm, k);
		if (cb != VWC_NIL) {
			vwc_policy_hit(&f->p, cb);
			break;
		}
		if (f->t.free.count == 0)
			evict(f);
		cb = get_block(f, vm, k);
		if (cb != VWC_NIL) {
			vwc_policy_add(&f->p, cb);
			f->where[cb] = W_POLICY;
		}
		break;
	case 2:		/* write */
	case 3:
		cb = look(f, vm, k);
		if (cb == VWC_NIL) {
			if (f->t.free.count == 0)
				evict(f);
			cb = get_block(f, vm, k);
		}
		if (cb != VWC_NIL)
			make_dirty(f, cb, vm);
		break;
	case 4:		/* I/O starts or ends on a block */
		cb = arg2 % f->nr;
		if (f->where[cb] != W_POLICY && f->where[cb] != W_DIRTY)
			break;
		if (arg & 0x80)
			vwc_block(&f->t, cb)->pins &= ~VWC_PIN_COUNT;
		else if (arg & 0x40)
			vwc_block_pin_ref(vwc_block(&f->t, cb), VWC_PINS_MAX);
		else
			vwc_block_pin(vwc_block(&f->t, cb), VWC_PINS_MAX);
		break;
	case 5:
		wb_issue(f, vm, arg2 % 16, arg2 >> 4);
		break;
	case 6:
		wb_done(f, vm);
		break;
	case 7:
		evict(f);
		break;
	case 8:
		discard(f, vm, k);
		break;
	case 9:
		if (!f->t.in_commit) {
			for (cb = 0; cb < f->nr; cb++)
				if (f->where[cb] == W_PENDING)
					f->where[cb] = W_COMMITTING;
			vwc_commit_begin(&f->t);
		}
		break;
	case 10:
		if (f->t.in_commit) {
			for (cb = 0; cb < f->nr; cb++)
				if (f->where[cb] == W_COMMITTING)
					f->where[cb] = W_FREE;
			vwc_commit_end(&f->t);
		}
		break;
	case 11:
		if (f->t.in_commit) {
			for (cb = 0; cb < f->nr; cb++)
				if (f->where[cb] == W_COMMITTING)
					f->where[cb] = W_PENDING;
			vwc_commit_abort(&f->t);
		}
		break;
	default:
		look(f, vm, k);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct fz f;
	size_t i;
	u32 vm;

	if (size < 2)
		return 0;
	memset(&f, 0, sizeof(f));
	f.nr = 4 + data[0] % (MAXNR - 4);
	if (vwc_blocks_init(&f.t, f.nr))
		abort();
	if (vwc_policy_init(&f.p, &f.t, 2 + data[1] % 7, data[1] >> 3))
		abort();
	for (vm = 0; vm < VMS; vm++) {
		vwc_list_init(&f.dirty[vm]);
		f.from[vm] = VWC_NIL;
	}
	for (i = 2; i + 2 < size; i += 3) {
		step(&f, data[i], data[i + 1], data[i + 2]);
		if (i % 48 == 2)
			check_all(&f);
	}
	check_all(&f);
	vwc_policy_exit(&f.p);
	vwc_blocks_exit(&f.t);
	return 0;
}
