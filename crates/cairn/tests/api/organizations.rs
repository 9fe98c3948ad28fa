//! Organization trails and delegated administrators through the SDK.

use crate::common::*;

const REGION: &str = "us-east-1";

#[tokio::test]
async fn organization_trails_are_seen_by_members_and_changed_only_by_managers() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let mgmt = server.client(MGMT, REGION);
    let member = server.client(MEMBER, REGION);
    let outsider = server.client(OUTSIDER, REGION);
    let org = mgmt
        .create_trail()
        .name("org-trail")
        .s3_bucket_name("trail-bucket")
        .is_organization_trail(true)
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    assert_eq!(org.is_organization_trail(), Some(true));
    let arn = org.trail_arn().unwrap().to_string();

    // Members see it (as a shadow trail), by listing, name and ARN; outsiders do not.
    let seen = member.describe_trails().send().await.unwrap();
    assert_eq!(seen.trail_list().len(), 1);
    assert_eq!(seen.trail_list()[0].trail_arn(), Some(arn.as_str()));
    assert!(member.describe_trails().include_shadow_trails(false).send().await.unwrap().trail_list().is_empty());
    member.get_trail().name("org-trail").send().await.unwrap();
    member.get_trail_status().name(&arn).send().await.unwrap();
    member.get_event_selectors().trail_name(&arn).send().await.unwrap();
    assert_eq!(member.list_trails().send().await.unwrap().trails().len(), 1);
    assert!(outsider.describe_trails().send().await.unwrap().trail_list().is_empty());

    // Members cannot change, stop, tag or delete it.
    for got in [
        code(member.update_trail().name(&arn).enable_log_file_validation(true).send().await),
        code(member.stop_logging().name(&arn).send().await),
        code(member.start_logging().name(&arn).send().await),
        code(member.delete_trail().name(&arn).send().await),
        code(
            member
                .put_event_selectors()
                .trail_name(&arn)
                .event_selectors(aws_sdk_cloudtrail::types::EventSelector::builder().build())
                .send()
                .await,
        ),
        code(
            member
                .add_tags()
                .resource_id(&arn)
                .tags_list(aws_sdk_cloudtrail::types::Tag::builder().key("k").build().unwrap())
                .send()
                .await,
        ),
    ] {
        assert_eq!(got, "NotOrganizationMasterAccountException");
    }
    assert!(!mgmt.get_trail_status().name("org-trail").send().await.unwrap().is_logging().unwrap());

    // Only the management account or a delegated administrator creates organization trails.
    let org_trail = |c: &aws_sdk_cloudtrail::Client, name: &str| {
        c.create_trail().name(name).s3_bucket_name("trail-bucket").is_organization_trail(true)
    };
    assert_eq!(code(org_trail(&member, "by-member").send().await), "NotOrganizationMasterAccountException");
    member.create_trail().name("own").s3_bucket_name("trail-bucket").send().await.unwrap();
    assert_eq!(
        code(member.update_trail().name("own").is_organization_trail(true).send().await),
        "NotOrganizationMasterAccountException"
    );
    assert_eq!(
        member.get_trail().name("own").send().await.unwrap().trail.unwrap().is_organization_trail(),
        Some(false)
    );
    assert_eq!(code(org_trail(&outsider, "by-outsider").send().await), "OrganizationsNotInUseException");
    mgmt.register_organization_delegated_admin().member_account_id(MEMBER.0).send().await.unwrap();
    let delegated = org_trail(&member, "by-delegate").send().await.unwrap();
    // An organization trail belongs to the management account even when a delegated administrator creates it.
    assert_eq!(delegated.trail_arn(), Some("arn:aws:cloudtrail:us-east-1:111111111111:trail/by-delegate"));
    member.update_trail().name(&arn).enable_log_file_validation(true).send().await.unwrap();
    member.start_logging().name(&arn).send().await.unwrap();
    assert!(mgmt.get_trail_status().name("org-trail").send().await.unwrap().is_logging().unwrap());
    // Other members still cannot.
    let member2 = server.client(MEMBER2, REGION);
    assert_eq!(code(member2.stop_logging().name(&arn).send().await), "NotOrganizationMasterAccountException");
    mgmt.deregister_organization_delegated_admin().delegated_admin_account_id(MEMBER.0).send().await.unwrap();
    assert_eq!(code(member.stop_logging().name(&arn).send().await), "NotOrganizationMasterAccountException");
    mgmt.delete_trail().name(&arn).send().await.unwrap();
    let left: Vec<_> = member
        .describe_trails()
        .send()
        .await
        .unwrap()
        .trail_list()
        .iter()
        .map(|t| t.name().unwrap().to_string())
        .collect();
    assert_eq!(left, ["by-delegate", "own"]);
}

#[tokio::test]
async fn delegated_administrator_rules() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let mgmt = server.client(MGMT, REGION);
    let member = server.client(MEMBER, REGION);
    let register =
        |c: &aws_sdk_cloudtrail::Client, id: &str| c.register_organization_delegated_admin().member_account_id(id);
    let deregister = |c: &aws_sdk_cloudtrail::Client, id: &str| {
        c.deregister_organization_delegated_admin().delegated_admin_account_id(id)
    };

    assert_eq!(code(register(&member, "444444444444").send().await), "NotOrganizationManagementAccountException");
    assert_eq!(
        code(register(&server.client(OUTSIDER, REGION), "444444444444").send().await),
        "OrganizationsNotInUseException"
    );
    assert_eq!(code(register(&mgmt, MGMT.0).send().await), "CannotDelegateManagementAccountException");
    assert_eq!(code(register(&mgmt, "999999999999").send().await), "AccountNotFoundException");
    assert_eq!(code(register(&mgmt, "12ab").send().await), "ValidationException");
    assert_eq!(code(mgmt.register_organization_delegated_admin().send().await), "ValidationException");
    assert_eq!(code(deregister(&mgmt, "222222222222").send().await), "AccountNotRegisteredException");

    for id in ["222222222222", "444444444444", "555555555555"] {
        register(&mgmt, id).send().await.unwrap();
    }
    assert_eq!(code(register(&mgmt, "222222222222").send().await), "AccountRegisteredException");
    assert_eq!(code(register(&mgmt, "666666666666").send().await), "DelegatedAdminAccountLimitExceededException");
    assert_eq!(code(deregister(&member, "222222222222").send().await), "NotOrganizationManagementAccountException");
    deregister(&mgmt, "555555555555").send().await.unwrap();
    register(&mgmt, "666666666666").send().await.unwrap();
    assert_eq!(code(deregister(&mgmt, "555555555555").send().await), "AccountNotRegisteredException");
}
