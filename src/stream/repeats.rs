//! Drops the records a shard's iterator hands out a second time, so a reader gives each record
//! once even where the service repeats one.
//!
//! AWS never repeats: a shard's sequence numbers are unique and increase in shard order, and
//! an `AFTER_SEQUENCE_NUMBER` iterator starts right after the record named. The emulator does:
//! moto 5.2.5 numbers a DynamoDB stream record by the shard's length when the write happens, so
//! concurrent writes (`generate` keeps 8 batches in flight) can get the same or an older number
//! than a record before them, and the next iterator, which starts after the highest number of
//! a page, starts before records already read. At the shard's tip that repeats the same few
//! records on every call: a drain under the test suite's load re-read 13 records four times a
//! second for five minutes and never caught up.
//!
//! A record whose number is past every number handed out is new (always, on AWS). One at or
//! before it is a repeat only if it was handed out lately, as the same number and the same
//! bytes (compared by a hash of both): a record moto numbered out of order is new, and is
//! handed out.

use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;

use super::{RawRecord, sequence_cmp};

/// How many of the latest records are remembered. A repeat reaches back as far as the most
/// writes that race in the emulator (a few batches of 25), so this is ample.
const REMEMBERED: usize = 4096;

/// A record as it was handed out: a hash of its sequence number and its bytes. Two records
/// share one only when both are equal (or, once in 2^64, by chance).
type Fingerprint = u64;

/// One shard's memory of what its reader handed out.
#[derive(Debug, Default)]
pub struct RepeatFilter {
    /// The highest sequence number handed out.
    newest: Option<String>,
    latest: VecDeque<Fingerprint>,
    remembered: HashSet<Fingerprint>,
    /// Records dropped as repeats.
    pub dropped: u64,
}

impl RepeatFilter {
    /// The records of a page not handed out before, in the page's order (the page's own
    /// vector, repeats removed in place).
    pub fn fresh(&mut self, mut records: Vec<RawRecord>) -> Vec<RawRecord> {
        records.retain(|record| {
            let past_newest = self
                .newest
                .as_deref()
                .is_none_or(|newest| sequence_cmp(&record.sequence_number, newest).is_gt());
            let fingerprint = foldhash::fast::FixedState::default()
                .hash_one((&record.sequence_number, &record.data));
            if !past_newest && self.remembered.contains(&fingerprint) {
                self.dropped += 1;
                return false;
            }
            if past_newest {
                self.newest = Some(record.sequence_number.clone());
            }
            self.remember(fingerprint);
            true
        });
        records
    }

    fn remember(&mut self, fingerprint: Fingerprint) {
        if self.latest.len() == REMEMBERED
            && let Some(oldest) = self.latest.pop_front()
        {
            self.remembered.remove(&oldest);
        }
        self.remembered.insert(fingerprint);
        self.latest.push_back(fingerprint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sequence: u64, data: &str) -> RawRecord {
        RawRecord {
            sequence_number: sequence.to_string(),
            partition_key: data.to_string(),
            data: data.as_bytes().to_vec(),
            arrival: None,
        }
    }

    fn datas(records: &[RawRecord]) -> Vec<String> {
        records
            .iter()
            .map(|r| String::from_utf8(r.data.clone()).unwrap())
            .collect()
    }

    #[test]
    fn a_page_read_again_is_dropped_and_new_records_pass() {
        let mut filter = RepeatFilter::default();
        let first = filter.fresh(vec![record(10, "a"), record(11, "b"), record(12, "c")]);
        assert_eq!(datas(&first), ["a", "b", "c"]);
        // The iterator started before b: b and c again, then d.
        let again = filter.fresh(vec![record(11, "b"), record(12, "c"), record(13, "d")]);
        assert_eq!(datas(&again), ["d"]);
        assert_eq!(filter.dropped, 2);
    }

    #[test]
    fn a_record_numbered_out_of_order_is_new_though_its_number_is_not() {
        let mut filter = RepeatFilter::default();
        filter.fresh(vec![record(10, "a"), record(11, "b")]);
        // Two writes raced: e got b's number, f an older one still.
        let page = filter.fresh(vec![record(11, "e"), record(9, "f"), record(12, "g")]);
        assert_eq!(datas(&page), ["e", "f", "g"]);
        // Each of them is a repeat the next time.
        let page = filter.fresh(vec![record(11, "e"), record(9, "f"), record(12, "g")]);
        assert!(page.is_empty());
        assert_eq!(filter.dropped, 3);
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        let mut filter = RepeatFilter::default();
        filter.fresh(vec![record(99, "a")]);
        assert_eq!(datas(&filter.fresh(vec![record(100, "b")])), ["b"]);
        assert_eq!(
            datas(&filter.fresh(vec![record(100, "b")])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn only_the_latest_records_are_remembered() {
        let mut filter = RepeatFilter::default();
        let many: Vec<RawRecord> = (0..REMEMBERED as u64 + 10)
            .map(|n| record(n, &n.to_string()))
            .collect();
        filter.fresh(many);
        assert_eq!(filter.remembered.len(), REMEMBERED);
        assert_eq!(filter.latest.len(), REMEMBERED);
        // The oldest ones are forgotten: handed out again (at least once, never lost).
        assert_eq!(datas(&filter.fresh(vec![record(0, "0")])), ["0"]);
        // The latest are still known.
        let last = REMEMBERED as u64 + 9;
        assert!(
            filter
                .fresh(vec![record(last, &last.to_string())])
                .is_empty()
        );
    }
}
