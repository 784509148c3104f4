#!/usr/bin/env bash
# Entry script of cudadraw's GPU bundle (copied to bundle/run.sh by scripts/gpu-bundle).
#
#   bundle/run.sh [tests] [sanitizer] [bench] [python] [demo]   (default: the first four, in order)
#
# Runs from the repository root that holds bundle/ (test binaries read tests/...), or
# from $CUDADRAW_REPO. Every test binary runs with --include-ignored (GPU tests are
# `#[ignore = "needs a CUDA device"]`, so CI counts them as ignored, not passed) and
# CUDADRAW_REQUIRE_GPU=1, so GPU tests fail rather than skip; the GPU test binaries (names containing "gpu") run again under
# compute-sanitizer memcheck and racecheck with fewer random scenes (soak and timing
# tests excluded there: the tools' own per-launch bookkeeping grows host memory and
# multiplies run time; they run in the plain test pass); then the benches; then the
# Python bindings' GPU checks (python/gpu/check.py with the bundle's wheel and the host's
# PyTorch: `CUDADRAW_PYTHON` names the interpreter, default python3).
# Logs go to $OUT (or bundle/logs): tests.log, sanitizer.log, bench.log, summary.txt.
set -u
B=$(cd "$(dirname "$0")" && pwd)
REPO=${CUDADRAW_REPO:-$(dirname "$B")}
LOGS=${OUT:-$B/logs}
mkdir -p "$LOGS"
PARTS=${*:-tests sanitizer bench python}

export LD_LIBRARY_PATH="$B/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for l in libstdc++.so.6 libgcc_s.so.1; do
    if ! ldconfig -p 2>/dev/null | grep -q "$l "; then
        LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$B/lib-compat"
        break
    fi
done
export GST_PLUGIN_SYSTEM_PATH="$B/gst"
export GST_PLUGIN_PATH="$B/gst"
export GST_PLUGIN_SCANNER="$B/libexec/gst-plugin-scanner"
export GST_REGISTRY=/tmp/cudadraw-gst-registry-$$.bin
export CUDADRAW_REQUIRE_GPU=1
# No JIT cache: first-call figures are cold-start figures, as a fresh host sees them.
export CUDA_CACHE_DISABLE=1
export RUST_BACKTRACE=1
cd "$REPO" || exit 2
# Tests locate tests/... through the build machine's CARGO_MANIFEST_DIR, baked in at
# compile time: make that path lead to this copy of the repository.
BUILD_ROOT=$(cat "$B/BUILD_ROOT" 2>/dev/null || true)
if [ -n "$BUILD_ROOT" ] && [ "$BUILD_ROOT" != "$REPO" ] && [ ! -e "$BUILD_ROOT" ]; then
    mkdir -p "$(dirname "$BUILD_ROOT")" && ln -s "$REPO" "$BUILD_ROOT"
fi

SUMMARY=$LOGS/summary.txt
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }

say "cudadraw GPU bundle run: $(date -u +%FT%TZ) on $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
say "parts: $PARTS"
status=0

# Sums "N passed; M failed" over libtest result lines of a log.
count() { grep -Eo "[0-9]+ $2" "$1" | awk '{s += $1} END {print s + 0}'; }

run_tests() {
    TL=$LOGS/tests.log
    : >"$TL"
    tp=0 tf=0 ts=0
    for t in "$B"/tests/${CUDADRAW_TEST_GLOB:-*}; do
        name=$(basename "$t")
        one=$(mktemp)
        start=$(date +%s)
        skip=()
        # The render-tool tests build the example with cargo, which the GPU host lacks.
        [ "$name" = reference ] && skip=(--skip render_tool)
        timeout "${CUDADRAW_TEST_TIMEOUT:-400}" "$t" --include-ignored --test-threads="${CUDADRAW_TEST_THREADS:-4}" "${skip[@]}" >"$one" 2>&1
        rc=$?
        p=$(count "$one" passed) f=$(count "$one" failed) s=$(grep -c '^SKIPPED' "$one")
        { echo "===== $name (rc $rc, $(( $(date +%s) - start )) s)"; cat "$one"; } >>"$TL"
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed or timed out
        tp=$((tp + p - s)) tf=$((tf + f)) ts=$((ts + s))
        say "  test $name: rc $rc, $((p - s)) passed, $f failed, $s skipped"
        [ "$rc" -eq 0 ] || status=1
        rm -f "$one"
    done
    say "TESTS: $tp passed, $tf failed, $ts skipped (skipped tests are not counted as passed)"
}

run_sanitizer() {
    SL=$LOGS/sanitizer.log
    : >"$SL"
    CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
    if [ -z "$CS" ]; then
        say "SANITIZER: compute-sanitizer not found"
        status=1
    else
        errs=0
        for t in "$B"/tests/${CUDADRAW_SANITIZE_GLOB:-*gpu*}; do
            [ -x "$t" ] || continue
            name=$(basename "$t")
            # CUDADRAW_SANITIZER_TOOLS="memcheck racecheck initcheck" adds initcheck.
            for tool in ${CUDADRAW_SANITIZER_TOOLS:-memcheck racecheck}; do
                scenes=${CUDADRAW_SANITIZER_SCENES:-40}
                extra=()
                if [ "$tool" = racecheck ]; then
                    scenes=${CUDADRAW_RACECHECK_SCENES:-12}
                    # racecheck loses track of kernels launched from 8 host threads at
                    # once ("Internal Sanitizer Error: Detected a failure to track a
                    # kernel launch", counted as 1 hazard; run of 2026-12-02): that
                    # test's kernels are the ones every other test runs, and it runs
                    # under memcheck and in the plain pass.
                    extra=(--skip renderers_on_many_threads)
                fi
                # initcheck's own allocations move free device memory by ~134 MB,
                # which the leak test would read as a leak (run of 2026-12-02).
                [ "$tool" = initcheck ] && extra=(--skip batches_do_not_leak_device_memory)
                one=$(mktemp)
                CUDADRAW_GPU_SCENES=$scenes timeout "${CUDADRAW_SANITIZER_TIMEOUT:-300}" \
                    "$CS" --tool "$tool" --error-exitcode 86 --print-limit 20 \
                    "$t" --include-ignored --test-threads=1 --skip gpu_soak --skip _time_ \
                    "${extra[@]}" >"$one" 2>&1
                rc=$?
                n=$(grep -Eo 'ERROR SUMMARY: [0-9]+' "$one" | awk '{s += $3} END {print s + 0}')
                h=$(grep -Eo 'RACECHECK SUMMARY: [0-9]+ hazard' "$one" | awk '{s += $3} END {print s + 0}')
                [ "$tool" = racecheck ] && n=$((n > h ? n : h))
                if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then n=1; fi # test failure or crash
                errs=$((errs + n))
                { echo "===== $tool $name (rc $rc)"; cat "$one"; } >>"$SL"
                say "  $tool $name: rc $rc, $n error(s)"
                [ "$rc" -eq 0 ] || status=1
                rm -f "$one"
            done
        done
        say "SANITIZER: $errs error(s) (${CUDADRAW_SANITIZER_TOOLS:-memcheck racecheck})"
    fi
}

run_bench() {
    BL=$LOGS/bench.log
    : >"$BL"
    for t in "$B"/bench/*; do
        [ -x "$t" ] || continue
        echo "===== $(basename "$t")" >>"$BL"
        timeout "${CUDADRAW_BENCH_TIMEOUT:-300}" "$t" --bench >>"$BL" 2>&1 || status=1
    done
    say "BENCH:"
    grep -E '^(\||first call|cudadraw benchmarks|SKIPPED)' "$BL" | tee -a "$SUMMARY"
}

# The pipeline demo on the GPU (cudaupload/cudadownload, drawn in place) and on the CPU,
# on RGBA and on NV12 (drawn with no converter around the element): each pair of
# snapshots must be the same picture.
run_demo() {
    demo_pair DEMO demo
    demo_pair "DEMO NV12" demo-nv12 --nv12
}

# demo_pair LABEL NAME [ARGS]: the demo with ARGS on the GPU and on the CPU, logs in
# NAME.log and NAME-gpu/, NAME-cpu/ under the logs; compares the snapshots' checksums.
demo_pair() {
    label=$1 name=$2
    shift 2
    DL=$LOGS/$name.log
    : >"$DL"
    mkdir -p "$LOGS/$name-gpu" "$LOGS/$name-cpu"
    timeout 300 "$B/examples/demo" "$@" --out "$LOGS/$name-gpu" >>"$DL" 2>&1 || status=1
    timeout 300 "$B/examples/demo" "$@" --cpu --out "$LOGS/$name-cpu" >>"$DL" 2>&1 || status=1
    rm -f "$LOGS/$name-cpu/demo.webm" # the CPU picture is compared by checksum; one video is enough
    tr '\r' '\n' <"$DL" | grep -E '^(cudadraw demo|wrote|done)' | tee -a "$SUMMARY"
    g=$(tr '\r' '\n' <"$DL" | grep -Eo 'checksum [0-9a-f]+' | sed -n 1p)
    c=$(tr '\r' '\n' <"$DL" | grep -Eo 'checksum [0-9a-f]+' | sed -n 2p)
    if [ -n "$g" ] && [ "$g" = "$c" ]; then
        say "$label: GPU and CPU snapshots identical ($g)"
    else
        say "$label: snapshots differ or missing (GPU: ${g:-none}, CPU: ${c:-none})"
        status=1
    fi
}

# The Python bindings on the GPU: the bundle's abi3 wheel unpacked (a wheel is a zip;
# no pip, no network needed) next to the host's PyTorch; python/gpu/check.py prints
# PASS / FAIL / SKIP per check (skips are not passes).
run_python() {
    PL=$LOGS/python.log
    PY=${CUDADRAW_PYTHON:-python3}
    SITE=$LOGS/python-site
    rm -rf "$SITE" && mkdir -p "$SITE"
    whl=$(ls "$B"/python/cudadraw-*.whl 2>/dev/null | head -1)
    if [ -z "$whl" ] || ! "$PY" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$whl" "$SITE" >"$PL" 2>&1; then
        say "PYTHON: cannot unpack the wheel (${whl:-none}) with $PY"
        status=1
        return
    fi
    say "  python: $("$PY" --version 2>&1), torch $("$PY" -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>&1 | tail -1)"
    CUDADRAW_CAPI_LIB="$B/capi/libcudadraw.so" PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" timeout "${CUDADRAW_PYTHON_TIMEOUT:-600}" \
        "$PY" "$REPO/python/gpu/check.py" >>"$PL" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL|SKIP) ' "$PL" | sed 's/^/  /' | tee -a "$SUMMARY"
    line=$(grep -E '^PYTHON GPU:' "$PL" | tail -1)
    say "${line:-PYTHON GPU: no summary (crashed? see python.log)} (rc $rc)"
    [ "$rc" -eq 0 ] || status=1
}

# Parts run in the order given.
for part in $PARTS; do
    case $part in
    tests) run_tests ;;
    sanitizer) run_sanitizer ;;
    bench) run_bench ;;
    demo) run_demo ;;
    python) run_python ;;
    *) say "unknown part: $part (tests, sanitizer, bench, python, demo)"; status=2 ;;
    esac
done

say "exit status: $status"
rm -f "$GST_REGISTRY"
exit $status
