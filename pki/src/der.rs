//! Just enough DER to read back what a certificate says about itself: its validity and its
//! public key (RFC 5280 §4.1). Every length is checked against what is left; a certificate that
//! is not one reads as `None`, never a panic. O(bytes).

use base64::Engine as _;

/// One TLV: its tag, its content, and what follows it.
fn tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The whole TLV at the start of `bytes` (tag and length included) and what follows.
fn whole(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, _, rest) = tlv(bytes)?;
    Some((&bytes[..bytes.len() - rest.len()], rest))
}

/// The fields of `tbsCertificate` up to the subject's public key: (validity's content, the
/// SubjectPublicKeyInfo TLV).
fn tbs(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (0x30, cert, _) = tlv(cert)? else { return None };
    let (0x30, tbs, _) = tlv(cert)? else { return None };
    let mut rest = tbs;
    // [0] version, optional.
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    for wanted in [0x02, 0x30, 0x30] {
        // serialNumber, signature, issuer
        let (tag, _, next) = tlv(rest)?;
        if tag != wanted {
            return None;
        }
        rest = next;
    }
    let (0x30, validity, rest) = tlv(rest)? else { return None };
    let (_, _, rest) = tlv(rest)?; // subject
    let (spki, _) = whole(rest)?;
    Some((validity, spki))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time_of(tag: u8, text: &[u8]) -> Option<time::OffsetDateTime> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, text.len()) {
        (0x17, 12) => {
            let yy: i32 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        (0x18, 14) => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let n = |i: usize| rest.get(i..i + 2).and_then(|s| s.parse::<u8>().ok());
    let month = time::Month::try_from(n(0)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, n(2)?).ok()?;
    let at = time::Time::from_hms(n(4)?, n(6)?, n(8)?).ok()?;
    Some(time::PrimitiveDateTime::new(date, at).assume_utc())
}

/// When the certificate (DER) stops being valid.
pub fn not_after(cert: &[u8]) -> Option<time::OffsetDateTime> {
    let (validity, _) = tbs(cert)?;
    let (_, _, rest) = tlv(validity)?; // notBefore
    let (tag, text, _) = tlv(rest)?;
    time_of(tag, text)
}

/// The certificate's SubjectPublicKeyInfo (DER), to match it with a key.
pub fn public_key_info(cert: &[u8]) -> Option<&[u8]> {
    Some(tbs(cert)?.1)
}

/// The DER of each `CERTIFICATE` block of PEM text.
pub fn certificates(pem: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut inside: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        match (&mut inside, line) {
            (None, "-----BEGIN CERTIFICATE-----") => inside = Some(String::new()),
            (Some(body), "-----END CERTIFICATE-----") => {
                if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
                    out.push(der);
                }
                inside = None;
            }
            (Some(body), line) => body.push_str(line),
            (None, _) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc_5280_writes_them() {
        let at = |tag, s: &str| time_of(tag, s.as_bytes()).map(|t| t.unix_timestamp());
        assert_eq!(at(0x17, "491231235959Z"), Some(2_524_607_999));
        assert_eq!(at(0x17, "500101000000Z"), Some(-631_152_000));
        assert_eq!(at(0x18, "20500101000000Z"), Some(2_524_608_000));
        assert_eq!(at(0x17, "4912312359Z"), None, "too short");
        assert_eq!(at(0x17, "491331235959Z"), None, "no thirteenth month");
        assert_eq!(at(0x18, "2050010100000+Z"), None);
    }

    #[test]
    fn truncated_and_lying_lengths_read_as_nothing() {
        for bytes in
            [&[][..], &[0x30], &[0x30, 0x85, 1, 1, 1, 1, 1], &[0x30, 0x82, 0xff, 0xff, 0], &[0x30, 0x03, 0x30, 0x01]]
        {
            assert_eq!(not_after(bytes), None, "{bytes:?}");
        }
    }
}
