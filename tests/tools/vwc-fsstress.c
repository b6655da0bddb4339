// SPDX-License-Identifier: GPL-2.0-only
/*
 * vwc-fsstress: a small deterministic metadata-heavy file system workload
 * (guest tool of tests/vm/tests/67-fs-crash.sh; Debian packages no
 * fsstress).
 *
 *   vwc-fsstress [--seed S] [--ops N] [--dirs D] [--files F]
 *                [--max-size BYTES] [--mark-cmd CMD] [--mark-every K]
 *                [--verbose] DIR
 *
 * In D directories d0..d(D-1) under DIR (made first), each holding the
 * names f0..f(F-1) and s0..s3 (subdirectories), it runs N operations
 * chosen by a xorshift generator seeded with S: create (and write), write
 * at a random offset (the file created when missing, as for the next
 * four), append, truncate (shorter or longer), fsync,
 * fdatasync, rename (also across directories, also over an existing
 * name), link, unlink, mkdir, rmdir, setxattr and removexattr (user.*,
 * skipped for good once the file system refuses them with ENOTSUP).
 * Single-threaded: the same seed gives the same operations and the same
 * outcomes on an empty DIR.  Outcomes that depend on the names present
 * (ENOENT, EEXIST, ENOTEMPTY, EISDIR, ENOTDIR, EMLINK) and ENOSPC are
 * counted, not errors; any other failure of a call ends the run with
 * status 1 and the operation that failed.
 *
 * --mark-cmd CMD runs CMD with sh -c every K-th operation (default 50)
 * after the first, "%d" in CMD replaced by the running mark number (1, 2,
 * ...): e.g. 'dmsetup message lw 0 mark m%d' puts marks into a
 * dm-log-writes log.  A mark command that fails ends the run (status 1).
 *
 * Ends with "vwc-fsstress: ops N ok N skipped N marks N bytes N" on
 * stdout.  Exit status: 0 done, 1 failure, 2 usage.
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
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define __printf(f, a)		__attribute__((format(printf, f, a)))
#define __noreturn		__attribute__((noreturn))

#define SUBDIRS		4
#define BUF_BYTES	(256 * 1024)

static uint64_t rng_state;
static const char *root;
static unsigned int ndirs = 24, nfiles = 16;
static uint64_t max_size = 128 * 1024;
static bool verbose, xattr_ok = true;
static unsigned long long n_ok, n_skipped, n_bytes;
static unsigned char buf[BUF_BYTES];

static void die(const char *fmt, ...) __printf(1, 2) __noreturn;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vwc-fsstress: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* A random file name in a random directory, or a subdirectory name. */
static void file_path(char *p, size_t len)
{
	snprintf(p, len, "%s/d%u/f%u", root, (unsigned int)below(ndirs),
		 (unsigned int)below(nfiles));
}

static void sub_path(char *p, size_t len)
{
	snprintf(p, len, "%s/d%u/s%u", root, (unsigned int)below(ndirs),
		 (unsigned int)below(SUBDIRS));
}

/* An outcome that depends on the names present, or a full file system. */
static bool expected_errno(int e)
{
	return e == ENOENT || e == EEXIST || e == ENOTEMPTY || e == EISDIR ||
	       e == ENOTDIR || e == EMLINK || e == ENOSPC;
}

/* check R OP PATH: a failed call is counted when expected, else fatal. */
static void check(int r, const char *op, const char *path)
{
	if (r >= 0) {
		n_ok++;
		return;
	}
	if (expected_errno(errno)) {
		n_skipped++;
		return;
	}
	die("%s %s: %s", op, path, strerror(errno));
}

static void fill(size_t len)
{
	size_t i;
	uint64_t v = rnd();

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			v = rnd();
		buf[i] = (unsigned char)(v >> ((i & 7) * 8));
	}
}

/* write_at FD OFF LEN: LEN bytes of pseudo-random data at OFF. */
static int write_at(int fd, uint64_t off, size_t len)
{
	ssize_t w;
	size_t done = 0;

	fill(len);
	while (done < len) {
		w = pwrite(fd, buf + done, len - done, (off_t)(off + done));
		if (w < 0)
			return -1;
		done += (size_t)w;
	}
	n_bytes += len;
	return 0;
}

static size_t io_len(void)
{
	uint64_t m = max_size < BUF_BYTES ? max_size : BUF_BYTES;

	/* Mostly small writes, some up to m. */
	return (size_t)(below(4) ? 1 + below(m / 8 + 1) : 1 + below(m));
}

/* with_file PATH FLAGS OP: open PATH, do OP, close; counts the outcome. */
enum fop { F_CREATE, F_WRITE, F_APPEND, F_TRUNC, F_FSYNC, F_FDATASYNC };

static void file_op(enum fop op)
{
	static const char *const names[] = {
		"create", "write", "append", "truncate", "fsync", "fdatasync",
	};
	char p[512];
	int fd, flags = O_WRONLY, r = 0;
	struct stat st;

	file_path(p, sizeof(p));
	if (op == F_CREATE)
		flags |= O_CREAT | (below(2) ? O_TRUNC : 0);
	if (op == F_APPEND)
		flags |= O_APPEND;
	fd = open(p, flags | O_CLOEXEC, 0644);
	/* A missing file is created: most names then exist. */
	if (fd < 0 && errno == ENOENT && op != F_CREATE)
		fd = open(p, flags | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		check(-1, names[op], p);
		return;
	}
	switch (op) {
	case F_CREATE:
	case F_WRITE:
		r = write_at(fd, below(max_size), io_len());
		break;
	case F_APPEND:
		r = fstat(fd, &st);
		if (!r && (uint64_t)st.st_size < max_size * 2)
			r = write_at(fd, (uint64_t)st.st_size, io_len());
		break;
	case F_TRUNC:
		r = ftruncate(fd, (off_t)below(max_size + 1));
		break;
	case F_FSYNC:
		r = fsync(fd);
		break;
	case F_FDATASYNC:
		r = fdatasync(fd);
		break;
	}
	check(r, names[op], p);
	if (close(fd) && errno != ENOSPC)
		die("close %s: %s", p, strerror(errno));
}

static void xattr_op(bool remove)
{
	char p[512], name[32], val[200];
	size_t len;
	int r;

	if (!xattr_ok)
		return;
	file_path(p, sizeof(p));
	snprintf(name, sizeof(name), "user.vwc%u", (unsigned int)below(4));
	if (remove) {
		r = removexattr(p, name);
		if (r && errno == ENODATA)
			errno = ENOENT;
	} else {
		len = 1 + below(sizeof(val));
		memset(val, 'a' + (int)below(26), len);
		r = setxattr(p, name, val, len, 0);
	}
	if (r && (errno == ENOTSUP || errno == EOPNOTSUPP)) {
		xattr_ok = false;
		n_skipped++;
		return;
	}
	check(r, remove ? "removexattr" : "setxattr", p);
}

static void one_op(void)
{
	char a[512], b[512];
	uint64_t c = below(100);

	if (c < 14) {
		file_op(F_CREATE);
	} else if (c < 28) {
		file_op(F_WRITE);
	} else if (c < 36) {
		file_op(F_APPEND);
	} else if (c < 44) {
		file_op(F_TRUNC);
	} else if (c < 48) {
		file_op(F_FSYNC);
	} else if (c < 51) {
		file_op(F_FDATASYNC);
	} else if (c < 61) {
		file_path(a, sizeof(a));
		file_path(b, sizeof(b));
		check(rename(a, b), "rename", a);
	} else if (c < 64) {
		sub_path(a, sizeof(a));
		sub_path(b, sizeof(b));
		check(rename(a, b), "rename dir", a);
	} else if (c < 71) {
		file_path(a, sizeof(a));
		file_path(b, sizeof(b));
		check(link(a, b), "link", a);
	} else if (c < 81) {
		file_path(a, sizeof(a));
		check(unlink(a), "unlink", a);
	} else if (c < 86) {
		sub_path(a, sizeof(a));
		check(mkdir(a, 0755), "mkdir", a);
	} else if (c < 90) {
		sub_path(a, sizeof(a));
		check(rmdir(a), "rmdir", a);
	} else if (c < 96) {
		xattr_op(false);
	} else {
		xattr_op(true);
	}
}

static void run_mark(const char *fmt, unsigned long n)
{
	char cmd[512];
	const char *pct = strstr(fmt, "%d");
	int r;

	if (pct)
		snprintf(cmd, sizeof(cmd), "%.*s%lu%s", (int)(pct - fmt), fmt,
			 n, pct + 2);
	else
		snprintf(cmd, sizeof(cmd), "%s", fmt);
	r = system(cmd);
	if (r != 0)
		die("--mark-cmd failed (status %d): %s", r, cmd);
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: vwc-fsstress [--seed S] [--ops N] [--dirs D] [--files F]\n"
		"         [--max-size BYTES] [--mark-cmd CMD] [--mark-every K]\n"
		"         [--verbose] DIR\n");
	exit(status);
}

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || !*s || *end || *s == '-') {
		fprintf(stderr, "vwc-fsstress: %s: not a number: '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "dirs", required_argument, NULL, 'd' },
		{ "files", required_argument, NULL, 'f' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "mark-cmd", required_argument, NULL, 'c' },
		{ "mark-every", required_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t seed = 1, ops = 1000, every = 50, i;
	const char *mark_cmd = NULL;
	unsigned long marks = 0;
	char p[512];
	unsigned int d;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seed = num(optarg, "--seed");
			break;
		case 'n':
			ops = num(optarg, "--ops");
			break;
		case 'd':
			ndirs = (unsigned int)num(optarg, "--dirs");
			break;
		case 'f':
			nfiles = (unsigned int)num(optarg, "--files");
			break;
		case 'm':
			max_size = num(optarg, "--max-size");
			break;
		case 'c':
			mark_cmd = optarg;
			break;
		case 'k':
			every = num(optarg, "--mark-every");
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
	if (optind != argc - 1 || !ndirs || !nfiles || !every || !max_size ||
	    ndirs > 10000 || nfiles > 10000)
		usage(2);
	root = argv[optind];
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
	if (!rng_state)
		rng_state = 1;
	for (d = 0; d < ndirs; d++) {
		snprintf(p, sizeof(p), "%s/d%u", root, d);
		if (mkdir(p, 0755) && errno != EEXIST)
			die("mkdir %s: %s", p, strerror(errno));
	}
	for (i = 0; i < ops; i++) {
		if (mark_cmd && i && !(i % every))
			run_mark(mark_cmd, ++marks);
		one_op();
		if (verbose && !((i + 1) % 100))
			fprintf(stderr, "vwc-fsstress: %" PRIu64 " ops\n", i + 1);
	}
	printf("vwc-fsstress: ops %" PRIu64 " ok %llu skipped %llu marks %lu bytes %llu\n",
	       ops, n_ok, n_skipped, marks, n_bytes);
	return 0;
}
