// SPDX-License-Identifier: GPL-2.0-only
/*
 * A userspace model of the metadata commit protocol (issue 15, items 1
 * and 2), over a simulated cache device that records every write.
 *
 * The device: the two superblock copies, a few entry pages and, per cache
 * block, the "data version" its data block holds; the origin holds a
 * version per (VM, block) and is written only by writeback, with FUA.  A
 * random workload changes an in-RAM block table the way the kernel does
 * (dm-vwcache-io.c, -writeback.c, -cache.c): whole-block writes to new
 * blocks, in-place rewrites of dirty blocks (REDIRTY when a writeback is
 * in flight), writeback in two steps (read the block, later write it to
 * the origin with FUA and make it clean, or dirty again after a REDIRTY),
 * promotion, eviction of clean blocks, discards, and commits exactly as
 * dm-vwcache-commit.c makes them (vwc_entry_update on the held page,
 * changed pages written, flush, superblock seq + 1 over copy
 * (seq + 1) & 1, flush), with other operations between the stages and
 * between every two entry pages of the encode (the kernel encodes a batch
 * of pages per hold of cache_lock: issue 15, item 8).
 *
 * Before every flush, every crash state of the writes issued since the
 * previous flush is recovered as the kernel does (vwc_sb_choose, then
 * vwc_entry_scrub and vwc_entry_decode of every entry, as
 * vwc_load_entries): each prefix, each page write torn after k of its 8
 * sectors and in random subsets of them, and random subsets of the whole
 * epoch (a disk cache reorders).  A recovered state must read, for every
 * (VM, block), the version the last completed commit made durable or one
 * written after that commit froze; no entry may be damaged, no two valid
 * entries may claim one block, and the superblock may not go back past
 * the last completed commit.  Sometimes a crash state is taken as the
 * device (a torn commit most often): the pool is loaded from it (scrub
 * writes and flush, clean blocks dropped as vwc_cache_load does) and the
 * workload goes on, so later checks cover "torn commit, load, commit,
 * crash, load".
 *
 * Negative controls: the same runs with the old commit (every marked
 * entry re-encoded with the new sequence) and with a load that does not
 * scrub must each be caught.
 *
 * Lazily initialised entries (VWC_FEATURE_INCOMPAT_LAZY_ENTRIES, issue
 * 17 item 4): the format leaves the entry pages as they were, here full of
 * entries that look like this pool's (right checksum, sequences the pool
 * will reach), and the watermark in the superblock says how many pages a
 * load reads.  The same runs must hold no violation; a commit that raises
 * the watermark without writing the pages it passes over whole (negative
 * control) must be caught.
 *
 * Sub-blocks (VWC_FEATURE_INCOMPAT_SUBBLOCKS, issue 17 item 1): 8 KiB
 * blocks of two 4 KiB sub-blocks, 32-byte entries, lazy.  Writes are of
 * one or both sub-blocks; a dirty block grows in place by the sub-blocks
 * a write adds (marked), a clean one is replaced by a block holding just
 * what is written, writeback writes what the block held when it read it,
 * and reads take a sub-block from the cache only if the block holds it.
 * Every sub-block is a key of the model.  The same crash states must hold
 * no violation; a commit that grows a dirty block's entry without a base
 * (negative control) must be caught.
 */
#include <stdlib.h>
#include <time.h>

#include "dm-vwcache-format.h"
#include "unit.h"

#define NVM		2
#define NOB		24
#define NKEYS		(NVM * NOB)
#define SMAX		2	/* sub-blocks a block, at most */
#define MAXB		1024
#define MAXP		4
#define PAGE		4096
#define SECTORS		8
#define MAXLOG		256
#define MAXHIST		128
#define NIL		0xffffffffu
#define ANYV		0xffffffffu	/* discarded: any content is right */
#define EPP		vwc_entries_per_page(&L)
#ifndef SEEDS_NEW		/* -D to run longer by hand */
#define SEEDS_NEW	4
#endif
#ifndef SEEDS_CONTROL
#define SEEDS_CONTROL	2
#endif
#ifndef STEPS
#define STEPS		1500
#endif
#ifndef SEED_BASE
#define SEED_BASE	0x15c0ffee
#endif

enum mode { M_NEW, M_LEGACY, M_NOSCRUB, M_LAZY, M_LAZY_NOGAP, M_SUB,
	    M_SUB_NOBASE };
static const char *const mode_name[] = { "update+scrub", "legacy encode",
					  "no scrub", "lazy entries",
					  "lazy, no gap fill", "sub-blocks",
					  "sub-blocks without base" };

static const u8 uuid[16] = { 0x76, 0x77, 0x63, 0x61, 0x63, 0x68, 0x65, 0x2d,
			     0x73, 0x69, 0x6d, 0x2d, 0x31, 0x35, 0x00, 0x01 };
static struct vwc_layout L, L_whole, L_sub;
static u32 nblk, npg, useed, nsub;
static enum mode mode;
static u64 einit;		/* pool->sb.entries_init (lazy modes) */

static bool sub_mode(void)
{
	return mode == M_SUB || mode == M_SUB_NOBASE;
}

static bool lazy(void)
{
	return mode == M_LAZY || mode == M_LAZY_NOGAP || sub_mode();
}

/* The data key of sub-block @s of key @k. */
static u32 ks(u32 k, u32 s)
{
	return k * SMAX + s;
}

/* ---- the simulated cache device ---- */

struct image {
	u8 sb[2][PAGE];
	u8 ent[MAXP][PAGE];
	u32 data[MAXB * SMAX];	/* by cb * SMAX + sub-block */
};

enum { W_DATA, W_PAGE };

struct wr {
	u8 kind;
	u8 target;		/* W_PAGE: 0, 1 superblock copy; 2 + i entry page i */
	u32 cb, ver;		/* W_DATA */
	u32 sub;		/* W_DATA: its sub-block */
	u8 buf[PAGE];
};

static struct image durable;	/* everything before the last flush */
static struct wr wlog[MAXLOG];	/* writes since the last flush */
static u32 nlog;
static u32 origin[NKEYS * SMAX];	/* FUA writes only: always durable */

static u8 *img_page(struct image *img, u32 target)
{
	return target < 2 ? img->sb[target] : img->ent[target - 2];
}

static void apply(struct image *img, const struct wr *w, u32 mask)
{
	u32 s;

	if (w->kind == W_DATA) {
		img->data[w->cb * SMAX + w->sub] = w->ver;
		return;
	}
	for (s = 0; s < SECTORS; s++)
		if (mask & (1u << s))
			memcpy(img_page(img, w->target) + s * 512,
			       w->buf + s * 512, 512);
}

/* ---- the kernel's RAM state ---- */

enum { L_FREE, L_PENDING, L_DETACHED, L_USED };

struct blk {
	bool valid, dirty, wb, redirty;
	u8 meta;		/* VWC_B_META(gen) */
	u8 list;
	u32 key;
	u16 sub;		/* struct vwc_block.sub */
	u16 wbsub;		/* the sub-blocks the writeback read */
	u32 wbver[SMAX];	/* what the writeback read */
};

static struct blk B[MAXB];
static u32 keymap[NKEYS];
static u32 cur_data[MAXB * SMAX];	/* the data as the kernel sees it */
static u8 cur_pg[MAXP][PAGE];	/* dm-bufio's entry pages: last written */
static u8 meta_pages[2];
static unsigned int meta_gen;
static u64 seq;			/* pool->sb.seq */

/* ---- what was acknowledged ---- */

struct kmodel {
	u32 ack;		/* made durable by the last completed commit */
	u32 n;			/* written since that commit froze */
	u32 ver[MAXHIST];
	u64 t[MAXHIST];
};

static struct kmodel K[NKEYS * SMAX];	/* by data key, ks() */
static u32 latest[NKEYS * SMAX];
static u64 clk;

/* ---- statistics ---- */

static u64 st_states, st_viol, st_adopt, st_redirty, st_unchanged,
	   st_scrubbed, st_commits, st_stale_clean, st_bad_states, st_grow;
static bool state_bad;
static const char *ctx = "";
static u32 ctx_k, ctx_mask;
static u64 ctx_step;
static unsigned int printed;
static u64 run_seed, step;

static void violation(const char *fmt, u32 a, u32 b, u32 c)
{
	/* The new protocol's are failures; a control's first is an example. */
	FILE *f = mode == M_NEW ? stderr : stdout;

	st_viol++;
	state_bad = true;
	if (printed >= (mode == M_NEW ? 10 : 1))
		return;
	printed++;
	fprintf(f, "%s%s %s: seed %llu step %llu (%s, write %u, sectors %#x): ",
		mode == M_NEW ? "" : "negative control ", mode_name[mode],
		mode == M_NEW ? "VIOLATION" : "found (expected)",
		(unsigned long long)run_seed, (unsigned long long)ctx_step,
		ctx, ctx_k, ctx_mask);
	fprintf(f, fmt, a, b, c);
	fputc('\n', f);
}

static bool allowed(u32 k, u32 v)
{
	u32 i;

	if (K[k].ack == ANYV || K[k].ack == v)
		return true;
	for (i = 0; i < K[k].n; i++)
		if (K[k].ver[i] == ANYV || K[k].ver[i] == v)
			return true;
	return false;
}

static void hist_add(u32 k, u32 v)
{
	struct kmodel *m = &K[k];

	if (m->n == MAXHIST) {	/* very unlikely: forget the oldest */
		memmove(m->ver, m->ver + 1, (MAXHIST - 1) * sizeof(m->ver[0]));
		memmove(m->t, m->t + 1, (MAXHIST - 1) * sizeof(m->t[0]));
		m->n--;
	}
	m->ver[m->n] = v;
	m->t[m->n] = ++clk;
	m->n++;
	latest[k] = v;
}

/* A commit that froze at @tf completed: writes before it are durable. */
static void model_commit(u64 tf)
{
	u32 k, i, j;

	for (k = 0; k < NKEYS * SMAX; k++) {
		struct kmodel *m = &K[k];

		for (i = 0, j = 0; i < m->n; i++) {
			if (m->t[i] <= tf) {
				m->ack = m->ver[i];
				continue;
			}
			m->ver[j] = m->ver[i];
			m->t[j] = m->t[i];
			j++;
		}
		m->n = j;
	}
}

/* ---- recovery, as vwc_md_open + vwc_load_entries ---- */

struct rec {
	u64 seq;
	u32 copy;
	u32 map[MAXB];		/* key, or NIL */
	bool dirty[MAXB];
	u16 sub[MAXB];
	u32 read[NKEYS * SMAX];
	u32 scrubbed;
	u64 einit;		/* entry pages read */
	u8 ent[MAXP][PAGE];
};

static void *entry(u8 (*pg)[PAGE], u32 cb)
{
	return vwc_entry_ptr(&L, pg[cb / EPP], cb % EPP);
}

static bool recover(const struct image *img, bool scrub, struct rec *r)
{
	u32 kmap[NKEYS];
	struct vwc_sb s;
	const char *err = NULL;
	u32 cb, k;

	st_states++;
	state_bad = false;
	if (vwc_sb_choose(img->sb[0], img->sb[1], &s, &err)) {
		violation("no superblock to load", 0, 0, 0);
		return false;
	}
	if (s.seq < seq)
		violation("superblock %u went back before commit %u", s.seq,
			  seq, 0);
	r->seq = s.seq;
	r->copy = s.copy;
	r->scrubbed = 0;
	r->einit = vwc_sb_entry_pages_read(&s);
	if (lazy() != !!(s.incompat & VWC_FEATURE_INCOMPAT_LAZY_ENTRIES))
		violation("superblock %u: lazy flag lost", s.seq, 0, 0);
	memcpy(r->ent, img->ent, sizeof(r->ent));
	/* vwc_load_entries: only the pages below the watermark. */
	if (scrub)
		for (cb = 0; cb < nblk && cb / EPP < r->einit; cb++)
			r->scrubbed += vwc_entry_scrub(&L, entry(r->ent, cb), cb,
						       s.seq, useed);
	for (k = 0; k < NKEYS; k++)
		kmap[k] = NIL;
	for (cb = 0; cb < nblk; cb++) {
		struct vwc_entry e;

		r->map[cb] = NIL;
		r->dirty[cb] = false;
		if (cb / EPP >= r->einit)
			continue;
		switch (vwc_entry_decode(&L, entry(r->ent, cb), cb, s.seq,
					 useed, &e)) {
		case VWC_REC_CORRUPT:
			violation("entry %u is damaged", cb, 0, 0);
			continue;
		case VWC_REC_OK:
			break;
		default:
			continue;
		}
		if (!e.valid)
			continue;
		if (e.vm >= NVM || e.oblock >= NOB) {
			violation("entry %u names block %u of VM %u", cb,
				  (u32)e.oblock, e.vm);
			continue;
		}
		k = e.vm * NOB + (u32)e.oblock;
		if (kmap[k] != NIL) {
			violation("entries %u and %u both claim key %u",
				  kmap[k], cb, k);
			continue;
		}
		kmap[k] = cb;
		r->map[cb] = k;
		r->dirty[cb] = e.dirty;
		r->sub[cb] = e.map;
	}
	/*
	 * A read after the load: a dirty block from the cache, anything else
	 * from the origin, since the load drops clean blocks (vwc_cache_load).
	 * A clean entry whose data is not allowed is counted apart: harmless
	 * as long as the load drops it.
	 */
	for (k = 0; k < NKEYS; k++) {
		u32 cb = kmap[k], sb;

		for (sb = 0; sb < nsub; sb++) {
			u32 i = ks(k, sb);
			bool held = cb != NIL && (r->sub[cb] & (1u << sb));
			u32 v = held && r->dirty[cb] ?
				img->data[cb * SMAX + sb] : origin[i];

			r->read[i] = v;
			if (!allowed(i, v))
				violation("data key %u reads version %u, durable %u",
					  i, v, K[i].ack);
			if (held && !r->dirty[cb] &&
			    !allowed(i, img->data[cb * SMAX + sb]))
				st_stale_clean++;
		}
	}
	st_bad_states += state_bad;
	return true;
}

/* ---- crash states of the current epoch ---- */

static struct image run_img, tmp_img;
static struct rec rec_buf;

static void check_image(const struct image *img, const char *what, u32 k,
			u32 mask)
{
	ctx = what;
	ctx_k = k;
	ctx_mask = mask;
	ctx_step = step;
	recover(img, mode != M_NOSCRUB, &rec_buf);
}

static u32 rnd_mask(void)
{
	u32 m;

	do
		m = rnd_below(1u << SECTORS);
	while (m == 0 || m == (1u << SECTORS) - 1);
	return m;
}

/*
 * Every prefix of the epoch, each page write torn after k sectors and in
 * three random subsets, and four random subsets of the epoch.
 */
static void check_epoch(void)
{
	u32 i, k, j;

	run_img = durable;
	for (i = 0; i <= nlog; i++) {
		check_image(&run_img, "prefix", i, 0);
		if (i == nlog)
			break;
		if (wlog[i].kind == W_PAGE) {
			for (k = 1; k < SECTORS + 3; k++) {
				u32 mask = k < SECTORS ? (1u << k) - 1 :
					   rnd_mask();

				tmp_img = run_img;
				apply(&tmp_img, &wlog[i], mask);
				check_image(&tmp_img, "torn", i, mask);
			}
		}
		apply(&run_img, &wlog[i], 0xff);
	}
	for (j = 0; j < 4 && nlog > 1; j++) {
		tmp_img = durable;
		for (i = 0; i < nlog; i++) {
			if (rnd_below(2))
				continue;
			apply(&tmp_img, &wlog[i], wlog[i].kind == W_PAGE &&
			      rnd_below(3) == 0 ? rnd_mask() : 0xff);
		}
		check_image(&tmp_img, "subset", j, 0);
	}
}

static void log_data(u32 cb, u32 sub, u32 ver)
{
	struct wr *w = &wlog[nlog++];

	w->kind = W_DATA;
	w->cb = cb;
	w->sub = sub;
	w->ver = ver;
	cur_data[cb * SMAX + sub] = ver;
}

static void log_page(u32 target, const void *buf)
{
	struct wr *w = &wlog[nlog++];

	w->kind = W_PAGE;
	w->target = target;
	memcpy(w->buf, buf, PAGE);
}

static void flush(void)
{
	u32 i;

	check_epoch();
	for (i = 0; i < nlog; i++)
		apply(&durable, &wlog[i], 0xff);
	nlog = 0;
}

/* ---- the kernel's operations ---- */

static void mark(u32 cb)
{
	B[cb].meta |= 1u << meta_gen;
	meta_pages[meta_gen] |= 1u << (cb / EPP);
}

/* vwc_drop_block_locked: to free_pending, entry free at the next commit. */
static void drop(u32 cb)
{
	if (B[cb].valid)
		keymap[B[cb].key] = NIL;
	B[cb].valid = B[cb].dirty = B[cb].redirty = false;
	B[cb].list = L_PENDING;
	mark(cb);
}

static u32 alloc_block(void)
{
	u32 start = rnd_below(nblk), i;

	for (i = 0; i < nblk; i++) {
		u32 cb = (start + i) % nblk;

		if (B[cb].list == L_FREE) {
			B[cb].list = L_USED;
			return cb;
		}
	}
	return NIL;
}

static void map_block(u32 cb, u32 k, bool dirty, u16 sub)
{
	B[cb].valid = true;
	B[cb].dirty = dirty;
	B[cb].sub = sub;
	B[cb].wb = B[cb].redirty = false;
	B[cb].key = k;
	keymap[k] = cb;
	mark(cb);
}

/*
 * A write of whole sub-blocks @t (vwc_map_write_locked in writeback
 * mode): a whole-block write where a block has one.
 */
static void op_write(u32 k)
{
	u32 cb = keymap[k], v = (u32)clk + 1, sb;
	u16 t = nsub == 1 ? 1 : (u16)(1 + rnd_below((1u << nsub) - 1));

	if (cb != NIL && B[cb].dirty) {
		/*
		 * Dirty hit: in place, REDIRTY in writeback; the sub-blocks
		 * it adds are the block's once written (S2), marked.
		 */
		for (sb = 0; sb < nsub; sb++)
			if (t & (1u << sb))
				log_data(cb, sb, v);
		if (B[cb].wb)
			B[cb].redirty = true;
		if (t & ~B[cb].sub) {
			B[cb].sub |= t;
			mark(cb);
			st_grow++;
		}
		for (sb = 0; sb < nsub; sb++)
			if (t & (1u << sb))
				hist_add(ks(k, sb), v);
		return;
	}
	if (cb != NIL)
		drop(cb);		/* a clean copy is replaced */
	cb = alloc_block();
	if (cb == NIL)
		return;
	/* PENDING until its data is written */
	for (sb = 0; sb < nsub; sb++)
		if (t & (1u << sb))
			log_data(cb, sb, v);
	map_block(cb, k, true, t);
	for (sb = 0; sb < nsub; sb++)
		if (t & (1u << sb))
			hist_add(ks(k, sb), v);
}

/* Pick a key whose block satisfies @want, from a random start. */
static u32 pick(int want)
{
	u32 start = rnd_below(NKEYS), i;

	for (i = 0; i < NKEYS; i++) {
		u32 k = (start + i) % NKEYS, cb = keymap[k];

		if (want == 0 && cb == NIL)
			return k;
		if (cb == NIL)
			continue;
		if (want == 1 && B[cb].dirty && !B[cb].wb)
			return k;
		if (want == 2 && B[cb].wb)
			return k;
		if (want == 3 && !B[cb].dirty)
			return k;
	}
	return NIL;
}

static void op_wb_start(void)
{
	u32 k = pick(1), cb, sb;

	if (k == NIL)
		return;
	cb = keymap[k];
	B[cb].wb = true;
	B[cb].wbsub = B[cb].sub;
	for (sb = 0; sb < nsub; sb++)
		B[cb].wbver[sb] = cur_data[cb * SMAX + sb];
}

/* vwc_wb_finish: the origin write (FUA) completed. */
static void op_wb_finish(void)
{
	u32 k = pick(2), cb, sb;

	if (k == NIL)
		return;
	cb = keymap[k];
	for (sb = 0; sb < nsub; sb++)
		if (B[cb].wbsub & (1u << sb))
			origin[ks(k, sb)] = B[cb].wbver[sb];
	B[cb].wb = false;
	if (B[cb].redirty) {
		B[cb].redirty = false;	/* vwc_make_dirty_locked */
		st_redirty++;
	} else {
		B[cb].dirty = false;	/* vwc_wb_done_block_locked */
	}
	mark(cb);
}

static void op_evict(void)
{
	u32 k = pick(3);

	if (k != NIL)
		drop(keymap[k]);
}

static void op_discard(u32 k)
{
	u32 cb = keymap[k], sb;

	if (cb != NIL && B[cb].wb)
		return;
	if (cb != NIL)
		drop(cb);
	for (sb = 0; sb < nsub; sb++)
		hist_add(ks(k, sb), ANYV);
}

static void op_promote(void)
{
	u32 k = pick(0), cb, sb;

	if (k == NIL)
		return;
	for (sb = 0; sb < nsub; sb++)
		if (latest[ks(k, sb)] == ANYV)
			return;
	cb = alloc_block();
	if (cb == NIL)
		return;
	for (sb = 0; sb < nsub; sb++)
		log_data(cb, sb, origin[ks(k, sb)]);
	map_block(cb, k, false, (u16)((1u << nsub) - 1));
}

/* The kernel's reads return the newest completed write. */
static void self_check(void)
{
	u32 k;

	for (k = 0; k < NKEYS; k++) {
		u32 cb = keymap[k], sb;

		for (sb = 0; sb < nsub; sb++) {
			u32 i = ks(k, sb);
			u32 v = cb != NIL && (B[cb].sub & (1u << sb)) ?
				cur_data[cb * SMAX + sb] : origin[i];

			if (latest[i] != ANYV && v != latest[i]) {
				fprintf(stderr, "model error: data key %u reads %u, wrote %u\n",
					i, v, latest[i]);
				abort();
			}
		}
	}
}

static void op_random(void)
{
	u32 r = rnd_below(100);

	if (nlog > MAXLOG - 8)
		return;
	if (r < 40)
		op_write(rnd_below(NKEYS));
	else if (r < 55)
		op_wb_start();
	else if (r < 72)
		op_wb_finish();
	else if (r < 80)
		op_evict();
	else if (r < 85)
		op_discard(rnd_below(NKEYS));
	else if (r < 93)
		op_promote();
	self_check();
}

/* ---- load (vwc_md_open, vwc_cache_load) ---- */

static void load(const struct image *img)
{
	struct rec *r = &rec_buf;
	bool scrub = mode != M_NOSCRUB;
	u32 cb, k, p;

	st_adopt++;
	durable = *img;
	nlog = 0;
	ctx = "load";
	if (!recover(img, scrub, r))
		abort();
	seq = r->seq;
	einit = r->einit;
	for (k = 0; k < NKEYS; k++)
		keymap[k] = NIL;
	for (k = 0; k < NKEYS * SMAX; k++) {
		K[k].ack = latest[k] = r->read[k];
		K[k].n = 0;
	}
	memset(B, 0, sizeof(B));
	meta_pages[0] = meta_pages[1] = 0;
	memcpy(cur_data, img->data, sizeof(cur_data));
	for (cb = 0; cb < nblk; cb++) {
		B[cb].list = L_FREE;
		if (r->map[cb] == NIL)
			continue;
		B[cb].list = L_USED;
		B[cb].valid = true;
		B[cb].dirty = r->dirty[cb];
		B[cb].sub = r->sub[cb];
		B[cb].key = r->map[cb];
		keymap[r->map[cb]] = cb;
	}
	/* The scrubbed pages, durable before any commit. */
	memcpy(cur_pg, r->ent, sizeof(cur_pg));
	st_scrubbed += r->scrubbed;
	for (p = 0; p < npg; p++)
		if (memcmp(r->ent[p], img->ent[p], PAGE))
			log_page(2 + p, r->ent[p]);
	if (nlog)
		flush();
	/* Clean blocks cannot be trusted after a load: dropped. */
	for (cb = 0; cb < nblk; cb++)
		if (B[cb].valid && !B[cb].dirty)
			drop(cb);
	self_check();
}

/* ---- the commit (vwc_commit) ---- */

/*
 * @adopt: 0 goes on; 1 loads the state with every write but the
 * superblock's (a torn commit); 2 loads it with the superblock write torn
 * in random sectors (all of a copy but its first sector is zero, so that
 * is the old or the new copy, whole: a cut before or after it lands).
 * Returns false when a load replaced the state.
 */
static bool commit(bool interleave, int adopt)
{
	unsigned int gen = meta_gen;
	u64 tf, cinit = einit;
	u32 cb, p, i;
	struct vwc_sb s;
	static u8 sbuf[PAGE];

	/* 1. freeze */
	meta_gen ^= 1;
	for (cb = 0; cb < nblk; cb++)
		if (B[cb].list == L_PENDING)
			B[cb].list = L_DETACHED;
	tf = clk;
	/* 2. hold the pages (other I/O goes on, marking the next generation) */
	if (interleave)
		for (i = rnd_below(3); i; i--)
			op_random();
	/*
	 * 3. encode the blocks marked in the frozen generation as they are,
	 * a batch of pages at a time (here one page: the smallest batch),
	 * other I/O going on between the batches (cache_lock dropped)
	 */
	for (p = 0; p < npg; p++) {
		bool changed = false;

		if (!(meta_pages[gen] & (1u << p)))
			continue;
		if (interleave)
			for (i = rnd_below(3); i; i--)
				op_random();
		meta_pages[gen] &= ~(1u << p);
		/* vwc_hold_entry_page: pages from the watermark written whole */
		if (lazy() && p >= cinit) {
			for (; cinit < p; cinit++) {
				memset(cur_pg[cinit], 0, PAGE);
				if (mode != M_LAZY_NOGAP)
					log_page(2 + (u32)cinit, cur_pg[cinit]);
			}
			memset(cur_pg[p], 0, PAGE);
			changed = true;
			cinit = p + 1;
		}
		for (i = 0; i < EPP && p * EPP + i < nblk; i++) {
			struct vwc_entry e = { 0 };
			void *d = entry(cur_pg, p * EPP + i);
			struct blk *b;

			cb = p * EPP + i;
			b = &B[cb];
			if (!(b->meta & (1u << gen)))
				continue;
			b->meta &= ~(1u << gen);
			if (b->valid) {
				e.valid = true;
				e.dirty = b->dirty;
				e.vm = b->key / NOB;
				e.oblock = b->key % NOB;
				e.map = b->sub;
			}
			if (mode == M_LEGACY) {
				vwc_entry_encode(&L, d, cb, &e, seq + 1, useed);
				changed = true;
			} else if (vwc_entry_update(&L, d, cb, &e, seq + 1,
						    useed)) {
				/* The control: growth without a base. */
				if (mode == M_SUB_NOBASE)
					vwc_entry_encode(&L, d, cb, &e, seq + 1,
							 useed);
				changed = true;
			} else {
				st_unchanged++;
			}
		}
		if (changed)
			log_page(2 + p, cur_pg[p]);
	}
	/* 5. write the pages, flush (other I/O goes on meanwhile) */
	if (interleave)
		for (i = rnd_below(4); i; i--)
			op_random();
	flush();
	if (interleave)
		for (i = rnd_below(4); i; i--)
			op_random();
	/* 6. the superblock over its older copy, flush */
	vwc_sb_init(&s, &L, uuid);
	if (lazy()) {
		vwc_sb_set_lazy(&s);
		s.entries_init = cinit;
	}
	s.seq = seq + 1;
	s.copy = s.seq & 1;
	vwc_sb_encode(&s, sbuf);
	log_page(s.copy, sbuf);
	if (adopt) {
		check_epoch();
		tmp_img = durable;
		for (i = 0; i + 1 < nlog; i++)
			apply(&tmp_img, &wlog[i], 0xff);
		if (adopt == 2)
			apply(&tmp_img, &wlog[nlog - 1], rnd_mask());
		load(&tmp_img);
		return false;
	}
	flush();
	seq++;
	einit = cinit;
	st_commits++;
	/* 7. the detached blocks to free (I2); FLUSH bios complete */
	for (cb = 0; cb < nblk; cb++)
		if (B[cb].list == L_DETACHED)
			B[cb].list = L_FREE;
	model_commit(tf);
	return true;
}

/* ---- runs ---- */

static void format(void)
{
	struct vwc_sb s;
	u32 k, cb;

	memset(&durable, 0, sizeof(durable));
	nlog = 0;
	vwc_sb_init(&s, &L, uuid);
	einit = npg;
	if (lazy()) {
		/* The entries as they were: what a torn commit could leave. */
		for (cb = 0; cb < nblk; cb++) {
			struct vwc_entry e = {
				.valid = rnd_below(2), .dirty = rnd_below(2),
				.vm = rnd_below(NVM), .oblock = rnd_below(NOB),
				.map = 1,
			};

			/* (no extra draw for whole blocks: the same runs) */
			if (nsub > 1) {
				e.map = (u16)(1 + rnd_below((1u << nsub) - 1));
				e.base = e.map & (u16)rnd_below(1u << nsub);
			}

			vwc_entry_encode(&L, entry(durable.ent, cb), cb, &e,
					 3 + rnd_below(60), useed);
		}
		vwc_sb_set_lazy(&s);
		einit = 0;
	}
	s.seq = 1;			/* as vwc_md_format */
	s.copy = 1;
	vwc_sb_encode(&s, durable.sb[1]);
	s.seq = 2;
	s.copy = 0;
	vwc_sb_encode(&s, durable.sb[0]);
	seq = 2;
	memset(B, 0, sizeof(B));
	memcpy(cur_pg, durable.ent, sizeof(cur_pg));
	memset(cur_data, 0, sizeof(cur_data));
	meta_pages[0] = meta_pages[1] = 0;
	meta_gen = 0;
	for (cb = 0; cb < nblk; cb++)
		B[cb].list = L_FREE;
	for (k = 0; k < NKEYS; k++)
		keymap[k] = NIL;
	for (k = 0; k < NKEYS * SMAX; k++) {
		origin[k] = (u32)++clk;
		K[k].ack = latest[k] = origin[k];
		K[k].n = 0;
	}
}

static u64 run(enum mode m, u64 seedval, unsigned int steps)
{
	u64 viol0 = st_viol;

	mode = m;
	run_seed = seedval;
	unit_seed(seedval);
	L = sub_mode() ? L_sub : L_whole;
	nblk = (u32)L.nr_blocks;
	npg = DIV_ROUND_UP(nblk, EPP);
	nsub = L.subblocks;
	format();
	for (step = 0; step < steps; step++) {
		if (rnd_below(5) == 0 || nlog > MAXLOG - 16) {
			u32 a = rnd_below(10);

			commit(rnd_below(2), a == 0 ? 1 : a == 1 ? 2 : 0);
		} else {
			op_random();
		}
	}
	/* A clean stop, and a load of it. */
	commit(false, 0);
	ctx = "clean stop";
	run_img = durable;
	recover(&run_img, mode != M_NOSCRUB, &rec_buf);
	return st_viol - viol0;
}

struct tally {
	u64 states, viol, bad;
};

static struct tally run_mode(enum mode m, unsigned int seeds,
			     unsigned int steps)
{
	struct tally t;
	u64 states0 = st_states, viol0 = st_viol, bad0 = st_bad_states;
	unsigned int i;

	printed = 0;
	for (i = 0; i < seeds; i++)
		run(m, SEED_BASE + 1000 * i, steps);
	t.states = st_states - states0;
	t.viol = st_viol - viol0;
	t.bad = st_bad_states - bad0;
	return t;
}

/* A direct case of item 1: a dirty block rewritten during its writeback. */
static void test_redirty_direct(void)
{
	struct vwc_disk_entry d = { 0 };
	struct vwc_entry e = { .valid = true, .dirty = true, .vm = 1,
			       .oblock = 7 }, out;

	vwc_entry_encode(&L, &d, 5, &e, 10, useed);
	CHECK(!vwc_entry_update(&L, &d, 5, &e, 11, useed));
	CHECK(vwc_entry_decode(&L, &d, 5, 10, useed, &out) == VWC_REC_OK);
	CHECK(out.valid && out.dirty && out.oblock == 7 && out.vm == 1);
	e.dirty = false;
	CHECK(vwc_entry_update(&L, &d, 5, &e, 11, useed));
	CHECK(vwc_entry_decode(&L, &d, 5, 10, useed, &out) ==
	      VWC_REC_UNCOMMITTED);
	CHECK(vwc_entry_scrub(&L, &d, 5, 10, useed));
	CHECK(vwc_entry_decode(&L, &d, 5, 11, useed, &out) == VWC_REC_OK);
	CHECK(!out.valid);
}

static void print_tally(const char *name, struct tally t)
{
	printf("test_commit_sim: %s: %llu crash states recovered, %llu with "
	       "violations (%llu violations)\n", name,
	       (unsigned long long)t.states, (unsigned long long)t.bad,
	       (unsigned long long)t.viol);
}

int main(void)
{
	struct tally t_new, t_legacy, t_noscrub, t_lazy, t_nogap, t_sub,
		     t_nobase;
	u64 redirty, unchanged, adopt, scrubbed, commits, stale;
	clock_t c0 = clock();

	/* 600 blocks: three entry pages, the last one partly used. */
	CHECK(vwc_layout_compute(5864, 4096, 0, &L_whole) == 0);
	L = L_whole;
	nblk = (u32)L.nr_blocks;
	npg = DIV_ROUND_UP(nblk, EPP);
	nsub = 1;
	CHECK(nblk == 600 && npg == 3 && nblk <= MAXB && npg <= MAXP);
	/* Sub-blocks: 8 KiB blocks of two, 32-byte entries, three pages. */
	CHECK(vwc_layout_compute(7800, 8192, VWC_FEATURE_INCOMPAT_SUBBLOCKS,
				 &L_sub) == 0);
	CHECK(L_sub.subblocks == SMAX && L_sub.nr_blocks <= MAXB &&
	      DIV_ROUND_UP(L_sub.nr_blocks, vwc_entries_per_page(&L_sub)) <=
	      MAXP);
	printf("test_commit_sim: sub-blocks: %llu blocks of %u, %u entries a page\n",
	       (unsigned long long)L_sub.nr_blocks, L_sub.subblocks,
	       vwc_entries_per_page(&L_sub));
	useed = vwc_uuid_seed(uuid);

	test_redirty_direct();

	t_new = run_mode(M_NEW, SEEDS_NEW, STEPS);
	redirty = st_redirty;
	unchanged = st_unchanged;
	adopt = st_adopt;
	scrubbed = st_scrubbed;
	commits = st_commits;
	stale = st_stale_clean;
	t_legacy = run_mode(M_LEGACY, SEEDS_CONTROL, STEPS);
	t_noscrub = run_mode(M_NOSCRUB, SEEDS_CONTROL, STEPS);
	t_lazy = run_mode(M_LAZY, SEEDS_NEW, STEPS);
	t_nogap = run_mode(M_LAZY_NOGAP, SEEDS_CONTROL, STEPS);
	st_grow = 0;
	t_sub = run_mode(M_SUB, SEEDS_NEW, STEPS);
	t_nobase = run_mode(M_SUB_NOBASE, SEEDS_CONTROL, STEPS);

	printf("test_commit_sim: update+scrub: %llu commits, %llu loads of a "
	       "crash state, %llu entries scrubbed, %llu REDIRTY writebacks, "
	       "%llu marked entries left unchanged, %llu stale clean entries "
	       "(dropped by the load)\n",
	       (unsigned long long)commits, (unsigned long long)adopt,
	       (unsigned long long)scrubbed, (unsigned long long)redirty,
	       (unsigned long long)unchanged, (unsigned long long)stale);
	print_tally("update+scrub", t_new);
	print_tally("negative control legacy encode", t_legacy);
	print_tally("negative control no scrub", t_noscrub);
	print_tally("lazy entries", t_lazy);
	print_tally("negative control lazy without gap fill", t_nogap);
	print_tally("sub-blocks", t_sub);
	print_tally("negative control sub-blocks without base", t_nobase);
	printf("test_commit_sim: %.1f s\n",
	       (double)(clock() - c0) / CLOCKS_PER_SEC);
	CHECK(t_new.states > 20000);
	CHECK(redirty > 0 && unchanged > 0 && adopt > 0 && scrubbed > 0);
	CHECK(t_new.viol == 0);
	CHECK(t_legacy.bad > 0);
	CHECK(t_noscrub.bad > 0);
	CHECK(t_lazy.states > 20000);
	CHECK(t_lazy.viol == 0);
	CHECK(t_nogap.bad > 0);
	CHECK(t_sub.states > 20000 && st_grow > 0);
	CHECK(t_sub.viol == 0);
	CHECK(t_nobase.bad > 0);
	return unit_report("test_commit_sim");
}
