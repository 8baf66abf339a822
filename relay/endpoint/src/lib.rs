//! A chain's RPC endpoints as the relay uses them: one or several per chain ([`Endpoints`]), the relay reading
//! from the first of them that answers and keeps up, and coming back to an earlier one once it does again. An
//! endpoint's URL may carry secrets (a provider's API key in the query, a user and password): it is shown, in
//! logs, errors, metrics and `/health`, only as [`redact`] writes it.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Whether a path segment looks like a key some providers put in the path (`wss://host/<key>`): long, of letters
/// and digits both.
fn looks_secret(segment: &str) -> bool {
    segment.len() >= 16
        && segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && segment.chars().any(|c| c.is_ascii_digit())
        && segment.chars().any(|c| c.is_ascii_alphabetic())
}

/// `url` as it may be shown: the user and password (`user:pass@`), the query (`?apikey=…`) and path segments that
/// look like keys replaced by `***`, a fragment dropped; scheme, host, port and the rest of the path kept, so that
/// operators still tell their endpoints apart.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let tail = tail.split_once('#').map_or(tail, |(before, _)| before);
    let (path, query) = tail.split_once('?').map_or((tail, None), |(p, q)| (p, Some(q)));
    let path: Vec<&str> = path.split('/').map(|segment| if looks_secret(segment) { "***" } else { segment }).collect();
    let query = if query.is_some() { "?***" } else { "" };
    format!("{scheme}{authority}{}{query}", path.join("/"))
}

/// `text` (an error from a library that names the URL it failed on) with every occurrence of `url` redacted.
pub fn redact_in(text: &str, url: &str) -> String {
    if url.is_empty() {
        return text.to_string();
    }
    text.replace(url, &redact(url))
}

/// A list of URLs as configuration and command lines take it: separated by commas (or white space).
pub fn split(urls: &str) -> Vec<String> {
    urls.split(|c: char| c == ',' || c.is_whitespace()).filter(|u| !u.is_empty()).map(str::to_string).collect()
}

/// What is known of one endpoint.
#[derive(Debug, Clone, Copy, Default)]
struct Health {
    /// When it last failed to answer, until it answers again.
    failed: Option<Instant>,
    /// Its head when last asked.
    head: Option<u64>,
}

/// One chain's endpoints, in the operator's order of preference, and what is known of each: whether it answers
/// and how far its head is. Shared by everything that reads the chain, and by the prober that keeps it current.
pub struct Endpoints {
    urls: Vec<String>,
    shown: Vec<String>,
    /// How far under the best head seen an endpoint may be and still be used.
    max_lag: u64,
    health: Mutex<Vec<Health>>,
}

/// Shows the URLs without their secrets.
impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints").field("urls", &self.shown).field("max_lag", &self.max_lag).finish()
    }
}

impl Endpoints {
    /// The endpoints `urls` (at least one), an endpoint more than `max_lag` blocks under the best head seen passed
    /// over.
    pub fn new(urls: Vec<String>, max_lag: u64) -> Result<Self, String> {
        if urls.is_empty() {
            return Err("no endpoint URL".into());
        }
        let shown = urls.iter().map(|u| redact(u)).collect();
        let health = Mutex::new(vec![Health::default(); urls.len()]);
        Ok(Self { urls, shown, max_lag, health })
    }

    /// The one endpoint `url`.
    pub fn single(url: &str) -> Self {
        Self { urls: vec![url.into()], shown: vec![redact(url)], max_lag: u64::MAX, health: Mutex::new(vec![Health::default()]) }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Vec<Health>> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn len(&self) -> usize {
        self.urls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    pub fn url(&self, i: usize) -> &str {
        &self.urls[i.min(self.urls.len() - 1)]
    }

    /// Endpoint `i`'s URL as it may be shown.
    pub fn shown(&self, i: usize) -> &str {
        &self.shown[i.min(self.shown.len() - 1)]
    }

    /// The endpoint to read from: the first, in the operator's order, that answers and whose head is within the
    /// allowed lag of the best head seen; when none answers, the one that failed longest ago (so that each is
    /// tried in turn).
    pub fn preferred(&self) -> usize {
        let health = self.health();
        let best = health.iter().filter(|h| h.failed.is_none()).filter_map(|h| h.head).max();
        let keeps_up = |h: &Health| match (h.head, best) {
            (Some(head), Some(best)) => best.saturating_sub(head) <= self.max_lag,
            _ => true,
        };
        // The one with the best head keeps up: only when none answers does the second rule pick.
        health
            .iter()
            .position(|h| h.failed.is_none() && keeps_up(h))
            .or_else(|| health.iter().enumerate().min_by_key(|(_, h)| h.failed).map(|(i, _)| i))
            .unwrap_or(0)
    }

    /// Endpoint `i` did not answer (or answered only a transport failure).
    pub fn failed(&self, i: usize) {
        if let Some(h) = self.health().get_mut(i) {
            h.failed = Some(Instant::now());
        }
    }

    /// Endpoint `i` answered, at head `head` when that was asked.
    pub fn answered(&self, i: usize, head: Option<u64>) {
        if let Some(h) = self.health().get_mut(i) {
            h.failed = None;
            if head.is_some() {
                h.head = head;
            }
        }
    }

    /// Each endpoint as shown, and whether it is up: answering, and keeping up with the best head seen.
    pub fn up(&self) -> Vec<(String, bool)> {
        let health = self.health().clone();
        let best = health.iter().filter(|h| h.failed.is_none()).filter_map(|h| h.head).max();
        self.shown
            .iter()
            .zip(health)
            .map(|(shown, h)| (shown.clone(), h.failed.is_none() && h.head.zip(best).is_none_or(|(head, best)| best.saturating_sub(head) <= self.max_lag)))
            .collect()
    }
}

/// Asks each endpoint for its head every `every`, forever (a task of its own), so that one that failed is found
/// answering again and one that falls behind is passed over: `head` reads one endpoint's head, given its URL.
pub async fn probe<F, Fut>(endpoints: Arc<Endpoints>, every: Duration, head: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<u64, String>>,
{
    loop {
        for i in 0..endpoints.len() {
            match tokio::time::timeout(every.max(Duration::from_secs(1)), head(endpoints.url(i).to_string())).await {
                Ok(Ok(h)) => endpoints.answered(i, Some(h)),
                _ => endpoints.failed(i),
            }
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_endpoint_that_answers_and_keeps_up_is_read() {
        let endpoints = Endpoints::new(split("http://a, http://b,http://c"), 5).unwrap();
        assert_eq!((endpoints.len(), endpoints.url(2)), (3, "http://c"));
        assert_eq!(endpoints.preferred(), 0, "the operator's first, until it fails");
        endpoints.failed(0);
        assert_eq!(endpoints.preferred(), 1);
        endpoints.answered(1, Some(100));
        endpoints.answered(2, Some(110));
        assert_eq!(endpoints.preferred(), 2, "b is 10 blocks behind c");
        endpoints.answered(0, Some(108));
        assert_eq!(endpoints.preferred(), 0, "back to the first once it answers and keeps up");
        assert_eq!(endpoints.up().iter().map(|(_, up)| *up).collect::<Vec<_>>(), [true, false, true]);
        for i in 0..3 {
            endpoints.failed(i);
        }
        assert_eq!(endpoints.preferred(), 0, "none answers: the one that failed longest ago");
        assert!(Endpoints::new(vec![], 1).is_err());
    }

    #[test]
    fn rpc_url_secrets_are_redacted() {
        let cases = [
            ("https://user:pa55@rpc.example.com:443/api/v3?apikey=S3CRET#x", "https://***@rpc.example.com:443/api/v3?***"),
            ("wss://rpc.example.com/ws?token=S3CRET", "wss://rpc.example.com/ws?***"),
            ("ws://127.0.0.1:9944", "ws://127.0.0.1:9944"),
            ("http://127.0.0.1:9080/api/v3/icon_dex", "http://127.0.0.1:9080/api/v3/icon_dex"),
            ("http://key@host?x=1", "http://***@host?***"),
            ("host:1/path", "host:1/path"),
            ("wss://rpc.example.com/polkadot/a1b2c3d4e5f6a7b8c9d0", "wss://rpc.example.com/polkadot/***"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
        }
        let error = "error sending request for url (https://user:pa55@rpc.example.com/api/v3?apikey=S3CRET)";
        let shown = redact_in(error, "https://user:pa55@rpc.example.com/api/v3?apikey=S3CRET");
        assert!(!shown.contains("S3CRET") && !shown.contains("pa55"), "{shown}");
    }
}
