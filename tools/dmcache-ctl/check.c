// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl check and dump: a cache device (or an image of one) read
 * offline, without the module, decoded by the module's own format code
 * (drivers/md/dm-vwcache-format.c), with the same rules as the module's
 * load: superblock copies, every VM record (taken whatever its commit),
 * every entry (ignored when written after the last commit), an entry
 * naming an unused VM slot and two entries claiming one block.  check
 * also reports a damaged superblock copy the module would survive.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "ctl.h"
#include "dm-vwcache-format.h"

#define CHUNK		(1 << 20)	/* bytes of entries read at once */
#define MAX_LISTED	50		/* problems listed one by one */
#define JSON_VERSION_DUMP	1

struct image {
	const char *path;
	int fd;
	uint64_t bytes;
	void *buf;		/* CHUNK bytes, 4 KiB aligned */
};

struct vm_count {
	uint64_t cached, dirty;
	uint64_t orphans;	/* entries of a slot whose record is damaged */
};

struct scan {
	struct vwc_sb sb;
	u32 seed;
	struct vwc_vm_record *vms;	/* max_vms */
	bool *vm_ok;
	bool *vm_bad;			/* the slot's record is damaged */
	struct vm_count *counts;
	struct vwc_attach_record *attach;	/* max_vms */
	bool *attach_ok;		/* the slot's vm_id, intact */
	uint64_t attach_damaged;
	uint64_t vm_used, vm_empty, vm_uncommitted, vm_damaged;
	uint64_t valid, dirty, empty, uncommitted, damaged, orphans, dups;
	uint64_t problems, listed;
	uint64_t *keys;		/* (vm << 48 | oblock) of valid entries */
	bool report;
};

static int img_read(struct image *im, uint64_t off, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(im->fd, (char *)buf + got, len - got,
				  off + got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += n;
	}
	return 0;
}

/*
 * Open with O_DIRECT (the module writes around the page cache) and, for a
 * block device, O_EXCL: an active pool holds its device and changes the
 * metadata under us.  Files and file systems without O_DIRECT are read
 * through the page cache.
 */
static int img_open(struct image *im, const char *path, bool force)
{
	struct stat st;
	int excl = force ? 0 : O_EXCL;

	memset(im, 0, sizeof(*im));
	im->path = path;
	im->fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT | excl);
	if (im->fd < 0 && errno == EINVAL)
		im->fd = open(path, O_RDONLY | O_CLOEXEC | excl);
	if (im->fd < 0) {
		if (errno == EBUSY)
			return ctl_fail("%s is in use (an active pool?): remove the pool first, or --force to read it anyway",
					path);
		return ctl_fail("cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(im->fd, &st) ||
	    (S_ISBLK(st.st_mode) ? ioctl(im->fd, BLKGETSIZE64, &im->bytes) :
	     !S_ISREG(st.st_mode))) {
		close(im->fd);
		return ctl_fail("%s is neither a block device nor a file", path);
	}
	if (S_ISREG(st.st_mode))
		im->bytes = st.st_size;
	if (posix_memalign(&im->buf, 4096, CHUNK)) {
		close(im->fd);
		return ctl_fail("out of memory");
	}
	/* an O_DIRECT read the file system refuses: plain reads then */
	if (im->bytes >= 4096 && img_read(im, 0, im->buf, 4096) == -EINVAL) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			close(im->fd);
			im->fd = fd;
		}
	}
	return 0;
}

static void img_close(struct image *im)
{
	free(im->buf);
	close(im->fd);
}

/* Both superblocks of @fd into a fresh aligned buffer (free it). */
static int read_sbs(int fd, void **buf)
{
	struct image im = { .fd = fd };
	int r;

	if (posix_memalign(buf, 4096, 2 * VWC_SB_SIZE))
		return -ENOMEM;
	r = img_read(&im, 0, *buf, 2 * VWC_SB_SIZE);
	if (r) {
		free(*buf);
		*buf = NULL;
	}
	return r;
}

int ctl_dev_holds_pool(int fd, bool *holds)
{
	const char *error;
	struct vwc_sb sb;
	void *buf;
	int r;

	*holds = false;
	r = read_sbs(fd, &buf);
	if (r)
		return r;
	*holds = le32_to_cpu(((struct vwc_disk_sb *)buf)->magic) ==
		 VWC_SB_MAGIC ||
		 !vwc_sb_decode((char *)buf + VWC_SB_SIZE, 1, &sb, &error);
	free(buf);
	return 0;
}

/* The block size of the pool on @fd (0 when its superblocks are bad). */
int ctl_dev_pool_block_size(int fd, uint32_t *bs)
{
	const char *error;
	struct vwc_sb sb;
	void *buf;
	int r;

	*bs = 0;
	r = read_sbs(fd, &buf);
	if (r)
		return r;
	if (!vwc_sb_choose(buf, (char *)buf + VWC_SB_SIZE, &sb, &error))
		*bs = sb.layout.block_size;
	free(buf);
	return 0;
}

/* A problem: counted, and listed while the list is short. */
static void problem(struct scan *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct scan *s, const char *fmt, ...)
{
	va_list ap;

	s->problems++;
	if (!s->report)
		return;
	if (s->listed++ == MAX_LISTED) {
		printf("  ... (more problems are counted, not listed)\n");
		return;
	}
	if (s->listed > MAX_LISTED)
		return;
	fputs("  DAMAGED: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/*
 * The pool uuid of the pool on @path as 32 hex digits in 8-4-4-4-12 form
 * (as dump prints it); -ENODATA when its superblocks are bad.
 */
int ctl_dev_pool_uuid(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const char *error;
	struct vwc_sb sb;
	void *buf;
	size_t n = 0;
	int i, r;

	if (fd < 0)
		return -errno;
	r = read_sbs(fd, &buf);
	close(fd);
	if (r)
		return r;
	r = vwc_sb_choose(buf, (char *)buf + VWC_SB_SIZE, &sb, &error) ?
	    -ENODATA : 0;
	free(buf);
	for (i = 0; !r && i < 16; i++)
		n += snprintf(out + n, len > n ? len - n : 0, "%02x%s",
			      sb.uuid[i], i == 3 || i == 5 || i == 7 ||
			      i == 9 ? "-" : "");
	return r;
}

/* ---- superblock --------------------------------------------------------------- */

static void print_uuid(const u8 *u)
{
	int i;

	for (i = 0; i < 16; i++)
		printf("%02x%s", u[i], i == 3 || i == 5 || i == 7 || i == 9 ?
		       "-" : "");
}

static int check_sb(struct image *im, struct scan *s)
{
	char *buf = im->buf;
	struct vwc_sb c[2];
	const char *e[2] = { NULL, NULL }, *error = NULL;
	int ok[2], i, r;

	if (im->bytes < 2 * VWC_SB_SIZE)
		return ctl_fail("%s is too small to hold a pool", im->path);
	r = img_read(im, 0, buf, 2 * VWC_SB_SIZE);
	if (r)
		return ctl_fail("cannot read the superblocks of %s: %s",
				im->path, strerror(-r));
	if (vwc_is_zero(buf, VWC_SB_SIZE))
		return ctl_fail("%s holds no pool: its first 4 KiB are zero",
				im->path);
	for (i = 0; i < 2; i++)
		ok[i] = !vwc_sb_decode(buf + i * VWC_SB_SIZE, i, &c[i], &e[i]);
	r = vwc_sb_choose(buf, buf + VWC_SB_SIZE, &s->sb, &error);
	if (r)
		return ctl_fail("%s: %s", im->path, error);
	s->seed = vwc_uuid_seed(s->sb.uuid);
	if (s->report) {
		const struct vwc_layout *l = &s->sb.layout;

		printf("pool on %s: uuid ", im->path);
		print_uuid(s->sb.uuid);
		printf(", block size %u, %llu blocks, commit %llu (copy %u)\n",
		       l->block_size, (unsigned long long)l->nr_blocks,
		       (unsigned long long)s->sb.seq, s->sb.copy);
		for (i = 0; i < 2; i++) {
			if (ok[i])
				printf("superblock copy %d: ok, commit %llu\n",
				       i, (unsigned long long)c[i].seq);
			else
				printf("superblock copy %d: damaged\n", i);
		}
	}
	for (i = 0; i < 2; i++)
		if (!ok[i])
			problem(s, "superblock copy %d: %s", i, e[i]);
	if (ok[0] && ok[1] && (memcmp(c[0].uuid, c[1].uuid, 16) ||
			       memcmp(&c[0].layout, &c[1].layout,
				      sizeof(c[0].layout))))
		problem(s, "superblock copies disagree on the uuid or layout");
	if (s->sb.layout.dev_sectors * 512 > im->bytes)
		problem(s, "the device (%llu bytes) is smaller than the pool it holds (%llu bytes)",
			(unsigned long long)im->bytes,
			(unsigned long long)s->sb.layout.dev_sectors * 512);
	return 0;
}

/* ---- VM table ----------------------------------------------------------------- */

/* Why a VM record is damaged: its checksum, or a field out of range. */
static const char *vm_damage(const struct vwc_disk_vm *d, u32 i, u32 seed)
{
	struct vwc_disk_vm re;
	struct vwc_vm_record r;

	memset(&r, 0, sizeof(r));
	r.in_use = le32_to_cpu(d->flags) & VWC_VM_IN_USE;
	memcpy(r.vm_id, d->vm_id, VWC_VM_ID_MAX);
	r.generation = le64_to_cpu(d->generation);
	r.origin.sectors = le64_to_cpu(d->origin_sectors);
	r.origin.kind = d->origin_kind;
	memcpy(r.origin.digest, d->origin_digest, sizeof(r.origin.digest));
	vwc_vm_encode(&re, i, &r, le64_to_cpu(d->seq), seed);
	if (memcmp(&re, d, offsetof(struct vwc_disk_vm, csum)))
		return "malformed fields (or a checksum mismatch)";
	if (re.csum != d->csum)
		return "checksum mismatch";
	return "invalid vm_id, length, flags or origin identity";
}

static int check_vms(struct image *im, struct scan *s)
{
	const struct vwc_layout *l = &s->sb.layout;
	size_t len = (size_t)l->max_vms * sizeof(struct vwc_disk_vm);
	const struct vwc_disk_vm *d = im->buf;
	u32 i;
	int r;

	if (len > CHUNK)
		return ctl_fail("VM table larger than expected");
	r = img_read(im, l->vm_table_start * 512, im->buf, len);
	if (r)
		return ctl_fail("cannot read the VM table: %s", strerror(-r));
	s->vms = calloc(l->max_vms, sizeof(*s->vms));
	s->vm_ok = calloc(l->max_vms, sizeof(*s->vm_ok));
	s->vm_bad = calloc(l->max_vms, sizeof(*s->vm_bad));
	s->counts = calloc(l->max_vms, sizeof(*s->counts));
	if (!s->vms || !s->vm_ok || !s->vm_bad || !s->counts)
		return ctl_fail("out of memory");
	for (i = 0; i < l->max_vms; i++) {
		switch (vwc_vm_decode(&d[i], i, U64_MAX, s->seed, &s->vms[i])) {
		case VWC_REC_CORRUPT:
			s->vm_damaged++;
			s->vm_bad[i] = true;
			problem(s, "VM record %u: %s", i,
				vm_damage(&d[i], i, s->seed));
			break;
		case VWC_REC_OK:
			if (s->vms[i].in_use) {
				s->vm_ok[i] = true;
				s->vm_used++;
			} else {
				s->vm_empty++;
			}
			break;
		case VWC_REC_UNCOMMITTED:	/* not with U64_MAX */
			s->vm_uncommitted++;
			break;
		default:
			s->vm_empty++;
		}
	}
	return 0;
}

/* ---- attachment table (VWC_FEATURE_INCOMPAT_ATTACH) ----------------------------- */

/*
 * The attachment records: damaged ones are problems (the module refuses
 * the pool); one of another vm_id than its VM record's is stale and
 * ignored, as the module does.
 */
static int check_attach(struct image *im, struct scan *s)
{
	const struct vwc_layout *l = &s->sb.layout;
	const size_t per_chunk = CHUNK / sizeof(struct vwc_disk_attach);
	const struct vwc_disk_attach *d = im->buf;
	u32 i;
	int r;

	s->attach = calloc(l->max_vms, sizeof(*s->attach));
	s->attach_ok = calloc(l->max_vms, sizeof(*s->attach_ok));
	if (!s->attach || !s->attach_ok)
		return ctl_fail("out of memory");
	if (!l->attach_start)
		return 0;
	for (i = 0; i < l->max_vms; i++) {
		if (i % per_chunk == 0) {
			r = img_read(im, l->attach_start * 512 +
				     (uint64_t)i * sizeof(*d), im->buf, CHUNK);
			if (r)
				return ctl_fail("cannot read the attachment table: %s",
						strerror(-r));
		}
		switch (vwc_attach_decode(&d[i % per_chunk], i, U64_MAX,
					  s->seed, &s->attach[i])) {
		case VWC_REC_CORRUPT:
			s->attach_damaged++;
			problem(s, "attachment record %u: checksum mismatch or a field out of range",
				i);
			break;
		case VWC_REC_OK:
			s->attach_ok[i] = s->vm_ok[i] &&
				!strcmp(s->attach[i].vm_id, s->vms[i].vm_id);
			break;
		default:
			break;
		}
	}
	return 0;
}

/* ---- entries --------------------------------------------------------------------- */

static const char *entry_damage(const void *d, u64 index, u32 seed,
				const struct vwc_layout *l)
{
	const struct vwc_disk_entry_sub *ds = d;
	u64 map = le64_to_cpu(ds->map), check = le64_to_cpu(ds->check);
	u64 seq = check & ((1ULL << VWC_ENTRY_SEQ_BITS) - 1);
	bool sub = vwc_has_sub(l);
	u16 valid = sub ? le16_to_cpu(ds->valid) : 1;
	u16 base = sub ? le16_to_cpu(ds->base) : 0;
	struct vwc_disk_entry_sub re;
	struct vwc_entry e = {
		.oblock = map & ((1ULL << VWC_ENTRY_OBLOCK_BITS) - 1),
		.vm = (map >> VWC_ENTRY_VM_SHIFT) &
		      ((1U << VWC_ENTRY_VM_BITS) - 1),
		.valid = map & VWC_ENTRY_VALID,
		.dirty = map & VWC_ENTRY_DIRTY,
		.map = valid,
		.base = base,
	};

	if (sub && !vwc_is_zero(ds->reserved, sizeof(ds->reserved)))
		return "reserved bytes set";
	if (!e.valid && (map || (sub && (valid || base))))
		return "fields set in an entry not marked valid";
	vwc_entry_encode(l, &re, index, &e, seq, seed);
	if (le64_to_cpu(re.map) != map)
		return "unknown bits set";
	if (le64_to_cpu(re.check) != check)
		return "checksum mismatch";
	if (e.vm >= l->max_vms)
		return "VM slot index out of range";
	if (sub && (!valid || (valid & ~vwc_sub_full(l)) || (base & ~valid)))
		return "sub-block maps out of range";
	return "malformed";
}

static void scan_entry(struct scan *s, const void *d, u64 cb)
{
	const struct vwc_layout *l = &s->sb.layout;
	struct vwc_entry e;

	switch (vwc_entry_decode(l, d, cb, s->sb.seq, s->seed, &e)) {
	case VWC_REC_EMPTY:
		s->empty++;
		return;
	case VWC_REC_UNCOMMITTED:
		s->uncommitted++;
		return;
	case VWC_REC_CORRUPT:
		s->damaged++;
		problem(s, "entry %llu: %s", (unsigned long long)cb,
			entry_damage(d, cb, s->seed, l));
		return;
	case VWC_REC_OK:
		break;
	}
	if (!e.valid) {
		s->empty++;
		return;
	}
	if (s->vm_bad[e.vm]) {
		s->orphans++;
		s->counts[e.vm].orphans++;	/* one line for them all */
		return;
	}
	if (!s->vm_ok[e.vm]) {
		s->orphans++;
		problem(s, "entry %llu: block %llu of VM slot %u, which holds no vm_id",
			(unsigned long long)cb, (unsigned long long)e.oblock,
			e.vm);
		return;
	}
	s->keys[s->valid++] = (u64)e.vm << VWC_ENTRY_OBLOCK_BITS | e.oblock;
	s->counts[e.vm].cached++;
	if (e.dirty) {
		s->dirty++;
		s->counts[e.vm].dirty++;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void find_dups(struct scan *s)
{
	u64 i, mask = (1ULL << VWC_ENTRY_OBLOCK_BITS) - 1;

	qsort(s->keys, s->valid, sizeof(*s->keys), cmp_u64);
	for (i = 1; i < s->valid; i++) {
		if (s->keys[i] != s->keys[i - 1])
			continue;
		s->dups++;
		problem(s, "two entries claim block %llu of VM slot %llu",
			(unsigned long long)(s->keys[i] & mask),
			(unsigned long long)(s->keys[i] >> VWC_ENTRY_OBLOCK_BITS));
	}
}

static int check_entries(struct image *im, struct scan *s)
{
	const struct vwc_layout *l = &s->sb.layout;
	u64 per = CHUNK / l->entry_size, cb, i;
	/* The blocks on pages never initialised (LAZY_ENTRIES) are free. */
	u64 end = vwc_sb_entry_pages_read(&s->sb) * vwc_entries_per_page(l);

	if (end > l->nr_blocks)
		end = l->nr_blocks;
	s->keys = malloc((end + 1) * sizeof(*s->keys));
	if (!s->keys)
		return ctl_fail("out of memory for %llu entries",
				(unsigned long long)end);
	for (cb = 0; cb < end; cb += per) {
		u64 n = end - cb < per ? end - cb : per;
		size_t len = (n * l->entry_size + 4095) & ~4095ULL;
		int r = img_read(im, l->entries_start * 512 +
				 cb * l->entry_size, im->buf, len);

		if (r)
			return ctl_fail("cannot read the entries at block %llu: %s",
					(unsigned long long)cb, strerror(-r));
		for (i = 0; i < n; i++)
			scan_entry(s, (const u8 *)im->buf + i * l->entry_size,
				   cb + i);
	}
	s->empty += l->nr_blocks - end;
	for (i = 0; i < l->max_vms; i++)
		if (s->counts[i].orphans)
			problem(s, "%llu entries belong to VM slot %llu, whose record is damaged",
				(unsigned long long)s->counts[i].orphans,
				(unsigned long long)i);
	find_dups(s);
	return 0;
}

static void scan_free(struct scan *s)
{
	free(s->vms);
	free(s->vm_ok);
	free(s->vm_bad);
	free(s->counts);
	free(s->attach);
	free(s->attach_ok);
	free(s->keys);
}

/* Read and validate everything; 0 when the scan ran (damage or not). */
static int scan(struct image *im, struct scan *s)
{
	int r = check_sb(im, s);

	if (!r)
		r = check_vms(im, s);
	if (!r)
		r = check_attach(im, s);
	if (!r)
		r = check_entries(im, s);
	return r;
}

int cmd_check(struct ctl_args *a)
{
	struct scan s = { .report = true };
	struct image im;
	int r;

	r = img_open(&im, a->argv[0], ctl_opt(a, "--force"));
	if (r)
		return r;
	r = scan(&im, &s);
	if (!r) {
		printf("VM table: %llu in use, %llu damaged\n",
		       (unsigned long long)s.vm_used,
		       (unsigned long long)s.vm_damaged);
		if (s.sb.layout.attach_start)
			printf("attachment table: %llu damaged\n",
			       (unsigned long long)s.attach_damaged);
		else
			printf("attachment table: none (a pool formatted before it existed)\n");
		printf("entries: %llu valid (%llu dirty), %llu free, %llu uncommitted (ignored), %llu damaged, %llu orphaned, %llu duplicate\n",
		       (unsigned long long)s.valid,
		       (unsigned long long)s.dirty,
		       (unsigned long long)s.empty,
		       (unsigned long long)s.uncommitted,
		       (unsigned long long)s.damaged,
		       (unsigned long long)s.orphans,
		       (unsigned long long)s.dups);
		if (s.problems) {
			printf("result: DAMAGED, %llu problems%s\n",
			       (unsigned long long)s.problems,
			       s.vm_damaged || s.damaged || s.orphans ||
			       s.dups || s.attach_damaged ?
			       ": the module refuses to load this pool" :
			       ": the module loads this pool from the intact superblock copy");
			r = EXIT_FAIL;
		} else {
			printf("result: clean\n");
		}
	}
	scan_free(&s);
	img_close(&im);
	return r;
}

/*
 * The vm_ids with dirty blocks in the last commit on @path (a live pool's
 * cache device too: read without O_EXCL), as "id (N dirty blocks), ..."
 * in @out; an empty string when none or when the metadata cannot be read.
 */
void ctl_dirty_vm_ids(const char *path, char *out, size_t len)
{
	struct scan s = { .report = false };
	struct image im;
	size_t n = 0;
	u32 i;

	out[0] = '\0';
	if (img_open(&im, path, true))
		return;
	if (!scan(&im, &s)) {
		for (i = 0; i < s.sb.layout.max_vms && n < len; i++) {
			if (!s.vm_ok[i] || !s.counts[i].dirty)
				continue;
			n += snprintf(out + n, len - n, "%s%s (%llu dirty blocks)",
				      n ? ", " : "", s.vms[i].vm_id,
				      (unsigned long long)s.counts[i].dirty);
		}
	}
	scan_free(&s);
	img_close(&im);
}

/*
 * The in-use VM records in the last commit on @path (a live pool's cache
 * device too: read without O_EXCL), with their dirty blocks and origin
 * identity; only those with dirty blocks if @dirty_only.  *out is
 * malloc'ed (NULL when none).
 */
int ctl_vm_slots(const char *path, bool dirty_only, struct ctl_slot_dirty **out,
		 int *nr)
{
	struct scan s = { .report = false };
	struct image im;
	int r;
	u32 i;

	*out = NULL;
	*nr = 0;
	r = img_open(&im, path, true);
	if (r)
		return r;
	r = scan(&im, &s) ? -EIO : 0;
	for (i = 0; !r && i < s.sb.layout.max_vms; i++) {
		struct ctl_slot_dirty *n;

		if (!s.vm_ok[i] || (dirty_only && !s.counts[i].dirty))
			continue;
		n = realloc(*out, (*nr + 1) * sizeof(**out));
		if (!n) {
			r = -ENOMEM;
			break;
		}
		*out = n;
		n += (*nr)++;
		snprintf(n->vm_id, sizeof(n->vm_id), "%s", s.vms[i].vm_id);
		n->dirty_blocks = s.counts[i].dirty;
		n->block_size = s.sb.layout.block_size;
		n->origin = s.vms[i].origin;
		n->have_attach = s.attach_ok[i];
		n->attach = s.attach[i];
	}
	scan_free(&s);
	img_close(&im);
	return r;
}

/* The value of key @k in @settings as a table line gives it, in @buf. */
const char *ctl_key_text(const struct vwc_key *k, const void *settings,
			 char *buf, size_t len)
{
	u64 v = vwc_key_get(k, settings);

	if (k->is_mode)
		snprintf(buf, len, "%s", vwc_mode_name(v));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* "mode M iops_limit N ...": the settings as table feature args. */
void ctl_attach_settings_text(const struct vwc_vm_settings *st, FILE *f)
{
	unsigned int i;
	char v[32];

	for (i = 0; i < vwc_nr_vm_keys; i++)
		fprintf(f, "%s%s %s", i ? " " : "", vwc_vm_keys[i].name,
			ctl_key_text(&vwc_vm_keys[i], st, v, sizeof(v)));
}

/* "origin_path" and "settings" of a slot (null when not known). */
void ctl_attach_json(struct json *j, const struct vwc_attach_record *a)
{
	unsigned int i;

	if (!a) {
		json_null(j, "origin_path");
		json_null(j, "settings");
		return;
	}
	json_str(j, "origin_path", a->path);
	json_open(j, "settings", '{');
	for (i = 0; i < vwc_nr_vm_keys; i++) {
		const struct vwc_key *k = &vwc_vm_keys[i];
		u64 v = vwc_key_get(k, &a->settings);

		if (k->is_mode)
			json_str(j, k->name, vwc_mode_name(v));
		else
			json_u64(j, k->name, v);
	}
	json_close(j, '}');
}

void ctl_origin_hex(const struct vwc_origin_id *o, char *hex)
{
	int i;

	for (i = 0; i < VWC_ORIGIN_DIGEST_SIZE; i++)
		sprintf(hex + 2 * i, "%02x", o->digest[i]);
}

/* The origin a VM record keeps (admin guide, "Origin identity"). */
static void dump_json_origin(struct json *j, const struct vwc_origin_id *o)
{
	char hex[2 * VWC_ORIGIN_DIGEST_SIZE + 1];

	json_str(j, "origin_kind", vwc_origin_kind_name(o->kind));
	if (!vwc_origin_known(o)) {
		json_null(j, "origin_sectors");
		json_null(j, "origin_digest");
		return;
	}
	ctl_origin_hex(o, hex);
	json_u64(j, "origin_sectors", o->sectors);
	json_str(j, "origin_digest", hex);
}

static void dump_text(const struct scan *s)
{
	const struct vwc_layout *l = &s->sb.layout;
	u32 i;

	printf("pool: uuid ");
	print_uuid(s->sb.uuid);
	printf("\n  commit %llu, block size %u, %llu blocks, entries at sector %llu, data at sector %llu\n",
	       (unsigned long long)s->sb.seq, l->block_size,
	       (unsigned long long)l->nr_blocks,
	       (unsigned long long)l->entries_start,
	       (unsigned long long)l->data_start);
	printf("  %llu cached blocks, %llu dirty, %llu problems\n",
	       (unsigned long long)s->valid, (unsigned long long)s->dirty,
	       (unsigned long long)s->problems);
	printf("%-6s %-40s %10s %12s %12s\n", "SLOT", "VM_ID", "GENERATION",
	       "CACHED", "DIRTY");
	for (i = 0; i < l->max_vms; i++) {
		const struct vwc_origin_id *o = &s->vms[i].origin;
		char hex[2 * VWC_ORIGIN_DIGEST_SIZE + 1];

		if (!s->vm_ok[i])
			continue;
		printf("%-6u %-40s %10llu %12llu %12llu\n", i,
		       s->vms[i].vm_id,
		       (unsigned long long)s->vms[i].generation,
		       (unsigned long long)s->counts[i].cached,
		       (unsigned long long)s->counts[i].dirty);
		if (vwc_origin_known(o)) {
			ctl_origin_hex(o, hex);
			printf("       origin %s, %llu sectors, digest %s\n",
			       vwc_origin_kind_name(o->kind),
			       (unsigned long long)o->sectors, hex);
		}
		if (s->attach_ok[i]) {
			printf("       last attached by %s, ", s->attach[i].path);
			ctl_attach_settings_text(&s->attach[i].settings, stdout);
			putchar('\n');
		}
	}
}

static void dump_json(const struct scan *s)
{
	const struct vwc_layout *l = &s->sb.layout;
	struct json j;
	char uuid[40];
	u32 i;

	for (i = 0; i < 16; i++)
		sprintf(uuid + 2 * i, "%02x", s->sb.uuid[i]);
	json_init(&j, stdout);
	json_open(&j, NULL, '{');
	json_u64(&j, "version", JSON_VERSION_DUMP);
	json_str(&j, "uuid", uuid);
	json_u64(&j, "commit", s->sb.seq);
	json_u64(&j, "block_size", l->block_size);
	json_u64(&j, "nr_blocks", l->nr_blocks);
	json_u64(&j, "cached_blocks", s->valid);
	json_u64(&j, "dirty_blocks", s->dirty);
	json_u64(&j, "problems", s->problems);
	json_open(&j, "vms", '[');
	for (i = 0; i < l->max_vms; i++) {
		if (!s->vm_ok[i])
			continue;
		json_open(&j, NULL, '{');
		json_u64(&j, "slot", i);
		json_str(&j, "vm_id", s->vms[i].vm_id);
		json_u64(&j, "generation", s->vms[i].generation);
		json_u64(&j, "cached_blocks", s->counts[i].cached);
		json_u64(&j, "dirty_blocks", s->counts[i].dirty);
		dump_json_origin(&j, &s->vms[i].origin);
		ctl_attach_json(&j, s->attach_ok[i] ? &s->attach[i] : NULL);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_close(&j, '}');
	json_end(&j);
}

int cmd_dump(struct ctl_args *a)
{
	struct scan s = { .report = false };
	struct image im;
	int r;

	r = img_open(&im, a->argv[0], ctl_opt(a, "--force"));
	if (r)
		return r;
	r = scan(&im, &s);
	if (!r && ctl_opt(a, "--json"))
		dump_json(&s);
	else if (!r)
		dump_text(&s);
	scan_free(&s);
	img_close(&im);
	return r;
}
