//! Reference pictures: every scene in `tests/scenes/` rendered by the CPU renderer must
//! match `tests/reference/<scene>.png` byte for byte (`CUDADRAW_BLESS=1` regenerates
//! them; look at them before committing). The render tool must reproduce them too, and
//! reject invalid scenes without writing anything.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{SceneCase, compare_with_reference, save_png, scenes, to_rgba};

#[test]
fn cpu_renders_every_reference_picture() {
    let cases = scenes();
    assert!(cases.len() >= 30, "only {} scenes", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| c.render_cpu().and_then(|f| c.check(&f, "cpu")).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenes differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    if common::blessing() {
        eprintln!("blessed {} reference pictures", cases.len());
    }
}

#[test]
fn every_reference_picture_has_a_scene() {
    let names: Vec<String> = scenes().into_iter().map(|c| c.name).collect();
    for e in std::fs::read_dir(common::reference_dir()).expect("tests/reference") {
        let p = e.expect("dir entry").path();
        if p.extension().is_some_and(|x| x == "png") {
            let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
            assert!(
                stem.as_ref().is_some_and(|s| names.contains(s)),
                "stale reference picture {}",
                p.display()
            );
        }
    }
}

/// Builds the render example (same profile as this test) and returns its path.
fn render_tool() -> PathBuf {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--example", "render"])
        .current_dir(common::root());
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    // The same features as this test: a CPU-only run must not need nvcc.
    if !cfg!(feature = "cuda") {
        cmd.arg("--no-default-features");
    }
    let status = cmd.status().expect("run cargo build --example render");
    assert!(status.success(), "building the render example failed");
    // This test runs from target/<profile>/deps/; examples sit beside deps/.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("render{}", std::env::consts::EXE_SUFFIX))
}

fn scratch_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cudadraw-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

fn run_tool(tool: &Path, args: &[&Path]) -> std::process::Output {
    Command::new(tool)
        .args(args)
        .output()
        .expect("run the render tool")
}

#[test]
fn render_tool_reproduces_the_references() {
    let tool = render_tool();
    let dir = scratch_dir("render-tool");
    let mut failures = Vec::new();
    for case in scenes() {
        let SceneCase { info, .. } = case;
        let input = dir.join(format!("{}.input.png", case.name));
        let output = dir.join(format!("{}.output.png", case.name));
        let bg = common::background(info, 0);
        save_png(&input, info.width, info.height, &to_rgba(info, &bg)).expect("write input");
        let out = run_tool(&tool, &[&case.path, &input, &output]);
        if !out.status.success() {
            failures.push(format!(
                "{}: render tool failed: {}",
                case.name,
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        // The tool draws every frame list on a copy of the input, stacked; the top frame
        // has the reference's background and must be the reference's top frame.
        let (w, h, rgba) = common::load_png(&output).expect("tool output");
        if let Err(e) = compare_first_frame(&case, w, h, &rgba) {
            failures.push(e);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn compare_first_frame(case: &SceneCase, w: u32, h: u32, rgba: &[u8]) -> Result<(), String> {
    let (rw, rh, reference) =
        common::load_png(&common::reference_dir().join(format!("{}.png", case.name)))?;
    let frames = rh / case.info.height;
    if common::blessing() {
        return Ok(());
    }
    if frames <= 1 {
        return compare_with_reference(&case.name, "tool", w, h, rgba);
    }
    // A multi-frame scene gives a picture per frame list (it used to draw the first only).
    if (w, h) != (rw, rh) {
        return Err(format!(
            "{}: the render tool drew {w}x{h}, expected all {frames} frames ({rw}x{rh})",
            case.name
        ));
    }
    let one = (rw * case.info.height * 4) as usize;
    if reference[..one] != rgba[..one] {
        return Err(format!(
            "{}: the render tool's picture differs from the reference's first frame",
            case.name
        ));
    }
    Ok(())
}

/// NV12 / I420 scenes through the tool: the picture converted to the scene's planes,
/// drawn, shown as RGB; the first frame equals the planar reference picture's (whose
/// frame 0 starts from the same picture).
#[test]
fn render_tool_draws_planar_scenes_like_their_references() {
    let tool = render_tool();
    let dir = scratch_dir("render-tool-planar");
    let mut failures = Vec::new();
    for path in common::planar_scene_paths() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let scene = cudadraw::draw::scene::Scene::load(&path).expect("planar scene");
        let info = scene
            .planar_info(common::DEFAULT_WIDTH, common::DEFAULT_HEIGHT)
            .expect("a planar scene");
        let packed =
            cudadraw::FrameInfo::packed(info.width, info.height, cudadraw::PixelFormat::Rgba);
        let input = dir.join(format!("{name}.input.png"));
        let output = dir.join(format!("{name}.output.png"));
        save_png(
            &input,
            info.width,
            info.height,
            &common::background(packed, 0),
        )
        .expect("write input");
        let out = run_tool(&tool, &[&path, &input, &output]);
        if !out.status.success() {
            failures.push(format!(
                "{name}: render tool failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let (w, h, rgba) = common::load_png(&output).expect("tool output");
        let reference = common::reference_dir().join(format!("planar_scenes/{name}.png"));
        let (rw, rh, want) = common::load_png(&reference).expect("planar reference picture");
        let one = (w * info.height * 4) as usize;
        if (w, h) != (rw, rh) || rgba[..one] != want[..one] {
            failures.push(format!(
                "{name}: the tool's {w}x{h} picture differs from the reference's first frame ({rw}x{rh})"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn render_tool_rejects_bad_scenes_and_writes_nothing() {
    let tool = render_tool();
    let dir = scratch_dir("bad-scenes");
    let input = dir.join("input.png");
    save_png(&input, 8, 8, &[128; 8 * 8 * 4]).expect("write input");
    let bad = [
        (
            "nan",
            r#"{"frames":[[{"rect":{"left":NaN,"top":0,"width":4,"height":4,"fill":[255,0,0,255]}}]]}"#,
            "frames[0][0].rect.left",
        ),
        (
            "negative-radius",
            r#"{"frames":[[{"blur":{"left":0,"top":0,"width":4,"height":4,"kind":{"box":{"radius":-2}}}}]]}"#,
            "frames[0][0].blur.kind.box.radius",
        ),
        (
            "unknown-field",
            r#"{"frames":[[{"rect":{"left":0,"top":0,"width":4,"height":4,"colour":[255,0,0,255]}}]]}"#,
            "unknown field `colour`",
        ),
        (
            "zero-radius",
            r#"{"frames":[[{"blur":{"left":0,"top":0,"width":4,"height":4,"kind":{"box":{"radius":0}}}}]]}"#,
            "box radius 0",
        ),
        (
            "huge-coordinate",
            r#"{"frames":[[{"rect":{"left":1e30,"top":0,"width":4,"height":4,"fill":[255,0,0,255]}}]]}"#,
            "left",
        ),
        (
            "missing-image",
            r#"{"frames":[[{"overlay":{"image":"nope.png","left":0,"top":0,"width":4,"height":4}}]]}"#,
            "frames[0][0].overlay.image",
        ),
        ("not-json", "{frames", "line 1"),
    ];
    for (name, json, needle) in bad {
        let scene = dir.join(format!("{name}.json"));
        std::fs::write(&scene, json).expect("write scene");
        let output = dir.join(format!("{name}.png"));
        let out = run_tool(&tool, &[&scene, &input, &output]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: accepted");
        assert!(
            stderr.contains(needle),
            "{name}: message {stderr:?} lacks {needle:?}"
        );
        assert!(!output.exists(), "{name}: wrote {}", output.display());
    }
    // A valid (empty) scene on the same input succeeds: the failures above are the scenes'.
    let ok = dir.join("ok.json");
    std::fs::write(&ok, r#"{"frames":[[]]}"#).expect("write scene");
    let out = run_tool(&tool, &[&ok, &input, &dir.join("ok.png")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
