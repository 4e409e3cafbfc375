# Code shared by the daemon, the client and the tests: the bottom layer, it
# includes nothing from daemon/.
noinst_LIBRARIES += common/libvx11common.a
common_libvx11common_a_SOURCES = \
	common/util.c common/util.h \
	common/frame.c common/frame.h \
	common/log.c common/log.h \
	common/sha256.c common/sha256.h \
	common/metrics.c common/metrics.h \
	common/trace.c common/trace.h \
	common/json-util.h common/list.h
