//! "Did you mean" suggestions by edit distance.

/// The edit distance between two strings, counted in characters: insertions, deletions,
/// substitutions and swaps of two neighbours (`tow` for `two`) each cost one (the optimal
/// string alignment distance).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (previous[j] + 1).min(row[j - 1] + 1).min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut previous, row);
    }
    previous[b.len()]
}

/// The longest name a suggestion is looked for: a typo is in a word, and the distance costs
/// the product of the two lengths.
pub const LONGEST_SUGGESTED: usize = 64;

/// The candidate closest to `wanted`, if it is close enough to be a likely typo. Candidates
/// whose length differs by more than the allowed distance are passed over without measuring,
/// and nothing is suggested for a name over [`LONGEST_SUGGESTED`] characters, so a call is
/// O(candidates) plus O(64²) per candidate of about the right length.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let length = wanted.chars().count();
    if length > LONGEST_SUGGESTED {
        return None;
    }
    let limit = (length / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .filter(|c| c.len() <= 4 * (length + limit) && c.chars().count().abs_diff(length) <= limit)
        .map(|c| (edit_distance(&wanted.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("cabinet", ["cabinets", "zones"]), Some("cabinets"));
        assert_eq!(closest("centrl", ["central", "workers"]), Some("central"));
        assert_eq!(closest("xyz", ["central", "workers"]), None);
        assert_eq!(closest("one", ["one"]), None, "an exact match is not a suggestion");
        assert_eq!(edit_distance("tow", "two"), 1, "a swap of neighbours is one edit");
        assert_eq!(closest("tow", ["one", "two", "three"]), Some("two"));
    }
}
