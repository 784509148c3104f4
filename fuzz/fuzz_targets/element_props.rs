//! Property strings of the `cudadraw` element, then system-memory video buffers with
//! ROI metas pushed through it (gstreamer-check's `Harness`).
//!
//! The input is text (UTF-8, lossy; NULs dropped), one directive per line, at most
//! [`MAX_LINES`] lines:
//!
//! - `name=value`: set property `name` from the string `value`, as `gst-launch-1.0`
//!   would (`gst_value_deserialize` to the property's type; enums by nick, name or
//!   number). Values GLib refuses (not parsable, out of the pspec's range) are skipped
//!   the way `g_object_set_property` skips them, instead of the panic glib-rs gives
//!   for them; read-only, construct-only, `name` and `parent` are skipped too.
//!   `overlay-location` values are file names inside a temporary directory that holds
//!   valid, broken and lying PNG files (see [`FILES`]); any other name is missing.
//! - `roi=type:x:y:w:h[:frame]`: an ROI meta on the buffers pushed from now on (at most
//!   [`MAX_ROIS`]); `type` is taken from a fixed set (ROI types are interned as GQuarks
//!   and never freed), coordinates are integers of any size and sign, wrapped to u32 as
//!   a C producer would (`-5` is `4294967291`); `frame`, if present, becomes the param
//!   structure `cudadraw, frame=...` (uint, int64 if negative, else a string).
//! - `clear`: no more ROIs. `format=RGBA` (or BGRA, RGBx, BGRx, and refused ones:
//!   NV12, I420, RGB, GRAY8, ARGB), `size=WxH` (8..=64 each; 32x16 by default),
//!   `features=none|cuda|nvmm`: the caps of the next buffers.
//! - `push`: push one buffer (at most [`MAX_PUSHES`]); input without `push` pushes two
//!   at the end. `restart`: element to READY and back to PLAYING.
//!
//! Checks, beyond "no panic, no abort, no hang": GLib criticals are fatal (a critical
//! is API misuse somewhere); with `fail-mode=pass` every accepted buffer comes out, of
//! its size, and unchanged when there is nothing to draw.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::glib::translate::{ToGlibPtr, ToGlibPtrMut};
use gstreamer::prelude::*;
use gstreamer_check::Harness;
use gstreamer_video as gst_video;
use libfuzzer_sys::fuzz_target;

const MAX_LINES: usize = 64;
const MAX_ROIS: usize = 16;
const MAX_PUSHES: usize = 8;
const ROI_TYPES: &[&str] = &[
    "face",
    "person",
    "car",
    "license-plate",
    "Face",
    "",
    "person ",
    "a,b",
];
const FORMATS: &[&str] = &[
    "RGBA", "BGRA", "RGBx", "BGRx", "NV12", "I420", "RGB", "GRAY8", "ARGB",
];

/// Files of the overlay directory: (name, contents).
const FILES: &[&str] = &[
    "tiny.png",    // 3x2 RGBA
    "gray16.png",  // 5x4 16-bit grey
    "big.png",     // 64x48 RGB
    "huge.png",    // IHDR 8192x8192 RGBA (the largest accepted), no pixel data
    "claims.png",  // IHDR 16384 x 2^28
    "wide.png",    // IHDR 100000 x 1
    "zero.png",    // IHDR 0x0
    "trunc.png",   // big.png cut in its IDAT
    "badcrc.png",  // tiny.png with a corrupt IHDR CRC
    "garbage.png", // not a PNG
    "empty.png",   // 0 bytes
    "dir.png",     // a directory
];

fn crc32(parts: &[&[u8]]) -> u32 {
    let mut c = !0u32;
    for b in parts.iter().flat_map(|p| p.iter()) {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn chunk(out: &mut Vec<u8>, ty: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(ty);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[ty, data]).to_be_bytes());
}

/// A PNG whose header claims `w` x `h` RGBA8 and whose data is a few bytes.
fn lying_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // zlib stream header + a stored block of 4 bytes, not the end.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x01, 0x00, 0x04, 0x00, 0xfb, 0xff, 0, 1, 2, 3],
    );
    out
}

fn encode(w: u32, h: u32, color: png::ColorType, depth: png::BitDepth, px: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(color);
        e.set_depth(depth);
        let mut wr = e.write_header().expect("png header");
        wr.write_image_data(px).expect("png data");
    }
    out
}

struct Env {
    dir: PathBuf,
    /// `CUDADRAW_FUZZ_TRACE` set: print what each directive did (replaying seeds and
    /// crashes).
    trace: bool,
    /// `CUDADRAW_FUZZ_LEAKS` set: assert that the element is freed after each input.
    check_leaks: bool,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        cudadraw::gst::register().expect("cudadraw registers");
        // A critical is API misuse (ours or the element's): make it a crash the fuzzer
        // reports, with its input.
        glib::log_set_always_fatal(glib::LogLevels::LEVEL_CRITICAL | glib::LogLevels::LEVEL_ERROR);
        let dir = std::env::temp_dir().join(format!("cudadraw-fuzz-props-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("dir.png")).expect("temp dir");
        let tiny = encode(
            3,
            2,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &[
                255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 9, 9, 9, 255, 200, 100, 50, 25, 1, 2,
                3, 4,
            ],
        );
        let gray16: Vec<u8> = (0..5 * 4 * 2).map(|i| (i * 13) as u8).collect();
        let gray16 = encode(
            5,
            4,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &gray16,
        );
        let big: Vec<u8> = (0..64 * 48 * 3).map(|i| (i % 251) as u8).collect();
        let big = encode(64, 48, png::ColorType::Rgb, png::BitDepth::Eight, &big);
        let mut badcrc = tiny.clone();
        badcrc[29] ^= 0xff; // last byte of the IHDR CRC
        let files: [(&str, Vec<u8>); 11] = [
            ("tiny.png", tiny),
            ("gray16.png", gray16),
            ("huge.png", lying_png(8192, 8192)),
            ("claims.png", lying_png(16384, 1 << 28)),
            ("wide.png", lying_png(100_000, 1)),
            ("zero.png", lying_png(0, 0)),
            ("trunc.png", big[..big.len() / 2].to_vec()),
            ("big.png", big),
            ("badcrc.png", badcrc),
            (
                "garbage.png",
                b"GIF89a not a png at all \x00\x01\x02".to_vec(),
            ),
            ("empty.png", Vec::new()),
        ];
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).expect("write overlay file");
        }
        debug_assert!(FILES.iter().all(|f| dir.join(f).exists()));
        Env {
            dir,
            trace: std::env::var_os("CUDADRAW_FUZZ_TRACE").is_some(),
            check_leaks: std::env::var_os("CUDADRAW_FUZZ_LEAKS").is_some(),
        }
    })
}

/// An `overlay-location` value: a file of the overlay directory, never a path outside
/// it (no `/`, no `..`).
fn overlay_path(env: &Env, text: &str) -> String {
    let name: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect();
    let name = if name.is_empty() || name.chars().all(|c| c == '.') {
        "missing.png".to_string()
    } else {
        name
    };
    env.dir.join(name).to_string_lossy().into_owned()
}

/// The value `text` gives a property of `pspec`'s type, as gst-launch would parse it;
/// `None` if it does not parse.
fn parse_value(pspec: &glib::ParamSpec, text: &str) -> Option<glib::Value> {
    let t = pspec.value_type();
    if t.is_a(glib::Type::ENUM) {
        // gst_value_deserialize gives a critical (g_return_val_if_fail) for an enum
        // string that names no value: look it up here instead.
        let class = glib::EnumClass::with_type(t)?;
        let v = class
            .value_by_nick(text)
            .or_else(|| class.value_by_name(text))
            .or_else(|| text.trim().parse::<i32>().ok().and_then(|i| class.value(i)))?;
        return Some(v.to_value(&class));
    }
    if t.is_a(glib::Type::FLAGS) || t.is_a(glib::Type::OBJECT) || t.is_a(glib::Type::BOXED) {
        return None;
    }
    glib::Value::deserialize(text, t).ok()
}

/// Whether GLib would set `v` (of the pspec's type): `g_param_value_validate` leaves it
/// as it is. `g_object_set_property` skips values it would change (with a warning);
/// glib-rs panics on them.
fn accepted(pspec: &glib::ParamSpec, v: &glib::Value) -> bool {
    if pspec.flags().contains(glib::ParamFlags::LAX_VALIDATION) {
        return true;
    }
    let mut copy = v.clone();
    // SAFETY: both pointers are valid for the call; `copy` holds a value of the
    // pspec's type (parse_value made it from `pspec.value_type()`).
    let changed = unsafe {
        glib::gobject_ffi::g_param_value_validate(pspec.to_glib_none().0, copy.to_glib_none_mut().0)
    };
    changed == glib::ffi::GFALSE
}

fn set_property(element: &gst::Element, env: &Env, name: &str, text: &str) {
    if matches!(name, "name" | "parent") {
        return;
    }
    let Some(pspec) = element.find_property(name) else {
        return;
    };
    let flags = pspec.flags();
    if !flags.contains(glib::ParamFlags::WRITABLE)
        || flags.contains(glib::ParamFlags::CONSTRUCT_ONLY)
    {
        return;
    }
    let text = if name == "overlay-location" && text != "NULL" {
        overlay_path(env, text)
    } else {
        text.to_string()
    };
    let Some(v) = parse_value(&pspec, &text) else {
        return;
    };
    if v.type_() != pspec.value_type() || !accepted(&pspec, &v) {
        return;
    }
    if env.trace {
        eprintln!("set {name} = {text:?}");
    }
    element.set_property_from_value(name, &v);
}

/// An integer of any size and sign, wrapped to u32 as C would.
fn coord(s: &str) -> u32 {
    let s = s.trim();
    s.parse::<i64>()
        .map(|v| v as u32)
        .or_else(|_| s.parse::<u64>().map(|v| v as u32))
        .or_else(|_| {
            s.strip_prefix("0x").map_or(Err(()), |h| {
                u64::from_str_radix(h, 16).map(|v| v as u32).map_err(|_| ())
            })
        })
        .unwrap_or(0)
}

#[derive(Clone)]
struct Roi {
    ty: &'static str,
    rect: (u32, u32, u32, u32),
    frame: Option<String>,
}

fn parse_roi(text: &str) -> Roi {
    let mut f = text.split(':');
    let ty_text = f.next().unwrap_or("");
    let ty = ROI_TYPES
        .iter()
        .find(|t| **t == ty_text)
        .copied()
        .unwrap_or_else(|| {
            let h = ty_text
                .bytes()
                .fold(7usize, |h, b| h.wrapping_mul(31) ^ usize::from(b));
            ROI_TYPES[h % ROI_TYPES.len()]
        });
    let mut n = || coord(f.next().unwrap_or(""));
    let rect = (n(), n(), n(), n());
    Roi {
        ty,
        rect,
        frame: f.next().map(str::to_string),
    }
}

#[derive(Clone, PartialEq)]
struct Layout {
    format: &'static str,
    width: u32,
    height: u32,
    features: Option<&'static str>,
}

impl Layout {
    fn caps(&self) -> Option<(gst::Caps, usize)> {
        let format = gst_video::VideoFormat::from_string(self.format);
        let info = gst_video::VideoInfo::builder(format, self.width, self.height)
            .fps(gst::Fraction::new(25, 1))
            .build()
            .ok()?;
        let mut caps = info.to_caps().ok()?;
        if let Some(f) = self.features {
            caps.get_mut()?
                .set_features(0, Some(gst::CapsFeatures::new([f])));
        }
        Some((caps, info.size()))
    }
}

struct Run {
    h: Harness,
    element: gst::Element,
    layout: Layout,
    sent: Option<Layout>,
    rois: Vec<Roi>,
    pushes: usize,
    trace: bool,
}

impl Run {
    fn start_stream(&mut self) {
        self.h
            .push_event(gst::event::StreamStart::new("cudadraw-fuzz"));
        self.sent = None;
    }

    fn push(&mut self) {
        if self.pushes >= MAX_PUSHES {
            return;
        }
        self.pushes += 1;
        let Some((caps, size)) = self.layout.caps() else {
            return;
        };
        // Caps say NVMM: the element reads the buffer as an NvBufSurface descriptor
        // when its size is one (64 or 72 bytes) and follows its pointers, the trust
        // that caps give (DeepStream made it). System-memory bytes are not that.
        if self.layout.features == Some("memory:NVMM") && matches!(size, 64 | 72) {
            return;
        }
        if self.sent.as_ref() != Some(&self.layout) {
            self.h.push_event(gst::event::Caps::new(&caps));
            if self.sent.is_none() {
                self.h
                    .push_event(gst::event::Segment::new(&gst::FormattedSegment::<
                        gst::ClockTime,
                    >::new()));
            }
            self.sent = Some(self.layout.clone());
        }
        let pixels: Vec<u8> = (0..size).map(|i| (i * 7 + self.pushes) as u8).collect();
        let mut buf = gst::Buffer::from_mut_slice(pixels.clone());
        {
            let b = buf.get_mut().expect("new buffer is writable");
            b.set_pts(gst::ClockTime::from_mseconds(40 * self.pushes as u64));
            b.set_duration(gst::ClockTime::from_mseconds(40));
            for roi in &self.rois {
                let mut meta = gst_video::VideoRegionOfInterestMeta::add(b, roi.ty, roi.rect);
                if let Some(frame) = &roi.frame {
                    let s = gst::Structure::builder("cudadraw");
                    let s = if let Ok(v) = frame.trim().parse::<u32>() {
                        s.field("frame", v)
                    } else if let Ok(v) = frame.trim().parse::<i64>() {
                        s.field("frame", v)
                    } else {
                        s.field("frame", frame.as_str())
                    };
                    meta.add_param(s.build());
                }
            }
        }
        let pass = self
            .element
            .property::<cudadraw::gst::cudadraw::FailModeProp>("fail-mode")
            == cudadraw::gst::cudadraw::FailModeProp::Pass;
        let nothing_to_draw = self.rois.is_empty()
            && self
                .element
                .property::<Option<String>>("overlay-location")
                .is_none();
        let flow = self.h.push(buf);
        let out = self.h.try_pull();
        if self.trace {
            eprintln!(
                "push {} ({} ROIs, pass {pass}): {flow:?}, {}",
                self.pushes,
                self.rois.len(),
                match &out {
                    None => "no output".to_string(),
                    Some(o) => {
                        let m = o.map_readable().expect("output readable");
                        let changed = m.iter().zip(&pixels).filter(|(a, b)| a != b).count();
                        format!("{changed} byte(s) changed")
                    }
                }
            );
        }
        if let Some(out) = &out {
            assert_eq!(out.size(), size, "output buffer of another size");
        }
        if flow.is_ok() && pass {
            let out = out.expect("fail-mode=pass: an accepted buffer did not come out");
            if nothing_to_draw {
                let map = out.map_readable().expect("output readable");
                assert!(
                    map.as_slice() == &pixels[..],
                    "nothing to draw, yet pixels changed"
                );
            }
        }
    }

    fn restart(&mut self) {
        let _ = self.element.set_state(gst::State::Ready);
        let _ = self.element.set_state(gst::State::Playing);
        self.start_stream();
    }
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let text: String = String::from_utf8_lossy(data)
        .chars()
        .filter(|&c| c != '\0')
        .collect();
    let Ok(element) = gst::ElementFactory::make("cudadraw").build() else {
        panic!("cannot make cudadraw");
    };
    let h = Harness::with_element(&element, Some("sink"), Some("src"));
    let mut run = Run {
        h,
        element,
        layout: Layout {
            format: "RGBA",
            width: 32,
            height: 16,
            features: None,
        },
        sent: None,
        rois: Vec::new(),
        pushes: 0,
        trace: env.trace,
    };
    run.start_stream();
    let mut pushed_any = false;
    for line in text.lines().take(MAX_LINES) {
        let line = line.trim_end_matches('\r');
        match line.split_once('=') {
            None => match line.trim() {
                "push" => {
                    pushed_any = true;
                    run.push();
                }
                "clear" => run.rois.clear(),
                "restart" => run.restart(),
                _ => {}
            },
            Some((name, value)) => match name.trim() {
                "roi" => {
                    if run.rois.len() < MAX_ROIS {
                        run.rois.push(parse_roi(value));
                    }
                }
                "format" => {
                    if let Some(f) = FORMATS.iter().find(|f| **f == value.trim()) {
                        run.layout.format = f;
                    }
                }
                "size" => {
                    if let Some((w, h)) = value.trim().split_once('x')
                        && let (Ok(w), Ok(h)) = (w.parse::<u32>(), h.parse::<u32>())
                    {
                        run.layout.width = w.clamp(8, 64);
                        run.layout.height = h.clamp(8, 64);
                    }
                }
                "features" => {
                    run.layout.features = match value.trim() {
                        "cuda" => Some("memory:CUDAMemory"),
                        "nvmm" => Some("memory:NVMM"),
                        _ => None,
                    };
                }
                name => set_property(&run.element, env, name, value),
            },
        }
    }
    if !pushed_any {
        run.push();
        run.push();
    }
    // Teardown sets the element to NULL and drops the harness' reference: ours must be
    // the last one, or the element (and all it holds) is never freed.
    let Run { h, element, .. } = run;
    drop(h);
    let refs = element.ref_count();
    if env.trace {
        eprintln!("element references after teardown: {refs}");
    }
    if env.check_leaks {
        assert_eq!(
            refs, 1,
            "the element outlives its harness (a reference cycle or a leaked ref)"
        );
    }
});
