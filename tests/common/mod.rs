//! The one support module of the tests: the reference scenes and their frame setup, a
//! deterministic background, PNG load/save, exact comparison with expected/actual/diff
//! images, blessing (`CUDADRAW_BLESS=1`) and GPU skipping. The pipeline, GPU and NVMM
//! helpers (`pipeline_common`, `gpu_support`, `nvmm_support`) build on it.
//!
//! Use with `mod common;`. Every backend renders the same [`scenes`] onto the same
//! [`background`]s and must match `tests/reference/<scene>.png` exactly.
#![allow(dead_code)] // Each test crate uses a different subset.

use std::path::{Path, PathBuf};

use cudadraw::cpu::CpuRenderer;
use cudadraw::draw::scene::{LoadedScene, Scene, decode_png, encode_png};
use cudadraw::{FrameInfo, HostFrame, PixelFormat};

/// Frame size of scenes that do not set `width`/`height`.
pub const DEFAULT_WIDTH: u32 = 160;
pub const DEFAULT_HEIGHT: u32 = 120;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn scenes_dir() -> PathBuf {
    root().join("tests/scenes")
}

pub fn reference_dir() -> PathBuf {
    root().join("tests/reference")
}

pub fn output_dir() -> PathBuf {
    root().join("tests/output")
}

/// One reference scene: its draw lists and images, and the layout of its frames.
pub struct SceneCase {
    /// File stem: `tests/scenes/<name>.json`, `tests/reference/<name>.png`.
    pub name: String,
    pub path: PathBuf,
    pub scene: LoadedScene,
    /// Layout of every frame of the scene (one per draw list).
    pub info: FrameInfo,
}

impl SceneCase {
    /// Initial bytes of each frame (background, padding filled with a marker).
    pub fn backgrounds(&self) -> Vec<Vec<u8>> {
        (0..self.scene.lists.len())
            .map(|i| background(self.info, i))
            .collect()
    }

    /// The whole batch rendered by the CPU renderer from [`Self::backgrounds`].
    pub fn render_cpu(&self) -> Result<Vec<Vec<u8>>, String> {
        let mut bufs = self.backgrounds();
        let mut frames = bufs
            .iter_mut()
            .map(|b| HostFrame::new(b, self.info))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        CpuRenderer::new()
            .render(&mut frames, &self.scene.lists, &self.scene.images)
            .map_err(|e| format!("{}: {e}", self.name))?;
        drop(frames);
        Ok(bufs)
    }

    /// Frames stacked top to bottom as one RGBA picture: (width, height, pixels).
    pub fn picture(&self, frames: &[Vec<u8>]) -> (u32, u32, Vec<u8>) {
        let mut rgba = Vec::new();
        for f in frames {
            rgba.extend(to_rgba(self.info, f));
        }
        (
            self.info.width,
            self.info.height * frames.len() as u32,
            rgba,
        )
    }

    /// Checks that no padding byte of `frames` differs from the background's.
    pub fn check_padding(&self, frames: &[Vec<u8>]) -> Result<(), String> {
        let info = self.info;
        for (i, f) in frames.iter().enumerate() {
            let bg = background(info, i);
            for y in 0..info.height as usize {
                let a = y * info.pitch + info.width as usize * 4;
                let b = ((y + 1) * info.pitch).min(f.len());
                if a < b && f[a..b] != bg[a..b] {
                    return Err(format!("{}: frame {i} row {y}: padding changed", self.name));
                }
            }
        }
        Ok(())
    }

    /// Checks the padding, and compares the rendered batch with the reference picture
    /// (see [`compare_with_reference`]; `label` names the backend: "cpu", "cuda", ...).
    pub fn check(&self, frames: &[Vec<u8>], label: &str) -> Result<(), String> {
        self.check_padding(frames)?;
        let (w, h, rgba) = self.picture(frames);
        compare_with_reference(&self.name, label, w, h, &rgba)
    }
}

/// Every scene under `tests/scenes/`, sorted by name, loaded and validated, with its
/// frame layout (scene settings, else [`DEFAULT_WIDTH`] x [`DEFAULT_HEIGHT`] RGBA packed).
pub fn scenes() -> Vec<SceneCase> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scenes_dir())
        .expect("tests/scenes exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let scene =
                Scene::load(&path).unwrap_or_else(|e| panic!("scene {}: {e}", path.display()));
            let info = scene.frame_info(DEFAULT_WIDTH, DEFAULT_HEIGHT);
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            SceneCase {
                name,
                path,
                scene,
                info,
            }
        })
        .collect()
}

/// The NV12 / I420 scenes, `tests/scenes/planar/*.json`, sorted.
pub fn planar_scene_paths() -> Vec<PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(scenes_dir().join("planar"))
        .expect("tests/scenes/planar")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
}

/// The deterministic picture every scene draws on: colour gradients, an 8-pixel
/// checker and diagonal stripes (so blurs show), byte 3 varying between 192 and 255
/// (alpha or x byte: blends of the alpha byte and untouched x bytes both show), and
/// the row padding filled with a marker pattern. `index` varies it per frame.
pub fn background(info: FrameInfo, index: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..info.min_len())
        .map(|i| 0xA5 ^ (i as u8).wrapping_mul(31))
        .collect();
    let w = info.width.max(2) as usize - 1;
    let h = info.height.max(2) as usize - 1;
    for y in 0..info.height as usize {
        for x in 0..info.width as usize {
            let checker = ((x / 8) + (y / 8) + index).is_multiple_of(2);
            let stripe = (x + 2 * y) % 12 < 3;
            let r = (x * 255 / w) as u8;
            let g = (y * 255 / h) as u8;
            let b = if stripe {
                255
            } else if checker {
                170
            } else {
                40
            };
            let a = 255 - ((x * 3 + y * 5) % 64) as u8;
            let rgba = [r, g / 2 + if checker { 100 } else { 0 }, b, a];
            let o = y * info.pitch + x * 4;
            v[o..o + 4].copy_from_slice(&to_frame_order(info.format, rgba));
        }
    }
    v
}

/// One RGBA pixel in `format`'s byte order (byte 3 stays byte 3).
pub fn to_frame_order(format: PixelFormat, p: [u8; 4]) -> [u8; 4] {
    if format.swaps_red_blue() {
        [p[2], p[1], p[0], p[3]]
    } else {
        p
    }
}

/// A frame's visible pixels as tightly packed RGBA (byte 3, alpha or x, as alpha).
pub fn to_rgba(info: FrameInfo, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(info.width as usize * info.height as usize * 4);
    for y in 0..info.height as usize {
        let row = &data[y * info.pitch..][..info.width as usize * 4];
        for p in row.chunks_exact(4) {
            out.extend_from_slice(&to_frame_order(info.format, [p[0], p[1], p[2], p[3]]));
        }
    }
    out
}

/// Reads a PNG as (width, height, RGBA pixels).
pub fn load_png(path: &Path) -> Result<(u32, u32, Vec<u8>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let img = decode_png(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((img.width(), img.height(), img.data().to_vec()))
}

/// Writes RGBA pixels as a PNG, creating the directory.
pub fn save_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let png = encode_png(width, height, rgba).map_err(|e| e.to_string())?;
    std::fs::write(path, png).map_err(|e| format!("{}: {e}", path.display()))
}

/// Differences as a picture: differing pixels red, the rest a faded grey of `expected`.
pub fn diff_image(expected: &[u8], actual: &[u8]) -> Vec<u8> {
    expected
        .chunks_exact(4)
        .zip(actual.chunks_exact(4))
        .flat_map(|(e, a)| {
            if e == a {
                let g = ((u32::from(e[0]) + u32::from(e[1]) + u32::from(e[2])) / 6) as u8;
                [g, g, g, 255]
            } else {
                [255, 0, 0, 255]
            }
        })
        .collect()
}

/// First differing pixel of two same-sized RGBA pictures, and the count.
pub fn first_difference(w: u32, expected: &[u8], actual: &[u8]) -> Option<String> {
    let mut n = 0;
    let mut first = None;
    for (i, (e, a)) in expected
        .chunks_exact(4)
        .zip(actual.chunks_exact(4))
        .enumerate()
    {
        if e != a {
            n += 1;
            if first.is_none() {
                let (x, y) = (i as u32 % w, i as u32 / w);
                first = Some(format!("({x}, {y}): expected {e:?}, got {a:?}"));
            }
        }
    }
    first.map(|f| format!("{n} pixels differ, first at {f}"))
}

/// Whether GPU tests must run (`CUDADRAW_REQUIRE_GPU=1`, the GPU bundle): a missing
/// device then fails a test instead of skipping it.
pub fn require_gpu() -> bool {
    std::env::var("CUDADRAW_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// Prints a visible skip line (`SKIPPED: why`) straight to the stderr handle, in one
/// write (parallel tests do not interleave inside it): libtest captures the output of
/// passing tests, and the GPU bundle counts these lines so that a skip is never
/// reported as a pass.
pub fn skipped(why: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("SKIPPED: {why}\n").as_bytes());
}

/// Whether reference pictures are being regenerated (`CUDADRAW_BLESS=1`).
pub fn blessing() -> bool {
    std::env::var("CUDADRAW_BLESS").is_ok_and(|v| v == "1")
}

/// Compares an RGBA picture with `tests/reference/<name>.png` exactly. With
/// `CUDADRAW_BLESS=1` and `label == "cpu"` writes the reference instead: only the
/// CPU renderer (the oracle) defines references; other backends always compare.
/// On mismatch writes
/// `tests/output/<name>[.label].{expected,actual,diff}.png` and names them.
pub fn compare_with_reference(
    name: &str,
    label: &str,
    w: u32,
    h: u32,
    rgba: &[u8],
) -> Result<(), String> {
    let reference = reference_dir().join(format!("{name}.png"));
    if blessing() && label == "cpu" {
        return save_png(&reference, w, h, rgba);
    }
    let (ew, eh, expected) = load_png(&reference)
        .map_err(|e| format!("{name}: no reference picture ({e}); run with CUDADRAW_BLESS=1"))?;
    let why = if (ew, eh) != (w, h) {
        Some(format!("size {w}x{h}, reference is {ew}x{eh}"))
    } else {
        first_difference(w, &expected, rgba)
    };
    let Some(why) = why else { return Ok(()) };
    let stem = if label.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{label}")
    };
    let out = output_dir();
    let paths = [
        out.join(format!("{stem}.expected.png")),
        out.join(format!("{stem}.actual.png")),
        out.join(format!("{stem}.diff.png")),
    ];
    save_png(&paths[0], ew, eh, &expected)?;
    save_png(&paths[1], w, h, rgba)?;
    if (ew, eh) == (w, h) {
        save_png(&paths[2], w, h, &diff_image(&expected, rgba))?;
    }
    Err(format!(
        "{name} ({label}): {why}; see {}, {}, {}",
        paths[0].display(),
        paths[1].display(),
        paths[2].display()
    ))
}
