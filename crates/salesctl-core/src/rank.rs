//! Which of an order's changes is its current one, as a small key: the order of
//! `orders_current`'s ranking, packed into a few words so a million orders fit in memory.
//!
//! [`crate::lake_schema::current_rank_key`] compares strings; kept per order, two owned
//! strings cost about 100 bytes. Lake rows written by the transform have a creation time of
//! the shape `YYYY-MM-DDTHH:MM:SSZ` and an all-digit sequence number, and both pack into
//! integers whose order is the strings' order. Anything else is kept as text, so the order
//! is exactly [`crate::lake_schema::current_rank_key`]'s for every input.

use std::cmp::Ordering;

/// An order-preserving packing of `current_rank_key(creation_datetime, sequence_number)`:
/// the greatest key is the row `orders_current` keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankKey {
    time: RankTime,
    sequence: RankSequence,
}

impl RankKey {
    pub fn new(creation_datetime: Option<&str>, sequence_number: &str) -> RankKey {
        RankKey {
            time: creation_datetime.map_or(RankTime::Missing, RankTime::new),
            sequence: RankSequence::new(sequence_number),
        }
    }
}

impl Ord for RankKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.time
            .cmp(&other.time)
            .then_with(|| self.sequence.cmp(&other.sequence))
    }
}

impl PartialOrd for RankKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The creation time with every `Z` removed, as the ranking compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RankTime {
    /// No time: ranks below every time.
    Missing,
    /// `YYYY-MM-DDTHH:MM:SS`: its 14 digits read as one number. Fixed-width digit fields
    /// compare as text in the order of that number.
    Digits(u64),
    Text(Box<str>),
}

/// Where the digits of `YYYY-MM-DDTHH:MM:SS` are, and what separates them.
const TIME_SHAPE: &[u8; 19] = b"dddd-dd-ddTdd:dd:dd";

impl RankTime {
    fn new(text: &str) -> RankTime {
        // Read in place, without the Zs: a million rows need no allocation when they fit.
        let mut value = 0u64;
        let mut at = 0usize;
        let mut fits = true;
        for b in text.bytes().filter(|&b| b != b'Z') {
            match TIME_SHAPE.get(at) {
                Some(b'd') if b.is_ascii_digit() => value = value * 10 + u64::from(b - b'0'),
                Some(&shape) if shape != b'd' && b == shape => {}
                _ => {
                    fits = false;
                    break;
                }
            }
            at += 1;
        }
        if fits && at == TIME_SHAPE.len() {
            return RankTime::Digits(value);
        }
        RankTime::Text(text.replace('Z', "").into_boxed_str())
    }

    /// The text this time was packed from (without its `Z`s).
    fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            RankTime::Missing => None,
            RankTime::Text(text) => Some(std::borrow::Cow::Borrowed(text)),
            RankTime::Digits(value) => {
                let digits = format!("{value:014}");
                let mut digits = digits.bytes();
                let text: String = TIME_SHAPE
                    .iter()
                    .map(|&shape| match shape {
                        b'd' => char::from(digits.next().unwrap_or(b'0')),
                        other => char::from(other),
                    })
                    .collect();
                Some(std::borrow::Cow::Owned(text))
            }
        }
    }
}

impl Ord for RankTime {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (RankTime::Digits(a), RankTime::Digits(b)) => a.cmp(b),
            _ => self.text().cmp(&other.text()),
        }
    }
}

impl PartialOrd for RankTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The sequence number, compared by length first, then as text: as numbers when all digits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RankSequence {
    /// Up to 38 digits (any leading zeros counted in `length`), as two halves of a u128 so
    /// the key keeps an alignment of 8.
    Digits {
        length: u8,
        high: u64,
        low: u64,
    },
    Text(Box<str>),
}

/// The most digits a u128 holds whatever they are.
const MAX_DIGITS: usize = 38;

impl RankSequence {
    fn new(text: &str) -> RankSequence {
        if !text.is_empty() && text.len() <= MAX_DIGITS && text.bytes().all(|b| b.is_ascii_digit())
        {
            let value = text
                .bytes()
                .fold(0u128, |v, b| v * 10 + u128::from(b - b'0'));
            return RankSequence::Digits {
                length: text.len() as u8,
                high: (value >> 64) as u64,
                low: value as u64,
            };
        }
        RankSequence::Text(text.into())
    }

    fn length(&self) -> usize {
        match self {
            RankSequence::Digits { length, .. } => usize::from(*length),
            RankSequence::Text(text) => text.len(),
        }
    }

    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            RankSequence::Text(text) => std::borrow::Cow::Borrowed(text),
            RankSequence::Digits { length, high, low } => {
                let value = (u128::from(*high) << 64) | u128::from(*low);
                std::borrow::Cow::Owned(format!("{value:0width$}", width = usize::from(*length)))
            }
        }
    }
}

impl Ord for RankSequence {
    fn cmp(&self, other: &Self) -> Ordering {
        self.length()
            .cmp(&other.length())
            .then_with(|| match (self, other) {
                // Same number of digits: the numbers' order is the texts' order.
                (
                    RankSequence::Digits { high, low, .. },
                    RankSequence::Digits {
                        high: other_high,
                        low: other_low,
                        ..
                    },
                ) => (high, low).cmp(&(other_high, other_low)),
                _ => self.text().cmp(&other.text()),
            })
    }
}

impl PartialOrd for RankSequence {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake_schema::current_rank_key;
    use proptest::prelude::*;

    #[test]
    fn the_transforms_values_pack_into_integers() {
        let key = RankKey::new(Some("2026-11-21T17:55:02Z"), "100000000000017092590");
        assert_eq!(key.time, RankTime::Digits(20261121175502));
        assert!(matches!(
            key.sequence,
            RankSequence::Digits { length: 21, .. }
        ));
        assert!(std::mem::size_of::<RankKey>() <= 48);
    }

    #[test]
    fn packed_values_give_back_their_text() {
        assert_eq!(
            RankTime::new("2026-01-02T03:04:05Z").text().unwrap(),
            "2026-01-02T03:04:05"
        );
        assert_eq!(RankSequence::new("0042").text(), "0042");
        let max = "9".repeat(38);
        assert_eq!(RankSequence::new(&max).text(), max.as_str());
    }

    #[test]
    fn mixed_shapes_compare_as_the_ranking_compares_text() {
        // A fraction sorts after the whole second; a time of another shape by its text.
        assert!(
            RankKey::new(Some("2026-11-20T08:15:02Z"), "9")
                < RankKey::new(Some("2026-11-20T08:15:02.114Z"), "1")
        );
        assert!(RankKey::new(None, "999") < RankKey::new(Some("garbage"), "1"));
        assert!(
            RankKey::new(Some("2026-11-20T08:15:02Z"), "99")
                < RankKey::new(Some("2026-11-20T08:15:02Z"), "100")
        );
        // Leading zeros: longer ranks higher, as (length, text) does.
        assert!(RankKey::new(Some("x"), "12") < RankKey::new(Some("x"), "0012"));
        assert!(RankKey::new(Some("x"), "abc") > RankKey::new(Some("x"), "999"));
    }

    /// Times and sequence numbers of every shape the comparison must handle: the
    /// transform's, near misses, fractions, stray Zs, digits with leading zeros, text.
    fn time() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            (
                2025u32..2027,
                1u32..13,
                1u32..29,
                0u32..24,
                0u32..60,
                0u32..60
            )
                .prop_map(|(y, mo, d, h, mi, s)| Some(format!(
                    "{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"
                ))),
            (0u32..60, 0u32..1000)
                .prop_map(|(s, ms)| Some(format!("2026-11-20T08:15:{s:02}.{ms:03}Z"))),
            "[0-9T:Z. -]{0,22}".prop_map(Some),
            ".{0,8}".prop_map(Some),
        ]
    }

    fn sequence() -> impl Strategy<Value = String> {
        prop_oneof!["[1-9][0-9]{20}", "[0-9]{1,40}", "[0-9a]{0,5}", ".{0,6}",]
    }

    proptest! {
        #[test]
        fn the_packed_order_is_the_rankings_order(
            a in (time(), sequence()),
            b in (time(), sequence()),
            same_time in any::<bool>(),
        ) {
            // Half the pairs share a time, so the sequence numbers decide.
            let b = if same_time { (a.0.clone(), b.1) } else { b };
            let packed = RankKey::new(a.0.as_deref(), &a.1).cmp(&RankKey::new(b.0.as_deref(), &b.1));
            let ranked = current_rank_key(a.0.as_deref(), &a.1).cmp(&current_rank_key(b.0.as_deref(), &b.1));
            prop_assert_eq!(packed, ranked);
        }
    }
}
