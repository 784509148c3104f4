//! The crate's one PNG decoder (overlay images from scene files, the element's
//! `overlay-location`, tools) and encoder (reference images). The `png` crate is used
//! because it is pure Rust, well kept and lets limits be checked from the header
//! before any pixel memory is allocated.

use std::io::Read;
use std::path::Path;

use super::{Image, MAX_IMAGE_DIMENSION};
use crate::error::{Error, Result};

/// Largest PNG file read from disk. An 8192 x 8192 RGBA image at the worst
/// compression PNG allows stays well below this.
pub const MAX_PNG_FILE_BYTES: u64 = 512 << 20;

/// Reads and decodes a PNG file (see [`decode_png`]). The file size is checked
/// before it is read, the image size before it is decoded.
pub fn load_png(path: &Path) -> Result<Image> {
    let io = |source| Error::Io {
        context: format!("reading image {}", path.display()),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_PNG_FILE_BYTES {
        return Err(Error::InvalidImage(format!(
            "{}: {len} bytes, more than the {MAX_PNG_FILE_BYTES} a PNG overlay may have",
            path.display()
        )));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_PNG_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    decode_png(&bytes).map_err(|e| match e {
        Error::InvalidImage(m) => Error::InvalidImage(format!("{}: {m}", path.display())),
        e => e,
    })
}

/// Decodes a PNG of any colour type and bit depth into straight-alpha RGBA8.
pub fn decode_png(bytes: &[u8]) -> Result<Image> {
    let bad = |m: String| Error::InvalidImage(m);
    let mut dec = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits {
            // The largest image we accept, plus decoder working memory.
            bytes: (MAX_IMAGE_DIMENSION as usize).pow(2) * 4 + (1 << 24),
        },
    );
    dec.set_transformations(png::Transformations::normalize_to_color8());
    // read_info parses the header only; the size is checked before the pixel buffer
    // below is allocated (a 69-byte file may claim 16384 x 2^28 pixels).
    let mut reader = dec.read_info().map_err(|e| bad(format!("PNG: {e}")))?;
    let (w, h) = (reader.info().width, reader.info().height);
    if w == 0 || h == 0 || w > MAX_IMAGE_DIMENSION || h > MAX_IMAGE_DIMENSION {
        return Err(bad(format!(
            "PNG size {w}x{h} outside 1..={MAX_IMAGE_DIMENSION}"
        )));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad("PNG too large".into()))?;
    let mut buf = vec![0u8; size];
    let out = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(format!("PNG: {e}")))?;
    let buf = &buf[..out.buffer_size()];
    let px = w as usize * h as usize;
    let mut rgba = Vec::with_capacity(px * 4);
    let line = out.line_size;
    let rows = buf.chunks(line).take(h as usize);
    use png::ColorType as C;
    for row in rows {
        match out.color_type {
            C::Rgba => rgba.extend_from_slice(&row[..w as usize * 4]),
            C::Rgb => row[..w as usize * 3]
                .chunks_exact(3)
                .for_each(|p| rgba.extend_from_slice(&[p[0], p[1], p[2], 255])),
            C::Grayscale => row[..w as usize]
                .iter()
                .for_each(|&g| rgba.extend_from_slice(&[g, g, g, 255])),
            C::GrayscaleAlpha => row[..w as usize * 2]
                .chunks_exact(2)
                .for_each(|p| rgba.extend_from_slice(&[p[0], p[0], p[0], p[1]])),
            C::Indexed => return Err(bad("PNG: palette not expanded".into())),
        }
    }
    Image::new(w, h, rgba)
}

/// Encodes straight-alpha RGBA8 pixels (`4 * width * height` bytes) as a PNG.
pub fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let err = |e: png::EncodingError| Error::InvalidImage(format!("PNG encoding: {e}"));
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(err)?;
        w.write_image_data(rgba).map_err(err)?;
        w.finish().map_err(err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG header (signature + IHDR with a valid CRC) claiming `w` x `h` RGBA8 pixels,
    /// followed by an empty IDAT and IEND: tiny file, huge claim.
    pub(crate) fn header_only_png(w: u32, h: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let crc = crc32(&out[start..]);
            out.extend_from_slice(&crc.to_be_bytes());
        }
        fn crc32(bytes: &[u8]) -> u32 {
            let mut c = 0xffff_ffffu32;
            for &b in bytes {
                c ^= u32::from(b);
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
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn huge_claims_are_refused_from_the_header() {
        let png = header_only_png(16384, 1 << 28);
        assert!(png.len() < 100);
        let e = decode_png(&png).unwrap_err().to_string();
        assert!(e.contains("16384x268435456"), "{e}");
        let e = decode_png(&header_only_png(10000, 10000))
            .unwrap_err()
            .to_string();
        assert!(e.contains("10000x10000") && e.contains("8192"), "{e}");
    }

    #[test]
    fn files_go_through_the_same_decoder() {
        let dir = std::env::temp_dir().join(format!("cudadraw-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let huge = dir.join("huge.png");
        std::fs::write(&huge, header_only_png(16384, 1 << 28)).unwrap();
        let e = load_png(&huge).unwrap_err().to_string();
        assert!(e.contains("huge.png") && e.contains("outside"), "{e}");
        let ok = dir.join("ok.png");
        let px: Vec<u8> = (0..4 * 4096 * 2).map(|i| i as u8).collect();
        std::fs::write(&ok, encode_png(4096, 2, &px).unwrap()).unwrap();
        assert_eq!(load_png(&ok).unwrap().data(), &px[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
