// SPDX-License-Identifier: GPL-2.0-only
/*
 * vwc-hostile: hostile table lines, messages and sysfs writes against a
 * live dm-vwcache pool and VM device, generated deterministically from a
 * seed (guest tool of tests/vm/tests/70-hostile-input.sh).
 *
 *   vwc-hostile --seed S --count N --pool NAME --vm NAME --vm-id ID
 *               --ssd DEV --origin DEV --spare DEV --lin NAME [--sysfs]
 *               [--verbose]
 *
 * Talks to device-mapper through its ioctls (no dmsetup fork per input:
 * busybox and TCG make that slow).  Every input is invalid by construction
 * (the generators below know the rules of the admin guide, not the
 * module's code) and must be refused:
 *   table lines  DM_TABLE_LOAD into a scratch device "hx" (or into the
 *                inactive slot of the live pool / VM device) fails, and the
 *                kernel log (/dev/kmsg) shows a vwcache or vwcache-pool
 *                error, the expected message when the generator knows it;
 *   messages     DM_TARGET_MSG fails;
 *   sysfs        a write to /sys/block/dm-N/vwcache/limits/ * or
 *                /sys/block/dm-P/vwcache_pool/ * fails and the file reads
 *                back unchanged (with --sysfs, when those files exist).
 * Nothing may change: the device list, every table and the status of the
 * pool and VM device (all but the commit counter) are compared with the
 * first snapshot every 200 inputs and at the end.  Any kernel log record
 * matching an oops/WARN/BUG pattern stops the run at once.
 *
 * Ends with "vwc-hostile: refused table_lines=N messages=N sysfs_writes=N"
 * and exits 0 only if every input was refused cleanly.  A failure prints
 * the input (escaped) and exits 1.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/dm-ioctl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)
#define SCRATCH "hx"

static const char *bad_patterns[] = {
	"Oops", "WARNING:", "BUG:", "KASAN", "general protection",
	"Call Trace", "kernel BUG", "UBSAN", "list_add corruption",
	"refcount_t", "blocked for more than", NULL,
};

static struct {
	uint64_t seed;
	long count;
	const char *pool, *vm, *vm_id, *ssd, *origin, *spare, *lin;
	bool sysfs, verbose, print;
} opt;

static int ctl_fd = -1, kmsg_fd = -1;
static long n_table, n_msg, n_sysfs;
static char *snap0;

/* ---- PRNG (xorshift64*) ------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned int rn(unsigned int n)
{
	return n ? (unsigned int)(rnd() % n) : 0;
}

#define PICK(a) ((a)[rn(sizeof(a) / sizeof((a)[0]))])

/* ---- strings ----------------------------------------------------------- */

/* The kernel's isspace(): its ctype marks 0xa0 (Latin-1 NBSP) a space too. */
static bool kspace(unsigned char c)
{
	return isspace(c) || c == 0xa0;
}

/* A growing string with explicit length (inputs may hold NULs). */
struct str {
	char *p;
	size_t len, cap;
};

static void s_putn(struct str *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = realloc(s->p, s->cap);
		if (!s->p)
			abort();
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void s_add(struct str *s, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(tmp)) {
		/* Long: do it on the heap. */
		char *big = malloc((size_t)n + 1);

		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		s_putn(s, big, (size_t)n);
		free(big);
		return;
	}
	s_putn(s, tmp, (size_t)n);
}

static void s_reset(struct str *s)
{
	s->len = 0;
	if (s->p)
		s->p[0] = '\0';
}

/* Printable rendering of an input for failure reports. */
static const char *esc(const char *p, size_t n)
{
	static char bufs[4][4096];
	static unsigned int turn;
	char *out = bufs[turn++ % 4];
	size_t i, o = 0;

	for (i = 0; i < n && o < sizeof(bufs[0]) - 8; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, 8, "\\x%02x", c);
	}
	if (i < n)
		o += (size_t)snprintf(out + o, 8, "...");
	out[o] = '\0';
	return out;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vwc-hostile: FAIL: ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(1);
}

/* ---- kernel log -------------------------------------------------------- */

/* Read every new kernel log record; returns them joined by newlines. */
static void kmsg_drain(struct str *out)
{
	char rec[8192];

	for (;;) {
		ssize_t n = read(kmsg_fd, rec, sizeof(rec) - 1);
		int i;

		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		for (i = 0; bad_patterns[i]; i++)
			if (strstr(rec, bad_patterns[i]))
				die("kernel log: %s", esc(rec, (size_t)n));
		if (out)
			s_putn(out, rec, (size_t)n);
	}
}

/* ---- device-mapper ioctls ---------------------------------------------- */

static struct dm_ioctl *dmi_new(const char *name, size_t extra)
{
	static char *buf;
	struct dm_ioctl *d;

	if (!buf)
		buf = malloc(BUF_SIZE);
	if (!buf || extra + sizeof(*d) > BUF_SIZE)
		abort();
	memset(buf, 0, sizeof(*d) + extra);
	d = (struct dm_ioctl *)buf;
	d->version[0] = 4;
	d->data_size = BUF_SIZE;
	d->data_start = sizeof(*d);
	if (name)
		snprintf(d->name, sizeof(d->name), "%s", name);
	return d;
}

static int dm_ioc(unsigned long cmd, struct dm_ioctl *d)
{
	return ioctl(ctl_fd, cmd, d) ? -errno : 0;
}

struct target {
	uint64_t start, len;
	const char *type;
	const char *params;	/* may be cut short by a NUL: the kernel reads a C string */
	size_t plen;
};

/* DM_TABLE_LOAD of @n targets into the inactive slot of @name. */
static int dm_load(const char *name, const struct target *t, int n)
{
	struct dm_ioctl *d = dmi_new(name, 0);
	char *p = (char *)d + sizeof(*d);
	int i;

	for (i = 0; i < n; i++) {
		struct dm_target_spec *sp = (struct dm_target_spec *)p;
		size_t off = sizeof(*sp) + t[i].plen + 1;

		off = (off + 7) & ~(size_t)7;
		if ((size_t)(p + off - (char *)d) > BUF_SIZE)
			abort();
		memset(sp, 0, off);
		sp->sector_start = t[i].start;
		sp->length = t[i].len;
		snprintf(sp->target_type, sizeof(sp->target_type), "%s", t[i].type);
		memcpy(p + sizeof(*sp), t[i].params, t[i].plen);
		sp->next = (uint32_t)off;
		p += off;
	}
	d->target_count = (uint32_t)n;
	d->data_size = (uint32_t)(p - (char *)d);
	return dm_ioc(DM_TABLE_LOAD, d);
}

static void dm_clear(const char *name)
{
	dm_ioc(DM_TABLE_CLEAR, dmi_new(name, 0));
}

static int dm_message(const char *name, uint64_t sector, const char *msg,
		      size_t mlen)
{
	struct dm_ioctl *d = dmi_new(name, sizeof(struct dm_target_msg) + mlen + 1);
	struct dm_target_msg *m = (struct dm_target_msg *)((char *)d + sizeof(*d));

	m->sector = sector;
	memcpy(m->message, msg, mlen);
	m->message[mlen] = '\0';
	d->data_size = (uint32_t)(sizeof(*d) + sizeof(*m) + mlen + 1);
	return dm_ioc(DM_TARGET_MSG, d);
}

/* Status (info) or table of @name, targets joined by " | "; flags of the device. */
static int dm_status(const char *name, bool table, bool inactive,
		     struct str *out, uint32_t *flags)
{
	struct dm_ioctl *d = dmi_new(name, 0);
	char *p;
	uint32_t i;
	int r;

	d->flags = (table ? DM_STATUS_TABLE_FLAG : 0) |
		   (inactive ? DM_QUERY_INACTIVE_TABLE_FLAG : 0);
	r = dm_ioc(DM_TABLE_STATUS, d);
	if (r)
		return r;
	if (d->flags & DM_BUFFER_FULL_FLAG)
		die("status of %s does not fit", name);
	if (flags)
		*flags = d->flags;
	p = (char *)d + d->data_start;
	for (i = 0; i < d->target_count; i++) {
		struct dm_target_spec *sp = (struct dm_target_spec *)p;

		s_add(out, "%s%" PRIu64 " %" PRIu64 " %s %s", i ? " | " : "",
		      (uint64_t)sp->sector_start, (uint64_t)sp->length,
		      sp->target_type, (char *)(sp + 1));
		p = (char *)d + d->data_start + sp->next;
		if (!sp->next)
			break;
	}
	return 0;
}

static uint64_t dm_devt(const char *name)
{
	struct dm_ioctl *d = dmi_new(name, 0);

	if (dm_ioc(DM_DEV_STATUS, d))
		die("no dm device %s", name);
	return d->dev;
}

/* Drop fields 12+ of the pool status (the commit counter moves by itself). */
static void cut_fields(struct str *s, size_t from, int keep)
{
	char *p = s->p + from;
	int f = 0;

	for (; *p; p++) {
		if (*p == ' ' && ++f == keep) {
			*p = '\0';
			s->len = (size_t)(p - s->p);
			return;
		}
	}
}

/* The state that no refused input may change. */
static char *snapshot(void)
{
	struct dm_ioctl *d = dmi_new(NULL, 0);
	struct str s = { 0 };
	char names[64][DM_NAME_LEN];
	int n = 0, i, j;
	char *p;

	if (dm_ioc(DM_LIST_DEVICES, d))
		die("DM_LIST_DEVICES: %s", strerror(errno));
	p = (char *)d + d->data_start;
	if (d->data_size > d->data_start) {
		for (;;) {
			struct dm_name_list *nl = (struct dm_name_list *)p;

			if (!nl->dev)
				break;
			if (n < 64)
				snprintf(names[n++], DM_NAME_LEN, "%s", nl->name);
			if (!nl->next)
				break;
			p += nl->next;
		}
	}
	/* sort */
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char t[DM_NAME_LEN];

				memcpy(t, names[i], DM_NAME_LEN);
				memcpy(names[i], names[j], DM_NAME_LEN);
				memcpy(names[j], t, DM_NAME_LEN);
			}
	for (i = 0; i < n; i++) {
		uint32_t flags = 0;
		size_t at;

		s_add(&s, "%s: ", names[i]);
		dm_status(names[i], true, false, &s, &flags);
		s_add(&s, " [flags %s%s%s]\n  inactive: ",
		      flags & DM_SUSPEND_FLAG ? "suspended " : "",
		      flags & DM_ACTIVE_PRESENT_FLAG ? "active " : "",
		      flags & DM_INACTIVE_PRESENT_FLAG ? "inactive" : "");
		dm_status(names[i], true, true, &s, NULL);
		s_add(&s, "\n  status: ");
		at = s.len;
		dm_status(names[i], false, false, &s, NULL);
		if (!strcmp(names[i], opt.pool))
			cut_fields(&s, at, 3 + 11); /* start len target + 11 fields */
		s_add(&s, "\n");
	}
	return s.p;
}

static void check_unchanged(const char *what)
{
	char *now = snapshot();

	if (strcmp(now, snap0)) {
		printf("before:\n%s\nnow:\n%s\n", snap0, now);
		die("state changed (%s)", what);
	}
	free(now);
}

/* ---- generators: values ------------------------------------------------ */

struct key {
	const char *name;
	uint64_t min, max;	/* numeric range; mode when max == 0 */
	bool pool;
};

#define RATE_MAX (1ULL << 40)
static const struct key keys[] = {
	{ "high_watermark", 1, 100, true },
	{ "low_watermark", 0, 99, true },
	{ "max_age", 0, 86400000, true },
	{ "commit_interval", 1, 60000, true },
	{ "writeback_iops", 0, RATE_MAX, true },
	{ "io_capacity_iops", 0, RATE_MAX, true },
	{ "io_capacity_bw", 0, RATE_MAX, true },
	{ "mode", 0, 0, false },
	{ "iops_limit", 0, RATE_MAX, false },
	{ "bw_limit", 0, RATE_MAX, false },
	{ "cache_quota", 0, 1ULL << 48, false },
	{ "weight", 1, 1000, false },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *find_key(const char *name, bool pool)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].pool == pool && !strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static const struct key *rand_key(bool pool)
{
	for (;;) {
		const struct key *k = &keys[rn(NKEYS)];

		if (k->pool == pool)
			return k;
	}
}

/* A token of random bytes: none whitespace, backslash or NUL. */
static void rand_token(struct str *s, unsigned int maxlen, bool ascii)
{
	unsigned int n = 1 + rn(maxlen), i;

	for (i = 0; i < n; i++) {
		char c;

		do {
			c = ascii ? (char)(0x21 + rn(0x5e)) : (char)(1 + rn(255));
		} while (kspace((unsigned char)c) || c == '\\' || c == '\0');
		s_putn(s, &c, 1);
	}
}

static void digits(struct str *s, unsigned int n)
{
	unsigned int i;

	s_add(s, "%u", 1 + rn(9));
	for (i = 1; i < n; i++)
		s_add(s, "%u", rn(10));
}

/* A value no key accepts as a number: never a plain decimal. */
static void non_number(struct str *s)
{
	static const char *fixed[] = {
		"-1", "-0", "+5", "0x10", "0X1F", "1.5", "1e3", "1,000", "1_000",
		"5k", "5K", "5M", "10%", "0b101", "0o7", "abc", "nan", "inf",
		"-9223372036854775808", "+0", "=5", "5=", "\xd9\xa3", "\xef\xbc\x95",
		"5\x01", "\x7f", "\xff\xfe", "''", "\"5\"", "5;", "$((5))", "0.0",
		"true", "null", "(5)", "5-", "--5", "٣",
	};
	unsigned int k = rn(4);

	if (k == 0) {
		s_add(s, "%s", PICK(fixed));
	} else if (k == 1) {
		/* digits with one non-digit somewhere */
		struct str t = { 0 };
		char c;

		digits(&t, 1 + rn(12));
		do {
			c = (char)(1 + rn(255));
		} while (isdigit((unsigned char)c) || kspace((unsigned char)c) ||
			 c == '\\');
		s_putn(s, t.p, rn((unsigned int)t.len + 1));
		s_putn(s, &c, 1);
		s_add(s, "%s", t.p + rn((unsigned int)t.len + 1));
		free(t.p);
	} else {
		/* random bytes with at least one non-digit (a letter first) */
		s_add(s, "%c", 'a' + rn(26));
		if (rn(2))
			rand_token(s, 40, k == 2);
	}
}

/* A decimal that overflows 64 bits. */
static void overflow(struct str *s)
{
	static const char *fixed[] = {
		"18446744073709551616", "18446744073709551617",
		"99999999999999999999", "340282366920938463463374607431768211456",
	};

	if (rn(2))
		s_add(s, "%s", PICK(fixed));
	else
		digits(s, 21 + rn(200));
}

/* A value @k refuses. */
static void bad_value(struct str *s, const struct key *k)
{
	unsigned int r = rn(10);

	if (!k->max) { /* mode */
		static const char *modes[] = {
			"WRITEBACK", "Writeback", "write-back", "writeback0",
			"writearound", "wb", "none", "0", "1", "writethrough\x01",
			"passthrough.", "cache", "\xffwriteback", "writebac",
		};
		if (r < 6)
			s_add(s, "%s", PICK(modes));
		else
			rand_token(s, 30, r < 8);
		return;
	}
	if (r < 3)
		non_number(s);
	else if (r < 5)
		overflow(s);
	else if (k->min > 0 && r < 7)
		s_add(s, "%" PRIu64, k->min - 1 - (k->min > 1 ? rnd() % k->min : 0));
	else if (k->max < UINT64_MAX) {
		uint64_t over = k->max + 1;
		uint64_t span = UINT64_MAX - over;

		switch (rn(3)) {
		case 0:
			s_add(s, "%" PRIu64, over);
			break;
		case 1:
			s_add(s, "%" PRIu64, over + rnd() % (span < 1000000 ? span : 1000000));
			break;
		default:
			s_add(s, "%" PRIu64, over + rnd() % span);
		}
	} else {
		overflow(s);
	}
}

/* A key name no target knows (for @pool, neither a pool key). */
static void bad_key(struct str *s, bool pool)
{
	static const char *near[] = {
		"High_watermark", "high-watermark", "highwatermark", "watermark",
		"max_age_ms", "weight ", "Weight", "iops", "limit", "vm_id", "pool",
		"origin", "block_size", "quota", "cache_quota_", "_mode", "modes",
		"commit", "interval", "bw", "io_capacity", "dirty", "state",
	};

	for (;;) {
		size_t mark = s->len;

		if (rn(3))
			s_add(s, "%s", PICK(near));
		else if (rn(2))
			s_add(s, "%s", rand_key(!pool)->name);	/* the other target's key */
		else
			rand_token(s, 24, rn(2));
		/* trailing space of "weight " would split: keep tokens whole */
		while (s->len > mark && s->p[s->len - 1] == ' ')
			s->p[--s->len] = '\0';
		if (s->len > mark && !find_key(s->p + mark, pool))
			return;
		s->len = mark;
		s->p[mark] = '\0';
	}
}

/* An invalid vm_id (one token: no whitespace, backslash or NUL). */
static void bad_vm_id(struct str *s)
{
	static const char *fixed[] = {
		"a/b", "../../etc", "vm id", "vm\x01", "\xc3\xa9t\xc3\xa9", "vm!",
		"vm@host", "vm#1", "vm$", "vm%", "vm&", "vm*", "vm+1", "vm,1",
		"vm;1", "vm<1>", "vm=1", "vm?", "vm[1]", "vm^", "vm`", "vm{1}",
		"vm|1", "vm~", "\x7f", "\xff", "vm'", "vm\"",
	};
	unsigned int r = rn(4);
	unsigned int i, n;

	if (r == 0) {
		const char *f = PICK(fixed);

		if (strchr(f, ' '))
			f = "a/b";
		s_add(s, "%s", f);
	} else if (r == 1) { /* overlong: 65 .. 5000 valid characters */
		static const char ok[] =
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";

		n = 65 + (rn(3) ? rn(64) : rn(5000));
		for (i = 0; i < n; i++)
			s_putn(s, &ok[rn(sizeof(ok) - 1)], 1);
	} else {
		/* valid characters with one invalid byte */
		char c;

		n = 1 + rn(30);
		for (i = 0; i < n; i++)
			s_add(s, "%c", 'a' + rn(26));
		do {
			c = (char)(1 + rn(255));
		} while (isalnum((unsigned char)c) || strchr("._:-\\", c) ||
			 kspace((unsigned char)c));
		s->p[s->len - 1 - rn(n)] = c;
	}
}

/* ---- generators: devices ----------------------------------------------- */

static char pool_path[300], vm_path[300], lin_path[300], scratch_path[300];
static char pool_mm[32], vm_mm[32], ssd_mm[32];
static uint64_t origin_sectors, spare_sectors;
static char lin_params[300];

/* A path or major:minor that is no block device at all. */
static const char *no_device(void)
{
	static char buf[300];
	static const char *fixed[] = {
		"/dev/nonexistent", "/dev/null", "/dev/zero", "/dev/mem", "/dev",
		"/", "/tmp", "/proc/self/mem", "/sys/block", "/dev/mapper/control",
		"/dev/mapper/nonexistent", "/dev/mapper/", "/dev/mapper/..",
		"0:0", "999:999", "4294967295:4294967295", "4294967296:0",
		"-1:-1", "253:1048576", "/dev/console", "/dev/tty",
		"/tmp/hx-file", "/dev/vdz", "/dev/vda99",
	};

	if (rn(4))
		return PICK(fixed);
	snprintf(buf, sizeof(buf), "/dev/mapper/x%08x", (unsigned int)rnd());
	return buf;
}

/* The lookup error for no_device(): a major:minor may name a device the
 * kernel autoloads (1:N is a RAM disk), so any vwcache error for those. */
static const char *lookup_error(const char *dev, const char *msg)
{
	return dev[0] == '/' ? msg : NULL;
}

/* ---- table lines ------------------------------------------------------- */

struct line {
	struct str params;
	const char *expect;	/* substring of the error, or NULL: any vwcache error */
	const char *into;	/* device the table is loaded into */
	const char *type;
	uint64_t len;
	int ntargets;
	struct target extra;	/* a linear target in front */
};

/*
 * Feature args of a pool or VM line with one defect, appended to @s after
 * the count; sets l->expect.  With @valid only, no defect (the caller has
 * put one elsewhere).
 */
static void features(struct str *s, struct line *l, bool pool, bool valid)
{
	struct str f = { 0 };
	int nargs = 0, defect = valid ? -1 : (int)rn(pool ? 8 : 7);
	unsigned int i, npairs = rn(4);
	bool used[NKEYS] = { 0 };

	/* valid pairs, distinct keys; watermarks kept consistent */
	for (i = 0; i < npairs; i++) {
		const struct key *k = rand_key(pool);
		size_t ki = (size_t)(k - keys);

		if (used[ki] || !strcmp(k->name, "low_watermark") ||
		    !strcmp(k->name, "high_watermark"))
			continue;
		used[ki] = true;
		if (!k->max)
			s_add(&f, " mode %s", PICK(((const char *[]){ "writeback",
				"writethrough", "passthrough" })));
		else
			s_add(&f, " %s %" PRIu64, k->name,
			      k->min + rnd() % (k->max - k->min + 1));
		nargs += 2;
	}
	switch (defect) {
	case 0: { /* unknown key */
		s_add(&f, " ");
		bad_key(&f, pool);
		s_add(&f, " %u", rn(100));
		nargs += 2;
		l->expect = "Unknown feature argument";
		break;
	}
	case 1: { /* duplicate key */
		const struct key *k = rand_key(pool);
		unsigned int times = 2 + (rn(4) ? 0 : rn(500));

		if (used[k - keys] || !strcmp(k->name, "low_watermark") ||
		    !strcmp(k->name, "high_watermark") || !k->max)
			k = find_key(pool ? "max_age" : "weight", pool);
		if (used[k - keys])
			times--;	/* already once in the line */
		for (i = 0; i < times; i++)
			s_add(&f, " %s %" PRIu64, k->name, k->min);
		nargs += 2 * (int)times;
		l->expect = "Duplicate feature argument";
		break;
	}
	case 2: { /* a value out of range or no number */
		const struct key *k;

		do
			k = rand_key(pool);
		while (used[k - keys]);
		s_add(&f, " %s ", k->name);
		bad_value(&f, k);
		nargs += 2;
		l->expect = NULL; /* the key's own message; any vwcache error */
		break;
	}
	case 3: /* key without value, count matching */
		s_add(&f, " %s", rand_key(pool)->name);
		nargs += 1;
		l->expect = "Feature arguments must be key value pairs";
		break;
	case 4: /* count larger or smaller than the args */
	case 5: {
		int delta = 1 + (int)(rn(3) ? rn(3) : rn(1000000));

		nargs = defect == 4 ? nargs + delta : nargs - delta;
		l->expect = "Number of feature arguments does not match";
		if (nargs < 0) {
			s_add(s, " -%d%s", -nargs, f.p ? f.p : "");
			l->expect = "Invalid number of feature arguments";
			free(f.p);
			return;
		}
		break;
	}
	case 6: /* count not a number */
		s_add(s, " ");
		if (rn(2))
			non_number(s);
		else
			overflow(s);
		s_add(s, "%s", f.p ? f.p : "");
		l->expect = "Invalid number of feature arguments";
		free(f.p);
		return;
	case 7: { /* pool: low at or above high, each in range */
		unsigned int hi = 1 + rn(99);

		s_add(&f, " high_watermark %u low_watermark %u", hi,
		      hi + rn(99 - hi + 1));
		nargs += 4;
		l->expect = "low_watermark must be below high_watermark";
		break;
	}
	default:
		break;
	}
	s_add(s, " %d%s", nargs, f.p ? f.p : "");
	free(f.p);
}

static void pool_line(struct line *l)
{
	struct str *s = &l->params;
	unsigned int r = rn(10);
	const char *dev = opt.ssd;

	l->type = "vwcache-pool";
	l->into = SCRATCH;
	l->len = 8 + rnd() % 4096;
	if (r < 2) { /* a live pool reload: must not change cache dev or bs */
		l->into = opt.pool;
	} else if (r < 5) {
		/* devices that can never be a new pool; parse is valid */
		static const int which[] = { 0, 1, 2, 3, 4, 5, 6 };

		switch (PICK(which)) {
		case 0: dev = opt.ssd; l->expect = "Cache device is already used by another pool"; break;
		case 1: dev = ssd_mm; l->expect = "Cache device is already used by another pool"; break;
		case 2: dev = pool_path; l->expect = "Cache device is a vwcache device"; break;
		case 3: dev = vm_mm; l->expect = "Cache device is a vwcache device"; break;
		case 4: dev = opt.spare; l->expect = "zero the first 4 KiB to format"; break;
		case 5: dev = no_device(); l->expect = lookup_error(dev, "Cache device lookup failed"); break;
		default: dev = scratch_path; l->expect = NULL; break;
		}
		s_add(s, "%s %u", dev, 4096u << rn(5));
		features(s, l, true, true);
		if (dev == opt.spare && l->len > spare_sectors)
			l->len = spare_sectors;
		if (l->len > 4096 && dev != opt.spare)
			l->len = 4096;
		return;
	}
	/* a parse error: the cache device is whatever (ssd: always refused) */
	if (l->into == opt.pool)
		dev = rn(4) ? opt.ssd : opt.spare;
	r = rn(10);
	if (r < 2) { /* bad block size */
		static const char *bs[] = {
			"0", "1", "512", "2048", "4095", "4097", "6144", "12288",
			"65535", "65537", "131072", "1048576", "4k", "64K", "0x1000",
			"-4096", "+4096", "4096.0", "04096x",
		};
		s_add(s, "%s ", dev);
		if (rn(2))
			s_add(s, "%s", PICK(bs));
		else if (rn(2))
			overflow(s);
		else
			s_add(s, "%" PRIu64, (uint64_t)(rnd() % 200000) | 1);
		s_add(s, " 0");
		l->expect = "Cache block size must be a power of two from 4096 to 65536";
	} else if (r < 3) { /* too few arguments */
		static const char *few[] = { "", "/dev/vda", "/dev/vda 4096", "4096 0", "x" };

		s_add(s, "%s", PICK(few));
		l->expect = "Not enough arguments";
	} else {
		s_add(s, "%s 4096", dev);
		features(s, l, true, false);
		if (!l->expect && l->into == opt.pool)
			l->expect = NULL;
	}
}

static void vm_line(struct line *l)
{
	struct str *s = &l->params;
	unsigned int r = rn(12);
	const char *pool = pool_path, *origin = opt.spare, *id = "hostile-new";

	l->type = "vwcache";
	l->into = SCRATCH;
	l->len = 1 + rnd() % spare_sectors;
	if (r < 2) { /* the live VM device reloaded: same vm_id, a defect elsewhere */
		l->into = opt.vm;
		origin = opt.origin;
		id = opt.vm_id;
		l->len = 1 + rnd() % origin_sectors;
	}
	if (r >= 2 && r < 6) {
		/* devices: a good parse, one bad device */
		switch (rn(14)) {
		case 0: pool = no_device(); l->expect = lookup_error(pool, "Pool device lookup failed"); break;
		case 1: pool = opt.spare; l->expect = "Pool device is not a vwcache-pool device"; break;
		case 2: pool = lin_path; l->expect = "Pool device is not a vwcache-pool device"; break;
		case 3: pool = vm_path; l->expect = "Pool device is not a vwcache-pool device"; break;
		case 4: pool = vm_mm; l->expect = "Pool device is not a vwcache-pool device"; break;
		case 5: pool = scratch_path; l->expect = NULL; break;
		case 6: pool = opt.ssd; l->expect = "Pool device is not a vwcache-pool device"; break;
		case 7: origin = no_device(); l->expect = lookup_error(origin, "Origin device lookup failed"); break;
		case 8: origin = opt.ssd; l->expect = "Origin device is the pool's cache device"; l->len = 1 + rnd() % 64; break;
		case 9: origin = rn(2) ? pool_path : pool_mm; l->expect = "Origin device is a vwcache device"; l->len = 1; break;
		case 10: origin = vm_path; l->expect = "Origin device is a vwcache device"; l->len = 1; break;
		case 11: origin = scratch_path; l->expect = NULL; l->len = 1 + rnd() % 64; break;
		case 12: l->len = spare_sectors + 1 + (rn(2) ? rnd() % 1000 : rnd() % (UINT64_MAX / 1024));
			l->expect = "Target length exceeds the origin device size"; break;
		default: id = opt.vm_id; l->expect = "vm_id is already attached to this pool"; break;
		}
		s_add(s, "%s %s %s", pool, origin, id);
		features(s, l, false, true);
		return;
	}
	r = rn(8);
	if (r < 3) { /* bad vm_id */
		s_add(s, "%s %s ", pool, origin);
		bad_vm_id(s);
		s_add(s, " 0");
		l->expect = "Invalid vm_id";
	} else if (r < 4) { /* too few */
		static const char *few[] = { "", "/dev/mapper/pool", "a b c", "a b", "0" };

		s_add(s, "%s", PICK(few));
		l->expect = "Not enough arguments";
	} else {
		s_add(s, "%s %s %s", pool, origin, id);
		features(s, l, false, false);
	}
}

/* Random tokens after the target type: refused (the device token is junk). */
static void soup_line(struct line *l)
{
	struct str *s = &l->params;
	unsigned int n = rn(24), i;

	l->type = rn(2) ? "vwcache" : "vwcache-pool";
	l->into = SCRATCH;
	l->len = 1 + rnd() % 1000000;
	l->expect = NULL;
	/* first token: a letter first, so never a path or major:minor */
	s_add(s, "%c", 'a' + rn(26));
	rand_token(s, 20, rn(2));
	for (i = 0; i < n; i++) {
		unsigned int k = rn(6);

		s_add(s, "%s", PICK(((const char *[]){ " ", "  ", "\t", " \n ", "\r", " \v" })));
		if (k == 0)
			digits(s, 1 + rn(25));
		else if (k == 1)
			s_add(s, "%s", keys[rn(NKEYS)].name);
		else if (k == 2)
			s_add(s, "%s", PICK(((const char *[]){ "/dev/mapper/pool", "0", "4096", "writeback", "\\", "\\ ", "'", "\"" })));
		else
			rand_token(s, 64, k == 3);
	}
}

static void make_line(struct line *l)
{
	unsigned int r = rn(20);

	s_reset(&l->params);
	l->expect = NULL;
	l->ntargets = 1;
	if (r < 8)
		pool_line(l);
	else if (r < 17)
		vm_line(l);
	else
		soup_line(l);
	/*
	 * An embedded NUL cuts the line: keep it invalid (cut inside the first
	 * token, which ends at any character the kernel's isspace() takes).
	 */
	if (rn(25) == 0 && l->params.len > 2) {
		size_t first = 0;

		while (first < l->params.len &&
		       !kspace((unsigned char)l->params.p[first]))
			first++;

		if (first > 1) {
			l->params.p[1 + rn((unsigned int)first - 1)] = '\0';
			l->expect = "Not enough arguments";
		}
	}
	/* sometimes behind a linear target */
	if (l->into == (const char *)SCRATCH && rn(12) == 0) {
		l->ntargets = 2;
		l->extra.start = 0;
		l->extra.len = 8;
		l->extra.type = "linear";
		l->extra.params = lin_params;
		l->extra.plen = strlen(lin_params);
	}
}

static void try_line(struct line *l, long i)
{
	struct target t[2];
	struct str log = { 0 };
	int n = 0, r;

	if (l->ntargets == 2)
		t[n++] = l->extra;
	t[n].start = n ? l->extra.len : 0;
	t[n].len = l->len;
	t[n].type = l->type;
	t[n].params = l->params.p;
	t[n].plen = l->params.len;
	n++;
	kmsg_drain(NULL);
	r = dm_load(l->into, t, n);
	kmsg_drain(&log);
	if (opt.verbose)
		printf("line %ld into %s: %s %s -> %d\n", i, l->into, l->type,
		       esc(l->params.p, l->params.len), r);
	if (!r) {
		dm_clear(l->into);
		die("table line %ld accepted (into %s): 0 %" PRIu64 " %s %s", i,
		    l->into, l->len, l->type, esc(l->params.p, l->params.len));
	}
	if (!log.p || (!strstr(log.p, ": vwcache: ") && !strstr(log.p, ": vwcache-pool: ")))
		die("table line %ld refused (%d) without a vwcache error: %s %s; log: %s",
		    i, r, l->type, esc(l->params.p, l->params.len),
		    log.p ? esc(log.p, log.len) : "(nothing)");
	if (l->expect && !strstr(log.p, l->expect))
		die("table line %ld: expected '%s': %s %s; log: %s", i, l->expect,
		    l->type, esc(l->params.p, l->params.len), esc(log.p, log.len));
	free(log.p);
	n_table++;
}

/* ---- messages ---------------------------------------------------------- */

/* dm_split_args: whitespace separates, backslash escapes the next char. */
static int split(const char *p, char argv[][512], int max)
{
	int argc = 0;

	for (;;) {
		size_t o = 0;

		while (*p && kspace((unsigned char)*p))
			p++;
		if (!*p)
			return argc;
		while (*p && !kspace((unsigned char)*p)) {
			if (*p == '\\' && p[1])
				p++;
			if (o < 511)
				argv[argc < max ? argc : max - 1][o++] = *p;
			p++;
		}
		argv[argc < max ? argc : max - 1][o] = '\0';
		argc++;
	}
}

static bool plain_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || x > (UINT64_MAX - 9) / 10 + 1)
			return false;
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return true;
}

/* Current watermarks of the pool (from the first snapshot's table line). */
static uint64_t cur_high = 50, cur_low = 25;

/*
 * Could the target accept this message?  Conservative: anything that might
 * be valid is "possibly valid" and never sent.
 */
static bool msg_maybe_valid(const char *msg, bool pool)
{
	char argv[8][512];
	int argc = split(msg, argv, 8);
	const struct key *k;
	uint64_t v;

	if (argc == 1)
		return !strcmp(argv[0], "flush") || !strcmp(argv[0], "clear_stats") ||
		       (!pool && (!strcmp(argv[0], "migrate_prepare") ||
				  !strcmp(argv[0], "migrate_abort") ||
				  !strcmp(argv[0], "invalidate")));
	if (argc == 2 && pool && !strcmp(argv[0], "drop_dirty"))
		return true;	/* the pool message, any vm_id */
	if (argc != 3 || strcmp(argv[0], "set"))
		return false;
	k = find_key(argv[1], pool);
	if (!k)
		return false;
	if (!k->max)
		return !strcmp(argv[2], "writeback") || !strcmp(argv[2], "writethrough") ||
		       !strcmp(argv[2], "passthrough");
	if (!plain_u64(argv[2], &v) || v < k->min || v > k->max)
		return false;
	if (!strcmp(k->name, "low_watermark") && v >= cur_high)
		return false;
	if (!strcmp(k->name, "high_watermark") && v <= cur_low)
		return false;
	return true;
}

static void make_msg(struct str *s, bool pool)
{
	static const char *verbs[] = {
		"flush", "clear_stats", "migrate_prepare", "migrate_abort", "set",
		"Flush", "FLUSH", "set_key", "get", "status", "detach", "attach",
		"format", "resize", "invalidate", "cleaner", "reset", "sync",
		"drop_dirty",
	};
	unsigned int r = rn(10), i, n;

	if (r < 4) { /* set with a bad value, or a key of the wrong target */
		const struct key *k = rand_key(pool);

		s_add(s, "set %s ", k->name);
		if (rn(5)) {
			bad_value(s, k);
		} else if (pool) { /* watermarks crossing the current ones */
			s_reset(s);
			if (rn(2))
				s_add(s, "set low_watermark %" PRIu64,
				      cur_high + rnd() % (100 - cur_high));
			else
				s_add(s, "set high_watermark %" PRIu64,
				      rnd() % (cur_low + 1));
		} else {
			s_reset(s);
			s_add(s, "set ");
			bad_key(s, false);
			s_add(s, " 5");
		}
	} else if (r < 5) { /* known verb, wrong number of args */
		s_add(s, "%s", PICK(verbs));
		n = rn(4) == 0 ? 0 : 1 + rn(5);
		for (i = 0; i < n; i++) {
			s_add(s, " ");
			rand_token(s, 16, rn(2));
		}
	} else if (r < 6) { /* unknown key */
		s_add(s, "set ");
		bad_key(s, pool);
		s_add(s, " %u", rn(100));
	} else if (r < 7) { /* huge */
		n = 1 + rn(3000);
		s_add(s, "set ");
		for (i = 0; i < n; i++)
			s_add(s, "%c", 'a' + rn(26));
		s_add(s, " 1");
	} else { /* soup */
		n = 1 + rn(8);
		for (i = 0; i < n; i++) {
			if (i)
				s_add(s, "%s", PICK(((const char *[]){ " ", "\t", "  ", "\n" })));
			if (rn(3) == 0)
				s_add(s, "%s", PICK(verbs));
			else
				rand_token(s, 30, rn(2));
		}
	}
}

static void try_msg(long i)
{
	static struct str s;
	bool pool = rn(2);
	const char *dev = pool ? opt.pool : opt.vm;
	uint64_t sector = 0;
	int r;

	do {
		s_reset(&s);
		make_msg(&s, pool);
	} while (msg_maybe_valid(s.p, pool));
	/* an embedded NUL: the kernel sees the prefix; keep it invalid */
	if (rn(20) == 0 && s.len > 1) {
		size_t at = 1 + rn((unsigned int)s.len - 1);
		char c = s.p[at];

		s.p[at] = '\0';
		if (msg_maybe_valid(s.p, pool))
			s.p[at] = c;
	}
	if (rn(50) == 0) /* a sector past the device: the dm core refuses */
		sector = 1ULL << 40;
	r = dm_message(dev, sector, s.p, s.len);
	kmsg_drain(NULL);
	if (opt.verbose)
		printf("msg %ld to %s: %s -> %d\n", i, dev, esc(s.p, s.len), r);
	if (!r)
		die("message %ld accepted by %s: %s", i, dev, esc(s.p, s.len));
	n_msg++;
}

/* ---- sysfs ------------------------------------------------------------- */

struct sysfile {
	char path[300];
	const char *name;
	bool pool, writable;
};

static struct sysfile sysfiles[64];
static int n_sysfiles;

static void scan_sysfs(const char *dir, bool pool)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && n_sysfiles < 64) {
		struct sysfile *f = &sysfiles[n_sysfiles];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(f->path, sizeof(f->path), "%s/%s", dir, e->d_name);
		if (stat(f->path, &st) || !S_ISREG(st.st_mode))
			continue;
		f->name = strrchr(f->path, '/') + 1;
		f->pool = pool;
		f->writable = st.st_mode & 0222;
		if (st.st_mode & 0022)
			die("%s is writable by group or others (mode %o)", f->path,
			    st.st_mode & 0777);
		n_sysfiles++;
	}
	closedir(d);
}

static bool read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static void try_sysfs(long i)
{
	struct sysfile *f = &sysfiles[rn((unsigned int)n_sysfiles)];
	const struct key *k = find_key(f->name, f->pool);
	static struct str s;
	char before[4096], after[4096];
	ssize_t w;
	int fd, err;

	s_reset(&s);
	if (f->writable && !k)
		return;	/* a writable file this tool does not know: leave it */
	if (k && rn(10) == 0 && f->pool && (!strcmp(k->name, "low_watermark") ||
					   !strcmp(k->name, "high_watermark"))) {
		if (!strcmp(k->name, "low_watermark"))
			s_add(&s, "%" PRIu64, cur_high + rnd() % (100 - cur_high));
		else
			s_add(&s, "%" PRIu64, rnd() % (cur_low + 1));
	} else if (k) {
		bad_value(&s, k);
	} else {
		rand_token(&s, 20, rn(2));
	}
	switch (rn(6)) {
	case 0: s_add(&s, "\n"); break;
	case 1: { /* NUL in the middle: the store must not take the prefix */
		char c = '\0';

		if (s.len > 1 && !isdigit((unsigned char)s.p[0])) {
			s_putn(&s, &c, 1);
			s_add(&s, "5");
		}
		break;
	}
	default: break;
	}
	if (!read_file(f->path, before, sizeof(before)))
		die("cannot read %s", f->path);
	fd = open(f->path, O_WRONLY);
	if (fd < 0) {
		if (f->writable)
			die("cannot open %s for writing: %s", f->path, strerror(errno));
		n_sysfs++;	/* read-only: refused at open */
		return;
	}
	w = write(fd, s.p, s.len);
	err = errno;
	close(fd);
	kmsg_drain(NULL);
	if (opt.verbose)
		printf("sysfs %ld %s <- %s: %zd %s\n", i, f->path, esc(s.p, s.len),
		       w, w < 0 ? strerror(err) : "");
	if (w >= 0)
		die("sysfs write %ld accepted: %s <- %s", i, f->path, esc(s.p, s.len));
	if (!read_file(f->path, after, sizeof(after)) || strcmp(before, after))
		die("sysfs write %ld changed %s: '%s' -> '%s'", i, f->path, before, after);
	n_sysfs++;
}

/* ---- main -------------------------------------------------------------- */

static void mm_of(const char *name, char *out, size_t size, char *path, size_t psize)
{
	uint64_t dev = dm_devt(name);

	snprintf(out, size, "%u:%u", major(dev), minor(dev));
	if (path)
		snprintf(path, psize, "/dev/mapper/%s", name);
}

static uint64_t dev_sectors(const char *path)
{
	uint64_t bytes;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || ioctl(fd, _IOR(0x12, 114, size_t), &bytes))
		die("size of %s", path);
	close(fd);
	return bytes >> 9;
}

static void usage(void)
{
	fputs("usage: vwc-hostile --seed S --count N --pool NAME --vm NAME --vm-id ID\n"
	      "       --ssd DEV --origin DEV --spare DEV --lin NAME [--sysfs] [--verbose]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", 1, 0, 's' }, { "count", 1, 0, 'n' }, { "pool", 1, 0, 'p' },
		{ "vm", 1, 0, 'v' }, { "vm-id", 1, 0, 'i' }, { "ssd", 1, 0, 'S' },
		{ "origin", 1, 0, 'o' }, { "spare", 1, 0, 'x' }, { "lin", 1, 0, 'l' },
		{ "sysfs", 0, 0, 'y' }, { "verbose", 0, 0, 'V' },
		{ "print", 0, 0, 'P' }, { 0, 0, 0, 0 },
	};
	struct line l = { 0 };
	char pool_mm_s[32], scratch_mm[32];
	time_t t0;
	long i;
	int c;

	opt.count = 1000;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'n': opt.count = strtol(optarg, NULL, 0); break;
		case 'p': opt.pool = optarg; break;
		case 'v': opt.vm = optarg; break;
		case 'i': opt.vm_id = optarg; break;
		case 'S': opt.ssd = optarg; break;
		case 'o': opt.origin = optarg; break;
		case 'x': opt.spare = optarg; break;
		case 'l': opt.lin = optarg; break;
		case 'y': opt.sysfs = true; break;
		case 'V': opt.verbose = true; break;
		case 'P': opt.print = true; break;
		default: usage();
		}
	}
	if (!opt.pool || !opt.vm || !opt.vm_id || !opt.ssd || !opt.origin ||
	    !opt.spare || !opt.lin)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	rng_state = opt.seed * 0x9E3779B97F4A7C15ULL + 0x1234567;
	if (!rng_state)
		rng_state = 1;
	if (opt.print) { /* generator check on the host: print, touch nothing */
		strcpy(pool_path, "/dev/mapper/pool");
		strcpy(vm_path, "/dev/mapper/vm1");
		strcpy(scratch_path, "/dev/mapper/hx");
		snprintf(lin_path, sizeof(lin_path), "/dev/mapper/%s", opt.lin);
		strcpy(pool_mm, "253:0");
		strcpy(vm_mm, "253:1");
		strcpy(ssd_mm, "254:0");
		snprintf(lin_params, sizeof(lin_params), "%s 0", opt.origin);
		origin_sectors = spare_sectors = 262144;
		for (i = 0; i < opt.count; i++) {
			static struct str m;

			if (rn(100) < 60) {
				make_line(&l);
				printf("line into %s: %s %s [%s]\n", l.into, l.type,
				       esc(l.params.p, l.params.len),
				       l.expect ? l.expect : "any");
			} else {
				bool pool = rn(2);

				do {
					s_reset(&m);
					make_msg(&m, pool);
				} while (msg_maybe_valid(m.p, pool));
				printf("msg to %s: %s\n", pool ? "pool" : "vm",
				       esc(m.p, m.len));
			}
		}
		return 0;
	}
	/* Relative paths in generated lines must resolve to nothing. */
	mkdir("/tmp/hx-empty", 0700);
	if (chdir("/tmp/hx-empty"))
		die("chdir");
	close(open("/tmp/hx-file", O_CREAT | O_WRONLY, 0600));

	ctl_fd = open("/dev/mapper/control", O_RDWR);
	if (ctl_fd < 0)
		die("/dev/mapper/control: %s", strerror(errno));
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg_fd < 0)
		die("/dev/kmsg: %s", strerror(errno));
	lseek(kmsg_fd, 0, SEEK_END);

	{
		struct dm_ioctl *d = dmi_new(SCRATCH, 0);

		if (dm_ioc(DM_DEV_CREATE, d))
			die("create %s: %s", SCRATCH, strerror(errno));
	}
	mm_of(opt.pool, pool_mm_s, sizeof(pool_mm_s), pool_path, sizeof(pool_path));
	memcpy(pool_mm, pool_mm_s, sizeof(pool_mm));
	mm_of(opt.vm, vm_mm, sizeof(vm_mm), vm_path, sizeof(vm_path));
	mm_of(SCRATCH, scratch_mm, sizeof(scratch_mm), scratch_path, sizeof(scratch_path));
	snprintf(lin_path, sizeof(lin_path), "/dev/mapper/%s", opt.lin);
	{
		struct stat st;

		if (stat(opt.ssd, &st))
			die("stat %s", opt.ssd);
		snprintf(ssd_mm, sizeof(ssd_mm), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	}
	snprintf(lin_params, sizeof(lin_params), "%s 0", opt.origin);
	origin_sectors = dev_sectors(opt.origin);
	spare_sectors = dev_sectors(opt.spare);

	if (opt.sysfs) {
		char dir[300];

		snprintf(dir, sizeof(dir), "/sys/dev/block/%s/vwcache/limits", vm_mm);
		scan_sysfs(dir, false);
		snprintf(dir, sizeof(dir), "/sys/dev/block/%s/vwcache", vm_mm);
		scan_sysfs(dir, false);
		snprintf(dir, sizeof(dir), "/sys/dev/block/%s/vwcache/stats", vm_mm);
		scan_sysfs(dir, false);
		snprintf(dir, sizeof(dir), "/sys/dev/block/%s/vwcache_pool", pool_mm);
		scan_sysfs(dir, true);
		printf("vwc-hostile: %d sysfs files\n", n_sysfiles);
	}

	t0 = time(NULL);
	snap0 = snapshot();
	{
		const char *p = strstr(snap0, " high_watermark ");

		if (p)
			cur_high = strtoull(p + 16, NULL, 10);
		p = strstr(snap0, " low_watermark ");
		if (p)
			cur_low = strtoull(p + 15, NULL, 10);
	}
	if (opt.verbose)
		printf("snapshot:\n%s", snap0);
	for (i = 0; i < opt.count; i++) {
		unsigned int r = rn(100);

		if (n_sysfiles && r < 20)
			try_sysfs(i);
		else if (r < 60) {
			make_line(&l);
			try_line(&l, i);
		} else {
			try_msg(i);
		}
		if (i % 200 == 199)
			check_unchanged("periodic check");
		if (i % 1000 == 999)
			printf("vwc-hostile: %ld inputs: %ld table lines, %ld messages, %ld sysfs writes refused (%ld s)\n",
			       i + 1, n_table, n_msg, n_sysfs, (long)(time(NULL) - t0));
	}
	check_unchanged("end");
	{
		struct dm_ioctl *d = dmi_new(SCRATCH, 0);

		if (dm_ioc(DM_DEV_REMOVE, d))
			die("remove %s: %s", SCRATCH, strerror(errno));
	}
	kmsg_drain(NULL);
	printf("vwc-hostile: refused table_lines=%ld messages=%ld sysfs_writes=%ld\n",
	       n_table, n_msg, n_sysfs);
	printf("vwc-hostile: %ld inputs refused, nothing changed\n",
	       n_table + n_msg + n_sysfs);
	return 0;
}
