//! Draws a scene onto an RGBA PNG: every frame list of the scene on its own copy of
//! the input picture, as one batch; the output stacks the frames top to bottom (one
//! frame: the picture itself).
//!
//! ```text
//! cargo run --release --example render -- SCENE.json INPUT.png OUTPUT.png [--backend cpu|cuda]
//! ```
//!
//! Each frame is the input picture, laid out as the scene's optional `format` and
//! `pitch` say (RGBA, packed by default); byte 3 of x formats is the PNG's alpha. NV12
//! and I420 scenes convert the picture to the scene's planes, matrix and range
//! (`PlanarInfo::write_rgba`), draw on them and write the planes back as RGB for the
//! eye (`PlanarInfo::to_rgba`).
//! An invalid scene or input prints an error naming the problem, exits non-zero and
//! writes nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use cudadraw::draw::scene::{LoadedScene, Scene, decode_png, encode_png};
use cudadraw::{FrameInfo, HostFrame};

const USAGE: &str = "usage: render SCENE.json INPUT.png OUTPUT.png [--backend cpu|cuda]";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Backend {
    Cpu,
    Cuda,
}

struct Args {
    scene: PathBuf,
    input: PathBuf,
    output: PathBuf,
    backend: Backend,
}

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut backend = Backend::Cpu;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = if a == "--backend" {
            Some(args.next().ok_or("--backend needs a value (cpu or cuda)")?)
        } else {
            a.strip_prefix("--backend=").map(str::to_string)
        };
        match value.as_deref() {
            Some("cpu") => backend = Backend::Cpu,
            Some("cuda") => backend = Backend::Cuda,
            Some(other) => return Err(format!("unknown backend {other:?} (cpu or cuda)")),
            None if a == "-h" || a == "--help" => return Err(USAGE.into()),
            None if a.starts_with("--") => return Err(format!("unknown option {a}\n{USAGE}")),
            None => positional.push(PathBuf::from(a)),
        }
    }
    let [scene, input, output]: [PathBuf; 3] =
        positional.try_into().map_err(|_| USAGE.to_string())?;
    Ok(Args {
        scene,
        input,
        output,
        backend,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("render: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let scene = Scene::load(&args.scene).map_err(|e| e.to_string())?;
    let bytes =
        std::fs::read(&args.input).map_err(|e| format!("reading {}: {e}", args.input.display()))?;
    let input = decode_png(&bytes).map_err(|e| format!("{}: {e}", args.input.display()))?;
    let (w, h) = (input.width(), input.height());
    if scene.width.is_some_and(|sw| sw != w) || scene.height.is_some_and(|sh| sh != h) {
        eprintln!(
            "render: note: the scene is for {}x{} frames, the input is {w}x{h}",
            scene.width.unwrap_or(w),
            scene.height.unwrap_or(h)
        );
    }
    if let Some(info) = scene.planar_info(w, h) {
        return render_planar(&args, &scene, info, input.data());
    }
    // The scene's format and pitch, the input's size.
    let settings = scene.frame_info(w, h);
    let pitch = scene.pitch.unwrap_or(w as usize * 4);
    let info = FrameInfo::new(w, h, pitch, settings.format);
    info.validate(0).map_err(|e| e.to_string())?;

    // Frame i lives at i * stride in one buffer (one upload for the CUDA backend).
    let n = scene.lists.len();
    let stride = pitch * h as usize;
    let mut frames = vec![0u8; stride * n];
    let swap = info.format.swaps_red_blue();
    for f in 0..n {
        for (y, row) in input.data().chunks_exact(w as usize * 4).enumerate() {
            let dst = &mut frames[f * stride + y * pitch..][..w as usize * 4];
            for (d, s) in dst.chunks_exact_mut(4).zip(row.chunks_exact(4)) {
                d.copy_from_slice(&order(s, swap));
            }
        }
    }

    match args.backend {
        Backend::Cpu => render_cpu(&mut frames, stride, info, &scene)?,
        Backend::Cuda => render_cuda(&mut frames, stride, info, &scene)?,
    }

    let mut rgba = Vec::with_capacity(w as usize * h as usize * 4 * n);
    for f in 0..n {
        for y in 0..h as usize {
            for p in frames[f * stride + y * pitch..][..w as usize * 4].chunks_exact(4) {
                rgba.extend_from_slice(&order(p, swap));
            }
        }
    }
    let png = encode_png(w, h * n as u32, &rgba).map_err(|e| e.to_string())?;
    std::fs::write(&args.output, png).map_err(|e| format!("writing {}: {e}", args.output.display()))
}

/// A planar scene: the picture in the scene's planes, one copy per list, drawn as one
/// batch, written back as RGB frames stacked top to bottom.
fn render_planar(
    args: &Args,
    scene: &LoadedScene,
    info: cudadraw::planar::PlanarInfo,
    rgba: &[u8],
) -> Result<(), String> {
    info.validate(0).map_err(|e| e.to_string())?;
    if rgba.len() != info.width as usize * info.height as usize * 4 {
        return Err(format!(
            "the input is not {}x{}, the scene's size (planar frames take the input's size \
             unless the scene sets one)",
            info.width, info.height
        ));
    }
    let n = scene.lists.len();
    let stride = info.min_len().next_multiple_of(4);
    let mut frames = vec![0u8; stride * n];
    for f in frames.chunks_exact_mut(stride) {
        info.write_rgba(rgba, f);
    }
    match args.backend {
        Backend::Cpu => {
            let mut hosts = frames
                .chunks_exact_mut(stride)
                .map(|f| cudadraw::planar::PlanarFrame::new(f, info))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            cudadraw::cpu::CpuRenderer::new()
                .render_planar(&mut hosts, &scene.lists, &scene.images)
                .map_err(|e| e.to_string())?;
        }
        Backend::Cuda => render_planar_cuda(&mut frames, stride, info, scene)?,
    }
    let rgb: Vec<u8> = frames
        .chunks_exact(stride)
        .flat_map(|f| info.to_rgba(f))
        .collect();
    let png = encode_png(info.width, info.height * n as u32, &rgb).map_err(|e| e.to_string())?;
    std::fs::write(&args.output, png).map_err(|e| format!("writing {}: {e}", args.output.display()))
}

/// RGBA <-> frame byte order (the swap is its own inverse).
fn order(p: &[u8], swap: bool) -> [u8; 4] {
    if swap {
        [p[2], p[1], p[0], p[3]]
    } else {
        [p[0], p[1], p[2], p[3]]
    }
}

fn render_cpu(
    frames: &mut [u8],
    stride: usize,
    info: FrameInfo,
    scene: &LoadedScene,
) -> Result<(), String> {
    let mut hosts = frames
        .chunks_exact_mut(stride)
        .map(|f| HostFrame::new(f, info))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    cudadraw::cpu::CpuRenderer::new()
        .render(&mut hosts, &scene.lists, &scene.images)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "cuda"))]
fn render_cuda(_: &mut [u8], _: usize, _: FrameInfo, _: &LoadedScene) -> Result<(), String> {
    Err(NO_CUDA.into())
}

#[cfg(not(feature = "cuda"))]
fn render_planar_cuda(
    _: &mut [u8],
    _: usize,
    _: cudadraw::planar::PlanarInfo,
    _: &LoadedScene,
) -> Result<(), String> {
    Err(NO_CUDA.into())
}

#[cfg(not(feature = "cuda"))]
const NO_CUDA: &str = "this render tool was built without the `cuda` feature";

/// Draws every list on its packed frame (frame i at i * stride) with the CUDA backend.
#[cfg(feature = "cuda")]
fn render_cuda(
    frames: &mut [u8],
    stride: usize,
    info: FrameInfo,
    scene: &LoadedScene,
) -> Result<(), String> {
    on_device(frames, |cuda, dptr| {
        let device: Vec<_> = (0..scene.lists.len())
            // SAFETY: frame i's info.min_len() <= stride bytes start at dptr + i * stride.
            .map(|i| unsafe { cudadraw::DeviceFrame::new(dptr + (i * stride) as u64, info, 0) })
            .collect();
        cuda.render(&device, &scene.lists, &scene.images)
    })
}

/// The same for NV12 / I420 frames.
#[cfg(feature = "cuda")]
fn render_planar_cuda(
    frames: &mut [u8],
    stride: usize,
    info: cudadraw::planar::PlanarInfo,
    scene: &LoadedScene,
) -> Result<(), String> {
    on_device(frames, |cuda, dptr| {
        let device: Vec<_> = (0..scene.lists.len())
            // SAFETY: frame i's info.min_len() <= stride bytes start at dptr + i * stride.
            .map(|i| unsafe {
                cudadraw::planar::DevicePlanarFrame::new(dptr + (i * stride) as u64, info, 0)
            })
            .collect();
        cuda.render_planar(&device, &scene.lists, &scene.images)
    })
}

/// Uploads `frames` into one allocation on GPU 0, runs `draw` on it, downloads them.
#[cfg(feature = "cuda")]
fn on_device(
    frames: &mut [u8],
    draw: impl FnOnce(&mut cudadraw::cuda::CudaRenderer, u64) -> cudadraw::Result<()>,
) -> Result<(), String> {
    use cudarc::driver::result as cu;
    let mut cuda = cudadraw::cuda::CudaRenderer::new().map_err(|e| e.to_string())?;
    let ctx = cuda.context(0).map_err(|e| e.to_string())?;
    // SAFETY: the renderer keeps GPU 0's primary context retained while it lives.
    unsafe { cu::ctx::set_current(ctx) }.map_err(|e| format!("cuCtxSetCurrent: {e}"))?;
    let len = frames.len();
    // SAFETY: a plain allocation in the current context, freed below.
    let dptr = unsafe { cu::malloc_sync(len) }.map_err(|e| format!("cuMemAlloc: {e}"))?;
    let result = (|| {
        // SAFETY: dptr holds len bytes, as does `frames`.
        unsafe { cu::memcpy_htod_sync(dptr, &frames[..]) }.map_err(|e| format!("upload: {e}"))?;
        // The upload from pageable memory may still be in flight when the call returns.
        cu::ctx::synchronize().map_err(|e| format!("cuCtxSynchronize: {e}"))?;
        draw(&mut cuda, dptr).map_err(|e| e.to_string())?;
        // SAFETY: as above.
        unsafe { cu::memcpy_dtoh_sync(&mut frames[..], dptr) }.map_err(|e| format!("download: {e}"))
    })();
    // SAFETY: allocated above; the render has completed.
    let _ = unsafe { cu::free_sync(dptr) };
    result
}
