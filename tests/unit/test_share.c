// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dm-vwcache-share.c, by simulation on a virtual clock:
 * saturating clients share the capacity in proportion to their weights,
 * an idle client costs nothing, a client held by its own limit leaves its
 * share to the others, below capacity nobody waits, limits hold to the
 * token and a changed limit applies at once.
 */
#include <stdlib.h>

#include "dm-vwcache-share.h"
#include "unit.h"

#define NS	VWC_NSEC_PER_SEC
#define MS	1000000ULL
#define TICK	(4 * MS)	/* the dispatcher's granularity (HZ 250) */
#define MAXC	4

struct sim {
	struct vwc_share s;
	struct vwc_share_client c[MAXC];
	struct vwc_share_client *p[MAXC];
	unsigned int n;
	u64 size[MAXC];		/* bytes per I/O; 0: the client is idle */
	u64 ios[MAXC];
	u64 bytes[MAXC];
	u64 now;
};

static void sim_init(struct sim *m, u64 cap_iops, u64 cap_bw)
{
	memset(m, 0, sizeof(*m));
	vwc_share_init(&m->s, cap_iops, cap_bw, 0);
}

static void sim_client(struct sim *m, u64 iops, u64 bw, u64 weight,
		       u64 size)
{
	unsigned int i = m->n++;

	vwc_share_client_init(&m->c[i], iops, bw, weight, 0);
	m->p[i] = &m->c[i];
	m->size[i] = size;
	if (size)
		vwc_share_backlog(&m->s, &m->c[i], size);
}

/* Saturating clients: always backlogged; dispatch every tick until @end. */
static void sim_run(struct sim *m, u64 end)
{
	u64 wait;
	int i;

	while (m->now < end) {
		while ((i = vwc_share_pick(&m->s, m->p, m->n, m->now,
					   &wait)) >= 0) {
			m->ios[i]++;
			m->bytes[i] += m->size[i];
		}
		CHECK(wait > 0);
		m->now += TICK;
	}
}

static bool near(double got, double want, double tol)
{
	return got >= want * (1 - tol) && got <= want * (1 + tol);
}

static void test_weights(void)
{
	struct sim m;
	double total;

	sim_init(&m, 1000, 0);
	sim_client(&m, 0, 0, 100, 4096);
	sim_client(&m, 0, 0, 300, 4096);
	sim_client(&m, 0, 0, 500, 0);	/* idle: costs nothing */
	sim_run(&m, 10 * NS);
	total = m.ios[0] + m.ios[1];
	CHECK(m.ios[2] == 0);
	CHECK(near(total, 10000, 0.01));
	CHECK(near((double)m.ios[1] / m.ios[0], 3.0, 0.03));
}

/* A client that goes quiet and comes back gets no credit for the pause. */
static void test_idle_no_credit(void)
{
	struct sim m;
	u64 before;

	sim_init(&m, 1000, 0);
	sim_client(&m, 0, 0, 100, 4096);
	sim_client(&m, 0, 0, 100, 4096);
	m.c[1].backlogged = false;
	sim_run(&m, 5 * NS);
	CHECK(m.ios[1] == 0);
	CHECK(near(m.ios[0], 5000, 0.01));
	before = m.ios[0];
	vwc_share_backlog(&m.s, &m.c[1], 4096);
	sim_run(&m, 10 * NS);
	CHECK(near(m.ios[0] - before, 2500, 0.03));
	CHECK(near(m.ios[1], 2500, 0.03));
}

/* A client held by its own limit leaves its share to the others. */
static void test_own_limit(void)
{
	struct sim m;

	sim_init(&m, 1000, 0);
	sim_client(&m, 100, 0, 900, 4096);
	sim_client(&m, 0, 0, 100, 4096);
	sim_run(&m, 10 * NS);
	CHECK(near(m.ios[0], 1000, 0.03));
	CHECK(near(m.ios[1], 9000, 0.02));
}

/* Bandwidth capacity: equal weights get equal bytes, whatever the sizes. */
static void test_bw_share(void)
{
	struct sim m;

	sim_init(&m, 0, 4 << 20);
	sim_client(&m, 0, 0, 100, 65536);
	sim_client(&m, 0, 0, 100, 4096);
	sim_run(&m, 10 * NS);
	CHECK(near(m.bytes[0] + m.bytes[1], 40 << 20, 0.02));
	CHECK(near((double)m.bytes[0] / m.bytes[1], 1.0, 0.05));
}

/* iops_limit and bw_limit alone, no capacity: the rate to the burst. */
static void test_limits(void)
{
	struct sim m;

	sim_init(&m, 0, 0);
	sim_client(&m, 500, 0, 100, 4096);
	sim_client(&m, 0, 4 << 20, 100, 65536);
	sim_run(&m, 10 * NS);
	/* The bucket starts full: rate * T + burst at most. */
	CHECK(m.ios[0] >= 5000 && m.ios[0] <= 5000 + 25 + 1);
	CHECK(m.bytes[1] >= (40ULL << 20) - 65536 &&
	      m.bytes[1] <= (40ULL << 20) + (4 << 20) / 20 + 65536);
}

/* A changed limit applies from the next decision on. */
static void test_change(void)
{
	struct sim m;
	u64 before;

	sim_init(&m, 0, 0);
	sim_client(&m, 500, 0, 100, 4096);
	sim_run(&m, 5 * NS);
	before = m.ios[0];
	vwc_share_client_set(&m.c[0], 2000, 0, 100, m.now);
	sim_run(&m, 6 * NS);
	CHECK(near(m.ios[0] - before, 2000, 0.05));
	vwc_share_client_set(&m.c[0], 0, 0, 100, m.now);
	before = m.ios[0];
	m.c[0].backlogged = false;
	CHECK(vwc_share_admit(&m.s, &m.c[0], m.now, 4096));
	CHECK(vwc_share_admit(&m.s, &m.c[0], m.now, 1 << 20));
}

/* Below capacity an arriving I/O goes at once; above, it must wait. */
static void test_admit(void)
{
	struct vwc_share s;
	struct vwc_share_client a, b;
	u64 now, wait, admitted = 0, refused = 0;
	struct vwc_share_client *p[2] = { &a, &b };

	vwc_share_init(&s, 1000, 0, 0);
	vwc_share_client_init(&a, 0, 0, 100, 0);
	vwc_share_client_init(&b, 0, 0, 100, 0);
	/* 300 + 500 IOPS offered, evenly spaced: all admitted. */
	for (now = 0; now < 10 * NS; now += NS / 100) {
		unsigned int k;

		for (k = 0; k < 3; k++)
			admitted += vwc_share_admit(&s, &a, now + k, 4096);
		for (k = 0; k < 5; k++)
			admitted += vwc_share_admit(&s, &b, now + k, 4096);
	}
	CHECK(admitted == 8000);
	/* Backlogged clients are never admitted ahead of their queue. */
	vwc_share_backlog(&s, &a, 4096);
	CHECK(!vwc_share_admit(&s, &a, now, 4096));
	/* 2000 offered: about the capacity is admitted. */
	a.backlogged = false;
	for (now = 20 * NS; now < 30 * NS; now += NS / 1000) {
		if (vwc_share_admit(&s, &b, now, 4096))
			admitted++;
		else
			refused++;
		if (vwc_share_admit(&s, &b, now + 1, 4096))
			admitted++;
		else
			refused++;
	}
	CHECK(near(admitted - 8000, 10000, 0.01));
	CHECK(near(refused, 10000, 0.01));
	/* Nothing backlogged: no wait to report. */
	CHECK(vwc_share_pick(&s, p, 2, now, &wait) == -1 && wait == U64_MAX);
}

/* Extremes: huge I/O, weight 0 and over the scale, U64 rates. */
static void test_extremes(void)
{
	struct sim m;
	u64 wait;

	sim_init(&m, 1, 1);
	sim_client(&m, U64_MAX, U64_MAX, 0, U64_MAX / 2);
	sim_client(&m, 1, 1, 100000, 1);
	CHECK(m.c[0].weight == 1 && m.c[1].weight == VWC_SHARE_SCALE);
	sim_run(&m, 3 * NS);
	CHECK(m.ios[0] + m.ios[1] >= 1);
	CHECK(vwc_share_pick(&m.s, m.p, m.n, m.now, &wait) == -1);
	CHECK(wait > 0);
}

int main(void)
{
	test_weights();
	test_idle_no_credit();
	test_own_limit();
	test_bw_share();
	test_limits();
	test_change();
	test_admit();
	test_extremes();
	return unit_report("test_share");
}
