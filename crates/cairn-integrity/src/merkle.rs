//! Merkle trees over events in the manner of RFC 6962 / RFC 9162 (section 2.1): leaf hash `SHA-256(0x00 || event)`,
//! node hash `SHA-256(0x01 || left || right)`, the empty tree's root `SHA-256("")`. A [`Frontier`] appends leaves
//! keeping only the roots of its perfect subtrees (at most 64 hashes), which is what delivery stores; proofs are
//! computed from the leaves (read back from the log files) and verified against signed tree heads.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The hash of a leaf holding `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// An append-only tree kept as the roots of its perfect subtrees, largest (leftmost) first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frontier {
    pub size: u64,
    /// Roots of the perfect subtrees, one per set bit of `size`, from the highest bit down (hex when serialized).
    #[serde(with = "hex_hashes")]
    pub peaks: Vec<Hash>,
}

impl Frontier {
    /// The frontier of a tree head: `None` unless `peaks` are hashes, one per set bit of `size`.
    pub fn from_hex(size: u64, peaks: &[String]) -> Option<Frontier> {
        let peaks: Vec<Hash> = peaks.iter().map(|p| to_hash(p)).collect::<Option<_>>()?;
        (peaks.len() == size.count_ones() as usize).then_some(Frontier { size, peaks })
    }

    /// The peaks as hex, as tree heads carry them.
    pub fn hex_peaks(&self) -> Vec<String> {
        self.peaks.iter().map(|h| crate::digest::hex(h)).collect()
    }

    /// Appends a leaf by its hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        // Each trailing one bit of the old size is a peak of the new node's height: merge it.
        let mut size = self.size;
        while size & 1 == 1 {
            let Some(left) = self.peaks.pop() else { break };
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The tree's root hash (RFC 6962's MTH).
    pub fn root(&self) -> Hash {
        let mut it = self.peaks.iter().rev();
        let Some(last) = it.next() else { return empty_root() };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// Hashes as a list of hex strings.
mod hex_hashes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hashes: &[super::Hash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(hashes.iter().map(|h| crate::digest::hex(h)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<super::Hash>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings
            .iter()
            .map(|h| super::to_hash(h).ok_or_else(|| serde::de::Error::custom("a peak is not 32 bytes of hex")))
            .collect()
    }
}

/// A hash from hex, if it is 32 bytes of hex.
pub fn to_hash(hex: &str) -> Option<Hash> {
    crate::digest::unhex(hex)?.try_into().ok()
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The root of the tree over `leaves` (leaf hashes).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` in the tree over `leaves` (RFC 6962 PATH), bottom up.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 || index >= n {
        return Vec::new();
    }
    let k = split(n);
    if index < k {
        let mut p = inclusion_proof(&leaves[..k], index);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = inclusion_proof(&leaves[k..], index - k);
        p.push(root(&leaves[..k]));
        p
    }
}

/// The proof that the tree of the first `m` leaves is a prefix of the tree over `leaves` (RFC 6962 PROOF).
pub fn consistency_proof(leaves: &[Hash], m: usize) -> Vec<Hash> {
    if m == 0 || m >= leaves.len() {
        return Vec::new();
    }
    subproof(m, leaves, true)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete { Vec::new() } else { vec![root(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], complete);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(root(&leaves[..k]));
        p
    }
}

/// Whether `proof` shows leaf `leaf` at `index` in a tree of `size` leaves with root `root` (RFC 9162 2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// Whether `proof` shows the tree of `m` leaves with root `old` is a prefix of the tree of `n` leaves with root
/// `new` (RFC 9162 2.1.4.2).
pub fn verify_consistency(m: u64, n: u64, old: &Hash, new: &Hash, proof: &[Hash]) -> bool {
    if m > n {
        return false;
    }
    if m == n {
        return proof.is_empty() && old == new;
    }
    if m == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if m.is_power_of_two() {
        path.insert(0, *old);
    }
    let Some((first, rest)) = path.split_first() else { return false };
    let (mut f_n, mut s_n) = (m - 1, n - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && fr == *old && sr == *new
}

/// A tree of `m + leaves.len()` leaves known by the peaks of its first `m` leaves (a previous tree head) and the
/// leaves after them: enough for the root, the inclusion proof of any leaf after `m`, and the consistency proof from
/// `m`, without the earlier leaves.
#[derive(Debug)]
pub struct Extension<'a> {
    m: u64,
    /// (first leaf, leaves, root) of each peak, leftmost first.
    peaks: Vec<(u64, u64, Hash)>,
    leaves: &'a [Hash],
}

impl<'a> Extension<'a> {
    /// `None` when `peaks` are not one per set bit of `m`.
    pub fn new(m: u64, peaks: &[Hash], leaves: &'a [Hash]) -> Option<Extension<'a>> {
        if peaks.len() != m.count_ones() as usize {
            return None;
        }
        let mut ranges = Vec::with_capacity(peaks.len());
        let mut start = 0u64;
        let mut hashes = peaks.iter();
        for bit in (0..64).rev() {
            if m & (1u64 << bit) != 0 {
                ranges.push((start, 1u64 << bit, *hashes.next()?));
                start += 1u64 << bit;
            }
        }
        Some(Extension { m, peaks: ranges, leaves })
    }

    pub fn size(&self) -> u64 {
        self.m + self.leaves.len() as u64
    }

    /// The hash of leaves `lo..hi`, if what is known determines it.
    fn node(&self, lo: u64, hi: u64) -> Option<Hash> {
        if lo >= self.m && hi - lo == 1 {
            return self.leaves.get((lo - self.m) as usize).copied();
        }
        if let Some((_, _, h)) = self.peaks.iter().find(|(s, n, _)| *s == lo && s + n == hi) {
            return Some(*h);
        }
        if hi - lo <= 1 {
            return None;
        }
        let k = split((hi - lo) as usize) as u64;
        Some(node_hash(&self.node(lo, lo + k)?, &self.node(lo + k, hi)?))
    }

    pub fn root(&self) -> Option<Hash> {
        match self.size() {
            0 => Some(empty_root()),
            n => self.node(0, n),
        }
    }

    /// The audit path of leaf `index` (at or after `m`).
    pub fn inclusion(&self, index: u64) -> Option<Vec<Hash>> {
        if index < self.m || index >= self.size() {
            return None;
        }
        self.path(index, 0, self.size())
    }

    fn path(&self, index: u64, lo: u64, hi: u64) -> Option<Vec<Hash>> {
        if hi - lo == 1 {
            return Some(Vec::new());
        }
        let k = split((hi - lo) as usize) as u64;
        let mut p;
        if index < lo + k {
            p = self.path(index, lo, lo + k)?;
            p.push(self.node(lo + k, hi)?);
        } else {
            p = self.path(index, lo + k, hi)?;
            p.push(self.node(lo, lo + k)?);
        }
        Some(p)
    }

    /// The proof that the tree of the first `m` leaves is a prefix of this one.
    pub fn consistency(&self) -> Option<Vec<Hash>> {
        if self.m == 0 || self.m >= self.size() {
            return Some(Vec::new());
        }
        self.subproof(self.m, 0, self.size(), true)
    }

    fn subproof(&self, m: u64, lo: u64, hi: u64, complete: bool) -> Option<Vec<Hash>> {
        let n = hi - lo;
        if m == n {
            return Some(if complete { Vec::new() } else { vec![self.node(lo, hi)?] });
        }
        let k = split(n as usize) as u64;
        let mut p;
        if m <= k {
            p = self.subproof(m, lo, lo + k, complete)?;
            p.push(self.node(lo + k, hi)?);
        } else {
            p = self.subproof(m - k, lo + k, hi, false)?;
            p.push(self.node(lo, lo + k)?);
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(format!("event {i}").as_bytes())).collect()
    }

    #[test]
    fn frontier_root_matches_the_recursive_definition() {
        let all = leaves(70);
        let mut f = Frontier::default();
        assert_eq!(f.root(), empty_root());
        for (i, l) in all.iter().enumerate() {
            f.push(*l);
            assert_eq!(f.root(), root(&all[..=i]), "size {}", i + 1);
            assert_eq!(f.peaks.len() as u32, f.size.count_ones());
        }
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Frontier>(&json).unwrap(), f);
        assert_eq!(Frontier::from_hex(f.size, &f.hex_peaks()), Some(f.clone()));
        assert_eq!(Frontier::from_hex(f.size + 1, &f.hex_peaks()), None);
    }

    #[test]
    fn rfc6962_known_answer() {
        // The empty tree and a one-leaf tree over the empty string (RFC 6962 test vectors).
        assert_eq!(
            crate::digest::hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            crate::digest::hex(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn an_extension_of_a_tree_head_gives_the_same_root_and_proofs_as_all_leaves() {
        let all = leaves(37);
        for n in 0..=all.len() {
            for m in 0..=n {
                let mut f = Frontier::default();
                all[..m].iter().for_each(|l| f.push(*l));
                let e = Extension::new(m as u64, &f.peaks, &all[m..n]).unwrap();
                assert_eq!(e.root(), Some(root(&all[..n])), "root {m} + {}", n - m);
                for i in m..n {
                    assert_eq!(e.inclusion(i as u64), Some(inclusion_proof(&all[..n], i)), "leaf {i} of {n} after {m}");
                }
                assert_eq!(e.consistency(), Some(consistency_proof(&all[..n], m)), "{m} -> {n}");
            }
        }
        assert!(Extension::new(3, &[empty_root()], &[]).is_none(), "one peak per set bit");
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_and_tampering_fails() {
        let all = leaves(23);
        for n in 1..=all.len() {
            let r = root(&all[..n]);
            for i in 0..n {
                let p = inclusion_proof(&all[..n], i);
                assert!(verify_inclusion(&all[i], i as u64, n as u64, &p, &r), "leaf {i} of {n}");
                assert!(!verify_inclusion(&all[(i + 1) % 23], i as u64, n as u64, &p, &r), "wrong leaf {i} of {n}");
                if n > 1 {
                    assert!(
                        !verify_inclusion(&all[i], ((i + 1) % n) as u64, n as u64, &p, &r),
                        "wrong index {i} of {n}"
                    );
                }
            }
            for m in 1..=n {
                let p = consistency_proof(&all[..n], m);
                let old = root(&all[..m]);
                assert!(verify_consistency(m as u64, n as u64, &old, &r, &p), "{m} -> {n}");
                if m < n {
                    let forged = root(&leaves(m + 1)[1..]);
                    assert!(!verify_consistency(m as u64, n as u64, &forged, &r, &p), "forged {m} -> {n}");
                }
            }
        }
    }
}
