# Cross-compiles for 64-bit Arm Linux with Debian's g++-aarch64-linux-gnu; the binaries
# run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR, so ctest and gtest discovery go
# through it). scripts/setup installs the compiler and qemu and cross-builds Highway and
# GoogleTest into its cache; scripts/test (stage arm) uses this file.
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DCMAKE_PREFIX_PATH="<aarch64 Highway prefix>;<aarch64 GoogleTest prefix>" ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(LSGEMM_ARM_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${LSGEMM_ARM_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${LSGEMM_ARM_TRIPLE}-g++)
# Debian's cross libc lives here; qemu finds the dynamic loader and libraries with -L.
set(LSGEMM_ARM_SYSROOT /usr/${LSGEMM_ARM_TRIPLE})
find_program(LSGEMM_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(LSGEMM_QEMU_AARCH64)
  # No -cpu here: qemu reads QEMU_CPU from the environment, so one build runs under
  # several CPUs (scripts/test: QEMU_CPU=max,sve128=on ... for each SVE vector length).
  # Unset, qemu-aarch64 emulates "max": every feature it has (SVE2, dot product, i8mm,
  # bf16) with 512-bit SVE vectors.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LSGEMM_QEMU_AARCH64} -L ${LSGEMM_ARM_SYSROOT})
endif()
# Libraries and headers of the target come from the prefixes given (and the cross libc);
# header-only packages of the host (Eigen) are found too, programs only on the host.
set(CMAKE_FIND_ROOT_PATH ${LSGEMM_ARM_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
