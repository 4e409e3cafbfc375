#!/bin/sh
# The host-dependent suites as on a host where vx11d was never installed.
exec "$(dirname "$0")/host-suite.sh" fresh
