# Cross-compiling for 64-bit Arm Linux with Debian's cross compiler (crossbuild-essential-arm64)
# and the arm64 builds of the dependencies installed through multiarch (libhwy-dev:arm64, ...).
# Test programs run under qemu-user (qemu-user-static), which ctest and gtest_discover_tests use
# through CMAKE_CROSSCOMPILING_EMULATOR. scripts/test-arm64.sh sets everything up and uses it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's multiarch layout: arm64 libraries and CMake packages in /usr/lib/aarch64-linux-gnu,
# architecture-independent ones (Eigen, LBFGS++) in /usr/include and /usr/share.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static;-L;/usr/aarch64-linux-gnu)
