//! The C side of the C API: `tests/reference_scene.c` (every reference scene of
//! tests/scenes built op by op through the C calls and rendered on host frames, one on an
//! NvBufSurface, compared byte for byte with tests/reference/*.png; bad input) and `examples/draw.c`, compiled with `cc -Werror` against the committed
//! header, linked against the freshly built libcudadraw.so, and run. The header is also
//! compiled as C++ (it is meant for C++ plugins too).

use std::path::{Path, PathBuf};
use std::process::Command;

fn capi() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>, where cargo puts libcudadraw.so (this test runs from .../deps).
/// A library of only cdylib/staticlib types is not built for its integration tests, so
/// the first call builds it (same profile and features as this test), as
/// tests/reference.rs builds the render tool.
fn lib_dir() -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let built = BUILT.get_or_init(|| {
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "-p", "cudadraw-capi"])
            .current_dir(capi());
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        if !cfg!(feature = "cuda") {
            cmd.arg("--no-default-features");
        }
        match cmd.status() {
            Ok(s) if s.success() => Ok(()),
            other => Err(format!("cargo build -p cudadraw-capi: {other:?}")),
        }
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    assert!(
        dir.join("libcudadraw.so").exists(),
        "{} has no libcudadraw.so after building it",
        dir.display()
    );
    dir.to_path_buf()
}

/// The libraries libcudadraw.a needs besides itself (docs/c-api.md, the header).
const STATIC_DEPS: &[&str] = &[
    "-lgstvideo-1.0",
    "-lgstbase-1.0",
    "-lgstreamer-1.0",
    "-lgio-2.0",
    "-lgobject-2.0",
    "-lglib-2.0",
    "-lpthread",
    "-ldl",
    "-lm",
];

fn compile(src: &Path, out: &Path) {
    compile_with(src, out, false)
}

/// `cc -Werror` against the committed header, linked against libcudadraw.so (with an
/// rpath) or, with `link_static`, libcudadraw.a.
fn compile_with(src: &Path, out: &Path, link_static: bool) {
    let lib = lib_dir();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-O1",
    ])
    .arg("-I")
    .arg(capi().join("include"))
    .arg(src);
    if link_static {
        cmd.arg(lib.join("libcudadraw.a")).args(STATIC_DEPS);
    } else {
        cmd.arg("-L")
            .arg(&lib)
            .arg("-lcudadraw")
            .arg(format!("-Wl,-rpath,{}", lib.display()));
    }
    let status = cmd
        .arg("-o")
        .arg(out)
        .status()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(status.success(), "{cc} failed on {}", src.display());
}

fn run(exe: &Path, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(exe)
        .args(args)
        .output()
        .expect("run the C program");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{} failed:\n{text}", exe.display());
    text
}

#[test]
fn c_test_matches_the_reference_pictures_and_refuses_bad_input() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = dir.join("reference_scene");
    compile(&capi().join("tests/reference_scene.c"), &exe);
    let root = capi().join("..");
    let text = run(&exe, &[root.as_os_str()]);
    println!("{text}");
    assert!(
        text.contains("ok: ") && text.contains(" 0 failed"),
        "{text}"
    );
    // Every reference scene went through the C API, none skipped.
    let scenes = std::fs::read_dir(root.join("tests/scenes"))
        .expect("tests/scenes")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    let line = format!(
        "scenes: {scenes} of {scenes} rendered through the C API byte-exact, 0 failed, 0 skipped"
    );
    assert!(
        scenes >= 90 && text.contains(&line),
        "expected '{line}' in:\n{text}"
    );
}

#[test]
fn c_test_links_statically() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = dir.join("reference_scene_static");
    compile_with(&capi().join("tests/reference_scene.c"), &exe, true);
    let root = capi().join("..");
    let text = run(&exe, &[root.as_os_str()]);
    assert!(text.contains(" 0 failed"), "{text}");
}

#[test]
fn c_example_builds_and_draws() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = dir.join("draw_example");
    compile(&capi().join("examples/draw.c"), &exe);
    let ppm = dir.join("draw_example.ppm");
    let logo = capi().join("../tests/scenes/logo.png");
    let text = run(&exe, &[ppm.as_os_str(), logo.as_os_str()]);
    assert!(text.contains("drawn 5 ops"), "{text}");
    let bytes = std::fs::read(&ppm).expect("the example writes its picture");
    assert!(bytes.starts_with(b"P6\n320 180\n255\n") && bytes.len() == 15 + 320 * 180 * 3);
}

#[test]
fn header_compiles_as_cpp() {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let status = Command::new(&cxx)
        .args(["-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-x", "c++"])
        .arg(capi().join("include/cudadraw.h"))
        .status()
        .unwrap_or_else(|e| panic!("running {cxx}: {e}"));
    assert!(status.success(), "the header does not compile as C++");
}
