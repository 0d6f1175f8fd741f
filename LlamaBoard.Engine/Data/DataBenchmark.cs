using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data;

/// <summary>What the data benchmark measured.</summary>
/// <param name="Examples">Alpaca-style examples preprocessed.</param>
/// <param name="Tokens">Tokens in the resulting samples.</param>
/// <param name="Workers">Parallel tokenization workers.</param>
/// <param name="Preprocess">Read, convert, tokenize and write the cache (the first run).</param>
/// <param name="CacheReload">Load the same data from the tokenized cache (the second run).</param>
public sealed record DataBenchmarkResult(int Examples, long Tokens, int Workers, TimeSpan Preprocess, TimeSpan CacheReload)
{
    /// <summary>Examples per second of the first run.</summary>
    public double ExamplesPerSecond => Examples / Preprocess.TotalSeconds;
    /// <summary>Tokens per second of the first run.</summary>
    public double TokensPerSecond => Tokens / Preprocess.TotalSeconds;
}

/// <summary>
/// Preprocesses a synthetic alpaca-style dataset (deterministic text of varied length, a third with an input)
/// through the full pipeline with a real tokenizer, then loads it again from the tokenized cache.
/// </summary>
public static class DataBenchmark
{
    static readonly string[] Words =
    [
        "the", "model", "data", "learns", "a", "small", "question", "answer", "explain", "why", "river", "mountain",
        "language", "system", "quickly", "carefully", "network", "because", "of", "and", "with", "into", "every",
        "student", "writes", "reads", "short", "story", "about", "city", "energy", "light", "computer", "program",
        "function", "returns", "value", "list", "numbers", "sorted", "history", "science", "garden", "winter", "summer",
        "translate", "summarise", "describe", "compare", "between", "two", "three", "simple", "steps", "result",
        "数据", "模型", "学习", "问题", "回答", "😀", "naïve", "café", "12", "3.5", "2024", "—", "(", ")", ",", ".",
    ];

    /// <summary>Writes <paramref name="count"/> alpaca records and a dataset_info.json into <paramref name="folder"/>.</summary>
    public static void WriteDataset(string folder, int count, int seed = 7)
    {
        Directory.CreateDirectory(folder);
        var random = new SeededRandom(seed);
        string Sentence(int minWords, int maxWords)
        {
            int n = minWords + random.Next(maxWords - minWords + 1);
            var text = new StringBuilder();
            for (int i = 0; i < n; i++)
            {
                if (i > 0) text.Append(' ');
                text.Append(Words[random.Next(Words.Length)]);
            }
            return text.ToString();
        }
        var records = new JsonArray();
        for (int i = 0; i < count; i++)
        {
            records.Add(new JsonObject
            {
                ["instruction"] = Sentence(5, 30),
                ["input"] = random.Next(3) == 0 ? Sentence(5, 40) : "",
                ["output"] = Sentence(20, 200),
            });
        }
        File.WriteAllText(Path.Combine(folder, "bench_alpaca.json"), records.ToJsonString());
        File.WriteAllText(Path.Combine(folder, DatasetRegistry.FileName), """{"bench_alpaca": {"file_name": "bench_alpaca.json"}}""");
    }

    /// <summary>Runs the benchmark in a temporary folder (removed afterwards).</summary>
    /// <param name="tokenizerFolder">A model's tokenizer folder.</param>
    /// <param name="template">The chat template matching it.</param>
    /// <param name="examples">How many alpaca records.</param>
    /// <param name="cutoffLen">cutoff_len.</param>
    /// <param name="workers">Tokenization workers (null: every core).</param>
    public static DataBenchmarkResult Run(string tokenizerFolder, string template, int examples = 10_000, int cutoffLen = 1024,
                                          int? workers = null)
    {
        string root = Directory.CreateTempSubdirectory("llamaboard-bench-data-").FullName;
        try
        {
            string data = Path.Combine(root, "data");
            WriteDataset(data, examples);
            var options = new DataPipelineOptions
            {
                DatasetDir = data, Dataset = ["bench_alpaca"], Template = template, CutoffLen = cutoffLen,
                TokenizedCacheDir = Path.Combine(root, "cache"), PreprocessingNumWorkers = workers,
            };
            // The tokenizer is loaded outside the timed part: a run loads it once for the model anyway.
            var tokenizer = new Templates.HfTextTokenizer(Tokenization.HfTokenizer.Load(tokenizerFolder));
            string fingerprint = TokenizedCache.TokenizerFingerprint(tokenizerFolder);

            var clock = Stopwatch.StartNew();
            var first = DataPipeline.Prepare(options, DataStage.Supervised, tokenizer, fingerprint);
            var preprocess = clock.Elapsed;
            if (first.FromCache) throw new InvalidOperationException("the benchmark's first run unexpectedly hit a cache");

            clock.Restart();
            var second = DataPipeline.Prepare(options, DataStage.Supervised, tokenizer, fingerprint);
            var reload = clock.Elapsed;
            if (!second.FromCache || second.Train.Count != first.Train.Count)
                throw new InvalidOperationException("the benchmark's second run did not load the tokenized cache");

            return new DataBenchmarkResult(first.Train.Count, first.Train.TotalTokens,
                                           workers ?? Environment.ProcessorCount, preprocess, reload);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); }
            catch (IOException) { }
        }
    }
}
