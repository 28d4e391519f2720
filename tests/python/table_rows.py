"""One valid row for every table of schema ml, for the tests that must touch them all (tenant
sealing, upgrade, fuzzing). Columns that reference another table are left out: `fill()` and
the tests set them from the catalog's foreign keys. The rows use only columns 0.1.0 had, so
they fill a 0.1.0 database too."""

# table -> {column: SQL expression}, in an order where parents come first.
ROWS = {
    "analysis_runs": {"analysis_type": "'clustering'", "model_name": "'m'", "metrics": "'{\"k\": 2}'"},
    "cluster_assignments": {"item_id": "'item-1'", "cluster": "0", "distance": "0.5"},
    "duplicate_assignments": {"item_id": "'item-1'", "exact_group_id": "'abc'", "exact_group_confidence": "'high'"},
    "embedding_coordinates": {"item_id": "'item-1'", "coords": "'{1,2}'"},
    "ai_learning_memory": {"error_type": "'syntax'", "user_intent": "'u'", "failed_query": "'q'",
                           "specific_issue": "'i'", "suggested_fix": "'f'", "confidence": "0.5"},
    "ml_prediction_log": {"model_name": "'m'", "prediction_value": "1"},
    "ml_anomaly_alerts": {"model_name": "'m'", "severity": "'low'", "alert_data": "'{}'"},
    "model_registry": {"name": "'m'", "version": "'1'"},
    "model_tags": {"key": "'team'", "value": "'a'"},
    "model_aliases": {"model_name": "'m'", "alias": "'production'"},
    "model_stage_transitions": None,  # written by the registry's trigger: UPDATE ... SET stage
    "hyperparameter_studies": {"name": "'s'", "objective_metric": "'loss'"},
    "training_runs": {"run_name": "'r'"},
    "training_artifacts": {"artifact_type": "'model'", "name": "'a'"},
    "training_events": {"event_type": "'epoch'"},
    "evaluation_metrics": {"metric_name": "'acc'", "metric_value": "0.9"},
    "confusion_matrices": {"labels": "'{a,b}'", "matrix": "'{{1,0},{0,1}}'"},
    "threshold_analysis": {"threshold": "0.5"},
    "feature_importance": {"feature_name": "'f'", "importance": "0.1"},
    "model_comparisons": {"metric_name": "'acc'"},
    "batch_jobs": {"name": "'b'"},
    "predictions": {"prediction": "'{}'"},
    "prediction_cache": {"input_hash": "'h'", "prediction": "'{}'"},
    "batch_job_events": {"event_type": "'start'"},
    "ab_experiments": {"name": "'e'", "variants": "'[\"a\", \"b\"]'"},
    "ab_assignments": {"unit_id": "'u'", "variant": "'a'"},
    "ab_exposures": {"unit_id": "'u'", "variant": "'a'"},
    "ab_outcomes": {"unit_id": "'u'", "variant": "'a'", "metric_name": "'m'", "value": "1"},
    "ab_analysis_snapshots": {"metric_name": "'m'", "variant_stats": "'{}'"},
    "alert_rules": {"name": "'r'", "metric": "'anomaly_score'", "threshold": "2"},
    "data_drift": {"feature_name": "'f'", "method": "'ks'", "statistic": "0.1"},
    "performance_drift": {"metric_name": "'acc'"},
    "monitoring_alerts": {"severity": "'low'", "title": "'t'"},
    "monitoring_daily_rollups": {"model_name": "'m'", "day": "'2026-01-01'"},
}


# The column of each table's unique key (besides the tenant and any parent id) that tells its
# rows apart; see distinct().
UNIQUE_KEY = {
    "cluster_assignments": "item_id", "duplicate_assignments": "item_id", "embedding_coordinates": "item_id",
    "ab_assignments": "unit_id", "model_tags": "key", "model_registry": "version", "model_aliases": "alias",
    "hyperparameter_studies": "name", "ab_experiments": "name", "alert_rules": "name",
    "prediction_cache": "input_hash", "monitoring_daily_rollups": "day",
}


def distinct(table, tag):
    """Columns that make ROWS[table] another row of its unique key, one per `tag`."""
    col = UNIQUE_KEY.get(table)
    if col is None:
        return {}
    if col == "day":
        return {"day": f"'2026-01-01'::date + abs(hashtext('{tag}')) % 100000"}
    return {col: f"'{tag}'"}


def foreign_keys(conn):
    """(table, column, parent table) of every foreign key of schema ml, one column each
    (the tenant left out)."""
    return conn.execute("""
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text
          FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) AND a.attname <> 'tenant_id'
         WHERE c.contype = 'f' AND c.connamespace = 'ml'::regnamespace
         ORDER BY 1, 2""").fetchall()


def tables(conn):
    return [r[0] for r in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'ml'::regnamespace AND relkind = 'r' ORDER BY 1")]


def insert_sql(table, fks, parent_ids=None, extra=None):
    """INSERT of ROWS[table], its foreign keys set to `parent_ids[parent]` (default: the
    newest row of the parent in the session's tenant)."""
    cols = dict(ROWS[table])
    for t, col, parent in fks:
        if t == f"ml.{table}":
            pid = (parent_ids or {}).get(parent)
            cols[col] = str(pid) if pid is not None else f"(SELECT max(id) FROM {parent} WHERE tenant_id = ml.current_tenant())"
    if table == "model_comparisons":  # two different models
        cols["baseline_model_id"] = "(SELECT min(id) FROM ml.model_registry WHERE tenant_id = ml.current_tenant())"
    cols.update(extra or {})
    return f"INSERT INTO ml.{table} ({', '.join(cols)}) VALUES ({', '.join(cols.values())})"


def fill(conn, present, rounds=1):
    """Inserts `rounds` rows into every table in `present` (the stage audit through two stage
    changes of a model). Returns nothing; the caller counts."""
    fks = [fk for fk in foreign_keys(conn) if fk[0].split(".")[1] in present]
    for r in range(rounds):
        for table, row in ROWS.items():
            if table not in present:
                continue
            if row is None:
                newest = "(SELECT max(id) FROM ml.model_registry WHERE tenant_id = ml.current_tenant())"
                conn.execute(f"UPDATE ml.model_registry SET stage = 'staging' WHERE id = {newest}")
                conn.execute(f"UPDATE ml.model_registry SET stage = 'production' WHERE id = {newest}")
                continue
            if table == "model_registry" and r == 0:  # model_comparisons compares two models
                conn.execute(insert_sql(table, fks, extra=distinct(table, "first")))
            conn.execute(insert_sql(table, fks, extra=distinct(table, f"k{r}")))
