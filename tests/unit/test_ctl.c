// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dmcache-ctl (tools/dmcache-ctl) without devices: sizes and
 * numbers, command line options, status and table lines of both targets,
 * sysfs files (a fake tree under $DMCACHE_CTL_SYSFS), the JSON and
 * Prometheus outputs of a synthetic snapshot, and the offline check and
 * dump of pool images built with the module's encoders, intact and
 * damaged on purpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "dm-vwcache-format.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_ctl.XXXXXX";

/* ---- numbers and sizes ------------------------------------------------------------ */

static uint64_t size_of(const char *s, int *r)
{
	uint64_t v = 12345;

	*r = ctl_parse_size(s, &v);
	return v;
}

static void test_sizes(void)
{
	int r;

	CHECK(size_of("4096", &r) == 4096 && !r);
	CHECK(size_of("4K", &r) == 4096 && !r);
	CHECK(size_of("4k", &r) == 4096 && !r);
	CHECK(size_of("4KiB", &r) == 4096 && !r);
	CHECK(size_of("4KB", &r) == 4096 && !r);
	CHECK(size_of("64K", &r) == 65536 && !r);
	CHECK(size_of("1M", &r) == 1048576 && !r);
	CHECK(size_of("2G", &r) == 2147483648ULL && !r);
	CHECK(size_of("1T", &r) == 1ULL << 40 && !r);
	CHECK(size_of("512B", &r) == 512 && !r);
	CHECK(size_of("0", &r) == 0 && !r);
	CHECK(size_of("18446744073709551615", &r) == UINT64_MAX && !r);
	size_of("18446744073709551616", &r);
	CHECK(r == -ERANGE);
	size_of("17179869184G", &r);
	CHECK(r == -ERANGE);
	size_of("", &r);
	CHECK(r == -EINVAL);
	size_of("K", &r);
	CHECK(r == -EINVAL);
	size_of("4X", &r);
	CHECK(r == -EINVAL);
	size_of("4 K", &r);
	CHECK(r == -EINVAL);
	size_of("-1", &r);
	CHECK(r == -EINVAL);
	size_of("1.5G", &r);
	CHECK(r == -EINVAL);
	size_of("4KK", &r);
	CHECK(r == -EINVAL);
	size_of("4Ki", &r);
	CHECK(r == -EINVAL);
	CHECK(ctl_parse_size(NULL, &(uint64_t){0}) == -EINVAL);
}

static void test_numbers(void)
{
	uint64_t v;
	double d;

	CHECK(!ctl_parse_u64("0", &v) && v == 0);
	CHECK(!ctl_parse_u64("007", &v) && v == 7);
	CHECK(ctl_parse_u64("", &v) == -EINVAL);
	CHECK(ctl_parse_u64("1K", &v) == -EINVAL);
	CHECK(ctl_parse_u64("+1", &v) == -EINVAL);
	CHECK(ctl_parse_u64(" 1", &v) == -EINVAL);
	CHECK(ctl_parse_u64("0x10", &v) == -EINVAL);
	CHECK(ctl_parse_u64("99999999999999999999", &v) == -ERANGE);
	CHECK(!ctl_parse_seconds("1", &d) && d == 1);
	CHECK(!ctl_parse_seconds("0.25", &d) && d == 0.25);
	CHECK(ctl_parse_seconds("-1", &d));
	CHECK(ctl_parse_seconds("1s", &d));
	CHECK(ctl_parse_seconds("nan", &d));
	CHECK(ctl_parse_seconds("inf", &d));
	CHECK(ctl_parse_seconds("", &d));
}

static void test_format_helpers(void)
{
	char b[32];

	ctl_fmt_bytes(b, sizeof(b), 0);
	CHECK(!strcmp(b, "0 B"));
	ctl_fmt_bytes(b, sizeof(b), 1536);
	CHECK(!strcmp(b, "1.5 KiB"));
	ctl_fmt_bytes(b, sizeof(b), 3.0 * (1 << 30));
	CHECK(!strcmp(b, "3.0 GiB"));
	ctl_fmt_secs(b, sizeof(b), 75);
	CHECK(!strcmp(b, "1:15"));
	ctl_fmt_secs(b, sizeof(b), 3725);
	CHECK(!strcmp(b, "1:02:05"));
	ctl_fmt_secs(b, sizeof(b), -1);
	CHECK(!strcmp(b, "-"));
}

/* ---- command line ------------------------------------------------------------------- */

static int dummy_run(struct ctl_args *a)
{
	return 0;
}

static const struct ctl_opt test_opts[] = {
	{ "--wait", NULL, "flag" },
	{ "--timeout", "S", "valued" },
	{ "--name", "N", "valued" },
	{ NULL, NULL, NULL }
};

static const struct ctl_cmd test_cmd = {
	"test", "A [B]", 1, 2, test_opts, "a test command", dummy_run,
	CTL_C_NONE
};

static char err_line[512];

/* ctl_parse_cmdline with stderr caught in err_line. */
static int with_stderr(const struct ctl_cmd *c, int argc, char **argv,
		       struct ctl_args *a)
{
	char path[512];
	int saved, fd, r;
	FILE *f;

	snprintf(path, sizeof(path), "%s/err.txt", tmpdir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	r = ctl_parse_cmdline(c, argc, argv, a);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	err_line[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		if (!fgets(err_line, sizeof(err_line), f))
			err_line[0] = '\0';
		fclose(f);
	}
	return r;
}

/* Parse a space separated command line; returns ctl_parse_cmdline's. */
static int parse(const char *line, struct ctl_args *a)
{
	static char buf[256];
	char *argv[16];
	int argc = 0, r;
	char *p;

	snprintf(buf, sizeof(buf), "%s", line);
	for (p = strtok(buf, " "); p; p = strtok(NULL, " "))
		argv[argc++] = p;
	r = with_stderr(&test_cmd, argc, argv, a);
	return r;
}

static void test_cmdline(void)
{
	struct ctl_args a;
	uint64_t v;
	double d;

	CHECK(parse("x", &a) == 0 && a.argc == 1 && !strcmp(a.argv[0], "x"));
	CHECK(!ctl_opt(&a, "--wait") && !ctl_opt(&a, "--name"));
	CHECK(parse("x --wait --timeout 5", &a) == 0);
	CHECK(ctl_opt(&a, "--wait") && !strcmp(ctl_opt(&a, "--wait"), ""));
	CHECK(!strcmp(ctl_opt(&a, "--timeout"), "5"));
	CHECK(!ctl_opt_seconds(&a, "--timeout", 0, &d) && d == 5);
	CHECK(parse("--timeout=2.5 x y", &a) == 0 && a.argc == 2);
	CHECK(!strcmp(ctl_opt(&a, "--timeout"), "2.5"));
	CHECK(parse("x -- --wait", &a) == 0 && a.argc == 2 &&
	      !strcmp(a.argv[1], "--wait") && !ctl_opt(&a, "--wait"));
	CHECK(parse("- x", &a) == 0 && !strcmp(a.argv[0], "-"));
	CHECK(parse("x --name=", &a) == 0 && !strcmp(ctl_opt(&a, "--name"), ""));
	/* refusals: all usage errors, one line each */
	ctl_cmd_name = "test";
	CHECK(parse("x --bogus", &a) == EXIT_USAGE);
	CHECK(!strcmp(err_line, "dmcache-ctl: test: unknown option --bogus (see 'dmcache-ctl help test')\n"));
	CHECK(parse("x --timeout", &a) == EXIT_USAGE);
	CHECK(!strcmp(err_line, "dmcache-ctl: test: option --timeout needs a value (S)\n"));
	CHECK(parse("x y z", &a) == EXIT_USAGE);
	CHECK(!strcmp(err_line, "dmcache-ctl: test: unexpected argument \"z\" (usage: test A [B])\n"));
	CHECK(parse("x", &a) == 0 && !err_line[0]);
	CHECK(parse("", &a) == EXIT_USAGE);
	CHECK(parse("x y z", &a) == EXIT_USAGE);
	CHECK(parse("x --bogus", &a) == EXIT_USAGE);
	CHECK(parse("x --timeout", &a) == EXIT_USAGE);
	CHECK(parse("x --wait=1", &a) == EXIT_USAGE);
	CHECK(parse("x --wait --wait", &a) == EXIT_USAGE);
	CHECK(parse("x --wai", &a) == EXIT_USAGE);
	CHECK(parse("x --name a --name b", &a) == EXIT_USAGE);
	CHECK(parse("x --timeout abc", &a) == 0);
	CHECK(ctl_opt_seconds(&a, "--timeout", 0, &d) == EXIT_USAGE);
	CHECK(parse("x --name 12K", &a) == 0);
	CHECK(!ctl_opt_size(&a, "--name", 0, &v) && v == 12288);
	CHECK(ctl_opt_u64(&a, "--name", 0, &v) == EXIT_USAGE);
}

static const struct ctl_opt rest_opts[] = {
	{ "--timeout", "S", "valued" },
	{ NULL, NULL, NULL }
};

static const struct ctl_cmd rest_cmd = {
	"migrate-domain", "DOMAIN DEST_URI [VIRSH_MIGRATE_OPTION...]", 2, 2,
	rest_opts, "passes the rest on", dummy_run, CTL_C_NONE
};

/* migrate-domain: options of ours before DEST_URI, virsh's after it. */
static void test_cmdline_rest(void)
{
	char *v1[] = { "--timeout", "9", "web", "qemu+ssh://b/system",
		       "--live", "--timeout", "3", "tcp://b" };
	char *v2[] = { "web", "uri", "--", "--persistent" };
	char *v3[] = { "web", "uri" };
	char *v4[] = { "web", "--live" };
	struct ctl_args a;

	CHECK(ctl_cmd_passes_rest(&rest_cmd) && !ctl_cmd_passes_rest(&test_cmd));
	CHECK(with_stderr(&rest_cmd, 8, v1, &a) == 0 && a.argc == 2);
	CHECK(!strcmp(ctl_opt(&a, "--timeout"), "9"));
	CHECK(a.nr_rest == 4 && !strcmp(a.rest[0], "--live") &&
	      !strcmp(a.rest[2], "3") && !strcmp(a.rest[3], "tcp://b"));
	CHECK(with_stderr(&rest_cmd, 4, v2, &a) == 0 && a.nr_rest == 1 &&
	      !strcmp(a.rest[0], "--persistent"));
	CHECK(with_stderr(&rest_cmd, 2, v3, &a) == 0 && a.nr_rest == 0);
	ctl_cmd_name = "migrate-domain";
	CHECK(with_stderr(&rest_cmd, 2, v4, &a) == EXIT_USAGE);
}

/* virsh domblklist --details output, as libvirt 9 prints it. */
static void test_domblklist(void)
{
	char out[512];

	CHECK(ctl_parse_domblklist(
		" Type    Device   Target   Source\n"
		"------------------------------------------------------------\n"
		" block   disk     vda      /dev/mapper/web-vda\n"
		" file    disk     vdb      /var/lib/libvirt/images/x.qcow2\n"
		" file    cdrom    sda      -\n"
		" network disk     vdc      rbd/vol1\n"
		" block   disk     vdd      /dev/disk/by-id/dm-name-a b  \n"
		" block   cdrom    sdb      -\n"
		"\n", out, sizeof(out)) == 2);
	CHECK(!strcmp(out, "/dev/mapper/web-vda\n/dev/disk/by-id/dm-name-a b\n"));
	CHECK(ctl_parse_domblklist(
		" Type   Device   Target   Source\n"
		"-----------------------------------\n", out, sizeof(out)) == 0);
	CHECK(!strcmp(out, ""));
	CHECK(ctl_parse_domblklist("error: failed to get domain 'x'\n", out,
				   sizeof(out)) == -1);
	CHECK(ctl_parse_domblklist("", out, sizeof(out)) == -1);
	CHECK(ctl_parse_domblklist(
		" Type Device Target Source\n----\n block disk vda /dev/x\n",
		out, 7) == -1);
}

static void test_vm_id(void)
{
	char why[160];

	CHECK(!ctl_check_vm_id("web-01.vda", why, sizeof(why)));
	CHECK(!ctl_check_vm_id("a:b_c.d-e", why, sizeof(why)));
	CHECK(ctl_check_vm_id("x y", why, sizeof(why)) &&
	      !strcmp(why, "vm_id \"x y\" has a space"));
	CHECK(ctl_check_vm_id("x/y", why, sizeof(why)) && strstr(why, "'/'"));
	CHECK(ctl_check_vm_id("", why, sizeof(why)) &&
	      !strcmp(why, "vm_id is empty"));
	CHECK(ctl_check_vm_id("x\ty", why, sizeof(why)) &&
	      strstr(why, "0x09"));
	CHECK(!ctl_check_vm_id("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			       why, sizeof(why)));
	CHECK(ctl_check_vm_id("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			      why, sizeof(why)) && strstr(why, "65 characters"));
}

/* ---- status and table lines ---------------------------------------------------------- */

static void test_pool_status(void)
{
	struct pool_status s;

	CHECK(!ctl_parse_pool_status("ok 4096 65000 64000 100 2 10 5 20 15 7 3", &s));
	CHECK(!strcmp(s.state, "ok") && s.block_size == 4096 &&
	      s.total_blocks == 65000 && s.free_blocks == 64000 &&
	      s.dirty_blocks == 100 && s.nr_vms == 2 && s.reads == 10 &&
	      s.read_hits == 5 && s.writes == 20 && s.write_hits == 15 &&
	      s.writeback_blocks == 7 && s.commits == 3);
	/* fields added at the end later are ignored */
	CHECK(!ctl_parse_pool_status("degraded 4096 65000 64000 100 2 10 5 20 15 7 3 99 extra", &s));
	CHECK(!strcmp(s.state, "degraded"));
	CHECK(!ctl_parse_pool_status("failed 65536 64 0 64 0 0 0 0 0 0 0\n", &s));
	CHECK(ctl_parse_pool_status("ok 4096 65000 64000 100 2 10 5 20 15 7", &s));
	CHECK(ctl_parse_pool_status("sad 4096 65000 64000 100 2 10 5 20 15 7 3", &s));
	CHECK(ctl_parse_pool_status("ok 4096 65000 64000 -1 2 10 5 20 15 7 3", &s));
	CHECK(ctl_parse_pool_status("ok 4096 65000 66000 1 2 10 5 20 15 7 3", &s));
	CHECK(ctl_parse_pool_status("", &s));
}

static void test_vm_status(void)
{
	struct vm_status s;

	CHECK(!ctl_parse_vm_status("writeback ok 100 40 1000 900 2000 1500 300 60 7", &s));
	CHECK(!strcmp(s.mode, "writeback") && !strcmp(s.state, "ok") &&
	      s.cached_blocks == 100 && s.dirty_blocks == 40 &&
	      s.reads == 1000 && s.read_hits == 900 && s.writes == 2000 &&
	      s.write_hits == 1500 && s.coalesced == 300 &&
	      s.writeback_blocks == 60 && s.throttled == 7);
	CHECK(!ctl_parse_vm_status("writethrough migrating 1 0 0 0 0 0 0 0 0 5", &s));
	CHECK(!strcmp(s.state, "migrating"));
	CHECK(!ctl_parse_vm_status("passthrough clean 0 0 0 0 0 0 0 0 0", &s));
	CHECK(ctl_parse_vm_status("writeback ok 100 40 1000 900 2000 1500 300 60", &s));
	CHECK(ctl_parse_vm_status("writearound ok 100 40 1000 900 2000 1500 300 60 7", &s));
	CHECK(ctl_parse_vm_status("writeback busy 100 40 1000 900 2000 1500 300 60 7", &s));
	CHECK(ctl_parse_vm_status("writeback ok 10 40 1000 900 2000 1500 300 60 7", &s));
	CHECK(ctl_parse_vm_status("writeback ok 100 40 1000 900 2000 1500 300 60 x", &s));
}

static void test_tables(void)
{
	struct pool_table p;
	struct vm_table v;

	CHECK(!ctl_parse_pool_table("254:16 4096 14 high_watermark 50 low_watermark 25 max_age 60000 commit_interval 1000 writeback_iops 0 io_capacity_iops 0 io_capacity_bw 0", &p));
	CHECK(!strcmp(p.cache_dev, "254:16") && p.block_size == 4096 &&
	      p.nr == 7);
	CHECK(!strcmp(ctl_table_get(p.keys, p.vals, p.nr, "max_age"), "60000"));
	CHECK(!ctl_table_get(p.keys, p.vals, p.nr, "weight"));
	CHECK(!ctl_parse_pool_table("8:16 65536 0", &p) && p.nr == 0);
	CHECK(ctl_parse_pool_table("8:16 65536 2 max_age", &p));
	CHECK(ctl_parse_pool_table("8:16 65536 3 max_age 1 x", &p));
	CHECK(ctl_parse_pool_table("8:16", &p));

	CHECK(!ctl_parse_vm_table("254:0 253:1 web-01.vda 10 mode writeback iops_limit 0 bw_limit 0 cache_quota 0 weight 100", &v));
	CHECK(!strcmp(v.pool_dev, "254:0") && !strcmp(v.origin_dev, "253:1") &&
	      !strcmp(v.vm_id, "web-01.vda") && v.nr == 5);
	CHECK(!strcmp(ctl_table_get(v.keys, v.vals, v.nr, "mode"), "writeback"));
	CHECK(!strcmp(ctl_table_get(v.keys, v.vals, v.nr, "weight"), "100"));
	CHECK(ctl_parse_vm_table("254:0 253:1 web-01.vda", &v));
	CHECK(ctl_parse_vm_table("254:0 253:1 web-01.vda 1 mode", &v));
}

/* ---- sysfs ---------------------------------------------------------------------------- */

static void put(const char *dir, const char *file, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void mkdirs(const char *path)
{
	char buf[512], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	mkdir(buf, 0755);
}

static void test_sysfs(void)
{
	char dir[200], d2[300];
	struct ctl_hist h;
	struct vm_dev v;
	uint64_t x;

	snprintf(dir, sizeof(dir), "%s/block/dm-3/vwcache", tmpdir);
	snprintf(d2, sizeof(d2), "%s/stats", dir);
	mkdirs(d2);
	snprintf(d2, sizeof(d2), "%s/limits", dir);
	mkdirs(d2);
	put(dir, "dirty_bytes", "163840\n");
	put(dir, "flush_eta_ms", "1500\n");
	put(dir, "stats/read_bytes", "4096\n");
	put(dir, "stats/write_bytes", "garbage\n");
	put(dir, "stats/read_iops", "12\n");
	put(dir, "limits/weight", "300\n");
	put(dir, "stats/read_latency_us", "1 0\n2 5\n4 7\n1024 1\n");
	put(dir, "stats/write_latency_us", "4 1\n2 5\n");
	put(dir, "stats/read_latency_sum_ns", "123456789\n");
	put(dir, "stats/writeback_errors", "3\n");

	CHECK(!ctl_sysfs_u64(dir, "dirty_bytes", &x) && x == 163840);
	CHECK(ctl_sysfs_u64(dir, "stats/write_bytes", &x) == -EINVAL);
	CHECK(ctl_sysfs_u64(dir, "nope", &x) == -ENOENT);

	setenv("DMCACHE_CTL_SYSFS", tmpdir, 1);
	CHECK(!strcmp(ctl_sysfs_root(), tmpdir));
	memset(&v, 0, sizeof(v));
	snprintf(v.sysdir, sizeof(v.sysdir), "%s", dir);
	vm_read_sysfs(&v);
	CHECK(v.have_sysfs);
	CHECK(v.dirty_bytes.ok && v.dirty_bytes.v == 163840);
	CHECK(v.flush_eta_ms.ok && v.flush_eta_ms.v == 1500);
	CHECK(v.read_bytes.ok && v.read_bytes.v == 4096);
	CHECK(!v.write_bytes.ok);		/* unparsable: absent */
	CHECK(v.read_iops.ok && v.read_iops.v == 12);
	CHECK(!v.write_iops.ok && !v.read_bw.ok);	/* missing files */
	CHECK(v.weight.ok && v.weight.v == 300 && !v.iops_limit.ok);
	CHECK(v.read_lat.n == 4 && v.read_lat.bucket[3] == 1024 &&
	      v.read_lat.count[2] == 7);
	CHECK(v.write_lat.n == 0);		/* buckets not ascending */
	CHECK(v.read_lat_sum_ns.ok && v.read_lat_sum_ns.v == 123456789);
	CHECK(!v.write_lat_sum_ns.ok);		/* an older module */
	CHECK(v.writeback_errors.ok && v.writeback_errors.v == 3);
	unsetenv("DMCACHE_CTL_SYSFS");
	CHECK(!strcmp(ctl_sysfs_root(), "/sys"));

	memset(&v, 0, sizeof(v));
	snprintf(v.sysdir, sizeof(v.sysdir), "%s/block/dm-9/vwcache", tmpdir);
	vm_read_sysfs(&v);
	CHECK(!v.have_sysfs && !v.dirty_bytes.ok);

	CHECK(!ctl_parse_hist("", &h) && h.n == 0);
	CHECK(!ctl_parse_hist("8 3", &h) && h.n == 1 && h.count[0] == 3);
	CHECK(ctl_parse_hist("8", &h));
	CHECK(ctl_parse_hist("8 x\n", &h));
	CHECK(ctl_parse_hist("8 1\n8 2\n", &h));
}

/* ---- outputs ---------------------------------------------------------------------------- */

/* Run @fn with stdout into a file; the output, malloc'ed. */
static char *capture(int (*fn)(void *), void *arg, int *ret)
{
	char path[512];
	char *out = NULL;
	long n;
	int saved, fd;
	FILE *f;

	snprintf(path, sizeof(path), "%s/out.txt", tmpdir);
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	*ret = fn(arg);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	f = fopen(path, "r");
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	out = calloc(1, n + 1);
	if (fread(out, 1, n, f) != (size_t)n)
		out[0] = '\0';
	fclose(f);
	return out;
}

static void fake_snapshot(struct snapshot *s)
{
	static struct pool_dev pools[1];
	static struct vm_dev vms[2];

	memset(s, 0, sizeof(*s));
	memset(pools, 0, sizeof(pools));
	memset(vms, 0, sizeof(vms));
	strcpy(pools[0].dm.name, "vw\"pool");
	pools[0].dm.minor = 0;
	ctl_parse_pool_status("ok 4096 65000 64000 100 2 10 5 20 15 7 3",
			      &pools[0].st);
	ctl_parse_pool_table("254:16 4096 6 max_age 60000 high_watermark 80 low_watermark 5",
			     &pools[0].tbl);
	strcpy(vms[0].dm.name, "vm1");
	vms[0].dm.minor = 3;
	vms[0].dm.length = 2048;
	ctl_parse_vm_status("writeback ok 100 40 1000 900 2000 1500 300 60 7",
			    &vms[0].st);
	ctl_parse_vm_table("254:0 253:1 web-01.vda 8 mode writeback weight 300 cache_quota 1000 bw_limit 1048576",
			   &vms[0].tbl);
	vms[0].read_bytes = (struct sval){ true, 4096000 };
	vms[0].flush_eta_ms = (struct sval){ true, 1500 };
	ctl_parse_hist("16 3\n32 4\n64 0\n", &vms[0].read_lat);
	vms[0].read_lat_sum_ns = (struct sval){ true, 150500 };
	vms[0].writeback_errors = (struct sval){ true, 2 };
	vms[0].sequential_bypassed = (struct sval){ true, 65536 };
	strcpy(vms[1].dm.name, "vm2");
	vms[1].dm.minor = 4;
	ctl_parse_vm_status("writethrough migrating 8 5 0 0 0 0 0 0 0",
			    &vms[1].st);
	ctl_parse_vm_table("254:0 253:2 db-01.vda 0", &vms[1].tbl);
	s->pools = pools;
	s->nr_pools = 1;
	s->vms = vms;
	s->nr_vms = 2;
}

static int do_prom(void *arg)
{
	stats_prometheus(stdout, arg, -1, -1);
	return 0;
}

static int do_json(void *arg)
{
	stats_json(stdout, arg, -1, -1);
	return 0;
}

/* Every sample line: vwcache_NAME{pool="..",vm_id=".."...} VALUE. */
static bool prom_lines_ok(char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *brace = strchr(line, '{'), *end = strrchr(line, '}');

		if (line[0] == '#') {
			if (strncmp(line, "# HELP vwcache_", 15) &&
			    strncmp(line, "# TYPE vwcache_", 15))
				return false;
			continue;
		}
		if (strncmp(line, "vwcache_", 8) || !brace || !end ||
		    strncmp(brace, "{pool=\"", 7) || end[1] != ' ')
			return false;
		if (strtoull(end + 2, NULL, 10) == 0 && end[2] != '0')
			return false;
	}
	return true;
}

/*
 * The naming rules of https://prometheus.io/docs/practices/naming/ that a
 * program can check, and the shape of each histogram: counters end in
 * _total, no metric is in ms or us or mixes settings under a label, and
 * every histogram series has increasing "le" bounds, cumulative counts,
 * +Inf equal to _count, and a _sum no less than 0.
 */
static bool prom_conventions_ok(const char *text)
{
	char type[128] = "", family[128] = "", series[512] = "";
	double last_le = -1, last_cum = -1, inf = -1;
	bool ok = true, have_sum = false;
	const char *line = text;

	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[1024], name[256], *brace, *sp, *le;
		double v;

		snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		line += len + (nl ? 1 : 0);
		if (!strncmp(buf, "# TYPE ", 7)) {
			if (sscanf(buf + 7, "%127s %127s", family, type) != 2)
				return false;
			if (!strcmp(type, "counter") &&
			    !strstr(family + strlen(family) - 6, "_total"))
				ok = false;
			if (strstr(family, "microseconds") ||
			    strstr(family, "milliseconds") ||
			    strstr(family, "_setting") ||
			    strstr(family, "_percent"))
				ok = false;
			continue;
		}
		if (buf[0] == '#' || !buf[0])
			continue;
		sp = strrchr(buf, ' ');
		if (!sp)
			return false;
		v = strtod(sp + 1, NULL);
		brace = strchr(buf, '{');
		snprintf(name, sizeof(name), "%.*s",
			 (int)((brace ? brace : sp) - buf), buf);
		if (strncmp(name, family, strlen(family)))
			ok = false;	/* a sample outside its family */
		if (strcmp(type, "histogram"))
			continue;
		le = strstr(buf, ",le=\"");
		if (!strcmp(name + strlen(family), "_bucket") && le) {
			char key[512];

			snprintf(key, sizeof(key), "%.*s", (int)(le - buf), buf);
			if (strcmp(key, series)) {	/* a new series */
				snprintf(series, sizeof(series), "%s", key);
				last_le = -1;
				last_cum = -1;
				inf = -1;
				have_sum = false;
			}
			if (!strncmp(le + 5, "+Inf", 4)) {
				inf = v;
			} else {
				double b = strtod(le + 5, NULL);

				if (b <= last_le || inf >= 0)
					ok = false;
				last_le = b;
			}
			if (v < last_cum)
				ok = false;
			last_cum = v;
		} else if (!strcmp(name + strlen(family), "_sum")) {
			have_sum = v >= 0;
		} else if (!strcmp(name + strlen(family), "_count")) {
			if (inf < 0 || v != inf || !have_sum)
				ok = false;
		} else {
			ok = false;
		}
	}
	return ok;
}

static void promtool_check(const char *text)
{
	char path[512], cmd[700];
	FILE *f;

	if (system("command -v promtool >/dev/null 2>&1")) {
		fprintf(stderr, "test_ctl: promtool not installed, its check skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/out.prom", tmpdir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	CHECK(system(cmd) == 0);
}

static void test_outputs(void)
{
	struct snapshot s;
	char *out, path[512], cmd[700];
	int r;

	fake_snapshot(&s);
	s.vms[0].pool = 0;
	s.vms[1].pool = 0;
	out = capture(do_prom, &s, &r);
	CHECK(strstr(out, "# TYPE vwcache_vm_dirty_blocks gauge\n"));
	CHECK(strstr(out, "vwcache_vm_dirty_blocks{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 40\n"));
	CHECK(strstr(out, "vwcache_vm_dirty_bytes{pool=\"vw\\\"pool\",vm_id=\"db-01.vda\"} 20480\n"));
	CHECK(strstr(out, "vwcache_pool_blocks{pool=\"vw\\\"pool\"} 65000\n"));
	CHECK(strstr(out, "# TYPE vwcache_vm_reads_total counter\n"));
	CHECK(strstr(out, "vwcache_vm_read_bytes_total{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 4096000\n"));
	/* a sysfs value the module lacks is left out, not made up */
	CHECK(!strstr(out, "vwcache_vm_read_bytes_total{pool=\"vw\\\"pool\",vm_id=\"db-01.vda\"}"));
	CHECK(!strstr(out, "vwcache_vm_write_iops"));
	CHECK(strstr(out, "vwcache_vm_state{pool=\"vw\\\"pool\",vm_id=\"db-01.vda\",state=\"migrating\"} 1\n"));
	CHECK(strstr(out, "vwcache_vm_state{pool=\"vw\\\"pool\",vm_id=\"db-01.vda\",state=\"ok\"} 0\n"));
	CHECK(strstr(out, "vwcache_pool_state{pool=\"vw\\\"pool\",state=\"ok\"} 1\n"));
	/* histograms in seconds, with _sum and _count; the module's last
	 * line (64 us here) counts longer I/Os too: only in +Inf */
	CHECK(strstr(out, "# TYPE vwcache_vm_read_latency_seconds histogram\n"));
	CHECK(strstr(out, "vwcache_vm_read_latency_seconds_bucket{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\",le=\"0.000016\"} 3\n"));
	CHECK(strstr(out, "vwcache_vm_read_latency_seconds_bucket{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\",le=\"0.000032\"} 7\n"));
	CHECK(!strstr(out, "le=\"0.000064\""));
	CHECK(strstr(out, "vwcache_vm_read_latency_seconds_bucket{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\",le=\"+Inf\"} 7\n"));
	CHECK(strstr(out, "vwcache_vm_read_latency_seconds_sum{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 0.0001505\n"));
	CHECK(strstr(out, "vwcache_vm_read_latency_seconds_count{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 7\n"));
	CHECK(!strstr(out, "vwcache_vm_write_latency_seconds_bucket"));
	CHECK(!strstr(out, "microseconds") && !strstr(out, "milliseconds"));
	/* one metric per setting, in base units */
	CHECK(!strstr(out, "vwcache_vm_setting"));
	CHECK(strstr(out, "vwcache_vm_weight{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 300\n"));
	CHECK(strstr(out, "vwcache_vm_cache_quota_bytes{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 4096000\n"));
	CHECK(strstr(out, "vwcache_vm_bw_limit_bytes_per_second{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 1048576\n"));
	CHECK(!strstr(out, "vwcache_vm_iops_limit{"));	/* not in the table */
	CHECK(strstr(out, "vwcache_pool_max_age_seconds{pool=\"vw\\\"pool\"} 60\n"));
	CHECK(strstr(out, "vwcache_pool_high_watermark_ratio{pool=\"vw\\\"pool\"} 0.8\n"));
	CHECK(strstr(out, "vwcache_pool_low_watermark_ratio{pool=\"vw\\\"pool\"} 0.05\n"));
	/* a setting the table leaves out when off is 0, not absent */
	CHECK(strstr(out, "vwcache_pool_sequential_cutoff_bytes{pool=\"vw\\\"pool\"} 0\n"));
	CHECK(strstr(out, "vwcache_vm_sequential_bypass_bytes_total{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 65536\n"));
	/* space in bytes */
	CHECK(strstr(out, "vwcache_vm_cached_bytes{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 409600\n"));
	CHECK(strstr(out, "vwcache_pool_dirty_bytes{pool=\"vw\\\"pool\"} 409600\n"));
	CHECK(strstr(out, "vwcache_pool_size_bytes{pool=\"vw\\\"pool\"} 266240000\n"));
	CHECK(strstr(out, "vwcache_vm_writeback_bytes_total{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 245760\n"));
	/* 100 dirty in the pool, 40 + 5 of attached VMs: 55 blocks orphaned */
	CHECK(strstr(out, "vwcache_pool_orphaned_dirty_bytes{pool=\"vw\\\"pool\"} 225280\n"));
	CHECK(strstr(out, "# TYPE vwcache_vm_writeback_errors_total counter\n"));
	CHECK(strstr(out, "vwcache_vm_writeback_errors_total{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 2\n"));
	CHECK(strstr(out, "vwcache_vm_flush_eta_seconds{pool=\"vw\\\"pool\",vm_id=\"web-01.vda\"} 1.5\n"));
	CHECK(prom_conventions_ok(out));
	promtool_check(out);
	/* the checker itself: a falling bucket, +Inf off _count, a counter
	 * without _total, a unit that is not a base unit */
	CHECK(!prom_conventions_ok("# TYPE vwcache_h_seconds histogram\n"
		"vwcache_h_seconds_bucket{pool=\"p\",le=\"1\"} 3\n"
		"vwcache_h_seconds_bucket{pool=\"p\",le=\"2\"} 2\n"
		"vwcache_h_seconds_bucket{pool=\"p\",le=\"+Inf\"} 3\n"
		"vwcache_h_seconds_sum{pool=\"p\"} 1\n"
		"vwcache_h_seconds_count{pool=\"p\"} 3\n"));
	CHECK(!prom_conventions_ok("# TYPE vwcache_h_seconds histogram\n"
		"vwcache_h_seconds_bucket{pool=\"p\",le=\"1\"} 3\n"
		"vwcache_h_seconds_bucket{pool=\"p\",le=\"+Inf\"} 3\n"
		"vwcache_h_seconds_sum{pool=\"p\"} 1\n"
		"vwcache_h_seconds_count{pool=\"p\"} 4\n"));
	CHECK(prom_conventions_ok("# TYPE vwcache_h_seconds histogram\n"
		"vwcache_h_seconds_bucket{pool=\"p\",le=\"1\"} 3\n"
		"vwcache_h_seconds_bucket{pool=\"p\",le=\"+Inf\"} 3\n"
		"vwcache_h_seconds_sum{pool=\"p\"} 1\n"
		"vwcache_h_seconds_count{pool=\"p\"} 3\n"));
	CHECK(!prom_conventions_ok("# TYPE vwcache_x counter\nvwcache_x{pool=\"p\"} 1\n"));
	CHECK(!prom_conventions_ok("# TYPE vwcache_x_milliseconds gauge\n"));
	CHECK(prom_lines_ok(out));
	free(out);

	out = capture(do_json, &s, &r);
	CHECK(strstr(out, "\"version\": 1"));
	CHECK(strstr(out, "\"name\": \"vw\\\"pool\""));
	CHECK(strstr(out, "\"vm_id\": \"web-01.vda\""));
	CHECK(strstr(out, "\"dirty_bytes\": 163840"));
	CHECK(strstr(out, "\"read_bytes\": 4096000"));
	CHECK(strstr(out, "\"write_bytes\": null"));
	CHECK(strstr(out, "\"weight\": 300"));
	CHECK(strstr(out, "\"mode\": \"writeback\""));
	CHECK(strstr(out, "\"orphaned_dirty_bytes\": 225280"));
	CHECK(strstr(out, "\"writeback_errors\": 2"));
	CHECK(strstr(out, "\"read_latency_sum_ns\": 150500"));
	CHECK(strstr(out, "\"write_latency_sum_ns\": null"));
	snprintf(path, sizeof(path), "%s/out.json", tmpdir);
	{
		FILE *f = fopen(path, "w");

		if (f) {
			fputs(out, f);
			fclose(f);
		}
	}
	if (!system("command -v python3 >/dev/null 2>&1")) {
		snprintf(cmd, sizeof(cmd),
			 "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
			 "assert d[\"pools\"][0][\"vms\"][1][\"state\"]==\"migrating\"' %s",
			 path);
		CHECK(system(cmd) == 0);
	}
	free(out);
}

/* ---- offline check and dump ----------------------------------------------------------------- */

#define IMG_MIB	16

static struct vwc_sb img_sb;
static char img_path[512];

static void img_write(const void *buf, size_t len, uint64_t off)
{
	int fd = open(img_path, O_WRONLY);

	CHECK(fd >= 0 && pwrite(fd, buf, len, off) == (ssize_t)len);
	close(fd);
}

static void img_entry(u64 cb, u32 vm, u64 oblock, bool dirty, u64 seq)
{
	const struct vwc_layout *l = &img_sb.layout;
	struct vwc_disk_entry_sub d;
	struct vwc_entry e = { .oblock = oblock, .vm = vm, .valid = true,
			       .dirty = dirty, .map = 1 };

	vwc_entry_encode(l, &d, cb, &e, seq, vwc_uuid_seed(img_sb.uuid));
	img_write(&d, l->entry_size, l->entries_start * 512 +
		  cb * l->entry_size);
}

static void img_vm(u32 slot, const char *id, u64 seq)
{
	struct vwc_vm_record r = { .generation = 3, .in_use = true };
	struct vwc_disk_vm d;

	strcpy(r.vm_id, id);
	vwc_vm_encode(&d, slot, &r, seq, vwc_uuid_seed(img_sb.uuid));
	img_write(&d, sizeof(d), img_sb.layout.vm_table_start * 512 +
		  slot * sizeof(d));
}

/* A 16 MiB pool at commit 10: web-01 (slot 0), db-01 (slot 3). */
static void img_build(void)
{
	static const u8 uuid[16] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4,
				     5, 6 };
	char sb[VWC_SB_SIZE];
	struct vwc_layout l;
	int fd;

	snprintf(img_path, sizeof(img_path), "%s/pool.img", tmpdir);
	fd = open(img_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && !ftruncate(fd, IMG_MIB << 20));
	close(fd);
	CHECK(!vwc_layout_compute(IMG_MIB << 11, 4096, VWC_FORMAT_INCOMPAT, &l));
	vwc_sb_init(&img_sb, &l, uuid);
	img_sb.seq = 9;
	img_sb.copy = 1;
	vwc_sb_encode(&img_sb, sb);
	img_write(sb, sizeof(sb), VWC_SB_SIZE);
	img_sb.seq = 10;
	img_sb.copy = 0;
	vwc_sb_encode(&img_sb, sb);
	img_write(sb, sizeof(sb), 0);
	img_vm(0, "web-01.vda", 2);
	img_vm(3, "db-01.vda", 11);	/* records count whatever their seq */
	img_entry(0, 0, 100, true, 5);
	img_entry(1, 0, 101, false, 5);
	img_entry(2, 3, 100, true, 10);
	img_entry(5, 3, 7, true, 10);
	img_entry(6, 3, 8, false, 11);	/* uncommitted: ignored */
	img_entry(7, 0, 100, true, 11);	/* uncommitted duplicate: ignored */
}

static const struct ctl_opt chk_opts[] = {
	{ "--json", NULL, "" }, { "--force", NULL, "" }, { NULL, NULL, NULL }
};
static const struct ctl_cmd chk_cmd = {
	"check", "DEV", 1, 1, chk_opts, "", cmd_check, CTL_C_DEV
};
static const struct ctl_cmd dump_cmd = {
	"dump", "DEV", 1, 1, chk_opts, "", cmd_dump, CTL_C_DEV
};

static int run_cmd(void *arg)
{
	const struct ctl_cmd *c = arg;
	char *argv[] = { img_path, "--json" };
	struct ctl_args a;

	if (ctl_parse_cmdline(c, c == &dump_cmd ? 2 : 1, argv, &a))
		return -1;
	return c->run(&a);
}

/* check's exit status, and whether its report has @want. */
static bool check_says(int status, const char *want)
{
	int r;
	char *out = capture(run_cmd, (void *)&chk_cmd, &r);
	bool ok = r == status && (!want || strstr(out, want));

	if (!ok)
		fprintf(stderr, "check returned %d, wanted %d and '%s':\n%s\n",
			r, status, want ? want : "", out);
	free(out);
	return ok;
}

static void flip(uint64_t off)
{
	unsigned char c;
	int fd = open(img_path, O_RDWR);

	CHECK(fd >= 0 && pread(fd, &c, 1, off) == 1);
	c ^= 0x5a;
	CHECK(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

static void test_check(void)
{
	uint64_t entries, vmt;
	char *out;
	int r;

	ctl_cmd_name = "check";
	img_build();
	entries = img_sb.layout.entries_start * 512;
	vmt = img_sb.layout.vm_table_start * 512;
	CHECK(check_says(0, "result: clean"));
	CHECK(check_says(0, "entries: 4 valid (3 dirty)"));
	CHECK(check_says(0, "2 uncommitted (ignored)"));
	CHECK(check_says(0, "superblock copy 1: ok, commit 9"));

	out = capture(run_cmd, (void *)&dump_cmd, &r);
	CHECK(r == 0);
	CHECK(strstr(out, "\"vm_id\": \"web-01.vda\",\n      \"generation\": 3,\n      \"cached_blocks\": 2,\n      \"dirty_blocks\": 1"));
	CHECK(strstr(out, "\"slot\": 3"));
	CHECK(strstr(out, "\"cached_blocks\": 4"));
	free(out);

	/* superblock copy 1 damaged: reported, the module would still load */
	flip(VWC_SB_SIZE + 200);
	CHECK(check_says(1, "superblock copy 1: Pool superblock checksum mismatch"));
	CHECK(check_says(1, "loads this pool from the intact superblock copy"));
	flip(VWC_SB_SIZE + 200);
	CHECK(check_says(0, "result: clean"));

	/* copy 0 damaged but with its magic: copy 1 (commit 9) stands in */
	flip(100);
	CHECK(check_says(1, "superblock copy 0: Pool superblock checksum mismatch"));
	CHECK(check_says(1, "commit 9 (copy 1)"));
	flip(100);

	/* an entry's map and another's check field */
	flip(entries + 5 * 32 + 2);
	flip(entries + 1 * 32 + 9);
	CHECK(check_says(1, "entry 5: checksum mismatch"));
	CHECK(check_says(1, "entry 1: checksum mismatch"));
	CHECK(check_says(1, "the module refuses to load this pool"));
	flip(entries + 5 * 32 + 2);
	flip(entries + 1 * 32 + 9);
	CHECK(check_says(0, "result: clean"));

	/* a VM record's vm_id */
	flip(vmt + 3 * 128 + 1);
	CHECK(check_says(1, "VM record 3: checksum mismatch"));
	/* ...which orphans that slot's entries too */
	CHECK(check_says(1, "2 entries belong to VM slot 3, whose record is damaged"));
	flip(vmt + 3 * 128 + 1);

	/* two committed entries for one block; an entry of an unused slot */
	img_entry(9, 0, 101, true, 10);
	CHECK(check_says(1, "two entries claim block 101 of VM slot 0"));
	img_entry(9, 7, 1, true, 10);
	CHECK(check_says(1, "entry 9: block 1 of VM slot 7, which holds no vm_id"));
	img_entry(9, 0, 9, true, 10);
	CHECK(check_says(0, "result: clean"));

	/* foreign data over copy 0, then a zeroed head: no pool */
	flip(4);
	CHECK(check_says(1, NULL));
	{
		char zero[VWC_SB_SIZE] = { 0 };

		img_write(zero, sizeof(zero), 0);
	}
	CHECK(check_says(1, NULL));
	CHECK(!unlink(img_path));
	CHECK(check_says(1, NULL));
}

/* ---- /etc/dm-vwcache/vwcache.conf --------------------------------------------- */

/* Parse @text; on failure the message must hold @want ("" = must parse). */
static bool conf_case(const char *text, const char *want, struct conf *c)
{
	char err[512] = "";
	int r = ctl_conf_parse(c, "t.conf", text, err, sizeof(err));

	if (!*want)
		return !r || (fprintf(stderr, "  unexpected: %s\n", err), false);
	if (!r) {
		fprintf(stderr, "  accepted, expected \"%s\": %s", want, text);
		ctl_conf_free(c);
		return false;
	}
	if (!strstr(err, want)) {
		fprintf(stderr, "  got \"%s\", expected \"%s\"\n", err, want);
		return false;
	}
	return c->nr == 0 && !c->e;
}

#define GOOD_POOL "pool ssd0 /dev/disk/by-id/nvme-A block_size=8K high_watermark=60\n"

static void test_conf(void)
{
	static const struct { const char *text, *err; } bad[] = {
		{ "pol ssd0 /dev/sda\n", "t.conf:1: unknown line \"pol\"" },
		{ "pool ssd0\n", "t.conf:1: a pool line is" },
		{ "# c\n\npool ssd0 /dev/sda\nvm a ssd0 /dev/sdb\n", "t.conf:4: a vm line is" },
		{ "pool ssd/0 /dev/sda\n", "t.conf:1: invalid device name" },
		{ "pool ssd0 sda\n", "t.conf:1: cache device \"sda\" is not an absolute path" },
		{ "pool ssd0 /dev/sda\npool ssd0 /dev/sdb\n", "t.conf:2: the name ssd0 is taken by line 1" },
		{ "pool ssd0 /dev/sda\npool ssd1 /dev/sda\n", "t.conf:2: /dev/sda is already the cache device of line 1" },
		{ "pool ssd0 /dev/sda\nvm v ssd0 /dev/sda x\n", "t.conf:2: /dev/sda is already the cache device" },
		{ "vm v ssd0 /dev/sdb x\npool ssd0 /dev/sda\n", "t.conf:1: no pool line named ssd0 above" },
		{ "pool ssd0 /dev/sda\nvm v ssd1 /dev/sdb x\n", "t.conf:2: no pool line named ssd1" },
		{ "pool ssd0 /dev/sda\nvm v ssd0 /dev/sdb x\nvm w v /dev/sdc y\n", "t.conf:3: no pool line named v" },
		{ "pool ssd0 /dev/sda\nvm v ssd0 /dev/sdb bad/id\n", "t.conf:2: vm_id \"bad/id\" has '/'" },
		{ "pool ssd0 /dev/sda\nvm v ssd0 /dev/sdb x\nvm w ssd0 /dev/sdc x\n", "t.conf:3: vm_id x is already in pool ssd0 on line 2" },
		{ "pool ssd0 /dev/sda\nvm v ssd0 /dev/sdb x\nvm w ssd0 /dev/sdb y\n", "t.conf:3: /dev/sdb is already the origin device of line 2" },
		{ "pool ssd0 /dev/sda high_watermark\n", "t.conf:1: \"high_watermark\" is not key=value" },
		{ "pool ssd0 /dev/sda =5\n", "is not key=value" },
		{ "pool ssd0 /dev/sda max_age=\n", "is not key=value" },
		{ "pool ssd0 /dev/sda mode=writeback\n", "t.conf:1: a pool line has no setting \"mode\"" },
		{ "pool ssd0 /dev/sda\nvm v ssd0 /dev/sdb x max_age=5\n", "t.conf:2: a vm line has no setting \"max_age\"" },
		{ "pool ssd0 /dev/sda max_age=5 max_age=6\n", "max_age given twice" },
		{ "pool ssd0 /dev/sda block_size=3K\n", "block_size must be a power of two from 4K to 64K, not 3K" },
		{ "pool ssd0 /dev/sda block_size=128K\n", "block_size must be a power of two" },
		{ "pool ssd0 /dev/sda format=yes\n", "format=yes: the only value is \"zeroed\"" },
		{ "pool ssd0 /dev/sda high_watermark=101\n", "high_watermark 101: high_watermark must be an integer from 1 to 100" },
		{ "pool ssd0 /dev/sda low_watermark=60\n", "low_watermark must be below high_watermark" },
		{ "pool ssd0 /dev/sda max_age=1m\n", "max_age wants a whole number, not \"1m\"" },
		{ "pool ssd0 /dev/sda io_capacity_bw=5X\n", "io_capacity_bw wants a size" },
		{ "pool ssd0 /dev/sda\nvm v ssd0 /dev/sdb x mode=fast\n", "mode must be writeback, writethrough or passthrough" },
		{ "pool ssd0 /dev/sda\nvm v ssd0 /dev/sdb x weight=0\n", "weight must be an integer from 1 to 1000" },
		{ "pool ssd0 /dev/sda\nvm v ssd0 /dev/sdb x bw_limit=1Q\n", "bw_limit wants a size" },
		{ "option stop_flush=maybe\n", "t.conf:1: stop_flush is yes or no" },
		{ "option stop_timeout=0\n", "stop_timeout is seconds from 1 to 86400" },
		{ "option stop_timeout=1h\n", "stop_timeout is seconds" },
		{ "option flush=yes\n", "no option \"flush\"" },
		{ "option\n", "an option line is" },
		/* good lines before a bad one: still nothing */
		{ GOOD_POOL "vm v ssd0 /dev/sdb x\nvm w ssd0 /dev/sdc y iops_limit=-1\n", "t.conf:3: iops_limit wants a whole number" },
	};
	char *argv[40], buf[2048];
	struct conf c;
	size_t i;
	int n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool ok = conf_case(bad[i].text, bad[i].err, &c);

		if (!ok)
			fprintf(stderr, "  bad config case %zu\n", i);
		CHECK(ok);
	}

	/* A good file: comments, blank lines, tabs, options, order kept. */
	CHECK(conf_case("# dm-vwcache\n\n" GOOD_POOL
			"pool\tssd1 /dev/sdz format=zeroed   # new SSD\n"
			"vm web01 ssd0 /dev/vg0/web01 web-01.vda mode=writethrough cache_quota=1G weight=200\n"
			"vm db01 ssd1 /dev/disk/by-id/scsi-3600a db-01.vda\n"
			"option stop_flush=yes stop_timeout=120\n", "", &c));
	CHECK(c.nr == 4);
	CHECK(!c.e[0].vm && !strcmp(c.e[0].name, "ssd0") &&
	      !strcmp(c.e[0].dev, "/dev/disk/by-id/nvme-A") && c.e[0].line == 3 &&
	      c.e[0].nr == 2 && !c.e[0].format);
	CHECK(!c.e[1].vm && c.e[1].format && c.e[1].line == 4);
	CHECK(c.e[2].vm && !strcmp(c.e[2].pool, "ssd0") && c.e[2].pool_entry == 0 &&
	      !strcmp(c.e[2].vm_id, "web-01.vda") && c.e[2].nr == 3);
	CHECK(c.e[3].vm && c.e[3].pool_entry == 1 && c.e[3].nr == 0);
	CHECK(c.stop_flush && c.stop_timeout == 120);

	/* The command lines assemble runs through the command table. */
	n = ctl_conf_argv(&c.e[0], argv, 40, buf, sizeof(buf));
	CHECK(n == 8);
	if (n == 8)
		CHECK(!strcmp(argv[0], "pool-create") &&
		      !strcmp(argv[1], "/dev/disk/by-id/nvme-A") &&
		      !strcmp(argv[2], "--name") && !strcmp(argv[3], "ssd0") &&
		      !strcmp(argv[4], "--block-size") && !strcmp(argv[5], "8K") &&
		      !strcmp(argv[6], "--high-watermark") && !strcmp(argv[7], "60"));
	n = ctl_conf_argv(&c.e[1], argv, 40, buf, sizeof(buf));
	CHECK(n == 4);		/* format= is assemble's, not an option */
	n = ctl_conf_argv(&c.e[2], argv, 40, buf, sizeof(buf));
	CHECK(n == 12);
	if (n == 12)
		CHECK(!strcmp(argv[0], "attach") && !strcmp(argv[1], "ssd0") &&
		      !strcmp(argv[2], "/dev/vg0/web01") &&
		      !strcmp(argv[3], "web-01.vda") && !strcmp(argv[5], "web01") &&
		      !strcmp(argv[6], "--mode") && !strcmp(argv[8], "--cache-quota") &&
		      !strcmp(argv[9], "1G") && !strcmp(argv[10], "--weight"));
	CHECK(ctl_conf_argv(&c.e[2], argv, 5, buf, sizeof(buf)) == -1);
	CHECK(ctl_conf_argv(&c.e[2], argv, 40, buf, 20) == -1);
	ctl_conf_free(&c);

	/* Defaults, an empty file, and one read from disk. */
	CHECK(conf_case("# nothing\n", "", &c) && c.nr == 0 && !c.stop_flush &&
	      c.stop_timeout == CTL_CONF_STOP_TIMEOUT);
	ctl_conf_free(&c);
	{
		char path[600], err[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/vwcache.conf", tmpdir);
		f = fopen(path, "w");
		CHECK(f != NULL);
		if (f) {
			fputs(GOOD_POOL "vm v ssd0 /dev/sdb x\nbogus\n", f);
			fclose(f);
		}
		CHECK(ctl_conf_load(&c, path, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "vwcache.conf:3: unknown line \"bogus\"") &&
		      c.nr == 0);
		CHECK(ctl_conf_load(&c, "/nonexistent/vwcache.conf", err,
				    sizeof(err)) == -ENOENT &&
		      strstr(err, "cannot read /nonexistent/vwcache.conf"));
	}
}

/* SHA-256 against the FIPS 180-4 examples, and as the module uses it. */
static void test_sha256(void)
{
	static const char *const in[] = {
		"", "abc",
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	};
	static const char *const want[] = {
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	};
	uint8_t d[32];
	char hex[65];
	int i, k;

	for (i = 0; i < 3; i++) {
		ctl_sha256(in[i], strlen(in[i]), d);
		for (k = 0; k < 32; k++)
			sprintf(hex + 2 * k, "%02x", d[k]);
		CHECK(!strcmp(hex, want[i]));
	}
}

/*
 * vwcache_orphan_dirty_bytes from the image as a pool's cache device with
 * no VM device attached: every dirty vm_id is an orphan, its origin the
 * record's digest (no device of this host has that identity), "" when the
 * record does not know it.  A pool whose status shows no orphaned dirty
 * blocks is not read.
 */
static void test_orphan_metric(const uint8_t *dig)
{
	static struct pool_dev pool;
	struct snapshot s = { .pools = &pool, .nr_pools = 1 };
	char want[300], hex[2 * VWC_ORIGIN_DIGEST_SIZE + 1];
	char *out;
	int i, r;

	for (i = 0; i < VWC_ORIGIN_DIGEST_SIZE; i++)
		sprintf(hex + 2 * i, "%02x", dig[i]);
	memset(&pool, 0, sizeof(pool));
	strcpy(pool.dm.name, "ssd0");
	CHECK(strlen(img_path) < sizeof(pool.tbl.cache_dev));
	memcpy(pool.tbl.cache_dev, img_path, strlen(img_path) + 1);
	pool.st.block_size = 4096;
	pool.st.dirty_blocks = 5;
	out = capture(do_prom, &s, &r);
	CHECK(strstr(out, "# TYPE vwcache_orphan_dirty_bytes gauge\n"));
	snprintf(want, sizeof(want), "vwcache_orphan_dirty_bytes{pool=\"ssd0\",vm_id=\"app-05.vda\",origin_kind=\"dm-uuid\",origin=\"%s\"} 8192\n",
		 hex);
	CHECK(strstr(out, want));
	CHECK(strstr(out, "vwcache_orphan_dirty_bytes{pool=\"ssd0\",vm_id=\"web-01.vda\",origin_kind=\"unknown\",origin=\"\"} 4096\n"));
	CHECK(strstr(out, "vwcache_orphan_dirty_bytes{pool=\"ssd0\",vm_id=\"db-01.vda\",origin_kind=\"unknown\",origin=\"\"} 8192\n"));
	CHECK(!strstr(out, "vm_id=\"idle.vda\""));
	CHECK(strstr(out, "vwcache_pool_orphaned_dirty_bytes{pool=\"ssd0\"} 20480\n"));
	CHECK(prom_conventions_ok(out));
	promtool_check(out);
	free(out);
	pool.st.dirty_blocks = 0;	/* nothing orphaned: not read */
	out = capture(do_prom, &s, &r);
	CHECK(strstr(out, "# TYPE vwcache_orphan_dirty_bytes gauge\n") &&
	      !strstr(out, "vwcache_orphan_dirty_bytes{"));
	free(out);
}

/*
 * ctl_vm_slots: the vm_ids with dirty blocks in the image (or every
 * in-use record), with the origin their records keep (slot 5: a dm UUID,
 * 2 dirty blocks).
 */
static void test_dirty_slots(void)
{
	struct vwc_vm_record r = { .generation = 1, .in_use = true };
	struct ctl_slot_dirty *d;
	struct ctl_orphan o = { 0 };
	struct vwc_disk_vm rec;
	uint8_t dig[32];
	int nr, i, seen = 0;

	img_build();
	strcpy(r.vm_id, "app-05.vda");
	r.origin.kind = VWC_ORIGIN_DM_UUID;
	r.origin.sectors = 131072;
	ctl_sha256("LVM-abc", 7, dig);
	memcpy(r.origin.digest, dig, sizeof(r.origin.digest));
	vwc_vm_encode(&rec, 5, &r, 10, vwc_uuid_seed(img_sb.uuid));
	img_write(&rec, sizeof(rec), img_sb.layout.vm_table_start * 512 +
		  5 * sizeof(rec));
	img_entry(8, 5, 1, true, 10);
	img_entry(9, 5, 2, true, 10);
	img_vm(7, "idle.vda", 10);	/* in use, nothing cached */
	CHECK(ctl_vm_slots(img_path, false, &d, &nr) == 0);
	CHECK(nr == 4 && !strcmp(d[3].vm_id, "idle.vda") &&
	      !d[3].dirty_blocks);
	free(d);
	CHECK(ctl_vm_slots(img_path, true, &d, &nr) == 0);
	CHECK(nr == 3);
	for (i = 0; i < nr; i++) {
		if (strcmp(d[i].vm_id, "app-05.vda"))
			continue;
		seen++;
		CHECK(d[i].dirty_blocks == 2 && d[i].block_size == 4096);
		CHECK(d[i].origin.kind == VWC_ORIGIN_DM_UUID &&
		      d[i].origin.sectors == 131072 &&
		      !memcmp(d[i].origin.digest, dig, VWC_ORIGIN_DIGEST_SIZE));
		o.slot = d[i];
	}
	CHECK(seen == 1);
	free(d);
	{
		int rc;
		char *out = capture(run_cmd, (void *)&dump_cmd, &rc);

		CHECK(rc == 0 && out);
		CHECK(out && strstr(out, "\"vm_id\": \"app-05.vda\"") &&
		      strstr(out, "\"origin_kind\": \"dm-uuid\",\n      \"origin_sectors\": 131072"));
		CHECK(out && strstr(out, "\"origin_kind\": \"unknown\",\n      \"origin_sectors\": null"));
		free(out);
	}
	CHECK(ctl_vm_slots("/nonexistent/pool.img", true, &d, &nr) != 0);
	snprintf(o.identity, sizeof(o.identity), "LVM-abc");
	snprintf(o.device, sizeof(o.device), "/dev/mapper/vg-app");
	{
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		FILE *saved = stdout;

		CHECK(f != NULL);
		stdout = f;
		ctl_orphans_text(&o, 1);
		stdout = saved;
		fclose(f);
		CHECK(strstr(out, "orphans       1\n") != NULL);
		CHECK(strstr(out, "app-05.vda: 8192 dirty bytes, origin dm-uuid LVM-abc, 131072 sectors, digest ") != NULL);
		CHECK(strstr(out, ", now /dev/mapper/vg-app\n") != NULL);
		free(out);
	}
	test_orphan_metric(dig);
}

/* NVMe disk-ids as the kernel makes them (6.11+) from the sysfs texts. */
static void test_nvme_disk_id(void)
{
	char id[64];

	CHECK(!ctl_nvme_disk_id("00112233-4455-6677-8899-AABBCCDDEEFF\n",
				"01 02 03 04 05 06 07 08\n", id, sizeof(id)));
	CHECK(!strcmp(id, "eui.00112233445566778899aabbccddeeff"));
	CHECK(!ctl_nvme_disk_id(NULL, "56 57 43 00 00 00 00 01\n", id,
				sizeof(id)));
	CHECK(!strcmp(id, "eui.5657430000000001"));
	CHECK(!ctl_nvme_disk_id("00000000-0000-0000-0000-000000000000\n",
				"56 57 43 00 00 00 00 01\n", id, sizeof(id)));
	CHECK(!strcmp(id, "eui.5657430000000001"));
	CHECK(ctl_nvme_disk_id(NULL, NULL, id, sizeof(id)) == -1);
	CHECK(ctl_nvme_disk_id(NULL, "00 00 00 00 00 00 00 00\n", id,
			       sizeof(id)) == -1);
	CHECK(ctl_nvme_disk_id(NULL, "56 57 43 00\n", id, sizeof(id)) == -1);
	CHECK(ctl_nvme_disk_id(NULL, "zz 57 43 00 00 00 00 01\n", id,
			       sizeof(id)) == -1);
	CHECK(ctl_nvme_disk_id(NULL, "56 57 43 00 00 00 00 01\n", id, 8) == -1);
}

int main(void)
{
	char cmd[600];

	CHECK(mkdtemp(tmpdir) != NULL);
	test_sizes();
	test_nvme_disk_id();
	test_numbers();
	test_format_helpers();
	test_cmdline();
	test_cmdline_rest();
	test_domblklist();
	test_vm_id();
	test_pool_status();
	test_vm_status();
	test_tables();
	test_conf();
	test_sysfs();
	test_outputs();
	test_check();
	test_sha256();
	test_dirty_slots();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	CHECK(system(cmd) == 0);
	return unit_report("test_ctl");
}
