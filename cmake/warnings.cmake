add_library(sov_warnings INTERFACE)
target_compile_options(sov_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Woverloaded-virtual -Wimplicit-fallthrough -Werror=vla)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 at -O2 flags Asio's coroutine frames (operator new/delete of awaitable_frame_base)
    # as mismatched; a known false positive (GCC bug 109224), not something in our code.
    target_compile_options(sov_warnings INTERFACE -Wno-mismatched-new-delete)
endif()
if(SOV_WERROR)
    target_compile_options(sov_warnings INTERFACE -Werror)
endif()

add_library(sov_sanitize INTERFACE)
if(SOV_SANITIZE)
    target_compile_options(sov_sanitize INTERFACE
        -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
        -D_GLIBCXX_ASSERTIONS)
    target_link_options(sov_sanitize INTERFACE -fsanitize=address,undefined)
endif()
if(SOV_FUZZ)
    # clang 14 cannot compile coroutines with -fsanitize=function (STYLE.md).
    target_compile_options(sov_sanitize INTERFACE
        -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-omit-frame-pointer)
    target_link_options(sov_sanitize INTERFACE -fsanitize=address,undefined)
endif()
