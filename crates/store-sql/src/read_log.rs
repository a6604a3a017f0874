//! Group commit of the audit rows that staff reads write.
//!
//! Every time staff or a therapist reads a child's sessions, rows go into the audit log before
//! the answer does. Written one request at a time, each read is a commit of its own: on SQLite
//! a turn at the one writer's lock that also ends every other connection's page cache, on
//! PostgreSQL a WAL flush. Here concurrent readers queue their rows; a writer writes all that
//! is queued in one statement (a part per reader) while the others wait, and whoever comes
//! next writes whatever queued meanwhile (one writer at a time on SQLite, two on PostgreSQL,
//! where a single writer made a busy day's reads wait: 587 -> 508 req/s, with two 609).
//! Nobody is answered before their rows are committed, a reader alone writes at once on its own
//! connection (no timer, no added wait), and a batch that fails is written again reader by
//! reader, so one reader's error never becomes another's.

use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Instant;

use carenest_domain::audit::{Actor, AuditAction};
use carenest_domain::ids::SessionId;
use carenest_domain::StoreResult;
use tokio::sync::{oneshot, Semaphore};

use crate::pool::Pooled;
use crate::{Dialect, SqlStore};

/// One reader's rows, waiting to be written.
struct Queued {
    reader: Actor,
    sessions: Vec<SessionId>,
    /// Told `true` once the rows are committed, `false` if their batch failed.
    written: oneshot::Sender<bool>,
}

/// The readers waiting, and the turns to write them.
pub(crate) struct ReadLog {
    queue: SyncMutex<Vec<Queued>>,
    /// A writer holds one from taking a batch until it is committed.
    writing: Arc<Semaphore>,
}

impl ReadLog {
    /// Where the database takes one writer at a time, one batch at a time; elsewhere two, so
    /// that one batch's rows are inserted while the other's commit is flushed.
    pub(crate) fn new(one_writer: bool) -> Self {
        Self { queue: SyncMutex::default(), writing: Arc::new(Semaphore::new(if one_writer { 1 } else { 2 })) }
    }

    fn enqueue(&self, queued: Queued) {
        self.queue.lock().expect("the read log's queue is never poisoned").push(queued);
    }

    fn take(&self) -> Vec<Queued> {
        std::mem::take(&mut *self.queue.lock().expect("the read log's queue is never poisoned"))
    }
}

/// The sessions each reader read, in the order the readers came: a reader with several reads
/// in the batch (a busy client) is one part of the statement, not one per read.
fn by_reader(batch: &[Queued]) -> Vec<(Actor, Vec<SessionId>)> {
    let mut reads: Vec<(Actor, Vec<SessionId>)> = Vec::new();
    for queued in batch {
        match reads.iter_mut().find(|(reader, _)| *reader == queued.reader) {
            Some((_, sessions)) => sessions.extend_from_slice(&queued.sessions),
            None => reads.push((queued.reader, queued.sessions.clone())),
        }
    }
    reads
}

impl<D: Dialect> SqlStore<D> {
    /// Records that `reader` read `sessions` (of children; see `audit_sessions`), committed
    /// before this returns, together with the reads of whoever else is waiting. `conn` is the
    /// reader's own connection: used when nobody else is writing, given back when it would
    /// only wait.
    pub(crate) async fn log_session_reads(
        &self,
        conn: Pooled<D::Db>,
        reader: Actor,
        sessions: Vec<SessionId>,
    ) -> StoreResult<()> {
        let (written, mut outcome) = oneshot::channel();
        self.read_log.enqueue(Queued { reader, sessions: sessions.clone(), written });
        let (writing, conn) = match self.read_log.writing.clone().try_acquire_owned() {
            Ok(writing) => (writing, Some(conn)),
            Err(_) => {
                drop(conn);
                let writing = self.read_log.writing.clone().acquire_owned().await;
                (writing.expect("the read log never closes its turns"), None)
            }
        };
        if let Ok(committed) = outcome.try_recv() {
            // A batch before took these rows.
            drop(writing);
            return self.log_alone_unless(committed, reader, &sessions).await;
        }
        let mut conn = match conn {
            Some(conn) => conn,
            None => self.connection().await?,
        };
        let turn = self.take_turn().await;
        let batch = self.read_log.take();
        if batch.is_empty() {
            // The other writer has these rows in hand.
            drop((writing, turn, conn));
            return self.log_alone_unless(outcome.await.unwrap_or(false), reader, &sessions).await;
        }
        let sql = self.session_audit_sql(AuditAction::Read, by_reader(&batch).iter().map(|(r, s)| (*r, s.as_slice())));
        self.sent();
        let slow = self.slow_statement;
        // The batch is written to the end whatever happens to this request: the others' answers
        // wait on it.
        tokio::spawn(async move {
            let started = Instant::now();
            let outcome = D::execute(conn.raw(), sql).await;
            crate::record_statement("insert", started, slow);
            if outcome.as_ref().is_err_and(D::connection_lost) {
                conn.lose();
            }
            // The turn goes first, so that a reader who comes next on the same client finds no
            // writer busy; a waiter taking it before its answer arrives finds its rows gone
            // from the queue and waits for that answer.
            drop((conn, turn, writing));
            for queued in batch {
                let _ = queued.written.send(outcome.is_ok());
            }
        });
        let committed = outcome.await.unwrap_or(false);
        self.log_alone_unless(committed, reader, &sessions).await
    }

    /// After a failed batch, the reader's rows on their own, with the reader's own error.
    async fn log_alone_unless(&self, committed: bool, reader: Actor, sessions: &[SessionId]) -> StoreResult<()> {
        if committed {
            return Ok(());
        }
        let mut conn = self.connection().await?;
        let _turn = self.take_turn().await;
        self.audit_sessions(&mut conn, reader, AuditAction::Read, sessions).await
    }
}
