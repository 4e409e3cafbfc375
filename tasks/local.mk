# tasks/: the programs of the bundled policy's task types, installed where
# policy/default.json names them: $(vx11_taskdir), /usr/libexec/vx11 unless
# configure --with-taskdir says otherwise (as for the configuration
# directory, the bundled policy is written for the default).
vx11taskdir = $(vx11_taskdir)
vx11task_PROGRAMS = tasks/analysis
tasks_analysis_SOURCES = tasks/analysis.c
tasks_analysis_LDADD = $(JSONC_LIBS)
