using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Engine.Data;

/// <summary>The train and eval sets of a run, with how they were made.</summary>
/// <param name="Train">Training samples.</param>
/// <param name="Eval">Evaluation samples (empty when neither val_size nor eval_dataset is set).</param>
/// <param name="Report">Counts and skipped records per dataset.</param>
/// <param name="Tokenizer">The tokenizer seen through the template: EOS, padding and stop tokens for the trainer.</param>
/// <param name="FromCache">True when the samples were loaded from the tokenized cache.</param>
/// <param name="CachePath">The cache file (read or written).</param>
/// <param name="Elapsed">Time to prepare (or load) the data.</param>
public sealed record PreparedData(TokenizedDataset Train, TokenizedDataset Eval, DataLoadReport Report, TemplateTokenizer Tokenizer,
                                  bool FromCache, string CachePath, TimeSpan Elapsed)
{
    /// <summary>A collator for these samples: right padding for training, left for generation.</summary>
    public DataCollator CreateCollator(PaddingSide side = PaddingSide.Right) => new(Tokenizer.PadTokenId, side);
}

/// <summary>
/// Builds a stage's datasets top to bottom: template → datasets (read, converted, mixed, split) → processor
/// (tokenized on every core) → packing → tokenized cache. The trainer calls <c>Prepare</c> once per run.
/// </summary>
public static class DataPipeline
{
    /// <summary>The template named by the options, with default_system, enable_thinking and tool_format applied.</summary>
    /// <exception cref="DatasetException">No template is set for a chat stage, or the name is unknown.</exception>
    public static ChatTemplate ResolveTemplate(DataPipelineOptions options, DataStage stage)
    {
        string? name = options.Template;
        if (string.IsNullOrEmpty(name))
        {
            if (stage != DataStage.Pretrain)
                throw new DatasetException("no chat template is set",
                                           remedy: "set template: to the model's template (for example qwen3, llama3, gemma3); " +
                                                   "known: " + string.Join(", ", ChatTemplates.Names));
            name = "empty";
        }
        if (!ChatTemplates.Contains(name))
            throw new DatasetException($"template '{name}' is unknown", remedy: "known templates: " + string.Join(", ", ChatTemplates.Names));
        var template = ChatTemplates.Get(name);
        if (options.TrainOnPrompt && template.EfficientEos)
            throw new DatasetException($"template '{name}' puts EOS at the start of the next prompt and cannot train on prompts",
                                       remedy: "turn off train_on_prompt or choose another template");
        if (options.DefaultSystem is not null) template = template with { DefaultSystem = options.DefaultSystem };
        if (options.ToolFormat is not null)
        {
            try
            {
                _ = ToolFormat.Get(options.ToolFormat);
            }
            catch (ArgumentException e)
            {
                throw new DatasetException(e.Message.Split(" (Parameter")[0]);
            }
            template = template with { ToolFormat = options.ToolFormat };
        }
        return template with { EnableThinking = options.EnableThinking, PreserveThinking = options.PreserveThinking };
    }

    /// <summary>The processor for a stage.</summary>
    public static IStageProcessor CreateProcessor(DataStage stage, TemplateTokenizer tokenizer, DataPipelineOptions options) => stage switch
    {
        DataStage.Pretrain => new PretrainProcessor(tokenizer.Tokenizer, options),
        DataStage.Supervised => new SupervisedProcessor(tokenizer, options),
        DataStage.Pairwise => new PairwiseProcessor(tokenizer, options),
        DataStage.Feedback => new FeedbackProcessor(tokenizer, options),
        _ => new UnsupervisedProcessor(tokenizer, options),
    };

    /// <summary>
    /// Prepares the train and eval sets with the tokenizer of a model folder (the usual entry point of a run).
    /// </summary>
    /// <param name="options">Data options.</param>
    /// <param name="stage">The training stage's data stage.</param>
    /// <param name="tokenizerFolder">The folder holding tokenizer.json and tokenizer_config.json.</param>
    /// <param name="evalStage">The eval set's stage when it differs.</param>
    /// <param name="progress">Progress events.</param>
    /// <param name="cancellation">Stops preparation between examples.</param>
    public static PreparedData Prepare(DataPipelineOptions options, DataStage stage, string tokenizerFolder, DataStage? evalStage = null,
                                       IProgress<DataProgress>? progress = null, CancellationToken cancellation = default) =>
        Prepare(options, stage, new HfTextTokenizer(Tokenization.HfTokenizer.Load(tokenizerFolder)),
                TokenizedCache.TokenizerFingerprint(tokenizerFolder), evalStage, progress, cancellation);

    /// <summary>
    /// Prepares the train and eval sets of <paramref name="stage"/>, from the tokenized cache when its key
    /// matches (unless overwrite_cache), else by reading and tokenizing (then writing the cache).
    /// </summary>
    /// <param name="options">Data options.</param>
    /// <param name="stage">The training stage's data stage.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="tokenizerFingerprint">Identifies the tokenizer files (see <see cref="TokenizedCache.TokenizerFingerprint"/>).</param>
    /// <param name="evalStage">The eval set's stage when it differs (Unsupervised for sft with predict_with_generate).</param>
    /// <param name="progress">Progress events.</param>
    /// <param name="cancellation">Stops preparation between examples.</param>
    /// <exception cref="DatasetException">The data, its description or the options are wrong.</exception>
    public static PreparedData Prepare(DataPipelineOptions options, DataStage stage, ITextTokenizer tokenizer, string tokenizerFingerprint,
                                       DataStage? evalStage = null, IProgress<DataProgress>? progress = null,
                                       CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        if (options.CutoffLen < 1) throw new DatasetException("cutoff_len must be at least 1");
        var template = ResolveTemplate(options, stage);
        TemplateTokenizer templateTokenizer;
        try
        {
            templateTokenizer = new TemplateTokenizer(tokenizer, template);
        }
        catch (ArgumentException e)
        {
            throw new DatasetException(e.Message.Split(" (Parameter")[0]);
        }

        string? savedCopy = options.TokenizedPath is { Length: > 0 } folder ? Path.Combine(folder, TokenizedCache.TokenizedPathFile) : null;
        if (savedCopy is not null && File.Exists(savedCopy))
        {
            // LLaMA-Factory's tokenized_path: a saved copy is used as it is, whatever the data options say now.
            progress?.Report(new DataProgress(DataPhase.LoadingCache, null, 0, null));
            var saved = TokenizedCache.TryRead(savedCopy, null) ?? throw new DatasetException(
                $"{savedCopy} is not a readable LlamaBoard tokenized dataset", remedy: "delete it (or the tokenized_path folder) to rebuild it");
            if (saved.Train.Stage != stage)
                throw new DatasetException($"{savedCopy} holds data for stage {saved.Train.Stage.Key()}, not {stage.Key()}",
                                           remedy: "point tokenized_path at another folder for this stage");
            progress?.Report(new DataProgress(DataPhase.Done, null, saved.Train.Count, saved.Train.Count));
            return new PreparedData(saved.Train, saved.Eval, saved.Report, templateTokenizer, true, savedCopy, clock.Elapsed);
        }

        string key = CacheKey(options, stage, evalStage ?? stage, template, tokenizerFingerprint);
        string path = TokenizedCache.PathFor(options.TokenizedCacheDir ?? TokenizedCache.DefaultDirectory, key);
        if (!options.OverwriteCache)
        {
            progress?.Report(new DataProgress(DataPhase.LoadingCache, null, 0, null));
            if (TokenizedCache.TryRead(path, key) is { } cached)
            {
                if (savedCopy is not null) TokenizedCache.Write(savedCopy, key, cached.Train, cached.Eval, cached.Report);
                progress?.Report(new DataProgress(DataPhase.Done, null, cached.Train.Count, cached.Train.Count));
                return new PreparedData(cached.Train, cached.Eval, cached.Report, templateTokenizer, true, path, clock.Elapsed);
            }
        }

        var (trainExamples, evalExamples, report) = DatasetLoader.LoadSplits(options, stage, progress, cancellation);
        var skipped = new List<DatasetException>();
        long skippedCount = 0;
        var train = Process(CreateProcessor(stage, templateTokenizer, options), trainExamples, options, skipped, ref skippedCount,
                            progress, cancellation);
        var eval = Process(CreateProcessor(evalStage ?? stage, templateTokenizer, options), evalExamples, options, skipped,
                           ref skippedCount, progress, cancellation);
        if (train.Count == 0)
            throw new DatasetException(stage == DataStage.Pretrain
                ? $"the pre-training text is shorter than one block of cutoff_len = {options.CutoffLen} tokens"
                : "no training sample is left after preprocessing",
                remedy: stage == DataStage.Pretrain ? "lower cutoff_len, add text, or set packing: false" : null);
        report = report with { PreprocessingSkipped = skippedCount, PreprocessingSamples = skipped };

        progress?.Report(new DataProgress(DataPhase.WritingCache, null, 0, null));
        TokenizedCache.Write(path, key, train, eval, report);
        if (savedCopy is not null) TokenizedCache.Write(savedCopy, key, train, eval, report);
        progress?.Report(new DataProgress(DataPhase.Done, null, train.Count, train.Count));
        return new PreparedData(train, eval, report, templateTokenizer, false, path, clock.Elapsed);
    }

    /// <summary>
    /// Runs <paramref name="processor"/> over <paramref name="examples"/> on every core (or
    /// preprocessing_num_workers), keeping the input order, then finishes (packs) them.
    /// </summary>
    public static TokenizedDataset Process(IStageProcessor processor, IReadOnlyList<DataExample> examples, DataPipelineOptions options,
                                           List<DatasetException> skipped, ref long skippedCount,
                                           IProgress<DataProgress>? progress = null, CancellationToken cancellation = default)
    {
        int count = examples.Count;
        var encoded = new TokenizedSample?[count];
        var errors = new DatasetException?[count];
        long done = 0;
        int workers = Math.Max(1, options.PreprocessingNumWorkers ?? Environment.ProcessorCount);
        int chunk = Math.Clamp(count / (workers * 8), 16, 1024);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellation };
        if (count > 0)
        {
            Parallel.ForEach(Partitioner.Create(0, count, Math.Max(1, chunk)), parallel, range =>
            {
                for (int i = range.Item1; i < range.Item2; i++)
                {
                    try
                    {
                        encoded[i] = processor.Encode(examples, i);
                    }
                    catch (DatasetException e)
                    {
                        errors[i] = e;
                    }
                }
                long now = Interlocked.Add(ref done, range.Item2 - range.Item1);
                progress?.Report(new DataProgress(DataPhase.Tokenizing, null, now, count));
            });
        }

        var kept = new List<TokenizedSample>(count);
        for (int i = 0; i < count; i++)
        {
            if (errors[i] is { } error)
            {
                if (!options.SkipBadRecords)
                    throw new DatasetException(error.Problem, error.Dataset, error.File, error.RecordIndex, error.Line, error.Column,
                                               error.Field, "fix the record, or set skip_bad_records: true to skip such records and report them",
                                               error);
                skippedCount++;
                if (skipped.Count < DatasetLoadSummary.MaxSamplesKept) skipped.Add(error);
                continue;
            }
            kept.Add(encoded[i]!);
        }
        progress?.Report(new DataProgress(DataPhase.Packing, null, 0, kept.Count));
        var finished = processor.Finish(kept);
        return new TokenizedDataset(processor.Stage, finished);
    }

    /// <summary>The cache key: a hash over every input that changes the tokenized result.</summary>
    public static string CacheKey(DataPipelineOptions options, DataStage stage, DataStage evalStage, ChatTemplate template, string tokenizerFingerprint)
    {
        var registry = DatasetRegistry.Load(options.DatasetDir);
        var text = new StringBuilder();
        void Line(string name, object? value) =>
            text.Append(name).Append('=').Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append('\n');

        Line("format", "llamaboard-tokenized-v1");
        Line("stage", stage.Key());
        Line("eval_stage", evalStage.Key());
        Line("tokenizer", tokenizerFingerprint);
        Line("template", DescribeTemplate(template));
        Line("cutoff_len", options.CutoffLen);
        Line("packing", options.PackingFor(stage));
        Line("neat_packing", options.NeatPacking);
        Line("train_on_prompt", options.TrainOnPrompt);
        Line("mask_history", options.MaskHistory);
        Line("max_samples", options.MaxSamples);
        Line("val_size", options.ValSize.ToString("R", CultureInfo.InvariantCulture));
        Line("mix_strategy", options.MixStrategy);
        Line("interleave_probs", options.InterleaveProbs is null ? "" : string.Join(",", options.InterleaveProbs.Select(p => p.ToString("R", CultureInfo.InvariantCulture))));
        Line("seed", options.Seed);
        Line("skip_bad_records", options.SkipBadRecords);
        foreach (var (role, names) in new[] { ("dataset", options.Dataset), ("eval_dataset", options.EvalDataset) })
        {
            foreach (var name in names)
            {
                var attributes = registry.Get(name);
                Line(role, attributes.ToString());
                foreach (var file in DatasetLoader.ResolveFiles(registry, attributes))
                    Line("file", Path.GetRelativePath(registry.Directory, file) + ":" + TokenizedCache.HashFile(file));
            }
        }
        return TokenizedCache.HashText(text.ToString());
    }

    /// <summary>Every field of a template as text (records print lists by type name, so slots are spelled out).</summary>
    static string DescribeTemplate(ChatTemplate t)
    {
        static string Slots(SlotFormat f) => "[" + string.Join("|", f.Slots.Select(s => s.ToString())) + "]";
        return string.Join(";", t.Name, Slots(t.User), Slots(t.Assistant), Slots(t.System), Slots(t.Function),
                           Slots(t.Observation), Slots(t.Prefix), t.ToolFormat, t.DefaultSystem, string.Join(",", t.StopWords),
                           t.ThoughtWords.ToString(), t.ToolCallWords.ToString(), t.EfficientEos, t.ReplaceEos, t.Kind, t.EnableThinking, t.PreserveThinking);
    }
}
