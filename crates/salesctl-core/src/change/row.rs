//! The flat row written from a decoded record: every attribute of its image, the lake's key
//! when the image lacks one, then the cdc columns, one JSON object and its `\n`, the line that
//! lands in the lake.

use std::borrow::Cow;

use super::json::write_json_string;
use super::time::{format_creation_datetime, write_creation_datetime};
use super::types::ChangeRecord;
use crate::lake_schema::{KEY_COLUMN, fills_key_column, write_key_from_item_keys};

impl ChangeRecord {
    /// `creation_datetime` as the flat row prints it.
    pub fn creation_datetime(&self) -> String {
        format_creation_datetime(&self.created_at, self.created_at_precision)
    }

    /// Whether the [row image](Self::row_image) has an attribute that fills the lake's
    /// `order_id` ([`KEY_COLUMN`]), so the row needs none from the keys.
    fn image_fills_key_column(&self) -> bool {
        self.row_image()
            .iter()
            .any(|(name, _)| fills_key_column(&name))
    }

    /// The JSON text of the flat row's `order_id` ([`KEY_COLUMN`]): the image's own attribute
    /// when it has one, else the one made from the record's `Keys` (a single key's value as a
    /// string, a composite key's values joined; see [`KEY_COLUMN`]). `None` only for a record
    /// with neither (empty `Keys`).
    pub fn order_id_json(&self) -> Option<Cow<'_, str>> {
        if let Some((_, value)) = self
            .row_image()
            .iter()
            .find(|(name, _)| fills_key_column(name))
        {
            return Some(Cow::Borrowed(value));
        }
        let mut out = Vec::new();
        write_key_from_item_keys(self.keys.iter(), &mut out)
            .then(|| Cow::Owned(String::from_utf8(out).unwrap_or_default()))
    }

    /// The order id the lake row holds, as text (a string's content unescaped, any other value
    /// as its JSON text): what `orders_current`, `trace` and `reconcile` know the order by.
    pub fn order_id(&self) -> Option<String> {
        let json = self.order_id_json()?;
        Some(serde_json::from_str::<String>(&json).unwrap_or_else(|_| json.into_owned()))
    }

    /// Appends the flat row and its terminating `\n`: one JSON object with every attribute of
    /// the [row image](Self::row_image); then, when none of them fills the lake's key column,
    /// `order_id` made from the record's `Keys` (see [`KEY_COLUMN`]: the tutorial's `orderid`
    /// gives `"order_id":"<its value>"`, a row of a table keyed `order_id` is left as it is);
    /// then `cdc_event_type`, `cdc_event_id`, `cdc_sequence_number` (a string, or `null` for
    /// native records, which have none), `creation_datetime` and `is_deleted`.
    ///
    /// An image attribute named like one of the [`CDC_COLUMNS`](super::CDC_COLUMNS) is left
    /// out: the cdc column wins, so a row never carries a duplicate key. `creation_datetime` is ISO-8601 UTC at the
    /// precision of the source: `2026-11-20T08:15:02Z` for Streams records (whole seconds),
    /// `2026-11-20T08:15:02.114Z` for native records (milliseconds), six fraction digits for
    /// `MICROSECOND` records, and more digits than the unit when the source number has a
    /// fraction.
    pub fn write_flat_row(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        if self.row_image().write_members_without_cdc_columns(out) {
            out.push(b',');
        }
        if !self.image_fills_key_column() {
            let start = out.len();
            out.push(b'"');
            out.extend_from_slice(KEY_COLUMN.as_bytes());
            out.extend_from_slice(b"\":");
            if write_key_from_item_keys(self.keys.iter(), out) {
                out.push(b',');
            } else {
                out.truncate(start);
            }
        }
        out.extend_from_slice(b"\"cdc_event_type\":\"");
        out.extend_from_slice(self.event_type.as_str().as_bytes());
        out.extend_from_slice(b"\",\"cdc_event_id\":");
        write_json_string(out, &self.event_id);
        out.extend_from_slice(b",\"cdc_sequence_number\":");
        match &self.sequence_number {
            Some(sequence_number) => write_json_string(out, sequence_number),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"creation_datetime\":\"");
        write_creation_datetime(out, &self.created_at, self.created_at_precision);
        out.extend_from_slice(if self.is_deleted() {
            b"\",\"is_deleted\":true}\n"
        } else {
            b"\",\"is_deleted\":false}\n"
        });
    }

    /// The flat row as a string, with its `\n`.
    pub fn flat_row(&self) -> String {
        let mut out = Vec::with_capacity(self.row_image().as_json().len() + 200);
        self.write_flat_row(&mut out);
        // Every piece written is valid UTF-8 (decoded input or ASCII), so this never loses data.
        String::from_utf8(out).unwrap_or_default()
    }
}
