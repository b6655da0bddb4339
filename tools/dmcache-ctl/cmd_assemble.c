// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: assemble and stop, the boot and shutdown of the devices of
 * /etc/dm-vwcache/vwcache.conf (admin guide, "Boot and shutdown"; the
 * unit dm-vwcache.service runs them).
 *
 * assemble loads the module and brings up, in the file's order, every
 * pool and VM device that is not active yet, each through the command
 * table's own pool-create or attach (the line becomes their command line),
 * so that a device comes up exactly as the operator's command would bring
 * it.  It never formats a cache device unless its line says format=zeroed,
 * and then only one whose first 4 KiB are zero.  A device already active is
 * compared with its line and left alone.  Each device it cannot bring up is
 * named with the reason, the others go on; a VM whose pool is not up is
 * skipped and named.
 *
 * stop takes them down in reverse order through detach (--no-flush, or a
 * flush bounded by stop_timeout) and pool-remove, after a suspend of each
 * pool that commits its metadata (checked on its commit counter).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "dm-vwcache-args.h"

extern char **environ;

enum outcome { ST_TODO, ST_UP, ST_FAILED };

/* Messages of the commands run for a device name it: "assemble: vm web01". */
static char cmd_label[CTL_NAME_MAX + 32];

static void label_device(const char *cmd, const struct conf_entry *e)
{
	snprintf(cmd_label, sizeof(cmd_label), "%s: %s %s", cmd,
		 e->vm ? "vm" : "pool", e->name);
	ctl_cmd_name = cmd_label;
}

/* Run command-table command argv[0] with its arguments, as from the shell. */
static int run_command(int argc, char **argv)
{
	const struct ctl_cmd *c = ctl_find_command(argv[0]);
	struct ctl_args a;
	int r;

	if (!c)
		return ctl_fail("no command %s", argv[0]);
	r = ctl_parse_cmdline(c, argc - 1, argv + 1, &a);
	if (!r)
		r = c->run(&a);
	fflush(stdout);
	return r;
}

static int load_config(struct ctl_args *a, struct conf *c)
{
	const char *path = ctl_opt(a, "--config") ?: CTL_CONF_PATH;
	char err[512];
	int r = ctl_conf_load(c, path, err, sizeof(err));

	if (r == -EINVAL)
		return ctl_usage("%s: nothing changed", err);
	if (r)
		return ctl_fail("%s: nothing changed", err);
	return 0;
}

/* "major:minor" of block device @path, or -1 (errno set). */
static int dev_mm(const char *path, char *mm, size_t len)
{
	struct stat st;

	if (stat(path, &st))
		return -1;
	if (!S_ISBLK(st.st_mode)) {
		errno = ENOTBLK;
		return -1;
	}
	snprintf(mm, len, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

/* ---- assemble ---------------------------------------------------------------- */

/*
 * Wait up to @secs for the devices of the config that are not there yet
 * (LVs activated by udev events, iSCSI and multipath paths coming up).
 */
static void wait_devices(const struct conf *c, double secs)
{
	double end = ctl_now() + secs;
	bool said = false;
	int i;

	for (;;) {
		const char *missing = NULL;
		struct stat st;

		for (i = 0; i < c->nr && !missing; i++)
			if (stat(c->e[i].dev, &st))
				missing = c->e[i].dev;
		if (!missing || ctl_now() >= end)
			return;
		if (!said)
			printf("waiting up to %g s for %s (and any other device not there yet)\n",
			       secs, missing);
		said = true;
		fflush(stdout);
		usleep(200000);
	}
}

/* modprobe dm-vwcache unless the module is there (built in, or loaded). */
static void load_module(void)
{
	char dir[512], *argv[] = { "modprobe", "dm-vwcache", NULL };
	struct stat st;
	pid_t pid;
	int status;

	snprintf(dir, sizeof(dir), "%s/module/dm_vwcache", ctl_sysfs_root());
	if (!stat(dir, &st))
		return;
	if (posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ)) {
		ctl_err("cannot run modprobe dm-vwcache: %s", strerror(errno));
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		ctl_err("modprobe dm-vwcache failed (status %d): the devices need the module",
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Settings of an active device that differ from its line: a warning only. */
static void compare_settings(const struct conf_entry *e, char keys[][24],
			     char vals[][24], int nr, uint64_t block_size)
{
	struct vwc_pool_settings ps;
	struct vwc_vm_settings vs;
	char out[64], why[256];
	unsigned int i, n = e->vm ? vwc_nr_vm_keys : vwc_nr_pool_keys;

	vwc_pool_defaults(&ps);
	vwc_vm_defaults(&vs);
	for (i = 0; i < n; i++) {
		const char *k = e->vm ? vwc_vm_keys[i].name : vwc_pool_keys[i].name;
		const char *v = NULL, *have;
		int j;

		for (j = 0; j < e->nr; j++)
			if (!strcmp(e->key[j], k))
				v = e->val[j];
		if (!v)
			continue;
		if (e->vm ? ctl_vm_feature(&vs, k, k, v, block_size, out,
					   sizeof(out), why, sizeof(why)) :
		    ctl_pool_feature(&ps, k, k, v, out, sizeof(out), why,
				     sizeof(why)))
			continue;	/* checked by the parse */
		have = ctl_table_get(keys, vals, nr, k);
		if (have && strcmp(have, out))
			fprintf(stderr, "dmcache-ctl: warning: %s %s (line %d) is active with %s %s, the config says %s: left as it is\n",
				e->vm ? "vm" : "pool", e->name, e->line, k,
				have, out);
	}
}

/*
 * Pool @e is active: is it the one its line describes?  0 (settings that
 * differ only warn), or EXIT_FAIL when another device or cache device.
 */
static int check_active_pool(const struct conf_entry *e,
			     const struct dm_dev_info *d)
{
	struct pool_table t;
	const char *bs;
	char mm[32];
	uint64_t want;

	if (strcmp(d->type, VWC_POOL_TARGET_NAME) ||
	    ctl_parse_pool_table(d->params, &t))
		return ctl_fail("a device named %s is active but is not a vwcache pool (%s): left alone",
				e->name, d->type[0] ? d->type : "no table");
	if (dev_mm(e->dev, mm, sizeof(mm)))
		return ctl_fail("active, but its cache device %s cannot be checked: %s",
				e->dev, strerror(errno));
	if (strcmp(mm, t.cache_dev))
		return ctl_fail("active on cache device %s, but the config says %s (%s): left alone",
				t.cache_dev, e->dev, mm);
	bs = NULL;
	for (int i = 0; i < e->nr; i++)
		if (!strcmp(e->key[i], "block_size"))
			bs = e->val[i];
	if (bs && !ctl_parse_size(bs, &want) && want != t.block_size)
		return ctl_fail("active with %llu-byte blocks, but the config says block_size=%s: left alone",
				(unsigned long long)t.block_size, bs);
	compare_settings(e, t.keys, t.vals, t.nr, 0);
	printf("pool %s: already active on %s\n", e->name, e->dev);
	return 0;
}

static int check_active_vm(const struct conf_entry *e,
			   const struct dm_dev_info *d)
{
	struct dm_dev_info pd;
	struct pool_status ps;
	struct vm_table t;
	char mm[32], pmm[32];

	if (strcmp(d->type, VWC_VM_TARGET_NAME) ||
	    ctl_parse_vm_table(d->params, &t))
		return ctl_fail("a device named %s is active but is not a vwcache VM device (%s): left alone",
				e->name, d->type[0] ? d->type : "no table");
	if (strcmp(t.vm_id, e->vm_id))
		return ctl_fail("active as vm_id %s, but the config says %s: left alone",
				t.vm_id, e->vm_id);
	if (dm_get(e->pool, false, &pd))
		return ctl_fail("active, but its pool %s is not", e->pool);
	snprintf(pmm, sizeof(pmm), "%u:%u", pd.major, pd.minor);
	if (strcmp(pmm, t.pool_dev))
		return ctl_fail("active in the pool of device %s, not in pool %s (%s): left alone",
				t.pool_dev, e->pool, pmm);
	if (dev_mm(e->dev, mm, sizeof(mm)))
		return ctl_fail("active, but its origin %s cannot be checked: %s",
				e->dev, strerror(errno));
	if (strcmp(mm, t.origin_dev))
		return ctl_fail("active on origin %s, but the config says %s (%s): left alone",
				t.origin_dev, e->dev, mm);
	if (ctl_parse_pool_status(pd.params, &ps))
		ps.block_size = 0;
	compare_settings(e, t.keys, t.vals, t.nr, ps.block_size);
	printf("vm %s: already active (%s on %s, pool %s)\n", e->name,
	       e->vm_id, e->dev, e->pool);
	return 0;
}

/* A pool that is not active: its cache device must be one assemble may load. */
static int pool_may_create(const struct conf_entry *e)
{
	enum ctl_dev_content content;

	if (ctl_cache_dev_content(e->dev, &content))
		return EXIT_FAIL;
	if (content == DEV_ZERO && !e->format)
		return ctl_fail("%s holds no pool (its first 4 KiB are zero): add format=zeroed to line %d to format a new pool there",
				e->dev, e->line);
	if (content == DEV_FOREIGN)
		return ctl_fail("%s holds data that is not a pool: assemble formats nothing else (pool-create --format would, destroying that data)",
				e->dev);
	return 0;
}

static int bring_up(const struct conf *c, int i, enum outcome *st)
{
	const struct conf_entry *e = &c->e[i];
	char buf[4096], *argv[6 + 2 * CTL_CONF_MAX_KV];
	struct dm_dev_info d;
	int n;

	if (e->vm && st[e->pool_entry] != ST_UP)
		return ctl_fail("skipped: its pool %s is not up", e->pool);
	if (!dm_get(e->name, true, &d))
		return e->vm ? check_active_vm(e, &d) :
			       check_active_pool(e, &d);
	if (!e->vm && pool_may_create(e))
		return EXIT_FAIL;
	n = ctl_conf_argv(e, argv, sizeof(argv) / sizeof(argv[0]), buf,
			  sizeof(buf));
	if (n < 0)
		return ctl_fail("line %d is too long", e->line);
	return run_command(n, argv);
}

/* Add @name to the space separated list @list. */
static void note_failed(char *list, size_t len, const char *name)
{
	size_t n = strlen(list);

	snprintf(list + n, len - n, "%s%s", n ? " " : "", name);
}

/* ---- assemble --from-pool ------------------------------------------------------ */

#define FROM_POOL_DEFAULT_NAME	"vwpool"	/* pool-create's default */

/* The active pool on cache device @mm ("MAJ:MIN"), or -1. */
static int active_pool_on(const struct snapshot *s, const char *mm)
{
	int i;

	for (i = 0; i < s->nr_pools; i++)
		if (!strcmp(s->pools[i].tbl.cache_dev, mm))
			return i;
	return -1;
}

/*
 * The pool on @dev: the active one (left alone), else loaded from @dev
 * as @name; never formatted.  *p: its index in @s (taken again after a
 * load).  0, or EXIT_FAIL with the reason printed.
 */
static int from_pool_pool(struct snapshot *s, const char *dev,
			  const char *name, int *p)
{
	char mm[32], *argv[] = { "pool-create", (char *)dev, "--name",
				 (char *)(name ?: FROM_POOL_DEFAULT_NAME), NULL };
	enum ctl_dev_content content;

	if (dev_mm(dev, mm, sizeof(mm)))
		return ctl_fail("cannot use %s: %s", dev, strerror(errno));
	*p = active_pool_on(s, mm);
	if (*p >= 0 && name && strcmp(name, s->pools[*p].dm.name))
		return ctl_fail("the pool on %s is active as %s, not %s: left alone",
				dev, s->pools[*p].dm.name, name);
	if (*p >= 0) {
		printf("pool %s: already active on %s\n", s->pools[*p].dm.name,
		       dev);
		return 0;
	}
	if (ctl_cache_dev_content(dev, &content))
		return EXIT_FAIL;
	if (content != DEV_POOL)
		return ctl_fail("%s holds no pool (%s): --from-pool formats nothing",
				dev, content == DEV_ZERO ? "its first 4 KiB are zero" :
				"it holds other data");
	if (run_command(4, argv))
		return EXIT_FAIL;
	snapshot_free(s);
	if (snapshot_take(s))
		return EXIT_FAIL;
	*p = active_pool_on(s, mm);
	if (*p < 0)
		return ctl_fail("pool %s on %s is not active after its creation",
				argv[3], dev);
	return 0;
}

/*
 * The VM device name of a vm_id brought up by --from-pool: the vm_id
 * itself, a valid dm name but for "." and "..", which become
 * "vwcache-." and "vwcache-..".
 */
static void from_pool_vm_name(const char *vm_id, char *name, size_t len)
{
	snprintf(name, len, "%s%s", ctl_dm_name_ok(vm_id) ? "" : "vwcache-",
		 vm_id);
}

/* The attached VM device of @vm_id in pool @p, or NULL. */
static const struct vm_dev *attached_vm(const struct snapshot *s, int p,
					const char *vm_id)
{
	int i;

	for (i = 0; i < s->nr_vms; i++)
		if (s->vms[i].pool == p && !strcmp(s->vms[i].tbl.vm_id, vm_id))
			return &s->vms[i];
	return NULL;
}

/*
 * The one device of this host that is @o's origin: identity and size
 * both match the record.  *m: its index in o->match.  0, or EXIT_FAIL
 * with the reason printed.
 */
static int origin_on_host(struct ctl_orphan *o, int *m)
{
	const struct vwc_origin_id *id = &o->slot.origin;
	char hex[2 * VWC_ORIGIN_DIGEST_SIZE + 1];
	int i, kept;

	if (!vwc_origin_known(id))
		return ctl_fail("origin identity unknown (a record from before origin identity): attach it by hand");
	ctl_origin_resolve(o);
	kept = o->nr_match < CTL_ORIGIN_MATCHES ? o->nr_match : CTL_ORIGIN_MATCHES;
	*m = -1;
	for (i = 0; i < kept; i++) {
		if (o->match[i].sectors != id->sectors)
			continue;
		if (*m >= 0)
			return ctl_fail("origin found twice on this host: %s and %s (%s %s): attach the right one by hand",
					o->match[*m].device, o->match[i].device,
					vwc_origin_kind_name(id->kind),
					o->match[i].identity);
		*m = i;
	}
	if (*m >= 0)
		return 0;
	if (o->nr_match)
		return ctl_fail("origin %s %s is %s with %llu sectors, the record says %llu: not attached",
				vwc_origin_kind_name(id->kind),
				o->match[0].identity, o->match[0].device,
				(unsigned long long)o->match[0].sectors,
				(unsigned long long)id->sectors);
	ctl_origin_hex(id, hex);
	return ctl_fail("origin not found on this host (%s, %llu sectors, digest %s)",
			vwc_origin_kind_name(id->kind),
			(unsigned long long)id->sectors, hex);
}

/*
 * The path to attach match @m of @o by: the path last used, if the pool
 * kept one and it still names that device (a by-id link, say), so that
 * the record keeps it; else the path the search found.
 */
static const char *from_pool_path(const struct ctl_orphan *o, int m)
{
	const struct ctl_slot_dirty *slot = &o->slot;
	struct stat st;

	if (slot->have_attach && !stat(slot->attach.path, &st) &&
	    S_ISBLK(st.st_mode) && o->match[m].rdev == st.st_rdev)
		return slot->attach.path;
	return o->match[m].device;
}

#define FROM_POOL_KEYS	8	/* room for the VM keys (vwc_vm_keys) */

/*
 * "--mode M --iops-limit N ...": the settings last used as attach's
 * options (key cache_quota is option --cache-quota), in @argv with their
 * text in @buf.  Returns how many words.
 */
static int from_pool_settings(const struct ctl_slot_dirty *slot, char **argv,
			      char buf[][2][32])
{
	unsigned int i;
	int n = 0;
	char *c;

	if (!slot->have_attach)
		return 0;
	for (i = 0; i < vwc_nr_vm_keys && i < FROM_POOL_KEYS; i++) {
		const struct vwc_key *k = &vwc_vm_keys[i];

		snprintf(buf[i][0], sizeof(buf[i][0]), "--%s", k->name);
		for (c = buf[i][0]; *c; c++)
			if (*c == '_')
				*c = '-';
		ctl_key_text(k, &slot->attach.settings, buf[i][1],
			     sizeof(buf[i][1]));
		argv[n++] = buf[i][0];
		argv[n++] = buf[i][1];
	}
	return n;
}

/*
 * Bring up a VM device for the record of @slot in pool @p, with the mode
 * and limits it was last attached with (the defaults if the pool does not
 * know them).
 */
static int from_pool_vm(const struct snapshot *s, int p,
			const struct ctl_slot_dirty *slot)
{
	char name[CTL_NAME_MAX], *argv[7 + 2 * FROM_POOL_KEYS];
	char buf[FROM_POOL_KEYS][2][32];
	const struct vm_dev *v = attached_vm(s, p, slot->vm_id);
	struct ctl_orphan o = { .slot = *slot };
	struct dm_dev_info d;
	int m = -1, n;

	if (v) {
		printf("vm_id %s: already active as %s\n", slot->vm_id,
		       v->dm.name);
		return 0;
	}
	if (origin_on_host(&o, &m))
		return EXIT_FAIL;
	from_pool_vm_name(slot->vm_id, name, sizeof(name));
	if (!dm_get(name, false, &d))
		return ctl_fail("its VM device name %s is taken by another device: not attached",
				name);
	argv[0] = "attach";
	argv[1] = (char *)s->pools[p].dm.name;
	argv[2] = (char *)from_pool_path(&o, m);
	argv[3] = (char *)slot->vm_id;
	argv[4] = "--name";
	argv[5] = name;
	n = 6 + from_pool_settings(slot, argv + 6, buf);
	argv[n] = NULL;
	return run_command(n, argv);
}

static int assemble_from_pool(struct ctl_args *a)
{
	const char *dev = ctl_opt(a, "--from-pool");
	char failed[1024] = "";
	struct ctl_slot_dirty *slots = NULL;
	struct snapshot s;
	int i, p = -1, nr = 0, nr_failed = 0, r;

	load_module();
	if (snapshot_take(&s))
		return EXIT_FAIL;
	r = from_pool_pool(&s, dev, ctl_opt(a, "--name"), &p);
	if (!r && (r = ctl_vm_slots(dev, false, &slots, &nr)))
		r = ctl_fail("cannot read the VM records of %s: %s", dev,
			     strerror(-r));
	for (i = 0; !r && i < nr; i++) {
		snprintf(cmd_label, sizeof(cmd_label), "assemble: vm_id %s",
			 slots[i].vm_id);
		ctl_cmd_name = cmd_label;
		if (from_pool_vm(&s, p, &slots[i])) {
			nr_failed++;
			note_failed(failed, sizeof(failed), slots[i].vm_id);
		}
	}
	ctl_cmd_name = "assemble";
	if (!r && nr_failed)
		r = ctl_fail("%d of %d vm_ids of pool %s not brought up: %s",
			     nr_failed, nr, s.pools[p].dm.name, failed);
	else if (!r)
		printf("pool %s and %d VM devices up\n", s.pools[p].dm.name, nr);
	free(slots);
	snapshot_free(&s);
	return r;
}

int cmd_assemble(struct ctl_args *a)
{
	char failed[1024] = "";
	enum outcome *st;
	struct conf c;
	double wait;
	int i, nr_failed = 0, r;

	if (ctl_opt(a, "--from-pool") && ctl_opt(a, "--config"))
		return ctl_usage("--from-pool and --config exclude each other");
	if (ctl_opt(a, "--name") && !ctl_opt(a, "--from-pool"))
		return ctl_usage("--name goes with --from-pool");
	if (ctl_opt(a, "--wait") && ctl_opt(a, "--from-pool"))
		return ctl_usage("--wait goes with the config, not --from-pool");
	if (ctl_opt(a, "--from-pool"))
		return assemble_from_pool(a);
	r = ctl_opt_seconds(a, "--wait", 0, &wait);
	if (!r && (wait < 0 || wait > 3600))
		r = ctl_usage("--wait is seconds from 0 to 3600");
	if (!r)
		r = load_config(a, &c);
	if (r)
		return r;
	st = calloc(c.nr ?: 1, sizeof(*st));
	if (!st) {
		ctl_conf_free(&c);
		return ctl_fail("out of memory");
	}
	if (wait > 0)
		wait_devices(&c, wait);
	load_module();
	for (i = 0; i < c.nr; i++) {
		label_device("assemble", &c.e[i]);
		st[i] = bring_up(&c, i, st) ? ST_FAILED : ST_UP;
		if (st[i] == ST_FAILED) {
			nr_failed++;
			note_failed(failed, sizeof(failed), c.e[i].name);
		}
	}
	ctl_cmd_name = "assemble";
	if (nr_failed)
		r = ctl_fail("%d of %d devices not brought up: %s", nr_failed,
			     c.nr, failed);
	else
		printf("%d devices up\n", c.nr);
	free(st);
	ctl_conf_free(&c);
	return r;
}

/* ---- stop ------------------------------------------------------------------------ */

/* Detach VM device @e: flushed within @left seconds if @flush, else kept. */
static int stop_vm(const struct conf_entry *e, bool flush, double left)
{
	char secs[32], *argv[] = { "detach", (char *)e->name, "--no-flush",
				   NULL, NULL };
	struct dm_dev_info d;
	struct vm_table t;
	int r;

	if (dm_get(e->name, true, &d)) {
		printf("vm %s: not active\n", e->name);
		return 0;
	}
	if (strcmp(d.type, VWC_VM_TARGET_NAME) ||
	    ctl_parse_vm_table(d.params, &t) || strcmp(t.vm_id, e->vm_id))
		return ctl_fail("the device named %s is not vm_id %s's VM device: left alone",
				e->name, e->vm_id);
	if (flush && left > 0) {
		snprintf(secs, sizeof(secs), "%.1f", left);
		argv[2] = "--timeout";
		argv[3] = secs;
		r = run_command(4, argv);
		if (!r || dm_get(e->name, false, &d))
			return r;
		fprintf(stderr, "dmcache-ctl: warning: vm %s: the flush did not finish: its dirty data stays in pool %s\n",
			e->name, e->pool);
		argv[2] = "--no-flush";
	} else if (flush) {
		fprintf(stderr, "dmcache-ctl: warning: vm %s: stop_timeout is spent: no flush, its dirty data stays in pool %s\n",
			e->name, e->pool);
	}
	return run_command(3, argv);
}

/*
 * Commit pool @name (a suspend commits; its commit counter proves it) and
 * remove it: its dirty data of VMs that were detached without a flush is
 * on the cache device, where the next assemble finds it.
 */
static int stop_pool(const struct conf_entry *e)
{
	char *argv[] = { "pool-remove", (char *)e->name, "--force", NULL };
	struct pool_status before, after;
	struct dm_dev_info d;
	int r;

	if (dm_get(e->name, false, &d)) {
		printf("pool %s: not active\n", e->name);
		return 0;
	}
	if (strcmp(d.type, VWC_POOL_TARGET_NAME) ||
	    ctl_parse_pool_status(d.params, &before))
		return ctl_fail("the device named %s is not a vwcache pool: left alone",
				e->name);
	if (before.nr_vms)
		return ctl_fail("%llu VM devices not in the config, or busy, are still attached: pool left active",
				(unsigned long long)before.nr_vms);
	if (!d.suspended) {
		kmsg_mark();
		r = dm_suspend(e->name);
		if (r)
			return ctl_fail("cannot suspend it to commit: %s (%s)",
					strerror(-r), dm_last_error());
	}
	if (dm_get(e->name, false, &d) ||
	    ctl_parse_pool_status(d.params, &after) ||
	    strcmp(after.state, "ok") || after.commits <= before.commits) {
		char reason[256];
		const char *why = kmsg_reason(reason, sizeof(reason));

		dm_resume(e->name);
		return ctl_fail("the commit on suspend did not succeed (state %s%s%s): pool left active",
				after.state, why ? ": " : "", why ?: "");
	}
	printf("pool %s: committed (%llu dirty blocks)\n", e->name,
	       (unsigned long long)after.dirty_blocks);
	fflush(stdout);
	return run_command(3, argv);
}

int cmd_stop(struct ctl_args *a)
{
	char failed[1024] = "";
	bool flush;
	double timeout, end;
	struct conf c;
	int i, pass, nr_failed = 0, r;

	if (ctl_opt(a, "--flush") && ctl_opt(a, "--no-flush"))
		return ctl_usage("--flush and --no-flush exclude each other");
	r = load_config(a, &c);
	if (r)
		return r;
	flush = ctl_opt(a, "--flush") ||
		(c.stop_flush && !ctl_opt(a, "--no-flush"));
	r = ctl_opt_seconds(a, "--timeout", c.stop_timeout, &timeout);
	if (r) {
		ctl_conf_free(&c);
		return r;
	}
	end = ctl_now() + timeout;
	/* The VM devices in reverse order, then the pools. */
	for (pass = 0; pass < 2; pass++)
		for (i = c.nr - 1; i >= 0; i--) {
			if (c.e[i].vm != !pass)
				continue;
			label_device("stop", &c.e[i]);
			if (c.e[i].vm ? stop_vm(&c.e[i], flush, end - ctl_now()) :
			    stop_pool(&c.e[i])) {
				nr_failed++;
				note_failed(failed, sizeof(failed), c.e[i].name);
			}
		}
	ctl_cmd_name = "stop";
	if (nr_failed)
		r = ctl_fail("%d devices not stopped: %s", nr_failed, failed);
	else
		printf("%d devices stopped\n", c.nr);
	ctl_conf_free(&c);
	return r;
}
