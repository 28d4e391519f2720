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
//! pixel limit before any pixel is decoded, and PNG's ancillary chunks are capped.

use std::io::Cursor;

/// A decoded grey image, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Grey {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
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
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::Unrecognised => write!(f, "not a PNG or JPEG image"),
            ImageError::Malformed { format, reason } => write!(f, "malformed {format} image: {reason}"),
            ImageError::TooLarge { width, height, limit } => {
                write!(f, "image of {width} × {height} pixels exceeds the limit of {limit} pixels")
            }
        }
    }
}

/// Pillow's grey from 8-bit RGB (ITU-R 601-2 luma in 16-bit fixed point, rounded).
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

/// Decodes PNG or JPEG bytes to grey, refusing images of more than `max_pixels` pixels.
pub fn decode_grey(bytes: &[u8], max_pixels: u64) -> Result<Grey, ImageError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes, max_pixels)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes, max_pixels)
    } else {
        Err(ImageError::Unrecognised)
    }
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

fn decode_png(bytes: &[u8], max_pixels: u64) -> Result<Grey, ImageError> {
    use png::{BitDepth, ColorType, Transformations};
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // What the decoder itself may allocate (ancillary chunks, row buffers), whatever the
    // file claims; the pixels are bounded by `max_pixels` below.
    decoder.set_limits(png::Limits { bytes: 64 << 20 });
    decoder.set_ignore_text_chunk(true);
    let header = decoder.read_header_info().map_err(png_error)?;
    let (width, height) = (u64::from(header.width), u64::from(header.height));
    check_size(width, height, max_pixels)?;
    let (source_type, source_depth, interlaced) = (header.color_type, header.bit_depth, header.interlaced);
    // Palettes to RGB, grey below 8 bits scaled to 8 bits; 16-bit samples stay 16-bit.
    decoder.set_transformations(Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (out_type, out_depth) = reader.output_color_type();
    let wide = out_depth == BitDepth::Sixteen;
    let channels = out_type.samples();
    let step = channels * if wide { 2 } else { 1 };
    let grey_of = |px: &[u8]| -> u8 {
        match (out_type, wide) {
            (ColorType::Grayscale | ColorType::GrayscaleAlpha, false) => px[0],
            // Pillow reads 16-bit grey as I;16 and clamps it; 16-bit grey+alpha as RGBA (high byte).
            (ColorType::Grayscale | ColorType::GrayscaleAlpha, true)
                if source_type == ColorType::Grayscale && source_depth == BitDepth::Sixteen =>
            {
                u16::from_be_bytes([px[0], px[1]]).min(255) as u8
            }
            (ColorType::Grayscale | ColorType::GrayscaleAlpha, true) => px[0],
            (_, false) => luma(px[0], px[1], px[2]),
            (_, true) => luma(px[0], px[2], px[4]),
        }
    };
    let (w, h) = (width as usize, height as usize);
    let mut pixels = Vec::with_capacity(w * h);
    if interlaced {
        let size = reader.output_buffer_size().ok_or_else(|| png_error("image too large"))?;
        let mut frame = vec![0u8; size];
        let info = reader.next_frame(&mut frame).map_err(png_error)?;
        for row in frame.chunks_exact(info.line_size).take(h) {
            pixels.extend(row.chunks_exact(step).take(w).map(grey_of));
        }
    } else {
        while let Some(row) = reader.next_row().map_err(png_error)? {
            pixels.extend(row.data().chunks_exact(step).take(w).map(grey_of));
        }
    }
    if pixels.len() != w * h {
        return Err(png_error(format!("{} of {} pixels decoded", pixels.len(), w * h)));
    }
    Ok(Grey { width: w, height: h, pixels })
}

fn jpeg_error(e: impl std::fmt::Debug) -> ImageError {
    ImageError::Malformed { format: "JPEG", reason: format!("{e:?}").trim().to_string() }
}

fn decode_jpeg(bytes: &[u8], max_pixels: u64) -> Result<Grey, ImageError> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default().set_max_width(usize::from(u16::MAX)).set_max_height(usize::from(u16::MAX));
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(jpeg_error)?;
    let (w, h) = decoder.dimensions().ok_or_else(|| jpeg_error("no frame header"))?;
    check_size(w as u64, h as u64, max_pixels)?;
    let grey_input = decoder.input_colorspace() == Some(ColorSpace::Luma);
    let out_space = if grey_input { ColorSpace::Luma } else { ColorSpace::RGB };
    decoder.set_options(options.jpeg_set_out_colorspace(out_space));
    let data = decoder.decode().map_err(jpeg_error)?;
    let pixels: Vec<u8> = if grey_input { data } else { data.chunks_exact(3).map(|p| luma(p[0], p[1], p[2])).collect() };
    if pixels.len() != w * h {
        return Err(jpeg_error(format!("{} of {} pixels decoded", pixels.len(), w * h)));
    }
    Ok(Grey { width: w, height: h, pixels })
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
        assert_eq!(decode_grey(b"hello", 1 << 20), Err(ImageError::Unrecognised));
        assert_eq!(decode_grey(b"", 1 << 20), Err(ImageError::Unrecognised));
        assert!(matches!(decode_grey(b"\x89PNG\r\n\x1a\n\0\0", 1 << 20), Err(ImageError::Malformed { .. })));
        assert!(matches!(decode_grey(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0], 1 << 20), Err(ImageError::Malformed { .. })));
    }
}
