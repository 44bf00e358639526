//! Counting and listing in messages, the same way in every message of every crate.

/// `1 member`, `2 members`.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The most names a message lists; past that it names the first ones and counts the rest, so a
/// message stays short however many names a declaration holds.
pub const LISTED: usize = 12;

/// Names joined as `a, b and c`; more than [`LISTED`] as `a, b, …, j and 40 more`.
pub fn join<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        many if many.len() > LISTED => {
            let head: Vec<&str> = many[..LISTED - 2].iter().map(AsRef::as_ref).collect();
            format!("{} and {} more", head.join(", "), many.len() - head.len())
        }
        [rest @ .., last] => {
            let head: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", head.join(", "), last.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_name_the_first_and_count_the_rest() {
        assert_eq!(join(&["a", "b", "c"]), "a, b and c");
        let many: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
        assert_eq!(join(&many), "n0, n1, n2, n3, n4, n5, n6, n7, n8, n9 and 30 more");
        assert_eq!(join(&many[..12]).matches(", ").count(), 10, "twelve are listed whole");
    }
}
