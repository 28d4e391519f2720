//! The term interner: every distinct term once, in one text buffer, numbered in order of
//! first appearance, found again through an open-addressing hash table of 32-bit slots.
//!
//! A term costs its bytes plus 12 bytes (end offset, hash, slot at half load or more), far
//! less than a `HashMap<String, u32>` (a 24-byte key, a heap block per term, the table).

/// 64-bit hash of a term: FxHash's multiply-rotate over 8-byte words, then SplitMix64's
/// finaliser so that every output bit depends on every input bit (the low bits pick the
/// slot, the count-min sketch takes several hashes from one).
pub(crate) fn hash_term(s: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = s.len() as u64;
    let mut chunks = s.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    mix(h)
}

/// SplitMix64's finaliser.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Terms numbered `0..len()`.
#[derive(Debug, Default)]
pub(crate) struct Vocabulary {
    /// All terms, one after the other.
    text: String,
    /// Where term `i` ends in `text` (it starts where term `i - 1` ends).
    ends: Vec<u32>,
    /// The low 32 bits of each term's hash.
    hashes: Vec<u32>,
    /// `0` for free, else term number + 1; a power of two long, at most 3/4 full.
    slots: Vec<u32>,
}

impl Vocabulary {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn term(&self, id: u32) -> &str {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.text.capacity() + 4 * (self.ends.capacity() + self.hashes.capacity() + self.slots.capacity())
    }

    /// The number of `term`, adding it if new; `None` when the buffer would pass 4 GiB or
    /// the count 2³² − 1 (far past any memory budget).
    pub(crate) fn intern(&mut self, term: &str, hash: u64) -> Option<u32> {
        if (self.len() + 1) * 4 > self.slots.len() * 3 {
            self.grow()?;
        }
        let h = hash as u32;
        let mask = self.slots.len() - 1;
        let mut at = h as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                let id = u32::try_from(self.len()).ok().filter(|&id| id < u32::MAX)?;
                let end = u32::try_from(self.text.len() + term.len()).ok()?;
                self.text.push_str(term);
                self.ends.push(end);
                self.hashes.push(h);
                self.slots[at] = id + 1;
                return Some(id);
            }
            let id = slot - 1;
            if self.hashes[id as usize] == h && self.term(id) == term {
                return Some(id);
            }
            at = (at + 1) & mask;
        }
    }

    fn grow(&mut self) -> Option<()> {
        let n = (self.slots.len() * 2).max(1024);
        u32::try_from(n).ok()?;
        self.rebuild_slots(n);
        Some(())
    }

    fn rebuild_slots(&mut self, n: usize) {
        self.slots = vec![0; n];
        let mask = n - 1;
        for (id, &h) in self.hashes.iter().enumerate() {
            let mut at = h as usize & mask;
            while self.slots[at] != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = id as u32 + 1;
        }
    }
}
