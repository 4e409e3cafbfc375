/* SPDX-License-Identifier: MIT */
/*
 * The daughter of bench-spawn: exits 0 at once. Linked -static so that every
 * row of the benchmark runs the same binary without the dynamic loader.
 * Where glibc's libc.a is missing, bench/local.mk builds it with
 * -DVX11_TRUE_NOSTDLIB instead: a bare _start that calls exit_group, which
 * skips glibc's start-up (most of a bare spawn's cost, perf/FLOORS.md), so
 * bench-spawn reads the marker below and says which one it measured.
 */
#ifndef VX11_TRUE_NOSTDLIB

__attribute__((used)) static const char vx11_true_kind[] = "vx11-true-static:glibc-static";

int main(void)
{
	return 0;
}

#else

__attribute__((used)) static const char vx11_true_kind[] = "vx11-true-static:nostdlib";

void _start(void);
__attribute__((noreturn, used)) void _start(void)
{
#if defined(__x86_64__)
	__asm__ volatile("syscall" : : "a"(231 /* exit_group */), "D"(0) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = 94; /* exit_group */
	register long x0 __asm__("x0") = 0;
	__asm__ volatile("svc 0" : : "r"(x8), "r"(x0) : "memory");
#else
#error "no -nostdlib _start for this architecture: install glibc's static library (libc6-dev)"
#endif
	__builtin_unreachable();
}

#endif
