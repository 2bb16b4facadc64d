//! Domain types of AI Auditor.
//!
//! Everything here is plain data: the enums and value names of the audit contract
//! (seed 000) with their exact spelling, the field mapping that turns evidence rows into
//! [`Record`]s, the mergeable [`Profile`] of aggregates, [`Finding`]s and [`Thresholds`].
//! No database, web or statistics framework is involved, so every other crate can share them.

mod enums;
mod features;
mod finding;
mod freetext;
mod mapping;
mod performance;
mod profile;
mod record;
mod thresholds;

pub use enums::{
    AuditFrequency, AuditResult, AuditType, BaselineStrategy, ConnectionType, ExecutionStatus,
    FindingCategory, InvalidReason, ModelType, ParseEnumError, Severity,
};
pub use features::{
    FeatureFields, FeatureProfiles, FeatureValue, MAX_FEATURES, NumericFeature, QuantileSketch,
    SKETCH_ALPHA,
};
pub use finding::{Finding, deviation_percentage};
pub use freetext::MIN_DISTINCT;
pub use mapping::{
    FieldMapping, INTERSECTION_JOINER, MAX_INTERSECTION_ARITY, MAX_INTERSECTIONS, MappingError,
    TextFields, intersection_name,
};
pub use performance::{ClassificationMetrics, Reliability, ReliabilityBin};
pub use profile::{
    CONFIDENCE_BINS, CategoryCounts, Confusion, GroupOutcome, GroupStats, MAX_CATEGORIES,
    MAX_KEY_BYTES, MISSING_KEY, Mergeable, Moments, OTHER_KEY, PROFILE_SCHEMA_VERSION, Profile,
    ProfileError, ProfileMetrics, RESPONSE_LENGTH_EDGES, TEXT_KEY, TextStats, confidence_bin,
};
pub use record::{Record, RecordSink};
pub use thresholds::{Bands, DirBands, EDGE_TOLERANCE, Thresholds, ThresholdsError};
