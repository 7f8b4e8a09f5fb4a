//! The hand-written JSON reader under the decoder: strict grammar, byte offsets in errors,
//! strings kept verbatim, a nesting cap; plus the JSON string writer the flat row uses.

use std::borrow::Cow;

use super::error::DecodeError;

/// How deep JSON may nest before the decoder gives up. DynamoDB allows 32 levels of nested
/// attributes, each costing two JSON levels (`{"M":{…}}`), plus three for the record itself, so
/// 128 leaves ample room while keeping recursion far from any thread's stack limit.
pub const MAX_NESTING: usize = 128;

/// Appends `text` as a JSON string literal.
pub fn write_json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    write_json_string_body(out, text);
    out.push(b'"');
}

/// Appends `text` escaped for the inside of a JSON string, without the quotes.
pub fn write_json_string_body(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    let mut copied_up_to = 0;
    loop {
        let special = skip_plain_string_bytes(bytes, copied_up_to);
        out.extend_from_slice(bytes.get(copied_up_to..special).unwrap_or_default());
        let Some(&byte) = bytes.get(special) else {
            return;
        };
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
            }
        }
        copied_up_to = special + 1;
    }
}

/// A JSON string exactly as it appears in the input, quotes included.
#[derive(Debug, Clone, Copy)]
pub(super) struct JsonStr<'a> {
    pub(super) raw: &'a str,
    pub(super) escaped: bool,
}

impl<'a> JsonStr<'a> {
    pub(super) fn inner(self) -> &'a str {
        self.raw
            .get(1..self.raw.len().saturating_sub(1))
            .unwrap_or_default()
    }

    /// The quoted text with canonical escapes (none, for names), to match against literals
    /// such as `b"\"Keys\""` without slicing or decoding.
    pub(super) fn quoted(self) -> Cow<'a, [u8]> {
        if self.escaped {
            Cow::Owned(serde_json::to_vec(self.decoded().as_ref()).unwrap_or_default())
        } else {
            Cow::Borrowed(self.raw.as_bytes())
        }
    }

    pub(super) fn decoded(self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.inner());
        }
        // Rare (names and tags practically never contain escapes), so the plain route is fine;
        // the escapes were validated while scanning, so this cannot fail.
        serde_json::from_str::<String>(self.raw)
            .map(Cow::Owned)
            .unwrap_or(Cow::Borrowed(self.inner()))
    }
}

/// Bytes that end the fast scan through a string's body.
const STRING_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The position of the first byte at or after `pos` that ends a string's plain run: a quote, a
/// backslash or a control character (or `bytes.len()`). Eight bytes per step, the classic SWAR
/// way, since strings are most of a record's bytes.
fn skip_plain_string_bytes(bytes: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(pos..pos + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // A byte is flagged when it is zero after the XOR (quote, backslash) or below 0x20.
        // Borrows can flag bytes above a true hit, never below one, so the lowest flag is exact.
        let flags = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | word.wrapping_sub(ONES * 0x20) & !word)
            & HIGHS;
        if flags != 0 {
            return pos + (flags.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while let Some(&byte) = bytes.get(pos) {
        if STRING_SPECIAL[usize::from(byte)] {
            break;
        }
        pos += 1;
    }
    pos
}

/// A cursor over the whole input; the record and typed-value grammars add their own methods.
pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    pub(super) fn peek_ws(&mut self) -> Option<u8> {
        self.skip_ws();
        self.peek()
    }

    pub(super) fn slice(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or_default()
    }

    /// A syntax error at the current position, or "truncated" when the input ran out.
    pub(super) fn syntax(&self, reason: &'static str) -> DecodeError {
        if self.pos >= self.src.len() {
            DecodeError::Truncated {
                offset: self.src.len(),
            }
        } else {
            DecodeError::NotJson {
                offset: self.pos,
                reason,
            }
        }
    }

    pub(super) fn enter(&self, depth: usize) -> Result<(), DecodeError> {
        if depth >= MAX_NESTING {
            Err(DecodeError::TooDeep {
                offset: self.pos,
                limit: MAX_NESTING,
            })
        } else {
            Ok(())
        }
    }

    /// Only whitespace may follow the value.
    pub(super) fn end(&mut self) -> Result<(), DecodeError> {
        if self.peek_ws().is_some() {
            Err(DecodeError::NotJson {
                offset: self.pos,
                reason: "unexpected data after the value",
            })
        } else {
            Ok(())
        }
    }

    /// What kind of value starts here, for messages.
    pub(super) fn kind_here(&mut self) -> &'static str {
        match self.peek_ws() {
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            _ => "invalid JSON",
        }
    }

    /// At `{` already consumed (`first`) or after a member value: the next key (its `:`
    /// consumed) or `None` at the closing `}`.
    pub(super) fn object_key(&mut self, first: bool) -> Result<Option<JsonStr<'a>>, DecodeError> {
        match self.peek_ws() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(b',') if !first => {
                self.pos += 1;
                self.skip_ws();
            }
            Some(_) if first => {}
            _ => return Err(self.syntax("expected ',' or '}'")),
        }
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a string key"));
        }
        let key = self.string()?;
        if self.peek_ws() != Some(b':') {
            return Err(self.syntax("expected ':'"));
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// At `[` already consumed (`first`) or after an element: whether another element follows.
    pub(super) fn array_next(&mut self, first: bool) -> Result<bool, DecodeError> {
        match self.peek_ws() {
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) if first => Ok(true),
            _ => Err(self.syntax("expected ',' or ']'")),
        }
    }

    /// At an opening quote: the whole string, validated (escapes, surrogate pairs, no raw
    /// control characters). UTF-8 was validated for the whole input up front.
    pub(super) fn string(&mut self) -> Result<JsonStr<'a>, DecodeError> {
        let bytes = self.bytes();
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            self.pos = skip_plain_string_bytes(bytes, self.pos);
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(JsonStr {
                        raw: self.slice(start, self.pos),
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                Some(_) => return Err(self.syntax("control character inside a string")),
                None => {
                    return Err(DecodeError::Truncated {
                        offset: self.src.len(),
                    });
                }
            }
        }
    }

    /// At a backslash inside a string.
    fn escape(&mut self) -> Result<(), DecodeError> {
        self.pos += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 1;
                Ok(())
            }
            Some(b'u') => {
                let unit = self.hex4()?;
                if (0xDC00..=0xDFFF).contains(&unit) {
                    return Err(self.syntax("lone trailing surrogate in \\u escape"));
                }
                if (0xD800..=0xDBFF).contains(&unit) {
                    if self.bytes().get(self.pos..self.pos + 2) != Some(b"\\u".as_slice()) {
                        return Err(self.syntax("lone leading surrogate in \\u escape"));
                    }
                    self.pos += 1;
                    let low = self.hex4()?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return Err(self.syntax("lone leading surrogate in \\u escape"));
                    }
                }
                Ok(())
            }
            _ => Err(self.syntax("invalid escape")),
        }
    }

    /// At the `u` of `\uXXXX`: the code unit; leaves the position after it.
    fn hex4(&mut self) -> Result<u32, DecodeError> {
        self.pos += 1;
        let mut unit = 0;
        for _ in 0..4 {
            let digit = self.peek().and_then(|b| char::from(b).to_digit(16));
            match digit {
                Some(digit) => unit = unit * 16 + digit,
                None => return Err(self.syntax("invalid \\u escape")),
            }
            self.pos += 1;
        }
        Ok(unit)
    }

    /// At a number: its text, checked against the JSON grammar.
    pub(super) fn number(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes();
        let start = self.pos;
        let digits = |pos: &mut usize| {
            let from = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos > from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(&mut self.pos);
            }
            _ => return Err(self.syntax("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(&mut self.pos) {
                return Err(self.syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(&mut self.pos) {
                return Err(self.syntax("invalid number"));
            }
        }
        Ok(self.slice(start, self.pos))
    }

    pub(super) fn literal(&mut self) -> Result<bool, DecodeError> {
        let rest = self.bytes().get(self.pos..).unwrap_or_default();
        if rest.starts_with(b"true") {
            self.pos += 4;
            Ok(true)
        } else if rest.starts_with(b"false") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(self.syntax("expected a value"))
        }
    }

    pub(super) fn null(&mut self) -> bool {
        let is_null = self
            .bytes()
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(b"null"));
        if is_null {
            self.pos += 4;
        }
        is_null
    }

    /// Validates and skips any JSON value.
    pub(super) fn skip_value(&mut self, depth: usize) -> Result<(), DecodeError> {
        match self.peek_ws() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => {
                self.enter(depth)?;
                self.pos += 1;
                let mut first = true;
                while self.object_key(first)?.is_some() {
                    first = false;
                    self.skip_value(depth + 1)?;
                }
                Ok(())
            }
            Some(b'[') => {
                self.enter(depth)?;
                self.pos += 1;
                let mut first = true;
                while self.array_next(first)? {
                    first = false;
                    self.skip_value(depth + 1)?;
                }
                Ok(())
            }
            Some(b'n') if self.null() => Ok(()),
            Some(b't' | b'f') => self.literal().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            _ => Err(self.syntax("expected a value")),
        }
    }

    /// A string field, or `None` when it is `null`.
    pub(super) fn optional_string(
        &mut self,
        field: &'static str,
    ) -> Result<Option<JsonStr<'a>>, DecodeError> {
        match self.peek_ws() {
            Some(b'"') => self.string().map(Some),
            Some(b'n') if self.null() => Ok(None),
            _ => Err(self.wrong_type(field, "a string")),
        }
    }

    pub(super) fn required_string(
        &mut self,
        field: &'static str,
    ) -> Result<JsonStr<'a>, DecodeError> {
        match self.peek_ws() {
            Some(b'"') => self.string(),
            _ => Err(self.wrong_type(field, "a string")),
        }
    }

    /// A field of the wrong JSON type; a syntax error wins when the value is not JSON at all.
    pub(super) fn wrong_type(
        &mut self,
        field: &'static str,
        expected: &'static str,
    ) -> DecodeError {
        let found = self.kind_here();
        match self.skip_value(1) {
            Err(syntax) => syntax,
            Ok(()) => DecodeError::WrongType {
                field,
                expected,
                found,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_string_runs_end_at_the_first_special_byte() {
        for special in (0u8..=255).filter(|&b| STRING_SPECIAL[usize::from(b)]) {
            for at in 0..20 {
                for filler in [b'a', 0x7f, 0x80, 0xff, b'!', b'#'] {
                    let mut bytes = vec![filler; 20];
                    bytes[at] = special;
                    // A second special byte later must not win over the first.
                    bytes[19] = b'"';
                    for from in 0..=at {
                        assert_eq!(
                            skip_plain_string_bytes(&bytes, from),
                            at,
                            "{special} at {at}"
                        );
                    }
                }
            }
        }
        assert_eq!(skip_plain_string_bytes(&[0xffu8; 19], 0), 19);
        assert_eq!(skip_plain_string_bytes(b"", 0), 0);
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = Vec::new();
        write_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(
            String::from_utf8(out).as_deref(),
            Ok(r#""a\"b\\c\nd\u0001é""#)
        );
    }
}
