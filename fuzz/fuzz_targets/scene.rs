//! Scene JSON -> parsing, image loading, validation -> CPU rendering of every frame
//! list onto frames whose layout is derived from the input. Checks, beyond "no panic":
//! an error leaves every frame untouched; padding and x bytes never change.
#![no_main]

use cudadraw::cpu::CpuRenderer;
use cudadraw::draw::scene::Scene;
use cudadraw::{FrameInfo, HostFrame, Image, PixelFormat};
use libfuzzer_sys::fuzz_target;

/// Largest frame (pixels) and batch the target renders, to keep runs fast.
const MAX_PIXELS: u64 = 96 * 96;
const MAX_FRAMES: usize = 4;

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A deterministic image for any path: size and pixels from the name's hash.
fn image(name: &str) -> cudadraw::Result<Image> {
    let h = fnv(name.as_bytes());
    if h % 7 == 0 {
        return Err(cudadraw::Error::InvalidImage(format!(
            "{name}: no such image"
        )));
    }
    let (w, ht) = (1 + (h % 13) as u32, 1 + ((h >> 8) % 11) as u32);
    let px = (0..w * ht * 4)
        .map(|i| (h >> (i % 56)) as u8 ^ i as u8)
        .collect();
    Image::new(w, ht, px)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scene) = Scene::from_json(text) else {
        return;
    };
    let Ok(loaded) = scene.into_loaded(image) else {
        return;
    };
    // Layout: the scene's settings where given, else derived from the input.
    let h = fnv(data);
    let info = loaded.frame_info(1 + (h % 64) as u32, 1 + ((h >> 6) % 48) as u32);
    let info = FrameInfo {
        pitch: if loaded.pitch.is_some() {
            info.pitch
        } else {
            info.width as usize * 4 + ((h >> 12) % 9) as usize
        },
        format: loaded
            .format
            .unwrap_or(PixelFormat::ALL[((h >> 16) % 4) as usize]),
        ..info
    };
    if info.validate(0).is_err()
        || u64::from(info.width) * u64::from(info.height) > MAX_PIXELS
        || loaded.lists.len() > MAX_FRAMES
    {
        return;
    }
    let orig: Vec<Vec<u8>> = (0..loaded.lists.len())
        .map(|k| {
            (0..info.min_len())
                .map(|i| (i as u8).wrapping_mul(29) ^ k as u8 ^ (h >> 24) as u8)
                .collect()
        })
        .collect();
    let mut bufs = orig.clone();
    let result = {
        let mut frames: Vec<HostFrame> = bufs
            .iter_mut()
            .map(|b| HostFrame::new(b, info).expect("layout validated above"))
            .collect();
        CpuRenderer::new().render(&mut frames, &loaded.lists, &loaded.images)
    };
    if result.is_err() {
        assert!(bufs == orig, "a failed render drew: {result:?}");
        return;
    }
    for (b, o) in bufs.iter().zip(&orig) {
        for y in 0..info.height as usize {
            let row = y * info.pitch;
            let end = (row + info.pitch).min(b.len());
            let w4 = info.width as usize * 4;
            assert_eq!(
                b[row + w4..end],
                o[row + w4..end],
                "padding of row {y} changed"
            );
            if !info.format.has_alpha() {
                for x in 0..info.width as usize {
                    assert_eq!(b[row + x * 4 + 3], o[row + x * 4 + 3], "x byte changed");
                }
            }
        }
    }
});
