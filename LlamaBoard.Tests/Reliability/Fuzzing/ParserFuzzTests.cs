using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Tests.Engine.Data;
using Xunit.Abstractions;

namespace LlamaBoard.Tests.Reliability.Fuzzing;

/// <summary>
/// Every parser of user files, fed mutated versions of valid files (see <see cref="Mutator"/>): each case must end
/// in success or the parser's documented error naming the file, within a time limit and an allocation bound. CI runs
/// <see cref="FuzzRunner.DefaultCases"/> cases per target (scaled by cost); <c>LLAMABOARD_FUZZ_CASES=100000</c> runs
/// more, <c>LLAMABOARD_FUZZ_SEED</c> changes the inputs. A failure lists each defect with its mutation and the path
/// of the saved input under <c>.cache/fuzz/findings</c>.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    void Check(FuzzTarget target, double weight = 1, bool expectRejections = true)
    {
        var report = FuzzRunner.Run(target, FuzzRunner.Cases(weight));
        output.WriteLine(report.ToString());
        Assert.True(report.Defects.Count == 0, FuzzRunner.Describe(report));
        // Plain text accepts any bytes; every other format must see some cases refused, or the mutations miss it.
        if (expectRejections)
            Assert.True(report.Cases > report.Accepted, $"{target.Name}: no case was rejected, so the mutations do not reach the parser.");
    }

    [Fact]
    public void Safetensors_header()
    {
        Check(new FuzzTarget
        {
            Name = "safetensors-header", FileName = "model.safetensors", Seeds = FuzzSeeds.SafetensorsFiles(),
            Allowed = [typeof(CheckpointFormatException)],
            Parse = folder =>
            {
                var header = SafetensorsHeader.Read(Path.Combine(folder, "model.safetensors"));
                foreach (var tensor in header.Tensors) _ = (tensor.ElementCount, tensor.ByteLength, header.ByName[tensor.Name]);
            },
        }, weight: 3);
    }

    [Fact]
    public void Safetensors_index()
    {
        Torch.EnsureReady();
        Check(new FuzzTarget
        {
            Name = "safetensors-index", FileName = "model.safetensors.index.json", Seeds = FuzzSeeds.SafetensorsIndex(),
            Allowed = [typeof(CheckpointFormatException)],
            MessageMustName = ".safetensors", // the index or the shard it points at
            Prepare = folder =>
            {
                File.WriteAllBytes(Path.Combine(folder, "model-00001-of-00002.safetensors"),
                    FuzzSeeds.Safetensors(("model.embed_tokens.weight", "F32", [8, 4])));
                File.WriteAllBytes(Path.Combine(folder, "model-00002-of-00002.safetensors"),
                    FuzzSeeds.Safetensors(("model.norm.weight", "F32", [4]), ("lm_head.weight", "F32", [1, 4])));
                File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
            },
            Parse = folder =>
            {
                using var checkpoint = SafetensorsCheckpoint.Open(folder);
                foreach (string name in checkpoint.Names) _ = (checkpoint.Info(name), checkpoint.FileOf(name));
            },
        });
    }

    static void UseTokenizer(string folder)
    {
        var tokenizer = HfTokenizer.Load(folder);
        var ids = tokenizer.Encode("Hello wörld, 北京 <|im_start|>user\n😀 abc</s><s>\u0000 " + new string('a', 300));
        _ = tokenizer.Decode(ids);
        _ = tokenizer.Decode(ids, skipSpecialTokens: true);
        var stream = tokenizer.CreateStreamingDecoder(skipSpecialTokens: false);
        foreach (int id in ids) stream.Add(id);
        _ = stream.Flush();
        _ = tokenizer.Decode([-1, 0, int.MaxValue, tokenizer.VocabSize]);
    }

    [Fact]
    public void Tokenizer_json()
    {
        var (tiny, _) = FuzzSeeds.TinyTokenizerFiles();
        Check(new FuzzTarget
        {
            Name = "tokenizer-json", FileName = "tokenizer.json", Allowed = [typeof(InvalidDataException)],
            Seeds = [new("tiny byte-level", tiny, SeedKind.Json), new("sentencepiece-style", FuzzSeeds.SentencePieceTokenizer(), SeedKind.Json)],
            Parse = UseTokenizer,
        }, weight: 1);
    }

    [Fact]
    public void Tokenizer_config_json()
    {
        var (_, tinyConfig) = FuzzSeeds.TinyTokenizerFiles();
        Check(new FuzzTarget
        {
            Name = "tokenizer-config", FileName = "tokenizer_config.json", Allowed = [typeof(InvalidDataException)],
            Seeds = [new("tiny", tinyConfig, SeedKind.Json), new("sentencepiece-style", FuzzSeeds.SentencePieceConfig(), SeedKind.Json)],
            Prepare = folder => File.WriteAllBytes(Path.Combine(folder, "tokenizer.json"), FuzzSeeds.SentencePieceTokenizer()),
            Parse = UseTokenizer,
        }, weight: 1);
    }

    [Fact]
    public void Dataset_info_json()
    {
        Check(new FuzzTarget
        {
            Name = "dataset-info", FileName = DatasetRegistry.FileName, Seeds = FuzzSeeds.DatasetInfo(),
            Allowed = [typeof(DatasetException)],
            Prepare = folder =>
            {
                foreach (string file in Directory.EnumerateFiles(RepositoryPaths.DemoData).Where(f => !f.EndsWith(DatasetRegistry.FileName, StringComparison.Ordinal)))
                    File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
                File.WriteAllText(Path.Combine(folder, "alpaca.csv"), "instruction,input,output\nq,,a\n");
                Directory.CreateDirectory(Path.Combine(folder, "parts"));
                File.WriteAllText(Path.Combine(folder, "parts", "a.jsonl"), """{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}""");
            },
            Parse = folder =>
            {
                var registry = DatasetRegistry.Load(folder);
                foreach (string name in registry.Names)
                {
                    // One bad entry must not hide the others: each is looked up and read on its own.
                    try
                    {
                        var dataset = registry.Get(name);
                        _ = registry.UnknownKeys(name);
                        foreach (var stage in new[] { DataStage.Supervised, DataStage.Pairwise })
                            _ = DatasetLoader.Stream(registry, dataset, stage).Take(3).Count();
                    }
                    catch (DatasetException e) when (e.Message.Length > 0)
                    {
                    }
                }
            },
        }, weight: 1);
    }

    /// <summary>A dataset_info.json that reads one data file four ways: alpaca, sharegpt, pairwise and KTO.</summary>
    static void DatasetFolder(string folder, string file) => File.WriteAllText(Path.Combine(folder, DatasetRegistry.FileName), """
        {"alpaca": {"file_name": "FILE"},
         "sharegpt": {"file_name": "FILE", "formatting": "sharegpt", "columns": {"messages": "conversations", "system": "system", "tools": "tools"}},
         "dpo": {"file_name": "FILE", "formatting": "sharegpt", "ranking": true, "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}},
         "kto": {"file_name": "FILE", "formatting": "sharegpt", "columns": {"messages": "messages", "kto_tag": "label"},
                 "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}},
         "text": {"file_name": "FILE", "columns": {"prompt": "text"}}}
        """.Replace("FILE", file, StringComparison.Ordinal));

    /// <summary>
    /// Reads the file in every format (most of them do not fit a given seed, so record errors are normal here). A bad
    /// record is an outcome, not an exception (the run goes on with skip_bad_records): its message must name the
    /// file. A file that cannot be read at all throws, and counts as rejected.
    /// </summary>
    static void ReadDataset(string folder)
    {
        var registry = DatasetRegistry.Load(folder);
        foreach (var (name, stage) in new[] { ("alpaca", DataStage.Supervised), ("sharegpt", DataStage.Supervised),
                                              ("dpo", DataStage.Pairwise), ("kto", DataStage.Feedback), ("text", DataStage.Pretrain) })
            foreach (var outcome in DatasetLoader.Stream(registry, registry.Get(name), stage))
            {
                if (outcome.Example is { } example) _ = example.Messages.Sum(m => m.Content.Length);
                else if (outcome.Error is not { } error || !error.Message.Contains(Path.GetFileName(outcome.File), StringComparison.Ordinal))
                    throw new InvalidOperationException($"a bad record's outcome must carry an error naming the file: {outcome.Error?.Message}");
            }
    }

    FuzzTarget DatasetTarget(string name, string file, IReadOnlyList<FuzzSeed> seeds) => new()
    {
        Name = name, FileName = file, Seeds = seeds, Allowed = [typeof(DatasetException)],
        Prepare = folder => DatasetFolder(folder, file), Parse = ReadDataset,
    };

    [Fact]
    public void Dataset_json() => Check(DatasetTarget("dataset-json", "data.json", FuzzSeeds.DatasetJson()), weight: 0.7);

    [Fact]
    public void Dataset_jsonl() =>
        Check(DatasetTarget("dataset-jsonl", "data.jsonl", FuzzSeeds.DatasetJsonLines()), weight: 0.7, expectRejections: false); // bad lines are record errors

    [Fact]
    public void Dataset_csv() => Check(DatasetTarget("dataset-csv", "data.csv", FuzzSeeds.DatasetCsv()), weight: 1);

    [Fact]
    public void Dataset_txt() => Check(DatasetTarget("dataset-txt", "data.txt", FuzzSeeds.DatasetText()), weight: 1, expectRejections: false);

    [Fact]
    public void Dataset_parquet() => Check(DatasetTarget("dataset-parquet", "data.parquet", FuzzSeeds.DatasetParquet()), weight: 1);

    /// <summary>
    /// The loader never throws: it collects messages. A file it could not read or a key it could not bind counts as a
    /// rejection (the message must name the file); validation and writing must then work on whatever was read.
    /// </summary>
    static void LoadConfig(string path)
    {
        var loaded = OptionsLoader.LoadFile(path);
        _ = OptionsValidator.Validate(loaded, OptionsPurpose.Train);
        _ = OptionsWriter.ToYaml(loaded.Options);
        if (loaded.Result.Errors.FirstOrDefault() is { } error) throw new ConfigRejectedException(error.ToString());
    }

    /// <summary>A configuration the loader reported errors for.</summary>
    sealed class ConfigRejectedException(string message) : Exception(message);

    [Fact]
    public void Yaml_config()
    {
        Check(new FuzzTarget
        {
            Name = "config-yaml", FileName = "config.yaml", Seeds = FuzzSeeds.ConfigYaml(), Allowed = [typeof(ConfigRejectedException)],
            Parse = folder => LoadConfig(Path.Combine(folder, "config.yaml")),
        }, weight: 1);
    }

    [Fact]
    public void Json_config()
    {
        Check(new FuzzTarget
        {
            Name = "config-json", FileName = "config.json", Seeds = FuzzSeeds.ConfigJson(), Allowed = [typeof(ConfigRejectedException)],
            Parse = folder => LoadConfig(Path.Combine(folder, "config.json")),
        }, weight: 1);
    }

    [Fact]
    public void Adapter_config_json()
    {
        Check(new FuzzTarget
        {
            Name = "adapter-config", FileName = PeftAdapterConfig.FileName, Seeds = FuzzSeeds.AdapterConfig(),
            Allowed = [typeof(InvalidDataException)],
            Parse = folder =>
            {
                var config = PeftAdapterConfig.Read(folder);
                _ = (config.Settings, config.ToJson().ToJsonString());
            },
        }, weight: 2);
    }

    [Fact]
    public void Model_config_json()
    {
        Check(new FuzzTarget
        {
            Name = "model-config", FileName = "config.json", Seeds = FuzzSeeds.ModelConfig(),
            Allowed = [typeof(ModelConfigException)],
            Parse = folder => HfConfigReader.Read(Path.Combine(folder, "config.json")),
        }, weight: 2);
    }
}

/// <summary>The fuzz targets run one after another: each measures its own thread's allocations and time.</summary>
[CollectionDefinition(Name)]
public sealed class FuzzCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "fuzz";
}
