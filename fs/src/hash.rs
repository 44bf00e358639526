//! The hash of what a render wrote, as the manifest records it: stable (the same bytes hash the
//! same on every platform and in every release, unlike std's hasher, so a manifest written by
//! one release is read by the next) and fast enough that hashing a ten-thousand-machine render
//! (14 MB) costs a few milliseconds. Four lanes of little-endian 64-bit words are mixed as
//! xxHash64 mixes them (multiply, rotate, multiply), so the lanes' multiplications run side by
//! side; the tail and the length are folded in at the end. Not a defence against someone who
//! can write the output directory, who could change the manifest too.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

/// The bytes of one stripe: four words, one per lane.
const STRIPE: usize = 32;

/// A content hash fed in pieces: the same result however the bytes are split.
#[derive(Clone, Debug)]
pub struct ContentHasher {
    lanes: [u64; 4],
    /// Bytes not yet making a whole stripe.
    tail: [u8; STRIPE],
    tail_len: usize,
    len: u64,
}

impl Default for ContentHasher {
    fn default() -> Self {
        ContentHasher::new()
    }
}

fn word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

fn round(acc: u64, word: u64) -> u64 {
    acc.wrapping_add(word.wrapping_mul(P2)).rotate_left(31).wrapping_mul(P1)
}

impl ContentHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> ContentHasher {
        ContentHasher { lanes: [P1.wrapping_add(P2), P2, 0, P1.wrapping_neg()], tail: [0; STRIPE], tail_len: 0, len: 0 }
    }

    fn stripe(lanes: &mut [u64; 4], stripe: &[u8]) {
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = round(*lane, word(&stripe[i * 8..]));
        }
    }

    /// Feeds `bytes`. O(bytes).
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len = self.len.wrapping_add(bytes.len() as u64);
        if self.tail_len > 0 {
            let take = (STRIPE - self.tail_len).min(bytes.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&bytes[..take]);
            self.tail_len += take;
            bytes = &bytes[take..];
            if self.tail_len < STRIPE {
                return;
            }
            let tail = self.tail;
            ContentHasher::stripe(&mut self.lanes, &tail);
            self.tail_len = 0;
        }
        let mut stripes = bytes.chunks_exact(STRIPE);
        for stripe in &mut stripes {
            ContentHasher::stripe(&mut self.lanes, stripe);
        }
        let rest = stripes.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    /// The hash of every byte fed so far.
    pub fn finish(&self) -> u64 {
        let [a, b, c, d] = self.lanes;
        let mut hash = a
            .rotate_left(1)
            .wrapping_add(b.rotate_left(7))
            .wrapping_add(c.rotate_left(12))
            .wrapping_add(d.rotate_left(18));
        for lane in self.lanes {
            hash = (hash ^ round(0, lane)).wrapping_mul(P1).wrapping_add(P4);
        }
        hash = hash.wrapping_add(self.len);
        let mut tail = &self.tail[..self.tail_len];
        while tail.len() >= 8 {
            hash = (hash ^ round(0, word(tail))).rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
            tail = &tail[8..];
        }
        for byte in tail {
            hash = (hash ^ u64::from(*byte).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
        }
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(P2);
        hash ^= hash >> 29;
        hash = hash.wrapping_mul(P3);
        hash ^ (hash >> 32)
    }
}

/// The content hash of `bytes` ([`ContentHasher`] in one piece).
pub fn content_hash(bytes: &[u8]) -> u64 {
    let mut hasher = ContentHasher::new();
    hasher.update(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest written by this release is read by the next: the hash of given bytes never
    /// changes. (Pinned once from this implementation; a change here invalidates every manifest
    /// written before, and needs a new manifest version.)
    #[test]
    fn the_hash_of_given_bytes_never_changes() {
        let got = [content_hash(b""), content_hash(b"clusterdef"), content_hash(&[7u8; 1000])];
        assert_eq!(got, [0x3fdf_455f_9dcf_1e62, 0x78c1_37d1_3a9e_fe60, 0x9811_4396_35e8_b9e9]);
    }

    /// However the bytes are split, the hash is the same: the writer hashes a render whole,
    /// the reader hashes a file in blocks of whatever size a read returns.
    #[test]
    fn any_split_gives_the_hash_of_the_whole() {
        let bytes: Vec<u8> = (0..300u32).map(|i| (i * 37 % 251) as u8).collect();
        for len in [0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 300] {
            let whole = content_hash(&bytes[..len]);
            for step in [1, 3, 8, 31, 32, 33, 100] {
                let mut hasher = ContentHasher::new();
                bytes[..len].chunks(step).for_each(|piece| hasher.update(piece));
                assert_eq!(hasher.finish(), whole, "{len} bytes in pieces of {step}");
            }
        }
    }

    /// One changed bit, one more byte, or bytes moved between lanes give another hash.
    #[test]
    fn a_change_anywhere_changes_the_hash() {
        let bytes = vec![0u8; 100];
        let base = content_hash(&bytes);
        let mut seen = std::collections::HashSet::from([base]);
        for at in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[at] ^= 1;
            assert!(seen.insert(content_hash(&changed)), "bit at byte {at}");
        }
        for len in 0..bytes.len() {
            assert!(seen.insert(content_hash(&bytes[..len])), "{len} bytes");
        }
        let mut swapped = vec![0u8; 64];
        swapped[0] = 1;
        let mut other = vec![0u8; 64];
        other[8] = 1;
        assert_ne!(content_hash(&swapped), content_hash(&other), "lanes are not interchangeable");
    }
}
