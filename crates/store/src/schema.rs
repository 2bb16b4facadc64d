//! Diesel table definitions, shared by SQLite and PostgreSQL (`migrations/{sqlite,postgres}`).

diesel::table! {
    ai_models (id) {
        id -> BigInt,
        model_id -> Text,
        name -> Text,
        version -> Text,
        model_type -> Text,
        connection_type -> Text,
        created_at -> Timestamp,
        description -> Nullable<Text>,
        owner -> Nullable<Text>,
        updated_at -> Timestamp,
        tenant_id -> Text,
        project_id -> Text,
        archived_at -> Nullable<Timestamp>,
        archived_by -> Nullable<Text>,
    }
}

diesel::table! {
    evidence_sources (id) {
        id -> BigInt,
        model_id -> Text,
        #[sql_name = "type"]
        source_type -> Text,
        config -> Text,
        read_only -> Bool,
        created_at -> Timestamp,
        config_sealed -> Nullable<Text>,
    }
}

diesel::table! {
    audit_policies (id) {
        id -> BigInt,
        model_id -> Text,
        audit_frequency -> Text,
        baseline_strategy -> Text,
        audit_scope -> Text,
        policy_reference -> Nullable<Text>,
        active_audit_enabled -> Bool,
        thresholds -> Nullable<Text>,
        enabled -> Bool,
        next_run_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_runs (id) {
        id -> BigInt,
        audit_id -> Text,
        model_id -> Text,
        audit_type -> Text,
        scheduled_at -> Timestamp,
        executed_at -> Nullable<Timestamp>,
        execution_status -> Nullable<Text>,
        audit_result -> Nullable<Text>,
        run_state -> Text,
        trigger_kind -> Text,
        model_version -> Text,
        window_start -> Nullable<Timestamp>,
        window_end -> Timestamp,
        execution_reason -> Nullable<Text>,
        evidence -> Nullable<Text>,
        baseline_audit_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_summaries (audit_id) {
        audit_id -> Text,
        drift_score -> Double,
        bias_score -> Double,
        risk_score -> Double,
        total_findings -> Integer,
        critical_findings -> Integer,
        high_findings -> Integer,
        metrics -> Text,
    }
}

diesel::table! {
    audit_findings (id) {
        id -> BigInt,
        audit_id -> Text,
        category -> Text,
        rule_id -> Nullable<Text>,
        severity -> Text,
        metric_name -> Text,
        baseline_value -> Nullable<Double>,
        current_value -> Nullable<Double>,
        deviation_percentage -> Nullable<Double>,
        description -> Text,
        model_id -> Text,
        created_at -> Timestamp,
        status -> Text,
        status_actor -> Nullable<Text>,
        status_at -> Nullable<Timestamp>,
        status_note -> Nullable<Text>,
    }
}

diesel::table! {
    named_baselines (baseline_id) {
        baseline_id -> Text,
        project_id -> Text,
        model_id -> Text,
        audit_id -> Text,
        name -> Text,
        source_type -> Nullable<Text>,
        window_start -> Nullable<Timestamp>,
        window_end -> Timestamp,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    profile_snapshots (audit_id) {
        audit_id -> Text,
        model_id -> Text,
        model_version -> Text,
        profile -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    baseline_approvals (id) {
        id -> BigInt,
        model_id -> Text,
        audit_id -> Text,
        model_version -> Text,
        approved_at -> Timestamp,
        approved_by -> Text,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    sample_profiles (id) {
        id -> BigInt,
        model_id -> Text,
        profile -> Text,
        rows_read -> BigInt,
        uploaded_at -> Timestamp,
        consumed_by -> Nullable<Text>,
    }
}

diesel::table! {
    dashboard_counts (model_id, kind, value) {
        model_id -> Text,
        kind -> Text,
        value -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    active_targets (model_id) {
        model_id -> Text,
        url -> Text,
        model_name -> Text,
        auth_header -> Nullable<Text>,
        secret -> Nullable<Text>,
        temperature -> Double,
        max_tokens -> Integer,
        requests_per_minute -> Integer,
        timeout_secs -> Integer,
        max_calls -> BigInt,
        token_budget -> BigInt,
        updated_at -> Timestamp,
        api_style -> Text,
        url_sealed -> Nullable<Text>,
    }
}

diesel::table! {
    tenants (tenant_id) {
        tenant_id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    projects (project_id) {
        project_id -> Text,
        tenant_id -> Text,
        name -> Text,
        task_type -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (user_id) {
        user_id -> Text,
        tenant_id -> Text,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (key_id) {
        key_id -> Text,
        tenant_id -> Text,
        name -> Text,
        role -> Text,
        key_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    compliance_log (seq) {
        seq -> BigInt,
        tenant_id -> Text,
        tenant_seq -> BigInt,
        at -> Text,
        actor -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        digest -> Text,
        prev_hash -> Text,
        hash -> Text,
        content -> Nullable<Text>,
        purged_at -> Nullable<Text>,
        signature -> Nullable<Text>,
    }
}

diesel::table! {
    log_checkpoints (id) {
        id -> BigInt,
        tenant_id -> Text,
        sequence -> BigInt,
        entries -> BigInt,
        head_hash -> Text,
        at -> Text,
        every_entries -> BigInt,
        public_key -> Text,
        signature -> Text,
    }
}

diesel::table! {
    log_heads (tenant_id) {
        tenant_id -> Text,
        entries -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    model_versions (id) {
        id -> BigInt,
        model_id -> Text,
        version_tag -> Text,
        artifact_location -> Nullable<Text>,
        notes -> Nullable<Text>,
        metrics -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        tenant_id -> Text,
        kind -> Text,
        model_id -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        tenant_id -> Text,
        name -> Text,
        url -> Text,
        style -> Text,
        secret -> Text,
        model_id -> Nullable<Text>,
        results -> Text,
        min_severity -> Nullable<Text>,
        enabled -> Bool,
        last_event_id -> BigInt,
        created_at -> Timestamp,
        url_sealed -> Nullable<Text>,
    }
}

diesel::table! {
    seal_keys (name) {
        name -> Text,
        key_id -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_id -> BigInt,
        event_type -> Text,
        attempt -> Integer,
        ok -> Bool,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::table! {
    tenant_retention (tenant_id) {
        tenant_id -> Text,
        log_days -> BigInt,
        records_days -> BigInt,
        updated_at -> Timestamp,
        updated_by -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    seal_keys,
    tenant_retention,
    webhooks,
    webhook_deliveries,
    events,
    tenants,
    named_baselines,
    projects,
    users,
    api_keys,
    sessions,
    compliance_log,
    log_heads,
    log_checkpoints,
    model_versions,
    active_targets,
    dashboard_counts,
    ai_models,
    evidence_sources,
    audit_policies,
    audit_runs,
    audit_summaries,
    audit_findings,
    profile_snapshots,
    baseline_approvals,
    sample_profiles,
);
