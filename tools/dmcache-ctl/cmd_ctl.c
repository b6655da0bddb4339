// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: subcommands that change things: pool-create, pool-remove,
 * attach, detach, set, flush, migrate-prepare, migrate-abort.
 *
 * Values are checked with the module's own parser (dm-vwcache-args.c), so
 * the tool refuses exactly what the kernel would, with the same words,
 * before anything is sent.  What only the kernel can judge is sent, and a
 * refusal is reported with the kernel's reason from its log.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ctl.h"
#include "dm-vwcache-args.h"

/* ---- helpers ---------------------------------------------------------------- */

/* The kernel's reason for refusing, else libdevmapper's, else errno's. */
static int kernel_refused(const char *what, int err)
{
	char reason[256];

	if (kmsg_reason(reason, sizeof(reason)))
		return ctl_fail("%s: the kernel refused: %s", what, reason);
	if (err == -EBUSY)
		return ctl_fail("%s: device busy (open, or in use by another device)",
				what);
	return ctl_fail("%s: %s (%s)", what, strerror(-err), dm_last_error());
}

/* A device-mapper name dmcache-ctl accepts (pool-create, attach, the config). */
bool ctl_dm_name_ok(const char *name)
{
	return *name && strlen(name) < CTL_NAME_MAX && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

static int check_dm_name(const char *name)
{
	if (!ctl_dm_name_ok(name))
		return ctl_usage("invalid device name \"%s\": 1 to 127 characters, no '/'",
				 name);
	return 0;
}

static int dm_name_taken(const char *name)
{
	struct dm_dev_info d;

	if (!dm_get(name, false, &d))
		return ctl_fail("a device-mapper device named \"%s\" exists already",
				name);
	return 0;
}

/* Open block device @path; its size and "major:minor". */
static int open_blockdev(const char *path, int flags, uint64_t *bytes,
			 char *mm, size_t mmlen)
{
	struct stat st;
	int fd;

	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == EBUSY)
			ctl_err("%s is in use (an active pool, a mount or another holder)",
				path);
		else
			ctl_err("cannot open %s: %s", path, strerror(e));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode)) {
		ctl_err("%s is not a block device", path);
		close(fd);
		return -1;
	}
	if (ioctl(fd, BLKGETSIZE64, bytes)) {
		ctl_err("cannot get the size of %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(mm, mmlen, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return fd;
}

/* Append " key value" to @buf. */
static void add_feature(char *buf, size_t len, int *nr, const char *key,
			const char *val)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, " %s %s", key, val);
	(*nr)++;
}

/* ---- pool-create ---------------------------------------------------------- */

struct feature_opt {
	const char *opt;
	const char *key;
	bool size;		/* accepts K/M/G suffixes */
};

static const struct feature_opt pool_feature_opts[] = {
	{ "--high-watermark", "high_watermark", false },
	{ "--low-watermark", "low_watermark", false },
	{ "--max-age", "max_age", false },
	{ "--commit-interval", "commit_interval", false },
	{ "--writeback-iops", "writeback_iops", false },
	{ "--io-capacity-iops", "io_capacity_iops", false },
	{ "--io-capacity-bw", "io_capacity_bw", true },
	{ "--sequential-cutoff", "sequential_cutoff", true },
	{ "--writeback-depth", "writeback_depth", false },
	{ NULL, NULL, false }
};

/* Pool keys whose values are sizes (K, M, G, T suffixes taken). */
static bool ctl_pool_key_is_size(const char *key)
{
	return !strcmp(key, "io_capacity_bw") ||
	       !strcmp(key, "sequential_cutoff");
}

/*
 * A pool setting @key given as @in (an option, or a key=value of the
 * config: @label names it in messages): as the module's decimal in @out,
 * checked with the module's rules against the settings @s so far (which it
 * updates).  0, or -EINVAL with the reason in @why.
 */
int ctl_pool_feature(struct vwc_pool_settings *s, const char *label,
		     const char *key, const char *in, char *out, size_t len,
		     char *why, size_t wlen)
{
	bool size = ctl_pool_key_is_size(key);
	const char *error;
	uint64_t n;

	if (size ? ctl_parse_size(in, &n) : ctl_parse_u64(in, &n)) {
		snprintf(why, wlen, "%s wants %s, not \"%s\"", label,
			 size ? "a size (digits with K, M, G or T)" :
			 "a whole number", in);
		return -EINVAL;
	}
	snprintf(out, len, "%llu", (unsigned long long)n);
	if (vwc_pool_set(s, key, out, &error)) {
		snprintf(why, wlen, "%s %s: %s", label, in, error);
		return -EINVAL;
	}
	return 0;
}

static int pool_features(struct ctl_args *a, char *buf, size_t len, int *nr)
{
	struct vwc_pool_settings s;
	const struct feature_opt *f;
	char why[256];

	vwc_pool_defaults(&s);
	for (f = pool_feature_opts; f->opt; f++) {
		const char *v = ctl_opt(a, f->opt);
		char num[32];

		if (!v)
			continue;
		if (ctl_pool_feature(&s, f->opt, f->key, v, num, sizeof(num),
				     why, sizeof(why)))
			return ctl_usage("%s", why);
		add_feature(buf, len, nr, f->key, num);
	}
	return 0;
}

/* What the head of a cache device holds (enum ctl_dev_content in ctl.h). */
static int dev_content(int fd, const char *path, enum ctl_dev_content *c)
{
	static char buf[8192] __attribute__((aligned(4096)));
	bool holds;
	size_t i;

	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return ctl_fail("cannot read the first 8 KiB of %s", path);
	if (ctl_dev_holds_pool(fd, &holds))
		return ctl_fail("cannot read %s", path);
	if (holds) {
		*c = DEV_POOL;
		return 0;
	}
	for (i = 0; i < 4096 && !buf[i]; i++)
		;
	*c = i == 4096 ? DEV_ZERO : DEV_FOREIGN;
	return 0;
}

static int zero_head(int fd, const char *path)
{
	static char zero[8192];

	if (pwrite(fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero) ||
	    fsync(fd))
		return ctl_fail("cannot zero the head of %s: %s", path,
				strerror(errno));
	return 0;
}

/* Loading a pool: its own block size, unless --block-size says otherwise. */
static int pool_block_size(struct ctl_args *a, int fd, const char *dev,
			   uint64_t *bs)
{
	uint32_t have;

	if (ctl_dev_pool_block_size(fd, &have) || !have)
		return 0;	/* damaged: the kernel will say why */
	if (ctl_opt(a, "--block-size") && have != *bs)
		return ctl_fail("%s holds a pool of %u-byte blocks, not %llu (--format makes a new one)",
				dev, have, (unsigned long long)*bs);
	*bs = have;
	return 0;
}

/* A pool block size the module takes: a power of two from 4K to 64K. */
bool ctl_block_size_ok(uint64_t bs)
{
	return bs >= VWC_BLOCK_SIZE_MIN && bs <= VWC_BLOCK_SIZE_MAX &&
	       !(bs & (bs - 1));
}

static int parse_block_size(struct ctl_args *a, uint64_t *bs)
{
	int r = ctl_opt_size(a, "--block-size", 4096, bs);

	if (r)
		return r;
	if (!ctl_block_size_ok(*bs))
		return ctl_usage("--block-size must be a power of two from 4K to 64K, not %s",
				 ctl_opt(a, "--block-size"));
	return 0;
}

/* Check the device and the options; format it when asked to. */
/*
 * --format over a pool: refused without --force, naming the vm_ids whose
 * dirty data (newer than their origins) it would destroy; with --force
 * they are named in a warning.
 */
static int format_pool_check(const char *dev, bool force)
{
	char ids[512];

	ctl_dirty_vm_ids(dev, ids, sizeof(ids));
	if (!force)
		return ctl_fail("%s holds a pool: --format would destroy its cached data%s%s (add --force)",
				dev, ids[0] ? ", and the dirty data of " : "",
				ids);
	if (ids[0])
		fprintf(stderr, "dmcache-ctl: warning: --format --force destroys the dirty data of %s on %s: their origins lack those writes\n",
			ids, dev);
	return 0;
}

static int prepare_cache_dev(struct ctl_args *a, const char *dev,
			     uint64_t *bytes, char *mm, size_t mmlen,
			     uint64_t *bs)
{
	bool format = ctl_opt(a, "--format"), force = ctl_opt(a, "--force");
	enum ctl_dev_content c = DEV_FOREIGN;
	int fd, r;

	fd = open_blockdev(dev, format ? O_RDWR | O_EXCL : O_RDONLY, bytes,
			   mm, mmlen);
	if (fd < 0)
		return EXIT_FAIL;
	r = dev_content(fd, dev, &c);
	if (!r && c == DEV_POOL && format)
		r = format_pool_check(dev, force);
	if (!r && c == DEV_FOREIGN && !format)
		r = ctl_fail("%s holds data that is not a pool: --format formats it (destroying that data)",
			     dev);
	else if (!r && format)
		r = zero_head(fd, dev);
	else if (!r && c == DEV_POOL)
		r = pool_block_size(a, fd, dev, bs);
	close(fd);
	return r;
}

/*
 * What cache device @path holds, read only (assemble formats nothing that
 * its config line does not allow).  0, or EXIT_FAIL with the reason printed.
 */
int ctl_cache_dev_content(const char *path, enum ctl_dev_content *c)
{
	char mm[32];
	uint64_t bytes;
	int fd, r;

	fd = open_blockdev(path, O_RDONLY, &bytes, mm, sizeof(mm));
	if (fd < 0)
		return EXIT_FAIL;
	r = dev_content(fd, path, c);
	close(fd);
	return r;
}

/*
 * The pool's dm UUID, VWCACHE-POOL-<pool uuid> (admin guide, "Host
 * integration"): known only once the module has loaded or formatted the
 * pool, so set after the create.  A failure leaves a working pool without
 * it, with a warning.
 */
static void set_pool_uuid(const char *name, const char *dev)
{
	char u[64], uuid[96];

	if (ctl_dev_pool_uuid(dev, u, sizeof(u))) {
		fprintf(stderr, "dmcache-ctl: warning: pool %s: cannot read its uuid from %s: no dm UUID set\n",
			name, dev);
		return;
	}
	snprintf(uuid, sizeof(uuid), "%s%s", CTL_POOL_UUID_PREFIX, u);
	if (dm_set_uuid(name, uuid, true))
		fprintf(stderr, "dmcache-ctl: warning: pool %s: cannot set its dm UUID %s\n",
			name, uuid);
}

int cmd_pool_create(struct ctl_args *a)
{
	const char *dev = a->argv[0];
	const char *name = ctl_opt(a, "--name") ?: "vwpool";
	char params[512], feats[400] = "", mm[32], what[200];
	struct dm_dev_info d;
	struct pool_status st;
	uint64_t bs, bytes;
	int nr = 0, r;

	if (ctl_opt(a, "--force") && !ctl_opt(a, "--format"))
		return ctl_usage("--force only goes with --format");
	r = parse_block_size(a, &bs);
	if (!r)
		r = check_dm_name(name);
	if (!r)
		r = pool_features(a, feats, sizeof(feats), &nr);
	if (!r)
		r = dm_name_taken(name);
	if (!r)
		r = prepare_cache_dev(a, dev, &bytes, mm, sizeof(mm), &bs);
	if (r)
		return r;
	snprintf(params, sizeof(params), "%s %llu %d%s", mm,
		 (unsigned long long)bs, 2 * nr, feats);
	snprintf(what, sizeof(what), "cannot create pool %s on %s", name, dev);
	kmsg_mark();
	r = dm_create(name, NULL, bytes >> 9, VWC_POOL_TARGET_NAME, params);
	if (r)
		return kernel_refused(what, r);
	set_pool_uuid(name, dev);
	if (dm_get(name, false, &d) || ctl_parse_pool_status(d.params, &st))
		return ctl_fail("pool %s created but its status is unreadable",
				name);
	printf("pool %s on %s: %llu blocks of %llu bytes, %llu free, %llu dirty\n",
	       name, dev, (unsigned long long)st.total_blocks,
	       (unsigned long long)st.block_size,
	       (unsigned long long)st.free_blocks,
	       (unsigned long long)st.dirty_blocks);
	return 0;
}

/* ---- pool-remove ------------------------------------------------------------- */

/* The /dev path of a table's device ("MAJ:MIN", or a path already). */
void ctl_dev_path(const char *dev, char *path, size_t len)
{
	char uevent[96], line[256];
	FILE *f;

	snprintf(path, len, "%s", dev);
	if (strchr(dev, '/'))
		return;
	snprintf(uevent, sizeof(uevent), "/sys/dev/block/%s/uevent", dev);
	f = fopen(uevent, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, len, "/dev/%s", line + 8);
		}
	fclose(f);
}

/*
 * Dirty data of detached vm_ids stays on the cache device when its pool is
 * removed, where only a pool loaded again can write it back: refused
 * without --force, naming whose it is (from the last commit).
 */
static int pool_remove_dirty(const struct pool_dev *pd, bool force)
{
	char path[272], ids[1024];

	if (!pd->st.dirty_blocks)
		return 0;
	if (force) {
		fprintf(stderr, "dmcache-ctl: warning: pool %s keeps %llu dirty blocks of detached VMs on its cache device\n",
			pd->dm.name, (unsigned long long)pd->st.dirty_blocks);
		return 0;
	}
	ctl_dev_path(pd->tbl.cache_dev, path, sizeof(path));
	ctl_dirty_vm_ids(path, ids, sizeof(ids));
	return ctl_fail("pool %s holds %llu dirty blocks of detached VMs%s%s: attach and flush them first, or add --force to keep them on the cache device",
			pd->dm.name, (unsigned long long)pd->st.dirty_blocks,
			ids[0] ? ": " : "", ids);
}

int cmd_pool_remove(struct ctl_args *a)
{
	struct snapshot s;
	int p, r;

	if (snapshot_take(&s))
		return EXIT_FAIL;
	p = resolve_pool(&s, a->argv[0]);
	r = p < 0 ? EXIT_FAIL : 0;
	if (!r && s.pools[p].st.nr_vms)
		r = ctl_fail("pool %s has %llu VM devices attached: detach them first",
			     s.pools[p].dm.name,
			     (unsigned long long)s.pools[p].st.nr_vms);
	if (!r)
		r = pool_remove_dirty(&s.pools[p], ctl_opt(a, "--force"));
	if (!r) {
		char what[200];

		snprintf(what, sizeof(what), "cannot remove pool %s",
			 s.pools[p].dm.name);
		kmsg_mark();
		r = dm_remove(s.pools[p].dm.name);
		r = r ? kernel_refused(what, r) : 0;
	}
	if (!r)
		printf("pool %s removed (%llu dirty blocks kept on its cache device)\n",
		       s.pools[p].dm.name,
		       (unsigned long long)s.pools[p].st.dirty_blocks);
	snapshot_free(&s);
	return r;
}

/* ---- attach -------------------------------------------------------------------- */

static const struct feature_opt vm_feature_opts[] = {
	{ "--mode", "mode", false },
	{ "--iops-limit", "iops_limit", false },
	{ "--bw-limit", "bw_limit", true },
	{ "--cache-quota", "cache_quota", true },
	{ "--weight", "weight", false },
	{ NULL, NULL, false }
};

/*
 * A VM setting's value as the module wants it: sizes for bw_limit; for
 * cache_quota a plain number is blocks and a size with a suffix is bytes,
 * rounded up to whole blocks of the pool (@block_size; 0 when not known
 * yet: then the bytes are checked).  0, or -EINVAL with the reason in @why
 * (@what names the value: an option, a key).
 */
static int vm_value(const char *what, const char *key, const char *v,
		    uint64_t block_size, char *out, size_t len, char *why,
		    size_t wlen)
{
	size_t l = strlen(v);
	bool suffixed = l && (v[l - 1] < '0' || v[l - 1] > '9');
	uint64_t n;

	if (!strcmp(key, "mode")) {
		snprintf(out, len, "%s", v);
		return 0;
	}
	if (!strcmp(key, "bw_limit") || !strcmp(key, "cache_quota")) {
		if (ctl_parse_size(v, &n)) {
			snprintf(why, wlen, "%s wants a size (digits with K, M, G or T), not \"%s\"",
				 what, v);
			return -EINVAL;
		}
		if (!strcmp(key, "cache_quota") && suffixed && block_size)
			n = n / block_size + !!(n % block_size);
	} else if (ctl_parse_u64(v, &n)) {
		snprintf(why, wlen, "%s wants a whole number, not \"%s\"", what, v);
		return -EINVAL;
	}
	snprintf(out, len, "%llu", (unsigned long long)n);
	return 0;
}

/* A VM setting, as ctl_pool_feature() does for a pool's. */
int ctl_vm_feature(struct vwc_vm_settings *s, const char *label,
		   const char *key, const char *in, uint64_t block_size,
		   char *out, size_t len, char *why, size_t wlen)
{
	const char *error;

	if (vm_value(label, key, in, block_size, out, len, why, wlen))
		return -EINVAL;
	if (vwc_vm_set(s, key, out, &error)) {
		snprintf(why, wlen, "%s %s: %s", label, in, error);
		return -EINVAL;
	}
	return 0;
}

static int vm_features(struct ctl_args *a, uint64_t block_size, char *buf,
		       size_t len, int *nr)
{
	struct vwc_vm_settings s;
	const struct feature_opt *f;
	char why[256];

	vwc_vm_defaults(&s);
	for (f = vm_feature_opts; f->opt; f++) {
		const char *v = ctl_opt(a, f->opt);
		char val[32];

		if (!v)
			continue;
		if (ctl_vm_feature(&s, f->opt, f->key, v, block_size, val,
				   sizeof(val), why, sizeof(why)))
			return ctl_usage("%s", why);
		add_feature(buf, len, nr, f->key, val);
	}
	return 0;
}

/*
 * Is @vm_id attached to pool @p?  The pool's vms file answers in one
 * read; only when it lists @vm_id (or the module has no such file) is
 * every VM device looked at, for the name of the one attached.  @s holds
 * the pool (snapshot_take_named()).
 */
static int check_attach(struct snapshot *s, int p, const char *vm_id)
{
	char path[512], *buf, *line, *save = NULL;
	const size_t len = VWC_MAX_VMS * (VWC_VM_ID_MAX + 1) + 1;
	struct snapshot all;
	bool listed = true;
	int i, r = 0;

	buf = malloc(len);
	snprintf(path, sizeof(path), "%s/vms", s->pools[p].sysdir);
	if (buf && s->pools[p].have_sysfs && !ctl_sysfs_read(path, buf, len)) {
		listed = false;
		for (line = strtok_r(buf, "\n", &save); line && !listed;
		     line = strtok_r(NULL, "\n", &save))
			listed = !strcmp(line, vm_id);
	}
	free(buf);
	if (!listed)
		return 0;
	if (snapshot_take(&all))
		return EXIT_FAIL;
	p = snapshot_find_pool(&all, s->pools[p].dm.name);
	for (i = 0; p >= 0 && i < all.nr_vms && !r; i++)
		if (all.vms[i].pool == p &&
		    !strcmp(all.vms[i].tbl.vm_id, vm_id))
			r = ctl_fail("vm_id \"%s\" is already attached to pool %s (as %s)",
				     vm_id, all.pools[p].dm.name,
				     all.vms[i].dm.name);
	snapshot_free(&all);
	return r;
}

/*
 * A VM device's dm UUID, VWCACHE-VM-<pool uuid>-<vm_id>, from its pool's
 * dm UUID; NULL (none) when the pool has none (not made by dmcache-ctl).
 */
static const char *vm_uuid(const struct dm_dev_info *pool, const char *vm_id,
			   char *out, size_t len)
{
	size_t n = strlen(CTL_POOL_UUID_PREFIX);

	if (strncmp(pool->uuid, CTL_POOL_UUID_PREFIX, n))
		return NULL;
	snprintf(out, len, "%s%s-%s", CTL_VM_UUID_PREFIX, pool->uuid + n,
		 vm_id);
	return out;
}

int cmd_attach(struct ctl_args *a)
{
	const char *pool = a->argv[0], *origin = a->argv[1];
	const char *vm_id = a->argv[2];
	const char *name = ctl_opt(a, "--name") ?: vm_id;
	char why[160], feats[400] = "", params[600], omm[32], what[200];
	char uuid[160];
	struct snapshot s;
	uint64_t bytes;
	int p, fd, nr = 0, r;

	if (ctl_check_vm_id(vm_id, why, sizeof(why)))
		return ctl_usage("%s", why);
	r = check_dm_name(name);
	if (r)
		return r;
	if (snapshot_take_named(&s, pool))
		return EXIT_FAIL;
	p = resolve_pool(&s, pool);
	r = p < 0 ? EXIT_FAIL : 0;
	if (!r)
		r = vm_features(a, s.pools[p].st.block_size, feats,
				sizeof(feats), &nr);
	if (!r)
		r = check_attach(&s, p, vm_id);
	if (!r)
		r = dm_name_taken(name);
	if (!r) {
		fd = open_blockdev(origin, O_RDONLY, &bytes, omm, sizeof(omm));
		if (fd < 0)
			r = EXIT_FAIL;
		else
			close(fd);
	}
	if (!r && bytes < 4096)
		r = ctl_fail("origin %s is smaller than 4 KiB", origin);
	if (r)
		goto out;
	/*
	 * The origin by the path given, which the pool keeps as the path
	 * last used (admin guide, "Origin identity"), when a table line can
	 * carry it; else by major:minor.
	 */
	snprintf(params, sizeof(params), "%u:%u %s %s %d%s",
		 s.pools[p].dm.major, s.pools[p].dm.minor,
		 vwc_attach_path_valid(origin) ? origin : omm, vm_id, 2 * nr,
		 feats);
	snprintf(what, sizeof(what), "cannot attach %s to pool %s",
		 vm_id, s.pools[p].dm.name);
	kmsg_mark();
	r = dm_create(name, vm_uuid(&s.pools[p].dm, vm_id, uuid, sizeof(uuid)),
		      bytes >> 9, VWC_VM_TARGET_NAME, params);
	if (r) {
		r = kernel_refused(what, r);
		goto out;
	}
	printf("attached %s as /dev/mapper/%s (origin %s, pool %s)\n", vm_id,
	       name, origin, s.pools[p].dm.name);
out:
	snapshot_free(&s);
	return r;
}

/* ---- waiting with progress ------------------------------------------------------ */

struct progress {
	const char *label;
	bool tty;
	double start, last_t, last_print;
	uint64_t first_dirty, last_wb;
	double rate;		/* bytes/s of writeback, smoothed */
	bool have_rate;
};

struct dev_now {
	char state[16];
	uint64_t dirty, wb;	/* bytes */
	struct sval eta_ms;
};

/* Current state of pool or VM device @name; -ENODEV if gone. */
static int dev_now(const char *name, bool pool, struct dev_now *n)
{
	struct snapshot s;
	int i, r = -ENODEV;

	memset(n, 0, sizeof(*n));
	if (snapshot_take_named(&s, name))
		return -EIO;
	if (pool) {
		i = snapshot_find_pool(&s, name);
		if (i >= 0) {
			struct pool_dev *p = &s.pools[i];

			snprintf(n->state, sizeof(n->state), "%s", p->st.state);
			n->dirty = p->st.dirty_blocks * p->st.block_size;
			n->wb = p->st.writeback_blocks * p->st.block_size;
			r = 0;
		}
	} else {
		for (i = 0; i < s.nr_vms; i++) {
			struct vm_dev *v = &s.vms[i];

			if (strcmp(v->dm.name, name))
				continue;
			snprintf(n->state, sizeof(n->state), "%s", v->st.state);
			n->dirty = vm_dirty_bytes(&s, v);
			n->wb = v->st.writeback_blocks * vm_block_size(&s, v);
			n->eta_ms = v->flush_eta_ms;
			r = 0;
		}
	}
	snapshot_free(&s);
	return r;
}

static void progress_update(struct progress *pr, const struct dev_now *n)
{
	double t = ctl_now(), dt = t - pr->last_t;

	if (n->wb >= pr->last_wb && dt >= 0.5) {
		double r = (n->wb - pr->last_wb) / dt;

		pr->rate = pr->have_rate ? 0.6 * pr->rate + 0.4 * r : r;
		pr->have_rate = true;
		pr->last_t = t;
		pr->last_wb = n->wb;
	} else if (n->wb < pr->last_wb) {	/* counters cleared */
		pr->last_wb = n->wb;
		pr->last_t = t;
	}
	if (n->dirty > pr->first_dirty)
		pr->first_dirty = n->dirty;
}

static double progress_eta(const struct progress *pr, const struct dev_now *n)
{
	if (!n->dirty)
		return 0;
	if (n->eta_ms.ok)
		return n->eta_ms.v / 1000.0;
	if (pr->have_rate && pr->rate > 0)
		return n->dirty / pr->rate;
	return -1;
}

static void progress_show(struct progress *pr, const struct dev_now *n,
			  bool last)
{
	char left[32], rate[32], eta[32];
	double t = ctl_now();

	if (!pr->tty && !last && t - pr->last_print < 1.0)
		return;
	pr->last_print = t;
	ctl_fmt_bytes(left, sizeof(left), n->dirty);
	if (pr->have_rate)
		ctl_fmt_bytes(rate, sizeof(rate), pr->rate);
	else
		snprintf(rate, sizeof(rate), "-");
	ctl_fmt_secs(eta, sizeof(eta), progress_eta(pr, n));
	if (pr->tty) {
		int width = 30, done = width;
		char bar[64];

		if (pr->first_dirty)
			done = width - (int)((double)n->dirty * width /
					     pr->first_dirty);
		memset(bar, '#', done);
		memset(bar + done, '-', width - done);
		bar[width] = '\0';
		printf("\r%s [%s] %3d%%  %s dirty  %s/s  ETA %s   ", pr->label,
		       bar, done * 100 / width, left, rate, eta);
		if (last)
			putchar('\n');
	} else {
		printf("%s: %s, %s dirty, %s/s, ETA %s\n", pr->label, n->state,
		       left, rate, eta);
	}
	fflush(stdout);
}

/*
 * Wait until the device is done: a pool with no dirty block, a VM with
 * none and not flushing, or (@want_clean) a VM in state clean.
 */
static int wait_done(const char *label, const char *name, bool pool,
		     bool want_clean, double timeout)
{
	struct progress pr = { .label = label, .tty = isatty(1) };
	struct dev_now n;
	bool done;

	pr.start = pr.last_t = ctl_now();
	if (dev_now(name, pool, &n))
		return ctl_fail("%s disappeared", name);
	pr.last_wb = n.wb;
	pr.first_dirty = n.dirty;
	for (;;) {
		if (!strcmp(n.state, "error") || !strcmp(n.state, "failed"))
			return ctl_fail("%s is in state %s with %llu bytes dirty",
					label, n.state,
					(unsigned long long)n.dirty);
		done = want_clean ? !strcmp(n.state, "clean") :
		       !n.dirty && strcmp(n.state, "flushing");
		progress_update(&pr, &n);
		progress_show(&pr, &n, done);
		if (done)
			break;
		if (timeout > 0 && ctl_now() - pr.start >= timeout) {
			if (pr.tty)
				putchar('\n');
			return ctl_fail("timed out after %g s: %s still has %llu bytes dirty (state %s)",
					timeout, label,
					(unsigned long long)n.dirty, n.state);
		}
		usleep(200000);
		if (dev_now(name, pool, &n))
			return ctl_fail("%s disappeared while waiting", name);
	}
	printf("%s: %s after %.1f s\n", label, want_clean ? "clean" :
	       "flushed", ctl_now() - pr.start);
	return 0;
}

static int wait_opts(struct ctl_args *a, double *timeout)
{
	int r = ctl_opt_seconds(a, "--timeout", 0, timeout);

	if (!r && ctl_opt(a, "--timeout") && !ctl_opt(a, "--wait"))
		return ctl_usage("--timeout goes with --wait");
	return r;
}

/* Send @msg to @name; a refusal is reported with the kernel's reason. */
static int send_message(const char *name, const char *msg)
{
	char what[CTL_NAME_MAX + 160];
	int r;

	kmsg_mark();
	r = dm_message(name, msg);
	if (!r)
		return 0;
	snprintf(what, sizeof(what), "%s: message \"%s\" failed", name, msg);
	return kernel_refused(what, r);
}

/* ---- detach ------------------------------------------------------------------------ */

int cmd_detach(struct ctl_args *a)
{
	char name[CTL_NAME_MAX], vm_id[72], pool[CTL_NAME_MAX];
	bool keep = ctl_opt(a, "--no-flush");
	struct snapshot s;
	double timeout;
	uint64_t dirty;
	int v, r;

	r = ctl_opt_seconds(a, "--timeout", 0, &timeout);
	if (!r && keep && ctl_opt(a, "--flush"))
		r = ctl_usage("--flush and --no-flush exclude each other");
	if (!r && keep && ctl_opt(a, "--timeout"))
		r = ctl_usage("--timeout goes with flushing, not with --no-flush");
	if (r)
		return r;
	if (snapshot_take_named(&s, a->argv[0]))
		return EXIT_FAIL;
	v = resolve_vm(&s, a->argv[0]);
	if (v < 0) {
		snapshot_free(&s);
		return EXIT_FAIL;
	}
	snprintf(name, sizeof(name), "%s", s.vms[v].dm.name);
	snprintf(vm_id, sizeof(vm_id), "%s", s.vms[v].tbl.vm_id);
	snprintf(pool, sizeof(pool), "%s", vm_pool_name(&s, &s.vms[v]));
	dirty = s.vms[v].st.dirty_blocks;
	snapshot_free(&s);

	/* The VM's dirty data goes back to its origin first, unless kept. */
	if (!keep) {
		dirty = 0;
		r = send_message(name, "flush");
		if (!r)
			r = wait_done(vm_id, name, false, false, timeout);
		if (r)
			return r;
	}
	kmsg_mark();
	r = dm_remove(name);
	if (r == -EBUSY)
		return ctl_fail("cannot detach %s: /dev/mapper/%s is open (a running VM?)",
				vm_id, name);
	if (r)
		return kernel_refused("cannot detach", r);
	if (dirty) {
		fprintf(stderr, "dmcache-ctl: warning: %s's origin is not up to date without the pool: its %llu dirty blocks stay in pool %s until it is attached again\n",
			vm_id, (unsigned long long)dirty, pool);
		printf("detached %s (/dev/mapper/%s) from pool %s: its %llu dirty blocks stay in the pool until it is attached again\n",
		       vm_id, name, pool, (unsigned long long)dirty);
	} else {
		printf("detached %s (/dev/mapper/%s) from pool %s\n", vm_id,
		       name, pool);
	}
	return 0;
}

/* ---- set ------------------------------------------------------------------------------- */

/* The settings in force, from the table line, for checks across keys. */
static void pool_settings_of(const struct pool_dev *p,
			     struct vwc_pool_settings *s)
{
	const char *error;
	int i;

	vwc_pool_defaults(s);
	for (i = 0; i < p->tbl.nr; i++) {
		struct vwc_pool_settings c = *s;

		if (!vwc_pool_set(&c, p->tbl.keys[i], p->tbl.vals[i], &error))
			*s = c;
	}
}

static int set_pool(struct snapshot *s, int p, const char *key,
		    const char *v)
{
	struct vwc_pool_settings cur;
	const char *error;
	char val[32], msg[96];
	uint64_t n;
	int r;

	if (!vwc_find_key(vwc_pool_keys, vwc_nr_pool_keys, key))
		return ctl_usage("pools have no setting \"%s\" (high_watermark, low_watermark, max_age, commit_interval, writeback_iops, io_capacity_iops, io_capacity_bw, sequential_cutoff, writeback_depth)",
				 key);
	r = ctl_pool_key_is_size(key) ? ctl_parse_size(v, &n) :
	    ctl_parse_u64(v, &n);
	if (r)
		return ctl_usage("%s wants %s, not \"%s\"", key,
				 ctl_pool_key_is_size(key) ?
				 "a size (digits with K, M, G or T)" :
				 "a whole number", v);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)n);
	pool_settings_of(&s->pools[p], &cur);
	if (vwc_pool_set(&cur, key, val, &error))
		return ctl_usage("%s %s: %s", key, v, error);
	snprintf(msg, sizeof(msg), "set %s %s", key, val);
	r = send_message(s->pools[p].dm.name, msg);
	if (!r)
		printf("%s: %s = %s\n", s->pools[p].dm.name, key, val);
	return r;
}

static int set_vm(struct snapshot *s, int v, const char *key, const char *in)
{
	struct vwc_vm_settings cur;
	const char *error;
	char val[32], msg[96], why[256];
	int r;

	if (!vwc_find_key(vwc_vm_keys, vwc_nr_vm_keys, key))
		return ctl_usage("VM devices have no setting \"%s\" (mode, iops_limit, bw_limit, cache_quota, weight)",
				 key);
	if (vm_value(key, key, in, vm_block_size(s, &s->vms[v]), val,
		     sizeof(val), why, sizeof(why)))
		return ctl_usage("%s", why);
	vwc_vm_defaults(&cur);
	if (vwc_vm_set(&cur, key, val, &error))
		return ctl_usage("%s %s: %s", key, in, error);
	if (!strcmp(key, "mode") && (!strcmp(s->vms[v].st.state, "migrating") ||
				     !strcmp(s->vms[v].st.state, "clean")))
		return ctl_fail("%s is migrating: run migrate-abort before changing its mode",
				s->vms[v].tbl.vm_id);
	snprintf(msg, sizeof(msg), "set %s %s", key, val);
	r = send_message(s->vms[v].dm.name, msg);
	if (!r)
		printf("%s: %s = %s\n", s->vms[v].tbl.vm_id, key, val);
	return r;
}

int cmd_set(struct ctl_args *a)
{
	struct snapshot s;
	char key[32];
	int i, r;

	if (ctl_normalize_key(a->argv[1], key, sizeof(key)))
		return ctl_usage("no setting \"%s\"", a->argv[1]);
	if (snapshot_take_named(&s, a->argv[0]))
		return EXIT_FAIL;
	i = snapshot_find_pool(&s, a->argv[0]);
	if (i >= 0) {
		r = set_pool(&s, i, key, a->argv[2]);
	} else {
		i = resolve_vm(&s, a->argv[0]);
		r = i < 0 ? EXIT_FAIL : set_vm(&s, i, key, a->argv[2]);
	}
	snapshot_free(&s);
	return r;
}

/* ---- flush and migration ------------------------------------------------------------------ */

int cmd_flush(struct ctl_args *a)
{
	char name[CTL_NAME_MAX], label[CTL_NAME_MAX];
	struct snapshot s;
	double timeout;
	bool pool;
	int i, r;

	r = wait_opts(a, &timeout);
	if (r)
		return r;
	if (snapshot_take_named(&s, a->argv[0]))
		return EXIT_FAIL;
	i = snapshot_find_pool(&s, a->argv[0]);
	pool = i >= 0;
	if (!pool)
		i = resolve_vm(&s, a->argv[0]);
	if (i >= 0) {
		snprintf(name, sizeof(name), "%s", pool ? s.pools[i].dm.name :
			 s.vms[i].dm.name);
		snprintf(label, sizeof(label), "%s", pool ? s.pools[i].dm.name :
			 s.vms[i].tbl.vm_id);
	}
	snapshot_free(&s);
	if (i < 0)
		return EXIT_FAIL;
	r = send_message(name, "flush");
	if (!r && ctl_opt(a, "--wait"))
		r = wait_done(label, name, pool, false, timeout);
	return r;
}

/* The VM device @arg: its dm name, vm_id and state. */
static int find_vm(const char *arg, char *name, char *vm_id, char *state)
{
	struct snapshot s;
	int v;

	if (snapshot_take_named(&s, arg))
		return EXIT_FAIL;
	v = resolve_vm(&s, arg);
	if (v >= 0) {
		snprintf(name, CTL_NAME_MAX, "%s", s.vms[v].dm.name);
		snprintf(vm_id, 72, "%s", s.vms[v].tbl.vm_id);
		snprintf(state, 16, "%s", s.vms[v].st.state);
	}
	snapshot_free(&s);
	return v < 0 ? EXIT_FAIL : 0;
}

int cmd_migrate_prepare(struct ctl_args *a)
{
	char name[CTL_NAME_MAX], vm_id[72], state[16];
	double timeout;
	int r;

	r = wait_opts(a, &timeout);
	if (!r)
		r = find_vm(a->argv[0], name, vm_id, state);
	if (!r)
		r = send_message(name, "migrate_prepare");
	if (r)
		return r;
	if (ctl_opt(a, "--wait"))
		return wait_done(vm_id, name, false, true, timeout);
	printf("%s: migration flush started (writethrough until migrate-abort)\n",
	       vm_id);
	return 0;
}

int cmd_migrate_abort(struct ctl_args *a)
{
	char name[CTL_NAME_MAX], vm_id[72], state[16];
	int r;

	r = find_vm(a->argv[0], name, vm_id, state);
	if (r)
		return r;
	if (strcmp(state, "migrating") && strcmp(state, "clean"))
		return ctl_fail("%s is not migrating (state %s): nothing to abort",
				vm_id, state);
	r = send_message(name, "migrate_abort");
	if (!r)
		printf("%s: migration aborted, mode restored\n", vm_id);
	return r;
}
