/* SPDX-License-Identifier: MIT */
/*
 * The policy module: the bundled default, a full file, every class of error
 * with the exact key path in its message, mutation levels and group checks.
 * Policies are written with ' for " to keep them readable (see J()).
 * Seccomp profiles, dynamic_uid_range and output_max: test-policy-seccomp.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy-test.h"

static void test_bundled_default(void)
{
	_cleanup_free_ char *error = NULL;
	const PolicyTask *t;
	Policy *p = NULL;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	CHECK_INTEQ(policy_load_bundled(&p, &error), 0);
	if (!p)
		return;
	CHECK_STREQ(p->origin, "(bundled)");
	CHECK(p->mode == POLICY_MODE_SOLO_MADRE);
	CHECK_STREQ(p->admin_group, "vx11-admin");
	CHECK(p->admin_gid_valid == (getgrnam("vx11-admin") != NULL));
	CHECK_INTEQ(p->limits.max_line_bytes, 1048576);
	CHECK_INTEQ(p->limits.max_connections, 4096);
	CHECK_INTEQ(p->limits.max_connections_per_uid, 256);
	CHECK_INTEQ(p->limits.max_queued, 100000);
	CHECK_INTEQ(p->limits.max_running, cpus);
	CHECK_INTEQ(p->limits.max_output_bytes, 4 * 1024 * 1024);
	for (PolicySourceId s = 0; s < _SOURCE_MAX; s++) {
		CHECK_INTEQ(p->sources[s].priority, s);
		CHECK(!p->sources[s].groups.set);
	}
	CHECK_INTEQ(p->defaults.ttl_seconds, 300);
	CHECK_INTEQ(p->defaults.max_retries, 3);
	CHECK_INTEQ(p->defaults.grace_seconds, 2);

	CHECK_INTEQ(p->n_tasks, 4);
	/* The seed's example task type, its program installed in /usr/libexec/vx11. */
	t = policy_find_task(p, "analysis");
	CHECK(t);
	if (t) {
		CHECK_STREQ(t->command[0], "/usr/libexec/vx11/analysis");
		CHECK(!t->command[1]);
		CHECK(!t->command_caller);
		CHECK(!t->user);
		CHECK(!t->groups.set);
		CHECK_INTEQ(t->ttl_seconds, 60);
		CHECK_INTEQ(t->limits.memory_max, 256 * 1024 * 1024);
		CHECK(!t->network);
	}
	t = policy_find_task(p, "echo");
	CHECK(t);
	if (t) {
		CHECK_STREQ(t->command[0], "/bin/cat");
		CHECK(!t->command[1]);
		CHECK(!t->user);
		CHECK(!t->groups.set);
		CHECK_INTEQ(t->ttl_seconds, 300);
		CHECK_INTEQ(t->limits.memory_max, 256 * 1024 * 1024);
		CHECK_INTEQ(t->limits.pids_max, 64);
		CHECK_INTEQ(t->limits.nofile, 256);
		CHECK_INTEQ(t->limits.fsize, 64 * 1024 * 1024);
		CHECK_INTEQ(t->limits.cpu_max, 0);
		CHECK_INTEQ(t->limits.core, 0);
		CHECK_INTEQ(t->limits.cpu_seconds, -1);
		CHECK_STREQ(t->seccomp, "default");
		CHECK(!t->network);
		CHECK(t->enforce == ENFORCE_STRICT);
		CHECK_INTEQ(t->n_mutations, 0);
	}
	t = policy_find_task(p, "noop");
	CHECK(t && streq(t->command[0], "/bin/true"));
	t = policy_find_task(p, "sleep");
	CHECK(t);
	if (t) {
		CHECK_STREQ(t->command[0], "/bin/sleep");
		CHECK_STREQ(t->command[1], "30");
		CHECK_INTEQ(t->ttl_seconds, 10);
	}
	policy_free(p);
}

static void test_empty_object_gives_defaults(void)
{
	Policy *p = load_ok("{}");

	CHECK(p);
	if (!p)
		return;
	CHECK_STREQ(p->origin, "test");
	CHECK(p->mode == POLICY_MODE_SOLO_MADRE);
	CHECK_STREQ(p->admin_group, "vx11-admin");
	CHECK_INTEQ(p->limits.max_line_bytes, 1048576);
	CHECK_INTEQ(p->limits.max_connections, 4096);
	CHECK_INTEQ(p->limits.max_connections_per_uid, 256);
	CHECK_INTEQ(p->limits.max_queued, 100000);
	CHECK_INTEQ(p->limits.max_running, sysconf(_SC_NPROCESSORS_ONLN));
	CHECK_INTEQ(p->limits.max_output_bytes, 4194304);
	CHECK_INTEQ(p->sources[SOURCE_SHUB].priority, 0);
	CHECK_INTEQ(p->sources[SOURCE_OPERATOR].priority, 1);
	CHECK_INTEQ(p->sources[SOURCE_MADRE].priority, 2);
	CHECK_INTEQ(p->sources[SOURCE_HIJAS].priority, 3);
	CHECK_INTEQ(p->defaults.ttl_seconds, 300);
	CHECK_INTEQ(p->defaults.heartbeat_seconds, 0);
	CHECK_INTEQ(p->defaults.max_retries, 3);
	CHECK(p->defaults.backoff_base_seconds == 1.0);
	CHECK(p->defaults.backoff_max_seconds == 300.0);
	CHECK_INTEQ(p->defaults.grace_seconds, 2);
	CHECK_INTEQ(p->n_tasks, 0);
	CHECK(!policy_find_task(p, "echo"));
	policy_free(p);
}

static const char full_example[] =
	"{"
	" 'mode': 'switch',"
	" 'admin_group': 'root',"
	" 'limits': { 'max_line_bytes': '2M', 'max_connections': 100,"
	"   'max_connections_per_uid': 10, 'max_queued': 500, 'max_running': 8,"
	"   'max_output_bytes': 131072 },"
	" 'sources': { 'shub': { 'priority': 0, 'groups': ['root'] },"
	"   'operator': { 'priority': 1 }, 'madre': { 'priority': 2 },"
	"   'hijas': { 'priority': 3, 'groups': [] } },"
	" 'tasks': {"
	"  'analysis': {"
	"   'command': ['/usr/libexec/vx11/analysis', '--fast'],"
	"   'groups': ['root'],"
	"   'user': 'nobody',"
	"   'ttl_seconds': 60, 'heartbeat_seconds': 10, 'max_retries': 4, 'grace_seconds': 1,"
	"   'backoff': { 'base_seconds': 0.05 },"
	"   'limits': { 'memory_max': '256M', 'pids_max': 64, 'cpu_max': '250%',"
	"     'nofile': 256, 'fsize': '64M', 'core': 1048576, 'cpu': 30 },"
	"   'seccomp': 'strict', 'network': false, 'private_tmp': true,"
	"   'read_only_system': true, 'enforce': 'best-effort',"
	"   'mutations': [ { 'limits': { 'memory_max': '512M' } },"
	"                  { 'ttl_seconds': 120, 'command': ['/bin/echo', 'slow'] } ]"
	"  },"
	"  'b.2_x-y': { 'command': ['/bin/true'] }"
	" },"
	" 'defaults': { 'ttl_seconds': 42, 'heartbeat_seconds': 5, 'max_retries': 7,"
	"   'backoff': { 'base_seconds': 2, 'max_seconds': 30 }, 'grace_seconds': 3 }"
	"}";

static void test_full_example(void)
{
	const PolicyTask *t;
	Policy *p = load_ok(full_example);

	CHECK(p);
	if (!p)
		return;
	CHECK(p->mode == POLICY_MODE_SWITCH);
	CHECK_STREQ(p->admin_group, "root");
	CHECK(p->admin_gid_valid);
	CHECK_INTEQ(p->admin_gid, 0);
	CHECK_INTEQ(p->limits.max_line_bytes, 2 * 1024 * 1024);
	CHECK_INTEQ(p->limits.max_connections, 100);
	CHECK_INTEQ(p->limits.max_connections_per_uid, 10);
	CHECK_INTEQ(p->limits.max_queued, 500);
	CHECK_INTEQ(p->limits.max_running, 8);
	CHECK_INTEQ(p->limits.max_output_bytes, 131072);
	CHECK(p->sources[SOURCE_SHUB].groups.set);
	CHECK_INTEQ(p->sources[SOURCE_SHUB].groups.n, 1);
	CHECK_INTEQ(p->sources[SOURCE_SHUB].groups.gids[0], 0);
	CHECK(!p->sources[SOURCE_OPERATOR].groups.set);
	CHECK(p->sources[SOURCE_HIJAS].groups.set);
	CHECK_INTEQ(p->sources[SOURCE_HIJAS].groups.n, 0);
	CHECK_INTEQ(p->defaults.ttl_seconds, 42);
	CHECK_INTEQ(p->defaults.heartbeat_seconds, 5);
	CHECK_INTEQ(p->defaults.max_retries, 7);
	CHECK(p->defaults.backoff_base_seconds == 2.0);
	CHECK(p->defaults.backoff_max_seconds == 30.0);
	CHECK_INTEQ(p->defaults.grace_seconds, 3);
	CHECK_INTEQ(p->n_tasks, 2);

	t = policy_find_task(p, "analysis");
	CHECK(t);
	if (t) {
		CHECK_STREQ(t->name, "analysis");
		CHECK_STREQ(t->command[0], "/usr/libexec/vx11/analysis");
		CHECK_STREQ(t->command[1], "--fast");
		CHECK(!t->command[2]);
		CHECK(t->groups.set && t->groups.n == 1 && t->groups.gids[0] == 0);
		CHECK_STREQ(t->user, "nobody");
		CHECK_INTEQ(t->ttl_seconds, 60);
		CHECK_INTEQ(t->heartbeat_seconds, 10);
		CHECK_INTEQ(t->max_retries, 4);
		CHECK_INTEQ(t->grace_seconds, 1);
		CHECK(t->backoff_base_seconds == 0.05);
		CHECK(t->backoff_max_seconds == 30.0); /* from defaults */
		CHECK_INTEQ(t->limits.memory_max, 256 * 1024 * 1024);
		CHECK_INTEQ(t->limits.pids_max, 64);
		CHECK_INTEQ(t->limits.cpu_max, 250);
		CHECK_INTEQ(t->limits.nofile, 256);
		CHECK_INTEQ(t->limits.fsize, 64 * 1024 * 1024);
		CHECK_INTEQ(t->limits.core, 1048576);
		CHECK_INTEQ(t->limits.cpu_seconds, 30);
		CHECK_STREQ(t->seccomp, "strict");
		CHECK(!t->network);
		CHECK(t->private_tmp);
		CHECK(t->read_only_system);
		CHECK(t->enforce == ENFORCE_BEST_EFFORT);
		CHECK_INTEQ(t->n_mutations, 2);
	}

	/* "defaults" comes after "tasks" in the file and still applies to them. */
	t = policy_find_task(p, "b.2_x-y");
	CHECK(t);
	if (t) {
		CHECK_INTEQ(t->ttl_seconds, 42);
		CHECK_INTEQ(t->heartbeat_seconds, 5);
		CHECK_INTEQ(t->max_retries, 7);
		CHECK_INTEQ(t->grace_seconds, 3);
		CHECK(t->backoff_base_seconds == 2.0);
		CHECK(t->backoff_max_seconds == 30.0);
		CHECK(!t->user);
		CHECK(!t->groups.set);
		CHECK_INTEQ(t->limits.memory_max, UINT64_MAX);
		CHECK_INTEQ(t->limits.pids_max, -1);
		CHECK_INTEQ(t->limits.nofile, -1);
		CHECK_INTEQ(t->limits.fsize, UINT64_MAX);
		CHECK_INTEQ(t->limits.core, 0);
		CHECK_STREQ(t->seccomp, "default");
		CHECK(t->network);
		CHECK(!t->private_tmp);
		CHECK(!t->read_only_system);
		CHECK(t->enforce == ENFORCE_STRICT);
	}
	CHECK(!policy_find_task(p, "nope"));
	CHECK(!policy_find_task(p, "analysi"));
	policy_free(p);
}

static void test_mutation_levels(void)
{
	const PolicyTask *t, *l0, *l1, *l2, *l5;
	Policy *p = load_ok(full_example);

	CHECK(p);
	if (!p)
		return;
	t = policy_find_task(p, "analysis");
	CHECK(t && t->n_mutations == 2);
	if (!t || t->n_mutations != 2) {
		policy_free(p);
		return;
	}
	l0 = policy_task_at_level(t, 0);
	l1 = policy_task_at_level(t, 1);
	l2 = policy_task_at_level(t, 2);
	l5 = policy_task_at_level(t, 5);
	CHECK(l0 == t);
	CHECK(policy_task_at_level(t, -1) == t);
	CHECK(l1 == &t->mutations[0]);
	CHECK(l2 == &t->mutations[1]);
	CHECK(l5 == l2); /* the last entry holds for higher levels */

	/* level 1: base + mutations[0] */
	CHECK_INTEQ(l0->limits.memory_max, 256 * 1024 * 1024);
	CHECK_INTEQ(l1->limits.memory_max, 512 * 1024 * 1024);
	CHECK_INTEQ(l1->limits.pids_max, 64); /* untouched limits are kept */
	CHECK_INTEQ(l1->limits.cpu_max, 250);
	CHECK_INTEQ(l1->ttl_seconds, 60);
	CHECK_STREQ(l1->command[0], "/usr/libexec/vx11/analysis");
	CHECK_STREQ(l1->user, "nobody");
	CHECK_STREQ(l1->name, "analysis");
	CHECK(l1->groups.set && l1->groups.n == 1);
	CHECK(l1->enforce == ENFORCE_BEST_EFFORT);
	CHECK_INTEQ(l1->n_mutations, 0);

	/* level 2: base + mutations[0] + mutations[1] (cumulative) */
	CHECK_INTEQ(l2->limits.memory_max, 512 * 1024 * 1024);
	CHECK_INTEQ(l2->ttl_seconds, 120);
	CHECK_STREQ(l2->command[0], "/bin/echo");
	CHECK_STREQ(l2->command[1], "slow");
	CHECK(!l2->command[2]);
	CHECK_INTEQ(l0->ttl_seconds, 60);
	CHECK_STREQ(l0->command[0], "/usr/libexec/vx11/analysis");

	/* without mutations every level is the task itself */
	t = policy_find_task(p, "b.2_x-y");
	CHECK(t && policy_task_at_level(t, 3) == t);
	policy_free(p);
}

static void test_load_file(void)
{
	_cleanup_free_ char *json = J("%s", TASK(", 'ttl_seconds': 9")), *path = NULL, *error = NULL;
	Policy *p = NULL;

	path = write_file("policy.json", json, strlen(json));
	CHECK_INTEQ(policy_load_file(path, &p, &error), 0);
	CHECK(p);
	if (!p)
		return;
	CHECK_STREQ(p->origin, path);
	CHECK(policy_find_task(p, "x") && policy_find_task(p, "x")->ttl_seconds == 9);
	policy_free(p);
	unlink(path);
}

/* policy_load_file(path) must fail with r and the message "<path>: <what>", leaving *ret alone. */
static void check_file_error(const char *path, int r, const char *what)
{
	_cleanup_free_ char *expected = NULL, *error = NULL;
	Policy *p = (Policy *)0x1;

	if (asprintf(&expected, "%s: %s", path, what) < 0)
		abort();
	CHECK_INTEQ(policy_load_file(path, &p, &error), r);
	CHECK_STREQ(error, expected);
	CHECK(p == (Policy *)0x1);
}

static void test_error_missing_file(void)
{
	_cleanup_free_ char *path = NULL, *fifo = NULL;

	if (asprintf(&path, "%s/nonexistent.json", tmpdir) < 0 || asprintf(&fifo, "%s/fifo", tmpdir) < 0 ||
	    mkfifo(fifo, 0600) < 0)
		abort();
	check_file_error(path, -ENOENT, "No such file or directory");
	check_file_error(tmpdir, -EISDIR, "Is a directory");
	/* a FIFO would block a reload in open() or read() */
	check_file_error(fifo, -EBADFD, "not a regular file");
	unlink(fifo);
}

static void test_error_nul_byte_in_file(void)
{
	static const char text[] = "{}\0{'foo':1}";
	_cleanup_free_ char *path = write_file("nul.json", text, sizeof(text) - 1);

	check_file_error(path, -EILSEQ, "contains a NUL byte");
	unlink(path);
}

static void test_error_unknown_key(void)
{
	CHECK_ERROR("{'foo':1}", "foo: unknown key");
	CHECK_ERROR("{'limits':{'max_lines':1}}", "limits.max_lines: unknown key");
	CHECK_ERROR("{'sources':{'boss':{'priority':0}}}", "sources.boss: unknown key");
	CHECK_ERROR("{'sources':{'shub':{'priority':0,'users':[]}}}", "sources.shub.users: unknown key");
	CHECK_ERROR("{'defaults':{'backoff':{'base':1}}}", "defaults.backoff.base: unknown key");
	CHECK_ERROR("{'defaults':{'command':['/bin/true']}}", "defaults.command: unknown key");
	CHECK_TASK_ERROR(", 'memory_max':'1G'", "tasks.x.memory_max: unknown key");
	CHECK_TASK_ERROR(", 'limits':{'memory':'1G'}", "tasks.x.limits.memory: unknown key");
}

static void test_error_wrong_type(void)
{
	CHECK_ERROR("{'mode':1}", "mode: expected \"solo_madre\" or \"switch\"");
	CHECK_ERROR("{'mode':'hybrid'}", "mode: expected \"solo_madre\" or \"switch\"");
	CHECK_ERROR("{'admin_group':''}", "admin_group: expected a group name");
	CHECK_ERROR("{'limits':[]}", "limits: expected an object");
	CHECK_ERROR("{'limits':{'max_running':'8'}}", "limits.max_running: expected an integer");
	CHECK_ERROR("{'limits':{'max_running':8.5}}", "limits.max_running: expected an integer");
	CHECK_ERROR("{'sources':{'shub':{'priority':null}}}", "sources.shub.priority: expected an integer");
	CHECK_ERROR("{'sources':{'shub':{'groups':'root'}}}",
		    "sources.shub.groups: expected an array of group names");
	CHECK_ERROR("{'defaults':{'backoff':{'base_seconds':'1'}}}",
		    "defaults.backoff.base_seconds: expected a number of seconds");
	CHECK_ERROR("{'tasks':[]}", "tasks: expected an object");
	CHECK_ERROR("{'tasks':{'x':'/bin/true'}}", "tasks.x: expected an object");
	CHECK_TASK_ERROR(", 'network':'no'", "tasks.x.network: expected true, false or \"none\"");
	CHECK_TASK_ERROR(", 'private_tmp':1", "tasks.x.private_tmp: expected true or false");
	CHECK_TASK_ERROR(", 'enforce':'lax'", "tasks.x.enforce: expected \"strict\" or \"best-effort\"");
	CHECK_TASK_ERROR(", 'ttl_seconds':'60'", "tasks.x.ttl_seconds: expected an integer");
	CHECK_TASK_ERROR(", 'groups':['root',0]", "tasks.x.groups[1]: expected a group name");
	CHECK_TASK_ERROR(", 'user':''", "tasks.x.user: expected \"dynamic\" or a user name");
}

static void test_error_bad_size(void)
{
	CHECK_TASK_ERROR(", 'limits':{'memory_max':'256Q'}",
			 "tasks.x.limits.memory_max: expected a size like \"256M\"");
	CHECK_TASK_ERROR(", 'limits':{'memory_max':'M'}",
			 "tasks.x.limits.memory_max: expected a size like \"256M\"");
	CHECK_TASK_ERROR(", 'limits':{'memory_max':-1}",
			 "tasks.x.limits.memory_max: expected a size like \"256M\"");
	CHECK_TASK_ERROR(", 'limits':{'fsize':true}", "tasks.x.limits.fsize: expected a size like \"256M\"");
	CHECK_TASK_ERROR(", 'limits':{'memory_max':'1K'}", "tasks.x.limits.memory_max: must be at least 4K");
	CHECK_ERROR("{'limits':{'max_line_bytes':100}}",
		    "limits.max_line_bytes: must be between 1K and 64M");
	CHECK_ERROR("{'limits':{'max_line_bytes':'65M'}}",
		    "limits.max_line_bytes: must be between 1K and 64M");
	CHECK_ERROR("{'limits':{'max_line_bytes':'99999999999999999999G'}}",
		    "limits.max_line_bytes: must be between 1K and 64M");
	CHECK_ERROR("{'limits':{'max_output_bytes':'1K'}}",
		    "limits.max_output_bytes: must be between 64K and 1G");
}

static void test_error_bad_percentage(void)
{
	CHECK_TASK_ERROR(", 'limits':{'cpu_max':'50'}",
			 "tasks.x.limits.cpu_max: expected a percentage like \"50%\"");
	CHECK_TASK_ERROR(", 'limits':{'cpu_max':50}",
			 "tasks.x.limits.cpu_max: expected a percentage like \"50%\"");
	CHECK_TASK_ERROR(", 'limits':{'cpu_max':'12.5%'}",
			 "tasks.x.limits.cpu_max: expected a percentage like \"50%\"");
	CHECK_TASK_ERROR(", 'limits':{'cpu_max':'0%'}",
			 "tasks.x.limits.cpu_max: must be between 1% and 100000%");
	CHECK_TASK_ERROR(", 'limits':{'cpu_max':'100001%'}",
			 "tasks.x.limits.cpu_max: must be between 1% and 100000%");
	CHECK_TASK_ERROR(", 'limits':{'cpu_max':'99999999999999999999%'}",
			 "tasks.x.limits.cpu_max: must be between 1% and 100000%");
}

static void test_error_out_of_range(void)
{
	CHECK_ERROR("{'limits':{'max_running':-1}}", "limits.max_running: must be between 0 and 4096");
	CHECK_ERROR("{'limits':{'max_running':4097}}", "limits.max_running: must be between 0 and 4096");
	CHECK_ERROR("{'limits':{'max_running':99999999999999999999999}}",
		    "limits.max_running: must be between 0 and 4096");
	CHECK_ERROR("{'limits':{'max_connections':-5}}",
		    "limits.max_connections: must be between 1 and 1048576");
	CHECK_ERROR("{'sources':{'madre':{'priority':4}}}",
		    "sources.madre.priority: must be between 0 and 3");
	CHECK_ERROR("{'defaults':{'ttl_seconds':0}}",
		    "defaults.ttl_seconds: must be between 1 and 2147483647");
	CHECK_ERROR("{'defaults':{'max_retries':1001}}", "defaults.max_retries: must be between 0 and 1000");
	CHECK_ERROR("{'defaults':{'backoff':{'base_seconds':0}}}",
		    "defaults.backoff.base_seconds: must be greater than 0 and at most 31536000");
	CHECK_ERROR("{'defaults':{'backoff':{'base_seconds':10, 'max_seconds':5}}}",
		    "defaults.backoff.base_seconds: must not exceed backoff.max_seconds (5)");
	CHECK_TASK_ERROR(", 'heartbeat_seconds':-1",
			 "tasks.x.heartbeat_seconds: must be between 0 and 2147483647");
	CHECK_TASK_ERROR(", 'grace_seconds':3601", "tasks.x.grace_seconds: must be between 0 and 3600");
	CHECK_TASK_ERROR(", 'limits':{'pids_max':0}",
			 "tasks.x.limits.pids_max: must be between 1 and 4194304");
	CHECK_TASK_ERROR(", 'limits':{'nofile':0}",
			 "tasks.x.limits.nofile: must be between 1 and 1073741816");
	CHECK_TASK_ERROR(", 'limits':{'cpu':0}", "tasks.x.limits.cpu: must be between 1 and 2147483647");
	/* the task raises base above the default max of 300 */
	CHECK_TASK_ERROR(", 'backoff':{'base_seconds':301}",
			 "tasks.x.backoff.base_seconds: must not exceed backoff.max_seconds (300)");
}

static void test_error_unknown_group(void)
{
	CHECK_TASK_ERROR(", 'groups':['root','vx11x-no-such-group']",
			 "tasks.x.groups[1]: no such group \"vx11x-no-such-group\"");
	CHECK_ERROR("{'sources':{'shub':{'groups':['vx11x-no-such-group']}}}",
		    "sources.shub.groups[0]: no such group \"vx11x-no-such-group\"");
}

static void test_admin_group_missing_is_allowed(void)
{
	Policy *p = load_ok("{'admin_group':'vx11x-no-such-group'}");

	CHECK(p);
	if (!p)
		return;
	CHECK_STREQ(p->admin_group, "vx11x-no-such-group");
	CHECK(!p->admin_gid_valid);
	policy_free(p);
}

static void test_error_unknown_user(void)
{
	CHECK_TASK_ERROR(", 'user':'vx11x-no-such-user'",
			 "tasks.x.user: no such user \"vx11x-no-such-user\"");
	CHECK_TASK_ERROR(", 'user':'root'", "tasks.x.user: user \"root\" is uid 0: daughters never run as root");
}

static void test_error_command(void)
{
	static const char m[] = "tasks.x.command: expected a non-empty array of strings whose first element "
				"is an absolute path";

	CHECK_ERROR("{'tasks':{'x':{'command':[]}}}", m);
	CHECK_ERROR("{'tasks':{'x':{'command':['bin/true']}}}", m);
	CHECK_ERROR("{'tasks':{'x':{'command':['']}}}", m);
	CHECK_ERROR("{'tasks':{'x':{'command':'/bin/true'}}}",
		    "tasks.x.command: expected \"caller\" or a non-empty array of strings whose first element is an "
		    "absolute path");
	CHECK_ERROR("{'tasks':{'x':{'command':[1]}}}", m);
	CHECK_ERROR("{'tasks':{'x':{'command':['/bin/echo', 1]}}}", "tasks.x.command[1]: expected a string");
	CHECK_ERROR("{'tasks':{'x':{'ttl_seconds':5}}}",
		    "tasks.x: missing required key \"command\" (an argv array, or \"caller\" for the caller's)");
}

static void test_error_mutations(void)
{
	CHECK_TASK_ERROR(", 'mutations':[{'ttl_seconds':5},{'bogus':1}]",
			 "tasks.x.mutations[1].bogus: unknown key");
	CHECK_TASK_ERROR(", 'mutations':[{'limits':{'memory_max':'lots'}}]",
			 "tasks.x.mutations[0].limits.memory_max: expected a size like \"256M\"");
	CHECK_TASK_ERROR(", 'mutations':[{'mutations':[]}]",
			 "tasks.x.mutations[0].mutations: not allowed inside a mutation");
	CHECK_TASK_ERROR(", 'mutations':[5]", "tasks.x.mutations[0]: expected an object");
	CHECK_TASK_ERROR(", 'mutations':{}", "tasks.x.mutations: expected an array of objects");
	CHECK_TASK_ERROR(", 'mutations':[{'command':['true']}]",
			 "tasks.x.mutations[0].command: expected a non-empty array of strings whose first "
			 "element is an absolute path");
	CHECK_TASK_ERROR(", 'mutations':[{'groups':['vx11x-no-such-group']}]",
			 "tasks.x.mutations[0].groups[0]: no such group \"vx11x-no-such-group\"");
	CHECK_TASK_ERROR(", 'mutations':[{}, {'backoff':{'max_seconds':0.5}}]",
			 "tasks.x.mutations[1].backoff.base_seconds: must not exceed "
			 "backoff.max_seconds (0.5)");
}

static void test_error_not_an_object(void)
{
	CHECK_ERROR("[]", "expected a JSON object at the top level");
	CHECK_ERROR("\"policy\"", "expected a JSON object at the top level");
	CHECK_ERROR("null", "expected a JSON object at the top level");
	CHECK_ERROR("5", "expected a JSON object at the top level");
}

static void test_error_syntax(void)
{
	CHECK_ERROR("{} x", "line 1, column 4: unexpected character");
	CHECK_ERROR("{}{}", "line 1, column 3: unexpected character");
	CHECK_ERROR("{\n'mode': 'solo_madre',\n}", "line 3, column 1: unexpected character");
	CHECK_ERROR("{'mode': ", "line 1, column 10: unexpected end of data");
	CHECK_ERROR("", "line 1, column 1: unexpected end of data");
	CHECK_ERROR("{'a': 1} // comment", "line 1, column 10: unexpected character");
	/* what json-c lets through even in strict mode */
	{
		/* json-c's strict mode refuses single-quoted values but not keys */
		_cleanup_free_ char *e = load_error_raw("{\n  'mode': \"switch\"}");
		CHECK_STREQ(e, "line 2, column 3: strings must be in double quotes");
	}
	CHECK_ERROR("{'limits': {'max_running': NaN}}",
		    "line 1, column 28: not a JSON value (NaN and Infinity are not JSON)");
	CHECK_ERROR("{'limits': {'max_running': -Infinity}}",
		    "line 1, column 29: not a JSON value (NaN and Infinity are not JSON)");
	CHECK_ERROR("{'admin_group': 'a\tb'}",
		    "line 1, column 19: control character in a string (write it as an escape)");
	CHECK_ERROR("{'admin_group': 'a\\u0000b'}", "line 1, column 19: \\u0000 is not allowed in a string");
	{
		_cleanup_free_ char *e = load_error_raw("{\"admin_group\": \"\xff\"}");
		CHECK_STREQ(e, "line 1, column 18: invalid utf-8 string");
	}
}

static void test_error_duplicate_key(void)
{
	CHECK_ERROR("{'mode':'switch','mode':'solo_madre'}", "mode: duplicate key (line 1)");
	CHECK_ERROR("{'tasks':{'x':{'command':['/bin/true'],\n'ttl_seconds':1,\n'ttl_seconds':2}}}",
		    "tasks.x.ttl_seconds: duplicate key (line 3)");
	/* the same key spelled with an escape */
	CHECK_ERROR("{'mode':'switch','m\\u006fde':'solo_madre'}", "mode: duplicate key (line 1)");
	CHECK_ERROR("{'tasks':{'x':{'command':['/bin/true'],"
		    "'mutations':[{},{'user':'nobody','user':'nobody'}]}}}",
		    "tasks.x.mutations[1].user: duplicate key (line 1)");
	/* the same key in different objects is fine */
	{
		Policy *p = load_ok("{'tasks':{'a':{'command':['/bin/true']},"
				    "'b':{'command':['/bin/true']}}}");
		CHECK(p && p->n_tasks == 2);
		policy_free(p);
	}
}

static void test_error_task_name(void)
{
#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	Policy *p;

	CHECK_ERROR("{'tasks':{'a b':{'command':['/bin/true']}}}",
		    "tasks: invalid task name \"a b\" (1 to 64 of A-Z a-z 0-9 _ . -)");
	CHECK_ERROR("{'tasks':{'':{'command':['/bin/true']}}}",
		    "tasks: invalid task name \"\" (1 to 64 of A-Z a-z 0-9 _ . -)");
	/* 64 characters are fine, 65 are not */
	p = load_ok("{'tasks':{'" A64 "':{'command':['/bin/true']}}}");
	CHECK(p && policy_find_task(p, A64));
	policy_free(p);
	CHECK_ERROR("{'tasks':{'" A64 "a':{'command':['/bin/true']}}}",
		    "tasks: invalid task name \"" A64 "a\" (1 to 64 of A-Z a-z 0-9 _ . -)");
}

static void test_sizes_and_numbers(void)
{
	Policy *p = load_ok("{'limits':{'max_line_bytes':'64M','max_output_bytes':65536},"
			    "'defaults':{'backoff':{'base_seconds':0.05,'max_seconds':1e1}},"
			    "'tasks':{'x':{'command':['/bin/true'],"
			    "'limits':{'memory_max':268435456,'fsize':'0','core':'1g',"
			    "'cpu_max':'100000%'}}}}");
	const PolicyTask *t;

	CHECK(p);
	if (!p)
		return;
	CHECK_INTEQ(p->limits.max_line_bytes, 64 * 1024 * 1024);
	CHECK_INTEQ(p->limits.max_output_bytes, 65536);
	CHECK(p->defaults.backoff_base_seconds == 0.05);
	CHECK(p->defaults.backoff_max_seconds == 10.0);
	t = policy_find_task(p, "x");
	CHECK(t);
	if (t) {
		CHECK_INTEQ(t->limits.memory_max, 268435456);
		CHECK_INTEQ(t->limits.fsize, 0);
		CHECK_INTEQ(t->limits.core, 1024 * 1024 * 1024);
		CHECK_INTEQ(t->limits.cpu_max, 100000);
		CHECK(t->backoff_base_seconds == 0.05);
	}
	policy_free(p);
}

static void test_find_task_any_file_order(void)
{
	Policy *p = load_ok("{'tasks':{'zeta':{'command':['/bin/z']},'alpha':{'command':['/bin/a']},"
			    "'mid':{'command':['/bin/m']},'Mid':{'command':['/bin/M']}}}");

	CHECK(p);
	if (!p)
		return;
	CHECK_INTEQ(p->n_tasks, 4);
	CHECK(policy_find_task(p, "zeta") && streq(policy_find_task(p, "zeta")->command[0], "/bin/z"));
	CHECK(policy_find_task(p, "alpha") && streq(policy_find_task(p, "alpha")->command[0], "/bin/a"));
	CHECK(policy_find_task(p, "mid") && streq(policy_find_task(p, "mid")->command[0], "/bin/m"));
	CHECK(policy_find_task(p, "Mid") && streq(policy_find_task(p, "Mid")->command[0], "/bin/M"));
	CHECK(!policy_find_task(p, "MID"));
	CHECK(!policy_find_task(p, ""));
	CHECK(!policy_find_task(p, NULL));
	policy_free(p);
}

/* Run under ASan: a refusal late in the file frees what was already built. */
static void test_error_late_frees_everything(void)
{
	CHECK_ERROR("{'sources':{'shub':{'groups':['root']}},"
		    "'tasks':{'a':{'command':['/bin/true','x'],'groups':['root'],'user':'nobody',"
		    "'seccomp':'none','mutations':[{'groups':['root']},{'command':['/bin/false']}]},"
		    "'b':{'command':['/bin/true'],'groups':['root'],'mutations':[{'user':'nobody'},"
		    "{'groups':['root'],'command':['/bin/x'],'ttl_seconds':0}]}}}",
		    "tasks.b.mutations[1].ttl_seconds: must be between 1 and 2147483647");
	CHECK_ERROR("{'tasks':{'a':{'command':['/bin/true'],'groups':['root'],'user':'nobody'}},'foo':1}",
		    "foo: unknown key");
}

static void test_sources(void)
{
	CHECK_STREQ(policy_source_to_string(SOURCE_SHUB), "shub");
	CHECK_STREQ(policy_source_to_string(SOURCE_HIJAS), "hijas");
	CHECK(!policy_source_to_string(_SOURCE_MAX));
	CHECK_INTEQ(policy_source_from_string("operator"), SOURCE_OPERATOR);
	CHECK_INTEQ(policy_source_from_string("madre"), SOURCE_MADRE);
	CHECK_INTEQ(policy_source_from_string("Madre"), _SOURCE_INVALID);
	CHECK_INTEQ(policy_source_from_string(NULL), _SOURCE_INVALID);
}

static void test_groups_allow(void)
{
	gid_t list[] = { 5, 7 };
	gid_t mine[] = { 100, 5 };
	PolicyGroups unset = { .set = false };
	PolicyGroups g = { .set = true, .gids = list, .n = 2 };
	PolicyGroups empty = { .set = true, .gids = NULL, .n = 0 };

	CHECK(policy_groups_allow(&unset, 1000, NULL, 0));
	CHECK(policy_groups_allow(&g, 7, NULL, 0));         /* primary gid */
	CHECK(policy_groups_allow(&g, 1000, mine, 2));      /* a supplementary group */
	CHECK(!policy_groups_allow(&g, 1000, mine, 1));     /* only 100 */
	CHECK(!policy_groups_allow(&g, 6, NULL, 0));
	CHECK(!policy_groups_allow(&empty, 5, mine, 2));    /* an empty list allows no one */
}

/* The switch's connection: defaults in every mode, each key, and each key's errors. */
static void test_switch(void)
{
	Policy *p = load_ok("{}");

	CHECK(p);
	if (p) {
		CHECK_STREQ(p->switch_.socket, "/run/vx11-switch/switch.sock");
		CHECK_INTEQ(p->switch_.timeout_ms, 2000);
		CHECK_INTEQ(p->switch_.failure_threshold, 3);
		CHECK_INTEQ(p->switch_.cooldown_seconds, 30);
		policy_free(p);
	}
	p = load_ok("{'mode':'switch','switch':{'timeout_ms':1}}");
	CHECK(p);
	if (p) {
		CHECK(p->mode == POLICY_MODE_SWITCH);
		CHECK_STREQ(p->switch_.socket, "/run/vx11-switch/switch.sock");
		CHECK_INTEQ(p->switch_.timeout_ms, 1);
		CHECK_INTEQ(p->switch_.failure_threshold, 3);
		policy_free(p);
	}
	p = load_ok("{'switch':{'socket':'/tmp/s.sock','timeout_ms':600000,'failure_threshold':1000,"
		    "'cooldown_seconds':86400},'mode':'switch'}");
	CHECK(p);
	if (p) {
		CHECK_STREQ(p->switch_.socket, "/tmp/s.sock");
		CHECK_INTEQ(p->switch_.timeout_ms, 600000);
		CHECK_INTEQ(p->switch_.failure_threshold, 1000);
		CHECK_INTEQ(p->switch_.cooldown_seconds, 86400);
		policy_free(p);
	}
	p = load_ok("{'switch':{'failure_threshold':1,'cooldown_seconds':1}}");
	CHECK(p && p->switch_.failure_threshold == 1 && p->switch_.cooldown_seconds == 1);
	policy_free(p);
	/* sun_path: 107 bytes and its NUL fit, 108 do not. */
	{
		char path[109];
		_cleanup_free_ char *ok = NULL, *bad = NULL;

		memset(path, 'a', sizeof(path) - 1);
		path[0] = '/';
		path[107] = '\0';
		ok = J("{'switch':{'socket':'%s'}}", path);
		p = load_ok(ok);
		CHECK(p && strlen(p->switch_.socket) == 107);
		policy_free(p);
		path[107] = 'a';
		path[108] = '\0';
		bad = J("{'switch':{'socket':'%s'}}", path);
		CHECK_ERROR(bad, "switch.socket: expected an absolute path of at most 107 bytes");
	}

	CHECK_ERROR("{'switch':[]}", "switch: expected an object");
	CHECK_ERROR("{'switch':{'sock':'/x'}}", "switch.sock: unknown key");
	CHECK_ERROR("{'switch':{'socket':'run/x.sock'}}",
		    "switch.socket: expected an absolute path of at most 107 bytes");
	CHECK_ERROR("{'switch':{'socket':''}}", "switch.socket: expected an absolute path of at most 107 bytes");
	CHECK_ERROR("{'switch':{'socket':1}}", "switch.socket: expected an absolute path of at most 107 bytes");
	CHECK_ERROR("{'switch':{'timeout_ms':0}}", "switch.timeout_ms: must be between 1 and 600000");
	CHECK_ERROR("{'switch':{'timeout_ms':600001}}", "switch.timeout_ms: must be between 1 and 600000");
	CHECK_ERROR("{'switch':{'timeout_ms':'2000'}}", "switch.timeout_ms: expected an integer");
	CHECK_ERROR("{'switch':{'timeout_ms':2.5}}", "switch.timeout_ms: expected an integer");
	CHECK_ERROR("{'switch':{'failure_threshold':0}}", "switch.failure_threshold: must be between 1 and 1000");
	CHECK_ERROR("{'switch':{'failure_threshold':1001}}",
		    "switch.failure_threshold: must be between 1 and 1000");
	CHECK_ERROR("{'switch':{'cooldown_seconds':0}}", "switch.cooldown_seconds: must be between 1 and 86400");
	CHECK_ERROR("{'switch':{'cooldown_seconds':86401}}",
		    "switch.cooldown_seconds: must be between 1 and 86400");
	CHECK_ERROR("{'switch':{'cooldown_seconds':null}}", "switch.cooldown_seconds: expected an integer");
	/* The first bad key in file order is the one named. */
	CHECK_ERROR("{'switch':{'timeout_ms':5,'failure_threshold':0,'cooldown_seconds':0}}",
		    "switch.failure_threshold: must be between 1 and 1000");
}

static void test_error_out_params_optional(void)
{
	Policy *p = (Policy *)0x1;

	/* ret_error may be NULL; nothing leaks (ASan) and *ret stays */
	CHECK_INTEQ(policy_load_string("{\"foo\":1}", "test", &p, NULL), -EINVAL);
	CHECK(p == (Policy *)0x1);
	CHECK(policy_free(NULL) == NULL);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		abort();

	TEST(test_bundled_default);
	TEST(test_empty_object_gives_defaults);
	TEST(test_full_example);
	TEST(test_mutation_levels);
	TEST(test_load_file);
	TEST(test_sizes_and_numbers);
	TEST(test_find_task_any_file_order);
	TEST(test_sources);
	TEST(test_groups_allow);
	TEST(test_admin_group_missing_is_allowed);
	TEST(test_error_missing_file);
	TEST(test_error_nul_byte_in_file);
	TEST(test_error_unknown_key);
	TEST(test_error_wrong_type);
	TEST(test_error_bad_size);
	TEST(test_error_bad_percentage);
	TEST(test_error_out_of_range);
	TEST(test_error_unknown_group);
	TEST(test_error_unknown_user);
	TEST(test_error_command);
	TEST(test_error_mutations);
	TEST(test_error_not_an_object);
	TEST(test_error_syntax);
	TEST(test_error_duplicate_key);
	TEST(test_error_task_name);
	TEST(test_error_late_frees_everything);
	TEST(test_error_out_params_optional);
	TEST(test_switch);

	rmdir(tmpdir);
	return tap_done();
}
