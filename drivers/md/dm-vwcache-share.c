// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache I/O shares: see dm-vwcache-share.h for the rules of this
 * file.
 */
#include "dm-vwcache-share.h"

static u64 vwc_share_burst(u64 rate, u64 min)
{
	u64 burst = rate / VWC_SHARE_BURST_DIV;

	return burst > min ? burst : min;
}

static void vwc_share_set_pair(struct vwc_tbucket *ops,
			       struct vwc_tbucket *bytes, u64 iops, u64 bw,
			       u64 now_ns)
{
	vwc_tb_set_rate(ops, iops, vwc_share_burst(iops, 1), now_ns);
	vwc_tb_set_rate(bytes, bw, vwc_share_burst(bw, VWC_SHARE_MIN_BYTES),
			now_ns);
}

void vwc_share_init(struct vwc_share *s, u64 cap_iops, u64 cap_bw,
		    u64 now_ns)
{
	memset(s, 0, sizeof(*s));
	vwc_tb_init(&s->cap_iops, cap_iops, vwc_share_burst(cap_iops, 1),
		    now_ns);
	vwc_tb_init(&s->cap_bw, cap_bw,
		    vwc_share_burst(cap_bw, VWC_SHARE_MIN_BYTES), now_ns);
}

void vwc_share_set_capacity(struct vwc_share *s, u64 cap_iops, u64 cap_bw,
			    u64 now_ns)
{
	if (s->cap_iops.rate != cap_iops || s->cap_bw.rate != cap_bw)
		vwc_share_set_pair(&s->cap_iops, &s->cap_bw, cap_iops, cap_bw,
				   now_ns);
}

static u64 vwc_share_weight(u64 weight)
{
	if (!weight)
		return 1;
	return weight > VWC_SHARE_SCALE ? VWC_SHARE_SCALE : weight;
}

void vwc_share_client_init(struct vwc_share_client *c, u64 iops, u64 bw,
			   u64 weight, u64 now_ns)
{
	memset(c, 0, sizeof(*c));
	vwc_tb_init(&c->iops, iops, vwc_share_burst(iops, 1), now_ns);
	vwc_tb_init(&c->bw, bw, vwc_share_burst(bw, VWC_SHARE_MIN_BYTES),
		    now_ns);
	c->weight = vwc_share_weight(weight);
}

void vwc_share_client_set(struct vwc_share_client *c, u64 iops, u64 bw,
			  u64 weight, u64 now_ns)
{
	if (c->iops.rate != iops || c->bw.rate != bw)
		vwc_share_set_pair(&c->iops, &c->bw, iops, bw, now_ns);
	c->weight = vwc_share_weight(weight);
}

/* Time until both buckets of a pair hold one I/O of @bytes. */
static u64 vwc_share_pair_wait(struct vwc_tbucket *ops,
			       struct vwc_tbucket *bytes, u64 now_ns, u64 n)
{
	u64 a = vwc_tb_wait_ns(ops, now_ns, 1);
	u64 b = vwc_tb_wait_ns(bytes, now_ns, n);

	return a > b ? a : b;
}

/*
 * The device time an I/O of @bytes costs, in ns: what it takes of the
 * scarcer capacity.  1 when the capacity is unlimited, so that vtime
 * still orders the clients.
 */
static u64 vwc_share_cost(const struct vwc_share *s, u64 bytes)
{
	u64 a = 0, b = 0;

	if (s->cap_iops.rate)
		a = vwc_mul_div(1, VWC_NSEC_PER_SEC, s->cap_iops.rate, true);
	if (s->cap_bw.rate)
		b = vwc_mul_div(bytes, VWC_NSEC_PER_SEC, s->cap_bw.rate, true);
	a = a > b ? a : b;
	return a ? a : 1;
}

/* Take the tokens of one I/O everywhere and advance the client's vtime. */
static void vwc_share_charge(struct vwc_share *s, struct vwc_share_client *c,
			     u64 now_ns, u64 bytes)
{
	u64 step = vwc_mul_div(vwc_share_cost(s, bytes), VWC_SHARE_SCALE,
			       c->weight, true);

	vwc_tb_take(&c->iops, now_ns, 1);
	vwc_tb_take(&c->bw, now_ns, bytes);
	vwc_tb_take(&s->cap_iops, now_ns, 1);
	vwc_tb_take(&s->cap_bw, now_ns, bytes);
	if (c->vtime > s->vtime)
		s->vtime = c->vtime;
	c->vtime = c->vtime + step < c->vtime ? U64_MAX : c->vtime + step;
}

/*
 * May an I/O of @bytes from @c go now?  Only when nothing of @c waits and
 * every bucket holds its tokens, which it then takes.
 */
bool vwc_share_admit(struct vwc_share *s, struct vwc_share_client *c,
		     u64 now_ns, u64 bytes)
{
	if (c->backlogged)
		return false;
	if (vwc_share_pair_wait(&c->iops, &c->bw, now_ns, bytes) ||
	    vwc_share_pair_wait(&s->cap_iops, &s->cap_bw, now_ns, bytes))
		return false;
	if (c->vtime < s->vtime)
		c->vtime = s->vtime;
	vwc_share_charge(s, c, now_ns, bytes);
	return true;
}

/* @c has I/O waiting now, the oldest of @head_bytes. */
void vwc_share_backlog(struct vwc_share *s, struct vwc_share_client *c,
		       u64 head_bytes)
{
	if (!c->backlogged && c->vtime < s->vtime)
		c->vtime = s->vtime;
	c->backlogged = true;
	c->head_bytes = head_bytes;
}

/*
 * Which of the @n @clients sends its oldest I/O now?  Returns its index,
 * with the tokens taken (the caller sends that I/O and updates
 * head_bytes or clears backlogged), or -1 with @wait_ns the time until
 * one may go (U64_MAX when none is backlogged).
 */
int vwc_share_pick(struct vwc_share *s, struct vwc_share_client **clients,
		   unsigned int n, u64 now_ns, u64 *wait_ns)
{
	struct vwc_share_client *best = NULL;
	u64 wait = U64_MAX, w;
	unsigned int i;
	int best_i = -1;

	for (i = 0; i < n; i++) {
		struct vwc_share_client *c = clients[i];

		if (!c->backlogged)
			continue;
		w = vwc_share_pair_wait(&c->iops, &c->bw, now_ns,
					c->head_bytes);
		if (w) {
			wait = w < wait ? w : wait;
			continue;
		}
		if (!best || c->vtime < best->vtime) {
			best = c;
			best_i = i;
		}
	}
	if (best) {
		w = vwc_share_pair_wait(&s->cap_iops, &s->cap_bw, now_ns,
					best->head_bytes);
		if (!w) {
			vwc_share_charge(s, best, now_ns, best->head_bytes);
			return best_i;
		}
		wait = w < wait ? w : wait;
	}
	*wait_ns = wait;
	return -1;
}
