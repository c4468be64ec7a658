//! Joining strings without `format!`.
//!
//! An incident's title and actor are built from a handful of `&str` pieces per record that
//! raises one. Through `format!` each piece went through the formatting machinery and the
//! string grew by reallocation as it went: 1.8% of a scan's instructions (callgrind, 100 files).
//! Here the length is summed first and the pieces copied once.

/// `parts` joined, in one allocation of exactly their total length.
pub fn concat<const N: usize>(parts: [&str; N]) -> String {
    let mut joined = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        joined.push_str(part);
    }
    joined
}

/// FNV-1a, 64 bits: a stable hash (the same in every process and version), for incident ids
/// and for remembering values by eight bytes.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::concat;

    #[test]
    fn pieces_are_joined_in_order_into_a_string_of_their_exact_length() {
        let joined = concat(["액세스 키 삭제", ": ", "AKIA", " (수행자: ", "olivia", ")"]);
        assert_eq!(joined, "액세스 키 삭제: AKIA (수행자: olivia)");
        assert_eq!(joined.capacity(), joined.len());
        assert_eq!(concat([]), "");
        assert_eq!(concat(["", "a", ""]), "a");
    }
}
