//! The relay's store (redb): what it has learnt of ICON that is slow to learn again — its copy of the BMV's
//! accumulator with the witnesses of the blocks holding undelivered messages ([`Witnesses`], from which block
//! proofs are built), the heights it has scanned and the block each undelivered message to the parachain sits in
//! —, the submission to the parachain it has in flight, the ICON transaction whose result it waits for, and the
//! parachain BMC's messages toward ICON found in the finalized parachain blocks it has scanned. None of it grows
//! with the chains' history: delivered messages are forgotten, and the accumulator keeps its roots and a path per
//! block it may have to prove (relay/README.md states the sizes).
//!
//! Everything in it is a copy of chain data: the relay checks what it builds from it locally before paying, a
//! block the store knows with another id than the chain's clears the scan, and a missing or cleared store is
//! filled again from the chains. Deleting the file is always safe; it costs a rescan.

use crate::witness::Witnesses;
use icon_light_client::Hash;
use redb::{backends::InMemoryBackend, Database, ReadableTable, TableDefinition};
use std::{ops::RangeInclusive, path::Path};

/// `tip`: the height and id of the last block scanned, to tell another chain from the one scanned.
const TIP: TableDefinition<&str, (u64, [u8; 32])> = TableDefinition::new("tip");
/// `witnesses`: the accumulator copy, encoded.
const WITNESSES: TableDefinition<&str, &[u8]> = TableDefinition::new("witnesses");
/// The ICON height of each message to the parachain BMC, by sequence number.
const MESSAGES: TableDefinition<u64, u64> = TableDefinition::new("message_heights");
/// `scanned_from`, `scanned_to`: the ICON heights whose ids and messages are all recorded; `parachain_scanned`:
/// the last finalized parachain block whose messages toward ICON are recorded.
const SCAN: TableDefinition<&str, u64> = TableDefinition::new("scan");
/// `link`: which link the store belongs to.
const LINK: TableDefinition<&str, &str> = TableDefinition::new("link");
/// The parachain BMC's messages toward ICON, by sequence number: (parachain block, BTP message).
const TO_ICON: TableDefinition<u64, (u64, &[u8])> = TableDefinition::new("messages_to_icon");
/// `segment`: (first block, last block, messages) of a submission whose fate is not known yet.
const PENDING: TableDefinition<&str, (u64, u64, u64)> = TableDefinition::new("pending");
/// `transaction`: (hash, timestamp in µs, the signed transaction's JSON) of an ICON transaction sent with no result
/// known yet.
const ICON_IN_DOUBT: TableDefinition<&str, ([u8; 32], u64, &str)> = TableDefinition::new("icon_transaction_in_doubt");
/// What earlier versions kept of every ICON block scanned: dropped when a store is opened.
const OLD_IDS: TableDefinition<u64, [u8; 32]> = TableDefinition::new("block_ids");

/// A block as a scan saw it: its id and the sequence numbers of the messages to the parachain in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedBlock {
    pub height: u64,
    pub id: Hash,
    pub messages: Vec<u64>,
}

/// An ICON transaction sent whose result is not known: it may still be executed until its timestamp expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IconInDoubt {
    pub hash: [u8; 32],
    /// Its `timestamp`, µs since the Unix epoch.
    pub timestamp_us: u64,
    /// The signed transaction (JSON): sent again as it is, it is the same transaction, never a second one.
    pub transaction: String,
}

/// A submission in flight: ICON blocks `from..=to` carrying `messages` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub from: u64,
    pub to: u64,
    pub messages: u64,
}

#[derive(Debug)]
pub struct Store {
    db: Database,
    /// Where it is, for errors.
    name: String,
}

impl Store {
    /// Opens (or creates) the store at `path` for `link` (the ICON BMC and the parachain BMC it relays between).
    /// A store of another link is refused, not reused: its blocks and messages are another chain's.
    pub fn open(path: &Path, link: &str) -> Result<Self, String> {
        let name = path.display().to_string();
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => format!("{name}: the store is open in another process (another relay with this store?)"),
            e => format!("{name}: {e}"),
        })?;
        Self::with(db, name, link)
    }

    /// A store in memory, for a source whose knowledge need not outlive it.
    pub fn in_memory(link: &str) -> Result<Self, String> {
        let db = Database::builder().create_with_backend(InMemoryBackend::new()).map_err(|e| format!("in-memory store: {e}"))?;
        Self::with(db, "the in-memory store".into(), link)
    }

    fn with(db: Database, name: String, link: &str) -> Result<Self, String> {
        let store = Self { db, name };
        store.write(|tx| {
            let mut table = tx.open_table(LINK)?;
            let known = table.get("link")?.map(|v| v.value().to_string());
            match known {
                Some(known) if known != link => return Ok(Err(format!("it belongs to the link {known}, not {link}: point the relay at another store"))),
                Some(_) => {}
                None => {
                    table.insert("link", link)?;
                }
            }
            drop(table);
            tx.delete_table(OLD_IDS)?;
            Ok(Ok(()))
        })??;
        Ok(store)
    }

    fn error(&self, e: impl std::fmt::Display) -> String {
        format!("{}: {e}", self.name)
    }

    fn write<R>(&self, f: impl FnOnce(&redb::WriteTransaction) -> Result<R, redb::Error>) -> Result<R, String> {
        let tx = self.db.begin_write().map_err(|e| self.error(e))?;
        let result = f(&tx).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        Ok(result)
    }

    fn read<R>(&self, f: impl FnOnce(&redb::ReadTransaction) -> Result<R, redb::Error>) -> Result<R, String> {
        let tx = self.db.begin_read().map_err(|e| self.error(e))?;
        f(&tx).map_err(|e| self.error(e))
    }

    /// The heights whose ids and messages are all recorded.
    pub fn scanned(&self) -> Result<Option<RangeInclusive<u64>>, String> {
        self.read(|tx| match tx.open_table(SCAN) {
            Ok(table) => scanned(&table),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        })
    }

    /// Records consecutive blocks. Blocks that touch or overlap the scanned heights extend them; blocks apart
    /// from them start a new scan. The last block scanned recorded with another id, or a message in another block,
    /// means the chain is not the one scanned (a reset test chain, another endpoint's fork): everything else is
    /// dropped, the accumulator copy too. Returns whether that happened.
    pub fn record(&self, blocks: &[ScannedBlock]) -> Result<bool, String> {
        let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else { return Ok(false) };
        let batch = first.height..=last.height;
        self.write(|tx| {
            let mut tip = tx.open_table(TIP)?;
            let mut messages = tx.open_table(MESSAGES)?;
            let mut scan = tx.open_table(SCAN)?;
            let known = tip.get("tip")?.map(|v| v.value());
            let mut conflict = false;
            for block in blocks {
                conflict |= known.is_some_and(|(height, id)| height == block.height && id != block.id);
                for seq in &block.messages {
                    conflict |= messages.get(*seq)?.is_some_and(|h| h.value() != block.height);
                }
            }
            let range = match scanned(&scan)? {
                Some(r) if !conflict && *batch.start() <= r.end().saturating_add(1) && batch.end().saturating_add(1) >= *r.start() => {
                    (*r.start()).min(*batch.start())..=(*r.end()).max(*batch.end())
                }
                _ => {
                    messages.retain(|_, _| false)?;
                    batch
                }
            };
            if conflict {
                tx.open_table(WITNESSES)?.remove("witnesses")?;
            }
            for block in blocks {
                for seq in &block.messages {
                    messages.insert(*seq, block.height)?;
                }
            }
            if known.is_none_or(|(height, _)| last.height >= height) || conflict {
                tip.insert("tip", (last.height, last.id))?;
            }
            scan.insert("scanned_from", *range.start())?;
            scan.insert("scanned_to", *range.end())?;
            Ok(conflict)
        })
    }

    /// Forgets every block and message scanned and the accumulator copy (the pending submission stays).
    pub fn clear(&self) -> Result<(), String> {
        self.write(|tx| {
            tx.open_table(TIP)?.retain(|_, _| false)?;
            tx.open_table(MESSAGES)?.retain(|_, _| false)?;
            tx.open_table(SCAN)?.retain(|_, _| false)?;
            tx.open_table(WITNESSES)?.retain(|_, _| false)?;
            Ok(())
        })
    }

    /// Forgets where messages up to `rx_seq` are: the target has them all.
    pub fn forget_messages_through(&self, rx_seq: u64) -> Result<(), String> {
        let any = self.read(|tx| match tx.open_table(MESSAGES) {
            Ok(table) => Ok(table.first()?.is_some_and(|(seq, _)| seq.value() <= rx_seq)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
            Err(e) => Err(e.into()),
        })?;
        if !any {
            return Ok(());
        }
        self.write(|tx| {
            tx.open_table(MESSAGES)?.retain_in(..=rx_seq, |_, _| false)?;
            Ok(())
        })
    }

    /// The accumulator copy, if one was kept.
    pub fn witnesses(&self) -> Result<Option<Witnesses>, String> {
        let bytes = self.read(|tx| match tx.open_table(WITNESSES) {
            Ok(table) => Ok(table.get("witnesses")?.map(|v| v.value().to_vec())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        })?;
        // One that does not decode (another version's) is as good as none: it is rebuilt from ICON.
        Ok(bytes.and_then(|b| Witnesses::decode(&b)))
    }

    /// Keeps (or, with `None`, drops) the accumulator copy; durable before the call returns.
    pub fn set_witnesses(&self, witnesses: Option<&Witnesses>) -> Result<(), String> {
        self.write(|tx| {
            let mut table = tx.open_table(WITNESSES)?;
            match witnesses {
                Some(w) => table.insert("witnesses", w.encode().as_slice()).map(drop)?,
                None => table.remove("witnesses").map(drop)?,
            }
            Ok(())
        })
    }

    /// The height of the block holding message `seq`, when scanned.
    pub fn message_height(&self, seq: u64) -> Result<Option<u64>, String> {
        self.read(|tx| match tx.open_table(MESSAGES) {
            Ok(table) => Ok(table.get(seq)?.map(|h| h.value())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        })
    }

    /// The submission in flight, if one was recorded and not settled.
    pub fn pending(&self) -> Result<Option<Pending>, String> {
        self.read(|tx| match tx.open_table(PENDING) {
            Ok(table) => Ok(table.get("segment")?.map(|v| {
                let (from, to, messages) = v.value();
                Pending { from, to, messages }
            })),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        })
    }

    /// Records (or, with `None`, settles) the submission in flight; durable before the call returns.
    pub fn set_pending(&self, pending: Option<Pending>) -> Result<(), String> {
        self.write(|tx| {
            let mut table = tx.open_table(PENDING)?;
            match pending {
                Some(p) => table.insert("segment", (p.from, p.to, p.messages)).map(drop)?,
                None => table.remove("segment").map(drop)?,
            }
            Ok(())
        })
    }
}

impl Store {
    /// The ICON transaction sent whose result is not known, if any.
    pub fn icon_in_doubt(&self) -> Result<Option<IconInDoubt>, String> {
        self.read(|tx| match tx.open_table(ICON_IN_DOUBT) {
            Ok(table) => Ok(table.get("transaction")?.map(|v| {
                let (hash, timestamp_us, transaction) = v.value();
                IconInDoubt { hash, timestamp_us, transaction: transaction.to_string() }
            })),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        })
    }

    /// Records (or, with `None`, settles) the ICON transaction in doubt; durable before the call returns.
    pub fn set_icon_in_doubt(&self, doubt: Option<IconInDoubt>) -> Result<(), String> {
        self.write(|tx| {
            let mut table = tx.open_table(ICON_IN_DOUBT)?;
            match doubt {
                Some(d) => table.insert("transaction", (d.hash, d.timestamp_us, d.transaction.as_str())).map(drop)?,
                None => table.remove("transaction").map(drop)?,
            }
            Ok(())
        })
    }

    /// The last parachain block whose messages toward ICON are recorded.
    pub fn parachain_scanned(&self) -> Result<Option<u64>, String> {
        self.read(|tx| match tx.open_table(SCAN) {
            Ok(table) => Ok(table.get("parachain_scanned")?.map(|v| v.value())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        })
    }

    /// Records the parachain blocks scanned through `through` and the messages toward ICON found in them, as
    /// (seq, block, message). A sequence number recorded with another message means another chain (a restarted
    /// dev chain with the same contract addresses): what was recorded is dropped first. Returns whether that
    /// happened.
    pub fn record_parachain(&self, through: u64, messages: &[(u64, u64, Vec<u8>)]) -> Result<bool, String> {
        self.write(|tx| {
            let mut table = tx.open_table(TO_ICON)?;
            let mut conflict = false;
            for (seq, block, msg) in messages {
                conflict |= table.get(*seq)?.is_some_and(|v| v.value() != (*block, msg.as_slice()));
            }
            if conflict {
                table.retain(|_, _| false)?;
            }
            for (seq, block, msg) in messages {
                table.insert(*seq, (*block, msg.as_slice()))?;
            }
            tx.open_table(SCAN)?.insert("parachain_scanned", through)?;
            Ok(conflict)
        })
    }

    /// Forgets every parachain block scanned and message recorded, so that the scan starts over.
    pub fn clear_parachain(&self) -> Result<(), String> {
        self.write(|tx| {
            tx.open_table(TO_ICON)?.retain(|_, _| false)?;
            tx.open_table(SCAN)?.remove("parachain_scanned")?;
            Ok(())
        })
    }

    /// Consecutive messages toward ICON from the first recorded after `rx_seq` (ICON has taken those up to it,
    /// which are forgotten now), as (seq, block, message), while their messages add up to at most `max_bytes`.
    pub fn messages_to_icon(&self, rx_seq: u64, max_bytes: usize) -> Result<Vec<(u64, u64, Vec<u8>)>, String> {
        self.write(|tx| {
            let mut table = tx.open_table(TO_ICON)?;
            table.retain_in(..=rx_seq, |_, _| false)?;
            let mut found: Vec<(u64, u64, Vec<u8>)> = Vec::new();
            let mut bytes = 0usize;
            for entry in table.range(rx_seq.saturating_add(1)..)? {
                let (seq, value) = entry?;
                let (seq, (block, msg)) = (seq.value(), value.value());
                let consecutive = found.last().is_none_or(|(last, _, _)| seq == last.saturating_add(1));
                bytes = bytes.saturating_add(msg.len());
                if !consecutive || (bytes > max_bytes && !found.is_empty()) {
                    break;
                }
                found.push((seq, block, msg.to_vec()));
            }
            Ok(found)
        })
    }
}

fn scanned(table: &impl ReadableTable<&'static str, u64>) -> Result<Option<RangeInclusive<u64>>, redb::Error> {
    let from = table.get("scanned_from")?.map(|v| v.value());
    let to = table.get("scanned_to")?.map(|v| v.value());
    Ok(from.zip(to).map(|(from, to)| from..=to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(height: u64, messages: &[u64]) -> ScannedBlock {
        ScannedBlock { height, id: [height as u8; 32], messages: messages.to_vec() }
    }

    #[test]
    fn scans_extend_when_they_touch_and_restart_when_apart() {
        let store = Store::in_memory("a → b").unwrap();
        assert_eq!(store.scanned().unwrap(), None);
        store.record(&[block(10, &[]), block(11, &[1, 2])]).unwrap();
        store.record(&[block(12, &[]), block(13, &[3])]).unwrap();
        store.record(&[block(8, &[]), block(9, &[])]).unwrap();
        assert_eq!(store.scanned().unwrap(), Some(8..=13));
        assert_eq!((store.message_height(2).unwrap(), store.message_height(3).unwrap(), store.message_height(4).unwrap()), (Some(11), Some(13), None));
        store.forget_messages_through(2).unwrap();
        assert_eq!((store.message_height(2).unwrap(), store.message_height(3).unwrap()), (None, Some(13)), "delivered ones are forgotten");
        // Apart from what was scanned: a new scan, the old one dropped.
        store.record(&[block(20, &[5])]).unwrap();
        assert_eq!((store.scanned().unwrap(), store.message_height(3).unwrap()), (Some(20..=20), None));
    }

    #[test]
    fn the_accumulator_copy_is_kept_and_goes_with_another_chain() {
        let store = Store::in_memory("a → b").unwrap();
        assert_eq!(store.witnesses().unwrap(), None);
        let mut copy = Witnesses::new(0, 0);
        copy.add([1; 32], true).unwrap();
        store.set_witnesses(Some(&copy)).unwrap();
        assert_eq!(store.witnesses().unwrap(), Some(copy));
        store.record(&[block(1, &[])]).unwrap();
        let mut forked = block(1, &[]);
        forked.id = [0xff; 32];
        assert!(store.record(&[forked]).unwrap());
        assert_eq!(store.witnesses().unwrap(), None, "another chain's blocks are not proven with it");
    }

    #[test]
    fn another_chain_clears_the_scan() {
        let store = Store::in_memory("a → b").unwrap();
        store.record(&[block(1, &[]), block(2, &[1]), block(3, &[])]).unwrap();
        let mut forked = block(3, &[]);
        forked.id = [0xff; 32];
        assert!(store.record(&[forked, block(4, &[])]).unwrap(), "a block with another id");
        assert_eq!((store.scanned().unwrap(), store.message_height(1).unwrap()), (Some(3..=4), None));
        assert!(!store.record(&[block(5, &[2])]).unwrap());
        assert!(store.record(&[block(6, &[2])]).unwrap(), "message 2 was in block 5");
        assert_eq!((store.scanned().unwrap(), store.message_height(2).unwrap()), (Some(6..=6), Some(6)));
    }

    #[test]
    fn messages_toward_icon_come_in_order_and_go_once_taken() {
        let store = Store::in_memory("a → b").unwrap();
        assert_eq!(store.parachain_scanned().unwrap(), None);
        let m = |seq: u64, block: u64| (seq, block, vec![seq as u8; 10]);
        assert!(!store.record_parachain(7, &[m(1, 3), m(2, 3), m(3, 7)]).unwrap());
        assert!(!store.record_parachain(9, &[m(5, 9)]).unwrap());
        assert_eq!(store.parachain_scanned().unwrap(), Some(9));
        assert_eq!(store.messages_to_icon(0, 1000).unwrap(), vec![m(1, 3), m(2, 3), m(3, 7)], "up to the gap before 5");
        assert_eq!(store.messages_to_icon(1, 15).unwrap(), vec![m(2, 3)], "within the byte limit");
        assert_eq!(store.messages_to_icon(1, 5).unwrap(), vec![m(2, 3)], "one at least");
        assert_eq!(store.messages_to_icon(3, 1000).unwrap(), vec![m(5, 9)], "the caller sees the gap: 4 is missing");
        assert_eq!(store.messages_to_icon(0, 1000).unwrap(), vec![m(5, 9)], "taken ones are forgotten");
        assert!(store.record_parachain(10, &[(5, 10, vec![0])]).unwrap(), "message 5 in another block: another chain");
        assert_eq!(store.messages_to_icon(0, 1000).unwrap(), vec![(5, 10, vec![0])]);
        store.clear_parachain().unwrap();
        assert_eq!((store.parachain_scanned().unwrap(), store.messages_to_icon(0, 1000).unwrap()), (None, vec![]));
    }

    #[test]
    fn it_outlives_the_process_and_belongs_to_one_link() {
        let dir = std::env::temp_dir().join(format!("relay-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.redb");
        {
            let store = Store::open(&path, "a → b").unwrap();
            store.record(&[block(7, &[1])]).unwrap();
            store.set_pending(Some(Pending { from: 5, to: 7, messages: 1 })).unwrap();
            assert!(Store::open(&path, "a → b").unwrap_err().contains("another process"));
        }
        let store = Store::open(&path, "a → b").unwrap();
        assert_eq!((store.scanned().unwrap(), store.pending().unwrap()), (Some(7..=7), Some(Pending { from: 5, to: 7, messages: 1 })));
        store.set_pending(None).unwrap();
        store.clear().unwrap();
        assert_eq!((store.scanned().unwrap(), store.pending().unwrap()), (None, None));
        drop(store);
        assert!(Store::open(&path, "a → c").unwrap_err().contains("belongs to the link a → b"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
