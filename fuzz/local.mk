# libFuzzer targets: built on demand with clang (make fuzz).
