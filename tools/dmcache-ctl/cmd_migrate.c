// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: invalidate, and migrate-domain (the source side of a libvirt
 * live migration).
 *
 * libvirt runs no hook on the source host before a migration (its qemu
 * hook's "migrate" operation runs on the destination, at the start of the
 * incoming migration, as a filter of the domain XML), so nothing flushes a
 * domain's vwcache disks unless the caller of "virsh migrate" does:
 * migrate-domain is that caller.  It lists the domain's disks with
 * "virsh domblklist --details", runs migrate-prepare --wait (with its
 * progress) on each that is a vwcache VM device, then "virsh migrate";
 * when a flush or the migration fails, it runs migrate-abort on every disk
 * it prepared.  Backing stores are not listed by domblklist: QEMU opens
 * them read-only, so they hold no dirty data of the domain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

#define MD_MAX_DISKS	64
#define MD_OUT_MAX	65536

/* The kernel's reason for refusing @msg, else libdevmapper's. */
static int message_vm(const char *name, const char *msg)
{
	char reason[256];
	int r;

	kmsg_mark();
	r = dm_message(name, msg);
	if (!r)
		return 0;
	if (kmsg_reason(reason, sizeof(reason)))
		return ctl_fail("%s: message \"%s\" failed: the kernel refused: %s",
				name, msg, reason);
	return ctl_fail("%s: message \"%s\" failed: %s (%s)", name, msg,
			strerror(-r), dm_last_error());
}

int cmd_invalidate(struct ctl_args *a)
{
	char name[CTL_NAME_MAX], vm_id[72];
	struct snapshot s;
	int v, r;

	if (snapshot_take_named(&s, a->argv[0]))
		return EXIT_FAIL;
	v = resolve_vm(&s, a->argv[0]);
	if (v >= 0) {
		snprintf(name, sizeof(name), "%s", s.vms[v].dm.name);
		snprintf(vm_id, sizeof(vm_id), "%s", s.vms[v].tbl.vm_id);
	}
	snapshot_free(&s);
	if (v < 0)
		return EXIT_FAIL;
	r = message_vm(name, "invalidate");
	if (!r)
		printf("%s: clean blocks dropped (dirty ones kept)\n", vm_id);
	return r;
}

/* ---- running virsh -------------------------------------------------------- */

static const char *virsh_path(void)
{
	const char *v = getenv("DMCACHE_CTL_VIRSH");

	return v && *v ? v : "virsh";
}

/*
 * Run @argv; with @out, its stdout (at most @len - 1 bytes) is kept there.
 * Returns its exit status, 127 when it could not run, 128 + N on signal N.
 */
static int run(char *const argv[], char *out, size_t len)
{
	int pfd[2] = { -1, -1 }, status;
	size_t used = 0;
	pid_t pid;

	fflush(stdout);
	if (out && pipe(pfd))
		return 127;
	pid = fork();
	if (pid < 0)
		return 127;
	if (!pid) {
		if (out) {
			dup2(pfd[1], 1);
			close(pfd[0]);
			close(pfd[1]);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "dmcache-ctl: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	if (out) {
		ssize_t n;

		close(pfd[1]);
		while ((n = read(pfd[0], out + used, len - 1 - used)) > 0 ||
		       (n < 0 && errno == EINTR))
			if (n > 0)
				used += n;
		out[used] = '\0';
		close(pfd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* virsh [-c URI] ARGS... in @argv from index 0 (room left for them). */
static int virsh_argv(const struct ctl_args *a, char **argv)
{
	const char *uri = ctl_opt(a, "--connect");
	int n = 0;

	argv[n++] = (char *)virsh_path();
	if (uri) {
		argv[n++] = "-c";
		argv[n++] = (char *)uri;
	}
	return n;
}

/* ---- migrate-domain -------------------------------------------------------- */

struct md_disk {
	char name[CTL_NAME_MAX];	/* the VM device */
	char vm_id[72];
	char source[256];
};

/* The VM device whose dm node is @path (any path to it), or -1. */
static int vm_of_path(const struct snapshot *s, const char *path)
{
	struct stat st;
	int i;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return -1;
	for (i = 0; i < s->nr_vms; i++)
		if (major(st.st_rdev) == s->vms[i].dm.major &&
		    minor(st.st_rdev) == s->vms[i].dm.minor)
			return i;
	return -1;
}

/* The domain's vwcache disks, from virsh domblklist --details. */
static int domain_disks(const struct ctl_args *a, struct md_disk *d, int *nr)
{
	char *argv[8], *out, *srcs, *line, *save;
	struct snapshot s;
	int n, r;

	out = malloc(MD_OUT_MAX);
	srcs = malloc(MD_OUT_MAX);
	if (!out || !srcs) {
		free(out);
		free(srcs);
		return ctl_fail("out of memory");
	}
	n = virsh_argv(a, argv);
	argv[n++] = "domblklist";
	argv[n++] = "--details";
	argv[n++] = a->argv[0];
	argv[n] = NULL;
	r = run(argv, out, MD_OUT_MAX);
	if (r)
		r = ctl_fail("virsh domblklist %s failed (exit %d): no disk prepared",
			     a->argv[0], r);
	else if (ctl_parse_domblklist(out, srcs, MD_OUT_MAX) < 0)
		r = ctl_fail("cannot read the output of virsh domblklist --details %s",
			     a->argv[0]);
	else if (snapshot_take(&s))
		r = EXIT_FAIL;
	if (r) {
		free(out);
		free(srcs);
		return r;
	}
	*nr = 0;
	for (line = strtok_r(srcs, "\n", &save); line && !r;
	     line = strtok_r(NULL, "\n", &save)) {
		int v = vm_of_path(&s, line);

		if (v < 0)
			continue;
		if (*nr == MD_MAX_DISKS) {
			r = ctl_fail("%s has more than %d vwcache disks",
				     a->argv[0], MD_MAX_DISKS);
			break;
		}
		snprintf(d[*nr].name, CTL_NAME_MAX, "%s", s.vms[v].dm.name);
		snprintf(d[*nr].vm_id, 72, "%s", s.vms[v].tbl.vm_id);
		snprintf(d[*nr].source, 256, "%s", line);
		(*nr)++;
	}
	snapshot_free(&s);
	free(out);
	free(srcs);
	return r;
}

/* migrate-prepare --wait [--timeout T] of one disk, as the command runs it. */
static const struct ctl_opt prep_opts[] = {
	{ "--wait", NULL, "" },
	{ "--timeout", "SECONDS", "" },
	{ NULL, NULL, NULL }
};

static const struct ctl_cmd prep_cmd = {
	"migrate-prepare", "VM", 1, 1, prep_opts, "", cmd_migrate_prepare,
	CTL_C_VM
};

static int prepare_disk(const struct md_disk *d, const char *timeout)
{
	char *argv[] = { (char *)d->name, "--wait", "--timeout",
			 (char *)(timeout ? timeout : "0"), NULL };
	struct ctl_args pa;
	int r;

	r = ctl_parse_cmdline(&prep_cmd, 4, argv, &pa);
	return r ? r : cmd_migrate_prepare(&pa);
}

static void abort_disks(const struct md_disk *d, int nr)
{
	int i;

	for (i = 0; i < nr; i++) {
		if (dm_message(d[i].name, "migrate_abort"))
			ctl_err("migrate-abort of %s (%s) failed: %s",
				d[i].vm_id, d[i].name, dm_last_error());
		else
			printf("%s: migration aborted, mode restored\n",
			       d[i].vm_id);
	}
}

static int migrate(const struct ctl_args *a)
{
	char **argv;
	int n, i, r;

	argv = calloc(a->nr_rest + 8, sizeof(*argv));
	if (!argv)
		return ctl_fail("out of memory");
	n = virsh_argv(a, argv);
	argv[n++] = "migrate";
	argv[n++] = a->argv[0];
	argv[n++] = a->argv[1];
	for (i = 0; i < a->nr_rest; i++)
		argv[n++] = a->rest[i];
	argv[n] = NULL;
	r = run(argv, NULL, 0);
	free(argv);
	return r;
}

int cmd_migrate_domain(struct ctl_args *a)
{
	const char *timeout = ctl_opt(a, "--timeout");
	struct md_disk *d;
	double t;
	int nr = 0, i, r;

	r = ctl_opt_seconds(a, "--timeout", 0, &t);
	if (r)
		return r;
	d = calloc(MD_MAX_DISKS, sizeof(*d));
	if (!d)
		return ctl_fail("out of memory");
	r = domain_disks(a, d, &nr);
	if (r)
		goto out;
	printf("%s: %d vwcache disk%s\n", a->argv[0], nr, nr == 1 ? "" : "s");
	for (i = 0; i < nr; i++) {
		printf("%s: flushing %s (%s, %s)\n", a->argv[0], d[i].vm_id,
		       d[i].name, d[i].source);
		r = prepare_disk(&d[i], timeout);
		if (r) {
			abort_disks(d, i + 1);
			r = ctl_fail("the flush of %s failed: %s not migrated, disks back to their mode",
				     d[i].vm_id, a->argv[0]);
			goto out;
		}
	}
	printf("%s: migrating to %s\n", a->argv[0], a->argv[1]);
	r = migrate(a);
	if (r) {
		abort_disks(d, nr);
		r = ctl_fail("virsh migrate %s %s failed (exit %d): disks back to their mode",
			     a->argv[0], a->argv[1], r);
		goto out;
	}
	printf("%s: migrated to %s\n", a->argv[0], a->argv[1]);
out:
	free(d);
	return r;
}
