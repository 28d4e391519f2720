//! Hashes and digests as hex text.

/// A 64-bit hash from hex text as imagehash prints it: 1 to 16 hex digits, either case,
/// surrounding whitespace ignored.
pub fn parse_u64(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() || t.len() > 16 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(t, 16).ok()
}

/// Bytes from an even number of hex digits (a SHA-256 as `sha256sum` prints it).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if t.is_empty() || !t.len().is_multiple_of(2) || !t.is_ascii() {
        return None;
    }
    (0..t.len()).step_by(2).map(|i| u8::from_str_radix(&t[i..i + 2], 16).ok()).collect()
}

/// Lower-case hex of bytes.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_digests_round_trip_and_non_hex_is_refused() {
        assert_eq!(parse_u64("c3d4e5f60718293a"), Some(0xc3d4_e5f6_0718_293a));
        assert_eq!(parse_u64(" FF "), Some(255));
        assert_eq!(parse_u64("0x12"), None);
        assert_eq!(parse_u64("123456789abcdef01"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(decode("00fF"), Some(vec![0, 255]));
        assert_eq!(decode("0g"), None);
        assert_eq!(decode("abc"), None);
        assert_eq!(decode("é1"), None);
        assert_eq!(encode(&[0, 171, 255]), "00abff");
    }
}
