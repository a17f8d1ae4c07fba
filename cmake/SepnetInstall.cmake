# Installs the layer libraries, their public headers under include/sepnet/, and an exported
# sepnetConfig.cmake so that another CMake project can `find_package(sepnet)` and link
# sepnet::train (or any lower layer). Internal kernel headers (per-ISA bodies, SIMD helpers)
# are not installed: nothing public includes them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(layers GLOBAL PROPERTY SEPNET_LAYERS)
set(targets)
foreach(layer IN LISTS layers)
  list(APPEND targets sepnet_${layer})
endforeach()
install(TARGETS ${targets} EXPORT sepnetTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sepnet DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h"
  REGEX "sepnet/kernels/.*(_impl|_simd|_internal|_rows|_lane|_vec|_hsum|_lane_ops|parallel|with_count|conv_interior|lane_sum|depthwise_direct3x3)\\.h$" EXCLUDE)
install(EXPORT sepnetTargets NAMESPACE sepnet:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sepnet)
if(TARGET sepnet_dist)
  set(SEPNET_WITH_MPI TRUE)
else()
  set(SEPNET_WITH_MPI FALSE)
endif()
if(TARGET sepnet_onnx)
  set(SEPNET_WITH_ONNX TRUE)
else()
  set(SEPNET_WITH_ONNX FALSE)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/sepnetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/sepnetConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sepnet)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sepnetConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sepnetConfig.cmake ${PROJECT_BINARY_DIR}/sepnetConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sepnet)
if(TARGET sepnet)
  install(TARGETS sepnet RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
