/* SPDX-License-Identifier: MIT */
/*
 * The seccomp module, part 1: compiling. The shipped profiles compile (by
 * name and by path), "none" is no program, and every error in a profile
 * names its place in it: a file that is missing or not JSON, duplicate and
 * unknown keys, system calls, actions, errno values, operators, arguments,
 * architectures and conflicting rules; and how long default.json takes. No
 * child is forked here. Part 2, the shipped profiles at work, is
 * test-seccomp-shipped.c; part 3, loading and the format's semantics in the
 * kernel, test-seccomp-filter.c; what they share is seccomp-test.h.
 */
#include "seccomp-test.h"

/* ---- compiling ---- */

static void test_shipped_profiles_compile(void)
{
	_cleanup_free_ char *error = NULL, *error2 = NULL;
	int r;

	r = seccomp_program_compile("default", profile_dir(), &shipped_default, &error);
	if (r < 0)
		printf("# default: %s\n", error);
	CHECK_INTEQ(r, 0);
	CHECK(shipped_default && shipped_default->prog.len > 0 && shipped_default->prog.filter);
	CHECK_STREQ(shipped_default ? shipped_default->origin : NULL, "default");

	r = seccomp_program_compile("strict", profile_dir(), &shipped_strict, &error2);
	if (r < 0)
		printf("# strict: %s\n", error2);
	CHECK_INTEQ(r, 0);
	CHECK(shipped_strict && shipped_strict->prog.len > 0 && shipped_strict->prog.filter);
	CHECK_STREQ(shipped_strict ? shipped_strict->origin : NULL, "strict");
	if (shipped_default && shipped_strict)
		printf("# default: %u instructions, strict: %u\n", shipped_default->prog.len,
		       shipped_strict->prog.len);
}

static void test_profile_by_path(void)
{
	_cleanup_seccomp_program_ SeccompProgram *p = NULL;
	_cleanup_free_ char *path = NULL, *error = NULL;

	path = profile_file("strict.json");
	CHECK(path);
	if (!path)
		return;
	CHECK_INTEQ(seccomp_program_compile(path, NULL, &p, &error), 0);
	CHECK_STREQ(p ? p->origin : NULL, path);
}

static void test_none_is_null(void)
{
	SeccompProgram *p = (SeccompProgram *)0x1;
	char *error = NULL;

	CHECK_INTEQ(seccomp_program_compile("none", NULL, &p, &error), 0);
	CHECK(p == NULL);
	CHECK(error == NULL);
	/* Loading "none" is a no-op, so a child may call it unconditionally. */
	CHECK_INTEQ(seccomp_program_load(NULL), 0);
	CHECK(seccomp_program_free(NULL) == NULL);
}

static void test_unknown_profile_name(void)
{
	SeccompProgram *p = (SeccompProgram *)0x1;
	_cleanup_free_ char *error = NULL, *error2 = NULL;

	CHECK_INTEQ(seccomp_program_compile("relative.json", profile_dir(), &p, &error), -EINVAL);
	CHECK_STREQ(error, "unknown seccomp profile \"relative.json\" (expected \"default\", \"strict\", "
			   "\"none\" or an absolute path)");
	CHECK(p == (SeccompProgram *)0x1);
	CHECK_INTEQ(seccomp_program_compile("default", NULL, &p, &error2), -EINVAL);
	CHECK_STREQ(error2, "no directory to look up the \"default\" seccomp profile in");
}

static void test_missing_file(void)
{
	SeccompProgram *p = (SeccompProgram *)0x1;
	_cleanup_free_ char *error = NULL, *error2 = NULL;

	CHECK_INTEQ(seccomp_program_compile("/nonexistent/profile.json", NULL, &p, &error), -ENOENT);
	CHECK_STREQ(error, "/nonexistent/profile.json: No such file or directory");
	/* A profile directory without the shipped files names the file it looked for. */
	CHECK_INTEQ(seccomp_program_compile("strict", "/nonexistent", &p, &error2), -ENOENT);
	CHECK_STREQ(error2, "/nonexistent/strict.json: No such file or directory");
	CHECK(p == (SeccompProgram *)0x1);
}

static void test_file_not_json(void)
{
	char path[] = "/tmp/test-seccomp-XXXXXX";
	SeccompProgram *p = (SeccompProgram *)0x1;
	_cleanup_free_ char *error = NULL, *error2 = NULL, *want = NULL;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, "{\n  \"defaultAction\": SCMP_ACT_ALLOW\n}\n", 38) == 38);
	close(fd);
	CHECK_INTEQ(seccomp_program_compile(path, NULL, &p, &error), -EINVAL);
	CHECK(asprintf(&want, "%s: line 2, column 20: unexpected character", path) > 0);
	CHECK_STREQ(error, want);
	unlink(path);

	CHECK_INTEQ(seccomp_program_compile("/tmp", NULL, &p, &error2), -EISDIR);
	CHECK_STREQ(error2, "/tmp: Is a directory");
	CHECK(p == (SeccompProgram *)0x1);
}

static void test_duplicate_key_refused(void)
{
	/* json-c alone would keep the last defaultAction, turning a deny-list into allow-all. */
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_KILL\",\n \"defaultAction\": \"SCMP_ACT_ALLOW\"}"),
		    "defaultAction: duplicate key (line 2)");
}

static void test_error_unknown_syscall(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"reboot\", \"foo\"], \"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[3].names[1]: unknown system call \"foo\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[0].names: expected a non-empty array of system call names");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"read\", 3], \"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[0].names[1]: expected a string");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[0]: missing \"names\"");
}

static void test_error_unknown_action(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_FOO\"}"),
		    "defaultAction: unknown action \"SCMP_ACT_FOO\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_BAR\"}]}"),
		    "syscalls[1].action: unknown action \"SCMP_ACT_BAR\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_TRACE\"}]}"),
		    "syscalls[0].action: SCMP_ACT_TRACE is not supported: vx11d does not trace daughters "
		    "(use SCMP_ACT_ERRNO)");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}"),
		    "defaultAction: SCMP_ACT_NOTIFY is not supported: vx11d runs no seccomp agent");
	CHECK_STREQ(compile_error("{\"syscalls\": []}"), "missing \"defaultAction\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"]}]}"),
		    "syscalls[0]: missing \"action\"");
}

static void test_error_errno_values(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 4096}]}"),
		    "syscalls[0].errnoRet: expected an integer from 0 to 4095");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_KILL\", \"errnoRet\": 1}]}"),
		    "syscalls[0].errnoRet: only allowed with SCMP_ACT_ERRNO");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}"),
		    "defaultErrnoRet: only allowed with SCMP_ACT_ERRNO");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}"),
		    "defaultErrnoRet: expected an integer from 0 to 4095");
}

static void test_error_unknown_operator(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
				  "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_X\"}]}]}"),
		    "syscalls[2].args[0].op: unknown operator \"SCMP_CMP_X\"");
}

static void test_error_arguments(void)
{
#define ARGS_PROFILE(args)                                                                                 \
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"clone\"], "                   \
	"\"action\": \"SCMP_ACT_ERRNO\", \"args\": [" args "]}]}"
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0].index: expected an integer from 0 to 5");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0].value: expected an integer from 0 to 18446744073709551615");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 0, \"value\": 1.5, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0].value: expected an integer from 0 to 18446744073709551615");
	CHECK_STREQ(compile_error(ARGS_PROFILE(
			    "{\"index\": 0, \"value\": 1, \"valueTwo\": 2, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0].valueTwo: only used with SCMP_CMP_MASKED_EQ");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 1, \"value\": 1, \"op\": \"SCMP_CMP_GE\"},"
					       "{\"index\": 1, \"value\": 9, \"op\": \"SCMP_CMP_LE\"}")),
		    "syscalls[0].args[1].index: argument 1 is already compared by args[0] (one comparison per "
		    "argument and rule)");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 0, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0]: missing \"value\"");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\", \"x\": 1}")),
		    "syscalls[0].args[0].x: unknown key");
	/* valueTwo 0 beside other operators is what Docker's profiles write. */
	seccomp_program_free(compile_ok(ARGS_PROFILE(
		"{\"index\": 0, \"value\": 1, \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"}")));
#undef ARGS_PROFILE
}

static void test_error_unknown_keys(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": []}"), "flags: unknown key");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": []}"),
		    "archMap: unknown key (Docker's \"archMap\" is not supported, list \"architectures\" instead)");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"nmae\": 1}]}"),
		    "syscalls[0].nmae: unknown key");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"name\": \"mount\", \"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[0].name: unknown key (write \"names\": [...])");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", "
				  "\"includes\": {\"minKernel\": \"5.8\"}}]}"),
		    "syscalls[0].includes.minKernel: unknown key");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": null}]}"),
		    "syscalls[0].errnoRet: null is not allowed here");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"comment\": 7}]}"),
		    "syscalls[0].comment: expected a string");
	CHECK_STREQ(compile_error("[]"), "expected an object");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}"),
		    "syscalls: expected an array of rules");
}

static void test_error_architectures(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
				  "\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_FOO\"]}"),
		    "architectures[1]: unknown architecture \"SCMP_ARCH_FOO\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", "
				  "\"excludes\": {\"arches\": [\"amd64\", \"vax\"]}}]}"),
		    "syscalls[0].excludes.arches[1]: unknown architecture \"vax\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", "
				  "\"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}"),
		    "syscalls[0].includes.caps: capability conditions are not supported (a daughter's "
		    "capabilities are not known when the profile is compiled)");
	/* Empty conditions and foreign architectures are fine. */
	seccomp_program_free(compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
					"\"architectures\": [\"SCMP_ARCH_S390X\", \"SCMP_ARCH_PPC64LE\"], "
					"\"syscalls\": [{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", "
					"\"includes\": {}, \"excludes\": {\"caps\": [], \"arches\": []}}]}"));
}

static void test_error_conflicting_rules(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\", \"umount2\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"bpf\", \"umount2\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}"),
		    "syscalls[1].names[1]: \"umount2\" is given SCMP_ACT_ERRNO(1) by syscalls[0] and "
		    "SCMP_ACT_KILL_PROCESS here");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
				  "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_KILL\"}]}"),
		    "syscalls[1].names[0]: \"clone\" has an unconditional rule (SCMP_ACT_KILL, syscalls[1]) and "
		    "a conditional one (SCMP_ACT_ERRNO(1), syscalls[0]) with different actions");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
				  "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_KILL\", \"args\": "
				  "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		    "syscalls[1].names[0]: \"clone\": an earlier rule has the same comparisons and another action");
	/* The same action twice, or the default action, is harmless. */
	seccomp_program_free(compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
					"{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\"},"
					"{\"names\": [\"mount\", \"read\"], \"action\": \"SCMP_ACT_ERRNO\"},"
					"{\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}"));
}

static void test_error_multiplexed_arguments(void)
{
	/* On x86 socket() may come through socketcall(2), where libseccomp cannot compare arguments. */
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", "
				  "\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"], \"syscalls\": ["
				  "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
				  "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		    "syscalls[0].names[0]: \"socket\" cannot be filtered by its arguments on SCMP_ARCH_X86, where it "
		    "may come through a multiplexer call; leave SCMP_ARCH_X86 out of \"architectures\"");
	seccomp_program_free(compile_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", "
					"\"architectures\": [\"SCMP_ARCH_X86_64\"], \"syscalls\": ["
					"{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
					"[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Not an assertion: the machine may be busy. The figure to compare is the compile floor in FLOORS.md. */
static void test_compile_time(void)
{
	_cleanup_free_ char *path = NULL;
	uint64_t t[51];

	path = profile_file("default.json");
	CHECK(path);
	if (!path)
		return;
	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		SeccompProgram *p = NULL;
		uint64_t start = now_monotonic_usec();

		CHECK_INTEQ(seccomp_program_compile(path, NULL, &p, NULL), 0);
		t[i] = now_monotonic_usec() - start;
		seccomp_program_free(p);
	}
	qsort(t, ELEMENTSOF(t), sizeof(t[0]), cmp_u64);
	printf("# compiling default.json (read, parse, build, export): median %" PRIu64 " us, fastest %" PRIu64
	       " us, over %zu runs\n",
	       t[ELEMENTSOF(t) / 2], t[0], ELEMENTSOF(t));
}

int main(void)
{
	TEST(test_shipped_profiles_compile);
	TEST(test_profile_by_path);
	TEST(test_none_is_null);
	TEST(test_unknown_profile_name);
	TEST(test_missing_file);
	TEST(test_file_not_json);
	TEST(test_duplicate_key_refused);
	TEST(test_error_unknown_syscall);
	TEST(test_error_unknown_action);
	TEST(test_error_errno_values);
	TEST(test_error_unknown_operator);
	TEST(test_error_arguments);
	TEST(test_error_unknown_keys);
	TEST(test_error_architectures);
	TEST(test_error_conflicting_rules);
	TEST(test_error_multiplexed_arguments);
	TEST(test_compile_time);
	return seccomp_test_done();
}
