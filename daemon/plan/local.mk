# plan/: what vx11d asks the planning service (the switch) and how.
daemon_libvx11d_a_SOURCES += \
	daemon/plan/switch-client.c daemon/plan/switch-client.h \
	daemon/plan/switch-wire.c daemon/plan/switch-wire.h
EXTRA_DIST += daemon/plan/README.md
