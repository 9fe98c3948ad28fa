//! Log file integrity against the real binary: ListPublicKeys with the official SDK.

use aws_sdk_cloudtrail::primitives::DateTime;

use crate::common::{code, Server, TempDir, MGMT};

#[tokio::test]
async fn list_public_keys_returns_each_regions_signing_key() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir);
    let east = server.client(MGMT, "us-east-1");
    let keys = east.list_public_keys().send().await.unwrap();
    let keys = keys.public_key_list();
    assert_eq!(keys.len(), 1, "the region's key is created on first use");
    let key = &keys[0];
    let der = key.value().unwrap().as_ref().to_vec();
    assert_eq!(der[0], 0x30, "a DER SEQUENCE: PKCS#1 RSAPublicKey");
    assert!((265..=275).contains(&der.len()), "a 2048-bit key: {} bytes", der.len());
    assert_eq!(key.fingerprint(), Some(cairn_integrity::fingerprint(&der).as_str()));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (start, end) = (key.validity_start_time().unwrap().secs(), key.validity_end_time().unwrap().secs());
    assert!(start <= now && now < end && end - start == 30 * 86_400, "{start} {end} {now}");

    // Each region signs with its own key.
    let west = server.client(MGMT, "eu-west-1").list_public_keys().send().await.unwrap();
    assert_ne!(west.public_key_list()[0].fingerprint(), key.fingerprint());
    // Ranges: one before any key has nothing; a reversed one and a token are refused.
    let past = east
        .list_public_keys()
        .start_time(DateTime::from_secs(now - 400 * 86_400))
        .end_time(DateTime::from_secs(now - 300 * 86_400))
        .send()
        .await
        .unwrap();
    assert!(past.public_key_list().is_empty());
    let reversed =
        east.list_public_keys().start_time(DateTime::from_secs(now)).end_time(DateTime::from_secs(now - 10)).send();
    assert_eq!(code(reversed.await), "InvalidTimeRangeException");
    assert_eq!(code(east.list_public_keys().next_token("abc").send().await), "InvalidTokenException");

    // The key is kept: after a crash the same key is listed.
    server.kill();
    let server = Server::start(&dir);
    let again = server.client(MGMT, "us-east-1").list_public_keys().send().await.unwrap();
    assert_eq!(again.public_key_list()[0].fingerprint(), key.fingerprint());
}
