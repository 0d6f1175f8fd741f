using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training.Optimizers;
using LlamaBoard.Engine.Training.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// The training loop every stage shares, written out: epochs of seeded batches → accumulation windows →
/// forward/backward per micro-batch (each in its own dispose scope) → clip, step, schedule → log, evaluate,
/// checkpoint → stop on request at a step boundary. The stage supplies only the <see cref="ITrainingObjective"/>.
/// </summary>
public sealed class TrainingLoop
{
    readonly TrainableModel trainable;
    readonly TokenizedDataset train;
    readonly TokenizedDataset? eval;
    readonly DataCollator collator;
    readonly ITrainingObjective objective;
    readonly LlamaBoardOptions options;
    readonly Device device;
    readonly IProgress<TrainingEvent> progress;
    readonly TrainerLog log;
    readonly string outputDir;
    (long Step, double Loss)? lastEval;

    /// <summary>Sets up a loop; nothing runs until <see cref="Run"/>.</summary>
    public TrainingLoop(TrainableModel trainable, TokenizedDataset train, TokenizedDataset? eval, DataCollator collator,
                        ITrainingObjective objective, LlamaBoardOptions options, Device device, IProgress<TrainingEvent> progress)
    {
        if (train.Count == 0) throw new ArgumentException("the training set is empty; check dataset, max_samples and val_size.");
        this.trainable = trainable;
        this.train = train;
        this.eval = eval is { Count: > 0 } ? eval : null;
        this.collator = collator;
        this.objective = objective;
        this.options = options;
        this.device = device;
        this.progress = progress;
        outputDir = options.Training.OutputDir ?? throw new ArgumentException("output_dir is required for training.");
        log = new TrainerLog(outputDir);
    }

    /// <summary>
    /// Runs after the final save and evaluation, before <see cref="TrainingFinished"/> (do_predict with the trained
    /// model); returns false when it was stopped on request.
    /// </summary>
    public Func<CancellationToken, bool>? AfterTraining { get; init; }

    int BatchSize => options.Training.PerDeviceTrainBatchSize;
    int Accumulation => Math.Max(1, options.Training.GradientAccumulationSteps);

    /// <summary>Micro-batches per epoch and optimizer steps per epoch (a short last window still makes a step).</summary>
    public (int Batches, int Steps) PerEpoch
    {
        get
        {
            int batches = (train.Count + BatchSize - 1) / BatchSize;
            return (batches, (batches + Accumulation - 1) / Accumulation);
        }
    }

    /// <summary>Total optimizer steps and epochs, from max_steps or num_train_epochs as HF computes them.</summary>
    public (long Steps, int Epochs) Plan
    {
        get
        {
            int perEpoch = PerEpoch.Steps;
            if (options.Training.MaxSteps > 0)
                return (options.Training.MaxSteps, (int)Math.Ceiling((double)options.Training.MaxSteps / perEpoch));
            long steps = (long)Math.Ceiling(options.Training.NumTrainEpochs * perEpoch);
            return (Math.Max(1, steps), (int)Math.Ceiling(options.Training.NumTrainEpochs));
        }
    }

    /// <summary>Trains to the end or until <paramref name="stop"/> is cancelled (then saves a checkpoint and returns Stopped).</summary>
    public TrainingResult Run(CancellationToken stop)
    {
        var training = options.Training;
        var (totalSteps, epochs) = Plan;
        var (batchesPerEpoch, _) = PerEpoch;
        long warmup = LearningRateSchedules.WarmupSteps(totalSteps, training.WarmupSteps, training.WarmupRatio);
        var schedule = LearningRateSchedules.Get(OptionValueName(training.LrSchedulerType));
        var checkpoints = new CheckpointManager(outputDir, training.SaveTotalLimit);
        AtomicDirectory.CleanUp(outputDir);

        using var optimizer = OptimizerFactory.Create(trainable, options, Log);

        var state = new TrainerState
        {
            MaxSteps = totalSteps, NumTrainEpochs = epochs, LoggingSteps = training.LoggingSteps,
            SaveSteps = training.SaveSteps, EvalSteps = options.EffectiveEvalSteps, TrainBatchSize = BatchSize,
        };
        var position = new LoopPosition(0, 0, 0, 0, 0, 0, 0, 0);
        string? resumeFrom = CheckpointManager.ResumePoint(options, outputDir);
        if (resumeFrom is not null)
        {
            trainable.RestoreFrom(resumeFrom);
            using (var stream = File.OpenRead(Path.Combine(resumeFrom, CheckpointManager.OptimizerFileName)))
                optimizer.Load(stream, Path.Combine(resumeFrom, CheckpointManager.OptimizerFileName));
            state = TrainerState.Load(resumeFrom);
            state.MaxSteps = totalSteps;
            position = CheckpointManager.LoadPosition(resumeFrom);
            Log($"Resuming from {resumeFrom} at step {position.GlobalStep}.");
        }

        var (trainableCount, totalCount) = trainable.ParameterCounts;
        progress.Report(new TrainingStarted(options.Finetuning.Stage, (int)totalSteps, epochs, trainableCount, totalCount,
                                            device.ToString(), outputDir, (int)position.GlobalStep));
        log.Write(new TrainingStarted(options.Finetuning.Stage, (int)totalSteps, epochs, trainableCount, totalCount,
                                      device.ToString(), outputDir, (int)position.GlobalStep));

        var clock = Stopwatch.StartNew();
        long step = position.GlobalStep;
        long stepsThisSession = 0;
        long tokensThisSession = 0;
        double lossSinceLog = position.LossSinceLog;
        int stepsSinceLog = position.StepsSinceLog;
        double totalLoss = position.TotalLoss;
        long tokensSeen = position.TokensSeen;
        var metricsSinceLog = MetricAccumulator.FromSnapshot(position.MetricsSinceLog);
        string? lastCheckpoint = resumeFrom;
        long lastCheckpointStep = resumeFrom is null ? -1 : step;
        bool stopped = false;
        trainable.Train();

        TimeSpan Elapsed() => TimeSpan.FromSeconds(position.ElapsedSeconds) + clock.Elapsed;

        LoopPosition PositionAt(int epoch, int batchesDone) =>
            new(step, epoch, batchesDone, lossSinceLog, stepsSinceLog, tokensSeen, Elapsed().TotalSeconds, totalLoss, metricsSinceLog.Snapshot());

        string SaveCheckpoint(int epoch, int batchesDone)
        {
            progress.Report(new TrainingLog(TrainingLogLevel.Info, $"Saving checkpoint-{step}"));
            state.GlobalStep = step;
            string path = checkpoints.Save(step, trainable.SaveTo, optimizer.Save, state, PositionAt(epoch, batchesDone));
            var saved = new CheckpointSaved((int)step, path);
            progress.Report(saved);
            log.Write(saved);
            lastCheckpointStep = step;
            return path;
        }

        for (int epoch = position.Epoch; epoch < epochs && step < totalSteps && !stopped; epoch++)
        {
            var batches = train.Batches(BatchSize, training.DataSeed ?? training.Seed, epoch, shuffle: !options.Finetuning.DisableShuffling).ToList();
            int start = epoch == position.Epoch ? position.BatchesDoneInEpoch : 0;
            for (int first = start; first < batches.Count && step < totalSteps; first += Accumulation)
            {
                int count = Math.Min(Accumulation, batches.Count - first);
                var (stepLoss, stepTokens, stepMetrics) = TrainStep(batches.GetRange(first, count));
                metricsSinceLog.Add(stepMetrics);
                double? gradNorm = optimizer.Step(schedule(step, totalSteps, warmup, training.LearningRate), training.MaxGradNorm);
                optimizer.ZeroGrad();
                step++;
                stepsThisSession++;
                tokensThisSession += stepTokens;
                tokensSeen += stepTokens;
                totalLoss += stepLoss;
                lossSinceLog += stepLoss;
                stepsSinceLog++;
                if (double.IsNaN(stepLoss) || double.IsInfinity(stepLoss))
                    throw new InvalidOperationException($"The loss became {stepLoss} at step {step}. Lower learning_rate, enable max_grad_norm, or train in fp32/bf16 instead of fp16.");

                int batchesDone = first + count;
                double epochValue = epoch + (double)batchesDone / batches.Count;
                double nextRate = training.LearningRate * schedule(step, totalSteps, warmup, training.LearningRate);
                var elapsed = Elapsed();
                var remaining = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / stepsThisSession * (totalSteps - step));
                double throughput = tokensThisSession / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                long? memory = MemoryInUse();
                progress.Report(new StepCompleted((int)step, (int)totalSteps, epochValue, stepLoss, nextRate, gradNorm, throughput,
                                                  tokensSeen, memory, elapsed, remaining, stepMetrics.IsEmpty ? null : stepMetrics.Averages()));

                if (step % Math.Max(1, training.LoggingSteps) == 0 || step == totalSteps || (training.LoggingFirstStep && step == 1))
                {
                    double averaged = lossSinceLog / stepsSinceLog;
                    var windowMetrics = metricsSinceLog.IsEmpty ? null : metricsSinceLog.Averages();
                    var record = new StepCompleted((int)step, (int)totalSteps, epochValue, averaged, nextRate, gradNorm, throughput,
                                                   tokensSeen, memory, elapsed, remaining, windowMetrics);
                    log.Write(record);
                    var history = HistoryRecord(step, epochValue, ("loss", Math.Round(averaged, 4)), ("learning_rate", nextRate),
                                                ("grad_norm", gradNorm));
                    foreach (var (key, value) in windowMetrics ?? []) history[key] = value;
                    state.LogHistory.Add(history);
                    lossSinceLog = 0;
                    stepsSinceLog = 0;
                    metricsSinceLog.Clear();
                }
                state.Epoch = epochValue;
                state.NumInputTokensSeen = tokensSeen;

                if (options.Training.EvalStrategy == IntervalStrategy.Steps && eval is not null
                    && options.EffectiveEvalSteps is { } evalSteps && step % evalSteps == 0)
                    Evaluate(state, step, epochValue, checkpoints.PathFor(step));
                if (training.SaveStrategy == IntervalStrategy.Steps && step % Math.Max(1, training.SaveSteps) == 0 && step < totalSteps)
                    lastCheckpoint = SaveCheckpoint(epoch, batchesDone);
                if (stop.IsCancellationRequested)
                {
                    if (lastCheckpointStep != step) lastCheckpoint = SaveCheckpoint(epoch, batchesDone);
                    stopped = true;
                    break;
                }
            }
            if (stopped || step >= totalSteps) break;
            // Epoch strategies act at the end of each epoch.
            if (options.Training.EvalStrategy == IntervalStrategy.Epoch && eval is not null)
                Evaluate(state, step, epoch + 1, checkpoints.PathFor(step));
            if (training.SaveStrategy == IntervalStrategy.Epoch && epoch + 1 < epochs)
                lastCheckpoint = SaveCheckpoint(epoch + 1, 0);
        }

        if (stopped)
        {
            Log($"Stopped at step {step}; resume with resume_from_checkpoint={lastCheckpoint}");
            var stoppedEvent = new TrainingFinished(TrainingOutcome.Stopped, (int)step, Elapsed());
            log.Write(stoppedEvent);
            progress.Report(stoppedEvent);
            return new TrainingResult(TrainingOutcome.Stopped, (int)step, outputDir, lastCheckpoint);
        }

        Finish(state, step, totalLoss, clock.Elapsed.TotalSeconds + position.ElapsedSeconds);
        if (AfterTraining is { } after && !after(stop))
            Log("Stopped during prediction after training; the trained weights are saved, predictions were not written.");
        var finished = new TrainingFinished(TrainingOutcome.Completed, (int)step, Elapsed());
        log.Write(finished);
        progress.Report(finished);
        return new TrainingResult(TrainingOutcome.Completed, (int)step, outputDir, lastCheckpoint);
    }

    /// <summary>One optimizer step's forward and backward passes over an accumulation window.</summary>
    /// <returns>The step's loss (per unit of the objective's weight), its non-padding input tokens and its metrics.</returns>
    (double Loss, long Tokens, MetricAccumulator Metrics) TrainStep(List<int[]> window)
    {
        var collated = window.Select(indexes => collator.Collate(indexes.Select(i => train[i]).ToList(), objective.Stage, device)).ToList();
        try
        {
            double weight = collated.Sum(objective.Weight);
            if (weight <= 0)
                throw new InvalidOperationException("a training step has no target tokens (every label is masked); check cutoff_len and train_on_prompt.");
            double loss = 0;
            long tokens = 0;
            var metrics = new MetricAccumulator();
            foreach (var batch in collated)
            {
                using var scope = NewDisposeScope();
                var output = objective.Forward(batch);
                var scaled = output.LossSum / weight;
                scaled.backward();
                loss += scaled.item<float>();
                tokens += batch.Main.AttentionMask.ne(0).sum().item<long>() + (batch.Kl?.AttentionMask.ne(0).sum().item<long>() ?? 0);
                metrics.Add(output, objective.Weight(batch));
            }
            return (loss, tokens, metrics);
        }
        finally
        {
            foreach (var batch in collated) batch.Dispose();
        }
    }

    /// <summary>Mean loss over the validation split (weighted like training: per target token for LM losses).</summary>
    double Evaluate(TrainerState state, long step, double epoch, string checkpointPath)
    {
        var clock = Stopwatch.StartNew();
        trainable.Eval();
        double lossSum = 0, weightSum = 0;
        var metricSums = new MetricAccumulator();
        try
        {
            using var noGrad = no_grad();
            foreach (var indexes in eval!.Batches(options.Training.PerDeviceEvalBatchSize, 0, 0, shuffle: false))
            {
                using var scope = NewDisposeScope();
                using var batch = collator.Collate(indexes.Select(i => eval[i]).ToList(), objective.Stage, device);
                double batchWeight = objective.Weight(batch);
                weightSum += batchWeight;
                var output = objective.Forward(batch);
                lossSum += output.LossSum.to_type(ScalarType.Float64).item<double>();
                metricSums.Add(output, batchWeight);
            }
        }
        finally
        {
            trainable.Train();
        }
        double evalLoss = lossSum / Math.Max(1e-12, weightSum);
        lastEval = (step, evalLoss);
        var metrics = metricSums.Averages("eval_");
        metrics["eval_runtime"] = Math.Round(clock.Elapsed.TotalSeconds, 4);
        metrics["eval_samples_per_second"] = Math.Round(eval.Count / Math.Max(1e-9, clock.Elapsed.TotalSeconds), 3);
        var evaluated = new EvaluationCompleted((int)step, evalLoss, metrics);
        progress.Report(evaluated);
        log.Write(evaluated);
        var record = HistoryRecord(step, epoch, ("eval_loss", evalLoss));
        foreach (var (key, value) in metrics) record[key] = value;
        state.LogHistory.Add(record);
        if (state.BestMetric is null || evalLoss < state.BestMetric)
        {
            state.BestMetric = evalLoss;
            state.BestModelCheckpoint = checkpointPath;
        }
        return evalLoss;
    }

    /// <summary>Final evaluation, the trained weights in output_dir, PiSSA conversion, and HF's result files.</summary>
    void Finish(TrainerState state, long step, double totalLoss, double runtimeSeconds)
    {
        state.GlobalStep = step;
        var trainMetrics = new JsonObject
        {
            ["epoch"] = Math.Round(state.Epoch, 4),
            ["total_flos"] = 0,
            ["train_loss"] = step == 0 ? 0 : totalLoss / step,
            ["train_runtime"] = Math.Round(runtimeSeconds, 4),
            ["train_samples_per_second"] = Math.Round(train.Count * state.NumTrainEpochs / Math.Max(1e-9, runtimeSeconds), 3),
            ["train_steps_per_second"] = Math.Round(step / Math.Max(1e-9, runtimeSeconds), 3),
        };
        state.LogHistory.Add(HistoryRecord(step, state.Epoch, ("train_loss", trainMetrics["train_loss"]!.GetValue<double>()),
                                           ("train_runtime", runtimeSeconds)));
        progress.Report(new TrainingLog(TrainingLogLevel.Info, $"Saving the trained {(trainable.Method == FinetuningType.Lora ? "adapter" : "model")} to {outputDir}"));
        trainable.SaveTo(outputDir);
        if (trainable.PissaInitial is { } initial)
            SavePissaFolders(initial);
        state.Save(outputDir);
        WriteJson("train_results.json", trainMetrics);
        var all = (JsonObject)trainMetrics.DeepClone();
        if (eval is not null && (options.Training.DoEval || options.Training.EvalStrategy != IntervalStrategy.No || options.Data.ValSize > 0))
        {
            // The loop may just have evaluated this very step; reuse that result instead of running it twice.
            double evalLoss = lastEval is { } last && last.Step == step ? last.Loss : Evaluate(state, step, state.Epoch, outputDir);
            var evalMetrics = new JsonObject { ["epoch"] = Math.Round(state.Epoch, 4), ["eval_loss"] = evalLoss };
            WriteJson("eval_results.json", evalMetrics);
            all["eval_loss"] = evalLoss;
            state.Save(outputDir);
        }
        WriteJson("all_results.json", all);
    }

    /// <summary>LLaMA-Factory's PiSSA folders: pissa_init (start), and with pissa_convert, pissa_converted (a plain LoRA).</summary>
    void SavePissaFolders(IReadOnlyDictionary<string, Tensor> initial)
    {
        var config = trainable.Adapter!;
        PeftAdapterFiles.Save(Path.Combine(outputDir, "pissa_init"), config with { InitLoraWeights = JsonValue.Create(true) },
                              initial.Select(kv => (kv.Key, kv.Value)).ToList());
        if (!options.Finetuning.Lora.PissaConvert) return;
        using var scope = NewDisposeScope();
        var (convertedConfig, tensors) = PissaConversion.Convert(config, PeftAdapterFiles.StateDict(trainable.Model, config.ModulesToSave), initial);
        PeftAdapterFiles.Save(Path.Combine(outputDir, "pissa_converted"), convertedConfig, tensors);
        HfModelSaverCopy(Path.Combine(outputDir, "pissa_converted"));
        Log($"Converted the PiSSA adapter into a plain LoRA adapter of rank {convertedConfig.Rank}: {Path.Combine(outputDir, "pissa_converted")}");
    }

    void HfModelSaverCopy(string folder) => Models.HfModelSaver.CopyTokenizerFiles(trainable.ModelFolder, folder);

    long? MemoryInUse() => MemoryInUse(device);

    /// <summary>Memory in use on <paramref name="device"/>: the GPU's through NVML, else the process's resident memory.</summary>
    internal static long? MemoryInUse(Device device)
    {
        if (device.type == DeviceType.CUDA && Nvml.ReadAll() is { Count: > 0 } gpus)
            return gpus[Math.Min(gpus.Count - 1, Math.Max(0, (int)device.index))].UsedBytes;
        return ProcessMemory.Read().ResidentBytes;
    }

    internal static JsonObject HistoryRecord(long step, double epoch, params (string Key, double? Value)[] values)
    {
        var record = new JsonObject { ["epoch"] = Math.Round(epoch, 4) };
        foreach (var (key, value) in values)
            if (value is { } v) record[key] = v;
        record["step"] = step;
        return record;
    }

    void WriteJson(string name, JsonObject json) =>
        AtomicFile.WriteAllText(Path.Combine(outputDir, name), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    void Log(string text)
    {
        var line = new TrainingLog(TrainingLogLevel.Info, text);
        progress.Report(line);
        log.Write(line);
    }

    /// <summary>The YAML spelling of an options enum value (its [OptionValue]).</summary>
    internal static string OptionValueName(Enum value) =>
        value.GetType().GetField(value.ToString())?.GetCustomAttributes(typeof(OptionValueAttribute), false)
             .OfType<OptionValueAttribute>().FirstOrDefault()?.Spelling ?? value.ToString().ToLowerInvariant();
}
