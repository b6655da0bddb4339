/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache I/O shares: the per-VM limits (iops_limit, bw_limit) and the
 * sharing of the pool's capacity (io_capacity_iops, io_capacity_bw) by
 * weight.
 *
 * A client is one VM device.  Every I/O of a client takes one token and
 * its bytes from the client's own buckets and the same from the pool's
 * capacity buckets (token buckets, dm-vwcache-tbucket.h).  An I/O goes at
 * once when its client has nothing waiting and all four buckets hold its
 * tokens (vwc_share_admit); otherwise the caller queues it, marks the
 * client backlogged (vwc_share_backlog) and later asks which client's
 * oldest I/O goes next (vwc_share_pick).
 *
 * Sharing is start-time fair queuing in virtual time.  Each I/O advances
 * its client's vtime by its cost in device time (the larger of
 * 1 s / io_capacity_iops and bytes / io_capacity_bw, in ns) times
 * VWC_SHARE_SCALE / weight.  The next I/O to go is the oldest one of the
 * backlogged client with the least vtime among those its own limits
 * allow.  A client becoming backlogged starts no earlier than the pool's
 * virtual time (the vtime of the last client picked), so time spent idle
 * earns no credit.
 *
 * Rules and invariants:
 * - Under contention (capacity short, several clients backlogged), each
 *   client gets capacity in proportion to its weight; a client held by
 *   its own limit leaves its share to the others.  Below capacity no
 *   client waits for another: only its own limits delay it.  An idle
 *   client costs the others nothing.
 * - Rates of 0 mean unlimited.  Burst: 1/VWC_SHARE_BURST_DIV of a
 *   second's worth of tokens, at least one I/O and VWC_SHARE_MIN_BYTES.
 * - Changing a limit or the capacity keeps what the bucket holds (up to
 *   the new burst) and applies to the very next decision.
 * - No locks, no sleeping; the caller serialises all calls on one share
 *   and its clients, and passes a clock in nanoseconds.
 */
#ifndef DM_VWCACHE_SHARE_H
#define DM_VWCACHE_SHARE_H

#include "dm-vwcache-tbucket.h"

#define VWC_SHARE_SCALE		1000ULL	/* the largest weight */
#define VWC_SHARE_BURST_DIV	20	/* burst: 50 ms of the rate */
#define VWC_SHARE_MIN_BYTES	65536	/* bytes burst: one largest block */

struct vwc_share_client {
	struct vwc_tbucket iops;	/* iops_limit */
	struct vwc_tbucket bw;		/* bw_limit, bytes */
	u64 weight;			/* 1..VWC_SHARE_SCALE */
	u64 vtime;
	u64 head_bytes;			/* size of the oldest waiting I/O */
	bool backlogged;		/* I/O waiting: head_bytes is valid */
};

struct vwc_share {
	struct vwc_tbucket cap_iops;	/* io_capacity_iops */
	struct vwc_tbucket cap_bw;	/* io_capacity_bw, bytes */
	u64 vtime;			/* of the last client picked */
};

void vwc_share_init(struct vwc_share *s, u64 cap_iops, u64 cap_bw,
		    u64 now_ns);
void vwc_share_set_capacity(struct vwc_share *s, u64 cap_iops, u64 cap_bw,
			    u64 now_ns);
void vwc_share_client_init(struct vwc_share_client *c, u64 iops, u64 bw,
			   u64 weight, u64 now_ns);
void vwc_share_client_set(struct vwc_share_client *c, u64 iops, u64 bw,
			  u64 weight, u64 now_ns);
bool vwc_share_admit(struct vwc_share *s, struct vwc_share_client *c,
		     u64 now_ns, u64 bytes);
void vwc_share_backlog(struct vwc_share *s, struct vwc_share_client *c,
		       u64 head_bytes);
int vwc_share_pick(struct vwc_share *s, struct vwc_share_client **clients,
		   unsigned int n, u64 now_ns, u64 *wait_ns);

#endif /* DM_VWCACHE_SHARE_H */
