//! EnableFederation and DisableFederation: a federated store's files are a stable, documented table that outside
//! engines read directly (DuckDB, Trino, Spark, Athena), as Lake federation registers a store in the Glue catalog.
//!
//! A store's files are Parquet in the Lake schema under Hive-style date partitions
//! (`<data>/lake/<id>/date=YYYY-MM-DD/*.parquet`); enabling federation also writes `_table.json` there, the table's
//! description (name, location, partition key, columns with Lake's types) for catalogs to register, and removing it
//! again on disable. An encrypted store's files stay encrypted: `_table.json` then also gives the data key encrypted
//! under the store's KMS key, for a reader the key policy lets decrypt it. cairn has no IAM: the role is checked
//! for form and must be of the caller's account. A federated store cannot be deleted
//! (EventDataStoreFederationEnabledException).

use cairn_api::lake::{FederationRequest, FederationResponse};
use cairn_api::{required, ApiError, ErrorCode, Result};
use serde_json::json;

use super::stores::{active, resolve};
use crate::trails::write;
use crate::{App, Ctx};

/// The description of a federated store's table, beside its partitions.
pub(crate) const TABLE_FILE: &str = "_table.json";

fn describe(app: &App, store: &cairn_model::EventDataStore) -> serde_json::Value {
    let location = app.settings.data_dir.join("lake").join(&store.id);
    let columns: Vec<serde_json::Value> = super::kind_of(store)
        .schema()
        .fields()
        .iter()
        .map(|f| json!({ "Name": f.name(), "Type": cairn_store::lake::schema::type_name(f.data_type()) }))
        .collect();
    let mut table = json!({
        "TableName": store.id.replace('-', "_"),
        "EventDataStoreName": store.name,
        "Location": location,
        "Format": "parquet",
        "PartitionKeys": [{ "Name": "date", "Type": "string" }],
        "Files": location.join("date=*").join("*.parquet"),
        "Columns": columns,
    });
    // An encrypted store's files need its data key: KMS gives it to whoever the key policy lets decrypt it.
    if let Some(blob) = &store.data_key {
        table["Encryption"] = json!({
            "Scheme": "Parquet modular encryption, uniform: AES_GCM_V1, encrypted footer, every column under the footer key",
            "KmsKeyId": store.kms_key_id,
            "FooterKeyCiphertextBlob": blob,
            "EncryptionContext": { "aws:cloudtrail:arn": store.arn() },
            "Note": "files written before the store had its key are in clear (they end in PAR1, encrypted ones in PARE)",
        });
    }
    table
}

/// Writes the table description of a federated store (again, when its settings change).
pub(crate) fn publish(app: &App, store: &cairn_model::EventDataStore) {
    let dir = app.settings.data_dir.join("lake").join(&store.id);
    let text = serde_json::to_vec_pretty(&describe(app, store)).unwrap_or_default();
    let written = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join(TABLE_FILE), text));
    if let Err(e) = written {
        tracing::error!(store = store.id, error = %e, "cannot write a federated store's table description");
    }
}

pub(crate) fn enable(app: &App, ctx: &Ctx, req: FederationRequest) -> Result<FederationResponse> {
    let given = required(req.event_data_store, "eventDataStore")?;
    let role = required(req.federation_role_arn, "federationRoleArn")?;
    let role_ok = role.strip_prefix(&format!("arn:aws:iam::{}:role/", ctx.account_id)).is_some_and(|n| !n.is_empty());
    if !role_ok {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("FederationRoleArn {role} must be a role of account {}", ctx.account_id),
        ));
    }
    let now = app.clock.now_millis();
    let store = write(app, |state, changes| {
        let store = resolve(state, ctx, &given)?;
        active(store)?;
        if store.federation_role_arn.is_some() {
            return Err(ApiError::new(
                ErrorCode::EventDataStoreFederationEnabled,
                format!("Lake query federation is already enabled for {}", store.arn()),
            ));
        }
        let mut store = store.clone();
        store.federation_role_arn = Some(role.clone());
        store.updated_ms = now;
        changes.put_store(store.clone());
        Ok(store)
    })?;
    publish(app, &store);
    Ok(FederationResponse {
        event_data_store_arn: store.arn(),
        federation_status: "ENABLED".into(),
        federation_role_arn: Some(role),
    })
}

pub(crate) fn disable(app: &App, ctx: &Ctx, req: FederationRequest) -> Result<FederationResponse> {
    let given = required(req.event_data_store, "eventDataStore")?;
    let now = app.clock.now_millis();
    let store = write(app, |state, changes| {
        let store = resolve(state, ctx, &given)?;
        active(store)?;
        let mut store = store.clone();
        if store.federation_role_arn.take().is_some() {
            store.updated_ms = now;
            changes.put_store(store.clone());
        }
        Ok(store)
    })?;
    let _ = std::fs::remove_file(app.settings.data_dir.join("lake").join(&store.id).join(TABLE_FILE));
    Ok(FederationResponse {
        event_data_store_arn: store.arn(),
        federation_status: "DISABLED".into(),
        federation_role_arn: None,
    })
}
