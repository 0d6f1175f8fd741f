using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Training.Optimizers;
using LlamaBoard.Engine.Training.Preference;
using LlamaBoard.Engine.Training.Schedulers;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Ppo;

/// <summary>
/// PPO's own loop (LLaMA-Factory's CustomPPOTrainer on TRL 0.9), written out. One step:
/// <code>
///   prompts (B·GA·buffer) ─► rollouts: policy samples responses (KV cache, own generator)
///     ─► reward model scores prompt + response (last token)      [ppo_score_norm: running mean/std]
///     ─► experience, no grad: policy log-probs and values, reference log-probs
///     ─► rewards: −β_KL·(log π − log π_ref) per token + score at the last token   [ppo_whiten_rewards]
///     ─► GAE (γ 1, λ 0.95), whitened advantages
///   ─► ppo_epochs × shuffled backward batches of B·GA, mini-batches of B: clipped policy loss + 0.1 × clipped value
///      loss, one optimizer step per backward batch
///   ─► adaptive KL coefficient (target ppo_target), learning-rate schedule, log, checkpoint, stop?
/// </code>
/// The policy's value head shares its decoder (TRL's AutoModelForCausalLMWithValueHead). Checkpoints hold the
/// adapter and value head, the optimizer, the KL coefficient, the score statistics and the sampler's generator, so a
/// resumed run continues the same way.
/// </summary>
public sealed class PpoTrainer
{
    /// <summary>The PPO state file inside a checkpoint.</summary>
    public const string StateFileName = "ppo_state.json";

    readonly TrainableModel policy;
    readonly ValueHead head;
    readonly ReferenceModel reference;
    readonly IRewardSource reward;
    readonly TokenizedDataset prompts;
    readonly TemplateTokenizer tokenizer;
    readonly LlamaBoardOptions options;
    readonly Device device;
    readonly IProgress<TrainingEvent> progress;
    readonly PpoSettings settings;
    readonly SamplingSettings sampling;
    readonly TrainerLog log;
    readonly string outputDir;

    /// <summary>Sets up a PPO run; nothing runs until <see cref="Run"/>.</summary>
    public PpoTrainer(TrainableModel policy, ReferenceModel reference, IRewardSource reward, TokenizedDataset prompts,
                      TemplateTokenizer tokenizer, LlamaBoardOptions options, Device device, IProgress<TrainingEvent> progress)
    {
        this.policy = policy;
        head = policy.ValueHead ?? throw new ArgumentException("the PPO policy needs a value head (TrainableModel.AttachValueHead).", nameof(policy));
        this.reference = reference;
        this.reward = reward;
        this.prompts = prompts;
        this.tokenizer = tokenizer;
        this.options = options;
        this.device = device;
        this.progress = progress;
        settings = new PpoSettings(Target: options.Finetuning.Preference.PpoTarget);
        sampling = SamplingSettings.From(options.Generating);
        outputDir = options.Training.OutputDir ?? throw new ArgumentException("output_dir is required for training.");
        log = new TrainerLog(outputDir);
        if (BatchSize > prompts.Count)
            throw new ArgumentException(
                $"stage ppo takes {BatchSize} prompts per step (per_device_train_batch_size {MiniBatch} × gradient_accumulation_steps " +
                $"{Accumulation} × ppo_buffer_size {Buffer}) but the data has {prompts.Count}; lower those or add prompts.");
    }

    int MiniBatch => options.Training.PerDeviceTrainBatchSize;
    int Accumulation => Math.Max(1, options.Training.GradientAccumulationSteps);
    int Buffer => options.Finetuning.Preference.PpoBufferSize;
    int BackwardBatch => MiniBatch * Accumulation;
    int BatchSize => BackwardBatch * Buffer;

    /// <summary>PPO steps per pass over the prompts (TRL drops the last, short batch).</summary>
    public int StepsPerEpoch => Math.Max(1, prompts.Count / BatchSize);

    /// <summary>Total PPO steps: max_steps, else ⌈num_train_epochs × steps per epoch⌉.</summary>
    public long TotalSteps => options.Training.MaxSteps > 0
        ? options.Training.MaxSteps
        : Math.Max(1, (long)Math.Ceiling(options.Training.NumTrainEpochs * StepsPerEpoch));

    /// <summary>Trains to the end or until <paramref name="stop"/> is cancelled (then saves a checkpoint and returns Stopped).</summary>
    public TrainingResult Run(CancellationToken stop)
    {
        var training = options.Training;
        long totalSteps = TotalSteps;
        long warmup = LearningRateSchedules.WarmupSteps(totalSteps, training.WarmupSteps, training.WarmupRatio);
        var schedule = LearningRateSchedules.Get(TrainingLoop.OptionValueName(training.LrSchedulerType));
        var checkpoints = new CheckpointManager(outputDir, training.SaveTotalLimit);
        AtomicDirectory.CleanUp(outputDir);
        using var optimizer = new TrainingOptimizer(
            policy.TrainableParameters(policy.Method == FinetuningType.Lora ? options.Finetuning.Lora.LoraPlusLrRatio : null),
            new OptimizerSettings(TrainingLoop.OptionValueName(training.Optim), training.LearningRate, training.WeightDecay,
                                  training.AdamBeta1, training.AdamBeta2, training.AdamEpsilon));
        using var sampler = new RolloutSampler(training.Seed);
        var kl = new AdaptiveKlController(settings.InitKlCoef, settings.Target, settings.Horizon);
        var moments = new RunningMoments();
        int epochs = (int)Math.Ceiling((double)totalSteps / StepsPerEpoch);
        var state = new TrainerState
        {
            MaxSteps = totalSteps, NumTrainEpochs = epochs, LoggingSteps = training.LoggingSteps, SaveSteps = training.SaveSteps,
            TrainBatchSize = MiniBatch,
        };
        var position = new LoopPosition(0, 0, 0, 0, 0, 0, 0, 0);
        string? resumeFrom = CheckpointManager.ResumePoint(options, outputDir);
        if (resumeFrom is not null)
        {
            policy.RestoreFrom(resumeFrom);
            string optimizerPath = Path.Combine(resumeFrom, CheckpointManager.OptimizerFileName);
            using (var stream = File.OpenRead(optimizerPath)) optimizer.Load(stream, optimizerPath);
            state = TrainerState.Load(resumeFrom);
            state.MaxSteps = totalSteps;
            position = CheckpointManager.LoadPosition(resumeFrom);
            LoadState(resumeFrom, kl, moments, sampler);
            Log($"Resuming from {resumeFrom} at step {position.GlobalStep}.");
        }

        var (trainableCount, totalCount) = policy.ParameterCounts;
        var started = new TrainingStarted(TrainingStage.Ppo, (int)totalSteps, epochs, trainableCount, totalCount, device.ToString(), outputDir,
                                          (int)position.GlobalStep);
        progress.Report(started);
        log.Write(started);

        var clock = Stopwatch.StartNew();
        long step = position.GlobalStep, stepsThisSession = 0, tokensThisSession = 0, tokensSeen = position.TokensSeen;
        double lossSinceLog = position.LossSinceLog, totalLoss = position.TotalLoss;
        int stepsSinceLog = position.StepsSinceLog;
        var metricsSinceLog = MetricAccumulator.FromSnapshot(position.MetricsSinceLog);
        int epoch = position.Epoch, batchInEpoch = position.BatchesDoneInEpoch;
        string? lastCheckpoint = resumeFrom;
        long lastCheckpointStep = resumeFrom is null ? -1 : step;
        TimeSpan Elapsed() => TimeSpan.FromSeconds(position.ElapsedSeconds) + clock.Elapsed;

        string SaveCheckpoint()
        {
            progress.Report(new TrainingLog(TrainingLogLevel.Info, $"Saving checkpoint-{step}"));
            state.GlobalStep = step;
            var at = new LoopPosition(step, epoch, batchInEpoch, lossSinceLog, stepsSinceLog, tokensSeen, Elapsed().TotalSeconds, totalLoss,
                                      metricsSinceLog.Snapshot());
            string path = checkpoints.Save(step, folder => { policy.SaveTo(folder); SaveState(folder, kl, moments, sampler); }, optimizer.Save, state, at);
            var saved = new CheckpointSaved((int)step, path);
            progress.Report(saved);
            log.Write(saved);
            lastCheckpointStep = step;
            return path;
        }

        while (step < totalSteps)
        {
            var order = prompts.Batches(BatchSize, training.DataSeed ?? training.Seed, epoch, shuffle: !options.Finetuning.DisableShuffling)
                               .Where(b => b.Length == BatchSize).ToList();
            if (batchInEpoch >= order.Count)
            {
                epoch++;
                batchInEpoch = 0;
                continue;
            }
            double multiplier = schedule(step, totalSteps, warmup, training.LearningRate);
            var (loss, tokens, gradNorm, metrics) = Step(order[batchInEpoch], step, optimizer, multiplier, kl, moments, sampler);
            batchInEpoch++;
            step++;
            stepsThisSession++;
            tokensThisSession += tokens;
            tokensSeen += tokens;
            totalLoss += loss;
            lossSinceLog += loss;
            stepsSinceLog++;
            var stepMetrics = new MetricAccumulator();
            foreach (var (key, value) in metrics) stepMetrics.Add(key, value, 1);
            metricsSinceLog.Add(stepMetrics);
            if (double.IsNaN(loss) || double.IsInfinity(loss))
                throw new InvalidOperationException($"The PPO loss became {loss} at step {step}. Lower learning_rate or enable max_grad_norm.");

            double epochValue = (double)step / StepsPerEpoch;
            double nextRate = training.LearningRate * schedule(step, totalSteps, warmup, training.LearningRate);
            var remaining = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / stepsThisSession * (totalSteps - step));
            double throughput = tokensThisSession / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            long? memory = TrainingLoop.MemoryInUse(device);
            progress.Report(new StepCompleted((int)step, (int)totalSteps, epochValue, loss, nextRate, gradNorm, throughput, tokensSeen, memory,
                                              Elapsed(), remaining, stepMetrics.Averages()));
            if (step % Math.Max(1, training.LoggingSteps) == 0 || step == totalSteps || (training.LoggingFirstStep && step == 1))
            {
                var window = metricsSinceLog.Averages();
                var record = new StepCompleted((int)step, (int)totalSteps, epochValue, lossSinceLog / stepsSinceLog, nextRate, gradNorm, throughput,
                                               tokensSeen, memory, Elapsed(), remaining, window);
                log.Write(record);
                var history = TrainingLoop.HistoryRecord(step, epochValue, ("loss", Math.Round(lossSinceLog / stepsSinceLog, 4)),
                                                         ("reward", Math.Round(window.GetValueOrDefault("reward"), 4)), ("learning_rate", nextRate));
                foreach (var (key, value) in window) history[key] = value;
                state.LogHistory.Add(history);
                lossSinceLog = 0;
                stepsSinceLog = 0;
                metricsSinceLog.Clear();
            }
            state.Epoch = epochValue;
            state.NumInputTokensSeen = tokensSeen;
            if (training.SaveStrategy == IntervalStrategy.Steps && step % Math.Max(1, training.SaveSteps) == 0 && step < totalSteps)
                lastCheckpoint = SaveCheckpoint();
            if (stop.IsCancellationRequested)
            {
                if (lastCheckpointStep != step) lastCheckpoint = SaveCheckpoint();
                Log($"Stopped at step {step}; resume with resume_from_checkpoint={lastCheckpoint}");
                var stopped = new TrainingFinished(TrainingOutcome.Stopped, (int)step, Elapsed());
                log.Write(stopped);
                progress.Report(stopped);
                return new TrainingResult(TrainingOutcome.Stopped, (int)step, outputDir, lastCheckpoint);
            }
        }

        state.GlobalStep = step;
        progress.Report(new TrainingLog(TrainingLogLevel.Info, $"Saving the trained {(policy.Method == FinetuningType.Lora ? "adapter" : "model")} and value head to {outputDir}"));
        policy.SaveTo(outputDir);
        state.Save(outputDir);
        double runtime = clock.Elapsed.TotalSeconds + position.ElapsedSeconds;
        var results = new JsonObject
        {
            ["epoch"] = Math.Round(state.Epoch, 4), ["total_flos"] = 0, ["train_loss"] = step == 0 ? 0 : totalLoss / step,
            ["train_runtime"] = Math.Round(runtime, 4), ["train_steps_per_second"] = Math.Round(step / Math.Max(1e-9, runtime), 3),
        };
        foreach (string name in new[] { "train_results.json", "all_results.json" })
            AtomicFile.WriteAllText(Path.Combine(outputDir, name), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var finished = new TrainingFinished(TrainingOutcome.Completed, (int)step, Elapsed());
        log.Write(finished);
        progress.Report(finished);
        return new TrainingResult(TrainingOutcome.Completed, (int)step, outputDir, lastCheckpoint);
    }

    /// <summary>One PPO step on the prompts <paramref name="indexes"/>.</summary>
    (double Loss, long Tokens, double? GradNorm, Dictionary<string, double> Metrics) Step(
        int[] indexes, long step, TrainingOptimizer optimizer, double multiplier, AdaptiveKlController kl, RunningMoments moments, RolloutSampler sampler)
    {
        var queries = indexes.Select(i => prompts[i].Main.InputIds).ToList();

        // Rollouts and scores, without dropout.
        policy.Eval();
        var responses = new List<int[]>(queries.Count);
        for (int start = 0; start < queries.Count; start += MiniBatch)
            responses.AddRange(sampler.Generate(policy.Model, queries.GetRange(start, Math.Min(MiniBatch, queries.Count - start)), sampling,
                                                tokenizer.StopTokenIds, tokenizer.PadTokenId));
        var rollout = new Rollout(queries, responses);
        float[] rawScores = reward.Score(rollout.Sequences);
        float[] scores = rawScores;
        if (options.Finetuning.Preference.PpoScoreNorm)
        {
            moments.Update(rawScores);
            scores = moments.Normalize(rawScores);
        }

        using var scope = NewDisposeScope();
        int count = rollout.Count;
        var mask = rollout.Mask(device);                                                              // (N, R)
        Tensor oldLogprobs, oldValues, refLogprobs;
        using (no_grad())
        {
            var policyParts = Chunks(count).Select(rows => rollout.Forward(policy.Model, head, rows)).ToList();
            oldLogprobs = cat(policyParts.Select(p => p.LogProbs).ToList(), 0);                      // (N, R)
            oldValues = cat(policyParts.Select(p => p.Values!).ToList(), 0);                         // (N, R)
            refLogprobs = reference.Run(model => cat(Chunks(count).Select(rows => rollout.Forward(model, null, rows).LogProbs).ToList(), 0));
        }
        var (rewards, nonScore, tokenKl) = PpoMath.Rewards(tensor(scores, device: device), oldLogprobs, refLogprobs, mask, kl.Value);
        var advantages = PpoMath.Gae(oldValues, rewards, mask, settings.Gamma, settings.Lambda, options.Finetuning.Preference.PpoWhitenRewards);

        // Optimisation: ppo_epochs passes of shuffled backward batches, one optimizer step each.
        policy.Train();
        var stats = new MetricAccumulator();
        double? gradNorm = null;
        int ppoEpochs = options.Finetuning.Preference.PpoEpochs;
        for (int ppoEpoch = 0; ppoEpoch < ppoEpochs; ppoEpoch++)
        {
            // A permutation fixed by (seed, step, pass), so a resumed run shuffles the same way.
            int[] order = SeededRandom.EpochPermutation(count, options.Training.Seed, (int)(step * ppoEpochs + ppoEpoch));
            for (int first = 0; first < count; first += BackwardBatch)
            {
                for (int mini = first; mini < Math.Min(count, first + BackwardBatch); mini += MiniBatch)
                {
                    using var miniScope = NewDisposeScope();
                    var rows = order[mini..Math.Min(count, Math.Min(first + BackwardBatch, mini + MiniBatch))];
                    var index = tensor(rows.Select(r => (long)r).ToArray(), device: device);
                    var current = rollout.Forward(policy.Model, head, rows, entropy: true);
                    var losses = PpoMath.Losses(oldLogprobs.index_select(0, index), advantages.Values.index_select(0, index), current.LogProbs,
                                                current.Values!, mask.index_select(0, index), advantages.Advantage.index_select(0, index),
                                                advantages.Returns.index_select(0, index), settings);
                    ((losses.PolicyLoss + losses.ValueLoss) / Accumulation).backward();
                    foreach (var (key, value) in losses.Stats) stats.Add(key, value, 1);
                    stats.Add("ppo/policy/entropy", current.Entropy ?? 0, 1);
                }
                gradNorm = optimizer.Step(multiplier, options.Training.MaxGradNorm);
                optimizer.ZeroGrad();
            }
        }

        double meanKl = (tokenKl * mask).sum(1).mean().item<float>();
        var metrics = stats.Averages();
        double loss = metrics["ppo/loss/total"];
        metrics["reward"] = rawScores.Average(s => (double)s);
        metrics["ppo/mean_scores"] = scores.Average(s => (double)s);
        metrics["objective/kl"] = meanKl;
        metrics["objective/kl_coef"] = kl.Value;
        metrics["objective/entropy"] = (-oldLogprobs * mask).sum(1).mean().item<float>();
        metrics["ppo/mean_non_score_reward"] = PpoMath.MaskedMean(nonScore, mask).item<float>();
        metrics["tokens/responses_len_mean"] = responses.Average(r => (double)r.Length);
        kl.Update(meanKl, count);
        long tokens = rollout.Sequences.Sum(s => (long)s.Length);
        return (loss, tokens, gradNorm, metrics);
    }

    /// <summary>Row indexes in mini-batches.</summary>
    IEnumerable<int[]> Chunks(int count)
    {
        for (int start = 0; start < count; start += MiniBatch)
            yield return Enumerable.Range(start, Math.Min(MiniBatch, count - start)).ToArray();
    }

    static void SaveState(string folder, AdaptiveKlController kl, RunningMoments moments, RolloutSampler sampler)
    {
        var json = new JsonObject
        {
            ["kl_coef"] = kl.Value,
            ["score_mean"] = moments.Mean, ["score_var"] = moments.Var, ["score_std"] = moments.Std, ["score_count"] = moments.Count,
            ["sampler_state"] = Convert.ToBase64String(sampler.GetState()),
        };
        AtomicFile.WriteAllText(Path.Combine(folder, StateFileName), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    static void LoadState(string folder, AdaptiveKlController kl, RunningMoments moments, RolloutSampler sampler)
    {
        string path = Path.Combine(folder, StateFileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"{path}: not found; this checkpoint was not written by a LlamaBoard PPO run.");
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            kl.Value = json["kl_coef"]!.GetValue<double>();
            moments.Mean = json["score_mean"]!.GetValue<double>();
            moments.Var = json["score_var"]!.GetValue<double>();
            moments.Std = json["score_std"]!.GetValue<double>();
            moments.Count = json["score_count"]!.GetValue<double>();
            sampler.SetState(Convert.FromBase64String(json["sampler_state"]!.GetValue<string>()));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"{path}: damaged ({e.Message}).");
        }
    }

    void Log(string text)
    {
        var line = new TrainingLog(TrainingLogLevel.Info, text);
        progress.Report(line);
        log.Write(line);
    }
}
