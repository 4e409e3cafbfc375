bin_PROGRAMS += client/vx11ctl
client_vx11ctl_SOURCES = \
	client/vx11ctl.c client/vx11ctl.h \
	client/rpc-client.c client/rpc-client.h \
	client/output.c client/output.h \
	client/cmd-intent.c client/cmd-task.c client/cmd-daemon.c client/cmd-daughter.c
client_vx11ctl_LDADD = common/libvx11common.a $(JSONC_LIBS)
