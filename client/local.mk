bin_PROGRAMS += client/vx11ctl
client_vx11ctl_SOURCES = \
	client/vx11ctl.c client/vx11ctl.h \
	client/rpc-client.c client/rpc-client.h \
	client/output.c client/output.h client/ids.c client/ids.h client/when.c client/when.h \
	client/follow.c client/follow.h \
	client/cmd-intent.c client/cmd-task.c client/cmd-daemon.c client/cmd-daughter.c \
	client/cmd-types.c \
	client/cmd-queue.c client/after.c client/after.h
client_vx11ctl_LDADD = common/libvx11common.a $(JSONC_LIBS)

# bash-completion loads a completion by the command's name.
bashcompletion_DATA = client/completion/vx11ctl
EXTRA_DIST += client/vx11ctl.bash
CLEANFILES += client/completion/vx11ctl
client/completion/vx11ctl: $(top_srcdir)/client/vx11ctl.bash
	$(AM_V_GEN)mkdir -p client/completion && cp $(top_srcdir)/client/vx11ctl.bash $@
