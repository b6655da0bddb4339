// SPDX-License-Identifier: GPL-2.0-only
/*
 * lw-replay: list and replay logs of the kernel's dm-log-writes target.
 *
 * Written from the format in drivers/md/dm-log-writes.c (identical in
 * 6.1 and 6.12):
 *
 *   byte 0            struct log_write_super, padded to one log sector:
 *                     le64 magic (WRITE_LOG_MAGIC), le64 version (1),
 *                     le64 nr_entries, le32 sectorsize
 *   byte sectorsize   nr_entries entries, each:
 *                     one log sector holding struct log_write_entry
 *                     (le64 sector, le64 nr_sectors, le64 flags,
 *                     le64 data_len), for a mark followed in that same
 *                     sector by data_len bytes of mark text;
 *                     then, unless it is a discard, nr_sectors log
 *                     sectors of written data.
 *
 * sector and nr_sectors count log sectors (the logical block size of the
 * logged device), so an entry covers bytes [sector * sectorsize,
 * (sector + nr_sectors) * sectorsize) of the device.  An entry with
 * data_len != 0 but no LOG_MARK_FLAG (inline data: the kernel has a path
 * for it, 6.1 and 6.12 never take it) needs data_len <= nr_sectors *
 * sectorsize and is replayed like a write.
 *
 * The kernel rewrites the super only after a FUA or mark entry (and adds
 * the mark "dm-log-writes-end" when the target is removed), so only the
 * first nr_entries entries are read; a log of a live or crashed target may
 * hold more.
 *
 * Everything read from the log is checked before use (unknown flag bits,
 * sizes past the end of the log, marks that do not fit their sector...),
 * and the whole range to replay is checked, also against the size of the
 * target, before the first byte is written: a corrupt log leaves the
 * target untouched.
 *
 * Exit status: 0 success, 1 error (corrupt log, I/O error, unknown mark),
 * 2 usage error.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_LOG_MAGIC		0x6a736677736872ULL
#define WRITE_LOG_VERSION	1ULL

#define LOG_FLUSH_FLAG		(1ULL << 0)
#define LOG_FUA_FLAG		(1ULL << 1)
#define LOG_DISCARD_FLAG	(1ULL << 2)
#define LOG_MARK_FLAG		(1ULL << 3)
#define LOG_METADATA_FLAG	(1ULL << 4)
#define LOG_KNOWN_FLAGS		((1ULL << 5) - 1)

#define ENTRY_BYTES		32	/* 4 x le64 */
#define MIN_SECTORSIZE		512U
#define MAX_SECTORSIZE		65536U
#define IO_CHUNK		(1U << 20)

#define EXIT_USAGE		2

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __printf(f, a)		__attribute__((format(printf, f, a)))

struct lw_opts {
	const char *log_path;
	const char *replay_path;
	const char *end_mark;
	const char *start_mark;
	uint64_t limit;
	uint64_t start;
	bool has_limit;
	bool has_start;
	bool list;
	bool list_marks;
	bool flush_marks;
	bool zero_discards;
	bool verbose;
};

struct lw_dev {
	const char *path;
	int fd;
	uint64_t size;		/* bytes */
	bool is_blk;
	dev_t id_dev;		/* st_rdev of a block device, else st_dev */
	ino_t id_ino;		/* 0 for a block device */
};

struct lw_log {
	struct lw_dev dev;
	uint32_t sectorsize;
	uint64_t nr_entries;
	unsigned char *sect;	/* one log sector: the current entry header */
};

struct lw_entry {
	uint64_t index;
	uint64_t pos;		/* byte offset of the header in the log */
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
	uint64_t data_pos;	/* byte offset of the data in the log */
	uint64_t data_bytes;	/* bytes of data stored in the log */
	uint64_t dev_off;	/* byte range on the logged device */
	uint64_t dev_len;
	const unsigned char *mark;	/* into lw_log.sect; data_len bytes */
};

/* The entries to process: [start, stop]; start_pos is start's byte offset. */
struct lw_range {
	uint64_t start;
	uint64_t start_pos;
	uint64_t stop;
};

struct lw_target {
	struct lw_dev dev;
	bool discard_failed;
};

static const char *prog = "lw-replay";
static bool verbose;

static __printf(1, 2) void msg(const char *fmt, ...);

static void msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s --log LOGDEV [--replay DEV] [--start N | --start-mark NAME]\n"
		"          [--limit N] [--end-mark NAME] [--list] [--list-marks] [--flush-marks]\n"
		"          [--zero-discards] [--verbose]\n"
		"\n"
		"Reads a dm-log-writes log (block device or image file), checks it, and\n"
		"lists or replays its entries (numbered from 0 in log order).\n"
		"\n"
		"  --log LOGDEV      the log device or an image of it\n"
		"  --replay DEV      write the entries in log order onto DEV\n"
		"  --start N         begin with entry N: the entries before it are only\n"
		"                    checked (DEV must already hold their result)\n"
		"  --start-mark NAME begin after the first mark named NAME\n"
		"  --limit N         stop after entry N (it included)\n"
		"  --end-mark NAME   stop after the first mark named NAME (it included)\n"
		"  --list            print each entry: INDEX SECTOR SECTORS FLAGS [MARK]\n"
		"                    (SECTOR, SECTORS in log sectors; FLAGS like FLUSH|FUA,\n"
		"                    or - for a plain write)\n"
		"  --list-marks      print INDEX NAME of each mark\n"
		"  --flush-marks     print INDEX of each entry with FLUSH or FUA\n"
		"  --zero-discards   replay discards as zero writes (default: BLKDISCARD,\n"
		"                    falling back to zeroing where it fails)\n"
		"  --verbose         describe the log and each replayed entry on stderr\n"
		"\n"
		"Without --replay or a list option it checks the log and prints a summary.\n"
		"--start, --start-mark, --limit and --end-mark also bound the listings;\n"
		"--end-mark looks for its mark from the start on.  Exit status: 0 ok,\n"
		"1 error (corrupt log, I/O error, mark not found), 2 usage error.\n",
		prog);
}

/* --- I/O helpers --------------------------------------------------------- */

static int pread_full(struct lw_dev *d, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = pread(d->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			msg("%s: read at byte %" PRIu64 ": %s", d->path, off,
			    strerror(errno));
			return -1;
		}
		if (n == 0) {
			msg("%s: unexpected end of file at byte %" PRIu64,
			    d->path, off);
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int pwrite_full(struct lw_dev *d, const void *buf, size_t len,
		       uint64_t off)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = pwrite(d->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			msg("%s: write at byte %" PRIu64 ": %s", d->path, off,
			    n < 0 ? strerror(errno) : "no progress");
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* dev_open: open PATH (block device or regular file) and find its size. */
static int dev_open(struct lw_dev *d, const char *path, int flags)
{
	struct stat st;

	d->path = path;
	d->fd = -1;
	if (stat(path, &st)) {
		msg("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		msg("%s: not a block device or regular file", path);
		return -1;
	}
	d->is_blk = S_ISBLK(st.st_mode);
	/* O_EXCL on a block device: refuse one that is in use (mounted, dm). */
	if (d->is_blk && (flags & O_ACCMODE) != O_RDONLY)
		flags |= O_EXCL;
	d->fd = open(path, flags | O_CLOEXEC);
	if (d->fd < 0) {
		msg("%s: open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(d->fd, &st)) {
		msg("%s: fstat: %s", path, strerror(errno));
		return -1;
	}
	d->id_dev = d->is_blk ? st.st_rdev : st.st_dev;
	d->id_ino = d->is_blk ? 0 : st.st_ino;
	if (!d->is_blk) {
		d->size = (uint64_t)st.st_size;
	} else if (ioctl(d->fd, BLKGETSIZE64, &d->size)) {
		msg("%s: BLKGETSIZE64: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void dev_close(struct lw_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static bool dev_same(const struct lw_dev *a, const struct lw_dev *b)
{
	return a->is_blk == b->is_blk && a->id_dev == b->id_dev &&
	       a->id_ino == b->id_ino;
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static uint32_t get_le32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

/* --- the log ------------------------------------------------------------- */

static __printf(2, 3) int corrupt(const struct lw_log *log,
				   const char *fmt, ...);

static int corrupt(const struct lw_log *log, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: corrupt log: ", prog, log->dev.path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static __printf(3, 4) int bad_entry(const struct lw_log *log,
				    const struct lw_entry *e,
				    const char *fmt, ...);

/* bad_entry: report entry E of LOG as corrupt; returns -1. */
static int bad_entry(const struct lw_log *log, const struct lw_entry *e,
		     const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: corrupt log: entry %" PRIu64 " at byte %"
		PRIu64 ": ", prog, log->dev.path, e->index, e->pos);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int check_super(struct lw_log *log, const unsigned char *buf)
{
	uint64_t magic = get_le64(buf);
	uint64_t version = get_le64(buf + 8);
	uint64_t max_entries;

	log->nr_entries = get_le64(buf + 16);
	log->sectorsize = get_le32(buf + 24);
	if (magic != WRITE_LOG_MAGIC)
		return corrupt(log, "bad magic 0x%" PRIx64 " (want 0x%llx)",
			       magic, WRITE_LOG_MAGIC);
	if (version != WRITE_LOG_VERSION)
		return corrupt(log, "unsupported version %" PRIu64 " (want %llu)",
			       version, WRITE_LOG_VERSION);
	if (!is_pow2(log->sectorsize) || log->sectorsize < MIN_SECTORSIZE ||
	    log->sectorsize > MAX_SECTORSIZE)
		return corrupt(log, "bad sector size %" PRIu32
			       " (want a power of two, %u..%u)",
			       log->sectorsize, MIN_SECTORSIZE, MAX_SECTORSIZE);
	if (log->dev.size < log->sectorsize)
		return corrupt(log, "%" PRIu64 " bytes, smaller than one sector",
			       log->dev.size);
	/* Each entry takes at least its header sector. */
	max_entries = (log->dev.size - log->sectorsize) / log->sectorsize;
	if (log->nr_entries > max_entries)
		return corrupt(log, "%" PRIu64 " entries cannot fit in %" PRIu64
			       " bytes", log->nr_entries, log->dev.size);
	return 0;
}

static int log_open(struct lw_log *log, const char *path)
{
	unsigned char buf[MIN_SECTORSIZE];

	if (dev_open(&log->dev, path, O_RDONLY))
		return -1;
	if (log->dev.size < sizeof(buf))
		return corrupt(log, "only %" PRIu64 " bytes, no super block",
			       log->dev.size);
	if (pread_full(&log->dev, buf, sizeof(buf), 0) || check_super(log, buf))
		return -1;
	log->sect = malloc(log->sectorsize);
	if (!log->sect) {
		msg("out of memory");
		return -1;
	}
	if (verbose)
		msg("%s: version %llu, sector size %" PRIu32 ", %" PRIu64
		    " entries, %" PRIu64 " bytes", path, WRITE_LOG_VERSION,
		    log->sectorsize, log->nr_entries, log->dev.size);
	return 0;
}

static void log_close(struct lw_log *log)
{
	dev_close(&log->dev);
	free(log->sect);
	log->sect = NULL;
}

/* check_mark: a mark holds only its text, inside the header sector. */
static int check_mark(const struct lw_log *log, const struct lw_entry *e)
{
	if (e->flags != LOG_MARK_FLAG)
		return bad_entry(log, e, "mark with other flags 0x%" PRIx64,
				 e->flags);
	if (e->nr_sectors)
		return bad_entry(log, e, "mark covers %" PRIu64 " sectors",
				 e->nr_sectors);
	if (e->data_len > log->sectorsize - ENTRY_BYTES)
		return bad_entry(log, e, "mark of %" PRIu64
				 " bytes does not fit its sector", e->data_len);
	return 0;
}

/* check_extent: the range the entry covers on the device fits in an off_t. */
static int check_extent(const struct lw_log *log, struct lw_entry *e)
{
	uint64_t max = (uint64_t)INT64_MAX / log->sectorsize;

	if (e->nr_sectors > max || e->sector > max - e->nr_sectors)
		return bad_entry(log, e, "sectors %" PRIu64 " + %" PRIu64
				 " out of range", e->sector, e->nr_sectors);
	e->dev_off = e->sector * log->sectorsize;
	e->dev_len = e->nr_sectors * log->sectorsize;
	return 0;
}

/* check_data: data_len and the stored data agree with nr_sectors. */
static int check_data(const struct lw_log *log, struct lw_entry *e)
{
	uint64_t room = log->dev.size - e->data_pos;

	if (e->flags & LOG_DISCARD_FLAG) {
		if (e->data_len)
			return bad_entry(log, e, "discard with %" PRIu64
					 " bytes of data", e->data_len);
		e->data_bytes = 0;
		return 0;
	}
	if (e->data_len > e->dev_len)
		return bad_entry(log, e, "data_len %" PRIu64 " exceeds its %"
				 PRIu64 " sectors", e->data_len,
				 e->nr_sectors);
	e->data_bytes = e->dev_len;
	if (e->data_bytes > room)
		return bad_entry(log, e, "%" PRIu64 " data bytes run past the end",
				 e->data_bytes);
	return 0;
}

static int check_entry(const struct lw_log *log, struct lw_entry *e)
{
	if (e->flags & ~LOG_KNOWN_FLAGS)
		return bad_entry(log, e, "unknown flags 0x%" PRIx64, e->flags);
	if (e->flags & LOG_MARK_FLAG) {
		e->mark = log->sect + ENTRY_BYTES;
		e->data_bytes = 0;
		e->dev_off = 0;
		e->dev_len = 0;
		return check_mark(log, e);
	}
	e->mark = NULL;
	if (check_extent(log, e))
		return -1;
	return check_data(log, e);
}

/*
 * read_entry: read and check the entry at byte *pos; on success advance
 * *pos past it.  e->mark stays valid until the next call.
 */
static int read_entry(struct lw_log *log, uint64_t index, uint64_t *pos,
		      struct lw_entry *e)
{
	const unsigned char *h = log->sect;

	if (log->dev.size - *pos < log->sectorsize)
		return corrupt(log, "entry %" PRIu64 " of %" PRIu64
			       " at byte %" PRIu64 " is past the end of the log",
			       index, log->nr_entries, *pos);
	if (pread_full(&log->dev, log->sect, log->sectorsize, *pos))
		return -1;
	memset(e, 0, sizeof(*e));
	e->index = index;
	e->pos = *pos;
	e->sector = get_le64(h);
	e->nr_sectors = get_le64(h + 8);
	e->flags = get_le64(h + 16);
	e->data_len = get_le64(h + 24);
	e->data_pos = *pos + log->sectorsize;
	if (check_entry(log, e))
		return -1;
	*pos = e->data_pos + e->data_bytes;
	return 0;
}

static bool mark_is(const struct lw_entry *e, const char *name)
{
	size_t n = strlen(name);

	return e->mark && e->data_len == n && !memcmp(e->mark, name, n);
}

/* --- output -------------------------------------------------------------- */

static void print_flags(uint64_t flags)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = {
		{ LOG_FLUSH_FLAG, "FLUSH" },
		{ LOG_FUA_FLAG, "FUA" },
		{ LOG_DISCARD_FLAG, "DISCARD" },
		{ LOG_MARK_FLAG, "MARK" },
		{ LOG_METADATA_FLAG, "METADATA" },
	};
	const char *sep = "";
	size_t i;

	if (!flags) {
		fputc('-', stdout);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (flags & names[i].bit) {
			printf("%s%s", sep, names[i].name);
			sep = "|";
		}
	}
}

/* print_text: mark text, non-printable bytes and spaces as \xNN. */
static void print_text(FILE *f, const unsigned char *s, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (s[i] > ' ' && s[i] < 0x7f && s[i] != '\\')
			fputc(s[i], f);
		else
			fprintf(f, "\\x%02x", s[i]);
	}
}

static void list_entry(const struct lw_opts *o, const struct lw_entry *e)
{
	if (o->list) {
		printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " ", e->index,
		       e->sector, e->nr_sectors);
		print_flags(e->flags);
		if (e->mark) {
			fputc(' ', stdout);
			print_text(stdout, e->mark, e->data_len);
		}
		fputc('\n', stdout);
	}
	if (o->list_marks && e->mark) {
		printf("%" PRIu64 " ", e->index);
		print_text(stdout, e->mark, e->data_len);
		fputc('\n', stdout);
	}
	if (o->flush_marks && (e->flags & (LOG_FLUSH_FLAG | LOG_FUA_FLAG)))
		printf("%" PRIu64 "\n", e->index);
}

/* --- replay -------------------------------------------------------------- */

static int target_check(const struct lw_target *t, const struct lw_entry *e)
{
	if (!t || !e->dev_len)
		return 0;
	if (e->dev_off > t->dev.size || e->dev_len > t->dev.size - e->dev_off) {
		msg("%s: entry %" PRIu64 " (bytes %" PRIu64 "+%" PRIu64
		    ") lies beyond the end of %s (%" PRIu64 " bytes)",
		    t->dev.path, e->index, e->dev_off, e->dev_len,
		    t->dev.path, t->dev.size);
		return -1;
	}
	return 0;
}

static int copy_data(struct lw_log *log, struct lw_target *t,
		     const struct lw_entry *e, unsigned char *buf)
{
	uint64_t done = 0;

	while (done < e->data_bytes) {
		uint64_t left = e->data_bytes - done;
		size_t n = left < IO_CHUNK ? (size_t)left : IO_CHUNK;

		if (pread_full(&log->dev, buf, n, e->data_pos + done) ||
		    pwrite_full(&t->dev, buf, n, e->dev_off + done))
			return -1;
		done += n;
	}
	return 0;
}

static int write_zeroes(struct lw_target *t, uint64_t off, uint64_t len,
			const unsigned char *zero)
{
	while (len) {
		size_t n = len < IO_CHUNK ? (size_t)len : IO_CHUNK;

		if (pwrite_full(&t->dev, zero, n, off))
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

static int discard(struct lw_target *t, const struct lw_entry *e,
		   bool zero_discards, const unsigned char *zero)
{
	uint64_t range[2] = { e->dev_off, e->dev_len };

	if (!e->dev_len)
		return 0;
	if (zero_discards || !t->dev.is_blk || t->discard_failed)
		return write_zeroes(t, e->dev_off, e->dev_len, zero);
	if (!ioctl(t->dev.fd, BLKDISCARD, range))
		return 0;
	if (verbose)
		msg("%s: BLKDISCARD: %s; zeroing discards instead",
		    t->dev.path, strerror(errno));
	t->discard_failed = true;
	return write_zeroes(t, e->dev_off, e->dev_len, zero);
}

static int replay_entry(struct lw_log *log, struct lw_target *t,
			const struct lw_entry *e, bool zero_discards,
			unsigned char *buf, const unsigned char *zero)
{
	if (verbose && !e->mark)
		msg("replay %" PRIu64 ": bytes %" PRIu64 "+%" PRIu64
		    " flags 0x%" PRIx64, e->index, e->dev_off, e->dev_len,
		    e->flags);
	if (target_check(t, e))
		return -1;
	if (e->flags & LOG_DISCARD_FLAG)
		return discard(t, e, zero_discards, zero);
	return copy_data(log, t, e, buf);
}

/* --- driver -------------------------------------------------------------- */

/*
 * find_range: check every entry up to the stop point (all of them, the
 * --limit entry or the --end-mark), also against the replay target; set
 * the first entry to process (0, --start or the one after --start-mark),
 * its byte offset and the last entry to process.
 */
static int find_range(struct lw_log *log, const struct lw_opts *o,
		      const struct lw_target *t, struct lw_range *r)
{
	uint64_t pos = log->sectorsize, i, last = log->nr_entries;
	bool started = !o->start_mark;
	struct lw_entry e;

	r->start = o->has_start ? o->start : 0;
	r->start_pos = pos;
	if (o->has_limit && o->limit >= log->nr_entries) {
		msg("%s: --limit %" PRIu64 ": the log has only %" PRIu64
		    " entries", log->dev.path, o->limit, log->nr_entries);
		return -1;
	}
	if (o->has_limit)
		last = o->limit + 1;
	if (o->has_start && o->start >= last) {
		msg("%s: --start %" PRIu64 ": past the last entry to process (%"
		    PRIu64 ")", log->dev.path, o->start, last ? last - 1 : 0);
		return -1;
	}
	for (i = 0; i < last; i++) {
		if (started && i == r->start)
			r->start_pos = pos;
		if (read_entry(log, i, &pos, &e) || target_check(t, &e))
			return -1;
		if (!started && mark_is(&e, o->start_mark)) {
			started = true;
			r->start = i + 1;
			r->start_pos = pos;
			continue;
		}
		if (started && i >= r->start && o->end_mark &&
		    mark_is(&e, o->end_mark)) {
			r->stop = i;
			return 0;
		}
	}
	if (!started) {
		msg("%s: no mark '%s' in entries 0..%" PRIu64, log->dev.path,
		    o->start_mark, last ? last - 1 : 0);
		return -1;
	}
	if (o->end_mark) {
		msg("%s: no mark '%s' in entries %" PRIu64 "..%" PRIu64,
		    log->dev.path, o->end_mark, r->start, last ? last - 1 : 0);
		return -1;
	}
	/* An empty log or nothing after --start-mark: process() skips. */
	r->stop = last ? last - 1 : 0;
	return 0;
}

static int process(struct lw_log *log, const struct lw_opts *o,
		   struct lw_target *t, const struct lw_range *r)
{
	unsigned char *buf = NULL, *zero = NULL;
	uint64_t pos = r->start_pos, i;
	struct lw_entry e;
	int ret = -1;

	if (t) {
		buf = malloc(IO_CHUNK);
		zero = calloc(1, IO_CHUNK);
		if (!buf || !zero) {
			msg("out of memory");
			goto out;
		}
	}
	for (i = r->start; log->nr_entries && i <= r->stop; i++) {
		if (read_entry(log, i, &pos, &e))
			goto out;
		list_entry(o, &e);
		if (t && replay_entry(log, t, &e, o->zero_discards, buf, zero))
			goto out;
	}
	if (t && fsync(t->dev.fd)) {
		msg("%s: fsync: %s", t->dev.path, strerror(errno));
		goto out;
	}
	if (t && verbose)
		msg("replayed entries %" PRIu64 "..%" PRIu64 " onto %s",
		    r->start, r->stop, t->dev.path);
	ret = 0;
out:
	free(buf);
	free(zero);
	return ret;
}

static int summary(struct lw_log *log, const struct lw_range *r)
{
	uint64_t pos = r->start_pos, i, marks = 0, flushes = 0;
	struct lw_entry e;

	for (i = r->start; log->nr_entries && i <= r->stop; i++) {
		if (read_entry(log, i, &pos, &e))
			return -1;
		marks += e.mark != NULL;
		flushes += !!(e.flags & (LOG_FLUSH_FLAG | LOG_FUA_FLAG));
	}
	printf("%s: ok: %" PRIu64 " entries, sector size %" PRIu32 ", %" PRIu64
	       " marks, %" PRIu64 " flush/fua, %" PRIu64 " bytes used\n",
	       log->dev.path, log->nr_entries, log->sectorsize, marks,
	       flushes, pos);
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* parse_args: 0 ok, -1 usage error (reported), 1 --help shown. */
static int parse_args(int argc, char **argv, struct lw_opts *o)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "replay", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'n' },
		{ "end-mark", required_argument, NULL, 'e' },
		{ "start", required_argument, NULL, 's' },
		{ "start-mark", required_argument, NULL, 'S' },
		{ "list", no_argument, NULL, 'L' },
		{ "list-marks", no_argument, NULL, 'M' },
		{ "flush-marks", no_argument, NULL, 'F' },
		{ "zero-discards", no_argument, NULL, 'z' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->log_path = optarg;
			break;
		case 'r':
			o->replay_path = optarg;
			break;
		case 'e':
			o->end_mark = optarg;
			break;
		case 'S':
			o->start_mark = optarg;
			break;
		case 'L':
			o->list = true;
			break;
		case 'M':
			o->list_marks = true;
			break;
		case 'F':
			o->flush_marks = true;
			break;
		case 'z':
			o->zero_discards = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'n':
			if (parse_u64(optarg, &o->limit)) {
				msg("--limit: not an entry number: '%s'", optarg);
				return -1;
			}
			o->has_limit = true;
			break;
		case 's':
			if (parse_u64(optarg, &o->start)) {
				msg("--start: not an entry number: '%s'", optarg);
				return -1;
			}
			o->has_start = true;
			break;
		default:
			return -1;
		}
	}
	if (optind < argc) {
		msg("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!o->log_path) {
		msg("--log is required");
		return -1;
	}
	if (o->has_start && o->start_mark) {
		msg("--start and --start-mark exclude each other");
		return -1;
	}
	return 0;
}

static int run(const struct lw_opts *o)
{
	struct lw_log log = { .dev = { .fd = -1 } };
	struct lw_target tgt = { .dev = { .fd = -1 } };
	struct lw_target *t = NULL;
	struct lw_range range = { 0 };
	int ret = -1;

	if (log_open(&log, o->log_path))
		goto out;
	if (o->replay_path) {
		if (dev_open(&tgt.dev, o->replay_path, O_RDWR))
			goto out;
		if (dev_same(&log.dev, &tgt.dev)) {
			msg("%s: the log and the replay target are the same",
			    o->replay_path);
			goto out;
		}
		t = &tgt;
	}
	if (find_range(&log, o, t, &range))
		goto out;
	if (t || o->list || o->list_marks || o->flush_marks)
		ret = process(&log, o, t, &range);
	else
		ret = summary(&log, &range);
	if (fflush(stdout) || ferror(stdout)) {
		msg("writing output: %s", strerror(errno));
		ret = -1;
	}
out:
	dev_close(&tgt.dev);
	log_close(&log);
	return ret;
}

int main(int argc, char **argv)
{
	struct lw_opts o;
	int r;

	r = parse_args(argc, argv, &o);
	if (r > 0)
		return 0;
	if (r < 0) {
		fprintf(stderr, "Try '%s --help'.\n", prog);
		return EXIT_USAGE;
	}
	verbose = o.verbose;
	return run(&o) ? EXIT_FAILURE : EXIT_SUCCESS;
}
