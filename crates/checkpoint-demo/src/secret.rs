//! Password hashing and bearer tokens.
//!
//! DEMO ONLY: salted, iterated SHA-256 keeps the dependency set small. A real service
//! would use a memory-hard password hash (argon2id, scrypt) instead.

use sha2::{Digest, Sha256};

const SCHEME: &str = "sha256";
const ROUNDS: u32 = 10_000;

/// `sha256$ROUNDS$SALT_HEX$HASH_HEX`, with a fresh random 16-byte salt.
pub(crate) fn hash_password(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    encode(ROUNDS, &salt, &derive(password, &salt, ROUNDS))
}

/// Whether `password` matches a value produced by [`hash_password`].
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(rounds), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(rounds), Some(salt), Some(expected)) = (rounds.parse::<u32>(), unhex(salt), unhex(hash)) else {
        return false;
    };
    constant_time_eq(&derive(password, &salt, rounds), &expected)
}

/// A fresh bearer token: 32 random bytes as 64 hex characters.
pub(crate) fn new_token() -> String {
    hex(&rand::random::<[u8; 32]>())
}

fn derive(password: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut digest: [u8; 32] = Sha256::new().chain_update(salt).chain_update(password.as_bytes()).finalize().into();
    for _ in 1..rounds {
        digest = Sha256::new().chain_update(digest).chain_update(salt).finalize().into();
    }
    digest
}

fn encode(rounds: u32, salt: &[u8], hash: &[u8]) -> String {
    format!("{SCHEME}${rounds}${}${}", hex(salt), hex(hash))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash_password("correct horse");
        assert!(stored.starts_with("sha256$10000$"));
        assert!(verify_password("correct horse", &stored));
        assert!(!verify_password("correct horsE", &stored));
        assert!(!verify_password("", &stored));
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        assert_ne!(hash_password("pw123456"), hash_password("pw123456"));
    }

    #[test]
    fn malformed_stored_values_never_verify() {
        for stored in ["", "sha256", "md5$1$00$00", "sha256$x$00$00", "sha256$1$0$00", "sha256$1$00$zz$"] {
            assert!(!verify_password("pw", stored), "{stored:?}");
        }
    }

    #[test]
    fn a_known_vector() {
        // One round is plain SHA-256(salt || password).
        let expected = "sha256$1$73616c74$\
            13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322";
        assert!(verify_password("password", expected));
    }

    #[test]
    fn tokens_are_64_hex_characters_and_unique() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
