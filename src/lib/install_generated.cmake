# SPDX-License-Identifier: MIT
# Run by `cmake --install` (see CMakeLists.txt): writes p2pclock.pc and
# p2pclock@.service for the prefix of this install and installs them.
# file(INSTALL) adds $DESTDIR itself.
set(prefix "${CMAKE_INSTALL_PREFIX}")
configure_file("${P2PC_SRC}/p2pclock.pc.in" "${P2PC_BIN}/p2pclock.pc" @ONLY)
file(INSTALL DESTINATION "${prefix}/${P2PC_LIBDIR}/pkgconfig" TYPE FILE
     FILES "${P2PC_BIN}/p2pclock.pc")
set(P2PC_BINDIR_ABS "${prefix}/${P2PC_BINDIR}")
configure_file("${P2PC_SRC}/p2pclock@.service.in"
               "${P2PC_BIN}/p2pclock@.service" @ONLY)
# systemd reads /usr/local/lib/systemd/system and /usr/lib/systemd/system.
file(INSTALL DESTINATION "${prefix}/lib/systemd/system" TYPE FILE
     FILES "${P2PC_BIN}/p2pclock@.service")
