# Highway >= 1.2 (scripts/setup builds one into a cache prefix when the system's is
# older; pass it with -DCMAKE_PREFIX_PATH). Without one, and with LSGEMM_FETCH_HWY, a
# pinned release is fetched (needs internet).
include(GNUInstallDirs)
find_package(hwy 1.2 CONFIG QUIET)
if(NOT hwy_FOUND)
  if(LSGEMM_FETCH_HWY)
    message(STATUS "lsgemm: Highway >= 1.2 not found; fetching 1.2.0")
    include(FetchContent)
    set(HWY_ENABLE_TESTS ON CACHE BOOL "" FORCE)
    set(HWY_ENABLE_CONTRIB OFF CACHE BOOL "" FORCE)
    set(HWY_ENABLE_EXAMPLES OFF CACHE BOOL "" FORCE)
    set(HWY_ENABLE_INSTALL ON CACHE BOOL "" FORCE)
    FetchContent_Declare(highway
      GIT_REPOSITORY https://github.com/google/highway.git
      GIT_TAG 1.2.0
      GIT_SHALLOW TRUE)
    FetchContent_MakeAvailable(highway)
  else()
    message(FATAL_ERROR "lsgemm needs Highway >= 1.2: run scripts/setup and pass its prefix "
                        "with -DCMAKE_PREFIX_PATH, or enable LSGEMM_FETCH_HWY")
  endif()
endif()
find_package(OpenMP COMPONENTS CXX)
