//! A chain's RPC endpoints as the relay uses them. An endpoint's URL may carry secrets (a provider's API key in
//! the query, a user and password): it is shown, in logs, errors, metrics and `/health`, only as [`redact`] writes
//! it.

/// `url` as it may be shown: the user and password (`user:pass@`) and the query (`?apikey=…`) replaced by `***`,
/// a fragment dropped; scheme, host, port and path kept, so that operators still tell their endpoints apart.
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
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?***"),
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

/// `text` (an error from a library that names the URL it failed on) with every occurrence of `url` redacted.
pub fn redact_in(text: &str, url: &str) -> String {
    if url.is_empty() {
        return text.to_string();
    }
    text.replace(url, &redact(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_url_secrets_are_redacted() {
        let cases = [
            ("https://user:pa55@rpc.example.com:443/api/v3?apikey=S3CRET#x", "https://***@rpc.example.com:443/api/v3?***"),
            ("wss://rpc.example.com/ws?token=S3CRET", "wss://rpc.example.com/ws?***"),
            ("ws://127.0.0.1:9944", "ws://127.0.0.1:9944"),
            ("http://127.0.0.1:9080/api/v3/icon_dex", "http://127.0.0.1:9080/api/v3/icon_dex"),
            ("http://key@host?x=1", "http://***@host?***"),
            ("host:1/path", "host:1/path"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
        }
        let error = "error sending request for url (https://user:pa55@rpc.example.com/api/v3?apikey=S3CRET)";
        let shown = redact_in(error, "https://user:pa55@rpc.example.com/api/v3?apikey=S3CRET");
        assert!(!shown.contains("S3CRET") && !shown.contains("pa55"), "{shown}");
    }
}
