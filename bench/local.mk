# Benchmarks: built on demand (make bench), never part of make check.
