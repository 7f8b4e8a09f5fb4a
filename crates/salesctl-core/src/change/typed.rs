//! DynamoDB-typed JSON (`{"S":…}`, `{"N":…}`, `{"M":…}`, …) flattened into plain JSON, with
//! N numbers written exactly and attribute errors located by path.

use super::error::{AttributeProblem, DecodeError};
use super::json::{JsonStr, Parser};
use super::types::{AttrSpan, FlatImage, is_cdc_column};

/// Flattens one DynamoDB item in typed JSON (`{"id":{"S":"a"},"n":{"N":"1"}}`).
pub fn flatten_item(typed_item: &str) -> Result<FlatImage, DecodeError> {
    let mut parser = Parser {
        src: typed_item,
        pos: 0,
    };
    let mut image = FlatImage::default();
    if parser.peek_ws().is_none() {
        return Err(DecodeError::Empty);
    }
    parser.image(&mut image, "item", 0)?;
    parser.end()?;
    Ok(image)
}

/// Flattens one DynamoDB attribute value in typed JSON (`{"M":{"a":{"N":"1"}}}`) to plain JSON.
pub fn flatten_value(typed_value: &str) -> Result<String, DecodeError> {
    let mut parser = Parser {
        src: typed_value,
        pos: 0,
    };
    let mut out = String::with_capacity(typed_value.len());
    if parser.peek_ws().is_none() {
        return Err(DecodeError::Empty);
    }
    parser.typed_value(&mut out, 0)?;
    parser.end()?;
    Ok(out)
}

/// The DynamoDB type descriptors; one tag per attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeTag {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

impl TypeTag {
    /// From the tag as quoted JSON text (`"S"`).
    fn from_quoted(quoted: &[u8]) -> Option<TypeTag> {
        Some(match quoted {
            b"\"S\"" => TypeTag::S,
            b"\"N\"" => TypeTag::N,
            b"\"B\"" => TypeTag::B,
            b"\"BOOL\"" => TypeTag::Bool,
            b"\"NULL\"" => TypeTag::Null,
            b"\"M\"" => TypeTag::M,
            b"\"L\"" => TypeTag::L,
            b"\"SS\"" => TypeTag::Ss,
            b"\"NS\"" => TypeTag::Ns,
            b"\"BS\"" => TypeTag::Bs,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            TypeTag::S => "S",
            TypeTag::N => "N",
            TypeTag::B => "B",
            TypeTag::Bool => "BOOL",
            TypeTag::Null => "NULL",
            TypeTag::M => "M",
            TypeTag::L => "L",
            TypeTag::Ss => "SS",
            TypeTag::Ns => "NS",
            TypeTag::Bs => "BS",
        }
    }
}

impl<'a> Parser<'a> {
    /// A map of typed attributes, flattened into `image`.
    pub(super) fn image(
        &mut self,
        image: &mut FlatImage,
        name: &'static str,
        depth: usize,
    ) -> Result<(), DecodeError> {
        image.clear();
        if self.peek_ws() != Some(b'{') {
            let field = match name {
                "Keys" => "dynamodb.Keys",
                "NewImage" => "dynamodb.NewImage",
                "OldImage" => "dynamodb.OldImage",
                _ => "item",
            };
            return Err(self.wrong_type(field, "a map of attributes"));
        }
        self.enter(depth)?;
        self.pos += 1;
        image.json.push('{');
        let mut first = true;
        while let Some(key) = self.object_key(first)? {
            if !first {
                image.json.push(',');
            }
            first = false;
            let key_start = image.json.len();
            image.json.push_str(key.raw);
            let key_end = image.json.len();
            image.json.push(':');
            self.typed_value(&mut image.json, depth + 1)
                .map_err(|e| e.within(|| key.decoded().into_owned()).in_image(name))?;
            image.attrs.push(AttrSpan {
                key_start,
                key_end,
                value_end: image.json.len(),
                escaped_name: key.escaped,
            });
            if matches!(key.inner().as_bytes().first(), Some(b'c' | b'i') | None) || key.escaped {
                image.has_cdc_column_name |= is_cdc_column(&key.decoded());
            }
        }
        image.json.push('}');
        image.check_duplicate_names().map_err(|e| e.in_image(name))
    }

    /// One typed attribute value (`{"S":"x"}`, `{"M":{…}}`, …), flattened onto `out`.
    fn typed_value(&mut self, out: &mut String, depth: usize) -> Result<(), DecodeError> {
        if self.peek_ws() != Some(b'{') {
            let found = self.kind_here();
            self.skip_value(depth)?;
            return Err(DecodeError::attribute(AttributeProblem::NotADescriptor {
                found,
            }));
        }
        self.enter(depth)?;
        self.pos += 1;
        let Some(tag_key) = self.object_key(true)? else {
            return Err(DecodeError::attribute(AttributeProblem::EmptyDescriptor));
        };
        let Some(tag) = TypeTag::from_quoted(&tag_key.quoted()) else {
            return Err(DecodeError::attribute(AttributeProblem::UnknownTypeTag(
                tag_key.decoded().into_owned(),
            )));
        };
        match tag {
            TypeTag::S | TypeTag::B => out.push_str(self.tagged_string(tag)?.raw),
            TypeTag::N => {
                let text = self.tagged_string(tag)?;
                push_number(&text.decoded(), out)?;
            }
            TypeTag::Bool | TypeTag::Null => {
                let value = match self.peek_ws() {
                    Some(b't' | b'f') => self.literal()?,
                    _ => return Err(self.wrong_value(tag, "true or false")),
                };
                out.push_str(match (tag, value) {
                    (TypeTag::Null, _) => "null",
                    (_, true) => "true",
                    (_, false) => "false",
                });
            }
            TypeTag::M => {
                if self.peek_ws() != Some(b'{') {
                    return Err(self.wrong_value(tag, "an object"));
                }
                self.enter(depth + 1)?;
                self.pos += 1;
                out.push('{');
                let mut first = true;
                while let Some(key) = self.object_key(first)? {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(key.raw);
                    out.push(':');
                    self.typed_value(out, depth + 2)
                        .map_err(|e| e.within(|| key.decoded().into_owned()))?;
                }
                out.push('}');
            }
            TypeTag::L | TypeTag::Ss | TypeTag::Ns | TypeTag::Bs => {
                if self.peek_ws() != Some(b'[') {
                    return Err(self.wrong_value(tag, "an array"));
                }
                self.enter(depth + 1)?;
                self.pos += 1;
                out.push('[');
                let mut index = 0usize;
                while self.array_next(index == 0)? {
                    if index > 0 {
                        out.push(',');
                    }
                    self.set_element(tag, out, depth + 2)
                        .map_err(|e| e.within(|| format!("[{index}]")))?;
                    index += 1;
                }
                out.push(']');
            }
        }
        match self.object_key(false)? {
            None => Ok(()),
            Some(second) => Err(DecodeError::attribute(AttributeProblem::SeveralTypeTags {
                first: tag.name().to_owned(),
                second: second.decoded().into_owned(),
            })),
        }
    }

    /// One element of an L, SS, NS or BS.
    fn set_element(
        &mut self,
        tag: TypeTag,
        out: &mut String,
        depth: usize,
    ) -> Result<(), DecodeError> {
        match tag {
            TypeTag::L => self.typed_value(out, depth),
            TypeTag::Ns => {
                let text = self.tagged_string(tag)?;
                push_number(&text.decoded(), out)
            }
            _ => {
                out.push_str(self.tagged_string(tag)?.raw);
                Ok(())
            }
        }
    }

    fn tagged_string(&mut self, tag: TypeTag) -> Result<JsonStr<'a>, DecodeError> {
        if self.peek_ws() == Some(b'"') {
            self.string()
        } else {
            let expected = match tag {
                TypeTag::Ss | TypeTag::Ns | TypeTag::Bs => "an array of strings",
                _ => "a string",
            };
            Err(self.wrong_value(tag, expected))
        }
    }

    fn wrong_value(&mut self, tag: TypeTag, expected: &'static str) -> DecodeError {
        let found = self.kind_here();
        if let Err(syntax) = self.skip_value(1) {
            return syntax;
        }
        DecodeError::attribute(AttributeProblem::WrongValueType {
            tag: tag.name(),
            expected,
            found,
        })
    }
}

/// Writes a DynamoDB `N` string as a JSON number with the same exact value. Valid JSON numbers
/// are copied verbatim (so `1249.90` stays `1249.90`); forms JSON cannot express verbatim
/// (`+5`, `.5`, `5.`, `007`) are normalised by hand, which, unlike rust_decimal, also covers
/// DynamoDB's full 38 digits and its exponent range. Anything else is an error.
fn push_number(text: &str, out: &mut String) -> Result<(), DecodeError> {
    let invalid = || DecodeError::attribute(AttributeProblem::InvalidNumber(text.to_owned()));
    let bytes = text.as_bytes();
    let digits_from = |mut pos: usize| {
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        pos
    };
    let (negative, int_start) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let int_end = digits_from(int_start);
    let (frac_start, frac_end) = if bytes.get(int_end) == Some(&b'.') {
        (int_end + 1, digits_from(int_end + 1))
    } else {
        (int_end, int_end)
    };
    let has_point = frac_start != int_end;
    if int_end == int_start && frac_end == frac_start {
        return Err(invalid());
    }
    let exponent_start = frac_end;
    let mut end = exponent_start;
    if let Some(b'e' | b'E') = bytes.get(end) {
        end += 1;
        if let Some(b'+' | b'-') = bytes.get(end) {
            end += 1;
        }
        let exponent_digits_end = digits_from(end);
        if exponent_digits_end == end {
            return Err(invalid());
        }
        end = exponent_digits_end;
    }
    if end != bytes.len() {
        return Err(invalid());
    }
    let int_digits = text.get(int_start..int_end).unwrap_or_default();
    let is_json = bytes.first() != Some(&b'+')
        && !int_digits.is_empty()
        && (int_digits.len() == 1 || !int_digits.starts_with('0'))
        && (!has_point || frac_end > frac_start);
    if is_json {
        out.push_str(text);
        return Ok(());
    }
    if negative {
        out.push('-');
    }
    let significant = int_digits.trim_start_matches('0');
    out.push_str(if significant.is_empty() {
        "0"
    } else {
        significant
    });
    if frac_end > frac_start {
        out.push('.');
        out.push_str(text.get(frac_start..frac_end).unwrap_or_default());
    }
    out.push_str(text.get(exponent_start..).unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Result<String, DecodeError> {
        let mut out = String::new();
        push_number(text, &mut out).map(|()| out)
    }

    #[test]
    fn numbers_keep_their_digits_or_normalise_exactly() {
        for (input, expected) in [
            ("1249.90", "1249.90"),
            ("-0", "-0"),
            (
                "12345678901234567890123456789012345678",
                "12345678901234567890123456789012345678",
            ),
            ("1E+125", "1E+125"),
            ("+5", "5"),
            (".5", "0.5"),
            ("-.5", "-0.5"),
            ("5.", "5"),
            ("007", "7"),
            ("-00.50", "-0.50"),
            ("1.e5", "1e5"),
            ("+0.0", "0.0"),
        ] {
            assert_eq!(number(input).as_deref(), Ok(expected), "{input}");
        }
        for bad in [
            "", "-", "+", ".", "e5", "1e", "1e+", "NaN", "Infinity", "0x10", " 1", "1 ", "1.2.3",
        ] {
            assert_eq!(
                number(bad),
                Err(DecodeError::attribute(AttributeProblem::InvalidNumber(
                    bad.to_owned()
                ))),
                "{bad:?}"
            );
        }
    }
}
