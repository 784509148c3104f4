//! Every reference scene of `tests/scenes/` rendered by the CUDA backend equals its
//! committed PNG (and the CPU renderer's bytes, padding included). Skipped visibly
//! without a device; fails instead with CUDADRAW_REQUIRE_GPU=1.

mod common;
mod gpu_support;

use cudadraw::DeviceFrame;
use gpu_support::{Kind, gpu, upload_all};

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn every_reference_scene_matches_on_the_gpu() {
    let Some(mut cuda) = gpu("every_reference_scene_matches_on_the_gpu") else {
        return;
    };
    let cases = common::scenes();
    assert!(cases.len() >= 30, "only {} reference scenes", cases.len());
    let mut failures = Vec::new();
    for (k, case) in cases.iter().enumerate() {
        // Alternate memory kinds so every scene also runs on pinned and managed memory.
        let kind = [Kind::Device, Kind::Pinned, Kind::Managed][k % 3];
        let bgs = case.backgrounds();
        let mems = upload_all(kind, &bgs);
        let frames: Vec<DeviceFrame> = mems
            .iter()
            .map(|m| unsafe { DeviceFrame::new(m.dptr, case.info, 0) })
            .collect();
        if let Err(e) = cuda.render(&frames, &case.scene.lists, &case.scene.images) {
            failures.push(format!("{}: render failed: {e}", case.name));
            continue;
        }
        let got: Vec<Vec<u8>> = mems
            .iter()
            .zip(&bgs)
            .map(|(m, b)| m.download(b.len()))
            .collect();
        if let Err(e) = case.check(&got, "gpu") {
            failures.push(e);
            continue;
        }
        match case.render_cpu() {
            Ok(cpu) if cpu != got => {
                failures.push(format!("{}: GPU bytes differ from CPU", case.name))
            }
            Ok(_) => {}
            Err(e) => failures.push(e),
        }
    }
    println!(
        "{} reference scenes on the GPU, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
