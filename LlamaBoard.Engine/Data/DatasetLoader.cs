using LlamaBoard.Engine.Data.Converters;
using LlamaBoard.Engine.Data.Readers;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Engine.Data;

/// <summary>A dataset read and converted into examples.</summary>
public sealed record LoadedDataset(DatasetAttributes Attributes, IReadOnlyList<DataExample> Examples, DatasetLoadSummary Summary);

/// <summary>A record as the preview shows it: raw fields, and the example or the reason it was rejected.</summary>
public sealed record RecordOutcome(string File, SourceRecord Record, DataExample? Example, DatasetException? Error);

/// <summary>
/// Reads datasets named in dataset_info.json: finds the files, streams their records, converts them into
/// <see cref="DataExample"/>s, checks them against the stage, and applies num_samples and max_samples.
/// Malformed records fail the load with a located message, or are counted and skipped with skip_bad_records.
/// </summary>
public static class DatasetLoader
{
    /// <summary>The data files of a dataset: its file, or the files of its folder sorted by name.</summary>
    /// <exception cref="DatasetException">The entry points to a hub, the path is missing, or file types differ.</exception>
    public static IReadOnlyList<string> ResolveFiles(DatasetRegistry registry, DatasetAttributes dataset)
    {
        if (dataset.Source != DatasetSource.File)
        {
            string where = dataset.Source switch
            {
                DatasetSource.HuggingFaceHub => "the Hugging Face hub (hf_hub_url)",
                DatasetSource.ModelScopeHub => "ModelScope (ms_hub_url)",
                DatasetSource.OpenMindHub => "Modelers (om_hub_url)",
                DatasetSource.Script => "a loading script (script_url)",
                _ => "cloud storage (cloud_file_name)",
            };
            throw new DatasetException($"the entry points to {where}: {dataset.Location}; LlamaBoard reads local files only",
                                       dataset.Name, registry.InfoPath,
                                       remedy: "download the dataset first (for example `huggingface-cli download " +
                                               $"--repo-type dataset {dataset.Location} --local-dir {registry.Directory}/" +
                                               $"{dataset.Name}`), then set \"file_name\" to the downloaded file or folder");
        }
        // The registry refused names that leave dataset_dir; checked again here for attributes made elsewhere.
        string path = PathConfinement.CombineInside(registry.Directory, dataset.Location)
                      ?? throw new DatasetException($"file_name '{dataset.Location}' leads outside dataset_dir {registry.Directory}",
                                                    dataset.Name, registry.InfoPath, field: "file_name",
                                                    remedy: "give a file or folder inside dataset_dir, or copy the data there");
        List<string> files;
        if (Directory.Exists(path))
        {
            files = [.. Directory.EnumerateFiles(path)
                                 .Where(f => !Path.GetFileName(f).StartsWith('.'))
                                 .Order(StringComparer.Ordinal)];
            // A link inside the dataset's folder may point anywhere: such files are refused by name.
            if (files.FirstOrDefault(f => PathConfinement.CombineInside(registry.Directory, Path.GetRelativePath(registry.Directory, f)) is null) is { } escaping)
                throw new DatasetException($"'{Path.GetFileName(escaping)}' in {path} is a link to a file outside dataset_dir {registry.Directory}",
                                           dataset.Name, escaping, remedy: "copy the file into the dataset folder instead of linking it");
            if (files.Count == 0)
                throw new DatasetException($"the folder {path} holds no data files", dataset.Name);
        }
        else if (File.Exists(path))
            files = [path];
        else
            throw new DatasetException($"file_name '{dataset.Location}' does not exist (looked for {path})", dataset.Name,
                                       registry.InfoPath, remedy: "fix file_name or dataset_dir");

        var format = DataFileReaders.FormatOf(files[0]);
        foreach (var file in files)
        {
            var f = DataFileReaders.FormatOf(file);
            if (f is null)
                throw new DatasetException($"'{Path.GetFileName(file)}' is not a supported data file", dataset.Name, file,
                                           remedy: "use " + DataFileReaders.Supported);
            if (f != format)
                throw new DatasetException($"the files of one dataset must share a type; found {format} and {f}",
                                           dataset.Name, file);
        }
        return files;
    }

    /// <summary>Streams the records of a dataset with their conversion outcome (for the preview).</summary>
    public static IEnumerable<RecordOutcome> Stream(DatasetRegistry registry, DatasetAttributes dataset, DataStage? stage)
    {
        foreach (var file in ResolveFiles(registry, dataset))
        {
            foreach (var record in DataFileReaders.Read(file))
            {
                DataExample? example = null;
                DatasetException? error = null;
                try
                {
                    example = ExampleConverter.Convert(dataset, file, record);
                    if (stage is { } s) ExampleValidator.Check(example, s, dataset);
                }
                catch (DatasetException e)
                {
                    error = e;
                    example = null;
                }
                yield return new RecordOutcome(file, record, example, error);
            }
        }
    }

    /// <summary>Reads one dataset for <paramref name="stage"/>.</summary>
    /// <exception cref="DatasetException">A record is malformed (without skip_bad_records), or the file is.</exception>
    public static LoadedDataset Load(DatasetRegistry registry, string name, DataStage stage, DataPipelineOptions options,
                                     IProgress<DataProgress>? progress = null, CancellationToken cancellation = default)
    {
        var dataset = registry.Get(name);
        ExampleValidator.CheckDataset(dataset, stage);
        var files = ResolveFiles(registry, dataset);
        var examples = new List<DataExample>();
        var skippedSamples = new List<DatasetException>();
        long records = 0, skipped = 0;
        foreach (var outcome in Stream(registry, dataset, stage))
        {
            cancellation.ThrowIfCancellationRequested();
            records++;
            if (outcome.Example is { } example)
                examples.Add(example);
            else if (options.SkipBadRecords)
            {
                skipped++;
                if (skippedSamples.Count < DatasetLoadSummary.MaxSamplesKept) skippedSamples.Add(outcome.Error!);
            }
            else
                throw new DatasetException(outcome.Error!.Problem, outcome.Error.Dataset, outcome.Error.File,
                                           outcome.Error.RecordIndex, outcome.Error.Line, outcome.Error.Column,
                                           outcome.Error.Field,
                                           (outcome.Error.Remedy is null ? "" : outcome.Error.Remedy.TrimEnd('.') + "; ") +
                                           "or set skip_bad_records: true to skip such records and report them",
                                           outcome.Error);
            if (records % 4096 == 0) progress?.Report(new DataProgress(DataPhase.Reading, name, records, null));
        }
        progress?.Report(new DataProgress(DataPhase.Reading, name, records, records));
        if (examples.Count == 0)
            throw new DatasetException(skipped > 0 ? $"all {skipped} records were malformed and skipped; first: " +
                                                     skippedSamples[0].Message
                                                   : "the dataset has no records", name, files[0]);

        int converted = examples.Count;
        if (dataset.NumSamples is { } target) examples = Sample(examples, target, options.Seed);
        if (options.MaxSamples is { } max && examples.Count > max) examples = examples.GetRange(0, max);

        var summary = new DatasetLoadSummary
        {
            Name = name, Files = files, Records = records, Examples = converted, Skipped = skipped,
            SkippedSamples = skippedSamples, Kept = examples.Count,
        };
        return new LoadedDataset(dataset, examples, summary);
    }

    /// <summary>
    /// Reads, mixes and splits the datasets of <paramref name="options"/>: returns the training examples, the
    /// evaluation examples (from eval_dataset or val_size) and the load report.
    /// </summary>
    public static (List<DataExample> Train, List<DataExample> Eval, DataLoadReport Report) LoadSplits(
        DataPipelineOptions options, DataStage stage, IProgress<DataProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (options.Dataset.Count == 0)
            throw new DatasetException("no dataset is selected", remedy: "set dataset: to one or more names in dataset_info.json");
        if (options.EvalDataset.Count > 0 && options.ValSize > 0)
            throw new DatasetException("val_size and eval_dataset are both set",
                                       remedy: "use one: val_size splits the training data, eval_dataset names separate data");
        var registry = DatasetRegistry.Load(options.DatasetDir);
        var summaries = new List<DatasetLoadSummary>();

        List<DataExample> LoadMix(IReadOnlyList<string> names)
        {
            var sets = new List<IReadOnlyList<DataExample>>();
            foreach (var name in names)
            {
                var loaded = Load(registry, name, stage, options, progress, cancellation);
                summaries.Add(loaded.Summary);
                sets.Add(loaded.Examples);
            }
            try
            {
                return DatasetMixer.Mix(sets, options.MixStrategy, options.InterleaveProbs, options.Seed);
            }
            catch (ArgumentException e)
            {
                throw new DatasetException(e.Message.Split(" (Parameter")[0], remedy: "fix mix_strategy / interleave_probs");
            }
        }

        var train = LoadMix(options.Dataset);
        List<DataExample> eval;
        if (options.EvalDataset.Count > 0)
            eval = LoadMix(options.EvalDataset);
        else
        {
            try
            {
                (train, eval) = DatasetSplitter.Split(train, options.ValSize, options.Seed);
            }
            catch (ArgumentException e)
            {
                throw new DatasetException(e.Message.Split(" (Parameter")[0], remedy: "lower val_size");
            }
        }
        return (train, eval, new DataLoadReport(summaries));
    }

    /// <summary>num_samples: a seeded permutation, repeated (with random extra picks) when asking for more than exist.</summary>
    static List<DataExample> Sample(List<DataExample> examples, int target, int seed)
    {
        var random = new SeededRandom(seed);
        var order = random.Permutation(examples.Count).Take(target).ToList();
        while (order.Count < target) order.Add(random.Next(examples.Count));
        return [.. order.Select(i => examples[i])];
    }
}
