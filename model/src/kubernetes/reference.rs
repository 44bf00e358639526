//! Container image references, exactly as the distribution reference grammar (the one
//! containerd, the kubelet and every registry client parse with) reads them:
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain "/"] remote-name          (at most 255 characters)
//! domain           := host [":" port-number]
//! host             := domain-name | IPv4address | "[" IPv6address "]"
//! domain-name      := domain-component ["." domain-component]*
//! domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! remote-name      := path-component ["/" path-component]*
//! path-component   := alpha-numeric [separator alpha-numeric]*
//! alpha-numeric    := [a-z0-9]+
//! separator        := [_.] | "__" | [-]+
//! tag              := [\w][\w.-]{0,127}
//! digest           := algorithm ":" hex   (sha256: 64, sha384: 96, sha512: 128 lower-case hex digits)
//! ```
//!
//! The first component is a domain when it holds a `.` or `:`, is `localhost`, or has an
//! upper-case letter (as the normaliser splits it); a port is refused above 65535, which the
//! grammar's `[0-9]+` would let through and no connection can use.

/// Why `image` is no container image reference, if it is not. O(len).
pub fn image_problem(image: &str) -> Option<String> {
    if image.is_empty() {
        return Some("it is empty".to_string());
    }
    if let Some(c) = image.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!("it holds {c:?}, and a reference holds no whitespace or control character"));
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest
        && let Some(why) = digest_problem(d)
    {
        return Some(why);
    }
    // A tag follows the last `:` after the last `/` (a `:` before it is a registry port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag
        && !is_tag(t)
    {
        return Some(format!(
            "its tag `{t}` is not 1 to 128 letters, digits, `_`, `.` or `-`, starting with a letter, digit or `_`"
        ));
    }
    if name.len() > 255 {
        return Some(format!("its name is {} characters long; a name holds at most 255", name.len()));
    }
    let (domain, path) = split_domain(name);
    if let Some(d) = domain
        && let Some(why) = domain_problem(d)
    {
        return Some(why);
    }
    if path.is_empty() {
        return Some("it names a registry but no repository".to_string());
    }
    for part in path.split('/') {
        if !is_path_component(part) {
            return Some(format!(
                "its path component `{part}` is not lower-case letters and digits joined by one `.`, `_`, `__` or a run of `-`"
            ));
        }
    }
    None
}

/// The domain and the remote name, as the normaliser splits a name.
fn split_domain(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn domain_problem(domain: &str) -> Option<String> {
    let bad = || Some(format!("its registry `{domain}` is no host name, IPv4 or [IPv6] address with an optional port"));
    let (host, port) = if let Some(v6) = domain.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else { return bad() };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return bad();
        }
        match after {
            "" => (None, None),
            p => match p.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return bad(),
            },
        }
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(h) = host
        && (h.is_empty() || !h.split('.').all(is_domain_component))
    {
        return bad();
    }
    if let Some(p) = port {
        let number = (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.trim_start_matches('0').parse::<u64>().unwrap_or(0));
        match number {
            None => return bad(),
            Some(n) if n == 0 || n > 65_535 || p.len() > 5 => {
                return Some(format!("its registry `{domain}` names port {p}, and ports run from 1 to 65535"));
            }
            Some(_) => {}
        }
    }
    None
}

/// `[a-zA-Z0-9]` or `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// `alpha-numeric [separator alpha-numeric]*`, separators `.`, `_`, `__` or a run of `-`.
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let separator = &c[start..i];
        if !(separator == "." || separator == "_" || separator == "__" || separator.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`.
fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b.iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

fn digest_problem(d: &str) -> Option<String> {
    let lengths = [("sha256", 64), ("sha384", 96), ("sha512", 128)];
    let ok = d.split_once(':').is_some_and(|(algorithm, hex)| {
        lengths.iter().any(|(a, n)| *a == algorithm && hex.len() == *n)
            && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    (!ok).then(|| {
        format!("its digest `{d}` is not `sha256:`, `sha384:` or `sha512:` and that many lower-case hex digits")
    })
}

#[cfg(test)]
mod tests {
    use super::image_problem;

    /// Valid and invalid references, as the distribution reference package's own tests and the
    /// registries read them.
    #[test]
    fn the_distribution_grammar_exactly() {
        let sha = "a".repeat(64);
        let valid = [
            "nginx".to_string(),
            "nginx:1.25".into(),
            "library/nginx".into(),
            "docker.io/library/nginx:latest".into(),
            "quay.io/poseidon/kubelet:v1.36.3".into(),
            "registry.k8s.io/kube-apiserver:v1.36.3".into(),
            "localhost/x".into(),
            "localhost:5000/x:1".into(),
            "10.0.0.5:5000/team/app:1".into(),
            "[::1]:5000/app".into(),
            "[fd00::5]/app:2".into(),
            "Registry.Example/app".into(),
            "a--b/c__d/e.f/g_h:_tag".into(),
            "example.com/a---b:1.0-rc.1".into(),
            format!("app@sha256:{sha}"),
            format!("app:1@sha256:{sha}"),
            format!("app@sha512:{}", "0".repeat(128)),
            format!("x/{}", "a".repeat(253)),
            format!("app:{}", "t".repeat(128)),
        ];
        for reference in &valid {
            assert_eq!(image_problem(reference), None, "{reference} is valid");
        }
        let invalid = [
            ("", "empty"),
            ("-bad.io/x:1", "registry"),
            ("bad-.io/x:1", "registry"),
            ("quay.io/a.-b:1", "path component"),
            ("quay.io/a_.b:1", "path component"),
            ("quay.io/a..b", "path component"),
            ("quay.io/a___b", "path component"),
            ("quay.io/-a", "path component"),
            ("quay.io/a-", "path component"),
            ("quay.io/App", "path component"),
            ("localhost:99999/x:1", "ports run from 1 to 65535"),
            ("localhost:0/x", "ports run"),
            ("localhost:/x", "registry"),
            ("[::1/x", "registry"),
            ("[zz::1]/x", "registry"),
            ("quay.io/", "no repository"),
            ("app:", "tag"),
            ("app:.x", "tag"),
            ("app:-x", "tag"),
            ("app:a+b", "tag"),
            ("app@sha256:abc", "digest"),
            ("app@md5:0123456789abcdef0123456789abcdef", "digest"),
            ("app a", "whitespace"),
            ("a//b", "path component"),
        ];
        for (reference, why) in invalid {
            let problem = image_problem(reference).unwrap_or_else(|| panic!("{reference:?} is invalid"));
            assert!(problem.contains(why), "{reference:?}: {problem}");
        }
        assert!(image_problem(&format!("app@sha256:{}", "A".repeat(64))).is_some(), "upper-case hex");
        assert!(image_problem(&format!("app:{}", "t".repeat(129))).is_some(), "a tag of 129");
        assert!(image_problem(&format!("x/{}", "a".repeat(254))).is_some(), "a name of 256");
    }
}
