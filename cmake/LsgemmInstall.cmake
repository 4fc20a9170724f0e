include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lsgemm DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS lsgemm EXPORT lsgemmTargets)
install(EXPORT lsgemmTargets NAMESPACE lsgemm:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lsgemm)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lsgemmConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lsgemmConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lsgemm)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lsgemmConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/lsgemmConfig.cmake ${PROJECT_BINARY_DIR}/lsgemmConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lsgemm)
