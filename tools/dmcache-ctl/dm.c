// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: device-mapper through libdevmapper, as lvm2 and dmsetup do.
 *
 * libdevmapper's own messages are caught (dm_last_error()) instead of
 * printed, so every failure stays one line.  When the kernel refuses a
 * table or a message, the reason is in the kernel log (ti->error, or the
 * target's "message refused: ..."): kmsg_mark() before the call and
 * kmsg_reason() after it fetch that line from /dev/kmsg.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdevmapper.h>

#include "ctl.h"

static char last_error[256];
static int kmsg_fd = -1;

static void dm_logger(int level, const char *file, int line, int errno_class,
		      const char *f, ...)
{
	va_list ap;

	if (level > 3)	/* _LOG_ERR: keep errors, drop the chatter */
		return;
	va_start(ap, f);
	vsnprintf(last_error, sizeof(last_error), f, ap);
	va_end(ap);
}

int dm_init(void)
{
	dm_log_with_errno_init(dm_logger);
	return 0;
}

const char *dm_last_error(void)
{
	return last_error[0] ? last_error : "unknown device-mapper error";
}

/* Every dm device name; *names is malloc'ed. */
int dm_list(char (**names)[CTL_NAME_MAX], int *count)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_LIST);
	struct dm_names *n;
	unsigned int next = 0;
	int cap = 0, r = -EIO;

	*names = NULL;
	*count = 0;
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt))
		goto out;
	n = dm_task_get_names(dmt);
	r = 0;
	if (!n || !n->dev)
		goto out;
	do {
		n = (struct dm_names *)((char *)n + next);
		if (*count == cap) {
			void *p;

			cap = cap ? 2 * cap : 16;
			p = realloc(*names, cap * sizeof(**names));
			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			*names = p;
		}
		snprintf((*names)[(*count)++], CTL_NAME_MAX, "%s", n->name);
		next = n->next;
	} while (next);
out:
	dm_task_destroy(dmt);
	return r;
}

/* Status (or table) of the single target of @name; -ENODEV if none. */
int dm_get(const char *name, bool table, struct dm_dev_info *d)
{
	struct dm_task *dmt;
	struct dm_info info;
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	int r = -EIO;

	memset(d, 0, sizeof(*d));
	dmt = dm_task_create(table ? DM_DEVICE_TABLE : DM_DEVICE_STATUS);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &info))
		goto out;
	r = -ENODEV;
	if (!info.exists)
		goto out;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->major = info.major;
	d->minor = info.minor;
	d->suspended = info.suspended;
	snprintf(d->uuid, sizeof(d->uuid), "%s", dm_task_get_uuid(dmt) ?: "");
	dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	if (type) {
		snprintf(d->type, sizeof(d->type), "%s", type);
		snprintf(d->params, sizeof(d->params), "%s", params ? params : "");
		d->length = length;
	}
	r = 0;
out:
	dm_task_destroy(dmt);
	return r;
}

/*
 * A pool's dm device is a control device that fails every bio (admin
 * guide, "Pool target"): its uevents tell udev's dm rules to skip the disk
 * rules (blkid, by-id links) and every other rule (LVM, multipath), so
 * that nothing scans it and logs I/O errors.
 */
#define CTL_UDEV_CONTROL \
	(DM_UDEV_DISABLE_DISK_RULES_FLAG | DM_UDEV_DISABLE_OTHER_RULES_FLAG)

/*
 * Run @dmt with udev synchronisation (or node creation without udev);
 * @flags (DM_UDEV_*) go with its uevent.
 */
static int run_with_cookie(struct dm_task *dmt, uint16_t flags)
{
	uint32_t cookie = 0;
	int ok;

	if (!dm_task_set_cookie(dmt, &cookie, flags))
		return 0;
	ok = dm_task_run(dmt);
	dm_udev_wait(cookie);
	return ok;
}

static int task_errno(struct dm_task *dmt)
{
	int e = dm_task_get_errno(dmt);

	return e ? -e : -EIO;
}

int dm_create(const char *name, const char *uuid, uint64_t sectors,
	      const char *type, const char *params)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_CREATE);
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	last_error[0] = '\0';
	if (!dm_task_set_name(dmt, name) ||
	    (uuid && !dm_task_set_uuid(dmt, uuid)) ||
	    !dm_task_add_target(dmt, 0, sectors, type, params) ||
	    !run_with_cookie(dmt, strcmp(type, VWC_POOL_TARGET_NAME) ?
				  0 : CTL_UDEV_CONTROL))
		r = task_errno(dmt);
	dm_task_destroy(dmt);
	return r;
}

/*
 * Give device @name, which has none yet, the dm UUID @uuid (@control: it is
 * a pool's control device).
 */
int dm_set_uuid(const char *name, const char *uuid, bool control)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_RENAME);
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	last_error[0] = '\0';
	if (!dm_task_set_name(dmt, name) || !dm_task_set_newuuid(dmt, uuid) ||
	    !run_with_cookie(dmt, control ? CTL_UDEV_CONTROL : 0))
		r = task_errno(dmt);
	dm_task_destroy(dmt);
	return r;
}

/* A task on device @name alone: remove, suspend (a pool commits), resume. */
static int dm_simple(int task, const char *name, bool cookie)
{
	struct dm_task *dmt = dm_task_create(task);
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	last_error[0] = '\0';
	if (!dm_task_set_name(dmt, name) ||
	    !(cookie ? run_with_cookie(dmt, 0) : dm_task_run(dmt)))
		r = task_errno(dmt);
	dm_task_destroy(dmt);
	return r;
}

int dm_remove(const char *name)
{
	return dm_simple(DM_DEVICE_REMOVE, name, true);
}

int dm_suspend(const char *name)
{
	return dm_simple(DM_DEVICE_SUSPEND, name, false);
}

int dm_resume(const char *name)
{
	return dm_simple(DM_DEVICE_RESUME, name, true);
}

int dm_message(const char *name, const char *msg)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	last_error[0] = '\0';
	if (!dm_task_set_name(dmt, name) || !dm_task_set_sector(dmt, 0) ||
	    !dm_task_set_message(dmt, msg) || !dm_task_run(dmt))
		r = task_errno(dmt);
	dm_task_destroy(dmt);
	return r;
}

/* Remember where the kernel log ends now. */
void kmsg_mark(void)
{
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

/* The text of a device-mapper kernel log record, without our prefix. */
static bool dm_reason(const char *msg, char *buf, size_t len)
{
	static const char * const marks[] = {
		"message refused: ", ": " VWC_POOL_TARGET_NAME ": ",
		": " VWC_VM_TARGET_NAME ": ",
	};
	const char *p = NULL;
	size_t i, n;

	for (i = 0; !p && i < sizeof(marks) / sizeof(marks[0]); i++) {
		p = strstr(msg, marks[i]);
		if (p)
			p += strlen(marks[i]);
	}
	if (!p)
		return false;
	n = strcspn(p, "\n");
	/* 6.x appends " (-EINVAL)" to table errors */
	if (n > 4 && p[n - 1] == ')') {
		size_t i = n - 1;

		while (i > 0 && p[i] != '(')
			i--;
		if (i > 1 && p[i - 1] == ' ' && p[i + 1] == '-')
			n = i - 1;
	}
	snprintf(buf, len, "%.*s", (int)n, p);
	return true;
}

/* The last vwcache reason logged since kmsg_mark(), or NULL. */
const char *kmsg_reason(char *buf, size_t len)
{
	char rec[2048];
	bool found = false;
	ssize_t n;

	if (kmsg_fd < 0)
		return NULL;
	for (;;) {
		const char *msg;

		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (msg && strstr(msg, "device-mapper:") &&
		    dm_reason(msg + 1, buf, len))
			found = true;
	}
	return found ? buf : NULL;
}
