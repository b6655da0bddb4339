// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dm-vwcache-seq.c: a stream's bytes grow with each I/O
 * that continues it and restart with one that does not; interleaved
 * streams up to VWC_SEQ_STREAMS are followed each on its own; one more
 * replaces the least recently used; random I/O never looks sequential;
 * counts saturate.
 */
#include "dm-vwcache-seq.h"
#include "unit.h"

int main(void)
{
	struct vwc_seq s;
	unsigned int i, j, seq_seen = 0;
	u64 last = 0;

	vwc_seq_init(&s);
	/* One stream of 64 KiB I/Os: 64 KiB, 128 KiB, ... */
	for (i = 0; i < 100; i++)
		last = vwc_seq_note(&s, 1000 + i * 128, 128);
	CHECK(last == 100 * 65536ULL);
	/* A jump starts again; continuing the jump goes on from there. */
	CHECK(vwc_seq_note(&s, 5000000, 8) == 4096);
	CHECK(vwc_seq_note(&s, 5000008, 8) == 8192);
	/* The first stream was not forgotten: it continues. */
	CHECK(vwc_seq_note(&s, 1000 + 100 * 128, 128) == 101 * 65536ULL);

	/* VWC_SEQ_STREAMS interleaved streams, each followed. */
	vwc_seq_init(&s);
	for (i = 0; i < 50; i++)
		for (j = 0; j < VWC_SEQ_STREAMS; j++)
			last = vwc_seq_note(&s, (u64)j << 30 | i * 8, 8);
	CHECK(last == 50 * 4096ULL);
	/* One more stream replaces the least recently used: stream 0. */
	CHECK(vwc_seq_note(&s, 7ULL << 40, 8) == 4096);
	CHECK(vwc_seq_note(&s, 2ULL << 30 | 50 * 8, 8) == 51 * 4096ULL);
	/* Stream 0 comes back as new, in place of stream 1, then the oldest. */
	CHECK(vwc_seq_note(&s, 0ULL << 30 | 50 * 8, 8) == 4096);
	CHECK(vwc_seq_note(&s, 1ULL << 30 | 50 * 8, 8) == 4096);

	/* Random 4 KiB I/O: never more than 8 KiB by chance. */
	vwc_seq_init(&s);
	unit_seed(42);
	for (i = 0; i < 100000; i++)
		if (vwc_seq_note(&s, (rnd() % (1ULL << 30)) & ~7ULL, 8) > 8192)
			seq_seen++;
	CHECK(seq_seen == 0);

	/* Saturation, not wrap. */
	vwc_seq_init(&s);
	s.next[0] = 64;
	s.bytes[0] = U64_MAX - 100;
	s.used[0] = 0;
	CHECK(vwc_seq_note(&s, 64, 8) == U64_MAX);
	CHECK(vwc_seq_note(&s, 72, 8) == U64_MAX);
	/* Noted whole, then cut: the rest continues the stream. */
	vwc_seq_init(&s);
	CHECK(vwc_seq_note(&s, 0, 2048) == 1048576);
	vwc_seq_shorten(&s, 8);
	CHECK(vwc_seq_note(&s, 8, 2040) == 1048576);
	vwc_seq_shorten(&s, 4096);	/* not shorter: nothing changes */
	CHECK(vwc_seq_note(&s, 2048, 8) == 1048576 + 4096);
	/* A zero-length I/O does not start or match anything odd. */
	vwc_seq_init(&s);
	CHECK(vwc_seq_note(&s, 8, 0) == 0);
	CHECK(vwc_seq_note(&s, 8, 8) == 4096);
	return unit_report("test_seq");
}
