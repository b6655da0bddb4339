// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: the operator's tool for dm-vwcache pools and VM devices.
 *
 * Every subcommand is one row of the command table below (name, usage,
 * help, handler), so dispatch and help come from one place.  Device-mapper
 * is reached through libdevmapper, as lvm2 and dmsetup do.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdevmapper.h>
#include <linux/dm-vwcache.h>

#define VERSION "0.1.0"

struct command {
	const char *name;
	const char *usage;
	const char *help;
	int (*run)(int argc, char **argv);
};

static const char *prog = "dmcache-ctl";
static const char *cmd_name = "";

/* One line on stderr: "dmcache-ctl: CMD: what and why". */
static void die_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s%s", prog, cmd_name, *cmd_name ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The single target of dm device @name: its type and status or table. */
static int dm_query(const char *name, int type, char *ttype, size_t tlen,
		    char *params, size_t plen)
{
	struct dm_task *dmt = dm_task_create(type);
	uint64_t start, length;
	char *target_type = NULL, *p = NULL;
	int r = -1;

	if (!dmt)
		return -1;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt))
		goto out;
	dm_get_next_target(dmt, NULL, &start, &length, &target_type, &p);
	if (!target_type)
		goto out;
	snprintf(ttype, tlen, "%s", target_type);
	snprintf(params, plen, "%s", p ? p : "");
	r = 0;
out:
	dm_task_destroy(dmt);
	return r;
}

static int for_each_vwcache(int (*fn)(const char *name, const char *type,
				      const char *status))
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_LIST);
	struct dm_names *names;
	unsigned int next = 0;
	int r = 0;

	if (!dmt || !dm_task_run(dmt)) {
		die_msg("cannot list device-mapper devices (is dm-mod loaded, are you root?)");
		if (dmt)
			dm_task_destroy(dmt);
		return 1;
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			char type[64], status[1024];

			names = (struct dm_names *)((char *)names + next);
			if (!dm_query(names->name, DM_DEVICE_STATUS, type,
				      sizeof(type), status, sizeof(status)) &&
			    (!strcmp(type, VWC_POOL_TARGET_NAME) ||
			     !strcmp(type, VWC_VM_TARGET_NAME)))
				r |= fn(names->name, type, status);
			next = names->next;
		} while (next);
	}
	dm_task_destroy(dmt);
	return r;
}

static int print_device(const char *name, const char *type,
			const char *status)
{
	printf("%-20s %-13s %s\n", name, type, status);
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	if (argc != 1) {
		die_msg("takes no arguments");
		return 2;
	}
	printf("%-20s %-13s %s\n", "DEVICE", "TARGET", "STATUS");
	return for_each_vwcache(print_device);
}

static int cmd_version(int argc, char **argv)
{
	printf("dmcache-ctl %s\n", VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "list", "list", "pools and VM devices with their status", cmd_list },
	{ "version", "version", "print the version", cmd_version },
	{ "help", "help [COMMAND]", "show help", cmd_help },
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c;
	size_t i;

	if (argc > 2) {
		die_msg("usage: help [COMMAND]");
		return 2;
	}
	if (argc == 2) {
		c = find_command(argv[1]);
		if (!c) {
			die_msg("unknown command \"%s\"", argv[1]);
			return 2;
		}
		printf("usage: %s %s\n  %s\n", prog, c->usage, c->help);
		return 0;
	}
	printf("usage: %s COMMAND [ARGS]\n\ncommands:\n", prog);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-20s %s\n", commands[i].usage, commands[i].help);
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		cmd_help(1, argv);
		return 2;
	}
	c = find_command(argv[1]);
	if (!c) {
		die_msg("unknown command \"%s\" (see '%s help')", argv[1], prog);
		return 2;
	}
	cmd_name = c->name;
	dm_log_init_verbose(0);
	return c->run(argc - 1, argv + 1);
}
