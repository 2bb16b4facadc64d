//! `sample_profiles`: uploaded samples, kept only as profiles until an audit consumes them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::records::naive;
use crate::schema::sample_profiles;
use crate::{AnyConnection, StoreError};

/// Stores the profile of an uploaded sample; returns its id.
pub fn add(
    conn: &mut AnyConnection,
    model_id: &str,
    profile_json: &str,
    rows_read: i64,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    diesel::insert_into(sample_profiles::table)
        .values((
            sample_profiles::model_id.eq(model_id),
            sample_profiles::profile.eq(profile_json),
            sample_profiles::rows_read.eq(rows_read),
            sample_profiles::uploaded_at.eq(naive(at)),
        ))
        .execute(conn)?;
    Ok(sample_profiles::table
        .filter(sample_profiles::model_id.eq(model_id))
        .order(sample_profiles::id.desc())
        .select(sample_profiles::id)
        .first(conn)?)
}

/// Samples of a model not yet consumed by an audit: (id, profile JSON), oldest first.
pub fn pending(conn: &mut AnyConnection, model_id: &str) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(sample_profiles::table
        .filter(sample_profiles::model_id.eq(model_id))
        .filter(sample_profiles::consumed_by.is_null())
        .order(sample_profiles::id.asc())
        .select((sample_profiles::id, sample_profiles::profile))
        .load(conn)?)
}
