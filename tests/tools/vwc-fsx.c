// SPDX-License-Identifier: GPL-2.0-only
/*
 * vwc-fsx: fsx-style verified file I/O (guest tool of
 * tests/vm/tests/68-fsx-reload.sh).
 *
 *   vwc-fsx [--seed S] [--ops N] [--files F] [--max-len BYTES]
 *           [--stop-file PATH] [--drop-caches K] [--verbose] DIR
 *
 * F files DIR/fsx0.. (created empty) and an in-memory model of each: N
 * operations chosen by a xorshift generator seeded with S: writes at a
 * random offset (also past the end: the hole reads as zeros), reads of a
 * random range, every byte compared with the model, truncates (shorter
 * or longer), fsync, fdatasync, and close and reopen.  --drop-caches K
 * writes 3 to /proc/sys/vm/drop_caches every K operations (so reads go
 * to the device again) and then reads every file whole.  With
 * --stop-file, it runs at least N operations and then on until PATH
 * exists (checked every 16 operations): a test does something to the
 * device meanwhile and then creates the file.  At the end every file is
 * read whole, closed and reopened, read again.
 *
 * A mismatch prints the file, the offset, the expected and the read
 * bytes, the operation number and the last 8 operations, and exits 1;
 * so does a failed call (with errno).  Success prints "vwc-fsx: ops N
 * reads N bytes-verified N writes N truncates N syncs N drops N" and
 * exits 0.  Usage errors exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define __printf(f, a)		__attribute__((format(printf, f, a)))
#define __noreturn		__attribute__((noreturn))

#define MAX_FILES	16
#define HISTORY		8

struct file {
	char path[512];
	int fd;
	uint64_t size;
	unsigned char *model;
};

static uint64_t rng_state;
static struct file files[MAX_FILES];
static unsigned int nfiles = 2;
static uint64_t max_len = 1 << 20;
static unsigned char *buf;
static uint64_t op_no;
static unsigned long long n_reads, n_bytes, n_writes, n_truncs, n_syncs,
	n_drops;
static char history[HISTORY][128];

static void dump_history(void)
{
	unsigned int i;
	uint64_t first = op_no >= HISTORY ? op_no - HISTORY + 1 : 1;

	fprintf(stderr, "vwc-fsx: the last operations:\n");
	for (i = 0; first + i <= op_no && i < HISTORY; i++)
		fprintf(stderr, "vwc-fsx:   %s\n",
			history[(first + i) % HISTORY]);
}

static void die(const char *fmt, ...) __printf(1, 2) __noreturn;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vwc-fsx: FAILED at op %" PRIu64 ": ", op_no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_history();
	exit(1);
}

static void note(const char *fmt, ...) __printf(1, 2);

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(history[op_no % HISTORY], sizeof(history[0]), fmt, ap);
	va_end(ap);
}

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void open_file(struct file *f, int extra)
{
	f->fd = open(f->path, O_RDWR | O_CLOEXEC | extra, 0644);
	if (f->fd < 0)
		die("open %s: %s", f->path, strerror(errno));
}

static void close_file(struct file *f)
{
	if (close(f->fd))
		die("close %s: %s", f->path, strerror(errno));
	f->fd = -1;
}

/* verify F OFF LEN: read [OFF, OFF + LEN) and compare with the model. */
static void verify(struct file *f, uint64_t off, uint64_t len)
{
	uint64_t want = off >= f->size ? 0 :
			(off + len > f->size ? f->size - off : len);
	uint64_t done = 0, i;
	ssize_t r;
	struct stat st;

	if (fstat(f->fd, &st))
		die("fstat %s: %s", f->path, strerror(errno));
	if ((uint64_t)st.st_size != f->size)
		die("%s: size %jd, expected %" PRIu64, f->path,
		    (intmax_t)st.st_size, f->size);
	while (done < len) {
		r = pread(f->fd, buf + done, len - done, (off_t)(off + done));
		if (r < 0)
			die("read %s at %" PRIu64 ": %s", f->path, off + done,
			    strerror(errno));
		if (!r)
			break;
		done += (uint64_t)r;
	}
	if (done != want)
		die("%s: read %" PRIu64 " bytes at %" PRIu64 ", expected %"
		    PRIu64 " (size %" PRIu64 ")", f->path, done, off, want,
		    f->size);
	for (i = 0; i < done; i++) {
		if (buf[i] != f->model[off + i]) {
			uint64_t j, n = 0;

			for (j = i; j < done; j++)
				n += buf[j] != f->model[off + j];
			die("%s: MISMATCH at offset %" PRIu64 ": read 0x%02x, expected 0x%02x (%" PRIu64
			    " bytes differ in the read of %" PRIu64 " at %" PRIu64 ")",
			    f->path, off + i, buf[i], f->model[off + i], n,
			    len, off);
		}
	}
	n_reads++;
	n_bytes += done;
}

static void do_write(struct file *f)
{
	uint64_t off = below(max_len), len, i, done = 0, v = 0;
	ssize_t w;

	len = 1 + below(below(4) ? 16384 : max_len - off);
	if (off + len > max_len)
		len = max_len - off;
	for (i = 0; i < len; i++) {
		if (!(i & 7))
			v = rnd();
		buf[i] = (unsigned char)(v >> ((i & 7) * 8));
	}
	note("write %s %" PRIu64 "+%" PRIu64, f->path, off, len);
	while (done < len) {
		w = pwrite(f->fd, buf + done, len - done, (off_t)(off + done));
		if (w < 0)
			die("write %s at %" PRIu64 ": %s", f->path, off + done,
			    strerror(errno));
		done += (uint64_t)w;
	}
	if (off > f->size)
		memset(f->model + f->size, 0, off - f->size);
	memcpy(f->model + off, buf, len);
	if (off + len > f->size)
		f->size = off + len;
	n_writes++;
}

static void do_truncate(struct file *f)
{
	uint64_t len = below(max_len + 1);

	note("truncate %s %" PRIu64 " (was %" PRIu64 ")", f->path, len,
	     f->size);
	if (ftruncate(f->fd, (off_t)len))
		die("truncate %s to %" PRIu64 ": %s", f->path, len,
		    strerror(errno));
	if (len > f->size)
		memset(f->model + f->size, 0, len - f->size);
	f->size = len;
	n_truncs++;
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "3\n", 2) != 2)
		die("drop_caches: %s", strerror(errno));
	close(fd);
	n_drops++;
}

static void one_op(void)
{
	struct file *f = &files[below(nfiles)];
	uint64_t c = below(100), off, len;

	if (c < 35) {
		do_write(f);
	} else if (c < 75) {
		off = below(f->size + 4096);
		len = 1 + below(below(4) ? 16384 : max_len);
		if (off + len > max_len + 4096)
			len = max_len + 4096 - off;
		note("read %s %" PRIu64 "+%" PRIu64, f->path, off, len);
		verify(f, off, len);
	} else if (c < 82) {
		do_truncate(f);
	} else if (c < 88) {
		note("fsync %s", f->path);
		if (fsync(f->fd))
			die("fsync %s: %s", f->path, strerror(errno));
		n_syncs++;
	} else if (c < 94) {
		note("fdatasync %s", f->path);
		if (fdatasync(f->fd))
			die("fdatasync %s: %s", f->path, strerror(errno));
		n_syncs++;
	} else {
		note("reopen %s", f->path);
		close_file(f);
		open_file(f, 0);
		verify(f, 0, max_len);
	}
}

static void verify_all(void)
{
	unsigned int i;

	for (i = 0; i < nfiles; i++)
		verify(&files[i], 0, max_len);
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: vwc-fsx [--seed S] [--ops N] [--files F] [--max-len BYTES]\n"
		"         [--stop-file PATH] [--drop-caches K] [--verbose] DIR\n");
	exit(status);
}

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || !*s || *end || *s == '-') {
		fprintf(stderr, "vwc-fsx: %s: not a number: '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "files", required_argument, NULL, 'f' },
		{ "max-len", required_argument, NULL, 'm' },
		{ "stop-file", required_argument, NULL, 'x' },
		{ "drop-caches", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t seed = 1, ops = 10000, drop = 0;
	const char *stop = NULL;
	bool verbose = false;
	unsigned int i;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seed = num(optarg, "--seed");
			break;
		case 'n':
			ops = num(optarg, "--ops");
			break;
		case 'f':
			nfiles = (unsigned int)num(optarg, "--files");
			break;
		case 'm':
			max_len = num(optarg, "--max-len");
			break;
		case 'x':
			stop = optarg;
			break;
		case 'd':
			drop = num(optarg, "--drop-caches");
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc - 1 || !nfiles || nfiles > MAX_FILES ||
	    max_len < 4096 || max_len > (1ULL << 30))
		usage(2);
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
	if (!rng_state)
		rng_state = 1;
	buf = malloc(max_len + 4096);
	if (!buf)
		die("out of memory");
	for (i = 0; i < nfiles; i++) {
		snprintf(files[i].path, sizeof(files[i].path), "%s/fsx%u",
			 argv[optind], i);
		files[i].model = calloc(1, max_len + 4096);
		if (!files[i].model)
			die("out of memory");
		open_file(&files[i], O_CREAT | O_TRUNC);
	}
	for (op_no = 1;; op_no++) {
		if (op_no > ops) {
			if (!stop || (!((op_no - 1) % 16) && !access(stop, F_OK)))
				break;
		}
		one_op();
		if (drop && !(op_no % drop)) {
			note("drop caches, verify all");
			drop_caches();
			verify_all();
		}
		if (verbose && !(op_no % 1000))
			fprintf(stderr, "vwc-fsx: %" PRIu64 " ops\n", op_no);
	}
	op_no--;
	verify_all();
	for (i = 0; i < nfiles; i++) {
		if (fsync(files[i].fd))
			die("fsync %s: %s", files[i].path, strerror(errno));
		close_file(&files[i]);
		open_file(&files[i], 0);
	}
	verify_all();
	for (i = 0; i < nfiles; i++)
		close_file(&files[i]);
	printf("vwc-fsx: ops %" PRIu64 " reads %llu bytes-verified %llu writes %llu truncates %llu syncs %llu drops %llu\n",
	       op_no, n_reads, n_bytes, n_writes, n_truncs, n_syncs, n_drops);
	return 0;
}
