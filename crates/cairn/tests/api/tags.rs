//! AddTags, RemoveTags and ListTags through the SDK.

use crate::common::*;
use aws_sdk_cloudtrail::types::Tag;

const REGION: &str = "us-east-1";

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

#[tokio::test]
async fn add_list_remove_and_limits() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    let arn = ct
        .create_trail()
        .name("tagged")
        .s3_bucket_name("trail-bucket")
        .tags_list(tag("env", "prod"))
        .send()
        .await
        .unwrap()
        .trail_arn
        .unwrap();
    ct.add_tags()
        .resource_id(&arn)
        .tags_list(tag("team", "sec"))
        .tags_list(tag("env", "staging"))
        .send()
        .await
        .unwrap();
    let list = ct.list_tags().resource_id_list(&arn).send().await.unwrap();
    let tags = list.resource_tag_list()[0].tags_list();
    assert_eq!(tags, [tag("env", "staging"), tag("team", "sec")]);
    ct.remove_tags().resource_id(&arn).tags_list(Tag::builder().key("env").build().unwrap()).send().await.unwrap();
    let list = ct.list_tags().resource_id_list(&arn).send().await.unwrap();
    assert_eq!(list.resource_tag_list()[0].tags_list(), [tag("team", "sec")]);

    let mut many = ct.add_tags().resource_id(&arn);
    for i in 0..50 {
        many = many.tags_list(tag(&format!("k{i}"), "v"));
    }
    assert_eq!(code(many.send().await), "TagsLimitExceededException");
    let eds = "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE";
    let cases = vec![
        ("InvalidTagParameterException", ct.add_tags().resource_id(&arn).tags_list(tag("aws:x", "v"))),
        (
            "InvalidTagParameterException",
            ct.add_tags().resource_id(&arn).tags_list(tag("dup", "1")).tags_list(tag("dup", "2")),
        ),
        (
            "ResourceNotFoundException",
            ct.add_tags()
                .resource_id("arn:aws:cloudtrail:us-east-1:111111111111:trail/absent")
                .tags_list(tag("a", "b")),
        ),
        ("CloudTrailARNInvalidException", ct.add_tags().resource_id("tagged").tags_list(tag("a", "b"))),
        (
            "ResourceTypeNotSupportedException",
            ct.add_tags().resource_id("arn:aws:s3:::trail-bucket").tags_list(tag("a", "b")),
        ),
        ("EventDataStoreNotFoundException", ct.add_tags().resource_id(eds).tags_list(tag("a", "b"))),
        ("ValidationException", ct.add_tags().resource_id(&arn)),
    ];
    for (want, call) in cases {
        assert_eq!(code(call.send().await), want);
    }
    let mut twenty_one = ct.list_tags();
    for _ in 0..21 {
        twenty_one = twenty_one.resource_id_list(&arn);
    }
    assert_eq!(code(twenty_one.send().await), "ValidationException");
    let list = ct.list_tags().resource_id_list(&arn).send().await.unwrap();
    assert_eq!(list.resource_tag_list()[0].tags_list(), [tag("team", "sec")], "refused tag changes changed the tags");

    // Deleting the trail deletes its tags; a new trail of the same name starts untagged.
    ct.delete_trail().name(&arn).send().await.unwrap();
    ct.create_trail().name("tagged").s3_bucket_name("trail-bucket").send().await.unwrap();
    let list = ct.list_tags().resource_id_list(&arn).send().await.unwrap();
    assert!(list.resource_tag_list()[0].tags_list().is_empty());
    // Other accounts cannot see or tag it.
    let outsider = server.client(OUTSIDER, REGION);
    assert_eq!(code(outsider.list_tags().resource_id_list(&arn).send().await), "ResourceNotFoundException");
    assert_eq!(
        code(outsider.add_tags().resource_id(&arn).tags_list(tag("a", "b")).send().await),
        "ResourceNotFoundException"
    );
}
