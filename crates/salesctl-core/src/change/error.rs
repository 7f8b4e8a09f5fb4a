//! Why some bytes are not a change record: the decode error, and where and what an attribute
//! problem is. Below every other part of `change`, so each can name its errors.

use std::fmt;

/// Where in the record an attribute problem sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeLocation {
    /// `Keys`, `NewImage`, `OldImage`, or `item`/`value` for standalone flattening.
    pub image: &'static str,
    /// `name`, `name.inner[2]`, …; empty when the problem is the value itself.
    pub path: String,
}

impl fmt::Display for AttributeLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "the {}", self.image)
        } else {
            write!(f, "attribute {:?} of {}", self.path, self.image)
        }
    }
}

/// What is wrong with one DynamoDB-typed attribute value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeProblem {
    #[error("unknown type tag {0:?}")]
    UnknownTypeTag(String),
    #[error("empty type descriptor {{}}")]
    EmptyDescriptor,
    #[error("more than one type tag ({first:?} and {second:?})")]
    SeveralTypeTags { first: String, second: String },
    #[error("{found} where a type descriptor such as {{\"S\":…}} was expected")]
    NotADescriptor { found: &'static str },
    #[error("{tag:?} value must be {expected}, found {found}")]
    WrongValueType {
        tag: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("invalid number {0:?}")]
    InvalidNumber(String),
    #[error("duplicate attribute name")]
    DuplicateName,
}

/// Why some bytes are not a change record. `Display` is one line naming the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty input")]
    Empty,
    #[error("not UTF-8 at byte {offset}")]
    NotUtf8 { offset: usize },
    #[error("not JSON at byte {offset}: {reason}")]
    NotJson { offset: usize, reason: &'static str },
    #[error("truncated JSON: input ends at byte {offset}")]
    Truncated { offset: usize },
    #[error("JSON nested deeper than {limit} levels at byte {offset}")]
    TooDeep { offset: usize, limit: usize },
    #[error("not a change record: the JSON value is {found}, not an object")]
    NotAnObject { found: &'static str },
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("field {0} appears more than once")]
    DuplicateField(&'static str),
    #[error("field {field} must be {expected}, found {found}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("unknown eventName {0:?} (expected INSERT, MODIFY or REMOVE)")]
    UnknownEventName(String),
    #[error(
        "unknown ApproximateCreationDateTimePrecision {0:?} (expected MILLISECOND or MICROSECOND)"
    )]
    UnknownPrecision(String),
    #[error("ApproximateCreationDateTime {0} is outside 1970-01-01..9999-12-31")]
    TimestampOutOfRange(String),
    #[error("{problem} in {location}")]
    BadAttribute {
        problem: AttributeProblem,
        location: AttributeLocation,
    },
}

impl DecodeError {
    pub(super) fn attribute(problem: AttributeProblem) -> DecodeError {
        DecodeError::BadAttribute {
            problem,
            location: AttributeLocation {
                image: "value",
                path: String::new(),
            },
        }
    }

    /// Prepends one path segment while an attribute error travels out of nested values.
    pub(super) fn within(mut self, segment: impl FnOnce() -> String) -> DecodeError {
        if let DecodeError::BadAttribute { location, .. } = &mut self {
            let mut path = segment();
            if !location.path.is_empty() && !location.path.starts_with('[') {
                path.push('.');
            }
            path.push_str(&location.path);
            location.path = path;
        }
        self
    }

    pub(super) fn in_image(mut self, image: &'static str) -> DecodeError {
        if let DecodeError::BadAttribute { location, .. } = &mut self {
            location.image = image;
        }
        self
    }
}
