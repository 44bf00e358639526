//! Glob matching as fleet applies it to `Conflicts=` and `Replaces=` (Go's `path.Match`).

/// Whether `name` matches `pattern`: `*` matches any run of characters but `/`, `?` one
/// character but `/`, `[a-z]`/`[^0-9]` a class, and `\` escapes. A malformed pattern matches nothing.
pub fn matches(pattern: &str, name: &str) -> bool {
    // Most checks fail on the literal text before the first special character (placement
    // compares every unit's globs with every name on a machine), so that is looked at first,
    // without allocating.
    let literal = pattern.find(['*', '?', '[', '\\']).unwrap_or(pattern.len());
    if !name.starts_with(&pattern[..literal]) {
        return false;
    }
    if literal == pattern.len() {
        return name.len() == pattern.len();
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n).unwrap_or(false)
}

/// Whether `pattern` is well formed (every class closed, no trailing escape).
pub fn is_valid(pattern: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 >= p.len() => return false,
            '\\' => i += 2,
            '[' => match class_end(&p, i) {
                Some(end) => i = end,
                None => return false,
            },
            _ => i += 1,
        }
    }
    true
}

/// The index just past the class that opens at `p[start] == '['`.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let mut first = true;
    loop {
        match p.get(i)? {
            ']' if !first => return Some(i + 1),
            '\\' => i += 2,
            _ => i += 1,
        }
        first = false;
    }
}

fn class_matches(class: &[char], c: char) -> Option<bool> {
    let (negated, mut items) = match class.first() {
        Some('^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut found = false;
    while !items.is_empty() {
        let (lo, rest) = take_char(items)?;
        let (hi, rest) = match rest.split_first() {
            Some(('-', after)) if !after.is_empty() => take_char(after)?,
            _ => (lo, rest),
        };
        if lo <= c && c <= hi {
            found = true;
        }
        items = rest;
    }
    Some(found != negated)
}

fn take_char(s: &[char]) -> Option<(char, &[char])> {
    match s.split_first()? {
        ('\\', rest) => rest.split_first().map(|(c, r)| (*c, r)),
        (c, rest) => Some((*c, rest)),
    }
}

fn match_from(p: &[char], n: &[char]) -> Option<bool> {
    let Some((&first, rest)) = p.split_first() else {
        return Some(n.is_empty());
    };
    match first {
        '*' => {
            for skip in 0..=n.len() {
                if skip > 0 && n[skip - 1] == '/' {
                    break;
                }
                if match_from(rest, &n[skip..])? {
                    return Some(true);
                }
            }
            Some(false)
        }
        '?' => match n.split_first() {
            Some((c, n_rest)) if *c != '/' => match_from(rest, n_rest),
            _ => Some(false),
        },
        '[' => {
            let end = class_end(p, 0)?;
            let Some((c, n_rest)) = n.split_first() else {
                return Some(false);
            };
            if *c != '/' && class_matches(&p[1..end - 1], *c)? { match_from(&p[end..], n_rest) } else { Some(false) }
        }
        '\\' => {
            let (lit, p_rest) = rest.split_first()?;
            match n.split_first() {
                Some((c, n_rest)) if c == lit => match_from(p_rest, n_rest),
                _ => Some(false),
            }
        }
        lit => match n.split_first() {
            Some((c, n_rest)) if *c == lit => match_from(rest, n_rest),
            _ => Some(false),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_go_path_match() {
        assert!(matches("webapp@*.service", "webapp@1.service"));
        assert!(matches("*.service", "db.service"));
        assert!(!matches("*.service", "db.socket"));
        assert!(matches("db-?.service", "db-1.service"));
        assert!(matches("db-[0-9].service", "db-7.service"));
        assert!(!matches("db-[^0-9].service", "db-7.service"));
        assert!(matches(r"a\*b", "a*b"));
        assert!(!matches(r"a\*b", "axb"));
        assert!(!matches("*", "a/b"), "a star stops at a slash");
        assert!(!matches("[a-", "a"), "a malformed pattern matches nothing");
    }

    #[test]
    fn validity() {
        assert!(is_valid("web@*.service"));
        assert!(is_valid("[]a]"));
        assert!(!is_valid("web[.service"));
        assert!(!is_valid(r"web\"));
    }
}
