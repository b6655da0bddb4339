// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: subcommands that look: list, pool-status, stats (human,
 * --json, --prometheus), top and migrate-plan.  The JSON schema and the
 * Prometheus metric names are documented in dmcache-ctl.8 and in
 * Documentation/admin-guide/dm-vwcache.rst; change them only compatibly
 * (the metrics that broke Prometheus' naming rules were renamed once, in
 * the version after 0.2.0: the admin guide lists the old names).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define JSON_SCHEMA_VERSION	1

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * part / whole : 0;
}

/*
 * Dirty data of vm_ids that have no VM device attached: the pool's dirty
 * blocks less those of its attached VM devices (two reads, not one
 * atomic snapshot: a value that would be negative is 0).
 */
static uint64_t pool_orphaned_dirty_blocks(const struct snapshot *s, int p)
{
	uint64_t attached = 0, dirty = s->pools[p].st.dirty_blocks;
	int i;

	for (i = 0; i < s->nr_vms; i++)
		if (s->vms[i].pool == p)
			attached += s->vms[i].st.dirty_blocks;
	return dirty > attached ? dirty - attached : 0;
}

/* ---- list ---------------------------------------------------------------------- */

static int list_names(const struct snapshot *s, const char *kind)
{
	int i;

	if (strcmp(kind, "vm") && strcmp(kind, "pool") && strcmp(kind, "all"))
		return ctl_usage("--names takes vm, pool or all, not \"%s\"",
				 kind);
	if (strcmp(kind, "vm"))
		for (i = 0; i < s->nr_pools; i++)
			printf("%s\n", s->pools[i].dm.name);
	if (strcmp(kind, "pool"))
		for (i = 0; i < s->nr_vms; i++)
			printf("%s\n%s\n", s->vms[i].dm.name,
			       s->vms[i].tbl.vm_id);
	return 0;
}

static void list_pool(const struct snapshot *s, int p)
{
	const struct pool_dev *pd = &s->pools[p];
	char size[32];
	int i;

	ctl_fmt_bytes(size, sizeof(size),
		      (double)pd->st.total_blocks * pd->st.block_size);
	printf("%-20s %-12s %-26s %-9s %10s %5.1f%% used %5.1f%% dirty\n",
	       pd->dm.name, "pool", pd->tbl.cache_dev, pd->st.state, size,
	       pct(pd->st.total_blocks - pd->st.free_blocks,
		   pd->st.total_blocks),
	       pct(pd->st.dirty_blocks, pd->st.total_blocks));
	for (i = 0; i < s->nr_vms; i++) {
		const struct vm_dev *v = &s->vms[i];
		char dirty[32];

		if (v->pool != p)
			continue;
		ctl_fmt_bytes(size, sizeof(size), v->dm.length * 512.0);
		ctl_fmt_bytes(dirty, sizeof(dirty), vm_dirty_bytes(s, v));
		printf("  %-18s %-12s %-26s %-9s %10s  %s dirty, %llu blocks cached\n",
		       v->dm.name, v->st.mode, v->tbl.vm_id, v->st.state,
		       size, dirty, (unsigned long long)v->st.cached_blocks);
	}
}

int cmd_list(struct ctl_args *a)
{
	const char *names = ctl_opt(a, "--names");
	struct snapshot s;
	int i, r = 0;

	if (snapshot_take(&s))
		return EXIT_FAIL;
	if (names) {
		r = list_names(&s, names);
		snapshot_free(&s);
		return r;
	}
	printf("%-20s %-12s %-26s %-9s %10s\n", "DEVICE", "MODE",
	       "VM_ID / CACHE_DEV", "STATE", "SIZE");
	for (i = 0; i < s.nr_pools; i++)
		list_pool(&s, i);
	for (i = 0; i < s.nr_vms; i++)
		if (s.vms[i].pool < 0)
			printf("  %-18s %-12s %-26s (pool %s not found)\n",
			       s.vms[i].dm.name, s.vms[i].st.mode,
			       s.vms[i].tbl.vm_id, s.vms[i].tbl.pool_dev);
	snapshot_free(&s);
	return 0;
}

/* ---- JSON ------------------------------------------------------------------------- */

static void json_sval(struct json *j, const char *key, const struct sval *v)
{
	if (v->ok)
		json_u64(j, key, v->v);
	else
		json_null(j, key);
}

static void json_table_u64(struct json *j, char keys[][24], char vals[][24],
			   int nr)
{
	int i;

	for (i = 0; i < nr; i++) {
		uint64_t v;

		if (!ctl_parse_u64(vals[i], &v))
			json_u64(j, keys[i], v);
		else
			json_str(j, keys[i], vals[i]);
	}
}

static void json_hist(struct json *j, const char *key,
		      const struct ctl_hist *h, bool ok)
{
	int i;

	if (!ok) {
		json_null(j, key);
		return;
	}
	json_open(j, key, '[');
	for (i = 0; i < h->n; i++) {
		json_open(j, NULL, '{');
		json_u64(j, "le_us", h->bucket[i]);
		json_u64(j, "count", h->count[i]);
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void json_vm(struct json *j, const struct snapshot *s,
		    const struct vm_dev *v)
{
	char dev[32];

	snprintf(dev, sizeof(dev), "dm-%u", v->dm.minor);
	json_open(j, NULL, '{');
	json_str(j, "name", v->dm.name);
	json_str(j, "device", dev);
	json_str(j, "vm_id", v->tbl.vm_id);
	json_str(j, "origin", v->tbl.origin_dev);
	json_u64(j, "size_bytes", v->dm.length * 512);
	json_str(j, "mode", v->st.mode);
	json_str(j, "state", v->st.state);
	json_u64(j, "cached_blocks", v->st.cached_blocks);
	json_u64(j, "dirty_blocks", v->st.dirty_blocks);
	json_u64(j, "dirty_bytes", vm_dirty_bytes(s, v));
	json_u64(j, "reads", v->st.reads);
	json_u64(j, "read_hits", v->st.read_hits);
	json_u64(j, "writes", v->st.writes);
	json_u64(j, "write_hits", v->st.write_hits);
	json_u64(j, "coalesced", v->st.coalesced);
	json_u64(j, "writeback_blocks", v->st.writeback_blocks);
	json_u64(j, "throttled", v->st.throttled);
	json_sval(j, "read_bytes", &v->read_bytes);
	json_sval(j, "write_bytes", &v->write_bytes);
	json_sval(j, "read_iops", &v->read_iops);
	json_sval(j, "write_iops", &v->write_iops);
	json_sval(j, "read_bw", &v->read_bw);
	json_sval(j, "write_bw", &v->write_bw);
	json_sval(j, "flush_eta_ms", &v->flush_eta_ms);
	json_hist(j, "read_latency_us", &v->read_lat, v->read_lat.n > 0);
	json_hist(j, "write_latency_us", &v->write_lat, v->write_lat.n > 0);
	json_open(j, "settings", '{');
	json_table_u64(j, (char (*)[24])v->tbl.keys, (char (*)[24])v->tbl.vals,
		       v->tbl.nr);
	json_close(j, '}');
	json_sval(j, "writeback_errors", &v->writeback_errors);
	json_sval(j, "read_latency_sum_ns", &v->read_lat_sum_ns);
	json_sval(j, "write_latency_sum_ns", &v->write_lat_sum_ns);
	json_close(j, '}');
}

/* A pool's object; left open when !@close (the caller adds to it). */
static void json_pool(struct json *j, const struct snapshot *s, int p,
		      int only_vm, bool close)
{
	const struct pool_dev *pd = &s->pools[p];
	char dev[32];
	int i;

	snprintf(dev, sizeof(dev), "dm-%u", pd->dm.minor);
	json_open(j, NULL, '{');
	json_str(j, "name", pd->dm.name);
	json_str(j, "device", dev);
	json_str(j, "cache_dev", pd->tbl.cache_dev);
	json_str(j, "state", pd->st.state);
	json_u64(j, "block_size", pd->st.block_size);
	json_u64(j, "total_blocks", pd->st.total_blocks);
	json_u64(j, "free_blocks", pd->st.free_blocks);
	json_u64(j, "dirty_blocks", pd->st.dirty_blocks);
	json_u64(j, "nr_vms", pd->st.nr_vms);
	json_u64(j, "reads", pd->st.reads);
	json_u64(j, "read_hits", pd->st.read_hits);
	json_u64(j, "writes", pd->st.writes);
	json_u64(j, "write_hits", pd->st.write_hits);
	json_u64(j, "writeback_blocks", pd->st.writeback_blocks);
	json_u64(j, "commits", pd->st.commits);
	if (pd->ram_fixed.ok && pd->ram_blocks.ok) {
		json_u64(j, "ram_block_bytes", pd->ram_blocks.v);
		json_u64(j, "ram_fixed_bytes", pd->ram_fixed.v);
	}
	json_u64(j, "orphaned_dirty_bytes",
		 pool_orphaned_dirty_blocks(s, p) * pd->st.block_size);
	json_open(j, "settings", '{');
	json_table_u64(j, (char (*)[24])pd->tbl.keys,
		       (char (*)[24])pd->tbl.vals, pd->tbl.nr);
	json_close(j, '}');
	json_open(j, "vms", '[');
	for (i = 0; i < s->nr_vms; i++)
		if (s->vms[i].pool == p && (only_vm < 0 || only_vm == i))
			json_vm(j, s, &s->vms[i]);
	json_close(j, ']');
	if (close)
		json_close(j, '}');
}

/* The whole document: pools (one, or those of @only_vm) with their VMs. */
static void json_doc(FILE *f, const struct snapshot *s, int only_pool,
		     int only_vm)
{
	struct json j;
	int p;

	json_init(&j, f);
	json_open(&j, NULL, '{');
	json_u64(&j, "version", JSON_SCHEMA_VERSION);
	json_open(&j, "pools", '[');
	for (p = 0; p < s->nr_pools; p++)
		if (only_pool < 0 || only_pool == p)
			json_pool(&j, s, p, only_vm, true);
	json_close(&j, ']');
	json_close(&j, '}');
	json_end(&j);
}

/* ---- Prometheus ---------------------------------------------------------------------- */

/*
 * Names follow https://prometheus.io/docs/practices/naming/: base units
 * (seconds, bytes, ratios 0-1) named as a suffix, counters ending in
 * _total, one unit per metric (so one metric per setting).  Values that
 * the module keeps in other units (ms, us, ns, percent, blocks) are
 * converted exactly: an integer scaled by a power of ten is printed as a
 * decimal, never through a binary float.
 */
struct metric {
	const char *name;
	const char *type;
	const char *help;
};

static void prom_head(FILE *f, const struct metric *m)
{
	fprintf(f, "# HELP vwcache_%s %s\n# TYPE vwcache_%s %s\n", m->name,
		m->help, m->name, m->type);
}

/* A label value with \, " and newline escaped. */
static void prom_label(FILE *f, const char *key, const char *v)
{
	fprintf(f, "%s=\"", key);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

/*
 * @v / 10^@dec (0 <= @dec <= 18) as an exact decimal: 1500, 3 -> "1.5";
 * 1, 6 -> "0.000001".
 */
static void prom_fixed(char *buf, size_t len, uint64_t v, int dec)
{
	char frac[20];
	int i, n;

	dec = dec < 0 ? 0 : dec > 18 ? 18 : dec;
	for (i = dec - 1; i >= 0; i--) {
		frac[i] = '0' + v % 10;
		v /= 10;
	}
	for (n = dec; n > 0 && frac[n - 1] == '0'; n--)
		;
	frac[n] = '\0';
	if (n)
		snprintf(buf, len, "%llu.%s", (unsigned long long)v, frac);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/*
 * One sample: vwcache_NAME{pool=..[,vm_id=..][,KEY=..]} VALUE, the value
 * being @v / 10^@dec.
 */
static void prom_sample(FILE *f, const char *name, const char *pool,
			const char *vm_id, const char *extra_key,
			const char *extra, uint64_t v, int dec)
{
	char num[48];

	fprintf(f, "vwcache_%s{", name);
	prom_label(f, "pool", pool);
	if (vm_id) {
		fputc(',', f);
		prom_label(f, "vm_id", vm_id);
	}
	if (extra_key) {
		fputc(',', f);
		prom_label(f, extra_key, extra);
	}
	prom_fixed(num, sizeof(num), v, dec);
	fprintf(f, "} %s\n", num);
}

static void prom_pool_sample(FILE *f, const char *name, const char *pool,
			     uint64_t v)
{
	prom_sample(f, name, pool, NULL, NULL, NULL, v, 0);
}

static void prom_vm_sample(FILE *f, const char *name, const char *pool,
			   const char *vm_id, const char *extra_key,
			   const char *extra, uint64_t v)
{
	prom_sample(f, name, pool, vm_id, extra_key, extra, v, 0);
}

enum pool_field {
	PF_BLOCK_SIZE, PF_TOTAL, PF_FREE, PF_DIRTY, PF_SIZE_BYTES,
	PF_FREE_BYTES, PF_DIRTY_BYTES, PF_ORPHANED_BYTES, PF_VMS, PF_READS,
	PF_READ_HITS, PF_WRITES, PF_WRITE_HITS, PF_WRITEBACK,
	PF_WRITEBACK_BYTES, PF_COMMITS, PF_NR
};

static const struct metric pool_metrics[PF_NR] = {
	{ "pool_block_size_bytes", "gauge", "Cache block size of the pool." },
	{ "pool_blocks", "gauge", "Cache blocks of the pool." },
	{ "pool_free_blocks", "gauge", "Cache blocks holding no data." },
	{ "pool_dirty_blocks", "gauge", "Cache blocks not yet written back." },
	{ "pool_size_bytes", "gauge", "Space for cached data in the pool." },
	{ "pool_free_bytes", "gauge", "Space holding no data." },
	{ "pool_dirty_bytes", "gauge", "Dirty data in the pool, all vm_ids." },
	{ "pool_orphaned_dirty_bytes", "gauge",
	  "Dirty data of vm_ids with no VM device attached." },
	{ "pool_vms", "gauge", "VM devices attached to the pool." },
	{ "pool_reads_total", "counter", "Reads seen by the pool's VM devices." },
	{ "pool_read_hits_total", "counter", "Reads served by the cache." },
	{ "pool_writes_total", "counter", "Writes seen by the pool's VM devices." },
	{ "pool_write_hits_total", "counter", "Writes absorbed by the cache." },
	{ "pool_writeback_blocks_total", "counter", "Blocks written back to origins." },
	{ "pool_writeback_bytes_total", "counter", "Bytes written back to origins." },
	{ "pool_commits_total", "counter", "Metadata commits." },
};

static uint64_t pool_field(const struct snapshot *s, int p, int f)
{
	const struct pool_status *st = &s->pools[p].st;
	const uint64_t bs = st->block_size;
	const uint64_t v[PF_NR] = {
		st->block_size, st->total_blocks, st->free_blocks,
		st->dirty_blocks, st->total_blocks * bs, st->free_blocks * bs,
		st->dirty_blocks * bs, pool_orphaned_dirty_blocks(s, p) * bs,
		st->nr_vms, st->reads, st->read_hits, st->writes,
		st->write_hits, st->writeback_blocks,
		st->writeback_blocks * bs, st->commits,
	};

	return v[f];
}

enum vm_field {
	VF_CACHED, VF_CACHED_BYTES, VF_DIRTY, VF_DIRTY_BYTES, VF_READS,
	VF_READ_HITS, VF_WRITES, VF_WRITE_HITS, VF_COALESCED, VF_WRITEBACK,
	VF_WRITEBACK_BYTES, VF_THROTTLED, VF_SIZE, VF_NR
};

static const struct metric vm_metrics[VF_NR] = {
	{ "vm_cached_blocks", "gauge", "Cache blocks held by the VM device." },
	{ "vm_cached_bytes", "gauge", "Pool space held by the VM device." },
	{ "vm_dirty_blocks", "gauge", "Dirty cache blocks of the VM device." },
	{ "vm_dirty_bytes", "gauge", "Dirty data of the VM device." },
	{ "vm_reads_total", "counter", "Reads (after the split at cache blocks)." },
	{ "vm_read_hits_total", "counter", "Reads served by the cache." },
	{ "vm_writes_total", "counter", "Writes (after the split at cache blocks)." },
	{ "vm_write_hits_total", "counter", "Writes absorbed by the cache." },
	{ "vm_coalesced_total", "counter", "Writes that overwrote a still dirty block." },
	{ "vm_writeback_blocks_total", "counter", "Blocks written back to the origin." },
	{ "vm_writeback_bytes_total", "counter", "Bytes written back to the origin." },
	{ "vm_throttled_total", "counter", "Bios delayed by limits or weight sharing." },
	{ "vm_size_bytes", "gauge", "Size of the VM device." },
};

static uint64_t vm_field(const struct snapshot *s, const struct vm_dev *v,
			 int f)
{
	const uint64_t bs = vm_block_size(s, v);
	const uint64_t val[VF_NR] = {
		v->st.cached_blocks, v->st.cached_blocks * bs,
		v->st.dirty_blocks, vm_dirty_bytes(s, v),
		v->st.reads, v->st.read_hits, v->st.writes, v->st.write_hits,
		v->st.coalesced, v->st.writeback_blocks,
		v->st.writeback_blocks * bs, v->st.throttled,
		v->dm.length * 512,
	};

	return val[f];
}

/* Metrics from sysfs files: only VMs whose module has the file. */
struct sys_metric {
	struct metric m;
	size_t offset;		/* of the struct sval in struct vm_dev */
	int dec;		/* the file's unit is 10^-dec of the metric's */
};

#define SYSM(n, t, h, field, d) \
	{ { n, t, h }, offsetof(struct vm_dev, field), d }

static const struct sys_metric vm_sys_metrics[] = {
	SYSM("vm_read_bytes_total", "counter", "Bytes read.", read_bytes, 0),
	SYSM("vm_write_bytes_total", "counter", "Bytes written.", write_bytes,
	     0),
	SYSM("vm_read_iops", "gauge", "Reads per second over the last second.",
	     read_iops, 0),
	SYSM("vm_write_iops", "gauge", "Writes per second over the last second.",
	     write_iops, 0),
	SYSM("vm_read_bytes_per_second", "gauge",
	     "Bytes read per second over the last second.", read_bw, 0),
	SYSM("vm_write_bytes_per_second", "gauge",
	     "Bytes written per second over the last second.", write_bw, 0),
	SYSM("vm_flush_eta_seconds", "gauge",
	     "Estimated time to write back the dirty data (absent: no estimate).",
	     flush_eta_ms, 3),
	SYSM("vm_writeback_errors_total", "counter",
	     "Writeback runs the origin failed (the blocks stay dirty and are retried).",
	     writeback_errors, 0),
	SYSM("vm_sequential_bypass_bytes_total", "counter",
	     "Bytes sent to the origin past the pool's sequential_cutoff.",
	     sequential_bypassed, 0),
};

static const struct sval *vm_sval(const struct vm_dev *v, size_t off)
{
	return (const struct sval *)((const char *)v + off);
}

static bool wanted(const struct snapshot *s, int i, int only_pool,
		   int only_vm)
{
	const struct vm_dev *v = &s->vms[i];

	return v->pool >= 0 && (only_vm < 0 || only_vm == i) &&
	       (only_pool < 0 || only_pool == v->pool);
}

static void prom_states(FILE *f, const struct snapshot *s, int only_pool,
			int only_vm)
{
	static const char * const pstates[] = { "ok", "degraded", "failed" };
	static const char * const vstates[] = {
		"ok", "flushing", "migrating", "clean", "error"
	};
	static const struct metric pm = {
		"pool_state", "gauge", "1 for the pool's state, 0 for the others."
	};
	static const struct metric vm = {
		"vm_state", "gauge", "1 for the VM device's state, 0 for the others."
	};
	static const struct metric mm = {
		"vm_mode", "gauge", "1 for the mode in force, 0 for the others."
	};
	static const char * const modes[] = {
		"writeback", "writethrough", "passthrough"
	};
	int i, k;

	prom_head(f, &pm);
	for (i = 0; i < s->nr_pools; i++) {
		if (only_pool >= 0 && only_pool != i)
			continue;
		for (k = 0; k < 3; k++)
			prom_sample(f, "pool_state", s->pools[i].dm.name, NULL,
				    "state", pstates[k],
				    !strcmp(s->pools[i].st.state, pstates[k]),
				    0);
	}
	prom_head(f, &vm);
	for (i = 0; i < s->nr_vms; i++)
		for (k = 0; k < 5 && wanted(s, i, only_pool, only_vm); k++)
			prom_vm_sample(f, "vm_state", vm_pool_name(s, &s->vms[i]),
				       s->vms[i].tbl.vm_id, "state", vstates[k],
				       !strcmp(s->vms[i].st.state, vstates[k]));
	prom_head(f, &mm);
	for (i = 0; i < s->nr_vms; i++)
		for (k = 0; k < 3 && wanted(s, i, only_pool, only_vm); k++)
			prom_vm_sample(f, "vm_mode", vm_pool_name(s, &s->vms[i]),
				       s->vms[i].tbl.vm_id, "mode", modes[k],
				       !strcmp(s->vms[i].st.mode, modes[k]));
}

/*
 * Settings, from the table line (which re-emits every setting in force):
 * one metric each, in base units.  @dec scales the table's value down by
 * a power of ten (ms -> s, percent -> ratio); @blocks multiplies it by
 * the block size; @absent is the value of a setting the table leaves out
 * when it is off (NULL: a table without it has no sample).
 */
struct setting_metric {
	const char *key;
	struct metric m;
	int dec;
	bool blocks;
	const char *absent;
};

#define SETM(k, n, h, d, b) { k, { n, "gauge", h }, d, b, NULL }
#define SETM_OFF(k, n, h) { k, { n, "gauge", h }, 0, false, "0" }

static const struct setting_metric pool_settings[] = {
	SETM("high_watermark", "pool_high_watermark_ratio",
	     "Dirty share of the pool that starts background writeback.", 2,
	     false),
	SETM("low_watermark", "pool_low_watermark_ratio",
	     "Dirty share of the pool that stops background writeback.", 2,
	     false),
	SETM("max_age", "pool_max_age_seconds",
	     "Age after which dirty data is written back (0 = never).", 3,
	     false),
	SETM("commit_interval", "pool_commit_interval_seconds",
	     "Interval of metadata commits.", 3, false),
	SETM("writeback_iops", "pool_writeback_iops_limit",
	     "Cap on background writeback I/O per second (0 = unlimited).", 0,
	     false),
	SETM("io_capacity_iops", "pool_io_capacity_iops",
	     "I/O per second the SSD can serve, shared by weight (0 = unlimited).",
	     0, false),
	SETM("io_capacity_bw", "pool_io_capacity_bytes_per_second",
	     "Bytes per second the SSD can serve, shared by weight (0 = unlimited).",
	     0, false),
	SETM_OFF("sequential_cutoff", "pool_sequential_cutoff_bytes",
		 "Stream length past which I/O bypasses a pool under pressure (0 = off)."),
	SETM_OFF("writeback_depth", "pool_writeback_depth",
		 "Writeback runs in flight per origin (0 = the origin's queue depth)."),
};

static const struct setting_metric vm_settings[] = {
	SETM("iops_limit", "vm_iops_limit",
	     "I/O per second limit of the VM device (0 = unlimited).", 0,
	     false),
	SETM("bw_limit", "vm_bw_limit_bytes_per_second",
	     "Bandwidth limit of the VM device (0 = unlimited).", 0, false),
	SETM("cache_quota", "vm_cache_quota_bytes",
	     "Most pool space the VM device may hold (0 = no quota).", 0, true),
	SETM("weight", "vm_weight",
	     "Share of the pool's I/O capacity under contention (1-1000).", 0,
	     false),
};

#define NR(a)	(sizeof(a) / sizeof((a)[0]))

static void prom_settings(FILE *f, const struct snapshot *s, int only_pool,
			  int only_vm)
{
	size_t k;
	int i;

	for (k = 0; k < NR(pool_settings); k++) {
		const struct setting_metric *sm = &pool_settings[k];

		prom_head(f, &sm->m);
		for (i = 0; i < s->nr_pools; i++) {
			const struct pool_table *t = &s->pools[i].tbl;
			const char *val = ctl_table_get((char (*)[24])t->keys,
							(char (*)[24])t->vals,
							t->nr, sm->key);
			uint64_t n;

			if (!val)
				val = sm->absent;
			if ((only_pool >= 0 && only_pool != i) || !val ||
			    ctl_parse_u64(val, &n))
				continue;
			prom_sample(f, sm->m.name, s->pools[i].dm.name, NULL,
				    NULL, NULL, n, sm->dec);
		}
	}
	for (k = 0; k < NR(vm_settings); k++) {
		const struct setting_metric *sm = &vm_settings[k];

		prom_head(f, &sm->m);
		for (i = 0; i < s->nr_vms; i++) {
			const struct vm_dev *v = &s->vms[i];
			const char *val = ctl_table_get((char (*)[24])v->tbl.keys,
							(char (*)[24])v->tbl.vals,
							v->tbl.nr, sm->key);
			uint64_t n;

			if (!wanted(s, i, only_pool, only_vm) || !val ||
			    ctl_parse_u64(val, &n))
				continue;
			if (sm->blocks)
				n *= vm_block_size(s, v);
			prom_sample(f, sm->m.name, vm_pool_name(s, v),
				    v->tbl.vm_id, NULL, NULL, n, sm->dec);
		}
	}
}

/*
 * A latency histogram from sysfs as a Prometheus histogram in seconds:
 * cumulative buckets by upper bound ("le"), +Inf, _sum (from the module's
 * sum of latencies, when it has one) and _count.  The module's last line
 * also counts everything longer than its bound, so it goes into +Inf only.
 */
static void prom_hist(FILE *f, const struct snapshot *s, int only_pool,
		      int only_vm, bool write)
{
	const char *name = write ? "vm_write_latency_seconds" :
			   "vm_read_latency_seconds";
	const struct metric m = {
		name, "histogram", write ?
		"Write latency from arrival at the VM device to completion." :
		"Read latency from arrival at the VM device to completion."
	};
	char metric[64], le[48];
	int i, b;

	prom_head(f, &m);
	for (i = 0; i < s->nr_vms; i++) {
		const struct vm_dev *v = &s->vms[i];
		const struct ctl_hist *h = write ? &v->write_lat : &v->read_lat;
		const struct sval *sum = write ? &v->write_lat_sum_ns :
					 &v->read_lat_sum_ns;
		const char *pool = vm_pool_name(s, v);
		uint64_t cum = 0;

		if (!h->n || !wanted(s, i, only_pool, only_vm))
			continue;
		snprintf(metric, sizeof(metric), "%s_bucket", name);
		for (b = 0; b < h->n; b++) {
			cum += h->count[b];
			if (b == h->n - 1)
				break;
			prom_fixed(le, sizeof(le), h->bucket[b], 6);
			prom_vm_sample(f, metric, pool, v->tbl.vm_id, "le", le,
				       cum);
		}
		prom_vm_sample(f, metric, pool, v->tbl.vm_id, "le", "+Inf",
			       cum);
		if (sum->ok) {
			snprintf(metric, sizeof(metric), "%s_sum", name);
			prom_sample(f, metric, pool, v->tbl.vm_id, NULL, NULL,
				    sum->v, 9);
		}
		snprintf(metric, sizeof(metric), "%s_count", name);
		prom_vm_sample(f, metric, pool, v->tbl.vm_id, NULL, NULL, cum);
	}
}

/*
 * vwcache_orphan_dirty_bytes: each orphan of the pools (a vm_id with dirty
 * data and no VM device) with its origin: the identity string when a
 * device of this host has it, else the record's digest ("" when the
 * record does not know its origin).  The cache device is read only for a
 * pool whose status shows orphaned dirty blocks (0 in normal operation);
 * one that cannot be read is left out.  Not with a VM argument.
 */
static const struct metric orphan_metric = {
	"orphan_dirty_bytes", "gauge",
	"Dirty data of a vm_id without a VM device, in bytes, by origin (identity, or digest if not found on this host)"
};

static void prom_orphan(FILE *f, const char *pool, const struct ctl_orphan *o)
{
	const struct ctl_slot_dirty *d = &o->slot;
	char hex[2 * VWC_ORIGIN_DIGEST_SIZE + 1] = "";

	if (vwc_origin_known(&d->origin))
		ctl_origin_hex(&d->origin, hex);
	fprintf(f, "vwcache_%s{", orphan_metric.name);
	prom_label(f, "pool", pool);
	fputc(',', f);
	prom_label(f, "vm_id", d->vm_id);
	fputc(',', f);
	prom_label(f, "origin_kind", vwc_origin_kind_name(d->origin.kind));
	fputc(',', f);
	prom_label(f, "origin", o->identity[0] ? o->identity : hex);
	fprintf(f, "} %llu\n",
		(unsigned long long)(d->dirty_blocks * d->block_size));
}

static void prom_orphans(FILE *f, const struct snapshot *s, int only_pool,
			 int only_vm)
{
	struct ctl_orphan *o;
	int i, p, nr;

	if (only_vm >= 0)
		return;
	prom_head(f, &orphan_metric);
	for (p = 0; p < s->nr_pools; p++) {
		if ((only_pool >= 0 && only_pool != p) ||
		    !pool_orphaned_dirty_blocks(s, p) ||
		    ctl_pool_orphans(s, p, &o, &nr))
			continue;
		for (i = 0; i < nr; i++)
			prom_orphan(f, s->pools[p].dm.name, &o[i]);
		free(o);
	}
}

static void prom_doc(FILE *f, const struct snapshot *s, int only_pool,
		     int only_vm)
{
	size_t k;
	int i, m;

	for (m = 0; m < PF_NR; m++) {
		prom_head(f, &pool_metrics[m]);
		for (i = 0; i < s->nr_pools; i++)
			if (only_pool < 0 || only_pool == i)
				prom_pool_sample(f, pool_metrics[m].name,
						 s->pools[i].dm.name,
						 pool_field(s, i, m));
	}
	for (m = 0; m < VF_NR; m++) {
		prom_head(f, &vm_metrics[m]);
		for (i = 0; i < s->nr_vms; i++)
			if (wanted(s, i, only_pool, only_vm))
				prom_vm_sample(f, vm_metrics[m].name,
					       vm_pool_name(s, &s->vms[i]),
					       s->vms[i].tbl.vm_id, NULL, NULL,
					       vm_field(s, &s->vms[i], m));
	}
	for (k = 0; k < NR(vm_sys_metrics); k++) {
		const struct sys_metric *sm = &vm_sys_metrics[k];
		bool head = false;

		for (i = 0; i < s->nr_vms; i++) {
			const struct sval *v = vm_sval(&s->vms[i], sm->offset);

			if (!v->ok || !wanted(s, i, only_pool, only_vm))
				continue;
			if (!head)
				prom_head(f, &sm->m);
			head = true;
			prom_sample(f, sm->m.name, vm_pool_name(s, &s->vms[i]),
				    s->vms[i].tbl.vm_id, NULL, NULL, v->v,
				    sm->dec);
		}
	}
	prom_hist(f, s, only_pool, only_vm, false);
	prom_hist(f, s, only_pool, only_vm, true);
	prom_states(f, s, only_pool, only_vm);
	prom_settings(f, s, only_pool, only_vm);
	prom_orphans(f, s, only_pool, only_vm);
}

void stats_json(FILE *f, const struct snapshot *s, int pool, int vm)
{
	json_doc(f, s, pool, vm);
}

void stats_prometheus(FILE *f, const struct snapshot *s, int pool, int vm)
{
	prom_doc(f, s, pool, vm);
}

/* ---- stats -------------------------------------------------------------------------- */

static void stats_table(const struct snapshot *s, int only_vm)
{
	int i;

	printf("%-20s %-12s %-12s %-9s %9s %9s %10s %6s %10s %6s %9s %9s %9s\n",
	       "VM_ID", "POOL", "MODE", "STATE", "CACHED", "DIRTY", "READS",
	       "RHIT%", "WRITES", "WHIT%", "COALESCED", "WRITEBACK",
	       "THROTTLED");
	for (i = 0; i < s->nr_vms; i++) {
		const struct vm_dev *v = &s->vms[i];

		if (only_vm >= 0 && only_vm != i)
			continue;
		printf("%-20s %-12s %-12s %-9s %9llu %9llu %10llu %6.1f %10llu %6.1f %9llu %9llu %9llu\n",
		       v->tbl.vm_id, vm_pool_name(s, v), v->st.mode,
		       v->st.state, (unsigned long long)v->st.cached_blocks,
		       (unsigned long long)v->st.dirty_blocks,
		       (unsigned long long)v->st.reads,
		       pct(v->st.read_hits, v->st.reads),
		       (unsigned long long)v->st.writes,
		       pct(v->st.write_hits, v->st.writes),
		       (unsigned long long)v->st.coalesced,
		       (unsigned long long)v->st.writeback_blocks,
		       (unsigned long long)v->st.throttled);
	}
}

/* Write through FILE.tmp and rename, for node exporter's textfile reader. */
static int stats_to_file(const char *path, const struct snapshot *s,
			 bool prom, int only_pool, int only_vm)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return ctl_fail("cannot write %s: %s", tmp, strerror(errno));
	if (prom)
		prom_doc(f, s, only_pool, only_vm);
	else
		json_doc(f, s, only_pool, only_vm);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return ctl_fail("cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

int cmd_stats(struct ctl_args *a)
{
	bool json = ctl_opt(a, "--json"), prom = ctl_opt(a, "--prometheus");
	const char *out = ctl_opt(a, "--output");
	int only_vm = -1, only_pool = -1, r = 0;
	struct snapshot s;

	if (json && prom)
		return ctl_usage("--json and --prometheus exclude each other");
	if (out && !json && !prom)
		return ctl_usage("--output goes with --json or --prometheus");
	if (snapshot_take(&s))
		return EXIT_FAIL;
	if (a->argc) {
		only_pool = snapshot_find_pool(&s, a->argv[0]);
		if (only_pool < 0) {
			only_vm = resolve_vm(&s, a->argv[0]);
			if (only_vm < 0) {
				snapshot_free(&s);
				return EXIT_FAIL;
			}
			only_pool = s.vms[only_vm].pool;
		}
	}
	if (out)
		r = stats_to_file(out, &s, prom, only_pool, only_vm);
	else if (json)
		json_doc(stdout, &s, only_pool, only_vm);
	else if (prom)
		prom_doc(stdout, &s, only_pool, only_vm);
	else
		stats_table(&s, only_vm);
	snapshot_free(&s);
	return r;
}

/* ---- pool-status ---------------------------------------------------------------------- */

/*
 * Orphans: vm_ids with dirty data and no VM device, from the last commit
 * on the cache device (unreadable: said, and the rest shown anyway).
 */
static void pool_status_orphans(const struct snapshot *s, int p)
{
	struct ctl_orphan *o;
	int nr;

	if (ctl_pool_orphans(s, p, &o, &nr)) {
		printf("  orphans       unknown (cannot read the cache device)\n");
		return;
	}
	ctl_orphans_text(o, nr);
	free(o);
}

static void pool_status_text(const struct snapshot *s, int p)
{
	const struct pool_dev *pd = &s->pools[p];
	const struct pool_status *st = &pd->st;
	char size[32];
	int i, n = 0;

	ctl_fmt_bytes(size, sizeof(size),
		      (double)st->total_blocks * st->block_size);
	printf("pool %s (dm-%u) on %s\n", pd->dm.name, pd->dm.minor,
	       pd->tbl.cache_dev);
	printf("  state         %s\n", st->state);
	printf("  blocks        %llu of %llu bytes (%s), %llu free, %llu dirty (%.1f%%)\n",
	       (unsigned long long)st->total_blocks,
	       (unsigned long long)st->block_size, size,
	       (unsigned long long)st->free_blocks,
	       (unsigned long long)st->dirty_blocks,
	       pct(st->dirty_blocks, st->total_blocks));
	printf("  VM devices    %llu:", (unsigned long long)st->nr_vms);
	for (i = 0; i < s->nr_vms; i++)
		if (s->vms[i].pool == p && ++n)
			printf(" %s", s->vms[i].tbl.vm_id);
	printf("\n  reads         %llu, %llu hits (%.1f%%)\n",
	       (unsigned long long)st->reads,
	       (unsigned long long)st->read_hits,
	       pct(st->read_hits, st->reads));
	printf("  writes        %llu, %llu hits (%.1f%%)\n",
	       (unsigned long long)st->writes,
	       (unsigned long long)st->write_hits,
	       pct(st->write_hits, st->writes));
	printf("  written back  %llu blocks\n",
	       (unsigned long long)st->writeback_blocks);
	printf("  commits       %llu\n", (unsigned long long)st->commits);
	if (pd->ram_fixed.ok && pd->ram_blocks.ok) {
		char fixed[32], blocks[32];

		ctl_fmt_bytes(fixed, sizeof(fixed), (double)pd->ram_fixed.v);
		ctl_fmt_bytes(blocks, sizeof(blocks), (double)pd->ram_blocks.v);
		printf("  kernel RAM    %s for the blocks (%.1f bytes a block), %s fixed\n",
		       blocks, st->total_blocks ?
		       (double)pd->ram_blocks.v / st->total_blocks : 0.0, fixed);
	}
	printf("  settings     ");
	for (i = 0; i < pd->tbl.nr; i++)
		printf(" %s %s", pd->tbl.keys[i], pd->tbl.vals[i]);
	putchar('\n');
	pool_status_orphans(s, p);
}

/* pool-status --json: the stats document, each pool with its orphans. */
static void pool_status_json(const struct snapshot *s, int only_pool)
{
	struct ctl_orphan *o;
	struct json j;
	int p, nr;

	json_init(&j, stdout);
	json_open(&j, NULL, '{');
	json_u64(&j, "version", JSON_SCHEMA_VERSION);
	json_open(&j, "pools", '[');
	for (p = 0; p < s->nr_pools; p++) {
		if (only_pool >= 0 && only_pool != p)
			continue;
		json_pool(&j, s, p, -1, false);
		if (ctl_pool_orphans(s, p, &o, &nr)) {
			json_null(&j, "orphans");
		} else {
			ctl_orphans_json(&j, o, nr);
			free(o);
		}
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_close(&j, '}');
	json_end(&j);
}

int cmd_pool_status(struct ctl_args *a)
{
	struct snapshot s;
	int p = -1, i;

	if (snapshot_take(&s))
		return EXIT_FAIL;
	if (a->argc) {
		p = resolve_pool(&s, a->argv[0]);
		if (p < 0) {
			snapshot_free(&s);
			return EXIT_FAIL;
		}
	}
	if (ctl_opt(a, "--json")) {
		pool_status_json(&s, p);
	} else {
		if (!s.nr_pools)
			printf("no pools\n");
		for (i = 0; i < s.nr_pools; i++)
			if (p < 0 || p == i)
				pool_status_text(&s, i);
	}
	snapshot_free(&s);
	return 0;
}

/* ---- rates between two snapshots ------------------------------------------------------- */

struct vm_rate {
	int idx;		/* in the newer snapshot */
	double riops, wiops, rbw, wbw, hit, thr, wb_bw;
	bool have_bw;
	uint64_t dirty, cached;
};

static const struct vm_dev *find_same(const struct snapshot *old,
				      const struct vm_dev *v)
{
	int i;

	for (i = 0; i < old->nr_vms; i++)
		if (!strcmp(old->vms[i].dm.name, v->dm.name) &&
		    !strcmp(old->vms[i].tbl.vm_id, v->tbl.vm_id))
			return &old->vms[i];
	return NULL;
}

static double delta(uint64_t now, uint64_t then, double dt)
{
	return now >= then && dt > 0 ? (now - then) / dt : 0;
}

static void vm_rate(const struct snapshot *old, const struct snapshot *now,
		    int i, struct vm_rate *r)
{
	const struct vm_dev *v = &now->vms[i], *o = find_same(old, v);
	double dt = now->when - old->when;
	uint64_t io, hits;

	memset(r, 0, sizeof(*r));
	r->idx = i;
	r->dirty = vm_dirty_bytes(now, v);
	r->cached = v->st.cached_blocks * vm_block_size(now, v);
	if (!o)
		return;
	r->riops = delta(v->st.reads, o->st.reads, dt);
	r->wiops = delta(v->st.writes, o->st.writes, dt);
	r->thr = delta(v->st.throttled, o->st.throttled, dt);
	r->wb_bw = delta(v->st.writeback_blocks, o->st.writeback_blocks, dt) *
		   vm_block_size(now, v);
	io = v->st.reads + v->st.writes - o->st.reads - o->st.writes;
	hits = v->st.read_hits + v->st.write_hits - o->st.read_hits -
	       o->st.write_hits;
	r->hit = io && hits <= io ? 100.0 * hits / io : NAN;
	if (v->read_bytes.ok && o->read_bytes.ok) {
		r->rbw = delta(v->read_bytes.v, o->read_bytes.v, dt);
		r->wbw = delta(v->write_bytes.v, o->write_bytes.v, dt);
		r->have_bw = true;
	}
}

/* ---- top ------------------------------------------------------------------------------- */

static const char * const top_columns[] = {
	"vm", "pool", "state", "riops", "wiops", "iops", "rbw", "wbw", "bw",
	"hit", "cached", "dirty", "throttled", NULL
};

static int sort_col;
static const struct snapshot *sort_snap;

static double sort_value(const struct vm_rate *r)
{
	const double v[] = {
		[3] = r->riops, [4] = r->wiops, [5] = r->riops + r->wiops,
		[6] = r->rbw, [7] = r->wbw, [8] = r->rbw + r->wbw,
		[9] = isnan(r->hit) ? -1 : r->hit, [10] = r->cached,
		[11] = r->dirty, [12] = r->thr,
	};

	return sort_col >= 3 && sort_col <= 12 ? v[sort_col] : 0;
}

/* Names ascending; numbers descending, then by name. */
static int rate_cmp(const void *pa, const void *pb)
{
	const struct vm_rate *a = pa, *b = pb;
	const struct vm_dev *va = &sort_snap->vms[a->idx];
	const struct vm_dev *vb = &sort_snap->vms[b->idx];
	double x, y;
	int c;

	if (sort_col == 1)
		c = strcmp(vm_pool_name(sort_snap, va),
			   vm_pool_name(sort_snap, vb));
	else if (sort_col == 2)
		c = strcmp(va->st.state, vb->st.state);
	else if (sort_col == 0)
		c = 0;
	else {
		x = sort_value(a);
		y = sort_value(b);
		c = x < y ? 1 : x > y ? -1 : 0;
	}
	return c ? c : strcmp(va->tbl.vm_id, vb->tbl.vm_id);
}

static void fmt_rate_bytes(char *buf, size_t len, double v, bool ok)
{
	if (!ok) {
		snprintf(buf, len, "-");
		return;
	}
	ctl_fmt_bytes(buf, len, v);
}

static void top_frame(const struct snapshot *old, const struct snapshot *now,
		      int only_pool, double interval, bool tty)
{
	struct vm_rate *rates = calloc(now->nr_vms + 1, sizeof(*rates));
	char tbuf[32], rbw[32], wbw[32], dirty[32], cached[32], hit[16];
	time_t t = time(NULL);
	int i, n = 0;

	if (!rates)
		return;
	for (i = 0; i < now->nr_vms; i++)
		if (now->vms[i].pool >= 0 &&
		    (only_pool < 0 || now->vms[i].pool == only_pool))
			vm_rate(old, now, i, &rates[n++]);
	sort_snap = now;
	qsort(rates, n, sizeof(*rates), rate_cmp);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&t));
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("dmcache-ctl top - %s, %d VM devices, every %.1f s, sorted by %s%s\n",
	       tbuf, n, interval, top_columns[sort_col],
	       tty ? " (q quits)" : "");
	for (i = 0; i < now->nr_pools; i++) {
		const struct pool_status *ps = &now->pools[i].st;

		if (only_pool >= 0 && only_pool != i)
			continue;
		printf("pool %s: %s, %.1f%% used, %.1f%% dirty\n",
		       now->pools[i].dm.name, ps->state,
		       pct(ps->total_blocks - ps->free_blocks,
			   ps->total_blocks),
		       pct(ps->dirty_blocks, ps->total_blocks));
	}
	printf("%-20s %-12s %-9s %8s %8s %10s %10s %6s %10s %10s %8s\n",
	       "VM_ID", "POOL", "STATE", "R/s", "W/s", "RBW/s", "WBW/s",
	       "HIT%", "CACHED", "DIRTY", "THROT/s");
	for (i = 0; i < n; i++) {
		const struct vm_rate *r = &rates[i];
		const struct vm_dev *v = &now->vms[r->idx];

		fmt_rate_bytes(rbw, sizeof(rbw), r->rbw, r->have_bw);
		fmt_rate_bytes(wbw, sizeof(wbw), r->wbw, r->have_bw);
		ctl_fmt_bytes(dirty, sizeof(dirty), r->dirty);
		ctl_fmt_bytes(cached, sizeof(cached), r->cached);
		if (isnan(r->hit))
			snprintf(hit, sizeof(hit), "-");
		else
			snprintf(hit, sizeof(hit), "%.1f", r->hit);
		printf("%-20s %-12s %-9s %8.0f %8.0f %10s %10s %6s %10s %10s %8.0f\n",
		       v->tbl.vm_id, vm_pool_name(now, v), v->st.state,
		       r->riops, r->wiops, rbw, wbw, hit, cached, dirty,
		       r->thr);
	}
	if (!tty)
		putchar('\n');
	fflush(stdout);
	free(rates);
}

static volatile sig_atomic_t top_stop;

static void top_signal(int sig)
{
	top_stop = 1;
}

/* Sleep @secs; on a terminal a 'q' ends top. */
static void top_wait(double secs, bool tty)
{
	double end = ctl_now() + secs;

	while (!top_stop) {
		double left = end - ctl_now();
		struct pollfd p = { .fd = 0, .events = POLLIN };
		char c;

		if (left <= 0)
			return;
		if (!tty) {
			usleep(left > 0.2 ? 200000 : (useconds_t)(left * 1e6));
			continue;
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) > 0 &&
		    read(0, &c, 1) == 1 && (c == 'q' || c == 'Q'))
			top_stop = 1;
	}
}

static int top_options(struct ctl_args *a, double *interval, uint64_t *iter)
{
	const char *sort = ctl_opt(a, "--sort");
	int r, i;

	r = ctl_opt_seconds(a, "--interval", 1.0, interval);
	if (!r && (*interval < 0.1 || *interval > 3600))
		r = ctl_usage("--interval must be from 0.1 to 3600 seconds");
	if (!r)
		r = ctl_opt_u64(a, "--iterations", 0, iter);
	if (r)
		return r;
	sort_col = 5;
	if (!sort)
		return 0;
	for (i = 0; top_columns[i]; i++)
		if (!strcmp(top_columns[i], sort)) {
			sort_col = i;
			return 0;
		}
	return ctl_usage("--sort takes vm, pool, state, riops, wiops, iops, rbw, wbw, bw, hit, cached, dirty or throttled, not \"%s\"",
			 sort);
}

int cmd_top(struct ctl_args *a)
{
	bool tty = isatty(0) && isatty(1);
	struct termios saved, raw;
	struct snapshot old, now;
	int only_pool = -1, r = 0;
	uint64_t iter, done = 0;
	double interval;

	r = top_options(a, &interval, &iter);
	if (r)
		return r;
	if (snapshot_take(&old))
		return EXIT_FAIL;
	if (a->argc) {
		only_pool = resolve_pool(&old, a->argv[0]);
		if (only_pool < 0) {
			snapshot_free(&old);
			return EXIT_FAIL;
		}
	}
	signal(SIGINT, top_signal);
	signal(SIGTERM, top_signal);
	if (tty && !tcgetattr(0, &saved)) {
		raw = saved;
		raw.c_lflag &= ~(ICANON | ECHO);
		tcsetattr(0, TCSANOW, &raw);
	}
	while (!top_stop && (!iter || done < iter)) {
		top_wait(interval, tty);
		if (top_stop)
			break;
		if (snapshot_take(&now)) {
			r = EXIT_FAIL;
			break;
		}
		if (only_pool >= 0)
			only_pool = snapshot_find_pool(&now,
					old.pools[only_pool].dm.name);
		if (a->argc && only_pool < 0) {
			snapshot_free(&now);
			r = ctl_fail("pool %s disappeared", a->argv[0]);
			break;
		}
		top_frame(&old, &now, only_pool, interval, tty);
		snapshot_free(&old);
		old = now;
		done++;
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	snapshot_free(&old);
	return r;
}

/* ---- migrate-plan ------------------------------------------------------------------------- */

struct plan {
	int idx;
	uint64_t dirty;
	double rate;		/* bytes/s, 0 = unknown */
	const char *basis;	/* "vm", "pool", "sysfs" or "-" */
	double eta;		/* seconds, -1 = unknown */
};

static int plan_cmp(const void *pa, const void *pb)
{
	const struct plan *a = pa, *b = pb;

	if ((a->eta < 0) != (b->eta < 0))
		return a->eta < 0 ? 1 : -1;
	if (a->eta >= 0 && a->eta != b->eta)
		return a->eta < b->eta ? -1 : 1;
	if (a->dirty != b->dirty)
		return a->dirty < b->dirty ? -1 : 1;
	return a->idx - b->idx;
}

static void plan_vm(const struct snapshot *old, const struct snapshot *now,
		    int i, double pool_rate, struct plan *p)
{
	const struct vm_dev *v = &now->vms[i];
	struct vm_rate r;

	vm_rate(old, now, i, &r);
	p->idx = i;
	p->dirty = r.dirty;
	p->rate = r.wb_bw;
	p->basis = "vm";
	if (p->rate <= 0 && pool_rate > 0) {
		p->rate = pool_rate;
		p->basis = "pool";
	}
	if (!p->dirty)
		p->eta = 0;
	else if (p->rate > 0)
		p->eta = p->dirty / p->rate;
	else if (v->flush_eta_ms.ok)
		p->eta = v->flush_eta_ms.v / 1000.0;
	else
		p->eta = -1;
	if (p->dirty && p->rate <= 0)
		p->basis = v->flush_eta_ms.ok ? "sysfs" : "-";
}

static void plan_print(const struct snapshot *s, const struct plan *pl,
		       int n, bool json)
{
	char dirty[32], rate[32], eta[32];
	struct json j;
	int i;

	if (json) {
		json_init(&j, stdout);
		json_open(&j, NULL, '{');
		json_u64(&j, "version", JSON_SCHEMA_VERSION);
		json_open(&j, "plan", '[');
	} else {
		printf("%-5s %-24s %-16s %-12s %-6s %10s %12s %10s\n", "ORDER",
		       "VM_ID", "DEVICE", "POOL", "BASIS", "DIRTY", "RATE/s",
		       "EST.FLUSH");
	}
	for (i = 0; i < n; i++) {
		const struct vm_dev *v = &s->vms[pl[i].idx];

		if (json) {
			json_open(&j, NULL, '{');
			json_u64(&j, "order", i + 1);
			json_str(&j, "vm_id", v->tbl.vm_id);
			json_str(&j, "name", v->dm.name);
			json_str(&j, "pool", vm_pool_name(s, v));
			json_str(&j, "state", v->st.state);
			json_u64(&j, "dirty_bytes", pl[i].dirty);
			json_num(&j, "writeback_bytes_per_s", pl[i].rate);
			json_str(&j, "rate_basis", pl[i].basis);
			if (pl[i].eta >= 0)
				json_num(&j, "est_flush_s", pl[i].eta);
			else
				json_null(&j, "est_flush_s");
			json_close(&j, '}');
			continue;
		}
		ctl_fmt_bytes(dirty, sizeof(dirty), pl[i].dirty);
		if (pl[i].rate > 0)
			ctl_fmt_bytes(rate, sizeof(rate), pl[i].rate);
		else
			snprintf(rate, sizeof(rate), "-");
		ctl_fmt_secs(eta, sizeof(eta), pl[i].eta);
		printf("%-5d %-24s %-16s %-12s %-6s %10s %12s %10s\n", i + 1,
		       v->tbl.vm_id, v->dm.name, vm_pool_name(s, v),
		       pl[i].basis, dirty, rate, eta);
	}
	if (json) {
		json_close(&j, ']');
		json_close(&j, '}');
		json_end(&j);
	}
}

int cmd_migrate_plan(struct ctl_args *a)
{
	struct snapshot old, now;
	struct plan *pl;
	double sample;
	int p = -1, i, n = 0, r;

	r = ctl_opt_seconds(a, "--sample", 1.0, &sample);
	if (!r && (sample < 0.1 || sample > 600))
		r = ctl_usage("--sample must be from 0.1 to 600 seconds");
	if (r)
		return r;
	if (snapshot_take(&old))
		return EXIT_FAIL;
	if (a->argc)
		p = resolve_pool(&old, a->argv[0]);
	if (a->argc && p < 0) {
		snapshot_free(&old);
		return EXIT_FAIL;
	}
	usleep((useconds_t)(sample * 1e6));
	if (snapshot_take(&now)) {
		snapshot_free(&old);
		return EXIT_FAIL;
	}
	if (p >= 0)
		p = snapshot_find_pool(&now, old.pools[p].dm.name);
	pl = calloc(now.nr_vms + 1, sizeof(*pl));
	for (i = 0; pl && i < now.nr_vms; i++) {
		const struct vm_dev *v = &now.vms[i];
		int op = v->pool >= 0 ? snapshot_find_pool(&old,
				now.pools[v->pool].dm.name) : -1;
		double prate = 0;

		if (v->pool < 0 || (p >= 0 && v->pool != p))
			continue;
		if (op >= 0)
			prate = delta(now.pools[v->pool].st.writeback_blocks,
				      old.pools[op].st.writeback_blocks,
				      now.when - old.when) *
				now.pools[v->pool].st.block_size;
		plan_vm(&old, &now, i, prate, &pl[n++]);
	}
	if (pl) {
		qsort(pl, n, sizeof(*pl), plan_cmp);
		plan_print(&now, pl, n, ctl_opt(a, "--json"));
	} else {
		r = ctl_fail("out of memory");
	}
	free(pl);
	snapshot_free(&old);
	snapshot_free(&now);
	return r;
}
