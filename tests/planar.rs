//! NV12 and I420 frames on the CPU renderer (docs/semantics.md, "NV12 and I420"):
//! reference planes for every scene, the luma and chroma rules pinned against the
//! packed renderer's effective alphas, a cross-check with RGBA drawing, footprint,
//! padding and alpha-0 properties, and bad input.

mod common;

use cudadraw::cpu::CpuRenderer;
use cudadraw::draw::TextStyle;
use cudadraw::geom::Point;
use cudadraw::planar::{
    PlanarFrame, PlanarInfo, PlanarLayout, Plane, YuvConv, YuvMatrix, YuvRange,
};
use cudadraw::{
    BlurKind, Border, Color, DrawList, FrameInfo, HostFrame, ImageStore, PixelFormat, Rect,
};

const MARKER: u8 = 0x5A;

/// A frame layout with padded pitches and gaps between the planes (`padded`), or tight.
fn layout(w: u32, h: u32, l: PlanarLayout, m: YuvMatrix, r: YuvRange, padded: bool) -> PlanarInfo {
    let info = PlanarInfo::tight(w, h, l).with_colour(m, r);
    if !padded {
        return info;
    }
    let mut info = info;
    let mut at = 7; // an odd start: plane offsets are arbitrary on the CPU
    for i in 0..l.planes() {
        let (row, rows) = info.plane_extent(i);
        let pitch = row + 3 + 2 * i;
        info.planes[i] = Some(Plane { offset: at, pitch });
        at += pitch * rows + 11;
    }
    info
}

/// The packed test picture converted to the frame's Y'CbCr (chroma from the block's
/// mean RGB), every other byte (padding, gaps) the marker.
fn background(info: &PlanarInfo, index: usize) -> Vec<u8> {
    let rgba = common::background(
        FrameInfo::packed(info.width, info.height, PixelFormat::Rgba),
        index,
    );
    let mut v = vec![MARKER; info.min_len() + 5];
    info.write_rgba(&rgba, &mut v);
    v
}

/// Whether byte `i` of the buffer is a sample of some plane (not padding or a gap).
fn is_sample(info: &PlanarInfo, i: usize) -> bool {
    (0..info.layout.planes()).any(|p| {
        let Some(pl) = info.planes[p] else {
            return false;
        };
        let (row, rows) = info.plane_extent(p);
        i >= pl.offset && (i - pl.offset) / pl.pitch < rows && (i - pl.offset) % pl.pitch < row
    })
}

fn render(
    info: &PlanarInfo,
    bufs: &mut [Vec<u8>],
    lists: &[DrawList],
    images: &ImageStore,
) -> cudadraw::Result<()> {
    let mut frames = bufs
        .iter_mut()
        .map(|b| PlanarFrame::new(b, *info))
        .collect::<cudadraw::Result<Vec<_>>>()?;
    CpuRenderer::new().render_planar(&mut frames, lists, images)
}

/// The raw planes of each frame as a grey picture (Y rows, then the chroma rows: NV12's
/// interleaved UV, I420's U and V side by side), frames stacked: byte-exact, viewable.
fn planes_picture(info: &PlanarInfo, frames: &[Vec<u8>]) -> (u32, u32, Vec<u8>) {
    let (cw, ch) = info.chroma_size();
    let pw = (2 * cw) as usize;
    let (w, h) = (info.width as usize, info.height as usize);
    let ph = h + ch as usize;
    let mut out = Vec::new();
    for f in frames {
        let mut grey = vec![0u8; pw * ph];
        for y in 0..h {
            for x in 0..w {
                grey[y * pw + x] = f[info.luma_at(x, y)];
            }
        }
        for cy in 0..ch as usize {
            for cx in 0..cw as usize {
                let (u, v) = info.chroma_at(cx, cy);
                let row = (h + cy) * pw;
                match info.layout {
                    PlanarLayout::Nv12 => {
                        grey[row + 2 * cx] = f[u];
                        grey[row + 2 * cx + 1] = f[v];
                    }
                    PlanarLayout::I420 => {
                        grey[row + cx] = f[u];
                        grey[row + cw as usize + cx] = f[v];
                    }
                }
            }
        }
        out.extend(grey.iter().flat_map(|&g| [g, g, g, 255]));
    }
    (pw as u32, (ph * frames.len()) as u32, out)
}

/// RGB rendering for the eye (nearest chroma, the approximate inverse).
fn rgb_picture(info: &PlanarInfo, frames: &[Vec<u8>]) -> Vec<u8> {
    frames.iter().flat_map(|f| info.to_rgba(f)).collect()
}

/// The planar variant scene `i` is drawn on: every layout, matrix and range, tight and
/// padded, across the scene list.
fn variant(i: usize, w: u32, h: u32) -> PlanarInfo {
    let l = [PlanarLayout::Nv12, PlanarLayout::I420][i % 2];
    let m = YuvMatrix::ALL[(i / 2) % 3];
    let r = YuvRange::ALL[(i / 6) % 2];
    layout(w, h, l, m, r, (i / 3) % 2 == 1)
}

#[test]
fn every_scene_matches_its_reference_planes() {
    let cases = common::scenes();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        for k in 0..2 {
            // Each scene on two variants (NV12 and I420 always both).
            let info = variant(2 * i + k, case.info.width, case.info.height);
            let mut bufs: Vec<Vec<u8>> = (0..case.scene.lists.len())
                .map(|f| background(&info, f))
                .collect();
            let before = bufs.clone();
            if let Err(e) = render(&info, &mut bufs, &case.scene.lists, &case.scene.images) {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
            for (b, a) in bufs.iter().zip(&before) {
                if let Some(at) = (0..a.len()).find(|&j| !is_sample(&info, j) && a[j] != b[j]) {
                    failures.push(format!(
                        "{}: byte {at} outside the planes changed",
                        case.name
                    ));
                }
            }
            let name = format!("planar/{}.{}", case.name, info.layout.name().to_lowercase());
            let (w, h, pic) = planes_picture(&info, &bufs);
            if let Err(e) = common::compare_with_reference(&name, "cpu", w, h, &pic) {
                failures.push(e);
            }
            // For the eye: NV12 only (the I420 planes hold the same kind of picture).
            if common::blessing() && info.layout == PlanarLayout::Nv12 {
                let eye = common::reference_dir().join(format!("{name}.rgb.png"));
                let rgb = rgb_picture(&info, &bufs);
                let fh = info.height * bufs.len() as u32;
                common::save_png(&eye, info.width, fh, &rgb).expect("eye picture");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The frame's planes copied tightly (rows without padding, planes in order Y, UV or
/// Y, U, V): the layout of a raw `.yuv` file.
fn tight_planes(info: &PlanarInfo, buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..info.layout.planes() {
        let p = info.planes[i].expect("plane");
        let (row, rows) = info.plane_extent(i);
        for y in 0..rows {
            out.extend_from_slice(&buf[p.offset + y * p.pitch..][..row]);
        }
    }
    out
}

/// Where byte `at` of a tight frame lies: (plane, column byte, row).
fn tight_position(info: &PlanarInfo, mut at: usize) -> (usize, usize, usize) {
    for i in 0..info.layout.planes() {
        let (row, rows) = info.plane_extent(i);
        if at < row * rows {
            return (i, at % row, at / row);
        }
        at -= row * rows;
    }
    (usize::MAX, 0, 0)
}

/// The scenes of `tests/scenes/planar/` (`format` nv12 or i420), sorted by name.
/// Compares the raw planes of a rendered planar scene with
/// `tests/reference/planar_scenes/<name>.yuv` (blessed with `CUDADRAW_BLESS=1`); on a
/// mismatch writes `tests/output/planar_scenes/<name>.actual.yuv` and the planes as
/// grey pictures (`.planes.{expected,actual,diff}.png`).
fn compare_raw(name: &str, info: &PlanarInfo, raw: &[u8]) -> Result<(), String> {
    let reference = common::reference_dir().join(format!("planar_scenes/{name}.yuv"));
    if common::blessing() {
        std::fs::create_dir_all(reference.parent().expect("dir")).map_err(|e| e.to_string())?;
        return std::fs::write(&reference, raw).map_err(|e| e.to_string());
    }
    let expected = std::fs::read(&reference).map_err(|e| {
        format!(
            "{name}: no reference planes {} ({e}); run with CUDADRAW_BLESS=1",
            reference.display()
        )
    })?;
    if expected == raw {
        return Ok(());
    }
    let tight = PlanarInfo::tight(info.width, info.height, info.layout);
    let n = tight.min_len();
    let why = if expected.len() != raw.len() {
        format!("{} bytes, the reference has {}", raw.len(), expected.len())
    } else {
        let at = (0..raw.len()).find(|&i| raw[i] != expected[i]).unwrap_or(0);
        let count = (0..raw.len()).filter(|&i| raw[i] != expected[i]).count();
        let (plane, x, y) = tight_position(&tight, at % n);
        format!(
            "{count} bytes differ, first in frame {} plane {plane} at byte ({x}, {y}): expected \
             {}, got {}",
            at / n,
            expected[at],
            raw[at]
        )
    };
    let out = common::output_dir().join("planar_scenes");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let actual_path = out.join(format!("{name}.actual.yuv"));
    std::fs::write(&actual_path, raw).map_err(|e| e.to_string())?;
    let frames = |b: &[u8]| b.chunks(n).map(<[u8]>::to_vec).collect::<Vec<_>>();
    let (w, h, e) = planes_picture(&tight, &frames(&expected));
    let (_, _, a) = planes_picture(&tight, &frames(raw));
    common::save_png(&out.join(format!("{name}.planes.expected.png")), w, h, &e)?;
    common::save_png(&out.join(format!("{name}.planes.actual.png")), w, h, &a)?;
    if e.len() == a.len() {
        let diff = common::diff_image(&e, &a);
        common::save_png(&out.join(format!("{name}.planes.diff.png")), w, h, &diff)?;
    }
    Err(format!(
        "{name}: {why}; see {} and {}/{name}.planes.*.png",
        actual_path.display(),
        out.display()
    ))
}

/// Every scene of `tests/scenes/planar/` (each sets `format` nv12 or i420, most a
/// matrix, range and planes) drawn with `render_planar` on the converted background:
/// its raw planes byte-exact with `tests/reference/planar_scenes/<name>.yuv` (tight
/// planes, frames one after the other: `ffplay -f rawvideo -pixel_format nv12
/// -video_size WxH` shows them), the picture for the eye (`<name>.png`, the
/// approximate inverse with nearest chroma) current, and no padding or gap byte touched.
#[test]
fn planar_scenes_match_their_reference_planes() {
    let paths = common::planar_scene_paths();
    assert!(paths.len() >= 10, "only {} planar scenes", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let scene = cudadraw::draw::scene::Scene::load(path)
            .unwrap_or_else(|e| panic!("scene {}: {e}", path.display()));
        let info = scene
            .planar_info(common::DEFAULT_WIDTH, common::DEFAULT_HEIGHT)
            .unwrap_or_else(|| panic!("{name}: not a planar scene (format nv12 or i420)"));
        let mut bufs: Vec<Vec<u8>> = (0..scene.lists.len())
            .map(|f| background(&info, f))
            .collect();
        let before = bufs.clone();
        if let Err(e) = render(&info, &mut bufs, &scene.lists, &scene.images) {
            failures.push(format!("{name}: {e}"));
            continue;
        }
        for (b, a) in bufs.iter().zip(&before) {
            if let Some(at) = (0..a.len()).find(|&j| !is_sample(&info, j) && a[j] != b[j]) {
                failures.push(format!("{name}: byte {at} outside the planes changed"));
            }
        }
        let raw: Vec<u8> = bufs.iter().flat_map(|b| tight_planes(&info, b)).collect();
        if let Err(e) = compare_raw(&name, &info, &raw) {
            failures.push(e);
        }
        let rgb = rgb_picture(&info, &bufs);
        let fh = info.height * bufs.len() as u32;
        let eye = format!("planar_scenes/{name}");
        if let Err(e) = common::compare_with_reference(&eye, "cpu", info.width, fh, &rgb) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every file of `tests/reference/planar_scenes/` belongs to a planar scene.
#[test]
fn every_planar_reference_has_a_scene() {
    let names: Vec<String> = common::planar_scene_paths()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let dir = common::reference_dir().join("planar_scenes");
    for e in std::fs::read_dir(&dir).expect("tests/reference/planar_scenes") {
        let p = e.expect("entry").path();
        let file = p.file_name().map(|s| s.to_string_lossy().into_owned());
        let stem = file
            .as_deref()
            .and_then(|f| f.strip_suffix(".yuv").or_else(|| f.strip_suffix(".png")));
        assert!(
            stem.is_some_and(|s| names.iter().any(|n| n == s)),
            "stale planar reference {}",
            p.display()
        );
    }
}

/// Single-colour ops of every pointwise kind, reaching past every frame edge.
fn single_colour_ops(w: f32, h: f32) -> Vec<DrawList> {
    let c = Color::rgba(230, 40, 90, 200);
    let mut out = Vec::new();
    let mut l = DrawList::new();
    l.fill(Rect::new(-3.0, 2.0, 9.0, 7.0), c);
    out.push(l);
    let mut l = DrawList::new();
    l.outline(
        Rect::new(3.0, -2.0, w - 5.0, h + 1.0),
        Border::new(3, Color::rgb(20, 200, 60)),
    );
    out.push(l);
    let mut l = DrawList::new();
    l.fill(
        Rect::new(w - 4.0, h - 3.0, 10.0, 10.0),
        Color::rgba(0, 0, 255, 255),
    );
    out.push(l);
    let mut l = DrawList::new();
    l.line(
        Point { x: -4.0, y: 1.5 },
        Point {
            x: w + 3.0,
            y: h - 2.5,
        },
        2.5,
        c,
    );
    out.push(l);
    let mut l = DrawList::new();
    l.circle(
        Point { x: w - 2.0, y: 4.0 },
        7.3,
        None,
        Some(Color::rgba(250, 250, 0, 120)),
    );
    out.push(l);
    let mut l = DrawList::new();
    l.polygon(
        vec![
            Point { x: 1.2, y: h - 1.0 },
            Point { x: 9.7, y: 3.3 },
            Point {
                x: 15.1,
                y: h + 4.0,
            },
        ],
        Some(Color::rgb(10, 10, 10)),
        None,
    );
    out.push(l);
    let mut l = DrawList::new();
    l.text(
        1.0,
        1.0,
        "Ag",
        TextStyle::new(14, Color::rgba(255, 255, 255, 230)),
    );
    out.push(l);
    out
}

/// The luma and chroma rules, pinned independently of the planar code: the packed
/// renderer gives each pixel's effective alpha a (the alpha byte of an all-zero RGBA
/// frame becomes exactly a), and for a single-colour op
/// Y = blend(Y(c), Y, a) per pixel, Cb/Cr = blend(C(c), C, (sum a + n/2) / n) per block.
#[test]
fn luma_and_chroma_follow_the_effective_alphas() {
    for (w, h) in [(37u32, 23u32), (16, 9), (5, 4)] {
        for (k, list) in single_colour_ops(w as f32, h as f32)
            .into_iter()
            .enumerate()
        {
            let Some(colour) = list_colour(&list) else {
                continue;
            };
            let finfo = FrameInfo::packed(w, h, PixelFormat::Rgba);
            let mut zero = vec![0u8; finfo.min_len()];
            CpuRenderer::new()
                .render(
                    &mut [HostFrame::new(&mut zero, finfo).expect("frame")],
                    &[&list],
                    &ImageStore::new(),
                )
                .expect("packed render");
            let alpha = |x: usize, y: usize| zero[(y * w as usize + x) * 4 + 3];
            for i in 0..12 {
                let info = variant(i + k, w, h);
                let conv = YuvConv::new(info.matrix, info.range);
                let ycc = conv.convert([colour.r, colour.g, colour.b]);
                let bg = background(&info, 0);
                let mut bufs = vec![bg.clone()];
                render(
                    &info,
                    &mut bufs,
                    std::slice::from_ref(&list),
                    &ImageStore::new(),
                )
                .expect("planar render");
                let f = &bufs[0];
                for y in 0..h as usize {
                    for x in 0..w as usize {
                        let at = info.luma_at(x, y);
                        let want = cudadraw::color::blend(ycc[0], bg[at], alpha(x, y));
                        assert_eq!(f[at], want, "{w}x{h} op {k} variant {i} luma ({x}, {y})");
                    }
                }
                let (cw, ch) = info.chroma_size();
                for cy in 0..ch as usize {
                    for cx in 0..cw as usize {
                        let (mut n, mut s) = (0u32, 0u32);
                        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                            let (x, y) = (2 * cx + dx, 2 * cy + dy);
                            if x < w as usize && y < h as usize {
                                n += 1;
                                s += u32::from(alpha(x, y));
                            }
                        }
                        let a = ((s + n / 2) / n) as u8;
                        let (u, v) = info.chroma_at(cx, cy);
                        assert_eq!(
                            f[u],
                            cudadraw::color::blend(ycc[1], bg[u], a),
                            "op {k} variant {i} Cb ({cx}, {cy})"
                        );
                        assert_eq!(
                            f[v],
                            cudadraw::color::blend(ycc[2], bg[v], a),
                            "op {k} variant {i} Cr ({cx}, {cy})"
                        );
                    }
                }
            }
        }
    }
}

/// The one colour of a single-op test list.
fn list_colour(l: &DrawList) -> Option<Color> {
    use cudadraw::Op;
    match l.ops().first()? {
        Op::Box(b) => match (b.fill, b.border) {
            (Some(f), None) => Some(f),
            (None, Some(b)) => Some(b.color),
            _ => None,
        },
        Op::Line(o) => Some(o.color),
        Op::Ellipse(e) if e.outline.is_none() => e.fill,
        Op::Polygon(p) if p.outline.is_none() => p.fill,
        Op::Text(t) if t.style.background.is_none() && t.style.halo.is_none() => {
            Some(t.style.color)
        }
        _ => None,
    }
}

/// A scene of every op kind drawn on NV12 and on RGBA: the NV12 luma plane and the
/// luma of the RGBA result (same conversion) agree within 1 on average and 8 at most,
/// so positions, colours and matrices are right whatever the chroma rules are. (Blends
/// and blurs are linear, so luma differs only by rounding, plus the pixelate and box
/// means rounding once instead of per channel.)
#[test]
fn luma_agrees_with_drawing_on_rgba() {
    let (w, h) = (61u32, 45u32);
    let mut list = DrawList::new();
    list.fill(
        Rect::new(3.0, 4.0, 20.0, 10.0),
        Color::rgba(200, 30, 30, 160),
    );
    list.outline(
        Rect::new(10.0, 8.0, 30.0, 25.0),
        Border::new(2, Color::rgb(0, 220, 255)),
    );
    list.blur(
        Rect::new(30.0, 2.0, 25.0, 20.0),
        BlurKind::Box { radius: 3 },
    );
    list.blur(
        Rect::new(2.0, 25.0, 20.0, 18.0),
        BlurKind::Gaussian { sigma: 2.0 },
    );
    list.blur(
        Rect::new(40.0, 25.0, 19.0, 17.0),
        BlurKind::Pixelate { block: 6 },
    );
    list.blur(
        Rect::new(25.0, 30.0, 9.0, 9.0),
        BlurKind::Solid {
            color: Color::rgb(90, 180, 20),
        },
    );
    list.line(
        Point { x: 0.0, y: 44.0 },
        Point { x: 60.0, y: 0.0 },
        3.0,
        Color::rgb(255, 255, 0),
    );
    list.text(5.0, 12.0, "NV12", TextStyle::new(12, Color::WHITE));
    for m in YuvMatrix::ALL {
        for r in YuvRange::ALL {
            for l in [PlanarLayout::Nv12, PlanarLayout::I420] {
                let info = layout(w, h, l, m, r, true);
                let finfo = FrameInfo::packed(w, h, PixelFormat::Rgba);
                let mut rgba = common::background(finfo, 0);
                CpuRenderer::new()
                    .render(
                        &mut [HostFrame::new(&mut rgba, finfo).expect("frame")],
                        &[&list],
                        &ImageStore::new(),
                    )
                    .expect("rgba");
                // The planar background is the same picture converted.
                let mut bufs = vec![background(&info, 0)];
                render(
                    &info,
                    &mut bufs,
                    std::slice::from_ref(&list),
                    &ImageStore::new(),
                )
                .expect("planar");
                let conv = YuvConv::new(m, r);
                let (mut sum, mut max) = (0u64, 0u32);
                for y in 0..h as usize {
                    for x in 0..w as usize {
                        let p = &rgba[(y * w as usize + x) * 4..][..3];
                        let want = conv.convert([p[0], p[1], p[2]])[0];
                        let d = u32::from(want.abs_diff(bufs[0][info.luma_at(x, y)]));
                        sum += u64::from(d);
                        max = max.max(d);
                    }
                }
                let mean = sum as f64 / f64::from(w * h);
                assert!(
                    mean <= 1.0 && max <= 8,
                    "{l:?} {m:?} {r:?}: mean {mean:.3}, max {max}"
                );
            }
        }
    }
}

/// Nothing outside an op's luma clip and chroma footprint changes; an alpha-0 op
/// changes nothing at all.
#[test]
fn footprints_and_alpha_zero() {
    let (w, h) = (29u32, 17u32);
    let rects = [
        Rect::new(3.0, 3.0, 6.0, 5.0),
        Rect::new(4.0, 2.0, 7.0, 9.0),
        Rect::new(-5.0, -5.0, 8.0, 8.0),
        Rect::new(24.0, 12.0, 10.0, 10.0),
    ];
    for (i, r) in rects.iter().enumerate() {
        let kinds: Vec<DrawList> = [
            BlurKind::Box { radius: 2 },
            BlurKind::Gaussian { sigma: 1.5 },
            BlurKind::Pixelate { block: 3 },
            BlurKind::Solid { color: Color::RED },
        ]
        .into_iter()
        .map(|k| {
            let mut l = DrawList::new();
            l.blur(*r, k);
            l
        })
        .chain(std::iter::once({
            let mut l = DrawList::new();
            l.fill(*r, Color::rgba(1, 2, 3, 99));
            l
        }))
        .collect();
        let px = r.to_pixels().intersect(&cudadraw::PixelRect::frame(w, h));
        for (k, list) in kinds.iter().enumerate() {
            let info = variant(i + k, w, h);
            let bg = background(&info, 1);
            let mut bufs = vec![bg.clone()];
            render(
                &info,
                &mut bufs,
                std::slice::from_ref(list),
                &ImageStore::new(),
            )
            .expect("render");
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let at = info.luma_at(x, y);
                    if !px.contains(x as i32, y as i32) {
                        assert_eq!(bufs[0][at], bg[at], "rect {i} op {k} luma ({x}, {y})");
                    }
                }
            }
            let (cw, ch) = info.chroma_size();
            for cy in 0..ch as i32 {
                for cx in 0..cw as i32 {
                    let inside = cx >= px.x0 / 2
                        && cx < (px.x1 + 1) / 2
                        && cy >= px.y0 / 2
                        && cy < (px.y1 + 1) / 2;
                    let (u, v) = info.chroma_at(cx as usize, cy as usize);
                    if !inside {
                        assert_eq!(
                            (bufs[0][u], bufs[0][v]),
                            (bg[u], bg[v]),
                            "rect {i} op {k} chroma ({cx}, {cy})"
                        );
                    }
                }
            }
            for j in 0..bg.len() {
                if !is_sample(&info, j) {
                    assert_eq!(bufs[0][j], bg[j], "padding byte {j}");
                }
            }
        }
        let mut l = DrawList::new();
        l.fill(*r, Color::rgba(255, 0, 0, 0));
        l.text(2.0, 2.0, "x", TextStyle::new(10, Color::TRANSPARENT));
        let info = variant(i, w, h);
        let bg = background(&info, 0);
        let mut bufs = vec![bg.clone()];
        render(&info, &mut bufs, &[l], &ImageStore::new()).expect("render");
        assert_eq!(bufs[0], bg, "alpha 0 changed a byte");
    }
}

/// A solid redaction replaces whole chroma samples: every block it touches gets
/// exactly the colour's chroma, and every pixel of its region exactly its luma.
#[test]
fn solid_replaces_whole_chroma_samples() {
    let info = layout(
        11,
        9,
        PlanarLayout::Nv12,
        YuvMatrix::Bt709,
        YuvRange::Full,
        true,
    );
    let mut l = DrawList::new();
    l.blur(
        Rect::new(3.0, 1.0, 3.0, 8.0),
        BlurKind::Solid {
            color: Color::rgba(10, 200, 30, 7),
        },
    );
    let mut bufs = vec![background(&info, 0)];
    render(&info, &mut bufs, &[l], &ImageStore::new()).expect("render");
    let ycc = YuvConv::new(YuvMatrix::Bt709, YuvRange::Full).convert([10, 200, 30]);
    for y in 1..9 {
        for x in 3..6 {
            assert_eq!(bufs[0][info.luma_at(x, y)], ycc[0]);
        }
    }
    for cy in 0..5 {
        for cx in 1..3 {
            let (u, v) = info.chroma_at(cx, cy);
            assert_eq!((bufs[0][u], bufs[0][v]), (ycc[1], ycc[2]), "({cx}, {cy})");
        }
    }
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let good = PlanarInfo::tight(8, 6, PlanarLayout::Nv12);
    let mut narrow = good;
    narrow.planes[1] = Some(Plane {
        offset: 48,
        pitch: 7,
    });
    let mut overlap = good;
    overlap.planes[1] = Some(Plane {
        offset: 40,
        pitch: 8,
    });
    let mut missing = PlanarInfo::tight(8, 6, PlanarLayout::I420);
    missing.planes[2] = None;
    for bad in [narrow, overlap, missing] {
        let mut buf = vec![MARKER; 200];
        assert!(matches!(
            PlanarFrame::new(&mut buf, bad),
            Err(cudadraw::Error::InvalidFrame { .. })
        ));
        assert!(buf.iter().all(|&b| b == MARKER));
    }
    // An invalid op in the second list: neither frame is drawn.
    let mut a = background(&good, 0);
    let mut b = background(&good, 1);
    let (a0, b0) = (a.clone(), b.clone());
    let mut ok = DrawList::new();
    ok.fill(Rect::new(0.0, 0.0, 8.0, 6.0), Color::RED);
    let mut bad = DrawList::new();
    bad.fill(Rect::new(f32::NAN, 0.0, 1.0, 1.0), Color::RED);
    {
        let mut frames = [
            PlanarFrame::new(&mut a, good).expect("a"),
            PlanarFrame::new(&mut b, good).expect("b"),
        ];
        let err = CpuRenderer::new().render_planar(&mut frames, &[ok, bad], &ImageStore::new());
        assert!(
            matches!(err, Err(cudadraw::Error::InvalidOp { frame: 1, .. })),
            "{err:?}"
        );
    }
    assert_eq!((a, b), (a0, b0));
}
