// The records of a training run: one EpochMetrics per line of metrics.jsonl and the TrainResult
// in results.json. The trainer (src/train) writes them; reports, experiments and sweeps read them.
export interface EpochMetrics {
  epoch: number;
  lr: number;
  train_loss: number;
  train_acc: number;
  val_loss?: number;
  val_acc?: number;
  test_loss?: number;
  test_acc?: number;
  seconds: number;
  samples_per_sec: number;
}

export interface TrainResult {
  epochs: number;
  best_epoch: number;
  /** Selection metric: validation accuracy, else test accuracy, else training accuracy. */
  best_metric: number;
  best_metric_name: 'val_acc' | 'test_acc' | 'train_acc';
  test_acc_at_best?: number;
  final: EpochMetrics;
  history: EpochMetrics[];
  total_seconds: number;
}
