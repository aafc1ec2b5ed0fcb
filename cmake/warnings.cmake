add_library(sov_warnings INTERFACE)
target_compile_options(sov_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Woverloaded-virtual -Wimplicit-fallthrough -Werror=vla)
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
