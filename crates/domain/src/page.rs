//! Keyset pagination: a list is read after the key of the last row the client saw, so rows
//! inserted meanwhile never shift a page and no row is visited twice.

/// At most this many rows a page, whatever the client asks.
pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, Clone)]
pub struct PageRequest<K> {
    pub after: Option<K>,
    pub limit: u32,
}

impl<K> PageRequest<K> {
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }

    /// How many rows a backend reads: one more than the page, to learn whether another follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit.clamp(1, MAX_LIMIT)) + 1
    }
}

#[derive(Debug, Clone)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    /// The key of the last item when more rows follow.
    pub next: Option<K>,
}

impl<T, K> Page<T, K> {
    /// Builds a page from rows read with `fetch_limit()`, in list order.
    pub fn from_overfetch(mut rows: Vec<T>, request: &PageRequest<K>, key: impl Fn(&T) -> K) -> Self {
        let limit = request.limit.clamp(1, MAX_LIMIT) as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(key) } else { None };
        Self { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U, K> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}
