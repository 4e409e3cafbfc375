/* SPDX-License-Identifier: MIT */
/*
 * The policy's confinement keys: every "seccomp" value is compiled at load
 * (errors name the key path and the place in the profile), one program per
 * distinct profile shared by tasks and mutation levels, the built-in
 * "default" and "strict" with no file anywhere; dynamic_uid_range and its
 * check against the users and groups of this machine; output_max.
 * Policies are written with ' for " as in test-policy.c (see J()).
 *
 * The shipped profiles, to check the built-in copies against: the
 * environment's VX11_SECCOMP_DIR, else VX11_SECCOMP_TEST_DIR from
 * tests/local.mk, else policy/seccomp under the current directory.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy-test.h"
#include "policy/seccomp-profile.h"

#ifndef VX11_SECCOMP_TEST_DIR
#define VX11_SECCOMP_TEST_DIR "policy/seccomp"
#endif

static const SeccompProgram *program_of(const Policy *p, const char *task, int level)
{
	const PolicyTask *t = policy_task_at_level(policy_find_task(p, task), level);

	return t ? t->seccomp_program : (const SeccompProgram *)0x1;
}

static bool programs_equal(const SeccompProgram *a, const SeccompProgram *b)
{
	return a && b && a->prog.len > 0 && a->prog.len == b->prog.len &&
	       memcmp(a->prog.filter, b->prog.filter, a->prog.len * sizeof(struct sock_filter)) == 0;
}

/* A profile that allows everything but the listed calls, which fail with EPERM. */
#define DENY_PROFILE(names)                                                                                \
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [\n"                                     \
	"  {\"names\": [" names "], \"action\": \"SCMP_ACT_ERRNO\"}]}\n"

/* ---- seccomp ---- */

static void test_bundled_policy_compiles_default_once(void)
{
	_cleanup_free_ char *error = NULL;
	Policy *p = NULL;

	CHECK_INTEQ(policy_load_bundled(&p, &error), 0);
	if (!p)
		return;
	CHECK(p->n_tasks >= 2);
	CHECK_INTEQ(p->n_seccomp_programs, 1);
	for (size_t i = 0; i < p->n_tasks; i++) {
		CHECK_STREQ(p->tasks[i].seccomp, "default");
		CHECK(p->tasks[i].seccomp_program == p->seccomp_programs[0]);
	}
	CHECK_STREQ(p->seccomp_programs[0]->origin, "default");
	CHECK(p->seccomp_programs[0]->prog.len > 0 && p->seccomp_programs[0]->prog.filter);
	policy_free(p);
}

/* The built-in copies are the shipped files, byte for byte as far as the program shows. */
static void test_builtin_profiles_are_the_shipped_ones(void)
{
	static const struct {
		const char *profile, *task;
	} cases[] = { { "default", "d" }, { "strict", "s" } };
	const char *dir = getenv("VX11_SECCOMP_DIR") ?: VX11_SECCOMP_TEST_DIR;
	Policy *p = load_ok("{'tasks':{'d':{'command':['/bin/true'],'seccomp':'default'},"
			    "'s':{'command':['/bin/true'],'seccomp':'strict'}}}");

	CHECK(p);
	if (!p)
		return;
	CHECK_INTEQ(p->n_seccomp_programs, 2);
	CHECK(program_of(p, "d", 0) != program_of(p, "s", 0));
	CHECK(!programs_equal(program_of(p, "d", 0), program_of(p, "s", 0)));
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_seccomp_program_ SeccompProgram *file = NULL;
		_cleanup_free_ char *error = NULL;
		const SeccompProgram *builtin = program_of(p, cases[i].task, 0);

		CHECK_STREQ(builtin ? builtin->origin : NULL, cases[i].profile);
		if (seccomp_program_compile(cases[i].profile, dir, &file, &error) < 0) {
			printf("# %s\n", error ?: "(no message)");
			policy_free(p);
			SKIP("the shipped profiles are not here (set VX11_SECCOMP_DIR)");
		}
		CHECK(programs_equal(builtin, file));
	}
	policy_free(p);
}

/* "default" and "strict" resolve in a child chrooted into an empty directory: no file is read. */
static void test_builtin_profiles_need_no_files(void)
{
	_cleanup_free_ char *empty = NULL;
	int status = 0;
	pid_t pid;

	if (geteuid() != 0)
		SKIP("chroot needs root");
	if (asprintf(&empty, "%s/empty", tmpdir) < 0 || mkdir(empty, 0700) < 0)
		abort();
	fflush(stdout);
	pid = fork(); /* one child, waited for below */
	if (pid < 0)
		abort();
	if (pid == 0) {
		Policy *p = NULL;
		char *error = NULL;
		int r;

		alarm(30);
		if (chroot(empty) < 0 || chdir("/") < 0)
			_exit(2);
		r = policy_load_string("{\"tasks\":{\"d\":{\"command\":[\"/bin/true\"]},"
				       "\"s\":{\"command\":[\"/bin/true\"],\"seccomp\":\"strict\"}}}",
				       "test", &p, &error);
		if (r < 0) {
			printf("# in the chroot: %s\n", error ?: "(no message)");
			fflush(stdout);
			_exit(3);
		}
		r = p->n_seccomp_programs == 2 && program_of(p, "s", 0) && program_of(p, "d", 0) ? 0 : 4;
		policy_free(p);
		_exit(r);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INTEQ(WEXITSTATUS(status), 0);
	rmdir(empty);
}

static void test_same_profile_compiles_once(void)
{
	_cleanup_free_ char *a = write_text("deny-a.json", DENY_PROFILE("\"mkdir\"")),
			    *b = write_text("deny-b.json", DENY_PROFILE("\"rmdir\"")), *json = NULL;
	const SeccompProgram *pa, *def;
	Policy *p;

	json = J("{'tasks':{"
		 "'t1':{'command':['/bin/true'],'seccomp':'%1$s'},"
		 "'t2':{'command':['/bin/true'],'seccomp':'%1$s'},"
		 "'t3':{'command':['/bin/true']},"
		 "'t4':{'command':['/bin/true'],'seccomp':'default'},"
		 "'t5':{'command':['/bin/true'],'seccomp':'none'},"
		 "'t6':{'command':['/bin/true'],'mutations':[{'seccomp':'%1$s'},{'seccomp':'none'},"
		 "  {'ttl_seconds':5},{'seccomp':'%2$s'},{'seccomp':'default'}]}}}",
		 a, b);
	p = load_ok(json);
	CHECK(p);
	if (!p)
		return;
	pa = program_of(p, "t1", 0);
	def = program_of(p, "t3", 0);
	CHECK(pa && def && pa != def);
	CHECK_STREQ(pa ? pa->origin : NULL, a);
	CHECK(program_of(p, "t2", 0) == pa);
	CHECK(program_of(p, "t4", 0) == def);
	CHECK(program_of(p, "t5", 0) == NULL);
	CHECK_STREQ(policy_find_task(p, "t5")->seccomp, "none");
	/* mutation levels point to the same programs as the tasks */
	CHECK(program_of(p, "t6", 0) == def);
	CHECK(program_of(p, "t6", 1) == pa);
	CHECK_STREQ(policy_task_at_level(policy_find_task(p, "t6"), 1)->seccomp, a);
	CHECK(program_of(p, "t6", 2) == NULL);
	CHECK(program_of(p, "t6", 3) == NULL); /* inherited from level 2 */
	CHECK(program_of(p, "t6", 4) && program_of(p, "t6", 4) != pa && program_of(p, "t6", 4) != def);
	CHECK_STREQ(program_of(p, "t6", 4) ? program_of(p, "t6", 4)->origin : NULL, b);
	CHECK(program_of(p, "t6", 5) == def);
	CHECK(!programs_equal(pa, program_of(p, "t6", 4)));
	/* a, b and default: three compiles for eight uses */
	CHECK_INTEQ(p->n_seccomp_programs, 3);
	policy_free(p);
	unlink(a);
	unlink(b);
}

/* Without any task there is nothing to compile. */
static void test_no_tasks_no_programs(void)
{
	Policy *p = load_ok("{}");

	CHECK(p && p->n_seccomp_programs == 0);
	policy_free(p);
	p = load_ok(TASK(", 'seccomp':'none'"));
	CHECK(p && p->n_seccomp_programs == 0 && program_of(p, "x", 0) == NULL);
	policy_free(p);
}

static void test_error_seccomp_value(void)
{
	static const char m[] = "tasks.x.seccomp: expected \"default\", \"strict\", \"none\" or an absolute "
				"path to an OCI seccomp profile";

	CHECK_TASK_ERROR(", 'seccomp':'loose'", m);
	CHECK_TASK_ERROR(", 'seccomp':'profile.json'", m); /* relative paths stay refused */
	CHECK_TASK_ERROR(", 'seccomp':'./default'", m);
	CHECK_TASK_ERROR(", 'seccomp':'Default'", m);
	CHECK_TASK_ERROR(", 'seccomp':''", m);
	CHECK_TASK_ERROR(", 'seccomp':false", m);
	CHECK_TASK_ERROR(", 'mutations':[{},{'seccomp':'strict.json'}]",
			 "tasks.x.mutations[1].seccomp: expected \"default\", \"strict\", \"none\" or an "
			 "absolute path to an OCI seccomp profile");
}

/*
 * Task x has keys, a format naming the profile file path as %1$s, and is
 * refused with expected (the same). Task "ok" compiles a profile before it.
 */
#define CHECK_PROFILE_ERROR(path, keys, expected)                                                          \
	do {                                                                                               \
		_cleanup_free_ char *_x = NULL, *_e = NULL, *_j = NULL;                                    \
		_j = J("{'tasks':{'ok':{'command':['/bin/true'],'seccomp':'strict'},"                      \
		       "'x':{'command':['/bin/true']" keys "}}}",                                          \
		       path);                                                                              \
		if (asprintf(&_x, expected, path) < 0)                                                     \
			abort();                                                                           \
		_e = load_error(_j);                                                                       \
		CHECK_STREQ(_e, _x);                                                                       \
	} while (0)

static void test_error_profile_compile(void)
{
	_cleanup_free_ char *unknown = write_text("unknown.json", DENY_PROFILE("\"mkdir\", \"foo\"")),
			    *no_default = write_text("no-default.json", "{\"syscalls\": []}"),
			    *not_json = write_text("not-json.json", "{\n \"defaultAction\": ALLOW\n}"),
			    *missing = NULL;

	if (asprintf(&missing, "%s/no-such-profile.json", tmpdir) < 0)
		abort();
	CHECK_PROFILE_ERROR(unknown, ",'seccomp':'%1$s'",
			    "tasks.x.seccomp: %1$s: syscalls[0].names[1]: unknown system call \"foo\"");
	CHECK_PROFILE_ERROR(unknown, ",'mutations':[{},{'seccomp':'%1$s'}]",
			    "tasks.x.mutations[1].seccomp: %1$s: syscalls[0].names[1]: unknown system call "
			    "\"foo\"");
	CHECK_PROFILE_ERROR(no_default, ",'seccomp':'%1$s'",
			    "tasks.x.seccomp: %1$s: missing \"defaultAction\"");
	CHECK_PROFILE_ERROR(not_json, ",'seccomp':'%1$s'",
			    "tasks.x.seccomp: %1$s: line 2, column 19: unexpected character");
	CHECK_PROFILE_ERROR(missing, ",'seccomp':'%1$s'",
			    "tasks.x.seccomp: %1$s: No such file or directory");
	CHECK_PROFILE_ERROR(tmpdir, ",'seccomp':'%1$s'", "tasks.x.seccomp: %1$s: Is a directory");
	unlink(unknown);
	unlink(no_default);
	unlink(not_json);
}

/* Run under ASan: programs compiled before a refusal are freed with the rest. */
static void test_error_after_compiles_frees_them(void)
{
	_cleanup_free_ char *a = write_text("late-a.json", DENY_PROFILE("\"mkdir\"")), *json = NULL,
			    *e = NULL;

	json = J("{'tasks':{'a':{'command':['/bin/true'],'seccomp':'%s',"
		 "'mutations':[{'seccomp':'strict'}]},"
		 "'b':{'command':['/bin/true'],'mutations':[{'seccomp':'none'},{'ttl_seconds':0}]}}}",
		 a);
	e = load_error(json);
	CHECK_STREQ(e, "tasks.b.mutations[1].ttl_seconds: must be between 1 and 2147483647");
	unlink(a);
}

/* ---- dynamic_uid_range ---- */

static void test_dynamic_uid_range(void)
{
	Policy *p = load_ok("{}");

	CHECK(p);
	if (p) {
		CHECK_INTEQ(p->dynamic_uids.first, 61184); /* systemd's DynamicUser= range */
		CHECK_INTEQ(p->dynamic_uids.last, 65519);
		policy_free(p);
	}
	p = load_ok("{'dynamic_uid_range':{'first':2000000,'last':2000099}}");
	CHECK(p && p->dynamic_uids.first == 2000000 && p->dynamic_uids.last == 2000099);
	policy_free(p);
	/* one uid is enough; the highest allowed is 2^31-2 */
	p = load_ok("{'dynamic_uid_range':{'last':2147483646,'first':2147483646}}");
	CHECK(p && p->dynamic_uids.first == 2147483646 && p->dynamic_uids.last == 2147483646);
	policy_free(p);
}

static void test_error_dynamic_uid_range(void)
{
	CHECK_ERROR("{'dynamic_uid_range':[1,2]}", "dynamic_uid_range: expected an object");
	/* root's uid can never be in the range */
	CHECK_ERROR("{'dynamic_uid_range':{'first':0,'last':100}}",
		    "dynamic_uid_range.first: must be between 1 and 2147483646");
	CHECK_ERROR("{'dynamic_uid_range':{'first':-1,'last':100}}",
		    "dynamic_uid_range.first: must be between 1 and 2147483646");
	CHECK_ERROR("{'dynamic_uid_range':{'first':70000,'last':2147483647}}",
		    "dynamic_uid_range.last: must be between 1 and 2147483646");
	CHECK_ERROR("{'dynamic_uid_range':{'first':70000,'last':4294967295}}",
		    "dynamic_uid_range.last: must be between 1 and 2147483646");
	CHECK_ERROR("{'dynamic_uid_range':{'first':'70000','last':70001}}",
		    "dynamic_uid_range.first: expected an integer");
	CHECK_ERROR("{'dynamic_uid_range':{'first':70000.5,'last':70001}}",
		    "dynamic_uid_range.first: expected an integer");
	CHECK_ERROR("{'dynamic_uid_range':{'first':70001,'last':70000}}",
		    "dynamic_uid_range.first: must not exceed last (70000)");
	CHECK_ERROR("{'dynamic_uid_range':{'first':70000}}",
		    "dynamic_uid_range: missing required key \"last\"");
	CHECK_ERROR("{'dynamic_uid_range':{'last':70000}}",
		    "dynamic_uid_range: missing required key \"first\"");
	CHECK_ERROR("{'dynamic_uid_range':{}}", "dynamic_uid_range: missing required key \"first\"");
	CHECK_ERROR("{'dynamic_uid_range':{'first':70000,'last':70001,'count':2}}",
		    "dynamic_uid_range.count: unknown key");
}

/* The first user (group) of the database with an id in [1, 2^31-2], as the daemon would find it. */
static bool first_user(uid_t *ret_uid, char **ret_name)
{
	struct passwd *pw;

	setpwent();
	while ((pw = getpwent()))
		if (pw->pw_uid >= 1 && pw->pw_uid <= 2147483646U)
			break;
	if (pw) {
		*ret_uid = pw->pw_uid;
		*ret_name = strdup(pw->pw_name);
	}
	endpwent();
	return pw != NULL;
}

/* A group whose gid is no user's uid, so that only the group check can refuse it. */
static bool lone_group(gid_t *ret_gid, char **ret_name)
{
	struct group *gr;

	setgrent();
	while ((gr = getgrent()))
		if (gr->gr_gid >= 1 && gr->gr_gid <= 2147483646U && !getpwuid(gr->gr_gid))
			break;
	if (gr) {
		*ret_gid = gr->gr_gid;
		*ret_name = strdup(gr->gr_name);
	}
	endgrent();
	return gr != NULL;
}

static void test_error_dynamic_uid_range_holds_a_user(void)
{
	_cleanup_free_ char *name = NULL, *json = NULL, *expected = NULL, *e = NULL;
	uid_t uid;

	if (!first_user(&uid, &name))
		SKIP("no user other than root on this machine");
	/* the widest range the policy accepts, and the user's uid alone */
	json = J("{'dynamic_uid_range':{'first':1,'last':2147483646}}");
	e = load_error(json);
	if (asprintf(&expected, "dynamic_uid_range: 1-2147483646 holds uid %u of the existing user \"%s\"",
		     (unsigned)uid, name) < 0)
		abort();
	CHECK_STREQ(e, expected);
	free(json);
	free(e);
	free(expected);
	json = J("{'dynamic_uid_range':{'first':%u,'last':%u}}", (unsigned)uid, (unsigned)uid);
	e = load_error(json);
	if (asprintf(&expected, "dynamic_uid_range: %1$u-%1$u holds uid %1$u of the existing user \"%2$s\"",
		     (unsigned)uid, name) < 0)
		abort();
	CHECK_STREQ(e, expected);
}

static void test_error_dynamic_uid_range_holds_a_group(void)
{
	_cleanup_free_ char *name = NULL, *json = NULL, *expected = NULL, *e = NULL;
	gid_t gid;

	if (!lone_group(&gid, &name))
		SKIP("every group shares its id with a user here");
	/* a daughter runs with gid = uid, so a group's gid is as taken as a user's uid */
	json = J("{'dynamic_uid_range':{'first':%u,'last':%u}}", (unsigned)gid, (unsigned)gid);
	e = load_error(json);
	if (asprintf(&expected, "dynamic_uid_range: %1$u-%1$u holds gid %1$u of the existing group \"%2$s\"",
		     (unsigned)gid, name) < 0)
		abort();
	CHECK_STREQ(e, expected);
}

/* ---- output_max ---- */

static void test_output_max(void)
{
	const PolicyTask *t;
	Policy *p = load_ok("{'tasks':{'d':{'command':['/bin/true']},"
			    "'m':{'command':['/bin/true'],'output_max':'64K',"
			    "'mutations':[{'output_max':1048577},{}]}}}");

	CHECK(p);
	if (p) {
		CHECK_INTEQ(p->defaults.output_max, 1024 * 1024);
		CHECK_INTEQ(policy_find_task(p, "d")->output_max, 1024 * 1024);
		t = policy_find_task(p, "m");
		CHECK_INTEQ(t->output_max, 64 * 1024);
		CHECK_INTEQ(policy_task_at_level(t, 1)->output_max, 1048577);
		CHECK_INTEQ(policy_task_at_level(t, 2)->output_max, 1048577);
		policy_free(p);
	}
	/* "defaults" applies wherever it is in the file; the bounds are inclusive */
	p = load_ok("{'tasks':{'d':{'command':['/bin/true']},"
		    "'lo':{'command':['/bin/true'],'output_max':4096},"
		    "'hi':{'command':['/bin/true'],'output_max':'256M'}},'defaults':{'output_max':'2m'}}");
	CHECK(p);
	if (p) {
		CHECK_INTEQ(p->defaults.output_max, 2 * 1024 * 1024);
		CHECK_INTEQ(policy_find_task(p, "d")->output_max, 2 * 1024 * 1024);
		CHECK_INTEQ(policy_find_task(p, "lo")->output_max, 4096);
		CHECK_INTEQ(policy_find_task(p, "hi")->output_max, 256 * 1024 * 1024);
		policy_free(p);
	}
	p = NULL;
	CHECK_INTEQ(policy_load_bundled(&p, NULL), 0);
	CHECK(p && policy_find_task(p, "echo") && policy_find_task(p, "echo")->output_max == 1024 * 1024);
	policy_free(p);
}

static void test_error_output_max(void)
{
	CHECK_TASK_ERROR(", 'output_max':4095", "tasks.x.output_max: must be between 4K and 256M");
	CHECK_TASK_ERROR(", 'output_max':'257M'", "tasks.x.output_max: must be between 4K and 256M");
	CHECK_TASK_ERROR(", 'output_max':'1T'", "tasks.x.output_max: must be between 4K and 256M");
	CHECK_TASK_ERROR(", 'output_max':'lots'", "tasks.x.output_max: expected a size like \"256M\"");
	CHECK_TASK_ERROR(", 'output_max':-1", "tasks.x.output_max: expected a size like \"256M\"");
	CHECK_TASK_ERROR(", 'mutations':[{'output_max':0}]",
			 "tasks.x.mutations[0].output_max: must be between 4K and 256M");
	CHECK_ERROR("{'defaults':{'output_max':'1K'}}", "defaults.output_max: must be between 4K and 256M");
	CHECK_ERROR("{'defaults':{'output_max':null}}",
		    "defaults.output_max: expected a size like \"256M\"");
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		abort();

	TEST(test_bundled_policy_compiles_default_once);
	TEST(test_builtin_profiles_are_the_shipped_ones);
	TEST(test_builtin_profiles_need_no_files);
	TEST(test_same_profile_compiles_once);
	TEST(test_no_tasks_no_programs);
	TEST(test_error_seccomp_value);
	TEST(test_error_profile_compile);
	TEST(test_error_after_compiles_frees_them);
	TEST(test_dynamic_uid_range);
	TEST(test_error_dynamic_uid_range);
	TEST(test_error_dynamic_uid_range_holds_a_user);
	TEST(test_error_dynamic_uid_range_holds_a_group);
	TEST(test_output_max);
	TEST(test_error_output_max);

	rmdir(tmpdir);
	return tap_done();
}
