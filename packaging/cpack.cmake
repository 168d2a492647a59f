# Debian package: `cpack -G DEB --config build/CPackConfig.cmake` after building. Packaging (and
# `cmake --install`) takes what is built and does not rebuild first, so the test suite can package
# the build it runs on.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 FILES_MATCHING PATTERN "*.1")
install(FILES ${CMAKE_SOURCE_DIR}/completions/orch.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME orch)
install(FILES ${CMAKE_SOURCE_DIR}/completions/_orch DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${CMAKE_SOURCE_DIR}/completions/orch.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/orch.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/grafana/orch.json DESTINATION ${CMAKE_INSTALL_DATADIR}/orch/grafana)
# Absolute: configuration lives in /etc whatever the prefix (Debian policy).
install(FILES ${CMAKE_SOURCE_DIR}/packaging/orch.env DESTINATION /etc/orch)

set(CPACK_PACKAGE_NAME orch)
set(CPACK_PACKAGE_CONTACT "orch developers <dev@orch.local>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Control plane for a Docker + Redis content stack")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# postinst adds the orch system user; the trigger runs ldconfig for liborch; conffiles keeps an
# edited /etc/orch/orch.env across upgrades.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/postinst ${CMAKE_SOURCE_DIR}/packaging/triggers
    ${CMAKE_SOURCE_DIR}/packaging/conffiles)
include(CPack)
