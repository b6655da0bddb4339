// SPDX-License-Identifier: GPL-2.0-only
/*
 * vwc-model: a model-checking I/O generator for the dm-vwcache tests.
 *
 * It issues random reads, writes, flushes and discards to several block
 * devices at once, keeps a model of what every 512-byte sector of every
 * device must contain, and checks every read against that model.  It is a
 * static binary so that the busybox QEMU guests of tests/vm can run it.
 *
 *   vwc-model [options] DEV...
 *   vwc-model --self-test DEV
 *
 * Run "vwc-model --help" for the options.  Exit status: 0 when nothing
 * was wrong, 1 on any mismatch (the first 20 are printed in full), 2 on a
 * usage error, an I/O error (EIO...) or a failed --mark-cmd.
 *
 * I/O errors (--tolerate-eio).  A device under fault injection may fail
 * I/O with EIO; wrong data is still never acceptable.  With this option an
 * EIO is counted (the first 20 are printed as "IO-ERROR:" lines), not
 * fatal: a failed read checks nothing, a failed write or discard leaves
 * its sectors unknown (any content) until they are written again, also
 * for --crash-check, and a failed flush makes nothing durable.  Every
 * other error stays fatal.  Once the fault is gone, --fill-unknown writes
 * every sector the model does not know, so that all of it is checked
 * again.  --seconds and --stop-file end a run of random I/O early (the
 * model is saved as at the end of --ops), for a test that injects faults
 * meanwhile.
 *
 * Model.  Every write gets a 64-bit stamp: a per-device counter (bits
 * 63..24, it goes on over --state/--load) and a random tag of the
 * invocation (bits 23..0), so that data left by another run never looks
 * like the write the model expects.  The model keeps per device and per
 * sector the stamp of the last write, 0 for "never written" (any content,
 * or zeros with --initial-zero) and all-ones for "discarded" (any content
 * until the next write).
 *
 * Sector data.  Sector S of device D written with stamp T holds four
 * host-endian (little-endian) 64-bit words
 *	magic "VWCMODL1", S, T, D | checksum << 32
 * then 60 words of splitmix64 output seeded from (D, S, T).  The checksum
 * covers the whole sector (with the checksum half-word taken as zero).  A
 * read therefore tells exactly which write a sector came from, and a
 * sector of another device, another offset or an older write is reported
 * with what was expected and what was found.
 *
 * Crash mode (--crash-check).  The model also keeps, per device, the
 * stamps as of the device's last COMPLETED flush (fdatasync, i.e. an empty
 * REQ_PREFLUSH bio, on that device: a flush makes only that device's
 * writes durable) and the list of writes and discards issued after it.
 * Verifying with --verify-only --crash-check accepts a sector that holds
 * the durable stamp or the stamp of any write issued after that flush (a
 * discard after it accepts anything); the model is then resolved to what
 * was found, so a test can go on from there.  At each completed flush,
 * with the model locked (other threads issue nothing meanwhile),
 * --checkpoint-dir saves the model and --mark-cmd runs; writes that other
 * threads have in flight then count as issued after the flush.
 *
 * A model saved without crash tracking and loaded with it counts all its
 * writes as durable.
 *
 * Threads.  --threads N starts N workers (at most one per device); worker
 * i owns the devices j with j % N == i and does synchronous O_DIRECT
 * pread/pwrite on them, so each device has one I/O in flight at a time
 * and its model needs no range locking.  Lengths are log-uniform between
 * --min-io and --max-io, offsets any multiple of 512, half of them in a
 * hot sixteenth of the device so that reads meet recent writes.
 *
 * State file (--state, --load, --checkpoint-dir): text, one record a line,
 * numbers in decimal except stamps (hex, "d" = discarded):
 *	vwc-model-state 1
 *	crash-track 0|1			durable state and flush points kept
 *	initial-zero 0|1
 *	ops N				operations done so far, all runs
 *	flushes N			completed flushes so far (last index)
 *	devices N
 *	device IDX SECTORS NEXT PATH	NEXT: counter of the device's next write
 *	run IDX START COUNT STAMP	base stamps of COUNT sectors; sectors
 *					never written are left out
 *	pend IDX START COUNT STAMP	crash-track: a write (or discard)
 *					issued after IDX's last completed
 *					flush, in issue order
 *	flush INDEX IDX OPS NEXT	crash-track: completed flush INDEX of
 *					device IDX after OPS operations; its
 *					writes with a counter < NEXT are durable
 *	end
 * The base is the durable state with crash-track and the current one
 * without; the current state is the base with the pend records applied.
 * '#' starts a comment line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SECTOR_SHIFT	9
#define SECTOR_SIZE	512
#define WORDS		(SECTOR_SIZE / 8)
#define HDR_WORDS	4
#define MAGIC		0x314c444f4d435756ULL	/* "VWCMODL1" */

#define STAMP_NONE	0ULL
#define STAMP_DISCARD	UINT64_MAX
#define TAG_BITS	24
#define TAG_MASK	((UINT64_C(1) << TAG_BITS) - 1)
#define COUNTER_MAX	((UINT64_C(1) << (64 - TAG_BITS)) - 2)

#define MAX_SHOWN	20		/* mismatches printed in full */
#define MAX_CANDS	4		/* crash candidates kept for a report */
#define VERIFY_CHUNK	(1U << 20)	/* bytes read at a time by a verify */
#define MAX_IO_LIMIT	(64U << 20)
#define MAX_DEVS	64
#define ALIGN		4096

#define SELFTEST_REGION	16384		/* sectors used by --self-test */
#define SELFTEST_OPS	400
#define SELFTEST_CRASH	64		/* sectors of the crash scenario */

enum op { OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD, NR_OPS };

/* A write or discard issued after the device's last completed flush. */
struct extent {
	uint64_t start;
	uint64_t stamp;
	uint32_t count;
};

/* A completed flush (crash tracking). */
struct flush_point {
	uint64_t index;
	uint64_t ops;
	uint64_t next;
	unsigned int dev;
};

struct device {
	unsigned int index;
	char *path;
	int fd;
	bool is_file;
	bool no_discard;	/* the device refused BLKDISCARD */
	uint64_t sectors;
	uint64_t limit;		/* operations stay below this sector */
	uint64_t *cur;		/* stamp of the last write, per sector */
	uint64_t *dur;		/* crash tracking: as of the last flush */
	struct extent *pend;	/* crash tracking: issued since then */
	size_t npend, cap_pend;
	uint64_t next;		/* counter of the next write's stamp */
	uint64_t hot_start;	/* half of the operations go here */
	uint64_t hot_len;
};

/* The whole model; saved and loaded by --state / --load. */
static struct {
	unsigned int ndev;
	struct device *dev;
	uint32_t tag;		/* this invocation's stamp tag */
	bool crash;		/* durable state and pend lists kept */
	bool initial_zero;
	uint64_t ops;		/* operations done by earlier runs */
	uint64_t flushes;	/* completed flushes: last flush index */
	struct flush_point *fp;
	size_t nfp, cap_fp;
} M;

static struct {
	uint64_t ops;
	uint64_t seconds;	/* --seconds: stop then, 0 = no time limit */
	uint64_t seed;
	bool seed_set;
	uint32_t min_io, max_io;
	unsigned int align_pct;	/* --align4k: I/Os made 4 KiB aligned */
	unsigned int mix[NR_OPS];
	unsigned int threads;
	const char *state, *load, *mark_cmd, *ckpt_dir, *stop_file;
	bool verify_only, initial_zero, crash_check, self_test;
	bool quiet, report, tolerate_eio, fill_unknown, allow_later;
} opt = {
	.ops = 10000,
	.min_io = 512,
	.max_io = 262144,
	.mix = { 40, 50, 5, 5 },
	.threads = 1,
};

struct stats {
	uint64_t ops, reads, writes, flushes, discards, discards_refused;
	uint64_t bytes_written, bytes_read, verified, unknown, later;
};

/* What a sector read from a device turned out to hold. */
enum found_kind { FOUND_ZERO, FOUND_WRITE, FOUND_DAMAGED, FOUND_FOREIGN };

struct found {
	enum found_kind kind;
	uint32_t dev;
	uint64_t sector, stamp;
	uint64_t head[2];
};

/* A run of mismatching sectors that went wrong the same way. */
struct mismatch {
	unsigned int dev;
	uint64_t sector, count;
	uint64_t expect[MAX_CANDS];	/* STAMP_NONE: zeros expected */
	unsigned int nexpect;		/* > 1: crash candidates */
	struct found f;
};

struct worker {
	unsigned int id;
	uint64_t rng;
	unsigned int devs[MAX_DEVS];
	unsigned int ndevs;
	uint64_t ops;
	uint64_t *buf;
	size_t buflen;
	struct stats st;
	struct mismatch open;		/* being extended by check_range */
	bool open_valid;
	struct extent *cand;		/* crash: pend overlapping a chunk */
	size_t ncand, cap_cand;
	pthread_t thread;
};

static pthread_mutex_t model_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop;		/* a fatal error: workers stop */
static atomic_int fatal;		/* exit status 2 is due */
static atomic_uint_fast64_t ops_done;	/* this run, for progress */
static double deadline;			/* --seconds: now() to stop at */
static atomic_uint_fast64_t eio[NR_OPS];	/* --tolerate-eio: by kind */
static atomic_uint_fast64_t eio_sectors;	/* ... sectors they covered */
static atomic_uint_fast64_t eio_total;	/* ... all kinds */

/* Mismatch accounting, under print_lock. */
static uint64_t mm_sectors, mm_extents;
static struct mismatch *mm_log;		/* --self-test records them */
static size_t mm_n, mm_cap;
static bool mm_record;
static const char *mm_prefix = "MISMATCH";

/* --- messages ------------------------------------------------------- */

static void vmsg(FILE *f, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&print_lock);
	fputs("vwc-model: ", f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&print_lock);
}

/* Progress and information; --quiet hides them. */
static void info(const char *fmt, ...)
{
	va_list ap;

	if (opt.quiet)
		return;
	va_start(ap, fmt);
	vmsg(stdout, fmt, ap);
	va_end(ap);
}

static void error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(stderr, fmt, ap);
	va_end(ap);
}

/* A fatal error: every worker stops, the exit status will be 2. */
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(stderr, fmt, ap);
	va_end(ap);
	atomic_store(&fatal, 1);
	atomic_store(&stop, true);
}

static void *xzalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p) {
		error("out of memory (%zu bytes)", size);
		exit(2);
	}
	return p;
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		error("out of memory (%zu bytes)", size);
		exit(2);
	}
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- random numbers and sector contents ------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mix64(uint64_t v)
{
	return splitmix64(&v);
}

static uint64_t rnd(struct worker *w)
{
	return splitmix64(&w->rng);
}

/* Uniform in [0, n); 0 when n is 0. */
static uint64_t rnd_below(struct worker *w, uint64_t n)
{
	return n ? rnd(w) % n : 0;
}

static uint64_t stamp_make(uint64_t counter, uint32_t tag)
{
	return counter << TAG_BITS | tag;
}

static uint64_t stamp_counter(uint64_t stamp)
{
	return stamp >> TAG_BITS;
}

/* "42/5f3c1d" (counter/tag), or a word for the special stamps. */
static const char *stamp_str(uint64_t stamp, char *buf, size_t len)
{
	if (stamp == STAMP_NONE)
		snprintf(buf, len, "never-written");
	else if (stamp == STAMP_DISCARD)
		snprintf(buf, len, "discarded");
	else
		snprintf(buf, len, "%" PRIu64 "/%06" PRIx64,
			 stamp_counter(stamp), stamp & TAG_MASK);
	return buf;
}

static uint64_t payload_seed(uint32_t dev, uint64_t sector, uint64_t stamp)
{
	return mix64(stamp ^ mix64(sector ^ mix64(dev + 0x5157ULL)));
}

/* Checksum of a sector, its own half of word 3 taken as zero. */
static uint32_t sector_csum(const uint64_t *w)
{
	uint64_t h = 0x7677636163686521ULL;
	unsigned int i;

	for (i = 0; i < WORDS; i++) {
		uint64_t v = i == 3 ? (w[i] & 0xffffffffULL) : w[i];

		h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* The 512 bytes that write @stamp puts in @sector of device @dev. */
static void sector_fill(uint64_t *w, uint32_t dev, uint64_t sector,
			uint64_t stamp)
{
	uint64_t x = payload_seed(dev, sector, stamp);
	unsigned int i;

	w[0] = MAGIC;
	w[1] = sector;
	w[2] = stamp;
	w[3] = dev;
	for (i = HDR_WORDS; i < WORDS; i++)
		w[i] = splitmix64(&x);
	w[3] |= (uint64_t)sector_csum(w) << 32;
}

/* Whether @w is exactly what sector_fill(@dev, @sector, @stamp) makes. */
static bool sector_is(const uint64_t *w, uint32_t dev, uint64_t sector,
		      uint64_t stamp)
{
	uint64_t x;
	unsigned int i;

	if (w[0] != MAGIC || w[1] != sector || w[2] != stamp ||
	    (uint32_t)w[3] != dev)
		return false;
	x = payload_seed(dev, sector, stamp);
	for (i = HDR_WORDS; i < WORDS; i++)
		if (w[i] != splitmix64(&x))
			return false;
	return (uint32_t)(w[3] >> 32) == sector_csum(w);
}

static bool sector_is_zero(const uint64_t *w)
{
	unsigned int i;

	for (i = 0; i < WORDS; i++)
		if (w[i])
			return false;
	return true;
}

static void sector_classify(const uint64_t *w, struct found *f)
{
	memset(f, 0, sizeof(*f));
	f->head[0] = w[0];
	f->head[1] = w[1];
	if (sector_is_zero(w)) {
		f->kind = FOUND_ZERO;
	} else if (w[0] == MAGIC) {
		f->dev = (uint32_t)w[3];
		f->sector = w[1];
		f->stamp = w[2];
		f->kind = sector_is(w, f->dev, f->sector, f->stamp) ?
			  FOUND_WRITE : FOUND_DAMAGED;
	} else {
		f->kind = FOUND_FOREIGN;
	}
}

/* --- mismatch reports ------------------------------------------------ */

static void describe_expected(const struct mismatch *m, char *buf,
			      size_t len)
{
	char s[32];
	size_t n;
	unsigned int i;

	if (m->nexpect == 1 && m->expect[0] == STAMP_NONE) {
		snprintf(buf, len, "zeros (never written)");
		return;
	}
	if (m->nexpect == 1) {
		snprintf(buf, len, "write %s",
			 stamp_str(m->expect[0], s, sizeof(s)));
		return;
	}
	n = snprintf(buf, len, "durable %s or one of %u later writes (",
		     stamp_str(m->expect[0], s, sizeof(s)), m->nexpect - 1);
	for (i = 1; i < m->nexpect && i < MAX_CANDS && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i > 1 ? " " : "",
			      stamp_str(m->expect[i], s, sizeof(s)));
	if (n < len)
		snprintf(buf + n, len - n, "%s)",
			 m->nexpect > MAX_CANDS ? " ..." : "");
}

/* What kind of wrong a valid write found in the wrong place is. */
static const char *write_diagnosis(const struct mismatch *m)
{
	const struct found *f = &m->f;
	uint64_t want = m->expect[0];

	if (f->dev != m->dev)
		return "data of another device";
	if (f->sector != m->sector)
		return "data of another offset (misdirected write or read)";
	if (want == STAMP_NONE)
		return "data where the model has no write";
	if (m->nexpect > 1)
		return "a write that is neither durable nor later";
	if (stamp_counter(f->stamp) < stamp_counter(want))
		return "an older write (lost or reordered update)";
	if (stamp_counter(f->stamp) > stamp_counter(want))
		return "a newer write than the model knows";
	return "a write of another run";
}

static void describe_found(const struct mismatch *m, char *buf, size_t len)
{
	const struct found *f = &m->f;
	char s[32];

	switch (f->kind) {
	case FOUND_ZERO:
		snprintf(buf, len, "zeros");
		break;
	case FOUND_WRITE:
		snprintf(buf, len,
			 "write %s of device %u sector %" PRIu64 ": %s",
			 stamp_str(f->stamp, s, sizeof(s)), f->dev, f->sector,
			 write_diagnosis(m));
		break;
	case FOUND_DAMAGED:
		snprintf(buf, len,
			 "a damaged sector (header says write %s of device %u sector %" PRIu64 ", data or checksum wrong)",
			 stamp_str(f->stamp, s, sizeof(s)), f->dev, f->sector);
		break;
	default:
		snprintf(buf, len,
			 "unrecognized data (first bytes %016" PRIx64 " %016" PRIx64 ")",
			 __builtin_bswap64(f->head[0]),
			 __builtin_bswap64(f->head[1]));
		break;
	}
}

static void mismatch_print(const struct mismatch *m)
{
	char exp[256], fnd[256];

	describe_expected(m, exp, sizeof(exp));
	describe_found(m, fnd, sizeof(fnd));
	printf("%s: %s (device %u) sector %" PRIu64 " (offset %" PRIu64 "), %" PRIu64 " sector%s: expected %s, found %s\n",
	       mm_prefix, M.dev[m->dev].path, m->dev, m->sector,
	       m->sector << SECTOR_SHIFT, m->count, m->count == 1 ? "" : "s",
	       exp, fnd);
	fflush(stdout);
}

/* Report the open mismatch extent of @w, if any. */
static void mm_close(struct worker *w)
{
	if (!w->open_valid)
		return;
	w->open_valid = false;
	pthread_mutex_lock(&print_lock);
	mm_sectors += w->open.count;
	if (++mm_extents <= MAX_SHOWN)
		mismatch_print(&w->open);
	if (mm_record) {
		if (mm_n == mm_cap) {
			mm_cap = mm_cap ? 2 * mm_cap : 16;
			mm_log = xrealloc(mm_log, mm_cap * sizeof(*mm_log));
		}
		mm_log[mm_n++] = w->open;
	}
	pthread_mutex_unlock(&print_lock);
}

static bool found_extends(const struct mismatch *a, const struct mismatch *b)
{
	if (a->f.kind != b->f.kind)
		return false;
	if (a->f.kind != FOUND_WRITE && a->f.kind != FOUND_DAMAGED)
		return true;
	return a->f.dev == b->f.dev && a->f.stamp == b->f.stamp &&
	       a->f.sector - a->sector == b->f.sector - b->sector;
}

/* Add one mismatching sector, extending the open extent if it can. */
static void mm_add(struct worker *w, const struct mismatch *m)
{
	struct mismatch *o = &w->open;

	if (w->open_valid && o->dev == m->dev &&
	    o->sector + o->count == m->sector &&
	    o->nexpect == m->nexpect &&
	    !memcmp(o->expect, m->expect, sizeof(o->expect)) &&
	    found_extends(o, m)) {
		o->count++;
		return;
	}
	mm_close(w);
	*o = *m;
	w->open_valid = true;
}

static void mm_sector(struct worker *w, struct device *d, uint64_t sector,
		      const uint64_t *data, const uint64_t *expect,
		      unsigned int nexpect)
{
	struct mismatch m;
	unsigned int i;

	memset(&m, 0, sizeof(m));
	m.dev = d->index;
	m.sector = sector;
	m.count = 1;
	m.nexpect = nexpect;
	for (i = 0; i < nexpect && i < MAX_CANDS; i++)
		m.expect[i] = expect[i];
	sector_classify(data, &m.f);
	mm_add(w, &m);
}

/* --- the model ------------------------------------------------------- */

static void pend_add(struct device *d, uint64_t start, uint32_t count,
		     uint64_t stamp)
{
	if (d->npend == d->cap_pend) {
		d->cap_pend = d->cap_pend ? 2 * d->cap_pend : 64;
		d->pend = xrealloc(d->pend, d->cap_pend * sizeof(*d->pend));
	}
	d->pend[d->npend++] = (struct extent){ start, stamp, count };
}

static void fill_stamps(uint64_t *v, uint64_t start, uint64_t count,
			uint64_t stamp)
{
	uint64_t i;

	for (i = 0; i < count; i++)
		v[start + i] = stamp;
}

/* The stamp of a new write, which the model now knows may be on disk. */
static uint64_t model_begin(struct device *d, uint64_t start, uint32_t count,
			    bool discard)
{
	uint64_t stamp = STAMP_DISCARD;

	pthread_mutex_lock(&model_lock);
	if (!discard) {
		if (d->next > COUNTER_MAX) {
			pthread_mutex_unlock(&model_lock);
			fail("%s: stamp counter exhausted", d->path);
			return STAMP_NONE;
		}
		stamp = stamp_make(d->next++, M.tag);
	}
	if (M.crash)
		pend_add(d, start, count, stamp);
	pthread_mutex_unlock(&model_lock);
	return stamp;
}

/* A write or discard completed: it is what reads return from now on. */
static void model_end(struct device *d, uint64_t start, uint32_t count,
		      uint64_t stamp)
{
	pthread_mutex_lock(&model_lock);
	fill_stamps(d->cur, start, count, stamp);
	pthread_mutex_unlock(&model_lock);
}

/* The device refused a discard: forget that it was issued. */
static void model_cancel_discard(struct device *d)
{
	pthread_mutex_lock(&model_lock);
	if (M.crash && d->npend)
		d->npend--;
	pthread_mutex_unlock(&model_lock);
}

/*
 * A write or discard failed (--tolerate-eio): its sectors may hold old
 * data, new data or anything else until they are written again.
 */
static void model_fail(struct device *d, uint64_t start, uint32_t count)
{
	pthread_mutex_lock(&model_lock);
	fill_stamps(d->cur, start, count, STAMP_DISCARD);
	if (M.crash)
		pend_add(d, start, count, STAMP_DISCARD);
	pthread_mutex_unlock(&model_lock);
}

static void apply_pend(struct device *d, uint64_t *v)
{
	size_t i;

	for (i = 0; i < d->npend; i++)
		fill_stamps(v, d->pend[i].start, d->pend[i].count,
			    d->pend[i].stamp);
}

static int save_state(const char *path);

/* Replace every "%d" of the mark command with @index and run it. */
static void run_mark_cmd(uint64_t index)
{
	char cmd[8192], num[32];
	const char *p = opt.mark_cmd, *q;
	size_t n = 0;
	int r;

	snprintf(num, sizeof(num), "%" PRIu64, index);
	while ((q = strstr(p, "%d")) && n < sizeof(cmd)) {
		n += snprintf(cmd + n, sizeof(cmd) - n, "%.*s%s",
			      (int)(q - p), p, num);
		p = q + 2;
	}
	if (n < sizeof(cmd))
		snprintf(cmd + n, sizeof(cmd) - n, "%s", p);
	if (n >= sizeof(cmd) || strlen(cmd) >= sizeof(cmd) - 1) {
		fail("--mark-cmd too long");
		return;
	}
	fflush(stdout);
	fflush(stderr);
	r = system(cmd);
	if (r == -1 || !WIFEXITED(r) || WEXITSTATUS(r))
		fail("--mark-cmd failed (status %d): %s", r, cmd);
}

/*
 * A flush of @d completed: everything @d acknowledged before it is
 * durable.  Holding the model lock while the checkpoint is saved and the
 * mark command runs keeps other threads from issuing new writes that the
 * checkpoint would not know about.
 */
static void model_flush(struct device *d)
{
	uint64_t index;
	char path[4096];

	pthread_mutex_lock(&model_lock);
	index = ++M.flushes;
	if (M.crash) {
		apply_pend(d, d->dur);
		d->npend = 0;
		if (M.nfp == M.cap_fp) {
			M.cap_fp = M.cap_fp ? 2 * M.cap_fp : 64;
			M.fp = xrealloc(M.fp, M.cap_fp * sizeof(*M.fp));
		}
		M.fp[M.nfp++] = (struct flush_point){
			index, M.ops + atomic_load(&ops_done), d->next,
			d->index };
	}
	if (opt.ckpt_dir) {
		snprintf(path, sizeof(path), "%s/flush-%06" PRIu64 ".state",
			 opt.ckpt_dir, index);
		if (save_state(path))
			atomic_store(&stop, true);
	}
	if (opt.mark_cmd && !atomic_load(&stop))
		run_mark_cmd(index);
	pthread_mutex_unlock(&model_lock);
}

/* --- state files ----------------------------------------------------- */

static void put_stamp(FILE *f, uint64_t stamp)
{
	if (stamp == STAMP_DISCARD)
		fputs("d\n", f);
	else
		fprintf(f, "%" PRIx64 "\n", stamp);
}

static void save_runs(FILE *f, const struct device *d, const uint64_t *v)
{
	uint64_t s = 0, e;

	while (s < d->sectors) {
		for (e = s + 1; e < d->sectors && v[e] == v[s]; e++)
			;
		if (v[s] != STAMP_NONE) {
			fprintf(f, "run %u %" PRIu64 " %" PRIu64 " ", d->index,
				s, e - s);
			put_stamp(f, v[s]);
		}
		s = e;
	}
}

static void save_crash(FILE *f)
{
	unsigned int i;
	size_t j;

	for (i = 0; i < M.ndev; i++) {
		for (j = 0; j < M.dev[i].npend; j++) {
			const struct extent *x = &M.dev[i].pend[j];

			fprintf(f, "pend %u %" PRIu64 " %" PRIu32 " ", i,
				x->start, x->count);
			put_stamp(f, x->stamp);
		}
	}
	for (j = 0; j < M.nfp; j++)
		fprintf(f, "flush %" PRIu64 " %u %" PRIu64 " %" PRIu64 "\n",
			M.fp[j].index, M.fp[j].dev, M.fp[j].ops, M.fp[j].next);
}

/*
 * Write the model to @path (through a temporary file and a rename).  With
 * crash tracking the base is the durable state; called with the model
 * lock held, or with no worker running.
 */
static int save_state(const char *path)
{
	char tmp[4200];
	unsigned int i;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		fail("cannot write state %s: %s", tmp, strerror(errno));
		return -1;
	}
	fprintf(f, "vwc-model-state 1\ncrash-track %d\ninitial-zero %d\n",
		M.crash, M.initial_zero);
	fprintf(f, "ops %" PRIu64 "\nflushes %" PRIu64 "\ndevices %u\n",
		M.ops + atomic_load(&ops_done), M.flushes, M.ndev);
	for (i = 0; i < M.ndev; i++)
		fprintf(f, "device %u %" PRIu64 " %" PRIu64 " %s\n", i,
			M.dev[i].sectors, M.dev[i].next, M.dev[i].path);
	for (i = 0; i < M.ndev; i++)
		save_runs(f, &M.dev[i], M.crash ? M.dev[i].dur : M.dev[i].cur);
	if (M.crash)
		save_crash(f);
	fputs("end\n", f);
	if (fflush(f) || ferror(f) || fsync(fileno(f))) {
		fail("cannot write state %s: %s", tmp, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path)) {
		fail("cannot rename %s to %s: %s", tmp, path, strerror(errno));
		return -1;
	}
	return 0;
}

static int parse_stamp(const char *s, uint64_t *stamp)
{
	char *end;

	if (!strcmp(s, "d")) {
		*stamp = STAMP_DISCARD;
		return 0;
	}
	errno = 0;
	*stamp = strtoull(s, &end, 16);
	return errno || end == s || *end ? -1 : 0;
}

static void device_alloc(struct device *d, unsigned int index,
			 uint64_t sectors)
{
	d->index = index;
	d->sectors = sectors;
	d->limit = sectors;
	d->next = 1;
	d->cur = xzalloc(sectors * sizeof(*d->cur));
}

/* One "run" or "pend" record: checks bounds, applies it. */
static int load_extent(char *rest, bool pend)
{
	unsigned int idx;
	uint64_t start, count, stamp;
	char sstamp[32];
	struct device *d;

	if (sscanf(rest, "%u %" SCNu64 " %" SCNu64 " %31s", &idx, &start,
		   &count, sstamp) != 4 || parse_stamp(sstamp, &stamp) ||
	    idx >= M.ndev || !M.dev[idx].cur)
		return -1;
	d = &M.dev[idx];
	if (!count || count > UINT32_MAX || start >= d->sectors ||
	    count > d->sectors - start)
		return -1;
	if (pend)
		pend_add(d, start, (uint32_t)count, stamp);
	else
		fill_stamps(d->cur, start, count, stamp);
	return 0;
}

static int load_device(char *rest)
{
	unsigned int idx;
	uint64_t sectors, next;
	int n = 0;
	struct device *d;

	if (sscanf(rest, "%u %" SCNu64 " %" SCNu64 " %n", &idx, &sectors,
		   &next, &n) != 3 || !n || idx >= M.ndev || !sectors ||
	    M.dev[idx].cur || !next || next > COUNTER_MAX + 1)
		return -1;
	d = &M.dev[idx];
	device_alloc(d, idx, sectors);
	d->next = next;
	rest[strcspn(rest, "\n")] = 0;
	d->path = strdup(rest + n);
	return d->path ? 0 : -1;
}

static int load_flush(char *rest)
{
	struct flush_point p;

	if (sscanf(rest, "%" SCNu64 " %u %" SCNu64 " %" SCNu64, &p.index,
		   &p.dev, &p.ops, &p.next) != 4 || p.dev >= M.ndev)
		return -1;
	if (M.nfp == M.cap_fp) {
		M.cap_fp = M.cap_fp ? 2 * M.cap_fp : 64;
		M.fp = xrealloc(M.fp, M.cap_fp * sizeof(*M.fp));
	}
	M.fp[M.nfp++] = p;
	return 0;
}

/* One line of a state file; -1 if it is malformed. */
static int load_line(char *line, bool *end)
{
	char key[32];
	int n = 0, v;

	if (line[0] == '#' || line[0] == '\n')
		return 0;
	if (sscanf(line, "%31s %n", key, &n) != 1)
		return -1;
	if (!strcmp(key, "end")) {
		*end = true;
		return 0;
	}
	if (!strcmp(key, "crash-track") || !strcmp(key, "initial-zero")) {
		if (sscanf(line + n, "%d", &v) != 1 || v < 0 || v > 1)
			return -1;
		*(key[0] == 'c' ? &M.crash : &M.initial_zero) = v;
		return 0;
	}
	if (!strcmp(key, "ops"))
		return sscanf(line + n, "%" SCNu64, &M.ops) == 1 ? 0 : -1;
	if (!strcmp(key, "flushes"))
		return sscanf(line + n, "%" SCNu64, &M.flushes) == 1 ? 0 : -1;
	if (!strcmp(key, "devices")) {
		if (M.dev || sscanf(line + n, "%u", &M.ndev) != 1 ||
		    !M.ndev || M.ndev > MAX_DEVS)
			return -1;
		M.dev = xzalloc(M.ndev * sizeof(*M.dev));
		return 0;
	}
	if (!M.dev)
		return -1;
	if (!strcmp(key, "device"))
		return load_device(line + n);
	if (!strcmp(key, "run"))
		return load_extent(line + n, false);
	if (!strcmp(key, "pend"))
		return load_extent(line + n, true);
	if (!strcmp(key, "flush"))
		return load_flush(line + n);
	return -1;
}

/* Read a state file into M; the current state is derived from it. */
static int load_state(const char *path)
{
	char line[8192];
	unsigned int i, lineno = 0;
	bool end = false;
	FILE *f = fopen(path, "r");

	if (!f) {
		error("cannot read state %s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), f) ||
	    strcmp(line, "vwc-model-state 1\n")) {
		error("%s: not a vwc-model state file (version 1)", path);
		fclose(f);
		return -1;
	}
	lineno = 1;
	while (!end && fgets(line, sizeof(line), f)) {
		lineno++;
		if (load_line(line, &end)) {
			error("%s:%u: bad line: %s", path, lineno, line);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	if (!end || !M.dev) {
		error("%s: truncated (no \"end\" line)", path);
		return -1;
	}
	for (i = 0; i < M.ndev; i++) {
		struct device *d = &M.dev[i];

		if (!d->cur) {
			error("%s: device %u is missing", path, i);
			return -1;
		}
		if (M.crash) {
			d->dur = xzalloc(d->sectors * sizeof(*d->dur));
			memcpy(d->dur, d->cur, d->sectors * sizeof(*d->dur));
			apply_pend(d, d->cur);
		}
	}
	return 0;
}

/* --- devices and I/O ------------------------------------------------- */

static int device_open(struct device *d, bool rdonly, uint64_t *sectors)
{
	int flags = (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	uint64_t bytes;
	int ssz = 512;

	d->fd = open(d->path, flags | O_DIRECT);
	if (d->fd < 0 && errno == EINVAL)	/* a file on tmpfs */
		d->fd = open(d->path, flags);
	if (d->fd < 0 || fstat(d->fd, &st)) {
		error("cannot open %s: %s", d->path, strerror(errno));
		return -1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &bytes) ||
		    ioctl(d->fd, BLKSSZGET, &ssz)) {
			error("%s: cannot get its size: %s", d->path,
			      strerror(errno));
			return -1;
		}
	} else if (S_ISREG(st.st_mode)) {
		d->is_file = true;
		bytes = st.st_size;
	} else {
		error("%s: not a block device or a file", d->path);
		return -1;
	}
	if (ssz != SECTOR_SIZE) {
		error("%s: logical block size %d; vwc-model needs 512", d->path,
		      ssz);
		return -1;
	}
	*sectors = bytes >> SECTOR_SHIFT;
	if (!*sectors) {
		error("%s: empty", d->path);
		return -1;
	}
	return 0;
}

static const char *const op_names[NR_OPS] = {
	[OP_READ] = "read", [OP_WRITE] = "write", [OP_FLUSH] = "flush",
	[OP_DISCARD] = "discard",
};

/* An I/O error: fatal, or counted with --tolerate-eio when it is EIO. */
static void io_fail(struct device *d, enum op op, uint64_t start,
		    uint64_t count, int err)
{
	uint64_t n;

	if (!opt.tolerate_eio || err != EIO) {
		fail("I/O error: %s of %s (device %u) at offset %" PRIu64 " (sector %" PRIu64 "), length %" PRIu64 " (%" PRIu64 " sector%s): %s",
		     op_names[op], d->path, d->index, start << SECTOR_SHIFT,
		     start, count << SECTOR_SHIFT, count,
		     count == 1 ? "" : "s", strerror(err));
		return;
	}
	atomic_fetch_add(&eio[op], 1);
	atomic_fetch_add(&eio_sectors, count);
	n = atomic_fetch_add(&eio_total, 1) + 1;
	if (n > MAX_SHOWN)
		return;
	pthread_mutex_lock(&print_lock);
	printf("IO-ERROR: %s of %s (device %u) sector %" PRIu64 ", %" PRIu64 " sector%s: %s\n",
	       op_names[op], d->path, d->index, start, count,
	       count == 1 ? "" : "s", strerror(err));
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
}

/*
 * Read or write whole sectors; an error or short transfer is fatal but
 * for an EIO with --tolerate-eio (-1 then too).
 */
static int do_io(struct device *d, bool write, void *buf, uint64_t start,
		 uint32_t count)
{
	size_t len = (size_t)count << SECTOR_SHIFT, done = 0;
	off_t off = (off_t)(start << SECTOR_SHIFT);
	ssize_t r;

	while (done < len) {
		if (write)
			r = pwrite(d->fd, (char *)buf + done, len - done,
				   off + done);
		else
			r = pread(d->fd, (char *)buf + done, len - done,
				  off + done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			io_fail(d, write ? OP_WRITE : OP_READ, start, count,
				r < 0 ? errno : EIO);
			return -1;
		}
		done += r;
	}
	return 0;
}

/* 0: done, 1: the device does not support discards, -1: error. */
static int do_discard_io(struct device *d, uint64_t start, uint32_t count)
{
	uint64_t range[2] = { start << SECTOR_SHIFT,
			      (uint64_t)count << SECTOR_SHIFT };
	int r;

	if (d->is_file)
		r = fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      range[0], range[1]);
	else
		r = ioctl(d->fd, BLKDISCARD, range);
	if (!r)
		return 0;
	if (errno == EOPNOTSUPP)
		return 1;
	io_fail(d, OP_DISCARD, start, count, errno);
	return -1;
}

/* --- checking reads -------------------------------------------------- */

/* Crash mode: the pend records of @d overlapping [start, start+count). */
static void collect_cands(struct worker *w, struct device *d, uint64_t start,
			  uint32_t count)
{
	size_t i;

	w->ncand = 0;
	for (i = 0; i < d->npend; i++) {
		const struct extent *x = &d->pend[i];

		if (x->start >= start + count || x->start + x->count <= start)
			continue;
		if (w->ncand == w->cap_cand) {
			w->cap_cand = w->cap_cand ? 2 * w->cap_cand : 64;
			w->cand = xrealloc(w->cand,
					   w->cap_cand * sizeof(*w->cand));
		}
		w->cand[w->ncand++] = *x;
	}
}

/* Strict check of one sector against the current model. */
static void check_sector(struct worker *w, struct device *d, uint64_t sector,
			 const uint64_t *data)
{
	uint64_t want = d->cur[sector];

	if (want == STAMP_DISCARD || (want == STAMP_NONE && !M.initial_zero)) {
		w->st.unknown++;
		return;
	}
	w->st.verified++;
	if (want == STAMP_NONE ? sector_is_zero(data) :
	    sector_is(data, d->index, sector, want))
		return;
	mm_sector(w, d, sector, data, &want, 1);
}

struct cands {
	uint64_t list[MAX_CANDS];
	unsigned int n;
	bool any, none, hit;
};

static void cand_add(struct cands *c, uint64_t stamp, uint64_t found)
{
	if (c->n < MAX_CANDS)
		c->list[c->n] = stamp;
	c->n++;
	if (stamp == STAMP_DISCARD)
		c->any = true;
	else if (stamp == STAMP_NONE)
		c->none = true;
	else if (stamp == found)
		c->hit = true;
}

/*
 * Crash check of one sector: the durable stamp or any write issued after
 * the last completed flush is fine.  With @resolve the model takes what
 * was found as the new, durable truth.
 */
static void check_crash_sector(struct worker *w, struct device *d,
			       uint64_t sector, const uint64_t *data,
			       bool resolve)
{
	struct cands c = { .n = 0 };
	uint64_t found = STAMP_NONE, now = STAMP_DISCARD;
	bool ok, zero_ok;
	size_t i;

	if (data[0] == MAGIC && data[1] == sector &&
	    (uint32_t)data[3] == d->index)
		found = data[2];
	cand_add(&c, d->dur[sector], found);
	for (i = 0; i < w->ncand; i++)
		if (sector >= w->cand[i].start &&
		    sector < w->cand[i].start + w->cand[i].count)
			cand_add(&c, w->cand[i].stamp, found);
	c.hit = c.hit && sector_is(data, d->index, sector, found);
	zero_ok = c.none && (!M.initial_zero || sector_is_zero(data));
	/*
	 * --allow-later: an intact write of this sector issued after the
	 * model was saved (its counter is past the saved next one).
	 */
	if (!c.hit && opt.allow_later && found != STAMP_NONE &&
	    stamp_counter(found) >= d->next &&
	    sector_is(data, d->index, sector, found)) {
		c.hit = true;
		w->st.later++;
	}
	ok = c.any || c.hit || zero_ok;
	if (c.any || (c.none && !M.initial_zero))
		w->st.unknown++;
	else
		w->st.verified++;
	if (!ok)
		mm_sector(w, d, sector, data, c.list, c.n);
	if (!resolve)
		return;
	/* Discarded contents may still change: they stay unknown. */
	if (c.any)
		now = STAMP_DISCARD;
	else if (c.hit)
		now = found;
	else if (zero_ok)
		now = STAMP_NONE;
	d->cur[sector] = now;
	d->dur[sector] = now;
}

/* Check @count sectors read at @start into the worker's buffer. */
static void check_range(struct worker *w, struct device *d, uint64_t start,
			uint32_t count, bool crash, bool resolve)
{
	uint32_t i;

	if (crash)
		collect_cands(w, d, start, count);
	for (i = 0; i < count; i++) {
		const uint64_t *data = w->buf + (size_t)i * WORDS;

		if (crash)
			check_crash_sector(w, d, start + i, data, resolve);
		else
			check_sector(w, d, start + i, data);
	}
	mm_close(w);
}

/* --- operations ------------------------------------------------------ */

static unsigned int bit_length(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

/* An I/O length in sectors, log-uniform in [min-io, max-io]. */
static uint32_t pick_len(struct worker *w, uint64_t limit)
{
	uint64_t lo = opt.min_io >> SECTOR_SHIFT, hi = opt.max_io >> SECTOR_SHIFT;
	uint64_t a, z;
	unsigned int b, blo, bhi;

	if (hi > limit)
		hi = limit;
	if (lo > hi)
		lo = hi;
	blo = bit_length(lo);
	bhi = bit_length(hi);
	b = blo + rnd_below(w, bhi - blo + 1);
	a = 1ULL << (b - 1);
	z = (1ULL << b) - 1;
	if (a < lo)
		a = lo;
	if (z > hi)
		z = hi;
	return (uint32_t)(a + rnd_below(w, z - a + 1));
}

/*
 * Any 512-byte multiple: most offsets are not 4 KiB aligned.  With
 * --align4k PCT, that share of them has start and length rounded to 4 KiB
 * (a cache's sub-blocks), within the device.
 */
static void pick_range(struct worker *w, struct device *d, uint64_t *start,
		       uint32_t *count)
{
	uint32_t n = pick_len(w, d->limit);

	*count = n;
	if (d->hot_len >= n && rnd_below(w, 2))
		*start = d->hot_start + rnd_below(w, d->hot_len - n + 1);
	else
		*start = rnd_below(w, d->limit - n + 1);
	if (opt.align_pct && rnd_below(w, 100) < opt.align_pct &&
	    d->limit >= 8) {
		*start &= ~7ULL;
		*count = (n + 7) & ~7U;
		if (*count > (d->limit & ~7ULL))
			*count = (uint32_t)(d->limit & ~7ULL);
		if (*start + *count > d->limit)
			*start = (d->limit - *count) & ~7ULL;
	}
}

static void op_read(struct worker *w, struct device *d)
{
	uint64_t start;
	uint32_t count;

	pick_range(w, d, &start, &count);
	if (do_io(d, false, w->buf, start, count))
		return;
	w->st.reads++;
	w->st.bytes_read += (uint64_t)count << SECTOR_SHIFT;
	check_range(w, d, start, count, false, false);
}

static void write_stamp(struct worker *w, struct device *d, uint64_t start,
			uint32_t count)
{
	uint64_t stamp = model_begin(d, start, count, false);
	uint32_t i;

	if (stamp == STAMP_NONE)
		return;
	for (i = 0; i < count; i++)
		sector_fill(w->buf + (size_t)i * WORDS, d->index, start + i,
			    stamp);
	if (do_io(d, true, w->buf, start, count)) {
		model_fail(d, start, count);
		return;
	}
	model_end(d, start, count, stamp);
	w->st.writes++;
	w->st.bytes_written += (uint64_t)count << SECTOR_SHIFT;
}

static void op_write(struct worker *w, struct device *d)
{
	uint64_t start;
	uint32_t count;

	pick_range(w, d, &start, &count);
	write_stamp(w, d, start, count);
}

static void op_flush(struct worker *w, struct device *d)
{
	if (fdatasync(d->fd)) {
		io_fail(d, OP_FLUSH, 0, 0, errno);
		return;
	}
	w->st.flushes++;
	model_flush(d);
}

static void op_discard(struct worker *w, struct device *d)
{
	uint64_t start;
	uint32_t count;
	int r;

	if (d->no_discard) {
		w->st.discards_refused++;
		return;
	}
	pick_range(w, d, &start, &count);
	model_begin(d, start, count, true);
	r = do_discard_io(d, start, count);
	if (r == 1) {
		model_cancel_discard(d);
		d->no_discard = true;
		w->st.discards_refused++;
		info("%s does not support discards; no more discards to it",
		     d->path);
	}
	if (r) {
		model_fail(d, start, count);
		return;
	}
	model_end(d, start, count, STAMP_DISCARD);
	w->st.discards++;
}

static enum op pick_op(struct worker *w)
{
	unsigned int r = rnd_below(w, 100), i;

	for (i = 0; i < NR_OPS - 1; i++) {
		if (r < opt.mix[i])
			return i;
		r -= opt.mix[i];
	}
	return NR_OPS - 1;
}

static void progress(void)
{
	uint64_t n = atomic_fetch_add(&ops_done, 1) + 1;
	uint64_t step = opt.ops / 5;

	if (step && n % step == 0 && n < opt.ops)
		info("%" PRIu64 "/%" PRIu64 " operations", n, opt.ops);
}

/*
 * --seconds ran out or --stop-file appeared: workers stop after their
 * current operation, as at the end of --ops.
 */
static bool time_up(void)
{
	return (deadline > 0 && now() >= deadline) ||
	       (opt.stop_file && !access(opt.stop_file, F_OK));
}

static void *ops_thread(void *arg)
{
	struct worker *w = arg;
	uint64_t i;

	for (i = 0; i < w->ops && !atomic_load(&stop) && !time_up(); i++) {
		struct device *d = &M.dev[w->devs[rnd_below(w, w->ndevs)]];

		switch (pick_op(w)) {
		case OP_READ:
			op_read(w, d);
			break;
		case OP_WRITE:
			op_write(w, d);
			break;
		case OP_FLUSH:
			op_flush(w, d);
			break;
		default:
			op_discard(w, d);
			break;
		}
		w->st.ops++;
		progress();
	}
	return NULL;
}

/* Read sectors [from, to) of @d and check them. */
static void verify_device(struct worker *w, struct device *d, uint64_t from,
			  uint64_t to, bool crash, bool resolve)
{
	uint64_t s;
	uint32_t n, chunk = VERIFY_CHUNK >> SECTOR_SHIFT;

	for (s = from; s < to && !atomic_load(&stop); s += n) {
		n = to - s < chunk ? (uint32_t)(to - s) : chunk;
		if (do_io(d, false, w->buf, s, n)) {
			/* Tolerated: unread, so unknown after a resolve. */
			if (resolve) {
				fill_stamps(d->cur, s, n, STAMP_DISCARD);
				fill_stamps(d->dur, s, n, STAMP_DISCARD);
			}
			continue;
		}
		w->st.reads++;
		w->st.bytes_read += (uint64_t)n << SECTOR_SHIFT;
		check_range(w, d, s, n, crash, resolve);
	}
	if (resolve && !atomic_load(&stop))
		d->npend = 0;	/* all resolved into cur and dur */
}

static void *verify_thread(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	for (i = 0; i < w->ndevs && !atomic_load(&stop); i++)
		verify_device(w, &M.dev[w->devs[i]], 0,
			      M.dev[w->devs[i]].sectors, opt.crash_check,
			      opt.crash_check);
	return NULL;
}

/* Whether the model no longer knows what @sector of @d holds. */
static bool sector_unknown(const struct device *d, uint64_t sector)
{
	uint64_t st = d->cur[sector];

	return st == STAMP_DISCARD || (st == STAMP_NONE && !M.initial_zero);
}

/*
 * --fill-unknown: write every sector whose content the model does not know
 * (discarded, failed writes, never written without --initial-zero), in
 * writes of up to --max-io, so that all of it can be checked again.
 */
static void *fill_thread(void *arg)
{
	struct worker *w = arg;
	uint32_t max = opt.max_io >> SECTOR_SHIFT;
	unsigned int i;
	uint64_t s, e;

	for (i = 0; i < w->ndevs && !atomic_load(&stop); i++) {
		struct device *d = &M.dev[w->devs[i]];

		for (s = 0; s < d->sectors && !atomic_load(&stop); s = e) {
			if (!sector_unknown(d, s)) {
				e = s + 1;
				continue;
			}
			for (e = s + 1; e < d->sectors && e - s < max &&
			     sector_unknown(d, e); e++)
				;
			write_stamp(w, d, s, (uint32_t)(e - s));
			w->st.ops++;
		}
	}
	return NULL;
}

static void worker_init(struct worker *w, unsigned int id, uint64_t seed)
{
	size_t len = opt.max_io > VERIFY_CHUNK ? opt.max_io : VERIFY_CHUNK;
	void *buf;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->rng = mix64(seed ^ mix64(id + 1));
	if (posix_memalign(&buf, ALIGN, len)) {
		error("out of memory (%zu bytes)", len);
		exit(2);
	}
	w->buf = buf;
	w->buflen = len;
}

/* A hot region per device so that reads often meet earlier writes. */
static void pick_hot(struct worker *w, struct device *d)
{
	uint64_t len = d->limit / 16, min = 4 * (opt.max_io >> SECTOR_SHIFT);

	if (len < min)
		len = min;
	if (len > d->limit)
		len = d->limit;
	d->hot_len = len;
	d->hot_start = rnd_below(w, d->limit - len + 1);
}

/* --- options --------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs(
"usage: vwc-model [options] DEV...\n"
"       vwc-model --self-test DEV\n"
"Random reads, writes, flushes and discards to several block devices at\n"
"once, every read checked against a model of what each device must hold.\n"
"\n"
"  --ops N            operations in all (default 10000)\n"
"  --seconds S        stop after S seconds even if --ops are not done\n"
"  --stop-file FILE   stop as soon as FILE exists (another program's cue)\n"
"  --seed S           seed of the operation sequence (default: random)\n"
"  --min-io BYTES     smallest I/O, a multiple of 512 (default 512)\n"
"  --max-io BYTES     largest I/O, a multiple of 512 (default 262144)\n"
"                     (k, m suffixes accepted; offsets: any 512 multiple)\n"
"  --mix R,W,F,D      percentages of reads, writes, flushes, discards\n"
"                     (default 40,50,5,5)\n"
"  --align4k PCT      that share of I/Os 4 KiB aligned in start and length\n"
"                     (default 0)\n"
"  --threads N        worker threads, each owning some devices (default 1,\n"
"                     at most one per device)\n"
"  --state FILE       save the model at the end\n"
"  --load FILE        start from a saved model (DEVs default to its paths)\n"
"  --verify-only      read every sector of every device and check it\n"
"  --fill-unknown     instead of random I/O, write every sector whose content\n"
"                     the model does not know (discarded, failed writes)\n"
"  --initial-zero     sectors never written must read as zeros\n"
"  --crash-check      track flushes; with --verify-only accept, per sector,\n"
"                     the stamp durable at the last completed flush or any\n"
"                     later write (the model then takes what was found)\n"
"  --allow-later      with --verify-only --crash-check: also accept an\n"
"                     intact write issued after the loaded model was saved\n"
"                     (a crash point between two saved models)\n"
"  --mark-cmd CMD     run CMD (sh -c) after each completed flush, every\n"
"                     \"%d\" replaced by the flush index (1, 2, ..., going\n"
"                     on over --load); a failure of CMD is fatal\n"
"  --checkpoint-dir DIR  save the model at each completed flush as\n"
"                     DIR/flush-%06d.state (turns crash tracking on; each\n"
"                     save costs a pass over the whole model)\n"
"  --self-test        prove on DEV (its first 8 MiB are overwritten) that\n"
"                     the checker catches stale, misplaced, foreign and\n"
"                     damaged sectors and judges crash states right\n"
"  --tolerate-eio     count EIO instead of stopping: a failed read checks\n"
"                     nothing, a failed write or discard leaves its sectors\n"
"                     unknown, a failed flush makes nothing durable\n"
"  --quiet            no progress messages\n"
"  --report           print counts at the end\n"
"Exit status: 0 all good, 1 a mismatch, 2 a usage or I/O error.\n", f);
}

static int parse_u64(const char *s, uint64_t *v, bool size)
{
	char *end;
	uint64_t mult = 1;

	errno = 0;
	if (!*s || *s == '-')
		return -1;
	*v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (size && *end) {
		const char *units = "kmg", *u = strchr(units, *end | 0x20);

		if (!u || !*u)
			return -1;
		mult = 1ULL << (10 * (u - units + 1));
		end++;
	}
	if (*end || *v > UINT64_MAX / mult)
		return -1;
	*v *= mult;
	return 0;
}

static int parse_mix(const char *s)
{
	unsigned int v[NR_OPS], sum = 0, i;
	char tail;

	if (sscanf(s, "%u,%u,%u,%u%c", &v[0], &v[1], &v[2], &v[3],
		   &tail) != 4)
		return -1;
	for (i = 0; i < NR_OPS; i++) {
		if (v[i] > 100)
			return -1;
		sum += v[i];
		opt.mix[i] = v[i];
	}
	return sum == 100 ? 0 : -1;
}

static void bad_usage(const char *fmt, const char *arg)
{
	fputs("vwc-model: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n", stderr);
	usage(stderr);
	exit(2);
}

static void check_io_size(const char *name, uint64_t v, uint32_t *out)
{
	if (!v || v % SECTOR_SIZE || v > MAX_IO_LIMIT)
		bad_usage("%s: a multiple of 512 up to 64 MiB", name);
	*out = (uint32_t)v;
}

enum { O_OPS = 256, O_SECONDS, O_STOP_FILE, O_SEED, O_MIN_IO, O_MAX_IO,
	O_MIX, O_THREADS, O_STATE, O_LOAD, O_VERIFY, O_ZERO, O_CRASH, O_MARK,
	O_CKPT, O_SELF, O_QUIET, O_REPORT, O_EIO, O_FILL, O_LATER, O_ALIGN,
	O_HELP };

static const struct option long_opts[] = {
	{ "ops", required_argument, NULL, O_OPS },
	{ "seconds", required_argument, NULL, O_SECONDS },
	{ "stop-file", required_argument, NULL, O_STOP_FILE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "min-io", required_argument, NULL, O_MIN_IO },
	{ "max-io", required_argument, NULL, O_MAX_IO },
	{ "mix", required_argument, NULL, O_MIX },
	{ "align4k", required_argument, NULL, O_ALIGN },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "state", required_argument, NULL, O_STATE },
	{ "load", required_argument, NULL, O_LOAD },
	{ "verify-only", no_argument, NULL, O_VERIFY },
	{ "initial-zero", no_argument, NULL, O_ZERO },
	{ "crash-check", no_argument, NULL, O_CRASH },
	{ "mark-cmd", required_argument, NULL, O_MARK },
	{ "checkpoint-dir", required_argument, NULL, O_CKPT },
	{ "self-test", no_argument, NULL, O_SELF },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "report", no_argument, NULL, O_REPORT },
	{ "tolerate-eio", no_argument, NULL, O_EIO },
	{ "fill-unknown", no_argument, NULL, O_FILL },
	{ "allow-later", no_argument, NULL, O_LATER },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* The options without an argument but --help; false if @c is none. */
static bool parse_flag(int c)
{
	static const struct {
		int opt;
		bool *flag;
	} flags[] = {
		{ O_VERIFY, &opt.verify_only },
		{ O_ZERO, &opt.initial_zero },
		{ O_CRASH, &opt.crash_check },
		{ O_SELF, &opt.self_test },
		{ O_QUIET, &opt.quiet },
		{ O_REPORT, &opt.report },
		{ O_EIO, &opt.tolerate_eio },
		{ O_FILL, &opt.fill_unknown },
		{ O_LATER, &opt.allow_later },
	};
	unsigned int i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (flags[i].opt == c) {
			*flags[i].flag = true;
			return true;
		}
	}
	return false;
}

static void parse_option(int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case O_OPS:
		if (parse_u64(arg, &v, false))
			bad_usage("bad --ops: %s", arg);
		opt.ops = v;
		break;
	case O_SECONDS:
		if (parse_u64(arg, &v, false) || v > 86400 * 365)
			bad_usage("bad --seconds: %s", arg);
		opt.seconds = v;
		break;
	case O_SEED:
		if (parse_u64(arg, &opt.seed, false))
			bad_usage("bad --seed: %s", arg);
		opt.seed_set = true;
		break;
	case O_MIN_IO:
	case O_MAX_IO:
		if (parse_u64(arg, &v, true))
			bad_usage("bad I/O size: %s", arg);
		check_io_size(c == O_MIN_IO ? "--min-io" : "--max-io", v,
			      c == O_MIN_IO ? &opt.min_io : &opt.max_io);
		break;
	case O_ALIGN:
		if (parse_u64(arg, &v, false) || v > 100)
			bad_usage("bad --align4k (a percentage): %s", arg);
		opt.align_pct = (unsigned int)v;
		break;
	case O_MIX:
		if (parse_mix(arg))
			bad_usage("bad --mix (four percentages adding up to 100): %s",
				  arg);
		break;
	case O_THREADS:
		if (parse_u64(arg, &v, false) || !v || v > MAX_DEVS)
			bad_usage("bad --threads: %s", arg);
		opt.threads = (unsigned int)v;
		break;
	case O_STATE:
		opt.state = arg;
		break;
	case O_STOP_FILE:
		opt.stop_file = arg;
		break;
	case O_LOAD:
		opt.load = arg;
		break;
	case O_MARK:
		opt.mark_cmd = arg;
		break;
	case O_CKPT:
		opt.ckpt_dir = arg;
		break;
	case O_HELP:
		usage(stdout);
		exit(0);
	default:
		if (!parse_flag(c)) {
			usage(stderr);
			exit(2);
		}
	}
}

static void parse_args(int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1)
		parse_option(c, optarg);
	if (opt.min_io > opt.max_io)
		bad_usage("--min-io is larger than --max-io%s", "");
	if (opt.fill_unknown && opt.verify_only)
		bad_usage("--fill-unknown and --verify-only exclude each other%s", "");
	if (opt.allow_later && !(opt.verify_only && opt.crash_check))
		bad_usage("--allow-later needs --verify-only and --crash-check%s", "");
	if (opt.self_test && argc - optind != 1)
		bad_usage("--self-test takes one device%s", "");
	if (!opt.self_test && !opt.load && optind == argc)
		bad_usage("no device given%s", "");
	if (argc - optind > MAX_DEVS)
		bad_usage("too many devices (at most 64)%s", "");
}

/* --- setup, run, report ---------------------------------------------- */

/* Random bits that do not wait for the entropy pool of an early guest. */
static uint64_t random64(void)
{
	static uint64_t fallback;
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	if (!fallback)
		fallback = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
			   (uint64_t)(now() * 1e9);
	return splitmix64(&fallback);
}

static uint32_t random_tag(void)
{
	return (uint32_t)(random64() & TAG_MASK) ?: 1;
}

/* Open the devices of the model (fresh or loaded) and check their sizes. */
static int setup_devices(int ndev, char **paths)
{
	bool rdonly = opt.verify_only && !opt.self_test;
	uint64_t sectors;
	int i;

	if (!opt.load) {
		M.ndev = ndev;
		M.dev = xzalloc(ndev * sizeof(*M.dev));
	} else if (ndev && (unsigned int)ndev != M.ndev) {
		error("%d devices given, the state %s has %u", ndev, opt.load,
		      M.ndev);
		return -1;
	}
	for (i = 0; i < (int)M.ndev; i++) {
		struct device *d = &M.dev[i];

		if (ndev)
			d->path = paths[i];
		if (device_open(d, rdonly, &sectors))
			return -1;
		if (!opt.load) {
			device_alloc(d, i, sectors);
		} else if (sectors != d->sectors) {
			error("%s has %" PRIu64 " sectors, the state says %" PRIu64,
			      d->path, sectors, d->sectors);
			return -1;
		}
	}
	return 0;
}

/* Turn crash tracking on for a model that did not have it. */
static void start_crash_tracking(void)
{
	unsigned int i;

	if (M.crash)
		return;
	M.crash = true;
	for (i = 0; i < M.ndev; i++) {
		struct device *d = &M.dev[i];

		d->dur = xzalloc(d->sectors * sizeof(*d->dur));
		memcpy(d->dur, d->cur, d->sectors * sizeof(*d->dur));
	}
}

static void add_stats(struct stats *t, const struct stats *s)
{
	t->ops += s->ops;
	t->reads += s->reads;
	t->writes += s->writes;
	t->flushes += s->flushes;
	t->discards += s->discards;
	t->discards_refused += s->discards_refused;
	t->bytes_written += s->bytes_written;
	t->bytes_read += s->bytes_read;
	t->verified += s->verified;
	t->unknown += s->unknown;
	t->later += s->later;
}

static void print_report(const struct stats *t, double secs)
{
	printf("ops:              %" PRIu64 "\n", t->ops);
	printf("reads:            %" PRIu64 "\n", t->reads);
	printf("writes:           %" PRIu64 "\n", t->writes);
	printf("flushes:          %" PRIu64 "\n", t->flushes);
	printf("discards:         %" PRIu64 " (%" PRIu64 " refused)\n",
	       t->discards, t->discards_refused);
	printf("bytes-written:    %" PRIu64 "\n", t->bytes_written);
	printf("bytes-read:       %" PRIu64 "\n", t->bytes_read);
	printf("sectors-verified: %" PRIu64 "\n", t->verified);
	printf("sectors-unknown:  %" PRIu64 "\n", t->unknown);
	if (opt.allow_later)
		printf("sectors-later:    %" PRIu64 "\n", t->later);
	printf("mismatches:       %" PRIu64 " (%" PRIu64 " extents)\n",
	       mm_sectors, mm_extents);
	if (opt.tolerate_eio)
		printf("io-errors:        %" PRIu64 " (reads %" PRIu64 ", writes %" PRIu64 ", flushes %" PRIu64 ", discards %" PRIu64 "; %" PRIu64 " sectors)\n",
		       (uint64_t)atomic_load(&eio_total),
		       (uint64_t)atomic_load(&eio[OP_READ]),
		       (uint64_t)atomic_load(&eio[OP_WRITE]),
		       (uint64_t)atomic_load(&eio[OP_FLUSH]),
		       (uint64_t)atomic_load(&eio[OP_DISCARD]),
		       (uint64_t)atomic_load(&eio_sectors));
	printf("seconds:          %.2f\n", secs);
	printf("ops-per-second:   %.0f\n", secs > 0 ? t->ops / secs : 0.0);
	printf("mib-per-second:   %.1f\n", secs > 0 ?
	       (t->bytes_written + t->bytes_read) / secs / (1 << 20) : 0.0);
	fflush(stdout);
}

/* Start the workers, each owning the devices i with i % n == its id. */
static void run_workers(struct stats *total)
{
	unsigned int n = opt.threads < M.ndev ? opt.threads : M.ndev, i;
	struct worker *w = xzalloc(n * sizeof(*w));

	for (i = 0; i < n; i++) {
		worker_init(&w[i], i, opt.seed);
		w[i].ops = opt.ops / n + (i < opt.ops % n);
	}
	for (i = 0; i < M.ndev; i++) {
		struct worker *o = &w[i % n];

		o->devs[o->ndevs++] = i;
		pick_hot(o, &M.dev[i]);
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&w[i].thread, NULL, opt.verify_only ?
				   verify_thread : opt.fill_unknown ? fill_thread :
				   ops_thread, &w[i])) {
			error("cannot start a thread");
			exit(2);
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		add_stats(total, &w[i].st);
		free(w[i].buf);
		free(w[i].cand);
	}
	free(w);
}

static void banner(void)
{
	unsigned int i;

	info("seed %" PRIu64 ", run tag %06" PRIx32 ", %s, %u device%s%s%s%s",
	     opt.seed, M.tag, opt.verify_only ? "verify only" :
	     opt.fill_unknown ? "fill unknown" : "random I/O",
	     M.ndev, M.ndev == 1 ? "" : "s", M.crash ? ", crash tracking" : "",
	     opt.load ? ", model loaded" : "",
	     opt.tolerate_eio ? ", EIO tolerated" : "");
	for (i = 0; i < M.ndev; i++)
		info("device %u: %s, %" PRIu64 " sectors, next write %" PRIu64,
		     i, M.dev[i].path, M.dev[i].sectors, M.dev[i].next);
	if (!opt.verify_only && !opt.fill_unknown)
		info("%" PRIu64 " ops, I/O %u..%u bytes, mix %u,%u,%u,%u, %u thread%s",
		     opt.ops, opt.min_io, opt.max_io, opt.mix[0], opt.mix[1],
		     opt.mix[2], opt.mix[3], opt.threads,
		     opt.threads == 1 ? "" : "s");
}

static int finish(const struct stats *t, double secs)
{
	if (mm_extents > MAX_SHOWN)
		printf("%s: ... %" PRIu64 " more extents not shown\n",
		       mm_prefix, mm_extents - MAX_SHOWN);
	if (mm_sectors)
		printf("vwc-model: %" PRIu64 " mismatching sectors in %" PRIu64 " extents\n",
		       mm_sectors, mm_extents);
	if (opt.report)
		print_report(t, secs);
	if (opt.state && !atomic_load(&fatal)) {
		M.ops += atomic_load(&ops_done);
		atomic_store(&ops_done, 0);
		if (!save_state(opt.state))
			info("model saved to %s", opt.state);
	}
	if (atomic_load(&fatal))
		return 2;
	if (mm_sectors)
		return 1;
	info("%s: no mismatch (%" PRIu64 " ops, %" PRIu64 " sectors verified, %.1f s)",
	     opt.verify_only ? "verify" : "done", t->ops, t->verified, secs);
	return 0;
}

/* --- self-test ------------------------------------------------------- */

struct injection {
	uint64_t sector;
	enum found_kind kind;
	uint32_t dev;
	uint64_t from, stamp;	/* expected found sector and stamp */
	const char *what;
};

/* A random sector of [0, limit) holding a known write, not near @used. */
static uint64_t pick_known(struct worker *w, struct device *d,
			   const uint64_t *used, unsigned int nused)
{
	unsigned int tries, i;

	for (tries = 0; tries < 100000; tries++) {
		uint64_t s = rnd_below(w, d->limit);
		uint64_t st = d->cur[s];
		bool near = false;

		if (st == STAMP_NONE || st == STAMP_DISCARD ||
		    stamp_counter(st) < 2)
			continue;
		for (i = 0; i < nused; i++)
			near |= s + 1 >= used[i] && s <= used[i] + 1;
		if (!near)
			return s;
	}
	return UINT64_MAX;
}

/* Write one sector behind the model's back. */
static int poke(struct worker *w, struct device *d, uint64_t sector)
{
	return do_io(d, true, w->buf, sector, 1);
}

/* Whether the recorded mismatches are exactly the injections. */
static bool judge(const struct injection *inj, unsigned int n)
{
	unsigned int i;
	size_t j;
	bool ok = mm_sectors == n && mm_n == n;

	for (i = 0; i < n; i++) {
		const struct injection *x = &inj[i];
		bool seen = false;

		for (j = 0; j < mm_n; j++) {
			const struct mismatch *m = &mm_log[j];

			if (m->sector != x->sector || m->count != 1)
				continue;
			seen |= m->f.kind == x->kind &&
			       (x->kind == FOUND_ZERO ||
				(m->f.dev == x->dev && m->f.sector == x->from &&
				 m->f.stamp == x->stamp));
		}
		printf("self-test: %s at sector %" PRIu64 ": %s\n", x->what,
		       x->sector, seen ? "detected" : "NOT DETECTED AS SUCH");
		ok &= seen;
	}
	if (mm_sectors != n)
		printf("self-test: %" PRIu64 " mismatching sectors reported, %u injected\n",
		       mm_sectors, n);
	return ok;
}

static void mm_reset(void)
{
	mm_sectors = 0;
	mm_extents = 0;
	mm_n = 0;
}

/* Phase 2: a stale sector of another offset, another device's sector, an
 * older write and a damaged sector must be reported, nothing else.
 */
static bool self_test_inject(struct worker *w, struct device *d)
{
	struct injection inj[4];
	uint64_t used[8], a, s, st;
	unsigned int i;

	for (i = 0; i < 5; i++) {
		used[i] = pick_known(w, d, used, i);
		if (used[i] == UINT64_MAX) {
			printf("self-test: too few written sectors\n");
			return false;
		}
	}
	/* B: the content of sector A, copied there. */
	a = used[0];
	s = used[1];
	if (do_io(d, false, w->buf, a, 1) || poke(w, d, s))
		return false;
	inj[0] = (struct injection){ s, FOUND_WRITE, d->index, a, d->cur[a],
				     "stale sector copied from another offset" };
	/* C: what device 1 would hold there. */
	s = used[2];
	sector_fill(w->buf, d->index + 1, s, d->cur[s]);
	if (poke(w, d, s))
		return false;
	inj[1] = (struct injection){ s, FOUND_WRITE, d->index + 1, s,
				     d->cur[s], "sector of another device" };
	/* E: an older write of the same sector. */
	s = used[3];
	st = stamp_make(stamp_counter(d->cur[s]) - 1, M.tag);
	sector_fill(w->buf, d->index, s, st);
	if (poke(w, d, s))
		return false;
	inj[2] = (struct injection){ s, FOUND_WRITE, d->index, s, st,
				     "older write of the same sector" };
	/* F: the right write with one byte of its data flipped. */
	s = used[4];
	sector_fill(w->buf, d->index, s, d->cur[s]);
	((uint8_t *)w->buf)[300] ^= 0x40;
	if (poke(w, d, s))
		return false;
	inj[3] = (struct injection){ s, FOUND_DAMAGED, d->index, s, d->cur[s],
				     "damaged sector (one bit flipped)" };

	mm_reset();
	verify_device(w, d, 0, d->limit, false, false);
	return !atomic_load(&stop) && judge(inj, 4);
}

/* Write @count sectors at @start with a new stamp through the model. */
static uint64_t crash_write(struct worker *w, struct device *d,
			    uint64_t start, uint32_t count)
{
	write_stamp(w, d, start, count);
	return d->cur[start];
}

/*
 * Phase 4, --allow-later: as if the model had been saved before W3 of
 * phase 3 (next counter @next): W4 at r+6, intact and later, is accepted
 * now; W1 at r+5, older than the durable W2, is still wrong.
 */
static bool self_test_later(struct worker *w, struct device *d, uint64_t r,
			    uint64_t next, const struct injection *older)
{
	struct injection inj = *older;
	uint64_t saved = d->next, later = w->st.later;
	bool ok;

	inj.what = "allow-later: write older than the durable one";
	opt.allow_later = true;
	d->next = next;
	mm_reset();
	verify_device(w, d, r, r + SELFTEST_CRASH, true, false);
	opt.allow_later = false;
	d->next = saved;
	if (atomic_load(&stop) || !judge(&inj, 1))
		return false;
	ok = w->st.later == later + 1;
	printf("self-test: allow-later: the later write at sector %" PRIu64 " %s\n",
	       r + 6, ok ? "accepted" : "NOT ACCEPTED");
	return ok;
}

/*
 * Phase 3, crash semantics on SELFTEST_CRASH sectors at @r, outside the
 * random I/O: W1 and W2 on [r, r+8) each followed by a flush, W3 on
 * [r, r+8) and W4 on [r, r+4) not flushed.  Then behind the model's back:
 * r holds W2 (durable: fine after a crash), r+1 W3 (later: fine), r+5 W1
 * (older than the durable W2: wrong), r+6 W4 (never written there: wrong).
 */
static bool self_test_crash(struct worker *w, struct device *d, uint64_t r)
{
	struct injection crash[2], strict[4];
	uint64_t s1, s2, s3, s4;

	s1 = crash_write(w, d, r, 8);
	op_flush(w, d);
	s2 = crash_write(w, d, r, 8);
	op_flush(w, d);
	s3 = crash_write(w, d, r, 8);
	s4 = crash_write(w, d, r, 4);
	if (atomic_load(&stop))
		return false;
	sector_fill(w->buf, d->index, r, s2);
	sector_fill(w->buf + WORDS, d->index, r + 1, s3);
	if (do_io(d, true, w->buf, r, 2))
		return false;
	sector_fill(w->buf, d->index, r + 5, s1);
	sector_fill(w->buf + WORDS, d->index, r + 6, s4);
	if (do_io(d, true, w->buf, r + 5, 2))
		return false;
	crash[0] = (struct injection){ r + 5, FOUND_WRITE, d->index, r + 5,
				       s1, "crash: write older than the durable one" };
	crash[1] = (struct injection){ r + 6, FOUND_WRITE, d->index, r + 6,
				       s4, "crash: write that never covered the sector" };
	strict[0] = (struct injection){ r, FOUND_WRITE, d->index, r, s2,
					"strict: durable but superseded write" };
	strict[1] = (struct injection){ r + 1, FOUND_WRITE, d->index, r + 1,
					s3, "strict: superseded later write" };
	strict[2] = crash[0];
	strict[2].what = "strict: older write";
	strict[3] = crash[1];
	strict[3].what = "strict: write that never covered the sector";

	mm_reset();
	verify_device(w, d, r, r + SELFTEST_CRASH, true, false);
	if (atomic_load(&stop) || !judge(crash, 2))
		return false;
	mm_reset();
	verify_device(w, d, r, r + SELFTEST_CRASH, false, false);
	if (atomic_load(&stop) || !judge(strict, 4))
		return false;
	return self_test_later(w, d, r, stamp_counter(s3), &crash[0]);
}

/* Phase 1: random I/O through the model must verify cleanly. */
static bool self_test_clean(struct worker *w, struct device *d)
{
	w->ops = SELFTEST_OPS;
	ops_thread(w);
	if (atomic_load(&stop) || mm_sectors) {
		printf("self-test: random I/O on unmodified data %s\n",
		       mm_sectors ? "reported mismatches" : "failed");
		return false;
	}
	verify_device(w, d, 0, d->limit, false, false);
	if (atomic_load(&stop) || mm_sectors) {
		printf("self-test: verifying unmodified data %s\n",
		       mm_sectors ? "reported mismatches" : "failed");
		return false;
	}
	printf("self-test: %" PRIu64 " operations and a full read-back verified cleanly\n",
	       w->st.ops);
	return true;
}

static int self_test(char *path)
{
	struct worker w;
	struct device *d;
	bool ok;

	if (setup_devices(1, &path))
		return 2;
	d = &M.dev[0];
	if (d->sectors < SELFTEST_CRASH * 4) {
		error("%s: too small for the self-test", path);
		return 2;
	}
	d->limit = (d->sectors < SELFTEST_REGION ? d->sectors :
		    SELFTEST_REGION) - SELFTEST_CRASH;
	start_crash_tracking();
	opt.min_io = SECTOR_SIZE;
	if (opt.max_io > 65536)
		opt.max_io = 65536;
	opt.mix[OP_READ] = 30;
	opt.mix[OP_WRITE] = 65;
	opt.mix[OP_FLUSH] = 5;
	opt.mix[OP_DISCARD] = 0;
	opt.ops = SELFTEST_OPS;
	opt.mark_cmd = NULL;
	opt.ckpt_dir = NULL;
	worker_init(&w, 0, opt.seed);
	w.devs[0] = 0;
	w.ndevs = 1;
	pick_hot(&w, d);
	mm_prefix = "self-test (expected mismatch)";
	mm_record = true;
	ok = self_test_clean(&w, d) && self_test_inject(&w, d) &&
	     self_test_crash(&w, d, d->limit);
	free(w.buf);
	free(w.cand);
	if (atomic_load(&fatal))
		return 2;
	printf("self-test: %s\n", ok ? "PASS: the checker reported exactly the injected corruptions" :
	       "FAIL: the checker missed or misreported a corruption");
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct stats total = { 0 };
	double t0;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	if (!opt.seed_set)
		opt.seed = random64();
	M.tag = random_tag();
	if (opt.self_test)
		return self_test(argv[optind]);
	if (opt.load && load_state(opt.load))
		return 2;
	if (setup_devices(argc - optind, argv + optind))
		return 2;
	M.initial_zero |= opt.initial_zero;
	if (opt.crash_check || opt.ckpt_dir)
		start_crash_tracking();
	if (opt.ckpt_dir && mkdir(opt.ckpt_dir, 0755) && errno != EEXIST) {
		error("cannot create %s: %s", opt.ckpt_dir, strerror(errno));
		return 2;
	}
	banner();
	t0 = now();
	if (opt.seconds && !opt.verify_only)
		deadline = t0 + opt.seconds;
	run_workers(&total);
	r = finish(&total, now() - t0);
	return r;
}
