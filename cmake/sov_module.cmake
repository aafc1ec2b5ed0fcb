# sov_add_module(NAME [DEPS module...] [LIBS target...])
#
# A module is one folder under src/. Its sources are every *.cpp in the folder tree except
# *_test.cpp, *_fuzz.cpp and *_bench.cpp; they form the static library sov_<NAME>.
# *_test.cpp files form the test executable sov_<NAME>_tests (GoogleTest, registered with CTest).
# *_fuzz.cpp files each become a libFuzzer target with SOV_FUZZ, and otherwise a corpus replay
# test that runs every file of fuzz/corpus/<stem>/ through the target (PowerDNS style).
# Globs use CONFIGURE_DEPENDS, so adding a file needs no CMake edit.
function(sov_add_module NAME)
    cmake_parse_arguments(ARG "" "" "DEPS;LIBS" ${ARGN})
    file(GLOB_RECURSE all_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp")
    set(lib_sources "")
    set(test_sources "")
    set(fuzz_sources "")
    foreach(src IN LISTS all_sources)
        if(src MATCHES "_test\\.cpp$")
            list(APPEND test_sources "${src}")
        elseif(src MATCHES "_fuzz\\.cpp$")
            list(APPEND fuzz_sources "${src}")
        elseif(src MATCHES "_bench\\.cpp$" OR src MATCHES "/main\\.cpp$")
            # benchmarks are built by bench/; main.cpp by the module itself
        else()
            list(APPEND lib_sources "${src}")
        endif()
    endforeach()

    set(dep_targets "")
    foreach(dep IN LISTS ARG_DEPS)
        list(APPEND dep_targets "sov_${dep}")
    endforeach()

    add_library(sov_${NAME} STATIC ${lib_sources})
    target_include_directories(sov_${NAME} PUBLIC "${PROJECT_SOURCE_DIR}/src")
    target_link_libraries(sov_${NAME} PUBLIC ${dep_targets} ${ARG_LIBS} sov_sanitize
                          PRIVATE sov_warnings)

    if(SOV_TESTS AND test_sources)
        add_executable(sov_${NAME}_tests ${test_sources})
        target_link_libraries(sov_${NAME}_tests PRIVATE sov_${NAME} sov_test_support
                              GTest::gtest GTest::gtest_main GTest::gmock sov_warnings)
        target_compile_definitions(sov_${NAME}_tests PRIVATE
            SOV_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
            SOV_CONFORMANCE_DIR="${PROJECT_SOURCE_DIR}/tests/conformance")
        gtest_discover_tests(sov_${NAME}_tests
            WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
            DISCOVERY_TIMEOUT 60
            PROPERTIES LABELS "unit;${NAME}" TIMEOUT 120)
    endif()

    foreach(src IN LISTS fuzz_sources)
        get_filename_component(stem "${src}" NAME_WE)
        if(SOV_FUZZ)
            add_executable(${stem} "${src}")
            target_include_directories(${stem} PRIVATE "${PROJECT_SOURCE_DIR}/fuzz")
            target_link_libraries(${stem} PRIVATE sov_${NAME})
            target_link_options(${stem} PRIVATE -fsanitize=fuzzer)
        elseif(SOV_TESTS)
            add_executable(${stem}_replay "${src}" "${PROJECT_SOURCE_DIR}/fuzz/replay_main.cpp")
            target_include_directories(${stem}_replay PRIVATE "${PROJECT_SOURCE_DIR}/fuzz")
            target_link_libraries(${stem}_replay PRIVATE sov_${NAME})
            add_test(NAME fuzz_replay.${stem}
                     COMMAND ${stem}_replay "${PROJECT_SOURCE_DIR}/fuzz/corpus/${stem}")
            set_tests_properties(fuzz_replay.${stem} PROPERTIES LABELS "fuzz-replay" TIMEOUT 300)
        endif()
    endforeach()
endfunction()
