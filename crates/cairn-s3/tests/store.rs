//! The bucket store on its own: listing order and roll-up as S3 lists, overwrite and delete, multipart uploads, and
//! recovery from files a crashed write left behind.

use bytes::Bytes;
use cairn_s3::{ObjectMeta, Store, StoreError};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-s3-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn meta() -> ObjectMeta {
    ObjectMeta { writer: "111122223333".into(), ..ObjectMeta::default() }
}

async fn put(s: &Store, key: &str, body: &str) {
    s.put_bytes("b", key, Bytes::from(body.to_string()), meta(), 1).await.unwrap();
}

#[tokio::test]
async fn listing_orders_by_bytes_and_rolls_up_at_the_delimiter() {
    let dir = temp("list");
    let s = Store::open(&dir).unwrap();
    s.create_bucket("b", "111122223333", "us-east-1", 0).unwrap();
    for k in ["a-c", "a/b", "a/c/d", "a/c/e", "b", "a/z", "é", "a/"] {
        put(&s, k, k).await;
    }
    let all = s.list("b", "", None, None, 1000).unwrap();
    let keys: Vec<&str> = all.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["a-c", "a/", "a/b", "a/c/d", "a/c/e", "a/z", "b", "é"]);
    assert!(!all.truncated);

    let top = s.list("b", "", Some("/"), None, 1000).unwrap();
    assert_eq!(top.prefixes, ["a/"]);
    assert_eq!(top.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["a-c", "b", "é"]);

    let under = s.list("b", "a/", Some("/"), None, 1000).unwrap();
    assert_eq!(under.prefixes, ["a/c/"]);
    assert_eq!(under.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["a/", "a/b", "a/z"]);

    // Paging: keys and prefixes count together; a page ending on a prefix continues after everything under it.
    let p1 = s.list("b", "a/", Some("/"), None, 3).unwrap();
    assert_eq!((p1.objects.len(), p1.prefixes.len(), p1.truncated), (2, 1, true));
    assert_eq!(p1.last.as_deref(), Some("a/c/"));
    let p2 = s.list("b", "a/", Some("/"), p1.last.as_deref(), 3).unwrap();
    assert_eq!(p2.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["a/z"]);
    assert!(p2.prefixes.is_empty() && !p2.truncated);

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list("b", "", None, after.as_deref(), 3).unwrap();
        seen.extend(page.objects.iter().map(|o| o.key.clone()));
        if !page.truncated {
            break;
        }
        after = page.last;
    }
    assert_eq!(seen, keys);
    assert!(s.list("b", "zzz", None, None, 10).unwrap().objects.is_empty());
    assert!(matches!(s.list("nope", "", None, None, 10), Err(StoreError::NoSuchBucket)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn overwrite_delete_and_buckets() {
    let dir = temp("rw");
    let s = Store::open(&dir).unwrap();
    s.create_bucket("b", "111122223333", "eu-west-1", 5).unwrap();
    assert!(matches!(s.create_bucket("b", "111122223333", "eu-west-1", 6), Err(StoreError::BucketAlreadyOwnedByYou)));
    assert!(matches!(s.create_bucket("b", "444455556666", "eu-west-1", 6), Err(StoreError::BucketAlreadyExists)));
    put(&s, "k", "first").await;
    put(&s, "k", "second!").await;
    let (o, bytes) = s.get_bytes("b", "k").await.unwrap();
    assert_eq!(&bytes[..], b"second!");
    assert_eq!(o.size, 7);
    assert_eq!(o.etag.len(), 32);
    // Only the current version's file remains.
    assert_eq!(std::fs::read_dir(dir.join("objects/b")).unwrap().count(), 1);
    assert!(matches!(s.delete_bucket("b"), Err(StoreError::BucketNotEmpty)));
    assert!(s.delete("b", "k").await.unwrap());
    assert!(!s.delete("b", "k").await.unwrap(), "deleting a missing key succeeds");
    assert!(matches!(s.head("b", "k"), Err(StoreError::NoSuchKey)));
    s.set_policy("b", Some("{}")).unwrap();
    assert_eq!(s.bucket("b").unwrap().policy.as_deref(), Some("{}"));
    s.delete_bucket("b").unwrap();
    assert!(matches!(s.bucket("b"), Err(StoreError::NoSuchBucket)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn etags_are_md5_and_multipart_etags_count_parts() {
    let dir = temp("mpu");
    let s = Store::open(&dir).unwrap();
    s.create_bucket("b", "111122223333", "us-east-1", 0).unwrap();
    let o = s.put_bytes("b", "hello", Bytes::from_static(b"hello"), meta(), 1).await.unwrap();
    assert_eq!(o.etag, "5d41402abc4b2a76b9719d911017c592");

    let up = s.create_upload("b", "big", meta(), 2).unwrap();
    let big = Bytes::from(vec![7u8; 5 << 20]);
    let p1 = s
        .put_part("b", "big", &up.id, 1, futures::stream::iter([Ok::<_, std::io::Error>(big.clone())]), 3)
        .await
        .unwrap();
    let p2 = s
        .put_part(
            "b",
            "big",
            &up.id,
            2,
            futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"tail"))]),
            3,
        )
        .await
        .unwrap();
    assert_eq!(s.parts("b", "big", &up.id).unwrap().len(), 2);
    let wrong = s.complete_upload("b", "big", &up.id, &[(2, p2.etag.clone()), (1, p1.etag.clone())], 4).await;
    assert!(matches!(wrong, Err(StoreError::InvalidPartOrder)));
    let wrong = s.complete_upload("b", "big", &up.id, &[(1, "0".repeat(32)), (2, p2.etag.clone())], 4).await;
    assert!(matches!(wrong, Err(StoreError::InvalidPart)));
    let small_first = s.complete_upload("b", "big", &up.id, &[(2, p2.etag.clone()), (3, p2.etag.clone())], 4).await;
    assert!(matches!(small_first, Err(StoreError::InvalidPart)), "part 3 was never uploaded");
    let o = s
        .complete_upload("b", "big", &up.id, &[(1, format!("\"{}\"", p1.etag)), (2, p2.etag.clone())], 4)
        .await
        .unwrap();
    assert_eq!(o.size, (5 << 20) + 4);
    assert!(o.etag.ends_with("-2"), "{}", o.etag);
    let (_, bytes) = s.get_bytes("b", "big").await.unwrap();
    assert_eq!(&bytes[..5 << 20], &big[..]);
    assert_eq!(&bytes[5 << 20..], b"tail");
    assert!(matches!(s.upload("b", "big", &up.id), Err(StoreError::NoSuchUpload)));
    assert!(!dir.join("parts").join(&up.id).exists());

    let up = s.create_upload("b", "small", meta(), 5).unwrap();
    let a = s
        .put_part(
            "b",
            "small",
            &up.id,
            1,
            futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"a"))]),
            6,
        )
        .await
        .unwrap();
    let b = s
        .put_part(
            "b",
            "small",
            &up.id,
            2,
            futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"b"))]),
            6,
        )
        .await
        .unwrap();
    let too_small = s.complete_upload("b", "small", &up.id, &[(1, a.etag), (2, b.etag)], 7).await;
    assert!(matches!(too_small, Err(StoreError::EntityTooSmall)));
    s.abort_upload("b", "small", &up.id).await.unwrap();
    assert!(s.uploads("b", "").unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn files_a_crash_left_behind_are_removed_and_indexed_objects_survive() {
    let dir = temp("crash");
    {
        let s = Store::open(&dir).unwrap();
        s.create_bucket("b", "111122223333", "us-east-1", 0).unwrap();
        put(&s, "kept", "data").await;
    }
    // A write that crashed after its file was fsynced but before its index row was committed.
    std::fs::write(dir.join("objects/b/0123456789abcdef0123456789abcdef"), b"orphan").unwrap();
    let s = Store::open(&dir).unwrap();
    assert_eq!(std::fs::read_dir(dir.join("objects/b")).unwrap().count(), 1);
    assert_eq!(&s.get_bytes("b", "kept").await.unwrap().1[..], b"data");
    std::fs::remove_dir_all(&dir).unwrap();
}
