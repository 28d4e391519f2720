-- ml.load_analysis_run: two examples, a clustering run and an object-detection run.

-- Example 1: a clustering run with all three pipeline stages described.
SELECT ml.load_analysis_run(
    run_timestamp => '2026-01-07 10:00:00+00',
    analysis_type => 'clustering',
    model_name => 'clustering_pipeline_v1',
    autoencoder_name => 'CNN_Autoencoder_v1',
    autoencoder_implementation => 'pytorch.custom.ConvAutoencoder',
    autoencoder_file => '/models/autoencoder_20260107.h5',
    autoencoder_params => '{"training_set_size": 4282, "validation_set_size": 1072, "code_size": 100,
                            "noise_rate": 0.1, "input_size": [320, 320], "batch_size": 32, "feature_maps": 64,
                            "architecture": {"type": "CNN", "stride_1_layers": 1, "stride_2_layers": 6,
                                             "final_feature_map_size": [5, 5]},
                            "loss_function": "MSE", "learning_rate": 0.0009, "epochs": 60}',
    dim_reduction_name => 'TSNE',
    dim_reduction_implementation => 'sklearn.manifold.TSNE',
    dim_reduction_params => '{"perplexity": 1, "init": "pca", "learning_rate": "auto", "random_state": 42}',
    clustering_name => 'K-Means',
    clustering_implementation => 'sklearn.cluster.KMeans',
    clustering_params => '{"n_clusters": 5, "random_state": 42}'
) > 0 AS recorded;

-- Example 2: object detection; every pipeline column stays NULL.
SELECT ml.load_analysis_run(
    run_timestamp => '2026-01-07 11:00:00+00',
    analysis_type => 'object_detection',
    model_name => 'YOLOv8',
    model_version => '8.0'
) > 0 AS recorded;

\x on
SELECT run_timestamp, analysis_type, model_name, model_version, status, metrics,
       autoencoder_name, autoencoder_implementation, autoencoder_file,
       autoencoder_params -> 'architecture' AS autoencoder_architecture,
       dim_reduction_name, dim_reduction_implementation, dim_reduction_params,
       clustering_name, clustering_implementation, clustering_params
  FROM ml.analysis_runs ORDER BY run_timestamp;
\x off

-- Only the type is required; the rest has defaults.
SELECT ml.load_analysis_run('llm_classification') > 0 AS recorded;
SELECT analysis_type, status, run_timestamp <= now() AS stamped_now
  FROM ml.analysis_runs WHERE analysis_type = 'llm_classification';

-- Bad input names the argument and says what to do.
\set SHOW_CONTEXT never
SELECT ml.load_analysis_run(NULL);
SELECT ml.load_analysis_run('clustering', status => 'done');
SELECT ml.load_analysis_run('clustering', row_count => -1);
SELECT count(*) AS runs FROM ml.analysis_runs;
DELETE FROM ml.analysis_runs;
