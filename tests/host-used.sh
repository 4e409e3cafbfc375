#!/bin/sh
# The host-dependent suites as on a host where vx11d was installed before.
exec "$(dirname "$0")/host-suite.sh" used
