# Installation (cmake --install) and the Debian package (cpack -G DEB).
# Everything a user of the tool needs is installed: the binary, vnetcfg(8),
# vnetcfg.json(5), bash completion, the systemd unit vnetcfg@.service, and the
# JSON Schemas (profile format and --json output) under share/vnetcfg.
include(GNUInstallDirs)

# systemd looks for units in /lib/systemd/system (Debian 12 packages ship them
# there) and /usr/local/lib/systemd/system.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(VNC_SYSTEMD_UNITDIR_DEFAULT "/lib/systemd/system")
else()
  set(VNC_SYSTEMD_UNITDIR_DEFAULT "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(VNC_SYSTEMD_UNITDIR "${VNC_SYSTEMD_UNITDIR_DEFAULT}" CACHE PATH "Where vnetcfg@.service is installed")
set(VNC_SBINDIR "${CMAKE_INSTALL_FULL_SBINDIR}")
configure_file(${CMAKE_SOURCE_DIR}/systemd/vnetcfg@.service.in ${CMAKE_BINARY_DIR}/systemd/vnetcfg@.service @ONLY)

# Man pages compressed as Debian policy wants them (gzip -9n: reproducible).
set(VNC_MAN_GZ)
foreach(page vnetcfg.8 vnetcfg.json.5)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/docs/${page} > ${CMAKE_BINARY_DIR}/man/${page}.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/docs/${page})
  list(APPEND VNC_MAN_GZ ${CMAKE_BINARY_DIR}/man/${page}.gz)
endforeach()
# Debian's changelog.gz (the package is native: its version is the project's).
configure_file(${CMAKE_SOURCE_DIR}/packaging/changelog.in ${CMAKE_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  COMMAND gzip -9n -c ${CMAKE_BINARY_DIR}/packaging/changelog > ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog)
add_custom_target(man-pages ALL DEPENDS ${VNC_MAN_GZ} ${CMAKE_BINARY_DIR}/packaging/changelog.gz)

install(TARGETS vnetcfg DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(FILES ${CMAKE_BINARY_DIR}/man/vnetcfg.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_BINARY_DIR}/man/vnetcfg.json.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${CMAKE_SOURCE_DIR}/completion/vnetcfg DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${CMAKE_BINARY_DIR}/systemd/vnetcfg@.service DESTINATION ${VNC_SYSTEMD_UNITDIR})
install(FILES ${CMAKE_SOURCE_DIR}/profiles/vnetcfg.schema.json ${CMAKE_SOURCE_DIR}/schemas/vnetcfg-output.schema.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/vnetcfg)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/copyright ${CMAKE_BINARY_DIR}/packaging/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "vnetcfg")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "vnetcfg maintainers <maintainers@users.noreply.r-seed-61a622b2.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "host-side virtual networks for VM labs from one JSON profile")
set(CPACK_PACKAGE_DESCRIPTION "vnetcfg builds the bridges, taps, addresses, routes, sysctls, firewall rules
(NAT, isolation, port forwards) and DHCP of a lab's virtual networks from one
declarative JSON profile, journals every change before it makes it, pings
across the result, and puts the host back exactly as it was on rollback.
doctor says what is broken when a guest and the host cannot reach each other.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Depends: the shared libraries the binary links (dpkg-shlibdeps), and the DHCP server it runs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "dnsmasq-base")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "iproute2")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
