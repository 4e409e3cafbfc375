# vx11-switch: the reference switch (switch.md), a program of its own beside
# vx11d. It shares common/ with the daemon and nothing of daemon/: its include
# path has no daemon/ in it. Everything but main() is a convenience library so
# the unit tests link the very code the switch runs.
SWITCH_CPPFLAGS = -include $(top_builddir)/config.h -I$(top_srcdir)/common \
	-DVX11_SYSCONFDIR=\"$(vx11_sysconfdir)\" \
	-DVX11_SWITCH_EXAMPLE=\"$(switchdatadir)/example.json\"

noinst_LIBRARIES += switch/libvx11switch.a
switch_libvx11switch_a_CPPFLAGS = $(SWITCH_CPPFLAGS)
switch_libvx11switch_a_SOURCES = \
	switch/log.c switch/log.h \
	switch/json-strict.c switch/json-strict.h \
	switch/config.c switch/config.h \
	switch/route.c switch/route.h \
	switch/rpc.c switch/rpc.h \
	switch/params.c switch/params.h \
	switch/provider.c switch/provider.h \
	switch/conn.c switch/conn.h \
	switch/methods.c switch/methods.h \
	switch/server.c switch/server.h

sbin_PROGRAMS += switch/vx11-switch
switch_vx11_switch_CPPFLAGS = $(SWITCH_CPPFLAGS)
switch_vx11_switch_SOURCES = switch/main.c
switch_vx11_switch_LDADD = switch/libvx11switch.a common/libvx11common.a $(SYSTEMD_LIBS) $(JSONC_LIBS)

# The example configuration (used when /etc/vx11/switch.json is missing) and
# the harmless provider it names, side by side in $(pkgdatadir)/switch.
switchdatadir = $(pkgdatadir)/switch
switchdata_DATA = switch/example.json
dist_switchdata_SCRIPTS = switch/providers/echo-provider
EXTRA_DIST += switch/example.json.in switch/README.md
CLEANFILES += switch/example.json
switch/example.json: $(top_srcdir)/switch/example.json.in Makefile
	$(AM_V_GEN)mkdir -p switch && sed -e 's|@switchdatadir[@]|$(switchdatadir)|g' \
		$(top_srcdir)/switch/example.json.in >$@.tmp && mv $@.tmp $@
