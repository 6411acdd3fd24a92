# cmake --install: headers under include/ember/, the library, and a package config so that an
# outside project writes find_package(ember) and target_link_libraries(app ember::ember).
include_guard()
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(layer core autograd nn optim data distributed)
  if(EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/${layer}")
    install(DIRECTORY "${layer}/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/ember/${layer}"
            FILES_MATCHING PATTERN "*.h" PATTERN "*.inc")
  endif()
endforeach()
install(FILES cmake/ember.h DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/ember")

set(EMBER_INSTALLED_TARGETS ember)
if(TARGET ember_distributed)  # ember::distributed, when built with Open MPI
  set_target_properties(ember_distributed PROPERTIES EXPORT_NAME distributed)
  list(APPEND EMBER_INSTALLED_TARGETS ember_distributed)
endif()
install(TARGETS ${EMBER_INSTALLED_TARGETS} EXPORT emberTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(EXPORT emberTargets NAMESPACE ember::
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/ember")
configure_package_config_file(cmake/emberConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/emberConfig.cmake"
  INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/ember")
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/emberConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/emberConfig.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/emberConfigVersion.cmake"
              cmake/EmberDependencies.cmake
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/ember")
