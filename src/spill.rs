//! Records spilled to disk in hash buckets, so work over millions of ids holds one bucket in
//! memory at a time: every record of a key lands in the same bucket, in the order written.

use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, BufRead, BufReader, BufWriter, Write};

/// Bucket files in a temporary directory, removed when dropped.
pub struct Buckets {
    dir: tempfile::TempDir,
    writers: Vec<BufWriter<File>>,
    written: u64,
}

impl Buckets {
    /// `count` buckets (at least one) under the system's temporary directory.
    pub fn new(count: usize) -> io::Result<Buckets> {
        let dir = tempfile::Builder::new()
            .prefix("salesctl-spill-")
            .tempdir()?;
        let writers = (0..count.max(1))
            .map(|i| File::create(dir.path().join(format!("{i}.jsonl"))).map(BufWriter::new))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Buckets {
            dir,
            writers,
            written: 0,
        })
    }

    /// Appends `fields` to the bucket `key` hashes to.
    pub fn push(&mut self, key: &str, fields: &[&str]) -> io::Result<()> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let bucket = (hasher.finish() % self.writers.len() as u64) as usize;
        let writer = &mut self.writers[bucket];
        serde_json::to_writer(&mut *writer, fields)?;
        writer.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Calls `each` with every bucket's records in turn, each bucket read whole and in the
    /// order its records were written.
    pub fn for_each_bucket(
        mut self,
        mut each: impl FnMut(Vec<Vec<String>>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        for writer in &mut self.writers {
            writer.flush()?;
        }
        for i in 0..self.writers.len() {
            let file = File::open(self.dir.path().join(format!("{i}.jsonl")))?;
            let mut records = Vec::new();
            for line in BufReader::new(file).lines() {
                records.push(serde_json::from_str(&line?)?);
            }
            each(records)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_records_share_a_bucket_in_written_order_and_nothing_is_lost() {
        let mut buckets = Buckets::new(4).unwrap();
        for n in 0..100 {
            let key = format!("k{}", n % 10);
            buckets
                .push(&key, &[&key, &n.to_string(), "tab\there \"quoted\"\nline"])
                .unwrap();
        }
        assert_eq!(buckets.written(), 100);
        let mut seen = 0;
        let mut keys_seen = std::collections::HashSet::new();
        buckets
            .for_each_bucket(|records| {
                let mut last: std::collections::HashMap<String, u32> = Default::default();
                for record in records {
                    seen += 1;
                    assert_eq!(record[2], "tab\there \"quoted\"\nline");
                    let n: u32 = record[1].parse().unwrap();
                    if let Some(before) = last.insert(record[0].clone(), n) {
                        assert!(before < n, "written order kept");
                    }
                }
                for key in last.into_keys() {
                    assert!(keys_seen.insert(key), "a key in two buckets");
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, 100);
        assert_eq!(keys_seen.len(), 10);
    }
}
