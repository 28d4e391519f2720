-- ml.load_analysis_run: seed 000's MLDataLoader.load_analysis_run() as SQL. Every argument is
-- named and optional except the analysis type; the new run's id is returned.

CREATE OR REPLACE FUNCTION ml.load_analysis_run(
  analysis_type                 text,
  run_timestamp                 timestamptz DEFAULT now(),
  model_name                    text DEFAULT NULL,
  model_version                 text DEFAULT NULL,
  status                        text DEFAULT 'completed',
  metrics                       jsonb DEFAULT '{}',
  row_count                     bigint DEFAULT NULL,
  duration_ms                   double precision DEFAULT NULL,
  error                         text DEFAULT NULL,
  autoencoder_name              text DEFAULT NULL,
  autoencoder_implementation    text DEFAULT NULL,
  autoencoder_file              text DEFAULT NULL,
  autoencoder_params            jsonb DEFAULT NULL,
  dim_reduction_name            text DEFAULT NULL,
  dim_reduction_implementation  text DEFAULT NULL,
  dim_reduction_params          jsonb DEFAULT NULL,
  clustering_name               text DEFAULT NULL,
  clustering_implementation     text DEFAULT NULL,
  clustering_params             jsonb DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  new_id bigint;
BEGIN
  IF analysis_type IS NULL OR analysis_type = '' THEN
    RAISE EXCEPTION 'analysis_type must be given, not %', coalesce(pg_catalog.quote_literal(analysis_type), 'NULL')
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Name the kind of analysis, e.g. analysis_type => ''clustering'' or ''object_detection''.';
  END IF;
  IF status IS NULL OR status NOT IN ('pending', 'running', 'completed', 'failed') THEN
    RAISE EXCEPTION 'status must be pending, running, completed or failed, not %', coalesce(pg_catalog.quote_literal(status), 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Leave status out for a completed run.';
  END IF;
  IF run_timestamp IS NULL THEN
    RAISE EXCEPTION 'run_timestamp must not be NULL'
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Leave run_timestamp out to use now().';
  END IF;
  IF row_count < 0 OR duration_ms < 0 THEN
    RAISE EXCEPTION 'row_count and duration_ms must not be negative (row_count %, duration_ms %)', row_count, duration_ms
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass the number of rows analysed and the wall time in milliseconds.';
  END IF;

  INSERT INTO ml.analysis_runs (
    run_timestamp, analysis_type, model_name, model_version, status, metrics, row_count, duration_ms, error,
    autoencoder_name, autoencoder_implementation, autoencoder_file, autoencoder_params,
    dim_reduction_name, dim_reduction_implementation, dim_reduction_params,
    clustering_name, clustering_implementation, clustering_params)
  VALUES (
    load_analysis_run.run_timestamp, load_analysis_run.analysis_type, load_analysis_run.model_name,
    load_analysis_run.model_version, load_analysis_run.status, coalesce(load_analysis_run.metrics, '{}'),
    load_analysis_run.row_count, load_analysis_run.duration_ms, load_analysis_run.error,
    load_analysis_run.autoencoder_name, load_analysis_run.autoencoder_implementation,
    load_analysis_run.autoencoder_file, load_analysis_run.autoencoder_params,
    load_analysis_run.dim_reduction_name, load_analysis_run.dim_reduction_implementation,
    load_analysis_run.dim_reduction_params,
    load_analysis_run.clustering_name, load_analysis_run.clustering_implementation,
    load_analysis_run.clustering_params)
  RETURNING id INTO new_id;
  RETURN new_id;
END
$$;

COMMENT ON FUNCTION ml.load_analysis_run IS
  'Records one analysis run that ran elsewhere (every column of ml.analysis_runs by named argument); all arguments are optional but analysis_type. Returns the run id.';
