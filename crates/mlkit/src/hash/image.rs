//! Image bytes to the 8-bit grey picture Pillow's `Image.open(f).convert("L")` gives.
//!
//! PNG is lossless, so every correct decoder yields the same samples; what must match Pillow
//! is how each PNG colour type becomes grey:
//!
//! | PNG colour type, depth | Pillow mode | grey value |
//! |---|---|---|
//! | grey 1, 2, 4, 8 | `1` / `L` | the sample scaled to 0..=255 |
//! | grey 16 | `I;16` | the 16-bit sample clamped to 255 (Pillow's `I;16 → L`) |
//! | grey + alpha 8 | `LA` | the grey sample |
//! | grey + alpha 16 | `RGBA` | the high byte |
//! | RGB, RGBA 8 / 16 | `RGB` / `RGBA` | `(19595 R + 38470 G + 7471 B + 2¹⁵) >> 16` on the high bytes |
//! | palette | `P` | the same formula on the palette colour |
//!
//! Alpha and transparency are ignored, as `convert("L")` ignores them. JPEG is lossy and
//! decoders differ in their inverse DCT and chroma upsampling; ours is `zune-jpeg`, which
//! can differ from Pillow's libjpeg-turbo by a unit here and there (`docs/` says how much
//! that moves a hash).
//!
//! Hostile input is refused before it costs memory: the declared size is checked against a
//! pixel limit before any pixel is decoded, and PNG's ancillary chunks are capped. Then the
//! memory decoding the declared size needs is counted against the caller's byte budget
//! ([`Limits::max_bytes`]), a declared size its compressed bytes cannot possibly hold is
//! refused (a 69-byte PNG claiming 9459 × 9459 16-bit RGBA pixels), and every buffer we
//! allocate is allocated fallibly ([`ImageError::OutOfMemory`], never an abort). The
//! decoders' own buffers (PNG rows, JPEG coefficients) are counted too and tried as one
//! fallible allocation, given back at once, before the decoder makes them.

//!
//! [`decode_rgb`] is the same decoding to Pillow's `Image.open(f).convert("RGB")` instead
//! (three bytes a pixel, for PDQ), with the same limits and checks: grey samples are
//! repeated into R, G and B (16-bit grey clamped to 255 first, as Pillow's `I;16 → RGB`
//! does), 16-bit colour samples give their high byte, palettes their colour, and alpha is
//! dropped, as `convert("RGB")` drops it.

use std::io::Cursor;

/// A decoded grey image, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Grey {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// A decoded 8-bit RGB image, row-major, three bytes a pixel (R, G, B).
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// What decoding one image may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest width × height.
    pub max_pixels: u64,
    /// Most bytes of working memory (decoded samples, the grey picture, decoder buffers).
    pub max_bytes: usize,
}

impl Limits {
    /// A pixel limit and no memory budget.
    pub fn pixels(max_pixels: u64) -> Self {
        Self { max_pixels, max_bytes: usize::MAX }
    }
}

/// Why an image could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageError {
    /// Neither a PNG nor a JPEG signature.
    Unrecognised,
    /// A PNG or JPEG that is damaged, truncated or uses a feature we do not decode.
    Malformed { format: &'static str, reason: String },
    /// The declared size exceeds the pixel limit.
    TooLarge { width: u64, height: u64, limit: u64 },
    /// Decoding the declared size needs `needed` bytes, over the budget of `limit`.
    OverBudget { width: u64, height: u64, needed: usize, limit: usize },
    /// `bytes` of working memory could not be allocated.
    OutOfMemory { bytes: usize },
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::Unrecognised => write!(f, "not a PNG or JPEG image"),
            ImageError::Malformed { format, reason } => write!(f, "malformed {format} image: {reason}"),
            ImageError::TooLarge { width, height, limit } => {
                write!(f, "image of {width} × {height} pixels exceeds the limit of {limit} pixels")
            }
            ImageError::OverBudget { width, height, needed, limit } => write!(
                f,
                "decoding an image of {width} × {height} pixels needs {} MB, over the {} MB budget",
                needed.div_ceil(1 << 20),
                limit >> 20
            ),
            ImageError::OutOfMemory { bytes } => {
                write!(f, "the {} MB needed to decode the image could not be allocated", bytes.div_ceil(1 << 20))
            }
        }
    }
}

/// Pillow's grey from 8-bit RGB (ITU-R 601-2 luma in 16-bit fixed point, rounded).
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

/// Decodes PNG or JPEG bytes to grey within `limits`.
pub fn decode_grey(bytes: &[u8], limits: &Limits) -> Result<Grey, ImageError> {
    let (width, height, pixels) = decode(bytes, limits, 1)?;
    Ok(Grey { width, height, pixels })
}

/// A zeroed buffer of `n` bytes, or [`ImageError::OutOfMemory`].
fn zeroed(n: usize) -> Result<Vec<u8>, ImageError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ImageError::OutOfMemory { bytes: n })?;
    v.resize(n, 0);
    Ok(v)
}

/// An empty buffer with room for `n` bytes, or [`ImageError::OutOfMemory`].
fn with_room(n: usize) -> Result<Vec<u8>, ImageError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ImageError::OutOfMemory { bytes: n })?;
    Ok(v)
}

/// Checks that `n` bytes, which a decoder is about to allocate itself (where a failure would
/// abort), can be allocated now: one fallible allocation of them, given back at once.
fn probe(n: usize) -> Result<(), ImageError> {
    with_room(n).map(drop)
}

/// Counts `needed` bytes against the budget.
fn check_budget(width: u64, height: u64, needed: usize, limits: &Limits) -> Result<(), ImageError> {
    if needed > limits.max_bytes {
        return Err(ImageError::OverBudget { width, height, needed, limit: limits.max_bytes });
    }
    Ok(())
}

fn check_size(width: u64, height: u64, max_pixels: u64) -> Result<(), ImageError> {
    if width.saturating_mul(height) > max_pixels {
        return Err(ImageError::TooLarge { width, height, limit: max_pixels });
    }
    Ok(())
}

fn png_error(e: impl std::fmt::Display) -> ImageError {
    ImageError::Malformed { format: "PNG", reason: e.to_string().trim().to_string() }
}

/// Deflate's largest expansion: a 258-byte match coded in 2 bits.
const DEFLATE_MAX_RATIO: u64 = 1032;

/// A decoded picture: width, height and `channels` bytes a pixel, row-major.
type Pixels = (usize, usize, Vec<u8>);

/// Grey (1 channel: Pillow's luma of the pixel's RGB, which is the sample itself for a grey
/// picture) or RGB (3) from a pixel's RGB.
fn put(channels: usize, [r, g, b]: [u8; 3], out: &mut Vec<u8>) {
    if channels == 1 {
        out.push(luma(r, g, b));
    } else {
        out.extend_from_slice(&[r, g, b]);
    }
}

fn decode_png(bytes: &[u8], limits: &Limits, channels: usize) -> Result<Pixels, ImageError> {
    use png::{BitDepth, ColorType, Transformations};
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // What the decoder itself may allocate (ancillary chunks, row buffers), whatever the
    // file claims; the pixels are bounded by `max_pixels` below.
    decoder.set_limits(png::Limits { bytes: 64 << 20 });
    decoder.set_ignore_text_chunk(true);
    let header = decoder.read_header_info().map_err(png_error)?;
    let (width, height) = (u64::from(header.width), u64::from(header.height));
    check_size(width, height, limits.max_pixels)?;
    let (source_type, source_depth, interlaced) = (header.color_type, header.bit_depth, header.interlaced);
    // Memory, at worst (after EXPAND a tRNS chunk may add an alpha channel): the decoder's
    // rows (current, previous, output), the whole decoded frame when interlaced, the picture.
    let out_bits = 4 * if source_depth == BitDepth::Sixteen { 16 } else { 8 };
    let pixels = width.saturating_mul(height);
    let row = width.saturating_mul(out_bits).div_ceil(8) + 1;
    let frame = if interlaced { pixels.saturating_mul(out_bits).div_ceil(8) } else { 0 };
    let picture = pixels.saturating_mul(channels as u64);
    let needed = usize::try_from(row.saturating_mul(3).saturating_add(frame).saturating_add(picture)).unwrap_or(usize::MAX);
    check_budget(width, height, needed, limits)?;
    // The filtered rows are at least this many bytes, and deflate expands at most 1032:1.
    let source_bits = source_type.samples() as u64 * source_depth as u64;
    let raw = width.saturating_mul(source_bits).div_ceil(8).saturating_mul(height);
    if raw > DEFLATE_MAX_RATIO.saturating_mul(bytes.len() as u64) {
        return Err(png_error(format!(
            "its {width} × {height} pixels ({raw} bytes of samples) cannot come from {} bytes: the file is truncated or forged",
            bytes.len()
        )));
    }
    probe(usize::try_from(row.saturating_mul(3)).unwrap_or(usize::MAX))?;
    // Palettes to RGB, grey below 8 bits scaled to 8 bits; 16-bit samples stay 16-bit.
    decoder.set_transformations(Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (out_type, out_depth) = reader.output_color_type();
    let wide = out_depth == BitDepth::Sixteen;
    let step = out_type.samples() * if wide { 2 } else { 1 };
    let grey16 = source_type == ColorType::Grayscale && source_depth == BitDepth::Sixteen;
    // A pixel's RGB as Pillow's convert("RGB") gives it; alpha is ignored.
    let rgb_of = |px: &[u8]| -> [u8; 3] {
        match (out_type, wide) {
            (ColorType::Grayscale | ColorType::GrayscaleAlpha, false) => [px[0]; 3],
            // Pillow reads 16-bit grey as I;16 and clamps it; 16-bit grey+alpha as RGBA (high byte).
            (ColorType::Grayscale | ColorType::GrayscaleAlpha, true) if grey16 => [u16::from_be_bytes([px[0], px[1]]).min(255) as u8; 3],
            (ColorType::Grayscale | ColorType::GrayscaleAlpha, true) => [px[0]; 3],
            (_, false) => [px[0], px[1], px[2]],
            (_, true) => [px[0], px[2], px[4]],
        }
    };
    let (w, h) = (width as usize, height as usize);
    let mut out = with_room(w * h * channels)?;
    if interlaced {
        let size = reader.output_buffer_size().ok_or_else(|| png_error("image too large"))?;
        let mut frame = zeroed(size)?;
        let info = reader.next_frame(&mut frame).map_err(png_error)?;
        for row in frame.chunks_exact(info.line_size).take(h) {
            row.chunks_exact(step).take(w).for_each(|px| put(channels, rgb_of(px), &mut out));
        }
    } else {
        while let Some(row) = reader.next_row().map_err(png_error)? {
            row.data().chunks_exact(step).take(w).for_each(|px| put(channels, rgb_of(px), &mut out));
        }
    }
    if out.len() != w * h * channels {
        return Err(png_error(format!("{} of {} pixels decoded", out.len() / channels, w * h)));
    }
    Ok((w, h, out))
}

fn jpeg_error(e: impl std::fmt::Debug) -> ImageError {
    ImageError::Malformed { format: "JPEG", reason: format!("{e:?}").trim().to_string() }
}

/// Most pixels one byte of JPEG can stand for: every 8 × 8 block of the full-resolution
/// component costs at least one bit (a DC code), so 512; twice that, for slack.
const JPEG_MAX_PIXELS_PER_BYTE: u64 = 1024;

fn decode_jpeg(bytes: &[u8], limits: &Limits, channels: usize) -> Result<Pixels, ImageError> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default().set_max_width(usize::from(u16::MAX)).set_max_height(usize::from(u16::MAX));
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(jpeg_error)?;
    let (w, h) = decoder.dimensions().ok_or_else(|| jpeg_error("no frame header"))?;
    let (width, height) = (w as u64, h as u64);
    check_size(width, height, limits.max_pixels)?;
    let grey_input = decoder.input_colorspace() == Some(ColorSpace::Luma);
    let components = decoder.input_colorspace().map_or(4, |c| c.num_components()).max(1) as u64;
    // Memory, at worst: the decoded samples (RGB or grey), the picture when it has other
    // channels, and the decoder's coefficients (a progressive JPEG keeps every block's 64 i16
    // of every component; padded to whole 16 × 16 MCUs).
    let decoded = if grey_input { 1 } else { 3 };
    let converted = if decoded == channels { 0 } else { channels as u64 };
    let coefficients = width.div_ceil(16) * 16 * height.div_ceil(16) * 16 * components * 2;
    let needed = usize::try_from(width * height * (decoded as u64 + converted) + coefficients).unwrap_or(usize::MAX);
    check_budget(width, height, needed, limits)?;
    if width * height > JPEG_MAX_PIXELS_PER_BYTE * bytes.len() as u64 {
        return Err(jpeg_error(format!(
            "its {width} × {height} pixels cannot come from {} bytes: the file is truncated or forged",
            bytes.len()
        )));
    }
    let out_space = if grey_input { ColorSpace::Luma } else { ColorSpace::RGB };
    decoder.set_options(options.jpeg_set_out_colorspace(out_space));
    let size = decoder.output_buffer_size().ok_or_else(|| jpeg_error("no frame header"))?;
    let mut data = zeroed(size)?;
    probe(coefficients as usize)?;
    decoder.decode_into(&mut data).map_err(jpeg_error)?;
    let out = if decoded == channels {
        data
    } else {
        let mut out = with_room(w * h * channels)?;
        data.chunks_exact(decoded).for_each(|p| put(channels, if decoded == 1 { [p[0]; 3] } else { [p[0], p[1], p[2]] }, &mut out));
        out
    };
    if out.len() != w * h * channels {
        return Err(jpeg_error(format!("{} of {} pixels decoded", out.len() / channels, w * h)));
    }
    Ok((w, h, out))
}

/// Decodes PNG or JPEG bytes to 8-bit RGB within `limits`, as Pillow's `convert("RGB")`.
pub fn decode_rgb(bytes: &[u8], limits: &Limits) -> Result<Rgb, ImageError> {
    let (width, height, pixels) = decode(bytes, limits, 3)?;
    Ok(Rgb { width, height, pixels })
}

/// PNG or JPEG bytes to `channels` (1 or 3) bytes a pixel.
fn decode(bytes: &[u8], limits: &Limits, channels: usize) -> Result<Pixels, ImageError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes, limits, channels)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes, limits, channels)
    } else {
        Err(ImageError::Unrecognised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_matches_pillows_fixed_point() {
        assert_eq!(luma(10, 200, 30), 124); // Pillow: Image.new("RGB", (1, 1), (10, 200, 30)).convert("L")
        assert_eq!(luma(255, 255, 255), 255);
        assert_eq!(luma(0, 0, 0), 0);
    }

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        let l = Limits::pixels(1 << 20);
        assert_eq!(decode_grey(b"hello", &l), Err(ImageError::Unrecognised));
        assert_eq!(decode_grey(b"", &l), Err(ImageError::Unrecognised));
        assert!(matches!(decode_grey(b"\x89PNG\r\n\x1a\n\0\0", &l), Err(ImageError::Malformed { .. })));
        assert!(matches!(decode_grey(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0], &l), Err(ImageError::Malformed { .. })));
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend(kind);
        out.extend(data);
        let crc = crc32(&out[start..]);
        out.extend(crc.to_be_bytes());
    }

    /// `raw` (filtered rows) in a zlib stream of stored deflate blocks.
    fn zlib_stored(raw: &[u8]) -> Vec<u8> {
        let mut z = vec![0x78, 0x01];
        let blocks: Vec<&[u8]> = if raw.is_empty() { vec![&[][..]] } else { raw.chunks(65_535).collect() };
        for (i, b) in blocks.iter().enumerate() {
            z.push(u8::from(i + 1 == blocks.len()));
            z.extend((b.len() as u16).to_le_bytes());
            z.extend((!(b.len() as u16)).to_le_bytes());
            z.extend(*b);
        }
        let (mut a, mut b) = (1u32, 0u32);
        for &x in raw {
            a = (a + u32::from(x)) % 65_521;
            b = (b + a) % 65_521;
        }
        z.extend(((b << 16) | a).to_be_bytes());
        z
    }

    /// A PNG of the given header whose IDAT holds `idat` as it is.
    fn png(width: u32, height: u32, depth: u8, colour: u8, interlaced: bool, idat: &[u8]) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend(width.to_be_bytes());
        ihdr.extend(height.to_be_bytes());
        ihdr.extend([depth, colour, 0, 0, u8::from(interlaced)]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", idat);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// The filtered rows (filter 0) of an all-zero 16-bit RGBA Adam7 image.
    fn adam7_zero_rows(width: u32, height: u32) -> Vec<u8> {
        // (x offset, y offset, x step, y step) of the seven passes.
        let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
        let mut raw = Vec::new();
        for (x0, y0, dx, dy) in passes {
            let (cols, rows) = (width.saturating_sub(x0).div_ceil(dx), height.saturating_sub(y0).div_ceil(dy));
            if cols == 0 {
                continue;
            }
            for _ in 0..rows {
                raw.push(0);
                raw.extend(std::iter::repeat_n(0u8, cols as usize * 8));
            }
        }
        raw
    }

    /// The 69-byte header of the report: 9459 × 9459, 16-bit RGBA, interlaced (716 MB decoded).
    fn forged() -> Vec<u8> {
        let f = png(9459, 9459, 16, 6, true, &zlib_stored(&[0]));
        assert_eq!(f.len(), 69);
        f
    }

    #[test]
    fn small_pngs_decode_within_their_budget() {
        // 3 × 2 8-bit grey.
        let raw = [0, 10, 20, 30, 0, 40, 50, 60];
        let g = decode_grey(&png(3, 2, 8, 0, false, &zlib_stored(&raw)), &Limits { max_pixels: 6, max_bytes: 64 }).unwrap();
        assert_eq!((g.width, g.height, g.pixels), (3, 2, vec![10, 20, 30, 40, 50, 60]));
        // 64 × 64 16-bit RGBA, interlaced: 3 rows of 513 bytes, the 32 KB frame and the grey.
        let image = png(64, 64, 16, 6, true, &zlib_stored(&adam7_zero_rows(64, 64)));
        let needed = 3 * 513 + 64 * 64 * 8 + 64 * 64;
        let g = decode_grey(&image, &Limits { max_pixels: 4096, max_bytes: needed }).unwrap();
        assert_eq!(g.pixels, vec![0; 4096]);
        assert_eq!(
            decode_grey(&image, &Limits { max_pixels: 4096, max_bytes: needed - 1 }),
            Err(ImageError::OverBudget { width: 64, height: 64, needed, limit: needed - 1 })
        );
    }

    #[test]
    fn a_forged_size_is_refused_before_anything_is_allocated() {
        let f = forged();
        let frame = 9459 * 9459 * 8;
        // Over the budget: refused with what it would need.
        match decode_grey(&f, &Limits { max_pixels: 89_478_485, max_bytes: 64 << 20 }) {
            Err(ImageError::OverBudget { width: 9459, height: 9459, needed, limit }) => {
                assert!(needed > frame && limit == 64 << 20, "{needed}");
            }
            other => panic!("{other:?}"),
        }
        // Within any budget: 69 bytes cannot inflate to 716 MB of samples.
        match decode_grey(&f, &Limits::pixels(89_478_485)) {
            Err(e @ ImageError::Malformed { format: "PNG", .. }) => assert!(e.to_string().contains("cannot come from 69 bytes"), "{e}"),
            other => panic!("{other:?}"),
        }
        // Not interlaced, 8-bit grey: the same.
        assert!(matches!(
            decode_grey(&png(9459, 9459, 8, 0, false, &zlib_stored(&[0; 12])), &Limits::pixels(89_478_485)),
            Err(ImageError::Malformed { .. })
        ));
    }

    #[test]
    fn buffers_that_cannot_be_allocated_are_errors_not_aborts() {
        let huge = isize::MAX as usize;
        assert_eq!(zeroed(huge), Err(ImageError::OutOfMemory { bytes: huge }));
        assert_eq!(with_room(huge), Err(ImageError::OutOfMemory { bytes: huge }));
        assert_eq!(probe(huge), Err(ImageError::OutOfMemory { bytes: huge }));
        assert!(ImageError::OutOfMemory { bytes: 3 << 20 }.to_string().contains("3 MB"));
    }

    #[test]
    fn rgb_decoding_has_the_same_checks() {
        let l = Limits::pixels(1 << 20);
        assert_eq!(decode_rgb(b"hello", &l), Err(ImageError::Unrecognised));
        assert!(matches!(decode_rgb(b"\x89PNG\r\n\x1a\n\0\0", &l), Err(ImageError::Malformed { .. })));
        assert!(matches!(decode_rgb(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0], &l), Err(ImageError::Malformed { .. })));
        let f = forged();
        assert!(matches!(decode_rgb(&f, &Limits { max_pixels: 89_478_485, max_bytes: 64 << 20 }), Err(ImageError::OverBudget { .. })));
        assert!(matches!(decode_rgb(&f, &Limits::pixels(89_478_485)), Err(ImageError::Malformed { format: "PNG", .. })));
        assert!(matches!(decode_rgb(&f, &Limits::pixels(1000)), Err(ImageError::TooLarge { .. })));
        // 3 × 2 8-bit grey: each sample three times; 2 × 1 16-bit grey: clamped to 255.
        let raw = [0, 10, 20, 30, 0, 40, 50, 60];
        let budget = 3 * 13 + 6 * 3;
        let g = decode_rgb(&png(3, 2, 8, 0, false, &zlib_stored(&raw)), &Limits { max_pixels: 6, max_bytes: budget }).unwrap();
        assert_eq!((g.width, g.height), (3, 2));
        assert_eq!(g.pixels, [10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40, 50, 50, 50, 60, 60, 60]);
        assert!(matches!(
            decode_rgb(&png(3, 2, 8, 0, false, &zlib_stored(&raw)), &Limits { max_pixels: 6, max_bytes: budget - 1 }),
            Err(ImageError::OverBudget { .. })
        ));
        let g = decode_rgb(&png(2, 1, 16, 0, false, &zlib_stored(&[0, 0, 100, 1, 0])), &l).unwrap();
        assert_eq!(g.pixels, [100, 100, 100, 255, 255, 255]);
        // 1 × 1 16-bit RGB: the high bytes.
        let g = decode_rgb(&png(1, 1, 16, 2, false, &zlib_stored(&[0, 1, 2, 3, 4, 5, 6])), &l).unwrap();
        assert_eq!(g.pixels, [1, 3, 5]);
    }
}
