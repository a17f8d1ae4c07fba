include(GNUInstallDirs)
# sepnet_add_layer(NAME DIR [PUBLIC deps...] [PRIVATE deps...])
# One static library per layer, sepnet_NAME with the alias sepnet::NAME, built from DIR/*.cpp
# (recursively). Headers are reached as "sepnet/<layer>/<file>.h" both in the tree and once
# installed. The build's own flags (warnings, -O3, sanitizers) stay PRIVATE so they never reach
# a consumer. Sets SEPNET_LAYER_SOURCES_NAME for per-file properties.
function(sepnet_add_layer name dir)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "PUBLIC;PRIVATE")
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.cpp)
  add_library(sepnet_${name} STATIC ${sources})
  add_library(sepnet::${name} ALIAS sepnet_${name})
  set_target_properties(sepnet_${name} PROPERTIES EXPORT_NAME ${name} POSITION_INDEPENDENT_CODE ON)
  target_include_directories(sepnet_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(sepnet_${name} PUBLIC cxx_std_20)
  target_link_libraries(sepnet_${name} PUBLIC ${arg_PUBLIC} PRIVATE $<BUILD_INTERFACE:sepnet_options> ${arg_PRIVATE})
  set(SEPNET_LAYER_SOURCES_${name} ${sources} PARENT_SCOPE)
  set_property(GLOBAL APPEND PROPERTY SEPNET_LAYERS ${name})
endfunction()
