//! Resource tags: AddTags, RemoveTags, ListTags, on trails, event data stores, channels and dashboards.

use cairn_api::shapes::{Empty, ListTagsRequest, ListTagsResponse, ResourceTag, TagsRequest};
use cairn_api::{max_len, required, ApiError, ErrorCode, Result};
use cairn_catalog::State;
use cairn_model::{tags, Arn, ResourceKind, Tag};

use crate::trails::{resolve, write, Access};
use crate::{App, Ctx};

/// Most resources one ListTags call may name.
const MAX_LIST_RESOURCES: usize = 20;

/// Resolves a resource ARN to the ARN its tags are kept under.
fn resource(app: &App, state: &State, ctx: &Ctx, id: &str, access: Access) -> Result<String> {
    let arn = Arn::parse(id).map_err(|_| {
        ApiError::new(ErrorCode::CloudTrailARNInvalid, format!("resource id {id:?} is not a valid ARN"))
    })?;
    let Some((kind, _)) = arn.cloudtrail_resource() else {
        return Err(ApiError::new(
            ErrorCode::ResourceTypeNotSupported,
            format!("resource {id} is not a CloudTrail trail, event data store, channel or dashboard"),
        ));
    };
    match kind {
        ResourceKind::Trail => resolve(app, state, ctx, id, access).map(|t| t.arn()).map_err(|e| match e.code {
            ErrorCode::TrailNotFound => ApiError::new(ErrorCode::ResourceNotFound, format!("resource {id} not found")),
            _ => e,
        }),
        ResourceKind::EventDataStore => crate::lake::stores::resolve(state, ctx, id).map(|s| s.arn()),
        ResourceKind::Channel => crate::lake::channels::resolve(state, ctx, id).map(|c| c.arn()),
        ResourceKind::Dashboard => crate::lake::dashboards::resolve_arn(state, ctx, id),
    }
}

fn change_tags(
    app: &App,
    ctx: &Ctx,
    req: TagsRequest,
    f: fn(&[Tag], &[Tag]) -> cairn_model::Result<Vec<Tag>>,
) -> Result<Empty> {
    let id = required(req.resource_id, "resourceId")?;
    let given = required(req.tags_list, "tagsList")?;
    max_len(&given, 200, "tagsList")?;
    write(app, |state, changes| {
        let arn = resource(app, state, ctx, &id, Access::Manage)?;
        let new = f(state.tags(&arn), &given)?;
        changes.set_tags(arn, new);
        Ok(Empty {})
    })
}

pub(crate) fn add(app: &App, ctx: &Ctx, req: TagsRequest) -> Result<Empty> {
    change_tags(app, ctx, req, tags::merge)
}

pub(crate) fn remove(app: &App, ctx: &Ctx, req: TagsRequest) -> Result<Empty> {
    change_tags(app, ctx, req, tags::remove)
}

pub(crate) fn list(app: &App, ctx: &Ctx, req: ListTagsRequest) -> Result<ListTagsResponse> {
    let ids = required(req.resource_id_list, "resourceIdList")?;
    max_len(&ids, MAX_LIST_RESOURCES, "resourceIdList")?;
    app.catalog.read(|state| {
        let resource_tag_list = ids
            .iter()
            .map(|id| {
                let arn = resource(app, state, ctx, id, Access::Read)?;
                Ok(ResourceTag { tags_list: state.tags(&arn).to_vec(), resource_id: arn })
            })
            .collect::<Result<_>>()?;
        Ok(ListTagsResponse { resource_tag_list })
    })
}
