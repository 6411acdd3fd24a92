# Finds ember's Debian 12 dependencies the CMake way. A missing one stops configure with the
# package to install.
include_guard()

function(ember_missing what package)
  message(FATAL_ERROR "ember needs ${what}: install it with\n    sudo apt-get install ${package}\n"
                      "(or run tools/install-deps.sh, which installs everything ember uses)")
endfunction()

# An imported target `name` for a library found without a CMake config of its own; the remaining
# arguments are target properties (INTERFACE_INCLUDE_DIRECTORIES ... ).
function(ember_interface_target name)
  if(NOT TARGET ${name})
    add_library(${name} INTERFACE IMPORTED)
    set_target_properties(${name} PROPERTIES ${ARGN})
  endif()
endfunction()

find_package(OpenBLAS CONFIG QUIET)
if(NOT OpenBLAS_FOUND OR NOT OpenBLAS_LIBRARIES)
  ember_missing("OpenBLAS with cblas" libopenblas-dev)
endif()
# ember compiles against OpenBLAS's headers but does not link it: core/blas.cpp loads the library
# at first use, after choosing the kernels that fit the CPU (OpenBLAS decides once, when loaded).
ember_interface_target(ember::openblas
  INTERFACE_INCLUDE_DIRECTORIES "${OpenBLAS_INCLUDE_DIRS}"
  INTERFACE_COMPILE_DEFINITIONS "EMBER_OPENBLAS_LIBRARY=\"${OpenBLAS_LIBRARIES}\""
  INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS}")

# SLEEF: vectorised exp, log, tanh, erf (core/kernels/vmath.cpp). Debian ships no CMake config.
find_path(EMBER_SLEEF_INCLUDE_DIR sleef.h)
find_library(EMBER_SLEEF_LIBRARY sleef)
if(NOT EMBER_SLEEF_INCLUDE_DIR OR NOT EMBER_SLEEF_LIBRARY)
  ember_missing("SLEEF (vectorised math functions)" libsleef-dev)
endif()
ember_interface_target(ember::sleef
  INTERFACE_INCLUDE_DIRECTORIES "${EMBER_SLEEF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "${EMBER_SLEEF_LIBRARY}")

find_package(TBB CONFIG QUIET)
if(NOT TBB_FOUND)
  ember_missing("oneTBB" libtbb-dev)
endif()

find_package(nlohmann_json CONFIG QUIET)
if(NOT nlohmann_json_FOUND)
  ember_missing("nlohmann-json (for the safetensors header)" nlohmann-json3-dev)
endif()

find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  ember_missing("zlib (for .gz datasets)" zlib1g-dev)
endif()

# Image decoding (data/image_decode.cpp): PNG through libpng, JPEG through libjpeg-turbo.
find_package(PNG QUIET)
if(NOT PNG_FOUND)
  ember_missing("libpng (PNG decoding)" libpng-dev)
endif()
find_package(libjpeg-turbo CONFIG QUIET)
if(NOT libjpeg-turbo_FOUND OR NOT TARGET libjpeg-turbo::turbojpeg)
  ember_missing("libjpeg-turbo's TurboJPEG API (JPEG decoding)" libturbojpeg0-dev)
endif()

find_path(EMBER_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb)
if(NOT EMBER_STB_INCLUDE_DIR OR NOT EXISTS "${EMBER_STB_INCLUDE_DIR}/stb_image_write.h")
  ember_missing("stb_image.h and stb_image_write.h" libstb-dev)
endif()
ember_interface_target(ember::stb INTERFACE_INCLUDE_DIRECTORIES "${EMBER_STB_INCLUDE_DIR}")

if(EMBER_BUILD_TESTS)
  find_package(doctest CONFIG QUIET)
  if(NOT doctest_FOUND)
    ember_missing("doctest (for the tests)" doctest-dev)
  endif()
endif()
if(EMBER_BUILD_EXAMPLES)
  find_package(CLI11 CONFIG QUIET)
  if(NOT CLI11_FOUND)
    ember_missing("CLI11 (for the example command lines)" libcli11-dev)
  endif()
endif()
