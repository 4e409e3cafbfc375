# systemd integration: units, users, directories, the journal catalog.
systemdsystemunit_DATA = units/vx11d.service units/vx11d.socket
sysusers_DATA = units/sysusers/vx11.conf
tmpfiles_DATA = units/tmpfiles/vx11.conf
catalog_DATA = units/vx11.catalog
EXTRA_DIST += units/vx11d.service.in units/vx11d.socket units/vx11.sysusers units/vx11.tmpfiles.in \
	units/vx11.catalog
CLEANFILES += units/vx11d.service units/sysusers/vx11.conf units/tmpfiles/vx11.conf
# vx11-switch (switch/): its own service and socket.
systemdsystemunit_DATA += units/vx11-switch.service units/vx11-switch.socket
EXTRA_DIST += units/vx11-switch.service.in units/vx11-switch.socket
CLEANFILES += units/vx11-switch.service

# Paths known only at make time (so `make prefix=...` works too).
units_edit = sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@pkgdatadir[@]|$(pkgdatadir)|g' \
	-e 's|@vx11_sysconfdir[@]|$(vx11_sysconfdir)|g'
units/vx11d.service: $(top_srcdir)/units/vx11d.service.in Makefile
	$(AM_V_GEN)mkdir -p units && $(units_edit) $(top_srcdir)/units/vx11d.service.in >$@.tmp && mv $@.tmp $@
units/vx11-switch.service: $(top_srcdir)/units/vx11-switch.service.in Makefile
	$(AM_V_GEN)mkdir -p units && $(units_edit) $(top_srcdir)/units/vx11-switch.service.in >$@.tmp && mv $@.tmp $@
units/tmpfiles/vx11.conf: $(top_srcdir)/units/vx11.tmpfiles.in Makefile
	$(AM_V_GEN)mkdir -p units/tmpfiles && $(units_edit) $(top_srcdir)/units/vx11.tmpfiles.in >$@.tmp && mv $@.tmp $@
units/sysusers/vx11.conf: $(top_srcdir)/units/vx11.sysusers
	$(AM_V_GEN)mkdir -p units/sysusers && cp $(top_srcdir)/units/vx11.sysusers $@

# The policy vx11d reads: the packaged default in $(pkgdatadir)/policy (the
# same text is built into vx11d), copied to $(vx11_sysconfdir)/policy.json by
# `make install` and by tmpfiles.d at boot unless the administrator has one.
policydefaultdir = $(pkgdatadir)/policy
policydefault_DATA = policy/default.json

# On the live system (no DESTDIR), make the groups, the directories and the
# catalog database real, as a package's postinst would; a DESTDIR install
# (packaging, the tests) only lays out files.
# Only where systemd reads the units: an install into a private prefix (a
# user's, distcheck's) must not create groups or directories on the host.
install-data-hook:
	@if test -e '$(DESTDIR)$(vx11_sysconfdir)/policy.json'; then \
	  echo "  keeping $(DESTDIR)$(vx11_sysconfdir)/policy.json"; \
	elif $(MKDIR_P) '$(DESTDIR)$(vx11_sysconfdir)' 2>/dev/null && test -w '$(DESTDIR)$(vx11_sysconfdir)'; then \
	  $(INSTALL_DATA) '$(srcdir)/policy/default.json' '$(DESTDIR)$(vx11_sysconfdir)/policy.json'; \
	else \
	  echo "  warning: cannot write $(DESTDIR)$(vx11_sysconfdir); vx11d runs the bundled policy until one is there" >&2; \
	fi
	@case '$(systemdsystemunitdir)' in \
	/usr/lib/systemd/system | /usr/local/lib/systemd/system | /lib/systemd/system | /etc/systemd/system) ;; \
	*) exit 0 ;; \
	esac; \
	if test -z '$(DESTDIR)' && test "$$(id -u)" = 0; then \
	  ! command -v systemd-sysusers >/dev/null || systemd-sysusers '$(sysusersdir)/vx11.conf' || exit 1; \
	  ! command -v systemd-tmpfiles >/dev/null || systemd-tmpfiles --create '$(tmpfilesdir)/vx11.conf' || :; \
	  ! command -v journalctl >/dev/null || journalctl --update-catalog || :; \
	  if test -d /run/systemd/system; then systemctl daemon-reload || :; fi; \
	fi

uninstall-hook:
	@if cmp -s '$(srcdir)/policy/default.json' '$(DESTDIR)$(vx11_sysconfdir)/policy.json'; then \
	  rm -f '$(DESTDIR)$(vx11_sysconfdir)/policy.json'; \
	  rmdir '$(DESTDIR)$(vx11_sysconfdir)' 2>/dev/null || :; \
	fi
