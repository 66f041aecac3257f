//! "Did you mean" suggestions for misspelt keys, variants and names.

/// Edit distance (Levenshtein) between two strings, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo
/// (distance ≤ max(2, len/3)).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = 2.max(word.chars().count() / 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Appends "; did you mean `x`?" to serde's `unknown field`/`unknown variant` messages, whose
/// format is "unknown field `foo`, expected one of `a`, `b`" or "…, expected `a` or `b`".
pub fn did_you_mean_from_serde(message: &str) -> String {
    let kind = ["unknown field `", "unknown variant `"]
        .into_iter()
        .find(|p| message.starts_with(p));
    let Some(prefix) = kind else {
        return message.to_string();
    };
    let rest = &message[prefix.len()..];
    let Some((word, tail)) = rest.split_once('`') else {
        return message.to_string();
    };
    let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    match closest(word, expected) {
        Some(c) => format!("{message}; did you mean `{c}`?"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("share", "share"), 0);
    }

    #[test]
    fn suggests_close_fields_only() {
        let m = "unknown field `sharee`, expected one of `name`, `stake_eth`, `share`";
        assert!(did_you_mean_from_serde(m).ends_with("did you mean `share`?"));
        let m = "unknown field `zzzzzz`, expected one of `name`, `share`";
        assert_eq!(did_you_mean_from_serde(m), m);
        let m = "unknown variant `gausian`, expected `gaussian` or `student_t`";
        assert!(did_you_mean_from_serde(m).ends_with("did you mean `gaussian`?"));
    }
}
