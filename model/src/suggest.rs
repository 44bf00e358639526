//! "Did you mean" suggestions by edit distance.

/// The Levenshtein distance between two strings, counted in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
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
    }
}
