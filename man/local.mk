dist_man_MANS += man/vx11d.8 man/vx11ctl.1 man/vx11-policy.5 man/vx11-protocol.7 man/vx11-switch.8
