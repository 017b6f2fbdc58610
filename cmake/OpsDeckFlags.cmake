# One INTERFACE target carries every flag our own targets share (qBittorrent style).
add_library(opsdeck_flags INTERFACE)
add_library(OpsDeck::Flags ALIAS opsdeck_flags)

target_compile_definitions(opsdeck_flags INTERFACE
    QT_NO_CAST_FROM_ASCII
    QT_NO_CAST_TO_ASCII
    QT_NO_URL_CAST_FROM_STRING
    QT_USE_QSTRINGBUILDER
    QT_NO_FOREACH
    QT_STRICT_ITERATORS
    OPSDECK_VERSION_STRING="${PROJECT_VERSION}")

target_compile_options(opsdeck_flags INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
    -Wnull-dereference -Wimplicit-fallthrough -Wformat=2)
# At -O3 (Release) GCC 12 reports false null dereferences inside inlined QHash code
# (accesspredictor.cpp through qhash.h); the checked builds (Debug, RelWithDebInfo in CI) keep it.
target_compile_options(opsdeck_flags INTERFACE $<$<CONFIG:Release>:-Wno-null-dereference>)
if(OPSDECK_WERROR)
    target_compile_options(opsdeck_flags INTERFACE -Werror)
endif()

if(OPSDECK_SANITIZE)
    target_compile_options(opsdeck_flags INTERFACE
        -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(opsdeck_flags INTERFACE -fsanitize=address,undefined)
endif()

target_include_directories(opsdeck_flags INTERFACE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})

# Precompiled Qt headers, shared by every target that links the flags.
function(opsdeck_use_pch target)
    if(OPSDECK_PCH)
        target_precompile_headers(${target} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/pch_core.h)
    endif()
endfunction()
