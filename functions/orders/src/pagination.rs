//! `nextToken`: the store's cursor, bound to the query it belongs to and signed with
//! HMAC-SHA256, so a forged or altered token, or one replayed against another query, is
//! rejected instead of being used to read past the query.

use crate::domain::OrderStatus;
use crate::ports::SortOrder;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Shortest accepted signing key. The key comes from the deployment (a secret parameter on
/// AWS, a file in the data dir locally), never from the code.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("nextToken is not valid: it is malformed")]
    Malformed,
    #[error("nextToken is not valid: its signature does not match")]
    BadSignature,
    #[error(
        "nextToken is not valid for this query (it was issued for another status or sortOrder)"
    )]
    OtherQuery,
}

#[derive(Debug, thiserror::Error)]
#[error("the page token key must be at least {MIN_KEY_BYTES} bytes, got {0}")]
pub struct WeakKey(usize);

#[derive(Clone)]
pub struct PageTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens { key: <redacted> }")
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    /// The store's cursor.
    c: String,
    /// The status filter, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<OrderStatus>,
    /// "asc" or "desc".
    o: String,
}

impl PageTokens {
    pub fn new(key: Vec<u8>) -> Result<Self, WeakKey> {
        if key.len() < MIN_KEY_BYTES {
            return Err(WeakKey(key.len()));
        }
        Ok(PageTokens { key })
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    pub fn issue(&self, cursor: &str, status: Option<OrderStatus>, sort: SortOrder) -> String {
        let claims = Claims {
            c: cursor.to_owned(),
            s: status,
            o: sort.as_str().to_owned(),
        };
        // Serialising a struct of strings to JSON cannot fail.
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&payload);
        let sig = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Returns the store cursor inside `token` if it is genuine and was issued for this query.
    pub fn open(
        &self,
        token: &str,
        status: Option<OrderStatus>,
        sort: SortOrder,
    ) -> Result<String, TokenError> {
        let (payload, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.s != status || claims.o != sort.as_str() {
            return Err(TokenError::OtherQuery);
        }
        Ok(claims.c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> PageTokens {
        PageTokens::new(vec![7; 32]).unwrap()
    }

    #[test]
    fn round_trips_and_binds_to_the_query() {
        let t = tokens();
        let token = t.issue("cursor-1", Some(OrderStatus::Pending), SortOrder::Asc);
        assert_eq!(
            t.open(&token, Some(OrderStatus::Pending), SortOrder::Asc)
                .unwrap(),
            "cursor-1"
        );
        assert_eq!(
            t.open(&token, None, SortOrder::Asc),
            Err(TokenError::OtherQuery)
        );
        assert_eq!(
            t.open(&token, Some(OrderStatus::Pending), SortOrder::Desc),
            Err(TokenError::OtherQuery)
        );
    }

    #[test]
    fn rejects_forgeries() {
        let t = tokens();
        let token = t.issue("cursor-1", None, SortOrder::Desc);
        let (payload, sig) = token.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"c":"cursor-9","o":"desc"}"#);
        assert_eq!(
            t.open(&format!("{forged_payload}.{sig}"), None, SortOrder::Desc),
            Err(TokenError::BadSignature)
        );
        let other_key =
            PageTokens::new(vec![8; 32])
                .unwrap()
                .issue("cursor-1", None, SortOrder::Desc);
        assert_eq!(
            t.open(&other_key, None, SortOrder::Desc),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            t.open("garbage", None, SortOrder::Desc),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            t.open(&format!("{payload}.!!"), None, SortOrder::Desc),
            Err(TokenError::Malformed)
        );
        assert!(PageTokens::new(vec![1; 8]).is_err());
    }
}
