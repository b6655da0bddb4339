/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache sequential stream detection, for the pool's
 * sequential_cutoff (bcache's idea; the admin guide, "Pool settings").
 *
 * A VM device keeps its VWC_SEQ_STREAMS most recent streams: for each,
 * the sector where it continues and the bytes it has run so far.  An I/O
 * that starts where a stream continues extends that stream; any other
 * starts a stream of its own in place of the least recently used one.
 * So a few sequential readers and writers interleaved (a guest's
 * readahead beside a copy, say) are each followed, and random I/O only
 * churns the table.  The bytes an I/O's stream has run, itself included,
 * are what the caller holds against the cutoff.  An I/O noted whole and
 * then cut (the rest comes as an I/O of its own) is shortened to what
 * it kept, so that the rest continues its stream.
 *
 * Rules: no allocation, no locks (the caller serialises calls on one
 * table), no bios: the portable core, tests/unit/test_seq.c.
 */
#ifndef DM_VWCACHE_SEQ_H
#define DM_VWCACHE_SEQ_H

#include "dm-vwcache-core.h"

#define VWC_SEQ_STREAMS		8

struct vwc_seq {
	u64 next[VWC_SEQ_STREAMS];	/* sector where stream i continues */
	u64 bytes[VWC_SEQ_STREAMS];	/* bytes stream i has run */
	u32 used[VWC_SEQ_STREAMS];	/* clock at stream i's last I/O */
	u32 clock;
	u32 last;			/* the stream of the last I/O noted */
	u32 last_sectors;		/* ... and that I/O's length */
};

void vwc_seq_init(struct vwc_seq *s);
u64 vwc_seq_note(struct vwc_seq *s, u64 sector, u32 sectors);
void vwc_seq_shorten(struct vwc_seq *s, u32 sectors);

#endif /* DM_VWCACHE_SEQ_H */
